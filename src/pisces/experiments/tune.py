"""``pisces tune``: an Optuna study of a jumping-task preset on the validation tasks.

::

    pisces tune --preset pse --grid wide --epochs 200 --seeds 1-2 --trials 40 \\
        --out results/jumping/tuning

The objective of a trial is the % of **validation** tasks solved at the final epoch
(``final["validation_solved_pct"]``, config ``no_validation=False``: the official validation
split, 54 tasks on the wide grid and 57 on the narrow one, paper §5.1 and Fig. G.7), averaged
over ``--seeds``, at the short schedule ``--epochs``; the test tasks play no part (their % is
kept in each trial's attributes and records). Each trial's seeds are normal per-seed records
(``OUT/trials/trial-<n>/seed-<s>.json`` + PNG, what ``jumping train`` writes), so
``pisces jumping report OUT/trials/*`` reads them. A seed whose loss becomes non-finite
scores 0 (noted in the trial's ``non_finite`` attribute).

Search space (:data:`SPACE`): the paper tunes with Bayesian optimization (Golovin et al.,
2017; App. G.2 and §5.2, "128 trials") but gives no ranges, so these are ours, each wide
enough to hold every value of Tables G.3–G.5 and log-uniform where the scale spans decades:
learning rate [1e-4, 1e-2] (G.3–G.5: 1e-4 … 7e-3; the official default 1e-2 is the top),
α [1e-2, 1e2] (CME entries 0.1 … 10), temperature [0.05, 2] (0.5, 1.0; SimCLR's usual 0.1
inside), ℓ2 [1e-6, 1e-3] (1e-5, 7e-5, 4.3e-4), dropout uniform [0, 0.5] (0.3; 0 included,
so a preset without dropout is a point of the space). By default a preset tunes the
learning rate and dropout, plus α and the temperature if it has an alignment loss
(temperature for CME only) and ℓ2 if its ℓ2 is positive; ``--params`` chooses.

Sampler: TPE (default; multivariate, ``constant_liar`` with several workers) or GP
(``--sampler gp``), seeded (``--sampler-seed``, with the worker's index and the number of
trials the study held when the worker started: a resumed study draws new start-up trials).
The preset's own values are enqueued as the first trial of a new study
(``--no-enqueue-preset``: not), so the study measures the paper's point on the same footing.

Storage: a real database, so a study survives its processes: ``sqlite:///OUT/study.db`` by
default, or any SQLAlchemy URL (``--storage postgresql://...``) to share one study between
machines. A new run with the same ``--storage`` and ``--study-name`` resumes the study
(``load_if_exists``) and runs trials until ``--trials`` have completed (with several
workers, up to ``workers - 1`` more: each stops after its own trial); a study made with
other settings (preset, grid, seeds, epochs, space, base config) is refused. Trials send a
heartbeat every ``--heartbeat`` seconds; a trial left RUNNING by a killed process is marked
FAIL after two missed heartbeats and requeued with the same parameters (twice at most).
``--workers N`` runs N optimization loops at once on the study: local processes, or Ray tasks
with ``--backend ray`` (every Ray node must reach the storage and ``--out``: a shared disk
for SQLite, or a database server).

Writes in ``OUT``: ``best.toml`` (the best trial's configuration at the preset's full
schedule: ``pisces jumping train --config OUT/best.toml``;
:func:`pisces.experiments.configs.load_config_file` reads it),
``best.json`` (best trial, the preset's trial, counts), ``trials.csv``, and Optuna's plots
``history.png``, ``importances.png`` (with ≥ 2 completed trials and ≥ 2 parameters),
``slice.png``.

Bad input is one line and exit status 2 before any trial: an unknown preset, field or
parameter, bad seeds, an unusable storage URL, a study of other settings, an unreachable
Ray address, Optuna not installed (``pip install 'pisces[optuna]'``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pisces.argtypes import nonnegative_int, positive_int
from pisces.errors import UsageError
from pisces.experiments import backends, configs
from pisces.experiments.jumping.config import EXECUTION_FIELDS, PRESETS, JumpingConfig
from pisces.experiments.runs import ResultStore, atomic_open, save_figure_atomic, write_json_atomic
from pisces.experiments.seeds import parse_seeds


@dataclass(frozen=True)
class SearchParam:
    """One dimension of the space: a float field of :class:`JumpingConfig` drawn from
    ``[low, high]``, log-uniformly when ``log``."""

    field: str
    low: float
    high: float
    log: bool

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"{self.field}: need finite low < high, got {self.low}, {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"{self.field}: a log-uniform range needs low > 0")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        return f"{self.field} {'log-' if self.log else ''}uniform [{self.low:g}, {self.high:g}]"


#: the search space (see the module docstring for the sources of each range).
SPACE: dict[str, SearchParam] = {
    "learning_rate": SearchParam("learning_rate", 1e-4, 1e-2, log=True),
    "alpha": SearchParam("alpha", 1e-2, 1e2, log=True),
    "temperature": SearchParam("temperature", 0.05, 2.0, log=True),
    "l2_reg": SearchParam("l2_reg", 1e-6, 1e-3, log=True),
    "dropout": SearchParam("dropout", 0.0, 0.5, log=False),
}
#: short names accepted by ``--params``.
ALIASES = {"lr": "learning_rate", "l2": "l2_reg", "tau": "temperature"}
#: the fields the schedule of a study sets (not carried into ``best.toml``).
SCHEDULE_FIELDS = ("epochs", "no_validation", "eval_every")


def default_params(preset: JumpingConfig) -> tuple[str, ...]:
    """The parameters tuned for ``preset`` when ``--params`` is not given."""
    names = ["learning_rate"]
    if preset.alpha > 0:
        names.append("alpha")
        if preset.embedding == "cme":
            names.append("temperature")
    if preset.l2_reg > 0:
        names.append("l2_reg")
    names.append("dropout")
    return tuple(names)


def parse_params(text: str) -> tuple[str, ...]:
    """``"lr,alpha,l2"`` → field names of :data:`SPACE` (``ValueError`` naming an unknown one)."""
    names = []
    for item in text.split(","):
        name = ALIASES.get(item.strip(), item.strip())
        if name not in SPACE:
            raise ValueError(
                f"--params: unknown parameter {item.strip()!r}; choose from {sorted(SPACE)} "
                f"(or {sorted(ALIASES)})"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class TuneSettings:
    """Everything a study's workers need (picklable; validated on construction).

    ``base``: the preset with the user's overrides and the study's schedule (``epochs``,
    ``no_validation=False``); ``overrides``: the user's own ``--set`` fields (carried into
    ``best.toml``); ``out``: the study folder (absolute).
    """

    base: JumpingConfig
    seeds: tuple[int, ...]
    params: tuple[str, ...]
    out: Path
    storage: str
    study_name: str
    trials: int
    overrides: tuple[tuple[str, Any], ...] = ()
    sampler: str = "tpe"
    sampler_seed: int = 0
    startup_trials: int = 10
    threads: int = 1
    device: str = "cpu"
    heartbeat: int = 60
    workers: int = 1
    enqueue_preset: bool = True

    def __post_init__(self) -> None:
        errors = []
        if self.base.no_validation:
            errors.append("the objective needs the validation split (no_validation=False)")
        if not self.seeds:
            errors.append("no seeds")
        unknown = [p for p in self.params if p not in SPACE]
        if unknown or not self.params:
            errors.append(f"params must be a non-empty subset of {sorted(SPACE)}, got {unknown}")
        if self.sampler not in ("tpe", "gp"):
            errors.append(f"sampler must be tpe or gp, got {self.sampler!r}")
        for name in ("trials", "threads", "heartbeat", "workers"):
            if getattr(self, name) < 1:
                errors.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.startup_trials < 0:
            errors.append(f"startup_trials must be >= 0, got {self.startup_trials}")
        if not self.out.is_absolute():
            errors.append(f"out must be absolute, got {self.out}")
        if errors:
            raise ValueError("invalid TuneSettings: " + "; ".join(errors))

    def identity(self) -> dict[str, Any]:
        """What defines the study's objective (stored in the study; a resume must match)."""
        config = {
            k: v
            for k, v in self.base.to_dict().items()
            if k not in EXECUTION_FIELDS and k not in self.params and k != "source"
        }
        return {
            "objective": "mean final validation_solved_pct over seeds",
            "seeds": list(self.seeds),
            "space": {p: [SPACE[p].low, SPACE[p].high, SPACE[p].log] for p in self.params},
            "config": config,
        }

    def trial_folder(self, number: int) -> Path:
        return self.out / "trials" / f"trial-{number:04d}"


