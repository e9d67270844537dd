"""``pisces sweep SPEC``: many seeds of many configurations from one TOML file, resumable.

::

    pisces sweep sweep.toml --workers 2
    pisces sweep sweep.toml --backend ray --address 10.0.0.5:6379

The spec lists jobs; every job is one preset of one benchmark with overrides and seeds::

    out = "runs/sweep"          # root folder; per-job folders go under it
    threads = 1                 # torch threads a seed (default 1; a job may set its own)

    [[job]]
    benchmark = "jumping"
    preset = "dropout-l2"
    grid = "wide"
    seeds = "1-2"               # the seed syntax of --seeds ("1-3,7"), an int, or a list
    epochs = 2                  # any other key is a config field, checked like --set

    [[job]]
    benchmark = "lqr"
    preset = "psm"
    distractors = 500
    seeds = "1-10"
    name = "psm-nd500-short"    # optional: the folder out/<benchmark>/<name>
    iterations = 2000

Keys of every job: ``benchmark`` (:data:`BENCHMARKS`), ``preset``, ``seeds``, optional
``name`` (folder ``OUT/<benchmark>/<name>``; default ``<preset>-<grid>`` for jumping,
``<preset>-nd<distractors>`` for LQR), optional ``out`` (the job's folder itself, relative
to the current directory like every ``--out``: point it at an existing ``train`` folder to
add seeds to it), optional ``threads``. Benchmark keys: jumping ``device`` (default
``cpu``); LQR ``distractors`` (required); Distracting Control (``dmc``) ``domain`` and
``task`` (required), ``pairs`` (the ``pairs.npz`` of ``pisces dmc collect``, required by the
PSE presets), ``video_root`` (a DAVIS folder; default the offline substitutes), ``device``
and ``checkpoint_every`` (env steps, default 10000: a DCS seed keeps its mid-run checkpoint
in its folder, so a retried or rerun seed resumes from it; with Ray, every node must then
see the output folder). Every other key is a field of the benchmark's config dataclass, typed
from it and validated before any work.

Each (job, seed) is one unit of work; it runs through the benchmark's ``(config, seed) →
record`` entry point in a worker and its record is written by this process, atomically, to
exactly the files ``train`` writes (``seed-<s>.json`` + ``seed-<s>.png`` for the jumping task,
``seed_<s>.json`` for LQR, ``seed-<s>.json`` + curves PNG for DCS): a folder made by ``sweep``
resumes with ``train`` and vice versa.
Seeds whose record exists are skipped; a folder holds one configuration (a job whose
configuration differs from a record there is refused before any work, naming the record).
A unit whose worker dies (SIGKILL, OOM) is retried up to ``--retries`` times (default 2); a
unit that raises fails without a retry (the same seed fails the same way) and the others go
on; the exit status is 1 if any unit failed. Backends (:mod:`pisces.experiments.backends`):
``local`` (default), ``--workers`` processes; ``ray``, an existing cluster (``--address``;
every node needs this package installed) or a local cluster of ``--workers`` CPUs started
for the sweep (Ray runs task workers at nice 15, its ``worker_niceness``). Records come back
to this process, which writes them: no node but this one needs to see the output folder
(``inject_sigkill`` aside). At the end a table of the jobs, then each benchmark's report over
the sweep's folders.

Bad input is one line and exit status 2 before any work: TOML syntax (line and column, from
``tomllib``), the job (index and line of its ``[[job]]``) and the key for an unknown
benchmark, preset or field, bad seeds or values, two jobs with different configurations in
one folder, a folder that holds another configuration or a corrupt record, an unreachable
Ray address.

Fault injection (tests): a job key ``inject_sigkill = [2]`` makes the worker running seed 2
send itself SIGKILL mid-job (after its first epoch, or after training for LQR) on its first
attempt; the marker file ``.sigkill-seed-<s>`` in the job's folder records that attempt, so
the retry runs normally. It exists to test the retry path with a real dead process.

Adding a benchmark: one :class:`Benchmark` entry in :data:`BENCHMARKS` (how to build its
config from a job, the store of a folder, the resume check, the function that computes one
seed in a worker, the one that writes it, its report).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pisces.argtypes import nonnegative_int, positive_int
from pisces.errors import UsageError
from pisces.experiments import backends, configs
from pisces.experiments.runs import ConfigMismatch, CorruptResult, ResultStore
from pisces.experiments.seeds import parse_seeds

#: keys of every job (the rest are the benchmark's own keys and config fields).
COMMON_KEYS = ("benchmark", "preset", "seeds", "name", "out", "threads", "inject_sigkill")
#: top-level keys of a spec.
TOP_KEYS = ("out", "threads", "job")


# ------------------------------------------------------------------------------ benchmarks


@dataclass(frozen=True)
class Benchmark:
    """How the sweep runs one benchmark.

    ``config_path``: ``"module:Class"`` of its config dataclass. ``keys``: the job keys of
    this benchmark that are not config fields, with their default (``None``: required).
    ``fixed``: config fields a job may not set (the preset's name and
    source, or a field given by a key). ``build(preset, keys, overrides)`` → the validated
    config (``ValueError`` naming the problem). ``folder(preset, config)`` → the default folder
    name. ``compute(job, seed, midway)`` runs in a worker and returns the record
    (``midway()`` is called at least once mid-job: the fault-injection point). ``write(store,
    record)`` writes it in the sweep's process. ``mismatch(job)`` → the resume check of
    :meth:`ResultStore.pending`. ``report``: ``"module:configure"`` of the report verb.
    """

    name: str
    config_path: str
    keys: Mapping[str, Any]
    fixed: tuple[str, ...]
    build: Callable[[str, Mapping[str, Any], dict[str, Any]], Any]
    folder: Callable[[str, Any], str]
    store_of: Callable[[str | Path], ResultStore]
    mismatch: Callable[[Job], Callable[[dict], str | None]]
    compute: Callable[[Job, int, Callable[[], None]], dict]
    write: Callable[[ResultStore, dict], None]
    describe: Callable[[dict], str]
    report: str

    @property
    def config_class(self) -> type:
        """The config dataclass (``config_path`` = ``"module:Class"``, imported when asked:
        listing the benchmarks imports none of them)."""
        import importlib

        module, _, name = self.config_path.partition(":")
        return getattr(importlib.import_module(module), name)


def _jumping_build(preset: str, keys: Mapping[str, Any], overrides: dict[str, Any]) -> Any:
    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.runs import resolve_device

    if not isinstance(keys["device"], str):
        raise ValueError(f"device: a string (cpu, cuda, cuda:N, auto), got {keys['device']!r}")
    resolve_device(keys["device"])  # ValueError naming the device
    overrides = dict(overrides)
    return make_config(preset, overrides.pop("grid", "wide"), **overrides)


def _jumping_mismatch(job: Job) -> Callable[[dict], str | None]:
    from pisces.experiments.jumping import cli
    from pisces.experiments.runs import resolve_device

    return cli.mismatch(job.config, resolve_device(job.option("device")), job.threads)


def _jumping_compute(job: Job, seed: int, midway: Callable[[], None]) -> dict:
    from pisces.experiments.jumping.trainer import run
    from pisces.experiments.runs import cpu_model, resolve_device

    record, _ = run(
        job.config, seed, resolve_device(job.option("device")), on_epoch=lambda _: midway()
    )
    return record | {"cpu": cpu_model()}  # the worker's CPU, stamped where it ran


def _jumping_write(store: ResultStore, record: dict) -> None:
    from pisces.experiments.jumping import cli

    store.write(record)  # what `jumping train` writes (cli.finish_seed without --save-model)
    cli.draw_solved_map(store, record)


def _jumping_store(out: str | Path) -> ResultStore:
    from pisces.experiments.jumping import cli

    return cli.store_of(out)


def _jumping_describe(record: dict) -> str:
    from pisces.experiments.jumping.records import describe

    return describe(record)


def _lqr_build(preset: str, keys: Mapping[str, Any], overrides: dict[str, Any]) -> Any:
    from pisces.experiments.lqr.config import get_preset

    nd = keys["distractors"]
    if isinstance(nd, bool) or not isinstance(nd, int) or nd < 1:
        raise ValueError(f"distractors must be an integer >= 1, got {nd!r}")
    return get_preset(preset).replace(n_distractors=nd, **overrides)


def _lqr_mismatch(job: Job) -> Callable[[dict], str | None]:
    from pisces.experiments.lqr import cli

    wanted = cli.comparable(dataclasses.asdict(job.config))

    def check(record: dict) -> str | None:
        if "config" not in record:
            return "no config in the record"
        return configs.describe_differences(cli.comparable(record["config"]), wanted)

    return check


def _lqr_compute(job: Job, seed: int, midway: Callable[[], None]) -> dict:
    from pisces.experiments.lqr.train import run

    record = run(job.config, seed, preset=job.preset)
    midway()
    return record


def _lqr_write(store: ResultStore, record: dict) -> None:
    store.write(record)  # what `lqr train` writes


def _lqr_store(out: str | Path) -> ResultStore:
    from pisces.experiments.lqr import cli

    return cli.store_of(out)


def _lqr_describe(record: dict) -> str:
    return f"test error {record['test_error']:.3f}"


def _dmc_build(preset: str, keys: Mapping[str, Any], overrides: dict[str, Any]) -> Any:
    from pisces.experiments.dmc.config import make_config
    from pisces.experiments.runs import resolve_device

    for key in ("domain", "task", "device", "pairs", "video_root"):
        if not isinstance(keys[key], str):
            raise ValueError(f"{key}: a string, got {keys[key]!r}")
    every = keys["checkpoint_every"]
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise ValueError(f"checkpoint_every: an integer >= 0 (env steps), got {every!r}")
    resolve_device(keys["device"])  # ValueError naming the device
    config = make_config(preset, keys["domain"], keys["task"], **overrides)
    if config.method == "drq-pse" and not keys["pairs"]:
        raise ValueError(f'pairs: preset {preset} (DrQ + PSEs) needs pairs = "PATH/pairs.npz"')
    if config.method == "drq" and keys["pairs"]:
        raise ValueError(f"pairs: preset {preset} (DrQ) takes no pair data")
    if keys["pairs"]:
        from pisces.experiments.dmc.collect import pairs_path

        if not pairs_path(keys["pairs"]).is_file():
            raise ValueError(f"pairs: no pair data at {pairs_path(keys['pairs'])}")
    return config


def _dmc_pairs(job: Job) -> str | None:
    """The job's pairs file as an absolute path (``None`` for DrQ)."""
    from pisces.experiments.dmc.collect import pairs_path

    return str(pairs_path(job.option("pairs")).absolute()) if job.option("pairs") else None


