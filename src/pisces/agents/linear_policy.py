"""The linear-policy learner of the LQR benchmark (paper Section 6.1, Appendix H; spec lqr §3).

Steps of full-batch training on the exact cost ``1/N Σ_i J(K W_i)`` of N training
environments, with the closed-form gradient of :mod:`pisces.envs.lqr.cost` (no autodiff).
Seeds are a leading batch axis ``S`` of every tensor. Nothing here draws data or writes
results: :mod:`pisces.experiments.lqr.train` does.

* :func:`overparam_step`: ``K = K2 K1`` (K1: h × D, K2: na × h, D = ns + nd). With
  ``Z_i = K1 W_i`` and ``Keff_i = K2 Z_i``: ``∇_K2 = 1/N Σ_i G_i Z_iᵀ``,
  ``∇_K1 = (1/N Σ_i K2ᵀ G_i W_iᵀ)``, ``G_i = ∇_Keff J(Keff_i)``; with the PSM-pair penalty
  ``λ ‖K1 (W_x − W_y) M‖²_F`` its gradient ``2λ E Mᵀ (W_x − W_y)ᵀ`` (``E = (Z_x − Z_y) M``),
  or the random-subspace penalty ``λ ‖K1 F‖²_F`` through extra columns of ``W``;
* :func:`prox_operator`: the exact proximal step of ``step · ‖K P‖²_F`` (Woodbury), applied
  after the optimizer step when the penalty is decoupled (``penalty="prox"``);
* :func:`ipo_step`: one IRM-games best-response round (one linear ``K_i`` per environment);
* :func:`l1_step`: linear ``K``, optimizer step on the cost then the proximal step of
  ``μ ‖K‖₁``: ``K ← sign(K) max(|K| − lr μ, 0)``;
* :class:`Optimizer`: Adam (β = (0.9, 0.999), ε = 1e-8, bias-corrected, as
  ``torch.optim.Adam``; ``reference`` or ``fused`` kernel) or gradient descent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pisces.envs.lqr.cost import lqr_cost_and_grad
from pisces.envs.lqr.system import haar_orthogonal

Tensor = torch.Tensor
#: methods whose policy is K = K2 K1.
OVERPARAM = ("overparam", "psm", "random-penalty")


class Optimizer:
    """Adam or gradient descent over a list of batched tensors, updated in place.

    Adam is elementwise, so a leading seed axis changes nothing. ``impl="reference"`` spells
    the update out in tensor ops (about eight passes over memory); ``impl="fused"`` is
    ``torch.optim.Adam(fused=True)``, the same update in one pass (β = (0.9, 0.999),
    ε = 1e-8, bias correction as torch). They agree to float rounding per step.
    """

    def __init__(
        self, kind: str, lr: float, params: Sequence[Tensor], impl: str = "reference"
    ) -> None:
        self.kind, self.lr, self.t, self.impl = kind, lr, 0, impl
        self.torch_opt = None
        if kind == "adam" and impl == "fused":
            self.torch_opt = torch.optim.Adam(
                list(params), lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=True
            )
        elif kind == "adam":
            self.m = [torch.zeros_like(p) for p in params]
            self.v = [torch.zeros_like(p) for p in params]

    def state_dict(self) -> dict:
        """The step count and moments (a mid-run checkpoint)."""
        state: dict = {"t": self.t}
        if self.torch_opt is not None:
            state["torch"] = self.torch_opt.state_dict()
        elif self.kind == "adam":
            state["m"] = [m.clone() for m in self.m]
            state["v"] = [v.clone() for v in self.v]
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` (same kind, kernel and parameter shapes)."""
        self.t = int(state["t"])
        if self.torch_opt is not None:
            self.torch_opt.load_state_dict(state["torch"])
        elif self.kind == "adam":
            for mine, saved in zip(self.m + self.v, state["m"] + state["v"], strict=True):
                mine.copy_(saved)

    def step(self, params: Sequence[Tensor], grads: Sequence[Tensor]) -> None:
        """One in-place update of ``params`` with ``grads`` (same shapes)."""
        self.t += 1
        if self.kind == "gd":
            for p, g in zip(params, grads, strict=True):
                p.sub_(g, alpha=self.lr)
            return
        if self.torch_opt is not None:
            for p, g in zip(params, grads, strict=True):
                if p.stride() != g.stride():  # the fused CPU kernel would mix up elements
                    raise ValueError(
                        f"fused Adam needs equal strides: parameter {tuple(p.stride())}, "
                        f"gradient {tuple(g.stride())}"
                    )
                p.grad = g
            self.torch_opt.step()
            return
        b1, b2, eps = 0.9, 0.999, 1e-8
        bc1, bc2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = v.sqrt().div_(bc2**0.5).add_(eps)
            p.addcdiv_(m, denom, value=-self.lr / bc1)


def init_factor(rng: np.random.Generator, kind: str, rows: int, cols: int) -> np.ndarray:
    """rows × cols init: (semi-)orthogonal (Haar) or standard Gaussian."""
    if kind == "gaussian":
        return rng.standard_normal((rows, cols))
    if rows <= cols:
        return haar_orthogonal(rng, cols, rows).T
    return haar_orthogonal(rng, rows, cols)


