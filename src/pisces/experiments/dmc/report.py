r"""``pisces dmc report``: our DCS runs beside the paper's Table 3.

::

    pisces dmc report results/dcs

reads every ``seed-*.json`` under the folders (recursively, each file once) and prints, as
Markdown:

1. **Table 3** (with distraction): one row per (task, method, preset, env steps, overrides):
   n seeds, the final greedy return on the test videos as mean ± s.e. (the paper's
   statistic), its IQM with the 95 % stratified-bootstrap CI (:mod:`pisces.analysis.stats`),
   the return on the training videos and the gap, and the paper's random-initialisation
   value (Table 3, 500k env steps, mean ± s.e. over 5 seeds). Our CPU runs are shorter
   (``env steps`` column): compare their *ordering*, not their level.
2. **Probability of improvement** of DrQ + PSEs over DrQ (rliable's ``P(X > Y)``: the
   Mann–Whitney statistic ``1/(n m) Σ_i Σ_j [x_i > y_j] + ½ [x_i = y_j]``, averaged over
   tasks) for runs that share every setting but the method, with a 95 % percentile CI from a
   stratified bootstrap (both methods' runs resampled with replacement within each task) drawn
   from our own seeded generator (rliable's draws from NumPy's global RNG).
3. **Sanity check** (no distraction): our DrQ beside the DrQ authors' published score at the
   same budget (:data:`DRQ_REFERENCE`, spec dcs §6).

The "pretrained" rows of Table 3 (PSEs initialised from the pixel DrQ teacher) are not
reproduced: our teacher is a state SAC (``pisces dmc teacher``), which has no pixel weights.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from pisces.analysis.paper import TABLE3
from pisces.argtypes import nonnegative_int, positive_int
from pisces.errors import UsageError
from pisces.experiments import configs
from pisces.experiments.dmc.cli import SEED_GLOB
from pisces.experiments.dmc.config import EXECUTION_FIELDS, PRESETS, DMCConfig
from pisces.experiments.runs import CorruptResult, load_records

METHOD_ROWS = {"drq": "DrQ", "drq-pse": "DrQ + PSEs"}
#: DrQ (SAC, K = M = 2, batch 512, 10 seeds) WITHOUT distraction, from the DrQ authors' CSV
#: (spec dcs §6): task → {env steps: mean return}.
DRQ_REFERENCE: dict[str, dict[int, float]] = {
    "cartpole-swingup": {100_000: 759, 500_000: 869},
    "cheetah-run": {100_000: 361, 500_000: 680},
    "walker-walk": {100_000: 634, 500_000: 924},
    "finger-spin": {100_000: 901, 500_000: 939},
    "reacher-easy": {100_000: 600, 500_000: 945},
    "ball_in_cup-catch": {100_000: 914, 500_000: 964},
}
#: fields that do not separate rows (shown in their own columns, or not results at all).
_ROW_IGNORE = ("preset", "source", "domain", "task", "env_steps", *EXECUTION_FIELDS)
#: fields in which two runs may differ and still be a DrQ vs DrQ + PSEs comparison.
_PAIR_IGNORE = (*_ROW_IGNORE, "method")


class Cell(NamedTuple):
    """One row of the tables: the runs that share all of these."""

    task: str
    method: str
    preset: str
    env_steps: int
    distraction: bool
    label: str


def overrides_label(record: Mapping[str, Any]) -> str:
    """`` [field=value, ...]``: where a run departs from its preset (``""`` if nowhere)."""
    preset = record.get("preset")
    if preset not in PRESETS or "config" not in record:
        return ""
    ignore = set(_ROW_IGNORE)
    if record.get("method", "drq") == "drq":  # DrQ never reads the PSE fields
        ignore |= {f for f in PRESETS[preset].to_dict() if f.startswith("pse_")}
    diffs = configs.differences(DMCConfig, record["config"], PRESETS[preset].to_dict(), ignore)
    return f" [{', '.join(f'{k}={got}' for k, got, _ in diffs)}]" if diffs else ""


def cell_of(record: Mapping[str, Any]) -> Cell:
    return Cell(
        task=f"{record['domain']}-{record['task']}",
        method=str(record.get("method", "drq")),
        preset=str(record.get("preset")),
        env_steps=int(record["env_steps"]),
        distraction=bool(record.get("distraction", True)),
        label=overrides_label(record),
    )


def pair_key(record: Mapping[str, Any]) -> tuple:
    """Runs with equal keys differ at most in the method (and PSE fields, unused by DrQ)."""
    cfg = configs.with_defaults(DMCConfig, record["config"])
    shared = tuple(
        sorted(
            (k, repr(v))
            for k, v in cfg.items()
            if k not in _PAIR_IGNORE and not k.startswith("pse_")
        )
    )
    return (int(record["env_steps"]), bool(record.get("distraction", True)), shared)


# ------------------------------------------------------------------------ statistics


def _as_runs(x: Sequence[float], name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.isfinite(a).all():
        raise ValueError(f"{name}: need a non-empty 1-D array of finite scores, got {a}")
    return a


def _poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) of each replication: x (R, n), y (R, m) → (R,)."""
    d = x[:, :, None] - y[:, None, :]
    return ((d > 0) + 0.5 * (d == 0)).mean(axis=(1, 2))


