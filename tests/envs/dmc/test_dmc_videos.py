"""Video loading in the DAVIS layout and the offline substitutes (no dm_control needed)."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.dmc import substitute, videos
from pisces.envs.dmc.substitute import SUBSTITUTES, VideoSpec, generate_video
from pisces.envs.dmc.videos import TEST_VIDEOS, TRAIN_VIDEOS


def test_official_name_lists():
    assert TRAIN_VIDEOS == ("bear", "bmx-bumps")
    assert len(TEST_VIDEOS) == 30 == len(set(TEST_VIDEOS))
    assert TEST_VIDEOS[0] == "bike-packing" and TEST_VIDEOS[-1] == "soapbox"
    assert not set(TRAIN_VIDEOS) & set(TEST_VIDEOS)
    with pytest.raises(ValueError, match="unknown split"):
        videos.split_videos("val")


def test_davis_tree_loads_sorted_resized_and_flipped(tmp_path, davis_tree):
    written = davis_tree(tmp_path, {"bear": 5, "bmx-bumps": 3})
    base = videos.check_video_root(tmp_path, TRAIN_VIDEOS)
    names = [p.name for p in videos.frame_files(base / "bear")]
    assert names == sorted(names) == [f"{k:05d}.jpg" for k in range(5)]
    frames = videos.load_frames(base / "bear", 8)
    assert frames.shape == (5, 8, 8, 3) and frames.dtype == np.uint8
    assert not frames.flags.writeable
    # flat colours survive JPEG + resize within a few levels, in sorted (not creation) order
    expected = written["bear"][:, 0, 0, :].astype(int)
    assert np.abs(frames[:, 4, 4, :].astype(int) - expected).max() <= 6
    assert videos.load_frames(base / "bear", 8) is frames  # cached per (folder, size, flip)


def test_flip_at_load(tmp_path):
    from PIL import Image

    folder = tmp_path / "JPEGImages" / "480p" / "v"
    folder.mkdir(parents=True)
    img = np.zeros((8, 8, 3), np.uint8)
    img[:, :4, 0] = 255  # left half red
    img[:4, :, 2] = 255  # top half blue
    Image.fromarray(img).save(folder / "0.png")
    plain = videos.load_frames(folder, 8)[0]
    assert np.array_equal(videos.load_frames(folder, 8, flip="lr")[0], plain[:, ::-1])
    assert np.array_equal(videos.load_frames(folder, 8, flip="ud")[0], plain[::-1])
    with pytest.raises(ValueError, match="flip"):
        videos.load_frames(folder, 8, flip="x")


def test_missing_and_empty_roots_are_named(tmp_path, davis_tree):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        videos.check_video_root(missing, TRAIN_VIDEOS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no videos"):
        videos.check_video_root(tmp_path / "empty", TRAIN_VIDEOS)
    davis_tree(tmp_path / "partial", {"bear": 2})
    with pytest.raises(FileNotFoundError, match="bmx-bumps"):
        videos.check_video_root(tmp_path / "partial", TRAIN_VIDEOS)


def test_video_without_frames_is_an_error_naming_it(tmp_path):
    folder = tmp_path / "JPEGImages" / "480p" / "bear"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("no frames here")
    with pytest.raises(ValueError, match=f"{folder}.*no frames"):
        videos.load_frames(folder, 8)


def test_substitutes_cover_the_names_with_disjoint_sources():
    assert tuple(SUBSTITUTES) == TRAIN_VIDEOS + TEST_VIDEOS
    train = {SUBSTITUTES[n].source for n in TRAIN_VIDEOS}
    test = [SUBSTITUTES[n].source for n in TEST_VIDEOS]
    assert train == {"chelsea", "motorcycle_left"}
    assert not train & set(test)
    # photo, motion and colormap combinations are all different (procedural seeds differ)
    recipes = [(s.source, s.motion, s.colormap, s.seed) for s in SUBSTITUTES.values()]
    assert len(set(recipes)) == 32
    assert {SUBSTITUTES[n].source for n in TEST_VIDEOS} >= {"noise", "shapes", "astronaut"}


@pytest.mark.parametrize("name", ["bear", "bmx-bumps", "blackswan", "bmx-trees", "camel"])
def test_generated_videos_are_deterministic_and_move(name):
    spec = SUBSTITUTES[name]
    a = generate_video(spec, num_frames=6, size=32)
    b = generate_video(spec, num_frames=6, size=32)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    steps = np.abs(np.diff(a.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0.5).all(), steps  # every frame differs from the one before


def test_training_and_test_pixels_differ():
    train = [generate_video(SUBSTITUTES[n], 4, 32).astype(float) for n in TRAIN_VIDEOS]
    for name in TEST_VIDEOS[:6]:
        test = generate_video(SUBSTITUTES[name], 4, 32).astype(float)
        assert min(np.abs(test - t).mean() for t in train) > 5.0


def test_substitute_cache_in_davis_layout(tmp_path):
    root = substitute.substitute_root(tmp_path)
    assert root == tmp_path / "dmc_videos" / substitute.VERSION
    folder = substitute.ensure_substitute_video("bear", root)
    assert folder == root / "JPEGImages" / "480p" / "bear"
    files = videos.frame_files(folder)
    assert len(files) == substitute.NUM_FRAMES and files[0].name == "00000.jpg"
    assert substitute.ensure_substitute_video("bear", root) == folder  # reused, not rebuilt
    assert [p.name for p in folder.parent.iterdir()] == ["bear"]  # no temporary left over
    frames = videos.load_frames(folder, substitute.FRAME_SIZE)
    expected = generate_video(SUBSTITUTES["bear"])
    assert np.abs(frames.astype(int) - expected).mean() < 3.0  # JPEG quality 90


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PISCES_CACHE", str(tmp_path))
    assert substitute.default_cache_dir() == tmp_path
    monkeypatch.delenv("PISCES_CACHE")
    assert substitute.default_cache_dir().parts[-2:] == (".cache", "pisces")
    with pytest.raises(ValueError, match="no substitute video"):
        substitute.ensure_substitute_video("nosuchvideo", tmp_path)
    with pytest.raises(ValueError, match="unknown motion"):
        generate_video(VideoSpec("x", "astronaut", "spin"))
