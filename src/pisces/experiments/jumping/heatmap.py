r"""Figure G.2: PSM vs π*-bisimulation between two optimal jumping-task trajectories, and
the distances a trained network's embedding puts between the same states.

Commands (the second is the paper's Figure G.2 setting, obstacles 25 and 45, γ = 0.99, with
full-protocol checkpoints)::

    pisces metrics heatmap --out runs/metrics --obstacles 20 40 --floor 10
    pisces metrics heatmap --out results/jumping/figures/heatmaps --obstacles 25 45 \
        --floor 10 --gamma 0.99 --model pse/seed-007.pt --label PSEs ...

Panels, each (i, j) = a distance between state i of the first trajectory (rows) and state j
of the second (columns); darker = smaller distance = more similar (the paper draws it the other
way round, lighter = more similar):

* **PSM** (Eq. D.2, 0/1 action cost, spec §4.1);
* **π*-bisimulation** (reward cost |r¹ᵢ − r²ⱼ|, ENV-G rewards, spec §4.4; large because of the
  +100 exit bonus, as the paper's caption says);
* **equivalent states**: 1 where the PSM is exactly 0 (the paper's panel (d), "true state
  similarity"): the states at the same distance to the obstacle before the jumps, and every
  pair of states after them (spec §4.2);
* one panel per ``--model`` checkpoint (``pisces jumping train --save-model``): the
  distances of its **metric embedding** on the clean observations: ``1 − cosine similarity``
  of the 64-d projection for a CME model (the similarity its loss uses), the Euclidean
  distance of the 256-d representation for an ℓ2-embedding model or an α = 0 model (the layer
  ``pisces jumping embeddings --layer metric`` draws).

Both metrics use ``--gamma`` (default 0.999, hard-coded in the official training code, spec
§4.1; the paper's figure uses 0.99).

For each model the JSON (``heatmaps.json``) also scores how well the embedding agrees with
the PSM: ``nn_equivalent``, over the rows i whose PSM row has a zero, the fraction whose
nearest state j under the embedding distance is one of those zeros (chance: the row's share of
zeros, ``chance_nn_equivalent``); ``nn_psm_mean``, the mean PSM of those nearest states
(0 = perfect, ``psm_row_mean`` = a uniformly random state); and ``spearman``, the rank
correlation of the embedding distance with the PSM over all 56 × 56 pairs.

Writes into ``--out``: ``psm.npy``, ``pi_bisimulation.npy`` (56 × 56), ``embedding-<m>.npy``
per model (m = 1, 2, … in ``--model`` order), ``metric_heatmap.png`` and ``heatmaps.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pisces.argtypes import float_in, int_in
from pisces.envs.jumping import core
from pisces.metrics import action_mismatch_cost, trajectory_pi_bisimulation, trajectory_psm

#: the metric discount of the official jumping-task code (hard-coded there, spec §4.1).
GAMMA = 0.999
#: panels per row of the figure.
COLUMNS = 4


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``pisces metrics heatmap`` arguments."""
    parser.add_argument("--out", default="runs/metrics", help="output directory (created)")
    parser.add_argument(
        "--obstacles",
        type=int_in(range(core.MIN_OBSTACLE_POSITION, core.MAX_OBSTACLE_POSITION)),
        nargs=2,
        default=(20, 40),
        metavar=("P1", "P2"),
        help="obstacle positions of the two tasks (pixels, in [14, 48))",
    )
    parser.add_argument(
        "--floor",
        type=int_in(range(core.MIN_FLOOR_HEIGHT, core.MAX_FLOOR_HEIGHT)),
        default=10,
        help="floor height of both tasks",
    )
    parser.add_argument(
        "--gamma",
        type=float_in(0.0, 1.0),
        default=GAMMA,
        help=f"discount of both metrics (default {GAMMA}, the official code's; Figure G.2: 0.99)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        help="checkpoint seed-<s>.pt from `pisces jumping train --save-model`: adds a panel "
        "of its embedding's distances (repeatable)",
    )
    parser.add_argument(
        "--label", action="append", help="panel title of each --model, in order (default: preset)"
    )
    parser.set_defaults(func=run)


