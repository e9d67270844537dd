"""LQR with distractors: env against references, methods, PSM pairs, CLI (issue 5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from pisces import cli
from pisces.envs.lqr import (
    haar_orthogonal,
    lqr_cost,
    lqr_cost_and_grad,
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


def _system_tensors(seed: int = 0):
    system = make_system(np.random.default_rng(seed))
    return system, [torch.tensor(getattr(system, n)) for n in "abqr"]


def test_oracle_and_zero_policy_match_spec():
    system, (a, b, q, r) = _system_tensors()
    _, gain, j_star = oracle(system)
    assert j_star == pytest.approx(27.399, abs=5e-4)
    j0 = float(lqr_cost(torch.zeros(20, 20, dtype=F64), a, b, q, r))
    assert j0 == pytest.approx(1 / (1 - 0.64) * 20)
    assert j0 - j_star == pytest.approx(28.157, abs=5e-4)
    assert float(lqr_cost(torch.tensor(gain), a, b, q, r)) == pytest.approx(j_star, rel=1e-10)


def test_cost_matches_scipy_lyapunov():
    import scipy.linalg

    system, (a, b, q, r) = _system_tensors(3)
    keff = 0.1 * np.random.default_rng(1).standard_normal((20, 20))
    acl = system.a + keff
    p = scipy.linalg.solve_discrete_lyapunov(acl.T, np.eye(20) + keff.T @ keff)
    assert float(lqr_cost(torch.tensor(keff), a, b, q, r)) == pytest.approx(np.trace(p), rel=1e-10)


def test_exact_gradient_vs_autodiff_and_finite_differences():
    system, (a, b, q, r) = _system_tensors(1)
    rng = np.random.default_rng(2)
    w = observation_matrix(system.wc, sample_distractors(rng, 30))
    wt = torch.tensor(w)
    k = torch.tensor(0.05 * rng.standard_normal((20, 50)), requires_grad=True)
    cost, grad_eff = lqr_cost_and_grad(k.detach() @ wt, a, b, q, r)
    grad_k = grad_eff @ wt.T
    # autodiff through a Kronecker-product solve of the Lyapunov equation (independent path)
    keff = k @ wt
    acl = a + b @ keff
    qeff = q + keff.T @ r @ keff
    eye = torch.eye(400, dtype=F64)
    p = torch.linalg.solve(eye - torch.kron(acl.T, acl.T), qeff.reshape(-1)).reshape(20, 20)
    torch.trace(p).backward()
    assert float(torch.trace(p).detach()) == pytest.approx(float(cost), rel=1e-9)
    torch.testing.assert_close(grad_k, k.grad, rtol=1e-7, atol=1e-9)
    # central finite differences along random directions
    for _ in range(3):
        d = torch.tensor(rng.standard_normal((20, 50)))
        h = 1e-6
        jp = lqr_cost((k.detach() + h * d) @ wt, a, b, q, r)
        jm = lqr_cost((k.detach() - h * d) @ wt, a, b, q, r)
        fd = float((jp - jm) / (2 * h))
        assert fd == pytest.approx(float((grad_k * d).sum()), rel=1e-5)


def test_unstable_gain_gives_inf_not_nan():
    _, (a, b, q, r) = _system_tensors()
    keff = torch.stack([torch.zeros(20, 20, dtype=F64), 2.0 * torch.eye(20, dtype=F64)])
    cost, grad = lqr_cost_and_grad(keff, a, b, q, r)
    assert torch.isfinite(cost[0]) and torch.isinf(cost[1]) and cost[1] > 0
    assert not torch.isnan(grad).any() and (grad[1] == 0).all()


def test_samplers_semi_orthogonal_and_shared_direction():
    rng = np.random.default_rng(0)
    wd = np.stack([sample_distractors(rng, 400) for _ in range(20)])
    for m in wd:
        np.testing.assert_allclose(m.T @ m, np.eye(20), atol=1e-12)
    cos = [abs(wd[i][:, 0] @ wd[i + 1][:, 0]) for i in range(0, 20, 2)]
    assert np.mean(cos) == pytest.approx(0.75, abs=0.03)
    assert abs(haar_orthogonal(rng, 400, 20)[:, 0] @ haar_orthogonal(rng, 400, 20)[:, 0]) < 0.3
    # reduced QR equals the first columns of the full QR of the same uniform matrix
    u = np.random.default_rng(5).random((60, 20))
    q_full, r_full = np.linalg.qr(np.concatenate([u, np.ones((60, 40))], 1), mode="complete")
    q_full = (q_full * np.sign(np.diag(r_full)))[:, :20]
    np.testing.assert_allclose(
        uniform_orthogonal(np.random.default_rng(5), 60, 20), q_full, atol=1e-12
    )
    o = uniform_orthogonal(rng, 20)
    np.testing.assert_allclose(o @ o.T, np.eye(20), atol=1e-12)


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


def test_ipo_update_order_uses_latest_policy():
    """Env 2's step must see K = mean(K_1 updated, K_2): a hand-written reference."""
    system, (a, b, q, r) = _system_tensors()
    rng = np.random.default_rng(3)
    w = torch.tensor(
        np.stack([observation_matrix(system.wc, sample_distractors(rng, 25)) for _ in range(2)])
    )[None]
    k_init = [torch.tensor(0.01 * rng.standard_normal((1, 20, 45))) for _ in range(2)]
    params = [k.clone() for k in k_init]
    opts = [lqr_train._Optimizer("gd", 0.1, [p]) for p in params]
    sys_ = tuple(m[None, None] for m in (a, b, q, r))
    lqr_train.ipo_step(params, opts, w, sys_)
    ref = [k.clone() for k in k_init]
    for i in range(2):
        k = (ref[0] + ref[1]) / 2
        _, g = lqr_cost_and_grad(k[0] @ w[0, i], a, b, q, r)
        ref[i] = ref[i] - 0.1 * (g / 2 @ w[0, i].T)[None]
    for p, e in zip(params, ref, strict=True):
        torch.testing.assert_close(p, e)
    # the simultaneous (wrong-order) update differs
    k = (k_init[0] + k_init[1]) / 2
    _, g = lqr_cost_and_grad(k[0] @ w[0, 1], a, b, q, r)
    assert not torch.allclose(params[1], k_init[1] - 0.1 * (g / 2 @ w[0, 1].T)[None])


