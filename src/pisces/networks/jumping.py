"""The jumping-task network of the official PSE code (spec §5), as separate small modules.

::

    x (B, 60, 60, F·c) ──[RandConv]──▶ Conv 32 8×8/4 ─▶ Conv 64 4×4/2 ─▶ Conv 64 3×3/1 ─▶
        flatten (4096, in TF's H, W, C order) ─▶ Dense 256 + ReLU  = representation h
    h ─[dropout]─▶ Dense 2                      = policy logits    (PolicyHead)
    h ──────────▶ Dense 64 + ReLU               = embedding z       (ProjectionHead)

Every convolution uses TensorFlow ``'same'`` padding (the extra pixel on the bottom/right):
pads (2, 2), (1, 2), (1, 1), giving 15×15×32, 8×8×64, 8×8×64; ReLU after each layer.
Initialisation is Keras' default: Glorot-uniform kernels, ``U(±sqrt(6 / (fan_in + fan_out)))``,
and zero biases, drawn from an explicit :class:`torch.Generator`.

Inputs are channels-last ``(B, H, W, C)`` like the environment's stacked frames; internally the
encoder runs in NCHW logical layout with the ``channels_last`` memory format (the permute is a
free view), which is the faster path of oneDNN on CPU.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pisces.networks.randconv import apply_random_conv

IMAGE_SIZE = 60
REPRESENTATION_DIM = 256
EMBEDDING_DIM = 64
NUM_ACTIONS = 2


def keras_init_(module: nn.Module, generator: torch.Generator) -> None:
    """Glorot-uniform weights and zero biases for every Conv2d/Linear in ``module``, in order."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'same' padding (before, after) for one spatial axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class JumpingEncoder(nn.Module):
    """Conv trunk + Dense 256 + ReLU: ``(B, 60, 60, C) → h (B, 256)``."""

    def __init__(self, in_channels: int = 2, image_size: int = IMAGE_SIZE) -> None:
        super().__init__()
        self.in_channels = in_channels
        specs = [(in_channels, 32, 8, 4), (32, 64, 4, 2), (64, 64, 3, 1)]
        convs, pads, size = [], [], image_size
        for cin, cout, k, s in specs:
            convs.append(nn.Conv2d(cin, cout, k, stride=s))
            pads.append(same_pads(size, k, s))
            size = -(-size // s)
        self.convs = nn.ModuleList(convs)
        self.pads = tuple(pads)
        self.out_size = size
        self.dense = nn.Linear(64 * size * size, REPRESENTATION_DIM)

    def trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each conv + ReLU, NCHW logical: [(B,32,15,15), (B,64,8,8) ×2]."""
        feats = []
        for conv, (lo, hi) in zip(self.convs, self.pads, strict=True):
            x = F.relu(conv(F.pad(x, (lo, hi, lo, hi))))
            feats.append(x)
        return feats

    def forward(
        self,
        obs: torch.Tensor,
        *,
        kernels: torch.Tensor | None = None,
        group_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """obs: (B, H, W, C) → h: (B, 256). ``kernels``: RandConv draws (see ``randconv``)."""
        if kernels is not None:
            obs = apply_random_conv(obs, kernels, group_index)
        x = obs.permute(0, 3, 1, 2)  # NHWC contiguous == NCHW channels_last: a free view
        x = self.trunk(x)[-1]
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # TF flatten order (H, W, C)
        return F.relu(self.dense(x))


class PolicyHead(nn.Module):
    """Dropout (training only) + Dense 2: ``h (B, 256) → logits (B, 2)`` (0 = RIGHT, 1 = JUMP).

    Dropout is inverted dropout like Keras (``h · m / (1 - rate)``, ``m ~ Bernoulli(1 - rate)``)
    with the mask drawn from an explicit ``generator`` (required in training when rate > 0).
    """

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.rate = dropout
        self.linear = nn.Linear(REPRESENTATION_DIM, NUM_ACTIONS)

    def forward(
        self,
        h: torch.Tensor,
        generator: torch.Generator | None = None,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """h (B, 256) → logits (B, 2). In training with rate > 0, pass ``generator`` (the mask
        is drawn here) or a precomputed bool ``keep`` mask (B, 256)."""
        if self.training and self.rate > 0:
            if keep is None:
                if generator is None:
                    raise ValueError("dropout in training needs an explicit torch.Generator")
                keep = torch.rand(h.shape, generator=generator, device=h.device) >= self.rate
            h = h * keep / (1.0 - self.rate)
        return self.linear(h)

    def extra_repr(self) -> str:
        return f"dropout={self.rate}"


class ProjectionHead(nn.Module):
    """Dense 64 + ReLU: ``h (B, 256) → z (B, 64)``, used only by the alignment loss."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(REPRESENTATION_DIM, EMBEDDING_DIM)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.relu(self.linear(h))


class JumpingNetwork(nn.Module):
    """Encoder + policy head + projection head, initialised like Keras from ``generator``.

    Dropout in the policy head follows ``self.training``; call ``.eval()`` for evaluation.
    RandConv is not a module here: callers pass ``kernels`` (one draw per group of samples).
    """

    def __init__(
        self, generator: torch.Generator, *, in_channels: int = 2, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.encoder = JumpingEncoder(in_channels)
        self.policy = PolicyHead(dropout)
        self.projection = ProjectionHead()
        keras_init_(self, generator)
        self.to(memory_format=torch.channels_last)

    def forward(self, obs: torch.Tensor, **randconv: torch.Tensor | None) -> torch.Tensor:
        """obs: (B, H, W, C) → policy logits (B, 2)."""
        return self.policy(self.encoder(obs, **randconv))