def equivalent_states(d_psm: np.ndarray) -> np.ndarray:
    """(n, m) bool: the pairs at PSM exactly 0 (the paper's "true state similarity")."""
    return np.asarray(d_psm) == 0.0


def embedding_distances(za: np.ndarray, zb: np.ndarray, kind: str) -> np.ndarray:
    """(n, D), (m, D) → (n, m): ``1 − cos(zaᵢ, zbⱼ)`` for ``kind="cosine"`` (0 against a zero
    vector counts as similarity 0, distance 1), or ``‖zaᵢ − zbⱼ‖₂`` for ``kind="l2"``."""
    from pisces.experiments.jumping.embeddings import cosine_matrix

    za, zb = np.asarray(za, np.float64), np.asarray(zb, np.float64)
    if kind == "cosine":
        return 1.0 - cosine_matrix(za, zb)
    if kind == "l2":
        sq = (za**2).sum(1)[:, None] + (zb**2).sum(1)[None, :] - 2.0 * za @ zb.T
        return np.sqrt(np.maximum(sq, 0.0))
    raise ValueError(f"unknown embedding distance {kind!r}: use 'cosine' or 'l2'")


def agreement_with_psm(d_emb: np.ndarray, d_psm: np.ndarray) -> dict[str, Any]:
    """How well an embedding's distances ``d_emb`` (n, m) agree with the PSM ``d_psm`` (n, m).

    ``nn_equivalent``: over rows i with a PSM zero, the fraction whose embedding-nearest j
    (argmin over the row, first on ties) has PSM 0; ``chance_nn_equivalent``: the mean share of
    zeros in those rows (a uniformly random j); ``nn_psm_mean``: the mean PSM at every row's
    nearest j; ``psm_row_mean``: the mean PSM of a random j; ``spearman``: rank correlation of
    the two matrices' entries (``None`` if either is constant).
    """
    from scipy.stats import spearmanr

    d_emb, d_psm = np.asarray(d_emb, np.float64), np.asarray(d_psm, np.float64)
    if d_emb.shape != d_psm.shape:
        raise ValueError(f"distance shapes differ: {d_emb.shape} vs {d_psm.shape}")
    zero = equivalent_states(d_psm)
    nearest = d_emb.argmin(axis=1)
    rows = zero.any(axis=1)
    hit = zero[np.arange(len(nearest)), nearest]
    constant = np.ptp(d_emb) == 0 or np.ptp(d_psm) == 0
    rho = None if constant else float(spearmanr(d_emb.ravel(), d_psm.ravel()).statistic)
    return {
        "rows_with_equivalent": int(rows.sum()),
        "nn_equivalent": float(hit[rows].mean()) if rows.any() else None,
        "chance_nn_equivalent": float(zero[rows].mean(axis=1).mean()) if rows.any() else None,
        "nn_psm_mean": float(d_psm[np.arange(len(nearest)), nearest].mean()),
        "psm_row_mean": float(d_psm.mean()),
        "spearman": rho,
    }


