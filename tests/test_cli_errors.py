"""Bad input to every command and verb: exit status 2, one line on stderr that names the
offending value, no traceback, no file written, and no training started.

Each case is ``(argv, substring of the message)``; ``{out}`` is an empty folder, ``{file}``
an existing plain file, ``{corrupt}`` a folder holding a truncated record, ``{lqr}`` a folder
holding one valid LQR record. The list extends the cases of issue 16 (which were examples).
"""

from __future__ import annotations

import json

import pytest

from pisces import cli

J = ["jumping", "train", "--out", "{out}"]
L = ["lqr", "train", "--distractors", "50", "--seeds", "1", "--out", "{out}"]
D = ["dmc", "train", "--domain", "cartpole", "--task", "swingup"]
CASES = [
    # the top level
    (["nope"], "unknown command 'nope'"),
    (["jumping", "nope"], "unknown verb 'nope'"),
    # jumping train
    ([*J, "--preset", "nope"], "unknown preset 'nope'"),
    ([*J, "--preset", "pse", "--grid", "diagonal"], "'diagonal'"),
    ([*J, "--preset", "pse", "--seeds", "3-1"], "'3-1' is reversed"),
    ([*J, "--preset", "pse", "--seeds", "x"], "bad seeds spec 'x'"),
    ([*J, "--preset", "pse", "--seeds", "-2"], "bad seeds spec '-2'"),
    ([*J, "--preset", "pse", "--epochs", "0"], "epochs must be >= 1"),
    ([*J, "--preset", "pse", "--epochs", "two"], "'two'"),
    ([*J, "--preset", "pse", "--set", "alpha=nan"], "alpha must be finite"),
    ([*J, "--preset", "pse", "--set", "l2_reg=nan"], "l2_reg must be finite"),
    ([*J, "--preset", "pse", "--temperature", "inf"], "temperature must be finite"),
    ([*J, "--preset", "pse", "--learning-rate", "-1"], "learning_rate must be > 0"),
    ([*J, "--preset", "pse", "--dropout", "1"], "dropout must be in [0, 1)"),
    ([*J, "--preset", "pse", "--set", "alpah=1"], "unknown field 'alpah'"),
    ([*J, "--preset", "pse", "--set", "alpha"], "'alpha' is not FIELD=VALUE"),
    ([*J, "--preset", "pse", "--set", "alpha=1", "--set", "alpha=2"], "'alpha' is set twice"),
    ([*J, "--preset", "pse", "--set", "epochs=3", "--epochs", "2"], "['epochs'] given both"),
    ([*J, "--preset", "pse", "--loss-variant", "paper", "--coupling-weights"], "coupling_weight"),
    ([*J, "--preset", "pse", "--psm-epsilon", "0.7"], "psm_epsilon must be in [0, 0.5]"),
    ([*J, "--preset", "pse", "--workers", "0"], "--workers: must be >= 1, got 0"),
    ([*J, "--preset", "pse", "--threads", "0"], "--threads: must be >= 1, got 0"),
    ([*J, "--preset", "pse", "--ensemble", "--workers", "2"], "--ensemble"),
    ([*J, "--preset", "pse", "--device", "tpu"], "--device tpu"),
    (["jumping", "train", "--preset", "pse", "--out", "{file}"], "is a file"),
    (["jumping", "train", "--preset", "pse", "--out", "{file}/sub"], "lies under the file"),
    (["jumping", "train", "--preset", "pse", "--out", "{corrupt}"], "is not a valid result file"),
    # jumping report / bisim-transfer / figure / embeddings / suboptimality
    (["jumping", "report", "{out}", "--reps", "0"], "--reps: must be >= 1, got 0"),
    (["jumping", "report", "{out}/nope"], "nope: no such folder"),
    (["jumping", "report", "{out}"], "no seed-*.json in"),
    (["jumping", "report", "{corrupt}"], "is not a valid result file"),
    (["jumping", "eta", "{out}/nope"], "nope: no such folder"),
    (["jumping", "eta", "{corrupt}"], "is not a valid result file"),
    (["jumping", "eta", "{out}", "--seed", "0"], "--seed: must be >= 1, got 0"),
    (["jumping", "eta", "{out}", "--like", "{out}/nope"], "nope: no such folder (--like)"),
    (["jumping", "compare", "{out}/nope", "{out}"], "nope: no such folder"),
    (["jumping", "compare", "{out}", "{out}", "{out}"], "folders come in pairs (BASE OTHER"),
    (["jumping", "dynamics", "{out}/nope", "--out", "{out}/d.png"], "nope: no such folder"),
    (["jumping", "dynamics", "{out}", "--out", "{out}/d.pdf"], "expected a .png path"),
    (
        ["jumping", "dynamics", "{out}", "--label", "a", "--label", "b", "--out", "{out}/d.png"],
        "2 --label for 1",
    ),
    (["jumping", "compare", "{corrupt}", "{corrupt}"], "is not a valid result file"),
    (["jumping", "compare", "{corrupt}", "{out}", "--reps", "0"], "--reps: must be >= 1, got 0"),
    (["jumping", "bisim-transfer", "--grid", "diagonal", "--out", "{out}"], "'diagonal'"),
    (["jumping", "bisim-transfer", "--gamma", "1.5", "--out", "{out}"], "gamma"),
    (["jumping", "bisim-transfer", "--seeds", "x", "--out", "{out}"], "bad seeds spec 'x'"),
    (["jumping", "bisim-transfer", "--out", "{file}"], "is a file"),
    (["jumping", "figure", "--obstacle", "999", "--out", "{out}"], "got 999"),
    (["jumping", "figure", "--floor", "-1", "--out", "{out}"], "got -1"),
    (["jumping", "figure", "--grid", "random", "--out", "{out}"], "--grid random needs --seed"),
    (["jumping", "embeddings", "--model", "{out}/none.pt", "--out", "{out}/e.png"], "none.pt"),
    (["jumping", "suboptimality", "{out}/nope", "--out", "{out}/f.png"], "nope"),
    (["metrics", "heatmap", "--obstacles", "5", "99", "--out", "{out}"], "got 5"),
    (["metrics", "heatmap", "--floor", "99", "--out", "{out}"], "got 99"),
    # lqr train
    (["lqr", "train", "--preset", "nope", "--distractors", "50", "--out", "{out}"], "'nope'"),
    ([*L, "--preset", "psm", "--lambda", "nan"], "lam must be finite"),
    ([*L, "--preset", "psm", "--lambda", "inf"], "lam must be finite"),
    ([*L, "--preset", "psm", "--lambda", "-1"], "lambda must be >= 0"),
    ([*L, "--preset", "l1", "--l1", "nan"], "l1 must be finite"),
    ([*L, "--preset", "psm", "--lr", "inf"], "lr must be finite"),
    ([*L, "--preset", "psm", "--lr", "0"], "lr must be > 0"),
    ([*L, "--preset", "psm", "--iterations", "-1"], "iterations >= 0"),
    ([*L, "--preset", "psm", "--batch", "-1"], "--batch: must be >= 1, got -1"),
    ([*L, "--preset", "psm", "--batch", "0"], "--batch: must be >= 1, got 0"),
    ([*L, "--preset", "psm", "--optimizer", "sgd"], "unknown optimizer 'sgd'"),
    ([*L, "--preset", "psm", "--device", "tpu"], "--device tpu"),
    ([*L, "--preset", "psm", "--set", "lamda=1"], "unknown field 'lamda'"),
    (["lqr", "train", "--preset", "psm", "--distractors", "5", "--out", "{out}"], "n_distractors"),
    (["lqr", "train", "--preset", "psm", "--distractors", "50", "--out", "{file}"], "is a file"),
    # lqr report / compare / sweep
    (["lqr", "report", "{out}/nope"], "nope: no such folder"),
    (["lqr", "report", "{out}"], "no seed_*.json found"),
    (["lqr", "report", "{lqr}", "--test-env", "99"], "--test-env 99"),
    (["lqr", "report", "{lqr}", "--test-env", "-1"], "--test-env: must be >= 0, got -1"),
    (["lqr", "report", "{lqr}", "--reps", "0"], "--reps: must be >= 1, got 0"),
    (["lqr", "compare", "{lqr}", "{out}/nope"], "nope: no such folder"),
    (["lqr", "compare", "{lqr}", "{lqr2}"], "no seed has runs on both sides"),
    (["lqr", "sweep", "--lambdas", "-1", "--out", "{out}"], "--lambdas: must be >= 0.0"),
    (["lqr", "sweep", "--iterations", "-1", "--out", "{out}"], "--iterations: must be >= 0"),
    (["lqr", "sweep", "--device", "tpu", "--out", "{out}"], "--device tpu"),
    # jumping train --config, results-page
    (["jumping", "train", "--config", "{file}", "--out", "{out}"], "not valid TOML"),
    (["jumping", "train", "--config", "{out}/none.toml", "--out", "{out}"], "cannot read it"),
    (["jumping", "train", "--config", "{config}", "--out", "{out}"], "unknown field 'alpah'"),
    (["jumping", "train", "--preset", "pse", "--config", "{config}", "--out", "{out}"], "one of"),
    (["jumping", "results-page", "{out}/nope", "--out", "{out}/r.md"], "nope"),
    # sweep
    (["sweep", "{out}/none.toml"], "no such spec file"),
    (["sweep", "{file}"], "invalid TOML"),
    (["sweep", "{spec}"], "job 1 (line 2): unknown preset 'nope'"),
    (["sweep", "{spec}", "--address", "127.0.0.1:1"], "--address needs --backend ray"),
    (["sweep", "{spec}", "--workers", "0"], "--workers: must be >= 1, got 0"),
    # tune
    (["tune", "--preset", "nope", "--out", "{out}"], "unknown preset 'nope'"),
    (["tune", "--preset", "pse", "--params", "lr,beta", "--out", "{out}"], "'beta'"),
    (["tune", "--preset", "pse", "--seeds", "3-1", "--out", "{out}"], "'3-1' is reversed"),
    (["tune", "--preset", "pse", "--storage", "bogus://x", "--out", "{out}"], "bogus://x"),
    (["tune", "--preset", "pse", "--out", "{file}"], "is a file"),
    (["tune", "--preset", "pse", "--trials", "0", "--out", "{out}"], "--trials: must be >= 1"),
    # curves
    (["curves", "{out}/nope", "{out}/c.png"], "nope: no such folder"),
    (["curves", "{out}", "{out}/c.png"], "no TensorBoard event files"),
    # dmc
    (
        ["dmc", "frames", "--domain", "cartpole", "--task", "spin", "--out", "{out}"],
        "'cartpole-spin'",
    ),
    (
        ["dmc", "frames", "--domain", "cartpole", "--task", "swingup", "--out", "{file}"],
        "is a file",
    ),
    (
        ["dmc", "teacher", "--domain", "cartpole", "--task", "swingup", "--env-steps", "0"]
        + ["--out", "{out}"],
        "env_steps must be an int >= 1",
    ),
    (["dmc", "collect", "--teacher", "{out}", "--out", "{out}"], "no teacher at"),
    ([*D, "--preset", "drq-cpu", "--out", "{file}"], "is a file"),
    ([*D, "--preset", "drq-pse-cpu", "--out", "{out}"], "needs pair data"),
    ([*D, "--preset", "drq-cpu", "--seeds", "x", "--out", "{out}"], "bad seeds spec 'x'"),
    (["dmc", "report", "{out}"], "no seed-*.json in"),
    # demo
    (["demo", "--epochs", "0", "--out", "{out}"], "--epochs: must be >= 1, got 0"),
    (["demo", "--device", "tpu", "--out", "{out}"], "--device tpu"),
    (["demo", "--out", "{file}"], "is a file"),
]


