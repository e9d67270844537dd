"""What works without dm_control: imports, registration, the task table, argument errors."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest

from pisces.envs import dmc


def test_import_and_registration_do_not_import_dm_control():
    code = (
        "import sys, gymnasium as gym, pisces, pisces.envs, pisces.envs.dmc as d\n"
        "d.register_envs()\n"
        "assert all(i in gym.registry for i in d.ENV_IDS)\n"
        "bad = [m for m in ('dm_control', 'mujoco', 'skimage') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_task_table():
    assert dmc.TASKS == {
        "cartpole-swingup": 8,
        "reacher-easy": 4,
        "cheetah-run": 4,
        "finger-spin": 2,
        "ball_in_cup-catch": 4,
        "walker-walk": 2,
    }
    assert dmc.ACTION_REPEAT is dmc.TASKS
    assert dmc.GROUND_ALPHA == {
        "cartpole": 0.3,
        "ball_in_cup": 0.3,
        "finger": 0.3,
        "walker": 1.0,
        "cheetah": 1.0,
        "reacher": 0.0,
    }
    assert all(1000 % r == 0 for r in dmc.TASKS.values())
    assert dmc.ENV_IDS[0] == "pisces/DistractingControl-cartpole-swingup-v0"
    assert dmc.env_id("ball_in_cup", "catch") == "pisces/DistractingControl-ball_in_cup-catch-v0"
    assert set(dmc.ENV_IDS) <= set(gym.registry)


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown task 'cartpole-balance'.*walker-walk"):
        dmc.make("cartpole", "balance")
    with pytest.raises(ValueError, match="cartpole-swingup, reacher-easy"):
        dmc.check_task("humanoid", "run")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "val"}, ValueError, "unknown split 'val'"),
        ({"video": 2}, ValueError, r"index in \[0, 2\)"),
        ({"video": True}, ValueError, "index"),
        ({"video": "blackswan"}, ValueError, "not in split 'train'"),
        ({"split": None, "video": 0}, ValueError, "needs a split"),
        ({"split": None, "video_root": "."}, ValueError, "needs a split"),
        ({"sky_resolution": 64}, TypeError, r"unknown option.*sky_size"),
        ({"sky_size": 0}, ValueError, "sky_size"),
        ({"ground_alpha": 2.0}, ValueError, "ground_alpha"),
        ({"image_size": 0}, ValueError, "image_size"),
    ],
)
def test_bad_arguments_fail_before_loading(kwargs, error, match):
    with pytest.raises(error, match=match):
        dmc.DistractingControlEnv("cartpole", "swingup", **kwargs)


def test_missing_video_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        dmc.make("cartpole", "swingup", video_root=tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="has no videos"):
        dmc.make("cartpole", "swingup", video_root=tmp_path)
