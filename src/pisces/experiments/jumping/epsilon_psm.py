r"""PSM between training trajectories computed with ε-suboptimal policies (paper §5.4, Fig. 5).

Paper §5.4: "we compute PSEs using ε-suboptimal policies on the jumping task, which take the
optimal action with probability 1 − ε and the suboptimal action with probability ε ... from
the optimal policy (ε = 0) to the uniform random policy (ε = 0.5). To isolate the effect of
suboptimality on PSEs, the agent still imitates the optimal actions during training for all
ε." Figure 5 (wide grid, 100 runs): near-optimal generalization for ε ≤ 0.4, degraded at
ε = 0.5; the text ties this to Prop. D.3 (the PSM ``d̂`` of a suboptimal policy ``π̂``,
``d̂(x, y) = DIST(π̂(x), π̂(y)) + γ W1(d̂)(P^π̂(·|x), P^π̂(·|y))``, differs from d* by at most
the two states' long-term suboptimality) and to "suboptimal policies that preserve these
greedy actions". The paper's code for this experiment is not public (the official
``pse/jumping_task`` has no such flag), so what exactly was computed is a modelling choice.
Three readings are implemented (``JumpingConfig.psm_epsilon_mode``); all of them return the
(K, K, 56, 56) metric between the K training tasks' *optimal* trajectories (the states the
alignment loss sees; imitation labels, batches and pairs are unchanged), positives are still
``argmin`` with first-index ties, and at ε = 0 each equals the optimal-policy PSM:

* ``"exact"`` (default): the approximate PSM ``d̂`` of Prop. D.3 itself: the PSM of the
  stochastic ε-policies on each task's true tabular MDP (enumerated by BFS over the env core,
  :func:`pisces.envs.jumping.mdp.enumerate_tasks`), TV between the action
  distributions plus γ·W1 between the two-point next-state distributions
  (:func:`pisces.metrics.deterministic_psm.deterministic_psm`, exact backward induction),
  restricted to the optimal-trajectory states. "Optimal action" at every state = argmax of
  the undiscounted optimal Q (ties, e.g. in mid-air where the action is ignored, go to
  RIGHT: the imitation labels' choice). This is the object Figure 5's text reasons about.
* ``"tv"``: DIST = TV between the ε-policies' action distributions on the stored optimal
  trajectories, continued along them (Eq. D.2 with a stochastic π but the deterministic
  optimal successor: what the appendix J.1 DP gives when fed the ε-policy's action
  probabilities instead of one-hot actions). TV is ``|1 − 2ε|`` where the optimal actions
  differ and 0 elsewhere, so the matrix is exactly ``|1 − 2ε| · d*``: for ε < 0.5 the
  positives are those of ε = 0 (training is unchanged with the unweighted official loss) and
  at ε = 0.5 the matrix is all zeros (every positive becomes index 0).
* ``"sampled"``: per run, one draw of ε-suboptimal action labels on the optimal trajectories'
  states (each of the 56 labels flipped independently with probability ε, from a generator
  seeded by the run seed, independent of the training streams), used in the 0/1 action cost
  of the official PSM (what a sampled rollout's actions would give, on fixed states), with
  the episode's end as an absorbing terminal state (:func:`_sampled_psm`).

Measured (``pisces jumping suboptimality --positives``; :func:`positive_agreement`): on the
wide, narrow and (seed 1) random grids, the ``"exact"`` positives equal the optimal policy's
for every ε ≤ 0.4 (both loss directions, every task pair), as ``"tv"``'s do by construction,
and at ε = 0.5 both metrics are identically 0 (TV of two uniform policies), so every
positive becomes index 0. The presets' official unweighted CME loss reads the metric only
through these positives, so with ``"exact"`` or ``"tv"`` a run at 0 < ε < 0.5 is bit for bit
the ε = 0 run of the same seed (tested), and ε = 0.5 is the one point that changes. With
``"sampled"`` the structure is gone almost at once: at ε = 0.1 only ~3 % of the positives
equal the optimal ones and ~6 % of the jump states are matched to the other trajectory's jump
state (100 % at ε = 0), near chance (1/56) from ε = 0.2 on; the 56 labels hold a single JUMP,
and flipped labels add mismatches to every diagonal of the cost alike.

Why ``"exact"`` is the default: (i) it is Prop. D.3's ``d̂``, the metric §5.4 reasons with;
(ii) Figure 5 is near-optimal up to ε = 0.4 and degrades only at 0.5, which is what a metric
that keeps its positives for every ε < 0.5 (greedy actions preserved: "suboptimal policies
that preserve these greedy actions") and vanishes at the uniform policy produces, and not what
``"sampled"`` produces (no structure left from ε ≈ 0.1). ``"tv"`` (what the authors' trajectory
code would compute if fed action probabilities) gives the same positives as ``"exact"`` on
these grids, hence the same runs; it is kept as the cheap alternative. Not implemented:
re-drawing the sampled labels at every optimizer step (a fresh PSM per step), and re-rolling
the states with the ε-policy (an ε-policy usually crashes: no 56-state trajectory to align).

Cost of the (K, K, 56, 56) metric: see :func:`epsilon_pair_psm`.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.envs.jumping import EPISODE_LENGTH, RIGHT
from pisces.envs.jumping.data import (
    epsilon_suboptimal_actions,
    epsilon_suboptimal_probabilities,
    optimal_actions,
)
from pisces.envs.jumping.mdp import TaskMDP, enumerate_task
from pisces.experiments.jumping.config import MAX_PSM_EPSILON, PSM_EPSILON_MODES
from pisces.metrics import action_mismatch_cost, total_variation, trajectory_psm
from pisces.metrics.deterministic_psm import deterministic_psm

__all__ = [
    "EPSILON_MODES",
    "MAX_EPSILON",
    "epsilon_pair_psm",
    "exact_epsilon_psm",
    "label_generator",
    "positive_agreement",
    "positives",
    "sampled_labels",
]

#: readings of "PSM of ε-suboptimal policies" (module docstring); the first is the default.
EPSILON_MODES = PSM_EPSILON_MODES
#: ε = 0.5 is the uniform random policy (paper §5.4); beyond it the "suboptimal" action
#: becomes the greedy one.
MAX_EPSILON = MAX_PSM_EPSILON
#: spawn key of the sampled-labels generator (ASCII "PSM"), apart from the training streams.
_LABELS_SPAWN_KEY = 0x50534D


def label_generator(seed: int) -> np.random.Generator:
    """The run's generator for sampled ε-labels: ``SeedSequence(seed, spawn_key=("PSM",))``.

    Independent of the init/train/eval streams of
    :class:`pisces.experiments.seeds.SeedStreams` (a spawned child sequence), so the
    labels never shift a training draw, and the same seed gives the same labels.
    """
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_LABELS_SPAWN_KEY,)))


def _check_epsilon(epsilon: float) -> float:
    e = float(epsilon)
    if not 0.0 <= e <= MAX_EPSILON:
        raise ValueError(f"epsilon must be in [0, {MAX_EPSILON}], got {epsilon!r}")
    return e


def sampled_labels(
    obstacle_positions: ArrayLike, epsilon: float, seed: int, color: str | None = None
) -> NDArray[np.int64]:
    """ε-suboptimal labels of the K optimal trajectories, one draw per run: int64 (K, 56).

    Each label is the optimal action flipped with probability ε, drawn from
    :func:`label_generator` (``seed``) in task order (row-major over (K, 56)).
    """
    e = _check_epsilon(epsilon)
    p = np.asarray(obstacle_positions, dtype=np.int64)
    return epsilon_suboptimal_actions(p, e, label_generator(seed), color)


def _tv_cost(obstacle_positions: NDArray[np.int64], epsilon: float, color: str | None) -> NDArray:
    """(K, K, 56, 56) TV between the ε-policies' action distributions on the optimal states."""
    probs = epsilon_suboptimal_probabilities(obstacle_positions, epsilon, color)  # (K, 56, 2)
    return total_variation(probs[:, None, :, None, :], probs[None, :, None, :, :])


