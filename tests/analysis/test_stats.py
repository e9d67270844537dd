"""pisces.analysis.stats: IQM by hand, bootstrap CIs (determinism, rliable parity), tables."""

from __future__ import annotations

import numpy as np
import pytest
from rliable import metrics as rly_metrics

from pisces.analysis.stats import (
    aggregate,
    iqm,
    iqm_rows,
    markdown_table,
    stratified_bootstrap_ci,
    summarize,
)

REPS = 2_000  # plenty for the properties tested; keeps the suite fast


def test_iqm_by_hand():
    # n = 8: cut 2 from each end, keep 3..6.
    assert iqm(np.arange(1, 9)) == pytest.approx((3 + 4 + 5 + 6) / 4)
    # Skewed: keep the middle 4 of 8.
    assert iqm([100, 1, 64, 2, 32, 4, 16, 8]) == pytest.approx((4 + 8 + 16 + 32) / 4)
    # n = 10: floor(2.5) = 2 cut from each end, keep 6.
    assert iqm(np.arange(10.0)) == pytest.approx(sum(range(2, 8)) / 6)
    # n < 4: nothing cut, the IQM is the mean.
    assert iqm([1.0, 2.0, 9.0]) == pytest.approx(4.0)


def test_vectorised_iqm_matches_rliable():
    rng = np.random.default_rng(0)
    for k in range(1, 14):
        x = rng.normal(size=(7, k))
        want = [rly_metrics.aggregate_iqm(row) for row in x]
        np.testing.assert_allclose(iqm_rows(x), want, rtol=1e-12)


def test_ci_contains_estimate_deterministic_and_seeded():
    x = np.random.default_rng(1).normal(50.0, 10.0, size=20)
    state = np.random.get_state()  # noqa: NPY002 (checking the legacy global RNG)
    a = summarize(x, seed=3, reps=REPS)
    b = summarize(x, seed=3, reps=REPS)
    c = summarize(x, seed=4, reps=REPS)
    # The global RNG is neither read nor reseeded.
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(u, v) for u, v in zip(state, after, strict=True))
    assert a == b
    assert a.iqm_ci != c.iqm_ci and a.mean_ci != c.mean_ci
    for s in (a, c):
        assert s.iqm_ci[0] < s.iqm < s.iqm_ci[1]
        assert s.mean_ci[0] < s.mean < s.mean_ci[1]
    assert a.mean == pytest.approx(x.mean())
    assert a.std == pytest.approx(x.std(ddof=1))
    assert a.median == pytest.approx(np.median(x))
    # The 95% interval of the mean is roughly mean ± 1.96 std / sqrt(n).
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert (a.mean_ci[1] - a.mean_ci[0]) == pytest.approx(2 * half, rel=0.25)
    # Narrower coverage gives a narrower interval from the same draws.
    lo90, hi90 = stratified_bootstrap_ci(x, "mean", reps=REPS, seed=3, confidence=0.9)
    assert a.mean_ci[0] < lo90 < hi90 < a.mean_ci[1]


def test_single_seed_is_degenerate():
    s = summarize([42.0], reps=100)
    assert s.n == 1 and s.mean == 42.0 and s.median == 42.0 and s.iqm == 42.0
    assert np.isnan(s.std)
    assert s.iqm_ci == (42.0, 42.0) and s.mean_ci == (42.0, 42.0)


