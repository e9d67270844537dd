"""ℓ2 metric embeddings (paper Appendix E; the official code's ``--use_l2_loss``)."""

from __future__ import annotations

import torch

from pisces.losses._checks import broadcast_leading, check_finite, check_tensor
from pisces.losses.similarity import safe_norm


def pairwise_distances(z_x: torch.Tensor, z_y: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``‖x_i - y_j‖₂`` ``(..., n, m)`` with a 0 (not NaN) gradient where
    two embeddings coincide. Computed from explicit differences (``(..., n, m, k)`` memory),
    not from ``‖x‖² + ‖y‖² - 2<x, y>``, so small distances are accurate."""
    diff = z_x.unsqueeze(-2) - z_y.unsqueeze(-3)
    return safe_norm(diff, dim=-1)


def l2_embedding_loss(
    z_x: torch.Tensor, z_y: torch.Tensor, metric: torch.Tensor, *, validate: bool = True
) -> torch.Tensor:
    """``mean_{i,j} (‖z_x[i] - z_y[j]‖₂ - D[i, j])²`` over the n×m matrix (Appendix E).

    As the official ``--use_l2_loss`` (spec §4.4), which applies it to the unprojected
    representation. Distances use :func:`pairwise_distances` (safe at coincident embeddings).

    Args:
        z_x: ``(..., n, k)``; z_y: ``(..., m, k)``; metric: ``(..., n, m)``, a constant
            (detached). Leading dims broadcast.
        validate: check inputs for NaN/inf (a device sync); shape checks are always done.

    Returns:
        The loss per leading batch index, shape ``(...)`` (0-d for 2-D inputs).
    """
    check_tensor("z_x", z_x, min_dim=2)
    check_tensor("z_y", z_y, min_dim=2)
    check_tensor("metric", metric, min_dim=2)
    if z_x.shape[-1] != z_y.shape[-1]:
        raise ValueError(
            f"embedding sizes differ: z_x {tuple(z_x.shape)} vs z_y {tuple(z_y.shape)}"
        )
    n, m = z_x.shape[-2], z_y.shape[-2]
    if metric.shape[-2:] != (n, m):
        raise ValueError(
            f"metric {tuple(metric.shape)} must end in (n, m) = ({n}, {m}) given z_x "
            f"{tuple(z_x.shape)} and z_y {tuple(z_y.shape)}"
        )
    broadcast_leading("z_x", z_x, "z_y", z_y, trailing=2)
    broadcast_leading("z_x", z_x, "metric", metric, trailing=2)
    if validate:
        check_finite("z_x", z_x)
        check_finite("z_y", z_y)
        check_finite("metric", metric)
    dist = pairwise_distances(z_x, z_y)
    err = dist - metric.detach().to(dist.dtype)
    return (err * err).mean(dim=(-2, -1))