def _sampled_psm(labels: NDArray[np.int64], gamma: float) -> NDArray[np.float64]:
    """Trajectory PSM of sampled labels (K, 56) → (K, K, 56, 56), with the episode's end as
    one absorbing terminal state labelled RIGHT (never flipped) after index 55.

    The official DP makes index 55 itself absorbing, which is harmless for optimal labels (the
    last action is always RIGHT) but turns a flipped last label into a self-loop of cost 1,
    ``d ≈ 1 / (1 − γ) = 1000`` along the last row and column; the terminal state (paper §D.1:
    "DIST between terminal states ... is zero") keeps the sampled metric on the optimal
    metric's scale. With unflipped labels it gives the optimal PSM.
    """
    k = len(labels)
    ext = np.concatenate([labels, np.full((k, 1), RIGHT, dtype=labels.dtype)], axis=1)
    d = trajectory_psm(action_mismatch_cost(ext[:, None, :], ext[None, :, :]), gamma=gamma)
    return d[..., :EPISODE_LENGTH, :EPISODE_LENGTH]


@functools.lru_cache(maxsize=512)
def _task_mdp(task: tuple[int, int]) -> TaskMDP:
    """Tabular MDP of one white task (cached; BFS over the env core)."""
    m = enumerate_task(*task)
    greedy = m.optimal_policy[m.optimal_path]
    if not np.array_equal(greedy, optimal_actions(task[0])):  # pragma: no cover - env invariant
        raise AssertionError(f"greedy actions of task {task} differ from the imitation labels")
    return m


