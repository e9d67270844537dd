"""PSM of stochastic policies on deterministic two-action MDPs (Eq. D.3 with Dirac dynamics).

References: the dense :func:`pisces.metrics.psm` (W1 by optimal transport, POT) on the same
MDPs, the trajectory PSM for deterministic policies on chains, and the 2x2 transport LP.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pisces.metrics import (
    DeterministicMDP,
    FiniteMDP,
    MetricConvergenceWarning,
    psm,
    trajectory_psm,
    wasserstein1,
)
from pisces.metrics.deterministic_psm import deterministic_psm, two_point_w1


def random_mdp(rng: np.random.Generator, s: int, *, acyclic: bool) -> DeterministicMDP:
    """Random 2-action deterministic MDP; ``acyclic``: successors have larger indices and the
    last state is absorbing (an episodic MDP like the jumping task)."""
    rewards = rng.normal(size=(s, 2))
    if not acyclic:
        return DeterministicMDP(rng.integers(0, s, size=(s, 2)), rewards)
    nxt = np.empty((s, 2), dtype=np.int64)
    for i in range(s):
        nxt[i] = rng.integers(min(i + 1, s - 1), s, size=2)
    nxt[s - 1] = s - 1
    return DeterministicMDP(nxt, rewards)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31 - 1),
    sx=st.integers(1, 6),
    sy=st.integers(1, 6),
    acyclic=st.booleans(),
    gamma=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_matches_dense_psm(seed, sx, sy, acyclic, gamma):
    rng = np.random.default_rng(seed)
    mx, my = random_mdp(rng, sx, acyclic=acyclic), random_mdp(rng, sy, acyclic=acyclic)
    px, py = rng.dirichlet([1, 1], sx), rng.dirichlet([1, 1], sy)
    ref = psm(FiniteMDP(*mx.to_dense()), px, FiniteMDP(*my.to_dense()), py, gamma=gamma, tol=1e-12)
    got = deterministic_psm(mx, px, my, py, gamma=gamma, tol=1e-11)
    assert got.converged
    # the iteration reference stops at tol 1e-12: error <= γ/(1-γ)·tol
    np.testing.assert_allclose(got.distance, ref.distance, atol=1e-9)
    if acyclic:
        assert got.iterations <= max(sx, sy) + 1  # levels: one pass per height
        it = deterministic_psm(mx, px, my, py, gamma=gamma, method="iterate", tol=1e-12)
        np.testing.assert_allclose(got.distance, it.distance, atol=1e-9)


@settings(max_examples=30)
@given(
    a=st.floats(0, 1),
    b=st.floats(0, 1),
    d=st.lists(st.floats(0, 10), min_size=4, max_size=4),
)
def test_two_point_w1_is_the_transport_lp(a, b, d):
    cost = np.array(d).reshape(2, 2)
    ref = wasserstein1(np.array([a, 1 - a]), np.array([b, 1 - b]), cost)
    got = two_point_w1(np.float64(a), np.float64(b), *cost.ravel())
    assert got == pytest.approx(ref, abs=1e-9)


def test_deterministic_policies_on_chains_give_the_trajectory_psm():
    # two chains with absorbing last states; action 0 and 1 both go to the next state, so any
    # policy follows the chain; TV of one-hot policies is the 0/1 action cost.
    rng = np.random.default_rng(3)
    n, m = 9, 7
    chain = lambda k: DeterministicMDP(  # noqa: E731
        np.repeat(np.minimum(np.arange(k) + 1, k - 1)[:, None], 2, axis=1), np.zeros((k, 2))
    )
    ax, ay = rng.integers(0, 2, n), rng.integers(0, 2, m)
    ax[-1] = ay[-1] = 0
    got = deterministic_psm(chain(n), np.eye(2)[ax], chain(m), np.eye(2)[ay], gamma=0.999)
    ref = trajectory_psm((ax[:, None] != ay[None, :]).astype(float), gamma=0.999)
    np.testing.assert_allclose(got.distance, ref, rtol=1e-12, atol=1e-12)
    assert got.residual < 1e-9


def test_uniform_policies_are_at_distance_zero():
    rng = np.random.default_rng(0)
    mx, my = random_mdp(rng, 8, acyclic=True), random_mdp(rng, 5, acyclic=True)
    got = deterministic_psm(mx, np.full((8, 2), 0.5), my, np.full((5, 2), 0.5), gamma=0.99)
    assert not got.distance.any()


def test_errors_and_cap_warning():
    rng = np.random.default_rng(1)
    mx = random_mdp(rng, 4, acyclic=False)
    pi = np.full((4, 2), 0.5)
    three = DeterministicMDP(np.zeros((4, 3), dtype=np.int64), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="exactly 2 actions"):
        deterministic_psm(three, np.full((4, 3), 1 / 3), three, np.full((4, 3), 1 / 3), gamma=0.5)
    with pytest.raises(ValueError, match="policy_y must have shape"):
        deterministic_psm(mx, pi, mx, pi[:3], gamma=0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        deterministic_psm(mx, pi, mx, pi * 2, gamma=0.5)
    with pytest.raises(ValueError, match="gamma"):
        deterministic_psm(mx, pi, mx, pi, gamma=1.0)
    with pytest.raises(ValueError, match="unknown method"):
        deterministic_psm(mx, pi, mx, pi, gamma=0.5, method="newton")
    cyclic = DeterministicMDP(np.array([[1, 1], [0, 0]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="acyclic"):
        deterministic_psm(cyclic, np.eye(2), cyclic, np.eye(2), gamma=0.5, method="levels")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = deterministic_psm(cyclic, np.eye(2), cyclic, np.eye(2)[::-1], gamma=0.9, max_iter=3)
    assert not res.converged
    assert any(issubclass(w.category, MetricConvergenceWarning) for w in caught)
