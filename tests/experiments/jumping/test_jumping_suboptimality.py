"""Figure 5 (paper §5.4): PSM of ε-suboptimal policies, its config fields and the figure verb.

References: the existing optimal-policy metric (:func:`pair_metrics`) and trainer at ε = 0,
binomial statistics of the sampled labels, brute-force futures, Prop. D.3's bound on the
exact ε-PSM, and synthetic result folders for the figure command.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pisces import cli
from pisces.agents.imitation import sample_step
from pisces.envs.jumping import training_tasks
from pisces.envs.jumping.data import optimal_actions
from pisces.experiments.jumping import suboptimality
from pisces.experiments.jumping.config import JumpingConfig, make_config
from pisces.experiments.jumping.data import build_data, pair_metrics, run_pair_metric
from pisces.experiments.jumping.epsilon_psm import (
    EPSILON_MODES,
    _epsilon_policy,
    _sampled_psm,
    _task_mdp,
    epsilon_pair_psm,
    exact_epsilon_psm,
    label_generator,
    positive_agreement,
    positives,
    sampled_labels,
)
from pisces.experiments.jumping.report import comparable as _comparable
from pisces.experiments.jumping.trainer import JumpingTrainer
from pisces.metrics.deterministic_psm import deterministic_psm

WIDE = training_tasks("wide", 1)
GAMMA = 0.999


def optimal_metric(tasks: np.ndarray = WIDE) -> np.ndarray:
    acts = optimal_actions(tasks[:, 0])
    return pair_metrics(acts, np.zeros(acts.shape), metric="psm", gamma=GAMMA)


# ----------------------------------------------------------------------------- ε = 0


@pytest.mark.parametrize("mode", EPSILON_MODES)
def test_epsilon_zero_is_the_existing_metric_bit_for_bit(mode):
    d = epsilon_pair_psm(WIDE, 0.0, mode=mode, gamma=GAMMA, seed=5)
    ref = optimal_metric()
    assert d.dtype == ref.dtype == np.float32 and d.shape == (18, 18, 56, 56)
    np.testing.assert_array_equal(d, ref)
    cfg = make_config("randconv-pse", psm_epsilon=0.0, psm_epsilon_mode=mode)
    rewards = np.zeros((18, 56))
    np.testing.assert_array_equal(
        run_pair_metric(cfg, 5, WIDE, optimal_actions(WIDE[:, 0]), rewards), ref
    )


def test_each_mode_at_epsilon_zero_without_the_shortcut():
    # the mode's own computation (not the ε = 0 shortcut) also gives the optimal metric
    ref = optimal_metric().astype(np.float64)
    opt = optimal_actions(WIDE[:, 0])
    np.testing.assert_array_equal(_sampled_psm(opt, GAMMA).astype(np.float32), ref)
    tasks = WIDE[[0, 4, 8, 17]]  # obstacles 20, 25, 30, 45
    exact = exact_epsilon_psm(tasks, 0.0, gamma=GAMMA)
    np.testing.assert_allclose(exact, ref[np.ix_([0, 4, 8, 17], [0, 4, 8, 17])], atol=1e-9)


def test_epsilon_zero_trains_exactly_as_before():
    base = make_config("randconv-pse", epochs=1, log_every=2, eval_mc_passes=1)
    explicit = base.replace(psm_epsilon=0.0, psm_epsilon_mode="sampled")
    runs = [JumpingTrainer(cfg, 3) for cfg in (base, explicit)]
    assert torch.equal(runs[0].data.pair_metric, runs[1].data.pair_metric)
    for t in runs:
        t.train_epoch()
        t.flush()
    assert runs[0].loss_log == runs[1].loss_log
    for a, b in zip(runs[0].net.parameters(), runs[1].net.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("mode", "eps"), [("tv", 0.3), ("exact", 0.4)])
def test_below_one_half_tv_and_exact_train_exactly_as_epsilon_zero(mode, eps):
    # the presets' official unweighted CME loss reads the metric only through its argmin
    # positives, which these modes keep for every ε < 0.5 (Fig. 5's flat part); ε = 0.5 differs
    base = make_config("randconv-pse", epochs=1, log_every=2, eval_mc_passes=1)
    cfgs = [base, base.replace(psm_epsilon=eps, psm_epsilon_mode=mode)]
    cfgs.append(base.replace(psm_epsilon=0.5, psm_epsilon_mode=mode))
    runs = [JumpingTrainer(cfg, 3) for cfg in cfgs]
    assert not torch.equal(runs[0].data.pair_metric, runs[1].data.pair_metric)
    for t in runs:
        t.train_epoch()
        t.flush()
    assert runs[0].loss_log == runs[1].loss_log != runs[2].loss_log
    for a, b in zip(runs[0].net.parameters(), runs[1].net.parameters(), strict=True):
        assert torch.equal(a, b)


# ----------------------------------------------------------------------------- sampled


def test_sampled_labels_at_one_half_are_fair_coin_flips():
    opt = optimal_actions(WIDE[:, 0])
    flips = np.stack([sampled_labels(WIDE[:, 0], 0.5, s) != opt for s in range(1, 21)])
    # 20 seeds x 1008 labels of Bernoulli(1/2): sd of the mean 0.0035
    assert flips.mean() == pytest.approx(0.5, abs=0.015)
    # per position (JUMP labels included): 360 draws each, sd 0.026
    assert np.abs(flips.mean(axis=(0, 1)) - 0.5).max() < 0.14
    jump = np.broadcast_to(opt == 1, flips.shape)
    assert flips[jump].mean() == pytest.approx(0.5, abs=0.09)  # 360 JUMP labels
    # independent neighbours: P(both flipped) = 1/4
    assert (flips[..., 1:] & flips[..., :-1]).mean() == pytest.approx(0.25, abs=0.015)


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_sampled_flip_rate_is_epsilon(eps):
    opt = optimal_actions(WIDE[:, 0])
    flips = np.stack([sampled_labels(WIDE[:, 0], eps, s) != opt for s in range(1, 21)])
    sd = (eps * (1 - eps) / flips.size) ** 0.5
    assert flips.mean() == pytest.approx(eps, abs=5 * sd)


def test_sampled_labels_depend_on_the_run_seed_and_are_reproducible():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checks the global RNG is left alone)
    a = sampled_labels(WIDE[:, 0], 0.3, 1)
    np.testing.assert_array_equal(a, sampled_labels(WIDE[:, 0], 0.3, 1))
    assert (a != sampled_labels(WIDE[:, 0], 0.3, 2)).any()
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    # the documented stream
    rng = label_generator(1)
    np.testing.assert_array_equal(
        a,
        np.where(
            rng.random((18, 56)) < 0.3, 1 - optimal_actions(WIDE[:, 0]), optimal_actions(WIDE[:, 0])
        ),
    )
    d1 = epsilon_pair_psm(WIDE, 0.3, mode="sampled", gamma=GAMMA, seed=1)
    np.testing.assert_array_equal(
        d1, epsilon_pair_psm(WIDE, 0.3, mode="sampled", gamma=GAMMA, seed=1)
    )
    assert not np.array_equal(d1, epsilon_pair_psm(WIDE, 0.3, mode="sampled", gamma=GAMMA, seed=2))


def test_epsilon_labels_leave_the_training_streams_alone():
    base = make_config("randconv-pse", epochs=1)
    sampled = base.replace(psm_epsilon=0.4, psm_epsilon_mode="sampled")
    t0, t1 = JumpingTrainer(base, 2), JumpingTrainer(sampled, 2)
    assert not torch.equal(t0.data.pair_metric, t1.data.pair_metric)
    for a, b in zip(t0.net.parameters(), t1.net.parameters(), strict=True):
        assert torch.equal(a, b)  # same initialisation
    b0, b1 = (
        sample_step(t0.data, base.imitation_settings(), base.alpha > 0, t0.generator),
        sample_step(t1.data, sampled.imitation_settings(), sampled.alpha > 0, t1.generator),
    )
    assert torch.equal(b0.obs, b1.obs) and torch.equal(b0.labels, b1.labels)  # same draws
    assert torch.equal(b0.kernels, b1.kernels)
    assert torch.equal(t0.data.train_actions, t1.data.train_actions)  # labels stay optimal


# ----------------------------------------------------------------------------- validity


def _future_mismatch(x: np.ndarray, y: np.ndarray, a: int, b: int) -> bool:
    """Do the label sequences from a and from b ever differ (terminal = RIGHT forever)?"""
    n = max(len(x) - a, len(y) - b)
    fx = np.concatenate([x[a:], np.zeros(n - len(x) + a, dtype=x.dtype)])
    fy = np.concatenate([y[b:], np.zeros(n - len(y) + b, dtype=y.dtype)])
    return bool((fx != fy).any())


@pytest.mark.parametrize("eps", [0.1, 0.5])
def test_sampled_psm_is_a_valid_metric_zero_exactly_where_futures_agree(eps):
    labels = sampled_labels(WIDE[:, 0], eps, 9)
    d = epsilon_pair_psm(WIDE, eps, mode="sampled", gamma=GAMMA, seed=9)
    assert (d >= 0).all() and np.isfinite(d).all()
    np.testing.assert_array_equal(d, d.transpose(1, 0, 3, 2))
    assert d.max() < 1 / (1 - GAMMA)  # the terminal state: no self-loop of cost 1
    for i, j in [(0, 17), (3, 11), (5, 5)]:
        zero = d[i, j] == 0
        brute = np.array(
            [
                [not _future_mismatch(labels[i], labels[j], a, b) for b in range(56)]
                for a in range(56)
            ]
        )
        np.testing.assert_array_equal(zero, brute)
        assert (np.diag(d[i, i]) == 0).all()


def test_tv_psm_is_the_optimal_psm_scaled_by_one_minus_two_epsilon():
    ref = optimal_metric()
    for eps in (0.1, 0.25, 0.4):
        d = epsilon_pair_psm(WIDE, eps, mode="tv", gamma=GAMMA, seed=1)
        np.testing.assert_allclose(d, (1 - 2 * eps) * ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(positives(d), positives(ref))  # ties included
        assert positive_agreement(d, ref) == 1.0
    flat = epsilon_pair_psm(WIDE, 0.5, mode="tv", gamma=GAMMA, seed=1)
    assert not flat.any() and (positives(flat) == 0).all()  # uniform policy: every positive 0


def test_exact_psm_keeps_the_positives_below_one_half_and_vanishes_at_it():
    ref = optimal_metric()
    d = epsilon_pair_psm(WIDE, 0.4, mode="exact", gamma=GAMMA, seed=1)
    assert (d >= 0).all()
    np.testing.assert_array_equal(d, d.transpose(1, 0, 3, 2))
    for i in range(18):
        assert (np.diag(d[i, i]) == 0).all()
    assert not np.allclose(d, 0.2 * ref, atol=1e-3)  # not just the TV scaling ...
    assert positive_agreement(d, ref) == 1.0  # ... but the same alignment positives
    assert not epsilon_pair_psm(WIDE, 0.5, mode="exact", gamma=GAMMA, seed=1).any()


def test_exact_psm_obeys_proposition_d3():
    # |d*(x, y) - d̂(x, y)| <= d((x, π*), (x, π̂)) + d((y, π̂), (y, π*))
    eps = 0.3
    mx, my = _task_mdp((20, 10)), _task_mdp((35, 15))
    star = lambda m: _epsilon_policy(m.optimal_policy, 0.0)  # noqa: E731
    hat = lambda m: _epsilon_policy(m.optimal_policy, eps)  # noqa: E731
    path = np.ix_(mx.optimal_path, my.optimal_path)
    d_star = deterministic_psm(mx.mdp, star(mx), my.mdp, star(my), gamma=GAMMA).distance[path]
    d_hat = exact_epsilon_psm([[20, 10], [35, 15]], eps, gamma=GAMMA)[0, 1]
    self_x = deterministic_psm(mx.mdp, star(mx), mx.mdp, hat(mx), gamma=GAMMA).distance
    self_y = deterministic_psm(my.mdp, hat(my), my.mdp, star(my), gamma=GAMMA).distance
    bound = np.diag(self_x)[mx.optimal_path][:, None] + np.diag(self_y)[my.optimal_path][None, :]
    assert (np.abs(d_star - d_hat) <= bound + 1e-9).all()
    assert (np.abs(d_star - d_hat) > 0).any() and (bound > 0).all()


def test_colored_runs_use_the_red_trajectories_with_white_dynamics():
    cfg = make_config("randconv-pse", psm_epsilon=0.2, psm_epsilon_mode="tv")
    acts = optimal_actions(WIDE[:, 0])
    white = run_pair_metric(cfg, 1, WIDE, acts, np.zeros(acts.shape))
    red = run_pair_metric(cfg, 1, WIDE, acts, np.zeros(acts.shape), color="red")
    np.testing.assert_array_equal(white, red)
    with pytest.raises(ValueError, match="white or red"):
        exact_epsilon_psm(WIDE[:2], 0.2, gamma=GAMMA, color="green")


def test_build_data_uses_the_epsilon_metric():
    cfg = make_config("randconv-pse", psm_epsilon=0.3, psm_epsilon_mode="sampled")
    data = build_data(cfg, 4, torch.device("cpu"))
    expected = epsilon_pair_psm(training_tasks("wide", 4), 0.3, mode="sampled", gamma=GAMMA, seed=4)
    np.testing.assert_array_equal(data.pair_metric.numpy(), expected)
    opt = optimal_actions(WIDE[:, 0]).reshape(-1)
    np.testing.assert_array_equal(data.train_actions.numpy(), opt)  # imitation labels optimal


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"psm_epsilon": -0.1}, "psm_epsilon must be in [0, 0.5]"),
        ({"psm_epsilon": 0.6}, "psm_epsilon must be in [0, 0.5]"),
        ({"psm_epsilon": float("nan")}, "psm_epsilon must be in [0, 0.5]"),
        ({"psm_epsilon": 0.2, "metric": "bisim"}, "needs metric='psm' and alpha > 0"),
        ({"psm_epsilon": 0.2, "alpha": 0.0}, "needs metric='psm' and alpha > 0"),
        ({"psm_epsilon_mode": "noisy"}, "psm_epsilon_mode must be one of"),
    ],
)
def test_config_rejects_bad_epsilon_settings(changes, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config("randconv-pse", **changes)


def test_config_accepts_the_figure_range():
    for eps in (0.0, 0.1, 0.5):
        for mode in EPSILON_MODES:
            assert (
                make_config("randconv-pse", psm_epsilon=eps, psm_epsilon_mode=mode).psm_epsilon
                == eps
            )
    assert JumpingConfig().psm_epsilon == 0.0 and JumpingConfig().psm_epsilon_mode == "exact"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["psm_epsilon=0.7"], "psm_epsilon must be in [0, 0.5]"),
        (["psm_epsilon=abc"], "psm_epsilon takes float"),
        (["psm_epsilon_mode=noisy"], "psm_epsilon_mode must be one of"),
    ],
)
def test_cli_reports_bad_epsilon_overrides(tmp_path, capsys, sets, message):
    argv = ["jumping", "train", "--preset", "randconv-pse", "--out", str(tmp_path)]
    for s in sets:
        argv += ["--set", s]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_old_results_without_the_new_fields_still_compare_equal():
    new = make_config("randconv-pse").to_dict()
    old = {k: v for k, v in new.items() if k not in ("psm_epsilon", "psm_epsilon_mode")}
    assert _comparable(old) == _comparable(new)
    assert _comparable(old) != _comparable(make_config("randconv-pse", psm_epsilon=0.3).to_dict())


def test_tiny_epsilon_run_records_epsilon_resumes_and_refuses_a_different_one(tmp_path, capsys):
    out = tmp_path / "eps"
    argv = ["jumping", "train", "--preset", "randconv-pse", "--seeds", "1", "--epochs", "1"]
    argv += ["--device", "cpu", "--set", "eval_mc_passes=1", "--set", "psm_epsilon_mode=tv"]
    assert cli.main([*argv, "--set", "psm_epsilon=0.3", "--out", str(out)]) == 0
    result = json.loads((out / "seed-001.json").read_text())
    assert result["config"]["psm_epsilon"] == 0.3
    assert result["config"]["psm_epsilon_mode"] == "tv"
    capsys.readouterr()
    assert cli.main([*argv, "--set", "psm_epsilon=0.3", "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert cli.main([*argv, "--set", "psm_epsilon=0.5", "--out", str(out)]) == 2
    assert "different configuration" in capsys.readouterr().err
    # an "old" result (no ε fields) resumes under the default ε = 0
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    result["config"] = make_config("randconv-pse", epochs=1, eval_mc_passes=1).to_dict()
    for key in ("psm_epsilon", "psm_epsilon_mode"):
        result["config"].pop(key)
    (legacy / "seed-001.json").write_text(json.dumps(result))
    base = ["jumping", "train", "--preset", "randconv-pse", "--seeds", "1", "--epochs", "1"]
    base += ["--set", "eval_mc_passes=1", "--out", str(legacy)]
    assert cli.main(base) == 0
    assert "skipped" in capsys.readouterr().out


# ----------------------------------------------------------------------------- figure


def _write_runs(
    directory: Path, values: dict[int, float], config: dict, epochs: int = 2000
) -> None:
    directory.mkdir(parents=True)
    for seed, pct in values.items():
        record = {
            "preset": "randconv-pse",
            "grid": "wide",
            "seed": seed,
            "epochs": epochs,
            "test_solved_pct": pct,
            "config": config,
        }
        (directory / f"seed-{seed:03d}.json").write_text(json.dumps(record))


def test_figure_command_writes_a_png_and_the_table(tmp_path, capsys):
    legacy = {"preset": "randconv-pse", "alpha": 5.0}  # made before the ε fields existed
    _write_runs(tmp_path / "eps0", {1: 80.0, 2: 90.0}, legacy)
    for eps, vals in ((0.1, {1: 85.0, 2: 95.0}), (0.5, {1: 20.0, 2: 30.0, 3: 40.0})):
        cfg = legacy | {"psm_epsilon": eps, "psm_epsilon_mode": "exact"}
        _write_runs(tmp_path / f"eps{eps}", vals, cfg)
    _write_runs(
        tmp_path / "sampled",
        {1: 50.0},
        legacy | {"psm_epsilon": 0.3, "psm_epsilon_mode": "sampled"},
        epochs=30,
    )
    png = tmp_path / "fig" / "fig5.png"
    argv = [
        "jumping",
        "suboptimality",
        *(str(p) for p in sorted(tmp_path.iterdir())),
        "--out",
        str(png),
    ]
    assert cli.main(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    table = png.with_suffix(".md").read_text()
    assert table == capsys.readouterr().out.split("wrote ")[0]
    assert suboptimality.PAPER_CLAIM in table
    assert "| randconv-pse, wide, exact | 0 | 2 | 85.0 (7.1) |" in table
    assert "| randconv-pse, wide, exact | 0.1 | 2 | 90.0 (7.1) |" in table
    assert (
        "| randconv-pse, wide, exact | 0.5 | 3 | 30.0 (10.0) | 30.0 | 20.0–40.0 | 2000 | degraded |"
        in table
    )
    # ε = 0 runs belong to every mode's series; the 30-epoch run is flagged
    assert "| randconv-pse, wide, sampled | 0 | 2 | 85.0 (7.1) |" in table
    assert "| randconv-pse, wide, sampled | 0.3 | 1 | 50.0 (–) |" in table
    assert "not the full 2000-epoch protocol: randconv-pse, wide, sampled ε=0.3" in table
    assert "87.0 (10.1) (Table 1)" in table and "near-optimal" in table


def test_figure_command_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["jumping", "suboptimality", str(empty), "--out", str(tmp_path / "f.png")]) == 2
    assert "no seed-*.json" in capsys.readouterr().err
    _write_runs(tmp_path / "a", {1: 80.0}, {})
    _write_runs(tmp_path / "b", {1: 70.0}, {"psm_epsilon": 0.0})
    argv = ["jumping", "suboptimality", str(tmp_path / "a"), str(tmp_path / "b")]
    assert cli.main([*argv, "--out", str(tmp_path / "f.png")]) == 2
    assert "seed 1 at ε = 0.0 appears twice" in capsys.readouterr().err


def test_figure_notes_config_mismatches_inside_a_series(tmp_path):
    _write_runs(tmp_path / "a", {1: 80.0}, {"learning_rate": 0.0026})
    _write_runs(tmp_path / "b", {1: 70.0}, {"learning_rate": 0.01, "psm_epsilon": 0.2})
    cells, notes = suboptimality.collect([tmp_path / "a", tmp_path / "b"])
    assert [(c.series, c.epsilon, c.n) for c in cells] == [
        ("randconv-pse, wide, exact", 0.0, 1),
        ("randconv-pse, wide, exact", 0.2, 1),
    ]
    assert any("learning_rate" in n for n in notes)


def test_identity_fills_the_untried_epsilons_of_exact_and_tv_from_epsilon_zero():
    Cell = suboptimality.Cell
    cells = [
        Cell("randconv-pse, wide, exact", 0.0, [1, 2], [80.0, 90.0], {2000}),
        Cell("randconv-pse, wide, exact", 0.2, [1], [70.0], {2000}),  # run: kept, not filled
        Cell("randconv-pse, wide, exact", 0.5, [1, 2], [20.0, 30.0], {2000}),
        Cell("randconv-pse, wide, sampled", 0.0, [1, 2], [80.0, 90.0], {2000}),
        Cell("randconv-pse, wide, sampled", 0.3, [1], [50.0], {2000}),
    ]
    filled = suboptimality.with_identity(cells)
    exact = {c.epsilon: c for c in filled if c.series.endswith("exact")}
    assert sorted(exact) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    for eps in (0.1, 0.3, 0.4):
        assert exact[eps].values == [80.0, 90.0] and exact[eps].sources == {"identity"}
    assert exact[0.2].values == [70.0] and "identity" not in exact[0.2].sources
    assert "identity" not in exact[0.5].sources
    sampled = sorted(c.epsilon for c in filled if c.series.endswith("sampled"))
    assert sampled == [0.0, 0.3]  # the sampled reading changes the positives: never filled
    assert len(cells) == 5  # the input is left alone


def test_figure_command_draws_the_identity_points_on_request(tmp_path):
    legacy = {"preset": "randconv-pse", "alpha": 5.0}
    _write_runs(tmp_path / "eps0", {1: 80.0, 2: 90.0}, legacy)
    _write_runs(tmp_path / "eps0.5", {1: 20.0, 2: 30.0}, legacy | {"psm_epsilon": 0.5})
    pngs = []
    for flag in ([], ["--identity"]):
        png = tmp_path / f"fig{len(flag)}.png"
        dirs = [str(tmp_path / "eps0"), str(tmp_path / "eps0.5")]
        assert cli.main(["jumping", "suboptimality", *dirs, "--out", str(png), *flag]) == 0
        pngs.append(png.read_bytes())
    assert pngs[0] != pngs[1]  # the hollow ε = 0.1-0.4 points and their legend entry
