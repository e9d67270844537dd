"""``pisces jumping eta`` and the queue's DEADLINE: expected wall time of one more seed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pisces import cli
from pisces.experiments.jumping.eta import expected_seconds
from pisces.experiments.runs import cpu_model

ROOT = Path(__file__).resolve().parents[3]
QUEUE = ROOT / "results" / "jumping" / "run_queue_s11.sh"


def _seed(folder: Path, seed: int, wall: float, cpu: str, precision: str = "fp32", epochs=2000):
    folder.mkdir(parents=True, exist_ok=True)
    record = {"preset": "pse", "grid": "narrow", "seed": seed, "epochs": epochs,
              "test_solved_pct": 10.0, "wall_seconds": wall, "cpu": cpu,
              "precision": precision}  # fmt: skip
    (folder / f"seed-{seed:03d}.json").write_text(json.dumps(record))


def test_the_median_of_this_cpus_full_runs(tmp_path):
    cell = tmp_path / "pse-narrow"
    for seed, wall in ((1, 100.0), (2, 300.0), (3, 200.0)):
        _seed(cell, seed, wall, "CPU A")
    _seed(cell, 4, 5000.0, "CPU B")  # another CPU: not used while this one has runs
    _seed(cell, 5, 9.0, "CPU A", epochs=10)  # a short run: not the protocol
    seconds, basis = expected_seconds(cell, "CPU A")
    assert seconds == 200.0 and "median of 3 full run(s)" in basis


def test_other_cpus_are_scaled_by_siblings_run_on_both(tmp_path):
    cell, sib, bf = tmp_path / "cell", tmp_path / "sibling", tmp_path / "bf16-only"
    _seed(cell, 1, 1000.0, "CPU B")
    _seed(sib, 1, 50.0, "CPU A")  # this CPU ran the sibling twice as fast as CPU B
    _seed(sib, 2, 100.0, "CPU B")
    _seed(bf, 1, 10.0, "CPU A", precision="bf16")  # another precision: no ratio for fp32
    _seed(bf, 2, 1000.0, "CPU B", precision="bf16")
    seconds, basis = expected_seconds(cell, "CPU A")
    assert seconds == pytest.approx(500.0) and "× 0.50 from 1 folder(s)" in basis
    # no sibling ran on both CPUs: the unscaled median, said so
    seconds, basis = expected_seconds(cell, "CPU C")
    assert seconds == 1000.0 and "unscaled" in basis
    # nothing to go by
    (tmp_path / "empty").mkdir()
    assert expected_seconds(tmp_path / "empty", "CPU A")[0] is None
    with pytest.raises(FileNotFoundError, match="no such folder"):
        expected_seconds(tmp_path / "missing", "CPU A")


def test_a_midrun_checkpoint_counts_what_it_has_done(tmp_path, capsys):
    cell = tmp_path / "cell"
    _seed(cell, 1, 1000.0, cpu_model())
    torch.save({"wall_seconds": 400.0}, cell / ".seed-002.midrun.pt")
    assert expected_seconds(cell, cpu_model(), seed=2)[0] == 600.0
    assert expected_seconds(cell, cpu_model(), seed=3)[0] == 1000.0  # no checkpoint of seed 3
    assert cli.main(["jumping", "eta", str(cell), "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] == "600" and "less 400 s already done" in out
    (cell / ".seed-004.midrun.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable mid-run checkpoint"):
        expected_seconds(cell, cpu_model(), seed=4)


def test_a_cell_not_started_goes_by_the_folder_it_is_like(tmp_path, capsys):
    like = tmp_path / "pse-narrow"
    _seed(like, 1, 1000.0, cpu_model())
    new = tmp_path / "pse-coupling-narrow"  # no folder yet
    seconds, basis = expected_seconds(new, cpu_model(), seed=1, like=like)
    assert seconds == 1000.0 and basis.startswith("no record in this folder yet: as pse-narrow")
    new.mkdir()
    torch.save({"wall_seconds": 250.0}, new / ".seed-001.midrun.pt")  # a seed under way
    assert expected_seconds(new, cpu_model(), seed=1, like=like)[0] == 750.0
    _seed(new, 2, 3000.0, cpu_model())  # once the folder has its own runs, they count
    assert expected_seconds(new, cpu_model(), like=like)[0] == 3000.0
    (tmp_path / "empty").mkdir()  # nothing to go by either way
    assert expected_seconds(tmp_path / "x", cpu_model(), like=tmp_path / "empty")[0] is None
    with pytest.raises(FileNotFoundError, match="no such folder \\(--like\\)"):
        expected_seconds(new, cpu_model(), like=tmp_path / "missing")
    assert cli.main(["jumping", "eta", str(tmp_path / "y"), "--like", str(like)]) == 0
    assert capsys.readouterr().out.split()[0] == "1000"


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("flock") is None, reason="bash")
def test_the_queue_starts_only_what_fits_before_its_deadline(tmp_path):
    out = tmp_path / "jumping"
    _seed(out / "pse-narrow", 1, 3600.0, cpu_model())  # an hour a seed on this CPU
    env = os.environ | {
        "DRY": "1", "OUT": str(out), "PY": sys.executable, "SRC": str(ROOT / "src"),
        "ONLY": "^pse-narrow$",
    }  # fmt: skip

    def queue(deadline: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(QUEUE)], env=env | {"DEADLINE": deadline}, capture_output=True,
            text=True, check=True,
        )  # fmt: skip

    late = queue("+30 min")
    assert "pse-narrow seed 2: not started, ~60 min expected, " in late.stderr  # ~29 min left
    assert late.stdout.splitlines() == [
        "# 0 job(s): ~0.0 lane-hours on this CPU for the 0 with an estimate, 0 without"
    ]
    early = queue("+2 hours")
    lines = early.stdout.splitlines()
    assert lines[0] == "pse-narrow seed 2: --preset pse --grid narrow  (~60 min here)"
    # the dry run totals what it lists: seeds 2-5 at an hour each
    total = "# 4 job(s): ~4.0 lane-hours on this CPU for the 4 with an estimate, 0 without"
    assert lines[-1] == total
    # a cell with no folder yet has no estimate and still runs (eta's error is not the lane's),
    # unless the queue names a folder to go by: pse-coupling-narrow goes by pse-narrow's hour
    only = "^pse-(narrow|random|coupling-narrow)$"
    fresh = subprocess.run(
        ["bash", str(QUEUE)], env=env | {"ONLY": only, "DEADLINE": "+2 hours"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "pse-random seed 1: --preset pse --grid random  (no estimate)" in fresh.stdout
    coupled = "pse-coupling-narrow seed 1: --preset pse --grid narrow --coupling-weights"
    assert f"{coupled} --precision fp32  (~60 min here)" in fresh.stdout
    late = subprocess.run(
        ["bash", str(QUEUE)], env=env | {"ONLY": only, "DEADLINE": "+30 min"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "pse-coupling-narrow seed 1: not started, ~60 min expected" in late.stderr
    # a clock time already past today is tomorrow's: an hour ago reads as 23 hours ahead
    clock = subprocess.run(
        ["date", "-d", "-1 hour", "+%H:%M"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert queue(clock).stdout.splitlines()[0].startswith("pse-narrow seed 2:")


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("flock") is None, reason="bash")
def test_a_filling_lane_goes_on_to_the_cells_its_filter_drops(tmp_path):
    out = tmp_path / "jumping"
    _seed(out / "pse-narrow", 1, 3600.0, cpu_model())
    # a python that fails at once: no estimates and no bf16 cell, so the lists are this test's
    # alone on any CPU, and the ~300 dry-run jobs below take no interpreter start each
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    env = os.environ | {"DRY": "1", "OUT": str(out), "PY": str(fake), "SRC": str(ROOT / "src")}

    def queue(**extra: str) -> list[str]:
        done = subprocess.run(
            ["bash", str(QUEUE)], env=env | extra, capture_output=True, text=True, check=True
        )  # fmt: skip
        return done.stdout.splitlines()

    def folders(lines: list[str]) -> list[str]:
        return [line.split(" seed ")[0] for line in lines if not line.startswith("#")]

    alone = queue(ONLY="^pse-narrow$")
    assert folders(alone) == ["pse-narrow"] * 4  # seeds 2-5 and nothing else
    filled = queue(ONLY="^pse-narrow$", FILL="1")
    cut = filled.index("# then (FILL) the cells ONLY and SKIP dropped:")
    assert filled[:cut] == alone[:-1]  # its own cells first, as without FILL
    rest = folders(filled[cut + 1 :])
    # then every other cell, in the queue's rounds (round 1 first), never its own again
    assert "pse-narrow" not in rest and rest[0] == "randconv-narrow"
    assert {"pse-random", "randconv-colors-5d-wide", "pse-coupling-wide"} <= set(rest)
    # SKIP's complement likewise; with neither filter FILL adds nothing
    skipped = folders(queue(SKIP="-5d-", FILL="1"))
    assert skipped[-1].endswith("-5d-wide") and not skipped[0].endswith("-5d-wide")
    assert queue(FILL="1") == queue()
