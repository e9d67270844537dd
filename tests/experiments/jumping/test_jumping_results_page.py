"""``pisces jumping results-page``: cells sorted into the paper's tables, the paper's mean
against our CI, runs off the protocol kept out, figures written."""

from __future__ import annotations

import json

import numpy as np

from pisces import cli
from pisces.envs.jumping import task_split
from pisces.experiments.jumping.config import make_config


def _record(folder, preset, seed, pct, *, epochs=2000, stamps=None, grid="wide", **overrides):
    folder.mkdir(parents=True, exist_ok=True)
    split = task_split(grid, None, no_validation=True)
    solved = (split == "train") | (np.arange(286) < seed * 10)
    record = {
        "preset": preset, "grid": grid, "seed": seed, "epochs": epochs,
        "test_solved_pct": pct, "solved": solved.astype(int).tolist(), "split": split.tolist(),
        "eval_curve": [{"epoch": e, "test_solved_pct": pct - 1 + e / epochs} for e in (0, epochs)],
        "config": make_config(preset, grid, epochs=epochs, **overrides).to_dict(),
    }  # fmt: skip
    record.update(stamps or {})
    (folder / f"seed-{seed:03d}.json").write_text(json.dumps(record))


def test_results_page_tables_verdicts_and_figures(tmp_path, capsys):
    root = tmp_path / "results" / "jumping"
    for seed, pct in ((1, 80.0), (2, 90.0), (3, 88.0)):
        _record(root / "randconv-pse-wide", "randconv-pse", seed, pct)
    for seed in (1, 2):
        _record(root / "pse-wide", "pse", seed, 20.0 + seed)
    _record(root / "short", "pse", 1, 5.0, epochs=10)
    _record(root / "bisim-l2", "randconv-bisim-l2", 1, 40.0)  # Table 2 and Table 1's row
    _record(root / "eps", "randconv-pse", 1, 40.0, psm_epsilon=0.5)
    # figures made by other commands, in a subfolder or beside the page's own: listed
    (root / "figures" / "heatmaps").mkdir(parents=True)
    (root / "figures" / "heatmaps" / "metric_heatmap.png").write_bytes(b"png")
    (root / "figures" / "dynamics-pse.png").write_bytes(b"png")
    out = tmp_path / "results" / "README.md"
    args = ["jumping", "results-page", str(root), str(root), "--out", str(out), "--reps", "200"]
    assert cli.main(args) == 0
    page = out.read_text()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in page.splitlines() if "|" in line}
    other = next(line for line in page.splitlines() if line.startswith("Other figures: "))
    assert "(jumping/figures/heatmaps/metric_heatmap.png)" in other
    assert "(jumping/figures/dynamics-pse.png)" in other
    assert "curves-wide" not in other and "solved-" not in other
    # n counts each file once although the folder was given twice
    assert "| RandConv + PSEs | wide | 3 | 86.0 (5.3) |" in page
    # ours − paper with Welch's CI and p (86.0 (5.3), n = 3, against 87.0 (10.1) over 100 runs)
    assert rows["RandConv + PSEs"].endswith("| 87.0 (10.1) | yes | -1.0 [-12.6, +10.6], p = 0.78 |")
    assert rows["PSEs"].endswith("| 33.6 (10.0) | **no** | -12.1 [-14.4, -9.8], p < 0.001 |")
    assert "| ε = 0.5 | exact | 1 | 40.0" in page  # Figure 5, not pooled with the preset
    # the paper prints no number for ε > 0 (Table 1's 87.0 is its ε = 0 point only)
    assert rows["ε = 0.5"].endswith("| – | – | – |")
    assert rows["ε = 0"].endswith("| 87.0 (10.1) | yes | -1.0 [-12.6, +10.6], p = 0.78 |")
    assert "pse, wide grid, 10 epochs: 1 seed(s)" in page  # off the protocol, listed apart
    assert "outside: PSEs (wide, n=2)" in page
    different = "finds 1 of 2 cells different from the paper at p < 0.05: PSEs (wide, n=2)"
    assert f"{different} (by chance alone about 0.1 would be; 1 passes Holm's correction" in page
    table1, table2 = page.split("## Table 2")[0], page.split("## Table 2")[1].split("## ")[0]
    assert "| RandConv + Bisimulation | wide | 1 | 40.0 (–) |" in table1
    single = "| 40.0 [–, –] | 40.0 [–, –] | 41.4 (17.6) | n = 1: no CI | – |"
    assert rows["RandConv + Bisimulation"].endswith(single)  # one seed: no CI, no verdict
    assert "| π*-bisim + ℓ2 | wide | 1 | 40.0 (–) |" in table2
    assert "No cell with a paper value has two seeds yet" in table2  # not "in 0 of 0 cells"
    assert "RandConv + Bisimulation (wide)" not in page.split("Not run yet: ")[1].split("\n")[0]
    figures = tmp_path / "results" / "jumping" / "figures"
    assert (figures / "curves-wide.png").stat().st_size > 0
    assert (figures / "solved-randconv-pse-wide.png").stat().st_size > 0
    assert "![training curves, wide grid](jumping/figures/curves-wide.png)" in page


