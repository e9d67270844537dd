"""LQR environment: closed-form cost, gradient and samplers against references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pisces.envs.lqr import (
    haar_orthogonal,
    lqr_cost,
    lqr_cost_and_grad,
    make_system,
    observation_matrix,
    oracle,
    sample_distractors,
    uniform_orthogonal,
)

F64 = torch.float64


def _system_tensors(seed: int = 0):
    system = make_system(np.random.default_rng(seed))
    return system, [torch.tensor(getattr(system, n)) for n in "abqr"]


def test_oracle_and_zero_policy_match_spec():
    system, (a, b, q, r) = _system_tensors()
    _, gain, j_star = oracle(system)
    assert j_star == pytest.approx(27.399, abs=5e-4)
    j0 = float(lqr_cost(torch.zeros(20, 20, dtype=F64), a, b, q, r))
    assert j0 == pytest.approx(1 / (1 - 0.64) * 20)
    assert j0 - j_star == pytest.approx(28.157, abs=5e-4)
    assert float(lqr_cost(torch.tensor(gain), a, b, q, r)) == pytest.approx(j_star, rel=1e-10)


def test_cost_matches_scipy_lyapunov():
    import scipy.linalg

    system, (a, b, q, r) = _system_tensors(3)
    keff = 0.1 * np.random.default_rng(1).standard_normal((20, 20))
    acl = system.a + keff
    p = scipy.linalg.solve_discrete_lyapunov(acl.T, np.eye(20) + keff.T @ keff)
    assert float(lqr_cost(torch.tensor(keff), a, b, q, r)) == pytest.approx(np.trace(p), rel=1e-10)


def test_exact_gradient_vs_autodiff_and_finite_differences():
    system, (a, b, q, r) = _system_tensors(1)
    rng = np.random.default_rng(2)
    w = observation_matrix(system.wc, sample_distractors(rng, 30))
    wt = torch.tensor(w)
    k = torch.tensor(0.05 * rng.standard_normal((20, 50)), requires_grad=True)
    cost, grad_eff = lqr_cost_and_grad(k.detach() @ wt, a, b, q, r)
    grad_k = grad_eff @ wt.T
    # autodiff through a Kronecker-product solve of the Lyapunov equation (independent path)
    keff = k @ wt
    acl = a + b @ keff
    qeff = q + keff.T @ r @ keff
    eye = torch.eye(400, dtype=F64)
    p = torch.linalg.solve(eye - torch.kron(acl.T, acl.T), qeff.reshape(-1)).reshape(20, 20)
    torch.trace(p).backward()
    assert float(torch.trace(p).detach()) == pytest.approx(float(cost), rel=1e-9)
    torch.testing.assert_close(grad_k, k.grad, rtol=1e-7, atol=1e-9)
    # central finite differences along random directions
    for _ in range(3):
        d = torch.tensor(rng.standard_normal((20, 50)))
        h = 1e-6
        jp = lqr_cost((k.detach() + h * d) @ wt, a, b, q, r)
        jm = lqr_cost((k.detach() - h * d) @ wt, a, b, q, r)
        fd = float((jp - jm) / (2 * h))
        assert fd == pytest.approx(float((grad_k * d).sum()), rel=1e-5)


def test_unstable_gain_gives_inf_not_nan():
    _, (a, b, q, r) = _system_tensors()
    keff = torch.stack([torch.zeros(20, 20, dtype=F64), 2.0 * torch.eye(20, dtype=F64)])
    cost, grad = lqr_cost_and_grad(keff, a, b, q, r)
    assert torch.isfinite(cost[0]) and torch.isinf(cost[1]) and cost[1] > 0
    assert not torch.isnan(grad).any() and (grad[1] == 0).all()


def test_samplers_semi_orthogonal_and_shared_direction():
    rng = np.random.default_rng(0)
    wd = np.stack([sample_distractors(rng, 400) for _ in range(20)])
    for m in wd:
        np.testing.assert_allclose(m.T @ m, np.eye(20), atol=1e-12)
    cos = [abs(wd[i][:, 0] @ wd[i + 1][:, 0]) for i in range(0, 20, 2)]
    assert np.mean(cos) == pytest.approx(0.75, abs=0.03)
    assert abs(haar_orthogonal(rng, 400, 20)[:, 0] @ haar_orthogonal(rng, 400, 20)[:, 0]) < 0.3
    # reduced QR equals the first columns of the full QR of the same uniform matrix
    u = np.random.default_rng(5).random((60, 20))
    q_full, r_full = np.linalg.qr(np.concatenate([u, np.ones((60, 40))], 1), mode="complete")
    q_full = (q_full * np.sign(np.diag(r_full)))[:, :20]
    np.testing.assert_allclose(
        uniform_orthogonal(np.random.default_rng(5), 60, 20), q_full, atol=1e-12
    )
    o = uniform_orthogonal(rng, 20)
    np.testing.assert_allclose(o @ o.T, np.eye(20), atol=1e-12)
