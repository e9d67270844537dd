r"""Imitation training and evaluation on the jumping task (spec §3, §6, §7), one seed.

Per optimizer step (all on the device, no host synchronisation):

* a class-balanced batch of ``B = 256`` training states (each sample JUMP or RIGHT with
  probability 1/2, then uniform within the class) → cross-entropy of the policy logits;
* if ``alpha > 0``: one ordered pair ``(i, j)``, ``i ≠ j``, of training tasks, all 56 states
  of both optimal trajectories → alignment loss between their embeddings with the
  precomputed metric ``D[i, j]`` (PSM with γ = 0.999, or π*-bisimulation; with
  ``psm_epsilon > 0`` the PSM of ε-suboptimal policies, paper Fig. 5, while the imitation
  labels stay optimal):
  CME on the 64-d projection (:func:`pisces.losses.cme_loss` on cosine similarities) or
  ℓ2 on the 256-d representation (:func:`pisces.losses.l2_embedding_loss`);
* ``loss = CE + α · alignment + l2_reg · mean_v(Σ v² / 2)`` over all trainable tensors;
* Adam (ε = 1e-7), learning rate ``lr₀ · decay^epoch`` (one epoch = 4 steps).

The three parts of a step (CE batch, trajectory x, trajectory y) go through the encoder as one
batch of ``256 + 2·56`` samples with three independent RandConv draws (spec §6.6). Losses are
written into a device buffer and brought to the host every ``log_every`` steps, where a
non-finite value raises :class:`NonFiniteLossError` naming the first bad step.

Evaluation (spec §7): greedy actions on the 56 stored optimal states of each of the 286
tasks (softmax averaged over ``eval_mc_passes`` RandConv draws, one per task and pass),
scored by :func:`pisces.envs.jumping.solved_from_actions`.

Colored obstacles (``cfg.colors``, Table G.1; spec §1.6, §3.2, §4.5, §7, §9.5): inputs are
two RGB frames concatenated into 6 channels (not the official 5-D tensor); the training set is
the RED then the GREEN optimal data of the training tasks (2 × 18 × 56 = 2016 states, the 18
JUMP labels all RED, so an epoch is 2016 // 256 + 1 = 8 steps); the class-balanced sampler
keeps the official meaning (JUMP with probability 1/2, else a uniform non-JUMP state of either
color); alignment pairs and their metric come from the RED trajectories only; every
evaluation scores RED and GREEN on all 286 tasks, each (color, task) its own RandConv draw,
GREEN by its own rule (solved iff no JUMP at indices 0 … p−5).

Randomness: three generators derived from the run seed with :class:`numpy.random.SeedSequence`:
initialisation (CPU, so CPU and CUDA runs start from the same weights), training draws
(batches, pairs, RandConv, dropout) and evaluation (re-seeded from ``(seed, epoch)`` at every
evaluation, so the evaluation interval never changes the training trajectory or a result).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from pisces.envs.jumping import (
    ALL_TASKS,
    EPISODE_LENGTH,
    optimal_actions,
    optimal_trajectories,
    render_frames,
    simulate,
    solved_from_actions,
    stack_frames,
    task_index,
    task_split,
    training_tasks,
)
from pisces.envs.jumping.core import GREEN, color_code
from pisces.envs.jumping.data import JUMP_OFFSET
from pisces.envs.jumping.tasks import split_counts
from pisces.experiments.jumping.config import JumpingConfig
from pisces.experiments.jumping.epsilon_psm import epsilon_pair_psm
from pisces.losses import cme_loss, cosine_similarity_matrix, l2_embedding_loss
from pisces.metrics import action_mismatch_cost, trajectory_pi_bisimulation, trajectory_psm
from pisces.networks.jumping import REPRESENTATION_DIM, JumpingNetwork
from pisces.networks.randconv import sample_kernels

#: names of the per-step loss values, in the order of the metrics buffer.
LOSS_NAMES = ("loss", "ce", "align", "weight_decay")
#: obstacle colors of a run, in the official order (``imitation_data`` keys; RED first).
WHITE_COLORS = ("white",)
RED_GREEN = ("red", "green")
#: the GREEN rule reads the actions at indices 0 … p − GREEN_TOUCH_OFFSET (the first touch).
GREEN_TOUCH_OFFSET = 5


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the (1-based) optimizer step."""


