"""Jumping-task training and evaluation: sampler, pairs, metric, gradient flow, evaluation rule
vs closed-loop rollouts, determinism, NaN errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pisces.agents.imitation import sample_balanced, sample_pair, weight_decay
from pisces.envs.jumping import ALL_TASKS, make_params, render, reset, step
from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.data import evaluated_states, pair_metrics
from pisces.experiments.jumping.trainer import JumpingTrainer, NonFiniteLossError


def test_balanced_sampler_ratio_and_classes():
    jump = torch.arange(0, 1008, 56) + 10  # 18 JUMP states
    right = torch.tensor(sorted(set(range(1008)) - set(jump.tolist())))
    g = torch.Generator().manual_seed(0)
    idx = torch.cat([sample_balanced(jump, right, 256, g) for _ in range(400)])
    is_jump = torch.isin(idx, jump)
    # 102400 fair coins: sd 0.0016.
    assert is_jump.float().mean().item() == pytest.approx(0.5, abs=0.008)
    assert torch.isin(idx[~is_jump], right).all()
    assert len(torch.unique(idx[is_jump])) == 18


def test_pairs_are_ordered_distinct_and_uniform():
    g = torch.Generator().manual_seed(1)
    pairs = torch.stack([sample_pair(18, g, torch.device("cpu")) for _ in range(30600)])
    assert (pairs[:, 0] != pairs[:, 1]).all()
    counts = np.bincount((pairs[:, 0] * 18 + pairs[:, 1]).numpy(), minlength=324)
    counts = counts.reshape(18, 18)
    assert (np.diag(counts) == 0).all()
    off = counts[~np.eye(18, dtype=bool)]
    assert off.min() > 55 and off.max() < 150  # expected 100 each


def test_pair_metric_matches_the_spec_example():
    tasks = ALL_TASKS[[110, 220]]  # (30, 10) and (40, 10)
    assert tasks.tolist() == [[30, 10], [40, 10]]
    actions = np.zeros((2, 56), dtype=np.int64)
    actions[0, 30 - 14] = actions[1, 40 - 14] = 1
    d = pair_metrics(actions, np.ones((2, 56)), metric="psm", gamma=0.999)
    assert d.shape == (2, 2, 56, 56)
    assert d[0, 1, 0, 0] == pytest.approx(1.96, abs=0.01)  # spec §4.2
    np.testing.assert_allclose(d[0, 1], d[1, 0].T)
    assert d[0, 1, 0, 10] == 0  # aligned partner: same distance to the jump


def test_weight_decay_is_a_mean_over_variables():
    params = [torch.ones(2, 2), torch.ones(3)]
    assert weight_decay(params).item() == pytest.approx((4 / 2 + 3 / 2) / 2)


def test_gradient_flow_projection_only_from_cme_policy_only_from_ce():
    def grads(alpha):
        cfg = make_config("pse", "wide", alpha=alpha, l2_reg=0.0)
        t = JumpingTrainer(cfg, 3)
        loss = t.learner.compute_losses()[0]
        loss.backward()
        return {
            n: (None if p.grad is None else p.grad.clone()) for n, p in t.net.named_parameters()
        }

    with_cme, ce_only = grads(10.0), grads(0.0)
    for name in ("projection.linear.weight", "projection.linear.bias"):
        assert ce_only[name] is None
        assert with_cme[name].abs().sum() > 0
    for name in ("policy.linear.weight", "policy.linear.bias"):
        torch.testing.assert_close(with_cme[name], ce_only[name])  # CME adds nothing here
    assert not torch.allclose(with_cme["encoder.dense.weight"], ce_only["encoder.dense.weight"])


def test_evaluated_prefix_covers_the_rule():
    task, time_index = evaluated_states(prefix=True)
    assert len(task) == 5577
    last = np.zeros(len(ALL_TASKS), dtype=int)
    np.maximum.at(last, task, time_index)
    np.testing.assert_array_equal(last, ALL_TASKS[:, 0] - 14)
    assert len(evaluated_states(prefix=False)[0]) == 286 * 56


class ScriptedPolicy(torch.nn.Module):
    """Reads (p, f, x) off the current frame; JUMP iff p - x is one of the task's distances."""

    def __init__(self, distances: torch.Tensor) -> None:
        super().__init__()
        self.distances = distances  # (26, 11, 2) jump distances p - x per task (99 = never)

    def forward(self, obs, kernels=None, group_index=None):
        cur = obs[..., 1]  # (B, 60, 60), row = height, col = x
        cols = torch.arange(60)
        p = torch.where((cur == 0.5).any(dim=1), cols, 99).amin(dim=1)
        interior = cur[:, 1:59, 1:59] == 1  # the floor is the only full row inside the border
        f = torch.where(interior.all(dim=2), torch.arange(1, 59), 99).amin(dim=1)
        white = cur == 1
        white[:, [0, 59]] = False
        white[:, :, [0, 59]] = False
        white[torch.arange(len(f)), f] = False
        x = torch.where(white.any(dim=1), cols, -1).amax(dim=1) - 4  # col 0 is the border
        dist = self.distances[p - 20, f - 10]
        jump = ((p - x)[:, None] == dist).any(dim=1)
        return torch.stack([torch.zeros_like(jump), jump], dim=1).float()


