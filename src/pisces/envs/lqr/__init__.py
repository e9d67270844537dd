"""pisces.envs.lqr: LQR with spurious distractors (paper Section 6.1, Appendix H).

Plain array functions: :mod:`~pisces.envs.lqr.system` samples the system (the uniform-QR
sampler of the paper's code), :mod:`~pisces.envs.lqr.cost` gives the closed-form cost
``J(K) = tr(P_K)``, its exact gradient, the oracle ``J*`` and the reported ``J_test − J*``;
:mod:`~pisces.envs.lqr.rollouts` rolls the system out under the oracle acting on observations.
"""

from pisces.envs.lqr.cost import (
    lqr_cost,
    lqr_cost_and_grad,
    oracle,
    solve_lyapunov_pair,
    test_errors,
)
from pisces.envs.lqr.rollouts import oracle_rollouts
from pisces.envs.lqr.system import (
    LQRSystem,
    haar_orthogonal,
    make_system,
    observation_matrix,
    sample_distractors,
    uniform_orthogonal,
)

__all__ = [
    "LQRSystem",
    "haar_orthogonal",
    "lqr_cost",
    "lqr_cost_and_grad",
    "make_system",
    "observation_matrix",
    "oracle",
    "oracle_rollouts",
    "sample_distractors",
    "solve_lyapunov_pair",
    "test_errors",
    "uniform_orthogonal",
]
