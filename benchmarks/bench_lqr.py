"""Wall time of Table H.1 (LQR, 4 methods × nd ∈ {500, 1000, 10000} × 100 seeds) on this machine.

Two kinds of numbers, labelled as such in the output:

* **measured**: cells that were run in full by ``results/lqr/run_all.sh``; the sum of the
  batch wall times stored in their per-seed JSON files (``batch_wall_time_s`` per batch).
* **extrapolated**: every cell timed for ``--iterations`` iterations on one batch (the CLI's
  default batch size: ``min(25, 25000 // nd)`` seeds on the CPU, the whole 100-seed cell on a
  GPU), scaled linearly to 5000 iterations (the preset) and 2000 × 100 seeds. Setup
  (sampling, PSM pairs) is included once per batch.

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lqr.py [--iterations 20]
--out benchmarks/results/lqr.md`` (without ``--out`` it prints only)
(writes ``benchmarks/results/lqr.md``; note ``uptime``: the machine is shared, 2 cores), or
on a GPU machine ``python benchmarks/bench_lqr.py --device cuda --iterations 200`` (writes
``benchmarks/results/lqr_cuda.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from pisces.experiments.lqr.cli import default_batch
from pisces.experiments.lqr.config import get_preset
from pisces.experiments.lqr.train import make_seed_data, train_batch
from pisces.experiments.runs import resolve_device

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("overparam", "ipo", "l1", "psm")
NDS = (500, 1000, 10000)
MEASURED = "## Measured (CPU runs of results/lqr/run_all.sh, sum of batch wall times)"


def measured_cells(runs: Path) -> dict[str, tuple[int, float, int]]:
    """name -> (seeds, wall seconds, iterations) from the per-seed JSON of finished runs."""
    out = {}
    for d in sorted(p for p in runs.glob("*") if p.is_dir()):
        recs = [json.loads(p.read_text()) for p in d.glob("seed_*.json")]
        if recs:
            batches = {}
            for r in recs:  # one entry per batch: identical batch_wall_time_s within a batch
                batches[(r["batch_wall_time_s"], r["batch_size"])] = r["batch_wall_time_s"]
            out[d.name] = (len(recs), sum(batches.values()), recs[0]["config"]["iterations"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--iterations", type=int, default=20, help="timed iterations per cell (0: measured only)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument(
        "--out", default=None, help="e.g. benchmarks/results/lqr[_cuda].md (default: print only)"
    )
    args = parser.parse_args()
    args.device = resolve_device(args.device)  # a clear error for CUDA without a GPU
    on_gpu = args.device.startswith("cuda")
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    rows = []
    total5000 = total2000 = 0.0
    for nd in NDS if args.iterations > 0 else ():
        batch = default_batch(nd, args.device)
        for m in METHODS:
            cfg = get_preset(m).replace(
                n_distractors=nd, iterations=args.iterations, dtype="float32", device=args.device
            )
            seeds = list(range(batch))
            t0 = time.perf_counter()
            data = [make_seed_data(cfg, s) for s in seeds]
            setup = time.perf_counter() - t0
            t0 = time.perf_counter()
            train_batch(cfg, seeds, data=data)
            per_it = (time.perf_counter() - t0) / args.iterations / batch
            cell5000 = 100 * (setup / batch + 5000 * per_it)
            cell2000 = 100 * (setup / batch + 2000 * per_it)
            total5000 += cell5000
            total2000 += cell2000
            rows.append((m, nd, batch, per_it * 1e3, cell5000 / 60, cell2000 / 60))
            print(rows[-1], flush=True)
    load_after = os.getloadavg()
    lines = [
        "# LQR Table H.1 wall time (benchmarks/bench_lqr.py)",
        "",
        f"Machine: {os.cpu_count()} cores, shared; load average before {load_before[0]:.1f}, "
        f"after {load_after[0]:.1f}. "
        + (
            f"Device {torch.cuda.get_device_name(args.device)}, float32 large matrices."
            if on_gpu
            else "One torch thread, float32 large matrices."
        ),
        "",
        f"## Extrapolated (timed {args.iterations} iterations on one batch, scaled ×100 seeds)",
        "",
        "| method | nd | batch | ms / it / seed | cell, 5000 its (min) | cell, 2000 its (min) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m} | {nd} | {b} | {ms:.2f} | {c5:.1f} | {c2:.1f} |" for m, nd, b, ms, c5, c2 in rows
    ]
    lines += [
        "",
        f"**Whole Table H.1 (12 cells × 100 seeds), extrapolated: {total5000 / 60:.0f} min at "
        f"5000 iterations, {total2000 / 60:.0f} min at 2000** (target: 30 min)"
        + (
            " — met."
            if total5000 <= 1800
            else " — not met"
            + (
                ""
                if on_gpu
                else " on this CPU: nd = 10000 costs ~2 M K1 entries updated by Adam per "
                "iteration per seed"
            )
            + "."
        ),
        "",
        MEASURED,
        "",
        "| run | seeds | iterations | wall (min) |",
        "|---|---|---|---|",
    ]
    for sub in ("runs", "runs5000", "sweep"):
        for name, (n, wall, its) in measured_cells(ROOT / "results/lqr" / sub).items():
            lines.append(f"| {sub}/{name} | {n} | {its} | {wall / 60:.1f} |")
    if args.iterations == 0 and args.out:  # keep the extrapolated part of an earlier run
        old = Path(args.out).read_text() if Path(args.out).exists() else ""
        head = old.split("## Measured")[0] if "## Measured" in old else ""
        lines = head.rstrip("\n").split("\n") + [""] + lines[lines.index(MEASURED) :]
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
