r"""Contrastive metric embedding (CME) loss: Eq. 4 of the paper and the official variant.

Notation. ``similarity`` ``S`` and ``metric`` ``D`` are ``(..., n, m)``: row ``i`` is state
``x_i`` of trajectory X (``z_x`` in :func:`~pisces.losses.cosine_similarity_matrix`),
column ``j`` is state ``y_j`` of trajectory Y (``z_y``). ``S`` is the raw similarity
(cosine, in [-1, 1]); the loss uses logits ``S / τ`` (the paper's inverse temperature is
``λ = 1/τ``). ``D`` (e.g. the PSM) is a constant: it only picks positives and weights, and no
gradient flows into it (it is detached).

Paper vs official code (spec §4.3, §4.6, §9 pitfall 1):

* ``variant="paper"`` is Eq. 4 as written: anchors are the **columns** ``y_j`` (the paper
  averages over ``y ~ τ*_Y``), candidates are the rows ``x ∈ X' = τ*_X``; one direction;
  always Γ-weighted, ``Γ = exp(-D/β)``; the weights enter exactly (``log(1 - Γ)``, no
  epsilon), so a zero-distance non-positive (a tie) has weight exactly 0 and is masked.
  The appendix listing (J.2) instead anchors the **rows** (``argmin(D, axis=1)``) and uses
  ``log(1 - Γ + 1e-8)``; up to that epsilon it equals ``cme_loss(S.mT, D.mT, ...)``.
* ``variant="official"`` is what ``training_helpers.contrastive_loss`` of the official
  repository ran: row anchors **plus** column anchors (a sum, not an average), each a plain
  InfoNCE (positive inside the logsumexp), unweighted unless ``coupling_weights=True``
  (``--use_coupling_weights 1``: ``-D/β`` on the positive logit, ``log(1 - Γ + 1e-9)`` on the
  non-positive logits). ``beta`` is ignored when ``coupling_weights=False``, as in the code.

Which one presets should use: Table 1 was produced by the README launch commands, i.e.
``variant="official", coupling_weights=False`` (β = 0.01 passed but inert); presets that
reproduce the published runs use that, and name it. ``variant="paper"`` (β = 0.01) is the
documented alternative that follows the text.

Positives: ``argmin`` of ``D`` over the candidate axis, ties to the **lowest index** (like
``tf.argmin`` / ``np.argmin``). This decides the positive of every post-jump state in the
jumping task (spec §4.2, §9 pitfall 6); see :func:`positive_indices`.
"""

from __future__ import annotations

from typing import Literal

import torch

from pisces.losses._checks import (
    broadcast_leading,
    check_finite,
    check_positive,
    check_tensor,
)

Variant = Literal["paper", "official"]
Directions = Literal["both", "rows"]

#: epsilon inside ``log(1 - Γ + eps)`` of the official code's coupling weights.
OFFICIAL_COUPLING_EPS = 1e-9


def positive_indices(metric: torch.Tensor, dim: int = -2) -> torch.Tensor:
    """Index of the nearest candidate along ``dim``: ``argmin`` with ties to the lowest index.

    Args:
        metric: distances ``(..., n, m)``.
        dim: the **candidate** axis searched. ``dim=-2`` (default) gives, for every column
            anchor ``y_j``, the row ``argmin_i D[i, j]`` (shape ``(..., m)``; the paper's
            Eq. 4). ``dim=-1`` gives, for every row anchor ``x_i``, the column
            ``argmin_j D[i, j]`` (shape ``(..., n)``; the appendix listing and the official
            code's first direction).

    Returns:
        int64 indices with ``dim`` removed.
    """
    check_tensor("metric", metric, min_dim=2)
    if dim not in (-2, -1, metric.dim() - 2, metric.dim() - 1):
        raise ValueError(f"dim must select one of the last two axes, got {dim}")
    # torch.argmin documents that it returns the first minimal index; the explicit
    # "first position equal to the minimum" keeps that guarantee independent of backend.
    d = metric.detach()
    is_min = d == d.amin(dim=dim, keepdim=True)
    return is_min.to(torch.uint8).argmax(dim=dim)


def _direction(
    logits: torch.Tensor,
    metric: torch.Tensor,
    dim: int,
    *,
    beta: float | None,
    weights: Literal["none", "exact", "official"],
) -> torch.Tensor:
    """Mean over anchors of ``-log softmax`` at the positive, candidates along ``dim``.

    Returns the per-batch loss ``(...)``.
    """
    pos = positive_indices(metric, dim=dim).unsqueeze(dim)
    pos_logit = logits.gather(dim, pos)
    if weights != "none":
        assert beta is not None
        scaled = metric / beta
        log_gamma_pos = -scaled.gather(dim, pos)
        if weights == "exact":
            log_neg = torch.log(-torch.expm1(-scaled))  # log(1 - Γ); -inf where D = 0
        else:
            log_neg = torch.log(1.0 - torch.exp(-scaled) + OFFICIAL_COUPLING_EPS)
        logits = logits + log_neg.scatter(dim, pos, log_gamma_pos)
        pos_logit = pos_logit + log_gamma_pos
    per_anchor = torch.logsumexp(logits, dim=dim) - pos_logit.squeeze(dim)
    return per_anchor.mean(dim=-1)


