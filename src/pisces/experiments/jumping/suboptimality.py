r"""Figure 5 of the paper: generalization of PSEs computed with ε-suboptimal policies.

Paper §5.4 / Figure 5 (wide grid, RandConv + PSEs, mean over 100 runs, error bars one
standard deviation): % of test tasks solved for ε ∈ {0, 0.1, …, 0.5}; "PSEs show
near-optimal generalization with ε ≤ 0.4 while degrade generalization with an uniform random
policy" (ε = 0.5). The paper prints no numbers for this figure; its ε = 0 point is the
Table 1 setting (87.0 (10.1)).

This module reads finished runs (``seed-*.json`` of ``pisces jumping train``; ε and its mode
come from each run's ``config``: ``psm_epsilon``, ``psm_epsilon_mode``, absent in results
made before these fields existed, which are then ε = 0 runs), groups them into series by
(preset, grid, mode) — ε = 0 runs belong to every mode's series, since the mode only matters
for ε > 0 — and writes:

* a PNG: mean ± one std per ε (the paper's error bars) and every seed as a dot;
* a Markdown table (``--md``, default beside the PNG) next to the paper's qualitative claim,
  also printed; ``--positives`` adds the diagnostic table of :func:`positives_table` (how
  each PSM mode's alignment positives compare with the optimal policy's, no training).

CLI::

    pisces jumping suboptimality results/jumping/randconv-pse-wide \
        results/jumping/fig5-eps0.1 … results/jumping/fig5-eps0.5 --out fig5.png
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pisces.experiments.jumping.config import PSM_EPSILON_MODES, JumpingConfig

__all__ = [
    "PAPER_CLAIM",
    "Cell",
    "collect",
    "markdown",
    "figure",
    "plot",
    "positives_table",
    "with_identity",
    "configure",
    "run",
]

PAPER_CLAIM = (
    "Paper, Figure 5 (wide grid, RandConv + PSEs, mean over 100 runs, error bars one std): "
    "near-optimal generalization for ε ≤ 0.4, degraded with the uniform random policy "
    "(ε = 0.5); no numbers are printed. Its ε = 0 point is Table 1's 87.0 (10.1)."
)
#: the paper's ε = 0 point (Table 1, RandConv + PSEs, wide): mean, std over 100 runs.
PAPER_EPSILON0 = (87.0, 10.1)
#: full protocol [epochs]; fewer is flagged in the table.
FULL_EPOCHS = 2000
#: config fields that may differ inside one series (the x axis, its mode, cadences).
_SERIES_FREE = {"psm_epsilon", "psm_epsilon_mode", "eval_every", "log_every"}


@dataclass
class Cell:
    """Per-seed results of one (series, ε): ``values`` % of test tasks solved, by seed."""

    series: str
    epsilon: float
    seeds: list[int] = dataclasses.field(default_factory=list)
    values: list[float] = dataclasses.field(default_factory=list)
    epochs: set[int] = dataclasses.field(default_factory=set)
    sources: set[str] = dataclasses.field(default_factory=set)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof = 1), None for one seed."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else None


def _full_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The run's config with defaults for fields it predates (as ``jumping train`` resumes)."""
    return {f.name: f.default for f in dataclasses.fields(JumpingConfig)} | dict(cfg)


