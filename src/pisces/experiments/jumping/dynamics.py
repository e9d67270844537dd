"""``pisces jumping dynamics``: what the embedding does during training, run folder by folder.

::

    pisces jumping dynamics results/jumping/pse-wide results/jumping/randconv-pse-wide-bf16 \\
        --out results/jumping/figures/dynamics-pse.png

Every evaluation of a run records, besides the % of test tasks solved, Figure 3's alignment
score of both layers on its four training tasks and the layers' dead units and all-zero states
(:meth:`pisces.experiments.jumping.trainer.JumpingTrainer.alignment_scores`). This command
draws, per folder (one colour; thin lines = seeds, thick = the median over the seeds that have
the value at that epoch), four panels against the epoch: % of test tasks solved, the alignment
score, the dead units and the all-zero states of ``--layer`` (default ``projection``, where the
CME loss acts). It also writes ``--out`` with ``.md``: per folder the median of each quantity at
a few epochs, and how many seeds carry the embedding curves (records written before the scores
existed carry only the first panel).
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pisces.experiments.jumping.records import SEED_GLOB
from pisces.experiments.runs import CorruptResult, load_records, save_figure_atomic

LAYERS = ("projection", "representation")
#: (eval_curve key pattern, panel title); ``{layer}`` is filled in.
PANELS = (
    ("test_solved_pct", "% of test tasks solved"),
    ("alignment_score_{layer}", "alignment score ({layer})"),
    ("dead_units_{layer}", "dead units ({layer})"),
    ("zero_states_{layer}", "all-zero states of 224 ({layer})"),
)
#: epochs of the summary table (those a run evaluated; the last epoch always).
MILESTONES = (200, 600, 1000, 1400, 2000)


def curves(records: list[dict[str, Any]], key: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(epochs, values)`` of ``key`` in each record's ``eval_curve`` (records without it are
    left out; a ``None`` value, e.g. no scored query, is NaN)."""
    out = []
    for r in records:
        pts = [(e["epoch"], e[key]) for e in r.get("eval_curve", []) if key in e]
        if pts:
            ep, val = zip(*pts, strict=True)
            v = np.array([math.nan if x is None else float(x) for x in val])
            out.append((np.array(ep, dtype=int), v))
    return out


def median_curve(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The median over seeds at every epoch any seed evaluated (NaN-aware)."""
    epochs = np.array(sorted({int(e) for ep, _ in series for e in ep}))
    table = np.full((len(series), len(epochs)), np.nan)
    index = {e: i for i, e in enumerate(epochs)}
    for s, (ep, val) in enumerate(series):
        table[s, [index[int(e)] for e in ep]] = val
    with warnings.catch_warnings():  # an all-NaN column (no seed has a value) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return epochs, np.nanmedian(table, axis=0)


def summary_markdown(groups: dict[str, list[dict[str, Any]]], layer: str) -> str:
    """Per folder and quantity, the median over seeds at :data:`MILESTONES`."""
    head = ["folder", "quantity", "seeds", *[f"epoch {m}" for m in MILESTONES]]
    lines = [
        f"Median over seeds at each epoch ({layer} layer for the embedding rows); "
        "`–`: no seed evaluated there.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for name, recs in groups.items():
        for pattern, title in PANELS:
            series = curves(recs, pattern.format(layer=layer))
            if not series:
                continue
            epochs, med = median_curve(series)
            at = dict(zip(epochs.tolist(), med.tolist(), strict=True))
            cells = [
                "–" if m not in at or not math.isfinite(at[m]) else f"{at[m]:.3g}"
                for m in MILESTONES
            ]
            label = title.format(layer=layer).split(" (")[0]
            lines.append(f"| {name} | {label} | {len(series)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(groups: dict[str, list[dict[str, Any]]], layer: str, path: Path) -> None:
    """The four panels (see the module docstring) as one PNG at ``path``."""
    from pisces.experiments.jumping import figures

    plt = figures.plt
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (pattern, title), ax in zip(PANELS, axes.flat, strict=True):
        key = pattern.format(layer=layer)
        for g, (name, recs) in enumerate(groups.items()):
            color = colors[g % len(colors)]
            series = curves(recs, key)
            for ep, val in series:
                ax.plot(ep, val, color=color, lw=0.6, alpha=0.35)
            if series:
                ep, med = median_curve(series)
                ax.plot(ep, med, color=color, lw=2, label=f"{name} (n={len(series)})")
        ax.set_title(title.format(layer=layer), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    handles, labels = [], []
    for ax in axes.flat:  # every folder once, from whichever panel has it
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            base = lab.split(" (n=")[0]
            if base not in [x.split(" (n=")[0] for x in labels]:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure_atomic(fig, path, dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    name = "pisces jumping dynamics"
    out = Path(args.out)
    labels = args.label or []
    if labels and len(labels) != len(args.dirs):
        print(f"{name}: {len(labels)} --label for {len(args.dirs)} folders", file=sys.stderr)
        return 2
    if out.suffix.lower() != ".png":
        print(f"{name}: --out {out}: expected a .png path", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"{name}: --out {out}: no such folder {out.parent}", file=sys.stderr)
        return 2
    groups: dict[str, list[dict[str, Any]]] = {}
    try:
        for i, d in enumerate(args.dirs):
            recs = load_records([d], SEED_GLOB, by_seed=True, require=True)
            groups[labels[i] if labels else Path(d).name] = recs
    except (FileNotFoundError, CorruptResult) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    plot(groups, args.layer, out)
    text = summary_markdown(groups, args.layer)
    out.with_suffix(".md").write_text(text)
    print(text, end="")
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping dynamics``."""
    parser.add_argument("dirs", nargs="+", help="run folders (seed-*.json), one colour each")
    parser.add_argument("--out", required=True, help="the PNG (the table goes beside it, .md)")
    parser.add_argument(
        "--label", action="append", help="legend name of each folder, in order (repeatable)"
    )
    parser.add_argument("--layer", choices=LAYERS, default="projection")
    parser.set_defaults(func=run)
