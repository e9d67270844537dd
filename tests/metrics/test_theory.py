"""Paper results checked numerically: Figure D.1 / Prop. D.1 (App. D.2) and Theorem 1 (App. B)."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.metrics import FiniteMDP, bisimulation, pi_bisimulation, psm

# ----------------------------------------------------------------------------- Figure D.1


def figure_d1_mdp(r: float) -> FiniteMDP:
    """The 3-state MDP of Figure D.1 with reward ``r`` on the optimal (cyan) edges.

    s0 --a0, r--> s1,  s0 --a1, 0--> s2;  s1 --a1, r--> s2,  s1 --a0, 0--> s2;
    s2 is terminal (absorbing, zero reward). Optimal: π*(s0) = a0, π*(s1) = a1.
    """
    p = np.zeros((3, 2, 3))
    p[0, 0, 1] = p[0, 1, 2] = 1.0
    p[1, 0, 2] = p[1, 1, 2] = 1.0
    p[2, :, 2] = 1.0
    rewards = np.array([[r, 0.0], [0.0, r], [0.0, 0.0]])
    return FiniteMDP(p, rewards)


#: π*(s0) = a0, π*(s1) = a1, and the same action in both terminal states (DIST there is 0).
PI_STAR = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize(("rx", "ry", "gamma"), [(1.0, 3.0, 0.9), (2.0, 0.5, 0.7), (1.0, 1.0, 0.5)])
def test_figure_d1_distances(rx: float, ry: float, gamma: float) -> None:
    mx, my = figure_d1_mdp(rx), figure_d1_mdp(ry)
    kw = {"gamma": gamma, "tol": 1e-12}
    d_bisim = bisimulation(mx, my, **kw).distance
    d_pi = pi_bisimulation(mx, PI_STAR, my, PI_STAR, **kw).distance
    d_psm = psm(mx, PI_STAR, my, PI_STAR, **kw).distance
    # Appendix D.2 formulas.
    assert d_bisim[0, 0] == pytest.approx((1 + gamma) * abs(ry - rx), abs=1e-9)
    assert d_pi[0, 0] == pytest.approx((1 + gamma) * abs(ry - rx), abs=1e-9)
    assert d_bisim[0, 1] == pytest.approx(max((1 + gamma) * rx, ry), abs=1e-9)
    assert d_pi[0, 1] == pytest.approx(abs(ry - rx) + gamma * rx, abs=1e-9)
    # PSM is reward agnostic: the semantically equivalent states are at distance 0 ...
    np.testing.assert_allclose(np.diag(d_psm), 0.0, atol=1e-12)
    # ... and x0 vs y1: TV(a0, a1) + γ TV(π*(x1) = a1, π*(y2) = a0) = 1 + γ.
    assert d_psm[0, 1] == pytest.approx(1 + gamma, abs=1e-9)


def test_figure_d1_bisimulation_picks_the_wrong_state() -> None:
    """ry > (1 + 1/γ) rx: both bisimulation metrics put x0 closer to y1 than y0; PSM does not."""
    gamma, rx = 0.9, 1.0
    ry = (1 + 1 / gamma) * rx + 0.5
    mx, my = figure_d1_mdp(rx), figure_d1_mdp(ry)
    d_bisim = bisimulation(mx, my, gamma=gamma).distance
    d_pi = pi_bisimulation(mx, PI_STAR, my, PI_STAR, gamma=gamma).distance
    d_psm = psm(mx, PI_STAR, my, PI_STAR, gamma=gamma).distance
    assert d_bisim[0, 1] < d_bisim[0, 0]
    assert d_pi[0, 1] < d_pi[0, 0]
    assert d_psm[0, 0] == 0.0 < d_psm[0, 1]


def test_prop_d1_pi_bisimulation_can_approach_its_maximum_at_zero_psm() -> None:
    """Prop. D.1: PSM 0 while the π*-bisimulation distance is |Rmax - Rmin| / (1 - γ) - ε."""
    gamma, rmax, rmin = 0.9, 2.0, -1.0
    p = np.ones((1, 2, 1))
    mx = FiniteMDP(p, np.full((1, 2), rmax))
    my = FiniteMDP(p, np.full((1, 2), rmin))
    pol = np.array([[0.0, 1.0]])
    assert psm(mx, pol, my, pol, gamma=gamma).distance[0, 0] == pytest.approx(0.0)
    d = pi_bisimulation(mx, pol, my, pol, gamma=gamma, tol=1e-12).distance[0, 0]
    assert d == pytest.approx((rmax - rmin) / (1 - gamma), rel=1e-9)


# ----------------------------------------------------------------------------- Theorem 1


def optimal_policy(mdp: FiniteMDP, gamma: float) -> np.ndarray:
    """Deterministic optimal policy (S, A) by value iteration, one-hot."""
    q = np.zeros((mdp.num_states, mdp.num_actions))
    for _ in range(2000):
        q_new = mdp.rewards + gamma * mdp.transitions @ q.max(axis=1)
        if np.max(np.abs(q_new - q)) < 1e-12:
            break
        q = q_new
    return np.eye(mdp.num_actions)[np.argmax(q, axis=1)]


def random_mdp(rng: np.random.Generator, s: int, a: int) -> FiniteMDP:
    p = rng.dirichlet(np.full(s, 0.5), size=(s, a))
    p[rng.random((s, a)) < 0.4] = np.eye(s)[rng.integers(0, s)]  # some deterministic rows
    return FiniteMDP(p, rng.normal(size=(s, a)))


def transfer_gap(
    mdp_x: FiniteMDP, pi_x: np.ndarray, mdp_y: FiniteMDP, pi_y: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of Theorem 1 for every start state y of M_Y.

    LHS(y) = E[sum_t γ^t TV(π~(Y_t), π*_Y(Y_t))] with Y_0 = y and Y_{t+1} ~ P^{π~}(·|Y_t) in
    M_Y, where π~(y) = π*_X(x~_y) and x~_y = argmin_x d*(x, y); exactly
    (I - γ P^{π~})^{-1} tv. RHS(y) = (1 + γ) / (1 - γ) d*(x~_y, y).
    """
    d = psm(mdp_x, pi_x, mdp_y, pi_y, gamma=gamma, tol=1e-12).distance
    nearest = np.argmin(d, axis=0)  # x~_y for every y
    pi_transfer = pi_x[nearest]
    tv = 0.5 * np.abs(pi_transfer - pi_y).sum(axis=1)
    p_transfer = mdp_y.policy_transitions(pi_transfer)
    lhs = np.linalg.solve(np.eye(mdp_y.num_states) - gamma * p_transfer, tv)
    rhs = (1 + gamma) / (1 - gamma) * d[nearest, np.arange(mdp_y.num_states)]
    return lhs, rhs


