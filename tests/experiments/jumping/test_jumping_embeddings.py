"""``pisces jumping embeddings``: the alignment score on synthetic embeddings with known
answers, the layers of a checkpoint, and the command end to end (PNG + JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pisces import cli
from pisces.envs.jumping import optimal_inputs
from pisces.experiments.jumping.checkpoint import load_checkpoint, save_checkpoint
from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.embeddings import (
    alignment_scores,
    compute_layers,
    parse_tasks,
    steps_to_jump,
)
from pisces.networks.jumping import JumpingNetwork

TASKS = np.array([[20, 10], [25, 10], [33, 17]])


def _one_hot(index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((*index.shape, size))
    np.put_along_axis(out, index[..., None], 1.0, axis=-1)
    return out


def test_steps_to_jump_is_zero_at_the_optimal_jump():
    k = steps_to_jump(TASKS)
    assert k.shape == (3, 56)
    for (p, _), row in zip(TASKS, k, strict=True):
        assert row[p - 14] == 0 and row[0] == p - 14 and (np.diff(row) == -1).all()


def test_an_embedding_of_the_distance_to_the_obstacle_scores_one():
    k = steps_to_jump(TASKS)
    # one direction per distance k, plus a smaller shared direction per side of the jump (so a
    # state whose k is absent from the other task still finds a neighbour on its own side)
    emb = np.concatenate([_one_hot(k + 60, 120), 0.5 * _one_hot((k < 0).astype(int), 2)], -1)
    s = alignment_scores(emb, k)
    assert s["alignment"] == 1.0 and s["alignment_at_jump"] == 1.0
    assert s["alignment_within_1"] == 1.0 and s["phase_agreement"] == 1.0
    assert alignment_scores(_one_hot(k + 60, 120), k)["alignment"] == 1.0
    # states with k >= 0 whose k occurs in the other task: k <= p_j - 14 (hand count)
    p = TASKS[:, 0] - 14
    expected = sum(min(p[i], p[j]) + 1 for i in range(3) for j in range(3) if i != j)
    assert s["n_scored"] == expected == 2 * (7 + 7 + 12)
    assert set(s["by_steps_to_jump"]) == {str(v) for v in range(12)}
    assert s["chance_alignment"] == pytest.approx(1 / 56) and s["zero_vectors"] == 0


def test_an_embedding_of_time_scores_zero_and_shuffling_destroys_alignment():
    k = steps_to_jump(TASKS)
    time_index = np.broadcast_to(np.arange(56), k.shape)
    # same time index across tasks = different distance to the obstacle (π*-bisim positives)
    by_time = alignment_scores(_one_hot(time_index, 56), k)
    assert by_time["alignment"] == 0.0 and by_time["alignment_within_1"] == 0.0
    # an embedding of k + 1: every neighbour one step off, so 0 exact and 1 within ±1
    off_by_one = np.concatenate([k[:1], k[1:] + 1])
    shifted = alignment_scores(_one_hot(off_by_one + 60, 120), k)
    assert shifted["alignment_within_1"] == 1.0
    aligned = _one_hot(k + 60, 120) + 0.01 * np.random.default_rng(0).normal(size=(3, 56, 120))
    assert alignment_scores(aligned, k)["alignment"] == 1.0
    shuffled = np.random.default_rng(1).permutation(aligned.reshape(-1, 120)).reshape(aligned.shape)
    assert alignment_scores(shuffled, k)["alignment"] < 0.2


def test_zero_vectors_are_counted_and_do_not_crash():
    k = steps_to_jump(TASKS)
    emb = _one_hot(k + 60, 120)
    emb[0, :5] = 0.0
    s = alignment_scores(emb, k)
    assert s["zero_vectors"] == 5 and 0.0 < s["alignment"] < 1.0


def test_parse_tasks_errors():
    assert parse_tasks("25:15, 30:15").tolist() == [[25, 15], [30, 15]]
    for spec, message in [
        ("25-15,30:15", "OBSTACLE:FLOOR"),
        ("19:15,30:15", "outside the grid"),
        ("25:15,25:15", "two distinct"),
        ("25:15", "two distinct"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_tasks(spec)


def test_layers_of_a_checkpoint_and_randconv_at_inference(tmp_path):
    cfg = make_config("randconv-pse", epochs=1)
    net = JumpingNetwork(torch.Generator().manual_seed(5))
    path = save_checkpoint(tmp_path / "m.pt", net, cfg, seed=5, epoch=0)
    loaded, cfg = load_checkpoint(path)
    tasks = TASKS[:2]
    clean = compute_layers(loaded, cfg, tasks)
    assert clean["representation"].shape == (2, 56, 256)
    assert clean["projection"].shape == (2, 56, 64)
    x = torch.from_numpy(optimal_inputs(tasks))
    with torch.no_grad():
        h = net.eval().encoder(x[1])
    np.testing.assert_allclose(clean["representation"][1], h.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        clean["projection"][1], net.projection(h).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    # RandConv draws change the layer; identity draws (p_identity = 1) leave it clean
    drawn = compute_layers(loaded, cfg, tasks, randconv_passes=2, seed=0)
    assert not np.allclose(drawn["representation"], clean["representation"])
    again = compute_layers(loaded, cfg, tasks, randconv_passes=2, seed=0)
    np.testing.assert_array_equal(drawn["representation"], again["representation"])
    identity = cfg.replace(rand_conv_p_identity=1.0)
    same = compute_layers(loaded, identity, tasks, randconv_passes=2)
    np.testing.assert_allclose(same["representation"], clean["representation"], atol=1e-6)


def test_command_writes_png_and_json(tmp_path, capsys):
    paths = []
    for seed, preset in ((1, "randconv"), (2, "randconv-pse")):
        net = JumpingNetwork(torch.Generator().manual_seed(seed))
        cfg = make_config(preset, epochs=1)
        paths.append(
            save_checkpoint(tmp_path / f"seed-{seed:03d}.pt", net, cfg, seed=seed, epoch=0)
        )
    out = tmp_path / "fig" / "fig3.png"
    argv = ["jumping", "embeddings", "--tasks", "20:10,25:10", "--out", str(out)]
    argv += ["--model", str(paths[0]), "--model", str(paths[1]), "--label", "A", "--label", "B"]
    # cheap UMAP: 112 points, few neighbours and epochs
    assert cli.main([*argv, "--n-neighbors", "5", "--umap-epochs", "20"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["tasks"] == [[20, 10], [25, 10]] and record["umap"]["random_state"] == 0
    assert [m["label"] for m in record["models"]] == ["A", "B"]
    assert [m["preset"] for m in record["models"]] == ["randconv", "randconv-pse"]
    for m in record["models"]:
        for layer in ("representation", "projection"):
            s = m["scores"][layer]
            assert s["n_scored"] == 14  # 7 states k = 0..6 each way (p = 20 jumps at t = 6)
            assert 0.0 <= s["alignment"] <= 1.0 and 0.0 <= s["phase_agreement"] <= 1.0
    printed = capsys.readouterr().out
    assert "representation*" in printed and "projection*" in printed and "wrote" in printed
    # --layer metric (default): the representation of an alpha = 0 model, the CME projection
    assert [m["layer_drawn"] for m in record["models"]] == ["representation", "projection"]

    # scores only (no UMAP): the same numbers, no PNG
    scores = tmp_path / "scores.json"
    none = tmp_path / "none.png"
    assert cli.main([*argv, "--out", str(none), "--no-figure", "--json", str(scores)]) == 0
    again = json.loads(scores.read_text())
    assert not (tmp_path / "none.png").exists() and again["umap"] == {"used": False}
    assert [m["scores"] for m in again["models"]] == [m["scores"] for m in record["models"]]


def test_command_errors(tmp_path, capsys):
    base = ["jumping", "embeddings", "--out", str(tmp_path / "f.png")]
    assert cli.main([*base, "--model", str(tmp_path / "seed-001.pt")]) == 2
    assert "--save-model" in capsys.readouterr().err
    assert cli.main([*base, "--model", "a.pt", "--label", "x", "--label", "y"]) == 2
    assert "give one each" in capsys.readouterr().err
    assert cli.main([*base, "--model", "a.pt", "--tasks", "50:10,20:10"]) == 2
    assert "outside the grid" in capsys.readouterr().err
