"""``pisces jumping train`` and ``pisces jumping report``.

::

    pisces jumping train --preset randconv-pse --grid wide --seeds 1-10 \\
        --out results/jumping/randconv-pse-wide --workers 2
    pisces jumping report results/jumping/*-wide

``train`` writes, per seed, ``seed-<s>.json`` (atomically, when the seed finishes) and
``seed-<s>.png`` (the 26 × 11 solved map), then ``summary.json`` with the median, mean and
std over every finished seed in ``--out``. Seeds whose JSON exists are skipped, so a killed
run is resumed by running the same command again; a result made with a different
configuration is an error (pick another ``--out``). ``--workers N`` runs one process per
seed, each with one thread (the faster layout on a small CPU).

``--save-model`` also writes ``seed-<s>.pt`` (the trained network, its config, seed, epoch
and commit; see :mod:`pisces.experiments.jumping.checkpoint`) just before each seed's JSON,
for the per-seed, ``--workers`` and ``--ensemble`` paths alike. It is off by default (runs
are committed; a checkpoint is ~4 MB). A seed that finished without a checkpoint is **not**
retrained by a rerun with ``--save-model`` (that would replace a result that may be
committed): the rerun skips it and says so on stderr; delete its ``seed-<s>.json`` (or use
another ``--out``) to retrain it with a checkpoint.

``report`` reads the ``seed-*.json`` of each directory, groups them by (preset, grid) and
prints mean (std), IQM and its 95% stratified-bootstrap CI beside the paper's Table 1 as
Markdown; runs with colored obstacles (the ``*-colors`` presets, or ``--colors``) go to a
second table beside the paper's Table G.1, red and green % with the **standard error** the
paper reports there.

With colors (Table G.1)::

    pisces jumping train --preset pse-colors --seeds 1-10 --out results/jumping/pse-colors

each ``seed-<s>.json`` also holds ``test_solved_pct_red`` and ``test_solved_pct_green`` and
per-color counts in ``final`` (``test_red_solved``, ``test_green_total``, …);
``test_solved_pct`` is the red % there (the paper's headline, Fig. 4), and ``seed-<s>.png``
shows the red tasks, ``seed-<s>-green.png`` the green ones.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from pisces.experiments.jumping.config import GRIDS, PRESETS, JumpingConfig, make_config
from pisces.experiments.runs import (
    ConfigMismatch,
    git_commit,
    parse_overrides,
    parse_seeds,
    pending_seeds,
    resolve_device,
    write_json_atomic,
)

#: paper Table 1 (% test tasks solved, mean (std) over 100 runs) by (method, grid).
PAPER_TABLE1: dict[tuple[str, str], tuple[float, float]] = {
    (m, g): v
    for m, row in {
        "Dropout and ℓ2 reg.": ((17.8, 2.2), (10.2, 4.6), (9.3, 5.4)),
        "Bisimulation transfer": ((17.9, 0.0), (17.9, 0.0), (30.9, 4.2)),
        "PSEs": ((33.6, 10.0), (9.3, 5.3), (37.7, 10.4)),
        "RandConv": ((50.7, 24.2), (33.7, 11.8), (71.3, 15.6)),
        "RandConv + Bisimulation": ((41.4, 17.6), (17.4, 6.7), (33.4, 15.6)),
        "RandConv + PSEs": ((87.0, 10.1), (52.4, 5.8), (83.4, 10.1)),
    }.items()
    for g, v in zip(GRIDS, row, strict=True)
}
#: paper Table 2 (wide grid, with RandConv).
PAPER_TABLE2: dict[str, tuple[float, float]] = {
    "π*-bisim + ℓ2": (41.4, 17.6),
    "π*-bisim + CME": (23.1, 7.6),
    "PSM + ℓ2": (17.5, 8.4),
    "PSM + CME (G.5 hyperparameters)": (87.0, 10.1),
}
#: paper Table G.1 (colored obstacles, wide grid; % test tasks solved, mean (standard error)
#: over 100 runs) by method: (red, green).
PAPER_TABLE_G1: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "RandConv": ((6.2, 0.4), (99.6, 0.2)),
    "Dropout and ℓ2 reg.": ((19.5, 0.2), (100.0, 0.0)),
    "RandConv + PSEs": ((29.8, 1.3), (99.6, 0.2)),
    "PSEs": ((37.9, 1.9), (100.0, 0.0)),
}
#: Table G.1 row of each colored run's preset (a white preset run with ``--colors`` keeps the
#: Table G.3 hyperparameters, hence its own row).
COLORS_ROWS: dict[str, str] = {
    "dropout-l2-colors": "Dropout and ℓ2 reg.",
    "pse-colors": "PSEs",
    "randconv-colors": "RandConv",
    "randconv-pse-colors": "RandConv + PSEs",
}
#: table row of each preset.
PRESET_ROWS: dict[str, str] = {
    "bisim-transfer": "Bisimulation transfer",
    "dropout-l2": "Dropout and ℓ2 reg.",
    "pse": "PSEs",
    "randconv": "RandConv",
    "randconv-pse": "RandConv + PSEs",
    "randconv-psm-cme": "PSM + CME (G.5 hyperparameters)",
    "randconv-psm-l2": "PSM + ℓ2",
    "randconv-bisim-cme": "π*-bisim + CME",
    "randconv-bisim-l2": "π*-bisim + ℓ2",
}

#: baselines that do no learning (``epochs = 0`` in their results): never "short" runs.
NO_TRAINING = frozenset({"bisim-transfer"})


# ----------------------------------------------------------------------------- helpers


def seed_path(out: Path, seed: int) -> Path:
    return out / f"seed-{seed:03d}.json"


def _comparable(cfg: dict[str, Any]) -> dict[str, Any]:
    """Config fields that define a result (eval/log cadence excluded); a field missing from
    an older result takes its default (e.g. ``colors=False``), so old results still match."""
    import dataclasses

    skip = {"eval_every", "log_every"}
    full = {f.name: f.default for f in dataclasses.fields(JumpingConfig)} | cfg
    return {k: v for k, v in full.items() if k not in skip}


def overrides_label(result: dict[str, Any]) -> str:
    """`` [field=value, ...]``: the config fields where a result departs from its preset (e.g.
    ``--set psm_epsilon=0.5``), so that the report never pools them with the preset's row.
    Grid, epochs (noted separately) and ``colors`` (its own table) are not listed; ``""`` for
    a plain preset run, a no-learning baseline or an unknown preset."""
    preset = result.get("preset")
    if preset in NO_TRAINING or preset not in PRESETS or "config" not in result:
        return ""
    base = _comparable(PRESETS[preset].to_dict())
    got = _comparable(result["config"])
    ignore = {"preset", "source", "grid", "epochs", "colors"}
    diffs = [f"{k}={got[k]}" for k in sorted(got) if k not in ignore and got[k] != base.get(k)]
    return f" [{', '.join(diffs)}]" if diffs else ""


def describe(result: dict[str, Any]) -> str:
    """One line for a finished seed: its test % (red and green with colors)."""
    if result.get("colors"):
        return (
            f"{result['test_solved_pct_red']:.1f}% of red and "
            f"{result['test_solved_pct_green']:.1f}% of green test tasks solved"
        )
    return f"{result['test_solved_pct']:.1f}% of test tasks solved"


def _progress(counts: dict[str, Any]) -> dict[str, str]:
    """Progress-bar fields of one evaluation's counts."""
    if "test_green_solved_pct" in counts:
        return {
            "red%": f"{counts['test_red_solved_pct']:.1f}",
            "green%": f"{counts['test_green_solved_pct']:.1f}",
        }
    return {"test%": f"{counts['test_solved_pct']:.1f}"}


