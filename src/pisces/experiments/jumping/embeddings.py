r"""Paper Figure 3: UMAP of learned jumping-task representations, plus an alignment score.

::

    pisces jumping embeddings --model runs/randconv/seed-001.pt --label RandConv \
        --model runs/randconv-pse/seed-001.pt --label "RandConv + PSEs" \
        --tasks 25:15,30:15,35:15,40:15 --layer metric --out fig3.png

For the 56 states of the optimal trajectory of each chosen task (default: obstacle positions
25, 30, 35, 40 at floor height 15, training tasks of the wide grid, like the four coloured
trajectories of the paper's panel (a)), every checkpoint (``pisces jumping train
--save-model``) computes two layers:

* ``representation``: the 256-d ReLU layer the policy head reads (where the ℓ2-embedding
  loss acts);
* ``projection``: the 64-d ReLU projection head (where the CME / PSE loss acts; it is
  untrained, a random map, for a model trained with α = 0 such as RandConv alone).

``--layer metric`` (the default) draws each model's *metric embedding*, what the paper's
Figure 3 shows ("we visualize the metric embeddings in the ablation"): the projection for a
CME model (α > 0), the representation otherwise (ℓ2-embeddings, and α = 0 models, whose
representation is their only trained layer); ``--layer representation`` or ``projection``
draws that layer for every model.

The figure shows panel (a), the trajectories drawn as blocks, then one UMAP panel per model
(fitted separately; points coloured by task, the states before the jump filled, the jump
state a star, later states hollow, and the states ``k = 0 … annotate − 1`` steps before the
jump labelled ``k``). ``k = p − 14 − t`` ("steps to the jump") is the agent's distance
to the obstacle up to a constant: the gap between the agent's right edge and the obstacle is
``k + 9`` pixels. It is the invariant feature of the paper's caption: the optimal action
depends on it alone, and the PSM between a state at or before the jump (``k ≥ 0``) and a state
of another task is 0 exactly when both have the same ``k``; every two states after their
jumps are at PSM 0 (spec §4.2): the paper's two sets, which ``phase_agreement`` measures.

**Alignment score** (written as JSON and printed, for both layers whatever ``--layer``): for
every ordered pair of distinct tasks (i, j) and every state of task i at or before its jump
(``k ≥ 0``) whose ``k`` also occurs in task j (``k ≤ p_j − 14``), find its nearest neighbour
under cosine similarity among all 56 states of task j; the score is the fraction of those
queries whose neighbour has the same ``k``. 1 = states at the same distance to the obstacle
embed together across tasks; chance (a uniformly random neighbour) is 1/56 ≈ 0.018; an
embedding that aligns states by time index (what π*-bisimulation positives ask for) scores 0.
Also reported: a tolerant version (neighbour's ``k`` within ±1, ``alignment_within_1``), the
score at the jump state alone (``alignment_at_jump``), per ``k`` (``by_steps_to_jump``), and
``phase_agreement``, the fraction of all states (every pair, all 56 states) whose neighbour
lies on the same side of the jump (``k ≥ 0`` or ``k < 0``): the paper's two-set partition.
The score does not involve UMAP, so it is exact and deterministic.

**RandConv at inference.** The paper's evaluation keeps RandConv on (softmax averaged over 5
draws). Here the default is ``--randconv-passes 0``: the layer of the clean observation, the
function of the state itself rather than of an augmentation draw; the clean input is also one
of RandConv's own outcomes (the identity kernel, probability 0.1 per call in training), so it
is in the training distribution. ``--randconv-passes N`` instead averages the layer over N
RandConv draws (one kernel per task and pass, as the evaluation draws them), seeded by
``--seed``. Models trained without RandConv ignore it.

**UMAP** (umap-learn, imported only by this command: ~3 s to import, and its numba kernels
compile on the first fit of a process, ~15 s on a busy 2-core CPU): cosine metric (the
similarity of the CME loss and of the score), ``n_neighbors`` 15, ``min_dist`` 0.1 (umap-learn's
defaults), ``random_state = --seed``. A fixed ``random_state`` makes umap-learn run its layout
optimisation single-threaded, so a rerun on the same machine and library versions gives the
same picture; other numba / umap-learn versions or CPUs can give a different, equally valid
layout (a UMAP picture is qualitative: read the alignment score for a number).

Writes ``--out`` (PNG) and ``--json`` (default: ``--out`` with ``.json``): per model its
checkpoint, label, preset, seed, epoch and test %, and the scores of both layers.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pisces.envs.jumping import ALL_TASKS, EPISODE_LENGTH, optimal_actions, optimal_inputs, simulate
from pisces.envs.jumping.data import JUMP_OFFSET
from pisces.experiments.jumping.config import JumpingConfig

if TYPE_CHECKING:  # torch is imported inside the functions: `--help` stays fast
    from pisces.networks.jumping import JumpingNetwork

LAYERS = ("representation", "projection")
#: ``--layer`` choices: a layer, or ``metric`` = each model's metric-embedding layer.
LAYER_CHOICES = ("metric", *LAYERS)
#: panel (a) of the paper: four obstacle positions at one floor height (wide-grid training tasks).
DEFAULT_TASKS = ((25, 15), (30, 15), (35, 15), (40, 15))
#: cosine similarity's guard against zero vectors (a ReLU layer can output all zeros).
COSINE_EPS = 1e-9


# ----------------------------------------------------------------------------- data


def metric_layer(cfg: JumpingConfig) -> str:
    """The layer a model's alignment loss shapes: ``projection`` for CMEs (α > 0), else
    ``representation`` (ℓ2-embeddings act there; with α = 0 it is the only trained layer)."""
    return "projection" if cfg.alpha > 0 and cfg.embedding == "cme" else "representation"


def parse_tasks(spec: str) -> np.ndarray:
    """``"25:15,30:15"`` → (N, 2) int64 (obstacle position, floor height), N ≥ 2 distinct
    tasks of the 26 × 11 grid (p in 20…45, f in 10…20)."""
    tasks = []
    for item in spec.split(","):
        p_text, colon, f_text = item.strip().partition(":")
        try:
            if not colon:
                raise ValueError
            p, f = int(p_text), int(f_text)
        except ValueError:
            raise ValueError(
                f"bad --tasks item {item!r}: use OBSTACLE:FLOOR pairs, e.g. 25:15,30:15"
            ) from None
        if not ((ALL_TASKS[:, 0] == p) & (ALL_TASKS[:, 1] == f)).any():
            raise ValueError(f"task {p}:{f} is outside the grid (obstacle 20..45, floor 10..20)")
        tasks.append((p, f))
    if len(set(tasks)) != len(tasks) or len(tasks) < 2:
        raise ValueError(f"--tasks needs at least two distinct tasks, got {spec!r}")
    return np.asarray(tasks, dtype=np.int64)


def steps_to_jump(tasks: np.ndarray) -> np.ndarray:
    """(N, 56) int64 ``k = p − 14 − t``: 0 at the jump state, > 0 before it, < 0 after.

    The agent's right edge is ``k + 9`` pixels from the obstacle for ``k ≥ 0``.
    """
    p = np.asarray(tasks)[:, 0]
    return (p[:, None] - JUMP_OFFSET - np.arange(EPISODE_LENGTH)[None, :]).astype(np.int64)


def compute_layers(
    net: JumpingNetwork,
    cfg: JumpingConfig,
    tasks: np.ndarray,
    *,
    randconv_passes: int = 0,
    seed: int = 0,
    chunk: int = 256,
) -> dict[str, np.ndarray]:
    """Both layers on the optimal states of ``tasks``: ``{layer: (N, 56, D) float32}``.

    Colored models see the RED trajectories (the obstacle they must jump). With
    ``randconv_passes > 0`` and a RandConv model, each layer is averaged over that many
    RandConv draws, one kernel per task and pass (``torch.Generator`` seeded with ``seed``).
    """
    import torch

    with torch.no_grad():
        return _compute_layers(net, cfg, tasks, randconv_passes, seed, chunk)


def _compute_layers(
    net: JumpingNetwork,
    cfg: JumpingConfig,
    tasks: np.ndarray,
    randconv_passes: int,
    seed: int,
    chunk: int,
) -> dict[str, np.ndarray]:
    import torch

    from pisces.networks.randconv import sample_kernels

    color = "red" if cfg.colors else None
    x = torch.from_numpy(optimal_inputs(tasks, color))
    n = x.shape[0]
    x = x.reshape(n * EPISODE_LENGTH, *x.shape[2:])
    device = next(net.parameters()).device
    net.eval()
    group = torch.arange(n, device=device).repeat_interleave(EPISODE_LENGTH)
    passes = randconv_passes if (cfg.rand_conv and randconv_passes > 0) else 0
    gen = torch.Generator(device).manual_seed(int(seed))
    sums = {layer: None for layer in LAYERS}
    for _ in range(max(passes, 1)):
        kernels = None
        if passes:
            kernels = sample_kernels(
                n,
                generator=gen,
                channels_per_frame=cfg.rand_conv_channels,
                p_identity=cfg.rand_conv_p_identity,
                device=device,
            )
        hs, zs = [], []
        for lo in range(0, x.shape[0], chunk):
            xb = x[lo : lo + chunk].to(device)
            g = group[lo : lo + chunk] if passes else None
            h = net.encoder(xb, kernels=kernels, group_index=g)
            hs.append(h)
            zs.append(net.projection(h))
        for layer, value in zip(LAYERS, (torch.cat(hs), torch.cat(zs)), strict=True):
            sums[layer] = value if sums[layer] is None else sums[layer] + value
    return {
        layer: (value / max(passes, 1)).float().cpu().numpy().reshape(n, EPISODE_LENGTH, -1)
        for layer, value in sums.items()
    }


# ----------------------------------------------------------------------------- score


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, D), (m, D) → (n, m) cosine similarities (0 against a zero vector)."""
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a @ b.T) / (na * nb.T + COSINE_EPS)


