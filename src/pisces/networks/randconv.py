"""RandConv: a random 2×2 convolution of the input, redrawn on every call (spec §6.6).

The official jumping-task code (Lee et al. 2020's augmentation, as configured there) applies
one bias-free convolution with **one output channel and a 2×2 kernel**, TensorFlow ``'same'``
padding (0 pixels top/left, 1 pixel bottom/right) and stride 1 to **each stacked frame
separately, with the same kernel for both frames and the whole batch**. The kernel is drawn
afresh on every call from Keras' Glorot-normal initializer (a normal truncated at ±2σ with
σ = sqrt(2 / (fan_in + fan_out)) / 0.8796 = 0.568 for fan_in = fan_out = 4), and with
probability ``p_identity = 0.1`` per call the input passes through unchanged.

Here "one call" is a **group** of samples: :func:`sample_kernels` draws ``G`` independent
kernels (a skipped call is the identity kernel δ, exact because ``x·1 + 0·… = x``) and
:func:`apply_random_conv` applies kernel ``g`` to the samples tagged ``g``. One training step
therefore runs the cross-entropy batch and both alignment trajectories through one big
forward pass while keeping three independent RandConv draws, as the official code does, and an
evaluation gives every (task, Monte-Carlo pass) its own draw. No host synchronisation: the
identity choice is a ``torch.where`` on the device.

With ``c`` channels per frame (``c = 3`` for RGB) the kernel maps ``c → c`` channels, with
fan_in = fan_out = 4c; ``c = 1`` is the official configuration.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

#: Keras' truncated-normal correction: the std of a standard normal truncated to [-2, 2].
_TRUNC_STD = 0.87962566103423978
#: Φ(-2), the lower CDF bound of the ±2σ truncated normal.
_PHI_M2 = 0.5 * math.erfc(2.0 / math.sqrt(2.0))

KERNEL_SIZE = 2


def glorot_normal_std(channels_per_frame: int = 1, kernel_size: int = KERNEL_SIZE) -> float:
    """σ of Keras ``GlorotNormal`` before truncation: sqrt(2 / (fan_in + fan_out)) / 0.8796."""
    fan = kernel_size * kernel_size * channels_per_frame
    return math.sqrt(2.0 / (fan + fan)) / _TRUNC_STD


def sample_kernels(
    groups: int,
    *,
    generator: torch.Generator,
    channels_per_frame: int = 1,
    p_identity: float = 0.1,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Draw ``groups`` RandConv kernels, each the identity with probability ``p_identity``.

    Truncated normal by inverse CDF, so the draw is one fixed-size, device-side operation:
    ``k = σ · Φ⁻¹(u)``, ``u ~ U[Φ(-2), Φ(2)]``.

    Returns:
        kernels: (groups, c, c, 2, 2) with ``c = channels_per_frame``; ``kernels[g, o, i, a, b]``
        weights input channel ``i`` at offset (row + a, col + b) for output channel ``o``.
    """
    c = channels_per_frame
    shape = (groups, c, c, KERNEL_SIZE, KERNEL_SIZE)
    u = torch.rand(shape, generator=generator, device=device, dtype=torch.float32)
    u = _PHI_M2 + (1.0 - 2.0 * _PHI_M2) * u
    kernels = glorot_normal_std(c) * torch.special.ndtri(u)
    identity = torch.zeros(shape[1:], device=device, dtype=torch.float32)
    identity[:, :, 0, 0] = torch.eye(c, device=device)
    skip = torch.rand((groups, 1, 1, 1, 1), generator=generator, device=device) < p_identity
    return torch.where(skip, identity, kernels).to(dtype)


def per_sample_kernels(
    kernels: torch.Tensor, group_index: torch.Tensor | None, batch: int
) -> torch.Tensor:
    """(G, c, c, 2, 2) kernels → (batch, c, c, 2, 2), kernel ``group_index[n]`` for sample n
    (``None``: the one kernel for every sample)."""
    if group_index is None:
        if kernels.shape[0] != 1:
            raise ValueError("group_index is required with more than one kernel")
        return kernels.expand(batch, -1, -1, -1, -1)
    if group_index.shape != (batch,):
        raise ValueError(f"group_index must have shape ({batch},), got {tuple(group_index.shape)}")
    return kernels[group_index]