@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_theorem1_transfer_bound_on_random_mdp_pairs(gamma: float) -> None:
    rng = np.random.default_rng(2021)
    nontrivial = 0
    for _ in range(12):
        sx, sy, a = rng.integers(2, 5), rng.integers(2, 5), rng.integers(2, 4)
        mx, my = random_mdp(rng, sx, a), random_mdp(rng, sy, a)
        lhs, rhs = transfer_gap(mx, optimal_policy(mx, gamma), my, optimal_policy(my, gamma), gamma)
        assert np.all(lhs <= rhs + 1e-9), (lhs, rhs)
        # d*(x~_y, y) = 0 implies the transferred policy is optimal from y.
        assert np.all(lhs[rhs <= 1e-12] <= 1e-9)
        nontrivial += int(np.sum(lhs > 1e-6))
    assert nontrivial > 0  # the transferred policy does err somewhere, so the check has teeth


def test_theorem1_bound_also_holds_for_stochastic_grounding_policies() -> None:
    """The proof never uses optimality: any π_X, π_Y (with DIST = TV) satisfy the bound."""
    rng = np.random.default_rng(5)
    gamma = 0.8
    for _ in range(8):
        mx, my = random_mdp(rng, 3, 2), random_mdp(rng, 4, 2)
        px, py = rng.dirichlet(np.ones(2), size=3), rng.dirichlet(np.ones(2), size=4)
        lhs, rhs = transfer_gap(mx, px, my, py, gamma)
        assert np.all(lhs <= rhs + 1e-9)
        assert np.all(lhs > 0)
