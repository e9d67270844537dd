"""Many seeds of the imitation learner in one program: parameters stacked on a seed axis,
one vmapped step (for GPUs).

The PyTorch "model ensembling" recipe: :func:`torch.func.stack_module_state` stacks the
parameters of S networks into tensors with a leading seed axis, and ``vmap(grad(loss))``
computes every seed's gradient in one batched call; Adam is elementwise, so one
:class:`torch.optim.Adam` over the stacked tensors is exactly S independent Adams.

Each member is an :class:`~pisces.agents.imitation.ImitationLearner` with its own data and
generator: its random draws are made with its own :meth:`~ImitationLearner.sample`, in the
same order as the per-seed path, so the two paths see the same batches, pairs, RandConv
kernels and dropout masks and agree up to floating-point reassociation (tested on CPU).
:meth:`ImitationEnsemble.sync` copies the stacked parameters back into each member's network
(before an evaluation or a checkpoint). On a CPU one process per seed is faster; use this on
a GPU.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from pisces.agents.imitation import ImitationLearner, StepBatch, autocast, step_losses


class ImitationEnsemble:
    """Train ``learners`` (same settings and hook, one seed each) with one vmapped step.

    Args:
        learners: S members; their networks hold the initial parameters.
        lr: the initial learning rate; eps: Adam's ε.
    """

    def __init__(self, learners: Sequence[ImitationLearner], *, lr: float, eps: float) -> None:
        if len(learners) < 1:
            raise ValueError("need at least one learner")
        self.learners = list(learners)
        first = self.learners[0]
        self.settings, self.term = first.settings, first.term
        self.device = first.data.train_obs.device
        modules = [m.step_module() for m in self.learners]
        self.params, self.buffers = stack_module_state(modules)
        self.names = list(self.params)
        self.base = copy.deepcopy(modules[0]).to("meta")
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(list(self.params.values()), lr=lr, eps=eps, fused=fused)
        self.group_index = first.group_index
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
        with autocast(self.settings.amp_bf16, self.device):
            logits, emb = functional_call(
                self.base, (params, buffers), (obs, kernels, self.group_index, keep)
            )
        params_list = [params[n] for n in self.names]
        values = step_losses(logits, emb, batch, params_list, self.settings, self.term)
        return values[0], values.detach()

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def update(self) -> torch.Tensor:
        """One optimizer step of every seed; returns the (S, 4) loss values (on the device)."""
        batches = [m.sample() for m in self.learners]

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

    def sync(self) -> None:
        """Copy every seed's stacked parameters into its own network."""
        with torch.no_grad():
            for i, m in enumerate(self.learners):
                for name, p in m.step_module().named_parameters():
                    p.copy_(self.params[name][i])
