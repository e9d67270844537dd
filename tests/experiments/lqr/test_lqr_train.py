"""LQR training: configs, PSM pairs, seeded batches, devices, the prox penalty."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pisces.envs.lqr import (
    make_system,
    observation_matrix,
    oracle,
    sample_distractors,
    uniform_orthogonal,
)
from pisces.experiments.lqr import cli as cli_lqr
from pisces.experiments.lqr import train as lqr_train
from pisces.experiments.lqr.config import LQRConfig, get_preset
from pisces.experiments.lqr.pairs import psm_pairs

F64 = torch.float64


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "nope"}, "unknown method"),
        ({"lam": -1.0}, "lambda"),
        ({"n_distractors": 5}, "n_distractors"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"adam_impl": "apex"}, "adam_impl"),
        ({"device": "gpu"}, "unknown device"),
        ({"penalty": "l2"}, "unknown penalty"),
        ({"method": "overparam", "penalty": "prox"}, "prox"),
        ({"device": "cuda:x"}, "unknown device"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LQRConfig(**kwargs)


def test_bad_sizes_and_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("bogus")
    with pytest.raises(ValueError):
        uniform_orthogonal(np.random.default_rng(0), 3, 5)
    with pytest.raises(ValueError, match="n_distractors"):
        sample_distractors(np.random.default_rng(0), 10)


def test_psm_pairs_are_exactly_the_same_state_pairs():
    system = make_system(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    wx, wy = (observation_matrix(system.wc, sample_distractors(rng, 40)) for _ in range(2))
    _, gain, _ = oracle(system)
    pairs = psm_pairs(
        system, gain, wx, wy, np.random.default_rng(2), rollouts=6, horizon=8, gamma=0.99, tol=1e-8
    )
    expected = np.array([(a, t) for a in range(6) for t in range(8)])
    np.testing.assert_array_equal(pairs.index_x, expected)
    np.testing.assert_array_equal(pairs.index_y, expected)
    off = pairs.psm[~np.eye(6, dtype=bool)]
    assert off.min() > 1e3 * 1e-8 * pairs.psm.max()  # no near-miss between distinct states
    assert pairs.residual < 1e-10


@pytest.mark.parametrize("method", ["overparam", "psm", "ipo"])
def test_fused_adam_trains_like_reference(method):
    cfg = get_preset(method).replace(
        n_distractors=30, iterations=60, n_test_envs=2, dtype="float32"
    )
    (ref,) = lqr_train.train_batch(cfg, [3])
    (fused,) = lqr_train.train_batch(cfg.replace(adam_impl="fused"), [3])
    assert np.isfinite(ref["test_error"])
    assert fused["test_error"] == pytest.approx(ref["test_error"], rel=1e-3)
    assert fused["train_error"] == pytest.approx(ref["train_error"], rel=1e-3)


def test_l1_collapses_and_training_is_seeded():
    cfg = get_preset("l1").replace(n_distractors=30, iterations=20, n_test_envs=2)
    (res,) = lqr_train.train_batch(cfg, [4])
    assert res["test_error"] == pytest.approx(28.157, abs=5e-4)
    cfg = get_preset("psm").replace(n_distractors=30, iterations=30, n_test_envs=2)
    r1, r2 = lqr_train.train_batch(cfg, [1, 2]), lqr_train.train_batch(cfg, [1])
    assert r1[0]["test_error"] == r2[0]["test_error"]
    assert r1[0]["pairs_are_same_state"]


def test_default_batch_per_device():
    assert cli_lqr.default_batch(500, "cpu") == 25
    assert cli_lqr.default_batch(10000, "cpu") == 2
    assert cli_lqr.default_batch(10000, "cuda") == 100


def test_train_batch_refuses_cuda_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    cfg = get_preset("overparam").replace(n_distractors=25, iterations=1, device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        lqr_train.train_batch(cfg, [1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("method", ["overparam", "psm", "ipo", "l1", "random-penalty"])
def test_cuda_trains_like_cpu(method):
    """The GPU path (whole batch on the device) gives the CPU's numbers up to rounding."""
    cfg = get_preset(method).replace(n_distractors=40, iterations=200, n_test_envs=3)
    cpu = lqr_train.train_batch(cfg, [1, 2])
    gpu = lqr_train.train_batch(cfg.replace(device="cuda"), [1, 2])
    for c, g in zip(cpu, gpu, strict=True):
        assert g["test_errors"] == pytest.approx(c["test_errors"], rel=1e-6)
        assert g["train_curve"] == pytest.approx(c["train_curve"], rel=1e-6)


def test_prox_penalty_keeps_the_constraint_out_of_adam():
    """penalty="prox" enforces the PSM aggregation (‖K1 P‖² far below the unpenalised run's)
    without touching Adam's moments; in the gradient the same penalty inflates Adam's v on
    the distractor columns by orders of magnitude."""
    small = {"n_distractors": 40, "iterations": 150, "n_test_envs": 2}
    (grad,) = lqr_train.train_batch(get_preset("psm").replace(**small), [2])
    prox_cfg = get_preset("psm-prox").replace(**small)
    (prox,) = lqr_train.train_batch(prox_cfg, [2])
    (free,) = lqr_train.train_batch(prox_cfg.replace(lam=0.0), [2])  # same P, no penalty
    (plain,) = lqr_train.train_batch(get_preset("overparam").replace(**small), [2])
    assert prox["pair_loss"] < 1e-2 * free["pair_loss"]
    assert grad["pair_loss"] < 1e-2 * free["pair_loss"]
    assert prox["adam_v_distractor"] < 10 * plain["adam_v_distractor"]
    assert grad["adam_v_distractor"] > 1e3 * plain["adam_v_distractor"]
    assert free["test_error"] == plain["test_error"]  # λ = 0: the plain overparam run
    for r in (grad, prox, plain):
        assert 0 < r["adam_v_invariant"] and 0 < r["adam_v_distractor"]
    assert "pair_loss" not in plain
    (untrained,) = lqr_train.train_batch(prox_cfg.replace(iterations=0), [2])
    assert "adam_v_distractor" not in untrained and untrained["pair_loss"] > 0
