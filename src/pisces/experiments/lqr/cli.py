"""``pisces lqr train`` (paper Section 6.1, Appendix H, Table H.1).

::

    pisces lqr train --preset psm --distractors 500 --seeds 1-100 --out runs/lqr/psm_nd500

Trains the preset on each seed, in batches of seeds (one loop for a whole batch), and writes
``OUT/seed_XXXX.json`` per seed, atomically. Seeds whose JSON exists are skipped (resume); a
folder holds one configuration, so a record with a different configuration (execution fields
such as the Adam kernel and the device aside) is an error before any work. Every field of
:class:`~pisces.experiments.lqr.config.LQRConfig` is a flag (``--lambda``, ``--l1``, ``--lr``,
``--iterations``, ``--psm-horizon``, ...) and can be set with ``--set FIELD=VALUE``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pisces.argtypes import nonnegative_int, positive_int
from pisces.experiments import configs
from pisces.experiments.lqr.config import EXECUTION_FIELDS, PRESETS, LQRConfig, get_preset
from pisces.experiments.lqr.report import SEED_GLOB, SEED_PATTERN, with_defaults
from pisces.experiments.runs import ConfigMismatch, CorruptResult, ResultStore, resolve_device
from pisces.experiments.seeds import parse_seeds

#: fields that are not derived flags of ``train`` (given by their own arguments).
NOT_FLAGS = ("n_distractors", "device")
#: flags that predate the derived ones.
FLAG_ALIASES = {"lam": "--lambda", "n_test_envs": "--test-envs"}


def seeds_arg(spec: str) -> list[int]:
    try:
        return parse_seeds(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def store_of(out: str | Path) -> ResultStore:
    """The result store of an LQR folder (``seed_0001.json``, ...)."""
    return ResultStore(out, SEED_PATTERN, SEED_GLOB)


def seed_path(out: Path, seed: int) -> Path:
    """``OUT/seed_0007.json``."""
    return store_of(out).path(seed)


def default_batch(nd: int, device: str) -> int:
    """Seeds trained together when ``--batch`` is not given: on the CPU ``min(25, 25000 // nd)``
    (memory traffic per seed, measured); on a GPU the whole 100-seed cell (at nd = 10000 in
    float32 that is about 4 GB of parameters, gradients and Adam moments)."""
    if device.startswith("cuda"):
        return 100
    return max(1, min(25, 25_000 // nd))


def build_config(args: argparse.Namespace) -> LQRConfig:
    """The preset with the command-line overrides applied (validated by the dataclass);
    ``--device auto`` is resolved here (ValueError for CUDA without a GPU)."""
    cfg = get_preset(args.preset)
    changes: dict[str, object] = {
        "n_distractors": args.distractors,
        "device": resolve_device(getattr(args, "device", None) or "cpu"),
    }
    changes |= configs.collect_overrides(args, LQRConfig, exclude=NOT_FLAGS)
    return cfg.replace(**changes)


def comparable(config: dict) -> dict:
    """A stored config without :data:`EXECUTION_FIELDS`, defaults filled in."""
    return configs.comparable(LQRConfig, config, EXECUTION_FIELDS)


def same_config(old: dict | None, new: dict) -> bool:
    """Whether a stored seed's config equals ``new``, ignoring :data:`EXECUTION_FIELDS`; a
    field that a record written before it existed lacks takes its default (e.g.
    ``penalty="gradient"``), so older results still resume."""
    return old is not None and comparable(old) == comparable(new)


def run_train(
    config: LQRConfig,
    preset: str,
    seeds: Sequence[int],
    out: Path,
    *,
    batch: int,
    progress: bool = True,
    checkpoint_every: int = 0,
    tensorboard: bool = False,
) -> int:
    """Train ``config`` on ``seeds`` in batches, writing ``OUT/seed_XXXX.json`` per seed.

    Seeds whose JSON exists with the same config are skipped (resume); a record in ``out``
    with a different config is an error (use another ``--out``).
    """
    import torch
    from tqdm import tqdm

    from pisces.experiments.lqr.train import make_record, train_batch

    name = "pisces lqr train"
    store = store_of(out)
    try:
        store.check_writable()
    except ValueError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(int(os.environ.get("PISCES_LQR_THREADS", "1")))
    cfg_dict = dataclasses.asdict(config)
    wanted = comparable(cfg_dict)
    skipped = []

    def mismatch(old: dict) -> str | None:
        if "config" not in old:
            return "no config in the record"
        return configs.describe_differences(comparable(old["config"]), wanted)

    try:
        todo = store.pending(seeds, mismatch, lambda seed, _: skipped.append(seed))
    except (ConfigMismatch, CorruptResult) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    if skipped:
        print(f"{len(skipped)} seed(s) already done in {out}, skipped: {_span(skipped)}")
    command = (
        " ".join(["pisces", "lqr", "train", *sys.argv[3:]])
        if sys.argv[1:3] == ["lqr", "train"]
        else None
    )
    bar = tqdm(
        total=len(todo),
        unit="seed",
        disable=not progress,
        desc=f"{preset} nd={config.n_distractors}",
    )
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        t0 = time.perf_counter()
        midrun = store.root / f".batch-{chunk[0]:04d}-{chunk[-1]:04d}-{len(chunk)}.midrun.pt"
        if midrun.exists():
            bar.write(f"resuming seeds {_span(chunk)} from {midrun}")
        try:
            results = train_batch(
                config,
                chunk,
                on_iterations=_iteration_bar(bar, progress),
                checkpoint=midrun if checkpoint_every > 0 or midrun.exists() else None,
                checkpoint_every=checkpoint_every,
            )
        except ValueError as exc:  # a checkpoint of another batch
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        for res in results:
            record = make_record(config, preset, res, command)
            store.write(record)
            if tensorboard:
                from pisces.experiments.tensorboard import ScalarLogger, log_lqr_record

                with ScalarLogger(store.root / "tensorboard" / store.path(res["seed"]).stem) as tb:
                    log_lqr_record(tb, record)
        midrun.unlink(missing_ok=True)
        bar.update(len(chunk))
        last = results[-1]["test_error"]
        bar.set_postfix(
            test_error=f"{last:.3f}", s_per_seed=f"{(time.perf_counter() - t0) / len(chunk):.1f}"
        )
    bar.close()
    return 0


def _span(seeds: Sequence[int]) -> str:
    """``1-5,7``: a compact seed list."""
    out, run = [], [seeds[0]]
    for s in seeds[1:]:
        if s == run[-1] + 1:
            run.append(s)
            continue
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [s]
    out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def _iteration_bar(bar, progress: bool):
    """An ``on_iterations`` callback that shows the iterations of the current batch."""
    if not progress:
        return None
    state = {"done": 0}

    def on_iterations(n: int) -> None:
        state["done"] += n
        bar.set_postfix_str(f"iteration {state['done']}", refresh=True)

    return on_iterations


def _train(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
        if args.batch is not None and args.batch < 1:
            raise ValueError(f"--batch must be >= 1, got {args.batch}")
    except ValueError as exc:
        print(f"pisces lqr train: {exc}", file=sys.stderr)
        return 2
    batch = args.batch or default_batch(config.n_distractors, config.device)
    return run_train(
        config,
        args.preset,
        args.seeds,
        Path(args.out),
        batch=batch,
        progress=not args.no_progress,
        checkpoint_every=args.checkpoint_every,
        tensorboard=args.tensorboard,
    )


def configure_train(parser: argparse.ArgumentParser) -> None:
    """``pisces lqr train --preset psm --distractors 500 --seeds 1-100 --out DIR``."""
    parser.add_argument(
        "--preset",
        required=True,
        choices=sorted(PRESETS),
        help="method preset (see pisces.experiments.lqr.config.PRESETS)",
    )
    parser.add_argument(
        "--distractors", type=positive_int, required=True, help="nd (500, 1000, 10000)"
    )
    parser.add_argument(
        "--seeds",
        type=seeds_arg,
        default=parse_seeds("1-100"),
        help="seeds, e.g. 1-100 or 1,3,5 (default 1-100)",
    )
    parser.add_argument("--out", required=True, help="directory for seed_XXXX.json files")
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=None,
        help="seeds trained together (default: CPU min(25, 25000 // nd), GPU 100)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="cpu, cuda, cuda:N or auto (default: cuda when torch sees a GPU, else cpu)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="write each seed's training curve and errors as TensorBoard scalars to "
        "OUT/tensorboard/seed_XXXX/ (needs pisces[tensorboard])",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=nonnegative_int,
        default=500,
        metavar="ITERATIONS",
        help="save each batch's state every ITERATIONS iterations (hidden .batch-*.midrun.pt, "
        "deleted when the batch is written); a rerun resumes it bit-identically (0: never)",
    )
    configs.add_config_arguments(
        parser,
        LQRConfig,
        exclude=NOT_FLAGS,
        aliases=FLAG_ALIASES,
        help_extra={"l1": "(preset l1: 10)", "lam": "(presets psm, random-penalty: 1e5)"},
    )
    parser.set_defaults(func=_train)


__all__ = ["build_config", "run_train", "same_config", "seed_path", "with_defaults"]
