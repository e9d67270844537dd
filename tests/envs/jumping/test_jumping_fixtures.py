"""The environment against trajectories recorded from the original env (pixels, rewards)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pisces.envs.jumping import rollout

#: recorded from the original env (tests/data/README.md); committed, so a plain clone has it
FIXTURES = Path(__file__).resolve().parents[2] / "data" / "jumping_original_samples.npz"
CASES = [
    ("white_opt_27_13", 27, 13, None, True),
    ("white_opt_44_19", 44, 19, None, True),
    ("white_early_33_16", 33, 16, None, False),
    ("white_late_33_16", 33, 16, None, False),
    ("white_never_21_11", 21, 11, None, False),
    ("red_36_14", 36, 14, "red", True),
    ("green_36_14", 36, 14, "green", True),
]


@pytest.fixture(scope="module")
def recorded() -> dict[str, np.ndarray]:
    with np.load(FIXTURES) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize(("name", "p", "f", "color", "success"), CASES)
def test_matches_original(recorded, name, p, f, color, success) -> None:
    actions = recorded[f"{name}_actions"]
    out = rollout(p, f, actions, color)
    # Recorded episodes end at the first termination: same length, same pixels and rewards.
    assert out.terminated and not out.truncated
    assert out.success == success
    assert out.observations.dtype == np.float32
    np.testing.assert_array_equal(out.observations, recorded[f"{name}_obs"])
    np.testing.assert_array_equal(out.rewards, recorded[f"{name}_rewards"])
    np.testing.assert_array_equal(out.actions, actions)