def test_fused_adam_matches_reference_step_and_refuses_mixed_strides():
    """One Adam step, fused kernel vs the spelled-out update, on batched (S, h, D) tensors."""
    gen = torch.Generator().manual_seed(0)
    p0 = [torch.randn(3, 7, 11, generator=gen), torch.randn(3, 5, 7, generator=gen)]
    ref, fused = [p.clone() for p in p0], [p.clone() for p in p0]
    opt_ref = lqr_train._Optimizer("adam", 1e-2, ref)
    opt_fused = lqr_train._Optimizer("adam", 1e-2, fused, "fused")
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=gen) for p in p0]
        opt_ref.step(ref, grads)
        opt_fused.step(fused, grads)
    for r, f, p in zip(ref, fused, p0, strict=True):
        assert (r - p).abs().min() > 1e-4  # every element moved
        torch.testing.assert_close(f, r, rtol=0, atol=1e-6)
    # a column-major parameter with a row-major gradient: refused, not silently mixed up
    col_major = torch.randn(11, 7, generator=gen).T
    opt = lqr_train._Optimizer("adam", 1e-2, [col_major], "fused")
    with pytest.raises(ValueError, match="strides"):
        opt.step([col_major], [torch.randn(7, 11, generator=gen)])


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


def test_cli_train_resume_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "lqr",
        "train",
        "--preset",
        "overparam",
        "--distractors",
        "25",
        "--seeds",
        "1-2",
        "--iterations",
        "5",
        "--test-envs",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert cli.main(args) == 0
    first = json.loads((out / "seed_0001.json").read_text())
    for key in (
        "preset",
        "distractors",
        "seed",
        "lambda",
        "optimizer",
        "test_error",
        "test_errors",
        "train_error",
        "config",
        "git_commit",
        "wall_time_s",
    ):
        assert key in first
    (out / "seed_0002.json").unlink()  # "killed" before seed 2 was written
    mtime = (out / "seed_0001.json").stat().st_mtime_ns
    assert cli.main(args[:7] + ["1-3"] + args[8:]) == 0
    assert (out / "seed_0001.json").stat().st_mtime_ns == mtime  # skipped, not redone
    assert sorted(p.name for p in out.glob("seed_*.json")) == [
        "seed_0001.json",
        "seed_0002.json",
        "seed_0003.json",
    ]
    # the Adam kernel is an execution detail: another --adam-impl, or a record written before
    # the field existed, resumes; a different learning rate does not
    old = json.loads((out / "seed_0001.json").read_text())
    del old["config"]["adam_impl"]
    (out / "seed_0001.json").write_text(json.dumps(old))
    mtime = (out / "seed_0001.json").stat().st_mtime_ns
    assert cli.main(args + ["--adam-impl", "reference"]) == 0
    assert (out / "seed_0001.json").stat().st_mtime_ns == mtime
    # so is the device: a record from another device (or from before the field) resumes
    old = json.loads((out / "seed_0001.json").read_text())
    assert old["config"]["device"] == "cpu"  # --device auto, no GPU in CI
    old["config"]["device"] = "cuda:3"
    (out / "seed_0001.json").write_text(json.dumps(old))
    mtime = (out / "seed_0001.json").stat().st_mtime_ns
    assert cli.main(args + ["--device", "cpu"]) == 0
    assert (out / "seed_0001.json").stat().st_mtime_ns == mtime
    assert cli.main(args + ["--lr", "0.01"]) == 2
    assert cli.main(["lqr", "report", str(out), "--reps", "200"]) == 0
    text = capsys.readouterr().out
    assert "overparam" in text and "25.80 (1.50)" in text and "n=3" in text
    assert "- beyond the preset, n_test_envs 2 (preset 10): overparam nd=25." in text


