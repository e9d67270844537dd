"""Ping-pong playback (the benchmark's dynamic background), without dm_control."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.envs.dmc import Background, ping_pong, ping_pong_index


def _iterate(start: int, direction: int, length: int, n: int) -> list[int]:
    out, index = [start], start
    for _ in range(n):
        index, direction = ping_pong(index, direction, length)
        out.append(index)
    return out


def test_five_frame_video_from_zero_going_up():
    assert _iterate(0, +1, 5, 9) == [0, 1, 2, 3, 4, 3, 2, 1, 0, 1]


def test_reverses_at_either_end_before_moving():
    assert _iterate(0, -1, 5, 3) == [0, 1, 2, 3]
    assert _iterate(4, +1, 5, 3) == [4, 3, 2, 1]
    assert _iterate(2, -1, 5, 6) == [2, 1, 0, 1, 2, 3, 4]


def test_one_frame_video_stands_still():
    assert _iterate(0, +1, 1, 4) == [0] * 5
    assert ping_pong_index(0, -1, 1, np.arange(4)).tolist() == [0] * 4


@pytest.mark.parametrize("length", [1, 2, 3, 5, 6])
def test_closed_form_matches_the_step_rule(length):
    steps = np.arange(40)
    for start in range(length):
        for direction in (-1, 1):
            expected = _iterate(start, direction, length, 39)
            assert ping_pong_index(start, direction, length, steps).tolist() == expected


def test_no_cuts_consecutive_indices_differ_by_one():
    seq = np.array(_iterate(3, -1, 7, 100))
    assert set(np.abs(np.diff(seq)).tolist()) == {1}
    assert seq.min() == 0 and seq.max() == 6


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="at least one frame"):
        ping_pong(0, 1, 0)
    with pytest.raises(ValueError, match="direction"):
        ping_pong(0, 2, 5)
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="start frame"):
        Background(frames, index=3)
    with pytest.raises(ValueError, match="uint8"):
        Background(np.zeros((3, 4, 5, 3), np.uint8))


def test_background_advance_and_seeded_draw():
    frames = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    bg = Background(frames, 0, 1)
    assert [bg.advance() for _ in range(6)] == [1, 2, 3, 4, 3, 2]
    assert int(bg.frame[0, 0, 0]) == 2
    a = Background.random(frames, np.random.default_rng(7))
    b = Background.random(frames, np.random.default_rng(7))
    assert (a.index, a.direction) == (b.index, b.direction)
    draws = {Background.random(frames, np.random.default_rng(s)).index for s in range(40)}
    assert draws == set(range(5))
