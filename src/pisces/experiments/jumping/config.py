"""Configuration of jumping-task imitation runs, and the presets of the paper's tables.

:class:`JumpingConfig` is a frozen dataclass; every field says its unit and source, and it
validates itself on construction (a bad value or an incompatible option cannot exist).
:data:`PRESETS` maps a name to a config; :func:`make_config` applies a grid and overrides.

Presets follow **Table G.3** of the paper (the Table 1 runs) and, where G.3 is silent, the
official launch command of spec §8 (README) and the official code defaults (Table G.2 for
shared values). The CME loss uses ``variant="official"`` (sum of both directions, unweighted)
in every preset: the spec directs Table 1 reproductions to follow the official launch
commands, which ran ``training_helpers.contrastive_loss`` with ``--use_coupling_weights 0``
(β = 0.01 is passed but inert). ``loss_variant="paper"`` (Eq. 4: one direction, Γ-weighted
with β) is available as an override. The stretch presets ``randconv-{psm,bisim}-{cme,l2}``
follow **Table G.5** (Table 2 ablation, wide grid, with RandConv).

The ``*-colors`` presets reproduce **Table G.1** (jumping task with red and green obstacles,
paper §5.3) with the hyperparameters of **Table G.4**; ``pse-colors`` is also the official
colored launch command of spec §8. With ``colors=True`` the run trains on the RED and GREEN
data of the 18 training tasks (2016 states, 8 steps an epoch), draws its alignment pairs from
the RED data only and evaluates both colors (spec §3.2, §4.5, §6.3, §7). They read the two RGB
frames as the official code did (``colors_input="official-5d"``, spec §9.5), the reading that
gives the paper's Table G.1 where the clean 6-channel port does not (RandConv's red and green
columns: 6.2 / 100 % over seeds 1-2 against the paper's 6.2 / 99.6, and 17.9 / 9.7 on 6
channels, seed 1: ``results/README.md``); ``--set colors_input=6-channel`` runs the clean
port. A white preset run with ``colors=True`` keeps the field's default, the 6-channel input.

Figure 5 (paper §5.4, PSEs from ε-suboptimal policies) is ``randconv-pse`` on the wide grid
with ``psm_epsilon`` in {0, 0.1, …, 0.5} (``--set psm_epsilon=…``); ``psm_epsilon_mode``
chooses how that PSM is computed (:mod:`pisces.experiments.jumping.epsilon_psm`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pisces.experiments.configs import check_finite

if TYPE_CHECKING:
    from pisces.agents.imitation import ImitationSettings
    from pisces.losses import AlignmentSpec

GRIDS = ("wide", "narrow", "random")
#: readings of "PSM of ε-suboptimal policies" (paper §5.4, Fig. 5); the first is the default.
#: See :mod:`pisces.experiments.jumping.epsilon_psm` for each one and the choice.
PSM_EPSILON_MODES = ("exact", "tv", "sampled")
#: ε = 0.5 is the uniform random policy, the end of Figure 5's range.
MAX_PSM_EPSILON = 0.5
#: how RandConv treats the RGB frames of the colored task (see ``JumpingConfig.rand_conv_rgb``).
RAND_CONV_RGB = ("mix", "per-channel")
#: how the colored task's two RGB frames reach the network (see ``JumpingConfig.colors_input``).
COLORS_INPUTS = ("6-channel", "official-5d")
#: config fields that are not part of a result's identity: when a run reports, and whether it
#: flushes subnormals (its bits, not its numbers beyond rounding). A folder's "same
#: configuration" check and the report's "differs from the preset" labels ignore them; a
#: mid-run checkpoint is resumed only by the exact same config, these fields included.
EXECUTION_FIELDS = ("eval_every", "log_every", "flush_denormal")


@dataclass(frozen=True)
class JumpingConfig:
    """One jumping-task imitation run (one seed). Units in brackets."""

    preset: str = "custom"
    """Name of the preset this config came from (recorded in results)."""
    source: str = ""
    """Where the hyperparameters come from (paper table / launch command)."""
    grid: Literal["wide", "narrow", "random"] = "wide"
    """Training grid (spec §2): 18 tasks; ``random`` draws them from the run seed."""
    epochs: int = 2000
    """Training epochs; one epoch = ``len(train states) // batch_size + 1`` steps (4 for the
    white task's 1008 states, 8 for the colored task's 2016)."""
    batch_size: int = 256
    """Imitation (cross-entropy) batch [samples], class-balanced 50/50 JUMP/RIGHT per sample."""
    learning_rate: float = 1e-2
    """Adam initial learning rate (official default 1e-2; presets set Table G.3's value)."""
    lr_decay: float = 0.999
    """Multiplicative learning-rate decay applied after every epoch (Table G.2)."""
    adam_eps: float = 1e-7
    """Adam ε (Keras default)."""
    l2_reg: float = 0.0
    """Coefficient of ``mean_v sum(v²)/2`` over all trainable tensors, biases included (§6.1)."""
    dropout: float = 0.0
    """Dropout rate on the 256-d representation before the policy layer (training only)."""
    rand_conv: bool = False
    """RandConv augmentation on the input, in training and at evaluation (§6.6)."""
    rand_conv_rgb: Literal["mix", "per-channel"] = "mix"
    """RandConv on the colored task's 6-channel input (two RGB frames; ignored otherwise).
    ``mix``: one random 2×2 kernel mapping 3 → 3 channels (fan 12), shared by both frames, as
    Lee et al. 2020's RandConv on RGB images: it re-colors the obstacle, which is what paper
    Fig. G.6 shows ("RandConv forces the agent to ignore color"). ``per-channel``: the official
    layer (one output channel, 2×2, fan 4) applied to each of the 6 channels separately, which
    never mixes colors. The official code fed a 5-D (B, 60, 60, 3, 2) tensor instead, whose
    2×2 kernel then spans (column, color) and also mixes neighbouring colors (spec §9.5)."""
    colors_input: Literal["6-channel", "official-5d"] = "6-channel"
    """How the colored task's two RGB frames enter the network (ignored for the white task).
    ``6-channel``: one (60, 60, 6) image, the clean port of spec §9.5. ``official-5d``: what the
    official code computes on its (60, 60, 3, 2) stack (spec §9.5): Keras' Conv2D takes the row
    as an extra batch axis and convolves each row over (column, color) with the 2 frames as
    channels, into a 30720-wide Dense layer; its RandConv's 2×2 kernel then spans (column,
    color) (:class:`~pisces.networks.jumping.Official5DEncoder`); ``rand_conv_rgb`` does not
    apply to it. The ``*-colors`` presets take ``official-5d`` (from session 19: it reproduces
    Table G.1, the 6-channel port does not); the default stays ``6-channel``, which every
    record written before the field existed ran."""
    rand_conv_p_identity: float = 0.1
    """Probability that one RandConv call is the identity (per call, not per sample)."""
    eval_mc_passes: int = 5
    """Softmax passes averaged at evaluation when ``rand_conv`` (1 pass otherwise)."""
    alpha: float = 0.0
    """Weight of the alignment (metric-embedding) loss; 0 disables it and its forward pass."""
    metric: Literal["psm", "bisim"] = "psm"
    """Metric between training trajectories: PSM (0/1 action cost) or π*-bisimulation."""
    embedding: Literal["cme", "l2"] = "cme"
    """Alignment loss: contrastive (on the 64-d projection) or ℓ2 (on the 256-d layer)."""
    temperature: float = 1.0
    """CME temperature τ (the paper's 1/λ); logits are cosine similarity / τ."""
    beta: float = 0.01
    """Soft-coupling scale β of Γ = exp(-D/β) (Table G.2); inert for official, unweighted."""
    loss_variant: Literal["official", "paper"] = "official"
    """CME variant: ``official`` = sum of both directions (the code that made Table 1),
    ``paper`` = Eq. 4 (one direction, Γ-weighted)."""
    coupling_weights: bool = False
    """Official ``--use_coupling_weights`` (only with ``loss_variant="official"``)."""
    gamma: float = 0.999
    """Metric discount γ (hard-coded 0.999 in the official ``train_step``)."""
    exit_bonus: float = 100.0
    """Exit reward bonus used only by the π*-bisimulation metric (ENV-G: 100, ENV-M: 1)."""
    no_validation: bool = True
    """Empty validation split, as every official launch command (``--no_validation``)."""
    eval_every: int = 200
    """Evaluate on all 286 tasks every this many epochs [epochs]; 0 = final epoch only.
    The final epoch is always evaluated."""
    log_every: int = 40
    """Reduce the loss metrics to the host every this many steps [steps]."""
    amp_bf16: bool = False
    """bfloat16 autocast for the forward passes (presets: fp32)."""
    flush_denormal: bool = False
    """Flush subnormal floats to zero on the CPU for the whole run (``torch.set_flush_denormal``;
    the calling thread, i.e. all of a ``--threads 1`` run). A run whose only loss is a
    cross-entropy that reaches ~0 (``dropout-l2``) decays weights and Adam moments into the
    subnormal range, which Intel cores compute several times slower
    (``benchmarks/results/jumping_denormals.md``: 4.5x an epoch); TensorFlow, the official
    code's framework, flushes them by default. It changes a run's bits, not its science (a
    subnormal is < 1.2e-38), so it is an execution field: not part of a cell's label, stamped
    in each record's ``precision``. Off by default: records older than the field ran without."""
    psm_epsilon: float = 0.0
    """ε of the ε-suboptimal policies whose PSM picks the alignment positives (paper §5.4,
    Figure 5): the optimal action with probability 1 − ε, the other one with probability ε.
    0 = the optimal policy (Table 1; the metric is then exactly the one without this field),
    0.5 = the uniform random policy. Range [0, 0.5], the paper's: beyond 0.5 the
    "suboptimal" action would become the greedy one (and ``"sampled"`` at ε and 1 − ε give
    the same PSMs in distribution: flipping every label leaves the 0/1 cost unchanged). The
    imitation (CE) labels stay optimal for every ε, as in the paper. Needs ``metric="psm"``
    and ``alpha > 0``."""
    psm_epsilon_mode: Literal["exact", "tv", "sampled"] = "exact"
    """How the PSM of the ε-policies is computed (ignored at ``psm_epsilon = 0``):
    ``exact`` = Prop. D.3's PSM of the stochastic ε-policies on each task's tabular MDP
    (TV + γ·W1 over the two-point next-state distributions), on the optimal-trajectory
    states; ``tv`` = TV between the ε-policies' action distributions along the stored
    optimal trajectories (= |1 − 2ε| · d*); ``sampled`` = one per-run draw of ε-labels on
    the optimal states in the official 0/1 cost. The paper's code for Figure 5 is not
    public; ``exact`` is the default because it is the metric §5.4 reasons with (Prop. D.3)
    and, like ``tv``, keeps Figure 5's shape (flat to 0.4, collapse at 0.5), which
    ``sampled`` does not (:mod:`pisces.experiments.jumping.epsilon_psm`)."""
    colors: bool = False
    """Colored obstacles (Table G.1, official ``--use_colors``): train on RED + GREEN optimal
    data of the training tasks (GREEN labels are all RIGHT), 6-channel inputs, alignment pairs
    and their PSM from the RED trajectories only, evaluation of both colors on all 286 tasks
    (GREEN: solved iff no JUMP at indices 0 … p−5)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> JumpingConfig:
        """Raise ``ValueError`` naming every incompatible, non-finite or out-of-range option
        (called on construction; returns ``self``)."""
        floats = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        errors: list[str] = check_finite(
            **{k: v for k, v in floats.items() if isinstance(v, float) and not isinstance(v, bool)}
        )
        if self.grid not in GRIDS:
            errors.append(f"grid must be one of {GRIDS}, got {self.grid!r}")
        for name in ("epochs", "batch_size", "eval_mc_passes", "log_every"):
            if int(getattr(self, name)) < 1:
                errors.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_every < 0:
            errors.append(f"eval_every must be >= 0, got {self.eval_every}")
        for name in ("learning_rate", "temperature", "beta", "adam_eps"):
            if not getattr(self, name) > 0:
                errors.append(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.lr_decay <= 1:
            errors.append(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not 0 <= self.dropout < 1:
            errors.append(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.rand_conv_p_identity <= 1:
            errors.append(
                f"rand_conv_p_identity must be in [0, 1], got {self.rand_conv_p_identity}"
            )
        if not 0 <= self.gamma < 1:
            errors.append(f"gamma must be in [0, 1), got {self.gamma}")
        if self.alpha < 0 or self.l2_reg < 0:
            errors.append("alpha and l2_reg must be >= 0")
        if self.metric not in ("psm", "bisim"):
            errors.append(f"metric must be 'psm' or 'bisim', got {self.metric!r}")
        if self.embedding not in ("cme", "l2"):
            errors.append(f"embedding must be 'cme' or 'l2', got {self.embedding!r}")
        if self.loss_variant not in ("official", "paper"):
            errors.append(f"loss_variant must be 'official' or 'paper', got {self.loss_variant!r}")
        if self.coupling_weights and self.loss_variant != "official":
            errors.append("coupling_weights applies to loss_variant='official' only")
        if self.coupling_weights and self.embedding != "cme":
            errors.append("coupling_weights applies to the CME loss only (embedding='cme')")
        if self.rand_conv_rgb not in RAND_CONV_RGB:
            errors.append(
                f"rand_conv_rgb must be one of {RAND_CONV_RGB}, got {self.rand_conv_rgb!r}"
            )
        elif self.rand_conv_rgb != "mix" and not (self.colors and self.rand_conv):
            errors.append(
                f"rand_conv_rgb={self.rand_conv_rgb!r} applies to colors=True with rand_conv=True "
                "only (the white task has one channel per frame)"
            )
        if self.colors_input not in COLORS_INPUTS:
            errors.append(f"colors_input must be one of {COLORS_INPUTS}, got {self.colors_input!r}")
        elif self.colors_input != "6-channel":
            if not self.colors:
                errors.append(
                    f"colors_input={self.colors_input!r} applies to colors=True only (the white "
                    "task's input is one (60, 60, 2) image)"
                )
            if self.rand_conv_rgb != "mix":
                errors.append(
                    f"rand_conv_rgb={self.rand_conv_rgb!r} does not apply to colors_input="
                    f"{self.colors_input!r}, whose RandConv kernel spans (column, color)"
                )
        eps = self.psm_epsilon
        if not (isinstance(eps, int | float) and 0.0 <= eps <= MAX_PSM_EPSILON):
            errors.append(
                f"psm_epsilon must be in [0, {MAX_PSM_EPSILON}] (0 = optimal policy, 0.5 = "
                f"uniform random: paper §5.4), got {eps!r}"
            )
        elif eps > 0 and (self.metric != "psm" or self.alpha <= 0):
            errors.append(
                "psm_epsilon > 0 changes the PSM of the alignment loss: it needs metric='psm' "
                f"and alpha > 0 (got metric={self.metric!r}, alpha={self.alpha})"
            )
        if self.psm_epsilon_mode not in PSM_EPSILON_MODES:
            errors.append(
                f"psm_epsilon_mode must be one of {PSM_EPSILON_MODES}, "
                f"got {self.psm_epsilon_mode!r}"
            )
        if self.preset.endswith("-colors") and not self.colors:
            errors.append(
                f"preset {self.preset!r} is a colored-obstacle preset; it needs colors=True "
                f"(use preset {self.preset.removesuffix('-colors')!r} for the white task)"
            )
        if errors:
            raise ValueError("invalid JumpingConfig: " + "; ".join(errors))
        return self

    def replace(self, **changes: Any) -> JumpingConfig:
        """A validated copy with ``changes``; unknown field names are an error."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown JumpingConfig field(s): {unknown}")
        return dataclasses.replace(self, **changes).validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def imitation_settings(self) -> ImitationSettings:
        """The imitation learner's hyperparameters (:mod:`pisces.agents.imitation`)."""
        from pisces.agents.imitation import ImitationSettings

        return ImitationSettings(
            batch_size=self.batch_size,
            l2_reg=self.l2_reg,
            dropout=self.dropout,
            rand_conv=self.rand_conv,
            rand_conv_channels=self.rand_conv_channels,
            rand_conv_p_identity=self.rand_conv_p_identity,
            project=self.embedding == "cme",
            amp_bf16=self.amp_bf16,
        )

    def alignment_spec(self) -> AlignmentSpec:
        """The alignment loss of the hook (:func:`pisces.losses.alignment_loss`)."""
        from pisces.losses import AlignmentSpec

        return AlignmentSpec(
            kind=self.embedding,  # type: ignore[arg-type]
            temperature=self.temperature,
            beta=self.beta,
            variant=self.loss_variant,  # type: ignore[arg-type]
            coupling_weights=self.coupling_weights,
        )

    @property
    def rand_conv_channels(self) -> int:
        """Channels per frame that one RandConv kernel maps (3 for ``colors`` with ``mix``;
        1 for ``official-5d``, whose 1 → 1 kernel slides over the colors)."""
        mix = self.colors and self.rand_conv_rgb == "mix" and self.colors_input == "6-channel"
        return 3 if mix else 1

    @property
    def network_layout(self) -> str:
        """The network's input layout (:data:`pisces.networks.jumping.LAYOUTS`)."""
        return "official-5d" if self.colors_input == "official-5d" else "image"


