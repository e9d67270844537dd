"""The 286 jumping tasks of the PSE paper and its train / validation / test grids (spec §2).

A task is a pair ``(obstacle_position, floor_height)`` with obstacle position in 20..45 and
floor height in 10..20. :data:`ALL_TASKS` lists them in a fixed order: obstacle position
major, floor height minor, i.e. ``ALL_TASKS[i] == (20 + i // 11, 10 + i % 11)``
(:func:`task_index` inverts it). Every per-task array of this package (splits, solved flags)
uses that order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "OBSTACLE_POSITIONS",
    "FLOOR_HEIGHTS",
    "ALL_TASKS",
    "NUM_TASKS",
    "GRIDS",
    "TRAIN",
    "VALIDATION",
    "TEST",
    "task_index",
    "training_tasks",
    "validation_tasks",
    "task_split",
    "SPLITS",
]

OBSTACLE_POSITIONS = range(20, 46)
FLOOR_HEIGHTS = range(10, 21)
#: (286, 2) int64 (obstacle_position, floor_height), obstacle-major; read-only.
ALL_TASKS: NDArray[np.int64] = np.array(
    [(p, f) for p in OBSTACLE_POSITIONS for f in FLOOR_HEIGHTS], dtype=np.int64
)
ALL_TASKS.setflags(write=False)
NUM_TASKS = len(ALL_TASKS)
GRIDS = ("wide", "narrow", "random")
TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)

# Official flags of each grid: obstacle range, floor range, strides (spec §2, §8).
_GRID_FLAGS = {
    "wide": dict(p_min=20, p_max=45, f_min=10, f_max=20, dp=5, df=5),
    "narrow": dict(p_min=28, p_max=38, f_min=13, f_max=17, dp=2, df=2),
}
#: number of random training tasks: (26 // 5 + 1) * (11 // 5 + 1), the size of the wide grid.
_NUM_RANDOM = (len(OBSTACLE_POSITIONS) // 5 + 1) * (len(FLOOR_HEIGHTS) // 5 + 1)


def task_index(obstacle_position: ArrayLike, floor_height: ArrayLike) -> NDArray[np.int64]:
    """Index into :data:`ALL_TASKS` of each (p, f) pair (broadcast); ValueError off the grid."""
    p = np.asarray(obstacle_position, dtype=np.int64)
    f = np.asarray(floor_height, dtype=np.int64)
    p0, f0 = OBSTACLE_POSITIONS.start, FLOOR_HEIGHTS.start
    off = (p < p0) | (p >= OBSTACLE_POSITIONS.stop) | (f < f0) | (f >= FLOOR_HEIGHTS.stop)
    if np.any(off):
        raise ValueError("task outside the 26 x 11 grid (obstacle 20..45, floor 10..20)")
    return (p - p0) * len(FLOOR_HEIGHTS) + (f - f0)


def _check_grid(grid: str, seed: int | None) -> None:
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; choose from {list(GRIDS)}")
    if grid == "random" and seed is None:
        raise ValueError("the 'random' grid needs a seed (the run's --seed)")


def training_tasks(grid: str, seed: int | None = None) -> NDArray[np.int64]:
    """The 18 training tasks of a grid: (18, 2) int64 (obstacle_position, floor_height).

    * "wide": p in {20, 25, ..., 45} x f in {10, 15, 20}, p-major;
    * "narrow": p in {28, 30, ..., 38} x f in {13, 15, 17}, p-major;
    * "random": the official ``np.random.seed(seed)``; 18 positions drawn uniformly with
      replacement from 20..45, then 18 heights from 10..20, zipped. Reproduced with a private
      ``np.random.RandomState(seed)`` (same stream; the global RNG is untouched). Duplicates
      are kept, as in the original. ``seed`` is ignored for the other grids.

    Raises:
        ValueError: unknown grid name, or "random" without a seed.
    """
    _check_grid(grid, seed)
    if grid == "random":
        rs = np.random.RandomState(seed)
        p = rs.choice(np.arange(OBSTACLE_POSITIONS.start, OBSTACLE_POSITIONS.stop), _NUM_RANDOM)
        f = rs.choice(np.arange(FLOOR_HEIGHTS.start, FLOOR_HEIGHTS.stop), _NUM_RANDOM)
        return np.stack([p, f], axis=1).astype(np.int64)
    g = _GRID_FLAGS[grid]
    return np.array(
        [
            (p, f)
            for p in range(g["p_min"], g["p_max"] + 1, g["dp"])
            for f in range(g["f_min"], g["f_max"] + 1, g["df"])
        ],
        dtype=np.int64,
    )


def _neighbour_validation(train: NDArray[np.int64]) -> set[tuple[int, int]]:
    """Union of the in-grid 4-neighbours of the training tasks (may include training cells)."""
    out: set[tuple[int, int]] = set()
    for p, f in train.tolist():
        for q, g in ((p - 1, f), (p + 1, f), (p, f - 1), (p, f + 1)):
            if q in OBSTACLE_POSITIONS and g in FLOOR_HEIGHTS:
                out.add((q, g))
    return out


def _tight_validation(grid: str) -> set[tuple[int, int]]:
    """The official "tight grid" rule (narrow grid): lines through the training cell midpoints.

    The training grid extended one step to the left (p from p_min - dp), shifted by (+1, +1)
    to cell midpoints; through each midpoint (pm, fm) a vertical line (pm, f) for f in
    fm + 2k within 10..20, and a horizontal line (p, fm) for p in pm + 2k within [20, 45).
    """
    g = _GRID_FLAGS[grid]
    out: set[tuple[int, int]] = set()
    for p in range(g["p_min"] - g["dp"], g["p_max"] + 1, g["dp"]):
        for f in range(g["f_min"], g["f_max"] + 1, g["df"]):
            pm, fm = p + 1, f + 1
            for h in range(FLOOR_HEIGHTS.start, FLOOR_HEIGHTS.stop):
                if (h - fm) % 2 == 0:
                    out.add((pm, h))
            for q in range(OBSTACLE_POSITIONS.start, OBSTACLE_POSITIONS.stop - 1):  # [20, 45)
                if (q - pm) % 2 == 0:
                    out.add((q, fm))
    return out


def validation_tasks(
    grid: str, seed: int | None = None, *, no_validation: bool = False
) -> NDArray[np.int64]:
    """Validation tasks of a grid, (V, 2) int64 in :data:`ALL_TASKS` order.

    * "wide" and "random": the union of the 4-neighbours (inside the 26 x 11 grid) of the
      training tasks -> 54 tasks for "wide"; for "random" they may include training cells,
      which :func:`task_split` then labels as validation (as the official evaluation does);
    * "narrow": the official tight-grid rule (obstacle range <= 12) -> 57 tasks;
    * ``no_validation=True`` (every official launch command) -> empty, shape (0, 2).
    """
    _check_grid(grid, seed)
    if no_validation:
        return np.zeros((0, 2), dtype=np.int64)
    if grid == "narrow":
        cells = _tight_validation(grid)
    else:
        cells = _neighbour_validation(training_tasks(grid, seed))
    order = sorted(cells, key=lambda c: int(task_index(*c)))
    return np.array(order, dtype=np.int64).reshape(-1, 2)


def task_split(grid: str, seed: int | None = None, *, no_validation: bool) -> NDArray[np.str_]:
    """Label of each of the 286 tasks (ALL_TASKS order): "train", "validation" or "test".

    Validation wins over train where both apply (only possible for "random"); test is every
    other cell. With ``no_validation=True`` (the official launch commands) there is no
    validation and test = 286 - #unique training tasks (268 for "wide" and "narrow").
    """
    labels = np.full(NUM_TASKS, TEST, dtype="<U10")
    train = training_tasks(grid, seed)
    labels[task_index(train[:, 0], train[:, 1])] = TRAIN
    val = validation_tasks(grid, seed, no_validation=no_validation)
    if len(val):
        labels[task_index(val[:, 0], val[:, 1])] = VALIDATION
    return labels