def prox_operator(factor: Tensor, step: float, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``(P, C)`` with ``K ← K − (K P) C`` the proximal step of ``step · ‖K P‖²_F``.

    ``argmin_K ½‖K − K1‖²_F + step ‖K P‖²_F`` solves ``K (I + 2 step P Pᵀ) = K1``; by Woodbury
    ``K = K1 − K1 P (I/(2 step) + PᵀP)⁻¹ Pᵀ``. ``factor``: P (S, D, r) in float64; returns P
    and ``C = (I/(2 step) + PᵀP)⁻¹ Pᵀ`` (S, r, D) in ``dtype``.
    """
    r = factor.shape[-1]
    eye = torch.eye(r, dtype=factor.dtype, device=factor.device)
    inner = eye / (2.0 * step) + factor.transpose(-1, -2) @ factor
    c = torch.linalg.solve(inner, factor.transpose(-1, -2))
    return factor.to(dtype), c.to(dtype)


def adam_second_moment(opt: Optimizer, k1: Tensor, ns: int) -> dict[str, Tensor]:
    """Mean of Adam's second-moment estimate ``v`` over K1's columns that read the invariant
    features (the first ``ns``) and the distractors (the rest), per seed. The
    diagnostic of spec §4's mechanism (a penalty in the gradient inflates ``v``); empty for
    gradient descent and before the first step."""
    if opt.kind != "adam" or opt.t == 0:  # GD, or no step taken: no second moment
        return {}
    v = opt.torch_opt.state[k1]["exp_avg_sq"] if opt.torch_opt is not None else opt.v[0]
    v = v.to(torch.float64).cpu()
    return {
        "adam_v_invariant": v[..., :ns].mean((-1, -2)),
        "adam_v_distractor": v[..., ns:].mean((-1, -2)),
    }


def policy(method: str, params: Sequence[Tensor]) -> Tensor:
    """The policy matrix K (S, na, D) of the trained parameters of ``method``."""
    if method in OVERPARAM:
        return params[1] @ params[0]
    if method == "ipo":
        return torch.stack(list(params), 0).mean(0)
    return params[0]


def env_costs(
    z: Tensor, left: Tensor | None, sys_: tuple[Tensor, ...], n_env: int, ns: int
) -> tuple[Tensor, Tensor, list[Tensor]]:
    """Costs and gradients of the N training envs from ``z = K1 Wcat`` (or ``K Wcat``).

    Returns mean cost (S,), per-env ``dKeff_i = G_i / N`` stacked (S, N, na, ns), and the
    per-env blocks ``z_i`` (S, ·, ns).
    """
    zs = [z[..., i * ns : (i + 1) * ns] for i in range(n_env)]
    keff = torch.stack([(left @ zi if left is not None else zi) for zi in zs], 1)
    cost, grad = lqr_cost_and_grad(keff.to(torch.float64), *sys_)
    return cost.mean(1), grad / n_env, zs


def overparam_step(params, opt, wcat, m_psm, sys_, n_env, ns, lam) -> Tensor:
    """One step of ``K = K2 K1`` (with the PSM or random-subspace penalty in the gradient
    when ``λ > 0``); returns the mean training cost (S,) before the step."""
    k1, k2 = params
    z = k1 @ wcat  # (S, h, C)
    cost, dkeff, zs = env_costs(z, k2, sys_, n_env, ns)
    dkeff = dkeff.to(k1.dtype)
    grad_k2 = sum(dkeff[:, i] @ zs[i].transpose(-1, -2) for i in range(n_env))
    blocks = [k2.transpose(-1, -2) @ dkeff[:, i] for i in range(n_env)]
    if m_psm is not None and lam > 0:
        e = (zs[0] - zs[1]) @ m_psm
        de = (2 * lam) * e @ m_psm.transpose(-1, -2)
        blocks[0] = blocks[0] + de
        blocks[1] = blocks[1] - de
    if z.shape[-1] > n_env * ns:  # random-penalty columns
        blocks.append((2 * lam) * z[..., n_env * ns :])
    grad_k1 = torch.cat(blocks, -1) @ wcat.transpose(-1, -2)
    opt.step(params, [grad_k1, grad_k2])
    return cost


def ipo_step(params: Sequence[Tensor], opts, w_train: Tensor, sys_) -> Tensor:
    """One IPO iteration (best response in turn). Returns the mean training cost (S,) at the
    policies each environment saw.

    For ``i = 0..N−1``: ``K = mean_j K_j`` (latest), ``G_i = ∇_Keff J(K W_i)``,
    ``K_i ← opt_i(K_i, 1/N G_i W_iᵀ)``.
    """
    n_env = len(params)
    costs = []
    for i in range(n_env):
        k = torch.stack(list(params), 0).mean(0)
        wi = w_train[:, i]
        keff = (k @ wi).to(torch.float64)
        cost, grad = lqr_cost_and_grad(keff, *(m[:, 0] for m in sys_))
        g = (grad / n_env).to(k.dtype) @ wi.transpose(-1, -2)
        opts[i].step([params[i]], [g])
        costs.append(cost)
    return torch.stack(costs, 1).mean(1)


def l1_step(k, opt, wcat, sys_, n_env, ns, mu) -> Tensor:
    """One step of linear ``K`` on the cost, then the proximal step of ``μ ‖K‖₁``; returns the
    mean training cost (S,) before the step."""
    z = k @ wcat
    cost, dkeff, _ = env_costs(z, None, sys_, n_env, ns)
    grad = torch.cat(list(dkeff.to(k.dtype).unbind(1)), -1) @ wcat.transpose(-1, -2)
    opt.step([k], [grad])
    if mu > 0:
        thr = opt.lr * mu
        k.copy_(torch.sign(k) * torch.clamp(k.abs() - thr, min=0.0))
    return cost
