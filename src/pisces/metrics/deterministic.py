r"""Bisimulation metric between the states of two *deterministic* finite MDPs (Eq. C.1).

For deterministic dynamics ``P(·|s, a) = δ_{next(s, a)}`` the Wasserstein term of Eq. C.1
(Ferns et al., 2004) collapses to one entry of ``d`` (the only coupling of two Dirac masses),
so the metric between states ``x`` of MDP X and ``y`` of MDP Y is the fixed point of

.. math::

    F(d)(x, y) = \max_a \big[\, |R_X(x, a) - R_Y(y, a)| + γ\, d(\mathrm{next}_X(x, a),
    \mathrm{next}_Y(y, a)) \,\big].

Only the cross block (states of X × states of Y) is ever needed: the successors of a pair
stay in X × Y, so this equals the X × Y block of the metric on the disjoint union of the two
MDPs (tested against :func:`pisces.metrics.bisimulation`). Inputs are next-state index tables
and reward tables, so MDPs with thousands of states fit (no dense (S, A, S) tensor).

Two solvers, both exact up to floating-point rounding and both reported in a
:class:`~pisces.metrics.MetricResult`:

* ``"iterate"``: Jacobi fixed-point iteration ``d_{k+1} = F(d_k)`` from zeros, vectorized over
  all pairs, capped by ``max_iter`` with tolerance ``tol`` on ``||d_{k+1} - d_k||_inf`` (F is
  a γ-contraction, so the error is at most ``γ / (1 - γ) · residual``); warns with
  :class:`~pisces.metrics.MetricConvergenceWarning` at the cap. For MDPs whose every path
  ends in an absorbing state with zero reward it reaches the fixed point exactly after
  (longest path + 1) iterations.
* ``"levels"``: exact backward induction for MDPs that are acyclic up to absorbing states
  (states whose every action loops back to themselves, e.g. episode ends). The *height* of a
  state is 0 if it is absorbing, else ``1 + max_a height(next(s, a))``; a pair with
  ``max(h_x, h_y) = k`` depends only on pairs of height ``< k``, so each pair is computed
  once, level by level (two rectangular blocks per level), and pairs of absorbing states get
  the closed form ``max_a |R_X - R_Y| / (1 - γ)``. Its result carries ``iterations`` = number
  of levels and the *certificate* ``residual = ||F(d) - d||_inf`` from one extra application
  of F. ``"auto"`` (default) uses ``"levels"`` when both MDPs are acyclic in that sense and
  ``"iterate"`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.metrics._fixed_point import MetricResult, iterate
from pisces.metrics._validate import as_finite, check_gamma

__all__ = ["DeterministicMDP", "deterministic_bisimulation", "absorbing_heights"]

_METHODS = ("auto", "iterate", "levels")


@dataclass(frozen=True)
class DeterministicMDP:
    """A finite MDP with deterministic transitions, validated on construction.

    Attributes:
        next_state: ``next_state[s, a]`` = index of the successor of state ``s`` under action
            ``a``; int64 (S, A) with entries in ``[0, S)``.
        rewards: ``R[s, a]``, float64 (S, A), finite.
    """

    next_state: NDArray[np.int64]
    rewards: NDArray[np.float64]

    def __post_init__(self) -> None:
        nxt = np.asarray(self.next_state)
        if nxt.ndim != 2 or nxt.shape[0] == 0 or nxt.shape[1] == 0:
            raise ValueError(f"next_state must have shape (S, A) with S, A >= 1, got {nxt.shape}")
        if not np.issubdtype(nxt.dtype, np.integer):
            raise ValueError(f"next_state must hold integer state indices, got dtype {nxt.dtype}")
        s = nxt.shape[0]
        if nxt.min() < 0 or nxt.max() >= s:
            raise ValueError(
                f"next_state entries must be state indices in [0, {s}), "
                f"found range [{int(nxt.min())}, {int(nxt.max())}]"
            )
        r = as_finite(self.rewards, "rewards", ndim=2)
        if r.shape != nxt.shape:
            raise ValueError(
                f"rewards must have the shape of next_state {nxt.shape}, got {r.shape}"
            )
        nxt = nxt.astype(np.int64, copy=True)
        r = r.copy()
        nxt.flags.writeable = False
        r.flags.writeable = False
        object.__setattr__(self, "next_state", nxt)
        object.__setattr__(self, "rewards", r)

    @property
    def num_states(self) -> int:
        """S."""
        return int(self.next_state.shape[0])

    @property
    def num_actions(self) -> int:
        """A."""
        return int(self.next_state.shape[1])

    def to_dense(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(P, R)`` with one-hot ``P[s, a, s'] = [s' = next(s, a)]`` of shape (S, A, S)."""
        s, a = self.next_state.shape
        p = np.zeros((s, a, s))
        p[np.arange(s)[:, None], np.arange(a)[None, :], self.next_state] = 1.0
        return p, self.rewards.copy()


