"""Dynamics, rewards, geometry, batching and input errors of the vectorized jumping task."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.jumping import (
    ALL_TASKS,
    GREEN,
    RED,
    WHITE,
    make_params,
    optimal_actions,
    optimal_trajectories,
    optimal_trajectory,
    render,
    reset,
    rollout,
    simulate,
    step,
)

P, F = ALL_TASKS[:, 0], ALL_TASKS[:, 1]


def test_optimal_solves_all_286_tasks() -> None:
    traj = optimal_trajectories()
    assert traj.observations.shape == (286, 57, 60, 60)
    assert traj.actions.shape == traj.rewards.shape == (286, 56)
    # Exactly one JUMP, at index p - 14.
    assert (traj.actions.sum(axis=1) == 1).all()
    assert (traj.actions.argmax(axis=1) == P - 14).all()
    np.testing.assert_array_equal(traj.rewards.sum(axis=1), 156.0)
    np.testing.assert_array_equal(traj.rewards[:, :55], 1.0)
    np.testing.assert_array_equal(traj.rewards[:, 55], 101.0)
    sim = simulate(P, F, traj.actions)
    assert sim.success.all() and sim.terminated.all() and not sim.collision.any()
    assert (sim.lengths == 56).all()


@pytest.mark.parametrize("shift", [-1, 1, -2, 2])
def test_jumping_off_by_one_fails_everywhere(shift: int) -> None:
    idx = np.arange(56)
    actions = (idx[None, :] == (P - 14 + shift)[:, None]).astype(np.int64)
    sim = simulate(P, F, actions)
    assert sim.collision.all() and not sim.success.any() and sim.terminated.all()
    # The collision step gives -1 and ends the episode.
    last = sim.lengths - 1
    np.testing.assert_array_equal(sim.rewards[np.arange(286), last], -1.0)
    np.testing.assert_array_equal(sim.rewards.sum(axis=1), sim.lengths - 2.0)


def test_never_jumping_collides_at_p_minus_4() -> None:
    sim = simulate(P, F, np.zeros(56, dtype=np.int64))
    assert sim.collision.all()
    np.testing.assert_array_equal(sim.lengths, P - 4)
    np.testing.assert_array_equal(sim.x[np.arange(286), sim.lengths], P - 4)


def test_jump_shape() -> None:
    """A jump rises 16 px in 16 steps, falls back in 16, moving 1 px right every step."""
    tr = simulate([45], [12], np.array([1] + [0] * 31))
    y = tr.y[0] - 12
    np.testing.assert_array_equal(y, list(range(0, 17)) + list(range(15, -1, -1)))
    np.testing.assert_array_equal(tr.x[0], np.arange(33))
    # Actions during the jump are ignored: JUMP everywhere gives the same trace.
    tr2 = simulate([45], [12], np.ones(32, dtype=np.int64))
    np.testing.assert_array_equal(tr2.y[0], tr.y[0])


def _spec_frame(p: int, f: int, x: int, y: int) -> np.ndarray:
    """Reference frame from the spec's description (§1.2), drawn naively pixel by pixel."""
    img = np.zeros((60, 60), dtype=np.float32)  # img[row = y, col = x]
    for yy in range(y, y + 10):
        for xx in range(x, x + 5):
            if yy < 60 and xx < 60:
                img[yy, xx] = 1.0
    for yy in range(f, f + 10):
        for xx in range(p, p + 9):
            img[yy, xx] = 0.5
    img[0, :] = img[59, :] = img[:, 0] = img[:, 59] = 1.0
    img[f, :] = 1.0
    return img


@pytest.mark.parametrize(("p", "f"), [(20, 10), (33, 16), (45, 20), (27, 13)])
def test_pixels_follow_spec_geometry(p: int, f: int) -> None:
    traj = optimal_trajectory(p, f)
    obs = traj.observations
    # Exactly 81 grey pixels: the 9 x 9 visible block on rows f+1..f+9, columns p..p+8.
    for t in (0, 10, 56):
        grey = np.argwhere(obs[t] == 0.5)
        assert len(grey) == 81
        assert set(grey[:, 0]) == set(range(f + 1, f + 10))
        assert set(grey[:, 1]) == set(range(p, p + 9))
    frame = obs[0]
    np.testing.assert_array_equal(frame[[0, 59], :], 1.0)  # border rows
    np.testing.assert_array_equal(frame[:, [0, 59]], 1.0)  # border columns
    np.testing.assert_array_equal(frame[f, :], 1.0)  # floor line
    # Agent at x = 0 on the floor: visible white pixels off border/floor = cols 1..4, rows f+1..f+9.
    inner = frame[1:59, 1:59].copy()
    inner[f - 1, :] = 0
    assert np.argwhere(inner == 1.0).tolist() == [
        [r - 1, c - 1] for r in range(f + 1, f + 10) for c in range(1, 5)
    ]
    assert set(np.unique(obs).tolist()) == {0.0, 0.5, 1.0}
    # Every frame equals the naive drawing at the agent position of the same step.
    sim = simulate([p], [f], traj.actions)
    for t in range(57):
        ref = _spec_frame(p, f, int(sim.x[0, t]), int(sim.y[0, t]))
        np.testing.assert_array_equal(obs[t], ref)


