"""The jumping task as plain, vectorized NumPy functions (spec §1).

Every function works on a batch of ``N`` independent tasks at once: task parameters live in
:class:`JumpingParams`, the dynamic state in :class:`JumpingState` (both tuples of ``(N,)``
arrays), and

* :func:`reset` ``(params) -> state``,
* :func:`step` ``(params, state, action) -> StepResult``,
* :func:`render` ``(params, state) -> observations``

are pure functions (no hidden state, no RNG). The rules reproduce the original environment
(google-research/jumping-task, "ENV-G") pixel for pixel:

* screen 60 x 60; agent 5 wide x 10 high starting at ``x = 0`` on the floor; obstacle 9 x 10
  with its bottom-left corner at ``(obstacle_position, floor_height)``;
* action 0 = RIGHT (``x += 1``), 1 = JUMP (start a jump when on the floor; while airborne the
  action is ignored). A jump moves ``x += 1`` every step and ``y`` by +1 for 16 steps, then by
  -1 for 16 steps (32 steps, 32 px to the right);
* reward +1 per step (the x displacement); a collision (rectangle overlap) replaces it with
  -1 and terminates; success (``x + 5 > 60``, i.e. ``x >= 56``) adds the exit bonus (+100 in
  ENV-G, +1 in the Maluuba version) and terminates;
* colored variant: a RED obstacle behaves exactly like the white task's grey one; a GREEN
  obstacle never terminates the episode on collision, the first collision step gives -1 and,
  if the agent is on the floor at that step, +100 more (i.e. 99); later overlapping steps give
  the normal +1 and are not reported as collisions. An episode ends only on success.

``terminated`` (collision or success) and ``truncated`` (the optional step limit of
``JumpingParams.max_steps``) are kept apart. A terminated (or truncated) task is frozen:
stepping it again is a no-op with reward 0 and its flags stay set, so a batch can be stepped
until all of its tasks are done.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SCREEN_SIZE",
    "AGENT_WIDTH",
    "AGENT_HEIGHT",
    "OBSTACLE_WIDTH",
    "OBSTACLE_HEIGHT",
    "JUMP_HEIGHT",
    "MIN_OBSTACLE_POSITION",
    "MAX_OBSTACLE_POSITION",
    "MIN_FLOOR_HEIGHT",
    "MAX_FLOOR_HEIGHT",
    "RIGHT",
    "JUMP",
    "WHITE",
    "RED",
    "GREEN",
    "COLORS",
    "EXIT_BONUS_ENV_G",
    "EXIT_BONUS_ENV_M",
    "COLLISION_REWARD",
    "GREEN_BONUS",
    "GREY",
    "JumpingParams",
    "JumpingState",
    "StepResult",
    "color_code",
    "make_params",
    "reset",
    "step",
    "render",
    "render_grey",
    "render_rgb",
]

SCREEN_SIZE = 60
AGENT_WIDTH, AGENT_HEIGHT = 5, 10
OBSTACLE_WIDTH, OBSTACLE_HEIGHT = 9, 10
#: the phase of a jump flips to "down" once ``y > floor + JUMP_HEIGHT``.
JUMP_HEIGHT = 15
#: valid obstacle positions are ``[MIN_OBSTACLE_POSITION, MAX_OBSTACLE_POSITION)`` (env check).
MIN_OBSTACLE_POSITION, MAX_OBSTACLE_POSITION = 14, 48
#: valid floor heights are ``[MIN_FLOOR_HEIGHT, MAX_FLOOR_HEIGHT)`` (env check).
MIN_FLOOR_HEIGHT, MAX_FLOOR_HEIGHT = 0, 41

RIGHT, JUMP = 0, 1
#: color codes: WHITE is the greyscale task; RED and GREEN the colored variant.
WHITE, RED, GREEN = 0, 1, 2
COLORS: dict[str, int] = {"white": WHITE, "red": RED, "green": GREEN}

EXIT_BONUS_ENV_G = 100.0  # google-research/jumping-task
EXIT_BONUS_ENV_M = 1.0  # Maluuba/jumping-task (cf18575)
COLLISION_REWARD = -1.0
GREEN_BONUS = 100.0
GREY = 0.5  # obstacle intensity (grey task) / obstacle channel value (colored task)


class JumpingParams(NamedTuple):
    """Static parameters of ``N`` tasks (build with :func:`make_params`, which validates).

    Attributes:
        obstacle_position: (N,) int64, left edge x of the obstacle, in [14, 48).
        floor_height: (N,) int64, y of the floor line and of the obstacle's bottom, in [0, 41).
        color: (N,) int64 color code (WHITE, RED or GREEN).
        exit_bonus: reward added on the success step (100 = ENV-G, 1 = ENV-M).
        max_steps: truncate after this many steps (None: never; the original's 600-step limit
            is unreachable because an episode lasts at most 56 steps).
    """

    obstacle_position: NDArray[np.int64]
    floor_height: NDArray[np.int64]
    color: NDArray[np.int64]
    exit_bonus: float = EXIT_BONUS_ENV_G
    max_steps: int | None = None


class JumpingState(NamedTuple):
    """Dynamic state of ``N`` tasks; every field is an (N,) array.

    Attributes:
        x: agent's left edge. y: agent's bottom (equals the floor height when on the floor).
        airborne: a jump is in progress. going_up: phase of the jump (meaningful if airborne).
        already_collided: the green obstacle has been touched (its bonus can come only once).
        terminated: collision (white/red) or success. truncated: the step limit was reached.
        steps: number of (effective) steps taken.
    """

    x: NDArray[np.int64]
    y: NDArray[np.int64]
    airborne: NDArray[np.bool_]
    going_up: NDArray[np.bool_]
    already_collided: NDArray[np.bool_]
    terminated: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    steps: NDArray[np.int64]


class StepResult(NamedTuple):
    """What :func:`step` returns; every array is (N,).

    Attributes:
        state: the next state.
        reward: float32 reward of the step (0 for tasks that were already done).
        terminated, truncated: bool flags of the next state.
        collision: the step's collision flag as the original ``info['collision']`` (for green:
            only the first collision).
        success: the agent's right edge left the screen on this step.
    """

    state: JumpingState
    reward: NDArray[np.float32]
    terminated: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    collision: NDArray[np.bool_]
    success: NDArray[np.bool_]


def color_code(color: str | int | None) -> int:
    """Color name (``None``/"white", "red", "green", any case) or code -> code; else ValueError."""
    if color is None:
        return WHITE
    if isinstance(color, str):
        key = color.lower()
        if key not in COLORS:
            raise ValueError(f"unknown color {color!r}; choose from {sorted(COLORS)} or None")
        return COLORS[key]
    if isinstance(color, int | np.integer) and int(color) in (WHITE, RED, GREEN):
        return int(color)
    raise ValueError(f"unknown color {color!r}; choose from {sorted(COLORS)} or None")


def _as_int_array(value: ArrayLike, name: str) -> NDArray[np.int64]:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer)
        or (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    ):
        raise ValueError(f"{name} must be integer-valued, got {value!r}")
    return np.atleast_1d(arr.astype(np.int64))


def make_params(
    obstacle_position: ArrayLike,
    floor_height: ArrayLike,
    color: str | int | None | ArrayLike = None,
    *,
    exit_bonus: float = EXIT_BONUS_ENV_G,
    max_steps: int | None = None,
) -> JumpingParams:
    """Validate and broadcast task parameters to (N,) arrays.

    Args:
        obstacle_position: scalar or (N,) ints in [14, 48) (the original env's range).
        floor_height: scalar or (N,) ints in [0, 41).
        color: None/"white", "red", "green" (or a code), or a sequence of those, one per task.
        exit_bonus: success bonus (100 ENV-G default; 1 for the Maluuba env).
        max_steps: optional truncation limit (positive int) or None.

    Raises:
        ValueError: a value outside its range, an unknown color, or incompatible shapes.
    """
    p = _as_int_array(obstacle_position, "obstacle_position")
    f = _as_int_array(floor_height, "floor_height")
    if isinstance(color, str | int | np.integer) or color is None:
        c = np.array([color_code(color)], dtype=np.int64)  # type: ignore[arg-type]
    else:
        c = np.array([color_code(v) for v in np.asarray(color, dtype=object).ravel()])
        c = c.astype(np.int64)
    try:
        p, f, c = np.broadcast_arrays(p, f, c)
    except ValueError as exc:
        raise ValueError(f"incompatible task shapes {p.shape}, {f.shape}, {c.shape}") from exc
    if p.ndim != 1:
        raise ValueError(f"task parameters must be scalars or 1-D, got shape {p.shape}")
    bad = (p < MIN_OBSTACLE_POSITION) | (p >= MAX_OBSTACLE_POSITION)
    if bad.any():
        raise ValueError(
            f"obstacle_position must be in [{MIN_OBSTACLE_POSITION}, {MAX_OBSTACLE_POSITION}), "
            f"got {p[bad].tolist()}"
        )
    bad = (f < MIN_FLOOR_HEIGHT) | (f >= MAX_FLOOR_HEIGHT)
    if bad.any():
        raise ValueError(
            f"floor_height must be in [{MIN_FLOOR_HEIGHT}, {MAX_FLOOR_HEIGHT}), "
            f"got {f[bad].tolist()}"
        )
    if max_steps is not None and int(max_steps) < 1:
        raise ValueError(f"max_steps must be a positive int or None, got {max_steps!r}")
    return JumpingParams(
        p.copy(),
        f.copy(),
        c.copy(),
        float(exit_bonus),
        None if max_steps is None else int(max_steps),
    )


def reset(params: JumpingParams) -> JumpingState:
    """Initial state of every task: agent at ``x = 0`` standing on the floor."""
    n = params.obstacle_position.shape[0]
    false = np.zeros(n, dtype=bool)
    return JumpingState(
        x=np.zeros(n, dtype=np.int64),
        y=params.floor_height.copy(),
        airborne=false.copy(),
        going_up=false.copy(),
        already_collided=false.copy(),
        terminated=false.copy(),
        truncated=false.copy(),
        steps=np.zeros(n, dtype=np.int64),
    )


def _overlap(params: JumpingParams, x: NDArray, y: NDArray) -> NDArray[np.bool_]:
    """Rectangle overlap of agent [x, x+5) x [y, y+10) and obstacle [p, p+9) x [f, f+10)."""
    p, f = params.obstacle_position, params.floor_height
    return (
        (p + OBSTACLE_WIDTH > x)
        & (p < x + AGENT_WIDTH)
        & (f + OBSTACLE_HEIGHT > y)
        & (f < y + AGENT_HEIGHT)
    )


def step(params: JumpingParams, state: JumpingState, action: ArrayLike) -> StepResult:
    """Advance every task by one step.

    Args:
        params: N tasks.
        state: their current state.
        action: scalar or (N,) ints in {0 = RIGHT, 1 = JUMP} (also checked for done tasks).

    Returns:
        :class:`StepResult`; tasks already terminated/truncated are left unchanged (reward 0).

    Raises:
        ValueError: an action outside {0, 1} or of the wrong shape.
    """
    n = params.obstacle_position.shape[0]
    a = np.asarray(action)
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        if not (np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a))):
            raise ValueError(f"actions must be integers in {{0, 1}}, got {action!r}")
    a = np.broadcast_to(a, (n,)) if a.ndim == 0 else a
    if a.shape != (n,):
        raise ValueError(f"expected a scalar action or shape ({n},), got {a.shape}")
    a = a.astype(np.int64)
    if np.any((a != RIGHT) & (a != JUMP)):
        raise ValueError(f"actions must be in {{0 = RIGHT, 1 = JUMP}}, got {np.unique(a)}")

    f = params.floor_height
    active = ~(state.terminated | state.truncated)
    # A new jump starts from the floor; an ongoing jump ignores the action.
    start = active & ~state.airborne & (a == JUMP)
    airborne = state.airborne | start
    going_up = np.where(start, True, state.going_up)
    jumping = active & airborne
    # Jump phase flips to "down" once y > floor + JUMP_HEIGHT (tested before moving).
    going_up = np.where(jumping & (state.y > f + JUMP_HEIGHT), False, going_up)
    dy = np.where(jumping, np.where(going_up, 1, -1), 0)
    y = state.y + dy
    landed = jumping & ~going_up & (y == f)
    airborne = np.where(landed, False, airborne)
    x = state.x + active.astype(np.int64)  # RIGHT and every jump step move 1 px right

    overlap = active & _overlap(params, x, y)
    green = params.color == GREEN
    collision = overlap & ~(green & state.already_collided)  # green: first collision only
    success = active & (SCREEN_SIZE < x + AGENT_WIDTH)

    reward = (x - state.x).astype(np.float32)
    reward = np.where(collision, np.float32(COLLISION_REWARD), reward)
    reward = np.where(~collision & success, reward + np.float32(params.exit_bonus), reward)
    reward = np.where(green & collision & (y == f), reward + np.float32(GREEN_BONUS), reward)
    reward = reward.astype(np.float32)

    terminated = state.terminated | success | (collision & ~green)
    steps = state.steps + active.astype(np.int64)
    truncated = state.truncated.copy()
    if params.max_steps is not None:
        truncated |= active & ~terminated & (steps >= params.max_steps)
    new_state = JumpingState(
        x=x,
        y=y,
        airborne=airborne,
        going_up=going_up,
        already_collided=state.already_collided | collision,
        terminated=terminated,
        truncated=truncated,
        steps=steps,
    )
    return StepResult(new_state, reward, terminated.copy(), truncated.copy(), collision, success)


def _masks(
    lo_x: NDArray, lo_y: NDArray, w: int, h: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Row mask (..., 60): y in [lo_y, lo_y+h); column mask (..., 60): x in [lo_x, lo_x+w)."""
    idx = np.arange(SCREEN_SIZE)
    rows = (idx >= lo_y[..., None]) & (idx < lo_y[..., None] + h)
    cols = (idx >= lo_x[..., None]) & (idx < lo_x[..., None] + w)
    return rows, cols


def _static_layer(
    obstacle_position: NDArray, floor_height: NDArray, obstacle_value: float = GREY
) -> NDArray[np.float32]:
    """Obstacle, then border, then floor, drawn on black; (..., 60, 60) in the original layout."""
    rows, cols = _masks(obstacle_position, floor_height, OBSTACLE_WIDTH, OBSTACLE_HEIGHT)
    img = (rows[..., :, None] & cols[..., None, :]).astype(np.float32) * np.float32(obstacle_value)
    img[..., 0, :] = 1.0
    img[..., -1, :] = 1.0
    img[..., :, 0] = 1.0
    img[..., :, -1] = 1.0
    floor_rows = np.arange(SCREEN_SIZE) == floor_height[..., None]  # (..., 60)
    img = np.where(floor_rows[..., :, None], np.float32(1.0), img)
    return img


def render_grey(
    obstacle_position: ArrayLike, floor_height: ArrayLike, x: ArrayLike, y: ArrayLike
) -> NDArray[np.float32]:
    """Greyscale frames in the original layout, for any broadcastable batch shape ``S``.

    Returns float32 (*S, 60, 60) with ``obs[..., row, col]``, row = y (height above the bottom,
    so the picture is upside down when shown with the usual origin) and col = x. Values:
    background 0, agent 1, obstacle 0.5 (drawn over the agent), border and floor line 1.
    """
    p, f = np.broadcast_arrays(np.asarray(obstacle_position), np.asarray(floor_height))
    static = _static_layer(p.astype(np.int64), f.astype(np.int64))  # per task, not per frame
    x, y, _ = np.broadcast_arrays(np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64), p)
    out = np.empty(x.shape + (SCREEN_SIZE, SCREEN_SIZE), dtype=np.float32)
    out[...] = static
    # Draw the agent under the static layer: only its pixels on background become 1. Its
    # 5 x 10 rectangle is written by flat indices (clipped to the screen), not by full masks.
    rows = y[..., None, None] + np.arange(AGENT_HEIGHT)[:, None]  # (*S, 10, 1)
    cols = x[..., None, None] + np.arange(AGENT_WIDTH)[None, :]  # (*S, 1, 5)
    frame = np.arange(x.size, dtype=np.int64).reshape(x.shape)[..., None, None]
    flat = (frame * SCREEN_SIZE + rows) * SCREEN_SIZE + cols  # (*S, 10, 5)
    valid = (rows >= 0) & (rows < SCREEN_SIZE) & (cols >= 0) & (cols < SCREEN_SIZE)
    flat = flat[np.broadcast_to(valid, flat.shape)]
    view = out.reshape(-1)
    under = view[flat]
    view[flat] = np.where(under == 0, np.float32(1.0), under)
    return out