# ---------------------------------------------------------------------------- optuna glue


def import_optuna() -> Any:
    """The ``optuna`` module (quiet about its experimental features), or a UsageError."""
    try:
        import optuna
    except ImportError:
        raise UsageError(
            "pisces tune needs Optuna, an optional extra: pip install 'pisces[optuna]'"
        ) from None
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    return optuna


def open_storage(settings: TuneSettings) -> Any:
    """The study's :class:`optuna.storages.RDBStorage` (heartbeat on, stale trials retried
    twice); a one-line :class:`UsageError` when the URL cannot be used."""
    optuna = import_optuna()
    url = settings.storage
    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}  # several workers on one file: wait, not fail
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    callback: dict[str, Any] = (
        {"heartbeat_stale_trial_callback": retry(max_retry=2)}
        if retry is not None
        else {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=2)}
    )
    try:
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine,
            heartbeat_interval=settings.heartbeat,
            grace_period=2 * settings.heartbeat,
            **callback,
        )
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        why = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        raise UsageError(
            f"--storage {url}: cannot open this database ({why}); use e.g. "
            "sqlite:///DIR/study.db or a SQLAlchemy URL of a database server"
        ) from None


def sampler_seed(settings: TuneSettings, worker: int, trials_before: int) -> int:
    """The sampler seed of worker ``worker`` of a process that found ``trials_before`` trials
    in the study: a function of ``--sampler-seed``, the worker and the study's state, so that
    a resumed study does not draw its random start-up trials again (a process that restarted
    the seed alone would repeat the first session's draws)."""
    import numpy as np

    words = [settings.sampler_seed, worker, trials_before]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def make_sampler(settings: TuneSettings, worker: int = 0, trials_before: int = 0) -> Any:
    """The seeded sampler of worker ``worker`` (:func:`sampler_seed`)."""
    optuna = import_optuna()
    seed = sampler_seed(settings, worker, trials_before)
    if settings.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=settings.startup_trials)
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=settings.startup_trials,
        multivariate=True,
        constant_liar=settings.workers > 1,
    )