def _dmc_mismatch(job: Job) -> Callable[[dict], str | None]:
    from pisces.experiments.dmc import cli
    from pisces.experiments.dmc.teacher import file_digest
    from pisces.experiments.runs import resolve_device

    pairs = _dmc_pairs(job)
    digest = None if pairs is None else file_digest(Path(pairs))
    videos = job.option("video_root") or "substitute"
    return cli.mismatch(
        job.config, resolve_device(job.option("device")), job.threads, digest, videos
    )


def _dmc_compute(job: Job, seed: int, midway: Callable[[], None]) -> dict:
    """What ``dmc train`` computes for one seed, its mid-run checkpoint in the job's folder
    (so a retried or rerun seed resumes from it: the workers must see that folder)."""
    from pisces.experiments.dmc import cli
    from pisces.experiments.dmc.collect import read_pairs
    from pisces.experiments.dmc.train import pair_dataset, run
    from pisces.experiments.runs import resolve_device

    device = resolve_device(job.option("device"))
    pairs = info = None
    if _dmc_pairs(job) is not None:
        data, info = read_pairs(_dmc_pairs(job))
        pairs = pair_dataset(data, info, job.config, device)
        del data
    every = job.option("checkpoint_every")
    midrun = cli.midrun_path(cli.store_of(job.out), seed)
    midrun.parent.mkdir(parents=True, exist_ok=True)
    record = run(
        job.config,
        seed,
        device=device,
        pairs=pairs,
        pairs_info=info,
        video_root=job.option("video_root") or None,
        on_episode=lambda trainer, entry: midway(),
        checkpoint=midrun if every > 0 or midrun.exists() else None,
        checkpoint_every=every,
    )
    return record | {"command": None}


