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


def test_frames_rejects_bad_input_in_one_line_before_writing(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    base = ["dmc", "frames", "--domain", "cartpole"]
    for argv, message in [
        (
            [*base, "--task", "balance", "--out", str(tmp_path / "o")],
            "unknown task 'cartpole-balance'",
        ),
        ([*base, "--task", "swingup", "--out", str(a_file)], "is a file"),
        ([*base, "--task", "swingup", "--frames", "0", "--out", str(tmp_path / "o")], "--frames"),
    ]:
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not (tmp_path / "o").exists()
