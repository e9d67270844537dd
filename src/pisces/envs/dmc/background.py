"""The dynamic background: a video played ping-pong on the skybox (Stone et al. 2021, as the
PSE paper ran it, Appendix I), written for MuJoCo 3.x.

Playback. The frame index moves by one at every underlying physics step (every action-repeat
sub-step, i.e. every dm_control control step) and reverses at either end, so the motion never
cuts: on a 5-frame video started at 0 going up the indices are 0, 1, 2, 3, 4, 3, 2, 1, 0, 1, ...
(:func:`ping_pong`, closed form :func:`ping_pong_index`). A video of one frame stands still.

Sky texture. MuJoCo's skybox is a cube texture (``mjTEXTURE_SKYBOX``); dm_control's suite
ships it as six 800 x 800 faces stacked vertically (800 x 4800 x 3 bytes). We find it by type
(:func:`sky_texture_id`), shrink it to one square face of ``size`` x ``size`` texels in place
(:func:`prepare_sky`: ``tex_width = tex_height = size``, inside the original allocation), and
write each video frame into that face (:func:`write_sky_frame`). ``mjr_uploadTexture``
uploads a square cube texture as the same image on all six faces, so every camera sees the
video whichever way it looks. (The official wrapper also kept only the first face, by forcing
the height to 800, for the same effect; it wrote ``model.tex_rgb``, renamed ``tex_data`` in
MuJoCo 3.2.1.) :func:`upload_sky` re-uploads the texture inside the GL context with
``mjr_uploadTexture``; the env re-uploads it once per render, not once per sub-step, while the
index still advances every sub-step, and by :mod:`~pisces.envs.dmc.upload` (the same texture
without ``glGenerateMipmap``).

Orientation. Seen from inside the cube, the side faces show an image mirrored left-right and
the bottom face (reacher's top-down camera 0) upside down. Frames are flipped once, at load
(:data:`SKY_FLIP`, :func:`~pisces.envs.dmc.videos.load_frames`), so that camera 0 of every
task shows them as a person would.

Physics never reads textures: the video changes pixels only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SKY_FLIP",
    "Background",
    "ping_pong",
    "ping_pong_index",
    "prepare_sky",
    "set_ground_alpha",
    "sky_texture_id",
    "upload_sky",
    "write_sky_frame",
]

#: per-domain flip applied when a frame is written: "lr" (side faces, cameras looking along
#: +y) or "ud" (reacher's camera 0 looks straight down at the bottom face).
SKY_FLIP: dict[str, str] = {
    "cartpole": "lr",
    "ball_in_cup": "lr",
    "finger": "lr",
    "walker": "lr",
    "cheetah": "lr",
    "reacher": "ud",
}


def ping_pong(index: int, direction: int, length: int) -> tuple[int, int]:
    """One playback move on a video of ``length`` frames: ``(index, direction)`` after it.

    ``direction`` is +1 or -1; at either end it reverses before the move, so the index
    always stays in ``[0, length)``. ``length == 1`` keeps index 0.
    """
    if length < 1:
        raise ValueError(f"a video needs at least one frame, got length {length}")
    if direction not in (-1, 1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    if length == 1:
        return 0, direction
    nxt = index + direction
    if not 0 <= nxt < length:
        direction = -direction
        nxt = index + direction
    return nxt, direction


def ping_pong_index(
    start: int, direction: int, length: int, steps: NDArray[np.integer] | int
) -> NDArray[np.int64]:
    """Closed form of :func:`ping_pong` applied ``steps`` times: the frame index, shape of
    ``steps``.

    The playback is periodic with period P = 2 (length - 1): unfold it onto a circle of P
    positions (u = start going up, u = P - start going down), move u by ``steps`` mod P, and
    fold back (index = u if u < length else P - u).
    """
    steps = np.asarray(steps, dtype=np.int64)
    if length == 1:
        return np.zeros_like(steps)
    period = 2 * (length - 1)
    # going down from 0 reverses at once, which is the same as going up from 0
    unfolded = start if direction > 0 or start == 0 else period - start
    u = (unfolded + steps) % period
    return np.where(u < length, u, period - u)


@dataclass(eq=False)
class Background:
    """Playback state of one video: ``frames`` (T, S, S, 3) uint8, ``index`` in [0, T),
    ``direction`` +1/-1. Mutable on purpose: :meth:`advance` is called every sub-step."""

    frames: NDArray[np.uint8]
    index: int = 0
    direction: int = 1

    def __post_init__(self) -> None:
        f = self.frames
        if f.ndim != 4 or f.shape[1] != f.shape[2] or f.shape[3] != 3 or f.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (T, S, S, 3), got {f.dtype} {f.shape}")
        if not 0 <= self.index < len(f):
            raise ValueError(f"start frame {self.index} outside [0, {len(f)})")

    @property
    def frame(self) -> NDArray[np.uint8]:
        """The current frame (S, S, 3) uint8 (a view)."""
        return self.frames[self.index]

    def advance(self) -> int:
        """One ping-pong move; returns the new index."""
        self.index, self.direction = ping_pong(self.index, self.direction, len(self.frames))
        return self.index

    @classmethod
    def random(cls, frames: NDArray[np.uint8], rng: np.random.Generator) -> Background:
        """Uniform start frame, then a uniform direction, drawn from ``rng`` in that order."""
        start = int(rng.integers(len(frames)))
        direction = int(rng.choice((-1, 1)))
        return cls(frames, start, direction)


def sky_texture_id(model: Any) -> int:
    """Index of the model's skybox texture (type ``mjTEXTURE_SKYBOX``); ValueError if none."""
    import mujoco

    ids = np.flatnonzero(np.asarray(model.tex_type) == mujoco.mjtTexture.mjTEXTURE_SKYBOX)
    if ids.size == 0:
        raise ValueError("the model has no skybox texture (mjTEXTURE_SKYBOX)")
    return int(ids[0])


