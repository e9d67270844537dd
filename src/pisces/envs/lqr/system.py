"""The LQR system with spurious distractors (spec ``lqr.md`` §1; paper Appendix H, Eq. H.1).

Hidden state ``s_t ∈ R^ns``, action ``a_t ∈ R^na`` (ns = na = 20)::

    s_{t+1} = A s_t + B a_t,      o_t = W s_t,      W = [0.1 Wc ; Wd]  ((ns + nd) × ns),
    a_t = K o_t                   (K: na × (ns + nd)).

``A = 0.8 × orthogonal``, ``B = Q = R = I``. ``A`` and ``Wc`` are shared by every environment
of a seed; an environment is one draw of the distractor matrix ``Wd`` (nd × ns,
semi-orthogonal). All matrices are sampled with :func:`uniform_orthogonal`, the sampler of
the code the paper used (spec §1): its first column is close to ``ones / sqrt(n)``, so two
independent ``Wd`` share one direction (cosine ≈ 0.75). :func:`haar_orthogonal` is the
rotation-invariant sampler, used only where a direction must be unrelated to the
environments (orthogonal weight initialisation, the random-penalty control).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: hidden-state and action dimension of the paper's system (Table H.2: nx = na = 20).
STATE_DIM = 20
#: scale of A (Table H.2: "Orthogonal matrix, scaled 0.8").
A_SCALE = 0.8
#: scale of the invariant block Wc in the observation (Eq. H.1).
WC_SCALE = 0.1


def _check_sizes(n: int, k: int) -> None:
    if not (isinstance(n, int | np.integer) and isinstance(k, int | np.integer)):
        raise TypeError(f"sizes must be integers, got n={n!r}, k={k!r}")
    if k < 1 or n < k:
        raise ValueError(f"need 1 <= k <= n for an n x k semi-orthogonal matrix, got n={n}, k={k}")


def _qr_sign_fixed(m: np.ndarray) -> np.ndarray:
    """Q factor of the reduced QR of ``m`` (n × k) with signs fixed so that diag(R) > 0."""
    q, r = np.linalg.qr(m, mode="reduced")
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


def uniform_orthogonal(rng: np.random.Generator, n: int, k: int | None = None) -> np.ndarray:
    """Semi-orthogonal ``n × k`` matrix (``QᵀQ = I_k``) by the sampler of the paper's code.

    ``Q`` is the Q factor of the QR decomposition of an ``n × k`` matrix with entries
    i.i.d. uniform on ``[0, 1)``, signs fixed so that ``diag(R) > 0``. The reduced QR of the
    ``n × k`` matrix gives exactly the first ``k`` columns of the full QR of a wider uniform
    matrix whose first ``k`` columns it is (Gram-Schmidt only looks left), and costs
    ``O(n k²)`` instead of ``O(n³)`` (spec §1). ``k`` defaults to ``n`` (square orthogonal).
    """
    k = n if k is None else k
    _check_sizes(n, k)
    return _qr_sign_fixed(rng.random((n, k)))


def haar_orthogonal(rng: np.random.Generator, n: int, k: int | None = None) -> np.ndarray:
    """Haar-distributed semi-orthogonal ``n × k`` matrix (sign-fixed QR of a Gaussian matrix)."""
    k = n if k is None else k
    _check_sizes(n, k)
    return _qr_sign_fixed(rng.standard_normal((n, k)))


@dataclass(frozen=True)
class LQRSystem:
    """The shared part of one seed's system (everything but the distractors).

    Shapes: ``a`` (ns, ns), ``b`` (ns, na), ``q`` (ns, ns), ``r`` (na, na), ``wc`` (ns, ns).
    """

    a: np.ndarray
    """Dynamics matrix A = 0.8 × orthogonal (ns × ns)."""
    b: np.ndarray
    """Input matrix B = I (ns × na)."""
    q: np.ndarray
    """State cost Q = I (ns × ns)."""
    r: np.ndarray
    """Action cost R = I (na × na)."""
    wc: np.ndarray
    """Invariant observation block Wc, orthogonal (ns × ns); enters the observation as 0.1 Wc."""

    @property
    def state_dim(self) -> int:
        """ns, the hidden-state dimension."""
        return self.a.shape[0]


def make_system(rng: np.random.Generator, state_dim: int = STATE_DIM) -> LQRSystem:
    """Draw ``A = 0.8 × uniform_orthogonal`` then ``Wc = uniform_orthogonal`` (in this order)."""
    a = A_SCALE * uniform_orthogonal(rng, state_dim)
    wc = uniform_orthogonal(rng, state_dim)
    eye = np.eye(state_dim)
    return LQRSystem(a=a, b=eye.copy(), q=eye.copy(), r=eye.copy(), wc=wc)


def sample_distractors(
    rng: np.random.Generator, n_distractors: int, state_dim: int = STATE_DIM
) -> np.ndarray:
    """One environment's distractor matrix ``Wd`` (nd × ns), ``WdᵀWd = I`` (uniform sampler)."""
    if n_distractors < state_dim:
        raise ValueError(
            f"n_distractors must be >= state_dim={state_dim} for a semi-orthogonal Wd, "
            f"got {n_distractors}"
        )
    return uniform_orthogonal(rng, n_distractors, state_dim)


def observation_matrix(wc: np.ndarray, wd: np.ndarray) -> np.ndarray:
    """``W = [0.1 Wc ; Wd]`` of shape ((ns + nd) × ns), so that ``o = W s``.

    ``wd`` may carry leading batch axes: (..., nd, ns) -> (..., ns + nd, ns).
    """
    top = np.broadcast_to(WC_SCALE * wc, wd.shape[:-2] + wc.shape)
    return np.concatenate([top, wd], axis=-2)
