r"""Imitation training and evaluation on the jumping task (spec §3, §6, §7): the schedule of
one seed, its evaluations and its record; and the seed ensemble's schedule.

:class:`JumpingTrainer` builds the run's data (:mod:`pisces.experiments.jumping.data`), the
network, Adam (ε = 1e-7) and an :class:`~pisces.agents.imitation.ImitationLearner` with the
alignment hook of the config (PSM or π*-bisimulation; CME on the 64-d projection or ℓ2 on the
256-d representation, :func:`pisces.agents.hooks.alignment_term`; none when α = 0), then runs
``cfg.epochs`` epochs at learning rate ``lr₀ · decay^epoch`` (one epoch = 4 steps). Losses are
written into a device buffer and brought to the host every ``log_every`` steps, where a
non-finite value raises :class:`NonFiniteLossError` naming the first bad step.

Evaluation (spec §7): greedy actions on the 56 stored optimal states of each of the 286
tasks (softmax averaged over ``eval_mc_passes`` RandConv draws, one per task and pass),
scored by :func:`pisces.envs.jumping.solved_from_actions`. Every evaluation also records
Figure 3's cross-task **alignment score** of both layers (representation, projection) on its
four training tasks, with the layers' dead units and all-zero states
(:meth:`JumpingTrainer.alignment_scores`): how far the embedding has aligned states by their
distance to the obstacle, and whether it has collapsed, seen over the whole run. It draws no random
number and leaves the network's mode as it was, so it changes nothing else of a run.

Randomness: three generators derived from the run seed
(:class:`~pisces.experiments.seeds.SeedStreams`): initialisation (CPU, so CPU and CUDA runs
start from the same weights), training draws (batches, pairs, RandConv, dropout) and
evaluation (re-seeded from ``(seed, epoch)`` at every evaluation, so the evaluation interval
never changes the training trajectory or a result).

:func:`run` is the benchmark's one ``(config, seed) → record`` entry point: no file, no
progress bar (an ``on_epoch`` callback may draw one), the record stamped with the code and
execution it ran under. The CLI, the process pool (and the sweep and tuning layers) call it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pisces.agents.ensemble import ImitationEnsemble
from pisces.agents.hooks import alignment_term
from pisces.agents.imitation import LOSS_NAMES, ImitationLearner, greedy_actions
from pisces.envs.jumping import ALL_TASKS, EPISODE_LENGTH, solved_from_actions
from pisces.experiments.jumping.config import JumpingConfig
from pisces.experiments.jumping.data import build_data
from pisces.experiments.jumping.records import RED_GREEN, color_counts
from pisces.experiments.runs import atomic_open, git_commit
from pisces.experiments.seeds import SeedStreams
from pisces.networks.jumping import JumpingNetwork


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the (1-based) optimizer step."""


@dataclass
class EvalRecord:
    """One evaluation. ``solved``: (286,) bool of the headline color (white, or red);
    ``by_color``: color → (286,) bool for every color of the run; ``counts``:
    :func:`color_counts`; ``alignment``: :meth:`JumpingTrainer.alignment_scores` (empty in
    the evaluations of a mid-run checkpoint older than it)."""

    epoch: int
    step: int
    solved: np.ndarray
    counts: dict[str, Any]
    seconds: float
    by_color: dict[str, np.ndarray] = field(default_factory=dict)
    alignment: dict[str, float | None] = field(default_factory=dict)


