"""DCS networks (spec dcs §2): shapes at 84 × 84, DrQ init, the tanh-Gaussian policy."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, TanhTransform, TransformedDistribution
from torch.nn import functional as F

from pisces.networks.dmc import (
    Actor,
    ConvEncoder,
    Critic,
    Projection,
    conv_output_size,
    orthogonal_init_,
    squash_log_std,
    tanh_gaussian_log_prob,
    tanh_gaussian_sample,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on the shared 2-core machine, OpenMP barriers of tiny ops under
    load cost 40× more than the ops themselves (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_real_84px_shapes():
    enc = ConvEncoder(9, 84)
    assert conv_output_size(84) == 35 and enc.out_dim == 32 * 35 * 35
    x = torch.randint(0, 256, (2, 9, 84, 84), dtype=torch.uint8)
    sizes, h = [], x.float() / 255
    for conv in enc.convs:
        h = F.relu(conv(h))
        sizes.append(tuple(h.shape[1:]))
    assert sizes == [(32, 41, 41), (32, 39, 39), (32, 37, 37), (32, 35, 35)]
    assert [c.stride for c in enc.convs] == [(2, 2), (1, 1), (1, 1), (1, 1)]
    assert all(c.padding == (0, 0) for c in enc.convs)
    out = enc(x)
    assert out.shape == (2, 39200) and (out >= 0).all()
    torch.testing.assert_close(out, h.flatten(1))  # input scaled by 1/255, no -0.5
    critic, actor = Critic(enc.out_dim, 6), Actor(enc.out_dim, 6)
    assert critic.trunk.linear.weight.shape == (50, 39200)
    assert critic.q1[0].weight.shape == (1024, 56) and critic.q1[2].weight.shape == (1024, 1024)
    assert actor.head.weight.shape == (12, 1024)
    q1, q2 = critic(out, torch.zeros(2, 6))
    assert q1.shape == q2.shape == (2,)
    mean, log_std = actor(out)
    assert mean.shape == log_std.shape == (2, 6)
    assert actor.penultimate(out).shape == (2, 1024)
    assert Projection()(actor.penultimate(out)).shape == (2, 256)


def test_encoder_checks_and_chunks():
    enc = ConvEncoder(3, 16, num_filters=4)
    with pytest.raises(ValueError, match="obs must be"):
        enc(torch.zeros(1, 9, 16, 16))
    with pytest.raises(ValueError, match="too small"):
        ConvEncoder(3, 8)
    x = torch.randint(0, 256, (7, 3, 16, 16), dtype=torch.uint8)
    torch.testing.assert_close(enc(x, chunk=3), enc(x))
    ref = enc(x)
    enc.set_channels_last()
    assert enc.channels_last and enc.convs[0].weight.is_contiguous(
        memory_format=torch.channels_last
    )
    torch.testing.assert_close(enc(x), ref)


def test_orthogonal_init_gains_and_zero_biases():
    torch.manual_seed(123)  # only to show the init ignores the global RNG
    net = torch.nn.Sequential(ConvEncoder(9, 16, num_filters=8), Critic(8, 2, hidden_dim=64))
    orthogonal_init_(net, torch.Generator().manual_seed(0))
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            w = m.weight.flatten(1).double()
            gain2 = 2.0 if isinstance(m, torch.nn.Conv2d) else 1.0
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            torch.testing.assert_close(
                gram, gain2 * torch.eye(gram.shape[0]).double(), atol=1e-5, rtol=0
            )
            assert torch.count_nonzero(m.bias) == 0
        elif isinstance(m, torch.nn.LayerNorm):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert torch.count_nonzero(m.bias) == 0


def test_init_is_deterministic_per_generator():
    def build(seed):
        m = Actor(20, 3, hidden_dim=32)
        orthogonal_init_(m, torch.Generator().manual_seed(seed))
        return m

    a, b, c = build(1), build(1), build(2)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.head.weight, c.head.weight)


def test_log_std_is_squashed_into_bounds():
    raw = torch.tensor([-1e4, -3.0, 0.0, 3.0, 1e4])
    ls = squash_log_std(raw, -10.0, 2.0)
    assert ls.min() >= -10.0 and ls.max() <= 2.0
    assert ls[0] == -10.0 and ls[-1] == 2.0 and ls[2] == -4.0
    actor = Actor(4, 2, hidden_dim=8)
    with torch.no_grad():
        actor.head.bias.fill_(50.0)
    _, log_std = actor(torch.zeros(3, 4))
    assert torch.all(log_std == 2.0)
    with pytest.raises(ValueError, match="low < high"):
        Actor(4, 2, log_std_bounds=(1.0, 1.0))


def test_tanh_gaussian_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(64, 3, generator=g, dtype=torch.float64)
    log_std = torch.rand(64, 3, generator=g, dtype=torch.float64) * 2 - 1.5
    u = mean + log_std.exp() * torch.randn(64, 3, generator=g, dtype=torch.float64)
    u = u.clamp(-3, 3)  # keep atanh in TransformedDistribution well conditioned
    ref = TransformedDistribution(Normal(mean, log_std.exp()), TanhTransform())
    expected = ref.log_prob(torch.tanh(u)).sum(-1)
    torch.testing.assert_close(tanh_gaussian_log_prob(u, mean, log_std), expected)


def test_tanh_gaussian_sample_is_reparameterised_and_seeded():
    mean = torch.zeros(1000, 2, dtype=torch.float64, requires_grad=True)
    log_std = torch.full((1000, 2), -0.5, dtype=torch.float64, requires_grad=True)
    a, logp = tanh_gaussian_sample(mean, log_std, torch.Generator().manual_seed(3))
    eps = torch.randn(1000, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    u = mean + log_std.exp() * eps
    torch.testing.assert_close(a, torch.tanh(u))
    torch.testing.assert_close(logp, tanh_gaussian_log_prob(u, mean, log_std))
    ref = TransformedDistribution(Normal(mean, log_std.exp()), TanhTransform())
    torch.testing.assert_close(logp, ref.log_prob(a).sum(-1))
    assert a.abs().max() < 1
    logp.sum().backward()
    assert mean.grad is not None and log_std.grad is not None
    assert math.isfinite(float(logp.detach().mean()))
