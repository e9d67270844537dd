r"""PSM of *stochastic* policies between two deterministic two-action MDPs (Eq. 3 / D.3).

With deterministic dynamics ``next(s, a)`` and a stochastic policy ``π``, the next-state
distribution ``P^π(·|x) = Σ_a π(a|x) δ_{next(x, a)}`` is supported on (at most) the two
successors of ``x``. The generalized PSM (Eq. D.3; the approximate PSM of Prop. D.3 with
``π̂`` in place of ``π*``) between states ``x`` of MDP X and ``y`` of MDP Y is the fixed point of

.. math::

    F(d)(x, y) = \mathrm{TV}(π_X(x), π_Y(y))
                 + γ\, W_1(d)\big(P^{π_X}(·|x),\, P^{π_Y}(·|y)\big).

For two actions the transport problem between ``μ = a δ_{u_0} + (1-a) δ_{u_1}`` and
``ν = b δ_{v_0} + (1-b) δ_{v_1}`` (``u_k = next_X(x, k)``, ``v_k = next_Y(y, k)``,
``a = π_X(0|x)``, ``b = π_Y(0|y)``) has one free variable, ``t = coupling(u_0, v_0)`` in
``[max(0, a + b - 1), min(a, b)]``, and a cost linear in ``t``:

.. math::

    W_1 = \min_{t \in \{t_{lo}, t_{hi}\}} t\, d_{00} + (a - t)\, d_{01} + (b - t)\, d_{10}
          + (1 - a - b + t)\, d_{11},

so the whole operator is a handful of vectorized gathers over all pairs: no LP solver.
``TV = |a - b|`` for two actions. Coinciding successors (e.g. a mid-air state of the jumping
task, where the action is ignored) are handled by the same formula.

Solvers (both exact up to rounding, as in :mod:`pisces.metrics.deterministic`):

* ``"levels"``: backward induction by state height for MDPs acyclic up to absorbing states
  (a pair with ``max(h_x, h_y) = k`` depends only on pairs of lower height; absorbing pairs
  get the closed form ``TV / (1 - γ)``), with the certificate ``residual = ||F(d) - d||_inf``;
* ``"iterate"``: capped Jacobi iteration from zeros (tolerance and ``max_iter``; warns at the
  cap). ``"auto"`` picks ``"levels"`` when it applies.

Tested against the dense :func:`pisces.metrics.psm` (W1 by optimal transport).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.metrics._fixed_point import MetricResult
from pisces.metrics._validate import as_finite, check_gamma, check_stochastic
from pisces.metrics.deterministic import DeterministicMDP, solve_on_levels

__all__ = ["deterministic_psm", "two_point_w1"]

_METHODS = ("auto", "iterate", "levels")


def two_point_w1(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    d00: NDArray[np.float64],
    d01: NDArray[np.float64],
    d10: NDArray[np.float64],
    d11: NDArray[np.float64],
) -> NDArray[np.float64]:
    """W1 between ``a δ_{u0} + (1-a) δ_{u1}`` and ``b δ_{v0} + (1-b) δ_{v1}`` (broadcast).

    ``dij`` is the ground distance between ``u_i`` and ``v_j``. The optimal coupling puts
    ``t`` on (u0, v0), ``a - t`` on (u0, v1), ``b - t`` on (u1, v0) and ``1 - a - b + t`` on
    (u1, v1); the cost is linear in ``t``, so it is the smaller of the two endpoint costs.
    """
    lo = np.maximum(0.0, a + b - 1.0)
    hi = np.minimum(a, b)
    base = a * d01 + b * d10 + (1.0 - a - b) * d11
    slope = d00 - d01 - d10 + d11
    return base + np.minimum(lo * slope, hi * slope)


def _check_policy(policy: ArrayLike, mdp: DeterministicMDP, name: str) -> NDArray[np.float64]:
    pi = check_stochastic(as_finite(policy, name, ndim=2), name)
    if pi.shape != (mdp.num_states, mdp.num_actions):
        raise ValueError(
            f"{name} must have shape {(mdp.num_states, mdp.num_actions)}, got {pi.shape}"
        )
    return pi


@dataclass(frozen=True)
class _Operator:
    """F(d) of the module docstring on any block of rows × columns."""

    nx: NDArray[np.int64]  # (Sx, 2)
    ny: NDArray[np.int64]  # (Sy, 2)
    ax: NDArray[np.float64]  # (Sx,) π_X(0|x)
    ay: NDArray[np.float64]  # (Sy,) π_Y(0|y)
    gamma: float

    def block(
        self, d: NDArray[np.float64], rows: NDArray[np.int64], cols: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        a = self.ax[rows][:, None]
        b = self.ay[cols][None, :]
        out = np.abs(a - b)
        if self.gamma == 0.0:
            return out
        u0, u1 = self.nx[rows, 0][:, None], self.nx[rows, 1][:, None]
        v0, v1 = self.ny[cols, 0][None, :], self.ny[cols, 1][None, :]
        w = two_point_w1(a, b, d[u0, v0], d[u0, v1], d[u1, v0], d[u1, v1])
        return out + self.gamma * w

    def __call__(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.block(d, np.arange(len(self.nx)), np.arange(len(self.ny)))


def _levels(
    op: _Operator, hx: NDArray[np.int64], hy: NDArray[np.int64]
) -> tuple[NDArray[np.float64], int]:
    d = np.zeros((len(hx), len(hy)))
    ax, ay = np.flatnonzero(hx == 0), np.flatnonzero(hy == 0)
    if ax.size and ay.size:
        d[np.ix_(ax, ay)] = np.abs(op.ax[ax][:, None] - op.ay[ay][None, :]) / (1.0 - op.gamma)
    top = int(max(hx.max(), hy.max()))
    for k in range(1, top + 1):
        for rows, cols in (
            (np.flatnonzero(hx == k), np.flatnonzero(hy <= k)),
            (np.flatnonzero(hx < k), np.flatnonzero(hy == k)),
        ):
            if rows.size and cols.size:
                d[np.ix_(rows, cols)] = op.block(d, rows, cols)
    return d, top + 1


def deterministic_psm(
    mdp_x: DeterministicMDP,
    policy_x: ArrayLike,
    mdp_y: DeterministicMDP,
    policy_y: ArrayLike,
    *,
    gamma: float,
    tol: float = 1e-9,
    max_iter: int = 10_000,
    method: str = "auto",
) -> MetricResult:
    """Generalized PSM (Eq. D.3) of stochastic policies on two deterministic 2-action MDPs.

    ``d(x, y) = TV(π_X(x), π_Y(y)) + γ W1(d)(P^{π_X}(·|x), P^{π_Y}(·|y))`` with
    ``P^π(·|x) = Σ_a π(a|x) δ_{next(x, a)}``; with optimal deterministic policies it is the
    PSM d* (Eq. D.1), with ε-suboptimal ones the approximate PSM of Prop. D.3. Rewards of the
    MDPs are ignored (the PSM is reward-agnostic).

    Args:
        mdp_x: row MDP, ``next_state`` (Sx, 2).
        policy_x: ``π_X[x, a]``, (Sx, 2), rows summing to 1.
        mdp_y: column MDP, ``next_state`` (Sy, 2).
        policy_y: ``π_Y[y, a]``, (Sy, 2).
        gamma: discount in [0, 1).
        tol: tolerance of ``"iterate"``; both solvers report ``converged = residual <= tol``.
        max_iter: cap on the iterations of ``"iterate"`` (warns when hit).
        method: ``"auto"``, ``"iterate"`` or ``"levels"`` (module docstring).

    Returns:
        :class:`~pisces.metrics.MetricResult` with ``distance`` float64 (Sx, Sy).

    Raises:
        ValueError: MDPs without exactly 2 actions, bad policy shapes or rows, gamma outside
            [0, 1), an unknown method, or ``"levels"`` on a cyclic MDP.
    """
    for name, mdp in (("mdp_x", mdp_x), ("mdp_y", mdp_y)):
        if not isinstance(mdp, DeterministicMDP):
            raise ValueError(f"{name} must be a DeterministicMDP, got {type(mdp).__name__}")
        if mdp.num_actions != 2:
            raise ValueError(
                f"{name} must have exactly 2 actions (closed-form W1), got {mdp.num_actions}"
            )
    px = _check_policy(policy_x, mdp_x, "policy_x")
    py = _check_policy(policy_y, mdp_y, "policy_y")
    g = check_gamma(gamma)
    op = _Operator(mdp_x.next_state, mdp_y.next_state, px[:, 0].copy(), py[:, 0].copy(), g)
    return solve_on_levels(
        op,
        mdp_x,
        mdp_y,
        lambda hx, hy: _levels(op, hx, hy),
        method=method,
        tol=tol,
        max_iter=max_iter,
        name="deterministic_psm",
    )
