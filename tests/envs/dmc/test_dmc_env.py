"""The Distracting Control envs against their contract (needs the ``dmc`` extra).

Pixels are compared only within this process (one GL backend); determinism across runs is
checked on the physics state, since MuJoCo pixels differ between GL backends.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dm_control")

import gymnasium as gym  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402

from pisces.envs import dmc  # noqa: E402
from pisces.envs.dmc import ping_pong_index  # noqa: E402

ALL_TASKS = [tuple(name.split("-", 1)) for name in dmc.TASKS]
#: a small sky keeps the many-env tests fast; the contract is checked at the defaults.
FAST = {"sky_size": 64}


@pytest.fixture(scope="module")
def cartpole():
    env = dmc.make("cartpole", "swingup", split="train", seed=0)
    yield env
    env.close()


def _sky(obs: np.ndarray) -> np.ndarray:
    """Top rows of cartpole's newest frame: only sky there (the pole hangs down)."""
    return obs[-3:, :12].astype(np.int16)


def test_contract_at_the_defaults(cartpole):
    env = cartpole
    assert isinstance(env, gym.Env) and isinstance(env.unwrapped, dmc.DistractingControlEnv)
    assert env.observation_space == gym.spaces.Box(0, 255, (9, 84, 84), np.uint8)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    obs, info = env.reset(seed=1)
    assert obs.shape == (9, 84, 84) and obs.dtype == np.uint8
    assert np.array_equal(obs[0:3], obs[6:9]) and np.array_equal(obs[3:6], obs[6:9])
    assert info["video"] in dmc.TRAIN_VIDEOS and info["env_steps"] == 0
    state = env.unwrapped.physics_state()
    assert state.dtype == np.float64 and state.shape == (2 + 2 + 0,)  # qpos, qvel, act
    frames = [obs[6:9]]
    for _ in range(2):
        obs, *_ = env.step(np.zeros(1))
        frames.append(obs[6:9])
    # channel-first, oldest to newest, each RGB
    assert np.array_equal(obs, np.concatenate(frames))


def test_reward_is_the_sum_of_sub_step_rewards(cartpole):
    env = cartpole.unwrapped
    env.reset(seed=2)
    seen: list[float] = []
    task = env._dm_env.task
    inner = task.get_reward

    def spy(physics):
        seen.append(inner(physics))
        return seen[-1]

    task.get_reward = spy
    try:
        _, reward, *_ = env.step(np.array([0.5]))
    finally:
        del task.get_reward
    assert len(seen) == 8
    assert reward == pytest.approx(sum(seen))


@pytest.mark.parametrize(("domain", "task"), [("cartpole", "swingup"), ("walker", "walk")])
def test_sub_steps_match_dm_control_environment_step(domain, task):
    """Our sub-step (the task called directly) against dm_control's Environment.step."""
    from dm_control import suite

    env = dmc.make(domain, task, split=None, seed=3)
    env.reset()
    reference = suite.load(domain, task, task_kwargs={"random": 0})
    reference.reset()
    with reference.physics.reset_context():
        reference.physics.set_state(env.unwrapped.physics.get_state())
    rng = np.random.default_rng(0)
    for _ in range(10):
        action = rng.uniform(-1, 1, size=env.action_space.shape)
        _, reward, *_ = env.step(action)
        expected = sum(reference.step(action).reward for _ in range(dmc.TASKS[f"{domain}-{task}"]))
        assert reward == pytest.approx(expected, abs=1e-12)
        assert np.array_equal(env.unwrapped.physics.get_state(), reference.physics.get_state())
    env.close()


def test_episode_is_1000_env_steps(cartpole):
    env = cartpole
    env.reset(seed=3)
    flags = []
    for _ in range(125):
        _, _, terminated, truncated, info = env.step(np.zeros(1))
        flags.append((terminated, truncated))
    assert flags[:-1] == [(False, False)] * 124 and flags[-1] == (False, True)
    assert info["env_steps"] == 1000
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(np.zeros(1))


def test_background_moves_under_a_zero_action(cartpole):
    env = cartpole
    obs, _ = env.reset(seed=4)
    diffs = []
    for _ in range(3):
        new, *_ = env.step(np.zeros(1))
        diffs.append(np.abs(_sky(new) - _sky(obs)).mean())
        obs = new
    assert min(diffs) > 2.0, diffs
    still = dmc.make("cartpole", "swingup", split=None, seed=4)
    obs, _ = still.reset()
    new, *_ = still.step(np.zeros(1))
    assert np.array_equal(_sky(new), _sky(obs))  # dm_control's own sky stands still
    still.close()


def test_pixels_match_dm_control_render(cartpole):
    env = cartpole.unwrapped
    obs, _ = env.reset(seed=5)
    obs, *_ = env.step(np.array([0.3]))
    reference = env.physics.render(84, 84, camera_id=0)  # same context, same uploaded sky
    assert np.array_equal(obs[-3:].transpose(1, 2, 0), reference)


