"""Finite-MDP metrics (PSM Eq. 3/D.1/D.3, π-bisimulation Eq. 1, bisimulation Eq. C.1).

The reference for every W1 here is an independent transport LP solved with
``scipy.optimize.linprog`` (HiGHS), not the POT solver the library uses.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from pisces.metrics import (
    FiniteMDP,
    MetricConvergenceWarning,
    bisimulation,
    bisimulation_operator,
    pi_bisimulation,
    pi_bisimulation_operator,
    psm,
    psm_operator,
    wasserstein1,
)

# ----------------------------------------------------------------------------- references


def w1_linprog(p: np.ndarray, q: np.ndarray, ground: np.ndarray) -> float:
    """W1 as the transport LP min <Γ, d> s.t. Γ 1 = p, Γᵀ 1 = q, Γ >= 0."""
    n, m = ground.shape
    a_eq = np.vstack([np.kron(np.eye(n), np.ones(m)), np.kron(np.ones(n), np.eye(m))])
    res = linprog(
        ground.ravel(), A_eq=a_eq, b_eq=np.concatenate([p, q]), bounds=(0, None), method="highs"
    )
    assert res.status == 0, res.message
    return float(res.fun)


def reference_operator(kind: str, d, mdp_x, pol_x, mdp_y, pol_y, gamma):
    """F(d) written out per pair from the equations, with the linprog W1."""
    sx, sy = mdp_x.num_states, mdp_y.num_states
    out = np.zeros((sx, sy))
    for x in range(sx):
        for y in range(sy):
            if kind == "bisim":
                out[x, y] = max(
                    abs(mdp_x.rewards[x, a] - mdp_y.rewards[y, a])
                    + gamma * w1_linprog(mdp_x.transitions[x, a], mdp_y.transitions[y, a], d)
                    for a in range(mdp_x.num_actions)
                )
                continue
            px = pol_x[x] @ mdp_x.transitions[x]
            py = pol_y[y] @ mdp_y.transitions[y]
            if kind == "psm":
                local = 0.5 * np.abs(pol_x[x] - pol_y[y]).sum()
            else:
                local = abs(pol_x[x] @ mdp_x.rewards[x] - pol_y[y] @ mdp_y.rewards[y])
            out[x, y] = local + gamma * w1_linprog(px, py, d)
    return out


def run_metric(kind: str, mdp_x, pol_x, mdp_y, pol_y, gamma, **kw):
    if kind == "psm":
        return psm(mdp_x, pol_x, mdp_y, pol_y, gamma=gamma, **kw)
    if kind == "pi_bisim":
        return pi_bisimulation(mdp_x, pol_x, mdp_y, pol_y, gamma=gamma, **kw)
    return bisimulation(mdp_x, mdp_y, gamma=gamma, **kw)


def apply_operator(kind: str, d, mdp_x, pol_x, mdp_y, pol_y, gamma):
    if kind == "psm":
        return psm_operator(d, mdp_x, pol_x, mdp_y, pol_y, gamma=gamma)
    if kind == "pi_bisim":
        return pi_bisimulation_operator(d, mdp_x, pol_x, mdp_y, pol_y, gamma=gamma)
    return bisimulation_operator(d, mdp_x, mdp_y, gamma=gamma)


# ----------------------------------------------------------------------------- random MDPs


def random_distribution(rng: np.random.Generator, size: int, *shape: int) -> np.ndarray:
    """Sparse-ish random distributions (point masses and exact zeros included)."""
    w = rng.dirichlet(np.ones(size), size=shape) * (rng.random((*shape, size)) < 0.6)
    empty = w.sum(axis=-1) == 0
    w[empty, 0] = 1.0
    w[..., :] = np.where(empty[..., None], np.eye(size)[rng.integers(0, size)], w)
    return w / w.sum(axis=-1, keepdims=True)


def random_mdp(rng: np.random.Generator, s: int, a: int) -> FiniteMDP:
    rewards = np.round(rng.normal(size=(s, a)), 2)
    return FiniteMDP(random_distribution(rng, s, s, a), rewards)


def random_policy(rng: np.random.Generator, s: int, a: int) -> np.ndarray:
    return random_distribution(rng, a, s)


seeds = st.integers(0, 2**32 - 1)
kinds = pytest.mark.parametrize("kind", ["psm", "pi_bisim", "bisim"])


# ----------------------------------------------------------------------------- W1


@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 5))
def test_w1_matches_linprog(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    p = random_distribution(rng, n)
    q = random_distribution(rng, m)
    ground = rng.random((n, m)) * 3
    assert wasserstein1(p, q, ground) == pytest.approx(w1_linprog(p, q, ground), abs=1e-9)


def test_w1_hand_computed() -> None:
    # Move mass 0.5 from state 0 to state 1 on a line metric: W1 = 0.5 * 1.
    ground = np.abs(np.arange(3)[:, None] - np.arange(3)[None, :]).astype(float)
    assert wasserstein1([1.0, 0.0, 0.0], [0.5, 0.5, 0.0], ground) == pytest.approx(0.5)
    assert wasserstein1([0.5, 0.0, 0.5], [0.0, 1.0, 0.0], ground) == pytest.approx(1.0)
    assert wasserstein1([0.5, 0.0, 0.5], [0.5, 0.0, 0.5], ground) == pytest.approx(0.0)


# ----------------------------------------------------------------------------- properties


@kinds
@settings(max_examples=20)
@given(seed=seeds, s=st.integers(2, 4), a=st.integers(2, 3), gamma=st.sampled_from([0.0, 0.5, 0.8]))
def test_metric_within_one_mdp_is_pseudometric_fixed_point(
    kind: str, seed: int, s: int, a: int, gamma: float
) -> None:
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, s, a)
    pol = random_policy(rng, s, a)
    res = run_metric(kind, mdp, pol, mdp, pol, gamma)
    d = res.distance
    assert res.converged and res.residual <= 1e-9
    assert d.shape == (s, s)
    assert np.all(d >= 0.0)
    np.testing.assert_allclose(d, d.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    # Triangle inequality d(x, z) <= d(x, y) + d(y, z) for all x, y, z.
    assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9)
    # Fixed-point equation with an independent W1.
    f_d = reference_operator(kind, d, mdp, pol, mdp, pol, gamma)
    np.testing.assert_allclose(f_d, d, atol=1e-6)


@kinds
@settings(max_examples=20)
@given(seed=seeds, sx=st.integers(1, 4), sy=st.integers(1, 4), a=st.integers(2, 3))
def test_metric_across_mdps_swap_is_transpose(
    kind: str, seed: int, sx: int, sy: int, a: int
) -> None:
    rng = np.random.default_rng(seed)
    mx, my = random_mdp(rng, sx, a), random_mdp(rng, sy, a)
    px, py = random_policy(rng, sx, a), random_policy(rng, sy, a)
    gamma = 0.7
    dxy = run_metric(kind, mx, px, my, py, gamma)
    dyx = run_metric(kind, my, py, mx, px, gamma)
    assert dxy.distance.shape == (sx, sy)
    assert np.all(dxy.distance >= 0)
    np.testing.assert_allclose(dyx.distance, dxy.distance.T, atol=1e-9)
    f_d = reference_operator(kind, dxy.distance, mx, px, my, py, gamma)
    np.testing.assert_allclose(f_d, dxy.distance, atol=1e-6)


@kinds
@settings(max_examples=25)
@given(seed=seeds, s=st.integers(1, 4), a=st.integers(2, 3), gamma=st.sampled_from([0.3, 0.9]))
def test_operator_is_gamma_contraction(kind: str, seed: int, s: int, a: int, gamma: float) -> None:
    rng = np.random.default_rng(seed)
    mx, my = random_mdp(rng, s, a), random_mdp(rng, s + 1, a)
    px, py = random_policy(rng, s, a), random_policy(rng, s + 1, a)
    d1 = rng.random((s, s + 1)) * 5
    d2 = rng.random((s, s + 1)) * 5
    f1 = apply_operator(kind, d1, mx, px, my, py, gamma)
    f2 = apply_operator(kind, d2, mx, px, my, py, gamma)
    assert np.max(np.abs(f1 - f2)) <= gamma * np.max(np.abs(d1 - d2)) + 1e-12
    np.testing.assert_allclose(f1, reference_operator(kind, d1, mx, px, my, py, gamma), atol=1e-9)


# ----------------------------------------------------------------------------- generalized PSM


@settings(max_examples=15)
@given(seed=seeds, s=st.integers(2, 4), a=st.integers(2, 3))
def test_approximate_psm_error_bound_prop_d3(seed: int, s: int, a: int) -> None:
    """Prop. D.3: |d*(x, y) - d̂(x, y)| <= d((x, π*), (x, π̂)) + d((y, π̂), (y, π*))."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, s, a)
    pi_star = np.eye(a)[rng.integers(0, a, size=s)]  # deterministic "optimal" policy
    pi_hat = random_policy(rng, s, a)  # suboptimal, stochastic
    gamma = 0.8
    d_star = psm(mdp, pi_star, mdp, pi_star, gamma=gamma).distance
    d_hat = psm(mdp, pi_hat, mdp, pi_hat, gamma=gamma).distance
    cross = psm(mdp, pi_star, mdp, pi_hat, gamma=gamma).distance  # d((x, π*), (y, π̂))
    subopt = np.diag(cross)
    bound = subopt[:, None] + subopt[None, :]
    assert np.all(np.abs(d_star - d_hat) <= bound + 1e-8)
    # Generalized PSM is a pseudometric over (state, policy) pairs: triangle inequality
    # d((x, π*), (y, π*)) <= d((x, π*), (z, π̂)) + d((z, π̂), (y, π*)).
    tri = cross[:, :, None] + cross.T[None, :, :]  # [x, z, y]
    assert np.all(d_star[:, None, :] <= tri + 1e-8)


