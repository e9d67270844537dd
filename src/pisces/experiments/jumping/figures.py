"""Figures of the jumping task: the 26 x 11 task grid (paper Figure 2 style) and example frames.

CLI (registered in :mod:`pisces.cli`)::

    pisces jumping figure --grid wide --out figures/jumping
    pisces jumping figure --grid random --seed 1 --out figures/jumping

writes ``task_grid_<grid>[_seed<s>].png`` (training / validation / test cells) and
``example_frame_<p>_<f>.png`` (one optimal trajectory: white frames and red/green ones).

:func:`plot_task_grid` is reusable: given a boolean ``solved`` array (286,) in
:data:`~pisces.envs.jumping.ALL_TASKS` order it draws a per-seed "solved map" instead, cells
colored solved / unsolved with the training cells marked.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from numpy.typing import ArrayLike  # noqa: E402

from pisces.argtypes import int_in, nonnegative_int  # noqa: E402
from pisces.envs.jumping import (  # noqa: E402
    ALL_TASKS,
    FLOOR_HEIGHTS,
    GRIDS,
    NUM_TASKS,
    OBSTACLE_POSITIONS,
    TEST,
    TRAIN,
    VALIDATION,
    core,
    optimal_trajectory,
    task_split,
    to_rgb_image,
)
from pisces.errors import UsageError  # noqa: E402

__all__ = ["plot_task_grid", "plot_example_frames", "configure", "run"]

_SPLIT_COLORS = {TRAIN: "#1f4e9c", VALIDATION: "#9ecae1", TEST: "#f0f0f0"}
_SOLVED_COLORS = ("#d7301f", "#31a354")  # unsolved, solved


def _to_grid(values: np.ndarray) -> np.ndarray:
    """(286,) values in ALL_TASKS order -> (11, 26) image, row = floor height - 10."""
    grid = np.empty((len(FLOOR_HEIGHTS), len(OBSTACLE_POSITIONS)), dtype=values.dtype)
    grid[ALL_TASKS[:, 1] - FLOOR_HEIGHTS.start, ALL_TASKS[:, 0] - OBSTACLE_POSITIONS.start] = values
    return grid


def plot_task_grid(
    labels: ArrayLike,
    solved: ArrayLike | None = None,
    *,
    ax: plt.Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the 26 x 11 grid of tasks (x: obstacle position 20..45, y: floor height 10..20).

    Args:
        labels: (286,) "train" / "validation" / "test" in ALL_TASKS order (e.g. from
            :func:`~pisces.envs.jumping.task_split`).
        solved: optional (286,) bool in ALL_TASKS order. If given, cells are green (solved) or
            red (unsolved), training cells carry a "T" and validation cells a "V", and the
            title reports the solved test cells; otherwise cells are colored by split.
        ax: axes to draw on (a new figure is made if None).
        title: axes title (a default one if None).

    Returns:
        The figure.
    """
    labels = np.asarray(labels)
    if labels.shape != (NUM_TASKS,):
        raise ValueError(f"labels must have shape ({NUM_TASKS},), got {labels.shape}")
    unknown = set(np.unique(labels).tolist()) - set(_SPLIT_COLORS)
    if unknown:
        raise ValueError(f"unknown split labels {sorted(unknown)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.0, 4.4), dpi=120)
    else:
        fig = ax.figure
    extent = (
        OBSTACLE_POSITIONS.start - 0.5,
        OBSTACLE_POSITIONS.stop - 0.5,
        FLOOR_HEIGHTS.start - 0.5,
        FLOOR_HEIGHTS.stop - 0.5,
    )
    names = list(_SPLIT_COLORS)
    if solved is None:
        codes = _to_grid(np.array([names.index(v) for v in labels.tolist()]))
        cmap = ListedColormap([_SPLIT_COLORS[n] for n in names])
        ax.imshow(codes, origin="lower", extent=extent, cmap=cmap, vmin=0, vmax=2)
        handles = [
            Patch(
                facecolor=_SPLIT_COLORS[n], edgecolor="grey", label=f"{n} ({(labels == n).sum()})"
            )
            for n in names
            if (labels == n).any()
        ]
        default_title = "Jumping task: training / validation / test tasks"
    else:
        solved = np.asarray(solved, dtype=bool)
        if solved.shape != (NUM_TASKS,):
            raise ValueError(f"solved must have shape ({NUM_TASKS},), got {solved.shape}")
        codes = _to_grid(solved.astype(np.int64))
        ax.imshow(
            codes,
            origin="lower",
            extent=extent,
            cmap=ListedColormap(_SOLVED_COLORS),
            vmin=0,
            vmax=1,
        )
        for (p, f), label in zip(ALL_TASKS.tolist(), labels.tolist(), strict=True):
            if label != TEST:
                ax.text(
                    p,
                    f,
                    "T" if label == TRAIN else "V",
                    ha="center",
                    va="center",
                    fontsize=7,
                    fontweight="bold",
                    color="white",
                )
        test = labels == TEST
        handles = [
            Patch(facecolor=_SOLVED_COLORS[1], label=f"solved ({solved.sum()})"),
            Patch(facecolor=_SOLVED_COLORS[0], label=f"unsolved ({(~solved).sum()})"),
        ]
        pct = 100.0 * solved[test].mean() if test.any() else float("nan")
        default_title = f"Solved tasks (T = train, V = validation); test: {pct:.1f}% solved"
    ax.set_xticks(list(OBSTACLE_POSITIONS))
    ax.set_yticks(list(FLOOR_HEIGHTS))
    ax.tick_params(axis="x", labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xticks(np.arange(extent[0], extent[1] + 1), minor=True)
    ax.set_yticks(np.arange(extent[2], extent[3] + 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.0)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("obstacle position")
    ax.set_ylabel("floor height")
    ax.set_title(title if title is not None else default_title, fontsize=10)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def plot_example_frames(
    obstacle_position: int = 30, floor_height: int = 12, steps: tuple[int, ...] = (0, 16, 32, 50)
) -> Figure:
    """Upright pictures of the optimal trajectory of one task at a few steps: white task in
    the first row, red and green obstacles below (the frames the agent sees, unscaled)."""
    rows = [None, "red", "green"]
    fig, axes = plt.subplots(len(rows), len(steps), figsize=(2.2 * len(steps), 6.6), dpi=120)
    for r, color in enumerate(rows):
        obs = optimal_trajectory(obstacle_position, floor_height, color).observations
        for c, t in enumerate(steps):
            ax = axes[r, c]
            ax.imshow(to_rgb_image(obs[t], scale=1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{color or 'white'}, step {t}", fontsize=8)
    fig.suptitle(
        f"Optimal trajectory, obstacle {obstacle_position}, floor {floor_height} "
        f"(jump at step {obstacle_position - 14})",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping figure``."""
    parser.add_argument("--grid", choices=GRIDS, default="wide", help="training grid")
    parser.add_argument(
        "--seed", type=nonnegative_int, default=None, help="run seed (random grid only)"
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="show the validation cells (the official launch commands use --no_validation)",
    )
    parser.add_argument(
        "--obstacle",
        type=int_in(range(core.MIN_OBSTACLE_POSITION, core.MAX_OBSTACLE_POSITION)),
        default=30,
        help="example frame: obstacle",
    )
    parser.add_argument(
        "--floor",
        type=int_in(range(core.MIN_FLOOR_HEIGHT, core.MAX_FLOOR_HEIGHT)),
        default=12,
        help="example frame: floor height",
    )
    parser.add_argument("--out", type=Path, default=Path("figures/jumping"), help="output dir")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the task-grid PNG and the example-frame PNG into ``args.out``; print their paths."""
    if args.grid == "random" and args.seed is None:
        raise UsageError("--grid random needs --seed")
    labels = task_split(args.grid, args.seed, no_validation=not args.validation)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = f"_seed{args.seed}" if args.grid == "random" else ""
    grid_path = args.out / f"task_grid_{args.grid}{suffix}.png"
    fig = plot_task_grid(labels, title=f"Jumping task, {args.grid} grid{suffix.replace('_', ' ')}")
    fig.savefig(grid_path)
    plt.close(fig)
    frame_path = args.out / f"example_frame_{args.obstacle}_{args.floor}.png"
    fig = plot_example_frames(args.obstacle, args.floor)
    fig.savefig(frame_path)
    plt.close(fig)
    print(grid_path)
    print(frame_path)
    return 0
