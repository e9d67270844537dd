"""Where an LQR iteration spends its time at nd = 10000 (torch profiler, one thread).

Profiles 60 iterations of ``overparam`` and ``psm`` on a batch of 2 seeds (the CLI's default
batch at nd = 10000) and writes the top operators by self CPU time.

Usage: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_lqr.py
benchmarks/results/lqr_profile.txt`` (writes the file given, else prints only; run on an idle
machine, check ``uptime``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from pisces.experiments.lqr.config import get_preset
from pisces.experiments.lqr.train import make_seed_data, train_batch


def main() -> None:
    torch.set_num_threads(1)
    lines = [f"load average before: {os.getloadavg()}", ""]
    for method in ("overparam", "psm"):
        cfg = get_preset(method).replace(n_distractors=10000, iterations=60, dtype="float32")
        data = [make_seed_data(cfg, s) for s in (1, 2)]
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            train_batch(cfg, [1, 2], data=data)
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=6)
        lines += [f"== {method}, nd = 10000, 2 seeds, 60 iterations, adam_impl={cfg.adam_impl}"]
        lines += [table, ""]
    text = "\n".join(lines)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
