"""``pisces jumping results-page``: every jumping-task table, ours beside the paper, as one
generated Markdown page with its figures.

::

    pisces jumping results-page results/jumping --out results/README.md

reads every ``seed-*.json`` under the given folders (recursively, each file once), keeps the
full-protocol runs (2000 epochs; the no-learning baseline has 0) and sorts them into the
paper's tables: Table 1 (wide, narrow and random grids), Table 2 (wide, with RandConv),
Table G.1 (colored obstacles) and Figure 5 (ε-suboptimal PSM, ``--set psm_epsilon``). Each
cell gives n, mean (std), the IQM with its 95 % stratified-bootstrap CI, the 95 % CI of the
mean, the paper's mean (std), whether the paper's mean lies inside our CI of the mean and
Welch's t-test of the difference against the paper's 100 runs, its spread counted (a row
that departs from its preset only in how the method runs, ``SAME_METHOD_FIELDS``: bf16, the
colored task's 5-D input, is set beside the paper's number; any other variant is not); each
table ends with a generated sentence and a list of what agrees and what does not, each cell
with its gap to the paper and, where one is written, its finding: a hand-written explanation
with links to the evidence, from ``findings.toml`` in a given folder (:func:`load_findings`;
the numbers are always generated, the findings never carry them). Runs off the protocol
(short schedules) are listed at the end, never pooled. Figures written beside the page: the
training curves of each grid (% test solved vs epoch, median and IQR over seeds) and each
Table 1 method's solved map (tasks solved by a majority of its seeds, paper Figure 2 style).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pisces.analysis.paper import JUMPING_GRIDS, JUMPING_RUNS, TABLE1, TABLE2, TABLE_G1
from pisces.argtypes import positive_int
from pisces.experiments.jumping.records import (
    RED_GREEN,
    SEED_GLOB,
    ran_on,
    run_folders,
    tuning_studies,
)
from pisces.experiments.jumping.report import (
    COLORS_ROWS,
    NO_TRAINING,
    PRESET_ROWS,
    PROTOCOL_EPOCHS,
    SAME_METHOD_FIELDS,
    TABLE1_BISIM_PRESET,
    overrides_label,
)
from pisces.experiments.runs import CorruptResult, load_records, save_figure_atomic

#: `pisces jumping report` over a whole results folder, which `make results` writes into it.
REPORT_ALL = "report-all.md"
TABLE1_ROWS = (
    "Bisimulation transfer",
    "Dropout and ℓ2 reg.",
    "PSEs",
    "RandConv",
    "RandConv + Bisimulation",
    "RandConv + PSEs",
)
#: Table 2 rows: preset → (row, paper value).
TABLE2_PRESETS = {
    "randconv-psm-cme": "PSM + CME (G.5 hyperparameters)",
    "randconv-psm-l2": "PSM + ℓ2",
    "randconv-bisim-cme": "π*-bisim + CME",
    "randconv-bisim-l2": "π*-bisim + ℓ2",
}
#: Figure 5 of the paper: % test solved of RandConv + PSEs vs ε (read off the figure: the
#: paper gives no table; the curve is flat near the ε = 0 value until ε = 0.5).
FIG5_EPSILONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class Cell:
    """One table cell: our per-seed scores and the paper's (mean, spread) if it has one."""

    table: str
    row: str
    column: str
    scores: tuple[float, ...]
    paper: tuple[float, float] | None
    spread: str = "std"  # what the paper's second number is ("std" or "s.e.")
    ran_on: tuple[str, ...] = ()  # per seed, :func:`records.ran_on`: CPU, precision, torch


#: the PNGs in ``jumping/figures/`` this page draws (the rest there are listed as they are).
GENERATED_FIGURES = ("curves-", "solved-", "fig5", "fig4")
#: the file of hand-written findings the page looks for in each folder it is given.
FINDINGS_FILE = "findings.toml"
TABLE_KEYS = ("1", "2", "G.1", "5")


@dataclass(frozen=True)
class Finding:
    """A hand-written explanation of one cell (its ``table``, ``row`` and ``column`` as the
    page prints them), in Markdown; relative links are relative to ``source``'s folder."""

    table: str
    row: str
    column: str
    text: str
    source: Path


