"""``pisces jumping train``: train and evaluate a preset for a range of seeds.

::

    pisces jumping train --preset randconv-pse --grid wide --seeds 1-10 \\
        --out results/jumping/randconv-pse-wide --workers 2

Per seed it writes ``seed-<s>.json`` (atomically, when the seed finishes) and ``seed-<s>.png``
(the 26 × 11 solved map, atomically; redrawn on a rerun if missing), then ``summary.json``
with the median, mean and std over every finished seed in ``--out``. Seeds whose JSON exists
are skipped, so a killed run is resumed by running the same command again.

Determinism contract: a seed's numbers depend on its configuration, its seed, the device,
the number of CPU threads it ran with (oneDNN reductions), the torch build and the CPU. Every
record stores the configuration, ``device``, ``threads``, ``torch`` and ``cpu``. Each seed runs
with ``--threads`` threads (default 1), whether in this process or in one of ``--workers``
processes, so the same command gives bit-identical records on the same machine however many
seeds are pending. A folder holds one configuration: a seed whose configuration, thread count
or device type differs from a record already in ``--out`` is refused before any work, naming
that record. The output folder is checked (a folder, creatable, writable) before any data is
built.

``--save-model`` also writes ``seed-<s>.pt`` (the trained network, its config, seed, epoch
and commit; see :mod:`pisces.experiments.jumping.checkpoint`) just before each seed's JSON,
for the per-seed, ``--workers`` and ``--ensemble`` paths alike. A seed that finished without a
checkpoint is **not** retrained by a rerun with ``--save-model``: the rerun skips it and says so
on stderr; delete its ``seed-<s>.json`` (or use another ``--out``) to retrain it.

Colored obstacles (Table G.1): ``--preset pse-colors`` etc.; each ``seed-<s>.json`` also holds
``test_solved_pct_red`` and ``test_solved_pct_green`` and per-color counts in ``final``;
``test_solved_pct`` is the red % there (the paper's headline, Fig. 4), ``seed-<s>.png`` shows
the red tasks, ``seed-<s>-green.png`` the green ones.

Every field of :class:`~pisces.experiments.jumping.config.JumpingConfig` is a flag
(``--learning-rate 3e-3``, ``--no-rand-conv``, ...) and can be set with ``--set FIELD=VALUE``.
``--config FILE`` replaces ``--preset``: a TOML table of fields (``best.toml`` of ``pisces
tune``; fields it leaves out come from its ``preset``) or a ``seed-<s>.json`` record, with the
flags applied on top::

    pisces jumping train --config results/jumping/tuning/best.toml --seeds 1-10 --out runs/best
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from pisces.argtypes import nonnegative_int, positive_int
from pisces.experiments import configs
from pisces.experiments.jumping.config import (
    PRESETS,
    JumpingConfig,
    load_config_file,
    make_config,
)
from pisces.experiments.jumping.records import SEED_GLOB, SEED_PATTERN, describe, summarize
from pisces.experiments.jumping.report import comparable, overrides_label
from pisces.experiments.runs import (
    ConfigMismatch,
    CorruptResult,
    ResultStore,
    bf16_hardware,
    cpu_model,
    keep_freed_memory,
    resolve_device,
    save_figure_atomic,
)
from pisces.experiments.seeds import parse_seeds

#: fields that are not flags of ``train`` (set by the preset).
NOT_FLAGS = ("preset", "source")
#: flags that predate the derived ones.
FLAG_ALIASES = {"amp_bf16": "--bf16"}


def store_of(out: str | Path) -> ResultStore:
    """The result store of a jumping-task folder (``seed-001.json``, ...)."""
    return ResultStore(out, SEED_PATTERN, SEED_GLOB)


def save_solved_map(path: Path, result: dict[str, Any]) -> None:
    """The Figure 2 style grid of one seed, written atomically (with colors: also
    ``<stem>-green.png``)."""
    import numpy as np

    from pisces.experiments.jumping import figures

    maps = [(path, "", result["solved"], result["test_solved_pct"])]
    if result.get("colors"):
        green = path.with_name(f"{path.stem}-green{path.suffix}")
        maps = [
            (path, "red, ", result["solved"], result["test_solved_pct_red"]),
            (green, "green, ", result["solved_green"], result["test_solved_pct_green"]),
        ]
    for target, color, solved, pct in maps:
        title = (
            f"{result['preset']}, {color}{result['grid']} grid, seed {result['seed']}, "
            f"epoch {result['epochs']}: {pct:.1f}% test solved"
        )
        fig = figures.plot_task_grid(
            np.asarray(result["split"]), np.asarray(solved, dtype=bool), title=title
        )
        save_figure_atomic(fig, target)
        figures.plt.close(fig)


def _png_paths(store: ResultStore, result: dict[str, Any]) -> list[Path]:
    png = store.path(result["seed"]).with_suffix(".png")
    return [png, png.with_name(f"{png.stem}-green.png")] if result.get("colors") else [png]


def draw_solved_map(store: ResultStore, result: dict[str, Any]) -> None:
    """Draw a seed's solved map; a figure failure never loses the (already written) JSON."""
    try:
        save_solved_map(store.path(result["seed"]).with_suffix(".png"), result)
    except Exception as exc:
        print(
            f"warning: could not draw the solved map of seed {result['seed']}: {exc}",
            file=sys.stderr,
        )