def load_study(settings: TuneSettings, worker: int = 0) -> Any:
    """Create or load the study; :class:`UsageError` if it was made with other settings."""
    optuna = import_optuna()
    study = optuna.create_study(
        study_name=settings.study_name,
        storage=open_storage(settings),
        sampler=make_sampler(settings, worker, 0),
        direction="maximize",
        load_if_exists=True,
    )
    # reseed from the study's state (see sampler_seed): a resumed study draws afresh
    trials_before = len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(settings, worker, trials_before)
    wanted = json.loads(json.dumps(settings.identity()))
    stored = study.user_attrs.get("pisces")
    if stored is None:
        study.set_user_attr("pisces", wanted)
        return study
    if isinstance(stored.get("config"), dict):  # fields added to JumpingConfig since: defaults
        defaults = configs.defaults(JumpingConfig)
        stored = stored | {
            "config": {k: v for k, v in defaults.items() if k in wanted["config"]}
            | stored["config"]
        }
    if stored != wanted:
        keys = sorted(k for k in wanted if stored.get(k) != wanted.get(k))
        detail: Any = keys
        if keys == ["config"]:
            detail = configs.describe_differences(stored["config"], wanted["config"])
        raise UsageError(
            f"study {settings.study_name!r} in {settings.storage} was made with other settings "
            f"({detail}); use another --study-name or --storage"
        )
    return study


def completed(study: Any) -> list[Any]:
    optuna = import_optuna()
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def objective(trial: Any, settings: TuneSettings) -> float:
    """Train the trial's configuration on every seed; the mean final validation %."""
    import torch

    from pisces.experiments.jumping import cli
    from pisces.experiments.jumping.trainer import NonFiniteLossError, run

    values = {
        p: trial.suggest_float(p, SPACE[p].low, SPACE[p].high, log=SPACE[p].log)
        for p in settings.params
    }
    cfg = settings.base.replace(**values)
    folder = settings.trial_folder(trial.number)
    store = cli.store_of(folder)
    records: dict[int, dict[str, Any]] = {}
    todo = store.pending(
        settings.seeds,
        cli.mismatch(cfg, settings.device, settings.threads),
        lambda seed, record: records.__setitem__(seed, record),
    )
    torch.set_num_threads(settings.threads)
    trial.set_user_attr("folder", str(folder.relative_to(settings.out)))
    for seed in todo:
        try:
            record, trainer = run(cfg, seed, settings.device)
        except NonFiniteLossError as exc:
            trial.set_user_attr("non_finite", str(exc))
            return 0.0
        records[seed] = cli.finish_seed(record, trainer, store)
    val = [float(records[s]["final"]["validation_solved_pct"]) for s in settings.seeds]
    trial.set_user_attr("validation_solved_pct", val)
    trial.set_user_attr(
        "test_solved_pct", [float(records[s]["test_solved_pct"]) for s in settings.seeds]
    )
    return sum(val) / len(val)


