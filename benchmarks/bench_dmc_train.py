"""End-to-end training speed of the DCS presets on this CPU, and the wall time it projects.

Produced ``benchmarks/results/bench_dmc_train.md`` with::

    .venv/bin/python benchmarks/bench_dmc_train.py --out benchmarks/results/bench_dmc_train.md

(without ``--out`` it only prints; ``--steps N`` sets the timed agent steps per configuration,
default 24; ``--threads`` the torch threads, default 1 as ``pisces dmc train``; ``--quick`` a
smoke run.) Everything runs through the real training loop
(:meth:`pisces.experiments.dmc.train.DMCTrainer.agent_step`: act, update, PSE step, env step
with rendering, replay) on cartpole-swingup (action repeat 8, 125 agent steps an episode):

* the machine: CPU model, torch, threads, ``uptime`` before and after (the 2 cores are
  shared with other jobs: read the load average beside every number);
* **env only**: the seed phase (uniform random actions, physics + render + replay), agent
  steps per second;
* **training**: seconds per agent step after the seed phase for ``drq-cpu``, ``drq-pse-cpu``
  with a PSE step after every update (``pse_every=1``, the paper's schedule) and with the
  preset's ``pse_every``, and the paper preset ``drq`` (batch 256, K = M = 2; fewer steps);
  the PSE step alone (:class:`pisces.agents.pse_dmc.PSEStep`, 128 rows × 125 states) on
  random pairs (its cost does not depend on the pixels);
* **evaluation**: one greedy episode on a test video, and making a test env;
* the projected wall time of one run: 100k env steps (the CPU presets' budget) and
  paper-scale 500k env steps, for each preset, with the preset's evaluations.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from pisces.agents.pse_dmc import PairDataset
from pisces.envs.dmc import make
from pisces.experiments.dmc.config import make_config
from pisces.experiments.dmc.train import DMCTrainer
from pisces.experiments.runs import cpu_model

DOMAIN, TASK = "cartpole", "swingup"
REPEAT = 8
EPISODE = 1000 // REPEAT


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def random_pairs(num_pairs: int = 2, seed: int = 0) -> PairDataset:
    """Random frames and actions with cartpole's shapes (T = 125, |A| = 1)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (num_pairs, 2, EPISODE, 3, 84, 84), dtype=np.uint8)
    actions = rng.uniform(-1, 1, (num_pairs, 2, EPISODE, 1)).astype(np.float32)
    return PairDataset.build(frames, actions)


def time_preset(preset: str, steps: int, seed_steps: int, **overrides) -> dict[str, float]:
    """Seconds per agent step of the seed phase and of training (after 2 warm-up steps)."""
    cfg = make_config(preset, DOMAIN, TASK, seed_steps=seed_steps, **overrides)
    pairs = random_pairs() if cfg.method == "drq-pse" else None
    trainer = DMCTrainer(cfg, seed=1, pairs=pairs)
    try:
        obs = trainer.begin_episode()
        start = time.perf_counter()
        for _ in range(seed_steps):
            obs, _ = trainer.agent_step(obs)
        seed_s = (time.perf_counter() - start) / seed_steps
        for _ in range(2):
            obs, _ = trainer.agent_step(obs)
        start = time.perf_counter()
        for _ in range(steps):
            obs, _ = trainer.agent_step(obs)
        step_s = (time.perf_counter() - start) / steps
        pse_s = float("nan")
        if trainer.pse is not None:
            trainer.pse()
            start = time.perf_counter()
            for _ in range(3):
                trainer.pse()
            pse_s = (time.perf_counter() - start) / 3
    finally:
        trainer.close()
    return {"seed_s": seed_s, "step_s": step_s, "pse_s": pse_s}


def time_eval() -> dict[str, float]:
    """Seconds to make a test env (after the first) and per greedy episode of a fresh agent."""
    cfg = make_config("drq-cpu", DOMAIN, TASK)
    trainer = DMCTrainer(cfg, seed=1)
    try:
        make(DOMAIN, TASK, split="test", video=0).close()  # warm: video decoded, GL loaded
        start = time.perf_counter()
        env = make(DOMAIN, TASK, split="test", video=1)
        make_s = time.perf_counter() - start
        start = time.perf_counter()
        trainer.greedy_return(env, seed=1)
        episode_s = time.perf_counter() - start
        env.close()
    finally:
        trainer.close()
    return {"make_s": make_s, "episode_s": episode_s}


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds < 72 * 3600 else f"{seconds / 86400:.1f} d"