def finish_seed(
    record: dict[str, Any], trainer: Any, store: ResultStore, *, save_model: bool = False
) -> dict[str, Any]:
    """Write a finished seed: its checkpoint first (``save_model``), then its JSON, then its
    PNG; returns the record as written.

    With ``save_model`` the network is saved to ``seed-<s>.pt`` first (atomically), so a seed
    whose JSON exists always has its checkpoint; the JSON then names it under ``checkpoint``.
    """
    record = record | {"cpu": cpu_model()}
    seed = record["seed"]
    if save_model:
        from pisces.experiments.jumping.checkpoint import checkpoint_path, save_checkpoint

        ckpt = save_checkpoint(
            checkpoint_path(store.root, seed),
            trainer.net,
            trainer.cfg,
            seed=seed,
            epoch=trainer.epoch,
            step=trainer.step,
            test_solved_pct=record["test_solved_pct"],
            git_commit=record["git_commit"],
        )
        record["checkpoint"] = ckpt.name
    store.write(record)
    draw_solved_map(store, record)
    return record


def run_seed(
    cfg: JumpingConfig,
    seed: int,
    out: Path,
    device: str,
    *,
    progress: bool = True,
    threads: int | None = None,
    save_model: bool = False,
    report_epoch: Any = None,
    checkpoint_every: int = 0,
    tensorboard: bool = False,
) -> dict[str, Any]:
    """Train and evaluate one seed in this process with ``threads`` torch threads (None: keep
    torch's setting), with a progress bar (or ``report_epoch(n)`` called after each epoch with
    the epochs done since the last call: more than 1 only on resuming from a checkpoint);
    write it (:func:`finish_seed`); return the record. With ``checkpoint_every > 0`` the run
    saves its state to :func:`midrun_path` every that many epochs and resumes from it. With
    ``tensorboard``, scalars go to ``OUT/tensorboard/seed-<s>/``."""
    import torch
    from tqdm import tqdm

    from pisces.experiments.jumping.trainer import JumpingTrainer, run

    if threads is not None:
        torch.set_num_threads(threads)
    keep_freed_memory()  # no page faults on the step's big tensors (allocation only)
    bar = tqdm(
        total=cfg.epochs,
        desc=f"{cfg.preset}/{cfg.grid} seed {seed}",
        unit="ep",
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
    )

    tb = None
    if tensorboard:
        from pisces.experiments.tensorboard import jumping_epoch_logger

        tb = jumping_epoch_logger(Path(out) / "tensorboard" / f"seed-{seed:03d}")

    def on_epoch(t: JumpingTrainer) -> None:
        if tb is not None:
            tb(t)
        new = t.epoch - bar.n  # a resumed run's first epoch counts the checkpoint's too
        if report_epoch is not None:
            report_epoch(new)
        bar.update(new)
        post: dict[str, str] = {}
        if t.loss_log:
            last = t.loss_log[-1]
            post = {"ce": f"{last['ce']:.3f}", "align": f"{last['align']:.3f}"}
        if t.evals:
            post |= _progress(t.evals[-1].counts)
        bar.set_postfix(post, refresh=False)

    store = store_of(out)
    midrun = midrun_path(store, seed)
    if midrun.exists():
        bar.write(f"seed {seed}: resuming from {midrun}")
    try:
        record, trainer = run(
            cfg,
            seed,
            device,
            on_epoch=on_epoch,
            checkpoint=midrun if checkpoint_every > 0 or midrun.exists() else None,
            checkpoint_every=checkpoint_every,
        )
    finally:
        bar.close()
    record = finish_seed(record, trainer, store, save_model=save_model)
    midrun.unlink(missing_ok=True)
    return record


