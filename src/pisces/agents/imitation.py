r"""The imitation learner of the jumping task (paper Section 5; spec jumping-task §3, §6, §7).

Per optimizer step (all on the device, no host synchronisation):

* a class-balanced batch of ``B`` demonstration states (each sample JUMP or RIGHT with
  probability 1/2, then uniform within the class) → cross-entropy of the policy logits;
* with an alignment hook (:func:`pisces.agents.hooks.alignment_term`): one ordered pair
  ``(i, j)``, ``i ≠ j``, of demonstration trajectories, all their states → the hook's loss
  between their embeddings with the precomputed metric ``D[i, j]``;
* ``loss = CE + α · alignment + l2_reg · mean_v(Σ v² / 2)`` over all trainable tensors;
* one step of the learner's optimizer.

The three parts of a step (CE batch, trajectory x, trajectory y) go through the encoder as one
batch of ``B + 2 T`` samples with three independent RandConv draws (spec §6.6). Nothing here
knows the benchmark's CLI, its splits or its result format: the experiment builds the
:class:`Demonstrations` and the hook, and owns the schedule and the evaluation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch.nn import functional as F

from pisces.agents.hooks import LossTerm, add_terms
from pisces.networks.jumping import REPRESENTATION_DIM, JumpingNetwork
from pisces.networks.randconv import sample_kernels

#: names of the per-step loss values, in the order of :meth:`ImitationLearner.update`'s vector.
LOSS_NAMES = ("loss", "ce", "align", "weight_decay")


class Demonstrations(Protocol):
    """What the learner reads of its data (all tensors on one device).

    Attributes:
        train_obs: (N, H, W, C) float inputs of the demonstration states.
        train_actions: (N,) int64 expert actions (0 = RIGHT, 1 = JUMP).
        jump_index, right_index: int64 indices into ``train_obs`` of each class.
        traj_obs: (K, T, H, W, C) the K demonstration trajectories of the alignment pairs.
        pair_metric: (K, K, T, T) float32 metric between them (``D[i, j][a, b]``).
        num_tasks: K.
    """

    train_obs: torch.Tensor
    train_actions: torch.Tensor
    jump_index: torch.Tensor
    right_index: torch.Tensor
    pair_metric: torch.Tensor
    num_tasks: int

    @property
    def traj_obs(self) -> torch.Tensor: ...


@dataclass(frozen=True)
class ImitationSettings:
    """The update's hyperparameters (built by the experiment's config; no defaults here).

    Attributes:
        batch_size: B, the cross-entropy batch [samples].
        l2_reg: coefficient of ``mean_v Σ v² / 2`` over all trainable tensors (§6.1).
        dropout: dropout rate on the representation before the policy layer.
        rand_conv: RandConv on the input (three draws per step: CE batch, x, y).
        rand_conv_channels: channels per frame one RandConv kernel maps.
        rand_conv_p_identity: probability that one RandConv draw is the identity.
        project: embed with the projection head (CME) instead of the raw representation (ℓ2).
        amp_bf16: bfloat16 autocast for the forward passes.
    """

    batch_size: int
    l2_reg: float
    dropout: float
    rand_conv: bool
    rand_conv_channels: int
    rand_conv_p_identity: float
    project: bool
    amp_bf16: bool


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


@dataclass
class StepBatch:
    """The random inputs of one optimizer step (drawn by :func:`sample_step`).

    Attributes:
        obs: (B + 2T, H, W, C) the CE batch then trajectories x and y (or (B, …) unaligned).
        labels: (B,) int64 actions of the CE batch.
        metric: (T, T) metric between the two trajectories, or None unaligned.
        kernels: (G, c, c, 2, 2) RandConv draws (G = 3, or 1 unaligned), or None.
        keep: (B, 256) bool dropout keep-mask, or None without dropout.
    """

    obs: torch.Tensor
    labels: torch.Tensor
    metric: torch.Tensor | None
    kernels: torch.Tensor | None
    keep: torch.Tensor | None


def sample_step(
    data: Demonstrations, settings: ImitationSettings, align: bool, generator: torch.Generator
) -> StepBatch:
    """Draw one step's batch, pair (if ``align``), RandConv kernels and dropout mask, in this
    order from ``generator`` (device ops only)."""
    dev = data.train_obs.device
    idx = sample_balanced(data.jump_index, data.right_index, settings.batch_size, generator)
    metric = None
    if align:
        pair = sample_pair(data.num_tasks, generator, dev)
        # both gathers write into one batch (no torch.cat pass over the whole of it)
        traj = data.traj_obs
        obs = data.train_obs.new_empty((len(idx) + 2 * traj.shape[1], *traj.shape[2:]))
        torch.index_select(data.train_obs, 0, idx, out=obs[: len(idx)])
        torch.index_select(traj, 0, pair, out=obs[len(idx) :].view(2, *traj.shape[1:]))
        metric = data.pair_metric[pair[0], pair[1]]  # (T, T), tensor indexing: no sync
    else:
        obs = data.train_obs.index_select(0, idx)
    kernels = None
    if settings.rand_conv:
        kernels = sample_kernels(
            1 + 2 * align,
            generator=generator,
            channels_per_frame=settings.rand_conv_channels,
            p_identity=settings.rand_conv_p_identity,
            device=dev,
        )
    keep = None
    if settings.dropout > 0:
        shape = (settings.batch_size, REPRESENTATION_DIM)
        keep = torch.rand(shape, generator=generator, device=dev) >= settings.dropout
    return StepBatch(
        obs=obs,
        labels=data.train_actions.index_select(0, idx),
        metric=metric,
        kernels=kernels,
        keep=keep,
    )


# ----------------------------------------------------------------------------- losses


def weight_decay(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Official ``weight_decay``: ``mean_v Σ v² / 2`` over the trainable tensors (§6.1)."""
    return torch.stack([p.square().sum() for p in params]).mean() * 0.5


