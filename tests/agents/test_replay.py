"""Frame-stack replay ring (spec dcs §2, §6): stacking at episode boundaries, the write head,
termination vs truncation, checkpoints."""

from __future__ import annotations

import io

import pytest
import torch

from pisces.agents.replay import FrameReplay


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on the shared 2-core machine, OpenMP barriers of tiny ops under
    load cost 40× more than the ops themselves (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


FRAME = (3, 2, 2)


def _frame(value: int) -> torch.Tensor:
    return torch.full(FRAME, value, dtype=torch.uint8)


def _values(obs: torch.Tensor) -> list[list[int]]:
    """Frame ids of stacked observations (B, 9, 2, 2) -> [[oldest, middle, newest], ...]."""
    return obs.view(obs.shape[0], 3, -1)[:, :, 0].tolist()


def _fill(buf: FrameReplay, episodes: list[tuple[int, int, bool]]) -> dict[int, list[int]]:
    """Write episodes (first frame id, length, terminated?) with frame id = step id; return
    {next-frame id: the episode's frame ids up to it}."""
    history: dict[int, list[int]] = {}
    for first, length, terminated in episodes:
        buf.start_episode(_frame(first))
        ids = [first]
        for t in range(1, length + 1):
            last = t == length
            fid = first + t
            buf.add(
                torch.full((2,), float(fid)),
                float(fid),
                _frame(fid),
                terminated=last and terminated,
                truncated=last and not terminated,
            )
            ids.append(fid)
            history[fid] = list(ids)
    return history


def _stack(ids: list[int], t: int) -> list[int]:
    """FrameStack semantics: frames t-2, t-1, t of the episode, clamped at its start."""
    return [ids[max(t - k, 0)] for k in (2, 1, 0)]


def test_stacking_at_episode_boundaries_and_discounts():
    buf = FrameReplay(100, 2, frame_shape=FRAME)
    # episode A: frames 10..14 (4 steps, terminated); B: 20..22 (2 steps, truncated);
    # C: 30..31 (1 step, terminated); D: 40..45 (5 steps, truncated)
    hist = _fill(buf, [(10, 4, True), (20, 2, False), (30, 1, True), (40, 5, False)])
    assert len(buf) == 4 + 2 + 1 + 5
    batch = buf.sample(2000, torch.Generator().manual_seed(0))
    nxt, obs = _values(batch.next_obs), _values(batch.obs)
    seen = set()
    for i, (o, n) in enumerate(zip(obs, nxt, strict=True)):
        fid = n[-1]
        ids = hist[fid]
        t = len(ids) - 1
        assert n == _stack(ids, t) and o == _stack(ids, t - 1)
        assert batch.action[i].tolist() == [float(fid)] * 2 and batch.reward[i] == fid
        terminal = fid in (14, 31)
        assert batch.discount[i] == (0.0 if terminal else 1.0)  # truncation keeps 1 (22, 45)
        seen.add(fid)
    assert seen == set(hist)  # every transition is sampled, and only those
    # hand-checked cases: the first transition repeats the first frame
    assert _stack(hist[11], 0) == [10, 10, 10] and _stack(hist[11], 1) == [10, 10, 11]
    assert _stack(hist[45], 5) == [43, 44, 45]


def test_never_samples_across_the_write_head():
    cap = 7
    buf = FrameReplay(cap, 2, frame_shape=FRAME)
    assert buf.num_slots == cap + 3 and buf.frames.shape == (cap + 3, *FRAME)
    hist = _fill(buf, [(10, 9, True), (30, 4, False), (50, 6, True)])  # wraps the ring twice
    # the most recent `cap` slots: 50..56 minus the episode-first slot 50 -> 51..56
    recent = {51, 52, 53, 54, 55, 56}
    assert len(buf) == len(recent)
    batch = buf.sample(3000, torch.Generator().manual_seed(1))
    for o, n in zip(_values(batch.obs), _values(batch.next_obs), strict=True):
        ids = hist[n[-1]]
        t = len(ids) - 1
        assert n[-1] in recent
        assert n == _stack(ids, t) and o == _stack(ids, t - 1)
    assert {n[-1] for n in _values(batch.next_obs)} == recent


def test_overwritten_episode_start_keeps_stacks_intact():
    # a long episode in a tiny ring: stacks near the window's end still see 3 intact frames
    buf = FrameReplay(4, 2, frame_shape=FRAME)
    hist = _fill(buf, [(100, 20, False)])
    batch = buf.sample(500, torch.Generator().manual_seed(2))
    assert {n[-1] for n in _values(batch.next_obs)} == {117, 118, 119, 120}
    for o, n in zip(_values(batch.obs), _values(batch.next_obs), strict=True):
        ids = hist[n[-1]]
        assert o == _stack(ids, len(ids) - 2) and n == _stack(ids, len(ids) - 1)


def test_api_checks():
    buf = FrameReplay(10, 2, frame_shape=FRAME)
    with pytest.raises(RuntimeError, match="no sampleable"):
        buf.sample(1, torch.Generator())
    with pytest.raises(RuntimeError, match="start_episode"):
        buf.add(torch.zeros(2), 0.0, _frame(1), terminated=False, truncated=False)
    buf.start_episode(torch.cat([_frame(7)] * 3))  # a reset stack: its newest frame is kept
    assert buf.frames[0, 0, 0, 0] == 7
    with pytest.raises(ValueError, match="action must be"):
        buf.add(torch.zeros(3), 0.0, _frame(1), terminated=False, truncated=False)
    with pytest.raises(ValueError, match="uint8"):
        buf.add(torch.zeros(2), 0.0, _frame(1).float(), terminated=False, truncated=False)
    with pytest.raises(ValueError, match="frame must be"):
        buf.add(torch.zeros(2), 0.0, torch.zeros(3, 4, 4, dtype=torch.uint8), False, False)
    buf.add(torch.zeros(2), 0.0, _frame(8), terminated=True, truncated=False)
    with pytest.raises(RuntimeError, match="start_episode"):
        buf.add(torch.zeros(2), 0.0, _frame(9), terminated=False, truncated=False)
    with pytest.raises(ValueError, match="capacity"):
        FrameReplay(0, 2)


def test_state_dict_roundtrip_resumes_identically():
    a = FrameReplay(12, 2, frame_shape=FRAME)
    _fill(a, [(10, 8, True), (30, 3, False)])
    a.start_episode(_frame(60))
    a.add(torch.ones(2), 1.0, _frame(61), terminated=False, truncated=False)
    blob = io.BytesIO()
    torch.save(a.state_dict(), blob)
    blob.seek(0)
    b = FrameReplay(12, 2, frame_shape=FRAME)
    b.load_state_dict(torch.load(blob))
    assert len(a) == len(b)
    for buf in (a, b):  # continue the open episode in both
        buf.add(torch.ones(2), 2.0, _frame(62), terminated=False, truncated=True)
    sa = a.sample(64, torch.Generator().manual_seed(3))
    sb = b.sample(64, torch.Generator().manual_seed(3))
    for x, y in zip(sa, sb, strict=True):
        assert torch.equal(x, y)
    with pytest.raises(ValueError, match="geometry"):
        FrameReplay(13, 2, frame_shape=FRAME).load_state_dict(a.state_dict())


def test_real_84px_frames_give_9_channel_stacks():
    buf = FrameReplay(8, 6)
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (4, 3, 84, 84), dtype=torch.uint8, generator=g)
    buf.start_episode(frames[0])
    for t in range(1, 4):
        buf.add(torch.zeros(6), 0.5, frames[t], terminated=False, truncated=t == 3)
    batch = buf.sample(16, torch.Generator().manual_seed(1))
    assert batch.obs.shape == batch.next_obs.shape == (16, 9, 84, 84)
    assert batch.obs.dtype == torch.uint8 and batch.action.shape == (16, 6)
    for o, n in zip(batch.obs, batch.next_obs, strict=True):
        assert torch.equal(o[3:], n[:6])  # consecutive stacks share two frames
    assert buf.frames.numel() == (8 + 3) * 3 * 84 * 84  # single frames, not stacks
