"""Gymnasium environments of the Distracting DM Control Suite with dynamic backgrounds.

``make(domain, task, *, split="train", video=None, video_root=None, seed=None, **options)``
returns ``gymnasium.make("pisces/DistractingControl-<domain>-<task>-v0", ...)``:

* observations: uint8 (9, 84, 84), the last 3 RGB frames of camera 0, channel-first, oldest
  first (channels 0-2 the oldest frame's R, G, B); at reset the first frame is repeated;
* actions: float32 in [-1, 1]^|A| (values outside are clipped), held for the task's action
  repeat (:data:`~pisces.envs.dmc.tasks.TASKS`); the reward of an agent step is the sum of
  the sub-step rewards; an episode is 1000 dm_control steps, i.e. 1000 // repeat agent steps,
  after which ``truncated`` is True (``terminated`` is always False) and ``step`` refuses to
  go on until ``reset``;
* ``split``: "train" (2 videos), "test" (30 videos) or None (no distraction: dm_control's own
  sky and floor); ``video``: an index into the split's list (or a name from it) fixing the
  video, or None to draw one per episode; ``video_root``: a DAVIS 2017 folder, or None for
  the offline substitutes (:mod:`pisces.envs.dmc.substitute`);
* ``seed``: used by the first ``reset()`` that gets no seed of its own.

Randomness. ``reset(seed=s)`` splits ``np.random.SeedSequence(s)`` into two streams: the task
stream (the physics' initial state, dm_control's ``task.random``) and the distraction stream
(video, start frame, direction, drawn in that order). Physics therefore never depends on the
video: two envs with one seed and different ``video`` step through identical states.
``reset()`` without a seed continues both streams.

Options (:class:`DMCOptions`): ``image_size`` (84), ``fast_render`` (True: no multisampling,
512² shadow map), ``sky_size`` (256: texels of the sky face the video is written into),
``fast_upload`` (True: the sky's mipmaps computed in numpy, the same texture as
``mjr_uploadTexture``'s), ``ground_alpha`` (None: the benchmark's per-domain value).

Speed. The background advances every sub-step, but the frame is written and uploaded only
before the one render of an agent step (:class:`~pisces.envs.dmc.render.CameraRenderer`),
without ``glGenerateMipmap`` (:mod:`~pisces.envs.dmc.upload`).
A sub-step calls the dm_control task directly (``before_step``, ``physics.step``,
``after_step``, ``get_reward``: ``Environment.step`` without its state observation, which
pixels make unneeded); the tests check it against ``Environment.step``.

``env.unwrapped.physics_state()`` is the flat (qpos, qvel, act) float64 state.
dm_control is imported only when an env is built (``MUJOCO_GL`` defaults to ``egl``).
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from pisces.envs.dmc.background import (
    SKY_FLIP,
    Background,
    prepare_sky,
    set_ground_alpha,
    write_sky_frame,
)
from pisces.envs.dmc.tasks import (
    EPISODE_ENV_STEPS,
    GROUND_ALPHA,
    TASKS,
    check_task,
    env_id,
    split_task_name,
)
from pisces.envs.dmc.videos import check_video_root, load_frames, split_videos

__all__ = [
    "DMCOptions",
    "DistractingControlEnv",
    "ENV_IDS",
    "FRAME_STACK",
    "make",
    "register_envs",
]

FRAME_STACK = 3
CAMERA_ID = 0
#: every registered Gymnasium id, in :data:`~pisces.envs.dmc.tasks.TASKS` order.
ENV_IDS: tuple[str, ...] = tuple(env_id(*split_task_name(name)) for name in TASKS)


@dataclass(frozen=True)
class DMCOptions:
    """Rendering options of :func:`make` (its ``**options``)."""

    image_size: int = 84
    """Height = width of each observed frame, pixels (the benchmark: 84)."""
    fast_render: bool = True
    """No multisampling (``vis.quality.offsamples = 0``, dm_control's default 4) and a 512²
    shadow map (default 2048): ~3x less CPU per agent step on this CPU, a mean |pixel
    difference| of 0.6-1.6 (of 255) from the default quality (benchmarks/bench_dmc_env.py)."""
    sky_size: int = 256
    """Side of the sky face the video is written into, texels (the official: 800). Only
    used under distraction; the picture differs from 800's by a mean |pixel difference| of
    1.0-2.3 (of 255). A power of two gets the fast upload (``fast_upload``: ~1.3 ms at 256 on
    this CPU); other sides take ``mjr_uploadTexture`` (~6.5 ms at 256, ~28 ms at 800)."""
    fast_upload: bool = True
    """Re-upload the sky with mipmaps computed in numpy instead of ``mjr_uploadTexture``'s
    ``glGenerateMipmap`` (:mod:`pisces.envs.dmc.upload`): the same GL texture bit for bit,
    checked against ``mjr_uploadTexture`` at the first upload (which it falls back to on any
    difference). False: always ``mjr_uploadTexture`` (the reference, for tests and benchmarks)."""
    ground_alpha: float | None = None
    """Floor-grid alpha under distraction; None: 0.3 / 1.0 / 0.0 per domain (GROUND_ALPHA)."""

    def __post_init__(self) -> None:
        if not 1 <= self.image_size <= 640:
            raise ValueError(f"image_size must be in [1, 640], got {self.image_size}")
        if not 1 <= self.sky_size <= 1024:
            raise ValueError(f"sky_size must be in [1, 1024], got {self.sky_size}")
        if self.ground_alpha is not None and not 0.0 <= self.ground_alpha <= 1.0:
            raise ValueError(f"ground_alpha must be in [0, 1], got {self.ground_alpha}")

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> DMCOptions:
        """Build from ``**options``; an unknown key is a TypeError naming the valid ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}; valid: {sorted(known)}")
        return cls(**options)


