"""``pisces jumping compare``: cells matched across two folders, per-seed rows, the config
change and the run stamps named, the statistics those of ``compare_cells``."""

from __future__ import annotations

import json

import pytest

from pisces import cli
from pisces.analysis.stats import compare_cells
from pisces.experiments.jumping.config import make_config


def _record(folder, preset, seed, pct, *, stamp=True, **overrides):
    folder.mkdir(parents=True, exist_ok=True)
    cfg = make_config(preset, **overrides)
    record = {
        "preset": preset, "grid": "wide", "seed": seed, "epochs": cfg.epochs,
        "test_solved_pct": pct, "config": cfg.to_dict(), "torch": "2.13.0+cpu",
    }  # fmt: skip
    if stamp:
        record |= {"cpu": "Test CPU (avx512_bf16)", "precision": "bf16" if cfg.amp_bf16 else "fp32"}
    (folder / f"seed-{seed:03d}.json").write_text(json.dumps(record))


def test_compare_names_the_change_and_matches_compare_cells(tmp_path, capsys):
    base, other = tmp_path / "fp32", tmp_path / "bf16"
    fp32 = {1: 19.0, 2: 21.5, 3: 17.0, 4: 18.0}
    bf16 = {1: 22.0, 2: 20.0, 3: 25.5}
    for s, pct in fp32.items():
        _record(base, "pse", s, pct, stamp=s > 2)  # seeds 1-2: records older than the stamps
    for s, pct in bf16.items():
        _record(other, "pse", s, pct, amp_bf16=True)
    _record(other, "randconv", 7, 80.0)  # a cell on one side only: not compared
    out = tmp_path / "cmp.md"
    assert (
        cli.main(["jumping", "compare", str(base), str(other), "--reps", "800", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert out.read_text() == text
    assert "## pse, wide grid" in text and "randconv" not in text
    assert "- change: amp_bf16 False → True" in text
    assert "precision fp32, fp32 (from the config)" in text
    assert "CPU Test CPU (avx512_bf16), not recorded" in text
    assert "| 2 | 21.5 | 20.0 | -1.5 |" in text and "| 4 | 18.0 | – | – |" in text
    d = compare_cells(
        list(fp32.values()), list(bf16.values()), base_seeds=[1, 2, 3, 4],
        other_seeds=[1, 2, 3], reps=800,
    )  # fmt: skip
    assert f"**{d.diff:+.1f}** points, 95 % CI [{d.diff_ci[0]:+.1f}, {d.diff_ci[1]:+.1f}]" in text
    assert f"Welch's t-test p = {d.welch_p:.3f}" in text
    assert f"paired over the 3 seeds on both sides: {d.paired_diff:+.1f}" in text
    assert "at n = 4 + 3" in text and "80 % power" in text


def test_compare_of_a_folder_with_itself_is_indistinguishable(tmp_path, capsys):
    for s, pct in ((1, 30.0), (2, 35.0), (3, 28.0)):
        _record(tmp_path / "a", "pse", s, pct)
    assert (
        cli.main(["jumping", "compare", str(tmp_path / "a"), str(tmp_path / "a"), "--reps", "200"])
        == 0
    )
    text = capsys.readouterr().out
    assert "(same configuration)" in text and "**Indistinguishable at n = 3 + 3**" in text
    assert "Wilcoxon signed-rank p = 1.000" in text


def test_verdict_says_when_a_few_pairs_disagree_with_the_two_sample_ci():
    from pisces.experiments.jumping.compare import verdict

    base = [85.8, 66.0, 81.0, 94.0, 90.7, 78.4, 90.3]
    other = [95.9, 81.3, 82.8]  # seeds 1-3: every pair up, the cells overlap
    d = compare_cells(base, other, base_seeds=range(1, 8), other_seeds=[1, 2, 3], reps=2000)
    assert d.diff_ci[0] < 0 < d.diff_ci[1] and d.paired_ci[0] > 0
    text = verdict(d)
    assert text.startswith("**Indistinguishable at n = 7 + 3**")
    assert "paired differences over the 3 common seeds" in text and "exclude 0" in text
    assert "cannot go below p = 0.250" in text and "not evidence" in text
    # the same pairs at six seeds: the caveat on small k goes, the disagreement stays
    d6 = compare_cells(
        base, [b + 5 for b in base[:6]], base_seeds=range(1, 8), other_seeds=range(1, 7),
        reps=2000,
    )  # fmt: skip
    assert d6.diff_ci[0] < 0 < d6.diff_ci[1] and d6.paired_ci == (5.0, 5.0)
    assert "6 common seeds (95 % CI [+5.0, +5.0]) exclude 0" in verdict(d6)
    assert "not evidence" not in verdict(d6)
    # agreement: no sentence
    same = compare_cells(base, base, base_seeds=range(1, 8), other_seeds=range(1, 8), reps=500)
    assert "common seeds" not in verdict(same)


@pytest.mark.parametrize("case", ["mixed", "disjoint"])
def test_compare_bad_cells_are_one_line_errors(tmp_path, capsys, case):
    _record(tmp_path / "a", "pse", 1, 20.0)
    _record(tmp_path / "a", "pse", 2, 21.0, alpha=5.0 if case == "mixed" else 10.0)
    _record(tmp_path / "b", "pse" if case == "mixed" else "randconv", 1, 20.0)
    _record(tmp_path / "b", "pse" if case == "mixed" else "randconv", 2, 22.0)
    assert cli.main(["jumping", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    want = (
        "base: the seeds of one cell ran different configurations"
        if case == "mixed"
        else ("no preset/grid cell on both sides (base: ['pse/wide']; other: ['randconv/wide'])")
    )
    assert want in err


def test_several_pairs_make_one_page_with_a_summary_row_per_cell(tmp_path, capsys):
    scores = {"a": (19.0, 21.0, 17.0), "b": (33.0, 36.0), "c": (10.0, 8.0, 12.0), "d": (7.0, 8.0)}
    for name, pcts in scores.items():
        for s, pct in enumerate(pcts, 1):
            _record(tmp_path / name, "pse", s, pct, coupling_weights=name in "bd")
    argv = ["jumping", "compare", *(str(tmp_path / n) for n in "abcd"), "--reps", "500"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("% of test tasks solved at the final epoch, per seed, 2 pairs")
    rows = [line for line in text.splitlines() if line.startswith("| pse, wide grid (")]
    assert len(rows) == 2 and rows[0].startswith("| pse, wide grid (`a` → `b`) | 3 + 2 | 19.0 |")
    for (base, other), row in zip((("a", "b"), ("c", "d")), rows, strict=True):
        d = compare_cells(
            list(scores[base]), list(scores[other]), base_seeds=[1, 2, 3], other_seeds=[1, 2],
            reps=500,
        )  # fmt: skip
        want = f"{d.diff:+.1f} [{d.diff_ci[0]:+.1f}, {d.diff_ci[1]:+.1f}] | {d.welch_p:.3f} |"
        want += " 33.6 (10.0) |"  # the paper's PSEs, wide grid (Table 1)
        assert row.endswith(want)
    # then each pair's own sections, titled with its folders, as a single pair prints them
    assert text.count("- change: coupling_weights False → True") == 2
    assert "## pse, wide grid (`c` → `d`)" in text
    assert cli.main(["jumping", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    single = capsys.readouterr().out
    assert "## pse, wide grid\n" in single and "| cell (base → other)" not in single
    # a pair without a common cell names the pair
    _record(tmp_path / "e", "randconv", 1, 50.0)
    _record(tmp_path / "e", "randconv", 2, 55.0)
    assert cli.main([*argv[:4], str(tmp_path / "a"), str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'a'} vs {tmp_path / 'e'}: no preset/grid" in err


def test_paper_value_reads_table_1_then_table_2():
    from pisces.experiments.jumping.compare import paper_value

    assert paper_value("pse", "wide") == (33.6, 10.0)
    assert paper_value("randconv-pse", "random") == (83.4, 10.1)
    # Table 2's π*-bisimulation + ℓ2 is Table 1's RandConv + Bisimulation on every grid
    assert paper_value("randconv-bisim-l2", "narrow") == (17.4, 6.7)
    assert paper_value("randconv-psm-cme", "wide") == (87.0, 10.1)  # Table 2: wide grid only
    assert paper_value("randconv-psm-cme", "narrow") is None
    assert paper_value("pse", "wide", True) is None  # colored: Table G.1 prints no std
    assert paper_value("no-such-preset", "wide") is None


def test_the_figure_draws_every_seed_and_the_papers_band(tmp_path, capsys):
    from pisces.experiments.jumping.compare import figure_pairs, load_pairs

    for s, (x, y) in enumerate(((19.0, 32.0), (21.0, 40.0), (17.0, 35.0)), 1):
        _record(tmp_path / "a", "pse", s, x)
        _record(tmp_path / "b", "pse", s, y, coupling_weights=True)
    _record(tmp_path / "c", "randconv-psm-cme", 1, 90.0)
    _record(tmp_path / "d", "randconv-psm-cme", 1, 92.0, learning_rate=1e-3)
    _record(tmp_path / "d", "randconv-psm-cme", 2, 94.0, learning_rate=1e-3)
    pairs = [(str(tmp_path / "a"), str(tmp_path / "b")), (str(tmp_path / "c"), str(tmp_path / "d"))]
    fig = figure_pairs(load_pairs(pairs))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["pse, wide", "randconv-psm-cme, wide"]
    first = panels[0]
    points = sorted(float(y) for c in first.collections for y in c.get_offsets()[:, 1])
    assert points == [17.0, 19.0, 21.0, 32.0, 35.0, 40.0]
    (band,) = [p for p in first.patches if p.get_label() == "paper mean ± std"]
    ys = band.get_patch_transform().transform([(0, 0), (0, 1)])[:, 1]  # its bottom and top
    assert ys == pytest.approx([23.6, 43.6])  # Table 1: 33.6 (10.0)
    (band2,) = [p for p in panels[1].patches if p.get_label() == "paper mean ± std"]
    ys2 = band2.get_patch_transform().transform([(0, 0), (0, 1)])[:, 1]
    assert ys2 == pytest.approx([76.9, 97.1])  # Table 2: 87.0 (10.1)
    # each seed on both sides joined by a line from its base score to its other score
    joins = {tuple(map(float, line.get_ydata())) for line in first.lines
             if list(line.get_xdata()) == [0, 1] and line.get_color() == "0.6"}  # fmt: skip
    assert joins == {(19.0, 32.0), (21.0, 40.0), (17.0, 35.0)}
    ticks = [t.get_text() for t in panels[1].get_xticklabels()]
    assert ticks == ["c\nn = 1", "d\nn = 2"]
    png = tmp_path / "cmp.png"
    argv = ["jumping", "compare", *(p for pair in pairs for p in pair), "--reps", "200"]
    assert cli.main([*argv, "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert cli.main([*argv, "--png", str(tmp_path / "nope" / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--png" in err and "no such folder" in err
