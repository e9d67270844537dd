"""Cosine similarity between two sets of embeddings, safe at zero norm."""

from __future__ import annotations

import torch

from pisces.losses._checks import broadcast_leading, check_finite, check_tensor


def safe_norm(x: torch.Tensor, dim: int = -1, keepdim: bool = False) -> torch.Tensor:
    """Euclidean norm along ``dim`` whose gradient is 0 (not NaN) where the norm is 0.

    ``sqrt(max(Σ x², tiny))`` with ``tiny`` the smallest normal number of the dtype: the value
    differs from the exact norm only below ``sqrt(tiny)`` (≈1e-19 in float32), and the clamp
    cuts the gradient exactly where ``sqrt`` would divide by zero.
    """
    sq = (x * x).sum(dim=dim, keepdim=keepdim)
    return torch.sqrt(torch.clamp_min(sq, torch.finfo(x.dtype).tiny))


def cosine_similarity_matrix(
    z_x: torch.Tensor, z_y: torch.Tensor, eps: float = 1e-9, *, validate: bool = True
) -> torch.Tensor:
    """All-pairs cosine similarity ``S[..., i, j] = <x_i, y_j> / (‖x_i‖ ‖y_j‖ + eps)``.

    This is the similarity of the official PSE code (``+1e-9`` on the product of the norms;
    spec §4.3) and ``s_θ`` of the paper (Eq. 2). It is the *raw* similarity in [-1, 1]:
    the losses divide it by their temperature.

    Args:
        z_x: embeddings ``(..., n, k)`` (rows of the result).
        z_y: embeddings ``(..., m, k)`` (columns of the result). Leading dims broadcast.
        eps: added to ``‖x_i‖ ‖y_j‖``; keeps the value finite when an embedding is zero.
        validate: check ``z_x``/``z_y`` for NaN/inf (costs a device sync; the shape checks
            are always done).

    Returns:
        ``(..., n, m)``. An all-zero embedding (e.g. after a ReLU head) gives similarity 0
        with a finite gradient (``y_j / (eps ‖y_j‖)``-sized, i.e. large but never NaN).
    """
    check_tensor("z_x", z_x, min_dim=2)
    check_tensor("z_y", z_y, min_dim=2)
    if z_x.shape[-1] != z_y.shape[-1]:
        raise ValueError(
            f"embedding sizes differ: z_x {tuple(z_x.shape)} vs z_y {tuple(z_y.shape)} "
            "(last dimension must match)"
        )
    broadcast_leading("z_x", z_x, "z_y", z_y, trailing=2)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if validate:
        check_finite("z_x", z_x)
        check_finite("z_y", z_y)
    dots = z_x @ z_y.transpose(-1, -2)
    norms = safe_norm(z_x).unsqueeze(-1) * safe_norm(z_y).unsqueeze(-2)
    return dots / (norms + eps)