def _load_suite(domain: str, task: str, random: np.random.RandomState) -> Any:
    """dm_control's suite env, imported here so that nothing else needs dm_control."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        from dm_control import suite
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("pisces.envs.dmc needs dm_control: pip install 'pisces[dmc]'") from exc
    return suite.load(domain, task, task_kwargs={"random": random})


class DistractingControlEnv(gym.Env[NDArray[np.uint8], NDArray[np.float32]]):
    """One Distracting Control task; see the module docstring for the contract."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 25}

    def __init__(
        self,
        domain: str,
        task: str,
        split: str | None = "train",
        video: int | str | None = None,
        video_root: str | Path | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
        **options: Any,
    ) -> None:
        self.action_repeat = check_task(domain, task)
        self.domain, self.task = domain, task
        self.options = DMCOptions.from_kwargs(options)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; use 'rgb_array' or None")
        self.render_mode = render_mode
        self.split = split
        self.video_names: tuple[str, ...] = () if split is None else split_videos(split)
        self._fixed_video = self._check_video(video)
        self._video_base, self._substitute_root = self._check_root(video_root)
        self.episode_steps = EPISODE_ENV_STEPS // self.action_repeat

        self._task_random = np.random.RandomState(0)  # reseeded at every seeded reset
        self._distraction_rng: np.random.Generator | None = None
        self._pending_seed = seed
        self._dm_env = _load_suite(domain, task, self._task_random)
        self._physics = self._dm_env.physics
        self._sky: int | None = None
        self._configure_model()

        from pisces.envs.dmc.render import CameraRenderer

        size = self.options.image_size
        self._renderer: CameraRenderer | None = CameraRenderer(
            self._physics, size, CAMERA_ID, fast_upload=self.options.fast_upload
        )
        n_actions = int(self._dm_env.action_spec().shape[0])
        self.action_space = spaces.Box(-1.0, 1.0, shape=(n_actions,), dtype=np.float32)
        self.observation_space = spaces.Box(
            0, 255, shape=(3 * FRAME_STACK, size, size), dtype=np.uint8
        )
        control_dt = float(self._dm_env.control_timestep())
        self._n_sub_steps = round(control_dt / float(self._physics.timestep()))
        self.metadata = {**self.metadata, "render_fps": 1.0 / (control_dt * self.action_repeat)}
        self._background: Background | None = None
        self._video_index: int | None = None
        self._stack: deque[NDArray[np.uint8]] = deque(maxlen=FRAME_STACK)
        self._steps = -1  # -1: not reset yet

    # ----------------------------------------------------------------- construction checks
    def _check_video(self, video: int | str | None) -> int | None:
        if video is None:
            return None
        if self.split is None:
            raise ValueError("video needs a split ('train' or 'test'); split=None has none")
        if isinstance(video, str):
            if video not in self.video_names:
                raise ValueError(f"video {video!r} not in split {self.split!r}")
            return self.video_names.index(video)
        n = len(self.video_names)
        if isinstance(video, bool) or not isinstance(video, int | np.integer) or not 0 <= video < n:
            raise ValueError(f"video must be an index in [0, {n}) of split {self.split!r}")
        return int(video)

    def _check_root(self, video_root: str | Path | None) -> tuple[Path | None, Path | None]:
        """(frames folder of a user root, substitute root): at most one is set."""
        if self.split is None:
            if video_root is not None:
                raise ValueError("video_root needs a split ('train' or 'test')")
            return None, None
        if video_root is not None:
            return check_video_root(video_root, self.video_names), None
        from pisces.envs.dmc.substitute import substitute_root

        return None, substitute_root()

    def _configure_model(self) -> None:
        """Render settings and the distraction's sky and floor, before any GL context."""
        from pisces.envs.dmc.render import apply_fast_render

        model = self._physics.model
        if self.options.fast_render:
            apply_fast_render(model)
        if self.split is None:
            return
        self._sky = prepare_sky(model, self.options.sky_size)
        alpha = self.options.ground_alpha
        set_ground_alpha(model, GROUND_ALPHA[self.domain] if alpha is None else alpha)

    # --------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.uint8], dict[str, Any]]:
        """Start an episode: new physics initial state, video, start frame and direction."""
        if options:
            raise ValueError(f"reset takes no options, got {sorted(options)}")
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        super().reset(seed=seed)
        if seed is not None or self._distraction_rng is None:
            self._seed_streams(seed)
        self._require_open()
        self._dm_env.reset()
        if self.split is not None:
            self._start_video()
        self._steps = 0
        frame = self._render_frame()
        self._stack.clear()
        self._stack.extend([frame] * FRAME_STACK)
        return self._observation(), self._info()

    def step(
        self, action: NDArray[np.floating] | list[float]
    ) -> tuple[NDArray[np.uint8], float, bool, bool, dict[str, Any]]:
        """One agent step: ``action`` held for ``action_repeat`` sub-steps."""
        if self._steps < 0:
            raise RuntimeError("call reset() before step()")
        if self._steps >= self.episode_steps:
            raise RuntimeError("the episode is over (time limit); call reset()")
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action shape {a.shape} != {self.action_space.shape}")
        a = np.clip(a, -1.0, 1.0)
        reward = 0.0
        for _ in range(self.action_repeat):
            reward += self._substep(a)
            if self._background is not None:
                self._background.advance()
        self._steps += 1
        self._stack.append(self._render_frame())
        truncated = self._steps >= self.episode_steps
        return self._observation(), reward, False, truncated, self._info()

    def render(self) -> NDArray[np.uint8] | None:
        """The newest observed frame as (size, size, 3) uint8 in "rgb_array" mode."""
        if self.render_mode is None:
            return None
        if not self._stack:
            raise RuntimeError("call reset() before render()")
        return np.ascontiguousarray(self._stack[-1].transpose(1, 2, 0))

    def close(self) -> None:
        """Free the GL and MuJoCo contexts (idempotent)."""
        if self._renderer is not None:
            self._renderer = None
            self._physics.free()
        super().close()

    # ------------------------------------------------------------------------- accessors
    def physics_state(self) -> NDArray[np.float64]:
        """The flat physics state (qpos, qvel, act): float64 (nq + nv + na,), a copy."""
        self._require_open()
        data = self._physics.data
        return np.concatenate([data.qpos, data.qvel, data.act]).astype(np.float64)

    @property
    def physics(self) -> Any:
        """The dm_control ``Physics`` (read it; writing to it breaks the contract)."""
        return self._physics

    @property
    def background(self) -> Background | None:
        """The playback state of this episode's video (None without distraction)."""
        return self._background

    # --------------------------------------------------------------------------- helpers
    def _require_open(self) -> None:
        if self._renderer is None:
            raise RuntimeError("the environment is closed")

    def _seed_streams(self, seed: int | None) -> None:
        """Task and distraction streams, independent children of SeedSequence(seed)."""
        task_seq, distraction_seq = np.random.SeedSequence(seed).spawn(2)
        self._task_random.seed(task_seq.generate_state(4))
        self._distraction_rng = np.random.default_rng(distraction_seq)

    def _substep(self, action: NDArray[np.float64]) -> float:
        """One dm_control control step, as ``Environment.step`` does it minus the state
        observation (unused: the agent sees pixels) and the time limit (counted here)."""
        task, physics = self._dm_env.task, self._physics
        task.before_step(action, physics)
        physics.step(self._n_sub_steps)
        task.after_step(physics)
        return float(task.get_reward(physics))

    def _start_video(self) -> None:
        rng = self._distraction_rng
        assert rng is not None
        if self._fixed_video is None:
            index = int(rng.integers(len(self.video_names)))
        else:
            index = self._fixed_video
        self._video_index = index
        self._background = Background.random(self._video_frames(index), rng)

    def _video_frames(self, index: int) -> NDArray[np.uint8]:
        name = self.video_names[index]
        if self._substitute_root is not None:
            from pisces.envs.dmc.substitute import ensure_substitute_video

            folder = ensure_substitute_video(name, self._substitute_root)
        else:
            assert self._video_base is not None
            folder = self._video_base / name
        return load_frames(folder, self.options.sky_size, flip=SKY_FLIP[self.domain])

    def _render_frame(self) -> NDArray[np.uint8]:
        """Write the current video frame to the sky, upload, render: (3, size, size) uint8."""
        renderer = self._renderer
        assert renderer is not None
        if self._background is not None and self._sky is not None:
            model = self._physics.model
            write_sky_frame(model, self._sky, self._background.frame)
            image = renderer.render(upload_texture=self._sky)
        else:
            image = renderer.render()
        return np.ascontiguousarray(image.transpose(2, 0, 1))

    def _observation(self) -> NDArray[np.uint8]:
        return np.concatenate(self._stack, axis=0)

    def _info(self) -> dict[str, Any]:
        bg = self._background
        return {
            "env_steps": self._steps * self.action_repeat,
            "video": None if self._video_index is None else self.video_names[self._video_index],
            "video_index": self._video_index,
            "frame": None if bg is None else bg.index,
        }


def register_envs() -> None:
    """Register the six ids with Gymnasium (idempotent; imports no dm_control)."""
    for name in TASKS:
        domain, task = split_task_name(name)
        gid = env_id(domain, task)
        if gid not in gym.registry:
            gym.register(
                id=gid,
                entry_point=f"{__name__}:DistractingControlEnv",
                kwargs={"domain": domain, "task": task},
            )


def make(
    domain: str,
    task: str,
    *,
    split: str | None = "train",
    video: int | str | None = None,
    video_root: str | Path | None = None,
    seed: int | None = None,
    **options: Any,
) -> gym.Env:
    """``gymnasium.make`` of one task with the contract of the module docstring.

    ``options`` are :class:`DMCOptions` fields plus Gymnasium's ``render_mode``. An unknown
    task is a ValueError listing the six.
    """
    gid = env_id(domain, task)
    register_envs()
    return gym.make(gid, split=split, video=video, video_root=video_root, seed=seed, **options)