def test_green_semantics() -> None:
    acts = optimal_actions(P, "green")
    np.testing.assert_array_equal(acts, 0)
    sim = simulate(P, F, acts, "green")
    assert sim.success.all() and (sim.lengths == 56).all() and sim.collision.all()
    np.testing.assert_array_equal(sim.rewards.sum(axis=1), 254.0)
    # The bonus comes once, on the first touch (step p - 5), as -1 + 100; no termination.
    assert ((sim.rewards == 99.0).sum(axis=1) == 1).all()
    np.testing.assert_array_equal(sim.rewards[np.arange(286), P - 5], 99.0)
    traj = optimal_trajectories(ALL_TASKS[:3], color="green")
    np.testing.assert_array_equal(traj.rewards, sim.rewards[:3])
    # Green obstacle: 0.5 in channel 1 only, upright picture (floor near the bottom).
    frame = traj.observations[0, 0]
    assert frame.shape == (60, 60, 3)
    assert (frame[..., 1] == 0.5).sum() == 81 and (frame[..., [0, 2]] == 0.5).sum() == 0
    np.testing.assert_array_equal(frame[59 - F[0]], 1.0)


def test_green_first_collision_in_air_gives_no_bonus() -> None:
    # Jump one step late over a green block: the first touch is on the way up (in the air).
    p, f = 33, 16
    actions = (np.arange(56) == p - 13).astype(np.int64)
    out = rollout(p, f, actions, "green")
    assert out.success and out.collision and len(out.rewards) == 56
    assert (out.rewards == -1.0).sum() == 1 and not (out.rewards == 99.0).any()
    white = rollout(p, f, actions)
    assert white.collision and not white.success
    assert out.rewards.sum() == 54 - 1 + 101


def test_red_equals_white() -> None:
    rng = np.random.default_rng(0)
    acts = (rng.random((286, 56)) < 0.05).astype(np.int64)
    white, red = simulate(P, F, acts), simulate(P, F, acts, "red")
    for a, b in zip(white[1:], red[1:], strict=True):
        np.testing.assert_array_equal(a, b)
    w = optimal_trajectory(36, 14).observations
    r = optimal_trajectory(36, 14, "red").observations
    # RGB frames are the white frames flipped upright; the obstacle moves to channel 0.
    np.testing.assert_array_equal(r[..., 0], w[:, ::-1, :])
    np.testing.assert_array_equal(r[..., 1], np.where(w == 0.5, 0.0, w)[:, ::-1, :])


def test_batched_step_equals_single_steps() -> None:
    rng = np.random.default_rng(1)
    colors = rng.choice(np.array([RED, GREEN]), size=286)
    params = make_params(P, F, colors)
    state = reset(params)
    singles = [make_params(p, f, c) for p, f, c in zip(P, F, colors, strict=True)]
    single_states = [reset(sp) for sp in singles]
    for _ in range(56):
        action = (rng.random(286) < 0.1).astype(np.int64)
        res = step(params, state, action)
        obs = render(params, res.state)
        for i in range(0, 286, 7):
            r1 = step(singles[i], single_states[i], action[i : i + 1])
            single_states[i] = r1.state
            for a, b in zip(res.state, r1.state, strict=True):
                assert a[i] == b[0]
            assert res.reward[i] == r1.reward[0]
            assert res.collision[i] == r1.collision[0]
            np.testing.assert_array_equal(obs[i], render(singles[i], r1.state)[0])
        state = res.state


def test_done_tasks_are_frozen_and_truncation_is_separate() -> None:
    params = make_params([25, 25], [10, 10], max_steps=5)
    state = reset(params)
    for t in range(12):
        res = step(params, state, [0, 0])
        state = res.state
        if t == 4:
            assert res.truncated.all() and not res.terminated.any()
    assert (state.steps == 5).all() and (state.x == 5).all()
    out = rollout(20, 10, np.zeros(56, dtype=np.int64), max_steps=3)
    assert out.truncated and not out.terminated and len(out.rewards) == 3
    out = rollout(20, 10, np.zeros(56, dtype=np.int64))  # collides at step 16
    assert out.terminated and len(out.actions) == 16 and out.observations.shape[0] == 17
    out = rollout(20, 10, np.zeros(3, dtype=np.int64))  # too short to end
    assert not out.terminated and not out.truncated and len(out.rewards) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(obstacle_position=13, floor_height=10), "obstacle_position"),
        (dict(obstacle_position=48, floor_height=10), "obstacle_position"),
        (dict(obstacle_position=30, floor_height=-1), "floor_height"),
        (dict(obstacle_position=30, floor_height=41), "floor_height"),
        (dict(obstacle_position=30, floor_height=10, color="blue"), "color"),
        (dict(obstacle_position=30.5, floor_height=10), "integer"),
    ],
)
def test_bad_task_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_params(**kwargs)
    with pytest.raises(ValueError, match=match):
        rollout(actions=[0], **kwargs)


@pytest.mark.parametrize("action", [2, -1, 0.5])
def test_bad_actions(action: float) -> None:
    params = make_params(30, 10)
    with pytest.raises(ValueError, match="action"):
        step(params, reset(params), action)
    with pytest.raises(ValueError, match="action"):
        rollout(30, 10, [0, action, 0])
    with pytest.raises(ValueError, match="color"):
        optimal_actions(30, "purple")


def test_env_range_edges_render_clipped() -> None:
    # Highest floor of the env: the jumping agent leaves the top of the screen without error.
    out = rollout(47, 40, [1] + [0] * 40)
    assert out.observations.shape[1:] == (60, 60)
    np.testing.assert_array_equal(out.observations[:, 59, :], 1.0)
    assert WHITE == 0
