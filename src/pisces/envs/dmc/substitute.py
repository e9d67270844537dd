"""Offline substitute videos for the DAVIS 2017 backgrounds, which cannot be downloaded here.

Each of the benchmark's 32 video names (:data:`~pisces.envs.dmc.videos.TRAIN_VIDEOS`,
:data:`~pisces.envs.dmc.videos.TEST_VIDEOS`) gets a stand-in made only from material that
installed packages ship, so the env runs with no download:

* training (2): a pan over scikit-image's ``chelsea`` (a cat, for ``bear``) and a zoom into
  ``motorcycle_left`` (for ``bmx-bumps``);
* test (30): pans and zooms over six other colour photos (``astronaut``, ``coffee``,
  ``rocket``, ``hubble_deep_field``, ``immunohistochemistry``, ``retina``: 12 videos) and
  over ``colorwheel`` (1); nine greyscale photos coloured by a matplotlib colormap
  (``camera``, ``brick``, ``grass``, ``gravel``, ``moon``, ``coins``, ``page``, ``clock``,
  ``cell``); four drifting smooth-noise fields; four scenes of bouncing shapes.

So the training and test sources are disjoint: no photo of a training video appears in a
test video, and the procedural videos (noise, shapes) are test-only. Motions: *pan* moves a
square window (50-70 % of the photo's short side) along a straight line at sub-pixel steps;
*zoom* shrinks a window geometrically from the full short side to 40 % around a random
centre; *drift* rolls two periodic noise layers in different directions; *bounce* moves 6-10
coloured shapes at constant velocities, reflecting at the borders. Every video is
:data:`NUM_FRAMES` frames of :data:`FRAME_SIZE`² pixels, generated from a seed fixed by its
name (CRC-32), so the same pixels come out on every machine (JPEG bytes may differ with the
JPEG library).

Videos are written on first use, one at a time, in the DAVIS layout under
``<cache>/dmc_videos/substitute-v1/JPEGImages/480p/<name>/00000.jpg ...``, with ``<cache>`` =
``$PISCES_CACHE`` or ``~/.cache/pisces`` (:func:`default_cache_dir`); a folder is renamed into
place only when complete, so concurrent processes never read half a video.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pisces.envs.dmc.videos import TEST_VIDEOS, TRAIN_VIDEOS, frames_dir

__all__ = [
    "FRAME_SIZE",
    "NUM_FRAMES",
    "VERSION",
    "VideoSpec",
    "SUBSTITUTES",
    "default_cache_dir",
    "substitute_root",
    "ensure_substitute_video",
    "generate_video",
]

FRAME_SIZE = 256
NUM_FRAMES = 50
#: bump when the generated pixels change, so old caches are not reused.
VERSION = "substitute-v1"
JPEG_QUALITY = 90


@dataclass(frozen=True)
class VideoSpec:
    """How one substitute video is made."""

    name: str
    """The DAVIS video it stands in for."""
    source: str
    """A scikit-image photo name, or "noise" / "shapes" for procedural videos."""
    motion: str
    """"pan" or "zoom" (photos), "drift" (noise), "bounce" (shapes)."""
    colormap: str | None = None
    """matplotlib colormap for greyscale photos and noise; None for colour photos, shapes."""

    @property
    def seed(self) -> int:
        """Fixed by the name: CRC-32 of its UTF-8 bytes."""
        return zlib.crc32(self.name.encode())


_TRAIN_SPECS = (
    VideoSpec("bear", "chelsea", "pan"),
    VideoSpec("bmx-bumps", "motorcycle_left", "zoom"),
)
_COLOR_PHOTOS = (
    "astronaut",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
)
_GREY_PHOTOS = (
    ("camera", "viridis"),
    ("brick", "copper"),
    ("grass", "summer"),
    ("gravel", "cividis"),
    ("moon", "magma"),
    ("coins", "plasma"),
    ("page", "cool"),
    ("clock", "inferno"),
    ("cell", "twilight"),
)
_NOISE_MAPS = ("turbo", "ocean", "terrain", "spring")


def _test_recipes() -> list[tuple[str, str, str | None]]:
    """(source, motion, colormap) for the 30 test videos, kinds interleaved."""
    photos = [(p, "pan", None) for p in _COLOR_PHOTOS]
    photos += [(p, "zoom", None) for p in _COLOR_PHOTOS]
    photos.append(("colorwheel", "pan", None))
    grey = [(p, ("zoom" if i % 2 else "pan"), cmap) for i, (p, cmap) in enumerate(_GREY_PHOTOS)]
    procedural = [("noise", "drift", c) for c in _NOISE_MAPS] + [("shapes", "bounce", None)] * 4
    # interleave: photo, grey, procedural, ... so every prefix of the list is varied
    out: list[tuple[str, str, str | None]] = []
    pools = [photos, grey, procedural]
    while any(pools):
        for pool in pools:
            if pool:
                out.append(pool.pop(0))
    return out


SUBSTITUTES: dict[str, VideoSpec] = {s.name: s for s in _TRAIN_SPECS} | {
    name: VideoSpec(name, source, motion, cmap)
    for name, (source, motion, cmap) in zip(TEST_VIDEOS, _test_recipes(), strict=True)
}
assert tuple(SUBSTITUTES)[:2] == TRAIN_VIDEOS


def default_cache_dir() -> Path:
    """``$PISCES_CACHE`` if set, else ``~/.cache/pisces``."""
    env = os.environ.get("PISCES_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pisces"


def substitute_root(cache_dir: str | Path | None = None) -> Path:
    """The DAVIS-layout root of the substitute videos (created, possibly still empty)."""
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root = base / "dmc_videos" / VERSION
    frames_dir(root).mkdir(parents=True, exist_ok=True)
    return root


def ensure_substitute_video(name: str, root: str | Path | None = None) -> Path:
    """The frame folder of substitute video ``name``, generated and written if missing."""
    if name not in SUBSTITUTES:
        raise ValueError(f"no substitute video {name!r}; known: {', '.join(SUBSTITUTES)}")
    base = frames_dir(root if root is not None else substitute_root())
    target = base / name
    if target.is_dir():
        return target
    base.mkdir(parents=True, exist_ok=True)
    frames = generate_video(SUBSTITUTES[name])
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=base))
    try:
        _write_jpegs(frames, tmp)
        os.rename(tmp, target)
    except OSError:
        if not target.is_dir():  # not just another process winning the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_jpegs(frames: NDArray[np.uint8], folder: Path) -> None:
    from PIL import Image

    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:05d}.jpg", quality=JPEG_QUALITY)


def generate_video(
    spec: VideoSpec, num_frames: int = NUM_FRAMES, size: int = FRAME_SIZE
) -> NDArray[np.uint8]:
    """The frames of one substitute video: uint8 (num_frames, size, size, 3), deterministic."""
    rng = np.random.default_rng(spec.seed)
    if spec.source == "noise":
        return _drifting_noise(rng, num_frames, size, spec.colormap or "viridis")
    if spec.source == "shapes":
        return _bouncing_shapes(rng, num_frames, size)
    photo = _photo(spec.source, spec.colormap)
    if spec.motion == "pan":
        boxes = _pan_boxes(rng, photo.shape[:2], num_frames)
    elif spec.motion == "zoom":
        boxes = _zoom_boxes(rng, photo.shape[:2], num_frames)
    else:
        raise ValueError(f"unknown motion {spec.motion!r} for a photo")
    return _crop_frames(photo, boxes, size)


def _photo(name: str, colormap: str | None) -> NDArray[np.uint8]:
    """A scikit-image sample photo as uint8 (H, W, 3); greyscale ones through ``colormap``."""
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - the dmc extra installs it
        raise ImportError("substitute videos need scikit-image: pip install 'pisces[dmc]'") from exc
    image = data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(data, name)()
    image = np.asarray(image)
    if image.ndim == 2:
        return _apply_colormap(image.astype(np.float64) / max(1, int(image.max())), colormap)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def _apply_colormap(values: NDArray[np.floating], colormap: str | None) -> NDArray[np.uint8]:
    """Values in [0, 1], shape (H, W) -> uint8 (H, W, 3) through a matplotlib colormap."""
    from matplotlib import colormaps

    rgba = colormaps[colormap or "viridis"](np.clip(values, 0.0, 1.0))
    return np.round(rgba[..., :3] * 255.0).astype(np.uint8)


def _pan_boxes(rng: np.random.Generator, shape: tuple[int, int], n: int) -> NDArray[np.float64]:
    """(n, 4) crop boxes (left, top, right, bottom): a square window of 50-70 % of the short
    side moving on a straight line between two uniform positions."""
    h, w = shape
    side = rng.uniform(0.5, 0.7) * min(h, w)
    start = rng.uniform((0.0, 0.0), (w - side, h - side))
    end = rng.uniform((0.0, 0.0), (w - side, h - side))
    t = np.linspace(0.0, 1.0, n)[:, None]
    corner = start + t * (end - start)
    return np.concatenate([corner, corner + side], axis=1)


def _zoom_boxes(rng: np.random.Generator, shape: tuple[int, int], n: int) -> NDArray[np.float64]:
    """(n, 4) crop boxes: a square window shrinking geometrically from the full short side to
    40 % of it around a uniform centre in the middle half, kept inside the photo."""
    h, w = shape
    short = min(h, w)
    sides = short * 0.4 ** np.linspace(0.0, 1.0, n)
    centre = rng.uniform((0.25 * w, 0.25 * h), (0.75 * w, 0.75 * h))
    half = sides[:, None] / 2.0
    lo = np.clip(centre - half, 0.0, np.array([w, h]) - 2.0 * half)
    return np.concatenate([lo, lo + 2.0 * half], axis=1)


def _crop_frames(
    photo: NDArray[np.uint8], boxes: NDArray[np.float64], size: int
) -> NDArray[np.uint8]:
    """Sub-pixel crops of ``photo`` at ``boxes`` resized to (size, size): (n, size, size, 3)."""
    from PIL import Image

    img = Image.fromarray(photo)
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for i, box in enumerate(boxes):
        out[i] = np.asarray(img.resize((size, size), Image.BILINEAR, box=tuple(box)))
    return out


def _periodic_noise(rng: np.random.Generator, size: int, scale: float) -> NDArray[np.float64]:
    """Smooth periodic noise (size, size) in [0, 1]: white noise low-passed with a Gaussian of
    ``scale`` cycles per image in the Fourier domain."""
    k = np.fft.fftfreq(size) * size
    radius2 = k[:, None] ** 2 + k[None, :] ** 2
    spectrum = np.fft.fft2(rng.standard_normal((size, size))) * np.exp(-radius2 / scale**2)
    field = np.fft.ifft2(spectrum).real
    return (field - field.min()) / max(np.ptp(field), 1e-12)


def _drifting_noise(
    rng: np.random.Generator, n: int, size: int, colormap: str
) -> NDArray[np.uint8]:
    """Two periodic noise layers rolled at different integer velocities (1-4 px a frame),
    averaged and coloured: (n, size, size, 3)."""
    layers = [_periodic_noise(rng, size, rng.uniform(3.0, 8.0)) for _ in range(2)]
    velocity = rng.integers(1, 5, size=(2, 2)) * rng.choice((-1, 1), size=(2, 2))
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for t in range(n):
        a, b = (
            np.roll(f, tuple(t * v), axis=(0, 1)) for f, v in zip(layers, velocity, strict=True)
        )
        out[t] = _apply_colormap(0.5 * (a + b), colormap)
    return out


def _bouncing_shapes(rng: np.random.Generator, n: int, size: int) -> NDArray[np.uint8]:
    """6-10 circles, squares and triangles of random colours moving at constant velocity on a
    vertical two-colour gradient, reflecting at the borders: (n, size, size, 3)."""
    from PIL import Image, ImageDraw

    top, bottom = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    backdrop = np.broadcast_to(top + ramp * (bottom - top), (size, size, 3)).astype(np.uint8)
    count = int(rng.integers(6, 11))
    kind = rng.integers(0, 3, size=count)
    radius = rng.uniform(0.05, 0.15, size=count) * size
    pos = rng.uniform(radius[:, None], size - radius[:, None], size=(count, 2))
    vel = rng.uniform(-0.02, 0.02, size=(count, 2)) * size
    colour = rng.integers(0, 256, size=(count, 3))
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for t in range(n):
        img = Image.fromarray(backdrop)
        draw = ImageDraw.Draw(img)
        for k, (x, y), r, c in zip(kind, pos, radius, colour, strict=True):
            fill = tuple(int(v) for v in c)
            if k == 0:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
            elif k == 1:
                draw.rectangle((x - r, y - r, x + r, y + r), fill=fill)
            else:
                draw.polygon(((x, y - r), (x + r, y + r), (x - r, y + r)), fill=fill)
        out[t] = np.asarray(img)
        pos += vel
        low, high = pos < radius[:, None], pos > size - radius[:, None]
        vel[low | high] *= -1.0
        pos = np.clip(pos, radius[:, None], size - radius[:, None])
    return out
