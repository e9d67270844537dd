"""Input checks shared by the metric functions (private).

Every check raises a ``ValueError`` that names the offending argument, so a caller sees
*what* is wrong (shape, NaN, negative cost, non-stochastic row) instead of a silent
wrong answer further down.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: absolute tolerance on "sums to one" for transition rows and policies.
STOCHASTIC_ATOL = 1e-6


def check_gamma(gamma: float) -> float:
    """Return ``gamma`` as a float after checking ``0 <= gamma < 1``."""
    g = float(gamma)
    if not np.isfinite(g) or not 0.0 <= g < 1.0:
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    return g


def as_finite(x: ArrayLike, name: str, *, ndim: int | None = None, min_ndim: int = 0) -> NDArray:
    """``x`` as a float64 array, checked finite and (optionally) of a given rank."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array: {err}") from err
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if a.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf values")
    return a


def check_nonnegative(a: NDArray, name: str) -> NDArray:
    """Raise if any entry of ``a`` is negative."""
    if a.size and float(a.min()) < 0.0:
        raise ValueError(f"{name} must be non-negative, found minimum {float(a.min())!r}")
    return a


def check_stochastic(a: NDArray, name: str) -> NDArray:
    """Raise unless every slice of ``a`` along the last axis is a probability vector."""
    if a.shape[-1] == 0:
        raise ValueError(f"{name} has an empty last axis, shape {a.shape}")
    if float(a.min()) < -STOCHASTIC_ATOL:
        raise ValueError(f"{name} has negative probabilities (min {float(a.min())!r})")
    sums = a.sum(axis=-1)
    bad = np.abs(sums - 1.0) > STOCHASTIC_ATOL
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} rows must sum to 1 along the last axis; row {idx} sums to {float(sums[idx])!r}"
        )
    return a
