r"""DrQ's random-shift augmentation: replicate-pad by ``p`` pixels, crop back to H × W.

For an image ``x (C, H, W)`` and an integer shift ``(dy, dx) ∈ [-p, p]²``::

    out[c, i, j] = x[c, clamp(i + dy, 0, H - 1), clamp(j + dx, 0, W - 1)]

which is exactly "pad ``p`` pixels by edge replication, crop H × W at offset
``(dy + p, dx + p)``" (DrQ: ``ReplicationPad2d(4)`` + ``RandomCrop(84)``; the official TF code
pads 'SYMMETRIC' instead, the spec keeps DrQ's replicate). Shift ``(0, 0)`` is the identity.
Integer shifts only, no interpolation, so uint8 frames stay uint8 and exact.

Every channel of a sample gets the same shift, so the 3 stacked frames of an observation are
cropped alike (temporal consistency, paper App. I.4). :func:`random_shift` draws one shift per
sample (DrQ); the PSE step draws **one** shift for all observations of a pair of episodes
(spec dcs §3) with :func:`sample_shifts` ``(1, …)`` and :func:`shift_images`.
"""

from __future__ import annotations

import torch

#: DrQ's padding (spec dcs §2: pad 4, crop 84).
IMAGE_PAD = 4


def sample_shifts(
    n: int, pad: int, generator: torch.Generator, device: torch.device | str | None = None
) -> torch.Tensor:
    """``n`` integer shifts ``(dy, dx)``, i.i.d. uniform on ``{-pad, …, pad}²``: int64 (n, 2).

    Drawn on ``generator``'s device and moved to ``device`` (default: the same).
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    shifts = torch.randint(
        0, 2 * pad + 1, (n, 2), generator=generator, device=generator.device
    ).sub_(pad)
    return shifts if device is None else shifts.to(device)


def shift_images(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Replicate-pad-and-crop ``x (N, C, H, W)`` by integer ``shifts`` (N, 2) or (1, 2).

    ``out[n, c, i, j] = x[n, c, clamp(i + dy_n, 0, H-1), clamp(j + dx_n, 0, W-1)]``; a shift
    of at most ``p`` in each direction equals padding ``p`` by replication and cropping. A
    ``(1, 2)`` shift is shared by all N images. Any dtype; returns a new contiguous tensor.

    One ``gather`` over the flattened pixels with device-side indices (no host sync); on this
    CPU ~37 ms per 512 uint8 observations of 9 × 84 × 84, 15× faster than index-select padding.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be (N, C, H, W), got {tuple(x.shape)}")
    n, c, h, w = x.shape
    if shifts.dim() != 2 or shifts.shape[1] != 2 or shifts.shape[0] not in (1, n):
        raise ValueError(f"shifts must be ({n}, 2) or (1, 2), got {tuple(shifts.shape)}")
    dev = x.device
    shifts = shifts.to(dev).expand(n, 2)
    rows = (torch.arange(h, device=dev) + shifts[:, :1]).clamp_(0, h - 1)  # (N, H)
    cols = (torch.arange(w, device=dev) + shifts[:, 1:]).clamp_(0, w - 1)  # (N, W)
    flat = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    return x.reshape(n, c, h * w).gather(2, flat).view(n, c, h, w)


def random_shift(
    x: torch.Tensor, pad: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """DrQ augmentation with one shift per sample: ``x (N, C, H, W) → (out, shifts (N, 2))``."""
    shifts = sample_shifts(x.shape[0], pad, generator, x.device)
    return shift_images(x, shifts), shifts
