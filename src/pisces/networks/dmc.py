r"""Networks of the SAC + DrQ agent on (Distracting) DM Control (spec dcs §2, §3; paper App. I).

Small separate modules; the agent (:mod:`pisces.agents.sac_drq`) wires them::

    obs uint8 (B, 9, 84, 84) ─/255─▶ ConvEncoder: 4 × [Conv 32 3×3 (strides 2,1,1,1), VALID, ReLU]
        ─▶ flatten h (B, 32·35·35 = 39200)                         (shared by critic and actor)
    Critic: Trunk(h) = tanh(LayerNorm(Dense 50 h)) = e_c;  Q_k(e_c, a) = MLP 1024-1024-1, k = 1, 2
    Actor:  Trunk(h.detach()) = e_a;  g = MLP 1024-1024 (ReLU) = the penultimate layer;
            Dense 2|A| g = (μ, s);  log σ = lo + (hi - lo)(tanh s + 1) / 2 ∈ [lo, hi] = [-10, 2]
    Projection (PSEs only): z = ReLU(Dense 256 g)                            (paper App. I.3)

Pixels are scaled to [0, 1] (``obs / 255``, paper App. I.4 and the official PSE code); the
``- 0.5`` of DrQ-v2 is not applied. Initialisation (:func:`orthogonal_init_`, DrQ and the
official code): orthogonal weights with gain √2 (ReLU) for convolutions and 1 for dense layers,
zero biases, LayerNorm (ε = 1e-5) with unit scale and zero shift, all drawn from an explicit
:class:`torch.Generator`.

The tanh-Gaussian policy (:func:`tanh_gaussian_sample`, :func:`tanh_gaussian_log_prob`)::

    u = μ + σ ε, ε ~ N(0, I);   a = tanh u;
    log π(a) = Σ_d [log N(u_d; μ_d, σ_d) - log(1 - tanh² u_d)],
    log(1 - tanh² u) = 2 (log 2 - u - softplus(-2u))          (stable form, as TanhTransform)
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

#: DrQ encoder defaults (spec dcs §2): 4 conv layers of 32 3×3 filters, the first of stride 2.
NUM_FILTERS = 32
NUM_CONV_LAYERS = 4
FEATURE_DIM = 50
HIDDEN_DIM = 1024
PROJECTION_DIM = 256
LOG_STD_BOUNDS = (-10.0, 2.0)
_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def conv_output_size(image_size: int, num_layers: int = NUM_CONV_LAYERS) -> int:
    """Side of the last feature map: VALID 3×3 convs, stride 2 then 1 (84 → 41 → 39 → 37 → 35)."""
    size = (image_size - 3) // 2 + 1
    return size - 2 * (num_layers - 1)


def orthogonal_init_(module: nn.Module, generator: torch.Generator) -> None:
    """DrQ initialisation of every layer of ``module``, in ``module.modules()`` order.

    Conv2d: ``orthogonal_(W, gain=√2)`` (ReLU gain) on ``W`` viewed as (out, in·k·k); Linear:
    ``orthogonal_(W, gain=1)``; biases 0; LayerNorm: weight 1, bias 0. The draws come from
    ``generator`` only, so the same generator state gives bit-identical weights.
    """
    relu_gain = nn.init.calculate_gain("relu")
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                gain = relu_gain if isinstance(m, nn.Conv2d) else 1.0
                # orthogonal_ draws on the CPU generator: build there, then copy in place.
                w = torch.empty(m.weight.shape, dtype=torch.float32)
                nn.init.orthogonal_(w, gain=gain, generator=generator)
                m.weight.copy_(w)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.LayerNorm):
                if m.weight is not None:
                    m.weight.fill_(1.0)
                if m.bias is not None:
                    m.bias.zero_()


class ConvEncoder(nn.Module):
    """DrQ conv stack: ``obs (B, C, H, W) in [0, 255] → h (B, F·s·s)``, ``s = conv_output_size``.

    ``h = flatten(ReLU ∘ conv_L ∘ … ∘ ReLU ∘ conv_1 (obs / 255))``, VALID padding, strides
    (2, 1, 1, 1), flattened in (C, H, W) order. ``obs`` may be uint8 or float (any memory
    format). ``chunk``: run the batch through the convs ``chunk`` samples at a time (the same
    result; smaller activations, faster on a CPU cache, spec dcs §5).
    """

    def __init__(
        self,
        in_channels: int = 9,
        image_size: int = 84,
        *,
        num_filters: int = NUM_FILTERS,
        num_layers: int = NUM_CONV_LAYERS,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        size = conv_output_size(image_size, num_layers)
        if size < 1:
            raise ValueError(f"image_size {image_size} is too small for {num_layers} conv layers")
        layers = [nn.Conv2d(in_channels, num_filters, 3, stride=2)]
        layers += [nn.Conv2d(num_filters, num_filters, 3, stride=1) for _ in range(num_layers - 1)]
        self.convs = nn.ModuleList(layers)
        self.in_channels = in_channels
        self.image_size = image_size
        self.out_size = size
        self.out_dim = num_filters * size * size
        self._memory_format = torch.contiguous_format

    @property
    def channels_last(self) -> bool:
        """Whether the convolutions run in the ``channels_last`` memory format."""
        return self._memory_format == torch.channels_last

    def set_channels_last(self, enabled: bool = True) -> ConvEncoder:
        """Run the convolutions in ``channels_last`` (weights and inputs; same logical layout)."""
        self._memory_format = torch.channels_last if enabled else torch.contiguous_format
        for conv in self.convs:
            conv.weight.data = conv.weight.data.contiguous(memory_format=self._memory_format)
        return self

    def _forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.to(torch.float32).div(255.0).contiguous(memory_format=self._memory_format)
        for conv in self.convs:
            x = F.relu(conv(x))
        return x.flatten(1)

    def forward(self, obs: torch.Tensor, *, chunk: int | None = None) -> torch.Tensor:
        if obs.dim() != 4 or obs.shape[1] != self.in_channels:
            raise ValueError(f"obs must be (B, {self.in_channels}, H, W), got {tuple(obs.shape)}")
        if chunk is None or obs.shape[0] <= chunk:
            return self._forward(obs)
        return torch.cat([self._forward(part) for part in obs.split(chunk)])


class Trunk(nn.Module):
    """``e = tanh(LayerNorm(W h + b))``: (B, in_dim) → (B, feature_dim) (DrQ's encoder head)."""

    def __init__(self, in_dim: int, feature_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, feature_dim)
        self.norm = nn.LayerNorm(feature_dim, eps=1e-5)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.norm(self.linear(h)))