def projection(cfg, step_s: float, ev: dict[str, float], env_steps: int) -> float:
    """Wall seconds of one run: seed steps at env speed are ignored (1000 of ≥ 12.5k), every
    agent step at ``step_s``, plus the evaluations (episodes and env creations)."""
    agent_steps = env_steps // REPEAT
    n_evals = (env_steps // cfg.eval_every if cfg.eval_every else 0) or 1
    episodes = cfg.eval_episodes + cfg.eval_train_episodes
    envs = min(cfg.eval_episodes, 30) + min(cfg.eval_train_episodes, 2)
    per_eval = episodes * ev["episode_s"] + envs * ev["make_s"]
    return agent_steps * step_s + n_evals * per_eval


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=24, help="timed agent steps (CPU presets)")
    parser.add_argument("--paper-steps", type=int, default=4, help="timed steps, paper preset")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    steps, paper_steps, seed_steps = args.steps, args.paper_steps, 32
    if args.quick:
        steps, paper_steps, seed_steps = 2, 1, 4
    before, t0 = uptime(), time.time()
    cpu_pse_every = make_config("drq-pse-cpu", DOMAIN, TASK).pse_every
    runs = {
        "drq-cpu": time_preset("drq-cpu", steps, seed_steps),
        "drq-pse-cpu, pse_every=1": time_preset("drq-pse-cpu", steps, seed_steps, pse_every=1),
        f"drq-pse-cpu (pse_every={cpu_pse_every})": time_preset("drq-pse-cpu", steps, seed_steps),
        "drq (paper)": time_preset("drq", paper_steps, seed_steps),
    }
    ev = time_eval()
    after, wall = uptime(), time.time() - t0

    lines = [
        "# End-to-end DCS training speed on this CPU",
        "",
        "Command: `.venv/bin/python benchmarks/bench_dmc_train.py --out "
        "benchmarks/results/bench_dmc_train.md`",
        "",
        f"* CPU: {cpu_model()}; {platform.machine()}; torch {torch.__version__}; "
        f"{args.threads} torch thread(s); task {DOMAIN}-{TASK} (action repeat {REPEAT}).",
        f"* uptime before: `{before}`",
        f"* uptime after: `{after}`",
        f"* benchmark wall time: {wall:.0f} s; timed agent steps: {steps} per CPU preset, "
        f"{paper_steps} for the paper preset, after {seed_steps} seed steps + 2 warm-up steps.",
        "",
        "## Seconds per agent step (act + update [+ PSE step] + env step with rendering + replay)",
        "",
        "| configuration | s / agent step | env steps / s | s / PSE step | seed phase: agent "
        "steps / s |",
        "|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        pse = "–" if np.isnan(r["pse_s"]) else f"{r['pse_s']:.2f}"
        lines.append(
            f"| {name} | {r['step_s']:.2f} | {REPEAT / r['step_s']:.1f} | {pse} | "
            f"{1 / r['seed_s']:.0f} |"
        )
    drq = runs["drq-cpu"]["step_s"]
    every = runs["drq-pse-cpu, pse_every=1"]
    lines += [
        "",
        f"Evaluation: {ev['episode_s']:.1f} s per greedy episode (125 agent steps, rendering), "
        f"{ev['make_s']:.2f} s to make a test env.",
        "",
        "PSE schedule: a PSE step every update costs "
        f"{every['step_s'] / drq:.1f}x the DrQ agent step ({every['step_s']:.2f} vs "
        f"{drq:.2f} s); the PSE step alone is {every['pse_s']:.2f} s, "
        f"{every['pse_s'] / drq:.1f} DrQ agent steps. Every k-th update it adds "
        + ", ".join(f"k={k}: {every['pse_s'] / k / drq:.0%}" for k in (1, 2, 4, 8))
        + " to a DrQ step.",
        "",
        "## Projected wall time of one run (one seed, this CPU, the load above)",
        "",
        "Agent steps = env steps / 8, each at the measured s / agent step; plus the preset's "
        "evaluations (episodes × s per episode + envs made × s per env).",
        "",
        "| preset | 100k env steps | 500k env steps (paper scale) |",
        "|---|---|---|",
    ]
    presets = {
        "drq-cpu": ("drq-cpu", {}),
        f"drq-pse-cpu (pse_every={cpu_pse_every})": ("drq-pse-cpu", {}),
        "drq-pse-cpu, pse_every=1": ("drq-pse-cpu", {"pse_every": 1}),
        "drq (paper)": ("drq", {}),
    }
    step_times = {name: r["step_s"] for name, r in runs.items()}
    # Not timed (~10 s a step): the paper's DrQ step plus one PSE step.
    presets["drq-pse (paper), estimated: drq step + PSE step"] = ("drq-pse", {})
    step_times["drq-pse (paper), estimated: drq step + PSE step"] = (
        runs["drq (paper)"]["step_s"] + every["pse_s"]
    )
    for name, (preset, extra) in presets.items():
        cfg = make_config(preset, DOMAIN, TASK, **extra)
        s = step_times[name]
        lines.append(
            f"| {name} | {hours(projection(cfg, s, ev, 100_000))} | "
            f"{hours(projection(cfg, s, ev, 500_000))} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
