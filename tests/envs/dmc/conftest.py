"""Shared fixtures of the Distracting Control tests: a per-session substitute-video cache and
tiny DAVIS-layout trees written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _session_video_cache(tmp_path_factory):
    """Substitute videos go to a session tmp dir, never to the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PISCES_CACHE", str(tmp_path_factory.mktemp("pisces-cache")))
    yield
    mp.undo()


@pytest.fixture
def davis_tree():
    """The :func:`write_davis_tree` helper, as a fixture."""
    return write_davis_tree


def write_davis_tree(
    root: Path, videos: dict[str, int], size: tuple[int, int] = (24, 16), seed: int = 0
) -> dict[str, np.ndarray]:
    """Write ``<root>/JPEGImages/480p/<video>/<k>.jpg`` with ``videos[name]`` frames each, in
    shuffled creation order; return each video's frames (T, H, W, 3) as written (PNG-exact
    colours are not needed: frames are flat colours, which JPEG keeps within a few levels)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = {}
    for name, count in videos.items():
        folder = root / "JPEGImages" / "480p" / name
        folder.mkdir(parents=True)
        colours = rng.integers(0, 256, size=(count, 3))
        frames = np.broadcast_to(colours[:, None, None, :], (count, size[1], size[0], 3))
        frames = frames.astype(np.uint8)
        for k in rng.permutation(count):
            Image.fromarray(frames[k]).save(folder / f"{k:05d}.jpg", quality=95)
        out[name] = frames
    return out
