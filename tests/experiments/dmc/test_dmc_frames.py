"""``pisces dmc frames`` end to end on a tiny figure (needs the ``dmc`` extra)."""

from __future__ import annotations

import numpy as np
import pytest

from pisces import cli


def test_frames_writes_a_png(tmp_path, monkeypatch, capsys):
    pytest.importorskip("dm_control")
    from PIL import Image

    monkeypatch.setenv("PISCES_CACHE", str(tmp_path / "cache"))
    argv = ["dmc", "frames", "--domain", "cartpole", "--task", "swingup", "--out", str(tmp_path)]
    assert cli.main([*argv, "--frames", "2", "--every", "1", "--test-videos", "1"]) == 0
    path = tmp_path / "dmc_frames_cartpole-swingup.png"
    assert capsys.readouterr().out.strip() == str(path)
    with Image.open(path) as img:
        picture = np.asarray(img.convert("RGB"))
    assert picture.shape[0] > 100 and picture.shape[1] > 100
    assert picture.std() > 10  # not a blank canvas


def test_frames_rejects_an_unknown_task(tmp_path):
    with pytest.raises(SystemExit, match="unknown task 'cartpole-balance'"):
        cli.main(
            ["dmc", "frames", "--domain", "cartpole", "--task", "balance", "--out", str(tmp_path)]
        )