def save_solved_map(path: Path, result: dict[str, Any]) -> None:
    """The Figure 2 style grid of one seed (reuses :mod:`pisces.experiments.jumping.figures`)."""
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
        fig.savefig(target)
        figures.plt.close(fig)


# ----------------------------------------------------------------------------- train


def run_seed(
    cfg: JumpingConfig,
    seed: int,
    out: Path,
    device: str,
    *,
    progress: bool = True,
    threads: int | None = None,
    save_model: bool = False,
) -> dict[str, Any]:
    """Train and evaluate one seed; write its JSON (atomically) and PNG, and with
    ``save_model`` its checkpoint ``seed-<s>.pt`` first; return the result."""
    import torch
    from tqdm import tqdm

    from pisces.experiments.jumping.train import JumpingTrainer

    if threads is not None:
        torch.set_num_threads(threads)
    start = time.time()
    trainer = JumpingTrainer(cfg, seed, device)
    bar = tqdm(
        total=cfg.epochs,
        desc=f"{cfg.preset}/{cfg.grid} seed {seed}",
        unit="ep",
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
    )

    def on_epoch(t: JumpingTrainer) -> None:
        bar.update(1)
        post: dict[str, str] = {}
        if t.loss_log:
            last = t.loss_log[-1]
            post = {"ce": f"{last['ce']:.3f}", "align": f"{last['align']:.3f}"}
        if t.evals:
            post |= _progress(t.evals[-1].counts)
        bar.set_postfix(post, refresh=False)

    try:
        trainer.run(on_epoch)
    finally:
        bar.close()
    return finish_seed(trainer, out, time.time() - start, save_model=save_model)


