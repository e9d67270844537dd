"""RandConv (spec §6.6): TF 'same' 2×2 conv per frame, shared kernel, identity 10% of calls."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from pisces.networks.randconv import (
    RandConv,
    apply_random_conv,
    glorot_normal_std,
    sample_kernels,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _reference(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-frame conv2d with TF 'same' padding (0 top/left, 1 bottom/right); x (B, H, W, F)."""
    frames = x.permute(0, 3, 1, 2)  # (B, F, H, W)
    b, f, h, w = frames.shape
    y = F.conv2d(F.pad(frames.reshape(b * f, 1, h, w), (0, 1, 0, 1)), kernel.view(1, 1, 2, 2))
    return y.view(b, f, h, w).permute(0, 2, 3, 1)


def test_matches_tf_same_conv_applied_to_each_frame():
    x = torch.rand(5, 60, 60, 2, generator=_gen(1))
    k = sample_kernels(1, generator=_gen(2), p_identity=0.0)
    out = apply_random_conv(x, k)
    assert out.shape == x.shape
    torch.testing.assert_close(out, _reference(x, k[0, 0, 0]))


def _padded_shifts(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The padded formulation: four multiply-adds over shifted views of a zero-padded copy,
    in the order (0, 0), (0, 1), (1, 0), (1, 1); k (B, 2, 2) per-sample kernels."""
    b, h, w, _ = x.shape
    xp = F.pad(x, (0, 0, 0, 1, 0, 1))
    out = xp[:, :h, :w] * k[:, 0, 0].view(b, 1, 1, 1)
    for a, c in ((0, 1), (1, 0), (1, 1)):
        out = torch.addcmul(out, xp[:, a : a + h, c : c + w], k[:, a, c].view(b, 1, 1, 1))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(37, 60, 60, 2), (3, 5, 7, 2), (4, 1, 1, 1)])
def test_without_the_padded_copy_bit_identical_to_the_padded_formulation(shape, dtype):
    # The shifted terms are added in place on the region each reaches: beyond it the padded
    # input is zero, so every element gets the same sums in the same order, bit for bit.
    x = torch.randn(shape, generator=_gen(3)).to(dtype)
    k = sample_kernels(4, generator=_gen(4), p_identity=0.0)
    group = torch.randint(0, 4, (shape[0],), generator=_gen(5))
    out = apply_random_conv(x, k, group)
    assert out.dtype == dtype and out.is_contiguous()
    assert torch.equal(out, _padded_shifts(x, k[group, 0, 0].to(dtype)))


def test_same_kernel_on_both_frames_and_across_the_batch():
    frame = torch.rand(1, 60, 60, 1, generator=_gen(3))
    x = frame.expand(4, 60, 60, 2).contiguous()  # 4 identical samples, identical frames
    out = RandConv(p_identity=0.0)(x, _gen(4))
    torch.testing.assert_close(out[..., 0], out[..., 1], rtol=0, atol=0)
    for i in range(1, 4):
        torch.testing.assert_close(out[i], out[0], rtol=0, atol=0)
    assert not torch.equal(out, x)


def test_groups_get_their_own_kernel():
    x = torch.rand(6, 60, 60, 2, generator=_gen(5))
    k = sample_kernels(3, generator=_gen(6), p_identity=0.0)
    group = torch.tensor([0, 0, 1, 1, 2, 2])
    out = apply_random_conv(x, k, group)
    for n in range(6):
        torch.testing.assert_close(out[n : n + 1], _reference(x[n : n + 1], k[group[n], 0, 0]))


def test_identity_call_is_exact():
    x = torch.rand(3, 60, 60, 2, generator=_gen(7))
    k = sample_kernels(1, generator=_gen(8), p_identity=1.0)
    assert torch.equal(apply_random_conv(x, k), x)


def test_identity_in_about_ten_percent_of_calls():
    g = _gen(9)
    n = 20_000
    k = sample_kernels(n, generator=g).view(n, 4)
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0])
    frac = (k == identity).all(dim=1).float().mean().item()
    # Binomial sd = sqrt(0.09 / 20000) = 0.0021: a 5-sd band.
    assert abs(frac - 0.1) < 0.0106


def test_kernel_statistics_are_keras_glorot_normal():
    sigma = glorot_normal_std(1)
    assert sigma == pytest.approx(math.sqrt(2 / 8) / 0.87962566103423978)
    assert sigma == pytest.approx(0.568, abs=1e-3)
    k = sample_kernels(50_000, generator=_gen(10), p_identity=0.0).flatten().numpy()
    assert np.abs(k).max() <= 2 * sigma + 1e-6  # truncated at ±2σ
    assert abs(k.mean()) < 0.01
    # std of a normal truncated to ±2σ is 0.8796 σ = sqrt(2 / (fan_in + fan_out)) = 0.5
    assert k.std() == pytest.approx(0.5, rel=0.01)


def test_deterministic_per_generator():
    a = sample_kernels(64, generator=_gen(11))
    b = sample_kernels(64, generator=_gen(11))
    c = sample_kernels(64, generator=_gen(12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_rgb_frames_use_a_c_to_c_kernel():
    x = torch.rand(2, 60, 60, 6, generator=_gen(13))
    k = sample_kernels(1, generator=_gen(14), channels_per_frame=3, p_identity=0.0)
    out = apply_random_conv(x, k)
    frames = x.view(2, 60, 60, 2, 3).permute(0, 3, 4, 1, 2).reshape(4, 3, 60, 60)
    ref = F.conv2d(F.pad(frames, (0, 1, 0, 1)), k[0])
    ref = ref.view(2, 2, 3, 60, 60).permute(0, 3, 4, 1, 2).reshape(2, 60, 60, 6)
    torch.testing.assert_close(out, ref)


def test_errors():
    x = torch.rand(2, 60, 60, 2)
    with pytest.raises(ValueError, match="group_index"):
        apply_random_conv(x, sample_kernels(2, generator=_gen()))
    with pytest.raises(ValueError, match="p_identity"):
        RandConv(p_identity=1.5)


def test_both_randconvs_name_a_missing_or_misshaped_group_index():
    from pisces.networks.jumping import apply_random_conv_5d

    two = sample_kernels(2, generator=torch.Generator().manual_seed(0))
    for fn in (apply_random_conv, apply_random_conv_5d):
        x = torch.rand(3, 60, 60, 6)
        with pytest.raises(ValueError, match="group_index is required"):
            fn(x, two)
        with pytest.raises(ValueError, match=r"group_index must have shape \(3,\)"):
            fn(x, two, torch.zeros(2, dtype=torch.long))
        ok = fn(x, two, torch.tensor([0, 1, 1]))
        assert torch.equal(ok[1], fn(x[1:2], two[1:2])[0])  # sample 1 got kernel 1


def test_under_vmap_it_falls_back_to_the_padded_form_and_agrees():
    # torch.func.vmap (the GPU ensemble) has no batching rule for the in-place addcmul_.
    x = torch.rand(3, 4, 6, 5, 2, generator=_gen(6))  # (seeds, B, H, W, F)
    k = sample_kernels(4, generator=_gen(7), p_identity=0.0)
    group = torch.tensor([0, 3, 1, 3])
    out = torch.func.vmap(lambda xs: apply_random_conv(xs, k, group))(x)
    for s in range(3):
        torch.testing.assert_close(out[s], apply_random_conv(x[s], k, group), rtol=0, atol=0)
