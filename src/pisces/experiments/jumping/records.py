"""The jumping task's result format: solved counts per split, one-line descriptions, summaries.

Every jumping-task method (the imitation trainer, the bisimulation transfer) writes per-seed
records with the same keys: ``preset``, ``grid``, ``seed``, ``epochs``, ``test_solved_pct``,
``final`` (:func:`split_counts`, or :func:`color_counts` with colors), ``solved`` (the
(286,) 0/1 map of the headline color), ``split``, ``config`` and the execution stamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pisces.envs.jumping.tasks import SPLITS

#: obstacle colors of a run, in the official order (``imitation_data`` keys; RED first).
WHITE_COLORS = ("white",)
RED_GREEN = ("red", "green")
#: the file pattern and glob of a jumping-task folder.
SEED_PATTERN = "seed-{seed:03d}.json"
SEED_GLOB = "seed-*.json"
#: the execution stamp a record carries (absent from records older than the stamp).
STAMPS = (("precision", "precision"), ("cpu", "CPU"), ("torch", "torch"))


def tuning_studies(dirs: Iterable[str | Path]) -> list[Path]:
    """The folders of ``pisces tune`` studies (those holding ``study.db``) under ``dirs``."""
    return sorted({p.parent for d in dirs for p in Path(d).rglob("study.db")})


def run_folders(dirs: Iterable[str | Path]) -> list[Path]:
    """The folders holding seed records at or under ``dirs`` (each once, in the order given,
    sorted within a dir), without the trials of tuning studies: those are short runs on the
    validation split, summarised by their study.

    Raises:
        FileNotFoundError: naming a dir that does not exist.
    """
    dirs = [Path(d) for d in dirs]
    studies = tuning_studies(dirs)
    folders: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: no such folder")
        for folder in sorted({p.parent for p in d.rglob(SEED_GLOB)}):
            if not any(folder.is_relative_to(s) for s in studies) and folder not in folders:
                folders.append(folder)
    return folders


def stamp(result: dict[str, Any], field: str) -> str:
    """What ``result`` says it ran on, for one of :data:`STAMPS`' fields: the stamp itself;
    for records older than the precision stamp, the precision their config implies
    (``"fp32 (from the config)"``); else ``"not recorded"``."""
    if field in result and result[field] is not None:
        return str(result[field])
    if field == "precision" and "config" in result:
        return ("bf16" if result["config"].get("amp_bf16") else "fp32") + " (from the config)"
    return "not recorded"


def ran_on(result: dict[str, Any]) -> str:
    """One line on where a record ran, e.g. ``"AMD EPYC (avx512_bf16), fp32, torch
    2.13.0+cpu"`` or ``"CPU not recorded, fp32 (from the config), torch 2.13.0+cpu"``:
    floating-point results differ between CPUs, so a cell's machines belong beside it."""
    cpu = stamp(result, "cpu")
    cpu = "CPU not recorded" if cpu == "not recorded" else cpu
    torch = stamp(result, "torch")
    return f"{cpu}, {stamp(result, 'precision')}, torch {torch}"


def split_counts(
    solved: NDArray[np.bool_], split: NDArray[np.str_], suffix: str = ""
) -> dict[str, int | float | None]:
    """Solved counts, totals and % per split of a (286,) solved map and its (286,) split labels:
    ``{split}{suffix}_solved``, ``_total``, ``_solved_pct`` (None for an empty split), e.g.
    ``test_solved`` or, with ``suffix="_red"``, ``test_red_solved``."""
    out: dict[str, int | float | None] = {}
    for name in SPLITS:
        mask = split == name
        total = int(mask.sum())
        count = int(solved[mask].sum())
        out[f"{name}{suffix}_solved"] = count
        out[f"{name}{suffix}_total"] = total
        out[f"{name}{suffix}_solved_pct"] = 100.0 * count / total if total else None
    return out


def color_counts(by_color: dict[str, np.ndarray], split: np.ndarray) -> dict[str, Any]:
    """:func:`split_counts` of a run's colors.

    White: the plain keys. Colors: per color ``{split}_{color}_solved``/``_total``/
    ``_solved_pct`` (the official ``eval/{split}_{COLOR}_solved``, as counts and %), and the
    plain keys repeat RED's: the paper's headline number (Fig. 4, "evaluate generalization on
    unseen red tasks"). The official unsuffixed ``eval/{split}_solved`` is the sum RED + GREEN
    (``{split}_red_solved + {split}_green_solved``).
    """
    if tuple(by_color) == WHITE_COLORS:
        return split_counts(by_color["white"], split)
    out = split_counts(by_color["red"], split)
    for color, solved in by_color.items():
        out.update(split_counts(solved, split, suffix=f"_{color}"))
    return out


def describe(result: dict[str, Any]) -> str:
    """One line for a finished seed: its test % (red and green with colors)."""
    if result.get("colors"):
        return (
            f"{result['test_solved_pct_red']:.1f}% of red and "
            f"{result['test_solved_pct_green']:.1f}% of green test tasks solved"
        )
    return f"{result['test_solved_pct']:.1f}% of test tasks solved"


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """``summary.json``: median, mean, std of the test % over the finished seeds of a folder
    (and per color with colors). ``results`` share one configuration."""
    pct = np.array([r["test_solved_pct"] for r in results], dtype=float)
    summary: dict[str, Any] = {
        "preset": results[0]["preset"],
        "grid": results[0]["grid"],
        "epochs": results[0]["epochs"],
        "seeds": [r["seed"] for r in results],
        "test_solved_pct": pct.tolist(),
        "median_test_solved_pct": float(np.median(pct)),
        "mean_test_solved_pct": float(pct.mean()),
        "std_test_solved_pct": float(pct.std(ddof=1)) if len(pct) > 1 else None,
    }
    if results[0].get("colors"):
        summary["colors"] = True
        for color in RED_GREEN:
            x = np.array([r[f"test_solved_pct_{color}"] for r in results], dtype=float)
            std = float(x.std(ddof=1)) if len(x) > 1 else None
            summary[f"test_solved_pct_{color}"] = x.tolist()
            summary[f"mean_test_solved_pct_{color}"] = float(x.mean())
            summary[f"std_test_solved_pct_{color}"] = std
            summary[f"sem_test_solved_pct_{color}"] = None if std is None else std / len(x) ** 0.5
    return summary
