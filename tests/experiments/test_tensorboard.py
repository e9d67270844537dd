"""TensorBoard scalars: what is written is what TensorBoard reads back, the jumping
callback logs every loss entry and evaluation once (across a resume too), LQR records, and
the PNG of curves."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

pytest.importorskip("tensorboard")

from pisces.experiments import tensorboard as tb  # noqa: E402


def test_scalar_logger_round_trips_and_skips_what_cannot_be_drawn(tmp_path):
    with tb.ScalarLogger(tmp_path / "run") as log:
        log.scalar("a/x", 1.5, 0)
        log.scalar("a/x", float("nan"), 1)
        log.scalar("a/x", None, 2)
        log.scalars({"y": 2.0, "z": math.inf}, 3, prefix="b/")
        log.scalar("a/x", 2.5, 4)
    assert tb.read_scalars(tmp_path / "run") == {"a/x": [(0, 1.5), (4, 2.5)], "b/y": [(3, 2.0)]}
    assert tb.last_steps(tmp_path / "run") == {"a/x": 4, "b/y": 3}
    assert tb.last_steps(tmp_path / "empty") == {}
    assert tb.run_folders(tmp_path) == [tmp_path / "run"]


@dataclass
class FakeTrainer:
    """What the callback reads of a JumpingTrainer, advanced by hand."""

    cfg: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(epochs=6))
    epoch: int = 0
    step: int = 0
    train_seconds: float = 0.0
    loss_log: list = field(default_factory=list)
    evals: list = field(default_factory=list)

    def learning_rate(self, epoch: int) -> float:
        return 0.01 * 0.5**epoch

    def advance(self) -> None:
        """One epoch of 4 steps (1 s); losses every 8 steps, an evaluation every 2 epochs."""
        self.epoch += 1
        self.step += 4
        self.train_seconds += 1.0
        if self.step % 8 == 0:
            self.loss_log.append(
                {"step": self.step, "loss": 1.0 / self.step, "ce": 0.5, "align": 0.1}
            )
        if self.epoch % 2 == 0:
            counts = {"test_solved_pct": 10.0 * self.epoch, "validation_solved_pct": None}
            self.evals.append(SimpleNamespace(step=self.step, counts=counts, seconds=0.2))


def test_the_jumping_callback_logs_every_point_once_even_across_a_resume(tmp_path):
    trainer = FakeTrainer()
    on_epoch = tb.jumping_epoch_logger(tmp_path)
    for _ in range(3):
        trainer.advance()
        on_epoch(trainer)
        on_epoch(trainer)  # called twice at an epoch: nothing is logged twice
    # "killed" here; a resumed trainer holds the whole history, and a new callback resumes
    resumed = tb.jumping_epoch_logger(tmp_path)
    for _ in range(3):
        trainer.advance()
        resumed(trainer)
    folders = tb.run_folders(tmp_path)
    assert folders == [tmp_path]
    scalars = tb.read_scalars(tmp_path)
    for tag, points in scalars.items():
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), (tag, steps)  # no duplicate point
    assert [s for s, _ in scalars["loss/loss"]] == [8, 16, 24]
    assert scalars["loss/ce"] == [(8, 0.5), (16, 0.5), (24, 0.5)]
    assert scalars["eval/test_solved_pct"] == [(8, 20.0), (16, 40.0), (24, 60.0)]
    assert "eval/validation_solved_pct" not in scalars  # None: no validation split
    assert [s for s, _ in scalars["train/learning_rate"]] == [4, 8, 12, 16, 20, 24]
    assert scalars["train/learning_rate"][0][1] == pytest.approx(0.01)  # epoch 0's rate
    assert all(v == pytest.approx(4.0) for _, v in scalars["train/steps_per_second"])


def test_a_real_jumping_run_logs_its_losses_and_evaluations(tmp_path):
    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.jumping.trainer import run

    cfg = make_config("dropout-l2", epochs=2, batch_size=16, eval_every=0, log_every=2)
    record, _ = run(cfg, 1, "cpu", on_epoch=tb.jumping_epoch_logger(tmp_path / "seed-1"))
    scalars = tb.read_scalars(tmp_path / "seed-1")
    assert [s for s, _ in scalars["loss/ce"]] == [e["step"] for e in record["loss_curve"]]
    for entry, (_, value) in zip(record["loss_curve"], scalars["loss/ce"], strict=True):
        assert value == pytest.approx(entry["ce"])
    curve = record["eval_curve"]
    assert [(e["step"], pytest.approx(e["test_solved_pct"])) for e in curve] == scalars[
        "eval/test_solved_pct"
    ]
    assert {"loss/weight_decay", "train/learning_rate", "train/steps_per_second"} <= set(scalars)
    for key in (
        "alignment_score_projection",
        "dead_units_representation",
        "zero_states_projection",
    ):
        assert [(e["step"], pytest.approx(e[key])) for e in curve] == scalars[f"eval/{key}"]


def test_an_lqr_record_and_the_png_of_curves(tmp_path):
    from pisces.experiments.lqr.config import get_preset
    from pisces.experiments.lqr.train import run

    record = run(get_preset("psm").replace(n_distractors=30, iterations=20, n_test_envs=2), 1)
    with tb.ScalarLogger(tmp_path / "lqr") as log:
        tb.log_lqr_record(log, record)
    scalars = tb.read_scalars(tmp_path / "lqr")
    assert scalars["lqr/test_error"] == [(20, pytest.approx(record["test_error"]))]
    assert [v for _, v in scalars["lqr/train_gap"]] == pytest.approx(record["train_curve"])
    FakeTrainer().advance()
    trainer, other = FakeTrainer(), tb.jumping_epoch_logger(tmp_path / "jump")
    for _ in range(4):
        trainer.advance()
        other(trainer)
    png = tb.plot_scalars(tmp_path, tmp_path / "curves.png", ["loss/loss", "lqr/train_gap"])
    import matplotlib.image

    assert matplotlib.image.imread(png).shape[2] in (3, 4)
    from pisces import cli

    assert cli.main(["curves", str(tmp_path), str(tmp_path / "all.png")]) == 0
    assert matplotlib.image.imread(tmp_path / "all.png").shape[0] > 0
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "none", empty):  # missing, or holding no event file
        assert cli.main(["curves", str(folder), str(tmp_path / "x.png")]) == 2
        assert not (tmp_path / "x.png").exists()
