"""trajectory_psm (Eq. D.2): closed form vs the reference iteration, jumping-task structure."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.metrics import (
    FiniteMDP,
    action_mismatch_cost,
    pairwise_total_variation,
    psm,
    reward_cost_matrix,
    trajectory_pi_bisimulation,
    trajectory_psm,
    trajectory_psm_fixed_point,
)

TRAJ_LEN = 56  # optimal jumping-task episode: x goes 0 -> 56 (spec §1.5)


def optimal_actions(obstacle_position: int) -> np.ndarray:
    """Spec §1.5: RIGHT (0) everywhere except a single JUMP (1) at step index p - 14."""
    actions = np.zeros(TRAJ_LEN, dtype=np.int64)
    actions[obstacle_position - 14] = 1
    return actions


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (4, 7), (7, 4), (3, 6, 5)])
def test_closed_form_matches_fixed_point(shape: tuple[int, ...], gamma: float) -> None:
    rng = np.random.default_rng([*shape, int(gamma * 1000)])
    cost = rng.random(shape) * rng.integers(0, 2, size=shape)  # include exact zeros
    exact = trajectory_psm(cost, gamma=gamma)
    ref = trajectory_psm_fixed_point(cost, gamma=gamma, tol=1e-13)
    assert ref.converged
    assert exact.shape == shape and exact.dtype == np.float64
    np.testing.assert_allclose(exact, ref.distance, rtol=1e-10, atol=1e-10)


def test_closed_form_matches_fixed_point_gamma_0999() -> None:
    rng = np.random.default_rng(0)
    cost = rng.random((2, 5, 3))
    exact = trajectory_psm(cost, gamma=0.999)
    ref = trajectory_psm_fixed_point(cost, gamma=0.999, tol=1e-12, max_iter=100_000)
    assert ref.converged and ref.iterations > 10_000  # the iteration really is slow here
    np.testing.assert_allclose(exact, ref.distance, rtol=1e-9)


def test_closed_form_satisfies_recursion() -> None:
    rng = np.random.default_rng(1)
    n, m, gamma = 9, 13, 0.95
    cost = rng.random((n, m))
    d = trajectory_psm(cost, gamma=gamma)
    for i in range(n):
        for j in range(m):
            nxt = d[min(i + 1, n - 1), min(j + 1, m - 1)]
            assert d[i, j] == pytest.approx(cost[i, j] + gamma * nxt, rel=1e-12)


def test_float32_input_and_dtype() -> None:
    cost = np.random.default_rng(2).random((6, 4)).astype(np.float32)
    d64 = trajectory_psm(cost, gamma=0.9)
    assert d64.dtype == np.float64
    np.testing.assert_allclose(d64, trajectory_psm(cost.astype(np.float64), gamma=0.9))
    d32 = trajectory_psm(cost, gamma=0.9, dtype=np.float32)
    assert d32.dtype == np.float32
    np.testing.assert_allclose(d32, d64, rtol=1e-6)


def test_batch_equals_loop() -> None:
    cost = np.random.default_rng(3).random((2, 3, 5, 6))
    batched = trajectory_psm(cost, gamma=0.8)
    for idx in np.ndindex(2, 3):
        np.testing.assert_array_equal(batched[idx], trajectory_psm(cost[idx], gamma=0.8))


def _chain_mdp(n: int, num_actions: int) -> FiniteMDP:
    """Deterministic chain 0 -> 1 -> ... -> n-1 -> n-1 whatever the action."""
    p = np.zeros((n, num_actions, n))
    for i in range(n):
        p[i, :, min(i + 1, n - 1)] = 1.0
    return FiniteMDP(p, np.zeros((n, num_actions)))


@pytest.mark.parametrize(("n", "m"), [(4, 6), (5, 5), (7, 2)])
def test_equals_psm_on_equivalent_finite_mdp(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 10 + m)
    pol_x = rng.dirichlet(np.ones(3), size=n)
    pol_y = rng.dirichlet(np.ones(3), size=m)
    gamma = 0.9
    expected = psm(_chain_mdp(n, 3), pol_x, _chain_mdp(m, 3), pol_y, gamma=gamma, tol=1e-12)
    assert expected.converged
    got = trajectory_psm(pairwise_total_variation(pol_x, pol_y), gamma=gamma)
    np.testing.assert_allclose(got, expected.distance, rtol=1e-9, atol=1e-10)


def test_action_cost_is_tv_of_one_hot_policies() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 3, size=7), rng.integers(0, 3, size=5)
    eye = np.eye(3)
    np.testing.assert_array_equal(
        action_mismatch_cost(a, b), pairwise_total_variation(eye[a], eye[b])
    )


@pytest.mark.parametrize(("p1", "p2"), [(30, 40), (20, 40), (25, 26), (45, 18)])
def test_jumping_task_structure(p1: int, p2: int) -> None:
    """Spec §4.2: aligned pairs at distance 0, post-jump ties, d[0, 0] and the [0, 2) range."""
    gamma = 0.999
    a1, a2 = optimal_actions(p1), optimal_actions(p2)
    j1, j2 = p1 - 14, p2 - 14
    d = trajectory_psm(action_mismatch_cost(a1, a2), gamma=gamma)
    assert d.shape == (TRAJ_LEN, TRAJ_LEN)
    # Aligned pairs (same distance to the jump point) are exactly 0.
    shift = j2 - j1
    for i in range(j1 + 1):
        if 0 <= i + shift < TRAJ_LEN:
            assert d[i, i + shift] == 0.0
    # Post-jump states of both trajectories are all at distance 0.
    assert np.all(d[j1 + 1 :, j2 + 1 :] == 0.0)
    # Distances of a single mismatched pair path: sum of gamma^k over the mismatch steps.
    expected_00 = (gamma**j1 if j1 != j2 else 0.0) + (gamma**j2 if j1 != j2 else 0.0)
    assert d[0, 0] == pytest.approx(expected_00, rel=1e-12)
    if (p1, p2) == (30, 40):
        assert d[0, 0] == pytest.approx(1.96, abs=0.005)
    assert d.min() == 0.0 and d.max() < 2.0
    # Positives = argmin with first-index ties.
    pos = np.argmin(d, axis=1)
    for i in range(TRAJ_LEN):
        if i > j1:
            assert pos[i] == j2 + 1  # all post-jump states -> first post-jump state
        elif 0 <= i + shift < TRAJ_LEN:
            assert pos[i] == i + shift  # aligned partner
        else:
            assert pos[i] == j2 + 1  # no aligned partner -> other trajectory's j2 + 1


def test_pi_bisimulation_trajectory_is_zero_only_on_diagonal() -> None:
    """Spec §4.4: rewards 1 everywhere except 101 at the last step -> zero on the diagonal."""
    r = np.ones(TRAJ_LEN)
    r[-1] = 101.0
    d = trajectory_pi_bisimulation(r, r, gamma=0.999)
    np.testing.assert_array_equal(reward_cost_matrix(r, r)[0], np.abs(r[0] - r))
    assert np.all(np.diag(d) == 0.0)
    off = ~np.eye(TRAJ_LEN, dtype=bool)
    assert np.all(d[off] > 0.0)
    # max over the matrix: 100 * sum_{k<55} gamma^k (≈ 5354, spec §4.4)
    assert d.max() == pytest.approx(100 * (1 - 0.999**55) / (1 - 0.999), rel=1e-12)
    assert d.max() == pytest.approx(5354, abs=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cost": np.ones((3, 3)), "gamma": 1.0}, "gamma"),
        ({"cost": np.ones((3, 3)), "gamma": -0.1}, "gamma"),
        ({"cost": np.ones((3, 3)), "gamma": float("nan")}, "gamma"),
        ({"cost": np.full((3, 3), np.nan), "gamma": 0.9}, "NaN"),
        ({"cost": -np.ones((3, 3)), "gamma": 0.9}, "non-negative"),
        ({"cost": np.ones(3), "gamma": 0.9}, "dimension"),
        ({"cost": np.ones((0, 3)), "gamma": 0.9}, "non-empty"),
    ],
)
def test_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        trajectory_psm(**kwargs)
    with pytest.raises(ValueError, match=match):
        trajectory_psm_fixed_point(**kwargs)


def test_fixed_point_cap_warns() -> None:
    from pisces.metrics import MetricConvergenceWarning

    with pytest.warns(MetricConvergenceWarning, match="max_iter"):
        res = trajectory_psm_fixed_point(np.ones((3, 3)), gamma=0.99, max_iter=5)
    assert not res.converged and res.iterations == 5 and res.residual > 0
