"""Measured wall time of full jumping-task runs, from the committed per-seed results.

Every ``seed-*.json`` written by ``pisces jumping train`` records ``wall_seconds`` (training +
evaluation, one process) and ``threads``. This script tabulates them per run folder: one full
run (median, min, max) and the whole cell (sum over seeds = core time with one thread per
seed). These are *measured* times of real runs, taken on a shared 2-core machine (each run had
one core; the other core ran a second lane, sometimes more), so they are upper bounds on idle
times; the idle per-step figures are in ``bench_jumping_train.md``.

Rows are split by what the records say they ran on (CPU stamp and precision; records older
than the stamps say "not recorded"), since the machines differ several-fold; the evaluation
column is the share of a run's wall time spent evaluating (``eval_seconds / wall_seconds``).

Usage: ``.venv/bin/python benchmarks/bench_jumping_runs.py [DIR ...]`` (default: every run
folder directly under ``results/jumping``, all grids, the no-training baseline left out);
prints, and with ``--out FILE`` writes the table there.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_dirs() -> list[Path]:
    """Every run folder directly under ``results/jumping`` (any grid) that holds trained
    seeds; the tabular baseline (no training) and tuning trials are left out."""
    root = ROOT / "results/jumping"
    return sorted(
        d
        for d in root.iterdir()
        if d.is_dir() and any(d.glob("seed-*.json")) and not d.name.startswith("bisim-transfer")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument(
        "--out", type=Path, default=None, help="e.g. benchmarks/results/jumping_runs.md"
    )
    args = parser.parse_args()
    dirs = args.dirs or default_dirs()
    lines = [
        "# Jumping task: measured wall time of full runs",
        "",
        "Command: `.venv/bin/python benchmarks/bench_jumping_runs.py --out "
        "benchmarks/results/jumping_runs.md` (reads `wall_seconds` of",
        "each committed `seed-*.json`; shared 2-core machine, one thread per seed).",
        "",
        "| run folder | CPU | precision | seeds | epochs | one run: median [min, max] (min) "
        "| evaluation share (median) | cell: sum (h) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in dirs:
        groups: dict[tuple[str, str], list[dict]] = {}
        for p in sorted(d.glob("seed-*.json")):
            r = json.loads(p.read_text())
            if "wall_seconds" not in r:
                continue
            bf16 = r.get("config", {}).get("amp_bf16", False)
            key = (r.get("cpu", "not recorded"), r.get("precision", "bf16" if bf16 else "fp32"))
            groups.setdefault(key, []).append(r)
        for (cpu, precision), recs in sorted(groups.items()):
            walls = [r["wall_seconds"] / 60 for r in recs]
            share = [r.get("eval_seconds", float("nan")) / r["wall_seconds"] for r in recs]
            epochs = sorted({r["epochs"] for r in recs})
            lines.append(
                f"| {d.name} | {cpu} | {precision} | {len(walls)} | "
                f"{', '.join(map(str, epochs))} | "
                f"{statistics.median(walls):.1f} [{min(walls):.1f}, {max(walls):.1f}] | "
                f"{100 * statistics.median(share):.1f} % | {sum(walls) / 60:.2f} |"
            )
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
