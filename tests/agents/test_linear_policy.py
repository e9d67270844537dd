"""The LQR linear-policy learner: IPO order, Adam kernels, the proximal step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pisces.agents import linear_policy
from pisces.envs.lqr import (
    lqr_cost_and_grad,
    make_system,
    observation_matrix,
    sample_distractors,
)

F64 = torch.float64


def _system_tensors(seed: int = 0):
    system = make_system(np.random.default_rng(seed))
    return system, [torch.tensor(getattr(system, n)) for n in "abqr"]


def test_ipo_update_order_uses_latest_policy():
    """Env 2's step must see K = mean(K_1 updated, K_2): a hand-written reference."""
    system, (a, b, q, r) = _system_tensors()
    rng = np.random.default_rng(3)
    w = torch.tensor(
        np.stack([observation_matrix(system.wc, sample_distractors(rng, 25)) for _ in range(2)])
    )[None]
    k_init = [torch.tensor(0.01 * rng.standard_normal((1, 20, 45))) for _ in range(2)]
    params = [k.clone() for k in k_init]
    opts = [linear_policy.Optimizer("gd", 0.1, [p]) for p in params]
    sys_ = tuple(m[None, None] for m in (a, b, q, r))
    linear_policy.ipo_step(params, opts, w, sys_)
    ref = [k.clone() for k in k_init]
    for i in range(2):
        k = (ref[0] + ref[1]) / 2
        _, g = lqr_cost_and_grad(k[0] @ w[0, i], a, b, q, r)
        ref[i] = ref[i] - 0.1 * (g / 2 @ w[0, i].T)[None]
    for p, e in zip(params, ref, strict=True):
        torch.testing.assert_close(p, e)
    # the simultaneous (wrong-order) update differs
    k = (k_init[0] + k_init[1]) / 2
    _, g = lqr_cost_and_grad(k[0] @ w[0, 1], a, b, q, r)
    assert not torch.allclose(params[1], k_init[1] - 0.1 * (g / 2 @ w[0, 1].T)[None])


def test_fused_adam_matches_reference_step_and_refuses_mixed_strides():
    """One Adam step, fused kernel vs the spelled-out update, on batched (S, h, D) tensors."""
    gen = torch.Generator().manual_seed(0)
    p0 = [torch.randn(3, 7, 11, generator=gen), torch.randn(3, 5, 7, generator=gen)]
    ref, fused = [p.clone() for p in p0], [p.clone() for p in p0]
    opt_ref = linear_policy.Optimizer("adam", 1e-2, ref)
    opt_fused = linear_policy.Optimizer("adam", 1e-2, fused, "fused")
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=gen) for p in p0]
        opt_ref.step(ref, grads)
        opt_fused.step(fused, grads)
    for r, f, p in zip(ref, fused, p0, strict=True):
        assert (r - p).abs().min() > 1e-4  # every element moved
        torch.testing.assert_close(f, r, rtol=0, atol=1e-6)
    # a column-major parameter with a row-major gradient: refused, not silently mixed up
    col_major = torch.randn(11, 7, generator=gen).T
    opt = linear_policy.Optimizer("adam", 1e-2, [col_major], "fused")
    with pytest.raises(ValueError, match="strides"):
        opt.step([col_major], [torch.randn(7, 11, generator=gen)])


def test_prox_step_solves_its_minimisation():
    """K ← K − (K P) C is argmin ½‖K − K1‖² + step ‖K P‖²: K (I + 2 step P Pᵀ) = K1."""
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(3, 30, 4, generator=gen, dtype=F64)
    k1 = torch.randn(3, 7, 30, generator=gen, dtype=F64)
    for step in (1e-3, 1.0, 1e6):
        p_mat, c_mat = linear_policy.prox_operator(p, step, F64)
        k = k1 - (k1 @ p_mat) @ c_mat
        lhs = k @ (torch.eye(30, dtype=F64) + 2 * step * p @ p.transpose(-1, -2))
        torch.testing.assert_close(lhs, k1, rtol=1e-9, atol=1e-8 * max(1.0, step))
    assert (k @ p).abs().max() < 1e-5  # a huge step projects K P to ~0