def absorbing_heights(mdp: DeterministicMDP) -> NDArray[np.int64]:
    """Height of every state: 0 if absorbing (``next(s, a) = s`` for all a), otherwise
    ``1 + max_a height(next(s, a))``; -1 for states on or leading into a cycle of length > 1
    or a self-loop under only some actions. Shape (S,), computed in at most S sweeps."""
    nxt = mdp.next_state
    s = nxt.shape[0]
    absorbing = (nxt == np.arange(s)[:, None]).all(axis=1)
    h = np.where(absorbing, 0, -1).astype(np.int64)
    for _ in range(s):
        succ = h[nxt]  # (S, A)
        ready = ~absorbing & (succ >= 0).all(axis=1)
        new = np.where(ready, 1 + succ.max(axis=1), h)
        new[absorbing] = 0
        if np.array_equal(new, h):
            break
        h = new
    return h


def _as_mdp(mdp: DeterministicMDP | tuple[ArrayLike, ArrayLike], name: str) -> DeterministicMDP:
    if isinstance(mdp, DeterministicMDP):
        return mdp
    if isinstance(mdp, tuple) and len(mdp) == 2:
        return DeterministicMDP(*mdp)  # type: ignore[arg-type]
    raise ValueError(f"{name} must be a DeterministicMDP or a (next_state, rewards) pair")


