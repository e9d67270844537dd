"""Checkpoints of jumping runs: round trip, the ensemble's per-seed models, the CLI flag, and
clear errors for missing, foreign and mismatched files."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from torch.func import functional_call

from pisces import cli
from pisces.envs.jumping import optimal_inputs
from pisces.experiments.jumping.checkpoint import (
    CheckpointError,
    checkpoint_path,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.trainer import EnsembleTrainer, JumpingTrainer
from pisces.networks.jumping import JumpingNetwork


@pytest.fixture(scope="module")
def inputs() -> torch.Tensor:
    """(2·56, 60, 60, 2) stacked optimal states of two tasks."""
    x = optimal_inputs([[20, 10], [33, 17]])
    return torch.from_numpy(x.reshape(-1, *x.shape[2:]))


def _outputs(net: JumpingNetwork, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    net.eval()
    with torch.no_grad():
        h = net.encoder(x)
        return net.policy(h), h, net.projection(h)


def test_round_trip_gives_the_same_outputs_and_config(tmp_path, inputs):
    cfg = make_config("randconv-pse", epochs=1, batch_size=32)
    trainer = JumpingTrainer(cfg, 3)
    trainer.learner.update()  # trained weights, not the initialisation
    trainer.epoch, trainer.step = 1, 1
    path = save_checkpoint(
        checkpoint_path(tmp_path, 3),
        trainer.net,
        cfg,
        seed=3,
        epoch=trainer.epoch,
        step=trainer.step,
        test_solved_pct=12.5,
        git_commit="abc",
    )
    assert path.name == "seed-003.pt" and not list(tmp_path.glob(".*.tmp"))
    net, loaded_cfg = load_checkpoint(path)
    assert loaded_cfg == cfg and not net.training
    for a, b in zip(_outputs(net, inputs), _outputs(trainer.net, inputs), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    record = read_checkpoint(path)
    assert (record["seed"], record["epoch"], record["step"]) == (3, 1, 1)
    assert record["test_solved_pct"] == 12.5 and record["git_commit"] == "abc"
    # a fresh network from another seed really differs (the comparison above is not vacuous)
    other = JumpingTrainer(cfg, 4).net
    assert not torch.equal(_outputs(other, inputs)[1], _outputs(net, inputs)[1])


def test_ensemble_member_checkpoint_equals_the_ensemble_model(tmp_path, inputs):
    cfg = make_config("pse", batch_size=32, epochs=1)
    ens = EnsembleTrainer(cfg, [1, 2])
    ens.step()  # one vmapped Adam step of both seeds (CE + CME: every head has moved)
    ens.sync_members()
    template = JumpingNetwork(torch.Generator().manual_seed(0)).eval()
    for i, member in enumerate(ens.members):
        path = save_checkpoint(
            checkpoint_path(tmp_path, member.seed), member.net, cfg, seed=member.seed, epoch=1
        )
        net, _ = load_checkpoint(path)
        # the ensemble's own per-seed model: slice i of the stacked (vmapped) parameters
        params = {k.removeprefix("net."): v[i].detach() for k, v in ens.ensemble.params.items()}
        with torch.no_grad():
            h = functional_call(template.encoder, _sub(params, "encoder."), (inputs,))
            logits = functional_call(template.policy, _sub(params, "policy."), (h,))
            z = functional_call(template.projection, _sub(params, "projection."), (h,))
        for a, b in zip(_outputs(net, inputs), (logits, h, z), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    a, b = (load_checkpoint(checkpoint_path(tmp_path, s))[0] for s in (1, 2))
    assert not torch.equal(a.encoder.dense.weight, b.encoder.dense.weight)


def _sub(params: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k.removeprefix(prefix): v for k, v in params.items() if k.startswith(prefix)}


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="--save-model"):
        load_checkpoint(tmp_path / "seed-001.pt")


def test_foreign_and_mismatched_files_are_clear_errors(tmp_path):
    cfg = make_config("pse", epochs=1)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="not a pisces jumping checkpoint"):
        load_checkpoint(other)

    path = save_checkpoint(
        tmp_path / "ok.pt", JumpingNetwork(torch.Generator().manual_seed(0)), cfg, seed=0, epoch=0
    )
    record = read_checkpoint(path)
    # an RGB (6-channel) first layer under a grey header: a shape mismatch, named
    rgb = JumpingNetwork(torch.Generator().manual_seed(0), in_channels=6)
    bad = dict(record, state_dict=rgb.state_dict())
    torch.save(bad, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"encoder\.convs\.0\.weight: file \(32, 6, 8, 8\)"):
        load_checkpoint(tmp_path / "shape.pt")
    # a missing and an unexpected tensor
    state = dict(record["state_dict"])
    state["extra.weight"] = state.pop("projection.linear.bias")
    torch.save(dict(record, state_dict=state), tmp_path / "keys.pt")
    with pytest.raises(CheckpointError, match=r"missing \['projection\.linear\.bias'\]"):
        load_checkpoint(tmp_path / "keys.pt")
    with pytest.raises(CheckpointError, match=r"unexpected \['extra\.weight'\]"):
        load_checkpoint(tmp_path / "keys.pt")
    # a config field unknown to this version
    torch.save(dict(record, config={**record["config"], "warp": 9}), tmp_path / "cfg.pt")
    with pytest.raises(CheckpointError, match=r"\['warp'\] unknown"):
        load_checkpoint(tmp_path / "cfg.pt")
    torch.save(dict(record, version=99), tmp_path / "ver.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(tmp_path / "ver.pt")


def test_save_model_is_off_by_default():
    from pisces.experiments.jumping.cli import configure_train

    parser = argparse.ArgumentParser()
    configure_train(parser)
    base = ["--preset", "pse", "--out", "x"]
    assert parser.parse_args(base).save_model is False
    assert parser.parse_args([*base, "--save-model"]).save_model is True


def test_cli_ensemble_save_model_and_resume(tmp_path, capsys):
    argv = ["jumping", "train", "--preset", "dropout-l2", "--epochs", "1", "--device", "cpu"]
    argv += ["--set", "batch_size=32", "--seeds", "1-2", "--out", str(tmp_path)]
    assert cli.main([*argv, "--ensemble", "--save-model"]) == 0
    for seed in (1, 2):
        result = json.loads((tmp_path / f"seed-00{seed}.json").read_text())
        assert result["checkpoint"] == f"seed-00{seed}.pt"
        net, cfg = load_checkpoint(tmp_path / result["checkpoint"])
        assert cfg.preset == "dropout-l2" and cfg.epochs == 1 and cfg.dropout == 0.3
        record = read_checkpoint(tmp_path / result["checkpoint"])
        assert record["seed"] == seed and record["epoch"] == 1
        assert record["test_solved_pct"] == result["test_solved_pct"]
    capsys.readouterr()
    # A finished seed without its checkpoint (here: deleted) is skipped with a note, not
    # retrained; a finished seed with one is skipped silently.
    (tmp_path / "seed-002.pt").unlink()
    before = (tmp_path / "seed-002.json").stat().st_mtime_ns
    assert cli.main([*argv, "--save-model"]) == 0
    err = capsys.readouterr().err
    assert "seed 2 finished without --save-model" in err and "not retrained" in err
    assert "seed 1 " not in err
    assert not (tmp_path / "seed-002.pt").exists()
    assert (tmp_path / "seed-002.json").stat().st_mtime_ns == before
