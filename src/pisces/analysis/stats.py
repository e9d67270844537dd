"""Aggregate statistics over seeds, and Markdown tables that set ours beside the paper's.

One *cell* is a 1-D array of per-seed scores (e.g. % of test tasks solved by each seed, or the
test error of each seed). :func:`summarize` gives mean, std, median, IQM and 95% stratified-
bootstrap confidence intervals of the IQM and the mean; :func:`aggregate` does it for a mapping
of cells; :func:`markdown_table` lays cells out as rows = methods × columns = settings.

Bootstrap and rliable. The intervals are rliable's: ``rliable.library.get_interval_estimates``
with ``method="percentile"``, ``task_bootstrap=False`` and the statistic
``rliable.metrics.aggregate_iqm`` / ``aggregate_mean``, reproduced draw for draw (see
:func:`stratified_bootstrap_ci`). We do not call ``rliable.library`` itself because

* its ``StratifiedBootstrap.update_indices`` draws from NumPy's **global** RNG
  (``np.random.choice``) and ignores the ``random_state`` it is given, so a deterministic
  call would have to reseed the process-wide RNG;
* it computes the statistic once per replication in a Python loop, while the vectorized
  version here computes 2 000 replications per NumPy call (a report bootstraps many cells
  with rliable's default 50 000 replications).

Instead the resampling indices come from a private ``np.random.RandomState(seed)``, which
yields the same stream as ``np.random.seed(seed)`` followed by rliable's calls; a test checks
equality with rliable itself. No global RNG state is read or written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike
from rliable import metrics as rly_metrics

K = TypeVar("K", bound=Hashable)

#: rliable's default number of bootstrap replications.
DEFAULT_REPS = 50_000
#: replications resampled at once (bounds memory at ~CHUNK x n_runs x n_tasks values).
_CHUNK = 2_000


def _as_scores(values: ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0 or arr.ndim > ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array of per-seed scores, got {arr.shape}")
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{name}: no scores (empty input)")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad).tolist() if arr.ndim > 1 else np.flatnonzero(bad).tolist()
        kinds = "NaN" if np.isnan(arr[bad]).all() else "NaN/inf"
        raise ValueError(f"{name}: {kinds} scores at seed index {where}")
    return arr


def iqm(values: ArrayLike) -> float:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``, as
    ``rliable.metrics.aggregate_iqm``). With n values, ``floor(n/4)`` are cut from each end."""
    return float(rly_metrics.aggregate_iqm(_as_scores(values, "values", ndim=2)))


def iqm_rows(x: np.ndarray) -> np.ndarray:
    """IQM of each row of ``x`` ``(reps, k)``: trim_mean with the cut of rliable/scipy."""
    k = x.shape[1]
    cut = int(0.25 * k)
    if cut == 0:
        return x.mean(axis=1)
    part = np.partition(x, (cut, k - cut - 1), axis=1)
    return part[:, cut : k - cut].mean(axis=1)


_STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "iqm": iqm_rows,
    "mean": lambda x: x.mean(axis=1),
}


