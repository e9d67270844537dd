"""Task list, training grids, validation rules and splits (spec §2)."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.jumping import (
    ALL_TASKS,
    FLOOR_HEIGHTS,
    OBSTACLE_POSITIONS,
    task_index,
    task_split,
    training_tasks,
    validation_tasks,
)


def test_all_tasks_order() -> None:
    assert ALL_TASKS.shape == (286, 2)
    assert len({tuple(t) for t in ALL_TASKS.tolist()}) == 286
    assert ALL_TASKS[0].tolist() == [20, 10] and ALL_TASKS[1].tolist() == [20, 11]
    assert ALL_TASKS[-1].tolist() == [45, 20]
    np.testing.assert_array_equal(task_index(ALL_TASKS[:, 0], ALL_TASKS[:, 1]), np.arange(286))
    assert list(OBSTACLE_POSITIONS) == list(range(20, 46))
    assert list(FLOOR_HEIGHTS) == list(range(10, 21))


def test_wide_and_narrow_training_cells() -> None:
    wide = training_tasks("wide")
    expected = [(p, f) for p in (20, 25, 30, 35, 40, 45) for f in (10, 15, 20)]
    assert [tuple(t) for t in wide.tolist()] == expected
    narrow = training_tasks("narrow")
    expected = [(p, f) for p in (28, 30, 32, 34, 36, 38) for f in (13, 15, 17)]
    assert [tuple(t) for t in narrow.tolist()] == expected


def test_random_grid_seed_1_and_no_global_rng() -> None:
    np.random.seed(123)  # noqa: NPY002 (checks the global RNG is left alone)
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    tasks = training_tasks("random", seed=1)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    assert tasks.shape == (18, 2)
    prefix = [(25, 15), (31, 12), (32, 14), (28, 20), (29, 12), (31, 14)]
    assert [tuple(t) for t in tasks[:6].tolist()] == prefix
    assert not np.array_equal(tasks, training_tasks("random", seed=2))
    assert (tasks[:, 0] >= 20).all() and (tasks[:, 0] <= 45).all()
    assert (tasks[:, 1] >= 10).all() and (tasks[:, 1] <= 20).all()


def test_validation_sets() -> None:
    train = {tuple(t) for t in training_tasks("wide").tolist()}
    wide = {tuple(t) for t in validation_tasks("wide").tolist()}
    assert len(wide) == 54 and not wide & train
    for p, f in wide:  # every validation cell is a 4-neighbour of a training cell
        assert any(abs(p - q) + abs(f - g) == 1 for q, g in train)
    narrow = validation_tasks("narrow")
    assert len(narrow) == 57
    p, f = narrow[:, 0], narrow[:, 1]
    assert (p % 2 == 1).all() and (f % 2 == 0).all()  # odd p x even f
    # On a line through a cell midpoint: p in 27..39 or f in 14..18.
    assert (((p >= 27) & (p <= 39)) | ((f >= 14) & (f <= 18))).all()
    assert len(validation_tasks("wide", no_validation=True)) == 0
    rnd = validation_tasks("random", seed=1)
    assert len(rnd) > 0


@pytest.mark.parametrize("grid", ["wide", "narrow", "random"])
def test_split_counts(grid: str) -> None:
    seed = 1 if grid == "random" else None
    n_train = len({tuple(t) for t in training_tasks(grid, seed).tolist()})
    labels = task_split(grid, seed, no_validation=True)
    assert labels.shape == (286,)
    assert (labels == "validation").sum() == 0
    assert (labels == "train").sum() == n_train
    assert (labels == "test").sum() == 286 - n_train
    if grid != "random":
        assert (labels == "test").sum() == 268
        labels = task_split(grid, seed, no_validation=False)
        n_val = {"wide": 54, "narrow": 57}[grid]
        assert (labels == "validation").sum() == n_val
        assert (labels == "test").sum() == 286 - 18 - n_val
    train = training_tasks(grid, seed)
    assert (labels[task_index(train[:, 0], train[:, 1])] == "train").all()


def test_grid_errors() -> None:
    with pytest.raises(ValueError, match="unknown grid"):
        training_tasks("square")
    with pytest.raises(ValueError, match="seed"):
        training_tasks("random")
    with pytest.raises(ValueError, match="unknown grid"):
        task_split("medium", no_validation=True)
    with pytest.raises(ValueError, match="seed"):
        validation_tasks("random")
    with pytest.raises(ValueError, match="grid"):
        task_index(19, 10)
