"""TensorBoard scalars of a run: losses, evaluation %, learning rate, steps per second.

* :class:`ScalarLogger`: event files TensorBoard reads (``torch.utils.tensorboard``'s
  ``SummaryWriter``; needs the optional extra ``pisces[tensorboard]``). Nothing is imported
  until a logger is made, so code that never logs pays nothing.
* :func:`jumping_epoch_logger`: an ``on_epoch`` callback for the jumping trainer
  (:func:`pisces.experiments.jumping.trainer.run`) that logs each new ``loss_log`` entry and
  each new evaluation exactly once, however often it is called. Resumed from a mid-run
  checkpoint into the same folder, it skips the points the folder already holds (per tag,
  up to the largest step written), so a resumed run's curves have no duplicate point.
* :func:`log_lqr_record`: an LQR record's training curve and final errors.
* :func:`plot_scalars`: the scalars of a folder (every run under it) as one PNG of curves.

Tags: ``loss/{loss,ce,align,weight_decay}`` at the optimizer step of the entry (the mean over
the ``log_every`` steps before it); ``eval/{split}_solved_pct`` (and per color) at the step
of the evaluation; ``train/learning_rate`` and ``train/steps_per_second`` (steps over the
training seconds since the previous call) at the step an epoch ends. LQR:
``lqr/train_gap`` (J − J* on the training environments, per curve point),
``lqr/test_error`` and ``lqr/train_error`` at the last iteration.

::

    pisces curves runs/tb docs/curves.png     # the scalars under a folder as one PNG
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

#: prefix of TensorBoard's event files.
EVENTS_GLOB = "events.out.tfevents.*"


def _summary_writer(log_dir: Path, **kwargs: Any) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises this when the tensorboard package is missing
        raise ImportError(
            "TensorBoard logging needs the tensorboard package: pip install 'pisces[tensorboard]'"
        ) from None
    return SummaryWriter(log_dir=str(log_dir), **kwargs)


class ScalarLogger:
    """Scalars into TensorBoard event files under ``log_dir`` (created).

    ``scalar(tag, value, step)`` and ``scalars({tag: value}, step, prefix="loss/")`` write
    points (non-finite and None values are skipped: TensorBoard cannot draw them);
    ``flush()``, ``close()``; a context manager that closes.
    """

    def __init__(self, log_dir: str | Path, *, flush_secs: int = 30) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._writer = _summary_writer(self.log_dir, flush_secs=flush_secs)

    def scalar(self, tag: str, value: float | None, step: int) -> None:
        if value is None or not math.isfinite(float(value)):
            return
        self._writer.add_scalar(tag, float(value), global_step=int(step))

    def scalars(self, values: Mapping[str, float | None], step: int, prefix: str = "") -> None:
        for name, value in values.items():
            self.scalar(f"{prefix}{name}", value, step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ScalarLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_folders(root: str | Path) -> list[Path]:
    """The folders under ``root`` (itself included) that hold event files, sorted."""
    root = Path(root)
    return sorted({p.parent for p in root.rglob(EVENTS_GLOB)}) if root.is_dir() else []


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the event files directly in ``log_dir``: tag → ``[(step, value)]`` in
    the order written (all points: no reservoir sampling)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def last_steps(log_dir: str | Path) -> dict[str, int]:
    """The largest step of every tag already in ``log_dir`` (``{}`` without event files)."""
    if not any(Path(log_dir).glob(EVENTS_GLOB)):
        return {}
    return {
        tag: max(s for s, _ in points) for tag, points in read_scalars(log_dir).items() if points
    }


def _numeric(counts: Mapping[str, Any]) -> dict[str, float]:
    """The ``*_solved_pct`` entries of an evaluation's counts that have a value."""
    return {
        k: float(v)
        for k, v in counts.items()
        if k.endswith("_solved_pct") and isinstance(v, int | float)
    }