def test_each_cell_says_where_its_seeds_ran(tmp_path):
    root = tmp_path / "results" / "jumping"
    amx = {"cpu": "Intel Xeon (amx)", "precision": "bf16", "torch": "2.13.0+cpu"}
    for seed in (1, 2):
        _record(root / "rp", "randconv-pse", seed, 80.0 + seed, stamps=amx)
    _record(root / "rp", "randconv-pse", 3, 85.0, stamps={"cpu": "AMD EPYC (avx2)"})
    _record(root / "pse", "pse", 1, 20.0)  # older than the stamps: the config's precision
    out = tmp_path / "results" / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 0
    page = out.read_text()
    section = page.split("## Where each cell ran")[1].split("## ")[0]
    assert (
        "- Table 1, RandConv + PSEs, wide: 2 × Intel Xeon (amx), bf16, torch 2.13.0+cpu; "
        "1 × AMD EPYC (avx2), fp32 (from the config), torch not recorded\n"
    ) in section
    old = "1 × CPU not recorded, fp32 (from the config), torch not recorded"
    assert f"- Table 1, PSEs, wide: {old}" in section
    # Figure 5's ε = 0 point is the same three seeds
    assert "- Figure 5, ε = 0, exact: 2 × Intel Xeon (amx)" in section


def test_a_seed_in_two_folders_of_one_cell_is_refused_naming_both(tmp_path, capsys):
    root = tmp_path / "results" / "jumping"
    _record(root / "rp", "randconv-pse", 1, 80.0)
    _record(root / "rp", "randconv-pse", 2, 82.0)
    _record(root / "rp-again", "randconv-pse", 2, 90.0)  # the same config: the same cell
    out = tmp_path / "results" / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not out.exists()
    assert "seed 2 of Table 1 RandConv + PSEs (wide) is in both" in err
    assert str(root / "rp") in err and str(root / "rp-again") in err


