"""Closed-form LQR cost, its exact gradient, the oracle and the reported error (spec §2).

For a linear policy ``a = K o = K W s`` the effective state-feedback gain is
``Keff = K W`` (na × ns) and the closed loop ``Acl = A + B Keff``. With ``s_0 ~ N(0, Σ0)``,
``Σ0 = I``, the infinite-horizon undiscounted cost is::

    J(K) = E Σ_t s_tᵀ Q s_t + a_tᵀ R a_t = tr(P Σ0),
    P = Qeff + Aclᵀ P Acl,          Qeff = Q + Keffᵀ R Keff,

and its exact gradient is::

    ∇_Keff J = 2 (R Keff + Bᵀ P Acl) S,     S = Σ0 + Acl S Aclᵀ,     ∇_K J = ∇_Keff J Wᵀ.

Unstable closed loops (spectral radius ≥ 1) have infinite cost: the functions return
``inf`` (never NaN) and a zero gradient there. Every function is batched over leading
axes and works in float64 torch tensors.

The two discrete Lyapunov equations are solved together by the doubling (Smith)
iteration ``P ← P + A_kᵀ P A_k``, ``S ← S + A_k S A_kᵀ``, ``A_{k+1} = A_k²``: after ``k``
steps it has summed ``2^k`` terms of the series, so it is capped at ``max_doublings``
(default 60, i.e. 2^60 time steps) and stops once every ``‖A_k‖_F < tol``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from pisces.envs.lqr.system import LQRSystem

Tensor = torch.Tensor

#: cap on the doubling iterations of :func:`solve_lyapunov_pair` (2^60 time steps).
MAX_DOUBLINGS = 60
#: the doubling iteration stops once max ‖Acl^(2^k)‖_F falls below this.
DOUBLING_TOL = 1e-12


def solve_lyapunov_pair(
    acl: Tensor,
    qeff: Tensor,
    sigma0: Tensor,
    *,
    max_doublings: int = MAX_DOUBLINGS,
    tol: float = DOUBLING_TOL,
) -> tuple[Tensor, Tensor, Tensor]:
    """Solve ``P = Qeff + AclᵀPAcl`` and ``S = Σ0 + Acl S Aclᵀ`` by doubling.

    Args:
        acl: closed-loop matrices, (..., n, n).
        qeff: (..., n, n) or broadcastable.
        sigma0: (..., n, n) or broadcastable.
        max_doublings: cap on iterations (2^max_doublings series terms).
        tol: stop when max_batch ‖Acl^(2^k)‖_F < tol.

    Returns:
        ``(P, S, stable)``: P and S (..., n, n) and a boolean mask (...,), False where the
        series did not converge (spectral radius ≥ 1 up to the cap) or went non-finite.
        P and S are meaningless where ``stable`` is False.
    """
    shape = torch.broadcast_shapes(acl.shape, qeff.shape, sigma0.shape)
    ak = acl.expand(shape)
    p = qeff.expand(shape).clone()
    s = sigma0.expand(shape).clone()
    akt = ak.transpose(-1, -2)
    for _ in range(max_doublings):
        p = p + akt @ p @ ak
        s = s + ak @ s @ akt
        ak = ak @ ak
        akt = ak.transpose(-1, -2)
        norms = torch.linalg.matrix_norm(ak)
        norms = torch.nan_to_num(norms, nan=torch.inf)
        if bool((norms < tol).all()) or not bool((norms < 1e150).any()):
            break
    stable = (norms < tol) & torch.isfinite(p).all(-1).all(-1) & torch.isfinite(s).all(-1).all(-1)
    return p, s, stable


def lqr_cost_and_grad(
    keff: Tensor,
    a: Tensor,
    b: Tensor,
    q: Tensor,
    r: Tensor,
    *,
    sigma0: Tensor | None = None,
    need_grad: bool = True,
) -> tuple[Tensor, Tensor | None]:
    """Exact cost ``J = tr(P Σ0)`` and gradient ``∇_Keff J`` of the gain ``Keff``.

    Args:
        keff: effective gains, (..., na, ns).
        a, b, q, r: system matrices, (..., ns, ns), (..., ns, na), (..., ns, ns), (..., na, na),
            broadcastable against ``keff``'s batch axes.
        sigma0: covariance of s_0, default I.
        need_grad: skip the gradient (returns None) when False.

    Returns:
        ``(J, grad)``: J (...,) float64 with ``inf`` where the closed loop is unstable, and
        ``grad = 2 (R Keff + Bᵀ P Acl) S`` (..., na, ns) with zeros where unstable.
    """
    ns = keff.shape[-1]
    eye = torch.eye(ns, dtype=keff.dtype, device=keff.device)
    sigma0 = eye if sigma0 is None else sigma0
    acl = a + b @ keff
    qeff = q + keff.transpose(-1, -2) @ r @ keff
    p, s, stable = solve_lyapunov_pair(acl, qeff, sigma0)
    cost = (p * sigma0.transpose(-1, -2)).sum((-1, -2))
    inf = torch.full_like(cost, torch.inf)
    cost = torch.where(stable, cost, inf)
    if not need_grad:
        return cost, None
    grad = 2.0 * (r @ keff + b.transpose(-1, -2) @ p @ acl) @ s
    grad = torch.where(stable[..., None, None], grad, torch.zeros_like(grad))
    return cost, grad


def lqr_cost(keff: Tensor, a: Tensor, b: Tensor, q: Tensor, r: Tensor) -> Tensor:
    """``J(Keff) = tr(P)`` for ``s_0 ~ N(0, I)``, (...,), ``inf`` where unstable."""
    return lqr_cost_and_grad(keff, a, b, q, r, need_grad=False)[0]


def oracle(system: LQRSystem) -> tuple[np.ndarray, np.ndarray, float]:
    """The optimal controller with access to the hidden state.

    ``P* = solve_discrete_are(A, B, Q, R)``; gain ``L* = −(R + BᵀP*B)⁻¹ BᵀP*A`` (a = L* s);
    ``J* = tr(P*)``.

    Returns:
        ``(P*, L*, J*)`` with shapes (ns, ns), (na, ns), scalar.
    """
    a, b, q, r = system.a, system.b, system.q, system.r
    p = scipy.linalg.solve_discrete_are(a, b, q, r)
    gain = -np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
    return p, gain, float(np.trace(p))


def test_errors(
    k: Tensor,
    w_test: Tensor,
    system: tuple[Tensor, Tensor, Tensor, Tensor],
    j_star: Tensor,
) -> Tensor:
    """``J_test(K) − J*`` for each test environment (the paper's reported number, ≥ 0).

    Args:
        k: policies, (S, na, ns + nd) for S seeds.
        w_test: test observation matrices, (S, T, ns + nd, ns) for T test environments.
        system: (A, B, Q, R) each (S, ·, ·).
        j_star: oracle costs, (S,).

    Returns:
        (S, T) float64, ``inf`` where the policy is unstable on a test environment.
    """
    keff = (k[:, None].to(w_test.dtype) @ w_test).to(torch.float64)
    a, b, q, r = (m[:, None] for m in system)
    return lqr_cost(keff, a, b, q, r) - j_star[:, None]
