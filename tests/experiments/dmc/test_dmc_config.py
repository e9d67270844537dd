"""DCS presets name their source, DrQ and DrQ + PSEs share everything but the method, every
field is a flag, and bad values name the field."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from pisces.experiments import configs
from pisces.experiments.dmc.cli import NOT_FLAGS
from pisces.experiments.dmc.config import (
    CPU_DEVIATIONS,
    PRESETS,
    DMCConfig,
    make_config,
)

LABELS = ("preset", "source", "method")


def without(cfg: DMCConfig, *names: str) -> dict:
    return {k: v for k, v in cfg.to_dict().items() if k not in names}


def test_drq_and_drq_pse_share_every_setting_but_the_pse_step():
    for drq, pse in (("drq", "drq-pse"), ("drq-cpu", "drq-pse-cpu")):
        assert without(PRESETS[drq], *LABELS) == without(PRESETS[pse], *LABELS)
        assert (PRESETS[drq].method, PRESETS[pse].method) == ("drq", "drq-pse")


def test_paper_presets_are_spec_dcs_2_and_3():
    p = PRESETS["drq-pse"]
    agent, pse = p.agent_config(), p.pse_config()
    assert (agent.batch_size, agent.num_loss_augs, agent.num_target_augs) == (256, 2, 2)
    assert (agent.critic_lr, agent.actor_lr, agent.alpha_lr) == (1e-3, 1e-3, 1e-3)
    assert (agent.discount, agent.init_temperature, agent.critic_tau) == (0.99, 0.1, 0.01)
    assert (agent.target_update_every, agent.actor_update_every) == (2, 2)
    assert (agent.hidden_dim, agent.feature_dim, agent.num_filters) == (1024, 50, 32)
    assert (agent.log_std_min, agent.log_std_max, agent.precision) == (-10.0, 2.0, "fp32")
    assert (pse.weight, pse.temperature, pse.beta, pse.num_rows) == (1.0, 0.1, 0.1, 128)
    assert (pse.gamma, pse.lr, pse.projection_dim, pse.image_pad) == (0.99, 1e-3, 256, 4)
    assert (p.env_steps, p.seed_steps, p.replay_capacity, p.update_every) == (
        500_000,
        1000,
        100_000,
        1,
    )
    assert (p.pse_every, p.eval_episodes) == (1, 100)
    assert "Appendix I" in p.source


def test_every_cpu_deviation_is_listed_with_its_measurement():
    paper, cpu = PRESETS["drq"].to_dict(), PRESETS["drq-cpu"].to_dict()
    changed = {k for k in paper if paper[k] != cpu[k]} - set(LABELS)
    listed = {name.strip() for key in CPU_DEVIATIONS for name in key.split("/")}
    assert changed <= listed, changed - listed
    for key, (was, now, why) in CPU_DEVIATIONS.items():
        assert why, key
        for name, a, b in zip(
            key.split("/"), str(was).split("/"), str(now).split("/"), strict=True
        ):
            name = name.strip()
            if name in paper:
                assert str(paper[name]) == a.strip().replace("_", ""), (name, a)
                assert str(cpu[name]) == b.strip().replace("_", ""), (name, b)
    assert PRESETS["drq-pse-cpu"].pse_every == CPU_DEVIATIONS["pse_every"][1]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"env_steps": 1500}, "env_steps must be a multiple of 1000"),
        ({"eval_every": 10}, "eval_every must be a multiple of 1000"),
        ({"pse_every": 0}, "pse_every must be an int >= 1"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1.0}, "lr must be > 0"),
        ({"method": "pse"}, "method must be"),
        ({"pse_temperature": 0.0}, "temperature"),
        ({"task": "balance"}, "unknown task 'cartpole-balance'"),
    ],
)
def test_bad_values_name_the_field(changes, match):
    with pytest.raises(ValueError, match=match):
        PRESETS["drq-cpu"].replace(**changes)


def test_make_config_and_derived_sizes():
    cfg = make_config("drq-cpu", "walker", "walk", env_steps=10_000)
    assert (cfg.action_repeat, cfg.episode_steps, cfg.agent_steps) == (2, 500, 5000)
    assert cfg.agent_config().encoder_chunk == 64
    assert make_config("drq", "cartpole", "swingup").agent_config().encoder_chunk is None
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        make_config("nope", "cartpole", "swingup")


def test_every_field_is_settable_from_the_command_line():
    parser = argparse.ArgumentParser()
    configs.add_config_arguments(parser, DMCConfig, exclude=NOT_FLAGS)
    dests = {a.dest for a in parser._actions}
    fields = {f.name for f in dataclasses.fields(DMCConfig)}
    assert fields - set(NOT_FLAGS) <= dests
    assert set(NOT_FLAGS) - {"preset", "source"} == {"domain", "task"}  # own flags
    args = parser.parse_args(["--pse-every", "3", "--no-distraction", "--set", "lr=0.0005"])
    assert configs.collect_overrides(args, DMCConfig, exclude=NOT_FLAGS) == {
        "pse_every": 3,
        "distraction": False,
        "lr": 0.0005,
    }
