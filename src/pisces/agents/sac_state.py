r"""SAC on flat physics observations: the CPU stand-in for the paper's pixel DrQ teacher.

The PSEs of the DCS experiments need a teacher only for its greedy **action sequences** (the
PSM is computed from actions alone, spec dcs §3). On a 2-core CPU a pixel DrQ teacher of 500k
env steps costs days (``benchmarks/results/bench_dmc_update.md``); SAC on dm_control's own
state observation (no rendering) updates in milliseconds, so it stands in for it — a
documented deviation (the "pretrained" rows of Table 3 need the pixel teacher's weights and
are not reproduced with it).

The update is SAC + clipped double Q exactly as :mod:`pisces.agents.sac_drq` computes it,
reusing its loss functions (:func:`~pisces.agents.sac_drq.critic_target`,
:func:`~pisces.agents.sac_drq.update_critic`,
:func:`~pisces.agents.sac_drq.update_actor_and_alpha`,
:func:`~pisces.agents.sac_drq.soft_update_`) on :class:`StateNetworks`, whose "encoder" is the
identity on the float32 state (no augmentation: states are not images)::

    y = r + γ d (min_i Q̄_i(s', a') - α log π(a'|s')),   a' ~ π(·|s')
    L_Q = Σ_i mean_b (Q_i(s, a) - y)²                      every update
    L_π = mean_b [α log π(ã|s) - min_i Q_i(s, ã)]         every ``actor_update_every``
    L_α = mean_b [α (-log π(ã|s) - H̄)],  H̄ = -|A|
    θ̄ ← τ θ + (1 - τ) θ̄                                  every ``target_update_every``

Networks (:mod:`pisces.networks.dmc`): ``Critic(obs_dim, |A|)`` and ``Actor(obs_dim, |A|)``
with their Dense + LayerNorm + tanh trunk on the state (a learned normalisation of the raw
state) and MLPs of ``hidden_dim`` (256 by default, not the pixel agent's 1024: a state is
5–24 numbers). The replay (:class:`StateReplay`) is a ring of float32 transitions.

Randomness: weights from ``stream_seed(seed, SEED_INIT)``, policy draws of the update from
``stream_seed(seed, SEED_POLICY)``, replay indices from the caller's generator, exploration
from the caller's generator (:meth:`StateSACAgent.act`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from pisces.agents.hooks import Metrics
from pisces.agents.replay import Transitions
from pisces.agents.sac_drq import (
    SEED_INIT,
    SEED_POLICY,
    critic_target,
    soft_update_,
    stream_seed,
    update_actor_and_alpha,
    update_critic,
)
from pisces.networks.dmc import Actor, Critic, orthogonal_init_, tanh_gaussian_sample


def _positive_int(name: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be an int >= 1, got {v!r}")


def _finite(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class StateSACConfig:
    """Hyperparameters of the state SAC teacher (validated on creation).

    The SAC settings are the pixel agent's (paper Table I.2: γ 0.99, Adam lr 1e-3, initial
    temperature 0.1, τ 0.01, target and actor updates every 2 steps, log σ in [-10, 2]);
    only the network widths are smaller (ours, for speed).
    """

    hidden_dim: int = 256
    """Width of the two hidden layers of each Q network and of the actor MLP."""
    feature_dim: int = 50
    """Width of the Dense + LayerNorm + tanh trunk on the state (the pixel agent's 50)."""
    batch_size: int = 256
    """Transitions per update."""
    discount: float = 0.99
    """γ."""
    init_temperature: float = 0.1
    """Initial α (Table I.2)."""
    lr: float = 1e-3
    """Adam learning rate of critic, actor and log α (Table I.2)."""
    critic_tau: float = 0.01
    """τ of the soft target update (Table I.2)."""
    target_update_every: int = 2
    """Updates between soft target updates (Table I.2)."""
    actor_update_every: int = 2
    """Updates between actor and α updates (Table I.2)."""
    log_std_min: float = -10.0
    """Lower bound of the actor's log σ."""
    log_std_max: float = 2.0
    """Upper bound of the actor's log σ."""

    def __post_init__(self) -> None:
        for name in (
            "hidden_dim",
            "feature_dim",
            "batch_size",
            "target_update_every",
            "actor_update_every",
        ):
            _positive_int(name, getattr(self, name))
        if not 0.0 <= _finite("discount", self.discount) < 1.0:
            raise ValueError(f"discount must be in [0, 1), got {self.discount}")
        for name in ("init_temperature", "lr"):
            if not _finite(name, getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < _finite("critic_tau", self.critic_tau) <= 1.0:
            raise ValueError(f"critic_tau must be in (0, 1], got {self.critic_tau}")
        if not _finite("log_std_min", self.log_std_min) < _finite("log_std_max", self.log_std_max):
            raise ValueError("log_std_min must be < log_std_max")


class StateEncoder(nn.Module):
    """The identity on states: ``(B, obs_dim) → float32 (B, obs_dim)``.

    Stands where :class:`~pisces.networks.dmc.ConvEncoder` stands in the pixel agent, so the
    SAC loss functions of :mod:`pisces.agents.sac_drq` apply unchanged (``chunk`` is accepted
    for their signature and ignored)."""

    def forward(self, obs: torch.Tensor, *, chunk: int | None = None) -> torch.Tensor:
        del chunk
        return obs.to(torch.float32)


class StateNetworks(nn.Module):
    """Online and target critic, actor and ``log α`` of the state agent (the attribute and
    method names of :class:`~pisces.agents.sac_drq.DrQNetworks`)."""

    def __init__(self, config: StateSACConfig, obs_dim: int, action_dim: int) -> None:
        super().__init__()
        c = config

        def critic() -> Critic:
            return Critic(obs_dim, action_dim, feature_dim=c.feature_dim, hidden_dim=c.hidden_dim)

        self.encoder = StateEncoder()
        self.encoder_target = StateEncoder()
        self.critic = critic()
        self.critic_target = critic()
        self.actor = Actor(
            obs_dim,
            action_dim,
            feature_dim=c.feature_dim,
            hidden_dim=c.hidden_dim,
            log_std_bounds=(c.log_std_min, c.log_std_max),
        )
        self.log_alpha = nn.Parameter(torch.zeros(()))

    def online_critic_parameters(self) -> list[nn.Parameter]:
        """What the critic loss trains (and the target tracks): the critic."""
        return list(self.critic.parameters())

    def target_parameters(self) -> list[nn.Parameter]:
        """The target critic, in the order of :meth:`online_critic_parameters`."""
        return list(self.critic_target.parameters())


def build_state_networks(
    config: StateSACConfig,
    obs_dim: int,
    action_dim: int,
    generator: torch.Generator,
    device: torch.device,
) -> StateNetworks:
    """Construct on the meta device (no global RNG), initialise critic then actor from
    ``generator`` (:func:`~pisces.networks.dmc.orthogonal_init_`), copy the target, set
    ``log α = log(init_temperature)``."""
    with torch.device("meta"):
        nets = StateNetworks(config, obs_dim, action_dim)
    nets.to_empty(device=device)
    for module in (nets.critic, nets.actor):
        orthogonal_init_(module, generator)
    with torch.no_grad():
        nets.log_alpha.fill_(math.log(config.init_temperature))
    nets.critic_target.load_state_dict(nets.critic.state_dict())
    for p in nets.target_parameters():
        p.requires_grad_(False)
    return nets


class StateReplay:
    """Ring of float32 transitions ``(s, a, r, d, s')`` (``d = 0`` only at a termination).

    Args:
        capacity: transitions kept (the oldest are overwritten).
        obs_dim, action_dim: sizes of a state and an action.
    """

    def __init__(self, capacity: int, obs_dim: int, action_dim: int) -> None:
        for name, v in (("capacity", capacity), ("obs_dim", obs_dim), ("action_dim", action_dim)):
            _positive_int(name, v)
        self.capacity = capacity
        self.obs = torch.zeros((capacity, obs_dim))
        self.next_obs = torch.zeros((capacity, obs_dim))
        self.action = torch.zeros((capacity, action_dim))
        self.reward = torch.zeros(capacity)
        self.discount = torch.ones(capacity)
        self._head = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
    ) -> None:
        """Store one transition (float32 copies)."""
        k = self._head
        self.obs[k] = torch.as_tensor(obs, dtype=torch.float32)
        self.next_obs[k] = torch.as_tensor(next_obs, dtype=torch.float32)
        self.action[k] = torch.as_tensor(action, dtype=torch.float32)
        self.reward[k] = float(reward)
        self.discount[k] = 0.0 if terminated else 1.0
        self._head = (k + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> Transitions:
        """``batch_size`` transitions uniformly with replacement (CPU ``generator``)."""
        if self._size == 0:
            raise RuntimeError("the replay buffer is empty")
        idx = torch.randint(self._size, (batch_size,), generator=generator)
        return Transitions(
            obs=self.obs[idx],
            action=self.action[idx],
            reward=self.reward[idx],
            next_obs=self.next_obs[idx],
            discount=self.discount[idx],
        )


class StateSACAgent:
    """SAC on states (module docstring); the interface of
    :class:`~pisces.agents.sac_drq.SACDrQAgent` (``act``, ``update``, ``state_dict``).

    Args:
        config: :class:`StateSACConfig`.
        obs_dim, action_dim: sizes of a state and an action (actions in [-1, 1]^|A|).
        seed: the run seed (weights and the update's policy draws derive from it).
    """

    def __init__(self, config: StateSACConfig, obs_dim: int, action_dim: int, *, seed: int):
        _positive_int("obs_dim", obs_dim)
        _positive_int("action_dim", action_dim)
        self.config = config
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.seed = int(seed)
        self.device = torch.device("cpu")
        self.target_entropy = float(-action_dim)
        init = torch.Generator().manual_seed(stream_seed(seed, SEED_INIT))
        self.nets = build_state_networks(config, obs_dim, action_dim, init, self.device)

        def adam(params: list[nn.Parameter]) -> torch.optim.Adam:
            return torch.optim.Adam(params, lr=config.lr)

        self.critic_optimizer = adam(self.nets.online_critic_parameters())
        self.actor_optimizer = adam(list(self.nets.actor.parameters()))
        self.alpha_optimizer = adam([self.nets.log_alpha])
        self.generator = torch.Generator().manual_seed(stream_seed(seed, SEED_POLICY))
        self.num_updates = 0

    @torch.no_grad()
    def act(
        self,
        obs: np.ndarray | torch.Tensor,
        *,
        greedy: bool,
        generator: torch.Generator | None = None,
    ) -> np.ndarray:
        """Action for a state ``(obs_dim,)`` or states ``(B, obs_dim)``: ``tanh(μ)`` if
        ``greedy``, else ``tanh(μ + σ ε)`` with ε from ``generator``. float32 NumPy."""
        x = torch.as_tensor(obs, dtype=torch.float32)
        single = x.dim() == 1
        mean, log_std = self.nets.actor(x.unsqueeze(0) if single else x)
        if greedy:
            action = torch.tanh(mean)
        else:
            if generator is None:
                raise ValueError("act(greedy=False) needs an explicit torch.Generator")
            action, _ = tanh_gaussian_sample(mean, log_std, generator)
        out = action.numpy()
        return out[0] if single else out

    def update(self, batch: Transitions) -> Metrics:
        """One SAC update (module docstring); 0-d detached metrics."""
        c, u = self.config, self.num_updates
        obs = batch.obs.to(torch.float32)
        y, _ = critic_target(
            self.nets,  # type: ignore[arg-type]  # the DrQNetworks interface
            batch.next_obs.to(torch.float32),
            batch.reward,
            batch.discount,
            gamma=c.discount,
            generator=self.generator,
        )
        metrics = update_critic(
            self.nets,  # type: ignore[arg-type]
            self.critic_optimizer,
            obs,
            batch.action,
            y,
        )
        if u % c.actor_update_every == 0:
            metrics |= update_actor_and_alpha(
                self.nets,  # type: ignore[arg-type]
                self.actor_optimizer,
                self.alpha_optimizer,
                obs,
                target_entropy=self.target_entropy,
                generator=self.generator,
            )
        if u % c.target_update_every == 0:
            soft_update_(
                self.nets.target_parameters(), self.nets.online_critic_parameters(), c.critic_tau
            )
        self.num_updates = u + 1
        return metrics

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizers, generator, counter and the sizes."""
        return {
            "config": asdict(self.config),
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
            "networks": self.nets.state_dict(),
            "optimizers": {
                "critic": self.critic_optimizer.state_dict(),
                "actor": self.actor_optimizer.state_dict(),
                "alpha": self.alpha_optimizer.state_dict(),
            },
            "generator": self.generator.get_state(),
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (same config and sizes, else ValueError)."""
        mine = asdict(self.config)
        saved = {f.name: state["config"].get(f.name) for f in fields(self.config)}
        diff = sorted(k for k in mine if mine[k] != saved[k])
        if diff:
            raise ValueError(f"checkpoint config differs from this agent's in: {', '.join(diff)}")
        sizes = (int(state["obs_dim"]), int(state["action_dim"]))
        if sizes != (self.obs_dim, self.action_dim):
            raise ValueError(f"checkpoint sizes {sizes} != {(self.obs_dim, self.action_dim)}")
        self.nets.load_state_dict(state["networks"])
        self.critic_optimizer.load_state_dict(state["optimizers"]["critic"])
        self.actor_optimizer.load_state_dict(state["optimizers"]["actor"])
        self.alpha_optimizer.load_state_dict(state["optimizers"]["alpha"])
        self.generator.set_state(state["generator"])
        self.num_updates = int(state["num_updates"])