def cme_loss(
    similarity: torch.Tensor,
    metric: torch.Tensor,
    *,
    temperature: float,
    beta: float | None = None,
    variant: Variant = "paper",
    coupling_weights: bool = False,
    directions: Directions = "both",
    validate: bool = True,
) -> torch.Tensor:
    r"""Contrastive metric embedding loss (paper Eq. 4, or the official code's variant).

    ``variant="paper"`` (column anchors ``j``, candidates ``i``, ``p(j) = argmin_i D[i, j]``,
    ``Γ = exp(-D/β)``, logits ``L = S/τ``)::

        ℓ_j = -log( Γ[p, j] e^{L[p, j]} / (Γ[p, j] e^{L[p, j]} + Σ_{i≠p} (1-Γ[i, j]) e^{L[i, j]}) )
        loss = mean_j ℓ_j

    ``variant="official"`` (``p(i) = argmin_j D[i, j]``, ``q(j) = argmin_i D[i, j]``)::

        loss = mean_i [logsumexp_j L[i, j] - L[i, p(i)]]
             + mean_j [logsumexp_i L[i, j] - L[q(j), j]]

    with, if ``coupling_weights``, ``L ← L + W`` per direction, ``W = -D/β`` at that
    direction's positives and ``log(1 - Γ + 1e-9)`` elsewhere. ``directions="rows"`` keeps
    only the first (row-anchor) term: what the official DCS code's ``contrastive_loss`` runs
    (spec dcs §3, always with coupling weights), where the rows are a sample of one episode
    and the columns all states of the other. See the module docstring for
    the paper/code differences and which presets use which.

    Limits: β → ∞ makes Γ → 1, so the paper variant's negatives vanish and its loss → 0;
    β → 0 with ``D`` = 0 at the positive and > 0 elsewhere turns it into the unweighted
    column-anchor InfoNCE (non-positives with ``D`` = 0, i.e. ties, stay masked).

    Args:
        similarity: raw similarity ``(..., n, m)`` (e.g. :func:`cosine_similarity_matrix`),
            **not** divided by the temperature.
        metric: distances ``(..., n, m)``, ≥ 0 (e.g. PSM); leading dims broadcast with
            ``similarity``. Detached: treated as a constant.
        temperature: τ > 0; logits are ``similarity / τ``.
        beta: β > 0 of ``Γ = exp(-D/β)``; required by ``"paper"`` and by
            ``coupling_weights=True``; otherwise ignored (but still checked if given).
        variant: ``"paper"`` or ``"official"``.
        coupling_weights: ``--use_coupling_weights``; only with ``variant="official"``.
        directions: ``"both"`` (the jumping code's sum) or ``"rows"`` (row anchors only);
            only with ``variant="official"``.
        validate: check ``similarity`` and ``metric`` for NaN/inf and ``metric`` for negative
            entries. Each check is a device sync: hot training loops pass ``False`` and check
            the loss value every N steps instead. Shape, temperature and β checks are free
            and always done.

    Returns:
        The loss per leading batch index, shape ``(...)`` (0-d for 2-D inputs), in the dtype of
        ``similarity``.
    """
    check_tensor("similarity", similarity, min_dim=2)
    check_tensor("metric", metric, min_dim=2)
    if similarity.shape[-2:] != metric.shape[-2:]:
        raise ValueError(
            f"similarity {tuple(similarity.shape)} and metric {tuple(metric.shape)} must have "
            "the same last two dimensions (n, m)"
        )
    batch = broadcast_leading("similarity", similarity, "metric", metric, trailing=2)
    if variant not in ("paper", "official"):
        raise ValueError(f"variant must be 'paper' or 'official', got {variant!r}")
    if variant == "paper" and coupling_weights:
        raise ValueError(
            "coupling_weights applies to variant='official' only; the paper variant always "
            "weights by Γ = exp(-D/β)"
        )
    if directions not in ("both", "rows"):
        raise ValueError(f"directions must be 'both' or 'rows', got {directions!r}")
    if variant == "paper" and directions != "both":
        raise ValueError("directions applies to variant='official' only")
    tau = check_positive("temperature", temperature)
    needs_beta = variant == "paper" or coupling_weights
    if beta is None:
        if needs_beta:
            raise ValueError(f"beta is required for variant={variant!r} with Γ weights")
    else:
        beta = check_positive("beta", beta)
    if validate:
        check_finite("similarity", similarity)
        check_finite("metric", metric)
        if bool((metric < 0).any()):
            raise ValueError("metric has negative entries; a distance must be >= 0")

    shape = (*batch, *similarity.shape[-2:])
    logits = (similarity / tau).expand(shape)
    d = metric.detach().to(similarity.dtype).expand(shape)
    if variant == "paper":
        return _direction(logits, d, -2, beta=beta, weights="exact")
    weights = "official" if coupling_weights else "none"
    rows = _direction(logits, d, -1, beta=beta, weights=weights)
    if directions == "rows":
        return rows
    cols = _direction(logits, d, -2, beta=beta, weights=weights)
    return rows + cols
