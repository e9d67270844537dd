"""The task-grid figure and the `pisces jumping figure` CLI verb (tiny end-to-end run)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import pyplot as plt
from matplotlib.image import imread

from pisces.cli import main
from pisces.envs.jumping import task_split
from pisces.experiments.jumping.figures import plot_task_grid


def test_cli_writes_pngs(tmp_path, capsys) -> None:
    assert (
        main(["jumping", "figure", "--grid", "random", "--seed", "3", "--out", str(tmp_path)]) == 0
    )
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["example_frame_30_12.png", "task_grid_random_seed3.png"]
    for name in written:
        img = imread(tmp_path / name)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
        assert img[..., :3].std() > 0.05  # not a blank canvas
    assert str(tmp_path / written[1]) in capsys.readouterr().out


def test_cli_random_grid_needs_seed(tmp_path, capsys) -> None:
    assert main(["jumping", "figure", "--grid", "random", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "pisces jumping figure: --grid random needs --seed\n"


def test_grid_cells_follow_labels() -> None:
    labels = task_split("wide", no_validation=False)
    fig = plot_task_grid(labels)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (11, 26)
    # Row = floor - 10, column = obstacle - 20; code 0 = train, 1 = validation, 2 = test.
    assert (np.asarray(image) == 0).sum() == 18 and (np.asarray(image) == 1).sum() == 54
    assert image[0, 0] == 0 and image[5, 5] == 0 and image[1, 0] == 1 and image[3, 3] == 2
    plt.close(fig)


def test_solved_map() -> None:
    labels = task_split("wide", no_validation=True)
    solved = np.zeros(286, dtype=bool)
    solved[:11] = True  # obstacle position 20, every floor
    fig = plot_task_grid(labels, solved)
    image = np.asarray(fig.axes[0].images[0].get_array())
    assert image[:, 0].all() and not image[:, 1:].any()
    marks = [t.get_text() for t in fig.axes[0].texts]
    assert marks.count("T") == 18
    assert "3.0%" in fig.axes[0].get_title()  # 8 of the 268 test tasks (3 are training)
    plt.close(fig)
    with pytest.raises(ValueError):
        plot_task_grid(labels, solved[:10])
    with pytest.raises(ValueError):
        plot_task_grid(np.full(286, "dev"))
