"""Seeds per hour of ``pisces sweep`` on this machine: the local pool beside Ray.

Exact command of ``benchmarks/results/bench_sweep.md``::

    RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/bench_sweep.py --workers 2 \\
        --repeats 2 --out benchmarks/results/bench_sweep.md

For each tiny job (LQR ``psm`` at nd = 30, 20 iterations, 2 test environments; jumping
``dropout-l2``, 1 epoch, batch 16, final evaluation only) and each backend (``local``:
``--workers`` processes; ``ray``: a local Ray cluster of ``--workers`` CPUs that the sweep
starts and stops), it times two whole ``pisces sweep`` commands, of ``n1`` and ``n2`` seeds,
in fresh folders (a subprocess each, wall clock; the fastest of ``--repeats`` runs). The
slope ``(T2 − T1) / (n2 − n1)`` is the steady cost of a seed with every worker busy (so
seeds/hour = 3600 / slope), the intercept ``T1 − n1 · slope`` the fixed cost of a sweep
(interpreter, pool or cluster start, worker imports, the end). Ray's overhead a seed is the
difference of the slopes; its start-up cost, the difference of the intercepts. The CPU
model and ``uptime`` (before and after) are recorded: on a shared machine the load is part
of the number. Prints the table; writes it only with ``--out``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOBS = {
    "lqr": 'benchmark = "lqr"\npreset = "psm"\ndistractors = 30\niterations = 20\n'
    "n_test_envs = 2\n",
    "jumping": 'benchmark = "jumping"\npreset = "dropout-l2"\nepochs = 1\nbatch_size = 16\n'
    "eval_every = 0\n",
}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def time_sweep(job: str, seeds: int, backend: str, workers: int, tmp: Path) -> float:
    """Wall seconds of one ``pisces sweep`` of ``seeds`` seeds of ``job`` (fresh folder)."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    spec = out / "spec.toml"
    spec.write_text(f'out = "{out}"\n[[job]]\n{JOBS[job]}seeds = "1-{seeds}"\n')
    argv = [sys.executable, "-m", "pisces.cli", "sweep", str(spec), "--workers", str(workers)]
    argv += ["--backend", backend, "--no-progress", "--no-report"]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lqr-seeds", default="4,104", help="n1,n2 for the LQR job")
    parser.add_argument("--jumping-seeds", default="2,8", help="n1,n2 for the jumping job")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each sweep; min kept")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    before = uptime()
    rows, slopes = [], {}
    reps = range(args.repeats)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for job, spec in (("lqr", args.lqr_seeds), ("jumping", args.jumping_seeds)):
            n1, n2 = (int(x) for x in spec.split(","))
            for backend in ("local", "ray"):
                t1, t2 = (
                    min(time_sweep(job, n, backend, args.workers, Path(tmp)) for _ in reps)
                    for n in (n1, n2)
                )
                slope = (t2 - t1) / (n2 - n1)
                fixed = t1 - n1 * slope
                slopes[(job, backend)] = (slope, fixed)
                rows.append(
                    f"| {job} | {backend} | {n1}: {t1:.1f} | {n2}: {t2:.1f} | {slope:.2f} | "
                    f"{3600 / slope:,.0f} | {fixed:.1f} | {3600 * n2 / t2:,.0f} |"
                )
                print(rows[-1], flush=True)
    after = uptime()
    lines = [
        "# `pisces sweep`: seeds per hour, local pool vs Ray",
        "",
        "Command: `RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/bench_sweep.py "
        f"--workers {args.workers} --repeats {args.repeats} --out benchmarks/results/"
        "bench_sweep.md`",
        "",
        f"CPU: {cpu_model()} ({os.cpu_count()} cores, shared with other work).",
        f"`uptime` before: `{before}`; after: `{after}`.",
        "",
        f"{args.workers} workers (local: processes; ray: a local cluster of {args.workers} CPUs "
        "started by the sweep). Jobs: LQR `psm`, nd 30, 20 iterations, 2 test envs; jumping "
        "`dropout-l2`, 1 epoch, batch 16, final evaluation only. Each time is one whole "
        "`pisces sweep` command (subprocess, wall clock); per seed = (T2 − T1) / (n2 − n1) with "
        f"all workers busy, fixed = T1 − n1 · per seed; each T the fastest of {args.repeats} "
        "runs. Ray runs its task workers at nice 15 (Ray's `worker_niceness`), the local pool "
        "at the caller's priority: on a loaded machine that alone can move Ray's numbers "
        "either way.",
        "",
        "| job | backend | T1 (seeds: s) | T2 (seeds: s) | per seed (s) | seeds/hour, steady | "
        "fixed cost (s) | seeds/hour, whole T2 sweep |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Ray's cost beside the local pool:",
        "",
    ]
    for job in ("lqr", "jumping"):
        (s_local, f_local), (s_ray, f_ray) = slopes[(job, "local")], slopes[(job, "ray")]
        lines.append(
            f"- {job}: {s_ray - s_local:+.2f} s a seed, {f_ray - f_local:+.1f} s a sweep "
            "(cluster start and stop, worker start-up)"
        )
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
