"""Run bookkeeping: seed specs, commit stamps, atomic writes."""

from __future__ import annotations

import json
import math
import re

import pytest

from pisces.experiments import runs


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
