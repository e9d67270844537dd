"""Jumping task with colored obstacles (Table G.1): 6-channel inputs, the RED + GREEN training
set, RED-only alignment pairs, the GREEN evaluation rule against closed-loop rollouts,
RandConv on RGB, the vmapped path, and a tiny end-to-end CLI run that resumes."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from pisces import cli
from pisces.agents.imitation import sample_balanced, sample_step
from pisces.envs.jumping import (
    ALL_TASKS,
    make_params,
    optimal_inputs,
    render,
    reset,
    step,
    training_tasks,
)
from pisces.experiments.jumping.config import PRESETS, JumpingConfig, make_config
from pisces.experiments.jumping.data import evaluated_states, pair_metrics
from pisces.experiments.jumping.report import comparable as _comparable
from pisces.experiments.jumping.report import overrides_label
from pisces.experiments.jumping.trainer import EnsembleTrainer, JumpingTrainer
from pisces.networks.randconv import apply_random_conv, sample_kernels

K = 18 * 56  # states per color


@pytest.fixture(scope="module")
def trainer() -> JumpingTrainer:
    return JumpingTrainer(make_config("pse-colors", "wide", epochs=1, colors_input="6-channel"), 0)


def test_inputs_are_two_rgb_frames_in_six_channels(trainer):
    data = trainer.data
    assert data.colors == ("red", "green")
    assert data.train_obs.shape == (2 * K, 60, 60, 6)
    assert data.eval_inputs.shape[1:] == (60, 60, 6)
    assert trainer.net.encoder.in_channels == 6
    first = training_tasks("wide")[:1]
    for c, color in enumerate(("red", "green")):
        ref = torch.from_numpy(optimal_inputs(first, color)[0])  # (56, 60, 60, 6)
        torch.testing.assert_close(data.train_obs[c * K : c * K + 56], ref, rtol=0, atol=0)
    assert trainer.net(data.train_obs[:5]).shape == (5, 2)


def test_colored_training_set_and_epoch(trainer):
    data = trainer.data
    labels = data.train_actions
    assert len(labels) == 2016 and trainer.steps_per_epoch == 8  # 2016 // 256 + 1
    assert int(labels.sum()) == 18 and (labels[K:] == 0).all()  # every GREEN label is RIGHT
    p = torch.from_numpy(training_tasks("wide")[:, 0])
    expected_jumps = torch.arange(18) * 56 + p - 14  # one JUMP per RED trajectory, at p - 14
    assert torch.equal(data.jump_index, expected_jumps)
    assert len(data.right_index) == 1998
    # RED obstacles live in channel 0 (and 3), GREEN ones in channel 1 (and 4).
    assert (data.train_obs[:K, ..., 0] == 0.5).any() and not (
        data.train_obs[:K, ..., 1] == 0.5
    ).any()
    assert (data.train_obs[K:, ..., 1] == 0.5).any() and not (
        data.train_obs[K:, ..., 0] == 0.5
    ).any()

    # The official balance: JUMP or not with probability 1/2, the non-JUMP half uniform over
    # the 1998 RIGHT states of both colors (990 red, 1008 green).
    g = torch.Generator().manual_seed(0)
    idx = torch.cat(
        [sample_balanced(data.jump_index, data.right_index, 256, g) for _ in range(200)]
    )
    jump = labels[idx] == 1
    assert jump.float().mean().item() == pytest.approx(0.5, abs=0.01)
    green_share = (idx[~jump] >= K).float().mean().item()
    assert green_share == pytest.approx(1008 / 1998, abs=0.015)


def test_alignment_pairs_come_from_red_trajectories_only(trainer):
    data, cfg = trainer.data, trainer.cfg
    assert data.traj_obs.shape == (18, 56, 60, 60, 6)
    red = torch.from_numpy(optimal_inputs(training_tasks("wide"), "red"))  # (18, 56, 60, 60, 6)
    torch.testing.assert_close(data.traj_obs, red, rtol=0, atol=0)
    actions = (torch.arange(56) == torch.from_numpy(training_tasks("wide")[:, :1]) - 14).long()
    expected = pair_metrics(actions.numpy(), np.ones((18, 56)), metric="psm", gamma=0.999)
    np.testing.assert_allclose(data.pair_metric.numpy(), expected)
    g = torch.Generator().manual_seed(3)
    flat = data.traj_obs.flatten(1)
    for _ in range(20):
        batch = sample_step(data, cfg.imitation_settings(), cfg.alpha > 0, g)
        x, y = batch.obs[cfg.batch_size :].split(56)
        i = int(torch.nonzero((flat == x.flatten()).all(dim=1))[0, 0])
        j = int(torch.nonzero((flat == y.flatten()).all(dim=1))[0, 0])
        assert i != j
        assert not (batch.obs[cfg.batch_size :, ..., [1, 4]] == 0.5).any()  # no GREEN state
        torch.testing.assert_close(batch.metric, data.pair_metric[i, j])


def test_green_evaluation_reads_up_to_the_first_touch():
    task, time_index = evaluated_states(True, "green")
    assert len(task) == 8151
    last = np.zeros(len(ALL_TASKS), dtype=int)
    np.maximum.at(last, task, time_index)
    np.testing.assert_array_equal(last, ALL_TASKS[:, 0] - 5)
    assert len(evaluated_states(True, "red")[0]) == 5577


class ScriptedRGBPolicy(torch.nn.Module):
    """Reads (color, p, f, x) off the current RGB frame (channels 3-5, upright); JUMP iff
    p - x is one of the task's distances for that color (99 = never)."""

    def __init__(self, distances: torch.Tensor) -> None:
        super().__init__()
        self.distances = distances  # (2 colors, 26, 11, D)

    def forward(self, obs, kernels=None, group_index=None):
        r, g, b = obs[..., 3], obs[..., 4], obs[..., 5]  # current frame, (B, 60, 60) each
        n, cols = len(obs), torch.arange(60)
        green = (g == 0.5).flatten(1).any(dim=1)
        obstacle_cols = ((r == 0.5) | (g == 0.5)).any(dim=1)  # (B, 60)
        p = torch.where(obstacle_cols, cols, 99).amin(dim=1)
        white = (r == 1) & (g == 1) & (b == 1)
        floor_row = torch.where(white[:, 1:59, 1:59].all(dim=2), torch.arange(1, 59), 99)
        floor_row = floor_row.amin(dim=1)  # upright: row 59 - f
        white[:, [0, 59]] = False
        white[:, :, [0, 59]] = False
        white[torch.arange(n), floor_row] = False
        x = torch.where(white.any(dim=1), cols, -1).amax(dim=1) - 4
        dist = self.distances[green.long(), p - 20, 59 - floor_row - 10]
        jump = ((p - x)[:, None] == dist).any(dim=1)
        return torch.stack([torch.zeros_like(jump), jump], dim=1).float()


