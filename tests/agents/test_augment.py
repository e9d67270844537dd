"""DrQ random shift (spec dcs §2, §3): replicate pad + crop, per-sample and shared shifts."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from pisces.agents.augment import random_shift, sample_shifts, shift_images


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on the shared 2-core machine, OpenMP barriers of tiny ops under
    load cost 40× more than the ops themselves (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _reference(x: torch.Tensor, shifts: torch.Tensor, pad: int) -> torch.Tensor:
    """Pad by replication, crop H × W at offset (dy + pad, dx + pad): DrQ's definition."""
    h, w = x.shape[-2:]
    padded = F.pad(x.double(), (pad, pad, pad, pad), mode="replicate")
    crops = [
        padded[i, :, dy + pad : dy + pad + h, dx + pad : dx + pad + w]
        for i, (dy, dx) in enumerate(shifts.tolist())
    ]
    return torch.stack(crops).to(x.dtype)


def test_matches_pad_and_crop_on_uint8_at_84px():
    x = torch.randint(
        0, 256, (6, 9, 84, 84), dtype=torch.uint8, generator=torch.Generator().manual_seed(10)
    )
    out, shifts = random_shift(x, 4, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8 and out.is_contiguous()
    assert torch.equal(out, _reference(x, shifts, 4))


def test_shift_range_and_per_sample_draws():
    g = torch.Generator().manual_seed(1)
    shifts = sample_shifts(4000, 4, g)
    assert shifts.shape == (4000, 2) and shifts.dtype == torch.int64
    assert shifts.min() == -4 and shifts.max() == 4
    assert set(shifts.flatten().tolist()) == set(range(-4, 5))
    # per-sample: identical inputs get different crops
    x = torch.arange(16 * 16, dtype=torch.float32).view(1, 1, 16, 16).repeat(32, 3, 1, 1)
    out, s = random_shift(x, 4, g)
    assert len({tuple(v) for v in s.tolist()}) > 1
    distinct = {out[i].flatten().tolist().__repr__() for i in range(32)}
    assert len(distinct) == len({tuple(v) for v in s.tolist()})
    # every frame (channel group) of one sample is shifted alike
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])


def test_zero_shift_is_identity_and_pad_zero_never_shifts():
    x = torch.randint(
        0, 256, (5, 9, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(11)
    )
    assert torch.equal(shift_images(x, torch.zeros(5, 2, dtype=torch.int64)), x)
    out, s = random_shift(x, 0, torch.Generator().manual_seed(0))
    assert torch.equal(out, x) and torch.count_nonzero(s) == 0


def test_a_single_shift_is_shared_by_all_images():
    x = torch.randint(
        0, 256, (7, 6, 10, 10), dtype=torch.uint8, generator=torch.Generator().manual_seed(12)
    )
    shift = torch.tensor([[3, -2]])
    out = shift_images(x, shift)
    assert torch.equal(out, _reference(x, shift.expand(7, 2), 3))
    # an edge pixel is replicated: shifting right by 3 repeats the last row 3 times
    assert torch.equal(out[:, :, -3:, :], out[:, :, -1:, :].expand(-1, -1, 3, -1))


def test_seeded_and_checked():
    x = torch.randint(
        0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(13)
    )
    a, _ = random_shift(x, 2, torch.Generator().manual_seed(5))
    b, _ = random_shift(x, 2, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="shifts must be"):
        shift_images(x, torch.zeros(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="x must be"):
        shift_images(x[0], torch.zeros(1, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="pad"):
        sample_shifts(1, -1, torch.Generator())
