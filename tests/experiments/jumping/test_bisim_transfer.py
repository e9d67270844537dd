"""Bisimulation transfer on the jumping task (Table 1's tabular baseline).

The transfer against its defining properties on small task sets; the CLI end to end on the
wide grid (one full run), with our number pinned: 48 of the 268 test tasks (17.9 %), exactly
the test tasks that share an obstacle position with a training task. (The tabular MDPs are
tested in ``tests/envs/jumping/test_jumping_mdp.py``.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pisces.cli import main
from pisces.envs.jumping import (
    ALL_TASKS,
    EPISODE_LENGTH,
    optimal_actions,
    training_tasks,
)
from pisces.experiments.jumping.bisim_transfer import BisimTransfer, BisimTransferConfig


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
        BisimTransferConfig(grid="diagonal")
    with pytest.raises(ValueError, match="candidates"):
        BisimTransferConfig(candidates="all")
    with pytest.raises(ValueError, match="gamma"):
        BisimTransferConfig(gamma=1.0)


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
    # ... and only those: our number, 48 / 268 (the paper's 17.9 % is the report's business)
    assert (solved[split == "test"] == same_p[split == "test"]).all()
    assert c["test_solved"] == 48 and r1["test_solved_pct"] == pytest.approx(100 * 48 / 268)
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
