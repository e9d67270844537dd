"""Where a jumping-task train step spends its time (torch profiler, one thread), per operator
and input shape, forward and backward, in fp32 and in bf16 autocast; with the matmul rates of
both precisions measured in the same run.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_jumping.py [--preset randconv-pse] \\
        [--steps 10] [--out benchmarks/results/jumping_profile.md]

Without ``--out`` it prints only. Run on an idle machine (``uptime`` is recorded); the shares
of the total are what matter, and survive moderate load better than the absolute times.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.trainer import JumpingTrainer
from pisces.experiments.runs import bf16_hardware, cpu_model


def matmul_rate(dtype: torch.dtype, n: int = 1024, repeats: int = 3) -> float:
    """GFLOP/s of an n² ``torch.mm`` in ``dtype`` (best of ``repeats``)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def profile(preset: str, steps: int, bf16: bool) -> tuple[str, float]:
    cfg = make_config(preset, amp_bf16=bf16)
    trainer = JumpingTrainer(cfg, 0)
    for _ in range(2):
        trainer.learner.update()  # warm-up (oneDNN primitive creation)
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, record_shapes=True) as prof:
        t = time.perf_counter()
        for _ in range(steps):
            trainer.learner.update()
        per_step = (time.perf_counter() - t) / steps
    table = prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=18, max_name_column_width=40
    )
    return table, per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="randconv-pse")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    native = bf16_hardware("cpu")
    bf16_n = 1024 if native else 256  # emulated bf16 runs at ~1 GFLOP/s: keep it short
    lines = [
        f"# Profile of one `{args.preset}` train step (batch 256 + 2×56), one thread",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_jumping.py --preset "
        f"{args.preset} --steps {args.steps}`",
        "",
        f"- CPU: {cpu_model()}; torch {torch.__version__}; load before: {os.getloadavg()}",
        f"- matmul 1024², 1 thread: fp32 {matmul_rate(torch.float32):.1f} GFLOP/s, bf16 "
        f"{matmul_rate(torch.bfloat16, n=bf16_n):.2f} GFLOP/s ({bf16_n}²; bf16 hardware: "
        f"{'yes' if native else 'no'})",
        "",
    ]
    for bf16 in (False, True):
        table, per_step = profile(args.preset, args.steps if native or not bf16 else 2, bf16)
        lines += [f"## {'bf16 autocast' if bf16 else 'fp32'}: {per_step:.3f} s per step", ""]
        lines += ["```", table, "```", ""]
    lines.append(f"- load after: {os.getloadavg()}")
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
