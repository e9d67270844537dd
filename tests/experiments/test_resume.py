"""A resumed run equals an uninterrupted one, and a killed run never leaves a partial file.

The jumping trainer is killed with SIGKILL at a (seeded) random moment while two worker
processes train; every file of the folder is then whole (each JSON parses, each PNG decodes),
and the rerun finishes the pending seeds with numbers identical to an uninterrupted run's.
LQR: seeds trained in one batch equal the same seeds resumed in smaller batches.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pisces import cli

TIMING = ("train_seconds", "eval_seconds", "wall_seconds", "git_commit", "wall_time_s")
TIMING += ("batch_wall_time_s", "batch_size", "command")


def _numbers(path: Path) -> dict:
    record = json.loads(path.read_text())
    return {k: v for k, v in record.items() if k not in TIMING}


def _check_whole(folder: Path) -> list[int]:
    """Every visible file of a results folder is whole; returns the finished seeds."""
    from matplotlib.image import imread

    seeds = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):  # an atomic write's temporary file: never a result
            continue
        if path.suffix == ".json":
            record = json.loads(path.read_text())
            if path.name.startswith("seed-"):
                seeds.append(record["seed"])
        elif path.suffix == ".png":
            assert imread(path).ndim == 3, path
        else:
            raise AssertionError(f"unexpected file {path}")
    return seeds


JUMPING = [
    "jumping", "train", "--preset", "pse", "--seeds", "1-4", "--epochs", "1",
    "--batch-size", "16", "--device", "cpu", "--workers", "2",
]  # fmt: skip


@pytest.mark.slow  # ~4 min on 2 busy cores: three runs of 4 seeds (pytest -m slow)
def test_a_killed_jumping_run_leaves_whole_files_and_resumes_identically(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert cli.main([*JUMPING, "--out", str(reference)]) == 0
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "pisces.cli", *JUMPING, "--out", str(killed)]
    proc = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # kill at a random moment after the first seed finished, before the last one does
    rng = random.Random(16)
    deadline = time.monotonic() + 300
    while not list(killed.glob("seed-*.json")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 2.0))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = _check_whole(killed)
    assert 1 <= len(finished)
    assert cli.main([*JUMPING, "--out", str(killed)]) == 0
    assert sorted(_check_whole(killed)) == [1, 2, 3, 4]
    for seed in (1, 2, 3, 4):
        name = f"seed-{seed:03d}.json"
        assert _numbers(killed / name) == _numbers(reference / name), name


def test_lqr_resumed_in_smaller_batches_equals_one_batch(tmp_path, capsys):
    base = ["lqr", "train", "--preset", "psm", "--distractors", "30", "--iterations", "40"]
    base += ["--test-envs", "2", "--device", "cpu", "--no-progress"]
    one, resumed = tmp_path / "one", tmp_path / "resumed"
    assert cli.main([*base, "--seeds", "1-4", "--batch", "4", "--out", str(one)]) == 0
    assert cli.main([*base, "--seeds", "1,3", "--batch", "2", "--out", str(resumed)]) == 0
    assert cli.main([*base, "--seeds", "1-4", "--batch", "1", "--out", str(resumed)]) == 0
    assert "2 seed(s) already done" in capsys.readouterr().out
    for seed in (1, 2, 3, 4):
        name = f"seed_{seed:04d}.json"
        assert _numbers(resumed / name) == _numbers(one / name), name


@pytest.mark.parametrize("signum", [signal.SIGKILL])
def test_a_killed_lqr_run_leaves_whole_files(tmp_path, signum):
    out = tmp_path / "lqr"
    argv = [sys.executable, "-m", "pisces.cli", "lqr", "train", "--preset", "overparam"]
    argv += ["--distractors", "30", "--iterations", "200", "--test-envs", "2", "--seeds", "1-40"]
    argv += ["--batch", "1", "--device", "cpu", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(out.glob("seed_*.json"))) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(random.Random(3).uniform(0.0, 0.3))
    os.killpg(proc.pid, signum)
    proc.wait()
    for path in out.glob("seed_*.json"):
        assert json.loads(path.read_text())["seed"] >= 1


def test_lqr_resumes_a_batch_from_its_midrun_checkpoint(tmp_path):
    from pisces.experiments.lqr import train as lqr_train
    from pisces.experiments.lqr.config import get_preset

    for preset, impl in (("psm", "fused"), ("ipo", "reference")):
        cfg = get_preset(preset).replace(
            n_distractors=30, iterations=60, n_test_envs=2, adam_impl=impl
        )
        whole = lqr_train.train_batch(cfg, [1, 2])
        path = tmp_path / f"{preset}.pt"

        def stop(n, calls=[0]):  # noqa: B006 - counts the calls of this one run
            calls[0] += n
            if calls[0] >= 50:  # after the checkpoint at iteration 40
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            lqr_train.train_batch(
                cfg, [1, 2], on_iterations=stop, checkpoint=path, checkpoint_every=20
            )
        assert path.exists()
        resumed = lqr_train.train_batch(cfg, [1, 2], checkpoint=path, checkpoint_every=20)
        for a, b in zip(whole, resumed, strict=True):
            assert {k: v for k, v in a.items() if k not in TIMING} == {
                k: v for k, v in b.items() if k not in TIMING
            }
        with pytest.raises(ValueError, match="made by another batch"):
            lqr_train.train_batch(cfg, [1, 3], checkpoint=path, checkpoint_every=20)
