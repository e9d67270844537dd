"""Gymnasium environments over the functional core: ``pisces/JumpingTask-v0`` (greyscale) and
``pisces/JumpingColorsTask-v0`` (red/green obstacle, RGB).

Observations are exactly the original env's: float32 (60, 60) in the upside-down layout for
the white task, float32 (60, 60, 3) upright for the colored one. The task is set by
constructor kwargs (``obstacle_position``, ``floor_height``, ``color``) or per episode by
``reset(options={...})`` with the same keys; a key that is given to neither is sampled with
the env's seeded ``np_random`` as the original default ``reset``: obstacle from
{20, 30, 40}, floor from {10, 20}, color from {red, green}. Registration adds the original's
``TimeLimit(600)`` (unreachable: episodes last at most 56 steps).

``render_mode="rgb_array"`` returns an upright uint8 (60 * scale, 60 * scale, 3) picture.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from pisces.envs.jumping.core import (
    EXIT_BONUS_ENV_G,
    GREEN,
    RED,
    SCREEN_SIZE,
    WHITE,
    JumpingParams,
    JumpingState,
    color_code,
    make_params,
    render,
    reset,
    step,
)

__all__ = ["JumpingTaskEnv", "JumpingColorsTaskEnv", "register_envs", "ENV_IDS", "to_rgb_image"]

ENV_IDS = ("pisces/JumpingTask-v0", "pisces/JumpingColorsTask-v0")
#: the original default reset's obstacle positions and floor heights (Tachet des Combes 2018).
DEFAULT_OBSTACLE_POSITIONS = (20, 30, 40)
DEFAULT_FLOOR_HEIGHTS = (10, 20)


def to_rgb_image(observation: NDArray[np.floating], scale: int = 4) -> NDArray[np.uint8]:
    """Human-viewable picture of one observation: upright uint8 (60 s, 60 s, 3).

    Greyscale (60, 60) frames (row = height) are flipped upright and repeated on 3 channels;
    RGB (60, 60, 3) frames are already upright. Values are scaled from [0, 1] to [0, 255].
    """
    obs = np.asarray(observation)
    if obs.shape == (SCREEN_SIZE, SCREEN_SIZE):
        obs = np.repeat(obs[::-1, :, None], 3, axis=-1)
    elif obs.shape != (SCREEN_SIZE, SCREEN_SIZE, 3):
        raise ValueError(f"expected a (60, 60) or (60, 60, 3) frame, got {obs.shape}")
    img = np.round(np.clip(obs, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)


class JumpingTaskEnv(gym.Env[NDArray[np.float32], np.int64]):
    """The white (greyscale) jumping task; see the module docstring for options."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}
    _colored = False

    def __init__(
        self,
        obstacle_position: int | None = None,
        floor_height: int | None = None,
        color: str | None = None,
        *,
        render_mode: str | None = None,
        exit_bonus: float = EXIT_BONUS_ENV_G,
        render_scale: int = 4,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; use 'rgb_array' or None")
        self.render_mode = render_mode
        self._render_scale = int(render_scale)
        self._exit_bonus = float(exit_bonus)
        self._task: dict[str, Any] = {}
        self._check_task(obstacle_position, floor_height, color)
        self._task = {
            "obstacle_position": obstacle_position,
            "floor_height": floor_height,
            "color": color,
        }
        shape = (SCREEN_SIZE, SCREEN_SIZE, 3) if self._colored else (SCREEN_SIZE, SCREEN_SIZE)
        self.observation_space = spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self._params: JumpingParams | None = None
        self._state: JumpingState | None = None

    def _check_color(self, color: str | int | None) -> int | None:
        if color is None:
            return None
        code = color_code(color)
        if self._colored and code == WHITE:
            raise ValueError("the colors env takes color 'red' or 'green'")
        if not self._colored and code != WHITE:
            raise ValueError("use pisces/JumpingColorsTask-v0 for red/green obstacles")
        return code

    def _check_task(self, p: int | None, f: int | None, color: str | int | None) -> None:
        self._check_color(color)
        make_params(20 if p is None else p, 10 if f is None else f)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start an episode; ``options`` may set obstacle_position, floor_height, color."""
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"obstacle_position", "floor_height", "color"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}")
        task = {k: options.get(k, v) for k, v in self._task.items()}
        p = task["obstacle_position"]
        f = task["floor_height"]
        color = self._check_color(task["color"])
        if p is None:
            p = int(self.np_random.choice(DEFAULT_OBSTACLE_POSITIONS))
        if f is None:
            f = int(self.np_random.choice(DEFAULT_FLOOR_HEIGHTS))
        if color is None:
            color = int(self.np_random.choice([RED, GREEN])) if self._colored else WHITE
        self._params = make_params(p, f, color, exit_bonus=self._exit_bonus)
        self._state = reset(self._params)
        return self._observation(), self._info(collision=False)

    def step(
        self, action: int | np.integer
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """One step; ``info['collision']`` as the original env. Raises on actions not in {0,1}."""
        if self._params is None or self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._state.terminated[0] or self._state.truncated[0]:
            raise RuntimeError("the episode is over; call reset()")
        a = np.asarray(action)
        if a.shape != () or not np.issubdtype(a.dtype, np.integer) or int(a) not in (0, 1):
            raise ValueError(f"action must be 0 (RIGHT) or 1 (JUMP), got {action!r}")
        res = step(self._params, self._state, int(action))
        self._state = res.state
        return (
            self._observation(),
            float(res.reward[0]),
            bool(res.terminated[0]),
            bool(res.truncated[0]),
            self._info(collision=bool(res.collision[0]), success=bool(res.success[0])),
        )

    def render(self) -> NDArray[np.uint8] | None:
        """Upright uint8 RGB picture (60 * render_scale square) in "rgb_array" mode."""
        if self.render_mode is None:
            return None
        if self._params is None or self._state is None:
            raise RuntimeError("call reset() before render()")
        return to_rgb_image(self._observation(), self._render_scale)

    def _observation(self) -> NDArray[np.float32]:
        assert self._params is not None and self._state is not None
        return render(self._params, self._state)[0]

    def _info(self, collision: bool, success: bool = False) -> dict[str, Any]:
        assert self._params is not None and self._state is not None
        return {
            "collision": collision,
            "success": success,
            "obstacle_position": int(self._params.obstacle_position[0]),
            "floor_height": int(self._params.floor_height[0]),
            "color": ("white", "red", "green")[int(self._params.color[0])],
            "agent_x": int(self._state.x[0]),
            "agent_y": int(self._state.y[0]),
        }


class JumpingColorsTaskEnv(JumpingTaskEnv):
    """The colored jumping task: RGB observations, a red (jump it) or green (run into it)
    obstacle; ``color`` in {"red", "green"} (None: sampled per reset)."""

    _colored = True


def register_envs() -> None:
    """Register both ids with Gymnasium (idempotent)."""
    for env_id, cls in zip(ENV_IDS, (JumpingTaskEnv, JumpingColorsTaskEnv), strict=True):
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=f"{cls.__module__}:{cls.__name__}",
                max_episode_steps=600,
            )
