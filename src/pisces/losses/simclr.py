"""SimCLR's NT-Xent loss (paper Eq. 2; Chen et al., 2020)."""

from __future__ import annotations

import torch

from pisces.losses._checks import check_finite, check_positive, check_tensor
from pisces.losses.similarity import cosine_similarity_matrix


def simclr_loss(
    z_a: torch.Tensor, z_b: torch.Tensor, *, temperature: float, validate: bool = True
) -> torch.Tensor:
    """NT-Xent over the 2N views ``v = concat(z_a, z_b)``, mean over all 2N anchors.

    For anchor ``k`` with positive ``p(k)`` (the other view of the same input, ``k ± N``) and
    ``L = cos(v, v) / τ``::

        ℓ_k = -log( exp(L[k, p(k)]) / Σ_{l ≠ k} exp(L[k, l]) )

    i.e. Eq. 2 with ``λ = 1/τ``: the positive is in the denominator, the anchor itself is
    not, and the other 2N - 2 views are the negatives.

    Args:
        z_a, z_b: the two views' embeddings, ``(..., N, k)`` each (same shape), N ≥ 1.
        temperature: τ > 0.
        validate: check the embeddings for NaN/inf (a device sync).

    Returns:
        The loss per leading batch index, shape ``(...)``.
    """
    check_tensor("z_a", z_a, min_dim=2)
    check_tensor("z_b", z_b, min_dim=2)
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a {tuple(z_a.shape)} and z_b {tuple(z_b.shape)} must have the same shape"
        )
    n = z_a.shape[-2]
    if n < 1:
        raise ValueError("need at least one input (N >= 1)")
    tau = check_positive("temperature", temperature)
    if validate:
        check_finite("z_a", z_a)
        check_finite("z_b", z_b)
    views = torch.cat([z_a, z_b], dim=-2)
    logits = cosine_similarity_matrix(views, views, validate=False) / tau
    eye = torch.eye(2 * n, dtype=torch.bool, device=views.device)
    logits = logits.masked_fill(eye, float("-inf"))
    idx = torch.arange(2 * n, device=views.device)
    pos = ((idx + n) % (2 * n)).expand(*logits.shape[:-1]).unsqueeze(-1)
    per_anchor = torch.logsumexp(logits, dim=-1) - logits.gather(-1, pos).squeeze(-1)
    return per_anchor.mean(dim=-1)
