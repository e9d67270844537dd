"""The jumping task as exact tabular MDPs: breadth-first search over the env's own step.

Each task (obstacle ``p``, floor ``f``) is turned into a finite deterministic MDP by
breadth-first search over both actions from the start state, stepping the env core
(:func:`pisces.envs.jumping.core.step`, vectorized over the frontier); no physics is
re-implemented here. A state is the env's Markov state ``(x, y, airborne, going_up)``; every
terminating transition (collision or exit) goes to one absorbing terminal state (last index)
with reward 0 under both actions. Optimal action values come from exact undiscounted
backward induction ``Q(s, a) = R(s, a) + max_b Q(next(s, a), b)`` (the env's return is the
undiscounted episode sum).

Used by the bisimulation-transfer baseline and by the PSM of ε-suboptimal policies.
Enumerating the 286 tasks takes ~0.6 s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.envs.jumping import core
from pisces.envs.jumping.core import JUMP, RIGHT
from pisces.envs.jumping.data import EPISODE_LENGTH, optimal_actions
from pisces.metrics import DeterministicMDP

__all__ = ["NUM_ACTIONS", "TaskMDP", "enumerate_task", "enumerate_tasks", "optimal_q_values"]

#: number of jumping-task actions (RIGHT, JUMP).
NUM_ACTIONS = 2


@dataclass(frozen=True)
class TaskMDP:
    """The reachable tabular MDP of one white jumping task.

    Attributes:
        obstacle_position, floor_height: the task.
        mdp: next-state and reward tables, (S, 2); state 0 is the start state and state
            ``S - 1`` the absorbing terminal state (reward 0, loops to itself).
        states: int64 (S, 4) env state of each index: x, y, airborne, going_up (terminal: -1).
        q_values: float64 (S, 2) undiscounted optimal action values.
        optimal_path: int64 (56,) state index of frames 0..55 of the optimal trajectory.
    """

    obstacle_position: int
    floor_height: int
    mdp: DeterministicMDP
    states: NDArray[np.int64]
    q_values: NDArray[np.float64]
    optimal_path: NDArray[np.int64]

    @property
    def terminal(self) -> int:
        """Index of the absorbing terminal state (the last one)."""
        return self.mdp.num_states - 1

    @property
    def optimal_action_sets(self) -> NDArray[np.bool_]:
        """bool (S, 2): which actions are optimal (both in mid-air, where the action is
        ignored, and in the terminal state)."""
        return self.q_values == self.q_values.max(axis=1, keepdims=True)

    @property
    def decision_states(self) -> NDArray[np.bool_]:
        """bool (S,): non-terminal states where the actions differ in successor or reward."""
        nxt, r = self.mdp.next_state, self.mdp.rewards
        out = (nxt[:, 0] != nxt[:, 1]) | (r[:, 0] != r[:, 1])
        out[self.terminal] = False
        return out

    @property
    def optimal_policy(self) -> NDArray[np.int64]:
        """Greedy action of every state, ties to RIGHT (the lower index): int64 (S,)."""
        return np.argmax(self.q_values, axis=1).astype(np.int64)

    @property
    def digest(self) -> str:
        """Hash of the tables: equal digests mean identical MDPs (same state numbering)."""
        h = hashlib.sha1(self.mdp.next_state.tobytes())
        h.update(self.mdp.rewards.tobytes())
        return h.hexdigest()


def _state_codes(
    task: NDArray, x: NDArray, y: NDArray, airborne: NDArray, going_up: NDArray
) -> NDArray[np.int64]:
    """One integer per (task, Markov state ``(x, y, airborne, going_up)``); 0 <= x, y < 256."""
    xy = x.astype(np.int64) * 256 + y
    return ((task.astype(np.int64) * 65536 + xy) * 2 + airborne) * 2 + going_up


def optimal_q_values(mdp: DeterministicMDP, terminal: int) -> NDArray[np.float64]:
    """Undiscounted optimal ``Q(s, a) = R(s, a) + V(next(s, a))`` with ``V(terminal) = 0``.

    Iterates ``V <- max_a (R + V[next])`` from zeros; exact once it stops changing, which for
    an MDP whose paths all reach the terminal state happens after the longest path. Raises
    RuntimeError if it has not settled after S + 1 sweeps (a cycle with non-zero reward).
    """
    nxt, r = mdp.next_state, mdp.rewards
    v = np.zeros(mdp.num_states)
    for _ in range(mdp.num_states + 1):
        new = (r + v[nxt]).max(axis=1)
        new[terminal] = 0.0
        if np.array_equal(new, v):
            return r + v[nxt]
        v = new
    raise RuntimeError("optimal_q_values: values did not settle (is there a rewarding cycle?)")


def enumerate_tasks(
    tasks: ArrayLike, *, exit_bonus: float = core.EXIT_BONUS_ENV_G
) -> list[TaskMDP]:
    """Tabular MDPs of N white tasks by one breadth-first search over all of them at once.

    Each BFS round steps the whole frontier (every task's new states) under RIGHT and under
    JUMP with the env core, i.e. two vectorized :func:`~pisces.envs.jumping.core.step` calls
    a round. Within a task, new states are numbered in order of first appearance (frontier
    order, the RIGHT successors before the JUMP ones), so the numbering of a task does not
    depend on the other tasks in the batch. Terminating transitions go to the terminal state,
    appended last.

    Args:
        tasks: (N, 2) ints (obstacle_position, floor_height), in the env's valid range.

    Returns:
        one :class:`TaskMDP` per task, in order.
    """
    tasks = np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
    n = len(tasks)
    start = core.reset(core.make_params(tasks[:, 0], tasks[:, 1], exit_bonus=exit_bonus))
    fr_task = np.arange(n, dtype=np.int64)
    fr_local = np.zeros(n, dtype=np.int64)
    fr_state = np.stack(
        [start.x, start.y, start.airborne.astype(np.int64), start.going_up.astype(np.int64)], 1
    )
    counts = np.ones(n, dtype=np.int64)  # states numbered so far, per task
    known = _state_codes(fr_task, *fr_state.T)  # sorted codes of numbered states ...
    known_local = fr_local.copy()  # ... and their per-task index
    rows: list[tuple[NDArray, ...]] = []  # (task, local, state, next (-1 = terminal), reward)
    while len(fr_task):
        k = len(fr_task)
        params = core.make_params(tasks[fr_task, 0], tasks[fr_task, 1], exit_bonus=exit_bonus)
        false = np.zeros(k, dtype=bool)
        state = core.JumpingState(
            x=fr_state[:, 0].copy(),
            y=fr_state[:, 1].copy(),
            airborne=fr_state[:, 2].astype(bool),
            going_up=fr_state[:, 3].astype(bool),
            already_collided=false.copy(),
            terminated=false.copy(),
            truncated=false.copy(),
            steps=fr_state[:, 0].copy(),  # one step per pixel: steps taken == x
        )
        reward = np.zeros((k, NUM_ACTIONS))
        alive, codes, succ = [], [], []
        for a in (RIGHT, JUMP):
            res = core.step(params, state, a)
            reward[:, a] = res.reward
            s = res.state
            live = np.flatnonzero(~res.terminated)
            cols = [s.x[live], s.y[live], s.airborne[live], s.going_up[live]]
            alive.append(live)
            codes.append(_state_codes(fr_task[live], *cols))
            succ.append(np.stack([c.astype(np.int64) for c in cols], 1))
        all_codes = np.concatenate(codes)
        all_succ = np.concatenate(succ)
        uniq, first = np.unique(all_codes, return_index=True)
        pos = np.searchsorted(known, uniq).clip(max=len(known) - 1)
        new = known[pos] != uniq
        first = np.sort(first[new])  # new states in order of first appearance ...
        new_task = fr_task[np.concatenate(alive)][first]
        order = np.argsort(new_task, kind="stable")  # ... grouped by task
        first, new_task = first[order], new_task[order]
        rank = np.arange(len(first)) - np.searchsorted(new_task, new_task, side="left")
        new_local = counts[new_task] + rank
        counts += np.bincount(new_task, minlength=n)
        new_codes = all_codes[first]
        merged = np.argsort(np.concatenate([known, new_codes]), kind="stable")
        known = np.concatenate([known, new_codes])[merged]
        known_local = np.concatenate([known_local, new_local])[merged]
        nxt = np.full((k, NUM_ACTIONS), -1, dtype=np.int64)
        offset = 0
        for a, live in zip((RIGHT, JUMP), alive, strict=True):
            c = all_codes[offset : offset + len(live)]
            nxt[live, a] = known_local[np.searchsorted(known, c)]
            offset += len(live)
        rows.append((fr_task, fr_local, fr_state, nxt, reward))
        fr_task, fr_local, fr_state = new_task, new_local, all_succ[first]

    task_col, local_col, state_col, next_col, reward_col = (
        np.concatenate(parts) for parts in zip(*rows, strict=True)
    )
    order = np.lexsort((local_col, task_col))
    bounds = np.searchsorted(task_col[order], np.arange(n + 1))
    out = []
    for t in range(n):
        sel = order[bounds[t] : bounds[t + 1]]  # this task's states, by local index
        size = len(sel)
        terminal = size
        next_table = np.full((size + 1, NUM_ACTIONS), terminal, dtype=np.int64)
        next_table[:size] = np.where(next_col[sel] < 0, terminal, next_col[sel])
        reward_table = np.zeros((size + 1, NUM_ACTIONS))
        reward_table[:size] = reward_col[sel]
        states = np.concatenate([state_col[sel], np.full((1, 4), -1, dtype=np.int64)])
        mdp = DeterministicMDP(next_table, reward_table)
        p, f = (int(v) for v in tasks[t])
        path = np.empty(EPISODE_LENGTH, dtype=np.int64)
        s_idx = 0
        for step_idx, a in enumerate(optimal_actions(p)):
            path[step_idx] = s_idx
            s_idx = int(next_table[s_idx, a])
        if s_idx != terminal or (path == terminal).any():  # pragma: no cover - env invariant
            raise AssertionError("the optimal trajectory does not run through the tabular MDP")
        out.append(TaskMDP(p, f, mdp, states, optimal_q_values(mdp, terminal), path))
    return out


def enumerate_task(
    obstacle_position: int, floor_height: int, *, exit_bonus: float = core.EXIT_BONUS_ENV_G
) -> TaskMDP:
    """The tabular MDP of one white task (:func:`enumerate_tasks` with N = 1)."""
    return enumerate_tasks([[obstacle_position, floor_height]], exit_bonus=exit_bonus)[0]