@dataclass(frozen=True)
class _Operator:
    """``F(d)`` of the module docstring, on the full (Sx, Sy) grid."""

    mx: DeterministicMDP
    my: DeterministicMDP
    gamma: float

    def __call__(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        rx, ry = self.mx.rewards, self.my.rewards
        nx, ny = self.mx.next_state, self.my.next_state
        out = None
        for a in range(rx.shape[1]):
            term = np.abs(rx[:, a, None] - ry[None, :, a])
            term += self.gamma * d[nx[:, a][:, None], ny[:, a][None, :]]
            out = term if out is None else np.maximum(out, term)
        assert out is not None
        return out


def _levels(
    mx: DeterministicMDP,
    my: DeterministicMDP,
    hx: NDArray[np.int64],
    hy: NDArray[np.int64],
    gamma: float,
) -> tuple[NDArray[np.float64], int]:
    """Exact backward induction by pair height (see the module docstring)."""
    rx, ry, nx, ny = mx.rewards, my.rewards, mx.next_state, my.next_state
    d = np.zeros((mx.num_states, my.num_states))
    ax, ay = np.flatnonzero(hx == 0), np.flatnonzero(hy == 0)
    if ax.size and ay.size:
        c = np.abs(rx[ax][:, None, :] - ry[ay][None, :, :]).max(axis=-1)
        d[np.ix_(ax, ay)] = c / (1.0 - gamma)
    top = int(max(hx.max(), hy.max()))

    def block(rows: NDArray[np.int64], cols: NDArray[np.int64]) -> None:
        if rows.size == 0 or cols.size == 0:
            return
        out = None
        for a in range(rx.shape[1]):
            term = np.abs(rx[rows, a][:, None] - ry[cols, a][None, :])
            term += gamma * d[nx[rows, a][:, None], ny[cols, a][None, :]]
            out = term if out is None else np.maximum(out, term)
        d[np.ix_(rows, cols)] = out

    for k in range(1, top + 1):
        block(np.flatnonzero(hx == k), np.flatnonzero(hy <= k))
        block(np.flatnonzero(hx < k), np.flatnonzero(hy == k))
    return d, top + 1


def deterministic_bisimulation(
    mdp_x: DeterministicMDP | tuple[ArrayLike, ArrayLike],
    mdp_y: DeterministicMDP | tuple[ArrayLike, ArrayLike],
    *,
    gamma: float,
    tol: float = 1e-9,
    max_iter: int = 10_000,
    method: str = "auto",
) -> MetricResult:
    """Bisimulation metric (Eq. C.1) between states of two deterministic finite MDPs.

    ``d(x, y) = max_a [ |R_X(x, a) - R_Y(y, a)| + γ d(next_X(x, a), next_Y(y, a)) ]``.

    Args:
        mdp_x: MDP of the row states, a :class:`DeterministicMDP` or a pair
            ``(next_state (Sx, A) int, rewards (Sx, A) float)``.
        mdp_y: MDP of the column states, same form, same number of actions A.
        gamma: discount in [0, 1).
        tol: ``"iterate"`` stops when ``||d_{k+1} - d_k||_inf <= tol``; both solvers report
            ``converged = residual <= tol``.
        max_iter: cap on the iterations of ``"iterate"`` (warns when hit).
        method: ``"auto"``, ``"iterate"`` or ``"levels"`` (module docstring).

    Returns:
        :class:`~pisces.metrics.MetricResult` with ``distance`` float64 (Sx, Sy).

    Raises:
        ValueError: bad shapes, indices out of range, non-finite rewards, different action
            counts, gamma outside [0, 1), an unknown method, or ``"levels"`` on an MDP with
            a cycle (other than absorbing self-loops).
    """
    mx, my = _as_mdp(mdp_x, "mdp_x"), _as_mdp(mdp_y, "mdp_y")
    if mx.num_actions != my.num_actions:
        raise ValueError(
            "mdp_x and mdp_y must share the action space: "
            f"{mx.num_actions} vs {my.num_actions} actions"
        )
    g = check_gamma(gamma)
    op = _Operator(mx, my, g)
    return solve_on_levels(
        op,
        mx,
        my,
        lambda hx, hy: _levels(mx, my, hx, hy, g),
        method=method,
        tol=tol,
        max_iter=max_iter,
        name="deterministic_bisimulation",
    )


def solve_on_levels(
    op: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    mdp_x: DeterministicMDP,
    mdp_y: DeterministicMDP,
    levels: Callable[[NDArray[np.int64], NDArray[np.int64]], tuple[NDArray[np.float64], int]],
    *,
    method: str,
    tol: float,
    max_iter: int,
    name: str,
) -> MetricResult:
    """The solver shared by the metrics on two deterministic MDPs (bisimulation, PSM).

    ``method="levels"``: exact backward induction ``levels(hx, hy) -> (d, n_levels)`` over the
    absorbing heights (:func:`absorbing_heights`), for MDPs acyclic up to absorbing states
    (an error otherwise); ``"iterate"``: the capped fixed-point iteration of ``op`` from zero;
    ``"auto"``: levels when acyclic, else iterate. The levels answer is certified by its
    residual ``max |op(d) − d|`` (``converged`` iff it is ≤ ``tol``).

    Raises:
        ValueError: for an unknown method, a non-positive ``tol`` or ``max_iter``.
    """
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(_METHODS)}")
    tol = float(tol)
    if not np.isfinite(tol) or tol <= 0.0:
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if method in ("auto", "levels"):
        hx, hy = absorbing_heights(mdp_x), absorbing_heights(mdp_y)
        acyclic = bool((hx >= 0).all() and (hy >= 0).all())
        if not acyclic and method == "levels":
            raise ValueError(
                "method='levels' needs MDPs that are acyclic up to absorbing states; "
                "use method='iterate'"
            )
        if acyclic:
            d, n_levels = levels(hx, hy)
            residual = float(np.max(np.abs(op(d) - d)))
            return MetricResult(d, n_levels, residual <= tol, residual)
    shape = (mdp_x.num_states, mdp_y.num_states)
    return iterate(op, shape, tol=tol, max_iter=max_iter, name=name)
