"""Input checks shared by the losses (internal)."""

from __future__ import annotations

import math

import torch


def check_tensor(name: str, x: object, *, min_dim: int) -> torch.Tensor:
    """Raise unless ``x`` is a floating-point tensor with at least ``min_dim`` dimensions."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(
            f"{name} must have at least {min_dim} dimensions, got shape {tuple(x.shape)}"
        )
    return x


def check_finite(name: str, x: torch.Tensor) -> None:
    """Raise if ``x`` holds NaN or ±inf (one device sync; callers skip it when validate=False)."""
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        n_nan = int(torch.isnan(x).sum())
        n_inf = int((~finite).sum()) - n_nan
        raise ValueError(f"{name} contains {n_nan} NaN and {n_inf} infinite value(s)")


def check_positive(name: str, value: float) -> float:
    """Raise unless ``value`` is a finite real number > 0."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(value.shape)}")
        value = value.item()
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


def broadcast_leading(
    name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor, *, trailing: int
) -> torch.Size:
    """Broadcast shape of the leading (batch) dims of ``a`` and ``b``; trailing dims kept apart."""
    try:
        return torch.broadcast_shapes(a.shape[:-trailing], b.shape[:-trailing])
    except RuntimeError as exc:
        raise ValueError(
            f"leading (batch) dimensions of {name_a} {tuple(a.shape)} and {name_b} "
            f"{tuple(b.shape)} do not broadcast"
        ) from exc
