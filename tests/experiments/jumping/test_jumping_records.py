"""The jumping task's result format: counts per split."""

from __future__ import annotations

import numpy as np

from pisces.envs.jumping import task_split
from pisces.experiments.jumping.records import split_counts


def test_split_counts_of_a_solved_map() -> None:
    labels = task_split("wide", None, no_validation=True)
    solved = np.zeros(286, dtype=bool)
    solved[np.flatnonzero(labels == "test")[:67]] = True  # 67 of 268 test tasks
    solved[np.flatnonzero(labels == "train")] = True
    counts = split_counts(solved, labels)
    assert (counts["test_solved"], counts["test_total"]) == (67, 268)
    assert counts["test_solved_pct"] == 25.0
    assert (counts["train_solved"], counts["train_solved_pct"]) == (18, 100.0)
    assert counts["validation_total"] == 0 and counts["validation_solved_pct"] is None
    assert split_counts(solved, labels, suffix="_red")["test_red_solved"] == 67
