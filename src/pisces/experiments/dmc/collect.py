r"""``pisces dmc collect``: paired episodes for the PSE step (spec dcs §3, paper Section 6.2).

::

    pisces dmc collect --teacher runs/dcs/teacher-cartpole-swingup --out runs/dcs/pairs-cpu \
        --preset cpu

For every task seed ``s`` and episode ``e`` (``e`` successive resets after ``reset(seed=s)``):

1. **env A** (training video 1, ``bear``) runs the teacher's greedy policy: the teacher reads
   the state observation of A's own physics (:meth:`Teacher.observe`) and acts
   ``a_t = tanh μ(o_t)``;
2. **env B** (training video 2, ``bmx-bumps``), reset with the same seed, replays the exact
   action sequence; the physics states (qpos, qvel, act) of A and B must be identical after
   the reset and after every action (:func:`replay_actions`; :class:`PhysicsMismatch` names
   the pair, the task seed and the step otherwise). Physics never depends on the video
   (:mod:`pisces.envs.dmc.env`), so any difference is a bug, not noise.

Stored per pair ``p`` (episode 0 = A, 1 = B), ``T = 1000 // action repeat`` states each (the
reset observation and the next ``T - 1``; the state after the last action has no action and
is not a state of ``τ*``, Table I.1's ``|τ*_X| = 1000 // action repeat``):

* ``frames`` uint8 (P, 2, T, 3, 84, 84): the newest frame of each observation (single-frame
  form: :class:`~pisces.agents.pse_dmc.PairDataset` restacks them);
* ``actions`` float32 (P, 2, T, |A|) (A's and B's rows are equal by construction);
* ``metric`` float32 (P, T, T): the PSM of the two action sequences
  (:func:`~pisces.agents.pse_dmc.action_psm`, γ 0.99), zero on the diagonal;
* ``task_seeds``, ``episodes`` int64 (P,), ``returns`` float64 (P, 2), ``states`` float64
  (P, T + 1, D): A's physics states;

as ``OUT/pairs.npz`` (``np.savez_compressed``, written atomically) with the sidecar
``OUT/pairs.json``: config, teacher (path, SHA-256, its greedy return and config), commit,
counts, sizes, wall time.

Counts: the official data is 50 task seeds × 10 episodes (preset ``paper``: 500 pairs, ~2.6
GB of raw frames); the CPU preset ``cpu`` takes 10 × 1 (53 MB of frames in memory, ~44 MB
compressed: rendered frames with video backgrounds compress only ~1.2×, measured 4.4 MB a
pair for cartpole): the PSE step samples one pair per step, and a CPU run takes only a few
×10³–10⁴ PSE steps, so 10 distinct initial states keep every pair in use.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pisces.errors import UsageError
from pisces.experiments import configs

PAIRS_FILE = "pairs.npz"
PAIRS_JSON = "pairs.json"
PAIRS_FORMAT = "pisces-dmc-pairs-1"
#: env A and env B: the two training videos of DAVIS 2017 (spec dcs §1).
VIDEO_A, VIDEO_B = "bear", "bmx-bumps"


class PhysicsMismatch(UsageError):
    """Replaying the actions in env B did not reproduce env A's physics."""