def test_red_and_green_rules_agree_with_closed_loop_rollouts(trainer):
    rng = np.random.default_rng(0)
    red = np.stack(
        [
            rng.choice([13, 14, 14, 14, 15, 99], (26, 11)),
            rng.choice([99, 99, 16, 20, 30], (26, 11)),
        ],
        axis=-1,
    )
    green = np.stack(
        [rng.choice([99, 99, 4, 5, 12, 33, 40], (26, 11)), np.full((26, 11), 99)], axis=-1
    )
    policy = ScriptedRGBPolicy(torch.from_numpy(np.stack([red, green])))
    scripted = copy.copy(trainer)
    scripted.net = policy  # type: ignore[assignment]
    scripted.alignment_scores = dict  # type: ignore[method-assign]  # a script embeds nothing
    record = scripted.evaluate()

    p = ALL_TASKS[:, 0]
    for color in ("red", "green"):
        params = make_params(ALL_TASKS[:, 0], ALL_TASKS[:, 1], color)
        state = reset(params)
        prev = np.zeros((len(ALL_TASKS), 60, 60, 3), dtype=np.float32)
        success = np.zeros(len(ALL_TASKS), dtype=bool)
        bonus = np.zeros(len(ALL_TASKS), dtype=bool)
        jumped_before_touch = np.zeros(len(ALL_TASKS), dtype=bool)
        ret = np.zeros(len(ALL_TASKS))
        for t in range(56):
            frame = render(params, state)
            action = policy(torch.from_numpy(np.concatenate([prev, frame], -1))).argmax(1)
            result = step(params, state, action.numpy())
            started = ~state.airborne & result.state.airborne
            jumped_before_touch |= started & (t <= p - 5)
            success |= result.success
            bonus |= result.reward == 99  # first touch on the floor: -1 + 100
            ret += result.reward
            state, prev = result.state, frame
        solved = record.by_color[color]
        if color == "red":
            assert 0 < success.sum() < len(success)
            np.testing.assert_array_equal(solved, success)
            np.testing.assert_array_equal(record.solved, solved)
        else:
            assert success.all()  # a green episode always ends at the exit
            np.testing.assert_array_equal(solved, ~jumped_before_touch)
            assert bonus[solved].all() and (ret[solved] == 254).all()
            assert (~solved & ~bonus).any()  # jumped into the block: no bonus
            assert (~solved & bonus).any()  # landed before the block: the rule is stricter
        assert record.counts[f"test_{color}_solved"] == int(
            solved[trainer.data.split == "test"].sum()
        )
    assert record.counts["test_solved"] == record.counts["test_red_solved"]