def _dmc_write(store: ResultStore, record: dict) -> None:
    from pisces.experiments.dmc import cli

    store.write(record)  # what `dmc train` writes: the JSON, then its curves, then no checkpoint
    seed = int(record["seed"])
    try:
        cli.plot_record(record, store.path(seed).with_suffix(".png"))
    except Exception as exc:  # a figure never loses the JSON
        print(f"warning: could not draw the curves of seed {seed}: {exc}", file=sys.stderr)
    cli.midrun_path(store, seed).unlink(missing_ok=True)


def _dmc_store(out: str | Path) -> ResultStore:
    from pisces.experiments.dmc import cli

    return cli.store_of(out)


def _dmc_describe(record: dict) -> str:
    from pisces.experiments.dmc import cli

    return cli.describe(record)


def _benchmarks() -> dict[str, Benchmark]:
    return {
        "jumping": Benchmark(
            name="jumping",
            config_path="pisces.experiments.jumping.config:JumpingConfig",
            keys={"device": "cpu"},
            fixed=("preset", "source"),
            build=_jumping_build,
            folder=lambda preset, cfg: f"{preset}-{cfg.grid}",
            store_of=_jumping_store,
            mismatch=_jumping_mismatch,
            compute=_jumping_compute,
            write=_jumping_write,
            describe=_jumping_describe,
            report="pisces.experiments.jumping.report:configure_report",
        ),
        "lqr": Benchmark(
            name="lqr",
            config_path="pisces.experiments.lqr.config:LQRConfig",
            keys={"distractors": None},
            fixed=("n_distractors",),
            build=_lqr_build,
            folder=lambda preset, cfg: f"{preset}-nd{cfg.n_distractors}",
            store_of=_lqr_store,
            mismatch=_lqr_mismatch,
            compute=_lqr_compute,
            write=_lqr_write,
            describe=_lqr_describe,
            report="pisces.experiments.lqr.report:configure_report",
        ),
        "dmc": Benchmark(
            name="dmc",
            config_path="pisces.experiments.dmc.config:DMCConfig",
            keys={
                "domain": None,
                "task": None,
                "device": "cpu",
                "pairs": "",
                "video_root": "",
                "checkpoint_every": 10_000,
            },
            fixed=("preset", "source", "domain", "task"),
            build=_dmc_build,
            folder=lambda preset, cfg: f"{preset}-{cfg.domain}-{cfg.task}",
            store_of=_dmc_store,
            mismatch=_dmc_mismatch,
            compute=_dmc_compute,
            write=_dmc_write,
            describe=_dmc_describe,
            report="pisces.experiments.dmc.report:configure_report",
        ),
    }


