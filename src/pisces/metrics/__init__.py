"""pisces.metrics: policy similarity metric (PSM), bisimulation metrics and DIST functions.

Pure NumPy/SciPy array functions (no agents, no environments):

* DIST (:mod:`.dist`): :func:`total_variation`, :func:`pairwise_total_variation`,
  :func:`pairwise_l1_mean_actions`, :func:`action_mismatch_cost`;
* trajectories (:mod:`.trajectory`, Eq. D.2): :func:`trajectory_psm` (exact, O(n·m)),
  :func:`trajectory_psm_fixed_point` (reference iteration), :func:`reward_cost_matrix`,
  :func:`trajectory_pi_bisimulation`;
* finite MDPs (:mod:`.finite`): :class:`FiniteMDP`, :func:`psm` (Eq. 3 / D.1 / D.3),
  :func:`pi_bisimulation` (Eq. 1), :func:`bisimulation` (Eq. C.1) and their operators;
* deterministic finite MDPs (:mod:`.deterministic`): :class:`DeterministicMDP` (next-state
  and reward tables) and :func:`deterministic_bisimulation` (Eq. C.1 without dense transition
  tensors: capped fixed-point iteration, or exact backward induction for acyclic MDPs) and
  :func:`deterministic_psm` (:mod:`.deterministic_psm`: the PSM of stochastic policies on
  deterministic MDPs, Eq. D.3, two-point transport in closed form);
* :func:`wasserstein1` (exact optimal transport, POT network simplex).
"""

from pisces.metrics._fixed_point import MetricConvergenceWarning, MetricResult
from pisces.metrics.deterministic import (
    DeterministicMDP,
    absorbing_heights,
    deterministic_bisimulation,
)
from pisces.metrics.deterministic_psm import deterministic_psm, two_point_w1
from pisces.metrics.dist import (
    action_mismatch_cost,
    pairwise_l1_mean_actions,
    pairwise_total_variation,
    total_variation,
)
from pisces.metrics.finite import (
    FiniteMDP,
    bisimulation,
    bisimulation_operator,
    pi_bisimulation,
    pi_bisimulation_operator,
    psm,
    psm_operator,
)
from pisces.metrics.trajectory import (
    reward_cost_matrix,
    trajectory_pi_bisimulation,
    trajectory_psm,
    trajectory_psm_fixed_point,
)
from pisces.metrics.wasserstein import wasserstein1

__all__ = [
    "DeterministicMDP",
    "FiniteMDP",
    "MetricConvergenceWarning",
    "MetricResult",
    "absorbing_heights",
    "action_mismatch_cost",
    "bisimulation",
    "bisimulation_operator",
    "deterministic_bisimulation",
    "deterministic_psm",
    "pairwise_l1_mean_actions",
    "pairwise_total_variation",
    "pi_bisimulation",
    "pi_bisimulation_operator",
    "psm",
    "psm_operator",
    "reward_cost_matrix",
    "total_variation",
    "trajectory_pi_bisimulation",
    "trajectory_psm",
    "trajectory_psm_fixed_point",
    "two_point_w1",
    "wasserstein1",
]
