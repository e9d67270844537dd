"""Contrastive metric embedding losses, SimCLR and ℓ2 metric embeddings (pure tensor functions).

See :mod:`pisces.losses.cme` for the paper-vs-official-code variants of the CME loss.
"""

from pisces.losses.cme import OFFICIAL_COUPLING_EPS, cme_loss, positive_indices
from pisces.losses.l2 import l2_embedding_loss, pairwise_distances
from pisces.losses.simclr import simclr_loss
from pisces.losses.similarity import cosine_similarity_matrix, safe_norm

__all__ = [
    "OFFICIAL_COUPLING_EPS",
    "cme_loss",
    "cosine_similarity_matrix",
    "l2_embedding_loss",
    "pairwise_distances",
    "positive_indices",
    "safe_norm",
    "simclr_loss",
]