def load_findings(path: str | Path) -> list[Finding]:
    """The findings of a TOML file: an array of tables ``[[finding]]``, each with the string
    fields ``table`` (one of :data:`TABLE_KEYS`), ``row``, ``column`` and ``text``::

        [[finding]]
        table = "1"
        row = "PSEs"
        column = "wide"
        text = "The official loss ... see [pse-gap.md](pse-gap.md)."

    Raises ValueError naming the file and the entry on anything else."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such findings file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    extra = set(data) - {"finding"}
    if extra:
        raise ValueError(f"{path}: unknown top-level key(s) {sorted(extra)}; expected [[finding]]")
    entries = data.get("finding", [])
    if not isinstance(entries, list):
        raise ValueError(f"{path}: 'finding' must be an array of tables ([[finding]])")
    fields = ("table", "row", "column", "text")
    out = []
    for i, e in enumerate(entries, 1):
        if not isinstance(e, dict) or set(e) != set(fields):
            got = sorted(e) if isinstance(e, dict) else type(e).__name__
            raise ValueError(f"{path}: finding {i} must have exactly {list(fields)}, got {got}")
        bad = [k for k in fields if not isinstance(e[k], str) or not e[k].strip()]
        if bad:
            raise ValueError(f"{path}: finding {i}: {bad[0]!r} must be a non-empty string")
        if e["table"] not in TABLE_KEYS:
            raise ValueError(
                f"{path}: finding {i}: table {e['table']!r} is not one of {list(TABLE_KEYS)}"
            )
        out.append(Finding(e["table"], e["row"], e["column"], " ".join(e["text"].split()), path))
    seen: set[tuple[str, str, str]] = set()
    for f in out:
        key = (f.table, f.row, f.column)
        if key in seen:
            raise ValueError(f"{path}: two findings for Table {f.table}, {f.row!r}, {f.column!r}")
        seen.add(key)
    return out


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def relink(text: str, source_dir: Path, page_dir: Path) -> str:
    """``text`` with its relative Markdown link targets (relative to ``source_dir``) made
    relative to ``page_dir``; absolute URLs and ``#anchors`` are kept as they are."""

    def fix(m: re.Match[str]) -> str:
        target = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return m.group(0)
        path, _, anchor = target.partition("#")
        new = Path(os.path.relpath((source_dir / path).resolve(), page_dir.resolve())).as_posix()
        return f"]({new}{'#' + anchor if anchor else ''})"

    return _LINK.sub(fix, text)


@functools.lru_cache(maxsize=256)
def _summary(scores: tuple[float, ...], seed: int, reps: int) -> Any:
    """:func:`pisces.analysis.stats.summarize` of a cell, computed once for its table row and
    its line under the table."""
    from pisces.analysis import stats

    return stats.summarize(scores, seed=seed, reps=reps)


def _fmt(x: float, digits: int = 1) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def welch(c: Cell) -> Any:
    """:func:`pisces.analysis.stats.against_published` of a cell against the paper's mean and
    spread over its :data:`~pisces.analysis.paper.JUMPING_RUNS` runs, the mean printed to one
    decimal (its rounding counted: 17.91 against a printed 17.9 (0.0) is no difference);
    None without a paper value or with fewer than 2 seeds."""
    from pisces.analysis import stats

    if c.paper is None or len(c.scores) < 2:
        return None
    kind = "std" if c.spread == "std" else "se"
    return stats.against_published(
        c.scores, c.paper[0], c.paper[1], published_n=JUMPING_RUNS, spread=kind, resolution=0.1
    )


def holm_rejections(pvalues: Iterable[float], alpha: float = 0.05) -> int:
    """How many of the hypotheses Holm's step-down procedure rejects at family-wise error
    ``alpha``: the sorted p-values ``p_(1) ≤ … ≤ p_(m)`` are rejected while
    ``p_(k) ≤ alpha / (m − k + 1)``."""
    ps = sorted(pvalues)
    m = len(ps)
    for k, p in enumerate(ps):
        if p > alpha / (m - k):
            return k
    return m


def _welch_text(w: Any) -> str:
    """``+1.2 [-3.4, +5.8], p = 0.61``: ours − paper, Welch's 95 % CI and p."""
    lo, hi = w.diff_ci
    signed = lambda x: f"{x + 0.0:+.1f}".replace("-0.0", "+0.0")  # noqa: E731
    return f"{signed(w.diff)} [{signed(lo)}, {signed(hi)}], {_p(w.p)}"


