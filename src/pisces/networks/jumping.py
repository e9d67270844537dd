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

``fast_kernels`` (the bf16 fast path; off by default) rewrites two convolutions into the same
maps with shapes matrix units handle better: conv 1 (2 input channels, 8×8 stride 4) as a
space-to-depth 2×2 stride-1 convolution over 32 channels (4×4 blocks of the padded image,
:func:`space_to_depth_conv`), and conv 3 with its symmetric padding inside the convolution
instead of through a padded copy. Same function (tested against the reference to fp32
rounding), but not bit-identical to the reference kernels, so the fp32 presets keep those and
their committed seeds stay reproducible (profile: benchmarks/results/jumping_profile_amx.md).

:class:`Official5DEncoder` is the same layers applied the way the official code applies them to
the colored task's 5-D input (spec §9.5), a reading kept to test what the paper's Table G.1 ran.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pisces.networks.randconv import (
    KERNEL_SIZE,
    apply_random_conv,
    functorch_wrapped,
    per_sample_kernels,
)

IMAGE_SIZE = 60
REPRESENTATION_DIM = 256
EMBEDDING_DIM = 64
NUM_ACTIONS = 2
#: network input layouts: ``image`` = one (60, 60, C) image; ``official-5d`` = the official
#: colored input (60, 60, 3, 2) read by Keras with (row) as an extra batch axis (spec §9.5).
LAYOUTS = ("image", "official-5d")
COLORS = 3
FRAMES = 2


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


