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


def test_override_labels_name_the_departure_with_short_floats():
    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.jumping.report import overrides_label

    def label(**changes):
        return overrides_label({"preset": "pse", "config": make_config("pse", **changes).to_dict()})

    assert label() == ""
    assert label(alpha=90.84666921522901, temperature=1.0) == " [alpha=90.8467]"
    assert label(learning_rate=0.021377209892462314) == " [learning_rate=0.0213772]"
    assert label(coupling_weights=True) == " [coupling_weights=True]"


def test_ran_on_names_cpu_precision_and_torch_and_what_is_missing():
    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.jumping.records import ran_on

    stamped = {"cpu": "Intel Xeon (amx)", "precision": "bf16", "torch": "2.13.0+cpu"}
    assert ran_on(stamped) == "Intel Xeon (amx), bf16, torch 2.13.0+cpu"
    old = {"config": make_config("pse", amp_bf16=True).to_dict()}
    assert ran_on(old) == "CPU not recorded, bf16 (from the config), torch not recorded"