class JumpingTrainer:
    """Owns the modules, optimizer, data and generators of one seed; see :meth:`run`."""

    def __init__(
        self,
        cfg: JumpingConfig,
        seed: int,
        device: torch.device | str = "cpu",
        *,
        eval_chunk: int | None = None,
        eval_prefix: bool = True,
    ) -> None:
        self.cfg = cfg
        self.seed = int(seed)
        self.device = torch.device(device)
        self.streams = SeedStreams.from_seed(self.seed)
        self.data = build_data(cfg, self.seed, self.device, eval_prefix=eval_prefix)
        init_gen = torch.Generator().manual_seed(self.streams.init)
        self.net = JumpingNetwork(
            init_gen,
            in_channels=self.data.train_obs.shape[-1],
            dropout=cfg.dropout,
            layout=cfg.network_layout,
            fast_kernels=cfg.amp_bf16,  # the bf16 fast path; fp32 keeps the reference kernels
        ).to(self.device)
        self.net.train()
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(
            self.net.parameters(), lr=cfg.learning_rate, eps=cfg.adam_eps, fused=fused
        )
        self.generator = torch.Generator(self.device).manual_seed(self.streams.train)
        self.eval_generator = torch.Generator(self.device)
        self.learner = ImitationLearner(
            self.net,
            self.optimizer,
            self.data,
            cfg.imitation_settings(),
            alignment_term(cfg.alignment_spec(), cfg.alpha) if cfg.alpha > 0 else None,
            self.generator,
            trajectory_length=EPISODE_LENGTH,
        )
        self.steps_per_epoch = len(self.data.train_obs) // cfg.batch_size + 1
        self.step = 0
        self.epoch = 0
        self.eval_chunk = eval_chunk or (512 if self.device.type == "cpu" else 8192)
        self._buffer = torch.zeros((cfg.log_every, len(LOSS_NAMES)), device=self.device)
        self._filled = 0
        self.loss_log: list[dict[str, float]] = []
        self.evals: list[EvalRecord] = []
        self.train_seconds = 0.0

    def learning_rate(self, epoch: int) -> float:
        """lr at (0-based) ``epoch``: ``lr₀ · decay^epoch``."""
        return self.cfg.learning_rate * self.cfg.lr_decay**epoch

    def flush(self) -> dict[str, float] | None:
        """Bring the buffered losses to the host (one sync); raise on a non-finite value."""
        if self._filled == 0:
            return None
        vals = self._buffer[: self._filled].cpu().numpy()
        first = self.step - self._filled + 1
        bad = ~np.isfinite(vals).all(axis=1)
        if bad.any():
            at = first + int(np.argmax(bad))
            raise NonFiniteLossError(
                f"non-finite loss at step {at} (epoch {(at - 1) // self.steps_per_epoch + 1}, "
                f"seed {self.seed}, preset {self.cfg.preset}): "
                + ", ".join(
                    f"{k}={v:.4g}" for k, v in zip(LOSS_NAMES, vals[np.argmax(bad)], strict=True)
                )
            )
        record = {"step": self.step, **dict(zip(LOSS_NAMES, vals.mean(0).tolist(), strict=True))}
        self.loss_log.append(record)
        self._filled = 0
        return record

    def record_losses(self, values: torch.Tensor) -> None:
        """Count one optimizer step and buffer its (4,) loss vector (flushed every
        ``log_every`` steps)."""
        self._buffer[self._filled] = values
        self._filled += 1
        self.step += 1
        if self._filled == self.cfg.log_every:
            self.flush()

    def train_epoch(self) -> None:
        """``steps_per_epoch`` optimizer steps at this epoch's learning rate."""
        self.learner.set_learning_rate(self.learning_rate(self.epoch))
        for _ in range(self.steps_per_epoch):
            self.record_losses(self.learner.update())
        self.epoch += 1

    def evaluate(self) -> EvalRecord:
        """Evaluate the current policy on all 286 tasks (seeded from ``(seed, epoch)``)."""
        start = time.perf_counter()
        self.eval_generator.manual_seed(self.streams.eval_seed(self.epoch))
        colors, eval_color = self.data.colors, self.data.eval_color
        jump = greedy_actions(
            self.net,
            self.data.eval_inputs,
            eval_color * len(ALL_TASKS) + self.data.eval_task,  # one draw per (color, task)
            num_groups=len(colors) * len(ALL_TASKS),
            rand_conv=self.cfg.rand_conv,
            passes=self.cfg.eval_mc_passes,
            p_identity=self.cfg.rand_conv_p_identity,
            generator=self.eval_generator,
            chunk=self.eval_chunk,
            amp_bf16=self.cfg.amp_bf16,
            channels_per_frame=self.cfg.rand_conv_channels,
        )
        actions = torch.zeros(
            (len(colors), len(ALL_TASKS), EPISODE_LENGTH), dtype=torch.long, device=jump.device
        )
        actions[eval_color, self.data.eval_task, self.data.eval_time] = jump.long()
        actions_np = actions.cpu().numpy()
        by_color = {
            color: solved_from_actions(actions_np[c], ALL_TASKS[:, 0], color)
            for c, color in enumerate(colors)
        }
        alignment = self.alignment_scores()
        record = EvalRecord(
            epoch=self.epoch,
            step=self.step,
            solved=by_color[colors[0]],
            counts=color_counts(by_color, self.data.split),
            seconds=time.perf_counter() - start,
            by_color=by_color,
            alignment=alignment,
        )
        self.evals.append(record)
        return record

    def alignment_scores(self) -> dict[str, float | None]:
        """Figure 3's alignment score now: ``alignment_score_<layer>``,
        ``phase_agreement_<layer>``, ``zero_states_<layer>`` (how many of the 224 states embed
        as the zero vector: cosine similarity is 0 to everything there) and
        ``dead_units_<layer>`` (units that are 0 on all 224 states) for ``layer`` in
        (representation, projection), from
        :func:`pisces.experiments.jumping.embeddings.alignment_scores` on the 56 optimal states
        of :data:`~pisces.experiments.jumping.embeddings.DEFAULT_TASKS` (obstacle 25, 30, 35,
        40 at floor 15; red obstacles for a colored run), RandConv off, in fp32, no gradient.

        The fraction of cross-task queries (states at or before the jump) whose cosine nearest
        neighbour in the other task is at the same distance to the obstacle: 1 = aligned as
        the PSM asks, chance 1/56, 0 = aligned by time index. The network's train/eval mode is
        restored and no generator is touched, so training continues unchanged.
        """
        from pisces.experiments.jumping.embeddings import (
            DEFAULT_TASKS,
            alignment_scores,
            compute_layers,
            steps_to_jump,
        )

        tasks = np.array(DEFAULT_TASKS)
        was_training = self.net.training
        try:
            layers = compute_layers(self.net, self.cfg, tasks)
        finally:
            self.net.train(was_training)
        k = steps_to_jump(tasks)
        out: dict[str, float | None] = {}
        for layer, emb in layers.items():
            scores = alignment_scores(emb, k)
            out[f"alignment_score_{layer}"] = scores["alignment"]
            out[f"phase_agreement_{layer}"] = scores["phase_agreement"]
            out[f"zero_states_{layer}"] = scores["zero_vectors"]
            out[f"dead_units_{layer}"] = int((emb.reshape(-1, emb.shape[-1]) == 0).all(0).sum())
        return out

    def should_evaluate(self) -> bool:
        every = self.cfg.eval_every
        return self.epoch == self.cfg.epochs or (every > 0 and self.epoch % every == 0)

    @property
    def group_index(self) -> torch.Tensor | None:
        """RandConv draw of each sample of the joint training batch (None without RandConv)."""
        return self.learner.group_index

    # ------------------------------------------------------------------ mid-run checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything that evolves during a run (the data is rebuilt from config and seed):
        network, Adam, the training generator, the schedule position, the loss buffer, the
        loss log, every evaluation and the training time so far."""
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "step": self.step,
            "buffer": self._buffer.clone(),
            "filled": self._filled,
            "loss_log": list(self.loss_log),
            "evals": [dataclasses.asdict(e) for e in self.evals],
            "train_seconds": self.train_seconds,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`: the rest of the run is bit-identical to an
        uninterrupted one on the same machine and thread count."""
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self._buffer.copy_(state["buffer"])
        self._filled = int(state["filled"])
        self.loss_log = list(state["loss_log"])
        self.evals = [EvalRecord(**e) for e in state["evals"]]
        self.train_seconds = float(state["train_seconds"])

    def run(self, on_epoch: Callable[[JumpingTrainer], None] | None = None) -> EvalRecord:
        """Train ``cfg.epochs`` epochs, evaluating on schedule; returns the final evaluation.
        Subnormals are flushed throughout if ``cfg.flush_denormal`` (and not after)."""
        with flush_denormals(self.cfg.flush_denormal):
            while self.epoch < self.cfg.epochs:
                start = time.perf_counter()
                self.train_epoch()
                if self.should_evaluate():
                    self.flush()
                    self.train_seconds += time.perf_counter() - start
                    self.evaluate()
                else:
                    self.train_seconds += time.perf_counter() - start
                if on_epoch is not None:
                    on_epoch(self)
            self.flush()
        return self.evals[-1]

    def result(self) -> dict[str, Any]:
        """JSON-ready record of the run (config, curves, final counts, per-task solved map)."""
        final = self.evals[-1]
        out: dict[str, Any] = {
            "preset": self.cfg.preset,
            "grid": self.cfg.grid,
            "seed": self.seed,
            "epochs": self.epoch,
            "steps": self.step,
            "colors": self.cfg.colors,
            # white: % of the 268 test tasks; colors: RED test % (the paper's headline).
            "test_solved_pct": final.counts["test_solved_pct"],
        }
        if self.cfg.colors:
            for color in RED_GREEN:
                out[f"test_solved_pct_{color}"] = final.counts[f"test_{color}_solved_pct"]
            out["solved_green"] = final.by_color["green"].astype(int).tolist()
        return out | {
            "final": final.counts,
            "solved": final.solved.astype(int).tolist(),
            "split": self.data.split.tolist(),
            "eval_curve": [
                {"epoch": e.epoch, "step": e.step, **e.counts, **e.alignment} for e in self.evals
            ],
            "loss_curve": self.loss_log,
            "train_seconds": self.train_seconds,
            "eval_seconds": sum(e.seconds for e in self.evals),
            "device": str(self.device),
            "precision": ("bf16" if self.cfg.amp_bf16 else "fp32")
            + (", fast kernels" if self.net.encoder.fast_kernels else "")
            + (", denormals flushed" if self.cfg.flush_denormal else ""),
            "config": self.cfg.to_dict(),
        }


