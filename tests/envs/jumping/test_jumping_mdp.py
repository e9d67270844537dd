"""The jumping task as tabular MDPs, checked against the env itself: every transition
re-stepped with :func:`pisces.envs.jumping.core.step`, the optimal path against
:func:`simulate`, the optimal values against the optimal trajectory's return."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.jumping import (
    EPISODE_LENGTH,
    core,
    optimal_actions,
    optimal_trajectory,
    simulate,
)
from pisces.envs.jumping.mdp import enumerate_task, enumerate_tasks
from pisces.metrics import deterministic_bisimulation


@pytest.fixture(scope="module")
def small_tasks():
    tasks = np.array([[20, 10], [20, 17], [33, 12], [45, 20]])
    return tasks, enumerate_tasks(tasks)


def test_tables_follow_the_env(small_tasks):
    tasks, mdps = small_tasks
    for (p, f), t in zip(tasks.tolist(), mdps, strict=True):
        s = t.terminal
        x, y, air, up = (t.states[:s, i] for i in range(4))
        params = core.make_params(np.full(s, p), np.full(s, f))
        false = np.zeros(s, dtype=bool)
        state = core.JumpingState(x, y, air.astype(bool), up.astype(bool), false, false, false, x)
        for a in (core.RIGHT, core.JUMP):
            res = core.step(params, state, a)
            np.testing.assert_array_equal(t.mdp.rewards[:s, a], res.reward)
            nxt = t.mdp.next_state[:s, a]
            assert ((nxt == s) == res.terminated).all()
            live = ~res.terminated
            np.testing.assert_array_equal(t.states[nxt[live], 0], res.state.x[live])
            np.testing.assert_array_equal(t.states[nxt[live], 1], res.state.y[live])
        # terminal: absorbing with reward 0; every state distinct
        assert (t.mdp.next_state[s] == s).all() and (t.mdp.rewards[s] == 0).all()
        assert len({tuple(r) for r in t.states[:s].tolist()}) == s


def test_optimal_path_and_values_match_the_optimal_trajectory(small_tasks):
    tasks, mdps = small_tasks
    for (p, f), t in zip(tasks.tolist(), mdps, strict=True):
        roll = simulate([p], [f], optimal_actions(p)[None])
        np.testing.assert_array_equal(t.states[t.optimal_path, 0], roll.x[0, :EPISODE_LENGTH])
        np.testing.assert_array_equal(t.states[t.optimal_path, 1], roll.y[0, :EPISODE_LENGTH])
        # greedy optimal policy on the path = the unique optimal policy (spec §1.5)
        np.testing.assert_array_equal(t.optimal_policy[t.optimal_path], optimal_actions(p))
        assert t.q_values[0].max() == optimal_trajectory(p, f).rewards.sum()
        # the JUMP at p - 14 is strictly better than RIGHT there
        q = t.q_values[t.optimal_path[p - 14]]
        assert q[core.JUMP] > q[core.RIGHT]


def test_decision_states_and_action_ties(small_tasks):
    _, mdps = small_tasks
    for t in mdps:
        s = t.terminal
        airborne = t.states[:s, 2] == 1
        # in mid-air the action is ignored (so both actions are optimal); on the floor it
        # matters unless both actions end the episode alike (collision, or exit)
        both_end = (t.mdp.next_state[:s] == s).all(axis=1)
        np.testing.assert_array_equal(t.decision_states[:s][~both_end], ~airborne[~both_end])
        assert not t.decision_states[:s][airborne].any() and not t.decision_states[s]
        assert t.optimal_action_sets[:s][airborne].all()
        assert t.optimal_action_sets.any(axis=1).all()


def test_batched_enumeration_equals_one_at_a_time(small_tasks):
    tasks, mdps = small_tasks
    for (p, f), t in zip(tasks.tolist(), mdps, strict=True):
        one = enumerate_task(p, f)
        np.testing.assert_array_equal(one.mdp.next_state, t.mdp.next_state)
        np.testing.assert_array_equal(one.mdp.rewards, t.mdp.rewards)
        np.testing.assert_array_equal(one.states, t.states)


def test_floor_height_does_not_change_the_mdp(small_tasks):
    _, (a, b, c, _) = small_tasks  # (20, 10), (20, 17), (33, 12)
    assert a.digest == b.digest and a.digest != c.digest
    d = deterministic_bisimulation(a.mdp, c.mdp, gamma=0.99).distance
    assert d[0, 0] > 0.0  # different obstacle positions: start states are not bisimilar
