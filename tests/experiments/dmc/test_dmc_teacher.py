"""The state SAC teacher: its env matches the pixel env's physics, training is seeded, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("dm_control")

from pisces.errors import UsageError  # noqa: E402
from pisces.experiments.dmc.teacher import (  # noqa: E402
    StateEnv,
    TeacherConfig,
    load_teacher,
    save_teacher,
    train_teacher,
)

TINY = TeacherConfig(
    env_steps=1000, seed_steps=60, eval_every=0, eval_episodes=1, hidden_dim=16, batch_size=16
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (as ``pisces dmc train`` defaults to): small ops on 2 busy cores are
    many times slower with 2 threads; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_state_env_and_pixel_env_share_the_physics_of_a_seed():
    from pisces.envs.dmc import make

    state_env = StateEnv("cartpole", "swingup")
    pixel = make("cartpole", "swingup", split=None)
    try:
        obs = state_env.reset(seed=7)
        pixel.reset(seed=7)
        assert obs.shape == (5,) and obs.dtype == np.float32
        rng = np.random.default_rng(0)
        for t in range(6):
            assert np.array_equal(state_env.physics_state(), pixel.unwrapped.physics_state()), t
            np.testing.assert_array_equal(
                state_env.observe(pixel.unwrapped.physics), state_env.observe()
            )
            a = rng.uniform(-1, 1, 1).astype(np.float32)
            _, r_state, _ = state_env.step(a)
            _, r_pixel, *_ = pixel.step(a)
            assert r_state == pytest.approx(r_pixel, abs=1e-12)
    finally:
        pixel.close()
    other = StateEnv("cartpole", "swingup")
    other.reset(seed=8)
    state_env.reset(seed=7)
    assert not np.array_equal(other.physics_state(), state_env.physics_state())


def test_episode_length_and_truncation():
    env = StateEnv("cartpole", "swingup")
    env.reset(seed=0)
    done, n = False, 0
    while not done:
        _, _, done = env.step(np.zeros(1))
        n += 1
    assert n == 125 == env.episode_steps
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1))


def test_teacher_training_is_seeded_and_its_files_round_trip(tmp_path):
    agent, record = train_teacher(TINY, seed=3)
    _, again = train_teacher(TINY, seed=3)
    strip = ("train_seconds",)
    assert {k: v for k, v in record.items() if k not in strip} == {
        k: v for k, v in again.items() if k not in strip
    }
    assert record["env_steps"] == 1000 and record["agent_steps"] == 125
    assert "state-based SAC teacher" in record["deviation"]
    save_teacher(tmp_path, agent, record)
    teacher = load_teacher(tmp_path)
    obs = np.linspace(-1, 1, 5, dtype=np.float32)
    np.testing.assert_array_equal(teacher.act(obs), agent.act(obs, greedy=True))
    assert (teacher.domain, teacher.task, teacher.action_repeat) == ("cartpole", "swingup", 8)
    assert len(teacher.digest) == 64


def test_bad_teacher_inputs_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no teacher at"):
        load_teacher(tmp_path / "missing")
    (tmp_path / "teacher.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="not a readable teacher"):
        load_teacher(tmp_path)
    with pytest.raises(ValueError, match="unknown task"):
        TeacherConfig(domain="cartpole", task="balance")
    with pytest.raises(ValueError, match="multiples of 1000"):
        TeacherConfig(env_steps=1500)
