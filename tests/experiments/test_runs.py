"""The run/result layer: seed specs, overrides, the result store, commit stamps, atomic writes."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys

import pytest

from pisces.experiments import configs, runs, seeds
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
    assert seeds.parse_seeds(spec) == want


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
        seeds.parse_seeds(spec)


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
    got = configs.parse_overrides(
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
    assert configs.parse_overrides(None, JumpingConfig) == {}
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
        configs.parse_overrides([item], JumpingConfig)


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


def _store(tmp_path):
    return runs.ResultStore(tmp_path / "out", "seed-{seed}.json", "seed-*.json")


def test_pending_skips_done_seeds_and_keeps_one_config_per_folder(tmp_path):
    store = _store(tmp_path)
    for seed in (2, 4):
        store.write({"seed": seed, "lr": 0.1})
    assert json.loads(store.path(2).read_text())["format"] == runs.RECORD_FORMAT
    seen = []

    def mismatch(r):
        return None if r["lr"] == 0.1 else f"lr {r['lr']}"

    todo = store.pending([1, 2, 3, 4], mismatch, lambda s, r: seen.append((s, r["seed"])))
    assert todo == [1, 3] and seen == [(2, 2), (4, 4)]
    # a record of another configuration in the folder refuses every new seed, naming it
    store.write({"seed": 9, "lr": 0.5})
    with pytest.raises(runs.ConfigMismatch, match=re.escape(f"{store.path(9)} was made with a d")):
        store.pending([1], mismatch)
    with pytest.raises(runs.ConfigMismatch, match=r"\(lr 0.5\)"):
        store.pending([1], mismatch)


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "empty"), ('{"seed": 1', "bad JSON at line 1"), ("[1, 2]", "no 'seed' key")],
)
def test_a_corrupt_record_is_named_with_what_to_do(tmp_path, text, why):
    store = _store(tmp_path)
    store.root.mkdir()
    store.path(1).write_text(text)
    with pytest.raises(runs.CorruptResult, match=re.escape(f"{store.path(1)} is not a valid")) as e:
        store.pending([1], lambda r: None)
    assert why in str(e.value) and "delete it" in str(e.value)
    with pytest.raises(runs.CorruptResult):
        runs.load_records([store.root], "seed-*.json")


def test_load_records_reads_each_file_once(tmp_path):
    store = _store(tmp_path)
    for seed in (3, 1, 2):
        store.write({"seed": seed})
    sub = runs.ResultStore(store.root / "sub", "seed-{seed}.json", "seed-*.json")
    sub.write({"seed": 7})
    root = store.root
    twice = runs.load_records([root, root, root / "." / "sub"], "seed-*.json", recursive=True)
    assert sorted(r["seed"] for r in twice) == [1, 2, 3, 7]
    flat = runs.load_records([root], "seed-*.json", by_seed=True)
    assert [r["seed"] for r in flat] == [1, 2, 3]
    with pytest.raises(FileNotFoundError, match="no such folder"):
        runs.load_records([tmp_path / "nope"], "seed-*.json")
    with pytest.raises(FileNotFoundError, match="no seed-\\*.json in"):
        runs.load_records([tmp_path], "seed-*.json", require=True)


def test_check_writable_fails_before_any_work(tmp_path):
    a_file = tmp_path / "F"
    a_file.write_text("x")
    for out, what in (
        (a_file, "is a file"),
        (a_file / "sub", f"lies under the file {a_file}"),
    ):
        with pytest.raises(ValueError, match=re.escape(what)):
            runs.ResultStore(out).check_writable()
    runs.ResultStore(tmp_path / "new" / "deep").check_writable()
    assert (tmp_path / "new" / "deep").is_dir()
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if not os.access(ro, os.W_OK):  # root ignores permissions
        with pytest.raises(ValueError, match="is not writable"):
            runs.ResultStore(ro).check_writable()


def test_summary_of_an_empty_folder_writes_nothing(tmp_path):
    store = _store(tmp_path)
    assert store.write_summary(lambda rs: {"n": len(rs)}) is None
    store.write({"seed": 1})
    assert store.write_summary(lambda rs: {"n": len(rs)}) == {"n": 1}
    assert json.loads((store.root / "summary.json").read_text()) == {"n": 1}


def test_the_cpu_stamp_names_the_instruction_set_tier(monkeypatch):
    tiers = [
        ({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}, "amx"),
        ({"avx2", "avx512f", "avx512_bf16"}, "avx512_bf16"),  # e.g. an EPYC of Zen 4
        ({"avx2", "avx512f", "avx512bw"}, "avx512"),
        ({"sse4_2", "avx2", "fma"}, "avx2"),  # e.g. an EPYC of Zen 2/3
        ({"sse4_2"}, None),
    ]
    monkeypatch.setattr(runs, "cpu_flags", lambda: set())
    name = runs.cpu_model()  # the model name alone
    for flags, tier in tiers:
        assert runs.cpu_isa(flags) == tier
        monkeypatch.setattr(runs, "cpu_flags", lambda flags=flags: flags)
        assert runs.bf16_hardware() is (tier in ("amx", "avx512_bf16"))
        assert runs.cpu_model() == (f"{name} ({tier})" if tier else name)


_FAULTS_OF_A_TRAINING_LOOP = """
import resource, sys
import torch
from pisces.experiments.runs import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def step():  # a step's big tensors (above glibc's largest mmap threshold) and a small one
    a = torch.empty(1 << 24).fill_(1.0)  # 64 MiB
    b = torch.empty(9 << 20).fill_(1.0)  # 36 MiB
    return float((a[: 1 << 20] + 1)[0] + b[0])
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc malloc only",
)
def test_keep_freed_memory_stops_a_loop_faulting_its_big_tensors_in_every_step():
    def faults(mode: str) -> float:
        run = subprocess.run(
            [sys.executable, "-c", _FAULTS_OF_A_TRAINING_LOOP, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return float(run.stdout.split()[-1])

    default = faults("default")
    assert default > 20000  # glibc maps ~25,600 fresh 4 KiB pages a step
    assert faults("keep") < 0.2 * default  # measured 0 or 1,843 (one 7 MiB gap re-faulted)
