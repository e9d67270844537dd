"""Bisimulation transfer on the jumping task (Table 1's tabular baseline).

The tabular MDPs are checked against the env itself (every transition re-stepped with
:func:`pisces.envs.jumping.core.step`, the optimal path against :func:`simulate`, the optimal
values against the optimal trajectory's return); the transfer against its defining
properties on small task sets; the CLI end to end on the wide grid (one full run).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pisces.cli import main
from pisces.envs.jumping import (
    ALL_TASKS,
    EPISODE_LENGTH,
    core,
    optimal_actions,
    optimal_trajectory,
    simulate,
    training_tasks,
)
from pisces.experiments.jumping.bisim_transfer import (
    BisimTransfer,
    BisimTransferConfig,
    enumerate_task,
    enumerate_tasks,
)
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


def test_transfer_properties():
    train = np.array([[20, 10], [33, 12]])
    queries = np.array([[20, 10], [33, 12], [20, 15], [33, 20], [40, 10]])
    solver = BisimTransfer(BisimTransferConfig(grid="wide"))
    actions, ambiguous, dist, info = solver.transfer(train, queries)
    assert actions.shape == ambiguous.shape == dist.shape == (5, EPISODE_LENGTH)
    # training tasks, and tasks sharing their obstacle position, map at distance 0 onto
    # themselves and copy the optimal policy exactly
    for i in range(4):
        np.testing.assert_array_equal(dist[i], 0.0)
        np.testing.assert_array_equal(actions[i], optimal_actions(queries[i, 0]))
    # (40, 10) has no training task with its obstacle position: no scored state is bisimilar
    # to a training state (only states past the obstacle can be, where only the exit counts)
    assert (dist[4, : 40 - 14 + 1] > 0).all()
    assert info["max_residual"] <= 1e-9
    # deterministic: a fresh solver gives the same answer
    again = BisimTransfer(BisimTransferConfig(grid="wide")).transfer(train, queries)
    np.testing.assert_array_equal(again[0], actions)
    np.testing.assert_array_equal(again[2], dist)


def test_candidate_subsets_are_never_nearer():
    train, queries = np.array([[25, 10]]), np.array([[30, 10], [25, 12]])
    dist = {
        c: BisimTransfer(BisimTransferConfig(candidates=c)).transfer(train, queries)[2]
        for c in ("reachable", "decision", "optimal")
    }
    assert (dist["decision"] >= dist["reachable"]).all()
    assert (dist["optimal"] >= dist["reachable"]).all()
    # (25, 12) is bisimilar to (25, 10): distance 0 wherever its state is a candidate
    assert (dist["reachable"][1] == 0).all() and (dist["optimal"][1] == 0).all()


def test_config_errors():
    with pytest.raises(ValueError, match="unknown grid"):
        BisimTransferConfig(grid="diagonal").validate()
    with pytest.raises(ValueError, match="candidates"):
        BisimTransferConfig(candidates="all").validate()
    with pytest.raises(ValueError, match="gamma"):
        BisimTransferConfig(gamma=1.0).validate()


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bisim") / "wide"
    assert (
        main(["jumping", "bisim-transfer", "--grid", "wide", "--seeds", "1-2", "--out", str(out)])
        == 0
    )
    return out


def test_cli_writes_trainer_style_results(wide_run):
    r1 = json.loads((wide_run / "seed-001.json").read_text())
    r2 = json.loads((wide_run / "seed-002.json").read_text())
    for key in ("preset", "grid", "seed", "epochs", "test_solved_pct", "solved", "split", "final"):
        assert key in r1
    assert (r1["preset"], r1["grid"], r1["epochs"]) == ("bisim-transfer", "wide", 0)
    assert len(r1["solved"]) == len(r1["split"]) == len(ALL_TASKS)
    split, solved = np.array(r1["split"]), np.array(r1["solved"], dtype=bool)
    assert solved[split == "train"].all()  # every training task solves itself
    c = r1["final"]
    assert c["train_total"] == 18 and c["test_total"] == 268
    assert r1["test_solved_pct"] == pytest.approx(100 * c["test_solved"] / 268)
    assert r1["test_solved_pct_ties_pessimistic"] <= r1["test_solved_pct"]
    assert r1["test_solved_pct"] <= r1["test_solved_pct_ties_optimistic"]
    # a test task sharing an obstacle position with a training task is bisimilar to it
    train_p = {p for p, _ in training_tasks("wide").tolist()}
    same_p = np.isin(ALL_TASKS[:, 0], sorted(train_p))
    assert solved[same_p].all()
    # the wide grid does not depend on the seed
    assert r2["solved"] == r1["solved"] and r2["seed"] == 2
    summary = json.loads((wide_run / "summary.json").read_text())
    assert summary["seeds"] == [1, 2]


def test_cli_resumes_and_refuses_a_different_config(wide_run, capsys):
    before = (wide_run / "seed-001.json").stat().st_mtime_ns
    args = ["jumping", "bisim-transfer", "--grid", "wide", "--seeds", "1-2", "--out"]
    assert main([*args, str(wide_run)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert (wide_run / "seed-001.json").stat().st_mtime_ns == before
    assert main([*args, str(wide_run), "--gamma", "0.5"]) == 2
    assert "different configuration" in capsys.readouterr().err


def test_cli_rejects_unknown_grid(tmp_path, capsys):
    args = ["jumping", "bisim-transfer", "--grid", "diagonal", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "unknown grid" in capsys.readouterr().err


def test_report_puts_it_on_the_papers_row(wide_run, capsys):
    capsys.readouterr()
    assert main(["jumping", "report", str(wide_run), "--reps", "200"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| Bisimulation transfer"))
    assert "17.9 (0.0)" in row and "n=2" in row  # ours and the paper's, one row
    assert "NOTE" not in out  # no learning: epochs = 0 is not a short run
