r"""PSEs for Distracting DM Control: the PSE step run after each SAC + DrQ update (spec dcs §3).

Data (:class:`PairDataset`). ``P`` pairs of episodes of length ``T``: a teacher's greedy
policy runs in environment A (background 1); its exact action sequence is replayed in
environment B (same task seed, background 2). The metric between episode 0 (``x``) and
episode 1 (``y``) of a pair is the PSM from the action sequences (:func:`action_psm`)::

    DIST(x_i, y_j) = mean_d |a^x_{i,d} - a^y_{j,d}|
    d[i, j] = DIST(x_i, y_j) + γ d[min(i+1, T-1), min(j+1, T-1)]      (γ = 0.99)

computed exactly by backward recursion (:func:`pisces.metrics.trajectory_psm`; the official
fixed point converges to it), once per pair.

One PSE step (:class:`PSEStep`, Table I.1, spec §3), all draws from its own generator:

1. a pair ``p`` uniformly; a fair coin swaps its two episodes (drawn **every step**; the
   official TF code froze it when tracing), and the metric is **transposed** with them
   (the public PyTorch port discarded the transpose);
2. ``n = min(128, T)`` distinct rows (states) of the first episode, all ``T`` states of the
   second, and the metric rows ``D[rows, :]`` (n, T);
3. **one** random shift (pad 4) for every frame of both episodes;
4. embeddings ``z = ReLU(Dense 256 (g))`` with ``g`` the actor's penultimate layer on the
   shared convolutions (:meth:`pisces.networks.dmc.Actor.penultimate`), through the same
   convolutions that the critic trains (not detached);
5. ``L = alignment_loss(z_x, z_y, D, AlignmentSpec(kind="cme", temperature=0.1, beta=0.1,
   variant="official", coupling_weights=True, directions="rows"))`` (row anchors with soft
   coupling, the official DCS ``contrastive_loss``);
6. one Adam step (lr 1e-3) on ``α · L`` (α = 1) over the convolutions, the actor trunk, the
   actor's hidden layers and the projection (the official ``encoder_variables``; the
   public PyTorch port's optimizer held only the actor, so its encoder never learned from
   the PSE loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from pisces.agents.augment import sample_shifts, shift_images
from pisces.agents.hooks import Metrics, SeparateStep, parameters_of
from pisces.agents.sac_drq import SEED_PSE_INIT, SEED_PSE_SAMPLE, SACDrQAgent, stream_seed
from pisces.losses import AlignmentSpec, alignment_loss
from pisces.metrics import trajectory_psm
from pisces.networks.dmc import Projection, orthogonal_init_


def action_psm(actions_x: ArrayLike, actions_y: ArrayLike, gamma: float = 0.99) -> NDArray:
    """PSM between two deterministic episodes from their action sequences (spec dcs §3).

    Args:
        actions_x: (..., T, |A|) greedy actions along episode x.
        actions_y: (..., T', |A|) along episode y; leading axes broadcast.
        gamma: metric discount in [0, 1) (0.99).

    Returns:
        float64 (..., T, T'): ``d = trajectory_psm(cost)`` with
        ``cost[i, j] = mean_d |a_x[i, d] - a_y[j, d]|`` (last states absorbing).
    """
    ax = np.asarray(actions_x, dtype=np.float64)
    ay = np.asarray(actions_y, dtype=np.float64)
    if ax.ndim < 2 or ay.ndim < 2 or ax.shape[-1] != ay.shape[-1]:
        raise ValueError(
            f"actions must be (..., T, |A|) with the same |A|, got {ax.shape} and {ay.shape}"
        )
    cost = np.abs(ax[..., :, None, :] - ay[..., None, :, :]).mean(axis=-1)
    return trajectory_psm(cost, gamma=gamma)


class PairSample(NamedTuple):
    """One PSE step's inputs: obs_x (n, S·C, H, W) uint8, obs_y (T, S·C, H, W) uint8 (both
    shifted alike), metric (n, T) float32 ``D[rows, :]`` of the (possibly swapped) pair."""

    obs_x: torch.Tensor
    obs_y: torch.Tensor
    metric: torch.Tensor


@dataclass(frozen=True, eq=False)
class PairDataset:
    """Paired episodes in single-frame form, with their PSM (all tensors on one device).

    Attributes:
        frames: uint8 (P, 2, T, C, H, W): the frame of every state; the observation of state t
            stacks frames ``max(t - S + 1 + i, 0)``, i = 0..S-1 (the reset repeats frame 0,
            as ``FrameStack``), never an earlier episode's.
        actions: float32 (P, 2, T, |A|): the actions taken (kept for reference).
        metric: float32 (P, T, T): ``metric[p, i, j] = d(x_i, y_j)``, x = episode 0.
        frame_stack: S (3).
    """

    frames: torch.Tensor
    actions: torch.Tensor
    metric: torch.Tensor
    frame_stack: int = 3

    def __post_init__(self) -> None:
        f, a, m = self.frames, self.actions, self.metric
        if f.dim() != 6 or f.shape[1] != 2 or f.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8 (P, 2, T, C, H, W), got {f.dtype} {f.shape}")
        p, _, t = f.shape[:3]
        if a.dim() != 4 or tuple(a.shape[:3]) != (p, 2, t):
            raise ValueError(f"actions must be ({p}, 2, {t}, |A|), got {tuple(a.shape)}")
        if tuple(m.shape) != (p, t, t):
            raise ValueError(f"metric must be ({p}, {t}, {t}), got {tuple(m.shape)}")
        if not (isinstance(self.frame_stack, int) and self.frame_stack >= 1):
            raise ValueError(f"frame_stack must be an int >= 1, got {self.frame_stack!r}")
        if len({f.device, a.device, m.device}) != 1:
            raise ValueError("frames, actions and metric must be on one device")

    @classmethod
    def build(
        cls,
        frames: torch.Tensor | np.ndarray,
        actions: torch.Tensor | np.ndarray,
        *,
        gamma: float = 0.99,
        frame_stack: int = 3,
        device: torch.device | str | None = None,
    ) -> PairDataset:
        """From frames (P, 2, T, C, H, W) uint8 and actions (P, 2, T, |A|): the PSM of every
        pair by :func:`action_psm` (float64, stored float32)."""
        f = torch.as_tensor(frames, device=device)
        a = torch.as_tensor(actions, dtype=torch.float32, device=device)
        a_np = a.detach().cpu().numpy()
        metric = action_psm(a_np[:, 0], a_np[:, 1], gamma)
        m = torch.as_tensor(metric, dtype=torch.float32, device=f.device)
        return cls(frames=f, actions=a.to(f.device), metric=m, frame_stack=frame_stack)

    @property
    def num_pairs(self) -> int:
        return self.frames.shape[0]

    @property
    def length(self) -> int:
        """T, states per episode."""
        return self.frames.shape[2]

    def observations(
        self, pair: torch.Tensor, episode: torch.Tensor, states: torch.Tensor
    ) -> torch.Tensor:
        """Stacked observations of ``states`` (n,) of ``episode`` (0-d) of ``pair`` (0-d):
        uint8 (n, S·C, H, W), oldest frame first."""
        s = self.frame_stack
        back = torch.arange(s - 1, -1, -1, device=states.device)
        idx = (states[:, None] - back[None, :]).clamp_(min=0)  # (n, S)
        # index_select with 1-d indices: no host sync (a 0-d tensor index would be .item()'d).
        which = (pair * 2 + episode).view(1)
        frames = self.frames.flatten(0, 1).index_select(0, which)[0][idx]  # (n, S, C, H, W)
        return frames.reshape(states.shape[0], -1, *frames.shape[-2:])

    def sample(self, num_rows: int, pad: int, generator: torch.Generator) -> PairSample:
        """One step's pair (steps 1–3 of the module docstring), all on the data's device.

        Draw order on ``generator``: pair, swap, row permutation, shift.
        """
        dev = self.frames.device
        t = self.length
        pair = torch.randint(self.num_pairs, (), generator=generator, device=dev)
        swap = torch.randint(2, (), generator=generator, device=dev)
        rows = torch.randperm(t, generator=generator, device=dev)[: min(num_rows, t)]
        shift = sample_shifts(1, pad, generator, dev)
        d = self.metric.index_select(0, pair.view(1))[0]
        d = torch.where(swap.bool(), d.mT, d)  # x = episode `swap`: rows index x's states
        obs_x = self.observations(pair, swap, rows)
        obs_y = self.observations(pair, 1 - swap, torch.arange(t, device=dev))
        return PairSample(shift_images(obs_x, shift), shift_images(obs_y, shift), d[rows])


@dataclass(frozen=True)
class PSEConfig:
    """Hyperparameters of the DCS PSE step (validated on creation).

    Attributes:
        weight: α, coefficient of the loss, 1.0 (Table I.1).
        temperature: contrastive temperature 1/λ, 0.1 (Table I.1; the official flag default
            0.5 and the PyTorch port's 1.0 are not the paper's).
        beta: Γ-scale (coupling temperature) β, 0.1 (Table I.1).
        num_rows: sampled states of the first episode, 128 (Table I.1 "Batch Size (L_CME)");
            ``min(num_rows, T)`` (cartpole has T = 125).
        gamma: PSM discount, 0.99 (spec dcs §3).
        lr: Adam learning rate of the PSE optimizer, 1e-3 (spec dcs §3).
        betas: its Adam (β1, β2), (0.9, 0.999) (TF v1 ``AdamOptimizer`` defaults).
        eps: its Adam ε, 1e-8.
        projection_dim: embedding width k, 256 (paper App. I.3).
        image_pad: shift range of the shared crop, 4 (the DrQ pad).
        train_actor_hidden: also step the actor's hidden layers (on the path to the
            penultimate layer), True as the official ``encoder_variables``; False keeps only
            convolutions + actor trunk + projection.
    """

    weight: float = 1.0
    temperature: float = 0.1
    beta: float = 0.1
    num_rows: int = 128
    gamma: float = 0.99
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    projection_dim: int = 256
    image_pad: int = 4
    train_actor_hidden: bool = True

    def __post_init__(self) -> None:
        def finite(name: str) -> float:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
            return float(v)

        if finite("weight") < 0:
            raise ValueError(f"weight must be >= 0, got {self.weight}")
        for name in ("temperature", "beta", "lr", "eps"):
            if not finite(name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= finite("gamma") < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        for name, low in (("num_rows", 1), ("projection_dim", 1), ("image_pad", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
        b = self.betas
        if not (isinstance(b, tuple) and len(b) == 2 and all(0.0 <= x < 1.0 for x in b)):
            raise ValueError(f"betas must be a pair in [0, 1), got {b!r}")
        if not isinstance(self.train_actor_hidden, bool):
            raise ValueError(f"train_actor_hidden must be a bool, got {self.train_actor_hidden!r}")
        self.spec()  # checks the loss hyperparameters

    def spec(self) -> AlignmentSpec:
        """The loss: official CME, soft coupling, row anchors (spec dcs §3)."""
        return AlignmentSpec(
            kind="cme",
            temperature=self.temperature,
            beta=self.beta,
            variant="official",
            coupling_weights=True,
            directions="rows",
        )


class PSEStep:
    """The DCS PSE step: a :class:`~pisces.agents.hooks.SeparateStep` fed by a pair sampler.

    ``PSEStep(agent, pairs, config, seed=...)`` builds the projection (orthogonal init from
    the seed's ``SEED_PSE_INIT`` stream) and the Adam over convolutions + actor trunk (+ actor
    hidden layers) + projection; ``step()`` samples a pair (``SEED_PSE_SAMPLE`` stream, on the
    data's device) and takes one step, returning ``{"pse_loss": L}``. Register it with
    ``agent.add_step("pse", step)`` to run after every update.
    """

    def __init__(
        self,
        agent: SACDrQAgent,
        pairs: PairDataset,
        config: PSEConfig | None = None,
        *,
        seed: int,
    ) -> None:
        self.config = cfg = config or PSEConfig()
        self.agent = agent
        self.pairs = pairs
        obs_c = pairs.frames.shape[3] * pairs.frame_stack
        want = (agent.config.obs_channels, agent.config.image_size, agent.config.image_size)
        got = (obs_c, *pairs.frames.shape[-2:])
        if got != want:
            raise ValueError(f"pair observations {got} do not match the agent's {want}")
        if pairs.frames.device != agent.device:
            raise ValueError(f"pairs on {pairs.frames.device}, agent on {agent.device}")
        nets = agent.nets
        with torch.device("meta"):
            projection = Projection(agent.config.hidden_dim, cfg.projection_dim)
        projection.to_empty(device=agent.device)
        init = torch.Generator().manual_seed(stream_seed(seed, SEED_PSE_INIT))
        orthogonal_init_(projection, init)
        self.projection = projection
        modules = [nets.encoder, nets.actor.trunk, projection]
        if cfg.train_actor_hidden:
            modules.insert(2, nets.actor.hidden)
        params = list(parameters_of(*modules))
        optimizer = torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=True)
        self.step = SeparateStep("pse_loss", self.loss, optimizer, weight=cfg.weight)
        self.spec = cfg.spec()
        self.generator = torch.Generator(agent.device).manual_seed(
            stream_seed(seed, SEED_PSE_SAMPLE)
        )

    def embed(self, obs: torch.Tensor) -> torch.Tensor:
        """``z = Projection(Actor.penultimate(conv(obs)))``: uint8 (N, C, H, W) → fp32 (N, k)."""
        nets = self.agent.nets
        with self.agent.autocast():
            h = nets.encoder(obs, chunk=self.agent.config.encoder_chunk)
            z = self.projection(nets.actor.penultimate(h))
        return z.float()

    def loss(self, obs_x: torch.Tensor, obs_y: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
        """``alignment_loss(z_x (n, k), z_y (T, k), metric (n, T))``; one encoder pass."""
        z = self.embed(torch.cat([obs_x, obs_y]))
        n = obs_x.shape[0]
        return alignment_loss(z[:n], z[n:], metric, self.spec, validate=False)

    def sample(self) -> PairSample:
        return self.pairs.sample(self.config.num_rows, self.config.image_pad, self.generator)

    def __call__(self) -> Metrics:
        return self.step(*self.sample())

    def state_dict(self) -> dict[str, Any]:
        """Projection, optimizer and sampler state."""
        return {
            "projection": self.projection.state_dict(),
            "step": self.step.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.projection.load_state_dict(state["projection"])
        self.step.load_state_dict(state["step"])
        self.generator.set_state(state["generator"])
