"""Measured wall time of full jumping-task runs, from the committed per-seed results.

Every ``seed-*.json`` written by ``pisces jumping train`` records ``wall_seconds`` (training +
evaluation, one process) and ``threads``. This script tabulates them per run folder: one full
run (median, min, max) and the whole cell (sum over seeds = core time with one thread per
seed). These are *measured* times of real runs, taken on a shared 2-core machine (each run had
one core; the other core ran a second lane, sometimes more), so they are upper bounds on idle
times; the idle per-step figures are in ``bench_jumping_train.md``.

Usage: ``.venv/bin/python benchmarks/bench_jumping_runs.py [DIR ...]`` (default
``results/jumping/*-wide``); prints, and with ``--out FILE`` writes the table there.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument(
        "--out", type=Path, default=None, help="e.g. benchmarks/results/jumping_runs.md"
    )
    args = parser.parse_args()
    dirs = args.dirs or sorted((ROOT / "results/jumping").glob("*-wide"))
    lines = [
        "# Jumping task: measured wall time of full runs",
        "",
        "Command: `.venv/bin/python benchmarks/bench_jumping_runs.py --out "
        "benchmarks/results/jumping_runs.md` (reads `wall_seconds` of",
        "each committed `seed-*.json`; shared 2-core machine, one thread per seed).",
        "",
        "| run folder | seeds | epochs | one run: median [min, max] (min) | cell: sum (h) |",
        "|---|---|---|---|---|",
    ]
    for d in dirs:
        recs = [json.loads(p.read_text()) for p in sorted(d.glob("seed-*.json"))]
        walls = [r["wall_seconds"] / 60 for r in recs if "wall_seconds" in r]
        if not walls:
            continue
        epochs = sorted({r["epochs"] for r in recs})
        lines.append(
            f"| {d.name} | {len(walls)} | {', '.join(map(str, epochs))} | "
            f"{statistics.median(walls):.1f} [{min(walls):.1f}, {max(walls):.1f}] | "
            f"{sum(walls) / 60:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
