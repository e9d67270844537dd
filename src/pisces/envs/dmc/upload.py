"""A faster re-upload of the sky cube texture that gives the GL texture ``mjr_uploadTexture``
gives, bit for bit.

Why. ``mjr_uploadTexture`` of a square cube texture re-specifies the six faces
(``glTexImage2D``, ~0.7 ms at 256² on Mesa llvmpipe) and then calls ``glGenerateMipmap``
(~6 ms: measured on its own, it is most of the 6.4 ms an upload took), the largest cost of a
distracted env step (issue 11). The mipmaps matter: level 1 is sampled in the 84² pictures
(inverting it changes them by a mean |pixel difference| of ~25), levels 2 and up were not
(cartpole, reacher).

What instead (:class:`CubeTextureUploader`, on dm_control's GL thread, in the same call as
the render):

* the mipmaps are computed in numpy (:func:`mipmaps`, ~0.5 ms at 256²): each texel of
  level k + 1 is the rounded mean ``(a + b + 1) >> 1`` of two neighbours in a row, then of
  two such results one above the other: the arithmetic of llvmpipe's ``glGenerateMipmap``
  (equal to it on random images at every level, where a rounded mean of the four texels
  differs in ~38% of them);
* each level goes once into face +X with ``glTexSubImage2D`` (no re-specification) and is
  copied inside GL to the other five faces with ``glCopyImageSubData`` (~0.8 ms in all, with
  PyOpenGL's per-call cost): the six faces stay identical, as ``mjr_uploadTexture`` makes
  them for a square texture. Texture parameters, set when the context was made, are kept.

Safety. The rounding is the driver's, not OpenGL's (the spec leaves mipmap filtering to the
implementation), so the first upload of each texture checks the fast path against
``mjr_uploadTexture`` on two random images, every face and level read back with
``glGetTexImage``; on any difference, on a GL error (no ``glCopyImageSubData`` before GL 4.3),
or for a texture that is not a square RGB cube with a power-of-two side (odd sizes filter
differently), that texture keeps ``mjr_uploadTexture``. Either way the picture is the one
``mjr_uploadTexture`` gives; ``fast=False`` always takes ``mjr_uploadTexture``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CubeTextureUploader", "mipmaps"]

#: seed of the two random images of the first-upload check.
_CHECK_SEED = 0


def mipmaps(image: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    """The full mip chain of a square (S, S, C) uint8 image, S a power of two: ``S.bit_length()``
    C-contiguous levels, ``image`` itself first, the last 1 x 1.

    Level k + 1 from level k: horizontal pairs ``h = (x[:, 0::2] + x[:, 1::2] + 1) >> 1``, then
    vertical pairs ``(h[0::2] + h[1::2] + 1) >> 1`` (llvmpipe's arithmetic; see the module
    docstring). Rows and columns are in memory order, as uploaded.
    """
    size = image.shape[0]
    if image.ndim != 3 or image.shape[1] != size or image.dtype != np.uint8:
        raise ValueError(
            f"expected a square (S, S, C) uint8 image, got {image.dtype} {image.shape}"
        )
    if size < 1 or size & (size - 1):
        raise ValueError(f"the side must be a power of two, got {size}")
    levels = [np.ascontiguousarray(image)]
    x = levels[0]
    while x.shape[0] > 1:
        rows = np.add(x[:, 0::2], x[:, 1::2], dtype=np.uint16)
        rows += 1
        rows >>= 1
        cols = np.add(rows[0::2], rows[1::2])
        cols += 1
        cols >>= 1
        x = cols.astype(np.uint8)
        levels.append(x)
    return levels


class CubeTextureUploader:
    """Re-uploads square RGB cube textures of one model to one ``MjrContext``: the fast path of
    the module docstring where the first-upload check passed, ``mjr_uploadTexture`` elsewhere.

    Call :meth:`upload` on the GL thread with the context current. ``fast=False``: always
    ``mjr_uploadTexture`` (the reference, for tests and benchmarks).
    """

    def __init__(self, fast: bool = True) -> None:
        self.fast = fast
        self._checked: dict[int, bool] = {}

    def uses_fast_path(self, tex: int) -> bool | None:
        """Whether texture ``tex`` takes the fast path; None before its first upload."""
        if not self.fast:
            return False
        return self._checked.get(tex)

    def upload(self, model: Any, context: Any, tex: int) -> None:
        """Upload texture ``tex`` of ``model`` (an ``MjModel``) from ``model.tex_data``."""
        import mujoco

        if not self.fast:
            mujoco.mjr_uploadTexture(model, context, tex)
            return
        fast = self._checked.get(tex)
        if fast is None:
            fast = self._checked[tex] = _fast_path_matches(model, context, tex)
        if fast:
            _upload_levels(int(context.texture[tex]), mipmaps(_texels(model, tex)))
        else:
            mujoco.mjr_uploadTexture(model, context, tex)


def _texels(model: Any, tex: int) -> NDArray[np.uint8]:
    """A writable (S, S, 3) view of the first face of square texture ``tex`` in ``tex_data``."""
    size = int(model.tex_width[tex])
    adr = int(model.tex_adr[tex])
    return model.tex_data[adr : adr + size * size * 3].reshape(size, size, 3)


def _eligible(model: Any, tex: int) -> bool:
    """A square RGB cube or skybox texture with a power-of-two side."""
    import mujoco

    size, height = int(model.tex_width[tex]), int(model.tex_height[tex])
    kinds = (mujoco.mjtTexture.mjTEXTURE_CUBE, mujoco.mjtTexture.mjTEXTURE_SKYBOX)
    cube = int(model.tex_type[tex]) in {int(kind) for kind in kinds}
    square = size == height and size >= 1 and size & (size - 1) == 0
    return cube and square and int(model.tex_nchannel[tex]) == 3


def _upload_levels(name: int, levels: list[NDArray[np.uint8]]) -> None:
    """Every level into face +X of GL cube texture ``name``, then copied to the other five."""
    from OpenGL import GL

    GL.glActiveTexture(GL.GL_TEXTURE0)
    GL.glBindTexture(GL.GL_TEXTURE_CUBE_MAP, name)
    alignment = int(GL.glGetIntegerv(GL.GL_UNPACK_ALIGNMENT))
    GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)  # rows of 3 S bytes: not 4-aligned for S < 4
    try:
        for level, image in enumerate(levels):
            s = image.shape[0]
            rgb, byte = GL.GL_RGB, GL.GL_UNSIGNED_BYTE
            GL.glTexSubImage2D(
                GL.GL_TEXTURE_CUBE_MAP_POSITIVE_X, level, 0, 0, s, s, rgb, byte, image
            )
            # a cube map's faces are its z (layer) index: face 0 to faces 1-5
            cube = GL.GL_TEXTURE_CUBE_MAP
            GL.glCopyImageSubData(name, cube, level, 0, 0, 0, name, cube, level, 0, 0, 1, s, s, 5)
    finally:
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, alignment)


def _read_levels(name: int, n_levels: int) -> list[NDArray[np.uint8]]:
    """Every face of levels ``0 .. n_levels - 1`` of GL cube texture ``name``: (6, S_k, S_k, 3)
    uint8 each, (6, 0, 0, 3) for a level the texture does not have."""
    from OpenGL import GL

    GL.glActiveTexture(GL.GL_TEXTURE0)
    GL.glBindTexture(GL.GL_TEXTURE_CUBE_MAP, name)
    alignment = int(GL.glGetIntegerv(GL.GL_PACK_ALIGNMENT))
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    try:
        out = []
        first_face = GL.GL_TEXTURE_CUBE_MAP_POSITIVE_X
        for level in range(n_levels):
            s = int(GL.glGetTexLevelParameteriv(first_face, level, GL.GL_TEXTURE_WIDTH))
            faces = b"".join(
                bytes(GL.glGetTexImage(first_face + i, level, GL.GL_RGB, GL.GL_UNSIGNED_BYTE))
                for i in range(6 if s else 0)
            )
            out.append(np.frombuffer(faces, dtype=np.uint8).reshape(6, s, s, 3))
        return out
    finally:
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, alignment)


def _fast_path_matches(model: Any, context: Any, tex: int) -> bool:
    """The first-upload check of the module docstring; ``tex_data`` is restored after it.

    ``mjr_uploadTexture`` of image A, the fast path of image B, read back; then
    ``mjr_uploadTexture`` of B, read back: equal everywhere (a level or face the fast path
    missed would still hold A). The texture's GL content afterwards is B's, which the caller's
    upload replaces.
    """
    import mujoco
    from OpenGL.error import Error as GLError

    if not _eligible(model, tex):
        return False
    texels = _texels(model, tex)
    saved = texels.copy()
    first, second = np.random.default_rng(_CHECK_SEED).integers(
        0, 256, size=(2, *texels.shape), dtype=np.uint8
    )
    name = int(context.texture[tex])
    levels = mipmaps(second)
    try:
        np.copyto(texels, first)
        mujoco.mjr_uploadTexture(model, context, tex)
        _upload_levels(name, levels)
        ours = _read_levels(name, len(levels))
        np.copyto(texels, second)
        mujoco.mjr_uploadTexture(model, context, tex)
        theirs = _read_levels(name, len(levels) + 1)
    except GLError:
        return False
    finally:
        np.copyto(texels, saved)
    if theirs.pop().size:  # mjr_uploadTexture made more levels than the chain to 1 x 1
        return False
    return all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
