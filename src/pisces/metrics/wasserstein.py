"""Exact 1-Wasserstein distances W1(d)(p, q) under a ground (pseudo)metric d.

Solver choice: POT's ``ot.emd2`` (exact network simplex, C++), not ``scipy.optimize.linprog``.
Both are exact LP solvers, but on the small supports of tabular MDPs ``ot.emd2`` is 11-21x
faster (about 0.12 ms per call against 1.3 ms for 3 and 5 support points and 2.8 ms for 20,
idle 2-core machine, POT 0.9.7, SciPy's HiGHS) and agrees to 1e-16
(``benchmarks/bench_wasserstein.py``, results in ``benchmarks/results/wasserstein.md``). The PSM
fixed point solves Sx·Sy (times A for bisimulation) transport problems per iteration, so the
solver is the hot spot. ``linprog`` stays in the tests as the independent reference.

Fast path: when either distribution is a point mass the only coupling is the product, so
``W1 = sum_j q_j d[i, j]`` exactly with no LP at all; deterministic MDPs never call the LP.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.metrics._validate import as_finite, check_nonnegative, check_stochastic

#: probabilities below this are treated as zero when reducing the LP to the supports.
_SUPPORT_EPS = 1e-15


def _w1_lp(p: NDArray, q: NDArray, ground: NDArray) -> float:
    """W1 by exact network simplex on the supports of p and q (both already validated)."""
    ip = np.flatnonzero(p > _SUPPORT_EPS)
    iq = np.flatnonzero(q > _SUPPORT_EPS)
    if ip.size == 1:
        return float(q[iq] @ ground[ip[0], iq])
    if iq.size == 1:
        return float(p[ip] @ ground[ip, iq[0]])
    ps = p[ip] / p[ip].sum()
    qs = q[iq] / q[iq].sum()
    sub = np.ascontiguousarray(ground[np.ix_(ip, iq)])
    import ot  # POT (and the torch backend it loads) only where W1 is computed

    value, log = ot.emd2(ps, qs, sub, numItermax=1_000_000, log=True)
    if log.get("warning"):
        raise RuntimeError(f"ot.emd2 did not solve the transport problem: {log['warning']}")
    return float(value)


def wasserstein1(p: ArrayLike, q: ArrayLike, ground: ArrayLike) -> float:
    """``W1(d)(p, q) = min_{Γ in coupling(p, q)} sum_ij Γ[i, j] d[i, j]`` (App. B, Lemma 1).

    Args:
        p: distribution over the first space, shape (Sx,).
        q: distribution over the second space, shape (Sy,).
        ground: non-negative ground cost ``d``, shape (Sx, Sy).

    Returns:
        The optimal transport cost (a float).
    """
    pa = check_stochastic(as_finite(p, "p", ndim=1), "p")
    qa = check_stochastic(as_finite(q, "q", ndim=1), "q")
    da = check_nonnegative(as_finite(ground, "ground", ndim=2), "ground")
    if da.shape != (pa.size, qa.size):
        raise ValueError(f"ground must have shape {(pa.size, qa.size)}, got {da.shape}")
    return _w1_lp(pa, qa, da)


def wasserstein1_pairwise(
    p: NDArray[np.float64], q: NDArray[np.float64], ground: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``W[x, y] = W1(ground)(p[x], q[y])`` for all pairs (inputs assumed already validated).

    Args:
        p: next-state distributions, shape (Nx, Sx).
        q: next-state distributions, shape (Ny, Sy).
        ground: shape (Sx, Sy).

    Returns:
        shape (Nx, Ny).
    """
    point_p = (p > _SUPPORT_EPS).sum(axis=1) == 1
    point_q = (q > _SUPPORT_EPS).sum(axis=1) == 1
    # Vectorized fast path for every pair where one side is a point mass.
    out = np.empty((p.shape[0], q.shape[0]), dtype=np.float64)
    if np.any(point_p):
        sp = np.argmax(p, axis=1)
        out[point_p] = ground[sp[point_p]] @ q.T
    if np.any(point_q):
        sq = np.argmax(q, axis=1)
        out[:, point_q] = p @ ground[:, sq[point_q]]
    for x in np.flatnonzero(~point_p):
        for y in np.flatnonzero(~point_q):
            out[x, y] = _w1_lp(p[x], q[y], ground)
    return out