_G3 = "paper Table G.3 (Table 1 runs)"
_README = "official README launch command (spec §8)"
_G4 = "paper Table G.4 (Table G.1 runs, colored obstacles)"
_README_COLORS = "the official colored launch command (spec §8, --use_colors)"
#: Evaluation intervals [epochs], chosen so evaluation adds at most 5 % to a run (issue 13;
#: before session 4 the bound was 10 %: intervals 100 / 200 / 20 / 25 and 200 / 500 / 40 / 40).
#: Idle-machine timings (benchmarks/results/bench_jumping_train.md, one thread): an evaluation
#: costs 5.9 s with RandConv (5 passes) and 0.85 s without; 8000 steps cost 1480 s
#: (randconv-pse), 1360 s (pse) and 936 s (randconv, dropout-l2). Evaluation time relative to
#: the steps' time: randconv-pse 10 x 5.9 s = 4.0 %, randconv 5 x 6.0 s = 3.2 %,
#: pse 50 x 0.84 s = 3.1 %, dropout-l2 40 x 0.85 s = 3.6 %.
#: Evaluation draws from its own seeded stream, so the interval never changes training or the
#: final result (``eval_every`` is an execution field: resume and the report ignore it).
_EVAL_RANDCONV_PSE = 200
_EVAL_RANDCONV = 400
_EVAL_PSE = 40
_EVAL_DROPOUT = 50
#: Colored task: 8 steps an epoch (16000 a run) and 5577 red + 8151 green states evaluated.
#: Timed with one thread under ``nice -n 10`` while two training processes held both cores
#: (``JumpingTrainer(make_config(preset), 0)``: a warm-up epoch, then 2 timed epochs; a
#: warm-up evaluation, then 1 timed); CPU seconds, which for the white references matched
#: the idle wall times above (randconv-pse 0.187 s/step, 5.1 s/evaluation; dropout-l2 0.119 s,
#: 0.89 s). Step / evaluation: randconv-pse-colors 0.347 s / 42.9 s, randconv-colors
#: 0.206 s / 40.6 s, pse-colors 0.238 s / 4.4 s, dropout-l2-colors 0.140 s / 3.3 s.
#: Evaluation relative to the steps' time: randconv-pse-colors 5 x 42.9 s = 3.9 %,
#: randconv-colors 4 x 40.6 s = 4.9 %, pse-colors 20 x 4.4 s = 2.3 %, dropout-l2-colors
#: 20 x 3.3 s = 2.9 % (those were 6-channel steps; on the presets' 5-D input, full bf16 runs
#: measured 1.0-2.8 %: ``benchmarks/results/jumping_runs.md``).
_EVAL_RANDCONV_PSE_COLORS = 400
_EVAL_RANDCONV_COLORS = 500
_EVAL_PSE_COLORS = 100
_EVAL_DROPOUT_COLORS = 100


