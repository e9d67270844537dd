"""Background videos in the DAVIS 2017 layout: ``<root>/JPEGImages/480p/<video>/<frame>.jpg``.

The benchmark's lists (Stone et al. 2021, the PSE paper's Appendix I): training uses the
first two videos of the DAVIS 2017 training list (:data:`TRAIN_VIDEOS`), testing the 30
validation videos (:data:`TEST_VIDEOS`). A real DAVIS 2017 directory works unchanged as
``video_root``; without one, :mod:`pisces.envs.dmc.substitute` builds offline stand-ins
under the same names in the same layout, so this one loader reads both.

Frames are read in sorted file-name order (the official loader globbed them unsorted),
resized once to the sky texture's ``size`` x ``size``, and kept in memory per (video
folder, size, flip) as one uint8 (T, size, size, 3) array: ``size`` 256 costs 192 KiB a frame,
~10 MiB for a 50-frame video.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "TRAIN_VIDEOS",
    "TEST_VIDEOS",
    "FRAME_SUFFIXES",
    "split_videos",
    "frames_dir",
    "check_video_root",
    "frame_files",
    "load_frames",
    "clear_frame_cache",
]

#: the first two videos of the DAVIS 2017 training list.
TRAIN_VIDEOS: tuple[str, ...] = ("bear", "bmx-bumps")
#: the 30 DAVIS 2017 validation videos (the test set of the paper's Table 3).
TEST_VIDEOS: tuple[str, ...] = (
    "bike-packing",
    "blackswan",
    "bmx-trees",
    "breakdance",
    "camel",
    "car-roundabout",
    "car-shadow",
    "cows",
    "dance-twirl",
    "dog",
    "dogs-jump",
    "drift-chicane",
    "drift-straight",
    "goat",
    "gold-fish",
    "horsejump-high",
    "india",
    "judo",
    "kite-surf",
    "lab-coat",
    "libby",
    "loading",
    "mbike-trick",
    "motocross-jump",
    "paragliding-launch",
    "parkour",
    "pigs",
    "scooter-black",
    "shooting",
    "soapbox",
)
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")

_FRAME_CACHE: dict[tuple[str, int, str], NDArray[np.uint8]] = {}


def split_videos(split: str) -> tuple[str, ...]:
    """The video names of ``"train"`` or ``"test"``."""
    if split == "train":
        return TRAIN_VIDEOS
    if split == "test":
        return TEST_VIDEOS
    raise ValueError(f"unknown split {split!r}; use 'train', 'test' or None (no distraction)")


def frames_dir(root: str | Path) -> Path:
    """``<root>/JPEGImages/480p``, the folder holding one folder per video."""
    return Path(root) / "JPEGImages" / "480p"


def check_video_root(root: str | Path, names: tuple[str, ...]) -> Path:
    """The frames folder of ``root``, after checking that every video of ``names`` has a
    folder there; FileNotFoundError naming the missing path otherwise."""
    base = frames_dir(root)
    if not Path(root).is_dir():
        raise FileNotFoundError(f"video_root {root} does not exist")
    if not base.is_dir() or not any(base.iterdir()):
        raise FileNotFoundError(
            f"video_root {root} has no videos: expected <root>/JPEGImages/480p/<video>/*.jpg"
        )
    missing = [n for n in names if not (base / n).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"video folder {base / missing[0]} not found ({len(missing)} missing)"
        )
    return base


def frame_files(video_dir: Path) -> list[Path]:
    """The frame images of one video folder in sorted name order; error if there are none."""
    if not video_dir.is_dir():
        raise FileNotFoundError(f"video folder {video_dir} not found")
    files = sorted(p for p in video_dir.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
    if not files:
        raise ValueError(f"video folder {video_dir} has no frames (*.jpg, *.jpeg, *.png)")
    return files


def load_frames(video_dir: str | Path, size: int, flip: str = "") -> NDArray[np.uint8]:
    """All frames of a video resized to (size, size): read-only uint8 (T, size, size, 3),
    cached in memory per (folder, size, flip). ``flip``: "lr" mirrors left-right, "ud"
    upside down, "" neither. Non-square frames (DAVIS is 854 x 480) are stretched."""
    from PIL import Image

    if flip not in ("", "lr", "ud"):
        raise ValueError(f"flip must be 'lr', 'ud' or '', got {flip!r}")
    video_dir = Path(video_dir)
    key = (str(video_dir.resolve()), int(size), flip)
    cached = _FRAME_CACHE.get(key)
    if cached is not None:
        return cached
    files = frame_files(video_dir)
    frames = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(files):
        with Image.open(path) as img:
            img = img.convert("RGB").resize((size, size), Image.BILINEAR)
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT if flip == "lr" else Image.FLIP_TOP_BOTTOM)
        frames[i] = np.asarray(img)
    frames.flags.writeable = False
    _FRAME_CACHE[key] = frames
    return frames


def clear_frame_cache() -> None:
    """Forget every decoded video (frees their memory)."""
    _FRAME_CACHE.clear()
