"""The state SAC teacher: the sac_drq loss functions on states, seeded, resumable, learning."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from pisces.agents.replay import Transitions
from pisces.agents.sac_drq import critic_target
from pisces.agents.sac_state import StateReplay, StateSACAgent, StateSACConfig

OBS, ACT = 5, 2
SMALL = StateSACConfig(hidden_dim=16, feature_dim=8, batch_size=32)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (as ``pisces dmc train`` defaults to): small ops on 2 busy cores are
    many times slower with 2 threads; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def batch(seed: int, n: int = 32) -> Transitions:
    g = torch.Generator().manual_seed(seed)
    return Transitions(
        obs=torch.randn(n, OBS, generator=g),
        action=torch.rand(n, ACT, generator=g) * 2 - 1,
        reward=torch.rand(n, generator=g),
        next_obs=torch.randn(n, OBS, generator=g),
        discount=torch.ones(n),
    )


def losses(agent: StateSACAgent, seeds) -> list[dict[str, float]]:
    return [{k: float(v) for k, v in agent.update(batch(s)).items()} for s in seeds]


@pytest.mark.parametrize(
    ("field", "value"),
    [("hidden_dim", 0), ("batch_size", 1.5), ("discount", 1.0), ("lr", -1.0), ("critic_tau", 0.0)],
)
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        StateSACConfig(**{field: value})


def test_same_seed_same_numbers_and_other_seed_differs():
    a, b, c = (StateSACAgent(SMALL, OBS, ACT, seed=s) for s in (1, 1, 2))
    la, lb, lc = losses(a, range(4)), losses(b, range(4)), losses(c, range(4))
    assert la == lb
    assert la != lc
    for pa, pb in zip(a.nets.parameters(), b.nets.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_critic_loss_is_the_clipped_double_q_residual_of_sac_drq():
    agent = StateSACAgent(SMALL, OBS, ACT, seed=3)
    b = batch(0)
    gen_state = agent.generator.get_state()
    with torch.no_grad():
        q1, q2 = agent.nets.critic(b.obs, b.action)
    g = torch.Generator().manual_seed(0)
    g.set_state(gen_state)
    y, _ = critic_target(agent.nets, b.next_obs, b.reward, b.discount, gamma=0.99, generator=g)
    expected = ((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean()
    got = agent.update(b)["critic_loss"]
    assert torch.allclose(got, expected, rtol=1e-6)


def test_actor_step_leaves_the_critic_alone_and_target_tracks_every_second_update():
    agent = StateSACAgent(SMALL, OBS, ACT, seed=4)
    agent.update(batch(0))  # update 0: critic, actor, target
    critic_before = [p.clone() for p in agent.nets.critic.parameters()]
    target_before = [p.clone() for p in agent.nets.critic_target.parameters()]
    agent.update(batch(1))  # update 1: critic only, no target update
    assert all(
        torch.equal(a, b)
        for a, b in zip(target_before, agent.nets.critic_target.parameters(), strict=True)
    )
    assert not all(
        torch.equal(a, b)
        for a, b in zip(critic_before, agent.nets.critic.parameters(), strict=True)
    )
    agent.update(batch(2))  # update 2: target ← τ θ + (1 - τ) θ̄ with the updated θ
    tau = SMALL.critic_tau
    for t_old, t_new, p in zip(
        target_before,
        agent.nets.critic_target.parameters(),
        agent.nets.critic.parameters(),
        strict=True,
    ):
        assert torch.allclose(t_new, t_old * (1 - tau) + tau * p, atol=1e-7)


def test_checkpoint_resume_gives_the_same_next_losses():
    a = StateSACAgent(SMALL, OBS, ACT, seed=5)
    losses(a, range(3))
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)  # as a checkpoint file: no tensor shared with `a`
    buffer.seek(0)
    state = torch.load(buffer, weights_only=False)
    b = StateSACAgent(SMALL, OBS, ACT, seed=99)
    b.load_state_dict(state)
    assert losses(a, range(3, 6)) == losses(b, range(3, 6))
    with pytest.raises(ValueError, match="hidden_dim"):
        StateSACAgent(StateSACConfig(hidden_dim=8), OBS, ACT, seed=5).load_state_dict(state)


def test_learns_the_best_action_of_a_one_step_bandit():
    """r = 1 - (a_0 - 0.5)² - a_1², terminal (discount 0): the greedy action goes to (0.5, 0)."""
    cfg = StateSACConfig(
        hidden_dim=32, feature_dim=8, batch_size=64, init_temperature=0.01, lr=3e-3
    )
    agent = StateSACAgent(cfg, OBS, ACT, seed=0)
    replay = StateReplay(2000, OBS, ACT)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        obs, a = rng.normal(size=OBS), rng.uniform(-1, 1, ACT)
        replay.add(obs, a, 1 - (a[0] - 0.5) ** 2 - a[1] ** 2, obs, terminated=True)
    g = torch.Generator().manual_seed(0)
    for _ in range(600):
        agent.update(replay.sample(64, g))
    greedy = agent.act(rng.normal(size=(64, OBS)), greedy=True).mean(0)
    assert abs(greedy[0] - 0.5) < 0.15 and abs(greedy[1]) < 0.15, greedy


def test_replay_ring_overwrites_the_oldest_and_act_needs_a_generator():
    r = StateReplay(3, 1, 1)
    for i in range(5):
        r.add(np.array([i]), np.array([0.0]), float(i), np.array([i + 1]), terminated=i == 4)
    assert len(r) == 3
    assert sorted(r.reward.tolist()) == [2.0, 3.0, 4.0]
    assert r.discount.tolist().count(0.0) == 1
    agent = StateSACAgent(SMALL, OBS, ACT, seed=0)
    with pytest.raises(ValueError, match="Generator"):
        agent.act(np.zeros(OBS), greedy=False)
    a = agent.act(np.zeros(OBS), greedy=False, generator=torch.Generator().manual_seed(0))
    assert a.shape == (ACT,) and np.all(np.abs(a) <= 1)
