r"""Bisimulation transfer (Castro & Precup, 2010) on the jumping task: Table 1's no-learning row.

Paper, Table 1 row "Bisimulation Transfer": 17.9 (0.0) % of test tasks solved on the "wide"
grid, 17.9 (0.0) on "narrow", 30.9 (4.2) on the random grid. Footnote 4: it "assumes oracle
access to dynamics and rewards on unseen environments as well as tabular state space to
compute the exact bisimulation metric (Section C)"; §5.1: "a tabular state-based transfer
approach based on bisimulation metrics which does not do any learning".

Method, per run (seed):

1. **Tabular MDPs from the true dynamics.** Each task (obstacle ``p``, floor ``f``) is turned
   into a finite deterministic MDP by breadth-first search over both actions from the start
   state, stepping the env core (:func:`pisces.envs.jumping.core.step`, vectorized over the
   frontier); no physics is re-implemented here. A state is the env's Markov state
   ``(x, y, airborne, going_up)``; every terminating transition (collision or exit) goes to
   one absorbing terminal state (last index) with reward 0 under both actions.
2. **Optimal actions** at every state of a training task: exact undiscounted backward
   induction ``Q(s, a) = R(s, a) + max_b Q(next(s, a), b)`` (the env's return is the
   undiscounted episode sum); on the optimal trajectory this reproduces the known optimal
   policy (spec §1.5; tested).
3. **Bisimulation metric** between the states of every task and those of every training task:
   :func:`pisces.metrics.deterministic_bisimulation` (Eq. C.1 with deterministic dynamics,
   ``d(s, t) = max_a [|R(s, a) - R(t, a)| + γ d(next(s, a), next(t, a))]``), exact by backward
   induction (the MDPs are acyclic up to the terminal state); each result carries the
   certificate ``||F(d) - d||_inf``. MDPs are deduplicated by their tables (tasks with the
   same obstacle position turn out to give identical tables, whatever the floor height), and
   every (task MDP, training MDP) result is cached, so a run over many random-grid seeds
   computes each pair once.
4. **Transfer.** Each state a task is evaluated on (the 56 states of its stored optimal
   trajectory, as every learner in Table 1 is evaluated, spec §7) takes the optimal action of
   its nearest training state under the metric, over all 18 training tasks; the task is
   solved by :func:`pisces.envs.jumping.solved_from_actions` (only indices ``0..p-14``
   count). Train, validation (empty with ``no_validation``, as the official launch
   commands) and test counts are reported like the trainer's.

Modelling choices the paper leaves open (default first; the alternatives are options):

* ``gamma = 0.99``: the only discount the paper gives for a bisimulation metric on this task
  (Figure G.2 caption, "discount factor γ = 0.99"). The PSM's 0.999 (spec §4.1) is the
  other candidate.
* **Rewards = ENV-G** (google-research/jumping-task, spec §1.4): +1 per step, -1 on the
  collision step, +100 exit bonus (101 on the exit step). Figure G.2's caption says the large
  bisimulation distances come from "the reward at the terminal state [being] set to 100",
  which matches ENV-G, not the Maluuba env's +1 (``exit_bonus=1`` gives that variant).
* **Terminal state**: one absorbing zero-reward state per task for both collision and exit
  (the standard episodic convention; the episode's rewards are on the transitions into it).
* **Candidate source states** (``candidates``): ``"reachable"`` = every non-terminal state
  reachable in a training task (Castro & Precup transfer from the full tabular source MDP;
  footnote 4's "tabular state space"); ``"decision"`` = only those where the two actions
  differ in successor or reward (floor states, except where both actions end the episode
  alike; in mid-air the action is ignored); ``"optimal"`` = only the 56 states of each
  training task's optimal trajectory (the data the learning methods see).
* **Optimal action ties** (states where both actions are optimal: in mid-air, where the
  action is ignored): RIGHT (the lower action index, like ``np.argmax``).
* **Nearest-state ties**: candidates within ``tie_rtol · max(1, d_min)`` of the minimum
  distance are tied; the first one in the order (training task order of
  :func:`pisces.envs.jumping.training_tasks`, then BFS state index) gives the action. Because
  both kinds of tie can matter, every result also reports how many scored states were
  *ambiguous* (the optimal actions of their tied nearest candidates include both actions)
  and the test % if every ambiguous state took the right action
  (``test_solved_pct_ties_optimistic``) or the wrong one (``..._pessimistic``).
* **Queried states**: a task's own optimal-trajectory states (oracle access to the test
  dynamics; the learners are evaluated on exactly these states, spec §7).

Checks of the choices against the paper (numbers from this module; see
``results/jumping/COMMANDS.md``): between the optimal trajectories of obstacles 25 and 45
(Figure G.2's pair) the metric with γ = 0.99 and the +100 bonus spans 0 to 199.99 over
the 56 x 56 states, the scale of Figure G.2a's colour bar (ticks 0-175, none at 200);
γ = 0.999 would reach 248. With either γ and any of the three candidate sets, the tasks
solved are exactly the training tasks and the test tasks that share an obstacle position
with one (their MDPs are identical, distance 0): 6 x 11 - 18 = 48 of 268 = 17.9 % on
"wide" and "narrow", the paper's number. A state of any other obstacle position is far
from every training state (some common action sequence exits in one task and collides in
the other, a reward gap of ~100), and its nearest training state does not jump at the
right step (never, with "reachable": the nearest states are mid-air ones, whose action is
ignored, hence the 100 % optimistic bound; too late, with "decision"). With the Maluuba
exit bonus (+1) instead, the transfer solves every test task of the wide and narrow grids,
so the paper's 17.9 % points to ENV-G's +100.

Cost: enumerating the 286 tasks takes ~0.6 s; one MDP pair ~35 ms (on one core of the
2-core dev machine); a grid's first seed ~4 s of CPU (26 task MDPs x its distinct training
MDPs), a further seed ~0.3 s once its pairs are cached (the random grid needs at most
26 x 26 pairs over all seeds).

CLI (writes ``seed-NNN.json`` per seed, atomically; finished seeds are skipped, and
``summary.json``; the JSON mirrors the trainer's with ``preset = "bisim-transfer"`` and
``epochs = 0`` so ``pisces jumping report`` reads it)::

    pisces jumping bisim-transfer --grid wide --seeds 1 --out results/jumping/bisim-transfer-wide
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.envs.jumping import (
    ALL_TASKS,
    EPISODE_LENGTH,
    GRIDS,
    JUMP,
    NUM_TASKS,
    RIGHT,
    core,
    optimal_actions,
    solved_from_actions,
    task_split,
    training_tasks,
)
from pisces.envs.jumping.data import JUMP_OFFSET
from pisces.envs.jumping.mdp import TaskMDP, enumerate_tasks
from pisces.experiments.jumping.records import split_counts
from pisces.metrics import deterministic_bisimulation

__all__ = [
    "PRESET",
    "CANDIDATES",
    "BisimTransferConfig",
    "BisimTransfer",
    "configure",
]

PRESET = "bisim-transfer"
CANDIDATES = ("reachable", "decision", "optimal")


@dataclass(frozen=True)
class BisimTransferConfig:
    """One bisimulation-transfer run (no learning, no randomness beyond the grid's seed)."""

    grid: str = "wide"
    """Training grid: "wide", "narrow" or "random" (the random grid depends on the seed)."""
    gamma: float = 0.99
    """Discount of the bisimulation metric (Figure G.2 caption)."""
    exit_bonus: float = core.EXIT_BONUS_ENV_G
    """Reward added on the exit step [reward units]: 100 = ENV-G (default), 1 = Maluuba env."""
    candidates: str = "reachable"
    """Source states: "reachable" (all non-terminal training states), "decision" (those
    where the two actions differ in successor or reward, never in mid-air) or "optimal"
    (the 56 states of each training task's optimal trajectory)."""
    no_validation: bool = True
    """Empty validation split, as every official launch command (``--no_validation``)."""
    tie_rtol: float = 1e-9
    """Distances within ``tie_rtol * max(1, d_min)`` of the row minimum count as ties."""
    preset: str = PRESET
    """Name recorded in results (``pisces jumping report`` groups by it)."""
    source: str = (
        "Table 1 'Bisimulation Transfer' (Castro & Precup 2010); gamma from Fig. G.2; "
        "ENV-G rewards (spec §1.4)"
    )
    """Where the settings come from."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> BisimTransferConfig:
        """Return ``self``; ValueError naming the first invalid field (run on construction)."""
        if self.grid not in GRIDS:
            raise ValueError(f"unknown grid {self.grid!r}; choose from {list(GRIDS)}")
        if not 0.0 <= float(self.gamma) < 1.0:
            raise ValueError(f"gamma must lie in [0, 1), got {self.gamma!r}")
        if not np.isfinite(self.exit_bonus):
            raise ValueError(f"exit_bonus must be finite, got {self.exit_bonus!r}")
        if self.candidates not in CANDIDATES:
            raise ValueError(
                f"unknown candidates {self.candidates!r}; choose from {list(CANDIDATES)}"
            )
        if not 0.0 <= float(self.tie_rtol) < 1e-3:
            raise ValueError(f"tie_rtol must lie in [0, 1e-3), got {self.tie_rtol!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-ready)."""
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------- transfer


@dataclass(frozen=True)
class _Nearest:
    """Nearest candidates of the 56 queried states of one task in one training MDP."""

    distance: NDArray[np.float64]  # (56,) minimum distance
    action: NDArray[np.int64]  # (56,) action of the first candidate within the tie tolerance
    tied_actions: NDArray[np.bool_]  # (56, 2) optimal actions of any tied candidate
    residual: float
    levels: int


class BisimTransfer:
    """Runs bisimulation transfer for one configuration and any number of seeds.

    Tabular MDPs and metric reductions are cached (keyed by task and by pairs of MDP
    digests), so later seeds of the random grid reuse earlier work; results do not depend on
    the order in which seeds are run.
    """

    def __init__(self, cfg: BisimTransferConfig) -> None:
        self.cfg = cfg.validate()
        self._tasks: dict[tuple[int, int], TaskMDP] = {}
        self._nearest: dict[tuple[str, str], _Nearest] = {}
        self.metric_seconds = 0.0
        self.enumerate_seconds = 0.0

    def _enumerate(self, tasks: NDArray[np.int64]) -> None:
        """Enumerate (in one batched BFS) the tasks of ``tasks`` not cached yet."""
        missing = sorted({(p, f) for p, f in tasks.tolist()} - set(self._tasks))
        if missing:
            start = time.perf_counter()
            for t in enumerate_tasks(missing, exit_bonus=self.cfg.exit_bonus):
                self._tasks[(t.obstacle_position, t.floor_height)] = t
            self.enumerate_seconds += time.perf_counter() - start

    def task(self, obstacle_position: int, floor_height: int) -> TaskMDP:
        """The (cached) tabular MDP of one task."""
        key = (int(obstacle_position), int(floor_height))
        self._enumerate(np.array([key]))
        return self._tasks[key]

    def _candidates(self, source: TaskMDP) -> NDArray[np.int64]:
        if self.cfg.candidates == "optimal":
            return source.optimal_path
        if self.cfg.candidates == "decision":
            return np.flatnonzero(source.decision_states)
        return np.arange(source.terminal, dtype=np.int64)  # every non-terminal state

    def nearest(self, query: TaskMDP, source: TaskMDP) -> _Nearest:
        """Nearest candidate states of ``source`` for the optimal-path states of ``query``."""
        key = (query.digest, source.digest)
        if key in self._nearest:
            return self._nearest[key]
        start = time.perf_counter()
        res = deterministic_bisimulation(query.mdp, source.mdp, gamma=self.cfg.gamma)
        if not res.converged:  # pragma: no cover - exact solver on acyclic MDPs
            raise RuntimeError(f"bisimulation metric did not converge: {res}")
        cand = self._candidates(source)
        d = res.distance[query.optimal_path][:, cand]  # (56, C)
        dmin = d.min(axis=1)
        tied = d <= (dmin + self.cfg.tie_rtol * np.maximum(1.0, dmin))[:, None]
        actions = source.optimal_policy[cand]  # (C,)
        optimal_sets = source.optimal_action_sets[cand]  # (C, 2)
        first = np.argmax(tied, axis=1)
        tied_actions = np.stack([(tied & optimal_sets[:, a]).any(axis=1) for a in (RIGHT, JUMP)], 1)
        out = _Nearest(dmin, actions[first], tied_actions, res.residual, res.iterations)
        self._nearest[key] = out
        self.metric_seconds += time.perf_counter() - start
        return out

    def transfer(
        self, train: ArrayLike, tasks: ArrayLike = ALL_TASKS
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64], dict[str, Any]]:
        """Transferred actions on the 56 optimal-trajectory states of each task.

        Args:
            train: (n, 2) training tasks (obstacle_position, floor_height), in order (the
                order decides ties, see the module docstring).
            tasks: (N, 2) tasks to evaluate (default: all 286, in ``ALL_TASKS`` order).

        Returns:
            actions int64 (N, 56); ambiguous bool (N, 56) (the optimal actions of the tied
            nearest candidates include both actions); nearest distance float64 (N, 56);
            metric diagnostics.
        """
        train = np.asarray(train, dtype=np.int64).reshape(-1, 2)
        tasks = np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
        self._enumerate(np.concatenate([train, tasks]))
        sources = [self.task(p, f) for p, f in train.tolist()]
        n_tasks = len(tasks)
        actions = np.zeros((n_tasks, EPISODE_LENGTH), dtype=np.int64)
        ambiguous = np.zeros((n_tasks, EPISODE_LENGTH), dtype=bool)
        distance = np.zeros((n_tasks, EPISODE_LENGTH))
        residual, levels = 0.0, 0
        for i, (p, f) in enumerate(tasks.tolist()):
            query = self.task(p, f)
            near = [self.nearest(query, s) for s in sources]
            dist = np.stack([n.distance for n in near])  # (n, 56)
            dmin = dist.min(axis=0)
            tied = dist <= dmin + self.cfg.tie_rtol * np.maximum(1.0, dmin)  # (n, 56)
            first = np.argmax(tied, axis=0)  # first training task attaining the minimum
            acts = np.stack([n.action for n in near])
            actions[i] = acts[first, np.arange(EPISODE_LENGTH)]
            union = (np.stack([n.tied_actions for n in near]) & tied[..., None]).any(axis=0)
            ambiguous[i] = union.all(axis=1)
            distance[i] = dmin
            residual = max([residual] + [n.residual for n in near])
            levels = max([levels] + [n.levels for n in near])
        info = {
            "max_residual": residual,
            "max_levels": levels,
            "pairs_cached": len(self._nearest),
            "unique_mdps": len({t.digest for t in self._tasks.values()}),
        }
        return actions, ambiguous, distance, info

    def run(self, seed: int) -> dict[str, Any]:
        """One seed: the JSON-ready result record (trainer format, ``epochs = 0``)."""
        start = time.perf_counter()
        cfg = self.cfg
        train = training_tasks(cfg.grid, seed)
        split = task_split(cfg.grid, seed, no_validation=cfg.no_validation)
        actions, ambiguous, distance, info = self.transfer(train)
        p = ALL_TASKS[:, 0]
        solved = solved_from_actions(actions, p)
        optimal = optimal_actions(p)
        scored = np.arange(EPISODE_LENGTH) <= (p - JUMP_OFFSET)[:, None]  # §7 prefix
        amb = ambiguous & scored
        best = np.where(amb, optimal, actions)  # every scored tie resolved the right way
        worst = np.where(amb, 1 - optimal, actions)  # ... and the wrong way
        counts = split_counts(solved, split)
        first_jump = np.where((actions == JUMP).any(axis=1), np.argmax(actions == JUMP, 1), -1)
        jump_rows = np.arange(NUM_TASKS), p - JUMP_OFFSET
        return {
            "preset": cfg.preset,
            "grid": cfg.grid,
            "seed": int(seed),
            "epochs": 0,
            "steps": 0,
            "test_solved_pct": counts["test_solved_pct"],
            "test_solved_pct_ties_optimistic": split_counts(solved_from_actions(best, p), split)[
                "test_solved_pct"
            ],
            "test_solved_pct_ties_pessimistic": split_counts(solved_from_actions(worst, p), split)[
                "test_solved_pct"
            ],
            "final": counts,
            "solved": solved.astype(int).tolist(),
            "split": split.tolist(),
            "training_tasks": np.asarray(train).tolist(),
            "first_jump": first_jump.tolist(),
            "ambiguous_scored_states": amb.sum(axis=1).astype(int).tolist(),
            "distance_at_jump_state": distance[jump_rows].tolist(),
            "metric": info,
            "seconds": time.perf_counter() - start,
            "config": cfg.to_dict(),
        }


