"""The jumping task's data for one run: demonstrations, pair metrics and evaluation inputs.

:func:`build_data` turns a :class:`~pisces.experiments.jumping.config.JumpingConfig` and a
seed into a :class:`JumpingData` on the run's device: the optimal states of the 18 training
tasks with their expert actions (the imitation learner's
:class:`~pisces.agents.imitation.Demonstrations`), the metric between every ordered pair of
training trajectories (PSM with γ = 0.999, π*-bisimulation, or the PSM of ε-suboptimal
policies), the split of the grid, and the stored states an evaluation queries (spec §7).

Colored obstacles (``cfg.colors``, Table G.1; spec §1.6, §3.2, §4.5, §7, §9.5): inputs are
two RGB frames concatenated into 6 channels (not the official 5-D tensor); the training set is
the RED then the GREEN optimal data of the training tasks (2 × 18 × 56 = 2016 states, the 18
JUMP labels all RED, so an epoch is 2016 // 256 + 1 = 8 steps); alignment pairs and their
metric come from the RED trajectories only; every evaluation scores RED and GREEN on all 286
tasks, GREEN by its own rule (solved iff no JUMP at indices 0 … p−5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from pisces.envs.jumping import (
    ALL_TASKS,
    EPISODE_LENGTH,
    optimal_actions,
    optimal_trajectories,
    render_frames,
    simulate,
    stack_frames,
    task_index,
    task_split,
    training_tasks,
)
from pisces.envs.jumping.core import GREEN, color_code
from pisces.envs.jumping.data import JUMP_OFFSET
from pisces.experiments.jumping.config import JumpingConfig
from pisces.experiments.jumping.epsilon_psm import epsilon_pair_psm
from pisces.metrics import action_mismatch_cost, trajectory_pi_bisimulation, trajectory_psm

#: obstacle colors of a run, in the official order (``imitation_data`` keys; RED first).
WHITE_COLORS = ("white",)
RED_GREEN = ("red", "green")
#: the GREEN rule reads the actions at indices 0 … p − GREEN_TOUCH_OFFSET (the first touch).
GREEN_TOUCH_OFFSET = 5


@functools.lru_cache(maxsize=2)
def _all_task_inputs(exit_bonus: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked inputs of all 286 tasks as uint8 codes (2·value), actions, rewards (cached)."""
    traj = optimal_trajectories(ALL_TASKS, exit_bonus=exit_bonus)
    codes = np.rint(traj.observations[:, :EPISODE_LENGTH] * 2).astype(np.uint8)
    return stack_frames(codes), traj.actions, traj.rewards


def _colored_codes(color: str, tasks: np.ndarray, length: int = EPISODE_LENGTH) -> np.ndarray:
    """Stacked RGB inputs of the first ``length`` optimal states as uint8 codes (2·value).

    Args:
        color: "red" or "green".
        tasks: (N,) int rows of ``ALL_TASKS``.
        length: states per task, from t = 0 (only these frames are rendered).

    Returns:
        (N, length, 60, 60, 6) uint8: channels previous R, G, B, current R, G, B (spec §9.5).
        Rendered 22 tasks at a time, so the float frames never exceed ~55 MB.
    """
    tasks = np.asarray(tasks, dtype=np.int64)
    out = np.empty((len(tasks), length, 60, 60, 6), dtype=np.uint8)
    for lo in range(0, len(tasks), 22):
        p, f = ALL_TASKS[tasks[lo : lo + 22]].T
        trace = simulate(p, f, optimal_actions(p, color), color)
        frames = render_frames(trace.params, trace.x[:, :length], trace.y[:, :length])
        out[lo : lo + 22] = stack_frames(np.rint(frames * 2).astype(np.uint8))
    return out


@functools.lru_cache(maxsize=8)
def _colored_train_codes(color: str, tasks: tuple[int, ...]) -> np.ndarray:
    """:func:`_colored_codes` of whole trajectories of training tasks (cached: ~22 MB each)."""
    return _colored_codes(color, np.asarray(tasks, dtype=np.int64))


@functools.lru_cache(maxsize=4)
def _colored_eval_inputs(color: str, prefix: bool) -> np.ndarray:
    """uint8 codes (M, 60, 60, 6) of the states :func:`evaluated_states` lists (cached)."""
    task, time_index = evaluated_states(prefix, color)
    out = np.empty((len(task), 60, 60, 6), dtype=np.uint8)
    for lo in range(0, len(ALL_TASKS), 22):
        sel = (task >= lo) & (task < lo + 22)
        ids = np.arange(lo, min(lo + 22, len(ALL_TASKS)))
        codes = _colored_codes(color, ids, int(time_index[sel].max()) + 1)
        out[sel] = codes[task[sel] - lo, time_index[sel]]
    return out


