"""Speed of the vectorized jumping task: all 286 optimal trajectories at once.

Command (from the repository root; writes the Markdown below to stdout and to the file)::

    .venv/bin/python benchmarks/bench_jumping_env.py --repeats 15 \
        --out benchmarks/results/bench_jumping_env.md

Measures (median and min over ``--repeats`` runs, after one warm-up run):

* ``simulate``: stepping the 286 tasks through their 56 optimal actions (states and rewards);
* ``optimal_trajectories``: the same plus rendering 286 x 57 frames (float32, ~235 MB);
* ``optimal_inputs``: the 286 x 56 stacked network inputs (float32, ~470 MB);
* ``optimal_trajectories`` for the green (RGB) variant;
* ``gym``: one Gymnasium episode (56 steps) for comparison with a per-step loop.

The machine's ``uptime`` load is recorded with the numbers: the measurement machine is shared.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

from pisces.envs.jumping import (
    ALL_TASKS,
    ENV_IDS,
    optimal_actions,
    optimal_inputs,
    optimal_trajectories,
    simulate,
)


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up (first-touch page faults of the big arrays)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def _gym_episode() -> None:
    env = gym.make(ENV_IDS[0])
    env.reset(seed=0, options={"obstacle_position": 30, "floor_height": 12})
    for a in optimal_actions(30):
        env.step(int(a))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    p, f = ALL_TASKS[:, 0], ALL_TASKS[:, 1]
    acts = optimal_actions(p)
    cases = {
        "simulate (states + rewards, 286 tasks)": lambda: simulate(p, f, acts),
        "optimal_trajectories (white, 286 x 57 frames)": lambda: optimal_trajectories(),
        "optimal_inputs (white, 286 x 56 x 60 x 60 x 2)": lambda: optimal_inputs(),
        "optimal_trajectories (green RGB, 286 x 57 frames)": lambda: optimal_trajectories(
            color="green"
        ),
        "gym: one 56-step episode": _gym_episode,
    }
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# bench_jumping_env",
        "",
        "Command: `.venv/bin/python benchmarks/bench_jumping_env.py "
        f"--repeats {args.repeats} --out benchmarks/results/bench_jumping_env.md`",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}; `uptime` before: {uptime}",
        "",
        "| case | median (s) | min (s) |",
        "|---|---|---|",
    ]
    for name, fn in cases.items():
        med, best = _time(fn, args.repeats)
        lines.append(f"| {name} | {med:.4f} | {best:.4f} |")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines += ["", f"`uptime` after: {uptime}", ""]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
