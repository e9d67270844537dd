"""``pisces jumping compare BASE OTHER [BASE OTHER ...]``: the same presets run two ways, seed
by seed.

::

    pisces jumping compare results/jumping/pse-wide results/jumping/pse-wide-bf16 \\
        --out results/jumping/precision.md

reads the ``seed-*.json`` of the two folders, matches their cells by (preset, grid, colors)
and, per cell, prints the per-seed % of test tasks solved of each side, the config fields in
which the sides differ (e.g. ``amp_bf16 False → True``), what each side ran on (precision,
CPU, torch build, as recorded), and :func:`pisces.analysis.stats.compare_cells`: the
difference of means ``other − base`` with its 95 % two-sample bootstrap CI, Welch's t-test,
the Mann–Whitney U test, the same seeds paired (mean difference, CI, Wilcoxon), and the
smallest difference the comparison could detect (80 % power, α = 0.05). The verdict line says
what the evidence excludes and what it cannot, in those numbers.

The score of a seed is the one Table 1 reports: % of test tasks solved at the final epoch.

Several pairs (``BASE1 OTHER1 BASE2 OTHER2 ...``: one change on several grids or presets, e.g.
a loss's weighting on each grid) make one page: a summary table, a row per compared cell
(folders, n, means, difference with its CI, Welch's p, the paper's mean (std) where it has the
cell), then each pair's sections as above, titled with their folders.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pisces.argtypes import nonnegative_int, positive_int
from pisces.experiments import configs
from pisces.experiments.jumping.config import EXECUTION_FIELDS, JumpingConfig
from pisces.experiments.jumping.records import SEED_GLOB, STAMPS, stamp
from pisces.experiments.runs import CorruptResult, load_records

Cell = tuple[str, str, bool]


def _cells(records: Sequence[dict]) -> dict[Cell, dict[int, dict]]:
    out: dict[Cell, dict[int, dict]] = {}
    for r in records:
        key = (str(r["preset"]), str(r["grid"]), bool(r.get("colors", False)))
        seed = int(r["seed"])
        if seed in out.setdefault(key, {}):
            raise ValueError(f"{key[0]}/{key[1]}: seed {seed} appears twice on one side")
        out[key][seed] = r
    return out


def _stamps(records: Sequence[dict]) -> str:
    parts = []
    for field, label in STAMPS:
        values = sorted({stamp(r, field) for r in records})
        parts.append(f"{label} {', '.join(values)}")
    return "; ".join(parts)


def _changed(base: Sequence[dict], other: Sequence[dict]) -> str:
    """The config fields (execution fields aside) where the two sides differ, or say that a
    side is itself not one configuration."""

    def one(side: Sequence[dict], name: str) -> dict[str, Any]:
        cfgs = [configs.comparable(JumpingConfig, r["config"], EXECUTION_FIELDS) for r in side]
        if any(c != cfgs[0] for c in cfgs[1:]):
            raise ValueError(f"{name}: the seeds of one cell ran different configurations")
        return cfgs[0]

    diffs = configs.differences(JumpingConfig, one(other, "other"), one(base, "base"))
    return ", ".join(f"{k} {b} → {o}" for k, o, b in diffs) or "(same configuration)"


def _f(x: float, digits: int = 1, sign: bool = False) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "–" if not math.isfinite(p) else f"{p:.3f}"


def verdict(d: Any) -> str:
    """One paragraph: whether the sides are distinguishable at this n, and what the CI and the
    detectable difference say can and cannot be excluded."""
    lo, hi = d.diff_ci
    pooled = math.sqrt((d.std_base**2 + d.std_other**2) / 2)
    inside = lo <= 0.0 <= hi
    rejects = [p < 0.05 for p in (d.welch_p, d.mannwhitney_p)]
    n = f"n = {d.n_base} + {d.n_other}"
    tests = f"Welch p = {_p(d.welch_p)}, Mann–Whitney p = {_p(d.mannwhitney_p)}"
    if inside and not any(rejects):
        head = f"**Indistinguishable at {n}**: the 95 % CI of the difference contains 0; {tests}."
    elif not inside and all(rejects):
        head = f"**Distinguishable at {n}**: the 95 % CI of the difference excludes 0; {tests}."
    else:
        head = (
            f"**Mixed evidence at {n}**: the 95 % CI "
            + ("contains" if inside else "excludes")
            + f" 0; {tests}."
        )
    ratio = d.detectable / pooled if pooled > 0 else math.nan
    head += _paired_caveat(d, inside)
    return (
        f"{head} The data exclude (at 95 %) a difference of means below {_f(lo, sign=True)} "
        f"or above {_f(hi, sign=True)} points; a true difference of {_f(d.detectable)} points "
        f"({_f(ratio, 2)} between-seed std) would be found with 80 % power, so smaller ones "
        "cannot be ruled out at this n."
    )


def _paired_caveat(d: Any, inside: bool) -> str:
    """A sentence when the paired CI over the common seeds disagrees with the two-sample CI
    about 0, saying how little a few pairs can show: with k pairs the exact two-sided
    signed-rank p is at least 2 / 2^k (0.25 at k = 3), and a bootstrap CI of k differences is
    close to their range."""
    if d.n_paired < 2 or not all(math.isfinite(x) for x in d.paired_ci):
        return ""
    lo, hi = d.paired_ci
    if (lo <= 0.0 <= hi) == inside:
        return ""
    k = d.n_paired
    text = (
        f" The paired differences over the {k} common seeds (95 % CI [{_f(lo, sign=True)}, "
        f"{_f(hi, sign=True)}]) " + ("exclude" if inside else "contain") + " 0, which the "
        "two-sample CI does not"
    )
    smallest = 2.0 / 2**k
    if smallest >= 0.05:
        text += (
            f"; with {k} pairs the signed-rank test cannot go below p = {smallest:.3f} and the "
            f"bootstrap CI of {k} differences is close to their range: a lead for more "
            "seeds, not evidence"
        )
    return text + "."


def compare_folders(
    base: Sequence[dict],
    other: Sequence[dict],
    *,
    seed: int = 0,
    reps: int = 50_000,
    label: str | None = None,
    summary: list[str] | None = None,
) -> str:
    """Markdown: every (preset, grid, colors) cell present on both sides, compared.

    ``label`` (e.g. ``"`pse-wide` → `pse-coupling-wide`"``) is added to each section's title;
    with ``summary`` given, a Markdown table row per compared cell is appended to it (the
    columns of :data:`SUMMARY_HEAD`), without the page's header line."""
    from pisces.analysis.stats import compare_cells

    a, b = _cells(base), _cells(other)
    keys = sorted(set(a) & set(b))
    if not keys:
        have = sorted({f"{k[0]}/{k[1]}" for k in a}), sorted({f"{k[0]}/{k[1]}" for k in b})
        raise ValueError(f"no preset/grid cell on both sides (base: {have[0]}; other: {have[1]})")
    out: list[str] = []
    for key in keys:
        sa, sb = a[key], b[key]
        title = f"{key[0]}, {key[1]} grid" + (", colored obstacles" if key[2] else "")
        if label is not None:
            title += f" ({label})"
        seeds = sorted({*sa, *sb})
        lines = [
            f"## {title}",
            "",
            f"- change: {_changed(list(sa.values()), list(sb.values()))}",
            f"- base ran on: {_stamps(list(sa.values()))}",
            f"- other ran on: {_stamps(list(sb.values()))}",
            "",
            "| seed | base | other | other − base |",
            "|---|---|---|---|",
        ]
        for s in seeds:
            x = float(sa[s]["test_solved_pct"]) if s in sa else math.nan
            y = float(sb[s]["test_solved_pct"]) if s in sb else math.nan
            lines.append(f"| {s} | {_f(x)} | {_f(y)} | {_f(y - x, sign=True)} |")
        xs = [float(sa[s]["test_solved_pct"]) for s in sorted(sa)]
        ys = [float(sb[s]["test_solved_pct"]) for s in sorted(sb)]
        if len(xs) < 2 or len(ys) < 2:
            lines += ["", f"(fewer than 2 seeds on a side: {len(xs)} base, {len(ys)} other)"]
            out.append("\n".join(lines))
            continue
        d = compare_cells(
            xs, ys, base_seeds=sorted(sa), other_seeds=sorted(sb), seed=seed, reps=reps
        )
        lines += [
            f"| mean (std) | {_f(d.mean_base)} ({_f(d.std_base)}) "
            f"| {_f(d.mean_other)} ({_f(d.std_other)}) | {_f(d.diff, sign=True)} |",
            "",
            f"- difference of means (other − base): **{_f(d.diff, sign=True)}** points, 95 % CI "
            f"[{_f(d.diff_ci[0], sign=True)}, {_f(d.diff_ci[1], sign=True)}] (two-sample "
            f"bootstrap, {reps} reps, seed {seed})",
            f"- Welch's t-test p = {_p(d.welch_p)}; Mann–Whitney U p = {_p(d.mannwhitney_p)} "
            "(two-sided)",
            f"- paired over the {d.n_paired} seeds on both sides: "
            f"{_f(d.paired_diff, sign=True)} [{_f(d.paired_ci[0], sign=True)}, "
            f"{_f(d.paired_ci[1], sign=True)}], Wilcoxon signed-rank p = {_p(d.wilcoxon_p)}",
            "",
            verdict(d),
        ]
        out.append("\n".join(lines))
        if summary is not None:
            paper = paper_value(*key)
            summary.append(
                f"| {title} | {d.n_base} + {d.n_other} | {_f(d.mean_base)} | "
                f"{_f(d.mean_other)} | {_f(d.diff, sign=True)} [{_f(d.diff_ci[0], sign=True)}, "
                f"{_f(d.diff_ci[1], sign=True)}] | {_p(d.welch_p)} | "
                + ("–" if paper is None else f"{_f(paper[0])} ({_f(paper[1])})")
                + " |"
            )
    if summary is not None:
        return "\n\n".join(out) + "\n"
    head = (
        "% of test tasks solved at the final epoch, per seed; base and other as given on the "
        "command line.\n\n"
    )
    return head + "\n\n".join(out) + "\n"