def midrun_path(store: ResultStore, seed: int) -> Path:
    """``.seed-<s>.midrun.pt``: the mid-run checkpoint of a seed (hidden; deleted once the
    seed's JSON is written)."""
    return store.root / f".{store.path(seed).stem}.midrun.pt"


def _progress(counts: dict[str, Any]) -> dict[str, str]:
    """Progress-bar fields of one evaluation's counts."""
    if "test_green_solved_pct" in counts:
        return {
            "red%": f"{counts['test_red_solved_pct']:.1f}",
            "green%": f"{counts['test_green_solved_pct']:.1f}",
        }
    return {"test%": f"{counts['test_solved_pct']:.1f}"}


def run_ensemble(
    cfg: JumpingConfig,
    seeds: list[int],
    out: Path,
    device: str,
    *,
    threads: int | None = None,
    save_model: bool = False,
) -> list[dict[str, Any]]:
    """Train ``seeds`` together in one program (vmapped; for GPUs); write every seed (and, with
    ``save_model``, one plain per-seed checkpoint each, from the synced member networks)."""
    import torch
    from tqdm import tqdm

    from pisces.experiments.jumping.trainer import EnsembleTrainer, stamp

    if threads is not None:
        torch.set_num_threads(threads)
    keep_freed_memory()  # no page faults on the step's big tensors (allocation only)
    start = time.time()
    ens = EnsembleTrainer(cfg, seeds, device)
    bar = tqdm(total=cfg.epochs, desc=f"{cfg.preset}/{cfg.grid} seeds {seeds}", unit="ep")

    def on_epoch(e: EnsembleTrainer) -> None:
        bar.update(1)
        if e.members[0].evals:
            pct = [m.evals[-1].counts["test_solved_pct"] for m in e.members]
            label = "median red test%" if cfg.colors else "median test%"
            bar.set_postfix({label: f"{sorted(pct)[len(pct) // 2]:.1f}"}, refresh=False)

    try:
        ens.run(on_epoch)
    finally:
        bar.close()
    wall = time.time() - start
    store = store_of(out)
    return [
        finish_seed(stamp(m.result(), wall), m, store, save_model=save_model) for m in ens.members
    ]


def _worker(job: tuple[Any, ...]) -> tuple[int, str]:
    cfg_dict, seed, out, device, save_model, threads, checkpoint_every, tensorboard, done = job
    cfg = JumpingConfig(**cfg_dict)
    result = run_seed(
        cfg,
        seed,
        Path(out),
        device,
        progress=False,
        threads=threads,
        save_model=save_model,
        report_epoch=done.put,
        checkpoint_every=checkpoint_every,
        tensorboard=tensorboard,
    )
    return seed, describe(result)


