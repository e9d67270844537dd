"""Network inputs, the evaluation rule and epsilon-suboptimal policies."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.jumping import (
    ALL_TASKS,
    epsilon_suboptimal_actions,
    epsilon_suboptimal_probabilities,
    optimal_actions,
    optimal_inputs,
    optimal_trajectory,
    simulate,
    solved_from_actions,
    stack_frames,
)

P, F = ALL_TASKS[:, 0], ALL_TASKS[:, 1]


def test_stack_frames_white_and_rgb() -> None:
    obs = optimal_trajectory(30, 12).observations
    x = stack_frames(obs[:56])
    assert x.shape == (56, 60, 60, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, ..., 0], 0.0)
    np.testing.assert_array_equal(x[1:, ..., 0], obs[:55])
    np.testing.assert_array_equal(x[..., 1], obs[:56])
    rgb = optimal_trajectory(30, 12, "red").observations
    y = stack_frames(rgb[:56])
    assert y.shape == (56, 60, 60, 6)
    np.testing.assert_array_equal(y[0, ..., :3], 0.0)
    np.testing.assert_array_equal(y[1:, ..., :3], rgb[:55])
    np.testing.assert_array_equal(y[..., 3:], rgb[:56])
    with pytest.raises(ValueError):
        stack_frames(np.zeros((5, 32, 32)))


def test_optimal_inputs_batch() -> None:
    tasks = ALL_TASKS[::50]
    x = optimal_inputs(tasks)
    assert x.shape == (len(tasks), 56, 60, 60, 2)
    single = stack_frames(optimal_trajectory(*tasks[2]).observations[:56])
    np.testing.assert_array_equal(x[2], single)
    assert optimal_inputs(tasks[:2], "green").shape == (2, 56, 60, 60, 6)
    half = optimal_inputs(tasks[:2], dtype=np.float16)
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, x[:2])
    with pytest.raises(ValueError, match="float"):
        optimal_inputs(tasks[:2], dtype=np.uint8)


def _random_policies(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly-correct action sequences: optimal, shifted jumps, extra jumps, no jump."""
    acts = optimal_actions(P[:n]).copy()
    kind = rng.integers(0, 4, size=n)
    for i in range(n):
        if kind[i] == 1:  # move the jump
            acts[i] = 0
            acts[i, int(np.clip(P[i] - 14 + rng.integers(-3, 4), 0, 55))] = 1
        elif kind[i] == 2:  # extra random jumps anywhere
            acts[i] |= (rng.random(56) < 0.08).astype(np.int64)
        elif kind[i] == 3:
            acts[i] = (rng.random(56) < 0.05).astype(np.int64)
    return acts


def test_evaluation_rule_equals_closed_loop_for_white() -> None:
    rng = np.random.default_rng(0)
    for _ in range(4):
        acts = _random_policies(rng, 286)
        solved = solved_from_actions(acts, P)
        sim = simulate(P, F, acts)
        np.testing.assert_array_equal(solved, sim.success)
        assert 0 < solved.sum() < 286  # both outcomes are exercised
        np.testing.assert_array_equal(solved_from_actions(acts, P, "red"), solved)


def test_evaluation_rule_green_is_stricter_than_env() -> None:
    rng = np.random.default_rng(1)
    acts = (rng.random((286, 56)) < 0.02).astype(np.int64)
    solved = solved_from_actions(acts, P, "green")
    sim = simulate(P, F, acts, "green")
    bonus = (sim.rewards == 99.0).any(axis=1)
    assert solved.any() and (~solved).any()
    assert (bonus[solved]).all()  # solved => the env paid the bonus
    np.testing.assert_array_equal(solved_from_actions(np.zeros((286, 56)), P, "green"), True)
    # Jumps after the first touch (index p - 4 onwards) do not matter.
    late = (np.arange(56)[None] == (P - 4)[:, None]).astype(int)
    assert solved_from_actions(late, P, "green").all()
    early = (np.arange(56)[None] == (P - 5)[:, None]).astype(int)
    assert not solved_from_actions(early, P, "green").any()


def test_evaluation_rule_batch_axes_and_mixed_colors() -> None:
    acts = np.stack([optimal_actions(P), np.zeros((286, 56), dtype=np.int64)])
    out = solved_from_actions(acts, P)
    assert out.shape == (2, 286) and out[0].all() and not out[1].any()
    colors = np.where(np.arange(286) % 2 == 0, "red", "green")
    mixed = solved_from_actions(np.zeros((286, 56)), P, colors)
    np.testing.assert_array_equal(mixed, np.arange(286) % 2 == 1)
    assert solved_from_actions(optimal_actions(30), 30)


def test_epsilon_suboptimal() -> None:
    opt = optimal_actions(P)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(epsilon_suboptimal_actions(P, 0.0, rng), opt)
    np.testing.assert_array_equal(epsilon_suboptimal_actions(P, 1.0, rng), 1 - opt)
    a = epsilon_suboptimal_actions(P, 0.3, np.random.default_rng(7))
    b = epsilon_suboptimal_actions(P, 0.3, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert abs((a != opt).mean() - 0.3) < 0.01  # 16016 Bernoulli draws
    probs = epsilon_suboptimal_probabilities(P, 0.2)
    assert probs.shape == (286, 56, 2)
    np.testing.assert_allclose(probs.sum(-1), 1.0)
    np.testing.assert_allclose(np.take_along_axis(probs, opt[..., None], -1), 0.8)
    with pytest.raises(ValueError):
        epsilon_suboptimal_actions(P, 1.5, rng)