@dataclass(frozen=True)
class CollectConfig:
    """How many paired episodes to collect (validated on creation)."""

    task_seeds: int = 50
    """Task seeds (the official data: 50)."""
    episodes: int = 10
    """Episodes per task seed, successive resets after ``reset(seed=s)`` (official: 10)."""
    first_seed: int = 1
    """The first task seed; seeds are first_seed, first_seed + 1, ..."""
    gamma: float = 0.99
    """Discount of the stored PSM (spec dcs §3); training recomputes it with its own γ."""

    def __post_init__(self) -> None:
        for name, low in (("task_seeds", 1), ("episodes", 1), ("first_seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: preset → (config, source).
PRESETS: dict[str, tuple[CollectConfig, str]] = {
    "paper": (CollectConfig(), "official PSE-DCS data: 50 task seeds x 10 episodes"),
    "cpu": (
        CollectConfig(task_seeds=10, episodes=1),
        "ours, CPU: 10 task seeds x 1 episode (10 pairs, 53 MB of frames, ~44 MB on disk)",
    ),
}


def physics_state(env: Any) -> np.ndarray:
    """The flat (qpos, qvel, act) of a pixel env (float64)."""
    return env.unwrapped.physics_state()


def teacher_episode(teacher: Any, env: Any, seed: int | None) -> dict[str, np.ndarray]:
    """Run the teacher's greedy policy in ``env`` for one episode (``reset(seed=seed)``).

    Returns ``frames`` uint8 (T, 3, H, W) (newest frame of the observation of each state),
    ``actions`` float32 (T, |A|), ``states`` float64 (T + 1, D) (after the reset and each
    action), ``reward`` (the return).
    """
    obs, _ = env.reset(seed=seed)
    physics = env.unwrapped.physics
    frames, actions, states, total = [], [], [physics_state(env)], 0.0
    done = False
    while not done:
        frames.append(obs[-3:])
        a = np.asarray(teacher.act(teacher.observe(physics)), dtype=np.float32)
        actions.append(a)
        obs, r, terminated, truncated, _ = env.step(a)
        states.append(physics_state(env))
        total += float(r)
        done = terminated or truncated
    return {
        "frames": np.stack(frames),
        "actions": np.stack(actions),
        "states": np.stack(states),
        "reward": np.float64(total),
    }


def replay_actions(
    env: Any,
    seed: int | None,
    actions: np.ndarray,
    expected_states: np.ndarray,
    *,
    where: str = "",
) -> dict[str, np.ndarray]:
    """Replay ``actions`` (T, |A|) in ``env`` after ``reset(seed=seed)``, checking the physics
    state against ``expected_states`` (T + 1, D) after the reset and after every action.

    Returns ``frames`` (T, 3, H, W) and ``reward``.

    Raises:
        PhysicsMismatch: naming the first step where the states differ (``where`` adds the
            pair's description), with the largest absolute difference.
    """
    obs, _ = env.reset(seed=seed)
    frames, total = [], 0.0

    def check(t: int) -> None:
        got = physics_state(env)
        if got.shape != expected_states[t].shape or not np.array_equal(got, expected_states[t]):
            gap = (
                float(np.max(np.abs(got - expected_states[t])))
                if got.shape == expected_states[t].shape
                else float("inf")
            )
            when = "after the reset" if t == 0 else f"after action {t - 1} (agent step {t})"
            raise PhysicsMismatch(
                f"physics of env B differs from env A {when}{where}: max |difference| "
                f"{gap:.3g}; the replayed actions do not reproduce the teacher's episode"
            )

    check(0)
    for t, a in enumerate(actions):
        frames.append(obs[-3:])
        obs, r, _, _, _ = env.step(a)
        total += float(r)
        check(t + 1)
    return {"frames": np.stack(frames), "reward": np.float64(total)}


def collect_pairs(
    teacher: Any,
    config: CollectConfig,
    *,
    video_root: str | Path | None = None,
    on_pair: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Collect ``task_seeds × episodes`` pairs (module docstring); returns the arrays of
    ``pairs.npz`` (without the metadata strings). ``on_pair(done, total)`` after each pair."""
    from pisces.agents.pse_dmc import action_psm
    from pisces.envs.dmc import make

    env_a = make(teacher.domain, teacher.task, split="train", video=VIDEO_A, video_root=video_root)
    env_b = make(teacher.domain, teacher.task, split="train", video=VIDEO_B, video_root=video_root)
    frames, actions, states, returns, seeds, episodes = [], [], [], [], [], []
    total = config.task_seeds * config.episodes
    try:
        for i in range(config.task_seeds):
            s = config.first_seed + i
            for e in range(config.episodes):
                first = s if e == 0 else None
                ep = teacher_episode(teacher, env_a, first)
                where = f" (pair {len(seeds)}: task seed {s}, episode {e})"
                rep = replay_actions(env_b, first, ep["actions"], ep["states"], where=where)
                frames.append(np.stack([ep["frames"], rep["frames"]]))
                actions.append(np.stack([ep["actions"], ep["actions"]]))
                states.append(ep["states"])
                returns.append([ep["reward"], rep["reward"]])
                seeds.append(s)
                episodes.append(e)
                if on_pair is not None:
                    on_pair(len(seeds), total)
    finally:
        env_a.close()
        env_b.close()
    acts = np.stack(actions).astype(np.float32)
    return {
        "frames": np.stack(frames).astype(np.uint8),
        "actions": acts,
        "metric": action_psm(acts[:, 0], acts[:, 1], config.gamma).astype(np.float32),
        "states": np.stack(states),
        "returns": np.asarray(returns, dtype=np.float64),
        "task_seeds": np.asarray(seeds, dtype=np.int64),
        "episodes": np.asarray(episodes, dtype=np.int64),
    }


def save_pairs(out: Path, data: dict[str, np.ndarray], info: dict[str, Any]) -> Path:
    """``OUT/pairs.npz`` (compressed, atomic; with ``format``, ``domain``, ``task`` strings)
    then ``OUT/pairs.json`` (``info`` + the file's size and SHA-256)."""
    from pisces.experiments.dmc.teacher import file_digest
    from pisces.experiments.runs import atomic_open, write_json_atomic

    path = Path(out) / PAIRS_FILE
    meta = {
        "format": np.array(PAIRS_FORMAT),
        "domain": np.array(info["domain"]),
        "task": np.array(info["task"]),
    }
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, **data, **meta)
    write_json_atomic(
        path.with_name(PAIRS_JSON),
        info | {"bytes": path.stat().st_size, "sha256": file_digest(path)},
    )
    return path


def pairs_path(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/pairs.npz``."""
    p = Path(path)
    return p / PAIRS_FILE if p.is_dir() else p


def read_pairs(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays of a pairs file and its sidecar info (``{}`` if there is none).

    Raises:
        UsageError: naming the path, when there is no file, or it is not a pairs file.
    """
    from pisces.experiments.dmc.teacher import file_digest

    p = pairs_path(path)
    if not p.is_file():
        raise UsageError(
            f"no pair data at {p}: make it with `pisces dmc collect --teacher DIR --out DIR`"
        )
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise UsageError(f"{p} is not a readable .npz file ({exc})") from None
    if str(data.get("format", "")) != PAIRS_FORMAT:
        raise UsageError(f"{p} is not a pisces DMC pairs file (no format {PAIRS_FORMAT!r})")
    for key in ("frames", "actions", "task_seeds"):
        if key not in data:
            raise UsageError(f"{p} lacks the array {key!r}")
    sidecar = p.with_name(PAIRS_JSON)
    info = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    info = info | {"path": str(p), "sha256": file_digest(p)}
    return data, info


def collect_command(args: argparse.Namespace) -> int:
    """``pisces dmc collect``: see the module docstring."""
    import torch
    from tqdm import tqdm

    from pisces.experiments.dmc.teacher import load_teacher
    from pisces.experiments.runs import ResultStore, cpu_model, git_commit

    try:
        base, source = PRESETS[args.preset]
        config = dataclasses.replace(base, **configs.collect_overrides(args, CollectConfig))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    teacher = load_teacher(args.teacher)  # UsageError naming a missing teacher
    out = Path(args.out)
    if (out / PAIRS_FILE).exists() and not args.force:
        raise UsageError(f"{out / PAIRS_FILE} exists; use another --out (or --force)")
    try:
        ResultStore(out).check_writable()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    torch.set_num_threads(1)
    start = time.perf_counter()
    total = config.task_seeds * config.episodes
    bar = tqdm(total=total, unit="pair", disable=args.no_progress, file=sys.stderr)
    try:
        data = collect_pairs(
            teacher, config, video_root=args.video_root, on_pair=lambda n, _: bar.update(1)
        )
    finally:
        bar.close()
    p, _, t = data["frames"].shape[:3]
    info = {
        "format": PAIRS_FORMAT,
        "domain": teacher.domain,
        "task": teacher.task,
        "preset": args.preset,
        "source": source,
        "config": config.to_dict(),
        "videos": [VIDEO_A, VIDEO_B],
        "video_root": None if args.video_root is None else str(args.video_root),
        "pairs": int(p),
        "states_per_episode": int(t),
        "action_dim": int(data["actions"].shape[-1]),
        "frame_bytes": int(data["frames"].nbytes),
        "mean_return": float(data["returns"][:, 0].mean()),
        "teacher": {
            "path": str(teacher.path),
            "sha256": teacher.digest,
            "eval_return": teacher.record.get("eval_return"),
            "config": teacher.record.get("config"),
            "kind": teacher.record.get("kind", "state-sac-teacher"),
        },
        "physics_check": "A and B bit-identical after every reset and action",
        "git_commit": git_commit(),
        "cpu": cpu_model(),
        "seconds": time.perf_counter() - start,
    }
    path = save_pairs(out, data, info)
    print(
        f"{path}: {p} pairs x {t} states of {teacher.domain}-{teacher.task}, teacher return "
        f"{info['mean_return']:.1f}, {path.stat().st_size / 1e6:.1f} MB"
    )
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces dmc collect``."""
    parser.add_argument("--teacher", type=Path, required=True, help="folder of teacher.pt")
    parser.add_argument("--out", type=Path, required=True, help="folder for pairs.npz/.json")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="paper",
        help="paper: 50 task seeds x 10 episodes (official); cpu: 10 x 1",
    )
    parser.add_argument(
        "--video-root", default=None, help="a DAVIS 2017 folder (default: offline substitutes)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing pairs.npz")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    configs.add_config_arguments(parser, CollectConfig)
    parser.set_defaults(func=collect_command)
