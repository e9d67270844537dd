"""``pisces tune``: a tiny Optuna study on SQLite, killed with SIGKILL mid-trial and resumed;
the best configuration file round-trips; bad input is one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pisces import cli
from pisces.experiments import tune
from pisces.experiments.configs import config_toml
from pisces.experiments.jumping.config import PRESETS, load_config_file, make_config

optuna = pytest.importorskip("optuna")

#: the smallest jumping runs (~5-10 s a seed on a busy core).
TINY = ["--preset", "dropout-l2", "--epochs", "1", "--seeds", "1", "--set", "batch_size=16"]


def _study(out: Path):
    storage = f"sqlite:///{out / 'study.db'}"
    return optuna.load_study(study_name="dropout-l2-wide", storage=storage)


def _wait_for_running_trial(out: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the study in ``out`` has a RUNNING trial with parameters (read with sqlite3,
    read-only: opening Optuna's storage while the other process creates its tables would
    race it)."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{out / 'study.db'}?mode=ro", uri=True)
            ) as db:
                query = (  # a running trial that has drawn its parameters: it is training
                    "SELECT 1 FROM trials JOIN trial_params USING (trial_id) "
                    "WHERE trials.state = 'RUNNING'"
                )
                if db.execute(query).fetchall():
                    return
        except sqlite3.OperationalError:  # no file or no table yet
            pass
        time.sleep(0.3)
    raise AssertionError("no trial started")


def test_a_study_killed_mid_trial_resumes_to_the_trials_asked(tmp_path, capsys):
    out = tmp_path / "study"

    def argv(trials: int) -> list[str]:
        return [*TINY, "--trials", str(trials), "--heartbeat", "1", "--startup-trials", "1"] + [
            "--out",
            str(out),
        ]

    proc = subprocess.Popen(
        [sys.executable, "-m", "pisces.cli", "tune", *argv(1)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_running_trial(out, proc)
        time.sleep(1.0)  # mid-trial
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = _study(out).get_trials(deepcopy=False)
    assert [t.state.name for t in killed] == ["RUNNING"]  # left behind by the dead process
    assert killed[0].params == {"learning_rate": 4e-3, "l2_reg": 4.3e-4, "dropout": 0.3}
    time.sleep(2.5)  # two heartbeats missed: the trial is stale
    assert cli.main(["tune", *argv(3)]) == 0
    stdout = capsys.readouterr().out
    trials = _study(out).get_trials(deepcopy=False)
    states = [t.state.name for t in trials]
    assert states == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"], states
    retried = trials[1]  # the killed trial again, with the same parameters (the preset's)
    assert retried.system_attrs["failed_trial"] == 0 and retried.params == killed[0].params
    assert retried.user_attrs["enqueued"] == "preset dropout-l2"
    # each completed trial's runs are normal per-seed records of the validation objective
    from pisces.experiments.jumping.cli import store_of

    for trial in trials[1:]:
        (record,) = store_of(out / "trials" / f"trial-{trial.number:04d}").records()
        assert record["config"]["no_validation"] is False
        assert record["final"]["validation_total"] == 54  # the wide grid's validation split
        assert trial.value == pytest.approx(record["final"]["validation_solved_pct"])
        assert record["config"]["learning_rate"] == pytest.approx(trial.params["learning_rate"])
    for name in ("best.toml", "best.json", "trials.csv", "history.png", "slice.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "importances.png").exists()
    assert "| best (" in stdout and "| preset (1) |" in stdout
    # the best configuration file is a train config at the preset's schedule
    best = max(trials[1:], key=lambda t: (t.value, -t.number))
    cfg = load_config_file(out / "best.toml")
    assert cfg.epochs == 2000 and cfg.no_validation is True and cfg.batch_size == 16
    assert cfg.preset == "dropout-l2" and f"best trial {best.number}" in cfg.source
    for name, value in best.params.items():
        assert getattr(cfg, name) == pytest.approx(value)
    # ... which `jumping train --config` runs, flags on top
    run = tmp_path / "best-run"
    assert (
        cli.main(
            ["jumping", "train", "--config", str(out / "best.toml"), "--epochs", "1"]
            + ["--eval-every", "1", "--device", "cpu", "--out", str(run)]
        )
        == 0
    )
    (record,) = store_of(run).records()
    assert record["config"] == cfg.replace(epochs=1, eval_every=1).to_dict()
    # asking again for 3 trials runs nothing; --write-only never runs one
    (out / "best.json").unlink()
    assert cli.main(["tune", *argv(3)]) == 0
    assert cli.main(["tune", *argv(5), "--write-only"]) == 0
    assert len(_study(out).get_trials(deepcopy=False)) == 4 and (out / "best.json").exists()


def test_load_config_file_reads_a_short_toml_and_a_record(tmp_path):
    short = tmp_path / "mine.toml"
    short.write_text('preset = "pse"\nlearning_rate = 0.005\nepochs = 10\nrand_conv = true\n')
    cfg = load_config_file(short)
    assert cfg == PRESETS["pse"].replace(learning_rate=5e-3, epochs=10, rand_conv=True)
    full = tmp_path / "full.toml"
    reference = make_config("randconv-pse", "narrow", alpha=3.5, l2_reg=1e-5)
    full.write_text(config_toml(reference, ["a comment"]))
    assert load_config_file(full) == reference
    record = tmp_path / "seed-001.json"
    record.write_text('{"seed": 1, "config": {"preset": "pse", "alpha": 2}}')
    assert load_config_file(record) == PRESETS["pse"].replace(alpha=2.0)
    for text, message in [
        ("alpah = 1\n", "unknown field 'alpah'"),
        ("epochs = 0\n", "epochs must be >= 1"),
        ("alpha = nan\n", "alpha must be finite"),
        ("alpha = [1]\n", "takes a single value"),
        ("alpha = \n", "not valid TOML"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(tune.UsageError, match=message):
            load_config_file(bad)


def test_default_space_follows_the_preset():
    assert tune.default_params(PRESETS["pse"]) == (
        "learning_rate",
        "alpha",
        "temperature",
        "l2_reg",
        "dropout",
    )
    assert tune.default_params(PRESETS["randconv"]) == ("learning_rate", "dropout")
    assert tune.parse_params("lr, l2,alpha") == ("learning_rate", "l2_reg", "alpha")
    for preset in ("pse", "dropout-l2", "randconv-pse"):  # the paper's values lie inside
        for name in tune.default_params(PRESETS[preset]):
            assert tune.SPACE[name].contains(getattr(PRESETS[preset], name)), (preset, name)


BAD = [
    (["--storage", "notadb://x/y"], "--storage notadb://x/y: cannot open this database"),
    (["--storage", "sqlite:////nonexistent/dir/s.db"], "cannot open this database"),
    (["--storage", "no url at all"], "cannot open this database"),
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--params", "lr,beta2"], "unknown parameter 'beta2'"),
    (["--seeds", "3-1"], "'3-1' is reversed"),
    (["--set", "alpah=1"], "unknown field 'alpah'"),
    (["--set", "epochs=3"], "--set epochs: set by the study"),
    (["--set", "learning_rate=0.1"], "a tuned parameter cannot be fixed"),
    (["--set", "beta=-1"], "beta must be > 0"),
    (["--epochs", "0"], "--epochs: must be >= 1"),
    (["--address", "127.0.0.1:1"], "--address needs --backend ray"),
]


@pytest.mark.parametrize(("extra", "message"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, message):
    argv = ["tune", *TINY, "--out", str(tmp_path / "s"), *extra]
    if extra[0] == "--preset":
        argv = ["tune", *extra, "--out", str(tmp_path / "s")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
    assert not list((tmp_path / "s").glob("trials")) and not (tmp_path / "s" / "study.db").exists()


def test_a_study_of_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "s"
    settings = tune.build_settings(
        cli_args(["--preset", "dropout-l2", "--epochs", "5", "--out", str(out)])
    )
    out.mkdir()
    tune.load_study(settings)  # creates it, records its settings
    assert cli.main(["tune", "--preset", "dropout-l2", "--epochs", "6", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was made with other settings" in err and "epochs 5 there, 6 requested" in err


def cli_args(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser()
    tune.configure(parser)
    return parser.parse_args(argv)


def test_train_takes_a_preset_or_a_config_file_not_both(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('preset = "pse"\nalpha = 2.5\n')
    for extra, message in [
        (["--preset", "pse", "--config", str(path)], "give --preset NAME or --config FILE"),
        ([], "give --preset NAME or --config FILE"),
        (["--config", str(tmp_path / "none.toml")], "none.toml: cannot read it"),
    ]:
        out = tmp_path / "out"
        assert cli.main(["jumping", "train", *extra, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
        assert not out.exists()


def test_a_resumed_study_does_not_redraw_its_random_trials(tmp_path):
    out = tmp_path / "study"
    argv = [*TINY, "--startup-trials", "10", "--no-enqueue-preset", "--out", str(out)]
    assert cli.main(["tune", *argv, "--trials", "1"]) == 0
    assert cli.main(["tune", *argv, "--trials", "2"]) == 0  # a new process resumes the study
    first, second = (t.params for t in _study(out).get_trials(deepcopy=False))
    assert first != second  # a restarted seed alone would draw the first trial again
    assert set(first) == set(second) == {"learning_rate", "l2_reg", "dropout"}
