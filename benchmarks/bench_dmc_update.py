"""Speed of one SAC + DrQ (+ PSE) update on this CPU, and what a paper-scale run would cost.

Produced ``benchmarks/results/bench_dmc_update.md`` with::

    .venv/bin/python benchmarks/bench_dmc_update.py

(``--quick`` shrinks every measurement for a smoke run; ``--threads`` sets the intra-op
threads of the update timings, default 2.) Measured in one program:

* the machine: CPU model (``/proc/cpuinfo``), torch version, ``uptime`` before and after (the
  2 cores are shared: loaded timings are noisy), and the matmul yardstick of each precision
  (``torch.mm`` of 2048² fp32 and 512² bf16 — bf16 has no native kernel on this AVX2 CPU and
  is ~40× slower — with 1 thread and 2 threads);
* one agent update (:meth:`pisces.agents.sac_drq.SACDrQAgent.update`, |A| = 6) of the paper
  preset (batch 256, K = M = 2, fp32) and of each step towards the CPU preset (channels-last,
  conv chunks of 64, batch 128, K = M = 1), then both in bf16. Updates alternate between
  critic + actor + temperature + target (even) and critic only (odd): the time per update is
  the mean of the fastest even and odd update of 2 rounds after a warm-up pair, all fp32
  configurations interleaved round by round (so a drifting load hits them alike).
  bf16 runs at batch 16 and is scaled linearly to the preset's batch (every op of an update
  is per-sample);
* the CPU preset without conv chunks, with chunks of 32, and with contiguous convolutions
  (the choice of channels-last + chunks of 64), and with 1 thread (one process per core);
* the PSE step (:class:`pisces.agents.pse_dmc.PSEStep`) on a cartpole-sized pair (T = 125
  states, all 125 rows), scaled to other tasks by the number of encoded observations
  ``min(128, T) + T``;
* FLOPs counted by :class:`torch.utils.flop_counter.FlopCounterMode` (matmuls and convolutions,
  forward and backward) at two small batches and extended linearly in the batch (exact: the
  count is affine in B), giving GFLOP/s and the ratio to the matmul yardstick of the same
  precision and thread count;
* the projected wall time of one 500k-env-step run per task (updates = 500k / action repeat,
  one per agent step), the update alone and with the PSE step, plus rendering at the spec's
  measured ~130 agent steps/s (spec dcs §1).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from pisces.agents.pse_dmc import PairDataset, PSEConfig, PSEStep
from pisces.agents.replay import Transitions
from pisces.agents.sac_drq import SACDrQAgent, SACDrQConfig

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_dmc_update.md"
ACTION_DIM = 6
#: spec dcs §1 / Table I.3: task → action repeat.
ACTION_REPEAT = {
    "cartpole-swingup": 8,
    "reacher-easy": 4,
    "cheetah-run": 4,
    "ball_in_cup-catch": 4,
    "finger-spin": 2,
    "walker-walk": 2,
}
ENV_STEPS = 500_000
RENDER_STEPS_PER_S = 130.0  # spec dcs §1, cartpole with one render per agent step


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:  # pragma: no cover
        return "n/a"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def matmul_gflops(threads: int, dtype: torch.dtype, n: int, reps: int) -> float:
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g).to(dtype)
    b = torch.rand(n, n, generator=g).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def make_batch(cfg: SACDrQConfig, b: int, seed: int) -> Transitions:
    g = torch.Generator().manual_seed(seed)
    shape = (b, cfg.obs_channels, cfg.image_size, cfg.image_size)
    return Transitions(
        obs=torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        action=torch.rand(b, ACTION_DIM, generator=g) * 2 - 1,
        reward=torch.rand(b, generator=g),
        next_obs=torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        discount=torch.ones(b),
    )


def time_updates(cfgs: list[SACDrQConfig], rounds: int) -> list[tuple[float, float]]:
    """(even, odd) seconds of one update per config, **interleaved**: after a warm-up pair per
    agent, each round times one (even, odd) pair of every config in turn; the fastest of the
    rounds per config. Interleaving keeps a drifting load of other jobs on the shared cores
    from favouring whichever config happened to run in a quiet minute."""
    agents = [SACDrQAgent(c, ACTION_DIM, seed=0) for c in cfgs]
    batches = [[make_batch(c, c.batch_size, i) for i in range(2)] for c in cfgs]
    for agent, (b0, b1) in zip(agents, batches, strict=True):
        agent.update(b0)
        agent.update(b1)
    best = [[float("inf"), float("inf")] for _ in cfgs]
    for _ in range(rounds):
        for agent, (b0, b1), m in zip(agents, batches, best, strict=True):
            start = time.perf_counter()
            agent.update(b0)
            mid = time.perf_counter()
            agent.update(b1)
            end = time.perf_counter()
            m[0], m[1] = min(m[0], mid - start), min(m[1], end - mid)
    return [(e, o) for e, o in best]


def count_update_flops(cfg: SACDrQConfig, b: int) -> tuple[float, float]:
    """(even, odd) FLOPs of one update at batch ``b``."""
    agent = SACDrQAgent(cfg, ACTION_DIM, seed=0)
    out = []
    for i in range(2):
        counter = FlopCounterMode(display=False)
        with counter:
            agent.update(make_batch(cfg, b, i))
        out.append(float(counter.get_total_flops()))
    return out[0], out[1]


def pse_step(cfg: SACDrQConfig, t: int, seed: int = 0) -> PSEStep:
    g = torch.Generator().manual_seed(seed)
    size = cfg.image_size
    frames = torch.randint(0, 256, (2, 2, t, 3, size, size), dtype=torch.uint8, generator=g)
    actions = torch.rand(2, 2, t, ACTION_DIM, generator=g) * 2 - 1
    actions[:, 1] = actions[:, 0]  # B replays A's actions
    agent = SACDrQAgent(cfg, ACTION_DIM, seed=seed)
    return PSEStep(agent, PairDataset.build(frames, actions), PSEConfig(), seed=seed)


def time_pse(cfgs: list[SACDrQConfig], t: int, rounds: int) -> list[float]:
    """Fastest seconds of one PSE step per config, interleaved like :func:`time_updates`."""
    steps = [pse_step(c, t) for c in cfgs]
    for step in steps:
        step()
    best = [float("inf")] * len(cfgs)
    for _ in range(rounds):
        for i, step in enumerate(steps):
            start = time.perf_counter()
            step()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def count_pse_flops(cfg: SACDrQConfig, t: int) -> float:
    step = pse_step(cfg, t)
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return float(counter.get_total_flops())


def fmt_h(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds < 86400 * 3 else f"{seconds / 86400:.1f} d"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    wall0 = time.perf_counter()
    lines: list[str] = []
    up0 = sh(["uptime"])
    print(up0, flush=True)

    # ------------------------------------------------------------ yardsticks
    n32, n16, reps = (512, 128, 2) if args.quick else (2048, 512, 5)
    peak = {}
    for th in (1, 2):
        peak["fp32", th] = matmul_gflops(th, torch.float32, n32, reps)
        peak["bf16", th] = matmul_gflops(th, torch.bfloat16, n16, max(2, reps // 2))
        print(f"peak {th} thread(s): fp32 {peak['fp32', th]:.1f}, bf16 {peak['bf16', th]:.2f}")
    torch.set_num_threads(args.threads)
    th = args.threads

    # ------------------------------------------------------------ configurations
    paper = SACDrQConfig.paper()
    cl = replace(paper, channels_last=True)
    chunk = replace(cl, encoder_chunk=64)
    b128 = replace(chunk, batch_size=128)
    cpu = SACDrQConfig.cpu()
    steps = [
        ("paper: B 256, K = M = 2, fp32", paper),
        ("+ channels-last", cl),
        ("+ conv chunks of 64", chunk),
        ("+ batch 128", b128),
        ("+ K = M = 1 (= CPU preset)", cpu),
    ]
    if args.quick:
        steps = [(n, replace(c, batch_size=8)) for n, c in steps]
    bf16_batch = 4 if args.quick else 16
    bf16 = [
        ("paper, bf16", replace(paper, precision="bf16", batch_size=paper.batch_size)),
        ("CPU preset, bf16", replace(cpu, precision="bf16")),
    ]

    flops_cache: dict[tuple, tuple[float, float]] = {}

    def flops(cfg: SACDrQConfig, b: int) -> float:
        key = (cfg.num_target_augs, cfg.num_loss_augs)
        if key not in flops_cache:
            small = replace(cfg, precision="fp32", channels_last=False, encoder_chunk=None)
            e1, o1 = count_update_flops(small, 4)
            e2, o2 = count_update_flops(small, 8)
            flops_cache[key] = ((e1 + o1) / 2, ((e2 + o2) - (e1 + o1)) / 2 / 4)
        a0, slope = flops_cache[key]
        return a0 + slope * (b - 4)

    rounds = 1 if args.quick else 2
    alts = [
        ("CPU preset without chunks", replace(cpu, encoder_chunk=None)),
        ("CPU preset with chunks of 32", replace(cpu, encoder_chunk=32)),
        ("CPU preset, contiguous (NCHW) convolutions", replace(cpu, channels_last=False)),
    ]
    if args.quick:
        alts = [(n, replace(c, batch_size=8)) for n, c in alts]
    timed = time_updates([c for _, c in steps] + [c for _, c in alts], rounds)
    rows = []
    for (name, cfg), (even, odd) in zip(steps, timed, strict=False):
        mean = (even + odd) / 2
        f = flops(cfg, cfg.batch_size)
        rows.append((name, cfg, cfg.batch_size, even, odd, mean, f, "fp32", "measured"))
        print(f"{name}: even {even:.2f} s, odd {odd:.2f} s, {f / mean / 1e9:.1f} GFLOP/s")
    alt_rows = [(name, sum(t) / 2) for (name, _), t in zip(alts, timed[len(steps) :], strict=True)]
    print(alt_rows, flush=True)
    bf16_timed = time_updates([replace(c, batch_size=bf16_batch) for _, c in bf16], 1)
    for (name, cfg), (even, odd) in zip(bf16, bf16_timed, strict=True):
        scale = flops(cfg, cfg.batch_size) / flops(cfg, bf16_batch)
        even, odd = even * scale, odd * scale
        mean = (even + odd) / 2
        f = flops(cfg, cfg.batch_size)
        how = f"batch {bf16_batch}, scaled ×{scale:.1f}"
        rows.append((name, cfg, cfg.batch_size, even, odd, mean, f, "bf16", how))
        print(f"{name}: {mean:.2f} s per update ({how})", flush=True)
    # one process per core: the CPU preset with one thread
    torch.set_num_threads(1)
    cpu1 = replace(cpu, batch_size=8) if args.quick else cpu
    ((even1, odd1),) = time_updates([cpu1], rounds)
    torch.set_num_threads(th)

    # ------------------------------------------------------------ PSE step
    t_pse = 12 if args.quick else 125
    pse_rows = []
    pse_cfgs = (("fp32, plain convolutions", paper), ("fp32, channels-last + chunks of 64", cpu))
    pse_times = time_pse([c for _, c in pse_cfgs], t_pse, 1 if args.quick else 3)
    for (name, cfg), sec in zip(pse_cfgs, pse_times, strict=True):
        f = count_pse_flops(replace(cfg, channels_last=False, encoder_chunk=None), t_pse)
        pse_rows.append((name, cfg, sec, f))
        print(f"PSE step {name}: {sec:.2f} s, {f / sec / 1e9:.1f} GFLOP/s", flush=True)
    up1 = sh(["uptime"])

    # ------------------------------------------------------------ report
    lines += [
        "# One SAC + DrQ (+ PSE) update on this CPU",
        "",
        "Command: `.venv/bin/python benchmarks/bench_dmc_update.py`"
        + (" --quick (smoke run: sizes are NOT the presets')" if args.quick else ""),
        "",
        f"* CPU: {cpu_model()}; {sh(['nproc'])} cores; torch {torch.__version__}; "
        f"update timings with {th} thread(s); |A| = {ACTION_DIM}.",
        f"* uptime before: `{up0}`",
        f"* uptime after: `{up1}`",
        f"* benchmark wall time: {time.perf_counter() - wall0:.0f} s",
        "",
        "## Matmul yardstick (best of the repeats)",
        "",
        "| precision | size | 1 thread GFLOP/s | 2 threads GFLOP/s |",
        "|---|---|---|---|",
        f"| fp32 | {n32}² | {peak['fp32', 1]:.1f} | {peak['fp32', 2]:.1f} |",
        f"| bf16 | {n16}² | {peak['bf16', 1]:.2f} | {peak['bf16', 2]:.2f} |",
        "",
        "## One update (mean of the fastest even and odd update)",
        "",
        "Even = critic + actor + temperature + target update; odd = critic only. GFLOP per "
        "update counted by `FlopCounterMode` (mean of even and odd). Peak ratio: against the "
        f"matmul yardstick of the same precision with {th} thread(s).",
        "",
        "| configuration | batch | even s | odd s | s / update | ×paper | GFLOP | GFLOP/s | "
        "of peak | how |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = rows[0][5]
    for name, _cfg, b, even, odd, mean, f, prec, how in rows:
        gfs = f / mean / 1e9
        lines.append(
            f"| {name} | {b} | {even:.2f} | {odd:.2f} | {mean:.2f} | {base / mean:.2f} | "
            f"{f / 1e9:.0f} | {gfs:.1f} | {gfs / peak[prec, th]:.0%} | {how} |"
        )
    cpu_row = rows[len(steps) - 1]
    mean1 = (even1 + odd1) / 2
    lines += [
        "",
        f"CPU preset with **1 thread** (one process per core): {mean1:.2f} s per update "
        f"({cpu_row[6] / mean1 / 1e9:.1f} GFLOP/s, "
        f"{cpu_row[6] / mean1 / 1e9 / peak['fp32', 1]:.0%} of the 1-thread peak); two such "
        f"processes would give at most {2 / mean1:.2f} updates/s in total (not measured "
        f"together) vs {1 / cpu_row[5]:.2f} for one process with {th} threads.",
        "",
        "bf16: this AVX2 CPU has no bf16 instructions; `torch.mm` in bf16 falls back to a slow "
        "path (the yardstick above), while oneDNN's bf16 convolutions run faster than it, so "
        "the bf16 'of peak' ratios above 100% only say that the yardstick is not a peak. What "
        "matters: bf16 updates are several times slower than fp32 here.",
        "",
        "Each step towards the CPU preset, as a speed-up over the previous row: "
        + ", ".join(
            f"{rows[i][0].lstrip('+ ')} ×{rows[i - 1][5] / rows[i][5]:.2f}"
            for i in range(1, len(steps))
        )
        + f"; bf16 is ×{cpu_row[5] / next(r for r in rows if r[0] == 'CPU preset, bf16')[5]:.2f} "
        "of fp32 for the CPU preset.",
        "",
        "## The CPU preset's execution options (same math, timed interleaved with the above)",
        "",
        f"Against the CPU preset's {cpu_row[5]:.2f} s per update (channels-last, chunks of 64); "
        "a time ratio > 1 means the preset's choice is faster.",
        "",
        "| configuration | s / update | time / preset's |",
        "|---|---|---|",
    ]
    for name, mean in alt_rows:
        lines.append(f"| {name} | {mean:.2f} | {mean / cpu_row[5]:.2f} |")
    lines += [
        "",
        f"## PSE step (T = {t_pse} states per episode, {min(128, t_pse)} rows: "
        f"{min(128, t_pse) + t_pse} encoded observations)",
        "",
        "| configuration | s / step | GFLOP | GFLOP/s | of peak |",
        "|---|---|---|---|---|",
    ]
    for name, _cfg, sec, f in pse_rows:
        gfs = f / sec / 1e9
        lines.append(
            f"| {name} | {sec:.2f} | {f / 1e9:.0f} | {gfs:.1f} | {gfs / peak['fp32', th]:.0%} |"
        )
    lines += [
        "",
        f"## Projected wall time of one {ENV_STEPS // 1000}k-env-step run",
        "",
        "Updates = env steps / action repeat (one per agent step; the 1000 seed steps ignored). "
        "PSE step time scaled by `min(128, T) + T` encoded observations, T = 1000 // repeat. "
        f"'+ env' adds rendering/physics at {RENDER_STEPS_PER_S:.0f} agent steps/s.",
        "",
        "'paper' is the paper's update with channels-last + chunks of 64 (same math, the "
        "fastest paper-faithful row above); 'CPU' is the CPU preset. The PSE step is the "
        "channels-last + chunks one in both.",
        "",
        "| task | repeat | updates | paper DrQ | paper DrQ + PSE | CPU DrQ | CPU DrQ + PSE "
        "| CPU DrQ + PSE + env |",
        "|---|---|---|---|---|---|---|---|",
    ]
    paper_mean = rows[2][5]  # the paper's algorithm with channels-last + chunks (same math)
    cpu_mean = cpu_row[5]
    pse_paper = pse_cpu = pse_rows[1][2]
    for task, rep in ACTION_REPEAT.items():
        updates = ENV_STEPS // rep
        t = 1000 // rep
        s = (min(128, t) + t) / (min(128, t_pse) + t_pse)
        env = updates / RENDER_STEPS_PER_S
        lines.append(
            f"| {task} | {rep} | {updates} | {fmt_h(updates * paper_mean)} | "
            f"{fmt_h(updates * (paper_mean + s * pse_paper))} | {fmt_h(updates * cpu_mean)} | "
            f"{fmt_h(updates * (cpu_mean + s * pse_cpu))} | "
            f"{fmt_h(updates * (cpu_mean + s * pse_cpu) + env)} |"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
