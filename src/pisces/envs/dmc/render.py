"""Offscreen rendering of one fixed camera, with an optional sky re-upload in the same GL call.

The picture is exactly dm_control's ``physics.render(h, w, camera_id)`` (checked pixel for
pixel in the tests) without its per-call costs: the MuJoCo scene, camera and pixel buffer are
allocated once, and the sky upload, ``mjr_render`` and ``mjr_readPixels`` share one trip to
dm_control's GL thread. The upload is :class:`~pisces.envs.dmc.upload.CubeTextureUploader`'s:
the texture ``mjr_uploadTexture`` makes, bit for bit, with the mipmaps computed in numpy
instead of by ``glGenerateMipmap`` (~1.3 ms instead of ~6.5 ms at 256² on llvmpipe), or
``mjr_uploadTexture`` itself with ``fast_upload=False``.

Fast settings (:func:`apply_fast_render`, spec §1): no multisampling
(``vis.quality.offsamples = 0``, default 4) and a 512² shadow map (``shadowsize``, default
2048). Both are read when the GL context is created, so they are set right after loading.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from pisces.envs.dmc.upload import CubeTextureUploader

__all__ = ["CameraRenderer", "apply_fast_render", "FAST_OFFSAMPLES", "FAST_SHADOWSIZE"]

FAST_OFFSAMPLES = 0
FAST_SHADOWSIZE = 512
#: room for the scene's geoms; the six models have at most a few dozen.
_MAX_GEOM = 1000


def apply_fast_render(model: Any) -> None:
    """No multisampling and a 512² shadow map (before the GL context exists)."""
    model.vis.quality.offsamples = FAST_OFFSAMPLES
    model.vis.quality.shadowsize = FAST_SHADOWSIZE


class CameraRenderer:
    """Renders camera ``camera_id`` of a dm_control ``physics`` as uint8 (size, size, 3).

    ``render(upload_texture=t)`` re-uploads texture ``t`` (e.g. the sky) just before drawing:
    by :attr:`uploader`'s fast path where it gives the same texture (``fast_upload``, the
    default), else by ``mjr_uploadTexture``. The renderer keeps no reference to the GL or
    MuJoCo render contexts, so that ``physics.free()`` can release them.
    """

    def __init__(
        self, physics: Any, size: int, camera_id: int = 0, fast_upload: bool = True
    ) -> None:
        import mujoco

        model = physics.model
        if not 0 <= camera_id < model.ncam:
            raise ValueError(f"camera {camera_id} not in the model's {model.ncam} cameras")
        width, height = model.vis.global_.offwidth, model.vis.global_.offheight
        if not 1 <= size <= min(width, height):
            raise ValueError(f"image size {size} outside [1, {min(width, height)}]")
        self._physics = physics
        self._scene = mujoco.MjvScene(model.ptr, maxgeom=_MAX_GEOM)
        self._option = mujoco.MjvOption()
        self._perturb = mujoco.MjvPerturb()
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = camera_id
        self._rect = mujoco.MjrRect(0, 0, size, size)
        self._buffer = np.empty((size, size, 3), dtype=np.uint8)
        self._upload: int | None = None
        self.uploader = CubeTextureUploader(fast=fast_upload)

    def render(self, upload_texture: int | None = None) -> NDArray[np.uint8]:
        """A new (size, size, 3) uint8 picture, rows top to bottom."""
        import mujoco

        physics = self._physics
        mujoco.mjv_updateScene(
            physics.model.ptr,
            physics.data.ptr,
            self._option,
            self._perturb,
            self._camera,
            mujoco.mjtCatBit.mjCAT_ALL,
            self._scene,
        )
        self._upload = upload_texture
        with physics.contexts.gl.make_current() as ctx:
            ctx.call(self._draw_on_gl_thread)
        return self._buffer[::-1].copy()

    def _draw_on_gl_thread(self) -> None:
        import mujoco

        physics = self._physics
        context = physics.contexts.mujoco.ptr
        if self._upload is not None:
            self.uploader.upload(physics.model.ptr, context, self._upload)
        mujoco.mjr_render(self._rect, self._scene, context)
        mujoco.mjr_readPixels(self._buffer, None, self._rect, context)