def render_rgb(
    obstacle_position: ArrayLike,
    floor_height: ArrayLike,
    x: ArrayLike,
    y: ArrayLike,
    color: ArrayLike,
) -> NDArray[np.float32]:
    """Colored-variant frames: float32 (*S, 60, 60, 3), upright (row 0 = top of the screen).

    Agent, border and floor are 1.0 in every channel; the obstacle is 0.5 in channel 0 (RED)
    or channel 1 (GREEN) and 0 elsewhere. This equals the original colored env's
    ``transpose(...)[::-1]`` of the same drawing. ``color`` holds RED/GREEN codes.
    """
    c = np.asarray(color, dtype=np.int64)
    if np.any((c != RED) & (c != GREEN)):
        raise ValueError("render_rgb needs RED or GREEN obstacles")
    # Same drawing as the greyscale frame (obstacle over agent, then border and floor), so
    # every 1.0 pixel is white and every 0.5 pixel is obstacle; flip it upright.
    grey = render_grey(obstacle_position, floor_height, x, y)[..., ::-1, :]
    out = np.empty(grey.shape + (3,), dtype=np.float32)
    if c.size and (c == c.flat[0]).all():  # one color: its channel is the grey frame itself
        channel = 0 if c.flat[0] == RED else 1
        out[..., channel] = grey
        out[..., 1 - channel] = grey == 1.0
        out[..., 2] = out[..., 1 - channel]
        return out
    c = np.broadcast_to(c, grey.shape[:-2])[..., None, None]
    obstacle = grey == np.float32(GREY)
    out[..., 0] = np.where(obstacle & (c == RED), np.float32(GREY), grey == 1.0)
    out[..., 1] = np.where(obstacle & (c == GREEN), np.float32(GREY), grey == 1.0)
    out[..., 2] = grey == 1.0
    return out


def render(params: JumpingParams, state: JumpingState) -> NDArray[np.float32]:
    """Observation of every task: (N, 60, 60) greyscale if all tasks are WHITE, else
    (N, 60, 60, 3) upright RGB if all are RED/GREEN (a mixed batch raises ValueError)."""
    colored = params.color != WHITE
    if colored.all() and colored.size:
        return render_rgb(
            params.obstacle_position, params.floor_height, state.x, state.y, params.color
        )
    if colored.any():
        raise ValueError("cannot render a batch mixing white and colored tasks")
    return render_grey(params.obstacle_position, params.floor_height, state.x, state.y)