def _load(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(directory.glob("seed-*.json")):
        with open(path) as f:
            out.append((path, json.load(f)))
    return out


def collect(dirs: Iterable[Path | str]) -> tuple[list[Cell], list[str]]:
    """Group the runs of ``dirs`` into cells; returns (cells sorted by series, ε; notes).

    A series is ``"{preset}, {grid}, {mode}"``; ε = 0 runs join every mode's series of their
    preset and grid (``"{preset}, {grid}"`` alone if no run of it has ε > 0). Raises
    ``ValueError`` if a directory has no ``seed-*.json`` or one seed appears twice in a cell.
    Notes list configuration mismatches inside a series and runs short of 2000 epochs.
    """
    runs: list[tuple[Path, dict[str, Any], dict[str, Any]]] = []
    for d in dirs:
        found = _load(Path(d))
        if not found:
            raise ValueError(f"no seed-*.json in {d}")
        runs += [(p, r, _full_config(r.get("config", {}))) for p, r in found]
    modes: dict[tuple[str, str], set[str]] = {}
    for _, r, cfg in runs:
        if float(cfg["psm_epsilon"]) > 0:
            modes.setdefault((r["preset"], r["grid"]), set()).add(str(cfg["psm_epsilon_mode"]))
    cells: dict[tuple[str, float], Cell] = {}
    base: dict[str, tuple[dict[str, Any], Path]] = {}
    notes: list[str] = []
    for path, r, cfg in runs:
        eps = float(cfg["psm_epsilon"])
        group = (r["preset"], r["grid"])
        if eps > 0:
            names = [f"{group[0]}, {group[1]}, {cfg['psm_epsilon_mode']}"]
        elif group in modes:
            names = [f"{group[0]}, {group[1]}, {m}" for m in sorted(modes[group], key=_mode_rank)]
        else:
            names = [f"{group[0]}, {group[1]}"]
        fixed = {k: v for k, v in cfg.items() if k not in _SERIES_FREE}
        for name in names:
            if name in base and base[name][0] != fixed:
                other, where = base[name]
                diff = sorted(k for k in fixed if fixed[k] != other.get(k))
                notes.append(f"{name}: {path} differs from {where} in {diff}")
            base.setdefault(name, (fixed, path))
            cell = cells.setdefault((name, eps), Cell(name, eps))
            seed = int(r["seed"])
            if seed in cell.seeds:
                raise ValueError(f"seed {seed} at ε = {eps} appears twice in {name} ({path})")
            cell.seeds.append(seed)
            cell.values.append(float(r["test_solved_pct"]))
            cell.epochs.add(int(r["epochs"]))
            cell.sources.add(str(path.parent))
    short = sorted(
        {f"{c.series} ε={c.epsilon:g}" for c in cells.values() if c.epochs != {FULL_EPOCHS}}
    )
    if short:
        notes.append(f"not the full {FULL_EPOCHS}-epoch protocol: {', '.join(short)}")
    return sorted(cells.values(), key=lambda c: (c.series, c.epsilon)), notes


def _mode_rank(mode: str) -> int:
    return PSM_EPSILON_MODES.index(mode) if mode in PSM_EPSILON_MODES else len(PSM_EPSILON_MODES)


def _paper_cell(series: str, epsilon: float) -> str:
    if not series.startswith("randconv-pse, wide"):
        return "–"
    if epsilon == 0:
        return f"{PAPER_EPSILON0[0]:.1f} ({PAPER_EPSILON0[1]:.1f}) (Table 1)"
    return "near-optimal" if epsilon <= 0.4 + 1e-9 else "degraded"


def markdown(cells: Sequence[Cell], notes: Sequence[str] = ()) -> str:
    """Markdown: the paper's claim, then one row per (series, ε)."""
    lines = [
        "% of test tasks solved at the final evaluation vs ε of the ε-suboptimal policies "
        "whose PSM gives the alignment positives (imitation labels optimal).",
        "",
        PAPER_CLAIM,
        "",
    ]
    lines += [f"NOTE: {n}" for n in notes]
    if notes:
        lines.append("")
    lines += [
        "| series | ε | n | mean (std) | median | min–max | epochs | paper (Fig. 5) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        std = "–" if c.std is None else f"{c.std:.1f}"
        epochs = ",".join(str(e) for e in sorted(c.epochs))
        lines.append(
            f"| {c.series} | {c.epsilon:g} | {c.n} | {c.mean:.1f} ({std}) | "
            f"{float(np.median(c.values)):.1f} | {min(c.values):.1f}–{max(c.values):.1f} | "
            f"{epochs} | {_paper_cell(c.series, c.epsilon)} |"
        )
    return "\n".join(lines) + "\n"


#: the PSM modes whose positives at every ε ≤ 0.4 are the optimal policy's (tested: a run
#: there is the ε = 0 run of its seed, bit for bit, under the presets' unweighted loss).
IDENTITY_MODES = ("exact", "tv")
IDENTITY_EPSILONS = (0.1, 0.2, 0.3, 0.4)


def with_identity(
    cells: Sequence[Cell], epsilons: Sequence[float] = IDENTITY_EPSILONS
) -> list[Cell]:
    """``cells`` plus, for each series of an :data:`IDENTITY_MODES` mode, a copy of its ε = 0
    cell at every ε of ``epsilons`` it has no runs of, with ``sources == {"identity"}``: the
    points those runs would give, known without running them. Only for the presets'
    unweighted loss, under which the positives are all the metric feeds to training."""
    out = list(cells)
    for c in cells:
        if c.epsilon != 0 or c.series.rsplit(", ", 1)[-1] not in IDENTITY_MODES:
            continue
        have = {d.epsilon for d in cells if d.series == c.series}
        for eps in epsilons:
            if eps not in have:
                copy = Cell(c.series, eps, list(c.seeds), list(c.values), set(c.epochs))
                copy.sources.add("identity")
                out.append(copy)
    return sorted(out, key=lambda c: (c.series, c.epsilon))


def plot(cells: Sequence[Cell], out: Path, *, reps: int = 10_000) -> None:
    """Write :func:`figure` of ``cells`` to the PNG ``out`` (atomically)."""
    from pisces.experiments.runs import save_figure_atomic

    fig = figure(cells, reps=reps)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure_atomic(fig, out)


def figure(cells: Sequence[Cell], *, reps: int = 10_000) -> Any:
    """Per series vs ε, the mean with ± one std (thin bars, the paper's) and the 95 %
    bootstrap CI of the mean (thick bars, :func:`pisces.analysis.stats.summarize`, seed 0,
    ``reps``), every seed as a dot; cells made by :func:`with_identity` are hollow. Returns
    the matplotlib figure (closed to pyplot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pisces.analysis import stats

    fig, ax = plt.subplots(figsize=(5.2, 3.8), dpi=150)
    series = list(dict.fromkeys(c.series for c in cells))
    width = 0.012
    for k, name in enumerate(series):
        mine = sorted((c for c in cells if c.series == name), key=lambda c: c.epsilon)
        shift = (k - (len(series) - 1) / 2) * width
        x = np.array([c.epsilon for c in mine]) + shift
        yerr = [0.0 if c.std is None else c.std for c in mine]
        bars = ax.errorbar(
            x, [c.mean for c in mine], yerr=yerr, marker="o", capsize=3, label=name, zorder=3
        )
        color = bars[0].get_color()
        for xi, c in zip(x, mine, strict=True):
            if c.n > 1:
                lo, hi = stats.summarize(c.values, seed=0, reps=reps).mean_ci
                ax.plot([xi, xi], [lo, hi], color=color, lw=4, alpha=0.45, zorder=3)
            if "identity" in c.sources:
                ax.scatter([xi], [c.mean], s=30, facecolor="white", edgecolor=color, zorder=4)
                continue
            spread = np.linspace(-width / 3, width / 3, c.n) if c.n > 1 else np.zeros(1)
            ax.scatter(xi + spread, c.values, s=6, alpha=0.35, color=color, zorder=2)
    if any("identity" in c.sources for c in cells):
        ax.scatter(
            [],
            [],
            s=30,
            facecolor="white",
            edgecolor="0.3",
            label="the ε = 0 runs (tested identity)",
        )
    ax.errorbar(
        [-0.02],
        [PAPER_EPSILON0[0]],
        yerr=[PAPER_EPSILON0[1]],
        fmt="s",
        color="0.5",
        capsize=3,
        label="paper, ε = 0 (Table 1)",
    )
    ax.set_xticks(np.round(np.arange(0, 0.51, 0.1), 1))
    ax.set_xlim(-0.05, 0.55)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Suboptimality (ε)")
    ax.set_ylabel("% test tasks solved")
    ax.set_title("PSEs from ε-suboptimal policies (Fig. 5)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    plt.close(fig)
    return fig


def positives_table(
    epsilons: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5),
    *,
    grid: str = "wide",
    seeds: Sequence[int] = tuple(range(1, 11)),
    gamma: float = 0.999,
) -> str:
    """Markdown diagnostic: each mode's alignment positives vs the optimal policy's.

    For every mode and ε, over the off-diagonal training-task pairs of ``grid`` (both loss
    directions): ``same`` = fraction of positives (argmin, first-index ties) equal to those
    of the ε = 0 PSM; ``jump`` = fraction of pairs whose jump state is matched to the other
    trajectory's jump state (row direction), the alignment PSEs rely on. ``sampled`` is
    averaged over ``seeds`` (its labels depend on the run seed), the others use seed 1
    (deterministic on fixed grids). With the official unweighted loss (the presets'), the
    positives are all the metric feeds to training: ``same = 1`` means the run is identical
    to the ε = 0 run of the same seed.
    """
    from pisces.envs.jumping import training_tasks
    from pisces.experiments.jumping.epsilon_psm import (
        epsilon_pair_psm,
        positive_agreement,
        positives,
    )

    lines = [
        f"Alignment positives of the ε-policy PSM vs the optimal PSM ({grid} grid, γ = {gamma}; "
        "same = positives equal to ε = 0's, jump = jump state matched to the jump state):",
        "",
        "| mode | " + " | ".join(f"ε = {e:g}" for e in epsilons) + " |",
        "|---|" + "---|" * len(epsilons),
    ]
    for mode in PSM_EPSILON_MODES:
        row = [mode]
        for eps in epsilons:
            same, jump = [], []
            for seed in seeds if mode == "sampled" else seeds[:1]:
                tasks = training_tasks(grid, seed)
                ref = epsilon_pair_psm(tasks, 0.0, mode=mode, gamma=gamma, seed=seed)
                d = epsilon_pair_psm(tasks, eps, mode=mode, gamma=gamma, seed=seed)
                same.append(positive_agreement(d, ref))
                k = len(tasks)
                i, j = np.nonzero(~np.eye(k, dtype=bool))
                jumps = tasks[:, 0] - 14
                jump.append(float(np.mean(positives(d)[i, j, jumps[i]] == jumps[j])))
            row.append(f"same {np.mean(same):.3f}, jump {np.mean(jump):.3f}")
        lines.append("| " + " | ".join(row) + " |")
    if len(seeds) > 1:
        lines += ["", f"sampled: mean over seeds {seeds[0]}–{seeds[-1]}."]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """``pisces jumping suboptimality``: the figure, the table, optionally the diagnostics."""
    try:
        cells, notes = collect(args.dirs)
    except ValueError as exc:
        print(f"pisces jumping suboptimality: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    md_path: Path = args.md or out.with_suffix(".md")
    text = markdown(cells, notes)
    if args.positives:
        text += "\n" + positives_table()
    plot(with_identity(cells) if args.identity else cells, out)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text)
    print(text, end="")
    print(f"wrote {out} and {md_path}")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping suboptimality``."""
    parser.add_argument(
        "dirs", nargs="+", type=Path, help="run directories holding seed-*.json (any ε)"
    )
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument(
        "--md", type=Path, default=None, help="Markdown table (default: --out with .md)"
    )
    parser.add_argument(
        "--identity",
        action="store_true",
        help="draw ε = 0.1-0.4 of the exact/tv series from their ε = 0 runs (hollow): a run "
        "there is the ε = 0 run bit for bit under the presets' unweighted loss (tested)",
    )
    parser.add_argument(
        "--positives",
        action="store_true",
        help="append the positives diagnostic per PSM mode and ε (wide grid; ~10 s)",
    )
    parser.set_defaults(func=run)