@pytest.fixture
def places(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "seed-001.json").write_text('{"seed": 1, "preset": ')
    record = {"seed": 1, "preset": "psm", "distractors": 50, "test_error": 1.0}
    record |= {"test_errors": [1.0, 1.0], "config": {"iterations": 5}}
    lqr, lqr2 = tmp_path / "lqr", tmp_path / "lqr2"
    for folder, seed in ((lqr, 1), (lqr2, 2)):
        folder.mkdir()
        (folder / f"seed_{seed:04d}.json").write_text(json.dumps(record | {"seed": seed}))
    config = tmp_path / "config.toml"
    config.write_text('preset = "pse"\nalpah = 1\n')
    spec = tmp_path / "spec.toml"
    spec.write_text('out = "x"\n[[job]]\nbenchmark = "jumping"\npreset = "nope"\nseeds = 1\n')
    return {
        "out": out,
        "file": a_file,
        "corrupt": corrupt,
        "lqr": lqr,
        "lqr2": lqr2,
        "config": config,
        "spec": spec,
    }


def _snapshot(root):
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file()
    )


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    argv, message, places, tmp_path, capsys, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    import pisces.experiments.jumping.trainer as jumping_trainer
    import pisces.experiments.lqr.train as lqr_train

    monkeypatch.setattr(jumping_trainer.JumpingTrainer, "__init__", no_training)
    monkeypatch.setattr(lqr_train, "train_batch", no_training)
    if argv[0] == "dmc":
        pytest.importorskip("dm_control")
        import pisces.experiments.dmc.train as dmc_train

        monkeypatch.setattr(dmc_train.DMCTrainer, "__init__", no_training)
    argv = [a.format(**places) for a in argv]
    before = _snapshot(tmp_path)
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    assert message.format(**places) in err, err
    assert _snapshot(tmp_path) == before, "a file was written"


def test_every_command_and_verb_has_a_bad_input_case():
    covered = {tuple(argv[:2]) for argv, _ in CASES} | {(argv[0],) for argv, _ in CASES}
    for group, verbs in cli.COMMANDS.items():
        for verb in verbs:
            key = (verb,) if group == "" else (group, verb)
            assert key in covered, f"no bad-input case for `pisces {' '.join(key)}`"