def probability_of_improvement(
    scores_x: Mapping[str, Sequence[float]], scores_y: Mapping[str, Sequence[float]]
) -> float:
    """rliable's overall probability of improvement of X over Y: per task
    ``P(X > Y) = 1/(n m) Σ_i Σ_j S(x_i, y_j)``, ``S = 1`` if ``x_i > y_j``, ½ if equal, else
    0, averaged over the tasks (the keys of both mappings; n and m may differ)."""
    tasks = _common_tasks(scores_x, scores_y)
    return float(
        np.mean(
            [_poi(_as_runs(scores_x[t], t)[None], _as_runs(scores_y[t], t)[None])[0] for t in tasks]
        )
    )


def _common_tasks(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    if set(a) != set(b) or not a:
        raise ValueError(
            f"X and Y must have the same non-empty tasks, got {sorted(a)}, {sorted(b)}"
        )
    return sorted(a)


def probability_of_improvement_ci(
    scores_x: Mapping[str, Sequence[float]],
    scores_y: Mapping[str, Sequence[float]],
    *,
    reps: int = 50_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile stratified-bootstrap CI of :func:`probability_of_improvement`: each
    replication resamples X's runs and Y's runs with replacement, independently and within
    each task, from ``np.random.default_rng(seed)`` (no global RNG)."""
    tasks = _common_tasks(scores_x, scores_y)
    rng = np.random.default_rng(seed)
    values = np.zeros(reps)
    chunk = 2_000
    for t in tasks:
        x, y = _as_runs(scores_x[t], t), _as_runs(scores_y[t], t)
        for start in range(0, reps, chunk):
            r = min(chunk, reps - start)
            xi = rng.integers(0, x.size, (r, x.size))
            yi = rng.integers(0, y.size, (r, y.size))
            values[start : start + r] += _poi(x[xi], y[yi])
    values /= len(tasks)
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def mean_se(x: Sequence[float]) -> str:
    """``mean ± s.e.`` (s.e. = sample std / √n; ``–`` for one run)."""
    a = np.asarray(x, dtype=float)
    se = a.std(ddof=1) / math.sqrt(a.size) if a.size > 1 else math.nan
    return f"{a.mean():.0f} ± {se:.0f}" if math.isfinite(se) else f"{a.mean():.0f} ± –"


# ------------------------------------------------------------------------ tables


def _group(records: Sequence[Mapping[str, Any]]) -> dict[Cell, list[Mapping[str, Any]]]:
    cells: dict[Cell, list[Mapping[str, Any]]] = {}
    for r in records:
        cells.setdefault(cell_of(r), []).append(r)
    return dict(sorted(cells.items(), key=lambda kv: (kv[0].task, kv[0].env_steps, kv[0])))


def _row_name(cell: Cell) -> str:
    return METHOD_ROWS.get(cell.method, cell.method) + cell.label


def table3(cells: Mapping[Cell, list[Mapping[str, Any]]], *, reps: int, seed: int) -> str:
    """Markdown rows of the runs with distraction, beside Table 3 (random init)."""
    from pisces.analysis import stats

    header = [
        "task",
        "method",
        "preset",
        "env steps",
        "n",
        "test videos (mean ± s.e.)",
        "IQM [95% CI]",
        "training videos",
        "gap (train − test)",
        "paper (500k)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for cell, runs in cells.items():
        test = [float(r["eval_return"]) for r in runs]
        s = stats.summarize(test, seed=seed, reps=reps)
        train = [r.get("eval_return_train") for r in runs]
        train = [float(v) for v in train if v is not None]
        gap = [
            float(r["generalization_gap"]) for r in runs if r.get("generalization_gap") is not None
        ]
        paper = TABLE3.get(("random", METHOD_ROWS.get(cell.method, ""), cell.task))
        lines.append(
            "| "
            + " | ".join(
                [
                    cell.task,
                    _row_name(cell),
                    cell.preset,
                    f"{cell.env_steps // 1000}k",
                    str(len(runs)),
                    mean_se(test),
                    f"{s.iqm:.0f} [{s.iqm_ci[0]:.0f}, {s.iqm_ci[1]:.0f}]",
                    mean_se(train) if train else "–",
                    mean_se(gap) if gap else "–",
                    "–" if paper is None else f"{paper[0]:.0f} ± {paper[1]:.0f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def improvement_lines(records: Sequence[Mapping[str, Any]], *, reps: int, seed: int) -> list[str]:
    """``P(DrQ + PSEs > DrQ)`` per task and over tasks, for each group of runs that share
    every setting but the method."""
    groups: dict[tuple, dict[str, dict[str, list[float]]]] = {}
    names: dict[tuple, set[str]] = {}
    for r in records:
        if not r.get("distraction", True) or "config" not in r:
            continue
        key = pair_key(r)
        method = str(r.get("method", "drq"))
        task = f"{r['domain']}-{r['task']}"
        groups.setdefault(key, {}).setdefault(method, {}).setdefault(task, []).append(
            float(r["eval_return"])
        )
        names.setdefault(key, set()).add(str(r.get("preset")))
    lines = []
    for key, by_method in groups.items():
        if set(by_method) != {"drq", "drq-pse"}:
            continue
        pse, drq = by_method["drq-pse"], by_method["drq"]
        tasks = sorted(set(pse) & set(drq))
        presets = ", ".join(sorted(names[key]))
        for subset in [[t] for t in tasks] + ([tasks] if len(tasks) > 1 else []):
            x = {t: pse[t] for t in subset}
            y = {t: drq[t] for t in subset}
            p = probability_of_improvement(x, y)
            lo, hi = probability_of_improvement_ci(x, y, reps=reps, seed=seed)
            what = subset[0] if len(subset) == 1 else f"{len(subset)} tasks"
            n = " + ".join(f"{len(x[t])} vs {len(y[t])}" for t in subset)
            lines.append(
                f"* {what}, {key[0] // 1000}k env steps ({presets}): P(DrQ + PSEs > DrQ) = "
                f"{p:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] (runs {n})"
            )
    return lines


def sanity_table(cells: Mapping[Cell, list[Mapping[str, Any]]]) -> str:
    """Markdown rows of the runs without distraction beside the DrQ authors' scores."""
    header = ["task", "method", "preset", "env steps", "n", "return (mean ± s.e.)", "DrQ authors"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for cell, runs in cells.items():
        ref = DRQ_REFERENCE.get(cell.task, {}).get(cell.env_steps)
        lines.append(
            "| "
            + " | ".join(
                [
                    cell.task,
                    _row_name(cell),
                    cell.preset,
                    f"{cell.env_steps // 1000}k",
                    str(len(runs)),
                    mean_se([float(r["eval_return"]) for r in runs]),
                    "–" if ref is None else f"{ref:.0f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def report_text(records: Sequence[Mapping[str, Any]], *, reps: int, seed: int) -> str:
    """The whole report (Markdown)."""
    cells = _group(records)
    distracted = {c: v for c, v in cells.items() if c.distraction}
    clean = {c: v for c, v in cells.items() if not c.distraction}
    out = []
    if distracted:
        out += [
            "## Table 3: dynamic background distraction, unseen (test) videos",
            "",
            "Final greedy return: ours = mean ± s.e. over seeds, IQM [95% stratified-bootstrap "
            f"CI, {reps} reps, seed {seed}]; test = the 30 held-out videos, training = the 2 "
            "training videos; paper = Table 3 (random initialisation, 500k env steps, 5 "
            "seeds). The pretrained rows need the pixel DrQ teacher: not reproduced.",
            "",
            table3(distracted, reps=reps, seed=seed),
        ]
        lines = improvement_lines(records, reps=reps, seed=seed)
        out += ["### Probability of improvement (rliable), DrQ + PSEs over DrQ", ""]
        out += lines or ["No pair of DrQ and DrQ + PSEs runs with otherwise equal settings yet."]
        out.append("")
    if clean:
        out += [
            "## Sanity check without distraction",
            "",
            "Ours beside DrQ's published score without distraction (DrQ authors' CSV, 10 seeds, "
            "K = M = 2, batch 512) at the same env steps.",
            "",
            sanity_table(clean),
        ]
    return "\n".join(out)


def report_command(args: argparse.Namespace) -> int:
    """``pisces dmc report``: see the module docstring."""
    try:
        records = load_records(args.dirs, SEED_GLOB, recursive=True, by_seed=True, require=True)
    except (FileNotFoundError, CorruptResult) as exc:
        raise UsageError(str(exc)) from None
    records = [r for r in records if "eval_return" in r and "domain" in r]
    if not records:
        raise UsageError(f"no DCS records (seed-*.json with eval_return) under {args.dirs}")
    print(report_text(records, reps=args.reps, seed=args.bootstrap_seed), end="")
    return 0


def configure_report(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces dmc report``."""
    parser.add_argument("dirs", nargs="+", help="folders holding seed-*.json (recursive)")
    parser.add_argument("--reps", type=positive_int, default=50_000, help="bootstrap replications")
    parser.add_argument(
        "--bootstrap-seed", type=nonnegative_int, default=0, help="bootstrap RNG seed"
    )
    parser.set_defaults(func=report_command)
