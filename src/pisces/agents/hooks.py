r"""Auxiliary representation losses as hooks into an agent's update.

An agent's update computes its own loss (cross-entropy, SAC's critic and actor losses, an
LQR cost) and never branches on which auxiliary loss a method adds. A method plugs one in
as either

* a :class:`LossTerm`: a loss added **inside** the update with a weight,
  ``loss = base + w · term(inputs)``, sharing the update's forward pass and optimizer (the
  jumping task's PSE / ℓ2 alignment, paper Section 5); or
* a :class:`SeparateStep`: a loss minimised by **its own optimizer after** the update, on its
  own parameters (the DCS agent's PSE step, paper Section 6.2: Adam on the encoder, the
  actor trunk and a projection).

Both return a ``dict[str, Tensor]`` of named detached scalars for logging (never a host
sync: the caller reduces them every N steps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from pisces.losses import AlignmentSpec, alignment_loss

#: named scalar tensors returned by every update and hook (detached, still on the device).
Metrics = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LossTerm:
    """``weight · loss_fn(*inputs)`` added to an update's loss under the name ``name``.

    Attributes:
        name: the key of the unweighted value in the update's metrics.
        weight: the coefficient w ≥ 0 (α of the paper).
        loss_fn: inputs → 0-d loss tensor (with grad).
    """

    name: str
    weight: float
    loss_fn: Callable[..., torch.Tensor]

    def __post_init__(self) -> None:
        if not (self.weight >= 0 and self.weight < float("inf")):
            raise ValueError(f"{self.name}: weight must be finite and >= 0, got {self.weight}")

    def __call__(self, *inputs: Any) -> tuple[torch.Tensor, Metrics]:
        """``(weight · loss, {name: loss.detach()})``."""
        loss = self.loss_fn(*inputs)
        return self.weight * loss, {self.name: loss.detach()}


def add_terms(
    base: torch.Tensor, terms: Sequence[tuple[LossTerm, tuple[Any, ...]]]
) -> tuple[torch.Tensor, Metrics]:
    """``base + Σ_k w_k · term_k(*inputs_k)``, left to right, with every term's metrics."""
    total, metrics = base, {}
    for term, inputs in terms:
        weighted, values = term(*inputs)
        total = total + weighted
        metrics.update(values)
    return total, metrics


class SeparateStep:
    """A loss minimised by its own optimizer after an agent's update.

    ``step(*inputs)`` computes ``loss_fn(*inputs)``, zeroes the optimizer's gradients,
    back-propagates ``weight · loss`` and steps; gradients reach exactly the parameters the
    optimizer holds (others may accumulate ``.grad``, which the agent's own update zeroes).

    Args:
        name: the metrics key of the (unweighted) loss.
        loss_fn: inputs → 0-d loss tensor.
        optimizer: over the parameters this step trains.
        weight: coefficient of the loss (α).
    """

    def __init__(
        self,
        name: str,
        loss_fn: Callable[..., torch.Tensor],
        optimizer: torch.optim.Optimizer,
        weight: float = 1.0,
    ) -> None:
        if not (weight >= 0 and weight < float("inf")):
            raise ValueError(f"{name}: weight must be finite and >= 0, got {weight}")
        self.name = name
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.weight = float(weight)

    def __call__(self, *inputs: Any) -> Metrics:
        loss = self.loss_fn(*inputs)
        self.optimizer.zero_grad(set_to_none=True)
        (self.weight * loss).backward()
        self.optimizer.step()
        return {self.name: loss.detach()}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


def alignment_term(spec: AlignmentSpec, weight: float, name: str = "align") -> LossTerm:
    """A :class:`LossTerm` of :func:`pisces.losses.alignment_loss`:
    ``(z_x (n, k), z_y (m, k), metric (n, m)) → weight · alignment``; value checks off
    (hot loop: the caller checks the loss every N steps)."""

    def loss(z_x: torch.Tensor, z_y: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
        return alignment_loss(z_x, z_y, metric, spec, validate=False)

    return LossTerm(name=name, weight=weight, loss_fn=loss)


def parameters_of(*modules: torch.nn.Module) -> Iterable[torch.nn.Parameter]:
    """The parameters of ``modules``, each once (shared submodules are not repeated)."""
    seen: set[int] = set()
    for module in modules:
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                yield p
