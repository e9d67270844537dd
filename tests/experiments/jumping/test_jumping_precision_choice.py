"""``pisces jumping train --precision fp32|bf16|auto``: auto picks bf16 exactly where the
device has native bf16, and the choice is exclusive with ``--bf16``/``--no-bf16``."""

from __future__ import annotations

import argparse
import json

import pytest

from pisces import cli
from pisces.experiments.jumping import cli as jumping_cli


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    jumping_cli.configure_train(parser)
    return parser.parse_args(["--out", "unused", *argv])


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_hardware_and_explicit_choices_do_not(monkeypatch, native):
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: native)
    auto = jumping_cli.build_config(_args("--preset", "pse", "--precision", "auto"))
    assert auto.amp_bf16 is native
    for choice, expected in (("fp32", False), ("bf16", True)):
        cfg = jumping_cli.build_config(_args("--preset", "pse", "--precision", choice))
        assert cfg.amp_bf16 is expected
    # without --precision the preset's own value (fp32) stands
    assert jumping_cli.build_config(_args("--preset", "pse")).amp_bf16 is False


def test_auto_asks_about_the_resolved_device(monkeypatch):
    asked = []
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: asked.append(device) or True)
    jumping_cli.build_config(_args("--preset", "pse", "--precision", "auto"), "cuda:1")
    assert asked == ["cuda:1"]


def test_resolve_precision_rejects_unknown_names():
    with pytest.raises(ValueError, match="--precision fp16: unknown"):
        jumping_cli.resolve_precision("fp16", "cpu")


@pytest.mark.parametrize(
    "extra", [["--bf16"], ["--no-bf16"], ["--set", "amp_bf16=true"]], ids=["bf16", "no", "set"]
)
def test_precision_and_bf16_flags_are_exclusive(tmp_path, capsys, extra):
    argv = ["jumping", "train", "--preset", "pse", "--out", str(tmp_path), "--precision", "auto"]
    assert cli.main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert "give --precision or --bf16/--no-bf16 (amp_bf16), not both" in err
    assert len(err.splitlines()) == 1


def test_auto_run_says_and_records_what_ran(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: False)
    out = tmp_path / "run"
    argv = ["jumping", "train", "--preset", "dropout-l2", "--epochs", "1", "--device", "cpu"]
    assert cli.main([*argv, "--precision", "auto", "--out", str(out)]) == 0
    assert "precision auto: fp32 (" in capsys.readouterr().out
    record = json.loads((out / "seed-001.json").read_text())
    assert record["precision"] == "fp32" and record["config"]["amp_bf16"] is False


def _record(folder, seed: int, amp: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"seed": seed, "config": {"amp_bf16": amp}}
    (folder / f"seed-{seed:03d}.json").write_text(json.dumps(record))


@pytest.mark.parametrize("native", [True, False])
def test_train_defaults_to_auto_in_a_new_folder(tmp_path, monkeypatch, native):
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: native)
    choice, why = jumping_cli.default_precision(jumping_cli.store_of(tmp_path / "new"), "cpu")
    assert choice == "auto" and ("has native bf16" if native else "has no native bf16") in why
    cfg = jumping_cli.build_config(_args("--preset", "pse"), "cpu", choice)
    assert cfg.amp_bf16 is native


@pytest.mark.parametrize("amp", [True, False])
def test_a_folder_keeps_the_precision_its_seeds_ran_in(tmp_path, monkeypatch, amp):
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: not amp)
    _record(tmp_path, 1, amp)
    _record(tmp_path, 2, amp)
    choice, why = jumping_cli.default_precision(jumping_cli.store_of(tmp_path), "cpu")
    assert choice == ("bf16" if amp else "fp32") and str(tmp_path) in why
    assert jumping_cli.build_config(_args("--preset", "pse"), "cpu", choice).amp_bf16 is amp
    _record(tmp_path, 3, not amp)  # a mixed folder: back to auto (the resume check decides)
    assert jumping_cli.default_precision(jumping_cli.store_of(tmp_path), "cpu")[0] == "auto"


def test_explicit_choices_and_config_files_override_the_default(tmp_path, monkeypatch):
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: True)
    no_bf16 = jumping_cli.build_config(_args("--preset", "pse", "--no-bf16"), "cpu", "auto")
    assert no_bf16.amp_bf16 is False
    cfg = jumping_cli.build_config(_args("--preset", "pse", "--precision", "fp32"), "cpu", "bf16")
    assert cfg.amp_bf16 is False
    path = tmp_path / "best.toml"
    path.write_text('preset = "pse"\n')  # a config file keeps its own precision (fp32)
    assert jumping_cli.build_config(_args("--config", str(path)), "cpu", "auto").amp_bf16 is False


def test_a_defaulted_run_says_which_precision_and_why(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(jumping_cli, "bf16_hardware", lambda device: False)
    out = tmp_path / "run"
    argv = ["jumping", "train", "--preset", "dropout-l2", "--epochs", "1", "--device", "cpu"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "precision fp32 (the default; auto: " in said and "has no native bf16" in said
    assert json.loads((out / "seed-001.json").read_text())["config"]["amp_bf16"] is False
    assert cli.main([*argv, "--seeds", "2", "--out", str(out)]) == 0
    assert f"the seeds already in {out} ran in fp32" in capsys.readouterr().out