def model_distances(path: Path, tasks: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """The (56, 56) metric-embedding distances of checkpoint ``path`` between the optimal
    states of the two ``tasks`` (2, 2), and what was measured (layer, distance, provenance)."""
    from pisces.experiments.jumping.checkpoint import load_checkpoint, read_checkpoint
    from pisces.experiments.jumping.embeddings import compute_layers, metric_layer

    net, cfg = load_checkpoint(path)
    record = read_checkpoint(path)
    layer = metric_layer(cfg)
    z = compute_layers(net, cfg, tasks)[layer]
    kind = "cosine" if layer == "projection" else "l2"
    info = {
        "checkpoint": str(path),
        "preset": cfg.preset,
        "seed": record["seed"],
        "epoch": record["epoch"],
        "test_solved_pct": record.get("test_solved_pct"),
        "layer": layer,
        "distance": "1 - cosine" if kind == "cosine" else "euclidean",
    }
    return embedding_distances(z[0], z[1], kind), info


def run(args: argparse.Namespace) -> int:
    """Compute the metrics (and the models' distances); save .npy, the PNG and the JSON."""
    from pisces.envs.jumping import optimal_trajectory
    from pisces.experiments.runs import git_commit, write_json_atomic

    def fail(message: str) -> int:
        print(f"pisces metrics heatmap: {message}", file=sys.stderr)
        return 2

    if args.label is not None and len(args.label) != len(args.model):
        return fail(f"{len(args.label)} --label for {len(args.model)} --model; give one each")
    p1, p2 = (int(p) for p in args.obstacles)
    floor, gamma = int(args.floor), float(args.gamma)
    t1, t2 = optimal_trajectory(p1, floor), optimal_trajectory(p2, floor)
    d_psm = trajectory_psm(action_mismatch_cost(t1.actions, t2.actions), gamma=gamma)
    d_bisim = trajectory_pi_bisimulation(t1.rewards, t2.rewards, gamma=gamma)
    panels = [
        (d_psm, f"PSM (action cost), $\\gamma$ = {gamma}", "viridis"),
        (d_bisim, f"$\\pi^*$-bisimulation (reward cost), $\\gamma$ = {gamma}", "viridis"),
        (equivalent_states(d_psm).astype(float), "equivalent states (PSM = 0)", "gray_r"),
    ]
    tasks = np.array([[p1, floor], [p2, floor]], dtype=np.int64)
    models, embeddings = [], []
    from pisces.experiments.jumping.checkpoint import CheckpointError

    for m, path in enumerate(args.model):
        try:
            d_emb, info = model_distances(path, tasks)
        except (FileNotFoundError, CheckpointError) as exc:
            return fail(str(exc))
        label = args.label[m] if args.label else info["preset"]
        info |= {"label": label, **agreement_with_psm(d_emb, d_psm)}
        models.append(info)
        embeddings.append(d_emb)
        solved = info["test_solved_pct"]
        title = f"{label}: {info['layer']}, {info['distance']}" + (
            f"\n(test {solved:.1f} %)" if solved is not None else ""
        )
        panels.append((d_emb, title, "viridis"))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "psm.npy", out / "pi_bisimulation.npy"]
    np.save(written[0], d_psm)
    np.save(written[1], d_bisim)
    for m, d_emb in enumerate(embeddings, start=1):
        written.append(out / f"embedding-{m}.npy")
        np.save(written[-1], d_emb)
    png = out / "metric_heatmap.png"
    _figure(panels, p1, p2, floor).savefig(png, dpi=100)
    import matplotlib.pyplot as plt

    plt.close("all")
    report = out / "heatmaps.json"
    write_json_atomic(
        report,
        {
            "obstacles": [p1, p2],
            "floor": floor,
            "gamma": gamma,
            "figure": str(png),
            "models": models,
            "git_commit": git_commit(),
        },
    )
    for model in models:
        nn, chance = model["nn_equivalent"], model["chance_nn_equivalent"]
        rho = model["spearman"]
        print(
            f"{model['label']}: nearest state equivalent {nn:.3f} (chance {chance:.3f}); "
            f"PSM at the nearest state {model['nn_psm_mean']:.3f} "
            f"(random {model['psm_row_mean']:.3f}); Spearman with the PSM "
            + ("undefined" if rho is None else f"{rho:.3f}")
        )
    for path in (png, report, *written):
        print(f"wrote {path}")
    return 0


def _figure(panels: list[tuple[np.ndarray, str, str]], p1: int, p2: int, floor: int) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(COLUMNS, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.6 * cols, 4.2 * rows), constrained_layout=True, squeeze=False
    )
    for ax, (mat, title, cmap) in zip(axes.flat, panels, strict=False):
        im = ax.imshow(mat, cmap=cmap, origin="upper")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"state j of task (p={p2}, floor={floor})", fontsize=8)
        ax.set_ylabel(f"state i of task (p={p1}, floor={floor})", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.8)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    return fig
