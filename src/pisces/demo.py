"""``pisces demo``: the main job run by ``make demo``.

Until the jumping-task training lands, the demo computes the policy similarity metric and
the pi*-bisimulation metric between two optimal jumping-task trajectories and writes both
as heatmaps (see :mod:`pisces.analysis.metric_heatmap`).
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="output directory (created)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pisces.analysis import metric_heatmap

    return metric_heatmap.run(argparse.Namespace(out=args.out, obstacles=(20, 40), floor=10))
