"""Capped fixed-point iteration shared by every metric solver (private)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


class MetricConvergenceWarning(RuntimeWarning):
    """A metric fixed-point iteration stopped at ``max_iter`` before reaching ``tol``."""


@dataclass(frozen=True)
class MetricResult:
    """Outcome of a capped fixed-point iteration ``d_{k+1} = F(d_k)`` from ``d_0 = 0``.

    Attributes:
        distance: the last iterate ``d_K``; shape (Sx, Sy) for finite MDPs, (..., n, m) for
            trajectories.
        iterations: K, the number of applications of F.
        converged: whether ``residual <= tol`` was reached within ``max_iter``.
        residual: ``||d_K - d_{K-1}||_inf``. Since F is a gamma-contraction (Prop. B.1),
            the error to the true fixed point is at most ``gamma / (1 - gamma) * residual``.
    """

    distance: NDArray[np.float64]
    iterations: int
    converged: bool
    residual: float


def iterate(
    operator: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    shape: tuple[int, ...],
    *,
    tol: float,
    max_iter: int,
    name: str,
) -> MetricResult:
    """Iterate ``operator`` from zeros until the sup-norm step is <= ``tol`` or ``max_iter``.

    Warns with :class:`MetricConvergenceWarning` when the cap is hit, so non-convergence is
    never silent; the returned result also carries ``converged=False``.
    """
    tol = float(tol)
    if not np.isfinite(tol) or tol <= 0.0:
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    d = np.zeros(shape, dtype=np.float64)
    residual = np.inf
    for k in range(1, int(max_iter) + 1):
        d_new = operator(d)
        residual = float(np.max(np.abs(d_new - d))) if d.size else 0.0
        d = d_new
        if residual <= tol:
            return MetricResult(d, k, True, residual)
    warnings.warn(
        f"{name}: no convergence after max_iter={max_iter} iterations "
        f"(residual {residual:.3e} > tol {tol:.3e})",
        MetricConvergenceWarning,
        stacklevel=3,
    )
    return MetricResult(d, int(max_iter), False, residual)
