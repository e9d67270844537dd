"""Pictures of Distracting Control observations: no distraction, training and test videos.

CLI (registered in :mod:`pisces.cli`)::

    pisces dmc frames --domain cartpole --task swingup --out figures/dmc
    pisces dmc frames --all --out docs

One task writes ``dmc_frames_<domain>-<task>.png``: one row per background (none, the 2
training videos, the first ``--test-videos`` test videos), one column per agent step
(0, ``--every``, 2 ``--every``, ...; ``--frames`` columns). ``--all`` writes
``dmc_frames.png``: one row per task, one column per background, at agent step ``--step``.
Each cell is the newest 84 x 84 frame of the observation (the agent sees it with the two
before). Every env of a task gets the same seed and the same seeded random actions, so the
robot moves identically in a row's cells and only the background differs: the physics does
not depend on the video.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from pisces.envs.dmc.tasks import TASKS, check_task, split_task_name  # noqa: E402
from pisces.envs.dmc.videos import TEST_VIDEOS, TRAIN_VIDEOS  # noqa: E402
from pisces.errors import UsageError  # noqa: E402

__all__ = [
    "backgrounds",
    "collect_frames",
    "plot_task",
    "plot_all",
    "save_png",
    "configure",
    "run",
]

#: (split, video index, label) of one background; split None is no distraction.
Row = tuple[str | None, int | None, str]


def backgrounds(test_videos: int) -> list[Row]:
    """None, the 2 training videos, the first ``test_videos`` test videos."""
    rows: list[Row] = [(None, None, "no distraction")]
    rows += [("train", i, f"train: {name}") for i, name in enumerate(TRAIN_VIDEOS)]
    rows += [("test", i, f"test: {name}") for i, name in enumerate(TEST_VIDEOS[:test_videos])]
    return rows


def collect_frames(
    domain: str,
    task: str,
    background: Row,
    steps: list[int],
    seed: int,
    video_root: Path | None = None,
    **options: Any,
) -> list[NDArray[np.uint8]]:
    """The newest frame (size, size, 3) uint8 after each of ``steps`` agent steps, actions
    uniform in [-1, 1] from ``np.random.default_rng(seed)``."""
    from pisces.envs.dmc import make

    split, video, _ = background
    root = video_root if split is not None else None
    env = make(domain, task, split=split, video=video, video_root=root, seed=seed, **options)
    try:
        obs, _ = env.reset()
        rng = np.random.default_rng(seed)
        out: list[NDArray[np.uint8]] = []
        for t in range(max(steps) + 1):
            if t in steps:
                out.append(np.ascontiguousarray(obs[-3:].transpose(1, 2, 0)))
            if t < max(steps):
                obs, *_ = env.step(rng.uniform(-1.0, 1.0, size=env.action_space.shape))
        return out
    finally:
        env.close()


def _grid(
    cells: list[list[NDArray[np.uint8]]], rows: list[str], cols: list[str], title: str = ""
) -> Figure:
    """One image per cell, row labels on the left, column titles on top; ~1 pixel per
    observed pixel (0.9 inch at 100 dpi for 84 pixels) to keep the PNG small."""
    top = 0.25 if title else 0.0
    fig, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(0.3 + 0.95 * len(cols), top + 1.0 * len(rows)),
        dpi=100,
        squeeze=False,
        layout="constrained",
    )
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.0, hspace=0.0)
    for r, row in enumerate(cells):
        for c, image in enumerate(row):
            ax = axes[r, c]
            ax.imshow(image, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=6)
            if c == 0:
                ax.set_ylabel(rows[r], fontsize=6)
    if title:
        fig.suptitle(title, fontsize=7)
    return fig


def plot_task(
    domain: str,
    task: str,
    *,
    frames: int = 6,
    every: int = 5,
    test_videos: int = 4,
    seed: int = 0,
    video_root: Path | None = None,
    **options: Any,
) -> Figure:
    """Rows: backgrounds; columns: agent steps 0, every, ..., (frames - 1) * every."""
    check_task(domain, task)
    steps = [every * k for k in range(frames)]
    rows = backgrounds(test_videos)
    cells = [collect_frames(domain, task, b, steps, seed, video_root, **options) for b in rows]
    title = f"{domain}-{task} (action repeat {TASKS[f'{domain}-{task}']})"
    return _grid(cells, [b[2] for b in rows], [f"step {t}" for t in steps], title)


def plot_all(
    *,
    step: int = 10,
    test_videos: int = 3,
    seed: int = 0,
    video_root: Path | None = None,
    **options: Any,
) -> Figure:
    """Rows: the six tasks; columns: backgrounds, at agent step ``step``."""
    cols = backgrounds(test_videos)
    cells = []
    for name in TASKS:
        domain, task = split_task_name(name)
        cells.append(
            [collect_frames(domain, task, b, [step], seed, video_root, **options)[0] for b in cols]
        )
    return _grid(cells, list(TASKS), [b[2] for b in cols])


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces dmc frames``."""
    parser.add_argument("--domain", default="cartpole", help="dm_control domain")
    parser.add_argument("--task", default="swingup", help="dm_control task")
    parser.add_argument("--all", action="store_true", help="all six tasks in one figure")
    parser.add_argument("--frames", type=int, default=6, help="columns (one task)")
    parser.add_argument("--every", type=int, default=5, help="agent steps between columns")
    parser.add_argument("--step", type=int, default=10, help="agent step shown with --all")
    parser.add_argument(
        "--test-videos", type=int, default=None, help="test videos shown (default 4; --all: 3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="env seed and action seed")
    parser.add_argument(
        "--video-root",
        type=Path,
        default=None,
        help="a DAVIS 2017 folder (default: the offline substitute videos)",
    )
    parser.add_argument("--out", type=Path, default=Path("figures/dmc"), help="output dir")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the PNG into ``args.out`` and print its path (bad input: a one-line
    :class:`UsageError` before anything is rendered or written)."""
    from pisces.experiments.runs import ResultStore

    if args.frames < 1 or args.every < 1 or args.step < 0:
        raise UsageError("--frames and --every must be >= 1, --step >= 0")
    if args.test_videos is not None and not 0 <= args.test_videos <= len(TEST_VIDEOS):
        raise UsageError(f"--test-videos must be in [0, {len(TEST_VIDEOS)}]")
    if not args.all:
        try:
            check_task(args.domain, args.task)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    try:
        ResultStore(args.out).check_writable()  # a folder, creatable, writable
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.all:
        tests = 3 if args.test_videos is None else args.test_videos
        fig = plot_all(
            step=args.step, test_videos=tests, seed=args.seed, video_root=args.video_root
        )
        path = args.out / "dmc_frames.png"
    else:
        fig = plot_task(
            args.domain,
            args.task,
            frames=args.frames,
            every=args.every,
            test_videos=4 if args.test_videos is None else args.test_videos,
            seed=args.seed,
            video_root=args.video_root,
        )
        path = args.out / f"dmc_frames_{args.domain}-{args.task}.png"
    save_png(fig, path)
    plt.close(fig)
    print(path)
    return 0


def save_png(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a 256-colour PNG (median cut, dithered): ~4x smaller than matplotlib's
    RGBA PNG for these photo-like cells (the --all figure: ~110 KB instead of ~440 KB)."""
    from PIL import Image

    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