def _epsilon_policy(greedy: NDArray[np.int64], epsilon: float) -> NDArray[np.float64]:
    """(S, 2) policy: the greedy action with probability 1 − ε, the other with ε."""
    pi = np.full((len(greedy), 2), epsilon)
    pi[np.arange(len(greedy)), greedy] = 1.0 - epsilon
    return pi


#: (digest_x, digest_y, ε, γ) → (56, 56) read-only block; tasks with identical tabular MDPs
#: (on this task: the same obstacle position, any floor) share their blocks.
_BLOCKS: dict[tuple[str, str, float, float], NDArray[np.float64]] = {}


def _exact_block(mx: TaskMDP, my: TaskMDP, epsilon: float, gamma: float) -> NDArray[np.float64]:
    """(56, 56) exact ε-policy PSM between the optimal states of two task MDPs (cached)."""
    key = (mx.digest, my.digest, epsilon, gamma)
    if key in _BLOCKS:
        return _BLOCKS[key]
    res = deterministic_psm(
        mx.mdp,
        _epsilon_policy(mx.optimal_policy, epsilon),
        my.mdp,
        _epsilon_policy(my.optimal_policy, epsilon),
        gamma=gamma,
        method="levels",
    )
    scale = max(1.0, float(np.max(res.distance)))
    if not res.residual <= 1e-9 * scale:  # pragma: no cover - exact backward induction
        raise RuntimeError(f"exact ε-PSM certificate failed: residual {res.residual:.3e}")
    block = res.distance[np.ix_(mx.optimal_path, my.optimal_path)]
    block.flags.writeable = False
    _BLOCKS[key] = block
    return block


def exact_epsilon_psm(
    tasks: ArrayLike, epsilon: float, *, gamma: float, color: str | None = None
) -> NDArray[np.float64]:
    """``"exact"`` mode: (K, K, 56, 56) float64 PSM of the ε-policies on the tabular MDPs.

    ``d[i, j][a, b]`` = generalized PSM (Eq. D.3) between state ``a`` of task i's optimal
    trajectory and state ``b`` of task j's, both MDPs under their ε-policy (module
    docstring). Tasks are (obstacle, floor) pairs; colored RED tasks have the white dynamics
    and optimal actions, so ``color`` may be None, "white" or "red". One solve per distinct
    pair of tabular MDPs (cached in the process); ``d[j, i] = d[i, j]ᵀ`` (the operator is
    symmetric), so only i ≤ j is solved.
    """
    e = _check_epsilon(epsilon)
    if color is not None and str(color).lower() not in ("white", "red"):
        raise ValueError(f"exact ε-PSM is defined for white or red tasks, got color {color!r}")
    mdps = [
        _task_mdp((int(p), int(f))) for p, f in np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
    ]
    k = len(mdps)
    out = np.empty((k, k, EPISODE_LENGTH, EPISODE_LENGTH))
    for i in range(k):
        for j in range(i, k):
            if mdps[i].digest <= mdps[j].digest:
                block = _exact_block(mdps[i], mdps[j], e, float(gamma))
            else:
                block = _exact_block(mdps[j], mdps[i], e, float(gamma)).T
            out[i, j] = block
            out[j, i] = block.T
    return out


