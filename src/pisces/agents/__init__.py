"""pisces.agents.

DCS (SAC + DrQ + PSEs), imported lazily on first use (``from pisces.agents import X``):

* :mod:`~pisces.agents.sac_drq`: :class:`SACDrQConfig`, :class:`SACDrQAgent`;
* :mod:`~pisces.agents.replay`: :class:`FrameReplay`, :class:`Transitions`;
* :mod:`~pisces.agents.augment`: :func:`random_shift`, :func:`shift_images`;
* :mod:`~pisces.agents.pse_dmc`: :class:`PSEConfig`, :class:`PSEStep`, :class:`PairDataset`,
  :func:`action_psm`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SACDrQConfig": "sac_drq",
    "SACDrQAgent": "sac_drq",
    "FrameReplay": "replay",
    "Transitions": "replay",
    "random_shift": "augment",
    "shift_images": "augment",
    "PSEConfig": "pse_dmc",
    "PSEStep": "pse_dmc",
    "PairDataset": "pse_dmc",
    "action_psm": "pse_dmc",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
