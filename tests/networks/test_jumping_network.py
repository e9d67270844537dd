"""The jumping-task network (spec §5): shapes, TF padding, Keras init, dropout."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from pisces.networks.jumping import JumpingNetwork, same_pads


def _net(seed: int = 0, **kw) -> JumpingNetwork:
    return JumpingNetwork(torch.Generator().manual_seed(seed), **kw)


def test_layer_output_shapes():
    net = _net()
    x = torch.rand(3, 60, 60, 2)
    feats = net.encoder.trunk(x.permute(0, 3, 1, 2))
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 15, 15), (64, 8, 8), (64, 8, 8)]
    h = net.encoder(x)
    assert h.shape == (3, 256) and (h >= 0).all()
    assert net.policy(h).shape == (3, 2)
    z = net.projection(h)
    assert z.shape == (3, 64) and (z >= 0).all()


def test_tf_same_padding():
    assert same_pads(60, 8, 4) == (2, 2)
    assert same_pads(15, 4, 2) == (1, 2)
    assert same_pads(8, 3, 1) == (1, 1)
    assert _net().encoder.pads == ((2, 2), (1, 2), (1, 1))


def test_conv1_matches_a_hand_padded_reference():
    net = _net(1)
    x = torch.rand(2, 60, 60, 2)
    conv = net.encoder.convs[0]
    ref = F.relu(F.conv2d(F.pad(x.permute(0, 3, 1, 2), (2, 2, 2, 2)), conv.weight, conv.bias, 4))
    torch.testing.assert_close(net.encoder.trunk(x.permute(0, 3, 1, 2))[0], ref)


def test_keras_default_init():
    net = _net(2)
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            assert torch.count_nonzero(m.bias) == 0
            fan_in = m.weight[0].numel()
            fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
            limit = math.sqrt(6 / (fan_in + fan_out))
            assert m.weight.abs().max() <= limit
            if m.weight.numel() > 1000:
                assert m.weight.std().item() == pytest.approx(limit / math.sqrt(3), rel=0.05)


def test_init_is_deterministic_per_generator():
    a, b, c = _net(3), _net(3), _net(4)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.encoder.dense.weight, c.encoder.dense.weight)


def test_dropout_uses_an_explicit_generator_and_only_in_training():
    net = _net(5, dropout=0.3)
    h = torch.ones(4000, 256)
    with pytest.raises(ValueError, match="Generator"):
        net.policy(h)
    g = torch.Generator().manual_seed(0)
    a = net.policy(h, generator=torch.Generator().manual_seed(0))
    b = net.policy(h, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    net.eval()
    torch.testing.assert_close(net.policy(h, generator=g), net.policy.linear(h))


def test_dropout_rate():
    net = _net(6, dropout=0.3)
    captured = {}
    net.policy.linear.register_forward_pre_hook(lambda m, args: captured.update(h=args[0]))
    net.policy(torch.ones(100, 256), generator=torch.Generator().manual_seed(1))
    kept = captured["h"] != 0
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.01)
    assert torch.allclose(captured["h"][kept], torch.tensor(1 / 0.7))
