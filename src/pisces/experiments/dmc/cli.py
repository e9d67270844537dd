"""``pisces dmc train``: SAC + DrQ (+ PSEs) on a Distracting Control task for a range of seeds.

::

    pisces dmc train --preset drq-pse-cpu --domain cartpole --task swingup --seeds 1-5 \\
        --pairs runs/dcs/pairs-cartpole-swingup-cpu/pairs.npz --out results/dcs/drq-pse-cpu

Per seed it writes ``seed-<s>.json`` (atomically, when the seed finishes: config, seed,
commit, CPU, threads, env steps, the training curve per episode, every evaluation, the final
``eval_return`` on the test videos and ``eval_return_train`` on the training videos) and
``seed-<s>.png`` (the curves), then ``summary.json`` over the folder's seeds. With
``--tensorboard``, scalars go to ``OUT/tensorboard/seed-<s>/`` (``train/return``,
``loss/*``, ``train/env_steps_per_second``, ``eval/test_return``, ``eval/train_return``).

Resume. Seeds whose JSON exists are skipped; a running seed saves its whole state (agent with
optimizers, generators and PSE step; replay; generator states; the schedule position; curves)
to the hidden ``OUT/.seed-<s>.midrun.pt`` at the first episode boundary after every
``--checkpoint-every`` env steps, and a rerun of the same command continues from it,
bit-identically on the same machine and thread count. One folder holds one configuration: a
seed whose configuration (execution fields aside), thread count, device type, pair data or
videos differ from a record already there is refused before any work, naming that record.

Every field of :class:`~pisces.experiments.dmc.config.DMCConfig` is a flag (``--env-steps``,
``--batch-size``, ``--pse-every``, ``--no-distraction``, ...) or ``--set FIELD=VALUE``. Bad
input (unknown preset or task, missing teacher or pair data, pairs of another task, an
unwritable folder) is a one-line error before any work; a non-finite loss stops the seed with
one line naming the episode.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pisces.argtypes import nonnegative_int, positive_int
from pisces.envs.dmc.tasks import EPISODE_ENV_STEPS
from pisces.errors import UsageError
from pisces.experiments import configs
from pisces.experiments.dmc.config import (
    EXECUTION_FIELDS,
    PRESETS,
    DMCConfig,
    make_config,
)
from pisces.experiments.runs import ConfigMismatch, CorruptResult, ResultStore, resolve_device
from pisces.experiments.seeds import parse_seeds

SEED_PATTERN = "seed-{seed:03d}.json"
SEED_GLOB = "seed-*.json"
#: config fields that are not derived flags (the preset, and ``--domain`` / ``--task``).
NOT_FLAGS = ("preset", "source", "domain", "task")


def store_of(out: str | Path) -> ResultStore:
    """The result store of a DCS folder (``seed-001.json``, ...)."""
    return ResultStore(out, SEED_PATTERN, SEED_GLOB)


def midrun_path(store: ResultStore, seed: int) -> Path:
    """``OUT/.seed-<s>.midrun.pt`` (hidden; deleted once the seed's JSON is written)."""
    return store.root / f".{store.path(seed).stem}.midrun.pt"


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config without :data:`EXECUTION_FIELDS`, defaults filled in."""
    return configs.comparable(DMCConfig, config, EXECUTION_FIELDS)


def mismatch(config: DMCConfig, device: str, threads: int, pairs_digest: str | None, videos: str):
    """The resume check: ``record → None | what differs`` (config, threads, device type,
    pair data, videos)."""
    wanted = comparable(config.to_dict())
    kind = device.split(":")[0]

    def check(record: dict[str, Any]) -> str | None:
        if "config" not in record:
            return "no config in the record"
        why = configs.describe_differences(comparable(record["config"]), wanted)
        if why is not None:
            return why
        if int(record.get("threads", threads)) != threads:
            return f"threads {record['threads']} there, {threads} requested (--threads)"
        there = str(record.get("device", device)).split(":")[0]
        if there != kind:
            return f"device {there} there, {kind} requested"
        theirs = (record.get("pairs") or {}).get("sha256")
        if theirs != pairs_digest:
            return f"pair data {theirs} there, {pairs_digest} requested (--pairs)"
        if record.get("videos", videos) != videos:
            return f"videos {record['videos']} there, {videos} requested (--video-root)"
        return None

    return check


def describe(record: dict[str, Any]) -> str:
    """One line of a finished seed."""
    train = record.get("eval_return_train")
    more = "" if train is None else f", training videos {train:.1f}"
    where = "test videos" if record.get("distraction", True) else "no distraction"
    return f"return {record['eval_return']:.1f} on {where}{more} at {record['env_steps']} env steps"


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``summary.json``: the final returns of every seed of a folder, mean and std."""
    import numpy as np

    test = np.array([r["eval_return"] for r in records], dtype=float)
    train = [r.get("eval_return_train") for r in records]
    return {
        "preset": records[0].get("preset"),
        "domain": records[0].get("domain"),
        "task": records[0].get("task"),
        "seeds": [r["seed"] for r in records],
        "env_steps": sorted({int(r["env_steps"]) for r in records}),
        "eval_return": test.tolist(),
        "mean_eval_return": float(test.mean()),
        "std_eval_return": float(test.std(ddof=1)) if len(test) > 1 else None,
        "eval_return_train": train,
    }


def plot_record(record: dict[str, Any], path: Path) -> None:
    """Training episode returns and evaluation returns (test / training videos) vs env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pisces.experiments.runs import save_figure_atomic

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    curve = record["train_curve"]
    ax.plot(
        [e["env_steps"] for e in curve],
        [e["return"] for e in curve],
        lw=0.6,
        alpha=0.6,
        label="training episodes",
    )
    ev = record["eval_curve"]
    steps = [e["env_steps"] for e in ev]
    label = "test videos" if record.get("distraction", True) else "no distraction"
    ax.plot(steps, [e["test_return"] for e in ev], "o-", label=f"greedy, {label}")
    if any(e.get("train_return") is not None for e in ev):
        ax.plot(steps, [e["train_return"] for e in ev], "s--", label="greedy, training videos")
    ax.set(
        xlabel="env steps",
        ylabel="episode return",
        ylim=(0, 1000),
        title=f"{record['preset']}: {record['domain']}-{record['task']}, seed {record['seed']}",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=100)
    plt.close(fig)


def tensorboard_logger(log_dir: Path):
    """An ``on_episode`` callback writing the episode's scalars (skipping steps the folder
    already holds, so a resumed run has no duplicate point)."""
    from pisces.experiments.tensorboard import ScalarLogger, last_steps

    skip = last_steps(log_dir)
    logger = ScalarLogger(log_dir)

    def put(tag: str, value: Any, step: int) -> None:
        if isinstance(value, int | float) and step > skip.get(tag, -1):
            logger.scalar(tag, float(value), step)

    def on_episode(entry: dict[str, Any]) -> None:
        step = int(entry["env_steps"])
        put("train/return", entry["return"], step)
        if entry.get("seconds"):  # an episode is 1000 env steps
            put("train/env_steps_per_second", EPISODE_ENV_STEPS / entry["seconds"], step)
        for key in ("critic_loss", "actor_loss", "alpha_loss", "pse_loss", "alpha"):
            put(f"loss/{key}", entry.get(key), step)
        ev = entry.get("eval")
        if ev is not None:
            put("eval/test_return", ev["test_return"], step)
            put("eval/train_return", ev.get("train_return"), step)
        logger.flush()

    return on_episode, logger


def run_seed(
    config: DMCConfig,
    seed: int,
    store: ResultStore,
    *,
    device: str,
    pairs: Any,
    pairs_info: dict[str, Any] | None,
    video_root: str | None,
    checkpoint_every: int,
    progress: bool,
    tensorboard: bool,
    command: str | None,
) -> dict[str, Any]:
    """Train one seed with a progress bar, write its JSON and PNG, delete its checkpoint."""
    from tqdm import tqdm

    from pisces.experiments.dmc.train import run

    bar = tqdm(
        total=config.env_steps,
        unit="env step",
        unit_scale=True,
        desc=f"{config.preset} {config.domain}-{config.task} seed {seed}",
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    tb = None
    if tensorboard:
        tb = tensorboard_logger(store.root / "tensorboard" / store.path(seed).stem)

    def on_episode(trainer: Any, entry: dict[str, Any]) -> None:
        bar.update(trainer.env_steps - bar.n)
        post = {"return": f"{entry['return']:.0f}"}
        for key, short in (("critic_loss", "critic"), ("actor_loss", "actor"), ("pse_loss", "pse")):
            if key in entry:
                post[short] = f"{entry[key]:.3g}"
        if entry.get("seconds"):
            post["steps/s"] = f"{EPISODE_ENV_STEPS / entry['seconds']:.0f}"
        if "eval" in entry:
            post["test"] = f"{entry['eval']['test_return']:.0f}"
        bar.set_postfix(post, refresh=False)
        if tb is not None:
            tb[0](entry)

    midrun = midrun_path(store, seed)
    if midrun.exists():
        bar.write(f"seed {seed}: resuming from {midrun}")
    try:
        record = run(
            config,
            seed,
            device=device,
            pairs=pairs,
            pairs_info=pairs_info,
            video_root=video_root,
            on_episode=on_episode,
            checkpoint=midrun if checkpoint_every > 0 or midrun.exists() else None,
            checkpoint_every=checkpoint_every,
        )
    finally:
        bar.close()
        if tb is not None:
            tb[1].close()
    record["command"] = command
    store.write(record)
    try:
        plot_record(record, store.path(seed).with_suffix(".png"))
    except Exception as exc:  # a figure never loses the JSON
        print(f"warning: could not draw the curves of seed {seed}: {exc}", file=sys.stderr)
    midrun.unlink(missing_ok=True)
    return record


def train_command(args: argparse.Namespace) -> int:
    """``pisces dmc train``: see the module docstring."""
    import torch

    from pisces.experiments.dmc.collect import read_pairs
    from pisces.experiments.dmc.train import pair_dataset

    try:
        seeds = parse_seeds(args.seeds)
        overrides = configs.collect_overrides(args, DMCConfig, exclude=NOT_FLAGS)
        config = make_config(args.preset, args.domain, args.task, **overrides)
        device = resolve_device(args.device)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if config.method == "drq-pse" and args.pairs is None:
        raise UsageError(
            f"preset {args.preset} (DrQ + PSEs) needs pair data: --pairs FILE (made by "
            "`pisces dmc collect`)"
        )
    if config.method == "drq" and args.pairs is not None:
        raise UsageError(f"preset {args.preset} (DrQ) takes no pair data: drop --pairs")
    pairs = info = None
    if args.pairs is not None:
        data, info = read_pairs(args.pairs)  # UsageError naming a missing or foreign file
        pairs = pair_dataset(data, info, config, device)
        del data
    store = store_of(args.out)
    try:
        store.check_writable()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.tensorboard:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise UsageError("--tensorboard needs: pip install 'pisces[tensorboard]'") from None
    torch.set_num_threads(args.threads)
    videos = "substitute" if args.video_root is None else str(args.video_root)
    digest = None if info is None else info["sha256"]
    try:
        todo = store.pending(
            seeds,
            mismatch(config, device, args.threads, digest, videos),
            lambda s, r: print(f"seed {s}: done ({describe(r)}), skipped"),
        )
    except (ConfigMismatch, CorruptResult) as exc:
        raise UsageError(str(exc)) from None
    where = "with distraction (2 training videos)" if config.distraction else "without distraction"
    print(
        f"{config.preset} on {config.domain}-{config.task} {where}, {config.env_steps} env "
        f"steps; device {device}; {args.threads} thread(s); {config.source}"
    )
    command = (
        " ".join(["pisces", "dmc", "train", *sys.argv[3:]])
        if sys.argv[1:3] == ["dmc", "train"]
        else None
    )
    for seed in todo:
        record = run_seed(
            config,
            seed,
            store,
            device=device,
            pairs=pairs,
            pairs_info=info,
            video_root=args.video_root,
            checkpoint_every=args.checkpoint_every,
            progress=not args.no_progress,
            tensorboard=args.tensorboard,
            command=command,
        )
        print(f"seed {seed}: {describe(record)}")
    summary = store.write_summary(summarize)
    if summary is not None:
        print(
            f"{len(summary['seeds'])} seed(s) in {args.out}: mean return "
            f"{summary['mean_eval_return']:.1f}"
        )
    return 0


def configure_train(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces dmc train``."""
    parser.add_argument(
        "--preset", required=True, choices=sorted(PRESETS), help="see pisces.experiments.dmc.config"
    )
    parser.add_argument("--domain", required=True, help="e.g. cartpole")
    parser.add_argument("--task", required=True, help="e.g. swingup")
    parser.add_argument("--seeds", default="1", help="e.g. 1-5, 3, 1,4 (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (one config)")
    parser.add_argument("--pairs", default=None, help="pairs.npz of `pisces dmc collect` (PSEs)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch threads (default 1; recorded, a folder keeps one value)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=nonnegative_int,
        default=10_000,
        metavar="ENV_STEPS",
        help="save the run's state at the first episode boundary after every ENV_STEPS env "
        "steps (hidden .seed-<s>.midrun.pt, deleted when the seed finishes; 0: never)",
    )
    parser.add_argument(
        "--video-root", default=None, help="a DAVIS 2017 folder (default: offline substitutes)"
    )
    parser.add_argument("--tensorboard", action="store_true", help="TensorBoard scalars")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    configs.add_config_arguments(
        parser,
        DMCConfig,
        exclude=NOT_FLAGS,
        help_extra={"env_steps": "(paper 500000; CPU presets 100000)"},
    )
    parser.set_defaults(func=train_command)


__all__ = ["configure_train", "mismatch", "store_of", "summarize", "train_command"]