@dataclass(frozen=True)
class SeedStreams:
    """Seeds of the three random streams of one run, derived from the run seed."""

    init: int
    train: int
    eval: int

    @classmethod
    def from_seed(cls, seed: int) -> SeedStreams:
        s = np.random.SeedSequence(int(seed)).generate_state(3, dtype=np.uint64)
        return cls(*(int(v) & 0x7FFF_FFFF_FFFF_FFFF for v in s))

    def eval_seed(self, epoch: int) -> int:
        s = np.random.SeedSequence([self.eval, int(epoch)]).generate_state(1, dtype=np.uint64)
        return int(s[0]) & 0x7FFF_FFFF_FFFF_FFFF


# ----------------------------------------------------------------------------- data


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


# ----------------------------------------------------------------------------- sampling


def sample_balanced(
    jump_index: torch.Tensor, right_index: torch.Tensor, batch: int, generator: torch.Generator
) -> torch.Tensor:
    """Indices of a batch where each sample is JUMP or RIGHT with probability 1/2 (§6.2).

    Within a class the state is uniform (with replacement). Returns (batch,) int64.
    """
    dev = jump_index.device
    coin = torch.rand(batch, generator=generator, device=dev) < 0.5
    j = torch.randint(len(jump_index), (batch,), generator=generator, device=dev)
    r = torch.randint(len(right_index), (batch,), generator=generator, device=dev)
    return torch.where(coin, jump_index[j], right_index[r])