def epsilon_pair_psm(
    tasks: ArrayLike,
    epsilon: float,
    *,
    mode: str,
    gamma: float,
    seed: int,
    color: str | None = None,
) -> NDArray[np.float32]:
    """PSM of ε-suboptimal policies between every ordered pair of training trajectories.

    Args:
        tasks: (K, 2) int (obstacle position, floor height) of the training tasks, in the
            run's order (duplicates allowed, as on the random grid).
        epsilon: in [0, 0.5].
        mode: ``"exact"``, ``"tv"`` or ``"sampled"`` (module docstring).
        gamma: PSM discount (0.999 in the official code).
        seed: run seed (``"sampled"`` draws its labels from :func:`label_generator`).
        color: None/"white" or "red" (the colored task's pairs are RED).

    Returns:
        (K, K, 56, 56) float32 ``D[i, j][a, b]``, as
        :func:`pisces.experiments.jumping.data.pair_metrics`; at ε = 0, whatever the mode,
        exactly that function's optimal-policy PSM (same operations, bit for bit).

    Cost (K = 18, once per run; 2-core machine with both cores busy, wall / CPU): ``"tv"``
    ~80 ms / 40 ms, ``"sampled"`` ~20 ms / 10 ms; ``"exact"`` wide or narrow ~2 s / 1 s,
    random grid (seed 1, 15 obstacle positions) ~10 s / 4.5 s: one PSM between full tabular
    MDPs (387–910 states) per distinct pair of tabular MDPs (tasks with the same obstacle
    position share one: 21 pairs on the wide grid), cached within the process.
    """
    e = _check_epsilon(epsilon)
    t = np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
    if mode not in EPSILON_MODES:
        raise ValueError(f"unknown psm_epsilon_mode {mode!r}; choose from {list(EPSILON_MODES)}")
    if e == 0.0:  # the optimal policy: the official metric, computed as pair_metrics does
        opt = optimal_actions(t[:, 0], color)
        d = trajectory_psm(action_mismatch_cost(opt[:, None, :], opt[None, :, :]), gamma=gamma)
    elif mode == "exact":
        d = exact_epsilon_psm(t, e, gamma=gamma, color=color)
    elif mode == "tv":
        d = trajectory_psm(_tv_cost(t[:, 0], e, color), gamma=gamma)
    else:
        d = _sampled_psm(sampled_labels(t[:, 0], e, seed, color), gamma)
    return np.asarray(d, dtype=np.float32)


def positives(d: ArrayLike) -> NDArray[np.int64]:
    """Row positives ``argmin_b D[..., a, b]`` with first-index ties (spec §9.6): (..., 56)."""
    return np.argmin(np.asarray(d), axis=-1)


def positive_agreement(d: ArrayLike, reference: ArrayLike) -> float:
    """Fraction of row and column positives of ``d`` equal to those of ``reference``, over
    the off-diagonal task pairs (the pairs training draws), both loss directions."""
    a, r = np.asarray(d), np.asarray(reference)
    k = a.shape[0]
    off = ~np.eye(k, dtype=bool)
    rows = positives(a)[off] == positives(r)[off]
    cols = positives(np.swapaxes(a, -1, -2))[off] == positives(np.swapaxes(r, -1, -2))[off]
    return float(np.concatenate([rows.ravel(), cols.ravel()]).mean())