def pair_metrics(
    actions: np.ndarray, rewards: np.ndarray, *, metric: str, gamma: float
) -> np.ndarray:
    """Metric between every ordered pair of training trajectories: (K, K, 56, 56) float32.

    ``psm``: :func:`trajectory_psm` of the 0/1 action cost; ``bisim``: π*-bisimulation from
    the rewards. ``D[i, j][a, b]`` is the distance between state a of task i and b of task j.
    """
    if metric == "psm":
        cost = action_mismatch_cost(actions[:, None, :], actions[None, :, :])
        d = trajectory_psm(cost, gamma=gamma)
    elif metric == "bisim":
        d = trajectory_pi_bisimulation(rewards[:, None, :], rewards[None, :, :], gamma=gamma)
    else:
        raise ValueError(f"unknown metric {metric!r}")
    return np.asarray(d, dtype=np.float32)


def run_pair_metric(
    cfg: JumpingConfig,
    seed: int,
    tasks: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    color: str | None = None,
) -> np.ndarray:
    """The run's (K, K, 56, 56) float32 pair metric between its training trajectories.

    :func:`pair_metrics` of the optimal actions/rewards, unless ``cfg.psm_epsilon > 0``: then
    the PSM of ε-suboptimal policies (paper §5.4, Fig. 5;
    :func:`~pisces.experiments.jumping.epsilon_psm.epsilon_pair_psm`, mode
    ``cfg.psm_epsilon_mode``, seeded by the run ``seed``). ``tasks``: (K, 2) (obstacle,
    floor) in training order; ``actions``/``rewards``: their (K, 56) optimal trajectories.
    """
    if cfg.psm_epsilon > 0:
        return epsilon_pair_psm(
            tasks,
            cfg.psm_epsilon,
            mode=cfg.psm_epsilon_mode,
            gamma=cfg.gamma,
            seed=seed,
            color=color,
        )
    return pair_metrics(actions, rewards, metric=cfg.metric, gamma=cfg.gamma)


@dataclass
class JumpingData:
    """Everything a run needs, on its device.

    ``C`` is the input's channel count: 2 (two grey frames) or, with colors, 6 (two RGB
    frames); ``n_c`` the number of colors (1 = white, or 2 = red then green).

    Attributes:
        split: (286,) "train"/"validation"/"test" per task of ``ALL_TASKS``.
        eval_inputs: (M, 60, 60, C) uint8, 2 × the stacked frames (values 0, 1, 2) of the
            evaluated states, color-major: by default only the states the §7 rule reads (see
            :func:`evaluated_states`), M = 5577 for white, 5577 + 8151 for red + green; all
            n_c × 286 × 56 with ``eval_prefix=False``.
        eval_task, eval_time: (M,) int64 task (``ALL_TASKS`` row) and time index of each.
        eval_color: (M,) int64 index into ``colors`` of each evaluated state.
        train_obs: (n_c·K·56, 60, 60, C) float32, the training states, color- then task-major.
        train_actions: (n_c·K·56,) int64 labels (0 = RIGHT, 1 = JUMP; all GREEN labels 0).
        jump_index, right_index: int64 indices into ``train_obs`` of each class.
        pair_metric: (K, K, 56, 56) float32 metric between the (RED, with colors) training
            trajectories (:func:`run_pair_metric`: optimal-policy PSM or π*-bisimulation, or
            the PSM of ε-suboptimal policies with ``cfg.psm_epsilon > 0``).
        num_tasks: K, the number of training tasks (18; duplicates kept for "random").
        colors: the run's colors, ("white",) or ("red", "green").
    """

    split: np.ndarray
    eval_inputs: torch.Tensor
    eval_task: torch.Tensor
    eval_time: torch.Tensor
    train_obs: torch.Tensor
    train_actions: torch.Tensor
    jump_index: torch.Tensor
    right_index: torch.Tensor
    pair_metric: torch.Tensor
    num_tasks: int
    eval_color: torch.Tensor
    colors: tuple[str, ...] = WHITE_COLORS

    @property
    def traj_obs(self) -> torch.Tensor:
        """(K, 56, 60, 60, C) view of the first color's training states: the trajectories of
        the alignment pairs (white, or RED only with colors: spec §4.5)."""
        first = self.train_obs[: self.num_tasks * EPISODE_LENGTH]
        return first.view(self.num_tasks, EPISODE_LENGTH, *self.train_obs.shape[1:])


