"""The official network on the colored task's 5-D input (spec §9.5): ``Official5DEncoder`` and
its RandConv against a direct transcription of what Keras computes on a (B, 60, 60, 3, 2)
tensor (the row an extra batch axis, full kernels, TF 'same' padding on both spatial axes),
the Keras fans of its initialisation, the config that selects it, and a trainer step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from pisces.envs.jumping import ALL_TASKS, optimal_inputs
from pisces.experiments.jumping.checkpoint import load_checkpoint, save_checkpoint
from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.trainer import JumpingTrainer
from pisces.networks.jumping import (
    JumpingNetwork,
    Official5DEncoder,
    apply_random_conv_5d,
    keras_init_,
    same_pads,
)
from pisces.networks.randconv import sample_kernels


def _net(seed: int = 0) -> JumpingNetwork:
    return JumpingNetwork(
        torch.Generator().manual_seed(seed), in_channels=6, layout="official-5d"
    ).double()


def _official_5d(obs: torch.Tensor) -> torch.Tensor:
    """(B, 60, 60, 6) frame-major channels → the official (B, 60, 60, 3, 2) stack."""
    return obs.reshape(*obs.shape[:3], 2, 3).transpose(-1, -2)


def _keras_reference(enc: Official5DEncoder, obs: torch.Tensor) -> torch.Tensor:
    """What Keras computes: every (sample, row) a (column, color) image with 2 channels, the
    full kernels, TF 'same' padding on both axes, flatten in (row, column, color, channel)."""
    b = obs.shape[0]
    x = _official_5d(obs).reshape(b * 60, 60, 3, 2).permute(0, 3, 1, 2)  # (B·60, f, col, color)
    size = (60, 3)
    for conv in enc.convs:
        k, s = conv.kernel_size[0], conv.stride[0]
        (c0, c1), (w0, w1) = same_pads(size[0], k, s), same_pads(size[1], k, s)
        x = F.relu(F.conv2d(F.pad(x, (w0, w1, c0, c1)), conv.weight.contiguous(), conv.bias, s))
        size = (-(-size[0] // s), -(-size[1] // s))
    assert size == (8, 1)
    x = x.reshape(b, 60, 64, 8, 1).permute(0, 1, 3, 4, 2).reshape(b, -1)
    return F.relu(enc.dense(x))


def test_encoder_equals_keras_on_the_5d_input_forward_and_gradients():
    net = _net(1)
    enc = net.encoder
    obs = torch.rand(3, 60, 60, 6, dtype=torch.float64)
    ours = enc(obs)
    assert ours.shape == (3, 256) and enc.dense.in_features == 60 * 8 * 64
    ref = _keras_reference(enc, obs)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)
    w = torch.randn(3, 256, dtype=torch.float64)
    g_ours = torch.autograd.grad((ours * w).sum(), list(enc.parameters()))
    g_ref = torch.autograd.grad((_keras_reference(enc, obs) * w).sum(), list(enc.parameters()))
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # The taps that only ever meet TF's zero padding get no gradient, the others do.
    for i, (first, n) in enumerate(Official5DEncoder.COLOR_TAPS):
        g = g_ours[2 * i]  # conv i weight: (out, in, k_column, k_color)
        used = torch.zeros(g.shape[-1], dtype=torch.bool)
        used[first : first + n] = True
        assert (g[..., ~used] == 0).all() and (g[..., used].abs() > 0).any()


def test_the_row_is_a_batch_axis_and_colors_stay_apart():
    enc = _net(2).encoder
    obs = torch.rand(1, 60, 60, 6, dtype=torch.float64)
    feats = enc.trunk(obs.permute(0, 3, 1, 2))
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 60, 15), (64, 60, 8), (64, 60, 8)]
    changed = obs.clone()
    changed[0, 17] += 1.0  # one row of the image
    diff = (enc.trunk(changed.permute(0, 3, 1, 2))[-1] - feats[-1]).abs().sum(dim=(0, 1, 3))
    assert diff[17] > 0 and (diff[torch.arange(60) != 17] == 0).all()
    # conv 1's used taps see red, green and blue through different weights
    w = enc.effective_weight(0)  # (32, 6 = frame·color, 1, 8)
    assert w.shape == (32, 6, 1, 8)
    torch.testing.assert_close(w[:, 1, 0], enc.convs[0].weight[:, 0, :, 3])  # frame 0, green
    torch.testing.assert_close(w[:, 5, 0], enc.convs[0].weight[:, 1, :, 4])  # frame 1, blue


def test_keras_initialisation_uses_the_full_kernel_fans():
    net = JumpingNetwork(torch.Generator().manual_seed(3), in_channels=6, layout="official-5d")
    enc = net.encoder
    fans = [(8 * 8 * 2, 8 * 8 * 32), (4 * 4 * 32, 4 * 4 * 64), (9 * 64, 9 * 64)]
    for conv, (fan_in, fan_out) in zip(enc.convs, fans, strict=True):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = conv.weight.detach()
        assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
        assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)
        assert (conv.bias == 0).all()
    bound = math.sqrt(6.0 / (30720 + 256))
    assert enc.dense.weight.abs().max() <= bound and (enc.dense.bias == 0).all()


def test_randconv_5d_equals_a_conv_over_column_and_color_per_frame():
    b = 4
    x = torch.rand(b, 60, 60, 6, dtype=torch.float64)
    k = sample_kernels(
        b, generator=torch.Generator().manual_seed(5), p_identity=0.0, dtype=torch.float64
    )
    y = apply_random_conv_5d(x, k, torch.arange(b))
    xs = _official_5d(x)  # (B, row, col, color, frame)
    expected = torch.empty_like(xs)
    for n in range(b):
        for f in range(2):
            img = xs[n, :, :, :, f].unsqueeze(1)  # rows as the batch: (60, 1, col, color)
            out = F.conv2d(F.pad(img, (0, 1, 0, 1)), k[n, 0, 0].view(1, 1, 2, 2))
            expected[n, :, :, :, f] = out[:, 0]
    torch.testing.assert_close(_official_5d(y), expected, rtol=1e-12, atol=1e-12)
    identity = sample_kernels(1, generator=torch.Generator().manual_seed(0), p_identity=1.0)
    assert torch.equal(apply_random_conv_5d(x.float(), identity), x.float())
    with pytest.raises(ValueError, match="5-D RandConv takes"):
        apply_random_conv_5d(torch.rand(1, 60, 60, 2), identity)


def _randconv_5d_padded(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The official layer's sums over an explicitly padded copy, in its (column, color) order,
    with the multiply-adds of ``torch.addcmul`` (which may fuse them: its rounding is the one
    the committed 5-D seeds ran with)."""
    b, h, w, _ = x.shape
    xp = F.pad(x.reshape(b, h, w, 2, 3), (0, 1, 0, 0, 0, 1))
    out = xp[:, :, :w, :, :3] * k[:, 0, 0, 0, 0].view(b, 1, 1, 1, 1)
    for a, c in ((0, 1), (1, 0), (1, 1)):
        weight = k[:, 0, 0, a, c].view(b, 1, 1, 1, 1)
        out = torch.addcmul(out, xp[:, :, a : a + w, :, c : c + 3], weight)
    return out.reshape(b, h, w, 6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_randconv_5d_flat_shifts_are_the_padded_sums_value_for_value(dtype):
    b = 6
    x = torch.rand(b, 60, 60, 6, generator=torch.Generator().manual_seed(7)).to(dtype)
    k = sample_kernels(3, generator=torch.Generator().manual_seed(8), p_identity=0.0)
    assert (k[:, 0, 0] != 0).all()  # every tap in play
    group = torch.tensor([0, 1, 2, 0, 1, 2])
    want = _randconv_5d_padded(x, k[group].to(dtype))
    got = apply_random_conv_5d(x, k, group)
    assert got.dtype == dtype and got.is_contiguous()
    assert torch.equal(got, want)  # same products, same order: equal values (±0 aside)
    strided = x.permute(0, 2, 1, 3).contiguous().permute(0, 2, 1, 3)  # not contiguous
    assert torch.equal(apply_random_conv_5d(strided, k, group), want)  # the padded form


@pytest.mark.parametrize("bf16", [False, True])
def test_5d_trunk_without_padded_copies_is_the_padded_trunk_bit_for_bit(bf16):
    enc = Official5DEncoder()
    keras_init_(enc, torch.Generator().manual_seed(11))
    x = torch.rand(6, 60, 60, 6, generator=torch.Generator().manual_seed(12)).permute(0, 3, 1, 2)

    def padded_trunk(x):  # F.pad before every conv, as the official layers' 'same'
        feats = []
        for i, (conv, (lo, hi)) in enumerate(zip(enc.convs, enc.pads, strict=True)):
            w = enc.effective_weight(i)
            x = F.relu(F.conv2d(F.pad(x, (lo, hi)), w, conv.bias, (1, conv.stride[0])))
            feats.append(x)
        return feats

    outs, grads = [], []
    for trunk in (padded_trunk, enc.trunk):
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            feats = trunk(x)
        outs.append(feats)
        params = [p for conv in enc.convs for p in conv.parameters()]
        grads.append(torch.autograd.grad(feats[-1].float().square().sum(), params))
    for a, b in zip(*outs, strict=True):
        assert a.shape == b.shape and torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


def test_randconv_5d_keeps_red_out_of_the_green_channel():
    x = {c: torch.from_numpy(optimal_inputs(ALL_TASKS[:1], c)[0, 5:6]) for c in ("red", "green")}
    rows, cols = (x["red"][0, ..., 3] == 0.5).nonzero().unbind(1)
    r, c = int(rows.min()) + 1, int(cols.min()) + 1  # its 2x2 window (column, color) is obstacle
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        k = sample_kernels(1, generator=g, p_identity=0.0)
        red, green = (apply_random_conv_5d(x[col], k)[0, r, c] for col in ("red", "green"))
        assert red[4] == 0 and red[3] != 0  # current frame: red only reaches the red output
        assert green[4] != 0 and green[3] != 0  # green reaches the red and green outputs


def test_config_selects_the_5d_network_and_rejects_what_does_not_apply():
    cfg = make_config("randconv-colors", colors_input="official-5d")
    assert cfg.network_layout == "official-5d" and cfg.rand_conv_channels == 1
    assert make_config("randconv-colors", colors_input="6-channel").network_layout == "image"
    with pytest.raises(ValueError, match="applies to colors=True only"):
        make_config("randconv", colors_input="official-5d")
    with pytest.raises(ValueError, match="does not apply to colors_input"):
        make_config("randconv-colors", colors_input="official-5d", rand_conv_rgb="per-channel")
    with pytest.raises(ValueError, match="colors_input must be one of"):
        make_config("pse-colors", colors_input="5d")
    with pytest.raises(ValueError, match="layout must be one of"):
        JumpingNetwork(torch.Generator(), in_channels=6, layout="rows")
    with pytest.raises(ValueError, match="has 6 channels"):
        JumpingNetwork(torch.Generator(), in_channels=2, layout="official-5d")


def test_a_5d_trainer_step_updates_every_layer_and_its_checkpoint_loads(tmp_path):
    cfg = make_config(
        "randconv-pse-colors", "wide", colors_input="official-5d", batch_size=8, epochs=1
    )
    trainer = JumpingTrainer(cfg, 1)
    assert isinstance(trainer.net.encoder, Official5DEncoder)
    before = {n: p.detach().clone() for n, p in trainer.net.named_parameters()}
    losses = trainer.learner.update()
    assert torch.isfinite(losses).all()
    for name, p in trainer.net.named_parameters():
        assert not torch.equal(p, before[name]), name
    path = tmp_path / "seed-001.pt"
    save_checkpoint(path, trainer.net, cfg, seed=1, epoch=1)
    net, loaded = load_checkpoint(path)
    assert loaded.colors_input == "official-5d" and isinstance(net.encoder, Official5DEncoder)
    x = torch.from_numpy(np.ascontiguousarray(optimal_inputs(ALL_TASKS[:1], "green")[0, :4]))
    trainer.net.eval()
    torch.testing.assert_close(net(x), trainer.net(x))
