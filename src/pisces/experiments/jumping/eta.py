"""``pisces jumping eta``: how long one more seed of a run folder will take on this machine.

::

    pisces jumping eta results/jumping/pse-narrow --seed 4
    2536 median of 1 full run(s) of this folder on this CPU (AMD EPYC (avx512_bf16))

The estimate is the median ``wall_seconds`` of the folder's full-protocol records that ran on
this CPU model (``cpu`` stamp = :func:`~pisces.experiments.runs.cpu_model`). Without any, it
is the folder's median on another CPU scaled by how much faster this CPU ran the same
precision in the sibling folders run on both (the median ratio over them; CPUs differ by up to
~2×, and by precision); without such a sibling, the unscaled median. A folder with no record
yet (or none at all: a cell not started) goes by ``--like`` FOLDER's estimate, the cell it
should cost about as much as (the same preset and grid with another loss, say); without
that, unknown. With ``--seed``, the wall time the seed's mid-run checkpoint
(``.seed-<s>.midrun.pt``) has already used is subtracted. A queue uses it to start, near a
deadline, only the seeds that can finish before it (``DEADLINE`` in
``results/jumping/run_queue_s11.sh``): a seed cut off by the end of a session on a fresh
machine loses all its work.

The first word printed is the estimate in whole seconds, or ``unknown``; the rest says what
it rests on.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from pisces.argtypes import positive_int
from pisces.errors import UsageError
from pisces.experiments.jumping.records import SEED_GLOB, run_folders, stamp
from pisces.experiments.jumping.report import PROTOCOL_EPOCHS
from pisces.experiments.runs import CorruptResult, cpu_model, load_records


def _walls(folder: Path) -> dict[tuple[str, str], list[float]]:
    """Wall seconds of ``folder``'s full-protocol records by (CPU, precision: fp32 / bf16)."""
    try:
        records = load_records([folder], SEED_GLOB, by_seed=True)
    except CorruptResult as exc:
        raise ValueError(str(exc)) from None
    out: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if "wall_seconds" in r and "cpu" in r and int(r.get("epochs", 0)) == PROTOCOL_EPOCHS:
            key = (str(r["cpu"]), stamp(r, "precision").split(",")[0].split()[0])
            out.setdefault(key, []).append(float(r["wall_seconds"]))
    return out


def expected_seconds(
    folder: str | Path,
    cpu: str,
    seed: int | None = None,
    siblings: list[Path] | None = None,
    like: str | Path | None = None,
) -> tuple[float | None, str]:
    """``(seconds, basis)``: the expected wall time of one more full-protocol seed of
    ``folder`` on ``cpu`` (see the module docstring), or ``(None, why)`` with no record to go
    by. ``siblings``: the folders that give CPU speed ratios (None: every run folder beside
    ``folder``). ``seed``: subtract what that seed's mid-run checkpoint has already used
    (never below 0). ``like``: the folder whose estimate stands in while ``folder`` has no
    full-protocol record (``folder`` may then not exist yet).

    Raises:
        FileNotFoundError: ``folder`` does not exist (and no ``like``), or ``like`` does not.
        ValueError: a record in it cannot be read, or the mid-run checkpoint cannot.
    """
    folder = Path(folder)
    if like is not None and not Path(like).is_dir():
        raise FileNotFoundError(f"{like}: no such folder (--like)")
    if not folder.is_dir() and like is None:
        raise FileNotFoundError(f"{folder}: no such folder")
    mine = _walls(folder) if folder.is_dir() else {}
    here = [w for (c, _), ws in mine.items() if c == cpu for w in ws]
    med = statistics.median
    if not mine and like is not None:
        estimate, basis = expected_seconds(like, cpu, None, siblings)
        if estimate is None:
            return None, f"no full-protocol record in {folder} nor in {like}"
        basis = f"no record in this folder yet: as {Path(like).name}, {basis}"
    elif here:
        estimate = float(med(here))
        basis = f"median of {len(here)} full run(s) of this folder on this CPU ({cpu})"
    elif mine:
        if siblings is None:
            siblings = [f for f in run_folders([folder.parent]) if f.resolve() != folder.resolve()]
        others = [_walls(f) for f in siblings]
        scaled, used = [], set()
        for (other, prec), ws in mine.items():
            ratios = [
                med(w[(cpu, prec)]) / med(w[(other, prec)])
                for w in others
                if (cpu, prec) in w and (other, prec) in w
            ]
            if ratios:
                scaled.append(med(ws) * med(ratios))
                used.add(f"{other}, {prec}: × {med(ratios):.2f} from {len(ratios)} folder(s)")
        if scaled:
            estimate = float(med(scaled))
            basis = (
                f"this folder's runs on other CPUs, scaled to this one ({'; '.join(sorted(used))})"
            )
        else:
            estimate = float(med([w for ws in mine.values() for w in ws]))
            cpus = "; ".join(sorted({c for c, _ in mine}))
            basis = f"median of this folder's runs on other CPUs ({cpus}), unscaled"
            basis += ": no sibling folder ran on both"
    else:
        return None, f"no full-protocol record with a wall time and a CPU in {folder}"
    if seed is not None:
        done = _midrun_seconds(folder / f".seed-{seed:03d}.midrun.pt")
        if done:
            estimate = max(0.0, estimate - done)
            basis += f", less {done:.0f} s already done by its mid-run checkpoint"
    return estimate, basis


def _midrun_seconds(path: Path) -> float:
    """The wall seconds a mid-run checkpoint says its run had used (0 without the file)."""
    if not path.exists():
        return 0.0
    import torch

    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=False)
        return float(state["wall_seconds"])
    except Exception as exc:
        raise ValueError(f"{path}: not a readable mid-run checkpoint ({exc})") from None


def run(args: argparse.Namespace) -> int:
    try:
        seconds, basis = expected_seconds(args.folder, cpu_model(), args.seed, like=args.like)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(f"{'unknown' if seconds is None else round(seconds)} {basis}")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("folder", type=Path, help="a run folder (seed-*.json)")
    parser.add_argument(
        "--seed",
        type=positive_int,
        default=None,
        help="the seed to run next (its checkpoint counts)",
    )
    parser.add_argument(
        "--like",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="the run folder whose estimate stands in while this one has no record",
    )
    parser.set_defaults(func=run)