def test_tuning_trials_stay_out_of_the_tables_and_the_study_gets_a_line(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed in (1, 2):
        _record(root / "pse-wide", "pse", seed, 20.0 + seed)
    study = root / "tuning"
    for seed in (1, 2):  # a full-length trial would otherwise join the PSEs cell
        _record(study / "trials" / "trial-0000", "pse", seed, 50.0)
    (study / "study.db").write_bytes(b"")
    best = {"number": 3, "value": 61.5, "params": {"alpha": 12.0}}
    summary = {"study": "pse-wide", "trials": {"complete": 4}, "best": best}
    summary["preset_trial"] = {"number": 0, "value": 55.0, "params": {"alpha": 10.0}}
    (study / "best.json").write_text(json.dumps(summary))
    (study / "README.md").write_text("# the study\n")
    out = tmp_path / "results" / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 0
    page = out.read_text()
    assert "| PSEs | wide | 2 | 21.5 (0.7) |" in page  # the trial's seeds are not counted
    assert (
        "- [jumping/tuning/README.md](jumping/tuning/README.md) (pse-wide, 4 completed trials): "
        "best trial 3 61.5 % of validation tasks (alpha 12); the preset's own values (trial 0) "
        "55.0 %"
    ) in page
    # a page written outside the results tree links back into it (no crash on relative_to)
    elsewhere = tmp_path / "elsewhere" / "page.md"
    argv = ["jumping", "results-page", str(root), "--out", str(elsewhere), "--reps", "200"]
    assert cli.main(argv) == 0
    assert "- [../results/jumping/tuning/README.md](../results/jumping/tuning/README.md)" in (
        elsewhere.read_text()
    )


FINDINGS = """
[[finding]]
table = "1"
row = "PSEs"
column = "wide"
text = '''Our loss is the unweighted one:
  see [the gap](pse-gap.md#7) and [the paper](https://openreview.net/x).'''
"""


def test_findings_sit_under_their_table_beside_the_generated_gap(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed in (1, 2):
        _record(root / "pse-wide", "pse", seed, 20.0 + seed)  # 21, 22: the paper's 33.6 outside
    for seed, pct in ((1, 80.0), (2, 90.0), (3, 88.0)):
        _record(root / "randconv-pse-wide", "randconv-pse", seed, pct)  # 87.0 inside
    _record(root / "randconv-wide", "randconv", 1, 60.0)  # outside? no: one seed, no verdict
    (root / "findings.toml").write_text(FINDINGS)
    out = tmp_path / "results" / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 0
    table1 = out.read_text().split("## Table 2")[0]
    disagree = table1.split("**What does not agree")[1].split("**What agrees")[0]
    agree = table1.split("**What agrees")[1]
    # the gap is generated (21.5 - 33.6), the text is the finding's, whitespace folded, its
    # relative link rewritten from results/jumping/ to the page's folder, the URL kept
    line = next(x for x in disagree.splitlines() if x.startswith("- PSEs (wide, n = 2)"))
    assert "ours 21.5 [" in line and "against the paper's 33.6, -12.1 points." in line
    assert "Fewer than 5 seeds" in line
    assert line.endswith(
        "Our loss is the unweighted one: see [the gap](jumping/pse-gap.md#7) and "
        "[the paper](https://openreview.net/x)."
    )
    assert "- RandConv + PSEs (wide, n = 3): ours 86.0 [" in agree
    assert "RandConv (wide" not in table1.split("**What does not agree")[1]  # n = 1: no verdict


def test_a_disagreement_without_a_finding_says_so(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed in (1, 2):
        _record(root / "pse-wide", "pse", seed, 20.0 + seed)
    out = tmp_path / "results" / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 0
    page = out.read_text()
    welch = "Welch against the paper's 100 runs: -12.1 [-14.4, -9.8], p < 0.001."
    optimistic = "points. Fewer than 5 seeds: this CI is optimistic."
    assert f"{optimistic} {welch} No finding written yet." in page
    assert "hand-written findings" not in page  # no findings file: no sentence citing one


def test_a_finding_that_names_no_cell_or_is_malformed_is_refused(tmp_path, capsys):
    root = tmp_path / "jumping"
    _record(root / "pse-wide", "pse", 1, 20.0)
    out = tmp_path / "README.md"
    argv = ["jumping", "results-page", str(root), "--out", str(out), "--reps", "50"]
    (root / "findings.toml").write_text(FINDINGS.replace('"wide"', '"wdie"'))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "findings.toml: the finding for Table 1, 'PSEs', 'wdie' names no cell" in err
    assert not out.exists()
    bad = {
        FINDINGS.replace('table = "1"', 'table = "3"'): "table '3' is not one of",
        FINDINGS.replace("column", "col"): "finding 1 must have exactly",
        FINDINGS.replace('row = "PSEs"', 'row = ""'): "finding 1: 'row' must be a non-empty",
        FINDINGS + FINDINGS: "two findings for Table 1, 'PSEs', 'wide'",
        "[[finding]\n": "not valid TOML",
        'note = "x"\n': "unknown top-level key(s) ['note']",
    }
    for text, message in bad.items():
        (root / "findings.toml").write_text(text)
        assert cli.main(argv) == 2
        assert message in capsys.readouterr().err, message
    assert cli.main([*argv, "--findings", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such findings file" in capsys.readouterr().err


def test_figure5_is_drawn_on_the_page_once_an_epsilon_run_exists(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed, pct in ((1, 80.0), (2, 90.0)):
        _record(root / "randconv-pse-wide", "randconv-pse", seed, pct)
    out = tmp_path / "results" / "README.md"
    argv = ["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]
    assert cli.main(argv) == 0
    fig5 = root / "figures" / "fig5.png"
    assert not fig5.exists() and "![Figure 5]" not in out.read_text()  # ε = 0 alone: no figure
    for seed, pct in ((1, 30.0), (2, 40.0)):
        _record(root / "eps", "randconv-pse", seed, pct, psm_epsilon=0.5)
    assert cli.main(argv) == 0
    page = out.read_text()
    section = page.split("## Figure 5")[1].split("## ")[0]
    assert "![Figure 5](jumping/figures/fig5.png)" in section
    assert fig5.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = [line for line in page.splitlines() if line.startswith("Other figures")]
    assert not any("fig5.png" in line for line in other)  # drawn here, not listed again


def test_colored_runs_fill_table_g1_red_and_green_with_standard_errors(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed, (red, green) in enumerate(((30.0, 97.0), (40.0, 99.0), (38.0, 98.0)), start=1):
        colored = {"colors": True, "test_solved_pct_red": red, "test_solved_pct_green": green}
        _record(root / "pse-colors-wide", "pse-colors", seed, red, stamps=colored, colors=True)
    short = {"colors": True, "test_solved_pct_red": 5.0, "test_solved_pct_green": 9.0}
    _record(root / "pse-colors-short", "pse-colors", 1, 5.0, epochs=10, stamps=short, colors=True)
    for seed in (1, 2):  # a variant of the preset: its own row, without the paper's value
        _record(root / "rc-pc", "randconv-colors", seed, 50.0, stamps=colored, colors=True,
                rand_conv_rgb="per-channel", colors_input="6-channel")  # fmt: skip
    _record(root / "pse-wide", "pse", 1, 20.0)
    out = tmp_path / "results" / "README.md"
    argv = ["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]
    assert cli.main(argv) == 0
    assert "report-all.md" not in out.read_text()  # linked only where `make results` wrote it
    (root / "report-all.md").write_text("(the report)\n")
    assert cli.main(argv) == 0
    page = out.read_text()
    assert "prints it: [jumping/report-all.md](jumping/report-all.md)." in page
    g1 = page.split("## Table G.1")[1].split("## ")[0]
    rows = {tuple(line.split(" | ")[:2]): line for line in g1.splitlines() if "|" in line}
    red, green = rows[("| PSEs", "red")], rows[("| PSEs", "green")]
    # mean (standard error) as the paper prints it: red 36.0, s.e. std/sqrt(3) = 5.29/1.73;
    # the header names the spread once, for ours and the paper's
    assert "| n | mean (s.e.) | IQM [95% CI] | mean [95% CI] | paper mean (s.e.) |" in g1
    assert red.startswith("| PSEs | red | 3 | 36.0 (3.1) |")
    assert red.endswith("| 37.9 (1.9) | yes | -1.9 [-12.1, +8.3], p = 0.63 |")
    assert green.startswith("| PSEs | green | 3 | 98.0 (0.6) |")
    # above every seed: outside the CI; but three seeds leave Welch's interval wide
    assert green.endswith("| 100.0 (0.0) | **no** | -2.0 [-4.5, +0.5], p = 0.07 |")
    # paper Figure 4 (the red column) drawn under the table
    assert "![Figure 4](jumping/figures/fig4.png)" in g1
    assert (root / "figures" / "fig4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    variant = rows[("| RandConv [colors_input=6-channel, rand_conv_rgb=per-channel]", "red")]
    assert variant.endswith("| – | – | – |") and ("| RandConv", "red") not in rows
    # colored runs stay out of Table 1; the 10-epoch run is listed apart, not pooled
    table1 = page.split("## Table 2")[0]
    assert "| PSEs | wide | 1 | 20.0 (–) |" in table1 and "| red |" not in table1
    assert "| n | mean (std) |" in table1 and "s.e." not in table1.split("| method |")[1]
    assert "pse-colors, wide grid, 10 epochs: 1 seed(s)" in page


def test_bf16_and_6_channel_input_rows_stand_beside_the_paper_other_variants_do_not(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed in (1, 2):
        _record(root / "pse-bf16", "pse", seed, 20.0 + seed, amp_bf16=True)
        _record(root / "pse-paper-loss", "pse", seed, 30.0 + seed, loss_variant="paper")
        colored = {"colors": True, "test_solved_pct_red": 6.0 + seed, "test_solved_pct_green": 99.0}
        _record(root / "rc-6ch", "randconv-colors", seed, 6.0, stamps=colored, colors=True,
                colors_input="6-channel", amp_bf16=True)  # fmt: skip
    out = tmp_path / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 0
    rows = {tuple(line.split(" | ")[:2]): line for line in out.read_text().splitlines()}
    # the paper's method in bf16, or on the clean 6-channel reading of the colored frames
    # (the presets read them as the official code did): the paper's number
    bf16 = rows[("| PSEs [amp_bf16=True]", "wide")]
    assert bf16.endswith("| 33.6 (10.0) | **no** | -12.1 [-14.4, -9.8], p < 0.001 |")
    six = "| RandConv [amp_bf16=True, colors_input=6-channel]"
    # 7, 8: outside a CI of [7, 8], but not by Welch's test (the paper's s.e. and our n = 2)
    assert rows[(six, "red")].endswith("| 6.2 (0.4) | **no** | +1.3 [-0.9, +3.5], p = 0.15 |")
    green = rows[(six, "green")]
    assert green.endswith("| 99.6 (0.2) | **no** | -0.6 [-1.0, -0.2], p = 0.004 |")
    # another loss is another method: no paper number
    assert rows[("| PSEs [loss_variant=paper]", "wide")].endswith("| – | – | – |")


def test_bisim_l2_off_the_wide_grid_fills_table1_only(tmp_path):
    root = tmp_path / "results" / "jumping"
    for seed in (1, 2):
        _record(root / "bisim-narrow", "randconv-bisim-l2", seed, 13.0 + 3 * seed, grid="narrow")
    out = tmp_path / "README.md"
    assert cli.main(["jumping", "results-page", str(root), "--out", str(out), "--reps", "200"]) == 0
    page = out.read_text()
    table1, table2 = page.split("## Table 2")[0], page.split("## Table 2")[1].split("## ")[0]
    # Table 1's narrow paper value (17.4), not Table 2's wide one (41.4)
    assert "| RandConv + Bisimulation | narrow | 2 | 17.5 (2.1) |" in table1
    assert "| 17.4 (6.7) | yes |" in table1
    assert "narrow" not in table2 and "41.4" not in table2


def test_figure4_bars_are_99_percent_cis_of_the_red_column(tmp_path):
    """Figure 4's bars: our mean and 99 % bootstrap CI of the mean per red cell; the paper's
    mean ± 2.576 s.e. (its 99 % CI); no CI from one seed; green cells are not drawn."""
    from pisces.analysis import stats
    from pisces.experiments.jumping.results_page import collect, figure4_bars

    for seed, red in enumerate((30.0, 40.0, 38.0, 20.0), start=1):
        colored = {"colors": True, "test_solved_pct_red": red, "test_solved_pct_green": 99.0}
        _record(tmp_path / "pse-colors", "pse-colors", seed, red, stamps=colored, colors=True)
    one = {"colors": True, "test_solved_pct_red": 7.0, "test_solved_pct_green": 99.0}
    _record(tmp_path / "rc-colors", "randconv-colors", 1, 7.0, stamps=one, colors=True)
    cells, _ = collect([tmp_path])
    bars = {row: (mean, ci, paper) for row, mean, ci, paper in figure4_bars(cells, reps=500)}
    assert set(bars) == {"PSEs", "RandConv"}
    mean, ci, paper = bars["PSEs"]
    assert mean == 32.0
    assert (
        ci == stats.summarize([30.0, 40.0, 38.0, 20.0], seed=0, reps=500, confidence=0.99).mean_ci
    )
    ci95 = stats.summarize([30.0, 40.0, 38.0, 20.0], seed=0, reps=500).mean_ci
    assert ci[0] <= ci95[0] and ci95[1] <= ci[1]  # 99 % is at least as wide as 95 %
    assert paper[0] == 37.9 and abs(paper[1] - (37.9 - 2.5758 * 1.9)) < 1e-3
    assert abs(paper[2] - (37.9 + 2.5758 * 1.9)) < 1e-3
    assert bars["RandConv"][:2] == (7.0, None) and bars["RandConv"][2][0] == 6.2


def test_holm_rejects_step_down():
    from pisces.experiments.jumping.results_page import holm_rejections

    # m = 4: thresholds 0.0125, 0.0167, 0.025, 0.05 for the sorted p-values
    assert holm_rejections([0.01, 0.04, 0.03, 0.005]) == 2  # 0.005, 0.01 pass; 0.03 > 0.025
    assert holm_rejections([0.001, 0.002, 0.003, 0.04]) == 4
    assert holm_rejections([0.03, 0.001]) == 2  # the last threshold is alpha itself
    assert holm_rejections([0.03, 0.03]) == 0  # 0.03 > 0.05 / 2: nothing passes
    assert holm_rejections([]) == 0 and holm_rejections([0.05]) == 1


def test_colored_curves_draw_each_seed_of_the_presets_reading_only(tmp_path):
    from pisces.experiments.jumping.results_page import page_records, plot_color_curves

    root = tmp_path / "jumping"
    for seed in (1, 2):
        for folder, extra in (("pse-colors", {}), ("six", {"colors_input": "6-channel"})):
            _record(root / folder, "pse-colors", seed, 30.0, colors=True, **extra)
            path = root / folder / f"seed-{seed:03d}.json"
            r = json.loads(path.read_text())
            r["colors"] = True
            r["eval_curve"] = [
                {"epoch": e, "test_red_solved_pct": 10.0 * seed + e / 100,
                 "test_green_solved_pct": 100.0}
                for e in (100, 200, 2000)
            ]  # fmt: skip
            path.write_text(json.dumps(r))
    records = page_records([root])
    out = tmp_path / "curves.png"
    assert plot_color_curves(records, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the 6-channel variant alone draws nothing: the figure is the presets' reading
    variant = [r for r in records if r["config"].get("colors_input") == "6-channel"]
    assert len(variant) == 2 and not plot_color_curves(variant, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
