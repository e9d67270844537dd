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