SUMMARY_HEAD = (
    "| cell (base → other) | n | base mean | other mean | other − base [95 % CI] | Welch p "
    "| paper mean (std) |\n"
    "|---|---|---|---|---|---|---|"
)


#: a pair of folders with their records: (base folder, other folder, base, other).
Loaded = tuple[str, str, list[dict], list[dict]]


def load_pairs(pairs: Sequence[tuple[str, str]]) -> list[Loaded]:
    """Each (base, other) pair of folders with the ``seed-*.json`` records of both."""
    return [
        (
            b,
            o,
            load_records([b], SEED_GLOB, by_seed=True, require=True),
            load_records([o], SEED_GLOB, by_seed=True, require=True),
        )
        for b, o in pairs
    ]


def compare_pairs(loaded: Sequence[Loaded], *, seed: int = 0, reps: int = 50_000) -> str:
    """Markdown for ``compare BASE OTHER [BASE OTHER ...]`` (pairs from :func:`load_pairs`):
    one pair as :func:`compare_folders`; several as one page, a summary table first."""
    if len(loaded) == 1:
        _, _, base, other = loaded[0]
        return compare_folders(base, other, seed=seed, reps=reps)
    rows: list[str] = []
    sections = []
    for b, o, base, other in loaded:
        label = f"`{Path(b).name}` → `{Path(o).name}`"
        try:
            sections.append(
                compare_folders(base, other, seed=seed, reps=reps, label=label, summary=rows)
            )
        except ValueError as exc:
            raise ValueError(f"{b} vs {o}: {exc}") from None
    head = (
        f"% of test tasks solved at the final epoch, per seed, {len(loaded)} pairs of folders "
        "(base → other) as given on the command line. Bootstrap: "
        f"{reps} reps, seed {seed}; n = base seeds + other seeds.\n\n"
    )
    return head + SUMMARY_HEAD + "\n" + "\n".join(rows) + "\n\n" + "\n".join(sections)


