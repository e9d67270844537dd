"""PSEs for DCS (spec dcs §3): action PSM, paired episodes, the sampler (swap + transpose,
one shared crop), and the PSE step's gradient flow."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from pisces.agents.augment import shift_images
from pisces.agents.pse_dmc import PairDataset, PSEConfig, PSEStep, action_psm
from pisces.agents.replay import Transitions
from pisces.agents.sac_drq import SACDrQAgent, SACDrQConfig
from pisces.losses import alignment_loss
from pisces.metrics import pairwise_l1_mean_actions, trajectory_psm_fixed_point


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on the shared 2-core machine, OpenMP barriers of tiny ops under
    load cost 40× more than the ops themselves (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


A, T, P, SIZE = 2, 6, 3, 20
CFG = SACDrQConfig(image_size=SIZE, num_filters=4, feature_dim=6, hidden_dim=16, batch_size=5)


def _const_frames() -> torch.Tensor:
    """Every frame is constant, its value encoding (pair, episode, state): 100p + 10e + t + 1."""
    p = torch.arange(P).view(P, 1, 1)
    e = torch.arange(2).view(1, 2, 1)
    t = torch.arange(T).view(1, 1, T)
    v = (100 * p + 10 * e + t + 1).to(torch.uint8)
    return v[..., None, None, None].expand(P, 2, T, 3, SIZE, SIZE).contiguous()


def _pairs(frames: torch.Tensor | None = None, seed: int = 0) -> PairDataset:
    g = torch.Generator().manual_seed(seed)
    if frames is None:
        frames = torch.randint(0, 256, (P, 2, T, 3, SIZE, SIZE), dtype=torch.uint8, generator=g)
    actions = torch.rand(P, 2, T, A, generator=g) * 2 - 1
    return PairDataset.build(frames, actions, gamma=0.99)


def _batch(seed: int) -> Transitions:
    g = torch.Generator().manual_seed(seed)
    shape = (5, 9, SIZE, SIZE)
    return Transitions(
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        torch.rand(5, A, generator=g) * 2 - 1,
        torch.rand(5, generator=g),
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        torch.ones(5),
    )


def _params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------- metric
def test_action_psm_matches_the_fixed_point_with_the_mean_action_cost():
    rng = np.random.default_rng(0)
    ax, ay = rng.uniform(-1, 1, (9, 3)), rng.uniform(-1, 1, (7, 3))
    d = action_psm(ax, ay, gamma=0.99)
    cost = pairwise_l1_mean_actions(ax, ay) / 3  # mean, not sum, over action dimensions
    ref = trajectory_psm_fixed_point(cost, gamma=0.99, tol=1e-12).distance
    np.testing.assert_allclose(d, ref, rtol=1e-9, atol=1e-9)
    assert d.shape == (9, 7)
    batched = action_psm(np.stack([ax, ax]), np.stack([ay, ay]), gamma=0.99)
    np.testing.assert_allclose(batched[1], d)
    with pytest.raises(ValueError, match="same"):
        action_psm(ax, ay[:, :2])


def test_identical_action_sequences_have_their_argmin_on_the_diagonal():
    a = np.random.default_rng(1).uniform(-1, 1, (50, 6))
    d = action_psm(a, a, gamma=0.99)
    assert np.all(np.diag(d) == 0)
    assert np.array_equal(d.argmin(axis=1), np.arange(50))
    assert np.array_equal(d.argmin(axis=0), np.arange(50))
    np.testing.assert_allclose(d, d.T)


# ---------------------------------------------------------------------- data
def test_pair_dataset_checks_and_stacking():
    pairs = _pairs(_const_frames())
    assert pairs.metric.shape == (P, T, T) and pairs.metric.dtype == torch.float32
    ref = action_psm(pairs.actions[1, 0].numpy(), pairs.actions[1, 1].numpy())
    np.testing.assert_allclose(pairs.metric[1].numpy(), ref, rtol=1e-6)
    obs = pairs.observations(torch.tensor(2), torch.tensor(1), torch.tensor([0, 1, 2, 5]))
    assert obs.shape == (4, 9, SIZE, SIZE)
    vals = obs.view(4, 3, -1)[:, :, 0].tolist()
    base = 211  # pair 2, episode 1, state 0
    assert vals == [
        [base] * 3,
        [base, base, base + 1],
        [base, base + 1, base + 2],
        [base + 3, base + 4, base + 5],
    ]
    with pytest.raises(ValueError, match="frames must be"):
        PairDataset(pairs.frames[:, :1], pairs.actions, pairs.metric)
    with pytest.raises(ValueError, match="metric must be"):
        PairDataset(pairs.frames, pairs.actions, pairs.metric[:, :-1])


def test_sampler_swaps_transposes_and_takes_distinct_rows():
    pairs = _pairs(_const_frames())
    g = torch.Generator().manual_seed(0)
    swaps = set()
    for _ in range(40):
        s = pairs.sample(4, 4, g)
        assert s.obs_x.shape == (4, 9, SIZE, SIZE) and s.obs_y.shape == (T, 9, SIZE, SIZE)
        vx = s.obs_x[:, -3, 0, 0].long() - 1  # newest frame of each observation
        vy = s.obs_y[:, -3, 0, 0].long() - 1
        p, ex, tx = vx // 100, (vx // 10) % 10, vx % 10
        ey, ty = (vy // 10) % 10, vy % 10
        assert len(set(p.tolist() + (vy // 100).tolist())) == 1  # one pair
        assert len(set(ex.tolist())) == 1 and set(ey.tolist()) == {1 - ex[0].item()}
        assert ty.tolist() == list(range(T)) and len(set(tx.tolist())) == 4  # distinct rows
        d = pairs.metric[p[0]]
        expected = d[tx][:, ty] if ex[0] == 0 else d.T[tx][:, ty]  # transposed when swapped
        assert torch.equal(s.metric, expected)
        swaps.add(ex[0].item())
    assert swaps == {0, 1}  # the swap is drawn every step
    assert pairs.sample(128, 4, g).obs_x.shape[0] == T  # n = min(128, T)


def test_one_crop_is_shared_by_every_frame_of_a_pair():
    pattern = torch.arange(SIZE * SIZE).view(SIZE, SIZE) % 251
    frames = pattern.to(torch.uint8).expand(P, 2, T, 3, SIZE, SIZE).contiguous()
    pairs = _pairs(frames)
    g = torch.Generator().manual_seed(3)
    crops = set()
    for _ in range(10):
        s = pairs.sample(3, 4, g)
        every = torch.cat([s.obs_x, s.obs_y]).view(-1, SIZE, SIZE)
        assert torch.equal(every, every[:1].expand_as(every))  # all frames cropped alike
        matches = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if torch.equal(
                shift_images(pattern.view(1, 1, SIZE, SIZE), torch.tensor([[dy, dx]]))[0, 0],
                every[0],
            )
        ]
        assert len(matches) == 1  # a shift of at most 4 px each way
        crops.add(matches[0])
    assert len(crops) > 1  # redrawn every step


# ---------------------------------------------------------------------- the step
def test_config_and_loss_spec():
    cfg = PSEConfig()
    spec = cfg.spec()
    assert (spec.kind, spec.variant, spec.directions, spec.coupling_weights) == (
        "cme",
        "official",
        "rows",
        True,
    )
    assert (spec.temperature, spec.beta, cfg.weight, cfg.num_rows, cfg.lr) == (
        0.1,
        0.1,
        1.0,
        128,
        1e-3,
    )
    assert cfg.projection_dim == 256 and cfg.gamma == 0.99
    bad = [
        ("temperature", 0.0),
        ("weight", -1.0),
        ("gamma", 1.0),
        ("num_rows", 0),
        ("beta", float("nan")),
        ("betas", (0.9, 1.5)),
    ]
    for field, value in bad:
        with pytest.raises(ValueError, match=field):
            PSEConfig(**{field: value})


def test_pse_loss_is_the_alignment_loss_of_the_embeddings():
    agent = SACDrQAgent(CFG, A, seed=0)
    step = PSEStep(agent, _pairs(), seed=0)
    s = step.sample()
    loss = step.loss(*s)
    z_x, z_y = step.embed(s.obs_x), step.embed(s.obs_y)
    assert z_x.shape == (T, 256) and (z_x >= 0).all()
    torch.testing.assert_close(loss, alignment_loss(z_x, z_y, s.metric, PSEConfig().spec()))
    h = agent.nets.encoder(s.obs_x)
    torch.testing.assert_close(z_x, step.projection(agent.nets.actor.penultimate(h)))


def test_pse_step_trains_encoder_trunk_and_projection_only():
    agent = SACDrQAgent(CFG, A, seed=1)
    nets = agent.nets
    step = PSEStep(agent, _pairs(), seed=1)
    before = {
        "encoder": _params(nets.encoder),
        "trunk": _params(nets.actor.trunk),
        "hidden": _params(nets.actor.hidden),
        "projection": _params(step.projection),
        "critic": _params(nets.critic),
        "head": _params(nets.actor.head),
        "targets": [p.clone() for p in nets.target_parameters()],
    }
    alpha = nets.log_alpha.detach().clone()
    metrics = step()
    assert set(metrics) == {"pse_loss"} and torch.isfinite(metrics["pse_loss"])
    after = {
        "encoder": nets.encoder,
        "trunk": nets.actor.trunk,
        "hidden": nets.actor.hidden,
        "projection": step.projection,
    }
    for name, module in after.items():  # the PSE step reaches the encoder (not just the actor)
        changed = [
            not torch.equal(a, p) for a, p in zip(before[name], module.parameters(), strict=True)
        ]
        assert all(changed), name
    assert _same(_params(nets.critic), before["critic"])
    assert _same(_params(nets.actor.head), before["head"])
    assert _same(nets.target_parameters(), before["targets"])
    assert torch.equal(nets.log_alpha, alpha)
    frozen = PSEStep(
        SACDrQAgent(CFG, A, seed=1), _pairs(), PSEConfig(train_actor_hidden=False), seed=1
    )
    hidden = _params(frozen.agent.nets.actor.hidden)
    frozen()
    assert _same(_params(frozen.agent.nets.actor.hidden), hidden)


def test_projection_learns_only_from_the_pse_loss():
    agent = SACDrQAgent(CFG, A, seed=2)
    step = PSEStep(agent, _pairs(), seed=2)
    proj = _params(step.projection)
    for i in range(2):
        agent.update(_batch(i))  # critic + actor + temperature, PSE step not registered
    assert _same(_params(step.projection), proj)
    agent.add_step("pse", step)
    enc = _params(agent.nets.encoder)
    metrics = agent.update(_batch(2))
    assert "pse_loss" in metrics and "critic_loss" in metrics
    assert not _same(_params(step.projection), proj)
    assert not _same(_params(agent.nets.encoder), enc)
    with pytest.raises(ValueError, match="already registered"):
        agent.add_step("pse", step)


def test_drq_pse_is_seeded_and_resumes_from_a_checkpoint():
    def make(seed):
        agent = SACDrQAgent(CFG, A, seed=seed)
        agent.add_step("pse", PSEStep(agent, _pairs(), seed=seed))
        return agent

    a, b = make(4), make(4)
    for i in range(3):
        ma, mb = a.update(_batch(i)), b.update(_batch(i))
        assert all(torch.equal(ma[k], mb[k]) for k in ma)
    blob = io.BytesIO()
    torch.save(a.state_dict(), blob)
    blob.seek(0)
    c = make(77)
    c.load_state_dict(torch.load(blob))
    for i in range(3, 5):
        ma, mc = a.update(_batch(i)), c.update(_batch(i))
        assert ma.keys() == mc.keys() and all(torch.equal(ma[k], mc[k]) for k in ma)
    assert _same(a.steps["pse"].projection.parameters(), c.steps["pse"].projection.parameters())
    plain = SACDrQAgent(CFG, A, seed=0)
    with pytest.raises(ValueError, match="after-update steps"):
        plain.load_state_dict(a.state_dict())


def test_geometry_mismatch_is_rejected():
    agent = SACDrQAgent(CFG, A, seed=0)
    frames = torch.zeros(1, 2, T, 3, SIZE + 2, SIZE + 2, dtype=torch.uint8)
    with pytest.raises(ValueError, match="do not match"):
        PSEStep(agent, PairDataset.build(frames, torch.zeros(1, 2, T, A)), seed=0)
