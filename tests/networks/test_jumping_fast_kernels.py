"""The bf16 fast path's rewritten layers compute the reference layers' function (§ module doc
of ``pisces.networks.jumping``): space-to-depth conv 1, conv 3 padded inside the convolution."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pisces.networks.jumping import (
    JumpingEncoder,
    JumpingNetwork,
    blocked_input,
    keras_init_,
    relu_pad,
    space_to_depth_conv,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _encoders() -> tuple[JumpingEncoder, JumpingEncoder]:
    ref = JumpingEncoder()
    keras_init_(ref, _gen(1))
    for p in ref.parameters():  # non-zero biases, so a misplaced bias would show
        if p.dim() == 1:
            nn.init.uniform_(p, -0.1, 0.1, generator=_gen(2))
    fast = JumpingEncoder(fast_kernels=True)
    fast.load_state_dict(ref.state_dict())
    return fast, ref


@pytest.mark.parametrize(
    ("cin", "cout", "k", "r", "pads", "size"),
    [(2, 32, 8, 4, (2, 2), 60), (32, 64, 4, 2, (1, 2), 15), (3, 5, 6, 3, (0, 3), 9)],
)
def test_space_to_depth_conv_is_the_padded_strided_conv(cin, cout, k, r, pads, size):
    conv = nn.Conv2d(cin, cout, k, stride=r)
    x = torch.randn(3, cin, size, size, generator=_gen(3), requires_grad=True)
    lo, hi = pads
    ref = conv(F.pad(x, (lo, hi, lo, hi)))
    out = space_to_depth_conv(x.to(memory_format=torch.channels_last), conv, pads)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g = torch.randn(ref.shape, generator=_gen(4))
    want = torch.autograd.grad(ref, (x, conv.weight, conv.bias), g)
    got = torch.autograd.grad(out, (x, conv.weight, conv.bias), g)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    ("c", "r", "pads", "size", "dtype"),
    [
        (2, 4, (2, 2), 60, torch.bfloat16),  # conv 1 of the wide grid: 16-byte runs
        (2, 4, (2, 2), 60, torch.float32),  # 32-byte runs: two 16-byte units each
        (32, 2, (1, 2), 15, torch.bfloat16),
        (3, 3, (0, 3), 9, torch.float32),  # 36-byte runs: 4-byte units
        (1, 3, (1, 2), 6, torch.bfloat16),  # 6-byte runs: 2-byte units
    ],
)
def test_blocked_input_is_the_padded_permuted_copy_bit_for_bit(c, r, pads, size, dtype):
    x = torch.randn(3, size, size, c, generator=_gen(5)) * 100
    x[0, 0, 0, 0], x[1, -1, -1, -1], x[2, 1, 2, 0] = float("nan"), float("-inf"), -0.0
    x = x.permute(0, 3, 1, 2)  # NCHW logical, channels_last, as the encoder's input
    lo, hi = pads
    n = (size + lo + hi) // r
    xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, lo, hi, lo, hi))
    want = xp.view(3, n, r, n, r, c).permute(0, 1, 3, 2, 4, 5).to(dtype).contiguous()
    got = blocked_input(x, r, pads, dtype)
    assert got.dtype == dtype and got.shape == want.shape and got.is_contiguous()
    assert torch.equal(got.view(torch.int16), want.view(torch.int16))  # bits: NaN, -0.0 too


def test_space_to_depth_conv_is_the_same_with_or_without_an_input_gradient():
    conv = nn.Conv2d(2, 8, 8, stride=4)
    x = torch.randn(2, 2, 60, 60, generator=_gen(6))
    with_grad = space_to_depth_conv(x.clone().requires_grad_(), conv, (2, 2))
    no_grad = space_to_depth_conv(x, conv, (2, 2))
    assert torch.equal(with_grad, no_grad)  # the same blocked values reach the same conv


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_relu_pad_is_pad_of_relu_bit_for_bit_with_its_gradient(dtype):
    y = torch.randn(3, 5, 15, 15, generator=_gen(9)).to(dtype)
    y = y.contiguous(memory_format=torch.channels_last)
    y[0, 0, 0, 0] = 0.0  # ReLU's gradient at 0 is 0 in both
    a, b = (y.clone().requires_grad_() for _ in range(2))
    want = F.pad(F.relu(a), (1, 2, 1, 2))
    got = relu_pad(b, (1, 2))
    assert got.shape == (3, 5, 18, 18) and got.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, want)
    g = torch.randn(want.shape, generator=_gen(10)).to(dtype)
    (ga,) = torch.autograd.grad(want, a, g)
    (gb,) = torch.autograd.grad(got, b, g)
    assert torch.equal(ga, gb) and (gb != 0).any() and (gb == 0).any()


def test_space_to_depth_conv_names_sizes_it_cannot_block():
    conv = nn.Conv2d(2, 4, 8, stride=4)
    with pytest.raises(ValueError, match="padded size 63 and kernel 8 divisible by 4"):
        space_to_depth_conv(torch.zeros(1, 2, 60, 60), conv, (1, 2))


def test_fast_encoder_is_the_reference_function_in_fp32_with_its_gradients():
    fast, ref = _encoders()
    x = torch.rand(6, 60, 60, 2, generator=_gen(5))
    h_fast, h_ref = fast(x), ref(x)
    torch.testing.assert_close(h_fast, h_ref, rtol=1e-5, atol=1e-6)
    g = torch.randn(h_ref.shape, generator=_gen(6))
    for p, q in zip(
        torch.autograd.grad(h_fast, list(fast.parameters()), g),
        torch.autograd.grad(h_ref, list(ref.parameters()), g),
        strict=True,
    ):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_fast_encoder_under_bf16_autocast_is_within_bf16_rounding_of_fp32():
    # Stated tolerance: bf16 keeps 8 significant bits (relative step 2^-8 = 0.4 %); through three
    # convolutions and the dense layer the representation stays within 3 % (of its scale) of
    # the fp32 reference, as the reference kernels' own bf16 autocast does.
    fast, ref = _encoders()
    x = torch.rand(6, 60, 60, 2, generator=_gen(7))
    want = ref(x)
    scale = want.abs().max()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h_fast, h_ref_bf16 = fast(x).float(), ref(x).float()
    assert (h_fast - want).abs().max() <= 0.03 * scale
    assert (h_ref_bf16 - want).abs().max() <= 0.03 * scale
    assert not torch.equal(h_fast, want)  # it did compute in bf16


def test_the_flag_changes_no_parameter_and_the_5d_encoder_has_no_fast_kernels():
    a = JumpingNetwork(_gen(8), fast_kernels=True)
    b = JumpingNetwork(_gen(8))
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.encoder.fast_kernels and not b.encoder.fast_kernels
    c = JumpingNetwork(_gen(8), in_channels=6, layout="official-5d", fast_kernels=True)
    d = JumpingNetwork(_gen(8), in_channels=6, layout="official-5d")
    assert not c.encoder.fast_kernels
    x = torch.rand(2, 60, 60, 6, generator=_gen(9))
    assert torch.equal(c(x), d(x))