#: benchmark name → :class:`Benchmark`. A new benchmark is one more entry.
BENCHMARKS: dict[str, Benchmark] = _benchmarks()


# ------------------------------------------------------------------------------------ jobs


@dataclass(frozen=True)
class Job:
    """One job of a spec: a preset of a benchmark with its overrides, for ``seeds``.

    ``index``: 1-based position in the spec; ``config``: the benchmark's validated config;
    ``out``: the job's result folder (absolute); ``options``: the benchmark's own keys
    (``(key, value)`` pairs); ``overrides``: the config fields the job set; ``inject_sigkill``:
    seeds whose first attempt kills its worker (fault injection, see the module docstring).
    """

    index: int
    benchmark: str
    preset: str
    seeds: tuple[int, ...]
    config: Any
    out: Path
    threads: int = 1
    options: tuple[tuple[str, Any], ...] = ()
    overrides: tuple[tuple[str, Any], ...] = ()
    inject_sigkill: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {self.benchmark!r}")
        if not isinstance(self.config, BENCHMARKS[self.benchmark].config_class):
            raise ValueError(f"config of job {self.index} is not a {self.benchmark} config")
        if not self.seeds or list(self.seeds) != sorted(set(self.seeds)) or self.seeds[0] < 0:
            raise ValueError(f"seeds must be distinct, sorted and >= 0, got {self.seeds}")
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if not self.out.is_absolute():
            raise ValueError(f"out must be an absolute path, got {self.out}")

    def option(self, key: str) -> Any:
        """The value of the benchmark key ``key``."""
        return dict(self.options)[key]

    @property
    def bench(self) -> Benchmark:
        return BENCHMARKS[self.benchmark]

    def label(self) -> str:
        return f"job {self.index} ({self.benchmark} {_show(self.out)})"


@dataclass(frozen=True)
class SweepSpec:
    """A parsed spec: its file, its output root and its jobs (in file order)."""

    path: Path
    out: Path
    jobs: tuple[Job, ...]