class StepModule(torch.nn.Module):
    """The network as one training-step function (also the ``functional_call`` target of the
    seed ensemble): ``(obs, kernels, group_index, keep) → (logits (B, 2), embedding)``,
    embedding = projection (``project``) or representation of the 2T trajectory states, or
    None when ``align`` is off."""

    def __init__(self, net: JumpingNetwork, batch_size: int, align: bool, project: bool) -> None:
        super().__init__()
        self.net = net
        self.batch_size = batch_size
        self.align = align
        self.project = project

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
    params: Sequence[torch.Tensor],
    settings: ImitationSettings,
    term: LossTerm | None,
) -> torch.Tensor:
    """``[loss, ce, align, weight_decay]`` (4,) from the step's outputs; ``loss`` has grad.

    ``loss = CE + term(z_x, z_y, D) + l2_reg · weight_decay``; the hook ``term`` (weight α
    inside) sees the two halves of ``emb``; ``align`` is its unweighted value (0 without).
    """
    ce = F.cross_entropy(logits.float(), batch.labels)
    zero = torch.zeros((), device=logits.device)
    total, align = ce, zero
    if term is not None:
        assert emb is not None and batch.metric is not None
        zx, zy = emb.float().chunk(2)
        total, metrics = add_terms(ce, [(term, (zx, zy, batch.metric))])
        align = metrics[term.name]
    wd = weight_decay(params) if settings.l2_reg > 0 else zero
    loss = total + settings.l2_reg * wd
    return torch.stack([loss, ce.detach(), align, wd.detach()])


def autocast(enabled: bool, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` if ``enabled``, else a no-op."""
    if enabled:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class ImitationLearner:
    """Cross-entropy imitation with an optional alignment hook, one seed.

    Args:
        net: the network (encoder, policy and projection heads).
        optimizer: over ``net``'s parameters.
        data: the demonstrations (:class:`Demonstrations`).
        settings: the update's hyperparameters.
        term: the auxiliary alignment hook, or None (plain imitation).
        generator: the training stream (batches, pairs, RandConv, dropout).
        trajectory_length: T, states per demonstration trajectory (RandConv groups).
    """

    def __init__(
        self,
        net: JumpingNetwork,
        optimizer: torch.optim.Optimizer,
        data: Demonstrations,
        settings: ImitationSettings,
        term: LossTerm | None,
        generator: torch.Generator,
        trajectory_length: int,
    ) -> None:
        self.net = net
        self.optimizer = optimizer
        self.data = data
        self.settings = settings
        self.term = term
        self.generator = generator
        self.align = term is not None
        dev = data.train_obs.device
        self.group_index: torch.Tensor | None = None
        if settings.rand_conv:
            sizes = [settings.batch_size] + ([trajectory_length] * 2 if self.align else [])
            self.group_index = torch.repeat_interleave(
                torch.arange(len(sizes), device=dev), torch.tensor(sizes, device=dev)
            )

    def step_module(self) -> StepModule:
        """The step function over this learner's network."""
        return StepModule(self.net, self.settings.batch_size, self.align, self.settings.project)

    def sample(self) -> StepBatch:
        """Draw the next step's random inputs from the training stream."""
        return sample_step(self.data, self.settings, self.align, self.generator)

    def compute_losses(self) -> torch.Tensor:
        """One step's (4,) ``[loss, ce, align, weight_decay]`` (``loss`` has grad)."""
        batch = self.sample()
        with autocast(self.settings.amp_bf16, self.data.train_obs.device):
            logits, emb = self.step_module()(batch.obs, batch.kernels, self.group_index, batch.keep)
        return step_losses(
            logits, emb, batch, list(self.net.parameters()), self.settings, self.term
        )

    def update(self) -> torch.Tensor:
        """One optimizer step; returns the detached (4,) loss vector (still on the device)."""
        values = self.compute_losses()
        self.optimizer.zero_grad(set_to_none=True)
        values[0].backward()
        self.optimizer.step()
        return values.detach()

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr


# ----------------------------------------------------------------------------- acting


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
    amp = autocast(amp_bf16, dev)
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