def test_identical_policies_give_zero_generalized_distance() -> None:
    rng = np.random.default_rng(7)
    mdp = random_mdp(rng, 4, 2)
    pol = random_policy(rng, 4, 2)
    other = random_policy(rng, 4, 2)
    assert np.allclose(np.diag(psm(mdp, pol, mdp, pol, gamma=0.9).distance), 0.0)
    assert not np.allclose(np.diag(psm(mdp, pol, mdp, other, gamma=0.9).distance), 0.0)


# ----------------------------------------------------------------------------- hand cases


def test_psm_and_bisim_on_absorbing_states() -> None:
    """Two absorbing single-state MDPs: PSM ignores rewards, π-bisimulation = Δr / (1 - γ)."""
    gamma, r = 0.9, 3.0
    p = np.ones((1, 2, 1))
    mx, my = FiniteMDP(p, np.array([[0.0, 0.0]])), FiniteMDP(p, np.array([[r, r]]))
    pol = np.array([[1.0, 0.0]])
    assert psm(mx, pol, my, pol, gamma=gamma).distance[0, 0] == pytest.approx(0.0)
    assert pi_bisimulation(mx, pol, my, pol, gamma=gamma).distance[0, 0] == pytest.approx(
        r / (1 - gamma), rel=1e-7
    )
    assert bisimulation(mx, my, gamma=gamma).distance[0, 0] == pytest.approx(
        r / (1 - gamma), rel=1e-7
    )
    other = np.array([[0.25, 0.75]])
    assert psm(mx, pol, my, other, gamma=gamma).distance[0, 0] == pytest.approx(
        0.75 / (1 - gamma), rel=1e-7
    )