def test_randconv_on_rgb_mixes_colors_only_in_mix_mode():
    six = {"colors_input": "6-channel"}
    assert make_config("randconv-colors", **six).rand_conv_channels == 3
    per_channel = make_config("randconv-colors", rand_conv_rgb="per-channel", **six)
    assert per_channel.rand_conv_channels == 1 and PRESETS["randconv"].rand_conv_channels == 1
    x = torch.from_numpy(
        optimal_inputs(ALL_TASKS[:1], "red")[0, 5:6]
    )  # red obstacle, (1, 60, 60, 6)
    inside = (x[0, ..., 3] == 0.5).nonzero()
    r, c = inside.min(dim=0).values + 1  # an obstacle pixel whose 2x2 window is all obstacle
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        mixed = apply_random_conv(
            x, sample_kernels(1, generator=g, channels_per_frame=3, p_identity=0)
        )
        single = apply_random_conv(x, sample_kernels(1, generator=g, p_identity=0))
        assert mixed[0, r, c, 4].abs() > 1e-4  # the red block leaks into the green channel
        assert single[0, r, c, 4] == 0 and single[0, r, c, 3] != 0  # colors stay apart


def test_vmapped_colored_seeds_match_the_per_seed_path():
    cfg = make_config(
        "randconv-pse-colors", "wide", batch_size=16, l2_reg=1e-4, colors_input="6-channel"
    )
    ens = EnsembleTrainer(cfg, [1, 2])
    values = torch.stack([ens.step() for _ in range(2)])
    ens.sync_members()
    for i, seed in enumerate((1, 2)):
        single = JumpingTrainer(cfg, seed)
        assert sample_step(
            single.data, cfg.imitation_settings(), cfg.alpha > 0, torch.Generator().manual_seed(0)
        ).kernels.shape == (
            3,
            3,
            3,
            2,
            2,
        )
        expected = torch.stack([single.learner.update() for _ in range(2)])
        torch.testing.assert_close(values[:, i], expected, rtol=1e-4, atol=1e-5)
        for p, q in zip(ens.members[i].net.parameters(), single.net.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    ("preset", "kwargs", "match"),
    [
        ("pse-colors", {"colors": False}, "needs colors=True"),
        ("randconv", {"rand_conv_rgb": "per-channel"}, "applies to colors=True"),
        ("pse-colors", {"rand_conv_rgb": "per-channel"}, "rand_conv=True only"),
        ("randconv-colors", {"rand_conv_rgb": "hsv"}, "rand_conv_rgb must be one of"),
    ],
)
def test_bad_color_options_are_rejected(preset, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_config(preset, **kwargs)


def test_color_presets_follow_table_g4():
    g4 = {
        "dropout-l2-colors": dict(learning_rate=4e-3, l2_reg=4.3e-4, dropout=0.3, alpha=0.0),
        "pse-colors": dict(learning_rate=6e-3, l2_reg=7e-5, temperature=0.5, alpha=5.0),
        "randconv-colors": dict(learning_rate=5e-3, rand_conv=True, alpha=0.0),
        "randconv-pse-colors": dict(learning_rate=2.6e-3, temperature=0.5, alpha=5.0),
    }
    for name, values in g4.items():
        cfg = PRESETS[name]
        assert cfg.colors and "Table G.4" in cfg.source
        assert {k: getattr(cfg, k) for k in values} == values
    assert not PRESETS["pse-colors"].rand_conv and PRESETS["randconv-pse-colors"].rand_conv


def test_color_presets_read_the_frames_as_the_official_code_did():
    # the reading that gives the paper's Table G.1 (spec §9.5); the field's default, which
    # records older than the field ran, stays the 6-channel port
    for name in ("dropout-l2-colors", "pse-colors", "randconv-colors", "randconv-pse-colors"):
        assert PRESETS[name].colors_input == "official-5d"
        assert PRESETS[name].network_layout == "official-5d"
    assert JumpingConfig(preset="pse", colors=True).colors_input == "6-channel"
    old = make_config("randconv-colors", colors_input="6-channel").to_dict()
    del old["colors_input"]  # a record written before the field: it ran 6 channels
    result = {"preset": "randconv-colors", "config": old}
    assert overrides_label(result) == " [colors_input=6-channel]"
    now = {"preset": "randconv-colors", "config": PRESETS["randconv-colors"].to_dict()}
    assert overrides_label(now) == ""


def test_results_without_the_color_fields_stay_comparable():
    old = JumpingConfig(preset="pse").to_dict()
    del old["colors"], old["rand_conv_rgb"]
    assert _comparable(old) == _comparable(JumpingConfig(preset="pse").to_dict())
    assert _comparable(old) != _comparable(JumpingConfig(preset="pse", colors=True).to_dict())


def test_tiny_colors_run_writes_per_color_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "pse-colors"
    argv = ["jumping", "train", "--preset", "pse-colors", "--seeds", "1", "--epochs", "2"]
    argv += ["--precision", "fp32"]  # the report's labels below: the preset as it is
    assert cli.main([*argv, "--out", str(out), "--device", "cpu"]) == 0
    assert "of red and" in capsys.readouterr().out
    r = json.loads((out / "seed-001.json").read_text())
    assert r["colors"] is True and r["config"]["colors"] is True
    assert (r["epochs"], r["steps"]) == (2, 16) and r["eval_curve"][-1]["epoch"] == 2
    final = r["final"]
    for color in ("red", "green"):
        assert (final[f"test_{color}_total"], final[f"train_{color}_total"]) == (268, 18)
        pct = 100 * final[f"test_{color}_solved"] / 268
        assert r[f"test_solved_pct_{color}"] == pytest.approx(pct)
    assert r["test_solved_pct"] == r["test_solved_pct_red"]
    assert sum(r["solved_green"]) == final["train_green_solved"] + final["test_green_solved"]
    assert len(r["solved"]) == len(r["solved_green"]) == 286
    assert (out / "seed-001.png").stat().st_size > 0
    assert (out / "seed-001-green.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["colors"] and summary["test_solved_pct_green"] == [r["test_solved_pct_green"]]

    assert cli.main([*argv, "--out", str(out)]) == 0  # resumed: the finished seed is skipped
    assert "seed 1: done" in capsys.readouterr().out
    white = tmp_path / "white"
    white.mkdir()
    fake = {"preset": "pse", "grid": "wide", "seed": 1, "epochs": 2000, "test_solved_pct": 40.0}
    (white / "seed-001.json").write_text(json.dumps(fake))  # a Table 1 result, as read by report
    assert cli.main(["jumping", "report", str(out), str(white), "--reps", "200"]) == 0
    report = capsys.readouterr().out
    assert "| PSEs | 40.0 (–)" in report and "33.6 (10.0)" in report  # Table 1 kept
    assert "Table G.1" in report and "| red (ours) | red (paper) |" in report
    assert "37.9 (1.9)" in report and "19.5 (0.2)" in report
    assert "not the full 2000-epoch protocol: {'PSEs [2 epochs]': [2]}" in report
    assert "| PSEs [2 epochs] | " in report and "| PSEs | – | 37.9 (1.9) |" in report  # own row
