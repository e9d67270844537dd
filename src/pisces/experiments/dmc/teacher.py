r"""``pisces dmc teacher``: the state-based SAC teacher whose greedy actions define the PSM.

::

    pisces dmc teacher --domain cartpole --task swingup --out runs/dcs/teacher-cartpole-swingup

Deviation from the paper (stated in every record). The paper's teacher is pixel DrQ trained
500k env steps on the training environments; its only use in the PSE runs of Table 3's
"random" rows is its greedy action sequences, from which the PSM is computed (spec dcs §3).
On this CPU a pixel DrQ update costs ~1–9 s (``benchmarks/results/bench_dmc_update.md``), so
a SAC agent on dm_control's own **state** observation (:mod:`pisces.agents.sac_state`, no
rendering; ~25 ms an agent step with its update: cartpole-swingup reaches a greedy return of
878 after 100k env steps in 5.3 min) stands in for it. The "pretrained" rows of Table 3 (DrQ + PSEs
initialised from the teacher's pixel weights) need the pixel teacher and are not in scope.

:class:`StateEnv` is built directly on ``dm_control.suite.load`` (imported lazily) with the
task's action repeat (:data:`pisces.envs.dmc.TASKS`) and 1000 dm_control steps an episode,
like the pixel env: the observation is the concatenation, in dm_control's key order, of the
task's observation dict (cartpole: position (3), velocity (2)); the task's random state is
seeded as :mod:`pisces.envs.dmc.env` seeds it (child 0 of ``SeedSequence(seed).spawn(2)``),
so a state env and a pixel env reset with one seed start from the same physics.

Writes ``OUT/teacher.pt`` (the networks, config, sizes; ``torch.load(weights_only=True)``),
``OUT/teacher.json`` (config, seed, commit, CPU, learning and evaluation curves, final greedy
return) and ``OUT/teacher.png`` (curves). A folder holds one teacher: rerunning the same
command reports it done; another configuration is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pisces.argtypes import nonnegative_int, positive_int
from pisces.envs.dmc.tasks import EPISODE_ENV_STEPS, TASKS, check_task
from pisces.errors import UsageError
from pisces.experiments import configs
from pisces.experiments.seeds import derive_seeds

#: ``teacher.pt``'s format tag.
TEACHER_FORMAT = "pisces-dmc-teacher-1"
TEACHER_FILE = "teacher.pt"
TEACHER_JSON = "teacher.json"
#: stream numbers of the teacher's own draws (the agent's are 0–4, :mod:`sac_drq`).
STREAM_ENV, STREAM_EXPLORE, STREAM_ACT, STREAM_SAMPLE, STREAM_EVAL = range(200, 205)


class StateEnv:
    """One DM Control task on its state observation, with the benchmark's action repeat.

    ``reset(seed=None) → obs``; ``step(action) → (obs, reward, truncated)`` (an agent step:
    ``action`` clipped to [-1, 1] and held for ``action_repeat`` dm_control steps, rewards
    summed; ``truncated`` after ``1000 // action_repeat`` agent steps, then ``step`` refuses
    until ``reset``); ``observe(physics)`` the flat float32 observation of any physics of the
    task (the teacher acts in pixel envs through it); ``physics_state()`` (qpos, qvel, act).
    """

    def __init__(self, domain: str, task: str) -> None:
        self.action_repeat = check_task(domain, task)
        self.domain, self.task_name = domain, task
        os.environ.setdefault("MUJOCO_GL", "egl")
        from dm_control import suite

        self._random = np.random.RandomState(0)
        self._env = suite.load(domain, task, task_kwargs={"random": self._random})
        self.physics = self._env.physics
        self.task = self._env.task
        self.episode_steps = EPISODE_ENV_STEPS // self.action_repeat
        spec = self._env.observation_spec()
        self.obs_dim = int(sum(int(np.prod(s.shape)) for s in spec.values()))
        self.action_dim = int(self._env.action_spec().shape[0])
        self._steps = -1

    def observe(self, physics: Any | None = None) -> np.ndarray:
        """The task's observation dict of ``physics`` (default: this env's), flattened in
        dm_control's key order: float32 (obs_dim,)."""
        obs = self.task.get_observation(self.physics if physics is None else physics)
        return np.concatenate([np.asarray(v, dtype=np.float32).ravel() for v in obs.values()])

    def reset(self, seed: int | None = None) -> np.ndarray:
        """A new episode; ``seed`` reseeds the task stream as the pixel env does."""
        if seed is not None:
            task_seq, _ = np.random.SeedSequence(int(seed)).spawn(2)
            self._random.seed(task_seq.generate_state(4))
        self._env.reset()
        self._steps = 0
        return self.observe()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool]:
        if self._steps < 0 or self._steps >= self.episode_steps:
            raise RuntimeError("call reset() first: no episode is running")
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        reward = 0.0
        for _ in range(self.action_repeat):
            reward += float(self._env.step(a).reward or 0.0)
        self._steps += 1
        return self.observe(), reward, self._steps >= self.episode_steps

    def physics_state(self) -> np.ndarray:
        data = self.physics.data
        return np.concatenate([data.qpos, data.qvel, data.act]).astype(np.float64)


