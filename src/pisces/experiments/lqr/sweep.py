"""``pisces lqr sweep``: test error vs λ, PSM pairs vs the random-subspace control, Adam vs
gradient descent, the penalty in the gradient or decoupled (prox).

::

    pisces lqr sweep --distractors 500 --seeds 1-3 --lambdas 0 1 100 10000 100000 --out DIR

Each (preset, optimizer, λ) is a ``train`` folder under ``--out``; ``lambda_sweep.png`` draws
every folder under ``--out`` at that nd.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from pisces.argtypes import nonnegative_float, nonnegative_int, positive_int
from pisces.experiments.lqr.cli import run_train, seeds_arg
from pisces.experiments.lqr.config import OPTIMIZERS, PENALTY_MODES, get_preset
from pisces.experiments.lqr.report import load_results
from pisces.experiments.runs import resolve_device
from pisces.experiments.seeds import parse_seeds


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
    parser.add_argument("--distractors", type=positive_int, default=500)
    parser.add_argument("--seeds", type=seeds_arg, default=parse_seeds("1-5"))
    parser.add_argument(
        "--lambdas", type=nonnegative_float, nargs="+", default=[0.0, 1.0, 100.0, 1e3, 1e4, 1e5]
    )
    parser.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=["adam", "gd"])
    parser.add_argument(
        "--penalties",
        nargs="+",
        choices=PENALTY_MODES,
        default=["gradient"],
        help="gradient (the paper's loss) and/or prox (decoupled from the optimizer)",
    )
    parser.add_argument("--iterations", type=nonnegative_int, default=5000)
    parser.add_argument(
        "--lr-gd",
        type=float,
        default=1e-3,
        help="gradient-descent learning rate, capped at 1/λ (Adam keeps the preset's)",
    )
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--device",
        default="auto",
        help="cpu, cuda, cuda:N or auto (default: cuda when torch sees a GPU, else cpu)",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_sweep)