def optimize_worker(settings: TuneSettings, worker: int, n_trials: int) -> int:
    """One optimization loop on the shared study (a process of ``--workers``, or a Ray task):
    trials until the study has ``settings.trials`` completed ones (or ``n_trials`` ran here),
    the outputs (:func:`write_outputs`) refreshed after each completed trial; returns the
    number of trials it ran."""
    optuna = import_optuna()
    study = load_study(settings, worker)
    stop = optuna.study.MaxTrialsCallback(
        settings.trials, states=(optuna.trial.TrialState.COMPLETE,)
    )
    ran = [0]

    def after(study: Any, trial: Any) -> None:
        ran[0] += 1
        if trial.state == optuna.trial.TrialState.COMPLETE:
            write_outputs(study, settings, quiet=True)

    if len(completed(study)) < settings.trials:
        study.optimize(
            lambda trial: objective(trial, settings), n_trials=n_trials, callbacks=[stop, after]
        )
    return ran[0]


def enqueue_preset(study: Any, settings: TuneSettings) -> dict[str, float]:
    """Enqueue the preset's values of the tuned parameters as the next trial (those outside
    the space are left to the sampler); returns what was enqueued."""
    preset = PRESETS[settings.base.preset]
    point = {
        p: float(getattr(preset, p))
        for p in settings.params
        if SPACE[p].contains(float(getattr(preset, p)))
    }
    study.enqueue_trial(point, user_attrs={"enqueued": f"preset {settings.base.preset}"})
    return point


# --------------------------------------------------------------------------------- outputs


def best_config(settings: TuneSettings, params: Mapping[str, float], source: str) -> JumpingConfig:
    """The preset at its own schedule with the user's overrides and ``params``."""
    from pisces.experiments.jumping.config import make_config

    keep = {k: v for k, v in settings.overrides if k not in SCHEDULE_FIELDS and k != "grid"}
    cfg = make_config(settings.base.preset, settings.base.grid, **keep)
    return cfg.replace(**dict(params), source=source)


def _trial_summary(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number,
        "value": trial.value,
        "params": trial.params,
        "validation_solved_pct": trial.user_attrs.get("validation_solved_pct"),
        "test_solved_pct": trial.user_attrs.get("test_solved_pct"),
        "folder": trial.user_attrs.get("folder"),
    }


def write_outputs(
    study: Any, settings: TuneSettings, *, quiet: bool = False
) -> dict[str, Any] | None:
    """``best.toml``, ``best.json``, ``trials.csv`` and the plots (atomically: several workers
    may refresh them at once); returns ``best.json``'s content (None when no trial has
    completed). ``quiet``: no note on stderr for a plot that cannot be drawn."""
    done = completed(study)
    if not done:
        return None
    best = max(done, key=lambda t: (t.value, -t.number))
    enqueued = [t for t in done if "enqueued" in t.user_attrs]
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    seeds = ",".join(map(str, settings.seeds))
    source = (
        f"pisces tune: best trial {best.number} of study {settings.study_name!r} "
        f"({len(done)} trials): {best.value:.1f}% of validation tasks solved at "
        f"{settings.base.epochs} epochs, mean of seeds {seeds}"
    )
    cfg = best_config(settings, best.params, source)
    header = [
        source,
        f"storage {settings.storage}; train it with: pisces jumping train --config best.toml",
        f"search space: {'; '.join(SPACE[p].describe() for p in settings.params)}",
    ]
    with atomic_open(settings.out / "best.toml") as f:
        f.write(configs.config_toml(cfg, header))
    summary = {
        "study": settings.study_name,
        "storage": settings.storage,
        "trials": counts,
        "best": _trial_summary(best),
        "preset_trial": _trial_summary(enqueued[0]) if enqueued else None,
        "settings": settings.identity(),
        "sampler": settings.sampler,
        "sampler_seed": settings.sampler_seed,
    }
    write_json_atomic(settings.out / "best.json", summary)
    frame = study.trials_dataframe(
        attrs=("number", "state", "value", "params", "user_attrs", "duration")
    )
    with atomic_open(settings.out / "trials.csv") as f:
        frame.to_csv(f, index=False)
    save_plots(study, settings.out, quiet=quiet)
    return summary