def space_to_depth_conv(
    x: torch.Tensor, conv: nn.Conv2d, pads: tuple[int, int], dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``conv(pad(x))`` computed as a stride-1 convolution over r×r blocks (r = the stride).

    With padded size ``P = H + lo + hi`` and kernel ``k`` both multiples of ``r``, the output
    ``y[o, i, j] = Σ_{c, u, v} W[o, c, u, v] · x̃[c, r·i + u, r·j + v]``, with ``u = r·p + a``
    and ``v = r·q + b``, is ``Σ_{(a, b, c), p, q} W'[o, (a, b, c), p, q] · S[(a, b, c), i + p,
    j + q]`` where ``S[(a, b, c), I, J] = x̃[c, r·I + a, r·J + b]`` (P/r × P/r, r²·C channels)
    and ``W'`` holds the same weights regrouped: a (k/r)×(k/r) convolution, stride 1, no pad.

    Args:
        x: (B, C, H, W), any memory format; ``pads``: TF 'same' (lo, hi), on both axes.
        dtype: the dtype of the blocked input (e.g. bf16 under autocast: one cast-and-permute
            pass instead of two); default ``x``'s.

    Returns:
        (B, O, P/r - k/r + 1, same) in the channels_last memory format.
    """
    b, c, h, _ = x.shape
    r, k = conv.stride[0], conv.kernel_size[0]
    lo, hi = pads
    size = h + lo + hi
    if size % r or k % r:
        raise ValueError(f"space-to-depth needs padded size {size} and kernel {k} divisible by {r}")
    n, m = size // r, k // r
    if x.requires_grad or functorch_wrapped(x):  # differentiable (and vmappable) form
        xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, lo, hi, lo, hi))  # (B, P, P, C)
        blocks = xp.view(b, n, r, n, r, c).permute(0, 1, 3, 2, 4, 5)  # (B, I, J, a, b, C)
        s = blocks.to(dtype or x.dtype, memory_format=torch.contiguous_format, copy=True)
    else:
        s = blocked_input(x, r, pads, dtype or x.dtype)
    s = s.view(b, n, n, r * r * c).permute(0, 3, 1, 2)  # NCHW logical, channels_last
    o = conv.weight.shape[0]
    w = conv.weight.reshape(o, c, m, r, m, r).permute(0, 3, 5, 1, 2, 4)  # (O, a, b, C, p, q)
    return F.conv2d(s, w.reshape(o, r * r * c, m, m), conv.bias)


#: a dtype of each power-of-two byte width, to move whole runs of elements as one element.
_UNIT_DTYPES = {
    16: torch.complex128,
    8: torch.int64,
    4: torch.int32,
    2: torch.int16,
    1: torch.uint8,
}


def _zero_bordered(
    shape: torch.Size, pads: tuple[int, int, int, int], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, tuple[slice, ...]]:
    """An uninitialised channels_last ``(B, C, top + H + bottom, lo + W + hi)`` tensor whose
    border alone is zeroed (no fill of the whole map), and the index of its interior, for a
    ``(B, C, H, W)`` ``shape`` and ``pads = (top, bottom, lo, hi)``."""
    b, c, h, w = shape
    top, bottom, lo, hi = pads
    out = torch.empty(
        (b, c, top + h + bottom, lo + w + hi),
        dtype=dtype,
        device=device,
        memory_format=torch.channels_last,
    )
    out[:, :, :top].zero_()
    out[:, :, top + h :].zero_()
    out[:, :, top : top + h, :lo].zero_()
    out[:, :, top : top + h, lo + w :].zero_()
    return out, (slice(None), slice(None), slice(top, top + h), slice(lo, lo + w))


def blocked_input(
    x: torch.Tensor, r: int, pads: tuple[int, int], dtype: torch.dtype
) -> torch.Tensor:
    """The space-to-depth input of :func:`space_to_depth_conv`, in two cheap passes.

    ``S[n, I, J, a, b, c] = x̃[n, c, r·I + a, r·J + b]`` for the zero-padded ``x̃``, as a
    contiguous ``(B, P/r, P/r, r, r, C)`` tensor of ``dtype``: bit for bit the padded-then-
    permuted copy (tested). Pass 1 casts ``x`` into the interior of an uninitialised padded
    image whose border alone is zeroed (no fill of the whole image). Pass 2 blocks it: within a
    padded row, the ``r·C`` values a block takes from that row are contiguous, so the row is
    reinterpreted as runs of up to 16 bytes (``view(dtype)``: no arithmetic, bits unchanged)
    and the blocking is a 4-D permute of whole runs instead of a 6-D one of single values
    (measured 1.7 against 4.7 ms for the wide grid's (368, 2, 60, 60) bf16 input on one AMX
    Xeon core). Not differentiable: for inputs that need no gradient (the network's input).

    Args:
        x: (B, C, H, W), any memory format, ``H == W``; ``pads``: (lo, hi) on both axes.
        r: block size; ``H + lo + hi`` must be a multiple of it.

    Returns:
        (B, P/r, P/r, r, r, C) contiguous, ``dtype``.
    """
    b, c, h, _ = x.shape
    lo, hi = pads
    size = h + lo + hi
    n = size // r
    padded, inner = _zero_bordered(x.shape, (lo, hi, lo, hi), dtype, x.device)
    padded[inner].copy_(x)  # cast on the way
    p = padded.permute(0, 2, 3, 1)  # (B, P, P, C), contiguous
    run = r * c * p.element_size()  # bytes a block takes from one padded row
    unit = next(u for u in _UNIT_DTYPES if run % u == 0)
    rows = p.view(b, size, size * c).view(_UNIT_DTYPES[unit])  # (B, P, n · run/unit)
    s = rows.view(b, n, r, n, run // unit).permute(0, 1, 3, 2, 4).contiguous()  # (B,I,J,a,·)
    return s.view(dtype).view(b, n, n, r, r, c)


class _ReluPad(torch.autograd.Function):
    """``pad(relu(y))`` written once, its gradient read once (see :func:`relu_pad`)."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, top: int, bottom: int, lo: int, hi: int) -> torch.Tensor:  # type: ignore[override]
        out, inner = _zero_bordered(y.shape, (top, bottom, lo, hi), y.dtype, y.device)
        torch.clamp_min(y, 0, out=out[inner])  # = aten::relu
        ctx.save_for_backward(out)
        ctx.inner = inner
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        (out,) = ctx.saved_tensors
        # relu's own backward (grad where the result > 0), on the interior the pad passes on
        inner = ctx.inner
        return torch.ops.aten.threshold_backward(grad[inner], out[inner], 0), None, None, None, None


def relu_pad(y: torch.Tensor, pads: tuple[int, int], *, rows: bool = True) -> torch.Tensor:
    """``F.pad(F.relu(y), (lo, hi, lo, hi))``, bit for bit, in one pass each way.

    The ReLU writes straight into the interior of the padded map (whose border alone is
    zeroed) instead of allocating its result for the pad to copy into a zero-filled one: 3
    passes over conv 1's (368, 32, 15, 15) output and an 18×18 fill become 1 forward; the
    backward is ReLU's own ``threshold_backward`` on the interior of the incoming gradient
    (the pad's backward is that slice). Outside torch.func (under vmap: the two ops).

    Args:
        y: (B, C, H, W); ``pads``: (lo, hi) on both spatial axes, or on the columns (W) only
            with ``rows=False`` (``F.pad(F.relu(y), (lo, hi))``: the 5-D encoder's maps).

    Returns:
        (B, C, H + lo + hi, W + lo + hi) (H unchanged with ``rows=False``), channels_last.
    """
    lo, hi = pads
    top, bottom = pads if rows else (0, 0)
    if functorch_wrapped(y):
        return F.pad(F.relu(y), (lo, hi, top, bottom))
    return _ReluPad.apply(y, top, bottom, lo, hi)


class JumpingEncoder(nn.Module):
    """Conv trunk + Dense 256 + ReLU: ``(B, 60, 60, C) → h (B, 256)``."""

    #: the RandConv this encoder's input takes (``kernels`` of :meth:`forward`).
    random_conv = staticmethod(apply_random_conv)

    def __init__(
        self, in_channels: int = 2, image_size: int = IMAGE_SIZE, *, fast_kernels: bool = False
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.fast_kernels = fast_kernels
        specs = [(in_channels, 32, 8, 4), (32, 64, 4, 2), (64, 64, 3, 1)]
        convs, pads, size = [], [], image_size
        for cin, cout, k, s in specs:
            convs.append(nn.Conv2d(cin, cout, k, stride=s))
            pads.append(same_pads(size, k, s))
            size = -(-size // s)
        self.convs = nn.ModuleList(convs)
        self.pads = tuple(pads)
        self.out_size = size
        self.dense = nn.Linear(self.flat_features(image_size, size), REPRESENTATION_DIM)

    @staticmethod
    def flat_features(image_size: int, out_size: int) -> int:
        """Width of the flattened last feature map: out_size² positions × 64 channels."""
        return out_size * out_size * 64

    def trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each conv + ReLU, NCHW logical: [(B,32,15,15), (B,64,8,8) ×2]."""
        if self.fast_kernels:
            return self._fast_trunk(x)
        feats = []
        for conv, (lo, hi) in zip(self.convs, self.pads, strict=True):
            x = F.relu(conv(F.pad(x, (lo, hi, lo, hi))))
            feats.append(x)
        return feats

    def _fast_trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`trunk` with the fast kernels (module docstring): conv 1 as space-to-depth,
        its ReLU written into conv 2's padded input (:func:`relu_pad`), conv 3's symmetric pad
        inside the convolution."""
        c1, c2, c3 = self.convs
        p1, p2, (lo3, _) = self.pads
        autocast = torch.is_autocast_enabled(x.device.type)
        dtype = torch.get_autocast_dtype(x.device.type) if autocast else None
        y1 = space_to_depth_conv(x, c1, p1, dtype)
        x2 = relu_pad(y1, p2)
        h2 = F.relu(F.conv2d(x2, c2.weight, c2.bias, c2.stride))
        h3 = F.relu(F.conv2d(h2, c3.weight, c3.bias, c3.stride, lo3))
        n, lo2 = y1.shape[-1], p2[0]
        return [x2[:, :, lo2 : lo2 + n, lo2 : lo2 + n], h2, h3]

    def forward(
        self,
        obs: torch.Tensor,
        *,
        kernels: torch.Tensor | None = None,
        group_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """obs: (B, H, W, C) → h: (B, 256). ``kernels``: RandConv draws (see ``randconv``)."""
        if kernels is not None:
            obs = self.random_conv(obs, kernels, group_index)
        x = obs.permute(0, 3, 1, 2)  # NHWC contiguous == NCHW channels_last: a free view
        x = self.trunk(x)[-1]
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # TF flatten order (H, W, C)
        return F.relu(self.dense(x))


def apply_random_conv_5d(
    x: torch.Tensor, kernels: torch.Tensor, group_index: torch.Tensor | None = None
) -> torch.Tensor:
    """RandConv on the official colored 5-D input: the 2×2 kernel spans (column, color).

    The official ``RandConv`` splits the (B, 60, 60, 3, 2) input into its two frames, stacks
    them on the batch axis and runs a 1 → 1 channel ``Conv2D(2, 'same')``; Keras reads a 5-D
    tensor as batch (B, row), spatial (column, color), channel 1. So, per frame ``f``::

        y[n, r, x, f, c] = Σ_{a,b ∈ {0,1}} K[g(n), a, b] · x̃[n, r, x + a, f, c + b]

    with ``x̃`` zero beyond column 59 and color 2 (TF 'same' padding: 0 before, 1 after) and
    the same kernel for both frames. Color ``c`` of the output mixes colors ``c`` and ``c + 1``
    of the input, so red (0) and green (1) stay apart. The identity kernel is exact.

    Args:
        x: (B, 60, 60, 6) network input, channels frame-major (prev R, G, B, current R, G, B).
        kernels: (G, 1, 1, 2, 2) from :func:`~pisces.networks.randconv.sample_kernels` with
            ``channels_per_frame=1`` (fan 4: the official layer's).
        group_index: (B,) int64 group of each sample, or ``None`` when ``G == 1``.

    Returns:
        (B, 60, 60, 6), same layout and dtype as ``x``.
    """
    b, h, w, channels = x.shape
    if channels != FRAMES * COLORS or kernels.shape[1:] != (1, 1, KERNEL_SIZE, KERNEL_SIZE):
        raise ValueError(
            f"the 5-D RandConv takes (B, H, W, 6) inputs and (G, 1, 1, 2, 2) kernels, got "
            f"{tuple(x.shape)} and {tuple(kernels.shape)}"
        )
    k = per_sample_kernels(kernels, group_index, b).to(x.dtype)
    if functorch_wrapped(x) or not x.is_contiguous():  # the padded form (vmap: no addcmul_)
        xp = F.pad(x.reshape(b, h, w, FRAMES, COLORS), (0, 1, 0, 0, 0, 1))  # color and column
        out: torch.Tensor | None = None
        for a in range(KERNEL_SIZE):
            for bb in range(KERNEL_SIZE):
                shifted = xp[:, :, a : a + w, :, bb : bb + COLORS]
                weight = k[:, 0, 0, a, bb].view(b, 1, 1, 1, 1)
                out = shifted * weight if out is None else torch.addcmul(out, shifted, weight)
        assert out is not None
        return out.reshape(b, h, w, channels)
    # The same sums in the same order on each row's flat (column, frame, color) axis of
    # w · 6 values: a column shift is a shift by 6, a color shift a shift by 1, each term added
    # in place on the span it reaches. A color shift would carry the next frame's (or
    # column's) color 0 into color 2, which the padded form reads as zero: its weight is 0
    # there (a per-position weight row), so every term is a contiguous multiply-add. The
    # padded form's sums, value for value (tested; up to the sign of a zero, and for finite
    # inputs), without its padded copy and its 4 strided passes, which were ~70 % of a bf16
    # randconv-pse-colors 5-D step on an AMX Xeon.
    flat = x.view(b, h, w * channels)
    n = w * channels
    not_last_color = (torch.arange(n, device=x.device) % COLORS != COLORS - 1).to(x.dtype)
    kk = k[:, 0, 0].reshape(b, KERNEL_SIZE * KERNEL_SIZE, 1, 1)  # (a, bb) → a · 2 + bb
    out = flat * kk[:, 0]
    for a, bb in ((0, 1), (1, 0), (1, 1)):
        shift = a * channels + bb
        weight = kk[:, a * KERNEL_SIZE + bb]
        if bb:
            weight = weight * not_last_color[: n - shift]  # (b, 1, n - shift)
        out[:, :, : n - shift].addcmul_(flat[:, :, shift:], weight)
    return out.view(b, h, w, channels)


class Official5DEncoder(JumpingEncoder):
    """The official network on the colored task's 5-D input (spec §9.5): ``(B, 60, 60, 6) → h``.

    The official colored data stack two RGB frames as (T, 60, 60, 3, 2), and Keras' Conv2D
    reads a 5-D tensor as batch (T, row), spatial (column, color), channels (frame). The
    three convolutions therefore run along each row's columns and its 3 colors, every row on
    its own, and the Dense layer sees 60 rows × 8 columns × 1 × 64 = 30720 features. The
    kernels keep their Keras shapes (32×2×8×8, 64×32×4×4, 64×64×3×3; Glorot fans from
    those), but with TF 'same' padding on a color axis of width 3 (then 1) only the taps that
    meet data matter: colors 0-2 meet taps 2-4 of conv 1 and the single remaining position
    meets tap 1 of convs 2 and 3. The forward computes exactly those taps, as (1 × k)
    convolutions over (row, column) with (frame, color) as input channels, which equals the
    zero-padded full convolution (tested) at a third of its cost; the unused taps get zero
    gradient, as in TensorFlow, and still count in the ℓ2 term. The layers, their order and
    the forward (flatten in Keras' (row, column, channel) order) are :class:`JumpingEncoder`'s.
    """

    #: (first used color tap, taps used) of each conv: TF 'same' pads before = 2, 1, 1.
    COLOR_TAPS = ((2, COLORS), (1, 1), (1, 1))
    random_conv = staticmethod(apply_random_conv_5d)

    def __init__(self, in_channels: int = FRAMES * COLORS, image_size: int = IMAGE_SIZE) -> None:
        if in_channels != FRAMES * COLORS:
            raise ValueError(f"the official 5-D input has 6 channels, got {in_channels}")
        super().__init__(FRAMES, image_size)  # the frames are the convolutions' channels
        self.in_channels = in_channels

    @staticmethod
    def flat_features(image_size: int, out_size: int) -> int:
        """Every row keeps its place: image_size rows × out_size columns × 64 channels."""
        return image_size * out_size * 64

    def effective_weight(self, i: int) -> torch.Tensor:
        """Conv ``i``'s taps that meet data, as a (out, in·colors, 1, k) kernel over (row,
        column); the input channels of conv 0 are (frame, color), frame-major like the input."""
        w = self.convs[i].weight  # (out, in, k_column, k_color)
        first, n = self.COLOR_TAPS[i]
        w = w[..., first : first + n]  # (out, in, k, n)
        return w.permute(0, 1, 3, 2).reshape(w.shape[0], -1, 1, w.shape[2])

    def trunk(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: (B, 6, 60 rows, 60 columns) → feature maps [(B,32,60,15), (B,64,60,8) ×2].

        Two of the three column pads without a padded copy, where that is the same
        arithmetic: conv 1's ReLU is written straight into conv 2's padded input
        (:func:`relu_pad`), and under autocast conv 3's symmetric pad sits inside the
        convolution. Train steps are bit-identical to ``F.pad`` before every conv (both
        precisions, every colored preset; conv 3's forward at any batch size). Not done: conv
        1's pad inside the convolution (it changed a bf16 randconv-pse-colors step in the last
        bits) and conv 3's in fp32 (its input gradient then differs in the last bits)."""
        c1, c2, c3 = self.convs
        (lo1, hi1), (lo2, _), (lo3, hi3) = self.pads
        w1, w2, w3 = (self.effective_weight(i) for i in range(3))
        y1 = F.conv2d(F.pad(x, (lo1, hi1)), w1, c1.bias, (1, c1.stride[0]))
        x2 = relu_pad(y1, self.pads[1], rows=False)  # conv 2's padded input
        y2 = F.conv2d(x2, w2, c2.bias, (1, c2.stride[0]))
        h2 = F.relu(y2)
        if lo3 == hi3 and torch.is_autocast_enabled(x.device.type):
            y3 = F.conv2d(h2, w3, c3.bias, (1, c3.stride[0]), padding=(0, lo3))
        else:
            y3 = F.conv2d(F.pad(h2, (lo3, hi3)), w3, c3.bias, (1, c3.stride[0]))
        return [x2[..., lo2 : lo2 + y1.shape[-1]], h2, F.relu(y3)]


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
    ``layout="official-5d"`` uses :class:`Official5DEncoder` (colored task only).
    ``fast_kernels``: the image encoder's fast path (see the module docstring; the 5-D encoder
    has none); the parameters and state dict are the same either way.
    """

    def __init__(
        self,
        generator: torch.Generator,
        *,
        in_channels: int = 2,
        dropout: float = 0.0,
        layout: str = "image",
        fast_kernels: bool = False,
    ) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout = layout
        self.encoder = (
            JumpingEncoder(in_channels, fast_kernels=fast_kernels)
            if layout == "image"
            else Official5DEncoder(in_channels)
        )
        self.policy = PolicyHead(dropout)
        self.projection = ProjectionHead()
        keras_init_(self, generator)
        self.to(memory_format=torch.channels_last)

    def forward(self, obs: torch.Tensor, **randconv: torch.Tensor | None) -> torch.Tensor:
        """obs: (B, H, W, C) → policy logits (B, 2)."""
        return self.policy(self.encoder(obs, **randconv))
