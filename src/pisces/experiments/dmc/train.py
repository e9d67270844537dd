r"""SAC + DrQ (+ PSEs) on a Distracting Control task: the schedule of one seed, its
evaluations, mid-run checkpoints and its record.

:class:`DMCTrainer` owns the training env (``split="train"``: a random training video, start
frame and direction each episode; ``split=None`` without distraction), the agent
(:class:`~pisces.agents.sac_drq.SACDrQAgent`, with the PSE step
:class:`~pisces.agents.pse_dmc.PSEStep` registered as an after-update step for
``method="drq-pse"``, every ``pse_every``-th update), the frame replay and the generators.
Agent step ``i = 0, 1, …`` (DrQ's loop)::

    a_i = uniform[-1, 1]^|A|             if i < seed_steps     (exploration generator)
          tanh(μ + σ ε) of π(·|o_i)      otherwise             (act generator)
    if i ≥ seed_steps and (i - seed_steps) % update_every == 0:
        agent.update(replay.sample(batch_size))                (sample generator)
    o_{i+1}, r_i = env.step(a_i);  replay.add(a_i, r_i, o_{i+1})

Episodes are 1000 env steps (cartpole: 125 agent steps); episode ``k`` resets the env with the
seed ``episode_seed(env stream, k)``, so the env's state at an episode boundary is a function
of ``k`` alone and a checkpoint needs no env internals. Losses are summed on the device and
brought to the host once per episode (:class:`MetricBuffer`), where a non-finite value raises
:class:`NonFiniteLossError` (a :class:`~pisces.errors.UsageError`: one line on the CLI).

Evaluation (:meth:`DMCTrainer.evaluate`), after the episode that reaches each multiple of
``eval_every`` env steps and at the end: greedy ``tanh μ`` for ``eval_episodes`` episodes on
the test videos, episode ``j`` on test video ``j mod 30`` (one env per video, made for the
evaluation and closed after it), and ``eval_train_episodes`` on the two training videos
(``j mod 2``); episode ``j`` of both splits resets with ``eval_seed(eval stream, env steps,
j)``, so the train/test gap is measured on the same initial physics. Evaluations touch no
training generator and no training env: the interval never changes the training numbers.

Randomness: the agent's streams (:func:`~pisces.agents.sac_drq.stream_seed` 0–4: weights,
augmentation, policy draws of the update, PSE projection and pair sampling) and the trainer's
(100–104: env episodes, exploration, acting, replay sampling, evaluation), all from the run
seed. Same seed, device, thread count and machine → the same numbers, physics states and
record (tested), also across a checkpoint/resume.

:func:`run` is the benchmark's ``(config, seed) → record`` entry point (no result file, no
progress bar: an ``on_episode`` callback may draw one; the optional mid-run checkpoint is
the only file it touches).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pisces.agents.hooks import Metrics
from pisces.agents.pse_dmc import PairDataset, PSEStep
from pisces.agents.replay import FrameReplay
from pisces.agents.sac_drq import SACDrQAgent, stream_seed
from pisces.envs.dmc.videos import TEST_VIDEOS, TRAIN_VIDEOS
from pisces.errors import UsageError
from pisces.experiments.dmc.config import DMCConfig
from pisces.experiments.runs import atomic_open, cpu_model, git_commit
from pisces.experiments.seeds import derive_seeds

#: the trainer's stream numbers (the agent uses 0–4).
STREAM_ENV, STREAM_EXPLORE, STREAM_ACT, STREAM_SAMPLE, STREAM_EVAL = range(100, 105)
#: format tag of a mid-run checkpoint.
CHECKPOINT_FORMAT = "pisces-dmc-midrun-1"
#: frame of one observation: RGB 84 × 84 (spec dcs §1).
FRAME_SHAPE = (3, 84, 84)


class NonFiniteLossError(UsageError):
    """A loss became NaN or infinite; the message names the episode, env steps and loss."""


def episode_seed(base: int, episode: int) -> int:
    """Reset seed of training episode ``episode``."""
    return derive_seeds([int(base), int(episode)], 1)[0]


def eval_seed(base: int, env_steps: int, index: int) -> int:
    """Reset seed of evaluation episode ``index`` of the evaluation at ``env_steps``."""
    return derive_seeds([int(base), int(env_steps), int(index)], 1)[0]


class EveryK:
    """Run an after-update step on every ``every``-th call (calls 0, k, 2k, …); ``{}``
    otherwise. Its state is the call counter and the wrapped step's state."""

    def __init__(self, step: Any, every: int) -> None:
        self.step, self.every, self.calls = step, int(every), 0

    @property
    def runs(self) -> int:
        """Times the wrapped step has run: ``ceil(calls / every)``."""
        return -(-self.calls // self.every)

    def __call__(self) -> Metrics:
        run = self.calls % self.every == 0
        self.calls += 1
        return self.step() if run else {}

    def state_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "step": self.step.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.calls = int(state["calls"])
        self.step.load_state_dict(state["step"])


class MetricBuffer:
    """Sums of named 0-d metric tensors on the device, brought to the host by :meth:`flush`
    (one transfer for all names): the per-name means since the last flush."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, metrics: Metrics) -> None:
        for k, v in metrics.items():
            v = v.detach().float()
            self.sums[k] = v if k not in self.sums else self.sums[k] + v
            self.counts[k] = self.counts.get(k, 0) + 1

    def flush(self) -> dict[str, float]:
        if not self.sums:
            return {}
        names = list(self.sums)
        values = torch.stack([self.sums[k] for k in names]).cpu().tolist()
        out = {k: v / self.counts[k] for k, v in zip(names, values, strict=True)}
        self.sums.clear()
        self.counts.clear()
        return out


def pair_dataset(
    data: dict[str, np.ndarray], info: dict[str, Any], config: DMCConfig, device: str
) -> PairDataset:
    """The :class:`PairDataset` of a pairs file for this run (PSM recomputed with
    ``config.pse_gamma``). Raises :class:`UsageError` naming the file if it was made for
    another task or its episodes do not have the task's length."""
    where = info.get("path", "the pair data")
    task = f"{config.domain}-{config.task}"
    theirs = f"{data['domain']}-{data['task']}" if "domain" in data else "?"
    if theirs != task:
        raise UsageError(f"{where} holds pairs of {theirs}, not {task}")
    frames = data["frames"]
    t = config.episode_steps
    if frames.ndim != 6 or frames.shape[1:3] != (2, t) or frames.shape[3:] != FRAME_SHAPE:
        raise UsageError(
            f"{where}: frames {frames.shape}, expected (P, 2, {t}, 3, 84, 84) for {task}"
        )
    return PairDataset.build(frames, data["actions"], gamma=config.pse_gamma, device=device)


class DMCTrainer:
    """Owns the env, agent, replay and generators of one seed; see the module docstring.

    Args:
        config: the run's :class:`DMCConfig`.
        seed: the run seed.
        device: where the agent, the replay and the pairs live.
        pairs: the PSE data (required for ``method="drq-pse"``, refused otherwise).
        video_root: a DAVIS 2017 folder, or None for the offline substitute videos.
    """

    def __init__(
        self,
        config: DMCConfig,
        seed: int,
        device: str = "cpu",
        *,
        pairs: PairDataset | None = None,
        video_root: str | Path | None = None,
    ) -> None:
        from pisces.envs.dmc import make

        c = self.config = config
        self.seed = int(seed)
        self.device = torch.device(device)
        self.video_root = video_root
        if c.method == "drq-pse" and pairs is None:
            raise UsageError(f"preset {c.preset} (drq-pse) needs pair data: pass --pairs FILE")
        if c.method == "drq" and pairs is not None:
            raise UsageError(f"preset {c.preset} (drq) takes no pair data: drop --pairs")
        split = "train" if c.distraction else None
        root = video_root if c.distraction else None
        self.env = make(c.domain, c.task, split=split, video_root=root)
        self.action_dim = int(self.env.action_space.shape[0])
        self.agent = SACDrQAgent(c.agent_config(), self.action_dim, seed=self.seed, device=device)
        self.pse: PSEStep | None = None
        if pairs is not None:
            self.pse = PSEStep(self.agent, pairs, c.pse_config(), seed=self.seed)
            self.agent.add_step("pse", EveryK(self.pse, c.pse_every))
        self.total_steps = c.agent_steps
        episodes = self.total_steps // c.episode_steps
        # Never more slots than the run writes: the same sampling, less memory.
        capacity = min(c.replay_capacity, self.total_steps + episodes)
        self.replay = FrameReplay(
            capacity, self.action_dim, frame_shape=FRAME_SHAPE, frame_stack=3, device=self.device
        )
        self.explore = np.random.default_rng(stream_seed(self.seed, STREAM_EXPLORE))
        self.act_gen = torch.Generator(self.device).manual_seed(stream_seed(self.seed, STREAM_ACT))
        self.sample_gen = torch.Generator(self.device).manual_seed(
            stream_seed(self.seed, STREAM_SAMPLE)
        )
        self.env_base = stream_seed(self.seed, STREAM_ENV)
        self.eval_base = stream_seed(self.seed, STREAM_EVAL)
        self.step = 0
        self.episode = 0
        self._episode: dict[str, Any] = {}
        self.buffer = MetricBuffer()
        self.train_curve: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.train_seconds = 0.0
        self.eval_seconds = 0.0

    # ------------------------------------------------------------------ schedule
    @property
    def env_steps(self) -> int:
        return self.step * self.config.action_repeat

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    def begin_episode(self) -> np.ndarray:
        """Reset the env for episode ``self.episode`` (its own seed) and start it in the
        replay; returns the first observation."""
        obs, _ = self.env.reset(seed=episode_seed(self.env_base, self.episode))
        self.replay.start_episode(obs)
        self._episode = {"return": 0.0, "updates": 0, "start": time.perf_counter()}
        return obs

    def agent_step(self, obs: np.ndarray) -> tuple[np.ndarray, bool]:
        """One agent step of the loop in the module docstring: ``(next obs, episode over)``."""
        c, i = self.config, self.step
        if i < c.seed_steps:
            action = self.explore.uniform(-1.0, 1.0, self.action_dim).astype(np.float32)
        else:
            action = self.agent.act(obs, greedy=False, generator=self.act_gen).cpu().numpy()
        if i >= c.seed_steps and (i - c.seed_steps) % c.update_every == 0:
            batch = self.replay.sample(c.batch_size, self.sample_gen)
            self.buffer.add(self.agent.update(batch))
            self._episode["updates"] += 1
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self.replay.add(action, reward, obs, terminated, truncated)
        self._episode["return"] += float(reward)
        self.step += 1
        return obs, bool(terminated or truncated)

    def end_episode(self) -> dict[str, Any]:
        """Close the episode: flush the losses (raise on a non-finite one), append and
        return its curve entry."""
        c = self.config
        self.episode += 1
        losses = self.buffer.flush()
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise NonFiniteLossError(
                f"non-finite loss in episode {self.episode} (env steps up to {self.env_steps}, "
                f"seed {self.seed}, preset {c.preset}): "
                + ", ".join(f"{k}={v}" for k, v in bad.items())
                + "; lower --lr or --pse-weight, or use another seed"
            )
        seconds = time.perf_counter() - self._episode["start"]
        self.train_seconds += seconds
        entry = {
            "episode": self.episode,
            "env_steps": self.env_steps,
            "return": self._episode["return"],
            "updates": self._episode["updates"],
            "seconds": seconds,
            **losses,
        }
        self.train_curve.append(entry)
        return entry

    def train_episode(self) -> dict[str, Any]:
        """One training episode; its curve entry."""
        obs, done = self.begin_episode(), False
        while not done:
            obs, done = self.agent_step(obs)
        return self.end_episode()

    def should_evaluate(self) -> bool:
        every = self.config.eval_every
        return self.done or (every > 0 and self.env_steps % every == 0)

    def greedy_return(self, env: Any, seed: int) -> float:
        """Return of one greedy episode of the current policy in ``env``."""
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            action = self.agent.act(obs, greedy=True).cpu().numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        return total

    def _split_returns(self, split: str | None, videos: int, episodes: int) -> list[float]:
        """Returns of ``episodes`` greedy episodes, episode j on video ``j mod videos``."""
        from pisces.envs.dmc import make

        c, returns = self.config, [0.0] * episodes
        root = self.video_root if split is not None else None
        for v in range(min(videos, episodes)):
            video = None if split is None else v
            env = make(c.domain, c.task, split=split, video=video, video_root=root)
            try:
                for j in range(v, episodes, videos):
                    returns[j] = self.greedy_return(
                        env, eval_seed(self.eval_base, self.env_steps, j)
                    )
            finally:
                env.close()
        return returns

    def evaluate(self) -> dict[str, Any]:
        """Greedy returns on the test videos (or undistracted) and the training videos."""
        c = self.config
        start = time.perf_counter()
        if c.distraction:
            test = self._split_returns("test", len(TEST_VIDEOS), c.eval_episodes)
            train = self._split_returns("train", len(TRAIN_VIDEOS), c.eval_train_episodes)
        else:
            test, train = self._split_returns(None, 1, c.eval_episodes), []
        seconds = time.perf_counter() - start
        self.eval_seconds += seconds
        record = {
            "env_steps": self.env_steps,
            "episode": self.episode,
            "test_return": float(np.mean(test)),
            "test_returns": test,
            "train_return": float(np.mean(train)) if train else None,
            "train_returns": train,
            "seconds": seconds,
        }
        self.evals.append(record)
        return record

    def run(self, on_episode: Callable[[DMCTrainer, dict[str, Any]], None] | None = None) -> None:
        """Train to ``env_steps``, evaluating on schedule; ``on_episode(trainer, entry)``
        after each episode, ``entry`` being its curve entry with the evaluation under
        ``"eval"`` if one followed it."""
        while not self.done:
            entry = self.train_episode()
            if self.should_evaluate():
                entry = {**entry, "eval": self.evaluate()}  # the curve keeps its own entry
            if on_episode is not None:
                on_episode(self, entry)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """What evolves in a run (the env is reseeded per episode, so it has no state at an
        episode boundary): agent (networks, optimizers, generators, counter, PSE step),
        replay, the exploration / act / sample generators, the schedule position, curves,
        evaluations, timings."""
        return {
            "agent": self.agent.state_dict(),
            "replay": self.replay.state_dict(),
            "explore": self.explore.bit_generator.state,
            "act_gen": self.act_gen.get_state(),
            "sample_gen": self.sample_gen.get_state(),
            "step": self.step,
            "episode": self.episode,
            "train_curve": list(self.train_curve),
            "evals": list(self.evals),
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`, bit-identically on the same machine."""
        self.agent.load_state_dict(state["agent"])
        self.replay.load_state_dict(state["replay"])
        self.explore.bit_generator.state = state["explore"]
        self.act_gen.set_state(state["act_gen"])
        self.sample_gen.set_state(state["sample_gen"])
        self.step, self.episode = int(state["step"]), int(state["episode"])
        self.train_curve = list(state["train_curve"])
        self.evals = list(state["evals"])
        self.train_seconds = float(state["train_seconds"])
        self.eval_seconds = float(state["eval_seconds"])

    def close(self) -> None:
        self.env.close()

    # ------------------------------------------------------------------ record
    def result(self) -> dict[str, Any]:
        """The JSON-ready record of the run (without the execution stamp)."""
        c = self.config
        final = self.evals[-1]
        train = final["train_return"]
        return {
            "preset": c.preset,
            "method": c.method,
            "domain": c.domain,
            "task": c.task,
            "seed": self.seed,
            "distraction": c.distraction,
            "env_steps": self.env_steps,
            "agent_steps": self.step,
            "episodes": self.episode,
            "updates": self.agent.num_updates,
            "pse_steps": None if self.pse is None else self.agent.steps["pse"].runs,
            "action_repeat": c.action_repeat,
            "eval_return": final["test_return"],
            "eval_return_train": train,
            "generalization_gap": None if train is None else train - final["test_return"],
            "eval_split": "test videos (30, episode j on video j mod 30)"
            if c.distraction
            else "no distraction",
            "eval_episodes": c.eval_episodes,
            "eval_curve": self.evals,
            "train_curve": self.train_curve,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
            "device": str(self.device),
            "precision": c.precision,
            "videos": "substitute" if self.video_root is None else str(self.video_root),
            "config": c.to_dict(),
        }


def identity(trainer: DMCTrainer, pairs_digest: str | None) -> dict[str, Any]:
    """What a mid-run checkpoint must match to be resumed."""
    return {
        "format": CHECKPOINT_FORMAT,
        "config": trainer.config.to_dict(),
        "seed": trainer.seed,
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
        "pairs": pairs_digest,
        "videos": None if trainer.video_root is None else str(trainer.video_root),
    }


def save_midrun(path: Path, trainer: DMCTrainer, wall: float, pairs_digest: str | None) -> None:
    """The trainer's state with its identity and wall time so far, written atomically."""
    state = identity(trainer, pairs_digest) | {"wall": wall, "trainer": trainer.state_dict()}
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def load_midrun(path: Path, trainer: DMCTrainer, pairs_digest: str | None) -> float | None:
    """Resume ``trainer`` from ``path`` if it holds a checkpoint of the same run; returns
    the wall time it had used, or None (no file). Raises :class:`UsageError` naming the
    file if it belongs to another run or cannot be read."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=trainer.device, weights_only=False)
    except Exception as exc:
        raise UsageError(f"{path}: not a readable checkpoint ({exc}); delete it") from None
    mine = identity(trainer, pairs_digest)
    theirs = {k: state.get(k) for k in mine}
    if theirs != mine:
        bad = sorted(k for k in mine if theirs[k] != mine[k])
        raise UsageError(f"{path} was made by another run (differs in {bad}); delete it")
    trainer.load_state_dict(state["trainer"])
    return float(state["wall"])


def stamp(result: dict[str, Any], wall: float) -> dict[str, Any]:
    """``result`` with the execution it ran under."""
    return result | {
        "git_commit": git_commit(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "wall_seconds": wall,
    }


def run(
    config: DMCConfig,
    seed: int,
    *,
    device: str = "cpu",
    pairs: PairDataset | None = None,
    pairs_info: dict[str, Any] | None = None,
    video_root: str | Path | None = None,
    on_episode: Callable[[DMCTrainer, dict[str, Any]], None] | None = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 0,
) -> dict[str, Any]:
    """Train and evaluate one seed; returns its record (writes no result).

    With ``checkpoint`` and ``checkpoint_every > 0`` (env steps), the trainer's state is saved
    there at the first episode boundary at or after every multiple of ``checkpoint_every``
    (not after the last episode), and a run that finds a checkpoint of the same run there
    (config, seed, device, threads, pair data, videos) resumes from it: its record equals an
    uninterrupted run's (training and evaluation numbers bit for bit; the wall time adds up
    both sessions). The caller deletes the file once the record is written.
    """
    start = time.time()
    digest = None if pairs_info is None else pairs_info.get("sha256")
    trainer = DMCTrainer(config, seed, device, pairs=pairs, video_root=video_root)
    try:
        before = 0.0
        if checkpoint is not None:
            before = load_midrun(checkpoint, trainer, digest) or 0.0
        last_saved = trainer.env_steps

        def episode_done(t: DMCTrainer, entry: dict[str, Any]) -> None:
            nonlocal last_saved
            if checkpoint is not None and checkpoint_every > 0 and not t.done:
                if t.env_steps // checkpoint_every > last_saved // checkpoint_every:
                    save_midrun(checkpoint, t, before + time.time() - start, digest)
                    last_saved = t.env_steps
            if on_episode is not None:
                on_episode(t, entry)

        trainer.run(episode_done)
        record = trainer.result()
    finally:
        trainer.close()
    record["pairs"] = None if pairs_info is None else _pairs_summary(pairs_info)
    return stamp(record, before + time.time() - start)


def _pairs_summary(info: dict[str, Any]) -> dict[str, Any]:
    """The provenance of the PSE data kept in a record (no arrays)."""
    keys = ("path", "sha256", "pairs", "states_per_episode", "preset", "config", "teacher")
    return {k: info.get(k) for k in keys}


__all__ = [
    "DMCTrainer",
    "EveryK",
    "MetricBuffer",
    "NonFiniteLossError",
    "pair_dataset",
    "run",
]
