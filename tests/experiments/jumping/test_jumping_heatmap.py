"""`pisces metrics heatmap`: tiny end-to-end run into a temporary directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from pisces.experiments.jumping import heatmap as metric_heatmap
from pisces.metrics import action_mismatch_cost, trajectory_psm


def spec_actions(obstacle_position: int) -> np.ndarray:
    """Spec §1.5: 56 actions, RIGHT (0) except one JUMP (1) at step p - 14."""
    a = np.zeros(56, dtype=np.int64)
    a[obstacle_position - 14] = 1
    return a


def test_heatmap_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    metric_heatmap.configure(parser)
    args = parser.parse_args(["--out", str(tmp_path / "m"), "--obstacles", "22", "35"])
    assert args.floor == 10 and args.func is metric_heatmap.run
    assert args.func(args) == 0
    out = tmp_path / "m"
    png = out / "metric_heatmap.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d_psm = np.load(out / "psm.npy")
    expected = trajectory_psm(action_mismatch_cost(spec_actions(22), spec_actions(35)), gamma=0.999)
    np.testing.assert_array_equal(d_psm, expected)
    d_bisim = np.load(out / "pi_bisimulation.npy")
    assert d_bisim.shape == (56, 56)
    assert np.all(np.diag(d_bisim) == 0) and d_bisim.max() > 5000  # spec §4.4
    assert str(png) in capsys.readouterr().out


def test_heatmap_writes_the_json_and_no_model_panels_without_models(tmp_path: Path) -> None:
    from pisces import cli

    out = tmp_path / "g2"
    argv = ["metrics", "heatmap", "--out", str(out), "--obstacles", "25", "45", "--gamma", "0.99"]
    assert cli.main(argv) == 0
    record = json.loads((out / "heatmaps.json").read_text())
    assert record["gamma"] == 0.99 and record["obstacles"] == [25, 45] and record["models"] == []
    expected = trajectory_psm(action_mismatch_cost(spec_actions(25), spec_actions(45)), gamma=0.99)
    np.testing.assert_array_equal(np.load(out / "psm.npy"), expected)
    assert not list(out.glob("embedding-*.npy"))


def test_equivalent_states_are_the_same_distance_to_the_obstacle_or_both_after_the_jump():
    d_psm = trajectory_psm(action_mismatch_cost(spec_actions(25), spec_actions(45)), gamma=0.99)
    k1 = 25 - 14 - np.arange(56)  # steps to the jump (0 at the jump, < 0 after it)
    k2 = 45 - 14 - np.arange(56)
    same_k = (k1[:, None] == k2[None, :]) & (k1[:, None] >= 0)
    both_after = (k1[:, None] < 0) & (k2[None, :] < 0)
    np.testing.assert_array_equal(metric_heatmap.equivalent_states(d_psm), same_k | both_after)


def test_embedding_distances_cosine_and_euclidean_by_hand():
    za = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    zb = np.array([[3.0, 0.0], [1.0, 1.0]])
    cos = metric_heatmap.embedding_distances(za, zb, "cosine")
    r = 1 / np.sqrt(2)
    np.testing.assert_allclose(cos, [[0.0, 1 - r], [1.0, 1 - r], [1.0, 1.0]], atol=1e-9)
    l2 = metric_heatmap.embedding_distances(za, zb, "l2")
    np.testing.assert_allclose(l2, [[2.0, 1.0], [np.sqrt(13), np.sqrt(2)], [3.0, np.sqrt(2)]])
    with pytest.raises(ValueError, match="unknown embedding distance 'dot'"):
        metric_heatmap.embedding_distances(za, zb, "dot")


def test_agreement_with_psm_perfect_reversed_and_by_hand():
    d_psm = trajectory_psm(action_mismatch_cost(spec_actions(25), spec_actions(40)), gamma=0.99)
    perfect = metric_heatmap.agreement_with_psm(d_psm, d_psm)
    assert perfect["nn_equivalent"] == 1.0 and perfect["nn_psm_mean"] == 0.0
    assert perfect["spearman"] == pytest.approx(1.0)
    assert 0 < perfect["chance_nn_equivalent"] < 1
    reverse = metric_heatmap.agreement_with_psm(-d_psm, d_psm)
    assert reverse["nn_equivalent"] == 0.0 and reverse["spearman"] == pytest.approx(-1.0)
    # 3 x 3 by hand: rows 0 and 1 have a zero; row 0's nearest (col 2) is not it, row 1's is
    psm = np.array([[0.0, 0.5, 0.4], [0.3, 0.0, 0.0], [0.2, 0.1, 0.6]])
    emb = np.array([[0.9, 0.8, 0.1], [0.5, 0.2, 0.7], [0.3, 0.1, 0.2]])
    s = metric_heatmap.agreement_with_psm(emb, psm)
    assert s["rows_with_equivalent"] == 2 and s["nn_equivalent"] == 0.5
    assert s["chance_nn_equivalent"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert s["nn_psm_mean"] == pytest.approx((0.4 + 0.0 + 0.1) / 3)
    assert metric_heatmap.agreement_with_psm(np.ones((3, 3)), psm)["spearman"] is None
    with pytest.raises(ValueError, match="shapes differ"):
        metric_heatmap.agreement_with_psm(emb[:2], psm)


def test_model_panels_are_the_metric_layer_distances_of_each_checkpoint(tmp_path: Path) -> None:
    import torch

    from pisces import cli
    from pisces.envs.jumping import optimal_inputs
    from pisces.experiments.jumping.checkpoint import save_checkpoint
    from pisces.experiments.jumping.config import make_config
    from pisces.networks.jumping import JumpingNetwork

    paths, nets = [], []
    for seed, preset in ((1, "pse"), (2, "randconv-psm-l2")):
        net = JumpingNetwork(torch.Generator().manual_seed(seed))
        path = tmp_path / f"seed-{seed:03d}.pt"
        paths.append(save_checkpoint(path, net, make_config(preset, epochs=1), seed=seed, epoch=0))
        nets.append(net.eval())
    out = tmp_path / "h"
    argv = ["metrics", "heatmap", "--out", str(out), "--obstacles", "22", "30", "--floor", "12"]
    argv += ["--model", str(paths[0]), "--label", "CME", "--model", str(paths[1]), "--label", "L2"]
    assert cli.main(argv) == 0
    x = torch.from_numpy(optimal_inputs(np.array([[22, 12], [30, 12]])))
    with torch.no_grad():
        z = nets[0].projection(nets[0].encoder(x.reshape(-1, *x.shape[2:]))).reshape(2, 56, -1)
        h = nets[1].encoder(x.reshape(-1, *x.shape[2:])).reshape(2, 56, -1)
    z, h = z.double().numpy(), h.double().numpy()
    zn = z / np.linalg.norm(z, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.load(out / "embedding-1.npy"), 1 - zn[0] @ zn[1].T, atol=1e-5)
    l2 = np.linalg.norm(h[0][:, None] - h[1][None], axis=-1)
    np.testing.assert_allclose(np.load(out / "embedding-2.npy"), l2, rtol=1e-4, atol=1e-4)
    record = json.loads((out / "heatmaps.json").read_text())
    assert [m["label"] for m in record["models"]] == ["CME", "L2"]
    assert [m["layer"] for m in record["models"]] == ["projection", "representation"]
    assert record["models"][1]["distance"] == "euclidean" and record["gamma"] == 0.999


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gamma", "1.0"], "must be in [0, 1), got 1.0"),
        (["--gamma", "x"], "'x' is not float"),
        (["--model", "{tmp}/none.pt"], "no checkpoint"),
        (["--model", "{tmp}/none.pt", "--label", "a", "--label", "b"], "2 --label for 1 --model"),
    ],
)
def test_heatmap_errors_are_one_line(tmp_path, capsys, extra, message) -> None:
    from pisces import cli

    argv = ["metrics", "heatmap", "--out", str(tmp_path / "o")]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in extra]
    try:
        assert cli.main(argv) == 2
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