PRESETS: dict[str, JumpingConfig] = {
    "dropout-l2": JumpingConfig(
        preset="dropout-l2",
        source=f"{_G3}: lr 4e-3, l2 4.3e-4, dropout 0.3",
        learning_rate=4e-3,
        l2_reg=4.3e-4,
        dropout=0.3,
        eval_every=_EVAL_DROPOUT,
    ),
    "pse": JumpingConfig(
        preset="pse",
        source=f"{_G3}: lr 3.2e-3, l2 1e-5, temperature 1.0, alpha 10; beta 0.01 (G.2); "
        "CME official variant (README commands)",
        learning_rate=3.2e-3,
        l2_reg=1e-5,
        temperature=1.0,
        alpha=10.0,
        eval_every=_EVAL_PSE,
    ),
    "randconv": JumpingConfig(
        preset="randconv",
        source=f"{_G3}: lr 7e-3, RandConv",
        learning_rate=7e-3,
        rand_conv=True,
        eval_every=_EVAL_RANDCONV,
    ),
    "randconv-pse": JumpingConfig(
        preset="randconv-pse",
        source=f"{_G3} and {_README}: lr 2.6e-3, temperature 0.5, alpha 5, "
        "soft_coupling_temperature 0.01 (inert: no --use_coupling_weights), RandConv",
        learning_rate=2.6e-3,
        temperature=0.5,
        alpha=5.0,
        rand_conv=True,
        eval_every=_EVAL_RANDCONV_PSE,
    ),
    # Table 2 ablation (Table G.5), wide grid, with RandConv.
    "randconv-psm-cme": JumpingConfig(
        preset="randconv-psm-cme",
        source="paper Table G.5: PSM + CMEs: lr 4e-3, temperature 1.0, alpha 5",
        learning_rate=4e-3,
        temperature=1.0,
        alpha=5.0,
        rand_conv=True,
        eval_every=_EVAL_RANDCONV_PSE,
    ),
    "randconv-psm-l2": JumpingConfig(
        preset="randconv-psm-l2",
        source="paper Table G.5: PSM + l2-embeddings: lr 5e-4, alpha 0.1",
        learning_rate=5e-4,
        alpha=0.1,
        embedding="l2",
        rand_conv=True,
        eval_every=_EVAL_RANDCONV_PSE,
    ),
    "randconv-bisim-cme": JumpingConfig(
        preset="randconv-bisim-cme",
        source="paper Table G.5: pi*-bisim + CMEs: lr 4.7e-4, temperature 0.5, alpha 0.1",
        learning_rate=4.7e-4,
        temperature=0.5,
        alpha=0.1,
        metric="bisim",
        rand_conv=True,
        eval_every=_EVAL_RANDCONV_PSE,
    ),
    "randconv-bisim-l2": JumpingConfig(
        preset="randconv-bisim-l2",
        source="paper Table G.5: pi*-bisim + l2-embeddings: lr 1e-4, alpha 1e-6",
        learning_rate=1e-4,
        alpha=1e-6,
        metric="bisim",
        embedding="l2",
        rand_conv=True,
        eval_every=_EVAL_RANDCONV_PSE,
    ),
    # Table G.1 (jumping task with colored obstacles, wide grid): Table G.4 hyperparameters.
    "dropout-l2-colors": JumpingConfig(
        preset="dropout-l2-colors",
        source=f"{_G4}: lr 4e-3, l2 4.3e-4, dropout 0.3; colors",
        learning_rate=4e-3,
        l2_reg=4.3e-4,
        dropout=0.3,
        colors=True,
        colors_input="official-5d",
        eval_every=_EVAL_DROPOUT_COLORS,
    ),
    "pse-colors": JumpingConfig(
        preset="pse-colors",
        source=f"{_G4} and {_README_COLORS}: lr 6e-3, l2 7e-5, temperature 0.5, alpha 5, "
        "soft_coupling_temperature 0.01 (inert: no --use_coupling_weights), no RandConv; colors",
        learning_rate=6e-3,
        l2_reg=7e-5,
        temperature=0.5,
        alpha=5.0,
        colors=True,
        colors_input="official-5d",
        eval_every=_EVAL_PSE_COLORS,
    ),
    "randconv-colors": JumpingConfig(
        preset="randconv-colors",
        source=f"{_G4}: lr 5e-3, RandConv; colors",
        learning_rate=5e-3,
        rand_conv=True,
        colors=True,
        colors_input="official-5d",
        eval_every=_EVAL_RANDCONV_COLORS,
    ),
    "randconv-pse-colors": JumpingConfig(
        preset="randconv-pse-colors",
        source=f"{_G4}: lr 2.6e-3, temperature 0.5, alpha 5, RandConv; colors",
        learning_rate=2.6e-3,
        temperature=0.5,
        alpha=5.0,
        rand_conv=True,
        colors=True,
        colors_input="official-5d",
        eval_every=_EVAL_RANDCONV_PSE_COLORS,
    ),
}


def make_config(preset: str, grid: str = "wide", **overrides: Any) -> JumpingConfig:
    """The named preset on ``grid`` with ``overrides`` (field names of :class:`JumpingConfig`).

    Raises ``ValueError`` for an unknown preset, grid or field, or an invalid combination.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; choose from {list(GRIDS)}")
    return PRESETS[preset].replace(grid=grid, **overrides)


def load_config_file(path: str | Path) -> JumpingConfig:
    """A config from a file (``pisces jumping train --config FILE``): ``best.toml`` of
    ``pisces tune``, any flat TOML table of fields (those left out come from its ``preset``),
    or a per-seed JSON record. :func:`pisces.experiments.configs.load_config_file` does the
    work; ``UsageError`` names the file and the field."""
    from pisces.experiments.configs import load_config_file as load

    return load(path, JumpingConfig, PRESETS)
