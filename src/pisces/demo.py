"""``pisces demo``: the main job run by ``make demo``, on a SHORT schedule.

Trains one seed of the ``randconv-pse`` preset (RandConv + PSEs, paper Table G.3 / the
official launch command) on the wide grid of the jumping task from pixels for
:data:`DEMO_EPOCHS` epochs instead of the protocol's 2000 (a few minutes on 2 CPU cores),
evaluates it on all 286 tasks, prints the % of the 268 test tasks solved, and writes the
per-seed JSON and the solved-task grid (paper Figure 2 style) into ``--out``.

A short schedule is not the paper's protocol: expect a lower and noisier score than the
paper's 87.0 (10.1). The full protocol is ``pisces jumping train --preset randconv-pse
--grid wide --seeds 1-10 --out results/jumping/randconv-pse-wide`` (see README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pisces.argtypes import positive_int

#: epochs of the demo's short schedule (the protocol: 2000).
DEMO_EPOCHS = 300
DEMO_SEED = 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="output directory (created)")
    parser.add_argument("--epochs", type=positive_int, default=DEMO_EPOCHS, help="short schedule")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pisces.experiments.jumping.cli import run_seed, store_of
    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.runs import resolve_device

    epochs = int(args.epochs)
    try:
        cfg = make_config("randconv-pse", "wide", epochs=epochs, eval_every=max(1, epochs // 2))
        device = resolve_device(getattr(args, "device", "auto"))
        out = Path(args.out)
        store_of(out).check_writable()
    except ValueError as exc:
        print(f"pisces demo: {exc}", file=sys.stderr)
        return 2
    print(
        f"pisces demo: RandConv + PSEs on the wide jumping-task grid, seed {DEMO_SEED}, "
        f"SHORT schedule of {epochs} epochs (the paper's protocol: 2000), device {device}."
    )
    result = run_seed(cfg, DEMO_SEED, out, device)
    final = result["final"]
    for e in result["eval_curve"]:
        print(f"  epoch {e['epoch']:>4}: {e['test_solved_pct']:.1f}% of test tasks solved")
    print(
        f"After {epochs} epochs: {final['test_solved']}/{final['test_total']} test tasks solved "
        f"({result['test_solved_pct']:.1f}%), {final['train_solved']}/{final['train_total']} "
        f"training tasks. Paper (2000 epochs, 100 seeds): 87.0 (10.1)."
    )
    print(f"Wrote {out / 'seed-001.json'} and {out / 'seed-001.png'} (solved-task grid).")
    return 0