def test_same_interval_as_rliable():
    """Draw-for-draw parity with rliable.library, which draws from NumPy's global RNG: seed
    it as a user of rliable would, and restore the state afterwards."""
    import rliable.library as rl
    from rliable import metrics

    rng = np.random.default_rng(2)
    xs = [rng.gamma(2.0, 10.0, size=9), rng.gamma(2.0, 10.0, size=(6, 3))]
    saved = np.random.get_state()  # noqa: NPY002 (rliable uses the global RNG)
    try:
        for x in xs:
            x2 = x if x.ndim == 2 else x[:, None]
            for stat, func in (("iqm", metrics.aggregate_iqm), ("mean", metrics.aggregate_mean)):
                np.random.seed(7)  # noqa: NPY002
                _, ci = rl.get_interval_estimates(
                    {"x": x2}, lambda s, f=func: np.array([f(s)]), reps=300
                )
                got = stratified_bootstrap_ci(x, stat, reps=300, seed=7)
                np.testing.assert_allclose(got, ci["x"][:, 0], rtol=1e-12)
    finally:
        np.random.set_state(saved)  # noqa: NPY002


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="empty"):
        summarize([])
    with pytest.raises(ValueError, match=r"NaN scores at seed index \[1, 3\]"):
        summarize([1.0, np.nan, 2.0, np.nan])
    with pytest.raises(ValueError, match=r"'PSEs': NaN/inf"):
        aggregate({"ok": [1.0, 2.0], "PSEs": [1.0, np.inf]})
    with pytest.raises(ValueError, match="1-D"):
        summarize(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"expected 3 seeds per cell; got \{'b': 2\}"):
        aggregate({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]}, expect_n=3, reps=10)
    with pytest.raises(ValueError, match="empty mapping"):
        aggregate({})
    with pytest.raises(ValueError, match="statistic"):
        stratified_bootstrap_ci([1.0, 2.0], "median")
    with pytest.raises(ValueError, match="confidence"):
        stratified_bootstrap_ci([1.0, 2.0], confidence=1.0)


def test_aggregate_cells_independent_of_each_other():
    cells = {"a": [1.0, 5.0, 2.0, 8.0], "b": [3.0, 3.5, 9.0]}
    both = aggregate(cells, reps=REPS)
    only_b = aggregate({"b": cells["b"]}, reps=REPS)
    assert list(both) == ["a", "b"]
    assert both["b"] == only_b["b"] == summarize(cells["b"], reps=REPS)


def test_markdown_table_layout_and_missing_cells():
    ours = aggregate(
        {("PSEs", "wide"): [30.0, 40.0, 35.0], ("RandConv", "narrow"): [50.0, 60.0]}, reps=200
    )
    paper = {
        ("PSEs", "wide"): (33.6, 10.0),
        ("PSEs", "narrow"): (9.3, 5.3),
        ("Bisim", "wide"): 17.9,
    }
    text = markdown_table(ours, paper, digits=1)
    lines = text.strip().split("\n")
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Method", "wide (ours)", "wide (paper)", "narrow (ours)", "narrow (paper)"]
    assert lines[1].count("---") == 5
    body = {ln.strip("|").split("|")[0].strip(): ln for ln in lines[2:]}
    assert list(body) == ["PSEs", "RandConv", "Bisim"]
    psess = [c.strip() for c in body["PSEs"].strip("|").split("|")]
    s = ours["PSEs", "wide"]
    assert psess[1].startswith(f"{s.mean:.1f} ({s.std:.1f}), IQM {s.iqm:.1f} [")
    assert psess[1].endswith("n=3")
    assert psess[2:] == ["33.6 (10.0)", "–", "9.3 (5.3)"]
    bisim = [c.strip() for c in body["Bisim"].strip("|").split("|")]
    assert bisim[1:] == ["–", "17.9", "–", "–"]
    # Without paper numbers: one column per setting; explicit order and selection.
    only = markdown_table(ours, rows=["RandConv"], columns=["narrow", "wide"], digits=0)
    only_lines = only.strip().split("\n")
    assert only_lines[0] == "| Method | narrow | wide |"
    assert len(only_lines) == 3 and only_lines[2].startswith("| RandConv | 55 (7), IQM 55 [")
    assert only_lines[2].endswith("| – |")


def test_markdown_escapes_pipes_and_rejects_bad_keys():
    s = summarize([1.0, 2.0], reps=50)
    assert "a\\|b" in markdown_table({("a|b", "c"): s})
    with pytest.raises(ValueError, match=r"\(row, column\)"):
        markdown_table({"flat": s})  # type: ignore[dict-item]
