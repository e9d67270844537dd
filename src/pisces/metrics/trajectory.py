"""PSM between two deterministic trajectories (Eq. D.2), exact and O(n·m).

Given optimal trajectories ``x_0..x_{n-1}`` and ``y_0..y_{m-1}`` of deterministic
environments, Eq. D.2 reads ``d(x_i, y_j) = DIST(π(x_i), π(y_j)) + γ d(x_{i+1}, y_{j+1})``.
As in the official code (spec §4.1) the last state of each trajectory is absorbing (it
transitions to itself), so with ``cost[i, j] = DIST(π(x_i), π(y_j))``::

    d[i, j] = cost[i, j] + γ · d[min(i+1, n-1), min(j+1, m-1)]

This has a closed-form solution by backward recursion:

* corner: ``d[n-1, m-1] = cost[n-1, m-1] / (1 - γ)`` (a self-loop);
* last row / column: 1-D linear recursions ``d[n-1, j] = cost[n-1, j] + γ d[n-1, j+1]``
  (run with :func:`scipy.signal.lfilter`, which performs exactly that recursion);
* every other row: ``d[i, :m-1] = cost[i, :m-1] + γ d[i+1, 1:]``, vectorized over j and
  any leading batch axes.

:func:`trajectory_psm_fixed_point` keeps the official fixed-point iteration (capped) as the
reference the closed form is tested against. Replacing the action cost by the reward cost
``|r_x[i] - r_y[j]|`` gives the π*-bisimulation metric between the trajectories (the
official ``--use_bisim``, spec §4.4): :func:`trajectory_pi_bisimulation`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from scipy.signal import lfilter

from pisces.metrics._fixed_point import MetricResult, iterate
from pisces.metrics._validate import as_finite, check_gamma, check_nonnegative


def _check_cost(cost: ArrayLike) -> NDArray[np.float64]:
    c = check_nonnegative(as_finite(cost, "cost", min_ndim=2), "cost")
    if c.shape[-2] == 0 or c.shape[-1] == 0:
        raise ValueError(f"cost must have non-empty trajectory axes, got shape {c.shape}")
    return c


def _backward_linear(x: NDArray[np.float64], end: NDArray[np.float64], gamma: float) -> NDArray:
    """Solve ``y[k] = x[k] + γ y[k+1]`` for k = K-1..0 with ``y[K] = end``, along the last axis."""
    if x.shape[-1] == 0:
        return x.copy()
    rev = x[..., ::-1]
    y, _ = lfilter([1.0], [1.0, -gamma], rev, axis=-1, zi=(gamma * end)[..., None])
    return y[..., ::-1]


def trajectory_psm(
    cost: ArrayLike, *, gamma: float, dtype: DTypeLike = np.float64
) -> NDArray[np.floating]:
    """Exact PSM between two deterministic trajectories with absorbing last states (Eq. D.2).

    Args:
        cost: ``cost[..., i, j] = DIST(π(x_i), π(y_j)) >= 0``, shape (..., n, m); any leading
            axes are a batch of trajectory pairs. float32 input is accepted; the recursion
            always runs in float64.
        gamma: metric discount factor in [0, 1) (the jumping task uses 0.999).
        dtype: dtype of the returned matrix (default float64).

    Returns:
        ``d`` of shape (..., n, m), the unique solution of
        ``d[i, j] = cost[i, j] + γ d[min(i+1, n-1), min(j+1, m-1)]``. Cost O(n·m).
    """
    g = check_gamma(gamma)
    c = _check_cost(cost)
    n, m = c.shape[-2:]
    d = np.empty_like(c)
    corner = c[..., n - 1, m - 1] / (1.0 - g)
    d[..., n - 1, m - 1] = corner
    d[..., n - 1, : m - 1] = _backward_linear(c[..., n - 1, : m - 1], corner, g)
    d[..., : n - 1, m - 1] = _backward_linear(c[..., : n - 1, m - 1], corner, g)
    for i in range(n - 2, -1, -1):
        d[..., i, : m - 1] = c[..., i, : m - 1] + g * d[..., i + 1, 1:]
    return d.astype(dtype, copy=False)


def trajectory_psm_fixed_point(
    cost: ArrayLike, *, gamma: float, tol: float = 1e-9, max_iter: int = 100_000
) -> MetricResult:
    """Reference fixed-point iteration for :func:`trajectory_psm` (official `metric_fixed_point`).

    Iterates ``d <- cost + γ d[shifted]`` from zeros (absorbing last states) until
    ``max |Δd| <= tol`` or ``max_iter`` applications; warns if the cap is hit. The number of
    iterations grows like ``log(tol) / log(γ)`` (tens of thousands at γ = 0.999), which is why
    :func:`trajectory_psm` uses the closed form instead.

    Args:
        cost: shape (..., n, m), non-negative.
        gamma: discount in [0, 1).
        tol: stopping threshold on the sup-norm of the update.
        max_iter: cap on the number of iterations.

    Returns:
        :class:`MetricResult` with ``distance`` of shape (..., n, m).
    """
    g = check_gamma(gamma)
    c = _check_cost(cost)

    def operator(d: NDArray[np.float64]) -> NDArray[np.float64]:
        # nxt[i, j] = d[min(i+1, n-1), min(j+1, m-1)], with slices (no fancy-index copy).
        nxt = np.empty_like(d)
        nxt[..., :-1, :-1] = d[..., 1:, 1:]
        nxt[..., :-1, -1] = d[..., 1:, -1]
        nxt[..., -1, :-1] = d[..., -1, 1:]
        nxt[..., -1, -1] = d[..., -1, -1]
        nxt *= g
        nxt += c
        return nxt

    return iterate(operator, c.shape, tol=tol, max_iter=max_iter, name="trajectory_psm")


def reward_cost_matrix(rewards_x: ArrayLike, rewards_y: ArrayLike) -> NDArray[np.float64]:
    """Reward cost ``cost[..., i, j] = |r_x[..., i] - r_y[..., j]|`` for π*-bisimulation.

    Args:
        rewards_x: rewards along trajectory x, shape (..., n).
        rewards_y: rewards along trajectory y, shape (..., m); leading axes broadcast.

    Returns:
        shape (..., n, m).
    """
    rx = as_finite(rewards_x, "rewards_x", min_ndim=1)
    ry = as_finite(rewards_y, "rewards_y", min_ndim=1)
    return np.abs(rx[..., :, None] - ry[..., None, :])


def trajectory_pi_bisimulation(
    rewards_x: ArrayLike, rewards_y: ArrayLike, *, gamma: float
) -> NDArray[np.float64]:
    """π*-bisimulation metric (Eq. 1) between two deterministic trajectories.

    Same recursion as :func:`trajectory_psm` with the reward cost ``|r_x[i] - r_y[j]|``
    (official ``--use_bisim``). Shapes: (..., n) and (..., m) -> (..., n, m).
    """
    return trajectory_psm(reward_cost_matrix(rewards_x, rewards_y), gamma=gamma)
