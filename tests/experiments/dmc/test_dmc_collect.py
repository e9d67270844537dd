"""Paired episodes: env B replays env A's actions with identical physics; tampering is caught."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("dm_control")

from pisces.agents.pse_dmc import action_psm  # noqa: E402
from pisces.errors import UsageError  # noqa: E402
from pisces.experiments.dmc.collect import (  # noqa: E402
    VIDEO_B,
    CollectConfig,
    PhysicsMismatch,
    collect_pairs,
    read_pairs,
    replay_actions,
    save_pairs,
)
from pisces.experiments.dmc.config import make_config  # noqa: E402
from pisces.experiments.dmc.teacher import StateEnv, Teacher  # noqa: E402
from pisces.experiments.dmc.train import pair_dataset  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (as ``pisces dmc train`` defaults to): small ops on 2 busy cores are
    many times slower with 2 threads; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def teacher() -> Teacher:
    """An untrained (but deterministic) state teacher: its greedy actions vary with the state."""
    from pisces.agents.sac_state import StateSACAgent, StateSACConfig

    env = StateEnv("cartpole", "swingup")
    agent = StateSACAgent(StateSACConfig(hidden_dim=16), env.obs_dim, env.action_dim, seed=0)
    return Teacher(agent, env, {"eval_return": None}, path=None, digest="0" * 64)


@pytest.fixture(scope="module")
def pairs(teacher):
    return collect_pairs(teacher, CollectConfig(task_seeds=1, episodes=1, first_seed=5))


def test_pairs_have_identical_physics_and_actions_and_different_backgrounds(pairs):
    frames, actions = pairs["frames"], pairs["actions"]
    assert frames.shape == (1, 2, 125, 3, 84, 84) and frames.dtype == np.uint8
    assert actions.shape == (1, 2, 125, 1)
    np.testing.assert_array_equal(actions[:, 0], actions[:, 1])
    assert np.unique(actions[0, 0]).size > 10  # the policy reacts to the state
    assert pairs["returns"][0, 0] == pairs["returns"][0, 1]  # same physics, same reward
    assert pairs["states"].shape == (1, 126, 4)
    # bear vs bmx-bumps: the backgrounds differ in every frame
    diff = np.abs(frames[0, 0].astype(int) - frames[0, 1].astype(int)).mean(axis=(1, 2, 3))
    assert (diff > 1.0).all()
    assert pairs["task_seeds"].tolist() == [5] and pairs["episodes"].tolist() == [0]


def test_the_stored_psm_is_the_action_psm_with_zero_argmin_diagonal(pairs):
    metric = pairs["metric"][0]
    np.testing.assert_allclose(metric, action_psm(pairs["actions"][0, 0], pairs["actions"][0, 1]))
    assert np.all(np.diag(metric) == 0) and np.all(metric >= 0)
    np.testing.assert_array_equal(metric.min(axis=1), np.diag(metric))  # argmin on the diagonal


def test_a_tampered_action_is_caught_at_its_step(pairs):
    from pisces.envs.dmc import make

    actions = pairs["actions"][0, 0].copy()
    states = pairs["states"][0]
    env_b = make("cartpole", "swingup", split="train", video=VIDEO_B)
    try:
        replay_actions(env_b, 5, actions, states)  # untampered: no error
        actions[7] = np.clip(actions[7] + 0.5, -1, 1) if actions[7] < 0.5 else actions[7] - 0.5
        with pytest.raises(PhysicsMismatch, match=r"after action 7 \(agent step 8\).*pair 0"):
            replay_actions(env_b, 5, actions, states, where=" (pair 0)")
        with pytest.raises(PhysicsMismatch, match="after the reset"):
            replay_actions(env_b, 6, pairs["actions"][0, 0], states)  # another task seed
    finally:
        env_b.close()


def test_pairs_file_round_trip_and_bad_files(pairs, tmp_path):
    path = save_pairs(tmp_path, pairs, {"domain": "cartpole", "task": "swingup"})
    data, info = read_pairs(tmp_path)
    for key, value in pairs.items():
        np.testing.assert_array_equal(data[key], value)
    assert info["sha256"] and info["bytes"] == path.stat().st_size
    cfg = make_config("drq-pse-cpu", "cartpole", "swingup")
    dataset = pair_dataset(data, info, cfg, "cpu")
    assert dataset.num_pairs == 1 and dataset.length == 125
    with pytest.raises(UsageError, match="not walker-walk"):
        pair_dataset(data, info, make_config("drq-pse-cpu", "walker", "walk"), "cpu")
    with pytest.raises(UsageError, match="no pair data at"):
        read_pairs(tmp_path / "nothing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, frames=np.zeros(3))
    with pytest.raises(UsageError, match="not a pisces DMC pairs file"):
        read_pairs(bad)