class EnsembleTrainer:
    """Train ``len(seeds)`` seeds of one config together (vmapped, for a GPU):
    ``members[i]`` is seed ``seeds[i]`` (its own data, generators, evaluations and record)."""

    def __init__(
        self, cfg: JumpingConfig, seeds: Sequence[int], device: torch.device | str = "cpu"
    ) -> None:
        if len(seeds) < 1:
            raise ValueError("need at least one seed")
        self.cfg = cfg
        self.device = torch.device(device)
        self.members = [JumpingTrainer(cfg, s, self.device) for s in seeds]
        self.ensemble = ImitationEnsemble(
            [m.learner for m in self.members], lr=cfg.learning_rate, eps=cfg.adam_eps
        )
        self.steps_per_epoch = self.members[0].steps_per_epoch
        self.epoch = 0

    def step(self) -> torch.Tensor:
        """One optimizer step of every seed; returns the (S, 4) loss values (on the device)."""
        return self.ensemble.update()

    def sync_members(self) -> None:
        """Copy every seed's stacked parameters into its own network (before evaluation)."""
        self.ensemble.sync()

    def train_epoch(self) -> None:
        self.ensemble.set_learning_rate(self.members[0].learning_rate(self.epoch))
        for _ in range(self.steps_per_epoch):
            values = self.step()
            for i, m in enumerate(self.members):
                m.record_losses(values[i])
        self.epoch += 1
        for m in self.members:
            m.epoch = self.epoch

    def run(self, on_epoch: Callable[[EnsembleTrainer], None] | None = None) -> None:
        """Train ``cfg.epochs`` epochs; evaluate every seed on the per-seed schedule."""
        with flush_denormals(self.cfg.flush_denormal):
            self._run(on_epoch)

    def _run(self, on_epoch: Callable[[EnsembleTrainer], None] | None) -> None:
        while self.epoch < self.cfg.epochs:
            start = time.perf_counter()
            self.train_epoch()
            elapsed = time.perf_counter() - start
            for m in self.members:
                m.train_seconds += elapsed / len(self.members)
            if self.members[0].should_evaluate():
                self.sync_members()
                for m in self.members:
                    m.flush()
                    m.evaluate()
            if on_epoch is not None:
                on_epoch(self)
        self.sync_members()
        for m in self.members:
            m.flush()


