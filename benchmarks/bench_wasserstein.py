"""W1 solver choice for the finite-MDP metrics: POT's exact network simplex vs SciPy's HiGHS LP.

Times one W1 between two random distributions on k support points with a random metric ground
cost, for ``pisces.metrics.wasserstein1`` (POT ``ot.emd2``) and an independent transport LP
solved by ``scipy.optimize.linprog``; medians over repeats, values compared.

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_wasserstein.py --out benchmarks/results/wasserstein.md
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

from pisces.metrics import wasserstein1


def w1_linprog(p: np.ndarray, q: np.ndarray, ground: np.ndarray) -> float:
    """W1 as the transport LP: min <T, ground> s.t. T 1 = p, Tᵀ 1 = q, T >= 0."""
    n, m = ground.shape
    a_eq = np.vstack([np.kron(np.eye(n), np.ones(m)), np.kron(np.ones(n), np.eye(m))])
    res = linprog(ground.ravel(), A_eq=a_eq, b_eq=np.concatenate([p, q]), method="highs")
    return float(res.fun)


def median_seconds(fn, args: tuple, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 5, 20])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# W1 solver: POT ot.emd2 vs scipy linprog (HiGHS)",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_wasserstein.py --repeats {args.repeats}`",
        f"`uptime`: {load}",
        "",
        "| support k | POT (µs) | linprog (µs) | ratio | max abs difference |",
        "|---|---|---|---|---|",
    ]
    for k in args.sizes:
        points = rng.normal(size=(k, 2))
        ground = np.linalg.norm(points[:, None] - points[None], axis=-1)  # a metric
        p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        t_pot = median_seconds(wasserstein1, (p, q, ground), args.repeats)
        t_lp = median_seconds(w1_linprog, (p, q, ground), max(args.repeats // 10, 5))
        diff = abs(wasserstein1(p, q, ground) - w1_linprog(p, q, ground))
        lines.append(
            f"| {k} | {t_pot * 1e6:.0f} | {t_lp * 1e6:.0f} | {t_lp / t_pot:.0f}x | {diff:.1e} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
