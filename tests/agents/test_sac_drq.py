"""SAC + DrQ (spec dcs §2): config checks, hand-computed target and losses, the soft target
update, gradient flow, seeded determinism and checkpoint/resume."""

from __future__ import annotations

import io
import math

import pytest
import torch

from pisces.agents.replay import Transitions
from pisces.agents.sac_drq import (
    SACDrQAgent,
    SACDrQConfig,
    critic_target,
    soft_update_,
    update_actor_and_alpha,
    update_critic,
)
from pisces.networks.dmc import squash_log_std


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on the shared 2-core machine, OpenMP barriers of tiny ops under
    load cost 40× more than the ops themselves (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


A = 2  # |A|
TINY = {"image_size": 20, "num_filters": 4, "feature_dim": 6, "hidden_dim": 16, "batch_size": 5}


def tiny(**kw) -> SACDrQConfig:
    return SACDrQConfig(**{**TINY, **kw})


def batch(seed: int, cfg: SACDrQConfig, b: int = 5) -> Transitions:
    g = torch.Generator().manual_seed(seed)
    shape = (b, cfg.obs_channels, cfg.image_size, cfg.image_size)
    return Transitions(
        obs=torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        action=torch.rand(b, A, generator=g) * 2 - 1,
        reward=torch.rand(b, generator=g),
        next_obs=torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        discount=(torch.rand(b, generator=g) > 0.3).float(),
    )


def params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------- config
def test_defaults_are_the_paper_and_presets():
    c = SACDrQConfig.paper()
    assert (c.batch_size, c.num_target_augs, c.num_loss_augs, c.precision) == (256, 2, 2, "fp32")
    assert (c.discount, c.init_temperature, c.critic_tau, c.critic_lr) == (0.99, 0.1, 0.01, 1e-3)
    assert (c.actor_update_every, c.target_update_every, c.image_pad) == (2, 2, 4)
    assert (c.log_std_min, c.log_std_max, c.hidden_dim, c.feature_dim) == (-10.0, 2.0, 1024, 50)
    assert c.adam_betas == c.alpha_betas == (0.9, 0.999) and c.obs_channels == 9
    cpu = SACDrQConfig.cpu()
    assert (cpu.batch_size, cpu.num_target_augs, cpu.num_loss_augs) == (128, 1, 1)
    assert SACDrQConfig.cpu(batch_size=64).batch_size == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("discount", 1.0),
        ("discount", float("nan")),
        ("critic_tau", 0.0),
        ("init_temperature", -0.1),
        ("init_temperature", float("inf")),
        ("critic_lr", 0.0),
        ("batch_size", 0),
        ("num_target_augs", 0),
        ("image_pad", -1),
        ("image_size", 8),
        ("precision", "fp16"),
        ("adam_betas", (0.9, 1.0)),
        ("alpha_betas", (0.5,)),
        ("target_entropy", float("inf")),
        ("log_std_min", 3.0),
        ("encoder_chunk", 0),
        ("channels_last", 1),
        ("actor_update_every", True),
    ],
)
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SACDrQConfig(**{field: value})


# ---------------------------------------------------------------------- hand-computed
def _hand_log_prob(mu: list[float], log_std: list[float], eps: list[float]) -> float:
    total = 0.0
    for m, s, e in zip(mu, log_std, eps, strict=True):
        u = m + math.exp(s) * e
        total += -0.5 * e * e - s - 0.5 * math.log(2 * math.pi) - math.log(1 - math.tanh(u) ** 2)
    return total


def _fix_heads(agent: SACDrQAgent, *, mu, raw, c_target, c_online) -> None:
    """Constant policy (μ, raw log σ) and constant Q heads, whatever the input."""
    nets = agent.nets
    with torch.no_grad():
        nets.actor.head.weight.zero_()
        nets.actor.head.bias.copy_(torch.tensor([*mu, *raw]))
        for critic, (c1, c2) in ((nets.critic_target, c_target), (nets.critic, c_online)):
            for head, c in ((critic.q1, c1), (critic.q2, c2)):
                head[-1].weight.zero_()
                head[-1].bias.fill_(c)
        nets.log_alpha.fill_(math.log(0.2))