# ----------------------------------------------------------------------------- errors


def test_finite_mdp_validation() -> None:
    good_p = np.full((2, 2, 2), 0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        FiniteMDP(np.full((2, 2, 2), 0.4), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="negative"):
        FiniteMDP(np.array([[[1.5, -0.5]], [[0.5, 0.5]]]), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="NaN"):
        FiniteMDP(good_p, np.array([[0.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="rewards must have shape"):
        FiniteMDP(good_p, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(S, A, S\)"):
        FiniteMDP(np.full((2, 2, 4), 0.25), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="3 dimension"):
        FiniteMDP(np.full((2, 2), 0.5), np.zeros((2, 2)))
    mdp = FiniteMDP(good_p, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="read-only"):
        mdp.transitions[0, 0, 0] = 1.0


def test_metric_argument_validation() -> None:
    mdp = FiniteMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)))
    mdp3 = FiniteMDP(np.full((2, 3, 2), 0.5), np.zeros((2, 3)))
    pol = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="gamma"):
        psm(mdp, pol, mdp, pol, gamma=1.0)
    with pytest.raises(ValueError, match="policy_y must have shape"):
        psm(mdp, pol, mdp, np.full((3, 2), 0.5), gamma=0.5)
    with pytest.raises(ValueError, match="policy_x rows must sum to 1"):
        pi_bisimulation(mdp, np.full((2, 2), 0.3), mdp, pol, gamma=0.5)
    with pytest.raises(ValueError, match="NaN"):
        psm(mdp, np.array([[np.nan, 1.0], [0.5, 0.5]]), mdp, pol, gamma=0.5)
    with pytest.raises(ValueError, match="action space"):
        bisimulation(mdp, mdp3, gamma=0.5)
    with pytest.raises(ValueError, match="d must have shape"):
        psm_operator(np.zeros((3, 2)), mdp, pol, mdp, pol, gamma=0.5)
    with pytest.raises(ValueError, match="tol"):
        psm(mdp, pol, mdp, pol, gamma=0.5, tol=0.0)
    with pytest.raises(ValueError, match="ground must have shape"):
        wasserstein1([1.0], [0.5, 0.5], np.zeros((2, 2)))


def test_non_convergence_is_reported() -> None:
    rng = np.random.default_rng(3)
    mdp = random_mdp(rng, 3, 2)
    pol = random_policy(rng, 3, 2)
    other = random_policy(rng, 3, 2)
    with pytest.warns(MetricConvergenceWarning, match="psm"):
        res = psm(mdp, pol, mdp, other, gamma=0.99, max_iter=3)
    assert not res.converged and res.iterations == 3 and res.residual > 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psm(mdp, pol, mdp, other, gamma=0.5).converged