def stamp(result: dict[str, Any], wall_seconds: float) -> dict[str, Any]:
    """``result`` with the execution it ran under: commit, torch build, threads, wall time."""
    return result | {
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "wall_seconds": wall_seconds,
    }


@contextlib.contextmanager
def flush_denormals(on: bool) -> Iterator[None]:
    """Flush subnormal floats to zero on this thread's CPU inside the block if ``on`` (torch
    has no getter for the flag: it is set back to off, torch's default, afterwards)."""
    if not on:
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


#: format tag of a mid-run checkpoint file.
CHECKPOINT_FORMAT = "pisces-jumping-midrun-1"


def save_midrun(path: Path, trainer: JumpingTrainer, wall_seconds: float) -> None:
    """The trainer's state (:meth:`JumpingTrainer.state_dict`) with its config, seed, device
    and thread count, written atomically to ``path``."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": trainer.cfg.to_dict(),
        "seed": trainer.seed,
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
        "wall_seconds": wall_seconds,
        "trainer": trainer.state_dict(),
    }
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def _field_defaults() -> dict[str, Any]:
    """Every :class:`JumpingConfig` field that has a default, with it."""
    return {
        f.name: f.default
        for f in dataclasses.fields(JumpingConfig)
        if f.default is not dataclasses.MISSING
    }


def load_midrun(path: Path, trainer: JumpingTrainer) -> float | None:
    """Resume ``trainer`` from the mid-run checkpoint at ``path`` if there is one made by the
    same run (config, seed, device, thread count); returns the wall time it had used, or
    None (no file). A config field the file lacks (added to :class:`JumpingConfig` after it
    was written) counts as its default, the behaviour the file's run had. Raises
    ``ValueError`` naming the file if it belongs to another run."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=trainer.device, weights_only=False)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable checkpoint ({exc}); delete it") from None
    mine = {
        "format": CHECKPOINT_FORMAT,
        "config": trainer.cfg.to_dict(),
        "seed": trainer.seed,
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
    }
    theirs = {k: state.get(k) for k in mine}
    if isinstance(theirs["config"], dict):
        # A field added to JumpingConfig after the file was written ran as its default.
        theirs["config"] = {**_field_defaults(), **theirs["config"]}
    if theirs != mine:
        bad = sorted(k for k in mine if theirs[k] != mine[k])
        raise ValueError(f"{path} was made by another run (differs in {bad}); delete it")
    trainer.load_state_dict(state["trainer"])
    return float(state["wall_seconds"])