def mlp(in_dim: int, hidden_dim: int, out_dim: int | None, depth: int = 2) -> nn.Sequential:
    """``depth`` × (Linear + ReLU) of width ``hidden_dim``, then Linear to ``out_dim`` (if any)."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, hidden_dim), nn.ReLU()]
        d = hidden_dim
    if out_dim is not None:
        layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class Critic(nn.Module):
    """Twin Q on conv features: ``(h (B, enc_dim), a (B, |A|)) → (Q1, Q2)``, each (B,).

    ``e = Trunk(h)``; ``Q_k = MLP_k([e, a])`` with ``MLP_k`` = 1024-1024 ReLU → 1. The trunk
    (Dense 50 + LayerNorm + tanh) is shared by the two heads, as in DrQ.
    """

    def __init__(
        self,
        enc_dim: int,
        action_dim: int,
        *,
        feature_dim: int = FEATURE_DIM,
        hidden_dim: int = HIDDEN_DIM,
    ) -> None:
        super().__init__()
        self.trunk = Trunk(enc_dim, feature_dim)
        self.q1 = mlp(feature_dim + action_dim, hidden_dim, 1)
        self.q2 = mlp(feature_dim + action_dim, hidden_dim, 1)

    def forward(self, h: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.trunk(h), action.to(h.dtype)], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


def squash_log_std(raw: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``log σ = low + (high - low) · (tanh(raw) + 1) / 2`` ∈ [low, high] (DrQ, official code)."""
    return low + 0.5 * (high - low) * (torch.tanh(raw) + 1.0)