def prepare_sky(model: Any, size: int) -> int:
    """Make the skybox one RGB face of ``size`` x ``size`` texels (repeated on all six faces
    at upload); returns its texture id. Call before the GL context is created, so that the
    first upload is already small. The bytes stay in the original allocation."""
    tex = sky_texture_id(model)
    if int(model.tex_nchannel[tex]) != 3:
        raise ValueError(f"expected an RGB skybox, got {int(model.tex_nchannel[tex])} channels")
    available = int(model.tex_width[tex]) * int(model.tex_height[tex]) * 3
    if not 1 <= size or size * size * 3 > available:
        raise ValueError(f"sky_size {size} does not fit the skybox's {available} bytes")
    model.tex_width[tex] = size
    model.tex_height[tex] = size
    return tex


def write_sky_frame(model: Any, tex: int, frame: NDArray[np.uint8]) -> None:
    """Copy ``frame`` (S, S, 3) uint8 into ``model.tex_data`` of texture ``tex`` (already
    square S x S by :func:`prepare_sky`). Pass contiguous frames: a flipped view copies ~50x
    slower."""
    size = int(model.tex_width[tex])
    if frame.shape != (size, size, 3):
        raise ValueError(f"frame {frame.shape} does not match the {size}x{size} sky")
    adr = int(model.tex_adr[tex])
    np.copyto(model.tex_data[adr : adr + size * size * 3].reshape(size, size, 3), frame)


def upload_sky(physics: Any, tex: int) -> None:
    """Re-upload texture ``tex`` of a dm_control ``physics`` to its GL context."""
    with physics.contexts.gl.make_current() as ctx:
        ctx.call(_upload_on_gl_thread, physics, tex)


def _upload_on_gl_thread(physics: Any, tex: int) -> None:
    import mujoco

    mujoco.mjr_uploadTexture(physics.model.ptr, physics.contexts.mujoco.ptr, tex)


def set_ground_alpha(model: Any, alpha: float) -> None:
    """Set the alpha of the floor material ``grid`` (all six domains have one)."""
    import mujoco

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"ground alpha must be in [0, 1], got {alpha}")
    mat = mujoco.mj_name2id(model.ptr, mujoco.mjtObj.mjOBJ_MATERIAL, "grid")
    if mat < 0:
        raise ValueError("the model has no 'grid' material")
    model.mat_rgba[mat, 3] = alpha