def paper_value(preset: str, grid: str, colors: bool = False) -> tuple[float, float] | None:
    """The paper's (mean, std over its 100 runs) for a white-obstacle preset on a grid: Table
    1's row, else Table 2's (wide grid only); ``None`` where the paper has no such cell."""
    from pisces.analysis.paper import TABLE1, TABLE2
    from pisces.experiments.jumping.report import PRESET_ROWS, TABLE1_BISIM_PRESET

    if colors or preset not in PRESET_ROWS:
        return None
    row = "RandConv + Bisimulation" if preset == TABLE1_BISIM_PRESET else PRESET_ROWS[preset]
    if (row, grid) in TABLE1:
        return TABLE1[(row, grid)]
    return TABLE2.get(PRESET_ROWS[preset]) if grid == "wide" else None


def _wrap(name: str, width: int = 14) -> str:
    """A folder name broken at hyphens into lines of about ``width`` characters."""
    lines: list[str] = []
    for part in name.split("-"):
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += "-" + part
        else:
            lines.append(part if not lines else "-" + part)
    return "\n".join(lines)


def figure_pairs(loaded: Sequence[Loaded]) -> Any:
    """One panel per cell on both sides of each pair (from :func:`load_pairs`; a pair without
    a common cell is :func:`compare_pairs`'s error): every seed's % of test tasks solved at
    the final epoch, base (left) and other (right), same seeds joined by a line, each side's
    mean as a bar, and the paper's mean ± std (:func:`paper_value`) as a band where it has
    the cell. Returns the matplotlib figure (closed to pyplot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    panels = []
    for b, o, base, other in loaded:
        sa, sb = _cells(base), _cells(other)
        keys = sorted(set(sa) & set(sb))
        panels += [(Path(b).name, Path(o).name, key, sa[key], sb[key]) for key in keys]
    if not panels:
        raise ValueError("no preset/grid cell on both sides of any pair: nothing to draw")
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels) + 0.6, 3.6), squeeze=False)
    for ax, (bn, on, key, sa, sb) in zip(axes[0], panels, strict=True):
        paper = paper_value(*key)
        if paper is not None:
            m, sd = paper
            ax.axhspan(m - sd, m + sd, color="0.88", zorder=0, label="paper mean ± std")
            ax.axhline(m, color="0.55", lw=1, zorder=1)
        for s in sorted(set(sa) & set(sb)):
            ys = [float(sa[s]["test_solved_pct"]), float(sb[s]["test_solved_pct"])]
            ax.plot([0, 1], ys, color="0.6", lw=0.8, zorder=2)
        for x, side, colour in ((0, sa, "tab:blue"), (1, sb, "tab:orange")):
            ys = [float(r["test_solved_pct"]) for r in side.values()]
            ax.scatter([x] * len(ys), ys, color=colour, s=18, zorder=3)
            mean = sum(ys) / len(ys)
            ax.plot([x - 0.2, x + 0.2], [mean, mean], color=colour, lw=2.5, zorder=4)
        ticks = [f"{_wrap(bn)}\nn = {len(sa)}", f"{_wrap(on)}\nn = {len(sb)}"]
        ax.set_xticks([0, 1], ticks, fontsize=7)
        ax.set_xlim(-0.5, 1.5)
        ax.set_title(f"{key[0]}, {key[1]}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("% test tasks solved (epoch 2000)")
    handles = [
        Line2D([], [], color="0.3", lw=2.5, label="mean of a side"),
        Line2D([], [], color="0.6", lw=0.8, label="one seed, both sides"),
    ]
    if any(paper_value(*p[2]) is not None for p in panels):
        handles.append(matplotlib.patches.Patch(color="0.88", label="paper: mean ± std"))
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    plt.close(fig)
    return fig


def compare_command(args: argparse.Namespace) -> int:
    """``pisces jumping compare``: print (and with ``--out`` write) the comparison."""
    name = "pisces jumping compare"
    try:
        if args.out is not None:
            out = Path(args.out)
            if out.is_dir():
                raise ValueError(f"--out {out}: is a folder, not a file")
            if not out.parent.is_dir():
                raise ValueError(f"--out {out}: no such folder {out.parent}")
        folders = [args.base, args.other, *args.more]
        if len(folders) % 2:
            raise ValueError(
                f"folders come in pairs (BASE OTHER [BASE OTHER ...]), got {len(folders)}"
            )
        if args.png is not None and not Path(args.png).parent.is_dir():
            raise ValueError(f"--png {args.png}: no such folder {Path(args.png).parent}")
        loaded = load_pairs(list(zip(folders[::2], folders[1::2], strict=True)))
        text = compare_pairs(loaded, seed=args.bootstrap_seed, reps=args.reps)
        fig = figure_pairs(loaded) if args.png is not None else None
    except (FileNotFoundError, CorruptResult, ValueError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    if args.out is not None:
        Path(args.out).write_text(text)
    if fig is not None:
        fig.savefig(args.png, dpi=130)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping compare``."""
    parser.add_argument("base", help="folder of seed-*.json (e.g. the fp32 runs)")
    parser.add_argument("other", help="folder of the same presets run another way (e.g. bf16)")
    parser.add_argument(
        "more",
        nargs="*",
        metavar="BASE OTHER",
        help="more pairs of folders: one page with a summary table, a row per compared cell",
    )
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    parser.add_argument(
        "--png",
        default=None,
        help="also draw every seed of each compared cell, side by side, with the paper's band",
    )
    parser.add_argument("--reps", type=positive_int, default=50_000, help="bootstrap replications")
    parser.add_argument(
        "--bootstrap-seed", type=nonnegative_int, default=0, help="bootstrap RNG seed"
    )
    parser.set_defaults(func=compare_command)