@dataclass(frozen=True)
class TeacherConfig:
    """How the state SAC teacher is trained (validated on creation; every field a flag).

    The SAC fields are :class:`~pisces.agents.sac_state.StateSACConfig`'s (Table I.2's SAC
    settings with 256-wide MLPs)."""

    domain: str = "cartpole"
    """DM Control domain (one of the six tasks of the benchmark)."""
    task: str = "swingup"
    """DM Control task of the domain."""
    env_steps: int = 100_000
    """Training budget in env (dm_control) steps; agent steps = env_steps / action repeat."""
    seed_steps: int = 1000
    """Agent steps of uniform random actions before the first update (Table I.2's 1000)."""
    replay_capacity: int = 100_000
    """Transitions kept in the replay ring (Table I.2)."""
    eval_every: int = 20_000
    """Env steps between greedy evaluations (0: only at the end)."""
    eval_episodes: int = 5
    """Greedy episodes per evaluation (own seeds; never perturbs training)."""
    hidden_dim: int = 256
    """Width of the critic's and actor's hidden layers."""
    feature_dim: int = 50
    """Width of the Dense + LayerNorm + tanh trunk on the state."""
    batch_size: int = 256
    """Transitions per update."""
    discount: float = 0.99
    """γ."""
    init_temperature: float = 0.1
    """Initial SAC temperature α."""
    lr: float = 1e-3
    """Adam learning rate of critic, actor and log α."""
    critic_tau: float = 0.01
    """Soft target update rate τ."""
    target_update_every: int = 2
    """Updates between target updates."""
    actor_update_every: int = 2
    """Updates between actor and α updates."""

    def __post_init__(self) -> None:
        try:
            check_task(self.domain, self.task)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        for name, low in (
            ("env_steps", 1),
            ("seed_steps", 1),
            ("replay_capacity", 1),
            ("eval_every", 0),
            ("eval_episodes", 1),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
        if self.env_steps % EPISODE_ENV_STEPS or self.eval_every % EPISODE_ENV_STEPS:
            raise ValueError(
                f"env_steps and eval_every must be multiples of {EPISODE_ENV_STEPS} (whole "
                f"episodes), got {self.env_steps} and {self.eval_every}"
            )
        self.sac_config()  # validates the SAC fields

    @property
    def action_repeat(self) -> int:
        return TASKS[f"{self.domain}-{self.task}"]

    def sac_config(self) -> Any:
        from pisces.agents.sac_state import StateSACConfig

        names = {f.name for f in dataclasses.fields(StateSACConfig)}
        return StateSACConfig(**{k: v for k, v in self.to_dict().items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TeacherConfig:
        return dataclasses.replace(self, **changes)


def episode_seed(base: int, index: int) -> int:
    """The reset seed of episode ``index`` of a stream seeded ``base``."""
    return derive_seeds([int(base), int(index)], 1)[0]


def eval_seed(base: int, env_steps: int, index: int) -> int:
    """The reset seed of evaluation episode ``index`` of the evaluation at ``env_steps``."""
    return derive_seeds([int(base), int(env_steps), int(index)], 1)[0]


def evaluate_teacher(
    agent: Any, env: StateEnv, seeds: list[int]
) -> tuple[list[float], list[np.ndarray]]:
    """Greedy returns of one episode per reset seed, and each episode's actions (T, |A|)."""
    returns, actions = [], []
    for s in seeds:
        obs, total, done, acts = env.reset(seed=s), 0.0, False, []
        while not done:
            a = agent.act(obs, greedy=True)
            acts.append(a)
            obs, r, done = env.step(a)
            total += r
        returns.append(total)
        actions.append(np.stack(acts))
    return returns, actions


def train_teacher(
    config: TeacherConfig,
    seed: int,
    *,
    on_episode: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train the state SAC teacher: ``(agent, record)``; writes nothing.

    Every draw comes from a stream of ``seed``: weights and update draws
    (:class:`~pisces.agents.sac_state.StateSACAgent`), episode reset seeds, the seed-step
    uniform actions, the exploration noise, the replay indices and the evaluation seeds
    (an evaluation never moves a training stream). ``on_episode(entry)`` is called after
    each training episode with its curve entry.
    """
    import torch

    from pisces.agents.sac_drq import stream_seed
    from pisces.agents.sac_state import StateReplay, StateSACAgent

    start = time.perf_counter()
    env = StateEnv(config.domain, config.task)
    agent = StateSACAgent(config.sac_config(), env.obs_dim, env.action_dim, seed=seed)
    replay = StateReplay(config.replay_capacity, env.obs_dim, env.action_dim)
    explore = np.random.default_rng(stream_seed(seed, STREAM_EXPLORE))
    act_gen = torch.Generator().manual_seed(stream_seed(seed, STREAM_ACT))
    sample_gen = torch.Generator().manual_seed(stream_seed(seed, STREAM_SAMPLE))
    env_base, eval_base = stream_seed(seed, STREAM_ENV), stream_seed(seed, STREAM_EVAL)
    eval_env = StateEnv(config.domain, config.task)
    total_steps = config.env_steps // config.action_repeat
    curve: list[dict[str, Any]] = []
    evals: list[dict[str, Any]] = []
    step, episode = 0, 0
    while step < total_steps:
        obs = env.reset(seed=episode_seed(env_base, episode))
        ret, done, losses = 0.0, False, []
        while not done:
            if step < config.seed_steps:
                action = explore.uniform(-1.0, 1.0, env.action_dim).astype(np.float32)
            else:
                action = agent.act(obs, greedy=False, generator=act_gen)
                losses.append(agent.update(replay.sample(config.batch_size, sample_gen)))
            next_obs, reward, done = env.step(action)
            replay.add(obs, action, reward, next_obs, terminated=False)
            obs, ret, step = next_obs, ret + reward, step + 1
        episode += 1
        env_steps = step * config.action_repeat
        entry: dict[str, Any] = {"episode": episode, "env_steps": env_steps, "return": ret}
        if losses:
            for key in ("critic_loss", "actor_loss", "alpha"):
                vals = [float(m[key]) for m in losses if key in m]
                entry[key] = float(np.mean(vals)) if vals else None
            if not all(math.isfinite(v) for v in entry.values() if isinstance(v, float)):
                raise UsageError(
                    f"non-finite teacher loss in episode {episode} (env steps {env_steps}): "
                    f"{entry}; lower --lr or change the seed"
                )
        curve.append(entry)
        last = step >= total_steps
        if last or (config.eval_every and env_steps % config.eval_every == 0):
            seeds = [eval_seed(eval_base, env_steps, i) for i in range(config.eval_episodes)]
            returns, _ = evaluate_teacher(agent, eval_env, seeds)
            mean = float(np.mean(returns))
            evals.append({"env_steps": env_steps, "return": mean, "returns": returns})
            entry["eval_return"] = evals[-1]["return"]
        if on_episode is not None:
            on_episode(entry)
    record = {
        "kind": "state-sac-teacher",
        "domain": config.domain,
        "task": config.task,
        "seed": int(seed),
        "env_steps": step * config.action_repeat,
        "agent_steps": step,
        "action_repeat": config.action_repeat,
        "obs_dim": env.obs_dim,
        "action_dim": env.action_dim,
        "eval_return": evals[-1]["return"],
        "eval_curve": evals,
        "train_curve": curve,
        "deviation": (
            "state-based SAC teacher instead of the paper's pixel DrQ trained 500k env steps: "
            "the PSM needs only the teacher's greedy actions"
        ),
        "config": config.to_dict(),
        "train_seconds": time.perf_counter() - start,
        "threads": torch.get_num_threads(),
    }
    return agent, record


# ---------------------------------------------------------------------------------- files


class Teacher:
    """A saved teacher: ``observe(physics) → state``, ``act(state) → greedy action``.

    Attributes: domain, task, action_repeat, obs_dim, action_dim, record (teacher.json),
    path, digest (SHA-256 of ``teacher.pt``)."""

    def __init__(self, agent: Any, env: StateEnv, record: dict[str, Any], path: Path, digest: str):
        self.agent, self.env, self.record = agent, env, record
        self.domain, self.task = env.domain, env.task_name
        self.action_repeat = env.action_repeat
        self.obs_dim, self.action_dim = env.obs_dim, env.action_dim
        self.path, self.digest = path, digest

    def observe(self, physics: Any) -> np.ndarray:
        return self.env.observe(physics)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy ``tanh(μ)``: float32 (|A|,)."""
        return self.agent.act(obs, greedy=True)


def file_digest(path: Path) -> str:
    """SHA-256 of a file (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_teacher(out: Path, agent: Any, record: dict[str, Any]) -> Path:
    """``OUT/teacher.pt`` (networks + config + sizes) then ``OUT/teacher.json``, atomically."""
    import torch

    from pisces.experiments.runs import atomic_open, write_json_atomic

    out = Path(out)
    payload = {
        "format": TEACHER_FORMAT,
        "config": record["config"],
        "seed": record["seed"],
        "obs_dim": record["obs_dim"],
        "action_dim": record["action_dim"],
        "networks": {k: v.detach().cpu().clone() for k, v in agent.nets.state_dict().items()},
        "eval_return": record["eval_return"],
    }
    path = out / TEACHER_FILE
    with atomic_open(path, "wb") as f:
        torch.save(payload, f)
    write_json_atomic(out / TEACHER_JSON, record | {"sha256": file_digest(path)})
    return path


def load_teacher(folder: str | Path) -> Teacher:
    """The teacher saved in ``folder`` (or the ``teacher.pt`` file itself).

    Raises:
        UsageError: naming the path, if there is no teacher there or the file is not one.
    """
    import json

    import torch

    from pisces.agents.sac_state import StateSACAgent

    path = Path(folder)
    if path.is_dir() or not path.suffix:
        path = path / TEACHER_FILE
    if not path.is_file():
        raise UsageError(
            f"no teacher at {path}: train one with `pisces dmc teacher --domain D --task T "
            f"--out {path.parent}`"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(f"{path} is not a readable teacher file ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != TEACHER_FORMAT:
        raise UsageError(f"{path} is not a pisces DMC teacher (no format {TEACHER_FORMAT!r})")
    config = TeacherConfig(**configs.with_defaults(TeacherConfig, payload["config"]))
    env = StateEnv(config.domain, config.task)
    agent = StateSACAgent(config.sac_config(), env.obs_dim, env.action_dim, seed=payload["seed"])
    agent.nets.load_state_dict(payload["networks"])
    sidecar = path.with_name(TEACHER_JSON)
    record = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    return Teacher(agent, env, record, path, file_digest(path))


def plot_teacher(record: dict[str, Any], path: Path) -> None:
    """Training episode returns and greedy evaluation returns vs env steps (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pisces.experiments.runs import save_figure_atomic

    fig, ax = plt.subplots(figsize=(6, 3.5))
    curve = record["train_curve"]
    ax.plot([e["env_steps"] for e in curve], [e["return"] for e in curve], lw=0.8, label="train")
    ev = record["eval_curve"]
    ax.plot([e["env_steps"] for e in ev], [e["return"] for e in ev], "o-", label="greedy eval")
    ax.set(
        xlabel="env steps",
        ylabel="episode return",
        title=f"state SAC teacher: {record['domain']}-{record['task']}, seed {record['seed']}",
    )
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------- CLI


def teacher_command(args: argparse.Namespace) -> int:
    """``pisces dmc teacher``: see the module docstring."""
    import json

    import torch
    from tqdm import tqdm

    from pisces.experiments.runs import ResultStore, cpu_model, git_commit

    try:
        overrides = configs.collect_overrides(args, TeacherConfig, exclude=("domain", "task"))
        config = TeacherConfig(domain=args.domain, task=args.task, **overrides)
        ResultStore(args.out).check_writable()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)
    done = out / TEACHER_JSON
    if (out / TEACHER_FILE).is_file() and done.is_file():
        old = json.loads(done.read_text())
        why = configs.describe_differences(
            configs.with_defaults(TeacherConfig, old.get("config", {})), config.to_dict()
        )
        if why is None and int(old.get("seed", -1)) == args.seed:
            print(f"teacher in {out} already trained (greedy return {old['eval_return']:.1f})")
            return 0
        raise UsageError(
            f"{out} holds another teacher ({why or 'seed differs'}); one folder holds one "
            "teacher: use another --out"
        )
    torch.set_num_threads(args.threads)
    bar = tqdm(
        total=config.env_steps,
        unit="env step",
        unit_scale=True,
        desc=f"teacher {config.domain}-{config.task}",
        disable=args.no_progress,
        file=sys.stderr,
    )

    def on_episode(entry: dict[str, Any]) -> None:
        bar.update(entry["env_steps"] - bar.n)
        post = {"return": f"{entry['return']:.0f}"}
        if "eval_return" in entry:
            post["eval"] = f"{entry['eval_return']:.0f}"
        bar.set_postfix(post, refresh=False)

    try:
        agent, record = train_teacher(config, args.seed, on_episode=on_episode)
    finally:
        bar.close()
    record |= {"git_commit": git_commit(), "cpu": cpu_model(), "torch": torch.__version__}
    path = save_teacher(out, agent, record)
    try:
        plot_teacher(record, out / "teacher.png")
    except Exception as exc:  # a figure never loses the teacher
        print(f"warning: could not draw teacher.png: {exc}", file=sys.stderr)
    print(
        f"{path}: greedy return {record['eval_return']:.1f} after {record['env_steps']} env steps"
    )
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces dmc teacher``."""
    parser.add_argument("--domain", required=True, help="e.g. cartpole")
    parser.add_argument("--task", required=True, help="e.g. swingup")
    parser.add_argument("--out", type=Path, required=True, help="folder for teacher.pt/.json/.png")
    parser.add_argument("--seed", type=nonnegative_int, default=1, help="run seed (default 1)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    configs.add_config_arguments(parser, TeacherConfig, exclude=("domain", "task"))
    parser.set_defaults(func=teacher_command)