def save_plots(study: Any, out: Path, *, quiet: bool = False) -> list[Path]:
    """Optuna's matplotlib plots as PNG: optimization history, slice, and parameter
    importances where they can be computed; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from optuna.visualization import matplotlib as ovm

    written = []
    plots = [("history.png", ovm.plot_optimization_history), ("slice.png", ovm.plot_slice)]
    done = completed(study)
    if len(done) >= 2 and len({p for t in done for p in t.params}) >= 2:
        plots.append(("importances.png", ovm.plot_param_importances))
    for name, plot in plots:
        # Optuna's plots set the ggplot style globally: keep it inside this block, so that
        # later figures of the process (the next trial's solved maps) keep the defaults
        with plt.rc_context(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. a slice of one value
            try:
                axes = plot(study)
            except Exception as exc:  # an optional figure never fails a study
                if not quiet:
                    print(f"pisces tune: no {name} ({type(exc).__name__}: {exc})", file=sys.stderr)
                continue
            fig = np.ravel(axes)[0].figure
            save_figure_atomic(fig, out / name, dpi=110, bbox_inches="tight")
            plt.close(fig)
        written.append(out / name)
    return written


def comparison_table(summary: Mapping[str, Any], params: Sequence[str]) -> str:
    """Markdown: the best trial beside the preset's trial (parameters, validation %)."""
    rows = [("best", summary["best"])]
    if summary.get("preset_trial"):
        rows.append(("preset", summary["preset_trial"]))
    head = "| trial | " + " | ".join(params) + " | validation % (mean) | per seed | test % |"
    lines = [head, "|" + "---|" * (len(params) + 4)]
    for label, t in rows:
        vals = " | ".join(f"{t['params'].get(p, float('nan')):.3g}" for p in params)
        per = ", ".join(f"{v:.1f}" for v in t["validation_solved_pct"] or [])
        test = ", ".join(f"{v:.1f}" for v in t["test_solved_pct"] or [])
        lines.append(f"| {label} ({t['number']}) | {vals} | {t['value']:.1f} | {per} | {test} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------- the CLI


def build_settings(args: argparse.Namespace) -> TuneSettings:
    """The settings of the command line (``UsageError`` for bad input)."""
    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.runs import resolve_device

    if args.preset not in PRESETS:
        raise UsageError(f"--preset: unknown preset {args.preset!r}; choose from {sorted(PRESETS)}")
    try:
        seeds = tuple(parse_seeds(args.seeds))
        overrides = configs.parse_overrides(args.set, JumpingConfig)
        fixed = [n for n in ("preset", "source", "epochs", "no_validation") if n in overrides]
        if fixed:
            raise ValueError(f"--set {fixed[0]}: set by the study (--preset, --epochs), not --set")
        params = parse_params(args.params) if args.params else default_params(PRESETS[args.preset])
        tuned = sorted(set(overrides) & set(params))
        if tuned:
            raise ValueError(f"--set {tuned[0]}: a tuned parameter cannot be fixed too")
        schedule = {"epochs": args.epochs, "no_validation": False, "eval_every": 0}
        grid = overrides.pop("grid", args.grid)
        base = make_config(args.preset, grid, **(schedule | overrides))
        out = Path(args.out).absolute()
        storage = args.storage or f"sqlite:///{out / 'study.db'}"
        device = resolve_device(args.device)
        return TuneSettings(
            base=base,
            seeds=seeds,
            params=params,
            out=out,
            storage=storage,
            study_name=args.study_name or f"{args.preset}-{grid}",
            trials=args.trials,
            overrides=tuple(sorted(overrides.items())),
            sampler=args.sampler,
            sampler_seed=args.sampler_seed,
            startup_trials=args.startup_trials,
            threads=args.threads,
            device=device,
            heartbeat=args.heartbeat,
            workers=args.workers,
            enqueue_preset=not args.no_enqueue_preset,
        )
    except ValueError as exc:
        raise UsageError(" ".join(str(exc).split())) from None


def tune_command(args: argparse.Namespace) -> int:
    """``pisces tune``: see the module docstring."""
    if args.address and args.backend != "ray":
        raise UsageError("--address needs --backend ray")
    settings = build_settings(args)
    import_optuna()
    if args.backend == "ray":
        if args.address:
            backends.check_reachable(args.address)
        else:
            backends.import_ray()
    try:
        ResultStore(settings.out).check_writable()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    study = load_study(settings)
    if settings.enqueue_preset and not args.write_only and not study.get_trials(deepcopy=False):
        point = enqueue_preset(study, settings)
        print(f"trial 0 = preset {settings.base.preset}: {point}")
    have = len(completed(study))
    left = max(0, settings.trials - have)
    print(
        f"study {settings.study_name!r} ({settings.storage}): {have} trial(s) completed, "
        f"{left} to go; objective: % of {settings.base.grid}-grid validation tasks solved "
        f"at epoch {settings.base.epochs}, mean of seeds {list(settings.seeds)}; space: "
        + "; ".join(SPACE[p].describe() for p in settings.params)
    )
    if left and not args.write_only:
        if settings.workers == 1 and args.backend == "local":
            optimize_worker(settings, 0, left)
        else:
            tasks = [
                backends.Task(
                    key=k, fn=optimize_worker, args=(settings, k, left), cpus=settings.threads
                )
                for k in range(settings.workers)
            ]
            events = _WorkerEvents()
            if args.backend == "ray":
                with backends.ray_session(args.address, num_cpus=settings.workers) as ray:
                    backends.run_ray(ray, tasks, events)
            else:
                backends.run_local(tasks, events, workers=settings.workers)
            if events.failures:
                print(f"pisces tune: {len(events.failures)} worker(s) failed", file=sys.stderr)
    summary = write_outputs(load_study(settings), settings)
    if summary is None:
        print("no trial completed yet")
        return 1
    print(f"\n{summary['trials']} in {settings.out}")
    print(comparison_table(summary, settings.params), end="")
    print(f"best configuration: {settings.out / 'best.toml'}")
    return 0


class _WorkerEvents:
    """Lines for the study's worker processes (trials report through Optuna's log)."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def started(self, task: backends.Task) -> None:
        pass

    def finished(self, task: backends.Task, value: Any) -> None:
        print(f"worker {task.key}: ran {value} trial(s)")

    def failed(self, task: backends.Task, why: str) -> None:
        self.failures.append(why)
        print(f"worker {task.key}: FAILED: {why}", file=sys.stderr)

    def retrying(self, task: backends.Task, why: str) -> None:
        print(f"worker {task.key}: {why}; restarting it on the study", file=sys.stderr)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces tune``."""
    parser.add_argument("--preset", required=True, help=f"one of {sorted(PRESETS)}")
    parser.add_argument("--grid", default="wide", choices=("wide", "narrow"), help="default wide")
    parser.add_argument(
        "--epochs", type=positive_int, default=200, help="epochs a trial seed (default 200)"
    )
    parser.add_argument("--seeds", default="1-2", help="seeds a trial, averaged (default 1-2)")
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=20,
        help="completed trials wanted in the study (default 20)",
    )
    parser.add_argument("--out", type=Path, required=True, help="study folder")
    parser.add_argument(
        "--storage", default=None, help="SQLAlchemy URL (default sqlite:///OUT/study.db)"
    )
    parser.add_argument("--study-name", default=None, help="default <preset>-<grid>")
    parser.add_argument(
        "--params",
        default=None,
        help=f"comma-separated, from {sorted(SPACE)} (aliases {sorted(ALIASES)}); "
        "default: by preset",
    )
    parser.add_argument("--sampler", choices=("tpe", "gp"), default="tpe", help="default tpe")
    parser.add_argument("--sampler-seed", type=nonnegative_int, default=0, help="default 0")
    parser.add_argument(
        "--startup-trials",
        type=nonnegative_int,
        default=10,
        help="random trials before the model (default 10)",
    )
    parser.add_argument(
        "--no-enqueue-preset",
        action="store_true",
        help="do not start a new study with the preset's values",
    )
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="optimization loops at once (default 1)"
    )
    parser.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="where --workers run"
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="HOST:PORT",
        help="with --backend ray: an existing cluster",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=1, help="torch threads a seed (default 1)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument(
        "--heartbeat",
        type=positive_int,
        default=60,
        help="trial heartbeat [s]; a trial silent for twice this is failed and requeued "
        "(default 60)",
    )
    parser.add_argument(
        "--write-only",
        action="store_true",
        help="run no trial: write best.toml, best.json, trials.csv and the plots from the study "
        "as it is (the same settings; safe while other processes work on it)",
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="override a JumpingConfig field of every trial (repeatable)",
    )
    parser.set_defaults(func=tune_command)
