"""The DCS training loop: seeded on physics and losses, resumable bit for bit, loud on NaN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("dm_control")

from pisces.agents.pse_dmc import PairDataset  # noqa: E402
from pisces.errors import UsageError  # noqa: E402
from pisces.experiments.dmc.config import make_config  # noqa: E402
from pisces.experiments.dmc.train import (  # noqa: E402
    DMCTrainer,
    EveryK,
    MetricBuffer,
    NonFiniteLossError,
    run,
)

#: tiny settings: 84 × 84 observations as always, small networks, 100 seed steps.
TINY = {
    "env_steps": 2000,
    "seed_steps": 100,
    "batch_size": 8,
    "num_filters": 8,
    "feature_dim": 16,
    "hidden_dim": 32,
    "eval_every": 1000,
    "eval_episodes": 1,
    "eval_train_episodes": 1,
    "pse_num_rows": 8,
    "pse_projection_dim": 16,
    "pse_every": 5,
}
TIMINGS = ("seconds", "train_seconds", "eval_seconds", "wall_seconds")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (as ``pisces dmc train`` defaults to): small ops on 2 busy cores are
    many times slower with 2 threads; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(preset: str = "drq-pse-cpu", **changes):
    return make_config(preset, "cartpole", "swingup", **(TINY | changes))


def random_pairs(seed: int = 0) -> PairDataset:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (2, 2, 125, 3, 84, 84), dtype=np.uint8)
    return PairDataset.build(frames, rng.uniform(-1, 1, (2, 2, 125, 1)).astype(np.float32))


def strip(x):
    """``x`` without wall-clock timings (everything else must be bit-identical)."""
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in TIMINGS}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def traced_episode(seed: int) -> tuple[list[np.ndarray], list[dict[str, float]]]:
    """One training episode's physics states (after every env step) and update metrics."""
    trainer = DMCTrainer(tiny(), seed, pairs=random_pairs())
    states, metrics = [], []
    step, update = trainer.env.step, trainer.agent.update

    def traced_step(action):
        out = step(action)
        states.append(trainer.env.unwrapped.physics_state())
        return out

    def traced_update(batch):
        m = update(batch)
        metrics.append({k: float(v) for k, v in m.items()})
        return m

    trainer.env.step, trainer.agent.update = traced_step, traced_update
    try:
        trainer.train_episode()
    finally:
        trainer.close()
    return states, metrics


def test_same_seed_same_physics_states_and_losses():
    states_a, metrics_a = traced_episode(1)
    states_b, metrics_b = traced_episode(1)
    assert len(states_a) == 125 and len(metrics_a) == 25
    assert all(np.array_equal(a, b) for a, b in zip(states_a, states_b, strict=True))
    assert metrics_a == metrics_b
    assert any("pse_loss" in m for m in metrics_a)
    other = DMCTrainer(tiny(), 2, pairs=random_pairs())
    try:
        other.begin_episode()
        first = DMCTrainer(tiny(), 1, pairs=random_pairs())
        first.begin_episode()
        assert not np.array_equal(
            other.env.unwrapped.physics_state(), first.env.unwrapped.physics_state()
        )
        first.close()
    finally:
        other.close()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A whole tiny DrQ + PSEs run that leaves its mid-run checkpoint (after episode 1)."""
    path = tmp_path_factory.mktemp("midrun") / "ckpt.pt"
    record = run(tiny(), 3, pairs=random_pairs(), checkpoint=path, checkpoint_every=1000)
    return record, path


def test_checkpoint_then_resume_gives_the_same_next_losses_and_record(uninterrupted):
    record, path = uninterrupted
    assert path.exists()  # saved after episode 1, not after the last
    state = torch.load(path, weights_only=False)
    assert state["trainer"]["episode"] == 1 and state["trainer"]["step"] == 125
    assert set(state["trainer"]["agent"]["steps"]) == {"pse"}
    resumed_entries = []
    resumed = run(
        tiny(),
        3,
        pairs=random_pairs(),
        checkpoint=path,
        checkpoint_every=1000,
        on_episode=lambda t, e: resumed_entries.append(e),
    )
    assert [e["episode"] for e in resumed_entries] == [2]  # only the missing episode ran
    entry = dict(resumed_entries[0])
    assert strip(entry.pop("eval")) == strip(record["eval_curve"][-1])
    assert strip(entry) == strip(record["train_curve"][1])  # the next losses
    assert strip(resumed) == strip(record)


def test_record_holds_the_required_keys_and_the_evaluation_schedule(uninterrupted):
    record, _ = uninterrupted
    for key in ("preset", "domain", "task", "seed", "env_steps", "eval_return", "config"):
        assert key in record
    assert (record["preset"], record["domain"], record["task"]) == (
        "drq-pse-cpu",
        "cartpole",
        "swingup",
    )
    assert record["env_steps"] == 2000 and record["agent_steps"] == 250
    assert record["updates"] == 150 and record["pse_steps"] == 30
    assert [e["env_steps"] for e in record["eval_curve"]] == [1000, 2000]
    assert record["eval_return"] == record["eval_curve"][-1]["test_return"]
    assert record["eval_return_train"] is not None
    assert record["threads"] == torch.get_num_threads() and record["cpu"]


def test_evaluation_never_moves_the_training_numbers(uninterrupted):
    """The run above evaluated after episode 1; without that evaluation, episode 2 (and so the
    whole training curve) is the same."""
    record, _ = uninterrupted
    trainer = DMCTrainer(tiny(eval_every=0), 3, pairs=random_pairs())
    try:
        entries = [trainer.train_episode(), trainer.train_episode()]
    finally:
        trainer.close()
    assert strip(entries) == strip(record["train_curve"])


def test_a_nan_loss_stops_the_run_naming_the_episode():
    trainer = DMCTrainer(tiny("drq-cpu"), 1)
    trainer.agent.update = lambda batch: {"critic_loss": torch.tensor(float("nan"))}
    try:
        with pytest.raises(NonFiniteLossError, match=r"episode 1 .*critic_loss=nan"):
            trainer.train_episode()
    finally:
        trainer.close()
    assert issubclass(NonFiniteLossError, UsageError)


def test_pair_data_must_match_the_method():
    with pytest.raises(UsageError, match="needs pair data"):
        DMCTrainer(tiny(), 1)
    with pytest.raises(UsageError, match="takes no pair data"):
        DMCTrainer(tiny("drq-cpu"), 1, pairs=random_pairs())


def test_every_k_and_the_metric_buffer():
    calls = []
    step = EveryK(type("S", (), {"__call__": lambda self: calls.append(1) or {"x": 1}})(), 3)
    outs = [step() for _ in range(7)]
    assert [bool(o) for o in outs] == [True, False, False, True, False, False, True]
    assert step.runs == 3 == len(calls)
    buf = MetricBuffer()
    buf.add({"a": torch.tensor(1.0), "b": torch.tensor(2.0)})
    buf.add({"a": torch.tensor(3.0)})
    assert buf.flush() == {"a": 2.0, "b": 2.0}
    assert buf.flush() == {}