def run_pool(
    cfg: JumpingConfig,
    seeds: list[int],
    out: Path,
    device: str,
    *,
    workers: int,
    threads: int,
    save_model: bool,
    checkpoint_every: int = 0,
    tensorboard: bool = False,
) -> None:
    """Train ``seeds`` in ``workers`` processes (one seed each, ``threads`` threads), with one
    progress bar over the epochs of every seed (workers report each epoch on a queue)."""
    from tqdm import tqdm

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(min(workers, len(seeds))) as pool:
        epochs_done = manager.Queue()
        jobs = [
            (
                cfg.to_dict(),
                s,
                str(out),
                device,
                save_model,
                threads,
                checkpoint_every,
                tensorboard,
                epochs_done,
            )
            for s in seeds
        ]
        bar = tqdm(
            total=len(seeds) * cfg.epochs,
            desc=f"{cfg.preset}/{cfg.grid} {len(seeds)} seeds",
            unit="ep",
            dynamic_ncols=True,
            file=sys.stderr,
        )
        finished = pool.imap_unordered(_worker, jobs)
        done = 0
        while done < len(jobs):
            try:
                seed, line = finished.next(timeout=0.5)
            except multiprocessing.TimeoutError:
                pass
            else:
                done += 1
                bar.write(f"seed {seed}: {line}")
                bar.set_postfix({"seeds done": f"{done}/{len(jobs)}"}, refresh=False)
            while not epochs_done.empty():
                bar.update(epochs_done.get_nowait())
        bar.close()
        pool.close()  # let the workers exit on their own (terminate leaks their semaphores)
        pool.join()


def write_summary(out: Path) -> dict[str, Any] | None:
    """``summary.json`` of the finished seeds in ``out`` (:func:`records.summarize`)."""
    return store_of(out).write_summary(summarize)


def resolve_precision(choice: str, device: str) -> bool:
    """``--precision``: ``fp32`` → False, ``bf16`` → True, ``auto`` → bf16 exactly where
    ``device`` multiplies bf16 natively (:func:`~pisces.experiments.runs.bf16_hardware`:
    AMX or AVX512-BF16 CPUs, bf16-capable GPUs), fp32 elsewhere. The value is
    ``JumpingConfig.amp_bf16``; every record also stamps its precision and CPU."""
    if choice == "auto":
        return bf16_hardware(device)
    if choice not in ("fp32", "bf16"):
        raise ValueError(f"--precision {choice}: unknown; use fp32, bf16 or auto")
    return choice == "bf16"


def default_precision(store: ResultStore, device: str) -> tuple[str, str]:
    """The precision a preset runs in when neither ``--precision`` nor ``--bf16/--no-bf16``
    is given, and why: the folder's own when its seeds all ran in one (a cell keeps one
    precision, so a resumed or extended cell stays comparable seed to seed), else ``auto``:
    bf16 where ``device`` multiplies it natively, fp32 elsewhere. bf16 was shown
    indistinguishable from fp32 at 10 + 10 seeds for ``pse`` and ``randconv-pse``
    (results/jumping/precision-*.md)."""
    try:
        ran = {bool(r.get("config", {}).get("amp_bf16", False)) for r in store.records()}
    except CorruptResult:
        ran = set()  # the resume check names the bad file
    if len(ran) == 1:
        choice = "bf16" if ran.pop() else "fp32"
        return choice, f"the seeds already in {store.root} ran in {choice}"
    native = bf16_hardware(device)
    where = cpu_model() if device == "cpu" else device
    return "auto", f"auto: {where} has {'native' if native else 'no native'} bf16"


def precision_defaulted(args: argparse.Namespace) -> bool:
    """Whether a preset's precision is left to the default: no ``--precision``, no
    ``--bf16/--no-bf16`` (or ``--set amp_bf16=...``), no config file."""
    overrides = configs.collect_overrides(args, JumpingConfig, exclude=NOT_FLAGS)
    return (
        getattr(args, "precision", None) is None
        and "amp_bf16" not in overrides
        and args.preset is not None
    )