def run(
    cfg: JumpingConfig,
    seed: int,
    device: torch.device | str = "cpu",
    *,
    on_epoch: Callable[[JumpingTrainer], None] | None = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 0,
) -> tuple[dict[str, Any], JumpingTrainer]:
    """Train and evaluate one seed: ``(record, trainer)``. Writes no result and draws
    nothing; ``on_epoch(trainer)`` is called after every epoch (e.g. to advance a progress
    bar).

    With ``checkpoint`` (a path) and ``checkpoint_every > 0``, the trainer's whole state is
    saved there every ``checkpoint_every`` epochs, and a run that finds one there made by the
    same run resumes from it: its record equals an uninterrupted run's (the training and
    evaluation numbers bit for bit; ``wall_seconds`` adds up both sessions). The caller
    deletes the file once the record is written.
    """
    start = time.time()
    trainer = JumpingTrainer(cfg, seed, device)
    before = 0.0
    if checkpoint is not None:
        before = load_midrun(checkpoint, trainer) or 0.0

    def epoch_done(t: JumpingTrainer) -> None:
        if checkpoint is not None and checkpoint_every > 0 and t.epoch % checkpoint_every == 0:
            if t.epoch < cfg.epochs:
                save_midrun(checkpoint, t, before + time.time() - start)
        if on_epoch is not None:
            on_epoch(t)

    trainer.run(epoch_done)
    return stamp(trainer.result(), before + time.time() - start), trainer
