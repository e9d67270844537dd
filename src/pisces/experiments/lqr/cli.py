"""``pisces lqr train|report|sweep`` (paper Section 6.1, Appendix H, Table H.1)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pisces.experiments.lqr.config import (
    ADAM_IMPLS,
    EXECUTION_FIELDS,
    OPTIMIZERS,
    PENALTY_MODES,
    PRESETS,
    LQRConfig,
    get_preset,
)
from pisces.experiments.runs import (
    ConfigMismatch,
    git_commit,
    parse_seeds,
    pending_seeds,
    resolve_device,
    write_json_atomic,
)

#: Table H.1 of the paper: (row, nd) -> (mean, std) of J_test − J* over 100 seeds.
PAPER_TABLE_H1: dict[tuple[str, int], tuple[float, float]] = {
    ("overparam", 500): (25.8, 1.5),
    ("overparam", 1000): (24.9, 1.1),
    ("overparam", 10000): (24.9, 0.4),
    ("ipo", 500): (32.6, 5.0),
    ("ipo", 1000): (27.3, 2.8),
    ("ipo", 10000): (24.8, 0.4),
    ("l1", 500): (28.2, 0.0),
    ("l1", 1000): (28.2, 0.0),
    ("l1", 10000): (28.2, 0.0),
    ("psm", 500): (0.03, 0.0),
    ("psm", 1000): (0.03, 0.0),
    ("psm", 10000): (0.02, 0.0),
}


def _seeds_arg(spec: str) -> list[int]:
    try:
        return parse_seeds(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seed_path(out: Path, seed: int) -> Path:
    """``OUT/seed_0007.json``."""
    return out / f"seed_{seed:04d}.json"


def default_batch(nd: int, device: str) -> int:
    """Seeds trained together when ``--batch`` is not given: on the CPU ``min(25, 25000 // nd)``
    (memory traffic per seed, measured); on a GPU the whole 100-seed cell (at nd = 10000 in
    float32 that is about 4 GB of parameters, gradients and Adam moments)."""
    if device.startswith("cuda"):
        return 100
    return max(1, min(25, 25_000 // nd))


def build_config(args: argparse.Namespace) -> LQRConfig:
    """The preset with the command-line overrides applied (validated by the dataclass);
    ``--device auto`` is resolved here (ValueError for CUDA without a GPU)."""
    cfg = get_preset(args.preset)
    changes: dict[str, object] = {
        "n_distractors": args.distractors,
        "device": resolve_device(getattr(args, "device", None) or "cpu"),
    }
    for field, attr in [
        ("lam", "lam"),
        ("optimizer", "optimizer"),
        ("lr", "lr"),
        ("iterations", "iterations"),
        ("n_test_envs", "test_envs"),
        ("dtype", "dtype"),
        ("adam_impl", "adam_impl"),
        ("l1", "l1"),
    ]:
        value = getattr(args, attr, None)
        if value is not None:
            changes[field] = value
    return cfg.replace(**changes)


def with_defaults(config: dict) -> dict:
    """A stored config with the fields that older records lack set to their defaults."""
    return dataclasses.asdict(LQRConfig()) | config


def same_config(old: dict | None, new: dict) -> bool:
    """Whether a stored seed's config equals ``new``, ignoring :data:`EXECUTION_FIELDS`; a
    field that a record written before it existed lacks takes its default (e.g.
    ``penalty="gradient"``), so older results still resume."""
    if old is None:
        return False
    drop = lambda d: {  # noqa: E731
        k: v for k, v in with_defaults(d).items() if k not in EXECUTION_FIELDS
    }
    return drop(old) == drop(new)


def run_train(
    config: LQRConfig,
    preset: str,
    seeds: Sequence[int],
    out: Path,
    *,
    batch: int,
    progress: bool = True,
) -> int:
    """Train ``config`` on ``seeds`` in batches, writing ``OUT/seed_XXXX.json`` per seed.

    Seeds whose JSON exists with the same config are skipped (resume); an existing JSON with
    a different config is an error (use another ``--out``).
    """
    import torch
    from tqdm import tqdm

    from pisces.experiments.lqr.train import train_batch

    torch.set_num_threads(int(os.environ.get("PISCES_LQR_THREADS", "1")))
    cfg_dict = dataclasses.asdict(config)
    try:
        todo = pending_seeds(
            seeds, lambda s: seed_path(out, s), lambda old: same_config(old.get("config"), cfg_dict)
        )
    except ConfigMismatch as exc:
        print(f"pisces lqr train: {exc}", file=sys.stderr)
        return 2
    commit = git_commit()
    bar = tqdm(
        total=len(todo),
        unit="seed",
        disable=not progress,
        desc=f"{preset} nd={config.n_distractors}",
    )
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        t0 = time.perf_counter()
        results = train_batch(config, chunk)
        for res in results:
            record = {
                "preset": preset,
                "method": config.method,
                "distractors": config.n_distractors,
                "lambda": config.lam,
                "optimizer": config.optimizer,
                **res,
                "config": cfg_dict,
                "git_commit": commit,
                "command": " ".join(["pisces", "lqr", "train", *sys.argv[3:]])
                if sys.argv[1:3] == ["lqr", "train"]
                else None,
            }
            write_json_atomic(seed_path(out, res["seed"]), record)
        bar.update(len(chunk))
        last = results[-1]["test_error"]
        bar.set_postfix(
            test_error=f"{last:.3f}", s_per_seed=f"{(time.perf_counter() - t0) / len(chunk):.1f}"
        )
    bar.close()
    return 0


def _train(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"pisces lqr train: {exc}", file=sys.stderr)
        return 2
    batch = args.batch or default_batch(config.n_distractors, config.device)
    return run_train(
        config, args.preset, args.seeds, Path(args.out), batch=batch, progress=not args.no_progress
    )


def configure_train(parser: argparse.ArgumentParser) -> None:
    """``pisces lqr train --preset psm --distractors 500 --seeds 1-100 --out DIR``."""
    parser.add_argument(
        "--preset",
        required=True,
        choices=sorted(PRESETS),
        help="method preset (see pisces.experiments.lqr.config.PRESETS)",
    )
    parser.add_argument("--distractors", type=int, required=True, help="nd (500, 1000, 10000)")
    parser.add_argument(
        "--seeds",
        type=_seeds_arg,
        default=parse_seeds("1-100"),
        help="seeds, e.g. 1-100 or 1,3,5 (default 1-100)",
    )
    parser.add_argument("--out", required=True, help="directory for seed_XXXX.json files")
    parser.add_argument(
        "--lambda",
        dest="lam",
        type=float,
        default=None,
        help="penalty weight λ >= 0 (psm, random-penalty)",
    )
    parser.add_argument("--l1", type=float, default=None, help="ℓ1 weight μ >= 0 (l1; preset: 10)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument(
        "--test-envs", type=int, default=None, help="test environments per seed (default 10)"
    )
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default=None,
        help="precision of the large matrices (costs are always float64)",
    )
    parser.add_argument(
        "--adam-impl",
        choices=ADAM_IMPLS,
        default=None,
        help="Adam kernel (default fused; same update as reference up to rounding)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="seeds trained together (default: CPU min(25, 25000 // nd), GPU 100)",
    )
    _device_arg(parser)
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    parser.set_defaults(func=_train)


def _device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="cpu, cuda, cuda:N or auto (default: cuda when torch sees a GPU, else cpu)",
    )


# ---------------------------------------------------------------------------- report


def load_results(dirs: Sequence[str | Path]) -> list[dict]:
    """Every ``seed_*.json`` under the given directories (recursively)."""
    records = []
    for d in dirs:
        for p in sorted(Path(d).rglob("seed_*.json")):
            records.append(json.loads(p.read_text()))
    return records


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
    records = load_results(args.dirs)
    if not records:
        print("pisces lqr report: no seed_*.json found", file=sys.stderr)
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
    parser.add_argument("--bootstrap-seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=50_000, help="bootstrap replications")
    parser.add_argument(
        "--test-env",
        type=int,
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
    base, other = load_results([args.base]), load_results([args.other])
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
    parser.add_argument("--bootstrap-seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=50_000, help="bootstrap replications")
    parser.set_defaults(func=_compare)


# ----------------------------------------------------------------------------- sweep


def _sweep(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        print(f"pisces lqr sweep: {exc}", file=sys.stderr)
        return 2
    for base in ("psm", "random-penalty"):
        for penalty in args.penalties:
            preset = base if penalty == "gradient" else f"{base}-prox"
            for opt in args.optimizers:
                for lam in args.lambdas:
                    # GD with the penalty in its gradient is only stable for lr < ~1 / (λ σ²)
                    # (penalty curvature): lr = min(lr_gd, 1/λ). The prox step has no limit.
                    lr = args.lr_gd
                    if penalty == "gradient" and lam > 0:
                        lr = min(args.lr_gd, 1.0 / lam)
                    cfg = get_preset(preset).replace(
                        n_distractors=args.distractors,
                        lam=lam,
                        optimizer=opt,
                        iterations=args.iterations,
                        dtype=args.dtype,
                        lr=lr if opt == "gd" else get_preset(preset).lr,
                        device=device,
                    )
                    suffix = "" if penalty == "gradient" else "_prox"
                    d = out / f"{base}_{opt}_lam{lam:g}{suffix}"
                    code = run_train(
                        cfg,
                        preset,
                        args.seeds,
                        d,
                        batch=len(args.seeds),
                        progress=not args.no_progress,
                    )
                    if code:
                        return code
    plot_sweep(out, out / "lambda_sweep.png", args.distractors)
    print(f"wrote {out / 'lambda_sweep.png'}")
    return 0


def plot_sweep(out: Path, path: Path, nd: int) -> None:
    """Mean (± std) test error vs λ (log x) of every run directory under ``out`` at ``nd``
    (so that sweeps run at different times draw one figure), one line per (preset,
    optimizer); a GD line's label gives its largest learning rate (capped at 1/λ when the
    penalty is in the gradient); prox presets (penalty decoupled) have square markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    lines: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    lrs: dict[tuple[str, str], float] = {}
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        recs = [r for r in load_results([d]) if int(r["distractors"]) == nd]
        vals = np.array([r["test_error"] for r in recs])
        vals = vals[np.isfinite(vals)]
        if not vals.size:
            continue
        key = (str(recs[0]["preset"]), str(recs[0]["optimizer"]))
        lam = float(recs[0]["lambda"])
        lines.setdefault(key, []).append((max(lam, 1e-3), vals.mean(), vals.std()))
        lrs[key] = max(lrs.get(key, 0.0), float(recs[0]["config"]["lr"]))
    for (preset, opt), pts in sorted(lines.items()):
        x, m, s = (np.array(v) for v in zip(*sorted(pts), strict=True))
        ax.errorbar(
            x,
            m,
            yerr=s,
            marker="s" if preset.endswith("-prox") else "o",
            capsize=3,
            ls="-" if opt == "adam" else "--",
            label=f"{preset}, {opt}" + (f" (lr ≤ {lrs[(preset, opt)]:g})" if opt == "gd" else ""),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("λ (0 plotted at 1e-3)")
    ax.set_ylabel("J_test − J* (mean ± std over seeds)")
    ax.set_title(f"LQR nd={nd}: PSM pairs vs random-subspace penalty", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def configure_sweep(parser: argparse.ArgumentParser) -> None:
    """``pisces lqr sweep --distractors 500 --seeds 1-5 --out DIR`` (writes lambda_sweep.png)."""
    parser.add_argument("--distractors", type=int, default=500)
    parser.add_argument("--seeds", type=_seeds_arg, default=parse_seeds("1-5"))
    parser.add_argument(
        "--lambdas", type=float, nargs="+", default=[0.0, 1.0, 100.0, 1e3, 1e4, 1e5]
    )
    parser.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=["adam", "gd"])
    parser.add_argument(
        "--penalties",
        nargs="+",
        choices=PENALTY_MODES,
        default=["gradient"],
        help="gradient (the paper's loss) and/or prox (decoupled from the optimizer)",
    )
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument(
        "--lr-gd",
        type=float,
        default=1e-3,
        help="gradient-descent learning rate, capped at 1/λ (Adam keeps the preset's)",
    )
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--out", required=True)
    _device_arg(parser)
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_sweep)