def _show(path: Path) -> str:
    """``path`` relative to the current directory when it lies under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _job_lines(text: str) -> list[int]:
    """1-based line of each ``[[job]]`` header, in order."""
    pattern = re.compile(r"^\s*\[\[\s*job\s*\]\]")
    return [i for i, line in enumerate(text.splitlines(), 1) if pattern.match(line)]


def _scalar_text(value: Any) -> str:
    """A TOML scalar as the text ``--set`` would take (``configs.convert`` parses it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"takes a single value, got {type(value).__name__} {value!r}")


def _seeds_of(value: Any) -> tuple[int, ...]:
    if isinstance(value, bool):
        raise ValueError(f'seeds: bad seeds {value!r}; use e.g. "1-10", 3 or [1, 4]')
    if isinstance(value, int):
        return tuple(parse_seeds(str(value)))
    if isinstance(value, str):
        return tuple(parse_seeds(value))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return tuple(parse_seeds(",".join(str(v) for v in value)))
    raise ValueError(f'seeds: bad seeds {value!r}; use e.g. "1-10", 3 or [1, 4]')


def parse_job(table: Mapping[str, Any], index: int, *, root: Path, threads: int = 1) -> Job:
    """One ``[[job]]`` table → a :class:`Job` (``ValueError`` naming the key)."""
    if not isinstance(table, Mapping):
        raise ValueError("must be a table ([[job]])")
    name = table.get("benchmark")
    if name not in BENCHMARKS:
        raise ValueError(f"benchmark: unknown benchmark {name!r}; choose from {sorted(BENCHMARKS)}")
    bench = BENCHMARKS[name]
    preset = table.get("preset")
    if not isinstance(preset, str):
        raise ValueError('preset: missing (a string, e.g. preset = "pse")')
    if "seeds" not in table:
        raise ValueError('seeds: missing (e.g. seeds = "1-10")')
    seeds = _seeds_of(table["seeds"])
    fields = {f.name for f in dataclasses.fields(bench.config_class)}
    keys: dict[str, Any] = dict(bench.keys)
    overrides: dict[str, Any] = {}
    for key, value in table.items():
        if key in COMMON_KEYS:
            continue
        if key in bench.keys:
            keys[key] = value
        elif key in bench.fixed:
            raise ValueError(f"{key}: set by the preset or a job key, not by a job")
        elif key in fields:
            try:
                overrides[key] = configs.convert(bench.config_class, key, _scalar_text(value))
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        else:
            known = sorted({*COMMON_KEYS, *bench.keys, *(fields - set(bench.fixed))})
            raise ValueError(f"unknown key {key!r} for a {name} job; keys: {known}")
    missing = sorted(k for k, v in keys.items() if v is None)
    if missing:
        raise ValueError(f"{missing[0]}: missing (a {name} job needs {missing})")
    job_threads = table.get("threads", threads)
    if isinstance(job_threads, bool) or not isinstance(job_threads, int) or job_threads < 1:
        raise ValueError(f"threads: must be an integer >= 1, got {job_threads!r}")
    kills = table.get("inject_sigkill", [])
    if not isinstance(kills, list) or not all(isinstance(s, int) for s in kills):
        raise ValueError(f"inject_sigkill: a list of seeds, got {kills!r}")
    try:
        config = bench.build(preset, keys, overrides)
    except ValueError as exc:
        raise ValueError(" ".join(str(exc).split())) from None
    if "out" in table and "name" in table:
        raise ValueError("give name or out, not both")
    if "out" in table:
        if not isinstance(table["out"], str) or not table["out"]:
            raise ValueError(f"out: a folder path, got {table['out']!r}")
        out = Path(table["out"])
    else:
        folder = table.get("name", bench.folder(preset, config))
        if not isinstance(folder, str) or not folder or "/" in folder or folder.startswith("."):
            raise ValueError(f"name: a folder name (no '/', not hidden), got {folder!r}")
        out = root / name / folder
    return Job(
        index=index,
        benchmark=name,
        preset=preset,
        seeds=seeds,
        config=config,
        out=out.absolute(),
        threads=job_threads,
        options=tuple(sorted(keys.items())),
        overrides=tuple(sorted(overrides.items())),
        inject_sigkill=tuple(sorted(set(kills))),
    )


