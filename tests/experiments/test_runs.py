"""Run bookkeeping: seed specs, commit stamps, atomic writes."""

from __future__ import annotations

import json
import math
import re

import pytest

from pisces.experiments import runs
from pisces.experiments.jumping.config import JumpingConfig, make_config


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("1-5", [1, 2, 3, 4, 5]),
        ("3", [3]),
        ("5,1,3,1", [1, 3, 5]),
        ("1-3,7", [1, 2, 3, 7]),
        ("0", [0]),
        (" 2 - 4 ", [2, 3, 4]),
    ],
)
def test_parse_seeds(spec, want):
    assert runs.parse_seeds(spec) == want


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("a", "'a'"),
        ("1,,2", "''"),
        ("5-3", "reversed"),
        ("-1", "'-1'"),
        ("1-", "'1-'"),
    ],
)
def test_parse_seeds_rejects_bad_specs(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        runs.parse_seeds(spec)


def test_git_commit_names_this_checkout():
    commit = runs.git_commit()
    if commit is None:  # an installed copy outside git has no commit to report
        pytest.skip("not running from a git checkout")
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit)


def test_write_json_atomic_roundtrip_and_no_leftovers(tmp_path):
    path = tmp_path / "deep" / "seed-001.json"
    runs.write_json_atomic(path, {"a": 1, "nan": math.nan})
    runs.write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["seed-001.json"]


def test_write_json_atomic_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "r.json"
    runs.write_json_atomic(path, {"ok": True})
    with pytest.raises(TypeError):
        runs.write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_parse_overrides_converts_to_the_field_types():
    got = runs.parse_overrides(
        ["alpha=2", "epochs=7", "rand_conv=TRUE", "metric=bisim", "dropout=0", " beta = 0.5 "],
        JumpingConfig,
    )
    assert got == {
        "alpha": 2.0,
        "epochs": 7,
        "rand_conv": True,
        "metric": "bisim",
        "dropout": 0.0,
        "beta": 0.5,
    }
    assert type(got["epochs"]) is int and type(got["alpha"]) is float
    assert runs.parse_overrides(None, JumpingConfig) == {}
    cfg = make_config("pse", **got)
    assert (cfg.alpha, cfg.epochs, cfg.rand_conv, cfg.metric) == (2.0, 7, True, "bisim")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("alpha", "not FIELD=VALUE"),
        ("=3", "not FIELD=VALUE"),
        ("nope=1", "unknown field 'nope'"),
        ("epochs=1.5", "epochs takes int"),
        ("rand_conv=maybe", "true or false"),
        ("grid=diagonal", "grid must be one of"),
    ],
)
def test_parse_overrides_rejects_bad_items(item, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        runs.parse_overrides([item], JumpingConfig)


def test_resolve_device():
    import torch

    assert runs.resolve_device("cpu") == "cpu"
    assert runs.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "cuda:", "cuda:a", "CPU"):
        with pytest.raises(ValueError, match=f"--device {bad}: unknown device"):
            runs.resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda:1: CUDA is not available"):
            runs.resolve_device("cuda:1")


def test_pending_seeds_skips_done_and_names_a_mismatch(tmp_path):
    def path_of(seed):
        return tmp_path / f"seed-{seed}.json"

    for seed, lr in ((2, 0.1), (4, 0.1)):
        path_of(seed).write_text(json.dumps({"seed": seed, "lr": lr}))
    seen = []
    todo = runs.pending_seeds(
        [1, 2, 3, 4], path_of, lambda r: r["lr"] == 0.1, lambda s, r: seen.append((s, r["seed"]))
    )
    assert todo == [1, 3] and seen == [(2, 2), (4, 4)]
    path_of(3).write_text(json.dumps({"seed": 3, "lr": 0.5}))
    with pytest.raises(runs.ConfigMismatch, match=re.escape(f"{path_of(3)} was made with a d")):
        runs.pending_seeds([1, 2, 3], path_of, lambda r: r["lr"] == 0.1)
