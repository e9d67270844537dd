r"""The DCS run configuration (:class:`DMCConfig`) and its presets, each naming its source.

One flat frozen dataclass, validated on construction, from which ``pisces dmc train`` derives a
flag per field (``--batch-size``, ``--pse-every``, ``--no-distraction``, ...) and ``--set``;
the agent's :class:`~pisces.agents.sac_drq.SACDrQConfig` and the PSE step's
:class:`~pisces.agents.pse_dmc.PSEConfig` are built from it (:meth:`DMCConfig.agent_config`,
:meth:`DMCConfig.pse_config`). DrQ and DrQ + PSEs presets of one scale share every field but
``method`` (the PSE step runs only for ``method = "drq-pse"``; its fields are ignored
otherwise).

Presets (:data:`PRESETS`):

* ``drq``, ``drq-pse``: the paper (Section 6.2, Appendix I, Tables I.1–I.3; spec dcs §2–§3):
  batch 256 (the spec; Table I.2 says 512 for DrQ), K = M = 2, fp32, Adam 1e-3, γ 0.99,
  α₀ 0.1, τ 0.01, actor and target every 2 updates, replay 100k, 1000 seed steps, one
  update per agent step, 500k env steps; PSE: α 1, temperature 0.1, β 0.1, 128 rows, a PSE
  step after every update; evaluation: 100 episodes on the 30 test videos (cycled) — for a
  GPU: ~9 s an update here (8–10 days a cartpole run, ``bench_dmc_update.md``).
* ``drq-cpu``, ``drq-pse-cpu``: what fits this 2-core CPU. Every deviation and the
  measurement behind it is in :data:`CPU_DEVIATIONS` (and ``results/dcs/README.md``).

Units: env steps are dm_control steps (agent steps × action repeat, the x axis of the
paper's curves); ``seed_steps`` counts agent steps (DrQ's ``num_seed_steps``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from pisces.envs.dmc.tasks import EPISODE_ENV_STEPS, TASKS, check_task

Method = Literal["drq", "drq-pse"]
#: fields that change how a run executes or reports, not what it trains (resume ignores
#: them: a folder may mix them): convolution layout/chunking (rounding only) and the
#: evaluation interval (evaluations draw from their own seeds).
EXECUTION_FIELDS = ("channels_last", "encoder_chunk", "eval_every")
#: fields that are not flags of ``pisces dmc train`` (the preset and its own arguments).
NOT_FLAGS = ("preset", "source", "method", "domain", "task")
#: test videos (spec dcs §1): evaluation episode i runs on test video i mod 30.
NUM_TEST_VIDEOS = 30


def _check_int(name: str, v: Any, low: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{name} must be an int >= {low}, got {v!r}")


@dataclass(frozen=True)
class DMCConfig:
    """One SAC + DrQ (+ PSEs) run on a Distracting Control task (validated on creation)."""

    preset: str = "drq"
    """Name of the preset this config came from (records, reports)."""
    source: str = "paper Section 6.2, Appendix I; spec dcs §2-§3"
    """Where the preset's values come from."""
    method: Method = "drq"
    """"drq" (SAC + DrQ) or "drq-pse" (+ the PSE step after each update, spec dcs §3)."""
    domain: str = "cartpole"
    """DM Control domain (one of the six tasks of Table 3)."""
    task: str = "swingup"
    """DM Control task of the domain."""
    distraction: bool = True
    """Train on the 2 training videos and evaluate on the 30 test videos; False: dm_control's
    own background everywhere (the sanity check against DrQ's published scores)."""
    env_steps: int = 500_000
    """Training budget in env steps, a multiple of 1000 (whole episodes; paper 500k)."""
    seed_steps: int = 1000
    """Agent steps of uniform random actions before the first update (Table I.2: 1000)."""
    replay_capacity: int = 100_000
    """Replay capacity in transitions (Table I.2: 100k)."""
    update_every: int = 1
    """Agent steps between agent updates (paper: 1, one update per agent step)."""
    batch_size: int = 256
    """Transitions per update (spec dcs §2: 256; Table I.2 says 512 for DrQ)."""
    num_loss_augs: int = 2
    """M, augmented copies of s in the critic loss (DrQ: 2)."""
    num_target_augs: int = 2
    """K, augmented copies of s' in the TD target (DrQ: 2)."""
    image_pad: int = 4
    """Random-shift padding in pixels (DrQ: 4)."""
    num_filters: int = 32
    """Filters per conv layer (DrQ: 32)."""
    feature_dim: int = 50
    """Width of the Dense + LayerNorm + tanh trunks (DrQ: 50)."""
    hidden_dim: int = 1024
    """Width of the actor and critic MLPs (paper App. I.1: 1024)."""
    discount: float = 0.99
    """γ (Table I.2)."""
    init_temperature: float = 0.1
    """Initial SAC temperature α (Table I.2: 0.1)."""
    lr: float = 1e-3
    """Adam learning rate of critic (with the convolutions), actor and log α (Table I.2)."""
    critic_tau: float = 0.01
    """τ of the soft target update (Table I.2)."""
    target_update_every: int = 2
    """Updates between soft target updates (Table I.2)."""
    actor_update_every: int = 2
    """Updates between actor and α updates (Table I.2)."""
    log_std_min: float = -10.0
    """Lower bound of the actor's log σ (Table I.2)."""
    log_std_max: float = 2.0
    """Upper bound of the actor's log σ (Table I.2)."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """Autocast precision of the network forwards (bf16 is ~25x slower on this AVX2 CPU)."""
    channels_last: bool = False
    """Run the convolutions in channels-last memory format (same math, other rounding)."""
    encoder_chunk: int = 0
    """Run the convolutions this many samples at a time (0: the whole batch)."""
    pse_weight: float = 1.0
    """α of the PSE loss (Table I.1: 1.0)."""
    pse_temperature: float = 0.1
    """Contrastive temperature 1/λ (Table I.1: 0.1)."""
    pse_beta: float = 0.1
    """Γ-scale (soft coupling temperature) β (Table I.1: 0.1)."""
    pse_num_rows: int = 128
    """Sampled states of the first episode of a pair (Table I.1: 128; min(128, T))."""
    pse_gamma: float = 0.99
    """Discount of the PSM (spec dcs §3)."""
    pse_lr: float = 1e-3
    """Adam learning rate of the PSE step (spec dcs §3)."""
    pse_projection_dim: int = 256
    """Width of the PSE embedding projection (paper App. I.3: 256)."""
    pse_every: int = 1
    """Agent updates between PSE steps (paper: 1, a PSE step after every update)."""
    eval_every: int = 50_000
    """Env steps between evaluations, a multiple of 1000 (0: only at the end)."""
    eval_episodes: int = 100
    """Greedy episodes per evaluation on the test videos, episode i on video i mod 30
    (paper App. I.4: 100); without distraction, on the undistracted env."""
    eval_train_episodes: int = 10
    """Greedy episodes per evaluation on the 2 training videos (alternating), for the
    generalization gap (ignored without distraction)."""

    def __post_init__(self) -> None:
        if self.method not in ("drq", "drq-pse"):
            raise ValueError(f"method must be 'drq' or 'drq-pse', got {self.method!r}")
        check_task(self.domain, self.task)
        if not isinstance(self.distraction, bool):
            raise ValueError(f"distraction must be a bool, got {self.distraction!r}")
        _check_int("env_steps", self.env_steps, EPISODE_ENV_STEPS)
        _check_int("eval_every", self.eval_every, 0)
        for name in ("env_steps", "eval_every"):
            if getattr(self, name) % EPISODE_ENV_STEPS:
                raise ValueError(
                    f"{name} must be a multiple of {EPISODE_ENV_STEPS} env steps (whole "
                    f"episodes), got {getattr(self, name)}"
                )
        for name in ("seed_steps", "replay_capacity", "update_every", "pse_every"):
            _check_int(name, getattr(self, name), 1)
        _check_int("eval_episodes", self.eval_episodes, 1)
        _check_int("eval_train_episodes", self.eval_train_episodes, 0)
        _check_int("encoder_chunk", self.encoder_chunk, 0)
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"channels_last must be a bool, got {self.channels_last!r}")
        # The agent's and the PSE step's own validation (their messages name their fields).
        self.agent_config()
        self.pse_config()

    # ------------------------------------------------------------------ derived
    @property
    def action_repeat(self) -> int:
        """The task's action repeat (Table I.3)."""
        return TASKS[f"{self.domain}-{self.task}"]

    @property
    def agent_steps(self) -> int:
        """Agent steps of the run: ``env_steps / action_repeat``."""
        return self.env_steps // self.action_repeat

    @property
    def episode_steps(self) -> int:
        """Agent steps per episode: ``1000 // action_repeat`` (cartpole: 125)."""
        return EPISODE_ENV_STEPS // self.action_repeat

    def agent_config(self) -> Any:
        """The :class:`~pisces.agents.sac_drq.SACDrQConfig` of the run (frames 3 × 84 × 84)."""
        from pisces.agents.sac_drq import SACDrQConfig

        return SACDrQConfig(
            num_filters=self.num_filters,
            feature_dim=self.feature_dim,
            hidden_dim=self.hidden_dim,
            log_std_min=self.log_std_min,
            log_std_max=self.log_std_max,
            image_pad=self.image_pad,
            num_target_augs=self.num_target_augs,
            num_loss_augs=self.num_loss_augs,
            batch_size=self.batch_size,
            discount=self.discount,
            init_temperature=self.init_temperature,
            critic_lr=self.lr,
            actor_lr=self.lr,
            alpha_lr=self.lr,
            critic_tau=self.critic_tau,
            target_update_every=self.target_update_every,
            actor_update_every=self.actor_update_every,
            precision=self.precision,
            channels_last=self.channels_last,
            encoder_chunk=self.encoder_chunk or None,
        )

    def pse_config(self) -> Any:
        """The :class:`~pisces.agents.pse_dmc.PSEConfig` of the run."""
        from pisces.agents.pse_dmc import PSEConfig

        return PSEConfig(
            weight=self.pse_weight,
            temperature=self.pse_temperature,
            beta=self.pse_beta,
            num_rows=self.pse_num_rows,
            gamma=self.pse_gamma,
            lr=self.pse_lr,
            projection_dim=self.pse_projection_dim,
            image_pad=self.image_pad,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> DMCConfig:
        return dataclasses.replace(self, **changes)


_PAPER = DMCConfig()
_CPU_CHANGES: dict[str, Any] = {
    "batch_size": 128,
    "num_loss_augs": 1,
    "num_target_augs": 1,
    "channels_last": True,
    "encoder_chunk": 64,
    "env_steps": 100_000,
    "eval_every": 20_000,
    "eval_episodes": NUM_TEST_VIDEOS,
    "eval_train_episodes": 4,
    "pse_every": 4,
}
_CPU_SOURCE = (
    "ours, for this 2-core CPU: the paper's DrQ (Section 6.2, App. I) with the deviations of "
    "pisces.experiments.dmc.config.CPU_DEVIATIONS"
)

#: preset name → config (domain and task are set by ``make_config``).
PRESETS: dict[str, DMCConfig] = {
    "drq": _PAPER.replace(preset="drq"),
    "drq-pse": _PAPER.replace(preset="drq-pse", method="drq-pse"),
    "drq-cpu": _PAPER.replace(preset="drq-cpu", source=_CPU_SOURCE, **_CPU_CHANGES),
    "drq-pse-cpu": _PAPER.replace(
        preset="drq-pse-cpu", source=_CPU_SOURCE, method="drq-pse", **_CPU_CHANGES
    ),
}

#: field → (paper value, CPU value, the measurement behind the change). Sources:
#: ``benchmarks/results/bench_dmc_update.md`` (one update / PSE step, 2 threads) and
#: ``benchmarks/results/bench_dmc_train.md`` (the whole training loop, 1 thread as ``pisces dmc
#: train`` runs, cartpole-swingup, load average ~4 on the 2 cores).
CPU_DEVIATIONS: dict[str, tuple[Any, Any, str]] = {
    "batch_size": (
        256,
        128,
        "an update at batch 256 (K = M = 2) takes 9.2 s here, at batch 128 2.2 s (x4.3; "
        "bench_dmc_update.md)",
    ),
    "num_loss_augs / num_target_augs": (
        "2 / 2",
        "1 / 1",
        "K = M = 1 (DrQ-v2's single augmentation) halves the encoder passes: 2.2 -> 1.0 s "
        "an update (x2.1); the paper preset's whole agent step is 13.7 s vs 1.68 s (x8.2, "
        "bench_dmc_train.md)",
    ),
    "channels_last / encoder_chunk": (
        "False / 0",
        "True / 64",
        "1.12 s an update with contiguous convolutions vs 1.02 s channels-last (same math, "
        "other rounding); chunks of 64 vs none: equal within noise (kept: smaller activations)",
    ),
    "precision": ("fp32", "fp32", "unchanged: bf16 is ~28x slower on this AVX2 CPU"),
    "update_every": (1, 1, "unchanged: one update per agent step"),
    "pse_every": (
        1,
        4,
        "a PSE step (128 + 125 encoded observations, cartpole) takes 1.94 s, 1.2 DrQ agent "
        "steps (1.68 s): after every update an agent step takes 3.82 s (x2.3, 13.4 h per 100k "
        "env steps), after every 4th 2.21 s (+32 %, 7.8 h); bench_dmc_train.md",
    ),
    "env_steps": (
        500_000,
        100_000,
        "DrQ's own curve reaches 759 on cartpole-swingup at 100k env steps; a 100k drq-cpu run "
        "is 12.5k updates, ~6.0 h a seed here, 500k would be ~30 h (bench_dmc_train.md)",
    ),
    "eval_episodes / eval_train_episodes": (
        "100 / 10",
        "30 / 4",
        "one episode per test video: 3.2 s a greedy episode with rendering, so 5 evaluations "
        "of 34 episodes add ~9 min (2.5 %) to a 100k run",
    ),
    "eval_every": (50_000, 20_000, "5 points on the curve at 100k env steps"),
    "teacher": (
        "pixel DrQ, 500k env steps",
        "state SAC (pisces dmc teacher)",
        "the PSM needs only the teacher's greedy actions; a state SAC agent step (update + 8 "
        "physics steps, no rendering) takes ~25 ms: cartpole-swingup greedy return 878 after "
        "100k env steps in 5.3 min",
    ),
    "pairs": (
        "50 task seeds x 10 episodes",
        "10 task seeds x 1 episode",
        "4.4 MB a pair on disk (frames compress ~1.2x); a 100k drq-pse-cpu run takes ~2.9k "
        "PSE steps, ~290 draws of each of 10 pairs",
    ),
}


def make_config(preset: str, domain: str, task: str, **overrides: Any) -> DMCConfig:
    """The preset for one task with ``overrides`` applied (validated).

    Raises:
        ValueError: naming an unknown preset (listing the known ones), an unknown task, or a
            bad override.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset].replace(domain=domain, task=task, **overrides)
