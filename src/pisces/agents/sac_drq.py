r"""SAC + DrQ on pixels (Kostrikov et al. 2020), as the PSE paper's DCS runs used it.

Sources: spec dcs §2 (and §5, §6), paper Appendix I (Tables I.1–I.3), the DrQ reference code
and the official PSE code for the facts listed per :class:`SACDrQConfig` field. Networks are in
:mod:`pisces.networks.dmc`; augmentation in :mod:`pisces.agents.augment`; the replay ring in
:mod:`pisces.agents.replay`; the PSE step (a hook run after each update) in
:mod:`pisces.agents.pse_dmc`.

One update (:meth:`SACDrQAgent.update`, counter ``u = 0, 1, …``) on a batch
``(s, a, r, d, s')`` with ``d = 0`` only at a true termination:

* **augment**: ``M`` shifted copies ``s_m`` of ``s`` and ``K`` copies ``s'_k`` of ``s'``
  (one independent shift per sample and copy, :func:`~pisces.agents.augment.random_shift`);
* **critic** (:func:`critic_target`, :func:`update_critic`), every update::

      a'_k ~ π(·|s'_k),   y = (1/K) Σ_k [r + γ d (min_i Q̄_i(s'_k, a'_k) - α log π(a'_k|s'_k))]
      L_Q = (1/M) Σ_m Σ_{i=1,2} mean_b (Q_i(s_m, a) - y)²

  ``Q̄`` is the target network (its own copy of the convolutions and the critic trunk, as in
  DrQ); ``π`` reads the current convolutions; ``y`` is a constant. Adam on the convolutions +
  critic. (DrQ's code sums the M terms instead of averaging: the same minimiser, a constant
  factor M that Adam normalises away up to its ε.)
* **actor and temperature** (:func:`update_actor_and_alpha`), when ``u % actor_update_every
  == 0``, on the first augmented copy ``s_1`` with the *updated*, **detached** convolutions
  ``h = conv(s_1).detach()`` (the actor loss never trains them)::

      ã ~ π(·|h) (reparameterised),  L_π = mean_b [α log π(ã|h) - min_i Q_i(h, ã)]
      L_α = mean_b [α (-log π(ã|h) - H̄)],  α = exp(log α),  H̄ = -|A|

  ``α`` in ``L_π`` and ``y`` is the current value, detached. Adam on the actor (its trunk,
  MLP and head) and on ``log α`` separately; the critic is not stepped by ``L_π``.
* **after-update steps** (e.g. the PSE step), in registration order;
* **target**, when ``u % target_update_every == 0``: ``θ̄ ← τ θ + (1 - τ) θ̄`` over the
  convolutions and the critic (:func:`soft_update_`). (The official PSE code also ran its
  contrastive step before the target update.)

Every update returns a ``dict[str, Tensor]`` of named detached scalars (no host sync).
Randomness: three generators from the run seed (:func:`stream_seed`): weights (CPU), the
augmentation shifts and the policy samples of the updates (on the agent's device). ``act``
takes the caller's generator.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from pisces.agents.augment import random_shift
from pisces.agents.hooks import Metrics
from pisces.agents.replay import Transitions
from pisces.networks.dmc import (
    Actor,
    ConvEncoder,
    Critic,
    orthogonal_init_,
    tanh_gaussian_sample,
)

Precision = Literal["fp32", "bf16"]

#: seed streams of :func:`stream_seed` (one purpose each: new purposes take new numbers).
SEED_INIT, SEED_AUGMENT, SEED_POLICY, SEED_PSE_INIT, SEED_PSE_SAMPLE = range(5)


def stream_seed(seed: int, stream: int) -> int:
    """A 63-bit seed for one purpose: ``SeedSequence(seed, spawn_key=(stream,))``."""
    state = np.random.SeedSequence(int(seed), spawn_key=(int(stream),)).generate_state(
        1, dtype=np.uint64
    )
    return int(state[0]) & (2**63 - 1)


def _finite(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _int(name: str, v: Any, low: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{name} must be an int >= {low}, got {v!r}")


def _betas(name: str, v: Any) -> None:
    if not (isinstance(v, tuple) and len(v) == 2):
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {v!r}")
    for b in v:
        if not 0.0 <= _finite(name, b) < 1.0:
            raise ValueError(f"{name} entries must be in [0, 1), got {v!r}")


@dataclass(frozen=True)
class SACDrQConfig:
    """Hyperparameters of SAC + DrQ (defaults: the paper's DCS runs; validated on creation).

    Observation geometry:
        frame_stack: frames per observation, 3 (spec dcs §1, paper App. I.4).
        frame_channels: channels of one frame, 3 (RGB, spec dcs §1).
        image_size: frame side in pixels, 84 (spec dcs §1, paper App. I.4).

    Networks (spec dcs §2, paper App. I.1–I.2, DrQ):
        num_filters: filters per conv layer, 32.
        num_conv_layers: 3×3 conv layers (stride 2, then 1), 4.
        feature_dim: width of the Dense + LayerNorm + tanh trunks, 50.
        hidden_dim: width of the critic and actor MLPs (2 hidden layers), 1024.
        log_std_min, log_std_max: bounds of the actor's log σ, [-10, 2] (Table I.2).

    DrQ (spec dcs §2, paper App. I.4):
        image_pad: random-shift padding in pixels, 4 (crop back to ``image_size``).
        num_target_augs: K, augmented next observations averaged in the target, 2.
        num_loss_augs: M, augmented observations averaged in the critic loss, 2.

    SAC (spec dcs §2, Table I.2):
        batch_size: transitions per update, 256 (spec; Table I.2 says 512 for DrQ).
        discount: γ, 0.99.
        init_temperature: initial α, 0.1 (Table I.2; a DrQ port scored far lower with 1.0).
        target_entropy: H̄; ``None`` means ``-|A|`` (spec dcs §2).
        critic_lr, actor_lr, alpha_lr: Adam learning rates, 1e-3 (Table I.2).
        adam_betas: Adam (β1, β2) of critic and actor, (0.9, 0.999): DrQ's code and the
            official TF code use the defaults (``torch.optim.Adam`` / ``AdamOptimizer``).
        alpha_betas: Adam (β1, β2) of log α, (0.9, 0.999) for the same reason. (The
            (0.5, 0.999) of SAC-AE / CURL is not what DrQ ran.)
        adam_eps: Adam ε, 1e-8 (the PyTorch and TF v1 default).
        critic_tau: τ of the soft target update, 0.01 (Table I.2).
        target_update_every: updates between soft target updates, 2 (Table I.2).
        actor_update_every: updates between actor and α updates, 2 (Table I.2).

    Execution (ours; they change rounding, not the algorithm):
        precision: ``"fp32"`` or ``"bf16"`` (autocast for the conv and MLP forwards; fp32
            master weights, optimizer states and losses).
        channels_last: run the convolutions in the ``channels_last`` memory format.
        encoder_chunk: run the convolutions this many samples at a time (``None``: all).
    """

    frame_stack: int = 3
    frame_channels: int = 3
    image_size: int = 84
    num_filters: int = 32
    num_conv_layers: int = 4
    feature_dim: int = 50
    hidden_dim: int = 1024
    log_std_min: float = -10.0
    log_std_max: float = 2.0
    image_pad: int = 4
    num_target_augs: int = 2
    num_loss_augs: int = 2
    batch_size: int = 256
    discount: float = 0.99
    init_temperature: float = 0.1
    target_entropy: float | None = None
    critic_lr: float = 1e-3
    actor_lr: float = 1e-3
    alpha_lr: float = 1e-3
    adam_betas: tuple[float, float] = (0.9, 0.999)
    alpha_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    critic_tau: float = 0.01
    target_update_every: int = 2
    actor_update_every: int = 2
    precision: Precision = "fp32"
    channels_last: bool = False
    encoder_chunk: int | None = None

    def __post_init__(self) -> None:
        for name in ("frame_stack", "frame_channels", "num_filters", "num_conv_layers"):
            _int(name, getattr(self, name), 1)
        for name in ("feature_dim", "hidden_dim", "num_target_augs", "num_loss_augs"):
            _int(name, getattr(self, name), 1)
        for name in ("batch_size", "target_update_every", "actor_update_every"):
            _int(name, getattr(self, name), 1)
        _int("image_pad", self.image_pad, 0)
        _int("image_size", self.image_size, 3)
        if (self.image_size - 3) // 2 + 1 - 2 * (self.num_conv_layers - 1) < 1:
            raise ValueError(
                f"image_size: {self.image_size} px is too small for {self.num_conv_layers} "
                "conv layers"
            )
        lo, hi = _finite("log_std_min", self.log_std_min), _finite("log_std_max", self.log_std_max)
        if not lo < hi:
            raise ValueError(f"log_std_min must be < log_std_max, got {lo} >= {hi}")
        if not 0.0 <= _finite("discount", self.discount) < 1.0:
            raise ValueError(f"discount must be in [0, 1), got {self.discount}")
        if not _finite("init_temperature", self.init_temperature) > 0:
            raise ValueError(f"init_temperature must be > 0, got {self.init_temperature}")
        if self.target_entropy is not None:
            _finite("target_entropy", self.target_entropy)
        for name in ("critic_lr", "actor_lr", "alpha_lr", "adam_eps"):
            if not _finite(name, getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        _betas("adam_betas", self.adam_betas)
        _betas("alpha_betas", self.alpha_betas)
        if not 0.0 < _finite("critic_tau", self.critic_tau) <= 1.0:
            raise ValueError(f"critic_tau must be in (0, 1], got {self.critic_tau}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        if not isinstance(self.channels_last, bool):
            raise ValueError(f"channels_last must be a bool, got {self.channels_last!r}")
        if self.encoder_chunk is not None:
            _int("encoder_chunk", self.encoder_chunk, 1)

    @property
    def obs_channels(self) -> int:
        """Channels of a stacked observation, ``frame_stack · frame_channels`` (9)."""
        return self.frame_stack * self.frame_channels

    @classmethod
    def paper(cls, **overrides: Any) -> SACDrQConfig:
        """The paper's DCS DrQ (spec dcs §2, Table I.2; batch 256 as the spec): fp32, K = M = 2."""
        return cls(**overrides)

    @classmethod
    def cpu(cls, **overrides: Any) -> SACDrQConfig:
        """Our CPU preset: batch 128, K = M = 1 (DrQ-v2's single augmentation), fp32,
        channels-last convolutions in chunks of 64. A deviation from the paper (batch and
        K, M), to be reported as such.

        Measured (``benchmarks/results/bench_dmc_update.md``, 2 shared AMD EPYC cores):
        batch 256 → 128 ×1.8 and K = M = 2 → 1 ×2.0 faster per update (≈ 1.1 s vs 3.7 s for
        the paper's math, 5.5 s for it without the execution options); bf16 is ~10× slower
        than fp32 on this AVX2 CPU (no bf16 instructions), so fp32. Channels-last and chunks
        of 64 change rounding only: ×1.3 and ×1.1–1.7 at the paper's 512-observation encoder
        batches, within noise (±10 %) at this preset's 128."""
        base = {
            "batch_size": 128,
            "num_target_augs": 1,
            "num_loss_augs": 1,
            "precision": "fp32",
            "channels_last": True,
            "encoder_chunk": 64,
        }
        return cls(**{**base, **overrides})


class DrQNetworks(nn.Module):
    """All trainable state of the agent: online and target networks and ``log α``.

    Attributes:
        encoder: the shared convolutions (trained by the critic loss and the PSE step only).
        critic: twin Q with its own trunk; actor: trunk, MLP and tanh-Gaussian head.
        encoder_target, critic_target: the soft-updated copies (no gradients).
        log_alpha: 0-d parameter, ``log α``.
    """

    def __init__(self, config: SACDrQConfig, action_dim: int) -> None:
        super().__init__()
        c = config

        def encoder() -> ConvEncoder:
            return ConvEncoder(
                c.obs_channels,
                c.image_size,
                num_filters=c.num_filters,
                num_layers=c.num_conv_layers,
            )

        def critic(enc_dim: int) -> Critic:
            return Critic(enc_dim, action_dim, feature_dim=c.feature_dim, hidden_dim=c.hidden_dim)

        self.encoder = encoder()
        self.critic = critic(self.encoder.out_dim)
        self.actor = Actor(
            self.encoder.out_dim,
            action_dim,
            feature_dim=c.feature_dim,
            hidden_dim=c.hidden_dim,
            log_std_bounds=(c.log_std_min, c.log_std_max),
        )
        self.encoder_target = encoder()
        self.critic_target = critic(self.encoder.out_dim)
        self.log_alpha = nn.Parameter(torch.zeros(()))

    def online_critic_parameters(self) -> list[nn.Parameter]:
        """Convolutions + critic: what the critic loss trains (and the target tracks)."""
        return [*self.encoder.parameters(), *self.critic.parameters()]

    def target_parameters(self) -> list[nn.Parameter]:
        """Target copies, in the order of :meth:`online_critic_parameters`."""
        return [*self.encoder_target.parameters(), *self.critic_target.parameters()]


def build_networks(
    config: SACDrQConfig, action_dim: int, generator: torch.Generator, device: torch.device
) -> DrQNetworks:
    """Construct without touching the global RNG (meta device), then initialise from
    ``generator`` (:func:`orthogonal_init_`: encoder, critic, actor, in that order); targets
    are copies; ``log α = log(init_temperature)``."""
    with torch.device("meta"):
        nets = DrQNetworks(config, action_dim)
    nets.to_empty(device=device)
    for module in (nets.encoder, nets.critic, nets.actor):
        orthogonal_init_(module, generator)
    with torch.no_grad():
        nets.log_alpha.fill_(math.log(config.init_temperature))
    if config.channels_last:
        nets.encoder.set_channels_last()
        nets.encoder_target.set_channels_last()
    nets.encoder_target.load_state_dict(nets.encoder.state_dict())
    nets.critic_target.load_state_dict(nets.critic.state_dict())
    for p in nets.target_parameters():
        p.requires_grad_(False)
    return nets


def autocast(precision: Precision, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``"bf16"`` (fp32 weights; matmuls and convs in bf16), else a no-op."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def soft_update_(
    target: Iterable[torch.Tensor], source: Iterable[torch.Tensor], tau: float
) -> None:
    """``θ̄ ← θ̄ · (1 - τ) + τ · θ`` in place: two rounded products, then a rounded sum (no
    fused multiply-add, so the result is bit-identical to that expression evaluated eagerly)."""
    t = list(target)
    with torch.no_grad():
        scaled = torch._foreach_mul([p.detach() for p in source], tau)
        torch._foreach_mul_(t, 1.0 - tau)
        torch._foreach_add_(t, scaled)


def critic_target(
    nets: DrQNetworks,
    next_obs: torch.Tensor,
    reward: torch.Tensor,
    discount: torch.Tensor,
    *,
    gamma: float,
    generator: torch.Generator,
    precision: Precision = "fp32",
    chunk: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """TD target averaged over K augmentations (no gradient).

    Args:
        next_obs: (K·B, C, H, W) augmented next observations, augmentation-major (copy k is
            rows ``k·B … (k+1)·B - 1``).
        reward, discount: (B,); ``discount`` = 0 at a termination, else 1.
        gamma: γ. generator: draws ``a'_k ~ π(·|s'_k)``.

    Returns:
        ``(y, v)``: the target ``y`` (B,) and the soft values ``v`` (K, B) of the copies,
        ``v_k = min_i Q̄_i(s'_k, a'_k) - α log π(a'_k|s'_k)``, ``y = (1/K) Σ_k (r + γ d v_k)``.
    """
    b = reward.shape[0]
    with torch.no_grad():
        alpha = nets.log_alpha.exp()
        with autocast(precision, next_obs.device):
            mean, log_std = nets.actor(nets.encoder(next_obs, chunk=chunk))
        action, log_prob = tanh_gaussian_sample(mean.float(), log_std.float(), generator)
        with autocast(precision, next_obs.device):
            q1, q2 = nets.critic_target(nets.encoder_target(next_obs, chunk=chunk), action)
        v = (torch.minimum(q1.float(), q2.float()) - alpha * log_prob).view(-1, b)
        y = reward + gamma * discount * v
        return y.mean(0), v


def update_critic(
    nets: DrQNetworks,
    optimizer: torch.optim.Optimizer,
    obs: torch.Tensor,
    action: torch.Tensor,
    target: torch.Tensor,
    *,
    precision: Precision = "fp32",
    chunk: int | None = None,
) -> Metrics:
    """One Adam step on ``L_Q = (1/M) Σ_m Σ_i mean_b (Q_i(s_m, a) - y)²``.

    Args:
        obs: (M·B, C, H, W) augmented observations, augmentation-major.
        action: (B, |A|); target: (B,) the constant ``y``.
        optimizer: over :meth:`DrQNetworks.online_critic_parameters` (convs + critic).

    Returns:
        ``critic_loss``, ``q1``, ``q2`` (batch means over all copies), ``target_q`` (mean y).
    """
    m = obs.shape[0] // action.shape[0]
    params = nets.online_critic_parameters()
    with autocast(precision, obs.device):
        q1, q2 = nets.critic(nets.encoder(obs, chunk=chunk), action.repeat(m, 1))
    y = target.repeat(m)
    q1, q2 = q1.float(), q2.float()
    # (1/M) Σ_m mean_b = the mean over all M·B rows (the copies have equal sizes).
    loss = (q1 - y).square().mean() + (q2 - y).square().mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=params)
    optimizer.step()
    return {
        "critic_loss": loss.detach(),
        "q1": q1.detach().mean(),
        "q2": q2.detach().mean(),
        "target_q": target.mean(),
    }


def update_actor_and_alpha(
    nets: DrQNetworks,
    actor_optimizer: torch.optim.Optimizer,
    alpha_optimizer: torch.optim.Optimizer,
    features: torch.Tensor,
    *,
    target_entropy: float,
    generator: torch.Generator,
    precision: Precision = "fp32",
) -> Metrics:
    """One Adam step on ``L_π`` (actor) and one on ``L_α`` (log α), from the same sample.

    Args:
        features: (B, enc_dim) conv features of the first augmented observations, **detached**
            (checked: a tensor that requires grad raises ValueError).
        target_entropy: H̄ (-|A|). generator: draws the reparameterised ``ã``.

    Returns:
        ``actor_loss``, ``alpha_loss``, ``alpha`` (before this step), ``entropy``
        (``-mean log π(ã)``), ``log_std`` (mean of log σ).
    """
    if features.requires_grad:
        raise ValueError("features must be detached: the actor loss must not train the convs")
    actor_params = list(nets.actor.parameters())
    alpha = nets.log_alpha.exp()
    with autocast(precision, features.device):
        mean, log_std = nets.actor(features)
    mean, log_std = mean.float(), log_std.float()
    action, log_prob = tanh_gaussian_sample(mean, log_std, generator)
    with autocast(precision, features.device):
        q1, q2 = nets.critic(features, action)
    q = torch.minimum(q1.float(), q2.float())
    actor_loss = (alpha.detach() * log_prob - q).mean()
    actor_optimizer.zero_grad(set_to_none=True)
    actor_loss.backward(inputs=actor_params)
    actor_optimizer.step()

    alpha_loss = (alpha * (-log_prob.detach() - target_entropy)).mean()
    alpha_optimizer.zero_grad(set_to_none=True)
    alpha_loss.backward(inputs=[nets.log_alpha])
    alpha_optimizer.step()
    return {
        "actor_loss": actor_loss.detach(),
        "alpha_loss": alpha_loss.detach(),
        "alpha": alpha.detach(),
        "entropy": -log_prob.detach().mean(),
        "log_std": log_std.detach().mean(),
    }


class AfterUpdate(Protocol):
    """A step run after each agent update (e.g. :class:`pisces.agents.pse_dmc.PSEStep`)."""

    def __call__(self) -> Metrics: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class SACDrQAgent:
    """SAC + DrQ with explicit updates (see the module docstring for the equations).

    Args:
        config: :class:`SACDrQConfig`.
        action_dim: |A| (actions in [-1, 1]^|A|).
        seed: the run seed; weights, augmentation and policy draws come from
            :func:`stream_seed` streams of it, so the same seed gives the same numbers on CPU.
        device: where networks, batches and the update generators live.

    Attributes:
        nets: :class:`DrQNetworks`; critic_optimizer, actor_optimizer, alpha_optimizer: Adam;
        generators: ``{"augment", "policy"}``; num_updates: updates done so far;
        steps: after-update steps by name (:meth:`add_step`).
    """

    def __init__(
        self,
        config: SACDrQConfig,
        action_dim: int,
        *,
        seed: int,
        device: torch.device | str = "cpu",
    ) -> None:
        _int("action_dim", action_dim, 1)
        self.config = config
        self.action_dim = action_dim
        self.seed = int(seed)
        self.device = torch.device(device)
        self.target_entropy = (
            float(-action_dim) if config.target_entropy is None else config.target_entropy
        )
        init = torch.Generator().manual_seed(stream_seed(seed, SEED_INIT))
        self.nets = build_networks(config, action_dim, init, self.device)
        c = config

        def adam(params: list[nn.Parameter], lr: float, betas: tuple[float, float]):
            return torch.optim.Adam(params, lr=lr, betas=betas, eps=c.adam_eps, fused=True)

        critic_params = self.nets.online_critic_parameters()
        self.critic_optimizer = adam(critic_params, c.critic_lr, c.adam_betas)
        self.actor_optimizer = adam(list(self.nets.actor.parameters()), c.actor_lr, c.adam_betas)
        self.alpha_optimizer = adam([self.nets.log_alpha], c.alpha_lr, c.alpha_betas)
        self.generators = {
            "augment": torch.Generator(self.device).manual_seed(stream_seed(seed, SEED_AUGMENT)),
            "policy": torch.Generator(self.device).manual_seed(stream_seed(seed, SEED_POLICY)),
        }
        self.num_updates = 0
        self.steps: dict[str, AfterUpdate] = {}

    # ------------------------------------------------------------------ acting
    def autocast(self) -> contextlib.AbstractContextManager:
        """The agent's precision context (:func:`autocast`)."""
        return autocast(self.config.precision, self.device)

    @property
    def alpha(self) -> torch.Tensor:
        """Current temperature ``α = exp(log α)`` (0-d, detached)."""
        return self.nets.log_alpha.detach().exp()

    @torch.no_grad()
    def act(
        self,
        obs: torch.Tensor | np.ndarray,
        *,
        greedy: bool,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Actions for uint8 observations ``(C, H, W)`` or ``(B, C, H, W)`` (not augmented).

        ``greedy``: ``tanh(μ)``; otherwise ``tanh(μ + σ ε)`` with ε from ``generator``
        (required, on the agent's device). Returns float32 ``(|A|,)`` or ``(B, |A|)`` in
        [-1, 1], on the agent's device.
        """
        x = torch.as_tensor(obs, device=self.device)
        single = x.dim() == 3
        if single:
            x = x.unsqueeze(0)
        with self.autocast():
            mean, log_std = self.nets.actor(self.nets.encoder(x, chunk=self.config.encoder_chunk))
        mean, log_std = mean.float(), log_std.float()
        if greedy:
            action = torch.tanh(mean)
        else:
            if generator is None:
                raise ValueError("act(greedy=False) needs an explicit torch.Generator")
            action, _ = tanh_gaussian_sample(mean, log_std, generator)
        return action[0] if single else action

    # ------------------------------------------------------------------ learning
    def add_step(self, name: str, step: AfterUpdate) -> None:
        """Run ``step()`` after every update (before the target update); its metrics are
        merged into the update's and its state saved under ``name``."""
        if name in self.steps:
            raise ValueError(f"an after-update step named {name!r} is already registered")
        self.steps[name] = step

    def augment(self, batch: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
        """``(obs_aug (M·B, …), next_obs_aug (K·B, …))``, augmentation-major, from the
        ``augment`` generator (M obs copies first, then K next-obs copies)."""
        c, g = self.config, self.generators["augment"]
        obs = batch.obs.to(self.device)
        nxt = batch.next_obs.to(self.device)
        obs_aug, _ = random_shift(obs.repeat(c.num_loss_augs, 1, 1, 1), c.image_pad, g)
        next_aug, _ = random_shift(nxt.repeat(c.num_target_augs, 1, 1, 1), c.image_pad, g)
        return obs_aug, next_aug

    def update(self, batch: Transitions) -> Metrics:
        """One update on ``batch`` (:class:`~pisces.agents.replay.Transitions`; uint8 obs).

        Returns the critic metrics every time, the actor/α metrics on actor updates, and the
        after-update steps' metrics, all 0-d detached tensors on the agent's device.
        """
        c, u = self.config, self.num_updates
        gen = self.generators["policy"]
        obs_aug, next_aug = self.augment(batch)
        action = batch.action.to(self.device, torch.float32)
        reward = batch.reward.to(self.device, torch.float32)
        discount = batch.discount.to(self.device, torch.float32)
        y, _ = critic_target(
            self.nets,
            next_aug,
            reward,
            discount,
            gamma=c.discount,
            generator=gen,
            precision=c.precision,
            chunk=c.encoder_chunk,
        )
        metrics = update_critic(
            self.nets,
            self.critic_optimizer,
            obs_aug,
            action,
            y,
            precision=c.precision,
            chunk=c.encoder_chunk,
        )
        metrics["batch_reward"] = reward.mean()
        if u % c.actor_update_every == 0:
            with torch.no_grad(), self.autocast():
                h = self.nets.encoder(obs_aug[: action.shape[0]], chunk=c.encoder_chunk)
            metrics |= update_actor_and_alpha(
                self.nets,
                self.actor_optimizer,
                self.alpha_optimizer,
                h.float(),
                target_entropy=self.target_entropy,
                generator=gen,
                precision=c.precision,
            )
        for step in self.steps.values():
            metrics |= step()
        if u % c.target_update_every == 0:
            soft_update_(
                self.nets.target_parameters(), self.nets.online_critic_parameters(), c.critic_tau
            )
        self.num_updates = u + 1
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Networks (online, target, log α), optimizers, generators, counter, after-update
        steps: everything a resumed run needs to continue with the same numbers."""
        return {
            "config": asdict(self.config),
            "action_dim": self.action_dim,
            "networks": self.nets.state_dict(),
            "optimizers": {
                "critic": self.critic_optimizer.state_dict(),
                "actor": self.actor_optimizer.state_dict(),
                "alpha": self.alpha_optimizer.state_dict(),
            },
            "generators": {k: g.get_state() for k, g in self.generators.items()},
            "num_updates": self.num_updates,
            "steps": {k: s.state_dict() for k, s in self.steps.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the config, |A| and step names must match (ValueError)."""
        saved = dict(state["config"])
        mine = asdict(self.config)
        saved = {f.name: saved.get(f.name) for f in fields(self.config)}
        saved = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
        diff = sorted(k for k in mine if mine[k] != saved[k])
        if diff:
            raise ValueError(f"checkpoint config differs from this agent's in: {', '.join(diff)}")
        if int(state["action_dim"]) != self.action_dim:
            raise ValueError(f"checkpoint action_dim {state['action_dim']} != {self.action_dim}")
        if set(state["steps"]) != set(self.steps):
            raise ValueError(
                f"checkpoint after-update steps {sorted(state['steps'])} != {sorted(self.steps)}"
            )
        self.nets.load_state_dict(state["networks"])
        self.critic_optimizer.load_state_dict(state["optimizers"]["critic"])
        self.actor_optimizer.load_state_dict(state["optimizers"]["actor"])
        self.alpha_optimizer.load_state_dict(state["optimizers"]["alpha"])
        for k, g in self.generators.items():
            g.set_state(state["generators"][k])
        self.num_updates = int(state["num_updates"])
        for k, s in self.steps.items():
            s.load_state_dict(state["steps"][k])