def stratified_bootstrap_ci(
    scores: ArrayLike,
    statistic: str = "iqm",
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile stratified-bootstrap CI of the IQM or mean of ``scores``.

    Same draws and numbers as ``np.random.seed(seed)`` then
    ``rliable.library.get_interval_estimates({k: scores}, func, method="percentile",
    reps=reps, confidence_interval_size=confidence)``: each replication resamples the runs
    with replacement independently within each task (``idx = randint(0, n_runs, (n_runs,
    n_tasks))``), the statistic is computed over the resampled (runs × tasks) matrix, and
    the interval is ``np.percentile`` at ``(1 ± confidence)/2``. The RNG is a private
    ``np.random.RandomState(seed)``.

    Args:
        scores: ``(n_runs,)`` or ``(n_runs, n_tasks)``; 1-D means one task.
        statistic: ``"iqm"`` or ``"mean"``.
        reps: bootstrap replications (rliable's default 50 000).
        confidence: coverage in (0, 1).
        seed: seeds the bootstrap RNG; the same seed gives the same interval.

    Returns:
        ``(low, high)``. With one run every replication equals the data: the interval is the
        degenerate ``(x, x)``.
    """
    x = _as_scores(scores, "scores", ndim=2)
    if x.ndim == 1:
        x = x[:, None]
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {sorted(_STATISTICS)}, got {statistic!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    n_runs, n_tasks = x.shape
    stat = _STATISTICS[statistic]
    rs = np.random.RandomState(seed)
    tasks = np.arange(n_tasks)
    results = np.empty(reps)
    for start in range(0, reps, _CHUNK):
        r = min(_CHUNK, reps - start)
        idx = rs.randint(0, n_runs, size=(r, n_runs, n_tasks))
        results[start : start + r] = stat(x[idx, tasks].reshape(r, -1))
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(results, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


@dataclass(frozen=True)
class Summary:
    """Summary of one cell of per-seed scores.

    ``std`` is the sample standard deviation (``ddof=1`` by default): the paper reports
    "mean (std) over runs", i.e. the spread of the runs themselves, and with ``ddof=1`` it
    is the unbiased-variance estimate of that spread; it is NaN for a single run (undefined),
    where the CIs are degenerate ``(x, x)``.
    """

    n: int
    mean: float
    std: float
    median: float
    iqm: float
    iqm_ci: tuple[float, float]
    mean_ci: tuple[float, float]
    confidence: float
    reps: int
    seed: int
    ddof: int


def summarize(
    values: ArrayLike,
    *,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    ddof: int = 1,
    name: str = "values",
) -> Summary:
    """Summarize one cell: ``values`` is 1-D, one score per seed (run).

    The CIs come from :func:`stratified_bootstrap_ci` with ``seed`` (deterministic; no global
    RNG use). ``name`` labels error messages (empty input, NaN/inf scores with their seed
    indices).
    """
    x = _as_scores(values, name, ndim=1)
    n = x.shape[0]
    std = float(np.std(x, ddof=ddof)) if n > ddof else math.nan
    return Summary(
        n=n,
        mean=float(np.mean(x)),
        std=std,
        median=float(np.median(x)),
        iqm=iqm(x),
        iqm_ci=stratified_bootstrap_ci(x, "iqm", reps=reps, confidence=confidence, seed=seed),
        mean_ci=stratified_bootstrap_ci(x, "mean", reps=reps, confidence=confidence, seed=seed),
        confidence=confidence,
        reps=reps,
        seed=seed,
        ddof=ddof,
    )


def aggregate(
    cells: Mapping[K, ArrayLike],
    *,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    ddof: int = 1,
    expect_n: int | None = None,
) -> dict[K, Summary]:
    """:func:`summarize` every cell of ``cells`` (key → 1-D per-seed scores).

    Every cell uses the same bootstrap ``seed``, so a cell's numbers do not depend on which
    other cells are present or on their order. ``expect_n``: if given, every cell must hold
    exactly that many seeds (a ValueError lists the cells that do not).
    """
    if not cells:
        raise ValueError("cells: empty mapping")
    # Check every cell before the (slower) bootstraps, so a bad cell fails fast.
    arrays = {k: _as_scores(v, repr(k), ndim=1) for k, v in cells.items()}
    if expect_n is not None:
        wrong = {k: a.shape[0] for k, a in arrays.items() if a.shape[0] != expect_n}
        if wrong:
            raise ValueError(f"expected {expect_n} seeds per cell; got {wrong}")
    return {
        k: summarize(a, seed=seed, reps=reps, confidence=confidence, ddof=ddof, name=f"{k!r}")
        for k, a in arrays.items()
    }


PaperCell = float | tuple[float, float | None]


def _fmt(x: float, digits: int) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def format_summary(s: Summary, digits: int = 1) -> str:
    """``mean (std), IQM iqm [lo, hi], n=N`` (the CI is of the IQM)."""
    lo, hi = s.iqm_ci
    return (
        f"{_fmt(s.mean, digits)} ({_fmt(s.std, digits)}), IQM {_fmt(s.iqm, digits)} "
        f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}], n={s.n}"
    )


def _format_paper(p: PaperCell, digits: int) -> str:
    if isinstance(p, tuple):
        mean, std = p
        return _fmt(mean, digits) if std is None else f"{_fmt(mean, digits)} ({_fmt(std, digits)})"
    return _fmt(float(p), digits)


def _cell_text(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    ours: Mapping[tuple[str, str], Summary],
    paper: Mapping[tuple[str, str], PaperCell] | None = None,
    *,
    rows: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    digits: int = 1,
    row_header: str = "Method",
    missing: str = "–",
) -> str:
    """Markdown table: one row per method, and per setting an "ours" column (and a "paper"
    column when ``paper`` is given).

    Args:
        ours: ``(row, column) →`` :class:`Summary`; shown as :func:`format_summary`.
        paper: ``(row, column) →`` ``mean`` or ``(mean, std)`` (std may be None), shown as
            ``mean (std)``.
        rows, columns: order (and selection) of rows/columns; by default, first appearance in
            ``ours`` then ``paper``.
        missing: text of an absent cell (either side).

    Returns:
        The table, lines joined by ``\\n``, with a trailing newline.
    """
    paper = paper or {}
    keys = [*ours, *paper]
    for key in keys:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"table keys must be (row, column) pairs, got {key!r}")
    if rows is None:
        rows = list(dict.fromkeys(k[0] for k in keys))
    if columns is None:
        columns = list(dict.fromkeys(k[1] for k in keys))
    if not rows or not columns:
        raise ValueError("empty table: no rows or no columns")
    with_paper = bool(paper)
    header = [row_header]
    for c in columns:
        header += [f"{c} (ours)", f"{c} (paper)"] if with_paper else [str(c)]
    lines = [
        "| " + " | ".join(_cell_text(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for r in rows:
        cells = [str(r)]
        for c in columns:
            s = ours.get((r, c))
            cells.append(missing if s is None else format_summary(s, digits))
            if with_paper:
                p = paper.get((r, c))
                cells.append(missing if p is None else _format_paper(p, digits))
        lines.append("| " + " | ".join(_cell_text(x) for x in cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- two samples


@dataclass(frozen=True)
class Difference:
    """Two cells of per-seed scores compared: ``other − base``.

    ``diff`` is ``mean(other) − mean(base)`` and ``diff_ci`` its percentile bootstrap CI with
    each side resampled on its own (the two-sample bootstrap: no pairing assumed). When the
    two sides hold the same seeds, ``paired_*`` is the mean of the per-seed differences, its
    bootstrap CI (seeds resampled) and the Wilcoxon signed-rank p; otherwise NaN.

    ``welch_p``: Welch's unequal-variance t-test, two-sided. ``mannwhitney_p``: the
    Mann–Whitney U test, two-sided (exact for small samples without ties, as SciPy chooses).
    ``detectable``: the smallest true difference a two-sided α = 0.05 test detects with 80 %
    power at these sample sizes and spreads, by the normal approximation
    ``(z_0.975 + z_0.8) · sqrt(s_b²/n_b + s_o²/n_o)``: what the comparison is able to see.
    """

    n_base: int
    n_other: int
    mean_base: float
    mean_other: float
    std_base: float
    std_other: float
    diff: float
    diff_ci: tuple[float, float]
    welch_p: float
    mannwhitney_p: float
    detectable: float
    n_paired: int
    paired_diff: float
    paired_ci: tuple[float, float]
    wilcoxon_p: float
    confidence: float
    reps: int
    seed: int


def _bootstrap_means(x: np.ndarray, reps: int, rs: np.random.RandomState) -> np.ndarray:
    """``reps`` bootstrap means of the 1-D ``x`` (resampled with replacement), in chunks."""
    out = np.empty(reps)
    n = x.shape[0]
    for start in range(0, reps, _CHUNK):
        r = min(_CHUNK, reps - start)
        out[start : start + r] = x[rs.randint(0, n, size=(r, n))].mean(axis=1)
    return out


def compare_cells(
    base: ArrayLike,
    other: ArrayLike,
    *,
    base_seeds: Sequence[int] | None = None,
    other_seeds: Sequence[int] | None = None,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
) -> Difference:
    """Compare two 1-D cells of per-seed scores (e.g. fp32 vs bf16 runs of one preset).

    Args:
        base, other: per-seed scores, at least 2 on each side (a spread is needed).
        base_seeds, other_seeds: the seed of each score; where both are given, the seeds
            present on both sides are also compared paired.
        seed: seeds the bootstrap RNG (a private ``RandomState``, the base side resampled
            first, then the other); the paired CI is :func:`stratified_bootstrap_ci` of the
            per-seed differences with the same ``seed``.
        reps: bootstrap replications; confidence: coverage of the intervals.

    Raises:
        ValueError: naming the side that is empty, has NaN/inf, has fewer than 2 scores, or
            whose seeds do not match its scores in number.
    """
    from scipy import stats as sps

    a = _as_scores(base, "base", ndim=1)
    b = _as_scores(other, "other", ndim=1)
    for name, x in (("base", a), ("other", b)):
        if x.shape[0] < 2:
            raise ValueError(f"{name}: needs at least 2 scores to compare, got {x.shape[0]}")
    for name, x, s in (("base", a, base_seeds), ("other", b, other_seeds)):
        if s is not None and len(s) != x.shape[0]:
            raise ValueError(f"{name}: {len(s)} seeds for {x.shape[0]} scores")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    q = 100 * (1.0 - confidence) / 2
    rs = np.random.RandomState(seed)
    boot = -_bootstrap_means(a, reps, rs)
    boot += _bootstrap_means(b, reps, rs)
    lo, hi = np.percentile(boot, [q, 100 - q])
    sa, sb = float(np.std(a, ddof=1)), float(np.std(b, ddof=1))
    se = math.sqrt(sa**2 / a.shape[0] + sb**2 / b.shape[0])
    detectable = (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) * se
    if se == 0.0:
        welch = 1.0 if a.mean() == b.mean() else 0.0
    else:
        welch = float(sps.ttest_ind(b, a, equal_var=False).pvalue)
    mw = float(sps.mannwhitneyu(b, a, alternative="two-sided").pvalue)
    n_paired, pdiff, pci, wil = 0, math.nan, (math.nan, math.nan), math.nan
    if base_seeds is not None and other_seeds is not None:
        ia = {int(s): i for i, s in enumerate(base_seeds)}
        ib = {int(s): i for i, s in enumerate(other_seeds)}
        common = sorted(set(ia) & set(ib))
        if common:
            d = np.array([b[ib[s]] - a[ia[s]] for s in common])
            n_paired, pdiff = len(common), float(d.mean())
            if n_paired >= 2:
                pci = stratified_bootstrap_ci(
                    d, "mean", reps=reps, confidence=confidence, seed=seed
                )
                wil = 1.0 if not np.any(d) else float(sps.wilcoxon(d).pvalue)
    return Difference(
        n_base=a.shape[0],
        n_other=b.shape[0],
        mean_base=float(a.mean()),
        mean_other=float(b.mean()),
        std_base=sa,
        std_other=sb,
        diff=float(b.mean() - a.mean()),
        diff_ci=(float(lo), float(hi)),
        welch_p=welch,
        mannwhitney_p=mw,
        detectable=float(detectable),
        n_paired=n_paired,
        paired_diff=pdiff,
        paired_ci=pci,
        wilcoxon_p=wil,
        confidence=confidence,
        reps=reps,
        seed=seed,
    )


# ------------------------------------------------------------ against published summaries


@dataclass(frozen=True)
class AgainstPublished:
    """Our cell against a published mean that comes with only its spread and run count:
    ``ours − published``.

    ``diff_ci`` is Welch's t interval, ``diff ± t_{df} · se``, with
    ``se² = s²/n + v`` (``s``: our std, ddof 1; ``v``: the published mean's variance,
    ``std²/n_pub`` or ``s.e.²``, plus ``r²/12`` for a mean printed to a resolution ``r``: its
    rounding error, uniform on ±r/2) and ``df`` from the Welch–Satterthwaite equation
    ``se⁴ / ((s²/n)²/(n − 1) + v²/(n_pub − 1))``; ``p`` is the two-sided Welch t-test. Unlike
    "the published mean inside our CI of the mean", it counts the published mean's own
    sampling error and, at small ``n``, the uncertainty of our std (few degrees of freedom,
    wide interval). It takes the scores as roughly normal and the published spread at face
    value. When both spreads and the resolution are 0, ``se`` is 0: the interval is the point
    ``diff`` and ``p`` is 1 for equal means, 0 otherwise.
    """

    n: int
    diff: float
    diff_ci: tuple[float, float]
    se: float
    df: float
    p: float
    confidence: float


def against_published(
    values: ArrayLike,
    published_mean: float,
    published_spread: float,
    *,
    published_n: int,
    spread: str = "std",
    resolution: float = 0.0,
    confidence: float = 0.95,
) -> AgainstPublished:
    """Compare our per-seed ``values`` (1-D, at least 2) with a published mean.

    Args:
        published_spread: the published std over its runs (``spread="std"``) or the standard
            error of its mean (``spread="se"``).
        published_n: the published number of runs (≥ 2; e.g. the paper's 100).
        resolution: the step the published mean is printed to (0.1 for one decimal; 0: exact).

    Raises:
        ValueError: fewer than 2 scores, NaN/inf among them, a negative or non-finite
            published spread or resolution, ``published_n < 2``, an unknown ``spread`` or a
            confidence outside (0, 1).
    """
    from scipy import stats as sps

    x = _as_scores(values, "values", ndim=1)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"values: needs at least 2 scores for a spread, got {n}")
    if spread not in ("std", "se"):
        raise ValueError(f"spread must be 'std' or 'se', got {spread!r}")
    if not (math.isfinite(published_spread) and published_spread >= 0):
        raise ValueError(f"published_spread must be finite and >= 0, got {published_spread}")
    if not math.isfinite(published_mean):
        raise ValueError(f"published_mean must be finite, got {published_mean}")
    if not (math.isfinite(resolution) and resolution >= 0):
        raise ValueError(f"resolution must be finite and >= 0, got {resolution}")
    if published_n < 2:
        raise ValueError(f"published_n must be >= 2, got {published_n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    ours = float(np.var(x, ddof=1)) / n
    theirs = published_spread**2 / (published_n if spread == "std" else 1) + resolution**2 / 12
    diff = float(x.mean()) - published_mean
    se = math.sqrt(ours + theirs)
    if se == 0.0:
        return AgainstPublished(n, diff, (diff, diff), 0.0, math.inf, float(diff == 0), confidence)
    df = se**4 / (ours**2 / (n - 1) + theirs**2 / (published_n - 1))
    t = sps.t.ppf(0.5 + confidence / 2, df)
    p = float(2 * sps.t.sf(abs(diff) / se, df))
    return AgainstPublished(n, diff, (diff - t * se, diff + t * se), se, df, p, confidence)
