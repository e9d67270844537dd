"""DIST functions: hand-computed values and their relation to each other."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.metrics import (
    action_mismatch_cost,
    pairwise_l1_mean_actions,
    pairwise_total_variation,
    total_variation,
)


def test_total_variation_hand_computed() -> None:
    assert total_variation([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    assert total_variation([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert total_variation([0.2, 0.3, 0.5], [0.5, 0.3, 0.2]) == pytest.approx(0.3)
    batch = total_variation([[1.0, 0.0], [0.25, 0.75]], [0.5, 0.5])
    np.testing.assert_allclose(batch, [0.5, 0.25])


def test_pairwise_total_variation_matches_loop() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(3), size=4), rng.dirichlet(np.ones(3), size=5)
    got = pairwise_total_variation(p, q)
    assert got.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            assert got[i, j] == pytest.approx(0.5 * np.abs(p[i] - q[j]).sum())
    assert np.all((got >= 0) & (got <= 1))


def test_l1_mean_actions() -> None:
    a = np.array([[0.0, 1.0], [2.0, -1.0]])
    b = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(pairwise_l1_mean_actions(a, b), [[1.0], [3.0]])
    np.testing.assert_allclose(pairwise_l1_mean_actions([0.5, -0.5], [0.0]), [[0.5], [0.5]])


def test_action_mismatch_batched() -> None:
    a = np.array([[0, 1, 0], [1, 1, 1]])
    b = np.array([[0, 1], [0, 0]])
    cost = action_mismatch_cost(a, b)
    assert cost.shape == (2, 3, 2) and cost.dtype == np.float64
    np.testing.assert_array_equal(cost[0], [[0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(cost[1], np.ones((3, 2)))


def test_dist_errors() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        total_variation([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="number of actions"):
        total_variation([1.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        pairwise_total_variation([[np.nan, 1.0]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="same k"):
        pairwise_l1_mean_actions(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="integer"):
        action_mismatch_cost([0.5, 1.0], [0, 1])