def alignment_scores(embeddings: np.ndarray, k: np.ndarray) -> dict[str, Any]:
    """Cross-task nearest-neighbour agreement of an embedding with the invariant feature ``k``.

    Args:
        embeddings: (N, T, D) one vector per state of N trajectories.
        k: (N, T) int steps to the jump (:func:`steps_to_jump`).

    Returns:
        ``alignment``: over ordered task pairs (i ≠ j) and states of i with ``k ≥ 0`` whose
        ``k`` occurs in j, the fraction whose cosine nearest neighbour among the T states of
        j (first index on ties) has the same ``k`` (``n_scored`` queries);
        ``alignment_within_1``: the same queries, neighbour's ``k`` within ±1;
        ``alignment_at_jump``: the same over the jump states (``k = 0``) alone;
        ``by_steps_to_jump``: ``{k: fraction}``;
        ``phase_agreement``: over all states of every pair, the fraction whose neighbour has
        the same sign class (``k ≥ 0`` vs ``k < 0``);
        ``chance_alignment``: 1/T, the expected alignment of a random neighbour;
        ``zero_vectors``: states whose vector is all zeros (cosine 0 to everything).
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    k = np.asarray(k)
    n, t = k.shape
    if emb.shape[:2] != (n, t):
        raise ValueError(f"embeddings {emb.shape} do not match k {k.shape}")
    hits: dict[int, list[int]] = {}
    near: list[int] = []
    phase_hits = phase_total = 0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            nn = np.argmax(cosine_matrix(emb[i], emb[j]), axis=1)  # (T,) first index on ties
            k_nn = k[j, nn]
            phase_hits += int(((k[i] >= 0) == (k_nn >= 0)).sum())
            phase_total += t
            present = np.isin(k[i], k[j])
            for s in np.flatnonzero((k[i] >= 0) & present):
                hits.setdefault(int(k[i, s]), []).append(int(k_nn[s] == k[i, s]))
                near.append(int(abs(k_nn[s] - k[i, s]) <= 1))
    scored = [h for v in hits.values() for h in v]
    return {
        "alignment": float(np.mean(scored)) if scored else None,
        "n_scored": len(scored),
        "alignment_within_1": float(np.mean(near)) if near else None,
        "alignment_at_jump": float(np.mean(hits[0])) if 0 in hits else None,
        "by_steps_to_jump": {str(kk): float(np.mean(hits[kk])) for kk in sorted(hits)},
        "phase_agreement": phase_hits / phase_total if phase_total else None,
        "chance_alignment": 1.0 / t,
        "zero_vectors": int((np.abs(emb).sum(axis=2) == 0).sum()),
    }


# ----------------------------------------------------------------------------- UMAP


def umap_2d(
    x: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
) -> np.ndarray:
    """(M, D) → (M, 2) UMAP with the cosine metric, ``random_state=seed`` (umap-learn, imported
    here). ``n_neighbors`` is capped at M − 1."""
    import umap  # lazy: ~3 s import, numba compilation on the first fit

    reducer = umap.UMAP(
        n_neighbors=int(min(n_neighbors, len(x) - 1)),
        min_dist=min_dist,
        n_epochs=n_epochs,
        metric="cosine",
        random_state=int(seed),
        n_components=2,
    )
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": the intended trade-off.
        warnings.filterwarnings("ignore", message=".*overridden to 1 by setting random_state.*")
        return np.asarray(reducer.fit_transform(np.asarray(x, dtype=np.float32)))


# ----------------------------------------------------------------------------- figure


def _task_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def plot_trajectories(ax: Any, tasks: np.ndarray, *, annotate: int = 3) -> None:
    """Panel (a): each task's optimal trajectory in its own band: the floor, the obstacle as a
    block in the task's colour and the agent's bottom-left corner at each of the 56 states
    (the agent moves 1 px right per step, so x = t), marked like the UMAP panels; the states
    ``k = 0 … annotate − 1`` steps before the jump are labelled ``k``."""
    from matplotlib.patches import Rectangle

    colors = _task_colors(len(tasks))
    p, f = tasks[:, 0], tasks[:, 1]
    trace = simulate(p, f, optimal_actions(p))
    band = 24  # jump apex 16 + labels
    k = steps_to_jump(tasks)
    for i, c in enumerate(colors):
        base = (len(tasks) - 1 - i) * band
        ax.plot([-1, 61], [base, base], color="0.3", lw=0.8)
        ax.add_patch(Rectangle((p[i], base), 9, 10, color=c, alpha=0.85, lw=0))
        x = trace.x[i, :EPISODE_LENGTH]
        y = trace.y[i, :EPISODE_LENGTH] - f[i] + base
        ki = k[i]
        ax.scatter(x[ki > 0], y[ki > 0], s=7, marker="s", color=c, lw=0)
        ax.scatter(x[ki < 0], y[ki < 0], s=7, marker="s", facecolor="none", edgecolor=c, lw=0.5)
        ax.scatter(x[ki == 0], y[ki == 0], s=60, marker="*", color=c, edgecolor="k", lw=0.5)
        for kk in range(annotate):
            s = int(np.flatnonzero(ki == kk)[0])
            ax.text(x[s], y[s] - 1.5, str(kk), ha="center", va="top", fontsize=6)
        ax.text(62, base + 1, f"p={p[i]}\nf={f[i]}", fontsize=6, va="bottom", color=c)
    ax.set_xlim(-2, 70)
    ax.set_ylim(-7, len(tasks) * band - 4)
    ax.set_xticks([0, 20, 40, 60])
    ax.set_yticks([])
    ax.set_xlabel("agent x [px] = time step t", fontsize=8)
    ax.set_title("(a) optimal trajectories\n(labels: steps to the jump k)", fontsize=9)


def plot_embedding(
    ax: Any,
    xy: np.ndarray,
    tasks: np.ndarray,
    *,
    annotate: int = 3,
    title: str = "",
) -> None:
    """One UMAP panel: xy (N·56, 2) in task-major order; colour = task; filled = at or before
    the jump, star = jump state, hollow = after; ``k < annotate`` (k ≥ 0) labelled."""
    colors = _task_colors(len(tasks))
    k = steps_to_jump(tasks)
    xy = xy.reshape(len(tasks), EPISODE_LENGTH, 2)
    for i, c in enumerate(colors):
        pts, ki = xy[i], k[i]
        ax.plot(pts[:, 0], pts[:, 1], color=c, lw=0.3, alpha=0.25)
        pre, post, jump = ki > 0, ki < 0, ki == 0
        ax.scatter(*pts[pre].T, s=12, color=c, lw=0, alpha=0.8)
        ax.scatter(*pts[post].T, s=12, facecolor="none", edgecolor=c, lw=0.7, alpha=0.8)
        ax.scatter(*pts[jump].T, s=70, marker="*", color=c, edgecolor="k", lw=0.5, zorder=3)
        for kk in range(annotate):
            s = int(np.flatnonzero(ki == kk)[0])
            ax.annotate(
                str(kk),
                pts[s],
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=8,
                fontweight="bold",
                color=c,
                zorder=4,
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_box_aspect(1)
    ax.set_title(title, fontsize=9)


def make_figure(
    panels: Sequence[tuple[str, np.ndarray]],
    tasks: np.ndarray,
    *,
    annotate: int = 3,
    suptitle: str = "",
) -> Any:
    """Panel (a) and one UMAP panel per ``(title, xy)``; returns the matplotlib figure."""
    from matplotlib.lines import Line2D

    from pisces.experiments.jumping.figures import plt  # Agg backend

    n = len(panels) + 1
    fig, axes = plt.subplots(
        1,
        n,
        figsize=(3.4 * n + 1.7, 4.8),
        squeeze=False,
        gridspec_kw={"width_ratios": [1.5] + [1] * (n - 1)},
    )
    plot_trajectories(axes[0, 0], tasks, annotate=annotate)
    for ax, (letter, (title, xy)) in zip(axes[0, 1:], enumerate(panels, start=1), strict=True):
        plot_embedding(ax, xy, tasks, annotate=annotate, title=f"({chr(97 + letter)}) {title}")
    colors = _task_colors(len(tasks))
    handles = [
        Line2D([], [], marker="o", ls="", color=c, label=f"task p={p}, f={f}")
        for c, (p, f) in zip(colors, tasks, strict=True)
    ]
    handles += [
        Line2D([], [], marker="o", ls="", color="0.4", label="before the jump (k > 0)"),
        Line2D([], [], marker="*", ls="", color="0.4", mec="k", ms=10, label="jump state (k = 0)"),
        Line2D([], [], marker="o", ls="", mfc="none", mec="0.4", label="after the jump"),
    ]
    ncol = min(len(handles), max(2, int((3.4 * n + 1.7) / 1.8)))
    rows = -(-len(handles) // ncol)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout(rect=(0, 0.045 + 0.035 * rows, 1, 0.95 if suptitle else 1))
    return fig


# ----------------------------------------------------------------------------- CLI


def _default_label(record: dict[str, Any], cfg: JumpingConfig) -> str:
    return f"{cfg.preset} (seed {record['seed']}, {record['epoch']} ep)"


def _panel_title(label: str, layer: str, score: float, test_pct: float | None) -> str:
    """Panel title: the label, then the layer drawn, its alignment and the model's test %."""
    tail = "" if test_pct is None else f", {test_pct:.1f}% test solved"
    return f"{label}\n{layer}: alignment {score:.2f}{tail}"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces jumping embeddings``."""
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        type=Path,
        help="checkpoint seed-<s>.pt from `pisces jumping train --save-model` (repeatable: "
        "one panel each)",
    )
    parser.add_argument(
        "--label", action="append", help="panel title of each --model, in order (default: preset)"
    )
    parser.add_argument(
        "--tasks",
        default=",".join(f"{p}:{f}" for p, f in DEFAULT_TASKS),
        help="OBSTACLE:FLOOR tasks whose optimal trajectories are embedded (default %(default)s)",
    )
    parser.add_argument(
        "--layer",
        choices=LAYER_CHOICES,
        default="metric",
        help="layer drawn (scores: both); metric = each model's metric embedding: projection "
        "for CME models, representation for l2-embedding and alpha = 0 models (default)",
    )
    parser.add_argument(
        "--randconv-passes",
        type=int,
        default=0,
        help="average the layer over N RandConv draws (RandConv models); 0 = clean inputs",
    )
    parser.add_argument(
        "--annotate", type=int, default=3, help="label the states k = 0..N-1 steps before the jump"
    )
    parser.add_argument("--seed", type=int, default=0, help="UMAP random_state, RandConv draws")
    parser.add_argument("--n-neighbors", type=int, default=15, help="UMAP n_neighbors")
    parser.add_argument("--min-dist", type=float, default=0.1, help="UMAP min_dist")
    parser.add_argument(
        "--umap-epochs", type=int, default=None, help="UMAP n_epochs (default: umap-learn's)"
    )
    parser.add_argument("--out", type=Path, required=True, help="figure (PNG)")
    parser.add_argument("--json", type=Path, default=None, help="scores (default: --out .json)")
    parser.add_argument(
        "--no-figure", action="store_true", help="scores only (no UMAP, no PNG; fast)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``pisces jumping embeddings``: see the module docstring."""
    from pisces.experiments.jumping.checkpoint import (
        CheckpointError,
        load_checkpoint,
        read_checkpoint,
    )
    from pisces.experiments.runs import git_commit, write_json_atomic

    def fail(message: str) -> int:
        print(f"pisces jumping embeddings: {message}", file=sys.stderr)
        return 2

    try:
        tasks = parse_tasks(args.tasks)
    except ValueError as exc:
        return fail(str(exc))
    if args.label is not None and len(args.label) != len(args.model):
        return fail(f"{len(args.label)} --label for {len(args.model)} --model; give one each")
    if args.randconv_passes < 0 or args.annotate < 0 or args.n_neighbors < 2:
        return fail("--randconv-passes and --annotate must be >= 0, --n-neighbors >= 2")
    max_annotate = int(tasks[:, 0].min()) - JUMP_OFFSET + 1
    if args.annotate > max_annotate:
        return fail(
            f"--annotate {args.annotate}: the chosen tasks have {max_annotate} states k >= 0"
        )
    k = steps_to_jump(tasks)
    models, panels = [], []
    print(
        f"{len(tasks)} tasks ({args.tasks}), {len(tasks) * EPISODE_LENGTH} states; "
        f"RandConv at inference: "
        + (f"{args.randconv_passes} draws averaged" if args.randconv_passes else "off (clean)")
    )
    print(
        "align = cross-task nearest neighbour at the same distance to the obstacle (chance "
        f"{1 / EPISODE_LENGTH:.3f}); ±1 = within one step; @jump = jump states only; phase = "
        "neighbour on the same side of the jump; * = layer drawn"
    )
    print(f"{'model':<40} {'layer':<15} {'align':>6} {'±1':>6} {'@jump':>6} {'phase':>6}  n")
    for m, path in enumerate(args.model):
        try:
            net, cfg = load_checkpoint(path)
            record = read_checkpoint(path)
        except (FileNotFoundError, CheckpointError) as exc:
            return fail(str(exc))
        label = args.label[m] if args.label else _default_label(record, cfg)
        layers = compute_layers(
            net, cfg, tasks, randconv_passes=args.randconv_passes, seed=args.seed
        )
        drawn = metric_layer(cfg) if args.layer == "metric" else args.layer
        scores = {layer: alignment_scores(layers[layer], k) for layer in LAYERS}
        for layer in LAYERS:
            s = scores[layer]
            mark = "*" if layer == drawn else " "
            at_jump = s["alignment_at_jump"]
            print(
                f"{label[:40]:<40} {layer + mark:<15} {s['alignment']:>6.3f} "
                f"{s['alignment_within_1']:>6.3f} "
                f"{at_jump if at_jump is not None else float('nan'):>6.3f} "
                f"{s['phase_agreement']:>6.3f}  {s['n_scored']}"
            )
        if cfg.alpha == 0 and drawn == "projection":
            print(f"  note: {label}: trained with alpha = 0, its projection head is untrained")
        models.append(
            {
                "checkpoint": str(path),
                "label": label,
                "preset": cfg.preset,
                "seed": record["seed"],
                "epoch": record["epoch"],
                "test_solved_pct": record.get("test_solved_pct"),
                "rand_conv": cfg.rand_conv,
                "alpha": cfg.alpha,
                "colors": cfg.colors,
                "checkpoint_git_commit": record.get("git_commit"),
                "metric_layer": metric_layer(cfg),
                "layer_drawn": drawn,
                "scores": scores,
            }
        )
        if not args.no_figure:
            start = time.perf_counter()
            xy = umap_2d(
                layers[drawn].reshape(-1, layers[drawn].shape[-1]),
                seed=args.seed,
                n_neighbors=args.n_neighbors,
                min_dist=args.min_dist,
                n_epochs=args.umap_epochs,
            )
            models[-1]["umap_seconds"] = time.perf_counter() - start
            title = _panel_title(
                label, drawn, scores[drawn]["alignment"], record.get("test_solved_pct")
            )
            panels.append((title, xy))
    out_json = args.json or args.out.with_suffix(".json")
    umap_info: dict[str, Any] = {"used": not args.no_figure}
    if not args.no_figure:
        from importlib.metadata import version

        umap_info |= {
            "umap_learn": version("umap-learn"),
            "numba": version("numba"),
            "metric": "cosine",
            "n_neighbors": args.n_neighbors,
            "min_dist": args.min_dist,
            "n_epochs": args.umap_epochs,
            "random_state": args.seed,
        }
        fig = make_figure(
            panels,
            tasks,
            annotate=args.annotate,
            suptitle=f"layer: {args.layer}; UMAP (cosine), one per panel; RandConv at inference: "
            + (f"{args.randconv_passes} draws averaged" if args.randconv_passes else "off"),
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=150)
        from pisces.experiments.jumping.figures import plt

        plt.close(fig)
    write_json_atomic(
        out_json,
        {
            "figure": None if args.no_figure else str(args.out),
            "tasks": tasks.tolist(),
            "layer": args.layer,
            "randconv_passes": args.randconv_passes,
            "seed": args.seed,
            "annotate": args.annotate,
            "umap": umap_info,
            "score_definition": (
                "alignment: over ordered task pairs (i != j) and states of i with k >= 0 "
                "(k = steps to the jump = p - 14 - t; gap to the obstacle k + 9 px) whose k "
                "occurs in j, the fraction whose cosine nearest neighbour among the 56 states "
                "of j has the same k (chance 1/56); alignment_within_1: the same with |dk| <= 1; "
                "phase_agreement: fraction of all states "
                "whose neighbour is on the same side of the jump (k >= 0 vs k < 0)"
            ),
            "models": models,
            "git_commit": git_commit(),
        },
    )
    print(f"wrote {out_json}" + ("" if args.no_figure else f" and {args.out}"))
    return 0
