"""``pisces dmc teacher | collect | train | report`` end to end on tiny settings, and the
one-line errors of bad input (through ``pisces.cli.main`` with the verbs registered here)."""

from __future__ import annotations

import json

import pytest
import torch

from pisces import cli

#: the COMMANDS entries of the four verbs (the same as the ones to add to pisces.cli).
DMC_VERBS = {
    "teacher": ("pisces.experiments.dmc.teacher:configure", "train the state SAC teacher"),
    "collect": ("pisces.experiments.dmc.collect:configure", "paired episodes for the PSEs"),
    "train": ("pisces.experiments.dmc.cli:configure_train", "train a DCS preset for seeds"),
    "report": ("pisces.experiments.dmc.report:configure_report", "Table 3 beside the paper"),
}
TINY = [
    *("--env-steps", "1000", "--seed-steps", "100", "--batch-size", "8"),
    *("--num-filters", "8", "--feature-dim", "16", "--hidden-dim", "32"),
    *("--eval-episodes", "1", "--eval-train-episodes", "1"),
    *("--pse-num-rows", "8", "--pse-projection-dim", "16", "--pse-every", "8", "--no-progress"),
]
TASK = ["--domain", "cartpole", "--task", "swingup"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (as ``pisces dmc train`` defaults to): small ops on 2 busy cores are
    many times slower with 2 threads; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def dmc_verbs(monkeypatch):
    commands = {**cli.COMMANDS, "dmc": {**cli.COMMANDS.get("dmc", {}), **DMC_VERBS}}
    monkeypatch.setattr(cli, "COMMANDS", commands)


def one_line_error(capsys, argv: list[str], match: str) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and match in err, err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("dmc-e2e")


def test_teacher_collect_train_report_end_to_end(workdir, capsys):
    pytest.importorskip("dm_control")
    teacher, pairs = workdir / "teacher", workdir / "pairs"
    argv = ["dmc", "teacher", *TASK, "--out", str(teacher), "--env-steps", "1000"]
    argv += ["--seed-steps", "60", "--hidden-dim", "16", "--batch-size", "16"]
    assert cli.main([*argv, "--eval-episodes", "1", "--no-progress"]) == 0
    assert {p.name for p in teacher.iterdir()} >= {"teacher.pt", "teacher.json", "teacher.png"}
    assert cli.main([*argv, "--eval-episodes", "1", "--no-progress"]) == 0  # done: skipped
    assert "already trained" in capsys.readouterr().out

    argv = ["dmc", "collect", "--teacher", str(teacher), "--out", str(pairs)]
    assert cli.main([*argv, "--task-seeds", "1", "--episodes", "1", "--no-progress"]) == 0
    info = json.loads((pairs / "pairs.json").read_text())
    assert info["pairs"] == 1 and info["videos"] == ["bear", "bmx-bumps"]
    teacher_json = json.loads((teacher / "teacher.json").read_text())
    assert info["teacher"]["sha256"] == teacher_json["sha256"]

    pse, drq = workdir / "drq-pse-cpu", workdir / "drq-cpu"
    argv = ["dmc", "train", "--preset", "drq-pse-cpu", *TASK, "--seeds", "1"]
    assert cli.main([*argv, "--out", str(pse), "--pairs", str(pairs / "pairs.npz"), *TINY]) == 0
    argv = ["dmc", "train", "--preset", "drq-cpu", *TASK, "--seeds", "1", "--tensorboard"]
    assert cli.main([*argv, "--out", str(drq), *TINY]) == 0
    record = json.loads((pse / "seed-001.json").read_text())
    assert record["pairs"]["sha256"] == info["sha256"]
    assert (pse / "seed-001.png").is_file() and (pse / "summary.json").is_file()
    assert not list(pse.glob(".*.midrun.pt"))  # deleted when the seed finished
    assert list((drq / "tensorboard" / "seed-001").glob("events.out.tfevents.*"))
    capsys.readouterr()

    assert cli.main([*argv, "--out", str(drq), *TINY]) == 0  # rerun: done, skipped
    assert "seed 1: done" in capsys.readouterr().out
    one_line_error(
        capsys,
        [*argv, "--out", str(drq), *TINY, "--batch-size", "16"],
        "made with a different configuration (batch_size 8 there, 16 requested)",
    )
    one_line_error(
        capsys,
        ["dmc", "train", "--preset", "drq-pse-cpu", "--domain", "walker", "--task", "walk"]
        + ["--out", str(workdir / "x"), "--pairs", str(pairs)],
        "holds pairs of cartpole-swingup, not walker-walk",
    )

    assert cli.main(["dmc", "report", str(workdir), "--reps", "200"]) == 0
    out = capsys.readouterr().out
    assert "## Table 3" in out and "582 ± 42" in out and "749 ± 19" in out
    assert "P(DrQ + PSEs > DrQ)" in out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--preset", "nope", *TASK, "--out", "{tmp}"], "invalid choice: 'nope'"),
        (
            ["train", "--preset", "drq-cpu", "--domain", "cartpole", "--task", "balance"]
            + ["--out", "{tmp}"],
            "unknown task 'cartpole-balance'",
        ),
        (["train", "--preset", "drq-pse-cpu", *TASK, "--out", "{tmp}"], "needs pair data"),
        (
            ["train", "--preset", "drq-cpu", *TASK, "--out", "{tmp}", "--pairs", "x.npz"],
            "takes no pair data",
        ),
        (
            ["train", "--preset", "drq-pse-cpu", *TASK, "--out", "{tmp}", "--pairs", "{tmp}/n"],
            "no pair data at",
        ),
        (["train", "--preset", "drq-cpu", *TASK, "--out", "{tmp}", "--env-steps", "5"], "1000"),
        (["train", "--preset", "drq-cpu", *TASK, "--out", "{tmp}", "--seeds", "3-1"], "reversed"),
        (["collect", "--teacher", "{tmp}/none", "--out", "{tmp}"], "no teacher at"),
        (["teacher", "--domain", "cartpole", "--task", "spin", "--out", "{tmp}"], "unknown task"),
        (["report", "{tmp}/nothing"], "no such folder"),
    ],
)
def test_bad_input_is_one_line_before_any_work(argv, match, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    one_line_error(capsys, ["dmc", *argv], match)
    assert not list(tmp_path.glob("seed-*.json"))