def evaluated_states(
    prefix: bool = True, color: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(task, time) of the states an evaluation queries, task-major: two (M,) int64 arrays.

    The §7 rule for white and red tasks reads the greedy actions at indices ``0 … p − 14``
    only (the actions after the jump are ignored), so with ``prefix=True`` only those
    ``p − 13`` states per task are evaluated (5577 instead of 16016: 2.9× less work, the same
    solved map); for green tasks it reads indices ``0 … p − 5`` (``p − 4`` states, 8151). The
    unqueried actions are set to RIGHT, which the rule ignores.
    """
    p = ALL_TASKS[:, 0]
    if not prefix:
        lengths = np.full(len(ALL_TASKS), EPISODE_LENGTH)
    elif color_code(color) == GREEN:
        lengths = p - GREEN_TOUCH_OFFSET + 1
    else:
        lengths = p - JUMP_OFFSET + 1
    task = np.repeat(np.arange(len(ALL_TASKS)), lengths)
    time_index = np.concatenate([np.arange(n) for n in lengths])
    return task.astype(np.int64), time_index.astype(np.int64)


def build_data(
    cfg: JumpingConfig, seed: int, device: torch.device, *, eval_prefix: bool = True
) -> JumpingData:
    """Imitation data, splits and pair metrics of ``cfg.grid`` (seeded for "random")."""
    if cfg.colors:
        return _build_colored_data(cfg, seed, device, eval_prefix=eval_prefix)
    inputs, actions, rewards = _all_task_inputs(float(cfg.exit_bonus))
    eval_task, eval_time = evaluated_states(eval_prefix)
    train = training_tasks(cfg.grid, seed)
    ids = task_index(train[:, 0], train[:, 1])
    k = len(ids)
    train_obs = torch.from_numpy(inputs[ids].reshape(k * EPISODE_LENGTH, *inputs.shape[2:]))
    train_actions = torch.from_numpy(actions[ids].reshape(-1)).long()
    metric = run_pair_metric(cfg, seed, train, actions[ids], rewards[ids])
    return _on_device(
        cfg,
        seed,
        device,
        train_obs=train_obs,
        train_actions=train_actions,
        metric=metric,
        eval_inputs=inputs[eval_task, eval_time],
        eval_task=eval_task,
        eval_time=eval_time,
        eval_color=np.zeros(len(eval_task), dtype=np.int64),
    )


def _on_device(
    cfg: JumpingConfig,
    seed: int,
    device: torch.device,
    *,
    train_obs: torch.Tensor,
    train_actions: torch.Tensor,
    metric: np.ndarray,
    eval_inputs: np.ndarray,
    eval_task: np.ndarray,
    eval_time: np.ndarray,
    eval_color: np.ndarray,
    colors: tuple[str, ...] = WHITE_COLORS,
) -> JumpingData:
    """:class:`JumpingData` on ``device`` from host arrays: stored pixel codes scaled by 0.5,
    the JUMP / RIGHT index sets of the balanced sampler, and the split of ``cfg.grid``.
    ``metric`` is the (K, K, 56, 56) pair metric of the K training tasks."""
    return JumpingData(
        split=task_split(cfg.grid, seed, no_validation=cfg.no_validation),
        eval_inputs=torch.from_numpy(eval_inputs).to(device),
        eval_task=torch.from_numpy(eval_task).to(device),
        eval_time=torch.from_numpy(eval_time).to(device),
        train_obs=(train_obs.float() * 0.5).to(device),
        train_actions=train_actions.to(device),
        jump_index=torch.nonzero(train_actions == 1)[:, 0].to(device),
        right_index=torch.nonzero(train_actions == 0)[:, 0].to(device),
        pair_metric=torch.from_numpy(metric).to(device),
        num_tasks=len(metric),
        eval_color=torch.from_numpy(eval_color).long().to(device),
        colors=colors,
    )


def _build_colored_data(
    cfg: JumpingConfig, seed: int, device: torch.device, *, eval_prefix: bool
) -> JumpingData:
    """:func:`build_data` with colors: RED + GREEN training data (official ``training_data``
    order: every RED state, then every GREEN state), RED pairs, both colors evaluated."""
    train = training_tasks(cfg.grid, seed)
    ids = task_index(train[:, 0], train[:, 1])
    k = len(ids)
    obs, labels, evals = [], [], []
    for c, color in enumerate(RED_GREEN):
        codes = _colored_train_codes(color, tuple(int(i) for i in ids))
        obs.append(codes.reshape(k * EPISODE_LENGTH, 60, 60, 6))
        labels.append(optimal_actions(train[:, 0], color).reshape(-1))
        task, time_index = evaluated_states(eval_prefix, color)
        evals.append((task, time_index, np.full(len(task), c)))
    red = optimal_trajectories(train, "red", exit_bonus=float(cfg.exit_bonus))
    metric = run_pair_metric(cfg, seed, train, red.actions, red.rewards, color="red")
    train_obs = torch.from_numpy(np.concatenate(obs))
    train_actions = torch.from_numpy(np.concatenate(labels)).long()
    eval_task, eval_time, eval_color = (np.concatenate(v) for v in zip(*evals, strict=True))
    eval_inputs = np.concatenate([_colored_eval_inputs(c, eval_prefix) for c in RED_GREEN])
    return _on_device(
        cfg,
        seed,
        device,
        train_obs=train_obs,
        train_actions=train_actions,
        metric=metric,
        eval_inputs=eval_inputs,
        eval_task=eval_task,
        eval_time=eval_time,
        eval_color=eval_color,
        colors=RED_GREEN,
    )
