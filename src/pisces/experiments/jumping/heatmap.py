"""PSM vs π*-bisimulation heatmaps between two optimal jumping-task trajectories.

Command (also run by ``pisces demo`` with obstacles 20 40 and floor 10)::

    pisces metrics heatmap --out runs/metrics --obstacles 20 40 --floor 10

Writes into ``--out``:

* ``psm.npy``: the 56x56 PSM (Eq. D.2, γ = 0.999, 0/1 action cost, spec §4.1);
* ``pi_bisimulation.npy``: the 56x56 π*-bisimulation metric (reward cost |r¹ᵢ - r²ⱼ|,
  ENV-G rewards, γ = 0.999, spec §4.4);
* ``metric_heatmap.png``: both side by side (rows: states of the first trajectory).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pisces.argtypes import int_in
from pisces.envs.jumping import core
from pisces.metrics import action_mismatch_cost, trajectory_pi_bisimulation, trajectory_psm

#: the metric discount of the official jumping-task code (hard-coded there, spec §4.1).
GAMMA = 0.999


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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute both metrics, save them as .npy and the side-by-side heatmap as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pisces.envs.jumping import optimal_trajectory

    p1, p2 = (int(p) for p in args.obstacles)
    floor = int(args.floor)
    t1, t2 = optimal_trajectory(p1, floor), optimal_trajectory(p2, floor)
    d_psm = trajectory_psm(action_mismatch_cost(t1.actions, t2.actions), gamma=GAMMA)
    d_bisim = trajectory_pi_bisimulation(t1.rewards, t2.rewards, gamma=GAMMA)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "psm.npy", d_psm)
    np.save(out / "pi_bisimulation.npy", d_bisim)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    panels = (
        (d_psm, "PSM (action cost)"),
        (d_bisim, r"$\pi^*$-bisimulation (reward cost)"),
    )
    for ax, (mat, title) in zip(axes, panels, strict=True):
        im = ax.imshow(mat, cmap="viridis", origin="upper")
        ax.set_title(f"{title}, $\\gamma$ = {GAMMA}")
        ax.set_xlabel(f"state j of task (p={p2}, floor={floor})")
        ax.set_ylabel(f"state i of task (p={p1}, floor={floor})")
        fig.colorbar(im, ax=ax, shrink=0.85)
    png = out / "metric_heatmap.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    for path in (png, out / "psm.npy", out / "pi_bisimulation.npy"):
        print(f"wrote {path}")
    return 0
