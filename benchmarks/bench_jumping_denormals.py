"""Denormal floats in a jumping-task run, and what flushing them to zero does to its speed.

Loads a mid-run checkpoint (``.seed-<s>.midrun.pt`` of ``pisces jumping train``), counts the
denormal (subnormal) float32 values in the network's weights and in Adam's state, then times
one training epoch from that state with ``torch.set_flush_denormal`` off and on, alternately,
``--repeats`` times each, one thread. Found with ``dropout-l2`` on an Intel Xeon: once the
cross-entropy is ~0 and no other loss term keeps the gradients up, weights and moments decay
into the subnormal range, where Intel cores take a microcode assist on each operation.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_jumping_denormals.py CHECKPOINT \\
        [--repeats 2] [--out benchmarks/results/jumping_denormals.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from pisces.experiments.jumping.config import JumpingConfig
from pisces.experiments.jumping.trainer import JumpingTrainer, load_midrun
from pisces.experiments.runs import cpu_model


def subnormal(tensors) -> int:
    """How many nonzero float32 values lie below the smallest normal float32."""
    tiny = torch.finfo(torch.float32).tiny
    return sum(int(((x != 0) & (x.abs() < tiny)).sum()) for x in tensors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    state = torch.load(args.checkpoint, weights_only=False)
    cfg = JumpingConfig(**state["config"])

    def trainer() -> JumpingTrainer:
        t = JumpingTrainer(cfg, state["seed"], "cpu")
        load_midrun(args.checkpoint, t)
        return t

    t = trainer()
    at_epoch = t.epoch
    weights = [p.data for p in t.net.parameters()]
    moments = [
        v
        for s in t.optimizer.state.values()
        for v in s.values()
        if torch.is_tensor(v) and v.dtype == torch.float32
    ]
    times: dict[bool, list[float]] = {False: [], True: []}
    load = os.getloadavg()
    for _ in range(args.repeats):
        for flush in (False, True):
            torch.set_flush_denormal(flush)
            t = trainer()
            start = time.perf_counter()
            t.train_epoch()
            times[flush].append(time.perf_counter() - start)
    torch.set_flush_denormal(False)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    lines = [
        "# Denormals in a jumping-task run",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_jumping_denormals.py "
        f"{args.checkpoint} --repeats {args.repeats}`",
        "",
        f"- CPU: {cpu_model()}; torch {torch.__version__}; 1 thread; load average before "
        f"{load[0]:.2f} (other runs on the machine count: ratios only)",
        f"- run: `{cfg.preset}`, {cfg.grid} grid, seed {state['seed']}, checkpoint at epoch "
        f"{at_epoch}",
        f"- subnormal float32 values: {subnormal(weights)} of {sum(w.numel() for w in weights)} "
        f"weights, {subnormal(moments)} of {sum(m.numel() for m in moments)} Adam moments",
        "",
        "| flush denormals | s / epoch (median) | each |",
        "|---|---|---|",
        f"| off (what ran) | {off:.2f} | {', '.join(f'{x:.2f}' for x in times[False])} |",
        f"| on | {on:.2f} | {', '.join(f'{x:.2f}' for x in times[True])} |",
        "",
        f"Flushing makes an epoch **{off / on:.1f}x** faster here.",
    ]
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
