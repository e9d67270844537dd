"""Behavioural metrics between states of two finite MDPs with stochastic transitions.

All three metrics are fixed points of an operator ``F(d) = cost + γ · W1(d)(·, ·)`` and share
the same machinery (:func:`pisces.metrics._fixed_point.iterate` and
:func:`pisces.metrics.wasserstein.wasserstein1_pairwise`):

* PSM, Eq. 3 / D.1 (and the generalized PSM of Eq. D.3 when the two policies differ):
  ``d(x, y) = TV(π_x(x), π_y(y)) + γ W1(d)(P^{π_x}(·|x), P^{π_y}(·|y))``;
* π-bisimulation, Eq. 1 (Castro, 2020):
  ``d(x, y) = |r^{π_x}(x) - r^{π_y}(y)| + γ W1(d)(P^{π_x}(·|x), P^{π_y}(·|y))``;
* bisimulation, Eq. C.1 (Ferns et al.):
  ``d(x, y) = max_a |R(x, a) - R(y, a)| + γ W1(d)(P(·|x, a), P(·|y, a))``.

Rows of the returned matrix index states of ``mdp_x`` and columns states of ``mdp_y``;
pass the same MDP twice for the metric within one MDP. Each F is a γ-contraction in the
sup norm (Prop. B.1), so the iteration from zeros converges; it is capped by ``max_iter``
and warns (:class:`~pisces.metrics.MetricConvergenceWarning`) when the cap is hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.metrics._fixed_point import MetricResult, iterate
from pisces.metrics._validate import as_finite, check_gamma, check_stochastic
from pisces.metrics.wasserstein import wasserstein1_pairwise


@dataclass(frozen=True)
class FiniteMDP:
    """A finite MDP ``(S, A, P, R)``, validated on construction.

    Attributes:
        transitions: ``P[s, a, s'] = P(s' | s, a)``, shape (S, A, S); each ``P[s, a]`` sums to 1.
        rewards: ``R[s, a]``, shape (S, A), finite.
    """

    transitions: NDArray[np.float64]
    rewards: NDArray[np.float64]

    def __post_init__(self) -> None:
        p = check_stochastic(as_finite(self.transitions, "transitions", ndim=3), "transitions")
        r = as_finite(self.rewards, "rewards", ndim=2)
        s, a, s2 = p.shape
        if s == 0 or a == 0 or s != s2:
            raise ValueError(f"transitions must have shape (S, A, S) with S, A >= 1, got {p.shape}")
        if r.shape != (s, a):
            raise ValueError(
                f"rewards must have shape {(s, a)} to match transitions, got {r.shape}"
            )
        p = p.copy()
        r = r.copy()
        p.flags.writeable = False
        r.flags.writeable = False
        object.__setattr__(self, "transitions", p)
        object.__setattr__(self, "rewards", r)

    @property
    def num_states(self) -> int:
        """S."""
        return int(self.transitions.shape[0])

    @property
    def num_actions(self) -> int:
        """A."""
        return int(self.transitions.shape[1])

    def check_policy(self, policy: ArrayLike, name: str = "policy") -> NDArray[np.float64]:
        """Validate ``policy[s, a] = π(a | s)``, shape (S, A), rows summing to 1."""
        pi = check_stochastic(as_finite(policy, name, ndim=2), name)
        if pi.shape != (self.num_states, self.num_actions):
            raise ValueError(
                f"{name} must have shape {(self.num_states, self.num_actions)}, got {pi.shape}"
            )
        return pi

    def policy_transitions(self, policy: ArrayLike) -> NDArray[np.float64]:
        """``P^π[s, s'] = sum_a π(a|s) P(s'|s, a)``, shape (S, S)."""
        pi = self.check_policy(policy)
        return np.einsum("sa,sat->st", pi, self.transitions)

    def policy_rewards(self, policy: ArrayLike) -> NDArray[np.float64]:
        """``r^π[s] = sum_a π(a|s) R(s, a)``, shape (S,)."""
        pi = self.check_policy(policy)
        return np.einsum("sa,sa->s", pi, self.rewards)


def _check_pair(mdp_x: FiniteMDP, mdp_y: FiniteMDP) -> None:
    for name, mdp in (("mdp_x", mdp_x), ("mdp_y", mdp_y)):
        if not isinstance(mdp, FiniteMDP):
            raise ValueError(f"{name} must be a FiniteMDP, got {type(mdp).__name__}")
    if mdp_x.num_actions != mdp_y.num_actions:
        raise ValueError(
            "mdp_x and mdp_y must share the action space: "
            f"{mdp_x.num_actions} vs {mdp_y.num_actions} actions"
        )


def _check_d(d: ArrayLike, shape: tuple[int, int]) -> NDArray[np.float64]:
    da = as_finite(d, "d", ndim=2)
    if da.shape != shape:
        raise ValueError(f"d must have shape {shape}, got {da.shape}")
    return da


@dataclass(frozen=True)
class _PolicyOperator:
    """``F(d) = cost + γ W1(d)(Px[x], Py[y])`` for fixed per-pair cost and transitions."""

    cost: NDArray[np.float64]  # (Sx, Sy)
    px: NDArray[np.float64]  # (Sx, Sx)
    py: NDArray[np.float64]  # (Sy, Sy)
    gamma: float

    def __call__(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.gamma == 0.0:
            return self.cost.copy()
        return self.cost + self.gamma * wasserstein1_pairwise(self.px, self.py, d)


@dataclass(frozen=True)
class _BisimulationOperator:
    """``F(d)(x, y) = max_a |R(x,a) - R(y,a)| + γ W1(d)(P(·|x,a), P(·|y,a))`` (Eq. C.1)."""

    mdp_x: FiniteMDP
    mdp_y: FiniteMDP
    gamma: float

    def __call__(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        rx, ry = self.mdp_x.rewards, self.mdp_y.rewards
        out = np.full((rx.shape[0], ry.shape[0]), -np.inf)
        for a in range(rx.shape[1]):
            term = np.abs(rx[:, a, None] - ry[None, :, a])
            if self.gamma != 0.0:
                px = self.mdp_x.transitions[:, a, :]
                py = self.mdp_y.transitions[:, a, :]
                term = term + self.gamma * wasserstein1_pairwise(px, py, d)
            out = np.maximum(out, term)
        return out


def _psm_operator(
    mdp_x: FiniteMDP, policy_x: ArrayLike, mdp_y: FiniteMDP, policy_y: ArrayLike, gamma: float
) -> _PolicyOperator:
    _check_pair(mdp_x, mdp_y)
    pi_x = mdp_x.check_policy(policy_x, "policy_x")
    pi_y = mdp_y.check_policy(policy_y, "policy_y")
    cost = 0.5 * np.abs(pi_x[:, None, :] - pi_y[None, :, :]).sum(axis=-1)
    return _PolicyOperator(
        cost, mdp_x.policy_transitions(pi_x), mdp_y.policy_transitions(pi_y), check_gamma(gamma)
    )


def _pi_bisim_operator(
    mdp_x: FiniteMDP, policy_x: ArrayLike, mdp_y: FiniteMDP, policy_y: ArrayLike, gamma: float
) -> _PolicyOperator:
    _check_pair(mdp_x, mdp_y)
    pi_x = mdp_x.check_policy(policy_x, "policy_x")
    pi_y = mdp_y.check_policy(policy_y, "policy_y")
    cost = np.abs(mdp_x.policy_rewards(pi_x)[:, None] - mdp_y.policy_rewards(pi_y)[None, :])
    return _PolicyOperator(
        cost, mdp_x.policy_transitions(pi_x), mdp_y.policy_transitions(pi_y), check_gamma(gamma)
    )


def _bisim_operator(mdp_x: FiniteMDP, mdp_y: FiniteMDP, gamma: float) -> _BisimulationOperator:
    _check_pair(mdp_x, mdp_y)
    return _BisimulationOperator(mdp_x, mdp_y, check_gamma(gamma))


def psm_operator(
    d: ArrayLike,
    mdp_x: FiniteMDP,
    policy_x: ArrayLike,
    mdp_y: FiniteMDP,
    policy_y: ArrayLike,
    *,
    gamma: float,
) -> NDArray[np.float64]:
    """One application of the PSM operator F (Prop. B.1) to ``d`` of shape (Sx, Sy)."""
    op = _psm_operator(mdp_x, policy_x, mdp_y, policy_y, gamma)
    return op(_check_d(d, op.cost.shape))


def pi_bisimulation_operator(
    d: ArrayLike,
    mdp_x: FiniteMDP,
    policy_x: ArrayLike,
    mdp_y: FiniteMDP,
    policy_y: ArrayLike,
    *,
    gamma: float,
) -> NDArray[np.float64]:
    """One application of the π-bisimulation operator (Eq. 1) to ``d`` of shape (Sx, Sy)."""
    op = _pi_bisim_operator(mdp_x, policy_x, mdp_y, policy_y, gamma)
    return op(_check_d(d, op.cost.shape))


def bisimulation_operator(
    d: ArrayLike, mdp_x: FiniteMDP, mdp_y: FiniteMDP, *, gamma: float
) -> NDArray[np.float64]:
    """One application of the bisimulation operator F~ (Eq. C.1) to ``d`` of shape (Sx, Sy)."""
    op = _bisim_operator(mdp_x, mdp_y, gamma)
    return op(_check_d(d, (mdp_x.num_states, mdp_y.num_states)))


def psm(
    mdp_x: FiniteMDP,
    policy_x: ArrayLike,
    mdp_y: FiniteMDP,
    policy_y: ArrayLike,
    *,
    gamma: float,
    tol: float = 1e-9,
    max_iter: int = 10_000,
) -> MetricResult:
    """Policy similarity metric across two finite MDPs (Eq. 3 / D.1; generalized PSM Eq. D.3).

    ``d(x, y) = TV(π_x(·|x), π_y(·|y)) + γ W1(d)(P^{π_x}(·|x), P^{π_y}(·|y))``, iterated from
    zeros. With optimal policies this is the PSM d*; with any other policies (approximate or
    suboptimal, Section 5.4 / Prop. D.3) it is the generalized PSM ``d((x, π_x), (y, π_y))``.

    Args:
        mdp_x: MDP of the row states (Sx states, A actions).
        policy_x: ``π_x[x, a]``, shape (Sx, A).
        mdp_y: MDP of the column states (Sy states, same A).
        policy_y: ``π_y[y, a]``, shape (Sy, A).
        gamma: discount in [0, 1).
        tol: stop when ``||d_{k+1} - d_k||_inf <= tol``.
        max_iter: cap on iterations (warns if hit).

    Returns:
        :class:`MetricResult` with ``distance`` of shape (Sx, Sy).
    """
    op = _psm_operator(mdp_x, policy_x, mdp_y, policy_y, gamma)
    return iterate(op, op.cost.shape, tol=tol, max_iter=max_iter, name="psm")


def pi_bisimulation(
    mdp_x: FiniteMDP,
    policy_x: ArrayLike,
    mdp_y: FiniteMDP,
    policy_y: ArrayLike,
    *,
    gamma: float,
    tol: float = 1e-9,
    max_iter: int = 10_000,
) -> MetricResult:
    """π-bisimulation metric (Eq. 1, Castro 2020) across two finite MDPs.

    ``d(x, y) = |r^{π_x}(x) - r^{π_y}(y)| + γ W1(d)(P^{π_x}(·|x), P^{π_y}(·|y))`` with
    ``r^π(s) = sum_a π(a|s) R(s, a)``. Same arguments and result as :func:`psm`;
    with optimal policies it is the π*-bisimulation metric.
    """
    op = _pi_bisim_operator(mdp_x, policy_x, mdp_y, policy_y, gamma)
    return iterate(op, op.cost.shape, tol=tol, max_iter=max_iter, name="pi_bisimulation")


def bisimulation(
    mdp_x: FiniteMDP,
    mdp_y: FiniteMDP,
    *,
    gamma: float,
    tol: float = 1e-9,
    max_iter: int = 10_000,
) -> MetricResult:
    """Bisimulation metric (Eq. C.1, Ferns et al.) across two finite MDPs with shared actions.

    ``d(x, y) = max_a [ |R(x, a) - R(y, a)| + γ W1(d)(P(·|x, a), P(·|y, a)) ]``.

    Returns:
        :class:`MetricResult` with ``distance`` of shape (Sx, Sy).
    """
    op = _bisim_operator(mdp_x, mdp_y, gamma)
    shape = (mdp_x.num_states, mdp_y.num_states)
    return iterate(op, shape, tol=tol, max_iter=max_iter, name="bisimulation")
