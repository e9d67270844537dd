"""Contrastive metric embedding losses, SimCLR and ℓ2 metric embeddings (pure tensor functions).

See :mod:`pisces.losses.cme` for the paper-vs-official-code variants of the CME loss.

Every function checks shapes and hyperparameters (free). ``validate=True`` (default) also
checks tensor *values* (NaN/inf; negative distances for ``cme_loss``), which costs a device
sync per call: hot training loops pass ``validate=False`` and check the loss value every N
steps instead. Losses return one value per leading batch index (0-d for unbatched input).
"""

from pisces.losses.alignment import AlignmentSpec, alignment_loss
from pisces.losses.cme import OFFICIAL_COUPLING_EPS, cme_loss, positive_indices
from pisces.losses.l2 import l2_embedding_loss, pairwise_distances
from pisces.losses.simclr import simclr_loss
from pisces.losses.similarity import cosine_similarity_matrix, safe_norm

__all__ = [
    "AlignmentSpec",
    "OFFICIAL_COUPLING_EPS",
    "alignment_loss",
    "cme_loss",
    "cosine_similarity_matrix",
    "l2_embedding_loss",
    "pairwise_distances",
    "positive_indices",
    "safe_norm",
    "simclr_loss",
]
