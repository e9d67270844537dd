"""``pisces dmc report``: rliable's probability of improvement with our own seeded bootstrap,
and the tables beside Table 3 and the DrQ authors' scores."""

from __future__ import annotations

import numpy as np
import pytest

from pisces.experiments.dmc.config import make_config
from pisces.experiments.dmc.report import (
    probability_of_improvement,
    probability_of_improvement_ci,
    report_text,
)


def test_probability_of_improvement_is_rliables():
    rly = pytest.importorskip("rliable.metrics")
    rng = np.random.default_rng(0)
    x, y = rng.normal(1, 1, (5, 3)), rng.normal(0, 1, (4, 3))
    x[0, 0] = y[0, 0]  # a tie counts one half
    ours = probability_of_improvement(
        {f"t{j}": x[:, j] for j in range(3)}, {f"t{j}": y[:, j] for j in range(3)}
    )
    assert ours == pytest.approx(float(rly.probability_of_improvement(x, y)), abs=1e-12)
    assert probability_of_improvement({"a": [1, 2]}, {"a": [1, 2]}) == 0.5
    assert probability_of_improvement({"a": [3, 4]}, {"a": [1, 2]}) == 1.0


def test_bootstrap_ci_is_seeded_brackets_the_estimate_and_leaves_the_global_rng():
    x, y = {"a": [700, 750, 760, 800, 720]}, {"a": [600, 650, 740, 580, 610]}
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (checked untouched)
    lo, hi = probability_of_improvement_ci(x, y, reps=4000, seed=3)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    assert (lo, hi) == probability_of_improvement_ci(x, y, reps=4000, seed=3)
    assert 0 <= lo <= probability_of_improvement(x, y) <= hi <= 1
    with pytest.raises(ValueError, match="same non-empty tasks"):
        probability_of_improvement_ci(x, {"b": [1.0]})


def fake_record(preset: str, seed: int, ret: float, **changes) -> dict:
    cfg = make_config(preset, "cartpole", "swingup", **changes)
    return {
        "preset": preset,
        "method": cfg.method,
        "domain": "cartpole",
        "task": "swingup",
        "seed": seed,
        "distraction": cfg.distraction,
        "env_steps": cfg.env_steps,
        "eval_return": ret,
        "eval_return_train": ret + 50 if cfg.distraction else None,
        "generalization_gap": 50.0 if cfg.distraction else None,
        "config": cfg.to_dict(),
    }


def test_report_tables_beside_the_paper_and_the_drq_authors():
    records = [fake_record("drq-cpu", s, 500 + 10 * s) for s in range(1, 6)]
    records += [fake_record("drq-pse-cpu", s, 600 + 10 * s) for s in range(1, 6)]
    records += [fake_record("drq-cpu", s, 700.0, distraction=False) for s in (1, 2, 3)]
    records += [fake_record("drq-cpu", 1, 400.0, batch_size=64)]  # its own labelled row
    text = report_text(records, reps=500, seed=0)
    assert "| cartpole-swingup | DrQ | drq-cpu | 100k | 5 | 530 ± 7 |" in text
    assert "| cartpole-swingup | DrQ + PSEs | drq-pse-cpu | 100k | 5 | 630 ± 7 |" in text
    assert "582 ± 42" in text and "749 ± 19" in text  # Table 3, random init
    assert "DrQ [batch_size=64]" in text
    assert "P(DrQ + PSEs > DrQ) = 1.00" in text  # every PSE seed beats every DrQ seed
    assert "## Sanity check without distraction" in text
    assert "| 3 | 700 ± 0 | 759 |" in text
