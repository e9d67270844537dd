"""`pisces metrics heatmap`: tiny end-to-end run into a temporary directory."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from pisces.experiments.jumping import heatmap as metric_heatmap
from pisces.metrics import action_mismatch_cost, trajectory_psm


def spec_actions(obstacle_position: int) -> np.ndarray:
    """Spec §1.5: 56 actions, RIGHT (0) except one JUMP (1) at step p - 14."""
    a = np.zeros(56, dtype=np.int64)
    a[obstacle_position - 14] = 1
    return a


def test_heatmap_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    metric_heatmap.configure(parser)
    args = parser.parse_args(["--out", str(tmp_path / "m"), "--obstacles", "22", "35"])
    assert args.floor == 10 and args.func is metric_heatmap.run
    assert args.func(args) == 0
    out = tmp_path / "m"
    png = out / "metric_heatmap.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d_psm = np.load(out / "psm.npy")
    expected = trajectory_psm(action_mismatch_cost(spec_actions(22), spec_actions(35)), gamma=0.999)
    np.testing.assert_array_equal(d_psm, expected)
    d_bisim = np.load(out / "pi_bisimulation.npy")
    assert d_bisim.shape == (56, 56)
    assert np.all(np.diag(d_bisim) == 0) and d_bisim.max() > 5000  # spec §4.4
    assert str(png) in capsys.readouterr().out
