"""Speed of the Distracting Control envs with a moving background, against an official-like
stack, and the effect of the fast render settings on the picture.

Command (from the repository root; writes the Markdown below to stdout and to the file)::

    MUJOCO_GL=egl .venv/bin/python benchmarks/bench_dmc_env.py --repeats 5 \\
        --out benchmarks/results/bench_dmc_env.md

Speed, agent steps per second of wall clock and CPU milliseconds per agent step (medians
over ``--repeats`` runs of ``--steps`` agent steps of uniform random actions, after a warm-up
run, the stacks' runs interleaved; an episode that ends is reset inside the timing), for
cartpole-swingup (action repeat 8) and walker-walk (2):

* ``ours``: ``pisces.envs.dmc.make(domain, task, split="train")`` at its defaults: fast
  render settings, a 256² sky, the background advanced every sub-step but uploaded and
  rendered once per agent step, the upload's mipmaps computed in numpy (``fast_upload``);
* variants of ours: ``fast_upload=False`` (``mjr_uploadTexture``, whose ``glGenerateMipmap``
  the fast upload replaces with the same texture); ``sky_size=128``; ``fast_render=False``;
  ``split=None`` (no background, no upload: the render and physics floor);
* ``official-like``: what the official stack did (``distracting_control`` under DrQ's
  pixel and action-repeat wrappers): dm_control's default quality, an 800² sky face written
  and re-uploaded at *every* sub-step, and an 84² ``physics.render`` (a new camera per call)
  at every sub-step; run for ``--official-steps`` agent steps a repeat (it is slow).

Picture: mean absolute pixel difference (0-255 scale, over all pixels and channels) of the
84² frames of two envs with one seed stepped with the same actions (so the same physics and,
under distraction, the same video frames), over ``--picture-steps`` agent steps, per task:
fast vs default quality (``split=None``), a 256² vs an 800² sky (``split="train"``), and the
fast upload vs ``mjr_uploadTexture`` (``split="train"``; 0 when the pictures are identical).

The machine is shared: the CPU model and the ``uptime`` load before and after are recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

from pisces.envs.dmc import TASKS, make  # noqa: E402
from pisces.envs.dmc.background import prepare_sky, sky_texture_id, upload_sky  # noqa: E402
from pisces.envs.dmc.tasks import split_task_name  # noqa: E402

SPEED_TASKS = (("cartpole", "swingup"), ("walker", "walk"))


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _timed_round_robin(
    runs: list[Callable[[], None]], repeats: int
) -> list[tuple[list[float], list[float]]]:
    """(wall seconds, CPU seconds) of each run, ``repeats`` times, the runs interleaved so
    that a change of load from other processes hits them alike; one warm-up call each.
    CPU time is the whole process's (it includes llvmpipe's rendering threads)."""
    for run in runs:
        run()
    out: list[tuple[list[float], list[float]]] = [([], []) for _ in runs]
    for _ in range(repeats):
        for run, (wall, cpu) in zip(runs, out, strict=True):
            w, c = time.perf_counter(), time.process_time()
            run()
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
    return out


def ours_runner(domain: str, task: str, steps: int, **kwargs) -> tuple[Callable[[], None], list]:
    """A closure stepping one of our envs ``steps`` agent steps (resetting at episode ends)."""
    env = make(domain, task, seed=0, **kwargs)
    env.reset()
    rng = np.random.default_rng(0)
    shape = env.action_space.shape

    def run() -> None:
        for _ in range(steps):
            _, _, _, truncated, _ = env.step(rng.uniform(-1.0, 1.0, size=shape))
            if truncated:
                env.reset()

    return run, [env]


def official_like_runner(domain: str, task: str, steps: int) -> tuple[Callable[[], None], list]:
    """Default quality, an 800² sky written and uploaded and an 84² render every sub-step."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from dm_control import suite

    env = suite.load(domain, task, task_kwargs={"random": 0})
    physics = env.physics
    tex = prepare_sky(physics.model, 800)
    assert tex == sky_texture_id(physics.model)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(8, 800, 800, 3), dtype=np.uint8)
    adr = int(physics.model.tex_adr[tex])
    sky = physics.model.tex_data[adr : adr + 800 * 800 * 3].reshape(800, 800, 3)
    repeat = TASKS[f"{domain}-{task}"]
    shape = env.action_spec().shape
    env.reset()
    count = [0]

    def run() -> None:
        for _ in range(steps):
            action = rng.uniform(-1.0, 1.0, size=shape)
            for _ in range(repeat):
                timestep = env.step(action)
                count[0] += 1
                np.copyto(sky, frames[count[0] % len(frames)])
                upload_sky(physics, tex)
                physics.render(84, 84, camera_id=0)
                if timestep.last():
                    env.reset()

    return run, [env]


