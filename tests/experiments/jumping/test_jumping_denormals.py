"""``flush_denormal``: subnormals flushed for the whole run and only then, the same seed still
bit-identical, and kept out of a cell's identity (an execution field) but stamped in the
record's precision."""

from __future__ import annotations

import pytest
import torch

from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.report import comparable, overrides_label
from pisces.experiments.jumping.trainer import flush_denormals, run, save_midrun

TIMING = ("train_seconds", "eval_seconds", "wall_seconds", "git_commit")
TINY = torch.finfo(torch.float32).tiny


def _subnormal_survives() -> bool:
    return (torch.tensor([TINY]) / 4).item() != 0.0


def test_flush_denormals_is_on_inside_the_block_only():
    assert _subnormal_survives()
    with flush_denormals(True):
        assert not _subnormal_survives()
    assert _subnormal_survives()
    with flush_denormals(False):
        assert _subnormal_survives()
    with pytest.raises(RuntimeError), flush_denormals(True):
        raise RuntimeError
    assert _subnormal_survives()  # restored on an error too


@pytest.mark.parametrize("flush", [False, True])
def test_a_run_flushes_throughout_when_asked_and_stays_bit_identical(flush):
    cfg = make_config("dropout-l2", epochs=2, batch_size=16, eval_every=0, flush_denormal=flush)
    seen: list[bool] = []
    records = [
        run(cfg, 3, on_epoch=lambda t: seen.append(_subnormal_survives()))[0] for _ in range(2)
    ]
    assert seen == [not flush] * 4
    assert _subnormal_survives()  # off again after the run
    a, b = ({k: v for k, v in r.items() if k not in TIMING} for r in records)
    assert a == b
    assert a["precision"] == ("fp32, denormals flushed" if flush else "fp32")


def test_flushing_is_an_execution_field_and_a_checkpoint_keeps_it(tmp_path):
    cfg = make_config("dropout-l2", epochs=2, batch_size=16, eval_every=0)
    flushed = cfg.replace(flush_denormal=True)
    preset_flushed = make_config("dropout-l2", flush_denormal=True)
    record = {"preset": "dropout-l2", "config": preset_flushed.to_dict()}
    assert overrides_label(record) == ""  # the cell's row, not a variant of it
    assert comparable(flushed.to_dict()) == comparable(cfg.to_dict())
    # a mid-run checkpoint made without flushing is refused by a flushing run
    _, trainer = run(cfg.replace(epochs=1), 1)
    path = tmp_path / "midrun.pt"
    save_midrun(path, trainer, 0.0)
    with pytest.raises(ValueError, match="made by another run .*'config'"):
        run(flushed, 1, checkpoint=path, checkpoint_every=1)
