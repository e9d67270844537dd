"""Rollouts of the LQR system under its oracle, acting on observations (spec lqr §4)."""

from __future__ import annotations

import numpy as np

from pisces.envs.lqr.system import LQRSystem


def oracle_rollouts(
    system: LQRSystem, gain: np.ndarray, w: np.ndarray, s0: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Roll out the observation-based oracle ``a = L* W⁺ o`` in one environment.

    Args:
        system: the seed's system; gain: L* (na × ns); w: W (D × ns); s0: (M, ns).
        horizon: T.

    Returns:
        observations (M, T, D) and actions (M, T, na).
    """
    policy = gain @ np.linalg.solve(w.T @ w, w.T)  # (na, D) = L* W⁺
    s = s0
    obs, acts = [], []
    for _ in range(horizon):
        o = s @ w.T
        act = o @ policy.T
        obs.append(o)
        acts.append(act)
        s = s @ system.a.T + act @ system.b.T
    return np.stack(obs, 1), np.stack(acts, 1)
