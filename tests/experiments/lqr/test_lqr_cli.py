"""`pisces lqr train|report|compare|sweep`: resume, errors, tables."""

from __future__ import annotations

import json
import math

import pytest
import torch

from pisces import cli
from pisces.experiments.lqr import report as lqr_report

F64 = torch.float64


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
    assert cli.main([*base, "--preset", "nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert cli.main([*base, "--preset", "psm", "--seeds", "5-1"]) == 2
    assert "reversed" in capsys.readouterr().err
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
    text = lqr_report.compare_table(base, other, reps=500)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()[2:4]}
    assert list(rows) == ["ipo", "psm"]  # preset order of the paper's table
    psm = rows["psm"].split(" | ")
    assert psm[2] == "iterations 2000 → 5000" and psm[3] == "3"  # seeds 2-4 only
    assert psm[6].startswith("+0.5 [+0.5, +0.5]")  # every paired difference is +0.5
    ipo = rows["ipo"].split(" | ")
    assert ipo[6].startswith("+10 ") and ipo[7] == "0 / 1 |"  # seed 1 unstable: left out
    with pytest.raises(ValueError, match="both sides"):
        lqr_report.compare_table(base, [_record("l1", 500, 1, 28.2, 5000)])
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
    assert "none: no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["lqr", "compare", str(tmp_path / "a"), str(tmp_path / "empty")]) == 2
    assert "no seed_*.json under" in capsys.readouterr().err


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
    lines = lqr_report.diagnostics_table(recs).splitlines()
    assert lines[2].startswith("| overparam | 500 | 1 | 25 |")  # the paper's row order
    psm = lines[3].split(" | ")
    assert psm[:4] == ["| psm", "500", "3", "2"]  # median test error of 1, 2, 3
    assert psm[6] == "–" and psm[8] == "2.00e-06 |"  # no pair loss; median Adam v


def test_lqr_tensorboard_scalars(tmp_path):
    from pisces.experiments.tensorboard import read_scalars

    argv = ["lqr", "train", "--preset", "psm", "--distractors", "30", "--iterations", "20"]
    argv += ["--test-envs", "2", "--seeds", "1", "--device", "cpu", "--no-progress"]
    assert cli.main([*argv, "--tensorboard", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "seed_0001.json").read_text())
    scalars = read_scalars(tmp_path / "tensorboard" / "seed_0001")
    assert scalars["lqr/test_error"] == [(20, pytest.approx(record["test_error"]))]