def page_records(dirs: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The records under ``dirs`` (recursively, each file once), without the trials of tuning
    studies (:func:`~pisces.experiments.jumping.records.run_folders`)."""
    return load_records(run_folders(dirs), SEED_GLOB, by_seed=True)


def collect(dirs: Iterable[str | Path]) -> tuple[list[Cell], list[str]]:
    """The cells of every table from the records under ``dirs`` (:func:`page_records`), and
    one line per folder of runs off the protocol.

    Raises:
        ValueError: naming both folders when one seed reaches a cell twice (two folders of
            the same configuration: it would count as two seeds).
    """
    scores: dict[tuple[str, str, str], list[float]] = {}
    machines: dict[tuple[str, str, str], list[str]] = {}
    paper_rows: dict[tuple[str, str, str], str] = {}  # cell → the paper row it is set beside
    sources: dict[tuple[str, str, str], dict[int, Path]] = {}
    off: dict[str, int] = {}

    def add(key: tuple[str, str, str], value: float, r: dict[str, Any], folder: Path) -> None:
        seen = sources.setdefault(key, {})
        seed = int(r["seed"])
        if seed in seen and seen[seed] != folder:
            raise ValueError(
                f"seed {seed} of Table {key[0]} {key[1]} ({key[2]}) is in both {seen[seed]} "
                f"and {folder}: one configuration, one folder (move one away)"
            )
        seen[seed] = folder
        scores.setdefault(key, []).append(value)
        machines.setdefault(key, []).append(ran_on(r))

    pairs = [(f, r) for f in run_folders(dirs) for r in load_records([f], SEED_GLOB, by_seed=True)]
    for folder, r in pairs:
        preset, grid = r["preset"], r["grid"]
        full = preset in NO_TRAINING or int(r["epochs"]) == PROTOCOL_EPOCHS
        label = overrides_label(r)
        method_label = overrides_label(r, SAME_METHOD_FIELDS)  # the paper's row, if any
        if not full:
            key = f"{preset}{label}, {grid} grid, {r['epochs']} epochs"
            off[key] = off.get(key, 0) + 1
            continue
        if r.get("colors"):
            row = COLORS_ROWS.get(preset, f"{preset} (--colors)") + label
            for color in ("red", "green"):
                add(("G.1", row, color), r[f"test_solved_pct_{color}"], r, folder)
                paper_rows[("G.1", row, color)] = COLORS_ROWS.get(preset, "") + method_label
        elif "psm_epsilon=" in label and preset == "randconv-pse" and grid == "wide":
            eps = float(r["config"]["psm_epsilon"])
            mode = r["config"].get("psm_epsilon_mode", "exact")
            add(("5", f"ε = {eps:g}", mode), r["test_solved_pct"], r, folder)
        elif preset == TABLE1_BISIM_PRESET and not label and grid != "wide":
            # Table 1's "RandConv + Bisimulation" row only: Table 2 is the wide grid's
            add(("1", "RandConv + Bisimulation", grid), r["test_solved_pct"], r, folder)
        elif preset in TABLE2_PRESETS and not label and grid == "wide":
            add(("2", TABLE2_PRESETS[preset], grid), r["test_solved_pct"], r, folder)
            if preset == TABLE1_BISIM_PRESET:  # also Table 1's "RandConv + Bisimulation" row
                add(("1", "RandConv + Bisimulation", grid), r["test_solved_pct"], r, folder)
        else:
            row = PRESET_ROWS.get(preset, preset) + label
            add(("1", row, grid), r["test_solved_pct"], r, folder)
            paper_rows[("1", row, grid)] = PRESET_ROWS.get(preset, preset) + method_label
            if preset == "randconv-pse" and grid == "wide" and not label:  # Fig. 5 at ε = 0
                add(("5", "ε = 0", "exact"), r["test_solved_pct"], r, folder)
    cells = []
    for (table, row, column), values in scores.items():
        paper: tuple[float, float] | None = None
        spread = "std"
        if table == "1":
            paper = TABLE1.get((paper_rows.get((table, row, column), row), column))
        elif table == "2":
            paper = TABLE2.get(row)
        elif table == "G.1":
            # a variant ("RandConv [rand_conv_rgb=...]") has none; a bf16 or 5-D-input run
            # of the paper's method has the paper's (SAME_METHOD_FIELDS)
            pair = TABLE_G1.get(paper_rows.get((table, row, column), row))
            paper = None if pair is None else pair[0 if column == "red" else 1]
            spread = "s.e."
        elif table == "5":
            # only ε = 0 has a number (Table 1's); the figure prints none for ε > 0 ("ε = 0.5"
            # starts with "ε = 0" too, and the paper reports it degraded, not at 87.0)
            paper = TABLE1[("RandConv + PSEs", "wide")] if row == "ε = 0" else None
        ran = tuple(machines[(table, row, column)])
        cells.append(Cell(table, row, column, tuple(values), paper, spread, ran))
    notes = [f"{key}: {n} seed(s)" for key, n in sorted(off.items())]
    return cells, notes


def _inside(lo: float, hi: float, paper: tuple[float, float] | None) -> str:
    """Whether the paper's mean lies in ``[lo, hi]`` at the paper's precision (one decimal:
    the interval is widened by half its last digit, so 17.9 is inside a degenerate CI
    [17.91, 17.91])."""
    if paper is None:
        return "–"
    return "yes" if lo - 0.05 <= paper[0] <= hi + 0.05 else "**no**"


def table_markdown(cells: list[Cell], *, seed: int, reps: int) -> tuple[str, str]:
    """A table's Markdown rows and its generated summary sentence."""

    # a table's cells share one spread: the std, or the standard error (Table G.1), named once
    # in the header, beside our mean and the paper's
    se = bool(cells) and cells[0].spread != "std"
    header = (
        f"| method | column | n | mean ({'s.e.' if se else 'std'}) | IQM [95% CI] | "
        f"mean [95% CI] | paper{' mean (s.e.)' if se else ''} | "
        "paper mean in our CI | ours − paper [95% CI], Welch |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines, inside, outside, differ, pvalues = [], [], [], [], []
    for c in cells:
        s = _summary(c.scores, seed, reps)
        spread = s.std if c.spread == "std" else s.std / math.sqrt(s.n)
        single = s.n < 2  # one seed has no spread and no CI: no verdict either
        verdict = (
            "–" if c.paper is None else "n = 1: no CI" if single else _inside(*s.mean_ci, c.paper)
        )
        paper = "–" if c.paper is None else f"{c.paper[0]:.1f} ({c.paper[1]:.1f})"
        iqm_ci = (math.nan, math.nan) if single else s.iqm_ci
        mean_ci = (math.nan, math.nan) if single else s.mean_ci
        w = welch(c)
        lines.append(
            f"| {c.row} | {c.column} | {s.n} | {_fmt(s.mean)} ({_fmt(spread)}) | "
            f"{_fmt(s.iqm)} [{_fmt(iqm_ci[0])}, "
            f"{_fmt(iqm_ci[1])}] | {_fmt(s.mean)} [{_fmt(mean_ci[0])}, "
            f"{_fmt(mean_ci[1])}] | {paper} | {verdict} | "
            f"{'–' if w is None else _welch_text(w)} |"
        )
        if c.paper is not None and not single:
            (inside if verdict == "yes" else outside).append(f"{c.row} ({c.column}, n={s.n})")
        if w is not None:
            pvalues.append(w.p)
            if w.p < 0.05:
                differ.append(f"{c.row} ({c.column}, n={s.n})")
    sentence = (
        (
            f"The paper's mean lies inside our 95 % CI of the mean in {len(inside)} of "
            f"{len(inside) + len(outside)} cells with a paper value and two or more seeds"
            if inside or outside
            else "No cell with a paper value has two seeds yet, so none has a CI to hold it"
        )
        + (f"; outside: {'; '.join(outside)}." if outside else ".")
        + " A CI from few seeds is wide and itself uncertain (n < 5 makes the bootstrap CI "
        "of the mean optimistic); a single seed gets none."
        + (
            f" Welch's t-test, which also counts the paper's own sampling error (its spread "
            f"over {JUMPING_RUNS} runs) and our std's uncertainty at small n, finds "
            f"{len(differ)} of {len(pvalues)} cells different from the paper at p < 0.05"
            + (f": {'; '.join(differ)}" if differ else "")
            + f" (by chance alone about {0.05 * len(pvalues):.1f} would be; "
            f"{(k := holm_rejections(pvalues))} pass{'es' if k == 1 else ''} Holm's correction "
            f"for the table's {len(pvalues)} test{'s' if len(pvalues) > 1 else ''})."
            if pvalues
            else ""
        )
    )
    return header + "\n".join(lines) + "\n", sentence


def discussion(
    cells: list[Cell], findings: Iterable[Finding], *, seed: int, reps: int, page_dir: Path
) -> list[str]:
    """A table's "what agrees and what does not" as Markdown lines: the cells whose CI of the
    mean misses the paper's mean, then those whose CI holds it, each with our mean and CI, the
    gap to the paper in points and its finding (links made relative to ``page_dir``); then the
    cells without a verdict (no paper value, or one seed) that have a finding. Empty when
    there is nothing to say."""

    by_key = {(f.table, f.row, f.column): f for f in findings}
    outside, inside, other = [], [], []
    for c in cells:
        s = _summary(c.scores, seed, reps)
        f = by_key.get((c.table, c.row, c.column))
        note = "" if f is None else " " + relink(f.text, f.source.parent, page_dir)
        name = f"{c.row} ({c.column}, n = {s.n})"
        if c.paper is None or s.n < 2:
            if f is not None:
                other.append(f"- {name}: ours {_fmt(s.mean)}.{note}")
            continue
        lo, hi = s.mean_ci
        line = (
            f"- {name}: ours {_fmt(s.mean)} [{_fmt(lo)}, {_fmt(hi)}] against the paper's "
            f"{c.paper[0]:.1f}, {s.mean - c.paper[0]:+.1f} points."
            + (" Fewer than 5 seeds: this CI is optimistic." if s.n < 5 else "")
            + f" Welch against the paper's {JUMPING_RUNS} runs: {_welch_text(welch(c))}."
        )
        if _inside(lo, hi, c.paper) == "yes":
            inside.append(line + note)
        else:
            outside.append(line + (note or " No finding written yet."))
    parts: list[str] = []
    for head, lines in (
        ("What does not agree (the paper's mean outside our 95 % CI of the mean):", outside),
        ("What agrees (the paper's mean inside our CI):", inside),
        ("Other cells with a finding:", other),
    ):
        if lines:
            parts += [f"**{head}**", "", *lines, ""]
    return parts


def unmatched(findings: Iterable[Finding], cells: Iterable[Cell]) -> list[Finding]:
    """The findings that name no cell of ``cells`` (a typo, or a cell whose runs are gone)."""
    keys = {(c.table, c.row, c.column) for c in cells}
    return [f for f in findings if (f.table, f.row, f.column) not in keys]


def provenance(cell: Cell) -> str:
    """Where a cell's seeds ran, most common first: ``"6 × AMD EPYC (avx512_bf16), fp32,
    torch 2.13.0+cpu; 2 × CPU not recorded, ..."``."""
    ordered = sorted(Counter(cell.ran_on).items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{n} × {w}" for w, n in ordered)


def _order(cells: list[Cell], rows: Iterable[str], columns: Iterable[str]) -> list[Cell]:
    rank_r = {r: i for i, r in enumerate(rows)}
    rank_c = {c: i for i, c in enumerate(columns)}
    return sorted(cells, key=lambda c: (rank_c.get(c.column, 99), rank_r.get(c.row, 99), c.row))


def plot_curves(records: list[dict[str, Any]], grid: str, path: Path) -> bool:
    """% test solved vs epoch of each full-protocol method on ``grid``: median and IQR over
    seeds. Returns False (no file) when there is nothing to draw."""
    from pisces.experiments.jumping import figures

    by_row: dict[str, list[list[tuple[int, float]]]] = {}
    for r in records:
        if r["grid"] != grid or r.get("colors") or r["preset"] in NO_TRAINING:
            continue
        if int(r["epochs"]) != PROTOCOL_EPOCHS or overrides_label(r):
            continue
        curve = [(e["epoch"], e["test_solved_pct"]) for e in r.get("eval_curve", [])]
        by_row.setdefault(PRESET_ROWS.get(r["preset"], r["preset"]), []).append(curve)
    if not by_row:
        return False
    plt = figures.plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for row, curves in sorted(by_row.items()):
        epochs = sorted(set.intersection(*(set(e for e, _ in c) for c in curves)))
        values = np.array([[dict(c)[e] for e in epochs] for c in curves])
        q25, med, q75 = np.percentile(values, [25, 50, 75], axis=0)
        (line,) = ax.plot(epochs, med, label=f"{row} (n={len(curves)})")
        ax.fill_between(epochs, q25, q75, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("% of test tasks solved")
    ax.set_title(f"Jumping task, {grid} grid: median and IQR over seeds", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=110)
    plt.close(fig)
    return True


def plot_color_curves(records: list[dict[str, Any]], path: Path) -> bool:
    """The colored task's red and green % of test tasks solved vs epoch, one panel per
    ``*-colors`` preset as the presets run it (bf16 or not; other variants, e.g. the 6-channel
    input, left out), **each seed its own line** (red solid, green dashed): at a few seeds a
    median would hide how far one run swings between evaluations. False (no file) when there
    is nothing to draw."""
    from pisces.experiments.jumping import figures

    by_row: dict[str, list[tuple[int, list[tuple[int, float, float]]]]] = {}
    for r in records:
        if not r.get("colors") or int(r["epochs"]) != PROTOCOL_EPOCHS:
            continue
        if overrides_label(r, ("amp_bf16",)):
            continue
        curve = [
            (e["epoch"], e["test_red_solved_pct"], e["test_green_solved_pct"])
            for e in r.get("eval_curve", [])
            if "test_red_solved_pct" in e
        ]
        if curve:
            row = COLORS_ROWS.get(r["preset"], r["preset"])
            by_row.setdefault(row, []).append((int(r["seed"]), curve))
    if not by_row:
        return False
    plt = figures.plt
    rows = [r for r in COLORS_ROWS.values() if r in by_row]
    fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.2), squeeze=False)
    for ax, row in zip(axes[0], rows, strict=True):
        for seed, curve in sorted(by_row[row]):
            epochs, red, green = zip(*curve, strict=True)
            (line,) = ax.plot(epochs, red, lw=1.2, label=f"seed {seed}")
            ax.plot(epochs, green, lw=0.8, ls="--", color=line.get_color())
        ax.set_title(f"{row} (n={len(by_row[row])})", fontsize=9)
        ax.set_ylim(-2, 102)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("% of test tasks solved (red —, green --)")
    fig.suptitle("Colored obstacles (Table G.1's presets): each seed", fontsize=10)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=110)
    plt.close(fig)
    return True


def plot_figure5(cells: list[Cell], path: Path) -> bool:
    """Figure 5 from the page's Figure-5 cells (:func:`suboptimality.figure`): one series per PSM
    mode that has runs at ε > 0, each starting from the ε = 0 cell; ε = 0.1-0.4 of the
    exact/tv series drawn from the ε = 0 runs where not run (the tested identity). Returns
    False (no file) while no ε > 0 run exists."""
    from pisces.experiments.jumping import suboptimality as sub

    def eps(c: Cell) -> float:
        return float(c.row.removeprefix("ε = "))

    zero = next((c for c in cells if eps(c) == 0), None)
    modes = sorted({c.column for c in cells if eps(c) > 0}, key=sub.PSM_EPSILON_MODES.index)
    if zero is None or not modes:
        return False
    series = []
    for mode in modes:
        name = f"randconv-pse, wide, {mode}"
        series.append(sub.Cell(name, 0.0, values=list(zero.scores)))
        series += [
            sub.Cell(name, eps(c), values=list(c.scores))
            for c in cells
            if c.column == mode and eps(c) > 0
        ]
    save_figure_atomic(sub.figure(sub.with_identity(series)), path)
    return True


#: Figure 4's error bars: a 99 % CI of the mean, as the paper's; z of the normal for the paper's
#: mean ± z · s.e. over its 100 runs.
FIG4_CONFIDENCE = 0.99
FIG4_Z = 2.5758293035489004


def figure4_bars(
    cells: list[Cell], *, reps: int = 10_000
) -> list[tuple[str, float, tuple[float, float] | None, tuple[float, float, float] | None]]:
    """Paper Figure 4's bars from Table G.1's red cells: per method row (variants included),
    ``(row, our mean, our 99 % bootstrap CI of the mean or None for one seed, the paper's
    (mean, mean − z·s.e., mean + z·s.e.) or None)``, z = :data:`FIG4_Z` (the normal 99.5 %
    quantile: the paper's 99 % CI from its 100 runs' standard error)."""
    from pisces.analysis import stats

    bars = []
    for c in cells:
        if c.table != "G.1" or c.column != "red":
            continue
        ci = None
        if len(c.scores) > 1:
            s = stats.summarize(c.scores, seed=0, reps=reps, confidence=FIG4_CONFIDENCE)
            ci = s.mean_ci
        paper = None
        if c.paper is not None:
            m, se = c.paper
            paper = (m, m - FIG4_Z * se, m + FIG4_Z * se)
        bars.append((c.row, float(np.mean(c.scores)), ci, paper))
    return bars


def plot_figure4(cells: list[Cell], path: Path) -> bool:
    """Paper Figure 4 (% of red test tasks solved, colored obstacles, wide grid): per method,
    our mean (bar, with the 99 % CI of the mean and a dot per seed) beside the paper's (hatched
    bar, its 99 % CI). Returns False (no file) while Table G.1 has no red cell."""
    bars = figure4_bars(cells)
    if not bars:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = {c.row: c.scores for c in cells if c.table == "G.1" and c.column == "red"}
    fig, ax = plt.subplots(figsize=(5.6, 3.6), dpi=150)
    x = np.arange(len(bars), dtype=float)
    for i, (row, mean, ci, paper) in enumerate(bars):
        ax.bar(i - 0.2, mean, 0.38, color="C0", label="ours" if i == 0 else None)
        if ci is not None:
            ax.errorbar(i - 0.2, mean, yerr=[[mean - ci[0]], [ci[1] - mean]], color="k", capsize=3)
        pts = scores[row]
        spread = np.linspace(-0.1, 0.1, len(pts)) if len(pts) > 1 else np.zeros(1)
        ax.scatter(i - 0.2 + spread, pts, s=8, color="k", alpha=0.5, zorder=3)
        if paper is not None:
            ax.bar(i + 0.2, paper[0], 0.38, color="0.8", hatch="//", edgecolor="0.4",
                   label="paper" if not any(b[3] for b in bars[:i]) else None)  # fmt: skip
            ax.errorbar(i + 0.2, paper[0], yerr=[[paper[0] - paper[1]], [paper[2] - paper[0]]],
                        color="0.3", capsize=3)  # fmt: skip
    ax.set_xticks(x, [b[0] for b in bars], rotation=15, ha="right", fontsize=7)
    ax.set_ylabel("% of red test tasks solved")
    ax.set_title("Figure 4: colored obstacles, wide grid (error bars: 99 % CI of the mean)",
                 fontsize=8)  # fmt: skip
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
    return True


#: the paper's figures drawn under a table from its cells: table key → (figure, plot, file,
#: caption).
UNDER_TABLE = {
    "G.1": (
        "Figure 4",
        plot_figure4,
        "fig4.png",
        "the red column as the paper's Figure 4: bars the mean, error bars the 99 % CI of the "
        "mean, ours by stratified bootstrap, the paper's ± 2.58 s.e.; dots our seeds",
    ),
    "5": (
        "Figure 5",
        plot_figure5,
        "fig5.png",
        "thin bars ± one std, the paper's; thick bars the 95 % CI of the mean; dots the seeds; "
        "hollow: the ε = 0 runs, which a run at that ε equals bit for bit",
    ),
}


def plot_majority_map(records: list[dict[str, Any]], title: str, path: Path) -> None:
    """The tasks solved by a majority of ``records`` (seeds of one method and grid)."""
    from pisces.experiments.jumping import figures

    solved = np.array([r["solved"] for r in records], dtype=float).mean(0) > 0.5
    split = np.asarray(records[0]["split"])
    fig = figures.plot_task_grid(split, solved, title=title)
    save_figure_atomic(fig, path)
    figures.plt.close(fig)


def _study_line(study: Path, rel: Any) -> str:
    """One line on a tuning study: its best trial against the preset's (from ``best.json``)."""
    import json

    link = study / "README.md"
    name = f"[{rel(link)}]({rel(link)})" if link.exists() else f"`{rel(study)}`"
    try:
        summary = json.loads((study / "best.json").read_text())
    except (OSError, ValueError):
        return f"{name}: no best.json yet"
    best, preset = summary.get("best") or {}, summary.get("preset_trial") or {}
    done = (summary.get("trials") or {}).get("complete", 0)
    line = f"{name} ({summary.get('study', '?')}, {done} completed trials)"
    if best:
        params = ", ".join(f"{k} {v:.3g}" for k, v in best.get("params", {}).items())
        line += (
            f": best trial {best['number']} {best['value']:.1f} % of validation tasks ({params})"
        )
    if preset:
        line += f"; the preset's own values (trial {preset['number']}) {preset['value']:.1f} %"
    return line


def render(
    dirs: list[Path],
    out: Path,
    *,
    seed: int,
    reps: int,
    findings: list[Finding] | None = None,
) -> str:
    """The page's Markdown (and its figures, written into ``out.parent / 'jumping' /
    'figures'``), with ``findings`` (None: those of :func:`find_findings` in ``dirs``) under
    their tables. Raises ValueError on a finding that names no cell."""
    cells, notes = collect(dirs)
    if findings is None:
        findings = [f for path in find_findings(dirs) for f in load_findings(path)]
    if stray := unmatched(findings, cells):
        f = stray[0]
        raise ValueError(
            f"{f.source}: the finding for Table {f.table}, {f.row!r}, {f.column!r} names no "
            "cell on the page (check its spelling against the page's rows and columns)"
        )
    records = page_records(dirs)
    fig_dir = out.parent / "jumping" / "figures"
    base = out.parent.resolve()
    rel = lambda p: Path(os.path.relpath(Path(p).resolve(), base)).as_posix()  # noqa: E731
    parts = [
        "# Results",
        "",
        "Generated by `pisces jumping results-page "
        + " ".join(str(d) for d in dirs)
        + f" --out {out}` from the committed per-seed records; do not edit by hand.",
        "",
        "Every cell: n seeds, mean (std), IQM with its 95 % stratified-bootstrap CI, the 95 % "
        f"CI of the mean (bootstrap seed {seed}, {reps} reps), the paper's mean (std over its "
        "100 runs; s.e. for Table G.1), whether the paper's mean lies inside our CI of the "
        "mean, and ours − paper with the 95 % CI and p of Welch's t-test against the paper's "
        f"{JUMPING_RUNS} runs (`pisces.analysis.stats.against_published`: it counts the "
        "paper's sampling error too, and at small n the uncertainty of our std; scores taken "
        "as roughly normal). Full protocol only (2000 epochs; the tabular baseline does not "
        "train). The LQR results are in [lqr/README.md](lqr/README.md).",
        "",
    ]
    reports = [p for d in dirs if (p := Path(d) / REPORT_ALL).is_file()]
    if reports:  # written by `make results` beside the records
        parts += [
            "Every run, short ones included, each on its own row as `pisces jumping report` "
            "prints it: " + ", ".join(f"[{rel(p)}]({rel(p)})" for p in reports) + ".",
            "",
        ]
    if findings:
        sources = sorted({f.source for f in findings})
        parts += [
            "Under each table, what agrees and what does not: the numbers are generated; the "
            "explanations are hand-written findings with links to their evidence, from "
            + ", ".join(f"[{rel(p)}]({rel(p)})" for p in sources)
            + ".",
            "",
        ]
    fig5 = "Figure 5: RandConv + PSEs with the PSM of ε-suboptimal policies (wide grid)"
    tables = [
        ("1", "Table 1: % of test tasks solved", TABLE1_ROWS, JUMPING_GRIDS),
        ("2", "Table 2: metric × embedding (wide, RandConv)", TABLE2_PRESETS.values(), ("wide",)),
        ("G.1", "Table G.1: colored obstacles (wide grid)", COLORS_ROWS.values(), RED_GREEN),
        ("5", fig5, [f"ε = {e:g}" for e in FIG5_EPSILONS], ("exact", "tv", "sampled")),
    ]
    where: list[str] = []
    for key, title, rows, columns in tables:
        mine = _order([c for c in cells if c.table == key], rows, columns)
        where += [f"- {title.split(':')[0]}, {c.row}, {c.column}: {provenance(c)}" for c in mine]
        parts += [f"## {title}", ""]
        if not mine:
            parts += ["No full-protocol runs yet.", ""]
            continue
        table, sentence = table_markdown(mine, seed=seed, reps=reps)
        parts += [table, sentence, ""]
        if key == "1":
            missing = [
                f"{r} ({g})"
                for g in JUMPING_GRIDS
                for r in TABLE1_ROWS
                if not any(c.row == r and c.column == g for c in mine)
            ]
            if missing:
                parts += [f"Not run yet: {', '.join(missing)}.", ""]
        parts += discussion(mine, findings, seed=seed, reps=reps, page_dir=out.parent)
        if key in UNDER_TABLE:
            figure, plot, name, caption = UNDER_TABLE[key]
            if plot(mine, fig_dir / name):
                parts += [f"![{figure}]({rel(fig_dir / name)}) ({caption})", ""]
    if where:
        parts += [
            "## Where each cell ran",
            "",
            "Per cell, the seeds by CPU, precision and torch build, as each record stamps them "
            '(records older than the stamps say "not recorded"). The same seed is '
            "bit-identical on one machine, not across CPUs: floating-point kernels differ, so "
            "a cell pooled over machines mixes that spread into its seed-to-seed spread.",
            "",
            *where,
            "",
        ]
    parts += ["## Figures", ""]
    for grid in JUMPING_GRIDS:
        path = fig_dir / f"curves-{grid}.png"
        if plot_curves(records, grid, path):
            parts += [f"![training curves, {grid} grid]({rel(path)})", ""]
    path = fig_dir / "curves-colors.png"
    if plot_color_curves(records, path):
        parts += [f"![training curves, colored obstacles]({rel(path)})", ""]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        if r.get("colors") or overrides_label(r):
            continue
        if r["preset"] in NO_TRAINING or int(r["epochs"]) == PROTOCOL_EPOCHS:
            groups.setdefault((r["preset"], r["grid"]), []).append(r)
    maps = []
    for (preset, grid), recs in sorted(groups.items()):
        path = fig_dir / f"solved-{preset}-{grid}.png"
        row = PRESET_ROWS.get(preset, preset)
        plot_majority_map(recs, f"{row}, {grid} grid: solved by most of {len(recs)} seeds", path)
        maps.append(f"[{row}, {grid}]({rel(path)})")
    if maps:
        parts += ["Solved maps (tasks solved by a majority of seeds): " + ", ".join(maps), ""]
    # every other committed picture (Figure 3, the G.2 heatmaps, the dynamics plots, ...):
    # whatever lies under jumping/figure*/ that this page did not draw itself
    extra = sorted(
        p
        for p in out.parent.glob("jumping/figure*/**/*.png")
        if not (p.parent == fig_dir and p.name.startswith(GENERATED_FIGURES))
    )
    if extra:
        parts += ["Other figures: " + ", ".join(f"[{rel(p)}]({rel(p)})" for p in extra), ""]
    studies = tuning_studies(dirs)
    if studies:
        parts += ["## Tuning studies (`pisces tune`, validation tasks)", ""]
        for study in studies:
            parts.append(f"- {_study_line(study, rel)}")
        parts.append("")
    if notes:
        parts += ["## Runs off the protocol (not in the tables)", ""]
        parts += [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)


def find_findings(dirs: Iterable[str | Path]) -> list[Path]:
    """The :data:`FINDINGS_FILE` at the top of each of ``dirs`` that has one."""
    return [Path(d) / FINDINGS_FILE for d in dirs if (Path(d) / FINDINGS_FILE).is_file()]


def run(args: argparse.Namespace) -> int:
    dirs = [Path(d) for d in args.dirs]
    try:
        findings = None
        if args.findings is not None:
            findings = [f for path in args.findings for f in load_findings(path)]
        text = render(
            dirs, Path(args.out), seed=args.bootstrap_seed, reps=args.reps, findings=findings
        )
    except (FileNotFoundError, CorruptResult, ValueError) as exc:
        print(f"pisces jumping results-page: {exc}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping results-page``."""
    parser.add_argument("dirs", nargs="+", help="folders holding seed-*.json (recursive)")
    parser.add_argument("--out", type=Path, required=True, help="the page (Markdown)")
    parser.add_argument("--reps", type=positive_int, default=50_000, help="bootstrap reps")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="bootstrap RNG seed")
    parser.add_argument(
        "--findings",
        type=Path,
        action="append",
        metavar="TOML",
        help=f"hand-written findings to show under the tables (repeatable; default: the "
        f"{FINDINGS_FILE} at the top of each folder given)",
    )
    parser.set_defaults(func=run)
