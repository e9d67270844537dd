"""Closed-form ``trajectory_psm`` vs the fixed-point iteration (Eq. D.2) at γ = 0.999.

Run from the repository root:

    .venv/bin/python benchmarks/bench_trajectory_psm.py --out benchmarks/results/trajectory_psm.txt

Both solvers run in the same process on the same cost matrices; each timing is the median
of ``--repeats`` runs (the 1000x1000 random-cost fixed point takes ~2e4 iterations, so it
gets ``--slow-repeats``). Costs:

* ``jump01``: the jumping-task 0/1 action cost between two RIGHT-only sequences with one JUMP
  each (at p - 14 for p = 30 and 40 when n = 56; at 30 % and 70 % of the length for n = 1000).
  The corner cost is 0, so the iteration is exact after ~n steps.
* ``random``: i.i.d. U[0, 1) costs (seeded). The corner cost c > 0 makes the iteration
  converge geometrically: ~log(tol / c) / log(γ) ≈ 2e4 steps at tol = 1e-9.

The fixed point uses the official stopping rule scale (tol = 1e-9, here on max |Δd|).
The output records ``uptime`` so timings on a shared machine can be judged.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pisces.metrics import action_mismatch_cost, trajectory_psm, trajectory_psm_fixed_point

GAMMA = 0.999


def jump01_cost(n: int) -> np.ndarray:
    a = np.zeros(n, dtype=np.int64)
    b = np.zeros(n, dtype=np.int64)
    if n == 56:
        a[30 - 14], b[40 - 14] = 1, 1
    else:
        a[int(0.3 * n)], b[int(0.7 * n)] = 1, 1
    return action_mismatch_cost(a, b)


def random_cost(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, n))


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[56, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow-repeats", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-9)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# trajectory_psm: closed form vs fixed-point iteration, gamma = 0.999",
        f"# command: .venv/bin/python benchmarks/bench_trajectory_psm.py "
        f"--sizes {' '.join(map(str, args.sizes))} --repeats {args.repeats} "
        f"--slow-repeats {args.slow_repeats} --tol {args.tol}",
        f"# machine: {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, numpy {np.__version__}",
        f"# uptime at start: {uptime}",
        f"{'cost':>7} {'n x m':>11} {'closed [ms]':>12} {'fixed pt [ms]':>14} "
        f"{'iters':>7} {'speedup':>9} {'max |diff|':>11}",
    ]
    print("\n".join(lines), flush=True)
    for n in args.sizes:
        for name, cost in (("jump01", jump01_cost(n)), ("random", random_cost(n))):
            t_closed, d = median_time(lambda c=cost: trajectory_psm(c, gamma=GAMMA), args.repeats)
            slow = name == "random" and n >= 500
            t_fp, res = median_time(
                lambda c=cost: trajectory_psm_fixed_point(
                    c, gamma=GAMMA, tol=args.tol, max_iter=200_000
                ),
                args.slow_repeats if slow else args.repeats,
            )
            diff = float(np.max(np.abs(d - res.distance)))
            row = (
                f"{name:>7} {f'{n}x{n}':>11} {t_closed * 1e3:12.3f} {t_fp * 1e3:14.1f} "
                f"{res.iterations:7d} {t_fp / t_closed:8.0f}x {diff:11.2e}"
            )
            print(row, flush=True)
            lines.append(row)
    end = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines.append(f"# uptime at end: {end}")
    print(lines[-1])
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
