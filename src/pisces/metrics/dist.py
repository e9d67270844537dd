"""DIST: the local policy distance of the policy similarity metric (Eq. 3, term (A)).

The paper uses the total variation distance between action distributions when the action
space is discrete, and the ℓ1 distance between mean actions when it is continuous
(Section 3). For deterministic discrete policies TV reduces to an action-mismatch
indicator, which is the 0/1 cost of the jumping task (spec §4.1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pisces.metrics._validate import as_finite, check_stochastic


def total_variation(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """Total variation ``TV(p, q) = 0.5 * sum_a |p[..., a] - q[..., a]|`` along the last axis.

    Args:
        p: action distributions, shape (..., A); rows sum to 1.
        q: action distributions, broadcastable against ``p``, shape (..., A).

    Returns:
        TV distances in [0, 1], shape ``broadcast(p, q).shape[:-1]``.
    """
    pa = check_stochastic(as_finite(p, "p", min_ndim=1), "p")
    qa = check_stochastic(as_finite(q, "q", min_ndim=1), "q")
    if pa.shape[-1] != qa.shape[-1]:
        raise ValueError(f"p and q must have the same number of actions: {pa.shape} vs {qa.shape}")
    return 0.5 * np.abs(pa - qa).sum(axis=-1)


def pairwise_total_variation(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    """Pairwise TV between two sets of action distributions.

    Args:
        p: shape (n, A), the policy at states x_0..x_{n-1}.
        q: shape (m, A), the policy at states y_0..y_{m-1}.

    Returns:
        ``cost[i, j] = TV(p[i], q[j])``, shape (n, m).
    """
    pa = as_finite(p, "p", ndim=2)
    qa = as_finite(q, "q", ndim=2)
    if pa.shape[1] != qa.shape[1]:
        raise ValueError(f"p and q must have the same number of actions: {pa.shape} vs {qa.shape}")
    return total_variation(pa[:, None, :], qa[None, :, :])


def pairwise_l1_mean_actions(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Pairwise ℓ1 distance between mean continuous actions (DIST for continuous A).

    Args:
        a: mean actions at states x_i, shape (n, k) or (n,) for one action dimension.
        b: mean actions at states y_j, shape (m, k) or (m,).

    Returns:
        ``cost[i, j] = sum_k |a[i, k] - b[j, k]|``, shape (n, m).
    """
    aa = as_finite(a, "a", min_ndim=1)
    ba = as_finite(b, "b", min_ndim=1)
    if aa.ndim == 1:
        aa = aa[:, None]
    if ba.ndim == 1:
        ba = ba[:, None]
    if aa.ndim != 2 or ba.ndim != 2 or aa.shape[1] != ba.shape[1]:
        raise ValueError(
            f"a and b must be (n, k) and (m, k) with the same k, got {aa.shape} and {ba.shape}"
        )
    return np.abs(aa[:, None, :] - ba[None, :, :]).sum(axis=-1)


def action_mismatch_cost(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """0/1 cost between two deterministic discrete action sequences.

    ``cost[..., i, j] = 0 if a[..., i] == b[..., j] else 1``, which equals the TV distance
    between the one-hot policies (spec §4.1, the jumping-task cost).

    Args:
        a: integer actions, shape (..., n).
        b: integer actions, shape (..., m); leading axes broadcast against ``a``'s.

    Returns:
        float64 cost, shape (..., n, m).
    """
    aa = np.asarray(a)
    ba = np.asarray(b)
    for name, arr in (("a", aa), ("b", ba)):
        if arr.ndim < 1:
            raise ValueError(f"{name} must have at least 1 dimension, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must hold integer actions, got dtype {arr.dtype}")
    return (aa[..., :, None] != ba[..., None, :]).astype(np.float64)