def test_critic_target_by_hand():
    cfg = tiny(num_target_augs=2)
    agent = SACDrQAgent(cfg, A, seed=0)
    mu, raw = [0.3, -0.2], [0.5, -1.0]
    _fix_heads(agent, mu=mu, raw=raw, c_target=(1.5, 0.7), c_online=(0.0, 0.0))
    log_std = squash_log_std(torch.tensor(raw, dtype=torch.float64), -10.0, 2.0).tolist()
    b = batch(1, cfg)
    nxt = torch.cat([b.next_obs, b.next_obs.flip(0)])  # K = 2 copies, augmentation-major
    g = torch.Generator().manual_seed(7)
    eps = torch.randn((10, A), generator=torch.Generator().manual_seed(7)).tolist()
    y, v = critic_target(agent.nets, nxt, b.reward, b.discount, gamma=0.99, generator=g)
    v_hand = [min(1.5, 0.7) - 0.2 * _hand_log_prob(mu, log_std, e) for e in eps]
    r, d = b.reward.tolist(), b.discount.tolist()
    y_hand = [sum(r[i] + 0.99 * d[i] * v_hand[k * 5 + i] for k in range(2)) / 2 for i in range(5)]
    torch.testing.assert_close(v.flatten(), torch.tensor(v_hand), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(y, torch.tensor(y_hand), rtol=1e-5, atol=1e-5)
    terminal = b.discount == 0
    assert terminal.any() and torch.allclose(y[terminal], b.reward[terminal])


def test_critic_loss_and_first_adam_step_by_hand():
    cfg = tiny(num_loss_augs=2)
    agent = SACDrQAgent(cfg, A, seed=0)
    _fix_heads(agent, mu=[0, 0], raw=[0, 0], c_target=(0, 0), c_online=(0.4, -0.3))
    b = batch(2, cfg)
    y = torch.tensor([0.1, 0.9, -0.5, 2.0, 0.3])
    obs = torch.cat([b.obs, b.obs.flip(0)])
    m = update_critic(agent.nets, agent.critic_optimizer, obs, b.action, y)
    hand = (
        sum((0.4 - t) ** 2 for t in y.tolist()) / 5 + sum((-0.3 - t) ** 2 for t in y.tolist()) / 5
    )
    torch.testing.assert_close(m["critic_loss"], torch.tensor(hand), rtol=1e-6, atol=1e-6)
    assert float(m["q1"]) == pytest.approx(0.4) and float(m["q2"]) == pytest.approx(-0.3)
    # Adam's first step moves each bias by lr · sign(gradient)
    g1 = 2 * sum(0.4 - t for t in y.tolist()) / 5
    g2 = 2 * sum(-0.3 - t for t in y.tolist()) / 5
    new1 = float(agent.nets.critic.q1[-1].bias.detach())
    new2 = float(agent.nets.critic.q2[-1].bias.detach())
    assert new1 == pytest.approx(0.4 - 1e-3 * math.copysign(1, g1), abs=1e-7)
    assert new2 == pytest.approx(-0.3 - 1e-3 * math.copysign(1, g2), abs=1e-7)


def test_actor_and_alpha_losses_by_hand():
    cfg = tiny()
    agent = SACDrQAgent(cfg, A, seed=0)
    mu, raw = [0.1, 0.4], [-0.2, 0.3]
    _fix_heads(agent, mu=mu, raw=raw, c_target=(0, 0), c_online=(0.4, -0.3))
    log_std = squash_log_std(torch.tensor(raw, dtype=torch.float64), -10.0, 2.0).tolist()
    feats = torch.randn(5, agent.nets.encoder.out_dim, generator=torch.Generator().manual_seed(1))
    eps = torch.randn((5, A), generator=torch.Generator().manual_seed(9)).tolist()
    m = update_actor_and_alpha(
        agent.nets,
        agent.actor_optimizer,
        agent.alpha_optimizer,
        feats,
        target_entropy=-2.0,
        generator=torch.Generator().manual_seed(9),
    )
    logp = [_hand_log_prob(mu, log_std, e) for e in eps]
    actor = sum(0.2 * lp - (-0.3) for lp in logp) / 5
    alpha = sum(0.2 * (-lp + 2.0) for lp in logp) / 5
    torch.testing.assert_close(m["actor_loss"], torch.tensor(actor), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(m["alpha_loss"], torch.tensor(alpha), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(m["entropy"], torch.tensor(-sum(logp) / 5), rtol=1e-5, atol=1e-5)
    assert float(m["alpha"]) == pytest.approx(0.2)
    # d L_α / d log α = α · mean(-log π - H̄): the first Adam step is -lr · sign of it
    step = math.log(0.2) - 1e-3 * math.copysign(1, alpha)
    assert float(agent.nets.log_alpha.detach()) == pytest.approx(step, abs=1e-7)


# ---------------------------------------------------------------------- target update
def test_soft_update_formula_is_exact():
    g = torch.Generator().manual_seed(0)
    t = [torch.randn(4, 3, generator=g), torch.randn(7, generator=g)]
    s = [torch.randn(4, 3, generator=g), torch.randn(7, generator=g)]
    expected = [x * (1 - 0.01) + 0.01 * y for x, y in zip(t, s, strict=True)]
    soft_update_(t, s, 0.01)
    assert same(t, expected)


def test_target_tracks_every_second_update_exactly():
    cfg = tiny()
    agent = SACDrQAgent(cfg, A, seed=1)
    nets = agent.nets
    n_conv = len(list(nets.encoder_target.parameters()))
    assert n_conv == 8  # the target includes the convolutions (and the critic trunk)
    before = [p.clone() for p in nets.target_parameters()]
    agent.update(batch(0, cfg))  # u = 0: critic, actor, target
    online = [p.detach() for p in nets.online_critic_parameters()]
    expected = [t * (1 - 0.01) + 0.01 * s for t, s in zip(before, online, strict=True)]
    assert same(nets.target_parameters(), expected)
    mid = [p.clone() for p in nets.target_parameters()]
    actor_mid, alpha_mid = params(nets.actor), nets.log_alpha.detach().clone()
    metrics = agent.update(batch(1, cfg))  # u = 1: critic only
    assert same(nets.target_parameters(), mid)
    assert same(params(nets.actor), actor_mid) and torch.equal(nets.log_alpha, alpha_mid)
    assert "actor_loss" not in metrics and "critic_loss" in metrics
    assert "actor_loss" in agent.update(batch(2, cfg))
    assert agent.num_updates == 3


# ---------------------------------------------------------------------- gradient flow
def test_actor_update_leaves_the_convolutions_and_critic_bit_identical():
    cfg = tiny()
    agent = SACDrQAgent(cfg, A, seed=2)
    nets = agent.nets
    enc, critic, actor = params(nets.encoder), params(nets.critic), params(nets.actor)
    obs, _ = agent.augment(batch(3, cfg))
    feats = nets.encoder(obs[:5]).detach()
    update_actor_and_alpha(
        nets,
        agent.actor_optimizer,
        agent.alpha_optimizer,
        feats,
        target_entropy=-2.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert same(params(nets.encoder), enc) and same(params(nets.critic), critic)
    assert all(p.grad is None for p in nets.encoder.parameters())
    assert not same(params(nets.actor), actor)
    with pytest.raises(ValueError, match="detached"):
        update_actor_and_alpha(
            nets,
            agent.actor_optimizer,
            agent.alpha_optimizer,
            nets.encoder(obs[:5]),
            target_entropy=-2.0,
            generator=torch.Generator(),
        )


def test_critic_update_trains_the_convolutions_not_the_actor():
    cfg = tiny()
    agent = SACDrQAgent(cfg, A, seed=3)
    nets = agent.nets
    enc, actor, alpha = params(nets.encoder), params(nets.actor), nets.log_alpha.clone()
    b = batch(4, cfg)
    obs, nxt = agent.augment(b)
    y, _ = critic_target(nets, nxt, b.reward, b.discount, gamma=0.99, generator=torch.Generator())
    update_critic(nets, agent.critic_optimizer, obs, b.action, y)
    changed = [not torch.equal(a, p) for a, p in zip(enc, nets.encoder.parameters(), strict=True)]
    assert all(changed)  # every conv weight and bias moved
    assert same(params(nets.actor), actor) and torch.equal(nets.log_alpha, alpha)


# ---------------------------------------------------------------------- determinism, resume
def test_same_seed_same_batches_give_bit_identical_losses():
    cfg = tiny()
    runs = []
    for seed in (5, 5, 6):
        agent = SACDrQAgent(cfg, A, seed=seed)
        runs.append([agent.update(batch(i, cfg)) for i in range(3)])
    for ma, mb in zip(runs[0], runs[1], strict=True):
        assert ma.keys() == mb.keys() and all(torch.equal(ma[k], mb[k]) for k in ma)
    assert not torch.equal(runs[0][0]["critic_loss"], runs[2][0]["critic_loss"])
    a, b = SACDrQAgent(cfg, A, seed=5), SACDrQAgent(cfg, A, seed=5)
    assert same(a.nets.parameters(), b.nets.parameters())


def test_checkpoint_resume_gives_the_same_next_losses():
    cfg = tiny()
    a = SACDrQAgent(cfg, A, seed=7)
    for i in range(3):
        a.update(batch(i, cfg))
    blob = io.BytesIO()
    torch.save(a.state_dict(), blob)
    blob.seek(0)
    b = SACDrQAgent(cfg, A, seed=123)  # other seed: everything must come from the checkpoint
    b.load_state_dict(torch.load(blob))
    assert b.num_updates == 3
    for i in range(3, 6):
        ma, mb = a.update(batch(i, cfg)), b.update(batch(i, cfg))
        assert ma.keys() == mb.keys() and all(torch.equal(ma[k], mb[k]) for k in ma)
    assert same(a.nets.parameters(), b.nets.parameters())
    with pytest.raises(ValueError, match="batch_size"):
        SACDrQAgent(tiny(batch_size=6), A, seed=0).load_state_dict(a.state_dict())


# ---------------------------------------------------------------------- acting, shapes, precision
def test_act_greedy_and_sampled():
    cfg = tiny()
    agent = SACDrQAgent(cfg, A, seed=8)
    obs = batch(0, cfg).obs
    greedy = agent.act(obs, greedy=True)
    mean, _ = agent.nets.actor(agent.nets.encoder(obs))
    torch.testing.assert_close(greedy, torch.tanh(mean))
    single = agent.act(obs[0].numpy(), greedy=True)
    assert single.shape == (A,) and torch.allclose(single, greedy[0])
    s1 = agent.act(obs, greedy=False, generator=torch.Generator().manual_seed(1))
    s2 = agent.act(obs, greedy=False, generator=torch.Generator().manual_seed(1))
    assert torch.equal(s1, s2) and s1.shape == (5, A) and s1.abs().max() <= 1
    assert not torch.equal(s1, greedy)
    with pytest.raises(ValueError, match="Generator"):
        agent.act(obs, greedy=False)


def test_one_update_at_the_real_84px_shapes():
    cfg = SACDrQConfig(hidden_dim=16, feature_dim=6, batch_size=2)
    agent = SACDrQAgent(cfg, 6, seed=0)
    assert agent.nets.encoder.out_dim == 32 * 35 * 35
    g = torch.Generator().manual_seed(0)
    b = Transitions(
        torch.randint(0, 256, (2, 9, 84, 84), dtype=torch.uint8, generator=g),
        torch.zeros(2, 6),
        torch.ones(2),
        torch.randint(0, 256, (2, 9, 84, 84), dtype=torch.uint8, generator=g),
        torch.ones(2),
    )
    metrics = agent.update(b)
    assert {"critic_loss", "actor_loss", "alpha_loss", "alpha", "entropy", "q1"} <= set(metrics)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in metrics.values())
    assert agent.act(b.obs[0], greedy=True).shape == (6,)


def test_bf16_keeps_fp32_weights_and_losses():
    cfg = tiny(precision="bf16")
    agent = SACDrQAgent(cfg, A, seed=9)
    metrics = agent.update(batch(0, cfg))
    assert all(p.dtype == torch.float32 for p in agent.nets.parameters())
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in metrics.values())
    ref = SACDrQAgent(tiny(), A, seed=9).update(batch(0, cfg))
    torch.testing.assert_close(metrics["critic_loss"], ref["critic_loss"], rtol=0.1, atol=0.05)


def test_channels_last_and_chunks_change_only_rounding():
    ref = SACDrQAgent(tiny(), A, seed=10)
    alt = SACDrQAgent(tiny(channels_last=True, encoder_chunk=2), A, seed=10)
    for i in range(2):
        mr, ma = ref.update(batch(i, tiny())), alt.update(batch(i, tiny()))
        for k in mr:
            torch.testing.assert_close(ma[k], mr[k], rtol=1e-4, atol=1e-5)