class Actor(nn.Module):
    """Tanh-Gaussian policy head on conv features: ``h (B, enc_dim) → (μ, log σ)``, each (B, |A|).

    ``e = Trunk(h)`` (its own Dense 50 + LayerNorm + tanh); ``g = MLP(e)`` (1024-1024 ReLU, the
    penultimate layer :meth:`penultimate` that the PSE projection reads); ``(μ, s) = Dense(g)``;
    ``log σ = squash_log_std(s)``. The caller detaches ``h`` (the actor loss does not train the
    convolutions); the PSE step does not.
    """

    def __init__(
        self,
        enc_dim: int,
        action_dim: int,
        *,
        feature_dim: int = FEATURE_DIM,
        hidden_dim: int = HIDDEN_DIM,
        log_std_bounds: tuple[float, float] = LOG_STD_BOUNDS,
    ) -> None:
        super().__init__()
        low, high = log_std_bounds
        if not low < high:
            raise ValueError(f"log_std_bounds must be (low, high) with low < high, got {low, high}")
        self.trunk = Trunk(enc_dim, feature_dim)
        self.hidden = mlp(feature_dim, hidden_dim, None)
        self.head = nn.Linear(hidden_dim, 2 * action_dim)
        self.action_dim = action_dim
        self.log_std_bounds = (float(low), float(high))

    def penultimate(self, h: torch.Tensor) -> torch.Tensor:
        """``g = MLP(Trunk(h))``: (B, enc_dim) → (B, hidden_dim), after the last hidden ReLU."""
        return self.hidden(self.trunk(h))

    def dist_params(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``g (B, hidden) → (μ, log σ)``, both (B, |A|)."""
        mean, raw = self.head(g).chunk(2, dim=-1)
        return mean, squash_log_std(raw, *self.log_std_bounds)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.dist_params(self.penultimate(h))


class Projection(nn.Module):
    """PSE embedding ``z = ReLU(W g + b)``: (B, hidden_dim) → (B, 256) (paper App. I.3)."""

    def __init__(self, in_dim: int = HIDDEN_DIM, out_dim: int = PROJECTION_DIM) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return F.relu(self.linear(g))


def _log_one_minus_tanh_sq(u: torch.Tensor) -> torch.Tensor:
    """``log(1 - tanh² u) = 2 (log 2 - u - softplus(-2u))``, stable for large |u|."""
    return 2.0 * (_LOG2 - u - F.softplus(-2.0 * u))


def tanh_gaussian_log_prob(
    pre_tanh: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor
) -> torch.Tensor:
    """``log π(tanh u)`` of the tanh-squashed diagonal Gaussian, summed over the last axis.

    ``Σ_d [-(u_d - μ_d)² / (2σ_d²) - log σ_d - log(2π)/2 - log(1 - tanh² u_d)]``; inputs
    (..., |A|), output (...). Takes the pre-tanh sample ``u`` (no ``atanh``, exact).
    """
    z = (pre_tanh - mean) * torch.exp(-log_std)
    normal = -0.5 * z.square() - log_std - _HALF_LOG_2PI
    return (normal - _log_one_minus_tanh_sq(pre_tanh)).sum(-1)


def tanh_gaussian_sample(
    mean: torch.Tensor, log_std: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reparameterised sample ``a = tanh(μ + σ ε)``, ``ε ~ N(0, I)`` from ``generator``.

    Returns ``(a, log π(a))`` with shapes (..., |A|) and (...); gradients flow to μ and log σ.
    """
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    u = mean + torch.exp(log_std) * eps
    normal = -0.5 * eps.square() - log_std - _HALF_LOG_2PI
    log_prob = (normal - _log_one_minus_tanh_sq(u)).sum(-1)
    return torch.tanh(u), log_prob
