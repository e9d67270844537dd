"""``pisces jumping report``: ours beside the paper's Table 1, Table 2 and Table G.1.

::

    pisces jumping report results/jumping/*-wide

reads the ``seed-*.json`` of each folder (each file once, however the folders overlap), groups
them by (preset, grid) and prints mean (std), IQM and its 95% stratified-bootstrap CI beside
the paper's Table 1 as Markdown; a run that departs from its preset (``--set``) gets its own
labelled row. Runs with colored obstacles (the ``*-colors`` presets, or ``--colors``) go to a
second table beside the paper's Table G.1, red and green % with the **standard error** the
paper reports there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pisces.analysis.paper import TABLE1 as PAPER_TABLE1
from pisces.analysis.paper import TABLE2 as PAPER_TABLE2
from pisces.analysis.paper import TABLE_G1 as PAPER_TABLE_G1
from pisces.argtypes import nonnegative_int, positive_int
from pisces.experiments import configs
from pisces.experiments.jumping.config import EXECUTION_FIELDS, GRIDS, PRESETS, JumpingConfig
from pisces.experiments.jumping.records import SEED_GLOB, run_folders
from pisces.experiments.runs import CorruptResult, load_records

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

#: the Table 2 preset that is also Table 1's "RandConv + Bisimulation" row (41.4 (17.6) on the
#: wide grid in both tables: π*-bisimulation with ℓ2 embeddings, Table G.5's values).
TABLE1_BISIM_PRESET = "randconv-bisim-l2"
#: baselines that do no learning (``epochs = 0`` in their results): never "short" runs.
NO_TRAINING = frozenset({"bisim-transfer"})
#: the paper's training length (spec §6.3); a run of another length gets its own row.
PROTOCOL_EPOCHS = 2000


def comparable(cfg: dict[str, Any]) -> dict[str, Any]:
    """Config fields that define a result (eval/log cadence excluded); a field missing from
    an older result takes its default (e.g. ``colors=False``), so old results still match."""
    return configs.comparable(JumpingConfig, cfg, EXECUTION_FIELDS)


#: config fields that change how a method runs, not which method it is: a run that departs
#: from its preset only here is still the paper's method and is set beside the paper's number
#: (bf16 autocast, validated against fp32 in precision-*.md; the colored task's 5-D input,
#: the official code's own reading of its data, spec §9.5).
SAME_METHOD_FIELDS = ("amp_bf16", "colors_input")


def overrides_label(result: dict[str, Any], ignore: Iterable[str] = ()) -> str:
    """`` [field=value, ...]``: the config fields where a result departs from its preset (e.g.
    ``--set psm_epsilon=0.5``), so that the report never pools them with the preset's row.
    Grid, epochs (noted separately) and ``colors`` (its own table) are not listed; ``""`` for
    a plain preset run, a no-learning baseline or an unknown preset. Floats are shown to six
    significant digits. ``ignore``: further fields left out (e.g. :data:`SAME_METHOD_FIELDS`)."""
    preset = result.get("preset")
    if preset in NO_TRAINING or preset not in PRESETS or "config" not in result:
        return ""
    ignore = {"preset", "source", "grid", "epochs", "colors", *EXECUTION_FIELDS, *ignore}
    diffs = configs.differences(JumpingConfig, result["config"], PRESETS[preset].to_dict(), ignore)
    # floats to 6 significant digits (a tuned trial's 0.021377209892462314 reads 0.0213772)
    show = lambda v: f"{v:.6g}" if isinstance(v, float) else str(v)  # noqa: E731
    return f" [{', '.join(f'{k}={show(got)}' for k, got, _ in diffs)}]" if diffs else ""


def row_order(rows: Sequence[str], canon: Sequence[str]) -> list[str]:
    """``rows`` once each, in the paper's order (``canon``), each method followed by its
    variants (``"PSEs [lr_decay=1]"``, ``"PSEs [300 epochs]"``: the part before `` [``),
    labels sorted; rows of unknown methods last."""
    rank = {row: i for i, row in enumerate(canon)}

    def key(row: str) -> tuple[int, str, int, str]:
        base = row.split(" [", 1)[0]
        return (rank.get(base, len(rank)), base, row != base, row)

    return sorted(dict.fromkeys(rows), key=key)


def epochs_label(result: dict[str, Any]) -> str:
    """`` [N epochs]`` for a training run off the 2000-epoch protocol, so that the report
    never pools it with the protocol's row; ``""`` otherwise (and for no-learning baselines)."""
    if result.get("preset") in NO_TRAINING or int(result["epochs"]) == PROTOCOL_EPOCHS:
        return ""
    return f" [{int(result['epochs'])} epochs]"


def report_folders(dirs: Sequence[str | Path]) -> list[Path]:
    """The folders the report reads: a dir holding seed records itself, or else every run
    folder below it (:func:`run_folders`: ``pisces jumping report results/jumping`` reads
    them all, tuning trials excepted).

    Raises:
        FileNotFoundError: naming a dir that does not exist or has no record in or under it.
    """
    folders: list[Path] = []
    for d in map(Path, dirs):
        found = [d] if d.is_dir() and any(d.glob(SEED_GLOB)) else run_folders([d])
        if not found:
            raise FileNotFoundError(f"no {SEED_GLOB} in or under {d}")
        folders += [f for f in found if f not in folders]
    return folders


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
    rows = row_order([k[0] for k in cells] + list(PAPER_TABLE_G1), list(PAPER_TABLE_G1))
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
    try:
        records = load_records(report_folders(args.dirs), SEED_GLOB, by_seed=True)
    except (FileNotFoundError, CorruptResult) as exc:
        print(f"pisces jumping report: {exc}", file=sys.stderr)
        return 2
    for r in records:
        label = overrides_label(r) + epochs_label(r)
        if r.get("colors"):
            row = COLORS_ROWS.get(r["preset"], f"{r['preset']} (--colors)")
            row += label
            if r["grid"] != "wide":
                row += f", {r['grid']} grid"
            for color in ("red", "green"):
                pct = float(r[f"test_solved_pct_{color}"])
                colored.setdefault((row, color), []).append(pct)
            key = (row, "colors")
        else:
            key = (PRESET_ROWS.get(r["preset"], r["preset"]) + label, r["grid"])
            cells.setdefault(key, []).append(float(r["test_solved_pct"]))
            if r["preset"] == TABLE1_BISIM_PRESET and not label:  # also Table 1's row
                bisim = cells.setdefault(("RandConv + Bisimulation", r["grid"]), [])
                bisim.append(float(r["test_solved_pct"]))
        if r["preset"] not in NO_TRAINING:
            epochs.setdefault(key, set()).add(int(r["epochs"]))
    short = {k: sorted(v) for k, v in epochs.items() if v != {PROTOCOL_EPOCHS}}
    if cells:
        ours = stats.aggregate(cells, seed=args.bootstrap_seed, reps=args.reps)
        table1 = [k[0] for k in PAPER_TABLE1]
        canon = list(dict.fromkeys([*table1, *PRESET_ROWS.values(), *PAPER_TABLE2]))
        rows = row_order([k[0] for k in cells] + table1, canon)
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
    parser.add_argument(
        "dirs",
        nargs="+",
        help="directories holding seed-*.json, or holding run folders (e.g. results/jumping)",
    )
    parser.add_argument("--reps", type=positive_int, default=50_000, help="bootstrap replications")
    parser.add_argument(
        "--bootstrap-seed", type=nonnegative_int, default=0, help="bootstrap RNG seed"
    )
    parser.set_defaults(func=report_command)