def build_config(
    args: argparse.Namespace, device: str = "cpu", default: str | None = None
) -> JumpingConfig:
    """The preset with the flags and ``--set`` overrides applied (validated); ``--precision``
    resolved for ``device``: the one given, else ``default`` for a preset when
    ``--bf16/--no-bf16`` is not given either (a config file keeps its own)."""
    overrides = configs.collect_overrides(args, JumpingConfig, exclude=NOT_FLAGS)
    precision = default if precision_defaulted(args) else getattr(args, "precision", None)
    if precision is not None:
        if "amp_bf16" in overrides:
            raise ValueError("give --precision or --bf16/--no-bf16 (amp_bf16), not both")
        overrides["amp_bf16"] = resolve_precision(precision, device)
    if (args.preset is None) == (getattr(args, "config", None) is None):
        raise ValueError("give --preset NAME or --config FILE (one of them)")
    if args.preset is None:  # a config file (e.g. best.toml of `pisces tune`), then the flags
        return load_config_file(args.config).replace(**overrides)
    grid = overrides.pop("grid", "wide")
    return make_config(args.preset, grid, **overrides)


def _device_type(device: str) -> str:
    return device.split(":")[0]


def mismatch(cfg: JumpingConfig, device: str, threads: int):
    """The resume check of a folder: a record's configuration (cadence fields aside), thread
    count and device type must equal the request's (a field older records lack takes its
    default); returns a function ``record → None | what differs``."""
    wanted = comparable(cfg.to_dict())

    def check(record: dict[str, Any]) -> str | None:
        if "config" not in record:
            return "no config in the record"
        why = configs.describe_differences(comparable(record["config"]), wanted)
        if why is not None:
            return why
        if int(record.get("threads", threads)) != threads:
            return f"threads {record['threads']} there, {threads} requested (--threads)"
        there = _device_type(str(record.get("device", device)))
        if there != _device_type(device):
            return f"device {there} there, {_device_type(device)} requested"
        return None

    return check


