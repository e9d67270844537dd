"""Many seeds in one program: parameters stacked on a seed axis, one vmapped step (for GPUs).

The PyTorch "model ensembling" recipe: :func:`torch.func.stack_module_state` stacks the
parameters of S networks into tensors with a leading seed axis, and
``vmap(grad(loss))`` computes every seed's gradient in one batched call; Adam is elementwise,
so one :class:`torch.optim.Adam` over the stacked tensors is exactly S independent Adams.

Each seed keeps its own :class:`~pisces.experiments.jumping.train.JumpingTrainer` (data,
generators, loss buffer, evaluations, result record): its random draws are made with
:func:`~pisces.experiments.jumping.train.sample_step` from its own generator, in the same
order as the per-seed path, so the two paths see the same batches, pairs, RandConv kernels
and dropout masks and agree up to floating-point reassociation (tested on CPU). Evaluation
copies a seed's parameters back into its network and runs the per-seed evaluation.

On a CPU the per-process layout (``--workers``) is faster; use this on a GPU.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence

import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from pisces.experiments.jumping.config import JumpingConfig
from pisces.experiments.jumping.train import (
    JumpingTrainer,
    StepBatch,
    StepModule,
    autocast,
    sample_step,
    step_losses,
)


class EnsembleTrainer:
    """Train ``len(seeds)`` seeds of one config together; ``members[i]`` is seed ``seeds[i]``."""

    def __init__(
        self, cfg: JumpingConfig, seeds: Sequence[int], device: torch.device | str = "cpu"
    ) -> None:
        if len(seeds) < 1:
            raise ValueError("need at least one seed")
        self.cfg = cfg.validate()
        self.device = torch.device(device)
        self.members = [JumpingTrainer(cfg, s, self.device) for s in seeds]
        modules = [StepModule(m.net, cfg) for m in self.members]
        self.params, self.buffers = stack_module_state(modules)
        self.names = list(self.params)
        self.base = copy.deepcopy(modules[0]).to("meta")
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(
            list(self.params.values()), lr=cfg.learning_rate, eps=cfg.adam_eps, fused=fused
        )
        self.group_index = self.members[0].group_index
        self.steps_per_epoch = self.members[0].steps_per_epoch
        self.epoch = 0
        self._grad = grad(self._loss, has_aux=True)

    def _loss(
        self,
        params: dict[str, torch.Tensor],
        buffers: dict[str, torch.Tensor],
        obs: torch.Tensor,
        labels: torch.Tensor,
        metric: torch.Tensor | None,
        kernels: torch.Tensor | None,
        keep: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch = StepBatch(obs=obs, labels=labels, metric=metric, kernels=kernels, keep=keep)
        with autocast(self.cfg, self.device):
            logits, emb = functional_call(
                self.base, (params, buffers), (obs, kernels, self.group_index, keep)
            )
        values = step_losses(logits, emb, batch, [params[n] for n in self.names], self.cfg)
        return values[0], values.detach()

    def step(self) -> torch.Tensor:
        """One optimizer step of every seed; returns the (S, 4) loss values (on the device)."""
        batches = [sample_step(m.data, self.cfg, m.generator) for m in self.members]

        def stacked(field: str) -> torch.Tensor | None:
            values = [getattr(b, field) for b in batches]
            return None if values[0] is None else torch.stack(values)

        args = [stacked(f) for f in ("obs", "labels", "metric", "kernels", "keep")]
        in_dims = (0, 0, *(None if a is None else 0 for a in args))
        grads, values = vmap(self._grad, in_dims=in_dims)(self.params, self.buffers, *args)
        for name, p in self.params.items():
            p.grad = grads[name]
        self.optimizer.step()
        return values

    def sync_members(self) -> None:
        """Copy every seed's stacked parameters into its own network (before evaluation)."""
        with torch.no_grad():
            for i, m in enumerate(self.members):
                for name, p in StepModule(m.net, self.cfg).named_parameters():
                    p.copy_(self.params[name][i])

    def train_epoch(self) -> None:
        lr = self.members[0].learning_rate(self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        for _ in range(self.steps_per_epoch):
            values = self.step()
            for i, m in enumerate(self.members):
                m._buffer[m._filled] = values[i]
                m._filled += 1
                m.step += 1
                if m._filled == self.cfg.log_every:
                    m.flush()
        self.epoch += 1
        for m in self.members:
            m.epoch = self.epoch

    def run(self, on_epoch: Callable[[EnsembleTrainer], None] | None = None) -> None:
        """Train ``cfg.epochs`` epochs; evaluate every seed on the per-seed schedule."""
        while self.epoch < self.cfg.epochs:
            start = time.perf_counter()
            self.train_epoch()
            elapsed = time.perf_counter() - start
            for m in self.members:
                m.train_seconds += elapsed / len(self.members)
            if self.members[0].should_evaluate():
                self.sync_members()
                for m in self.members:
                    m.flush()
                    m.evaluate()
            if on_epoch is not None:
                on_epoch(self)
        self.sync_members()
        for m in self.members:
            m.flush()
