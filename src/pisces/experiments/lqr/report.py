"""``pisces lqr report`` and ``pisces lqr compare`` (paper Table H.1).

::

    pisces lqr report results/lqr/runs5000 [--diagnostics] [--out table.md]
    pisces lqr compare results/lqr/runs results/lqr/runs5000

``report`` reads every ``seed_*.json`` under the folders (recursively, each file once however
the folders overlap) and prints Table H.1 beside the paper (mean (std), IQM [95% CI], n), or
with ``--diagnostics`` the medians of the policy norms, the pair loss and Adam's second
moment. ``compare`` pairs the same seeds run two ways.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pisces.analysis.paper import TABLE_H1 as PAPER_TABLE_H1
from pisces.argtypes import nonnegative_int, positive_int
from pisces.experiments import configs
from pisces.experiments.lqr.config import EXECUTION_FIELDS, PRESETS, LQRConfig
from pisces.experiments.runs import CorruptResult, load_records

#: the file pattern and glob of an LQR folder.
SEED_PATTERN = "seed_{seed:04d}.json"
SEED_GLOB = "seed_*.json"


def load_results(dirs: Sequence[str | Path]) -> list[dict]:
    """Every ``seed_*.json`` under the given directories (recursively), each file once."""
    return load_records(dirs, SEED_GLOB, recursive=True)


def with_defaults(config: dict) -> dict:
    """A stored config with the fields that older records lack set to their defaults."""
    return configs.with_defaults(LQRConfig, config)


def report_table(
    records: Sequence[dict], *, seed: int = 0, reps: int = 50_000, test_env: int | None = None
) -> str:
    """Markdown Table H.1: mean (std), IQM [95% CI], n per (preset, nd), beside the paper.

    A seed's score is the mean of its test errors over its test environments, or with
    ``test_env=i`` only its i-th test environment (one test Wd per seed, as the IPO code drew:
    its spread across seeds is what the paper's std measures).
    """
    from pisces.analysis.stats import aggregate, markdown_table

    cells: dict[tuple[str, str], list[float]] = {}
    unstable: dict[tuple[str, str], int] = {}
    its: dict[tuple[str, str], set[int]] = {}
    changed: dict[tuple[str, str], set[str]] = {}
    for r in records:
        key = (str(r["preset"]), str(r["distractors"]))
        score = r["test_error"] if test_env is None else r["test_errors"][test_env]
        if math.isfinite(score):
            cells.setdefault(key, []).append(score)
        else:
            unstable[key] = unstable.get(key, 0) + 1
        its.setdefault(key, set()).add(r["config"]["iterations"])
        changed.setdefault(key, set()).add(_beyond_preset(str(r["preset"]), r["config"]))
    ours = aggregate(cells, seed=seed, reps=reps)
    paper = {(m, str(nd)): v for (m, nd), v in PAPER_TABLE_H1.items()}
    order = [p for p in PRESETS if any(k[0] == p for k in [*ours, *paper])]
    order += sorted({k[0] for k in ours} - set(order))
    cols = sorted({k[1] for k in [*ours, *paper]}, key=int)
    digits = 2
    table = markdown_table(
        ours, paper, rows=order, columns=cols, digits=digits, row_header="Method (J_test − J*)"
    )
    notes = [
        "",
        "Cells: mean (std) over seeds, IQM [95% stratified-bootstrap CI], n seeds "
        f"(bootstrap seed {seed}, {reps} reps). "
        + (
            "Each seed's error is the mean over its test environments."
            if test_env is None
            else f"Each seed's error is that of its test environment #{test_env} only."
        ),
    ]
    by_its: dict[tuple[int, ...], list[str]] = {}
    for k in sorted(its):
        by_its.setdefault(tuple(sorted(its[k])), []).append(f"{k[0]} nd={k[1]}")
    for n_its, names in by_its.items():
        notes.append(f"- training iterations {list(n_its)} (presets: 5000): {', '.join(names)}.")
    by_change: dict[str, list[str]] = {}
    for k in sorted(changed):
        for what in sorted(changed[k] - {""}):
            by_change.setdefault(what, []).append(f"{k[0]} nd={k[1]}")
    for what, names in sorted(by_change.items()):
        notes.append(f"- beyond the preset, {what}: {', '.join(names)}.")
    for k, n in sorted(unstable.items()):
        notes.append(f"- {k[0]} nd={k[1]}: {n} seed(s) with an unstable test env (inf), left out.")
    return table + "\n".join(notes) + "\n"


def _beyond_preset(preset: str, config: dict) -> str:
    """``"field value (preset value), ..."`` for the config fields of a record that differ
    from its preset's today (nd, iterations and execution fields aside; fields the record
    lacks take their defaults); ``""`` when none differ or the preset is unknown."""
    if preset not in PRESETS:
        return ""
    ref, cfg = dataclasses.asdict(PRESETS[preset]), with_defaults(config)
    skip = {"n_distractors", "iterations", *EXECUTION_FIELDS}
    return ", ".join(
        f"{f} {cfg[f]} (preset {ref[f]})" for f in sorted(ref) if f not in skip and cfg[f] != ref[f]
    )


#: per-seed fields of :func:`diagnostics_table`: (JSON key, column header, format).
DIAGNOSTICS = (
    ("test_error", "J_test − J*", "{:.3g}"),
    ("norm_k_invariant", "‖K_invariant‖_F", "{:.3g}"),
    ("norm_k_distractor", "‖K_distractor‖_F", "{:.3g}"),
    ("pair_loss", "‖K1 P‖²_F (pair loss / λ)", "{:.2e}"),
    ("adam_v_invariant", "Adam v, K1 invariant cols", "{:.2e}"),
    ("adam_v_distractor", "Adam v, K1 distractor cols", "{:.2e}"),
)


def diagnostics_table(records: Sequence[dict]) -> str:
    """Markdown: per (preset, nd), the median over seeds of each :data:`DIAGNOSTICS` field
    ("–" where the records lack it: older runs, or a method without that quantity)."""
    cells: dict[tuple[str, int], list[dict]] = {}
    for r in records:
        cells.setdefault((str(r["preset"]), int(r["distractors"])), []).append(r)
    order = {p: i for i, p in enumerate(PRESETS)}
    lines = [
        "| preset | nd | seeds | " + " | ".join(h for _, h, _ in DIAGNOSTICS) + " |",
        "|---|---|---|" + "---|" * len(DIAGNOSTICS),
    ]
    for key in sorted(cells, key=lambda k: (order.get(k[0], len(order)), k[0], k[1])):
        recs = cells[key]
        row = [key[0], str(key[1]), str(len(recs))]
        for field, _, fmt in DIAGNOSTICS:
            vals = [r[field] for r in recs if field in r]
            row.append(fmt.format(float(np.median(vals))) if vals else "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Medians over seeds. P: the penalty's factor ((W_x − W_y) M for psm, F for the "
        "control); Adam v: the mean of Adam's second-moment estimate over K1's columns.",
    ]
    return "\n".join(lines) + "\n"


def _report(args: argparse.Namespace) -> int:
    try:
        records = load_results(args.dirs)
    except (FileNotFoundError, CorruptResult) as exc:
        print(f"pisces lqr report: {exc}", file=sys.stderr)
        return 2
    if not records:
        print("pisces lqr report: no seed_*.json found", file=sys.stderr)
        return 2
    if args.test_env is not None:
        fewest = min(len(r["test_errors"]) for r in records)
        if not 0 <= args.test_env < fewest:
            print(
                f"pisces lqr report: --test-env {args.test_env}: the records have test "
                f"environments 0..{fewest - 1}",
                file=sys.stderr,
            )
            return 2
    if args.diagnostics:
        text = diagnostics_table(records)
    else:
        text = report_table(
            records, seed=args.bootstrap_seed, reps=args.reps, test_env=args.test_env
        )
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)
    return 0


def configure_report(parser: argparse.ArgumentParser) -> None:
    """``pisces lqr report DIR... [--out table.md]``."""
    parser.add_argument("dirs", nargs="+", help="directories holding seed_*.json (recursive)")
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    parser.add_argument("--bootstrap-seed", type=nonnegative_int, default=0)
    parser.add_argument("--reps", type=positive_int, default=50_000, help="bootstrap replications")
    parser.add_argument(
        "--test-env",
        type=nonnegative_int,
        default=None,
        help="score each seed by this one test environment (default: mean over all)",
    )
    parser.add_argument(
        "--diagnostics",
        action="store_true",
        help="instead of Table H.1: medians of the policy norms, the pair loss and Adam's v",
    )
    parser.set_defaults(func=_report)


# --------------------------------------------------------------------------- compare


def compare_table(
    base: Sequence[dict], other: Sequence[dict], *, seed: int = 0, reps: int = 50_000
) -> str:
    """Markdown: the same seeds run two ways (e.g. 2000 vs 5000 iterations), per (preset, nd).

    A seed draws its environments and initialisation from its number alone (see
    :func:`pisces.experiments.lqr.train.make_seed_data`), so the two runs of a seed differ
    only in what the two configs differ in, and their difference is paired. Each row: the
    config fields that differ, n paired seeds, the median of each side, the mean paired
    difference ``other − base`` with its 95% stratified-bootstrap CI, and how many seeds are
    unstable (an inf test error) on each side; those are left out of the difference.
    """
    from pisces.analysis.stats import aggregate

    def index(records: Sequence[dict]) -> dict[tuple[str, int], dict[int, dict]]:
        out: dict[tuple[str, int], dict[int, dict]] = {}
        for r in records:
            out.setdefault((str(r["preset"]), int(r["distractors"])), {})[int(r["seed"])] = r
        return out

    a, b = index(base), index(other)
    order = {p: i for i, p in enumerate(PRESETS)}
    keys = sorted(set(a) & set(b), key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
    if not keys:
        raise ValueError("no (preset, nd) cell has runs on both sides")
    diffs: dict[tuple[str, int], list[float]] = {}
    rows = []
    for key in keys:
        seeds = sorted(set(a[key]) & set(b[key]))
        if not seeds:
            continue
        ea = np.array([a[key][s]["test_error"] for s in seeds])
        eb = np.array([b[key][s]["test_error"] for s in seeds])
        both = np.isfinite(ea) & np.isfinite(eb)
        if both.any():
            diffs[key] = (eb - ea)[both].tolist()
        ca, cb = (
            with_defaults(a[key][seeds[0]]["config"]),
            with_defaults(b[key][seeds[0]]["config"]),
        )
        changed = sorted(
            f for f in {*ca, *cb} if f not in EXECUTION_FIELDS and ca.get(f) != cb.get(f)
        )
        what = ", ".join(f"{f} {ca.get(f)} → {cb.get(f)}" for f in changed) or "(same config)"
        rows.append(
            (
                key,
                what,
                len(seeds),
                ea,
                eb,
                int((~np.isfinite(ea)).sum()),
                int((~np.isfinite(eb)).sum()),
            )
        )
    if not rows:
        raise ValueError("no seed has runs on both sides (the cells match, the seeds do not)")
    stats = aggregate(diffs, seed=seed, reps=reps) if diffs else {}
    lines = [
        "| preset | nd | change | paired seeds | median (base) | median (other) "
        "| mean difference [95% CI] | unstable (base / other) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, what, n, ea, eb, ua, ub in rows:
        st = stats.get(key)
        diff = "–" if st is None else f"{st.mean:+.3g} [{st.mean_ci[0]:+.3g}, {st.mean_ci[1]:+.3g}]"
        lines.append(
            f"| {key[0]} | {key[1]} | {what} | {n} | {np.median(ea):.4g} | {np.median(eb):.4g} "
            f"| {diff} | {ua} / {ub} |"
        )
    lines += [
        "",
        "J_test − J* per seed (mean over its test environments); difference = other − base, "
        f"over seeds finite on both sides (bootstrap seed {seed}, {reps} reps).",
    ]
    return "\n".join(lines) + "\n"


def _compare(args: argparse.Namespace) -> int:
    try:
        base, other = load_results([args.base]), load_results([args.other])
    except (FileNotFoundError, CorruptResult) as exc:
        print(f"pisces lqr compare: {exc}", file=sys.stderr)
        return 2
    for name, recs in ((args.base, base), (args.other, other)):
        if not recs:
            print(f"pisces lqr compare: no seed_*.json under {name}", file=sys.stderr)
            return 2
    try:
        text = compare_table(base, other, seed=args.bootstrap_seed, reps=args.reps)
    except ValueError as exc:
        print(f"pisces lqr compare: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)
    return 0


def configure_compare(parser: argparse.ArgumentParser) -> None:
    """``pisces lqr compare BASE OTHER [--out table.md]``: paired per-seed differences."""
    parser.add_argument("base", help="directory of seed_*.json (recursive), e.g. runs/")
    parser.add_argument("other", help="the same seeds run another way, e.g. runs5000/")
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    parser.add_argument("--bootstrap-seed", type=nonnegative_int, default=0)
    parser.add_argument("--reps", type=positive_int, default=50_000, help="bootstrap replications")
    parser.set_defaults(func=_compare)