# ----------------------------------------------------------------------------- CLI


def run(cfg: BisimTransferConfig, seed: int) -> dict[str, Any]:
    """The ``(config, seed) → record`` entry point of the baseline (no file, no output)."""
    from pisces.experiments.runs import git_commit

    result = BisimTransfer(cfg).run(seed)
    return result | {"git_commit": git_commit(), "numpy": np.__version__}


def run_command(args: argparse.Namespace) -> int:
    """``pisces jumping bisim-transfer``: see the module docstring."""
    from pisces.experiments import configs
    from pisces.experiments.jumping.cli import save_solved_map, store_of, write_summary
    from pisces.experiments.runs import ConfigMismatch, CorruptResult, git_commit
    from pisces.experiments.seeds import parse_seeds

    name = "pisces jumping bisim-transfer"
    try:
        seeds = parse_seeds(args.seeds)
        cfg = BisimTransferConfig(
            grid=args.grid,
            gamma=args.gamma,
            exit_bonus=args.exit_bonus,
            candidates=args.candidates,
            no_validation=not args.validation,
        )
        store = store_of(args.out)
        store.check_writable()
    except ValueError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    wanted = cfg.to_dict()
    try:
        todo = store.pending(
            seeds,
            lambda done: configs.describe_differences(done.get("config") or {}, wanted),
            lambda seed, done: print(
                f"seed {seed}: done ({done['test_solved_pct']:.1f}% test), skipped"
            ),
        )
    except (ConfigMismatch, CorruptResult) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    print(f"{cfg.preset} on {cfg.grid}: {cfg.source}; candidates {cfg.candidates}")
    solver = BisimTransfer(cfg)
    commit = git_commit()
    for seed in todo:
        result = solver.run(seed)
        result["git_commit"] = commit
        result["numpy"] = np.__version__
        store.write(result)
        if args.png:
            save_solved_map(store.path(seed).with_suffix(".png"), result)
        c = result["final"]
        print(
            f"seed {seed}: {result['test_solved_pct']:.1f}% of test tasks solved "
            f"({c['test_solved']}/{c['test_total']}; train {c['train_solved']}/"
            f"{c['train_total']}; ties: {result['test_solved_pct_ties_pessimistic']:.1f}-"
            f"{result['test_solved_pct_ties_optimistic']:.1f}%) in {result['seconds']:.1f} s"
        )
    summary = write_summary(out)
    if summary is not None:
        std = summary["std_test_solved_pct"]
        print(
            f"{len(summary['seeds'])} seed(s) in {out}: mean {summary['mean_test_solved_pct']:.1f}"
            f"% (std {'n/a' if std is None else f'{std:.1f}'}), median "
            f"{summary['median_test_solved_pct']:.1f}% of test tasks solved"
        )
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping bisim-transfer``."""
    parser.add_argument("--grid", default="wide", help=f"one of {list(GRIDS)}")
    parser.add_argument("--seeds", default="1", help="e.g. 1-100, 3, 1,4,7 (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--gamma", type=float, default=0.99, help="metric discount (Fig. G.2)")
    parser.add_argument(
        "--exit-bonus",
        type=float,
        default=core.EXIT_BONUS_ENV_G,
        help="exit reward bonus: 100 = google-research env (default), 1 = Maluuba env",
    )
    parser.add_argument(
        "--candidates",
        choices=CANDIDATES,
        default="reachable",
        help="source states: every reachable training state (default), those where the action "
        "matters, or the training tasks' optimal trajectories",
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="use the official validation split (default: none, as the launch commands)",
    )
    parser.add_argument("--png", action="store_true", help="also draw each seed's solved map")
    parser.set_defaults(func=run_command)