def train_command(args: argparse.Namespace) -> int:
    """``pisces jumping train``: see the module docstring."""
    name = "pisces jumping train"
    try:
        seeds = parse_seeds(args.seeds)
        device = resolve_device(args.device)
        store = store_of(args.out)
        default, why = default_precision(store, device)
        cfg = build_config(args, device, default)
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        if args.ensemble and args.workers > 1:
            raise ValueError("--ensemble trains all seeds in one program: use --workers 1")
        store.check_writable()
    except ValueError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out

    def skipped(seed: int, done: dict[str, Any]) -> None:
        print(f"seed {seed}: done ({describe(done)}), skipped")
        if not all(p.exists() for p in _png_paths(store, done)):
            draw_solved_map(store, done)
        path = store.path(seed)
        if args.save_model and not path.with_suffix(".pt").exists():
            print(
                f"{name}: seed {seed} finished without --save-model, so it "
                f"has no {path.with_suffix('.pt').name} and is not retrained; delete "
                f"{path} (or use another --out) to retrain it with a checkpoint",
                file=sys.stderr,
            )

    try:
        todo = store.pending(seeds, mismatch(cfg, device, args.threads), skipped)
    except (ConfigMismatch, CorruptResult) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    if cfg.amp_bf16 and not bf16_hardware(device):
        print(
            f"{name}: warning: --bf16 on a {device} without native bf16 (no AMX/AVX512-BF16): "
            "expect it several times slower than fp32",
            file=sys.stderr,
        )
    precision = "bf16" if cfg.amp_bf16 else "fp32"
    if getattr(args, "precision", None) == "auto":
        native = "native bf16" if cfg.amp_bf16 else "no native bf16"
        where = cpu_model() if device == "cpu" else device
        print(f"precision auto: {precision} ({where}: {native})")
    elif precision_defaulted(args):
        print(f"precision {precision} (the default; {why}; --precision fp32 forces fp32)")
    task = "colored obstacles (red + green)" if cfg.colors else "white obstacle"
    # the preset's source describes the preset; say where this run departs from it (e.g.
    # --coupling-weights, which makes the source's "inert" β live)
    changed = overrides_label({"preset": cfg.preset, "config": cfg.to_dict()}, ("amp_bf16",))
    print(
        f"{cfg.preset} on {cfg.grid}, {task}: {cfg.source}"
        f"{f'; changed from the preset:{changed}' if changed else ''}; {cfg.epochs} epochs; "
        f"device {device}; {args.threads} thread(s) a seed"
    )
    if args.ensemble and todo:
        results = run_ensemble(
            cfg, todo, out, device, threads=args.threads, save_model=args.save_model
        )
        for result in results:
            print(f"seed {result['seed']}: {describe(result)}")
    elif args.workers == 1 or len(todo) <= 1:
        for seed in todo:
            result = run_seed(
                cfg,
                seed,
                out,
                device,
                threads=args.threads,
                save_model=args.save_model,
                checkpoint_every=args.checkpoint_every,
                tensorboard=args.tensorboard,
            )
            print(f"seed {seed}: {describe(result)}")
    else:
        run_pool(
            cfg,
            todo,
            out,
            device,
            workers=args.workers,
            threads=args.threads,
            save_model=args.save_model,
            checkpoint_every=args.checkpoint_every,
            tensorboard=args.tensorboard,
        )
    summary = write_summary(out)
    if summary is not None:
        n, median = len(summary["seeds"]), summary["median_test_solved_pct"]
        what = "red test tasks" if summary.get("colors") else "test tasks"
        line = (
            f"{n} seed(s) in {out}: median {median:.1f}% of {what} solved "
            f"(mean {summary['mean_test_solved_pct']:.1f})"
        )
        if summary.get("colors"):
            line += f"; green: mean {summary['mean_test_solved_pct_green']:.1f}%"
        print(line)
    return 0


def configure_train(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping train``."""
    parser.add_argument("--preset", default=None, help=f"one of {sorted(PRESETS)}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="instead of --preset: a config file (TOML of fields, e.g. best.toml of `pisces "
        "tune`, or a seed-<s>.json record); flags and --set apply on top",
    )
    parser.add_argument("--seeds", default="1", help="e.g. 1-10, 3, 1,4,7 (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes, one seed each")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch threads per seed (default 1, recorded; a folder keeps one value)",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="write TensorBoard scalars (losses, evaluation %%, learning rate, steps/s) to "
        "OUT/tensorboard/seed-<s>/ (needs pisces[tensorboard])",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=nonnegative_int,
        default=100,
        metavar="EPOCHS",
        help="save the run's whole state every EPOCHS epochs (hidden .seed-<s>.midrun.pt, "
        "deleted when the seed finishes); a rerun resumes from it, bit-identically (0: never; "
        "--ensemble runs are not checkpointed)",
    )
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="train all seeds in one program (vmapped, for a GPU); exclusive with --workers",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16", "auto"),
        default=None,
        help="forward passes in fp32 or bf16 autocast (bf16: the fast path); auto = bf16 where "
        "the device has native bf16 (AMX / AVX512-BF16 CPUs, bf16 GPUs), else fp32 (default: "
        "the precision of the seeds already in --out, else auto; exclusive with "
        "--bf16/--no-bf16; the record stamps the precision and CPU)",
    )
    parser.add_argument(
        "--save-model",
        action="store_true",
        help="also write each seed's trained network to seed-<s>.pt (~4 MB; off by default; "
        "a seed already finished without one is skipped with a note, not retrained)",
    )
    configs.add_config_arguments(
        parser,
        JumpingConfig,
        exclude=NOT_FLAGS,
        aliases=FLAG_ALIASES,
        help_extra={"epochs": "(full protocol: 2000)", "grid": "(default wide)"},
    )
    parser.set_defaults(func=train_command)
