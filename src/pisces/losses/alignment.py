"""One entry point for every metric-alignment loss: what an agent's auxiliary hook calls.

``alignment_loss(z_x, z_y, metric, kind=...)`` aligns the embeddings of two trajectories
with a behavioural metric between their states: ``kind="cme"`` is the contrastive metric
embedding loss on cosine similarities (:func:`pisces.losses.cme_loss`, paper Eq. 4 or the
official variant), ``kind="l2"`` the ℓ2 metric embedding of Appendix E
(:func:`pisces.losses.l2_embedding_loss`). The jumping task's imitation learner and the DCS
agent's PSE step both call it, so neither copies the other's update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from pisces.losses.cme import Directions, Variant, cme_loss
from pisces.losses.l2 import l2_embedding_loss
from pisces.losses.similarity import cosine_similarity_matrix

Kind = Literal["cme", "l2"]


@dataclass(frozen=True)
class AlignmentSpec:
    """Hyperparameters of :func:`alignment_loss` (validated on construction).

    Attributes:
        kind: ``"cme"`` (contrastive, on cosine similarities) or ``"l2"`` (Appendix E).
        temperature: τ > 0 of the CME logits ``S / τ`` (``cme`` only).
        beta: β > 0 of ``Γ = exp(-D/β)``, the coupling temperature (``cme`` with Γ weights).
        variant: ``"official"`` or ``"paper"`` (:mod:`pisces.losses.cme`).
        coupling_weights: Γ weights on the official variant.
        directions: ``"both"`` or ``"rows"`` (official variant only).
    """

    kind: Kind = "cme"
    temperature: float = 1.0
    beta: float | None = None
    variant: Variant = "official"
    coupling_weights: bool = False
    directions: Directions = "both"

    def __post_init__(self) -> None:
        if self.kind not in ("cme", "l2"):
            raise ValueError(f"alignment kind must be 'cme' or 'l2', got {self.kind!r}")
        if self.kind == "cme":
            # cme_loss checks every hyperparameter and combination without touching data.
            probe = torch.zeros(1, 1)
            cme_loss(probe, probe, **self._cme_kwargs(), validate=False)

    def _cme_kwargs(self) -> dict:
        return {
            "temperature": self.temperature,
            "beta": self.beta,
            "variant": self.variant,
            "coupling_weights": self.coupling_weights,
            "directions": self.directions,
        }


def alignment_loss(
    z_x: torch.Tensor,
    z_y: torch.Tensor,
    metric: torch.Tensor,
    spec: AlignmentSpec,
    *,
    validate: bool = True,
) -> torch.Tensor:
    """Alignment loss between embeddings ``z_x (..., n, k)`` and ``z_y (..., m, k)`` of two
    trajectories given the metric ``D (..., n, m)`` between their states (a constant).

    ``cme``: ``cme_loss(cosine_similarity_matrix(z_x, z_y), D, ...)``; ``l2``:
    ``mean_{i,j} (‖z_x[i] − z_y[j]‖₂ − D[i, j])²``. ``validate=False`` skips the value
    checks (device syncs) in hot loops. Returns the loss per leading batch index ``(...)``.
    """
    if spec.kind == "l2":
        return l2_embedding_loss(z_x, z_y, metric, validate=validate)
    similarity = cosine_similarity_matrix(z_x, z_y, validate=validate)
    return cme_loss(similarity, metric, **spec._cme_kwargs(), validate=validate)