def apply_random_conv(
    x: torch.Tensor, kernels: torch.Tensor, group_index: torch.Tensor | None = None
) -> torch.Tensor:
    """Apply per-group 2×2 kernels to every stacked frame with TF 'same' padding (0, 1).

    ``y[n, h, w, f·c + o] = Σ_{i,a,b} K[g(n), o, i, a, b] · x̃[n, h + a, w + b, f·c + i]`` with
    ``x̃`` zero-padded by one pixel at the bottom and right, ``f`` the frame and ``g(n)`` the
    group of sample ``n``. With ``c = 1`` it works channels-last (four fused multiply-adds
    over shifted views, each on the region it reaches), which measured 3× faster on CPU than a
    depthwise convolution; with ``c > 1`` it is one grouped convolution, a group per (sample,
    frame).

    Args:
        x: (B, H, W, F·c) channels-last network input.
        kernels: (G, c, c, 2, 2) from :func:`sample_kernels`.
        group_index: (B,) int64 group of each sample, or ``None`` when ``G == 1``.

    Returns:
        (B, H, W, F·c), contiguous, same dtype as ``x``.
    """
    b, h, w, channels = x.shape
    c = kernels.shape[1]
    if channels % c:
        raise ValueError(f"{channels} input channels are not frames of {c} channels")
    k = per_sample_kernels(kernels, group_index, b).to(x.dtype)
    if c > 1:
        # One grouped convolution, a group per (sample, frame): measured 3× faster on CPU
        # than an einsum over shifted views for c = 3 (tiny per-sample matrices).
        frames = channels // c
        xin = F.pad(x.permute(0, 3, 1, 2).reshape(1, b * channels, h, w), (0, 1, 0, 1))
        weight = k.unsqueeze(1).expand(b, frames, c, c, KERNEL_SIZE, KERNEL_SIZE)
        weight = weight.reshape(b * channels, c, KERNEL_SIZE, KERNEL_SIZE)
        out = F.conv2d(xin, weight, groups=b * frames)
        return out.view(b, channels, h, w).permute(0, 2, 3, 1).contiguous()
    weight = k[:, 0, 0].reshape(b, KERNEL_SIZE, KERNEL_SIZE, 1, 1, 1)
    if functorch_wrapped(x):  # vmap has no batching rule for addcmul_: the padded form
        xp = F.pad(x, (0, 0, 0, 1, 0, 1))
        out = xp[:, :h, :w] * weight[:, 0, 0]
        for a, c in ((0, 1), (1, 0), (1, 1)):
            out = torch.addcmul(out, xp[:, a : a + h, c : c + w], weight[:, a, c])
        return out
    # y = K00·x + K01·x[:, :, 1:] + K10·x[:, 1:] + K11·x[:, 1:, 1:], each shifted term added
    # in place on the region it reaches (beyond it the padded input is zero): the padded
    # form's sums in its order, bit for bit (tested), without its padded copy (12 % of a bf16
    # randconv-pse step on an AMX Xeon, 2 % in fp32: benchmarks/results/jumping_profile_amx.md).
    out = x * weight[:, 0, 0]
    out[:, :, : w - 1].addcmul_(x[:, :, 1:], weight[:, 0, 1])
    out[:, : h - 1].addcmul_(x[:, 1:], weight[:, 1, 0])
    out[:, : h - 1, : w - 1].addcmul_(x[:, 1:, 1:], weight[:, 1, 1])
    return out


def functorch_wrapped(x: torch.Tensor) -> bool:
    """Whether ``x`` is inside a torch.func transform (vmap, grad), by torch's own check."""
    check = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(check(x)) if check is not None else False


class RandConv(nn.Module):
    """Module wrapper: ``forward(x, generator, group_index, groups)`` draws and applies kernels.

    Not trainable (no parameters). Kept on at evaluation by design (spec §6.6, §7).
    """

    def __init__(self, channels_per_frame: int = 1, p_identity: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= p_identity <= 1.0:
            raise ValueError(f"p_identity must be in [0, 1], got {p_identity}")
        self.channels_per_frame = channels_per_frame
        self.p_identity = p_identity

    def forward(
        self,
        x: torch.Tensor,
        generator: torch.Generator,
        group_index: torch.Tensor | None = None,
        groups: int = 1,
    ) -> torch.Tensor:
        """x: (B, H, W, F·c) → (B, H, W, F·c) with ``groups`` independent draws."""
        kernels = sample_kernels(
            groups,
            generator=generator,
            channels_per_frame=self.channels_per_frame,
            p_identity=self.p_identity,
            device=x.device,
        )
        return apply_random_conv(x, kernels, group_index)

    def extra_repr(self) -> str:
        return f"channels_per_frame={self.channels_per_frame}, p_identity={self.p_identity}"