def finish_seed(
    trainer: Any, out: Path, wall_seconds: float, *, save_model: bool = False
) -> dict[str, Any]:
    """Write a finished seed's JSON (atomically) and PNG; return its result record.

    With ``save_model`` the network is saved to ``seed-<s>.pt`` first (atomically), so a seed
    whose JSON exists always has its checkpoint; the JSON then names it under ``checkpoint``.
    """
    import torch

    result = trainer.result()
    result["git_commit"] = git_commit()
    result["torch"] = torch.__version__
    result["threads"] = torch.get_num_threads()
    result["wall_seconds"] = wall_seconds
    seed = result["seed"]
    if save_model:
        from pisces.experiments.jumping.checkpoint import checkpoint_path, save_checkpoint

        ckpt = save_checkpoint(
            checkpoint_path(out, seed),
            trainer.net,
            trainer.cfg,
            seed=seed,
            epoch=trainer.epoch,
            step=trainer.step,
            test_solved_pct=result["test_solved_pct"],
            git_commit=result["git_commit"],
        )
        result["checkpoint"] = ckpt.name
    write_json_atomic(seed_path(out, seed), result)
    try:
        save_solved_map(out / f"seed-{seed:03d}.png", result)
    except Exception as exc:  # the JSON is the result; a figure failure must not lose it
        print(f"warning: could not draw the solved map of seed {seed}: {exc}", file=sys.stderr)
    return result


def run_ensemble(
    cfg: JumpingConfig, seeds: list[int], out: Path, device: str, *, save_model: bool = False
) -> list[dict[str, Any]]:
    """Train ``seeds`` together in one program (vmapped; for GPUs); write every seed (and, with
    ``save_model``, one plain per-seed checkpoint each, from the synced member networks)."""
    from tqdm import tqdm

    from pisces.experiments.jumping.ensemble import EnsembleTrainer

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
    return [finish_seed(m, out, wall, save_model=save_model) for m in ens.members]


def _worker(job: tuple[dict[str, Any], int, str, str, bool]) -> tuple[int, str]:
    cfg_dict, seed, out, device, save_model = job
    cfg = JumpingConfig(**cfg_dict).validate()
    result = run_seed(
        cfg, seed, Path(out), device, progress=False, threads=1, save_model=save_model
    )
    return seed, describe(result)


def load_results(directory: Path) -> list[dict[str, Any]]:
    """Every ``seed-*.json`` of ``directory``, sorted by seed."""
    results = []
    for path in sorted(directory.glob("seed-*.json")):
        with open(path) as f:
            results.append(json.load(f))
    return sorted(results, key=lambda r: r["seed"])


def write_summary(out: Path) -> dict[str, Any] | None:
    """``summary.json``: median, mean, std of the test % over the finished seeds in ``out``."""
    import numpy as np

    results = load_results(out)
    if not results:
        return None
    pct = np.array([r["test_solved_pct"] for r in results], dtype=float)
    summary = {
        "preset": results[0]["preset"],
        "grid": results[0]["grid"],
        "epochs": results[0]["epochs"],
        "seeds": [r["seed"] for r in results],
        "test_solved_pct": pct.tolist(),
        "median_test_solved_pct": float(np.median(pct)),
        "mean_test_solved_pct": float(pct.mean()),
        "std_test_solved_pct": float(pct.std(ddof=1)) if len(pct) > 1 else None,
    }
    if results[0].get("colors"):
        summary["colors"] = True
        for color in ("red", "green"):
            x = np.array([r[f"test_solved_pct_{color}"] for r in results], dtype=float)
            std = float(x.std(ddof=1)) if len(x) > 1 else None
            summary[f"test_solved_pct_{color}"] = x.tolist()
            summary[f"mean_test_solved_pct_{color}"] = float(x.mean())
            summary[f"std_test_solved_pct_{color}"] = std
            summary[f"sem_test_solved_pct_{color}"] = None if std is None else std / len(x) ** 0.5
    write_json_atomic(out / "summary.json", summary)
    return summary


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = {
        "epochs": args.epochs,
        "eval_every": args.eval_every,
        "loss_variant": args.loss_variant,
        "amp_bf16": True if args.bf16 else None,
        "colors": True if args.colors else None,
    }
    named = {k: v for k, v in names.items() if v is not None}
    generic = parse_overrides(args.set, JumpingConfig)
    both = sorted(set(named) & set(generic))
    if both:
        raise ValueError(f"{both} given both as an option and with --set")
    return {**named, **generic}


