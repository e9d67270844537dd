"""Jumping-task configs and presets: sources named, bad options rejected up front."""

from __future__ import annotations

import dataclasses

import pytest

from pisces.experiments.jumping.config import PRESETS, JumpingConfig, make_config


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_validate_and_name_their_source(name):
    cfg = PRESETS[name].validate()
    assert cfg.preset == name
    assert "Table G." in cfg.source
    assert cfg.epochs == 2000 and cfg.batch_size == 256 and cfg.gamma == 0.999
    assert cfg.loss_variant == "official" and not cfg.coupling_weights
    assert not cfg.amp_bf16


def test_table_g3_values():
    assert PRESETS["randconv-pse"].learning_rate == 2.6e-3
    assert (PRESETS["randconv-pse"].alpha, PRESETS["randconv-pse"].temperature) == (5.0, 0.5)
    assert PRESETS["randconv-pse"].rand_conv
    assert (PRESETS["pse"].learning_rate, PRESETS["pse"].l2_reg) == (3.2e-3, 1e-5)
    assert (PRESETS["pse"].alpha, PRESETS["pse"].temperature) == (10.0, 1.0)
    assert PRESETS["randconv"].learning_rate == 7e-3 and PRESETS["randconv"].alpha == 0
    d = PRESETS["dropout-l2"]
    assert (d.learning_rate, d.l2_reg, d.dropout, d.alpha) == (4e-3, 4.3e-4, 0.3, 0.0)


def test_make_config_applies_grid_and_overrides():
    cfg = make_config("pse", "narrow", epochs=3, loss_variant="paper")
    assert (cfg.grid, cfg.epochs, cfg.loss_variant) == ("narrow", 3, "paper")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("nope", "wide"), {}, "unknown preset 'nope'"),
        (("pse", "diagonal"), {}, "unknown grid 'diagonal'"),
        (("pse", "wide"), {"epoch": 3}, "unknown JumpingConfig field"),
        (("pse", "wide"), {"epochs": 0}, "epochs must be >= 1"),
        (("pse", "wide"), {"loss_variant": "paper", "coupling_weights": True}, "'official' only"),
        (("randconv-psm-l2", "wide"), {"coupling_weights": True}, "CME loss only"),
        (("pse", "wide"), {"dropout": 1.0}, "dropout"),
        (("pse", "wide"), {"metric": "cosine"}, "metric"),
    ],
)
def test_bad_options_are_rejected(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_config(*args, **kwargs)


def test_default_config_validates():
    assert JumpingConfig().validate().alpha == 0.0
