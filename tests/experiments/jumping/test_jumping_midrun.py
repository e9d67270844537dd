"""Mid-run checkpoints of the jumping trainer: a run interrupted after a checkpoint and
resumed gives the record of an uninterrupted run, bit for bit (model, Adam, the training
generator, the schedule position, the loss buffer and log, the evaluations)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.trainer import run

TIMING = ("train_seconds", "eval_seconds", "wall_seconds", "git_commit")


def _numbers(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING}


class Interrupt(Exception):
    pass


def test_resume_from_a_midrun_checkpoint_equals_an_uninterrupted_run(tmp_path):
    # every random draw (RandConv, pairs, dropout) and weight decay; log_every 3 steps against
    # 4 steps an epoch, so the checkpoint holds a part-filled loss buffer; the evaluation of
    # epoch 2 is in the checkpoint, the final one after it
    cfg = make_config("randconv-pse", epochs=3, batch_size=16, eval_every=2, log_every=3)
    cfg = cfg.replace(eval_mc_passes=1, dropout=0.1, l2_reg=1e-4)
    whole, _ = run(cfg, 7)
    path = tmp_path / "midrun.pt"

    def stop_at_epoch_3(trainer):
        if trainer.epoch == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(cfg, 7, on_epoch=stop_at_epoch_3, checkpoint=path, checkpoint_every=2)
    assert path.exists()
    resumed, trainer = run(cfg, 7, checkpoint=path, checkpoint_every=2)
    assert trainer.epoch == 3 and [e.epoch for e in trainer.evals] == [2, 3]
    assert _numbers(resumed) == _numbers(whole)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    cfg = make_config("dropout-l2", epochs=2, batch_size=16, eval_every=0)
    path = tmp_path / "midrun.pt"

    def stop(trainer):
        raise Interrupt

    with pytest.raises(Interrupt):
        run(cfg, 1, on_epoch=stop, checkpoint=path, checkpoint_every=1)
    with pytest.raises(ValueError, match="made by another run .*'seed'"):
        run(cfg, 2, checkpoint=path, checkpoint_every=1)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        run(cfg, 1, checkpoint=path, checkpoint_every=1)


def test_a_checkpoint_older_than_a_config_field_resumes_as_its_default(tmp_path):
    # a file written before flush_denormal existed ran without flushing: it resumes a run
    # with the field at its default (the same result as never stopping) and no other
    cfg = make_config("dropout-l2", epochs=2, batch_size=16, eval_every=0)
    whole, _ = run(cfg, 1)
    path = tmp_path / "midrun.pt"

    def stop_at_epoch_1(trainer):
        if trainer.epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(cfg, 1, on_epoch=stop_at_epoch_1, checkpoint=path, checkpoint_every=1)
    state = torch.load(path, weights_only=False)
    del state["config"]["flush_denormal"]
    torch.save(state, path)
    with pytest.raises(ValueError, match="made by another run .*'config'"):
        run(cfg.replace(flush_denormal=True), 1, checkpoint=path, checkpoint_every=1)
    resumed, trainer = run(cfg, 1, checkpoint=path, checkpoint_every=1)
    assert trainer.epoch == 2 and _numbers(resumed) == _numbers(whole)


def test_cli_killed_mid_run_resumes_from_its_checkpoint(tmp_path):
    argv = ["jumping", "train", "--preset", "pse", "--epochs", "3", "--batch-size", "16"]
    argv += ["--eval-every", "0", "--checkpoint-every", "1", "--device", "cpu", "--seeds", "1"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    cmd = [sys.executable, "-m", "pisces.cli", *argv]
    subprocess.run([*cmd, "--out", str(whole)], check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cmd, "--out", str(killed)], start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    midrun = killed / ".seed-001.midrun.pt"
    deadline = time.monotonic() + 300
    while not midrun.exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "seed-001.json").exists(), "killed too late to test a resume"
    out = subprocess.run([*cmd, "--out", str(killed)], check=True, capture_output=True, text=True)
    assert "resuming from" in out.stdout
    assert "3/3" in out.stderr  # the progress bar counts the epochs done before the kill
    assert not midrun.exists()  # deleted once the seed's JSON is written
    a, b = (json.loads((d / "seed-001.json").read_text()) for d in (whole, killed))
    assert _numbers(a) == _numbers(b)


def test_a_resumed_seed_reports_the_epochs_of_its_checkpoint(tmp_path):
    # what a --workers pool's progress bar adds up: the counts must sum to the epochs
    from pisces.experiments.jumping.cli import midrun_path, run_seed, store_of

    cfg = make_config("pse", epochs=3, batch_size=16, eval_every=0)
    path = midrun_path(store_of(tmp_path), 1)

    def stop_at_epoch_3(trainer):
        if trainer.epoch == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(cfg, 1, on_epoch=stop_at_epoch_3, checkpoint=path, checkpoint_every=2)
    counts: list[int] = []
    run_seed(cfg, 1, tmp_path, "cpu", progress=False, report_epoch=counts.append)
    assert counts == [3]  # resumed at epoch 2, one more epoch: 2 + 1 reported at once
    assert not path.exists()