def speed_rows(args: argparse.Namespace) -> list[str]:
    variants: list[tuple[str, dict]] = [
        ("**ours** (defaults: fast render, sky 256², split='train')", {}),
        ("ours, fast_upload=False (mjr_uploadTexture)", {"fast_upload": False}),
        ("ours, sky_size=128", {"sky_size": 128}),
        ("ours, fast_render=False", {"fast_render": False}),
        ("ours, split=None (no background)", {"split": None}),
    ]
    rows = []
    for domain, task in SPEED_TASKS:
        name = f"{domain}-{task}"
        runs, envs = [], []
        for _, kwargs in variants:
            run, keep = ours_runner(domain, task, args.steps, **kwargs)
            runs.append(run)
            envs += keep
        run, keep = official_like_runner(domain, task, args.official_steps)
        runs.append(run)
        timings = _timed_round_robin(runs, args.repeats)
        labels = [label for label, _ in variants]
        labels.append("official-like (default quality, 800² sky uploaded + render per sub-step)")
        steps = [args.steps] * len(variants) + [args.official_steps]
        rates, cpu_ms = [], []
        for (wall, cpu), n in zip(timings, steps, strict=True):
            rates.append(n / statistics.median(wall))
            cpu_ms.append(1e3 * statistics.median(cpu) / n)
        for label, rate, ms in zip(labels, rates, cpu_ms, strict=True):
            rows.append(
                f"| {name} | {label} | {rate:.1f} | {rate / rates[-1]:.1f}x "
                f"| {ms:.1f} | {cpu_ms[-1] / ms:.1f}x |"
            )
        print(f"{name}: ours {rates[0]:.1f}/s, official-like {rates[-1]:.2f}/s", flush=True)
        for env in envs:
            env.close()
        keep[0].physics.free()
    return rows


def _frames(env, steps: int, seed: int) -> np.ndarray:
    """Newest frames (steps + 1, 3, 84, 84) along seeded random actions."""
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = [obs[-3:]]
    for _ in range(steps):
        obs, *_ = env.step(rng.uniform(-1.0, 1.0, size=env.action_space.shape))
        out.append(obs[-3:])
    env.close()
    return np.stack(out).astype(np.int16)


def picture_rows(args: argparse.Namespace) -> list[str]:
    rows = []
    for name in TASKS:
        domain, task = split_task_name(name)
        n = args.picture_steps
        fast = _frames(make(domain, task, split=None), n, 1)
        slow = _frames(make(domain, task, split=None, fast_render=False), n, 1)
        small = _frames(make(domain, task, split="train"), n, 1)
        large = _frames(make(domain, task, split="train", sky_size=800), n, 1)
        reference = _frames(make(domain, task, split="train", fast_upload=False), n, 1)
        quality = np.abs(fast - slow).mean()
        sky = np.abs(small - large).mean()
        upload = np.abs(small - reference).mean()
        rows.append(f"| {name} | {quality:.2f} | {sky:.2f} | {upload:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="agent steps a repeat (ours)")
    parser.add_argument("--official-steps", type=int, default=10, help="... official-like")
    parser.add_argument("--picture-steps", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import mujoco

    before = _uptime()
    speed = speed_rows(args)
    picture = picture_rows(args)
    after = _uptime()
    lines = [
        "# bench_dmc_env",
        "",
        "Command: `MUJOCO_GL=egl .venv/bin/python benchmarks/bench_dmc_env.py "
        f"{shlex.join(sys.argv[1:])}`",
        "",
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, {platform.machine()}; Python "
        f"{platform.python_version()}, MuJoCo {mujoco.__version__}, MUJOCO_GL="
        f"{os.environ.get('MUJOCO_GL')} (Mesa llvmpipe); `uptime` before: {before}",
        "",
        f"Agent steps per second (wall clock) and CPU milliseconds per agent step (the whole "
        f"process, llvmpipe's threads included), medians of {args.repeats} interleaved repeats "
        f"of {args.steps} agent steps ({args.official_steps} for the official-like stack), "
        "uniform random actions:",
        "",
        "| task | stack | agent steps/s | vs official-like | CPU ms / agent step "
        "| vs official-like (CPU) |",
        "|---|---|---|---|---|---|",
        *speed,
        "",
        f"Picture: mean |pixel difference| (0-255) over {args.picture_steps + 1} frames, "
        "same seed and actions:",
        "",
        "| task | fast vs default quality (no background) | sky 256² vs 800² (train) "
        "| fast upload vs mjr_uploadTexture (train) |",
        "|---|---|---|---|",
        *picture,
        "",
        f"`uptime` after: {after}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
