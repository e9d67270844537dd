"""The Gymnasium wrappers: checker, registration, options, rendering, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pisces.envs.jumping as jumping
from pisces.envs.jumping import ENV_IDS, optimal_trajectory, register_envs


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    assert env.spec is not None and env.spec.max_episode_steps == 600


def test_registration_is_idempotent() -> None:
    register_envs()
    register_envs()
    assert all(i in gym.registry for i in ENV_IDS)
    assert jumping.ENV_IDS == ENV_IDS


@pytest.mark.parametrize(("env_id", "color"), [(ENV_IDS[0], None), (ENV_IDS[1], "green")])
def test_episode_matches_functional_env(env_id: str, color: str | None) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    ref = optimal_trajectory(31, 17, color)
    options = {"obstacle_position": 31, "floor_height": 17}
    if color:
        options["color"] = color
    obs, info = env.reset(seed=0, options=options)
    np.testing.assert_array_equal(obs, ref.observations[0])
    total, t = 0.0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(int(ref.actions[t]))
        t += 1
        np.testing.assert_array_equal(obs, ref.observations[t])
        total += reward
    assert terminated and not truncated and info["success"] and t == 56
    assert total == ref.rewards.sum()
    img = env.render()
    assert img.dtype == np.uint8 and img.shape == (240, 240, 3)


def test_rgb_array_is_upright() -> None:
    env = gym.make(ENV_IDS[0], render_mode="rgb_array", obstacle_position=30, floor_height=10)
    env.reset(seed=0)
    img = env.render()[::4, ::4, 0]  # back to 60 x 60
    assert (img[59 - 10] == 255).all()  # floor line is 10 px above the bottom edge
    assert (img == 128).sum() == 81  # grey obstacle above it
    assert (np.argwhere(img == 128)[:, 0] < 59 - 10).all()


def test_constructor_defaults_and_sampling() -> None:
    env = gym.make(ENV_IDS[1], obstacle_position=25, floor_height=15, color="red")
    _, info = env.reset(seed=1)
    assert (info["obstacle_position"], info["floor_height"], info["color"]) == (25, 15, "red")
    env = gym.make(ENV_IDS[0])
    seen = {
        tuple(env.reset(seed=s)[1][k] for k in ("obstacle_position", "floor_height"))
        for s in range(40)
    }
    assert seen <= {(p, f) for p in (20, 30, 40) for f in (10, 20)} and len(seen) > 1


def test_errors() -> None:
    env = gym.make(ENV_IDS[0])
    with pytest.raises(ValueError, match="obstacle_position"):
        env.reset(options={"obstacle_position": 50, "floor_height": 10})
    with pytest.raises(ValueError, match="floor_height"):
        env.reset(options={"obstacle_position": 30, "floor_height": 41})
    with pytest.raises(ValueError, match="JumpingColorsTask"):
        env.reset(options={"color": "red"})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"obstacle": 30})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(2)
    with pytest.raises(ValueError, match="color"):
        gym.make(ENV_IDS[1], color="blue")
