"""pisces.analysis.stats: IQM by hand, bootstrap CIs (determinism, rliable parity), tables."""

from __future__ import annotations

import numpy as np
import pytest
from rliable import metrics as rly_metrics

from pisces.analysis.stats import (
    against_published,
    aggregate,
    compare_cells,
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


# --------------------------------------------------------------------------- two samples


def test_compare_cells_welch_and_mann_whitney_by_hand():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 6.5, 7.0, 9.0])
    d = compare_cells(a, b, reps=REPS)
    assert d.diff == pytest.approx(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 4
    t = (b.mean() - a.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 3)  # Welch-Satterthwaite
    from scipy.stats import norm
    from scipy.stats import t as student

    assert d.welch_p == pytest.approx(2 * student.sf(abs(t), df), rel=1e-10)
    # complete separation of 4 vs 4: the exact two-sided U-test p is 2 / C(8, 4)
    assert d.mannwhitney_p == pytest.approx(2 / 70)
    assert d.detectable == pytest.approx((norm.ppf(0.975) + norm.ppf(0.8)) * np.sqrt(va + vb))
    assert d.n_paired == 0 and np.isnan(d.paired_diff) and np.isnan(d.wilcoxon_p)


def test_compare_cells_bootstrap_is_the_two_sample_percentile_interval():
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 2, 7), rng.normal(11, 3, 5)
    d = compare_cells(a, b, reps=500, seed=9)
    # reference: base resampled first, then other, from one RandomState(seed)
    rs = np.random.RandomState(9)
    ia = rs.randint(0, 7, size=(500, 7))
    ib = rs.randint(0, 5, size=(500, 5))
    ref = b[ib].mean(axis=1) - a[ia].mean(axis=1)
    assert d.diff_ci == pytest.approx(tuple(np.percentile(ref, [2.5, 97.5])), abs=1e-12)
    assert d.diff_ci[0] <= d.diff <= d.diff_ci[1]
    assert compare_cells(a, b, reps=500, seed=9) == d
    assert compare_cells(a, b, reps=500, seed=10).diff_ci != d.diff_ci
    far = compare_cells(a, a + 50.0, reps=REPS)
    assert far.diff_ci[0] > 0 and far.welch_p < 1e-6


def test_compare_cells_pairs_the_common_seeds():
    a = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    b = [11.0, 22.0, 33.0, 44.0, 55.0]
    d = compare_cells(a, b, base_seeds=[1, 2, 3, 4, 5, 6], other_seeds=[1, 2, 3, 4, 5], reps=REPS)
    assert d.n_paired == 5
    assert d.paired_diff == pytest.approx(np.mean([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert d.paired_ci == stratified_bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0], "mean", reps=REPS)
    # five positive differences: the exact two-sided signed-rank p is 2 / 2^5
    assert d.wilcoxon_p == pytest.approx(2 / 32)
    # the two-sample side ignores the pairing: seed 6 counts there
    assert d.n_base == 6 and d.diff == pytest.approx(np.mean(b) - np.mean(a))
    same = compare_cells(a, a, base_seeds=range(1, 7), other_seeds=range(1, 7), reps=REPS)
    assert same.diff == 0.0 and same.paired_diff == 0.0 and same.wilcoxon_p == 1.0


def test_compare_cells_errors_name_the_side():
    with pytest.raises(ValueError, match="base: needs at least 2 scores"):
        compare_cells([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="other: NaN"):
        compare_cells([1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(ValueError, match="other: 3 seeds for 2 scores"):
        compare_cells([1.0, 2.0], [1.0, 2.0], base_seeds=[1, 2], other_seeds=[1, 2, 3])


def test_against_published_is_welchs_test_from_summary_statistics():
    from scipy import stats as sps

    ours = np.array([8.2, 7.8, 12.5, 6.0])
    r = against_published(ours, 9.3, 5.3, published_n=100)
    ref = sps.ttest_ind_from_stats(ours.mean(), ours.std(ddof=1), 4, 9.3, 5.3, 100, equal_var=False)
    assert r.p == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.diff == pytest.approx(ours.mean() - 9.3)
    # Welch-Satterthwaite by hand
    a, b = ours.var(ddof=1) / 4, 5.3**2 / 100
    assert r.df == pytest.approx((a + b) ** 2 / (a**2 / 3 + b**2 / 99))
    assert r.se == pytest.approx(np.sqrt(a + b))
    half = sps.t.ppf(0.975, r.df) * r.se
    assert r.diff_ci == pytest.approx((r.diff - half, r.diff + half))
    # a standard error is the std over sqrt(n): the same test
    se = against_published(ours, 9.3, 5.3 / 10, published_n=100, spread="se")
    assert se.p == pytest.approx(r.p) and se.diff_ci == pytest.approx(r.diff_ci)


def test_against_published_interval_and_test_agree_and_count_both_sides():
    rs = np.random.RandomState(0)
    for _ in range(20):
        x = rs.normal(50, 10, size=rs.randint(2, 12))
        r = against_published(x, rs.normal(50, 10), rs.uniform(0, 20), published_n=100)
        lo, hi = r.diff_ci
        assert (lo > 0 or hi < 0) == (r.p < 0.05)  # the interval is the test inverted
    # two tight seeds far from a precise published mean: the published side alone sets se
    tight = against_published([17.9, 17.9, 17.9], 17.8, 2.2, published_n=100)
    assert tight.se == pytest.approx(0.22) and tight.df == pytest.approx(99)
    assert tight.p > 0.5  # +0.1 against a s.e. of 0.22: no difference
    # n = 2 has one degree of freedom on our side: a far wider interval than n = 10's
    wide = against_published([40.0, 50.0], 45.0, 10.0, published_n=100)
    many = against_published([40.0, 50.0] * 5, 45.0, 10.0, published_n=100)
    assert wide.diff_ci[1] - wide.diff_ci[0] > 5 * (many.diff_ci[1] - many.diff_ci[0])


def test_against_published_without_any_spread_and_bad_input():
    same = against_published([100.0, 100.0], 100.0, 0.0, published_n=100)
    assert same.p == 1.0 and same.diff_ci == (0.0, 0.0)
    off = against_published([99.0, 99.0], 100.0, 0.0, published_n=100)
    assert off.p == 0.0 and off.diff_ci == (-1.0, -1.0)
    # a mean printed to one decimal: 17.91 against a printed 17.9 (0.0) is rounding, not a gap
    printed = against_published([17.91, 17.91], 17.9, 0.0, published_n=100, resolution=0.1)
    assert printed.se == pytest.approx(0.1 / np.sqrt(12)) and printed.p > 0.5
    assert against_published([18.1, 18.1], 17.9, 0.0, published_n=100, resolution=0.1).p < 0.05
    with pytest.raises(ValueError, match="resolution"):
        against_published([1.0, 2.0], 1.0, 1.0, published_n=100, resolution=-0.1)
    with pytest.raises(ValueError, match="at least 2 scores"):
        against_published([1.0], 1.0, 1.0, published_n=100)
    with pytest.raises(ValueError, match="published_spread"):
        against_published([1.0, 2.0], 1.0, -1.0, published_n=100)
    with pytest.raises(ValueError, match="published_n"):
        against_published([1.0, 2.0], 1.0, 1.0, published_n=1)
    with pytest.raises(ValueError, match="spread must be"):
        against_published([1.0, 2.0], 1.0, 1.0, published_n=100, spread="var")
    with pytest.raises(ValueError, match="NaN|nan|finite"):
        against_published([1.0, float("nan")], 1.0, 1.0, published_n=100)