def sample_pair(num_tasks: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """A uniform ordered pair of distinct task indices, as a (2,) int64 device tensor."""
    i = torch.randint(num_tasks, (1,), generator=generator, device=device)
    d = torch.randint(1, num_tasks, (1,), generator=generator, device=device)
    return torch.cat([i, (i + d) % num_tasks])


# ----------------------------------------------------------------------------- losses


def weight_decay(params: list[torch.Tensor]) -> torch.Tensor:
    """Official ``weight_decay``: ``mean_v Σ v² / 2`` over the trainable tensors (§6.1)."""
    return torch.stack([p.square().sum() for p in params]).mean() * 0.5


@dataclass
class StepBatch:
    """The random inputs of one optimizer step (drawn by :func:`sample_step`).

    Attributes:
        obs: (B + 2·56, 60, 60, C) the CE batch then trajectories x and y (or (B, …) if α = 0).
        labels: (B,) int64 actions of the CE batch.
        metric: (56, 56) metric between the two trajectories, or None if α = 0.
        kernels: (G, c, c, 2, 2) RandConv draws (G = 3, or 1 if α = 0; c = 3 for colors with
            ``rand_conv_rgb="mix"``, else 1), or None.
        keep: (B, 256) bool dropout keep-mask, or None without dropout.
    """

    obs: torch.Tensor
    labels: torch.Tensor
    metric: torch.Tensor | None
    kernels: torch.Tensor | None
    keep: torch.Tensor | None


def sample_step(data: JumpingData, cfg: JumpingConfig, generator: torch.Generator) -> StepBatch:
    """Draw one step's batch, pair, RandConv kernels and dropout mask (device ops only)."""
    dev = data.train_obs.device
    idx = sample_balanced(data.jump_index, data.right_index, cfg.batch_size, generator)
    parts = [data.train_obs.index_select(0, idx)]
    metric = None
    if cfg.alpha > 0:
        pair = sample_pair(data.num_tasks, generator, dev)
        parts.append(data.traj_obs.index_select(0, pair).flatten(0, 1))
        metric = data.pair_metric[pair[0], pair[1]]  # (56, 56), tensor indexing: no sync
    kernels = None
    if cfg.rand_conv:
        kernels = sample_kernels(
            1 + 2 * (cfg.alpha > 0),
            generator=generator,
            channels_per_frame=cfg.rand_conv_channels,
            p_identity=cfg.rand_conv_p_identity,
            device=dev,
        )
    keep = None
    if cfg.dropout > 0:
        shape = (cfg.batch_size, REPRESENTATION_DIM)
        keep = torch.rand(shape, generator=generator, device=dev) >= cfg.dropout
    return StepBatch(
        obs=torch.cat(parts) if len(parts) > 1 else parts[0],
        labels=data.train_actions.index_select(0, idx),
        metric=metric,
        kernels=kernels,
        keep=keep,
    )


class StepModule(torch.nn.Module):
    """The network as one training-step function (also the ``functional_call`` target of the
    many-seeds path): ``(obs, kernels, group_index, keep) → (logits (B, 2), embedding)``,
    embedding = 64-d projection (CME) or 256-d representation (ℓ2) of the 2·56 trajectory
    states, or None if α = 0."""

    def __init__(self, net: JumpingNetwork, cfg: JumpingConfig) -> None:
        super().__init__()
        self.net = net
        self.batch_size = cfg.batch_size
        self.align = cfg.alpha > 0
        self.project = cfg.embedding == "cme"

    def forward(
        self,
        obs: torch.Tensor,
        kernels: torch.Tensor | None,
        group_index: torch.Tensor | None,
        keep: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.net.encoder(obs, kernels=kernels, group_index=group_index)
        logits = self.net.policy(h[: self.batch_size], keep=keep)
        emb = None
        if self.align:
            emb = h[self.batch_size :]
            if self.project:
                emb = self.net.projection(emb)
        return logits, emb


def step_losses(
    logits: torch.Tensor,
    emb: torch.Tensor | None,
    batch: StepBatch,
    params: list[torch.Tensor],
    cfg: JumpingConfig,
) -> torch.Tensor:
    """``[loss, ce, align, weight_decay]`` (4,) from the step's outputs; ``loss`` has grad."""
    ce = F.cross_entropy(logits.float(), batch.labels)
    zero = torch.zeros((), device=logits.device)
    align = zero
    if emb is not None:
        assert batch.metric is not None
        zx, zy = emb.float().split(EPISODE_LENGTH)
        if cfg.embedding == "cme":
            align = cme_loss(
                cosine_similarity_matrix(zx, zy, validate=False),
                batch.metric,
                temperature=cfg.temperature,
                beta=cfg.beta,
                variant=cfg.loss_variant,
                coupling_weights=cfg.coupling_weights,
                validate=False,
            )
        else:
            align = l2_embedding_loss(zx, zy, batch.metric, validate=False)
    wd = weight_decay(params) if cfg.l2_reg > 0 else zero
    loss = ce + cfg.alpha * align + cfg.l2_reg * wd
    return torch.stack([loss, ce.detach(), align.detach(), wd.detach()])


def autocast(cfg: JumpingConfig, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast if ``cfg.amp_bf16``, else a no-op."""
    if cfg.amp_bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def compute_losses(
    net: JumpingNetwork,
    data: JumpingData,
    cfg: JumpingConfig,
    generator: torch.Generator,
    group_index: torch.Tensor | None,
) -> torch.Tensor:
    """One step's losses as a (4,) tensor ``[loss, ce, align, weight_decay]`` (``loss`` has grad).

    ``group_index`` tags the samples of the joint batch with their RandConv draw
    (0 = CE batch, 1 = trajectory x, 2 = trajectory y), or ``None`` without RandConv.
    """
    batch = sample_step(data, cfg, generator)
    with autocast(cfg, data.train_obs.device):
        logits, emb = StepModule(net, cfg)(batch.obs, batch.kernels, group_index, batch.keep)
    return step_losses(logits, emb, batch, list(net.parameters()), cfg)


def update(
    net: JumpingNetwork,
    optimizer: torch.optim.Optimizer,
    data: JumpingData,
    cfg: JumpingConfig,
    generator: torch.Generator,
    group_index: torch.Tensor | None,
) -> torch.Tensor:
    """One optimizer step; returns the detached (4,) loss vector (still on the device)."""
    values = compute_losses(net, data, cfg, generator, group_index)
    optimizer.zero_grad(set_to_none=True)
    values[0].backward()
    optimizer.step()
    return values.detach()


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def greedy_actions(
    net: JumpingNetwork,
    inputs: torch.Tensor,
    group: torch.Tensor,
    *,
    num_groups: int,
    rand_conv: bool,
    passes: int,
    p_identity: float,
    generator: torch.Generator,
    chunk: int = 512,
    amp_bf16: bool = False,
    channels_per_frame: int = 1,
) -> torch.Tensor:
    """Greedy actions on stored states: JUMP iff mean softmax p(JUMP) > p(RIGHT), strictly.

    With RandConv, ``passes`` softmax outputs are averaged, and in every pass each group (a
    task: the official code evaluates one task per call) gets its own kernel.

    Args:
        inputs: (M, 60, 60, C) uint8 codes (2 × value) or float inputs.
        group: (M,) int64 group (task) of each state, in ``[0, num_groups)``.
        channels_per_frame: channels one RandConv kernel maps (see :func:`sample_kernels`).

    Returns:
        (M,) bool on the device (True = JUMP).
    """
    was_training = net.training
    net.eval()
    dev = inputs.device
    m = inputs.shape[0]
    probs = torch.zeros((m, 2), device=dev)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16) if amp_bf16 else contextlib.nullcontext()
    for _ in range(passes if rand_conv else 1):
        kernels = None
        if rand_conv:
            kernels = sample_kernels(
                num_groups,
                generator=generator,
                channels_per_frame=channels_per_frame,
                p_identity=p_identity,
                device=dev,
            )
        for lo in range(0, m, chunk):
            x = inputs[lo : lo + chunk]
            x = x.float() * 0.5 if x.dtype == torch.uint8 else x.float()
            g = group[lo : lo + chunk] if rand_conv else None
            with amp:
                logits = net(x, kernels=kernels, group_index=g)
            probs[lo : lo + chunk] += torch.softmax(logits.float(), dim=-1)
    net.train(was_training)
    return probs[:, 1] > probs[:, 0]


def color_counts(by_color: dict[str, np.ndarray], split: np.ndarray) -> dict[str, Any]:
    """:func:`split_counts` of a run's colors.

    White: the plain keys. Colors: per color ``{split}_{color}_solved``/``_total``/
    ``_solved_pct`` (the official ``eval/{split}_{COLOR}_solved``, as counts and %), and the
    plain keys repeat RED's: the paper's headline number (Fig. 4, "evaluate generalization on
    unseen red tasks"). The official unsuffixed ``eval/{split}_solved`` is the sum RED + GREEN
    (``{split}_red_solved + {split}_green_solved``).
    """
    if tuple(by_color) == WHITE_COLORS:
        return split_counts(by_color["white"], split)
    out = split_counts(by_color["red"], split)
    for color, solved in by_color.items():
        out.update(split_counts(solved, split, suffix=f"_{color}"))
    return out


# ----------------------------------------------------------------------------- trainer


@dataclass
class EvalRecord:
    """One evaluation. ``solved``: (286,) bool of the headline color (white, or red);
    ``by_color``: color → (286,) bool for every color of the run; ``counts``:
    :func:`color_counts`."""

    epoch: int
    step: int
    solved: np.ndarray
    counts: dict[str, Any]
    seconds: float
    by_color: dict[str, np.ndarray] = field(default_factory=dict)


class JumpingTrainer:
    """Owns the modules, optimizer, data and generators of one seed; see :meth:`run`."""

    def __init__(
        self,
        cfg: JumpingConfig,
        seed: int,
        device: torch.device | str = "cpu",
        *,
        eval_chunk: int | None = None,
        eval_prefix: bool = True,
    ) -> None:
        self.cfg = cfg.validate()
        self.seed = int(seed)
        self.device = torch.device(device)
        self.streams = SeedStreams.from_seed(self.seed)
        self.data = build_data(cfg, self.seed, self.device, eval_prefix=eval_prefix)
        init_gen = torch.Generator().manual_seed(self.streams.init)
        self.net = JumpingNetwork(
            init_gen, in_channels=self.data.train_obs.shape[-1], dropout=cfg.dropout
        ).to(self.device)
        self.net.train()
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(
            self.net.parameters(), lr=cfg.learning_rate, eps=cfg.adam_eps, fused=fused
        )
        self.generator = torch.Generator(self.device).manual_seed(self.streams.train)
        self.eval_generator = torch.Generator(self.device)
        self.steps_per_epoch = len(self.data.train_obs) // cfg.batch_size + 1
        self.step = 0
        self.epoch = 0
        self.group_index: torch.Tensor | None = None
        if cfg.rand_conv:
            sizes = [cfg.batch_size] + ([EPISODE_LENGTH] * 2 if cfg.alpha > 0 else [])
            self.group_index = torch.repeat_interleave(
                torch.arange(len(sizes), device=self.device),
                torch.tensor(sizes, device=self.device),
            )
        self.eval_chunk = eval_chunk or (512 if self.device.type == "cpu" else 8192)
        self._buffer = torch.zeros((cfg.log_every, len(LOSS_NAMES)), device=self.device)
        self._filled = 0
        self.loss_log: list[dict[str, float]] = []
        self.evals: list[EvalRecord] = []
        self.train_seconds = 0.0

    def learning_rate(self, epoch: int) -> float:
        """lr at (0-based) ``epoch``: ``lr₀ · decay^epoch``."""
        return self.cfg.learning_rate * self.cfg.lr_decay**epoch

    def flush(self) -> dict[str, float] | None:
        """Bring the buffered losses to the host (one sync); raise on a non-finite value."""
        if self._filled == 0:
            return None
        vals = self._buffer[: self._filled].cpu().numpy()
        first = self.step - self._filled + 1
        bad = ~np.isfinite(vals).all(axis=1)
        if bad.any():
            at = first + int(np.argmax(bad))
            raise NonFiniteLossError(
                f"non-finite loss at step {at} (epoch {(at - 1) // self.steps_per_epoch + 1}, "
                f"seed {self.seed}, preset {self.cfg.preset}): "
                + ", ".join(
                    f"{k}={v:.4g}" for k, v in zip(LOSS_NAMES, vals[np.argmax(bad)], strict=True)
                )
            )
        record = {"step": self.step, **dict(zip(LOSS_NAMES, vals.mean(0).tolist(), strict=True))}
        self.loss_log.append(record)
        self._filled = 0
        return record

    def train_epoch(self) -> None:
        """``steps_per_epoch`` optimizer steps at this epoch's learning rate."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.epoch)
        for _ in range(self.steps_per_epoch):
            values = update(
                self.net, self.optimizer, self.data, self.cfg, self.generator, self.group_index
            )
            self._buffer[self._filled] = values
            self._filled += 1
            self.step += 1
            if self._filled == self.cfg.log_every:
                self.flush()
        self.epoch += 1

    def evaluate(self) -> EvalRecord:
        """Evaluate the current policy on all 286 tasks (seeded from ``(seed, epoch)``)."""
        start = time.perf_counter()
        self.eval_generator.manual_seed(self.streams.eval_seed(self.epoch))
        colors, eval_color = self.data.colors, self.data.eval_color
        jump = greedy_actions(
            self.net,
            self.data.eval_inputs,
            eval_color * len(ALL_TASKS) + self.data.eval_task,  # one draw per (color, task)
            num_groups=len(colors) * len(ALL_TASKS),
            rand_conv=self.cfg.rand_conv,
            passes=self.cfg.eval_mc_passes,
            p_identity=self.cfg.rand_conv_p_identity,
            generator=self.eval_generator,
            chunk=self.eval_chunk,
            amp_bf16=self.cfg.amp_bf16,
            channels_per_frame=self.cfg.rand_conv_channels,
        )
        actions = torch.zeros(
            (len(colors), len(ALL_TASKS), EPISODE_LENGTH), dtype=torch.long, device=jump.device
        )
        actions[eval_color, self.data.eval_task, self.data.eval_time] = jump.long()
        actions_np = actions.cpu().numpy()
        by_color = {
            color: solved_from_actions(actions_np[c], ALL_TASKS[:, 0], color)
            for c, color in enumerate(colors)
        }
        record = EvalRecord(
            epoch=self.epoch,
            step=self.step,
            solved=by_color[colors[0]],
            counts=color_counts(by_color, self.data.split),
            seconds=time.perf_counter() - start,
            by_color=by_color,
        )
        self.evals.append(record)
        return record

    def should_evaluate(self) -> bool:
        every = self.cfg.eval_every
        return self.epoch == self.cfg.epochs or (every > 0 and self.epoch % every == 0)

    def run(self, on_epoch: Callable[[JumpingTrainer], None] | None = None) -> EvalRecord:
        """Train ``cfg.epochs`` epochs, evaluating on schedule; returns the final evaluation."""
        while self.epoch < self.cfg.epochs:
            start = time.perf_counter()
            self.train_epoch()
            if self.should_evaluate():
                self.flush()
                self.train_seconds += time.perf_counter() - start
                self.evaluate()
            else:
                self.train_seconds += time.perf_counter() - start
            if on_epoch is not None:
                on_epoch(self)
        self.flush()
        return self.evals[-1]

    def result(self) -> dict[str, Any]:
        """JSON-ready record of the run (config, curves, final counts, per-task solved map)."""
        final = self.evals[-1]
        out: dict[str, Any] = {
            "preset": self.cfg.preset,
            "grid": self.cfg.grid,
            "seed": self.seed,
            "epochs": self.epoch,
            "steps": self.step,
            "colors": self.cfg.colors,
            # white: % of the 268 test tasks; colors: RED test % (the paper's headline).
            "test_solved_pct": final.counts["test_solved_pct"],
        }
        if self.cfg.colors:
            for color in RED_GREEN:
                out[f"test_solved_pct_{color}"] = final.counts[f"test_{color}_solved_pct"]
            out["solved_green"] = final.by_color["green"].astype(int).tolist()
        return out | {
            "final": final.counts,
            "solved": final.solved.astype(int).tolist(),
            "split": self.data.split.tolist(),
            "eval_curve": [{"epoch": e.epoch, "step": e.step, **e.counts} for e in self.evals],
            "loss_curve": self.loss_log,
            "train_seconds": self.train_seconds,
            "eval_seconds": sum(e.seconds for e in self.evals),
            "device": str(self.device),
            "config": self.cfg.to_dict(),
        }