def test_ping_pong_on_a_five_frame_video(tmp_path, davis_tree):
    written = davis_tree(tmp_path, {"bear": 5, "bmx-bumps": 5})
    env = dmc.make("cartpole", "swingup", video=0, video_root=tmp_path, seed=6, **FAST)
    obs, info = env.reset()
    bg = env.unwrapped.background
    start, direction = info["frame"], bg.direction
    assert info["video"] == "bear" and len(bg.frames) == 5
    expected = ping_pong_index(start, direction, 5, 8 * np.arange(7))
    seen, colours = [info["frame"]], [obs[-3:, 0, 0]]
    for _ in range(6):
        obs, _, _, _, info = env.step(np.zeros(1))
        seen.append(info["frame"])
        colours.append(obs[-3:, 0, 0])
    assert seen == expected.tolist()
    # the sky shows the flat colour of the current frame (top-left pixel is pure sky)
    truth = written["bear"][expected, 0, 0, :].astype(int)
    assert np.abs(np.array(colours, dtype=int) - truth).max() <= 12
    env.close()


def test_video_without_frames_is_named(tmp_path, davis_tree):
    davis_tree(tmp_path, {"bear": 2, "bmx-bumps": 2})
    for f in (tmp_path / "JPEGImages" / "480p" / "bmx-bumps").iterdir():
        f.unlink()
    env = dmc.make("cartpole", "swingup", video=1, video_root=tmp_path, **FAST)
    with pytest.raises(ValueError, match="bmx-bumps has no frames"):
        env.reset(seed=0)
    env.close()


@pytest.mark.parametrize(("domain", "task"), ALL_TASKS)
def test_physics_never_depends_on_the_video(domain, task):
    a = dmc.make(domain, task, split="test", video=0, seed=11, **FAST)
    b = dmc.make(domain, task, split="test", video=7, seed=11, **FAST)
    obs_a, _ = a.reset()
    obs_b, _ = b.reset()
    assert np.array_equal(a.unwrapped.physics_state(), b.unwrapped.physics_state())
    rng = np.random.default_rng(0)
    pixel_gap = []
    for _ in range(100):
        action = rng.uniform(-1, 1, size=a.action_space.shape)
        obs_a, r_a, _, _, _ = a.step(action)
        obs_b, r_b, _, _, _ = b.step(action)
        assert np.array_equal(a.unwrapped.physics_state(), b.unwrapped.physics_state())
        assert r_a == r_b
        pixel_gap.append(np.abs(obs_a.astype(np.int16) - obs_b).mean())
    assert min(pixel_gap) > 1.0, (domain, min(pixel_gap))  # the backgrounds differ
    a.close()
    b.close()


def test_seeded_physics_is_deterministic():
    def run(env, seed=None):
        env.reset(seed=seed)
        rng = np.random.default_rng(1)
        states = [env.unwrapped.physics_state()]
        for _ in range(20):
            env.step(rng.uniform(-1, 1, size=env.action_space.shape))
            states.append(env.unwrapped.physics_state())
        return np.stack(states)

    a = dmc.make("walker", "walk", seed=21, **FAST)
    b = dmc.make("walker", "walk", **FAST)
    first = run(a)
    assert np.array_equal(first, run(b, seed=21))  # make(seed=s) == reset(seed=s)
    assert np.array_equal(first, run(a, seed=21))  # reseeding repeats the episode
    assert not np.array_equal(first[0], run(b, seed=22)[0])
    # without a seed, the next episode continues the streams: a new initial state
    assert not np.array_equal(first[0], run(a)[0])
    a.close()
    b.close()


def test_video_draws_are_seeded_and_cover_the_split():
    env = dmc.make("cartpole", "swingup", split="train", seed=31, **FAST)
    draws = [env.reset()[1]["video"] for _ in range(12)]
    assert set(draws) == set(dmc.TRAIN_VIDEOS)
    again = [env.reset(seed=31)[1]["video"]] + [env.reset()[1]["video"] for _ in range(11)]
    assert draws == again
    env.close()


def test_fast_render_is_near_identical():
    fast = dmc.make("cheetah", "run", split=None, seed=41)
    slow = dmc.make("cheetah", "run", split=None, seed=41, fast_render=False)
    obs_fast, _ = fast.reset()
    obs_slow, _ = slow.reset()
    gap = np.abs(obs_fast.astype(np.int16) - obs_slow).mean()
    assert 0.0 < gap < 3.0, gap
    fast.close()
    slow.close()


def test_render_mode_and_close():
    env = dmc.make("reacher", "easy", split="test", seed=51, render_mode="rgb_array", **FAST)
    obs, _ = env.reset()
    picture = env.render()
    assert picture.shape == (84, 84, 3) and np.array_equal(picture, obs[-3:].transpose(1, 2, 0))
    env.close()
    env.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        env.unwrapped.physics_state()


def test_gymnasium_env_checker():
    env = gym.make("pisces/DistractingControl-finger-spin-v0", split="train", **FAST)
    check_env(env.unwrapped)
    env.close()