def jumping_epoch_logger(
    log_dir: str | Path, logger: ScalarLogger | None = None
) -> Callable[[Any], None]:
    """An ``on_epoch(trainer)`` callback for :class:`~pisces.experiments.jumping.trainer.
    JumpingTrainer` that logs into ``log_dir`` (or into ``logger``) what is new since its last
    call: ``trainer.loss_log`` entries, ``trainer.evals``, the epoch's learning rate and the
    training speed (see the module docstring). The writer is made on the first call."""
    state: dict[str, Any] = {
        "logger": logger,
        "losses": 0,
        "evals": 0,
        "skip": None,
        "clock": (0.0, 0),
    }

    def on_epoch(trainer: Any) -> None:
        if state["logger"] is None:
            state["skip"] = last_steps(log_dir)  # points an earlier session wrote here
            state["logger"] = ScalarLogger(log_dir)
        elif state["skip"] is None:
            state["skip"] = {}
        log: ScalarLogger = state["logger"]
        skip: dict[str, int] = state["skip"]

        def put(tag: str, value: float | None, step: int) -> None:
            if step > skip.get(tag, -1):  # one point a (tag, step)
                log.scalar(tag, value, step)
                skip[tag] = step

        for entry in trainer.loss_log[state["losses"] :]:
            for name, value in entry.items():
                if name != "step":
                    put(f"loss/{name}", value, int(entry["step"]))
        state["losses"] = len(trainer.loss_log)
        for record in trainer.evals[state["evals"] :]:
            for name, value in _numeric(record.counts).items():
                put(f"eval/{name}", value, record.step)
            for name, value in getattr(record, "alignment", {}).items():  # fakes may lack it
                if isinstance(value, int | float):
                    put(f"eval/{name}", float(value), record.step)
            put("eval/seconds", record.seconds, record.step)
        state["evals"] = len(trainer.evals)
        put("train/learning_rate", trainer.learning_rate(trainer.epoch - 1), trainer.step)
        seconds, step = trainer.train_seconds, trainer.step
        last_seconds, last_step = state["clock"]  # first call: the run's mean so far
        if seconds > last_seconds:
            put("train/steps_per_second", (step - last_step) / (seconds - last_seconds), step)
        state["clock"] = (seconds, step)
        log.flush()  # on disk at every epoch: what a resumed run finds there is what it skips

    return on_epoch


def log_lqr_record(logger: ScalarLogger, record: Mapping[str, Any]) -> None:
    """An LQR record (:func:`pisces.experiments.lqr.train.run`): its training curve (J − J*
    on the training environments, every ``train_curve_every`` iterations) and, at the last
    iteration, its test and training errors."""
    every = int(record.get("train_curve_every", 1))
    for i, value in enumerate(record.get("train_curve", [])):
        logger.scalar("lqr/train_gap", value, i * every)
    last = int(record.get("config", {}).get("iterations", len(record.get("train_curve", []))))
    logger.scalars(
        {"test_error": record.get("test_error"), "train_error": record.get("train_error")},
        last,
        prefix="lqr/",
    )
    logger.flush()


def plot_scalars(
    root: str | Path, png: str | Path, tags: Iterable[str] | None = None, *, columns: int = 3
) -> Path:
    """One panel a tag (``tags``, default every tag found), one line a run folder under
    ``root`` (:func:`run_folders`), saved atomically to ``png``. Raises ``FileNotFoundError``
    when ``root`` holds no event file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pisces.experiments.runs import save_figure_atomic

    root = Path(root)
    runs = {folder: read_scalars(folder) for folder in run_folders(root)}
    if not runs:
        raise FileNotFoundError(f"no TensorBoard event files under {root}")
    names = (
        sorted({t for scalars in runs.values() for t in scalars}) if tags is None else list(tags)
    )
    cols = max(1, min(columns, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, tag in zip(axes.flat, names, strict=False):
        for folder, scalars in runs.items():
            points = scalars.get(tag, [])
            if points:
                label = str(folder.relative_to(root)) if folder != root else root.name
                ax.plot([s for s, _ in points], [v for _, v in points], label=label, lw=1.2)
        ax.set_title(tag, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if tag.startswith("loss/") or tag == "train/learning_rate":
            if all(v > 0 for sc in runs.values() for _, v in sc.get(tag, [])):
                ax.set_yscale("log")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if len(runs) > 1:
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, png, dpi=110)
    plt.close(fig)
    return Path(png)


def plot_command(args: argparse.Namespace) -> int:
    """``pisces curves DIR OUT.png``: :func:`plot_scalars` (exit 2, one line, when ``DIR``
    holds no event file)."""
    from pisces.errors import UsageError

    tags = [t.strip() for t in args.tags.split(",") if t.strip()] if args.tags else None
    if not args.dir.is_dir():
        raise UsageError(f"{args.dir}: no such folder")
    try:
        print(plot_scalars(args.dir, args.png, tags))
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces curves``."""
    parser.add_argument("dir", type=Path, help="a --tensorboard folder (every run under it)")
    parser.add_argument("png", type=Path, help="the PNG to write (atomically)")
    parser.add_argument("--tags", default=None, help="comma-separated tags (default: all)")
    parser.set_defaults(func=plot_command)


def main(argv: list[str] | None = None) -> int:
    """``python -m pisces.experiments.tensorboard DIR OUT.png [--tags a,b]`` (= ``pisces
    curves``)."""
    from pisces.errors import UsageError

    parser = argparse.ArgumentParser(prog="pisces curves")
    configure(parser)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
