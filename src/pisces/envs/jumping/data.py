"""Optimal trajectories, rollouts, network inputs and the evaluation rule (spec §1.5, §3, §7).

Frame layouts (as the original environment):

* white task: float32 (60, 60), ``frame[row, col]`` with row = height above the bottom
  (upside down when shown with the usual image origin), col = x;
* colored task (red/green): float32 (60, 60, 3), upright (row 0 = top of the screen).

Values are exactly 0, 0.5 or 1. Network inputs stack two frames [previous, current] on the
last axis (the first state's previous frame is zero): (T, 60, 60, 2) for white; for RGB the
two frames are concatenated into 6 channels (prev R, G, B, current R, G, B), not the
official 5-D (T, 60, 60, 3, 2) (spec §9.5).

The optimal policy (unique, spec §1.5): JUMP at step ``p - 14`` and RIGHT otherwise for
white/red; never jump for green. Its episode has 56 actions and 57 frames; return 156 (ENV-G)
for white/red and 254 for green.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.envs.jumping.core import (
    EXIT_BONUS_ENV_G,
    GREEN,
    JUMP,
    RIGHT,
    WHITE,
    JumpingParams,
    color_code,
    make_params,
    render_grey,
    render_rgb,
    reset,
    step,
)
from pisces.envs.jumping.tasks import ALL_TASKS

__all__ = [
    "EPISODE_LENGTH",
    "JUMP_OFFSET",
    "Trajectory",
    "Rollout",
    "BatchRollout",
    "optimal_actions",
    "optimal_trajectory",
    "optimal_trajectories",
    "optimal_inputs",
    "simulate",
    "rollout",
    "render_frames",
    "stack_frames",
    "solved_from_actions",
    "epsilon_suboptimal_actions",
    "epsilon_suboptimal_probabilities",
]

#: number of actions of every successful episode (x goes 0 -> 56).
EPISODE_LENGTH = 56
#: the optimal JUMP is at step index ``obstacle_position - JUMP_OFFSET``.
JUMP_OFFSET = 14


class Trajectory(NamedTuple):
    """One or a batch of optimal trajectories (leading batch shape ``B``, empty for one).

    Attributes:
        observations: float32 (*B, 57, 60, 60) white or (*B, 57, 60, 60, 3) colored; frame t
            is the state at which action t is taken (frame 56 is the final one).
        actions: int64 (*B, 56), 0 = RIGHT, 1 = JUMP.
        rewards: float32 (*B, 56), ENV-G rewards by default (+1 per step, +100 more at exit;
            green: 99 on the bonus step).
    """

    observations: NDArray[np.float32]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float32]


class Rollout(NamedTuple):
    """A single-task rollout, stopped at termination.

    Attributes:
        observations: (T + 1, 60, 60) or (T + 1, 60, 60, 3) float32, T = steps taken.
        actions: (T,) int64, the actions actually consumed (those after termination dropped).
        rewards: (T,) float32.
        terminated: the episode ended (collision for white/red, or success).
        truncated: the optional ``max_steps`` limit was hit first.
        collision: a collision happened (green: the first touch of the block).
        success: the agent left the screen on the right (x >= 56).
    """

    observations: NDArray[np.float32]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float32]
    terminated: bool
    truncated: bool
    collision: bool
    success: bool


class BatchRollout(NamedTuple):
    """State trace of N tasks stepped together (no pixels; see :func:`render_frames`).

    Attributes:
        params: the N tasks.
        x, y: int64 (N, T + 1) agent position before each step and after the last; frozen
            after termination.
        rewards: float32 (N, T), 0 after termination.
        lengths: int64 (N,) number of effective steps (up to and including termination).
        terminated, truncated, collision, success: bool (N,) over the whole episode.
    """

    params: JumpingParams
    x: NDArray[np.int64]
    y: NDArray[np.int64]
    rewards: NDArray[np.float32]
    lengths: NDArray[np.int64]
    terminated: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    collision: NDArray[np.bool_]
    success: NDArray[np.bool_]


def _color_codes(color: str | int | None | ArrayLike, n: int) -> NDArray[np.int64]:
    if color is None or isinstance(color, str | int | np.integer):
        return np.full(n, color_code(color), dtype=np.int64)  # type: ignore[arg-type]
    codes = np.array([color_code(c) for c in np.asarray(color, dtype=object).ravel()])
    return np.broadcast_to(codes.astype(np.int64), (n,)).copy()


def optimal_actions(
    obstacle_position: ArrayLike, color: str | int | None | ArrayLike = None
) -> NDArray[np.int64]:
    """Optimal action sequence(s): int64 (*S, 56) for obstacle positions of shape S.

    White/red: JUMP at index ``p - 14``, RIGHT elsewhere. Green: all RIGHT.
    Positions must be in the env's range [14, 48) (ValueError otherwise).
    """
    p = np.asarray(obstacle_position, dtype=np.int64)
    make_params(p.ravel(), 10)  # validates the range
    codes = _color_codes(color, p.size).reshape(p.shape)
    idx = np.arange(EPISODE_LENGTH)
    jump = (idx == (p - JUMP_OFFSET)[..., None]) & (codes != GREEN)[..., None]
    return np.where(jump, JUMP, RIGHT).astype(np.int64)


def simulate(
    obstacle_position: ArrayLike,
    floor_height: ArrayLike,
    actions: ArrayLike,
    color: str | int | None | ArrayLike = None,
    *,
    exit_bonus: float = EXIT_BONUS_ENV_G,
    max_steps: int | None = None,
) -> BatchRollout:
    """Step N tasks together through (N, T) (or (T,), shared) action sequences.

    Every task is stepped T times; once a task terminates its later actions are ignored
    (state frozen, reward 0). All actions must be in {0, 1} (ValueError otherwise).
    """
    params = make_params(
        obstacle_position, floor_height, color, exit_bonus=exit_bonus, max_steps=max_steps
    )
    n = params.obstacle_position.shape[0]
    a = np.asarray(actions)
    if a.ndim == 1:
        a = np.broadcast_to(a, (n, a.shape[0]))
    if a.ndim != 2 or a.shape[0] != n:
        raise ValueError(f"actions must have shape (T,) or ({n}, T), got {np.shape(actions)}")
    if a.size and not np.isin(a, (RIGHT, JUMP)).all():
        raise ValueError(f"actions must be in {{0 = RIGHT, 1 = JUMP}}, got {np.unique(a)}")
    t_max = a.shape[1]
    state = reset(params)
    xs = np.empty((n, t_max + 1), dtype=np.int64)
    ys = np.empty((n, t_max + 1), dtype=np.int64)
    rewards = np.zeros((n, t_max), dtype=np.float32)
    collision = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    xs[:, 0], ys[:, 0] = state.x, state.y
    for t in range(t_max):
        res = step(params, state, a[:, t])
        state = res.state
        xs[:, t + 1], ys[:, t + 1] = state.x, state.y
        rewards[:, t] = res.reward
        collision |= res.collision
        success |= res.success
    return BatchRollout(
        params, xs, ys, rewards, state.steps, state.terminated, state.truncated, collision, success
    )


def render_frames(
    params: JumpingParams, x: ArrayLike, y: ArrayLike, dtype: np.dtype | type = np.float32
) -> NDArray:
    """Frames of N tasks at agent positions x, y of shape (N, T): (N, T, 60, 60[, 3]).

    White tasks give greyscale frames, red/green tasks RGB (a mixed batch raises ValueError).
    ``dtype`` must be a float dtype (an integer one would truncate the 0.5 obstacle).
    """
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a float dtype, got {dtype!r}")
    p = params.obstacle_position[:, None]
    f = params.floor_height[:, None]
    colored = params.color != WHITE
    if colored.all() and colored.size:
        frames = render_rgb(p, f, x, y, params.color[:, None])
    elif colored.any():
        raise ValueError("cannot render a batch mixing white and colored tasks")
    else:
        frames = render_grey(p, f, x, y)
    return frames.astype(dtype, copy=False)


def rollout(
    obstacle_position: int,
    floor_height: int,
    actions: ArrayLike,
    color: str | int | None = None,
    *,
    exit_bonus: float = EXIT_BONUS_ENV_G,
    max_steps: int | None = None,
) -> Rollout:
    """Roll out one task with an arbitrary action sequence (T,), stopping at termination.

    Actions after the terminating step are ignored (and not returned); a sequence that ends
    before termination gives ``terminated = truncated = False``. Every action must be in
    {0, 1}; task parameters are checked like the original env (obstacle in [14, 48), floor
    in [0, 41)).
    """
    a = np.asarray(actions)
    if a.ndim != 1:
        raise ValueError(f"actions must be 1-D, got shape {a.shape}")
    tr = simulate(
        [obstacle_position],
        [floor_height],
        a[None],
        [color],
        exit_bonus=exit_bonus,
        max_steps=max_steps,
    )
    t = int(tr.lengths[0])
    obs = render_frames(tr.params, tr.x[:, : t + 1], tr.y[:, : t + 1])[0]
    return Rollout(
        observations=obs,
        actions=a[:t].astype(np.int64),
        rewards=tr.rewards[0, :t].copy(),
        terminated=bool(tr.terminated[0]),
        truncated=bool(tr.truncated[0]),
        collision=bool(tr.collision[0]),
        success=bool(tr.success[0]),
    )


def optimal_trajectories(
    tasks: ArrayLike = ALL_TASKS,
    color: str | int | None = None,
    *,
    exit_bonus: float = EXIT_BONUS_ENV_G,
    dtype: np.dtype | type = np.float32,
) -> Trajectory:
    """Optimal trajectories of N tasks at once (all 286 by default), in the order of ``tasks``.

    Args:
        tasks: (N, 2) ints (obstacle_position, floor_height).
        color: None/"white", "red" or "green" for every task.
        dtype: float frame dtype (float32 by default; values are exactly 0, 0.5 and 1).

    Returns:
        :class:`Trajectory` with observations (N, 57, 60, 60[, 3]), actions and rewards (N, 56).
    """
    tasks = np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
    acts = optimal_actions(tasks[:, 0], color)
    tr = simulate(tasks[:, 0], tasks[:, 1], acts, color, exit_bonus=exit_bonus)
    if not tr.success.all() or (tr.lengths != EPISODE_LENGTH).any():  # pragma: no cover
        raise AssertionError("optimal policy failed; the dynamics are broken")
    return Trajectory(render_frames(tr.params, tr.x, tr.y, dtype), acts, tr.rewards)


def optimal_trajectory(
    obstacle_position: int,
    floor_height: int,
    color: str | int | None = None,
    *,
    exit_bonus: float = EXIT_BONUS_ENV_G,
) -> Trajectory:
    """The optimal trajectory of one task: observations (57, 60, 60[, 3]), actions/rewards (56,)."""
    traj = optimal_trajectories([[obstacle_position, floor_height]], color, exit_bonus=exit_bonus)
    return Trajectory(traj.observations[0], traj.actions[0], traj.rewards[0])


def stack_frames(observations: ArrayLike) -> NDArray:
    """Network inputs from consecutive frames: [previous, current] on the last axis.

    Args:
        observations: (*B, T, 60, 60) greyscale or (*B, T, 60, 60, 3) RGB frames (the time axis
            is the one before the image axes; the last axis is 3 for RGB, 60 for greyscale).

    Returns:
        (*B, T, 60, 60, 2) for greyscale, (*B, T, 60, 60, 6) for RGB (channels: previous RGB,
        current RGB); the previous frame of t = 0 is all zeros. Same dtype as the input.
    """
    obs = np.asarray(observations)
    rgb = obs.shape[-1] == 3
    if obs.ndim < (4 if rgb else 3) or obs.shape[-3 if rgb else -2] != 60:
        raise ValueError(f"expected (..., T, 60, 60) or (..., T, 60, 60, 3), got {obs.shape}")
    t_axis = obs.ndim - (4 if rgb else 3)
    prev = np.zeros_like(obs)
    src = [slice(None)] * obs.ndim
    dst = [slice(None)] * obs.ndim
    src[t_axis], dst[t_axis] = slice(None, -1), slice(1, None)
    prev[tuple(dst)] = obs[tuple(src)]
    if rgb:
        return np.concatenate([prev, obs], axis=-1)
    return np.stack([prev, obs], axis=-1)


def optimal_inputs(
    tasks: ArrayLike = ALL_TASKS,
    color: str | int | None = None,
    *,
    dtype: np.dtype | type = np.float32,
) -> NDArray:
    """Network inputs of the 56 states of each optimal trajectory (frames 0..55, stacked).

    Returns (N, 56, 60, 60, 2) for white, (N, 56, 60, 60, 6) for red/green; the labels are
    ``optimal_actions(tasks[:, 0], color)``. 286 white tasks in float32 take ~470 MB; pass
    ``dtype=np.float16`` to halve that (0, 0.5 and 1 are exact in every float dtype).
    """
    traj = optimal_trajectories(tasks, color, dtype=dtype)
    return stack_frames(traj.observations[:, :EPISODE_LENGTH])


def solved_from_actions(
    predicted_actions: ArrayLike,
    obstacle_positions: ArrayLike,
    color: str | int | None | ArrayLike = None,
) -> NDArray[np.bool_]:
    """The official evaluation rule (spec §7), vectorized.

    Args:
        predicted_actions: (..., N, 56) greedy actions (0/1 or bool) of a policy on the 56
            states of each task's stored optimal trajectory.
        obstacle_positions: (N,) obstacle position of each task (broadcast against ``...``).
        color: None/"white"/"red"/"green", or one per task.

    Returns:
        bool (..., N). White/red: solved iff actions[:p-14] are all RIGHT and actions[p-14] is
        JUMP (later actions ignored) -- equivalent to a closed-loop rollout reaching the exit.
        Green: solved iff no JUMP at indices 0..p-5 (stricter than the environment).
    """
    a = np.asarray(predicted_actions).astype(np.int64)
    if a.shape[-1] != EPISODE_LENGTH:
        raise ValueError(f"predicted_actions must end with {EPISODE_LENGTH}, got {a.shape}")
    p = np.asarray(obstacle_positions, dtype=np.int64)
    codes = _color_codes(color, p.size).reshape(p.shape) if p.ndim else color_code(color)
    idx = np.arange(EPISODE_LENGTH)
    green = codes == GREEN
    jump_at = p - JUMP_OFFSET
    # Indices that must be RIGHT: < jump index (white/red), <= p - 5 (green).
    limit = np.where(green, p - 4, jump_at)
    early = ((a == JUMP) & (idx < np.asarray(limit)[..., None])).any(axis=-1)
    at_jump = np.take_along_axis(a, np.broadcast_to(jump_at[..., None], a.shape[:-1] + (1,)), -1)
    return ~early & (green | (at_jump[..., 0] == JUMP))


def epsilon_suboptimal_probabilities(
    obstacle_positions: ArrayLike, epsilon: float, color: str | int | None = None
) -> NDArray[np.float64]:
    """Action probabilities of the epsilon-suboptimal policy on the optimal states (paper §5.4).

    Returns (*S, 56, 2): probability 1 - eps for the optimal action, eps for the other one.
    """
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    opt = optimal_actions(obstacle_positions, color)
    onehot = np.stack([opt == RIGHT, opt == JUMP], axis=-1).astype(np.float64)
    return onehot * (1.0 - epsilon) + (1.0 - onehot) * epsilon


def epsilon_suboptimal_actions(
    obstacle_positions: ArrayLike,
    epsilon: float,
    rng: np.random.Generator,
    color: str | int | None = None,
) -> NDArray[np.int64]:
    """Actions of an epsilon-suboptimal policy on the optimal trajectories' states (paper §5.4).

    The paper's policy takes the optimal action with probability 1 - eps and the suboptimal
    (other) action with probability eps (eps = 0.5: uniform random). Each of the 56 states
    gets an independent draw. Use these as the policy labels of the PSM's action cost on the
    *optimal* trajectories' states (stored observations unchanged): the states are not
    re-rolled (an epsilon policy would usually crash, giving no 56-state trajectory), and the
    agent still imitates the optimal actions (paper: "the agent still imitates the optimal
    actions during training for all eps").

    Returns:
        int64 (*S, 56) for obstacle positions of shape S.
    """
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    opt = optimal_actions(obstacle_positions, color)
    flip = rng.random(opt.shape) < epsilon
    return np.where(flip, 1 - opt, opt).astype(np.int64)