def parse_spec(path: str | Path, out: str | Path | None = None) -> SweepSpec:
    """Read and check a spec (see the module docstring); ``out`` replaces its ``out``.

    Raises:
        UsageError: one line naming the file, and the job (index and line) and key where the
            problem lies; nothing is run or written.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the spec ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown top-level key {unknown[0]!r}; keys: {list(TOP_KEYS)}")
    root = out if out is not None else data.get("out")
    if not isinstance(root, str | Path) or not str(root):
        raise UsageError(f'{path}: no output root: set out = "DIR" in the spec or give --out')
    threads = data.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"{path}: threads must be an integer >= 1, got {threads!r}")
    tables = data.get("job")
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"{path}: no jobs; add at least one [[job]] table")
    lines = _job_lines(text)
    jobs = []
    for i, table in enumerate(tables, 1):
        where = f"job {i}" + (f" (line {lines[i - 1]})" if len(lines) == len(tables) else "")
        try:
            jobs.append(parse_job(table, i, root=Path(root), threads=threads))
        except ValueError as exc:
            raise UsageError(f"{path}: {where}: {exc}") from None
    _check_folders(path, jobs)
    return SweepSpec(path=path, out=Path(root).absolute(), jobs=tuple(jobs))


def _check_folders(path: Path, jobs: Sequence[Job]) -> None:
    """Two jobs may share a folder only with the same benchmark, configuration and execution
    (then their seeds add up)."""
    first: dict[Path, Job] = {}
    for job in jobs:
        other = first.setdefault(job.out, job)
        same = (other.benchmark, other.config, other.threads, other.options) == (
            job.benchmark,
            job.config,
            job.threads,
            job.options,
        )
        if not same:
            raise UsageError(
                f"{path}: jobs {other.index} and {job.index} write to the same folder "
                f"{_show(job.out)} with different configurations (one folder holds one); give "
                'one of them its own name = "..."'
            )


# ------------------------------------------------------------------------------ the units


def _sigkill_marker(job: Job, seed: int) -> Path:
    return job.out / f".sigkill-seed-{seed}"


def execute_unit(job: Job, seed: int) -> dict:
    """Compute one (job, seed) in this (worker) process with ``job.threads`` torch threads;
    returns its record (nothing is written, except the fault-injection marker)."""
    import torch

    torch.set_num_threads(job.threads)

    def midway() -> None:
        if seed not in job.inject_sigkill:
            return
        marker = _sigkill_marker(job, seed)
        marker.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(marker, "x") as f:  # first attempt only
                f.write(f"pid {os.getpid()} killed itself here (inject_sigkill)\n")
                f.flush()
                os.fsync(f.fileno())
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)

    return job.bench.compute(job, seed, midway)


def pending_units(spec: SweepSpec) -> tuple[list[tuple[Job, int]], dict[int, list[int]]]:
    """The (job, seed) units still to run, and per job index the seeds already done.

    Checks every folder first (writable; every record there of the job's configuration):
    :class:`UsageError` naming the job and the file otherwise. A seed listed by two jobs
    that share a folder is one unit."""
    units: list[tuple[Job, int]] = []
    done: dict[int, list[int]] = {}
    claimed: set[tuple[Path, int]] = set()
    for job in spec.jobs:
        store = job.bench.store_of(job.out)
        try:
            store.check_writable()
            todo = store.pending(job.seeds, job.bench.mismatch(job))
        except (ValueError, ConfigMismatch, CorruptResult) as exc:
            raise UsageError(f"{spec.path}: {job.label()}: {exc}") from None
        done[job.index] = sorted(set(job.seeds) - set(todo))
        for seed in todo:
            if (job.out, seed) not in claimed:
                claimed.add((job.out, seed))
                units.append((job, seed))
    return units, done


class _Progress:
    """The sweep's bar (seeds done / running / failed) and its per-unit lines; the
    :class:`backends.Events` of a sweep (a finished record is written here)."""

    def __init__(self, total: int, capacity: int, *, enabled: bool, ray: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            unit="seed",
            desc="sweep",
            disable=not enabled,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        self.capacity = capacity
        self.ray = ray
        self.in_flight = 0
        self.failures: list[tuple[Job, int, str]] = []
        self.ran: dict[int, list[int]] = {}
        self.start = time.perf_counter()
        self._started: dict[Any, float] = {}
        self._shown: dict[str, int] = {}
        self.refresh()

    def say(self, line: str) -> None:
        self.bar.write(line, file=sys.stdout)

    def refresh(self) -> None:
        """Show the counts when they changed (``running`` is exact for the local pool; for
        Ray, tasks in flight beyond the cluster's CPUs are shown as ``queued``)."""
        running = min(self.in_flight, self.capacity)
        post = {"running": running, "failed": len(self.failures)}
        if self.ray:
            post["queued"] = self.in_flight - running
        if post != self._shown:
            self._shown = post
            self.bar.set_postfix(post, refresh=True)

    # backends.Events
    def started(self, task: backends.Task) -> None:
        self.in_flight += 1
        self._started.setdefault(task.key, time.perf_counter())
        self.refresh()

    def finished(self, task: backends.Task, record: dict) -> None:
        job, seed = task.args
        job.bench.write(job.bench.store_of(job.out), record)
        self.in_flight -= 1
        self.ran.setdefault(job.index, []).append(seed)
        took = time.perf_counter() - self._started.get(task.key, self.start)
        self.say(
            f"job {job.index} {job.out.name} seed {seed}: {job.bench.describe(record)} "
            f"({took:.1f} s)"
        )
        self.bar.update(1)
        self.refresh()

    def failed(self, task: backends.Task, why: str) -> None:
        job, seed = task.args
        self.in_flight -= 1
        self.failures.append((job, seed, why))
        self.say(f"job {job.index} {job.out.name} seed {seed}: FAILED: {why}")
        self.bar.update(1)
        self.refresh()

    def retrying(self, task: backends.Task, why: str) -> None:
        job, seed = task.args
        self.in_flight -= 1
        self.say(
            f"job {job.index} {job.out.name} seed {seed}: {why}; retrying (attempt "
            f"{task.attempts + 1})"
        )
        self.refresh()

    def close(self) -> None:
        self.bar.close()


def run_sweep(
    spec: SweepSpec,
    *,
    backend: str = "local",
    workers: int = 1,
    retries: int = backends.DEFAULT_RETRIES,
    address: str | None = None,
    progress: bool = True,
    report: bool = True,
    reps: int = 2000,
) -> int:
    """Run every pending unit of ``spec`` (see the module docstring); print the jobs' table
    and (with ``report``) each benchmark's report; return 0, or 1 if a unit failed."""
    units, done = pending_units(spec)
    if done and any(done.values()):
        skipped = sum(len(v) for v in done.values())
        print(f"{skipped} seed(s) already done, skipped")
    tasks = [
        backends.Task(key=(job.index, seed), fn=execute_unit, args=(job, seed), cpus=job.threads)
        for job, seed in units
    ]
    print(f"{len(spec.jobs)} job(s), {len(tasks)} seed(s) to run on {backend}")
    if backend == "ray":
        with backends.ray_session(address, num_cpus=workers) as ray:
            total, largest = backends.ray_node_cpus(ray)
            need = max((t.cpus for t in tasks), default=1)
            if need > largest:
                raise UsageError(
                    f"a job asks for {need} threads but the largest Ray node has {largest} CPUs"
                )
            bar = _Progress(len(tasks), max(1, total), enabled=progress, ray=True)
            try:
                backends.run_ray(ray, tasks, bar, retries=retries)
            finally:
                bar.close()
    else:
        bar = _Progress(len(tasks), workers, enabled=progress, ray=False)
        try:
            backends.run_local(tasks, bar, workers=workers, retries=retries)
        finally:
            bar.close()
    print(f"\n{summary_table(spec, done, bar)}", end="")
    if bar.failures:
        print(f"{len(bar.failures)} seed(s) failed:")
        for job, seed, why in bar.failures:
            print(f"  job {job.index} {_show(job.out)} seed {seed}: {why}")
    if report:
        print_reports(spec, reps=reps)
    return 1 if bar.failures else 0


def summary_table(spec: SweepSpec, done: Mapping[int, list[int]], bar: _Progress) -> str:
    """Markdown: one row a job (folder, seeds asked, done before, run now, failed)."""
    failed: dict[int, int] = {}
    for job, _, _ in bar.failures:
        failed[job.index] = failed.get(job.index, 0) + 1
    lines = [
        "| job | benchmark | preset | folder | seeds | done before | run now | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for job in spec.jobs:
        lines.append(
            f"| {job.index} | {job.benchmark} | {job.preset} | {_show(job.out)} | "
            f"{len(job.seeds)} | {len(done.get(job.index, []))} | "
            f"{len(bar.ran.get(job.index, []))} | {failed.get(job.index, 0)} |"
        )
    return "\n".join(lines) + "\n"


def print_reports(spec: SweepSpec, *, reps: int) -> None:
    """Each benchmark's report verb over the sweep's folders that hold records."""
    import importlib

    by_bench: dict[str, list[str]] = {}
    for job in spec.jobs:
        if job.bench.store_of(job.out).record_paths():
            folders = by_bench.setdefault(job.benchmark, [])
            if str(job.out) not in folders:
                folders.append(str(job.out))
    for name, folders in by_bench.items():
        module, _, attr = BENCHMARKS[name].report.partition(":")
        parser = argparse.ArgumentParser(prog=f"pisces {name} report")
        getattr(importlib.import_module(module), attr)(parser)
        args = parser.parse_args([*folders, "--reps", str(reps)])
        print(f"\n## {name}: `pisces {name} report` of the sweep's folders\n")
        sys.stdout.flush()
        args.func(args)


# --------------------------------------------------------------------------------- the CLI


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def sweep_command(args: argparse.Namespace) -> int:
    """``pisces sweep``: see the module docstring."""
    if args.address and args.backend != "ray":
        raise UsageError("--address needs --backend ray")
    spec = parse_spec(args.spec, args.out)
    if args.backend == "ray" and args.address:
        backends.check_reachable(args.address)  # before any folder is touched
    if args.dry_run:
        units, done = pending_units(spec)
        for job in spec.jobs:
            todo = [s for j, s in units if j is job]
            print(
                f"job {job.index}: {job.benchmark} {job.preset} → {_show(job.out)}: "
                f"{len(todo)} to run, {len(done[job.index])} done"
            )
        return 0
    return run_sweep(
        spec,
        backend=args.backend,
        workers=args.workers or default_workers(),
        retries=args.retries,
        address=args.address,
        progress=not args.no_progress,
        report=not args.no_report,
        reps=args.reps,
    )


EXAMPLE = """\
spec (TOML):
  out = "runs/sweep"            # root: folders OUT/<benchmark>/<name>
  threads = 1                   # torch threads a seed (default 1)

  [[job]]
  benchmark = "jumping"         # jumping | lqr | dmc
  preset = "dropout-l2"
  grid = "wide"
  seeds = "1-2"                 # "1-3,7", 3 or [1, 4]
  epochs = 2                    # any other key: a config field, checked like --set

  [[job]]
  benchmark = "lqr"
  preset = "psm"
  distractors = 500             # required for lqr
  seeds = "1-10"
  name = "psm-nd500"            # optional folder name (or out = "DIR": the folder itself)

  [[job]]
  benchmark = "dmc"
  preset = "drq-pse-cpu"
  domain = "cartpole"
  task = "swingup"
  pairs = "runs/dcs/pairs-cartpole-swingup-cpu/pairs.npz"   # made by `pisces dmc collect`
  seeds = "1-5"

Finished seeds are skipped; a seed whose worker dies is retried; the files are those of
`train` (a folder resumes with either).
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pisces sweep``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLE
    parser.add_argument("spec", type=Path, help="the TOML spec (format below)")
    parser.add_argument("--out", type=Path, default=None, help="output root (replaces the spec's)")
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: a pool of processes (default); ray: a Ray cluster (pip install 'pisces[ray]')",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local: processes, one seed at a time each; ray without --address: CPUs of the "
        "local cluster (default: the CPUs available)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="HOST:PORT",
        help="with --backend ray: an existing cluster's head (default: start a local one)",
    )
    parser.add_argument(
        "--retries",
        type=nonnegative_int,
        default=backends.DEFAULT_RETRIES,
        help="reruns of a seed whose worker died (default 2)",
    )
    parser.add_argument("--dry-run", action="store_true", help="check the spec, list the work")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="no benchmark report at the end")
    parser.add_argument(
        "--reps",
        type=positive_int,
        default=2000,
        help="bootstrap replications of the final report (default 2000)",
    )
    parser.set_defaults(func=sweep_command)