def train_command(args: argparse.Namespace) -> int:
    """``pisces jumping train``: see the module docstring."""
    try:
        seeds = parse_seeds(args.seeds)
        cfg = make_config(args.preset, args.grid, **_overrides(args))
        device = resolve_device(args.device)
    except ValueError as exc:
        print(f"pisces jumping train: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1 or (args.ensemble and args.workers > 1):
        print(
            "pisces jumping train: --workers must be >= 1 (and 1 with --ensemble)", file=sys.stderr
        )
        return 2
    out: Path = args.out

    def skipped(seed: int, done: dict[str, Any]) -> None:
        print(f"seed {seed}: done ({describe(done)}), skipped")
        path = seed_path(out, seed)
        if args.save_model and not path.with_suffix(".pt").exists():
            print(
                f"pisces jumping train: seed {seed} finished without --save-model, so it "
                f"has no {path.with_suffix('.pt').name} and is not retrained; delete "
                f"{path} (or use another --out) to retrain it with a checkpoint",
                file=sys.stderr,
            )

    try:
        todo = pending_seeds(
            seeds,
            lambda seed: seed_path(out, seed),
            lambda done: _comparable(done["config"]) == _comparable(cfg.to_dict()),
            skipped,
        )
    except ConfigMismatch as exc:
        print(f"pisces jumping train: {exc}", file=sys.stderr)
        return 2
    task = "colored obstacles (red + green)" if cfg.colors else "white obstacle"
    print(f"{cfg.preset} on {cfg.grid}, {task}: {cfg.source}; {cfg.epochs} epochs; device {device}")
    if args.ensemble and todo:
        for result in run_ensemble(cfg, todo, out, device, save_model=args.save_model):
            print(f"seed {result['seed']}: {describe(result)}")
    elif args.workers == 1 or len(todo) <= 1:
        for seed in todo:
            result = run_seed(cfg, seed, out, device, save_model=args.save_model)
            print(f"seed {seed}: {describe(result)}")
    else:
        from tqdm import tqdm

        ctx = multiprocessing.get_context("spawn")
        jobs = [(cfg.to_dict(), s, str(out), device, args.save_model) for s in todo]
        with ctx.Pool(min(args.workers, len(todo))) as pool:
            bar = tqdm(total=len(jobs), desc=f"{cfg.preset}/{cfg.grid} seeds", unit="seed")
            for seed, line in pool.imap_unordered(_worker, jobs):
                bar.update(1)
                bar.write(f"seed {seed}: {line}")
            bar.close()
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
    parser.add_argument("--preset", required=True, help=f"one of {sorted(PRESETS)}")
    parser.add_argument("--grid", default="wide", help=f"one of {list(GRIDS)}")
    parser.add_argument("--seeds", default="1", help="e.g. 1-10, 3, 1,4,7 (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--epochs", type=int, default=None, help="override (full: 2000)")
    parser.add_argument("--eval-every", type=int, default=None, help="override [epochs]")
    parser.add_argument(
        "--loss-variant", choices=("official", "paper"), default=None, help="CME variant"
    )
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (presets: fp32)")
    parser.add_argument(
        "--colors",
        action="store_true",
        help="colored obstacles (Table G.1) with a white preset's hyperparameters; the "
        "*-colors presets (Table G.4) set it themselves",
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="override any JumpingConfig field of the preset, e.g. --set alpha=2 "
        "--set temperature=0.1 (repeatable; recorded in each seed's config)",
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--workers", type=int, default=1, help="processes, one seed each")
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="train all seeds in one program (vmapped, for a GPU); exclusive with --workers",
    )
    parser.add_argument(
        "--save-model",
        action="store_true",
        help="also write each seed's trained network to seed-<s>.pt (~4 MB; off by default; "
        "a seed already finished without one is skipped with a note, not retrained)",
    )
    parser.set_defaults(func=train_command)


# ----------------------------------------------------------------------------- report


def _format_se(s: Any, digits: int = 1) -> str:
    """``mean (standard error), IQM iqm [lo, hi], n=N`` (the CI is of the IQM)."""
    import math

    def f(x: float) -> str:
        return "–" if not math.isfinite(x) else f"{x:.{digits}f}"

    lo, hi = s.iqm_ci
    return f"{f(s.mean)} ({f(s.std / math.sqrt(s.n))}), IQM {f(s.iqm)} [{f(lo)}, {f(hi)}], n={s.n}"


def table_g1(cells: dict[tuple[str, str], list[float]], *, seed: int, reps: int) -> str:
    """Markdown Table G.1: per method, red and green % of test tasks, ours (mean (SE), IQM
    [95% CI], n) beside the paper's mean (SE). ``cells``: (row, "red"/"green") → per-seed %."""
    from pisces.analysis import stats

    ours = stats.aggregate(cells, seed=seed, reps=reps)
    rows = list(dict.fromkeys([k[0] for k in cells] + list(PAPER_TABLE_G1)))
    header = ["Method", "red (ours)", "red (paper)", "green (ours)", "green (paper)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        line = [row]
        for c, color in enumerate(("red", "green")):
            s = ours.get((row, color))
            line.append("–" if s is None else _format_se(s))
            paper = PAPER_TABLE_G1.get(row)
            line.append("–" if paper is None else f"{paper[c][0]:.1f} ({paper[c][1]:.1f})")
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines) + "\n"


def report_command(args: argparse.Namespace) -> int:
    """``pisces jumping report``: Markdown tables of ours vs the paper's Table 1 (white
    obstacle runs) and Table G.1 (colored obstacle runs)."""
    from pisces.analysis import stats

    cells: dict[tuple[str, str], list[float]] = {}
    colored: dict[tuple[str, str], list[float]] = {}
    epochs: dict[tuple[str, str], set[int]] = {}
    for directory in args.dirs:
        results = load_results(Path(directory))
        if not results:
            print(f"pisces jumping report: no seed-*.json in {directory}", file=sys.stderr)
            return 2
        for r in results:
            if r.get("colors"):
                row = COLORS_ROWS.get(r["preset"], f"{r['preset']} (--colors)")
                row += overrides_label(r)
                if r["grid"] != "wide":
                    row += f", {r['grid']} grid"
                for color in ("red", "green"):
                    pct = float(r[f"test_solved_pct_{color}"])
                    colored.setdefault((row, color), []).append(pct)
                key = (row, "colors")
            else:
                key = (PRESET_ROWS.get(r["preset"], r["preset"]) + overrides_label(r), r["grid"])
                cells.setdefault(key, []).append(float(r["test_solved_pct"]))
            if r["preset"] not in NO_TRAINING:
                epochs.setdefault(key, set()).add(int(r["epochs"]))
    short = {k: sorted(v) for k, v in epochs.items() if v != {2000}}
    if cells:
        ours = stats.aggregate(cells, seed=args.bootstrap_seed, reps=args.reps)
        rows = list(dict.fromkeys([k[0] for k in cells] + [k[0] for k in PAPER_TABLE1]))
        columns = [g for g in GRIDS if any(k[1] == g for k in cells)]
        paper: dict[tuple[str, str], tuple[float, float]] = {
            k: v for k, v in PAPER_TABLE1.items() if k[1] in columns
        }
        for row, value in PAPER_TABLE2.items():
            if (row, "wide") in cells:
                paper[(row, "wide")] = value
        print(
            "% of test tasks solved at the final epoch: ours = mean (std), IQM [95% CI], n seeds;"
        )
        print(
            f"paper = Table 1, mean (std) over 100 runs. Stratified bootstrap, {args.reps} "
            f"reps, seed {args.bootstrap_seed}."
        )
        white_short = {k: v for k, v in short.items() if k[1] != "colors"}
        if white_short:
            print(f"NOTE: not the full 2000-epoch protocol: {white_short}")
        print()
        print(stats.markdown_table(ours, paper, rows=rows, columns=columns), end="")
    if colored:
        if cells:
            print()
        print(
            "Colored obstacles (Table G.1, trained on red + green tasks of the wide grid): "
            "% of red and of green test tasks solved at the final epoch;"
        )
        print(
            "ours = mean (standard error), IQM [95% CI], n seeds; paper = Table G.1, mean "
            f"(standard error) over 100 runs. Stratified bootstrap, {args.reps} reps, seed "
            f"{args.bootstrap_seed}."
        )
        colors_short = {k[0]: v for k, v in short.items() if k[1] == "colors"}
        if colors_short:
            print(f"NOTE: not the full 2000-epoch protocol: {colors_short}")
        print()
        print(table_g1(colored, seed=args.bootstrap_seed, reps=args.reps), end="")
    return 0


def configure_report(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping report``."""
    parser.add_argument("dirs", nargs="+", help="directories holding seed-*.json")
    parser.add_argument("--reps", type=int, default=50_000, help="bootstrap replications")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="bootstrap RNG seed")
    parser.set_defaults(func=report_command)
