"""Shared test configuration: deterministic hypothesis, one torch thread per test process."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI must be deterministic: fixed example order, no deadline (2 shared cores are noisy).
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# One torch thread in every test process, with or without xdist: a reduction's order (hence
# its last bits) depends on the thread count, and comparisons such as the vmapped-vs-per-seed
# colored step are tuned to the single-threaded numbers `make test` (-n 2) sees.
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass
