"""Bisimulation metric between deterministic finite MDPs (Eq. C.1 with Dirac transitions).

References: the dense-tensor :func:`pisces.metrics.bisimulation` (W1 by optimal transport)
on the same MDPs, both directly across the two MDPs and on their disjoint union, and
hand-computed closed forms.
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
    absorbing_heights,
    bisimulation,
    deterministic_bisimulation,
)


def random_mdp(rng: np.random.Generator, s: int, a: int, *, acyclic: bool) -> DeterministicMDP:
    """Random deterministic MDP; ``acyclic``: successors have larger indices, and the last
    state is absorbing with reward 0 (an episodic MDP like the jumping task)."""
    rewards = rng.integers(-3, 4, size=(s, a)).astype(float)
    if not acyclic:
        return DeterministicMDP(rng.integers(0, s, size=(s, a)), rewards)
    nxt = np.empty((s, a), dtype=np.int64)
    for i in range(s):
        nxt[i] = rng.integers(min(i + 1, s - 1), s, size=a)
    nxt[s - 1] = s - 1
    rewards[s - 1] = 0.0
    return DeterministicMDP(nxt, rewards)


def disjoint_union(mx: DeterministicMDP, my: DeterministicMDP) -> FiniteMDP:
    """Dense FiniteMDP on X ⊔ Y (states of Y shifted by |X|)."""
    nxt = np.concatenate([mx.next_state, my.next_state + mx.num_states])
    p, r = DeterministicMDP(nxt, np.concatenate([mx.rewards, my.rewards])).to_dense()
    return FiniteMDP(p, r)


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**31 - 1),
    sx=st.integers(1, 6),
    sy=st.integers(1, 6),
    a=st.integers(1, 3),
    acyclic=st.booleans(),
    gamma=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_matches_dense_bisimulation_and_disjoint_union(seed, sx, sy, a, acyclic, gamma):
    rng = np.random.default_rng(seed)
    mx = random_mdp(rng, sx, a, acyclic=acyclic)
    my = random_mdp(rng, sy, a, acyclic=acyclic)
    ours = deterministic_bisimulation(mx, my, gamma=gamma, tol=1e-12)
    assert ours.converged and ours.distance.shape == (sx, sy)
    dense = bisimulation(FiniteMDP(*mx.to_dense()), FiniteMDP(*my.to_dense()), gamma=gamma)
    union = bisimulation(disjoint_union(mx, my), disjoint_union(mx, my), gamma=gamma, tol=1e-12)
    np.testing.assert_allclose(ours.distance, dense.distance, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(ours.distance, union.distance[:sx, sx:], rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("acyclic", [True, False])
def test_pseudometric_within_one_mdp(acyclic):
    rng = np.random.default_rng(3)
    m = random_mdp(rng, 12, 2, acyclic=acyclic)
    d = deterministic_bisimulation(m, m, gamma=0.9, tol=1e-12).distance
    np.testing.assert_allclose(d, d.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    assert (d >= 0).all()
    # triangle inequality over every triple
    assert (d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9).all()


def test_triangle_inequality_across_three_mdps():
    rng = np.random.default_rng(4)
    mx, my, mz = (random_mdp(rng, n, 2, acyclic=True) for n in (5, 7, 6))
    dxy = deterministic_bisimulation(mx, my, gamma=0.9).distance
    dyz = deterministic_bisimulation(my, mz, gamma=0.9).distance
    dxz = deterministic_bisimulation(mx, mz, gamma=0.9).distance
    assert (dxz[:, None, :] <= dxy[:, :, None] + dyz[None, :, :] + 1e-9).all()


def test_levels_and_iterate_agree_and_report():
    rng = np.random.default_rng(5)
    mx, my = random_mdp(rng, 30, 2, acyclic=True), random_mdp(rng, 25, 2, acyclic=True)
    lev = deterministic_bisimulation(mx, my, gamma=0.95, method="levels")
    it = deterministic_bisimulation(mx, my, gamma=0.95, method="iterate", tol=1e-12)
    auto = deterministic_bisimulation(mx, my, gamma=0.95)
    np.testing.assert_allclose(lev.distance, it.distance, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(auto.distance, lev.distance)
    # levels: one pass per height level, certified by ||F(d) - d||
    depth = int(max(absorbing_heights(mx).max(), absorbing_heights(my).max()))
    assert lev.iterations == depth + 1 and lev.converged and lev.residual <= 1e-12
    # from zeros, the iteration reaches the exact fixed point after depth + 1 steps
    assert it.iterations <= depth + 2 and it.residual == 0.0


def test_hand_computed_chain():
    # X: 0 -(r=1)-> 1 (absorbing, r=2); Y: one absorbing state with r=0. gamma = 0.5.
    mx = DeterministicMDP([[1], [1]], [[1.0], [2.0]])
    my = DeterministicMDP([[0]], [[0.0]])
    d = deterministic_bisimulation(mx, my, gamma=0.5).distance
    # d(1, 0) = 2 / (1 - 0.5) = 4; d(0, 0) = 1 + 0.5 * 4 = 3
    np.testing.assert_allclose(d[:, 0], [3.0, 4.0])
    # the max over actions picks the worse action
    mx2 = DeterministicMDP([[0, 0]], [[0.0, 5.0]])
    my2 = DeterministicMDP([[0, 0]], [[1.0, 1.0]])
    d2 = deterministic_bisimulation(mx2, my2, gamma=0.0).distance
    assert d2[0, 0] == 4.0


def test_absorbing_heights():
    m = DeterministicMDP([[1, 2], [2, 2], [2, 2], [3, 0]], np.zeros((4, 2)))
    np.testing.assert_array_equal(absorbing_heights(m), [2, 1, 0, -1])


def test_iterate_on_cyclic_mdp_warns_when_capped():
    m = DeterministicMDP([[1], [0]], [[1.0], [0.0]])  # a 2-cycle
    with pytest.raises(ValueError, match="acyclic"):
        deterministic_bisimulation(m, m, gamma=0.9, method="levels")
    with pytest.warns(MetricConvergenceWarning):
        res = deterministic_bisimulation(m, m, gamma=0.99, max_iter=5)
    assert not res.converged and res.iterations == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = deterministic_bisimulation(m, m, gamma=0.9, tol=1e-12)
    # d(0, 1) = 1 + 0.9 d(1, 0) = 1 + 0.9 d(0, 1)  ->  10
    np.testing.assert_allclose(full.distance, [[0.0, 10.0], [10.0, 0.0]], atol=1e-9)


def test_accepts_table_pairs():
    nxt, r = [[0, 0]], [[1.0, 0.0]]
    res = deterministic_bisimulation((nxt, r), (nxt, [[0.0, 0.0]]), gamma=0.5)
    np.testing.assert_allclose(res.distance, [[2.0]])


@pytest.mark.parametrize(
    ("nxt", "rew", "match"),
    [
        ([0, 0], [1.0, 1.0], "shape"),
        ([[0, 2]], [[1.0, 1.0]], "state indices"),
        ([[0, -1]], [[1.0, 1.0]], "state indices"),
        ([[0.0, 0.0]], [[1.0, 1.0]], "integer"),
        ([[0, 0]], [[1.0]], "rewards must have the shape"),
        ([[0, 0]], [[1.0, np.nan]], "NaN"),
        (np.zeros((0, 2), dtype=int), np.zeros((0, 2)), "S, A >= 1"),
    ],
)
def test_bad_tables(nxt, rew, match):
    with pytest.raises(ValueError, match=match):
        DeterministicMDP(np.asarray(nxt), rew)


def test_bad_arguments():
    m1 = DeterministicMDP([[0]], [[0.0]])
    m2 = DeterministicMDP([[0, 0]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="action space"):
        deterministic_bisimulation(m1, m2, gamma=0.9)
    with pytest.raises(ValueError, match="gamma"):
        deterministic_bisimulation(m1, m1, gamma=1.0)
    with pytest.raises(ValueError, match="method"):
        deterministic_bisimulation(m1, m1, gamma=0.9, method="newton")
    with pytest.raises(ValueError, match="tol"):
        deterministic_bisimulation(m1, m1, gamma=0.9, tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        deterministic_bisimulation(m1, m1, gamma=0.9, max_iter=0)
    with pytest.raises(ValueError, match="DeterministicMDP"):
        deterministic_bisimulation("mdp", m1, gamma=0.9)
