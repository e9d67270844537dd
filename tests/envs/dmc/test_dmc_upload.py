"""The fast sky upload (:mod:`pisces.envs.dmc.upload`) against ``mjr_uploadTexture``.

The mipmap arithmetic is checked in numpy; the pictures are compared within this process (one
GL backend), frame by frame, with ``fast_upload=False`` (``mjr_uploadTexture``) as the
reference, as ``test_pixels_match_dm_control_render`` does for the renderer.
"""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.dmc.upload import mipmaps


def test_mipmaps_round_row_pairs_then_column_pairs():
    image = np.array([[[0], [1]], [[0], [0]]], dtype=np.uint8)  # (2, 2, 1)
    # row pairs (0 + 1 + 1) >> 1 = 1 and (0 + 0 + 1) >> 1 = 0, then (1 + 0 + 1) >> 1 = 1,
    # where the rounded mean of the four texels would be 0
    assert mipmaps(image)[1].tolist() == [[[1]]]


def test_mipmaps_chain_shapes_and_values():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    levels = mipmaps(image)
    assert [level.shape for level in levels] == [(s, s, 3) for s in (16, 8, 4, 2, 1)]
    assert all(level.dtype == np.uint8 and level.flags.c_contiguous for level in levels)
    assert np.array_equal(levels[0], image)
    for big, small in zip(levels, levels[1:], strict=False):
        x = big.astype(np.int64)
        rows = (x[:, 0::2] + x[:, 1::2] + 1) // 2
        assert np.array_equal(small, (rows[0::2] + rows[1::2] + 1) // 2)
    with pytest.raises(ValueError, match="power of two"):
        mipmaps(np.zeros((12, 12, 3), np.uint8))
    with pytest.raises(ValueError, match="square"):
        mipmaps(np.zeros((8, 4, 3), np.uint8))


def _gl_renderer(env) -> str:
    from OpenGL import GL

    with env.unwrapped.physics.contexts.gl.make_current() as ctx:
        return ctx.call(lambda: GL.glGetString(GL.GL_RENDERER).decode())


def _pair(domain: str, task: str, **options):
    """(fast, reference) envs of one task, one seed: the same physics and video frames."""
    from pisces.envs import dmc

    fast = dmc.make(domain, task, split="train", seed=7, **options)
    slow = dmc.make(domain, task, split="train", seed=7, fast_upload=False, **options)
    return fast, slow


# cartpole's camera looks at a side face, reacher's straight down at the bottom one
@pytest.mark.parametrize(("domain", "task"), [("cartpole", "swingup"), ("reacher", "easy")])
def test_fast_upload_pixels_match_mjr_upload_texture(domain, task):
    pytest.importorskip("dm_control")
    fast, slow = _pair(domain, task)
    obs_fast, _ = fast.reset()
    obs_slow, _ = slow.reset()
    assert np.array_equal(obs_fast, obs_slow)
    rng = np.random.default_rng(0)
    changes = []
    for _ in range(30):
        action = rng.uniform(-1, 1, size=fast.action_space.shape)
        new_fast, *_ = fast.step(action)
        new_slow, *_ = slow.step(action)
        assert np.array_equal(new_fast, new_slow)  # every frame, every pixel
        changes.append(np.abs(new_fast[-3:].astype(np.int16) - obs_fast[-3:]).mean())
        obs_fast = new_fast
    assert min(changes) > 0.5, changes  # the background (and the body) moved at every step
    unwrapped = fast.unwrapped
    used = unwrapped._renderer.uploader.uses_fast_path(unwrapped._sky)
    assert slow.unwrapped._renderer.uploader.uses_fast_path(unwrapped._sky) is False
    if "llvmpipe" in _gl_renderer(fast):  # other GLs may round mipmaps their own way
        assert used is True
    fast.close()
    slow.close()


def test_a_sky_that_is_not_a_power_of_two_takes_mjr_upload_texture():
    pytest.importorskip("dm_control")
    fast, slow = _pair("cartpole", "swingup", sky_size=48)
    obs_fast, _ = fast.reset()
    obs_slow, _ = slow.reset()
    assert np.array_equal(obs_fast, obs_slow)
    unwrapped = fast.unwrapped
    assert unwrapped._renderer.uploader.uses_fast_path(unwrapped._sky) is False
    fast.close()
    slow.close()


def test_a_failed_first_upload_check_falls_back(monkeypatch):
    """Mipmaps that round the other way (a driver unlike llvmpipe): the check sees it and the
    texture keeps mjr_uploadTexture, so the picture is still the reference's."""
    pytest.importorskip("dm_control")
    from pisces.envs.dmc import upload

    def truncating(image):
        """The mean of each 2 x 2 block rounded down."""
        levels = [image]
        while levels[-1].shape[0] > 1:
            x = levels[-1].astype(np.uint16)
            total = x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]
            levels.append((total >> 2).astype(np.uint8))
        return levels

    monkeypatch.setattr(upload, "mipmaps", truncating)
    fast, slow = _pair("cartpole", "swingup", sky_size=64)
    obs_fast, _ = fast.reset()
    obs_slow, _ = slow.reset()
    for _ in range(3):
        obs_fast, *_ = fast.step(np.zeros(1))
        obs_slow, *_ = slow.step(np.zeros(1))
        assert np.array_equal(obs_fast, obs_slow)
    unwrapped = fast.unwrapped
    assert unwrapped._renderer.uploader.uses_fast_path(unwrapped._sky) is False
    fast.close()
    slow.close()