def test_evaluation_rule_agrees_with_closed_loop_rollouts():
    rng = np.random.default_rng(0)
    jump_at = rng.choice([13, 14, 14, 14, 15, 99], size=(26, 11))
    early = rng.choice([99, 99, 99, 16, 20, 30], size=(26, 11))
    policy = ScriptedPolicy(torch.from_numpy(np.stack([jump_at, early], axis=-1)))
    trainer = JumpingTrainer(make_config("dropout-l2", "wide", epochs=1), 0)
    trainer.net = policy  # type: ignore[assignment]
    trainer.alignment_scores = dict  # type: ignore[method-assign]  # a script embeds nothing
    solved = trainer.evaluate().solved

    params = make_params(ALL_TASKS[:, 0], ALL_TASKS[:, 1])
    state = reset(params)
    prev = np.zeros((len(ALL_TASKS), 60, 60), dtype=np.float32)
    success = np.zeros(len(ALL_TASKS), dtype=bool)
    for _ in range(56):
        frame = render(params, state)
        obs = torch.from_numpy(np.stack([prev, frame], axis=-1))
        action = policy(obs).argmax(dim=1).numpy()
        result = step(params, state, action)
        success |= result.success
        state, prev = result.state, frame
    early_jump = early <= ALL_TASKS[:, 0].reshape(26, 11)  # reachable: x = p - early >= 0
    expected = ((jump_at == 14) & ~early_jump).reshape(-1)
    assert 0 < success.sum() < len(success)
    np.testing.assert_array_equal(success, expected)
    np.testing.assert_array_equal(solved, success)


def test_same_seed_twice_gives_identical_results():
    cfg = make_config("randconv-pse", "wide", epochs=1, log_every=2, eval_mc_passes=1)
    runs = [JumpingTrainer(cfg, 7) for _ in range(2)]
    finals = [t.run() for t in runs]
    assert runs[0].loss_log == runs[1].loss_log
    np.testing.assert_array_equal(finals[0].solved, finals[1].solved)
    for a, b in zip(runs[0].net.parameters(), runs[1].net.parameters(), strict=True):
        assert torch.equal(a, b)
    again = runs[0].evaluate()  # the evaluation stream is re-seeded from (seed, epoch)
    np.testing.assert_array_equal(again.solved, finals[0].solved)


def test_nan_loss_names_the_step():
    cfg = make_config("pse", "wide", epochs=2, log_every=3)
    trainer = JumpingTrainer(cfg, 0)
    trainer.train_epoch()  # steps 1..4 are fine
    with torch.no_grad():
        trainer.net.encoder.dense.bias.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 5 "):
        trainer.run()


def test_learning_rate_decays_per_epoch():
    trainer = JumpingTrainer(make_config("randconv", "wide", epochs=3, eval_every=0), 0)
    assert trainer.steps_per_epoch == 4
    assert trainer.learning_rate(2000) == pytest.approx(7e-3 * 0.999**2000)
    trainer.train_epoch()
    trainer.train_epoch()
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(7e-3 * 0.999)
    assert trainer.step == 8


def test_every_evaluation_records_figure3_alignment_and_changes_nothing_else(monkeypatch):
    from pisces.experiments.jumping.embeddings import (
        DEFAULT_TASKS,
        alignment_scores,
        compute_layers,
        steps_to_jump,
    )

    cfg = make_config("randconv-pse", "wide", epochs=2, eval_every=1, log_every=2)
    scored = JumpingTrainer(cfg, 3)
    scored.run()
    curve = scored.result()["eval_curve"]
    assert [e["epoch"] for e in curve] == [1, 2]
    assert scored.net.training  # the mode the scoring found is restored
    # the last entry is the score of the trained network, computed independently
    tasks = np.array(DEFAULT_TASKS)
    layers = compute_layers(scored.net, cfg, tasks)
    for layer in ("representation", "projection"):
        want = alignment_scores(layers[layer], steps_to_jump(tasks))
        assert curve[-1][f"alignment_score_{layer}"] == want["alignment"]
        assert curve[-1][f"phase_agreement_{layer}"] == want["phase_agreement"]
        assert curve[-1][f"zero_states_{layer}"] == want["zero_vectors"]
        flat = layers[layer].reshape(224, -1)
        dead = sum(not flat[:, u].any() for u in range(flat.shape[1]))
        assert curve[-1][f"dead_units_{layer}"] == dead
        assert 0.0 <= curve[0][f"alignment_score_{layer}"] <= 1.0
    # the same run without the scoring: bit-identical training and evaluations
    monkeypatch.setattr(JumpingTrainer, "alignment_scores", lambda self: {})
    plain = JumpingTrainer(cfg, 3)
    plain.run()
    assert plain.loss_log == scored.loss_log
    for a, b in zip(plain.net.parameters(), scored.net.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(plain.evals, scored.evals, strict=True):
        np.testing.assert_array_equal(a.solved, b.solved)
    # a mid-run checkpoint written before the scores existed still loads
    state = scored.state_dict()
    for e in state["evals"]:
        del e["alignment"]
    again = JumpingTrainer(cfg, 3)
    again.load_state_dict(state)
    assert [e.alignment for e in again.evals] == [{}, {}]