def test_cli_rejects_bad_input(tmp_path, capsys):
    base = ["lqr", "train", "--distractors", "25", "--out", str(tmp_path)]
    with pytest.raises(SystemExit):
        cli.main([*base, "--preset", "nope"])
    with pytest.raises(SystemExit):
        cli.main([*base, "--preset", "psm", "--seeds", "5-1"])
    assert cli.main([*base, "--preset", "psm", "--lambda", "-1", "--seeds", "1"]) == 2
    assert "lambda" in capsys.readouterr().err
    assert cli.main([*base, "--preset", "l1", "--l1", "-1", "--seeds", "1"]) == 2
    assert "l1 weight must be >= 0" in capsys.readouterr().err
    assert cli.main([*base, "--preset", "psm", "--seeds", "1", "--device", "tpu"]) == 2
    assert "--device tpu: unknown device" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert cli.main([*base, "--preset", "psm", "--seeds", "1", "--device", "cuda"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
        sweep = ["lqr", "sweep", "--out", str(tmp_path / "sw"), "--device", "cuda"]
        assert cli.main(sweep) == 2
        assert "CUDA is not available" in capsys.readouterr().err
    assert not any(tmp_path.glob("seed_*.json"))


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


def _record(preset, nd, seed, error, iterations):
    return {
        "preset": preset,
        "distractors": nd,
        "seed": seed,
        "test_error": error,
        "config": {"iterations": iterations, "lr": 1e-3, "adam_impl": "fused"},
    }


def test_compare_pairs_seeds_and_names_the_change(tmp_path, capsys):
    base = [_record("psm", 500, s, 0.1 * s, 2000) for s in (1, 2, 3, 4)]
    base += [_record("ipo", 500, s, 30.0, 2000) for s in (1, 2)]
    other = [_record("psm", 500, s, 0.1 * s + 0.5, 5000) for s in (2, 3, 4, 5)]
    other += [_record("ipo", 500, 1, math.inf, 5000), _record("ipo", 500, 2, 40.0, 5000)]
    other[0]["config"]["adam_impl"] = "reference"  # an execution field: not a "change"
    for r in other:  # a field older records lack counts as its default, not as a change
        r["config"]["penalty"] = "gradient"
    text = cli_lqr.compare_table(base, other, reps=500)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()[2:4]}
    assert list(rows) == ["ipo", "psm"]  # preset order of the paper's table
    psm = rows["psm"].split(" | ")
    assert psm[2] == "iterations 2000 → 5000" and psm[3] == "3"  # seeds 2-4 only
    assert psm[6].startswith("+0.5 [+0.5, +0.5]")  # every paired difference is +0.5
    ipo = rows["ipo"].split(" | ")
    assert ipo[6].startswith("+10 ") and ipo[7] == "0 / 1 |"  # seed 1 unstable: left out
    with pytest.raises(ValueError, match="both sides"):
        cli_lqr.compare_table(base, [_record("l1", 500, 1, 28.2, 5000)])
    for name, recs in (("a", base), ("b", other)):
        for r in recs:
            (tmp_path / name / r["preset"]).mkdir(parents=True, exist_ok=True)
            path = tmp_path / name / r["preset"] / f"seed_{r['seed']:04d}.json"
            path.write_text(json.dumps(r))
    assert (
        cli.main(
            [
                "lqr",
                "compare",
                str(tmp_path / "a"),
                str(tmp_path / "b"),
                "--reps",
                "200",
                "--out",
                str(tmp_path / "c.md"),
            ]
        )
        == 0
    )
    assert "iterations 2000 → 5000" in (tmp_path / "c.md").read_text()
    assert cli.main(["lqr", "compare", str(tmp_path / "a"), str(tmp_path / "none")]) == 2
    assert "no seed_*.json under" in capsys.readouterr().err


def test_prox_step_solves_its_minimisation():
    """K ← K − (K P) C is argmin ½‖K − K1‖² + step ‖K P‖²: K (I + 2 step P Pᵀ) = K1."""
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(3, 30, 4, generator=gen, dtype=F64)
    k1 = torch.randn(3, 7, 30, generator=gen, dtype=F64)
    for step in (1e-3, 1.0, 1e6):
        p_mat, c_mat = lqr_train._prox_operator(p, step, F64)
        k = k1 - (k1 @ p_mat) @ c_mat
        lhs = k @ (torch.eye(30, dtype=F64) + 2 * step * p @ p.transpose(-1, -2))
        torch.testing.assert_close(lhs, k1, rtol=1e-9, atol=1e-8 * max(1.0, step))
    assert (k @ p).abs().max() < 1e-5  # a huge step projects K P to ~0


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


def test_cli_sweep_both_penalty_modes(tmp_path):
    out = tmp_path / "sweep"
    args = ["lqr", "sweep", "--distractors", "25", "--seeds", "1", "--iterations", "5"]
    args += ["--lambdas", "0", "100", "--lr-gd", "0.1", "--penalties", "gradient", "prox"]
    assert cli.main([*args, "--out", str(out), "--no-progress"]) == 0
    assert (out / "lambda_sweep.png").stat().st_size > 0
    runs = {
        p.name: json.loads((p / "seed_0001.json").read_text()) for p in out.iterdir() if p.is_dir()
    }
    assert len(runs) == 2 * 2 * 2 * 2  # methods × penalties × optimizers × λ
    grad, prox = runs["psm_gd_lam100"], runs["psm_gd_lam100_prox"]
    assert (grad["preset"], grad["config"]["penalty"]) == ("psm", "gradient")
    assert (prox["preset"], prox["config"]["penalty"]) == ("psm-prox", "prox")
    assert grad["config"]["lr"] == pytest.approx(0.01)  # capped at 1/λ in the gradient
    assert prox["config"]["lr"] == pytest.approx(0.1)  # the prox step needs no cap
    assert runs["random-penalty_adam_lam0_prox"]["config"]["lr"] == 1e-3  # Adam: the preset's


def test_diagnostics_table_medians_and_missing_fields():
    recs = [_record("psm", 500, s, float(s), 2000) for s in (1, 2, 3)]
    for r, v in zip(recs, (1e-6, 3e-6, 2e-6), strict=True):
        r.update(norm_k_invariant=18.0, norm_k_distractor=0.3, adam_v_distractor=v)
    recs.append(_record("overparam", 500, 1, 25.0, 2000) | {"norm_k_distractor": 2.9})
    lines = cli_lqr.diagnostics_table(recs).splitlines()
    assert lines[2].startswith("| overparam | 500 | 1 | 25 |")  # the paper's row order
    psm = lines[3].split(" | ")
    assert psm[:4] == ["| psm", "500", "3", "2"]  # median test error of 1, 2, 3
    assert psm[6] == "–" and psm[8] == "2.00e-06 |"  # no pair loss; median Adam v
