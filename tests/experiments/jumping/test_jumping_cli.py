"""``pisces jumping train`` / ``report``: a tiny end-to-end run, resume, clear errors."""

from __future__ import annotations

import json

import pytest

from pisces import cli


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "nope"], "unknown preset 'nope'"),
        (
            ["--preset", "pse", "--grid", "diagonal"],
            "grid must be one of ['wide', 'narrow', 'random'], got 'diagonal'",
        ),
        (["--preset", "pse", "--seeds", "3-1"], "reversed"),
        (["--preset", "pse", "--seeds", "x"], "bad seeds spec"),
        (["--preset", "pse", "--epochs", "0"], "epochs must be >= 1"),
        (["--preset", "pse", "--set", "alpah=1"], "unknown field 'alpah'"),
        (["--preset", "pse", "--set", "alpha"], "not FIELD=VALUE"),
        (["--preset", "pse", "--set", "alpha=-1"], "alpha and l2_reg must be >= 0"),
        (["--preset", "pse", "--set", "metric=cosine"], "metric must be one of"),
        (["--preset", "pse", "--set", "epochs=3", "--epochs", "2"], "both as an option"),
    ],
)
def test_clear_errors(tmp_path, capsys, argv, message):
    assert cli.main(["jumping", "train", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_tiny_run_writes_a_valid_result_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["jumping", "train", "--preset", "dropout-l2", "--seeds", "1", "--epochs", "1"]
    assert cli.main([*argv, "--out", str(out), "--device", "cpu"]) == 0
    result = json.loads((out / "seed-001.json").read_text())
    for key in ("preset", "grid", "seed", "epochs", "test_solved_pct", "git_commit", "config"):
        assert key in result
    assert (result["preset"], result["grid"], result["seed"], result["epochs"]) == (
        "dropout-l2",
        "wide",
        1,
        1,
    )
    assert result["final"]["test_total"] == 268 and result["final"]["train_total"] == 18
    assert result["test_solved_pct"] == pytest.approx(100 * result["final"]["test_solved"] / 268)
    assert len(result["solved"]) == 286 and result["eval_curve"][-1]["epoch"] == 1
    assert (out / "seed-001.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [1]
    assert "changed from the preset" not in capsys.readouterr().out  # the plain preset

    assert cli.main([*argv, "--out", str(out)]) == 0  # rerun: the finished seed is skipped
    assert "seed 1: done" in capsys.readouterr().out
    assert cli.main([*argv[:-1], "2", "--out", str(out)]) == 2  # other config, same --out
    assert "different configuration" in capsys.readouterr().err
    assert cli.main([*argv, "--out", str(out), "--set", "dropout=0.1"]) == 2  # --set counts
    assert "different configuration" in capsys.readouterr().err
    # a run that departs from its preset says so beside the preset's source
    assert cli.main([*argv, "--out", str(tmp_path / "b"), "--set", "dropout=0.1"]) == 0
    assert "changed from the preset: [dropout=0.1]; 1 epochs" in capsys.readouterr().out

    assert cli.main(["jumping", "report", str(out), "--reps", "200"]) == 0
    report = capsys.readouterr().out
    assert "| Dropout and ℓ2 reg. |" in report and "17.8 (2.2)" in report
    assert "not the full 2000-epoch protocol" in report


def test_report_on_an_empty_directory_is_an_error(tmp_path, capsys):
    assert cli.main(["jumping", "report", str(tmp_path)]) == 2
    assert "no seed-*.json" in capsys.readouterr().err


def test_report_on_a_parent_folder_reads_the_runs_below_and_keeps_short_runs_apart(
    tmp_path, capsys
):
    """``report results/jumping`` reads every run folder below it (tuning trials excepted);
    a run off the 2000-epoch protocol gets its own ``[N epochs]`` row, never the preset's."""
    from pisces.experiments.jumping.config import make_config

    cfg = make_config("dropout-l2").to_dict()
    for name, epochs, pct, seeds in [
        ("full", 2000, 20.0, (1, 2)),
        ("nested/short", 300, 50.0, (1,)),
        ("study/trials/trial-0000", 2000, 90.0, (1,)),
    ]:
        (tmp_path / name).mkdir(parents=True)
        for seed in seeds:
            record = {"preset": "dropout-l2", "grid": "wide", "seed": seed, "epochs": epochs}
            record |= {"test_solved_pct": pct + seed, "config": cfg}
            (tmp_path / name / f"seed-{seed:03d}.json").write_text(json.dumps(record))
    (tmp_path / "study" / "study.db").write_text("")
    (tmp_path / "figures").mkdir()  # a folder without records is skipped, not an error
    assert cli.main(["jumping", "report", str(tmp_path), "--reps", "100"]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0]: line for line in out.splitlines() if line.startswith("| ")}
    assert "21.5 (0.7)" in rows["| Dropout and ℓ2 reg."] and "n=2" in rows["| Dropout and ℓ2 reg."]
    assert "51.0 (–)" in rows["| Dropout and ℓ2 reg. [300 epochs]"]
    assert "91.0" not in out  # the tuning trial
    assert cli.main(["jumping", "report", str(tmp_path / "figures")]) == 2
    assert "no seed-*.json in or under" in capsys.readouterr().err


def test_report_fills_table1_randconv_bisimulation_from_the_bisim_l2_runs(tmp_path, capsys):
    """π*-bisimulation + ℓ2 (Table 2) is also Table 1's "RandConv + Bisimulation" row."""
    from pisces.experiments.jumping.config import make_config

    cfg = make_config("randconv-bisim-l2").to_dict()
    for seed, pct in ((1, 40.0), (2, 50.0)):
        record = {"preset": "randconv-bisim-l2", "grid": "wide", "seed": seed, "epochs": 2000}
        record |= {"test_solved_pct": pct, "config": cfg}
        (tmp_path / f"seed-{seed:03d}.json").write_text(json.dumps(record))
    assert cli.main(["jumping", "report", str(tmp_path), "--reps", "100"]) == 0
    rows = {
        line.split(" | ")[0]: line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ")
    }
    for row in ("| π*-bisim + ℓ2", "| RandConv + Bisimulation"):
        assert rows[row].endswith(" | 45.0 (7.1), IQM 45.0 [40.0, 50.0], n=2 | 41.4 (17.6) |")


def test_report_keeps_overridden_runs_off_the_presets_row(tmp_path, capsys):
    """A ``--set`` run (here ε-suboptimal PSM) gets its own row, labelled by the override."""
    from pisces.experiments.jumping.config import make_config

    for name, cfg, pct in [
        ("plain", make_config("randconv-pse"), 80.0),
        ("eps", make_config("randconv-pse", psm_epsilon=0.5), 40.0),
    ]:
        (tmp_path / name).mkdir()
        record = {"preset": "randconv-pse", "grid": "wide", "seed": 1, "epochs": 2000}
        record |= {"test_solved_pct": pct, "config": cfg.to_dict()}
        (tmp_path / name / "seed-001.json").write_text(json.dumps(record))
    args = ["jumping", "report", str(tmp_path / "plain"), str(tmp_path / "eps"), "--reps", "100"]
    assert cli.main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "RandConv + PSEs" in line]
    plain = next(r for r in rows if r.startswith("| RandConv + PSEs |"))
    eps = next(r for r in rows if "[psm_epsilon=0.5]" in r)
    assert "80.0" in plain and "40.0" not in plain and "87.0 (10.1)" in plain
    assert "40.0" in eps and "80.0" not in eps


def _numbers(path):
    """A record without the keys that depend on time or on the checkout's state."""
    record = json.loads(path.read_text())
    for key in ("train_seconds", "eval_seconds", "wall_seconds", "git_commit"):
        record.pop(key)
    return record


def test_worker_pool_and_a_resumed_seed_give_identical_records(tmp_path, capsys):
    """``--workers 2`` end to end; then the same folder with one seed missing is resumed (the
    lone pending seed runs in this process): every number equals the uninterrupted run's,
    because every seed runs with the recorded ``--threads`` (1)."""
    import shutil

    argv = ["jumping", "train", "--preset", "pse", "--seeds", "1-3", "--epochs", "1"]
    argv += ["--batch-size", "16", "--eval-mc-passes", "1", "--device", "cpu"]
    full = tmp_path / "full"
    assert cli.main([*argv, "--workers", "2", "--out", str(full)]) == 0
    records = {s: _numbers(full / f"seed-00{s}.json") for s in (1, 2, 3)}
    assert {r["threads"] for r in records.values()} == {1}
    assert len({json.dumps(r["loss_curve"]) for r in records.values()}) == 3  # seeds differ
    resumed = tmp_path / "resumed"
    shutil.copytree(full, resumed)
    for name in ("seed-003.json", "seed-003.png", "seed-002.png", "summary.json"):
        (resumed / name).unlink()
    capsys.readouterr()
    assert cli.main([*argv, "--workers", "2", "--out", str(resumed)]) == 0
    out = capsys.readouterr().out
    assert "seed 1: done" in out and "seed 2: done" in out
    assert _numbers(resumed / "seed-003.json") == records[3]
    assert (resumed / "seed-002.png").stat().st_size > 0  # a missing solved map is redrawn
    assert json.loads((resumed / "summary.json").read_text()) == json.loads(
        (full / "summary.json").read_text()
    )
    # another thread count would change the numbers: refused, naming the record
    assert cli.main([*argv, "--threads", "2", "--out", str(resumed)]) == 2
    err = capsys.readouterr().err
    assert "threads 1 there, 2 requested" in err and "seed-001.json" in err


def test_a_bad_out_fails_before_training(tmp_path, capsys):
    a_file = tmp_path / "F"
    a_file.write_text("x")
    argv = ["jumping", "train", "--preset", "dropout-l2", "--epochs", "1"]
    for out in (a_file, a_file / "sub"):
        assert cli.main([*argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(out) in err and "choose another --out" in err
    assert a_file.read_text() == "x"


def test_tensorboard_scalars_are_written_when_asked(tmp_path):
    from pisces.experiments.tensorboard import read_scalars

    argv = ["jumping", "train", "--preset", "pse", "--epochs", "2", "--batch-size", "16"]
    argv += ["--eval-every", "1", "--log-every", "4", "--device", "cpu"]
    assert cli.main([*argv, "--out", str(tmp_path / "off")]) == 0
    assert not (tmp_path / "off" / "tensorboard").exists()  # nothing unless asked
    assert cli.main([*argv, "--tensorboard", "--out", str(tmp_path / "on")]) == 0
    scalars = read_scalars(tmp_path / "on" / "tensorboard" / "seed-001")
    record = json.loads((tmp_path / "on" / "seed-001.json").read_text())
    assert [v for _, v in scalars["eval/test_solved_pct"]] == pytest.approx(
        [e["test_solved_pct"] for e in record["eval_curve"]]
    )
    assert [s for s, _ in scalars["loss/align"]] == [e["step"] for e in record["loss_curve"]]


def test_report_rows_follow_the_paper_with_each_methods_variants_after_it():
    from pisces.experiments.jumping.report import row_order

    rows = [
        "PSEs [b=1]",
        "mystery",
        "PSEs",
        "RandConv",
        "PSEs [a=2]",
        "RandConv",
        "PSEs [300 epochs]",
    ]
    assert row_order(rows, ["RandConv", "PSEs"]) == [
        "RandConv", "PSEs", "PSEs [300 epochs]", "PSEs [a=2]", "PSEs [b=1]", "mystery",
    ]  # fmt: skip
