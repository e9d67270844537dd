"""The run/result layer shared by every benchmark: one folder of per-seed JSON records.

A benchmark's ``train`` command, its process pool (and later Ray and Optuna) all go through
the same pieces:

* :class:`ResultStore`: a folder of ``seed-<s>.json`` (or the benchmark's own file pattern):
  the path of a seed, atomic writes (a killed run never leaves a partial file), every record
  stamped with :data:`RECORD_FORMAT`, loading with errors that name a corrupt file, the
  pending seeds of a request (resume), **one configuration per folder** (a new seed with
  another configuration is refused, naming a record that disagrees), and the summary;
* :func:`load_records`: the records under several folders, recursively, each file once
  (a folder given twice, or a parent and its child, is not counted twice);
* the execution stamp of a record: :func:`git_commit`, :func:`cpu_model`, :func:`resolve_device`;
* :func:`atomic_open`, :func:`write_json_atomic`, :func:`save_figure_atomic`.

Config ↔ record (defaults for fields that older records lack, differences from a preset,
execution-only fields) lives in :mod:`pisces.experiments.configs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

#: version of the per-seed record layout, written into every new record as ``"format"``.
#: Records without the key predate it (format 0) and are read the same way.
RECORD_FORMAT = 1


class ConfigMismatch(ValueError):
    """A finished result in the output folder was made with another configuration."""

    def __init__(self, path: Path, detail: str = "") -> None:
        more = f" ({detail})" if detail else ""
        super().__init__(
            f"{path} was made with a different configuration{more}; one folder holds one "
            "configuration: use another --out"
        )
        self.path = path


class CorruptResult(ValueError):
    """A result file that is not a JSON record (truncated, empty, edited by hand)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(
            f"{path} is not a valid result file ({why}); delete it (its seed will rerun) or "
            "move it away"
        )
        self.path = path


def read_record(path: str | Path) -> dict[str, Any]:
    """The JSON record at ``path``; :class:`CorruptResult` naming the file if it is not one."""
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise CorruptResult(path, "not UTF-8 text") from None
    if not text.strip():
        raise CorruptResult(path, "empty")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptResult(path, f"bad JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(record, dict) or "seed" not in record:
        raise CorruptResult(path, "no 'seed' key")
    return record


class ResultStore:
    """The per-seed records of one folder (one configuration).

    Args:
        root: the folder (created on the first write).
        pattern: file name of a seed, a ``str.format`` pattern with ``seed``.
        glob: the glob matching every record of the folder.
    """

    def __init__(
        self, root: str | Path, pattern: str = "seed-{seed:03d}.json", glob: str = "seed-*.json"
    ) -> None:
        self.root = Path(root)
        self.pattern = pattern
        self.glob = glob

    def path(self, seed: int) -> Path:
        return self.root / self.pattern.format(seed=int(seed))

    def check_writable(self) -> None:
        """Fail now, not after hours of training, if records cannot be written here.

        Raises:
            ValueError: naming the folder, if it is a file, lies under a file, or cannot be
                created or written.
        """
        root = self.root
        for parent in [root, *root.parents]:
            if parent.exists():
                if not parent.is_dir():
                    what = "is a file" if parent == root else f"lies under the file {parent}"
                    raise ValueError(f"output folder {root} {what}; choose another --out")
                break
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=root, prefix=".write-test-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ValueError(
                f"output folder {root} is not writable ({exc.strerror or exc}); choose another "
                "--out"
            ) from None

    def record_paths(self) -> list[Path]:
        return sorted(self.root.glob(self.glob)) if self.root.is_dir() else []

    def load(self, seed: int) -> dict[str, Any]:
        return read_record(self.path(seed))

    def records(self) -> list[dict[str, Any]]:
        """Every record of the folder, sorted by seed (:class:`CorruptResult` on a bad file)."""
        return sorted((read_record(p) for p in self.record_paths()), key=lambda r: r["seed"])

    def pending(
        self,
        seeds: Iterable[int],
        mismatch: Callable[[dict], str | None],
        on_done: Callable[[int, dict], None] | None = None,
    ) -> list[int]:
        """The seeds of ``seeds`` that still need running: resume for every ``train`` command.

        Every record already in the folder must match the request: ``mismatch(record)``
        returns None, or a description of the difference (then :class:`ConfigMismatch` names
        the first such file with it, and nothing is run): a folder holds one configuration,
        so a new seed never joins runs of another. A requested seed whose record exists is
        done, and ``on_done(seed, record)`` is called for it.
        """
        done = {}
        for path in self.record_paths():
            record = read_record(path)
            why = mismatch(record)
            if why is not None:
                raise ConfigMismatch(path, why)
            done[int(record["seed"])] = record
        todo = []
        for seed in seeds:
            if seed in done and self.path(seed).exists():
                if on_done is not None:
                    on_done(seed, done[seed])
            else:
                todo.append(seed)
        return todo

    def write(self, record: dict[str, Any]) -> Path:
        """Write ``record`` (stamped with :data:`RECORD_FORMAT`) to its seed's file, atomically."""
        path = self.path(record["seed"])
        write_json_atomic(path, {**record, "format": RECORD_FORMAT})
        return path

    def write_summary(
        self,
        summarize: Callable[[list[dict[str, Any]]], dict[str, Any]],
        name: str = "summary.json",
    ) -> dict[str, Any] | None:
        """``summarize(records)`` of every record of the folder, written to ``name``; None
        (nothing written) for an empty folder."""
        records = self.records()
        if not records:
            return None
        summary = summarize(records)
        write_json_atomic(self.root / name, summary)
        return summary


def load_records(
    dirs: Sequence[str | Path],
    glob: str,
    *,
    recursive: bool = False,
    by_seed: bool = False,
    require: bool = False,
) -> list[dict]:
    """The records matching ``glob`` in ``dirs`` (recursively if asked), each file once
    whatever the overlap of ``dirs`` (resolved paths): folder by folder in the order given,
    within a folder by path (or by seed with ``by_seed``).

    Raises:
        FileNotFoundError: naming a folder that does not exist, or (with ``require``) one
            that holds no record.
        CorruptResult: naming a file that is not a record.
    """
    seen: set[Path] = set()
    records = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: no such folder")
        paths = sorted(d.rglob(glob) if recursive else d.glob(glob))
        if require and not paths:
            raise FileNotFoundError(f"no {glob} in {d}")
        batch = []
        for path in paths:
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            batch.append(read_record(path))
        if by_seed:
            batch.sort(key=lambda r: r["seed"])
        records.extend(batch)
    return records


#: x86 instruction-set tiers, widest first, by the ``/proc/cpuinfo`` flag that marks each:
#: two CPUs with one model name (a virtual machine's "AMD EPYC") but different tiers run
#: different kernels and give different floating-point results.
ISA_TIERS = (
    ("amx_bf16", "amx"),
    ("avx512_bf16", "avx512_bf16"),
    ("avx512f", "avx512"),
    ("avx2", "avx2"),
)


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``/proc/cpuinfo``; empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
    return set(line.split(":", 1)[1].split()) if ":" in line else set()


def cpu_isa(flags: set[str] | None = None) -> str | None:
    """The widest tier of :data:`ISA_TIERS` this CPU has (``None`` for none of them)."""
    flags = cpu_flags() if flags is None else flags
    return next((name for flag, name in ISA_TIERS if flag in flags), None)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, or the platform's processor string) and its
    instruction-set tier, e.g. ``"AMD EPYC (avx512_bf16)"``: the ``cpu`` stamp of every
    record and benchmark, which must tell apart machines whose floating point differs."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or "unknown"
    isa = cpu_isa()
    return f"{name} ({isa})" if isa else name


#: glibc ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def keep_freed_memory(trim_threshold: int = 1 << 30) -> bool:
    """Let glibc's malloc reuse freed memory instead of returning it to the kernel.

    By default glibc serves every allocation above its mmap threshold (at most 32 MiB) with a
    fresh ``mmap`` and unmaps it on ``free``: the next step's tensor of that size faults in
    and zeroes its pages again. A 5-D colored train step allocates several such tensors
    (the (368, 6, 60, 64) fp32 padded input alone is 34 MB): ~30,000-35,000 minor page faults
    a step on an AMX Xeon, ~0 with this, and a bf16 step 288-301 → 240-244 ms
    (``benchmarks/ab_jumping_step.py``; ``benchmarks/results/jumping_profile_amx.md``).
    ``M_MMAP_MAX = 0`` sends every allocation to the heap and ``M_TRIM_THRESHOLD`` keeps up to
    ``trim_threshold`` bytes of its freed top, so the process keeps its peak memory and reuses
    it. Allocation only: no result changes. Returns whether it applied (``False`` off glibc)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))


def bf16_hardware(device: str = "cpu") -> bool:
    """Whether ``device`` multiplies bf16 natively: a CUDA GPU with bf16 support, or an x86
    CPU with AMX-BF16 or AVX512-BF16 (``/proc/cpuinfo`` flags). Elsewhere torch falls back
    to slow paths (measured on an AVX2-only AMD EPYC: a bf16 train step ~14x slower than fp32,
    ``benchmarks/results/jumping_profile.md``; on an AVX-512 Intel Xeon without AVX512-BF16,
    2.3x slower, ``bench_jumping_train_xeon_avx512_nobf16.md``; on an AVX512-BF16 EPYC, 1.8x
    faster)."""
    if device.startswith("cuda"):
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return cpu_isa() in ("amx", "avx512_bf16")


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; ``cpu``, ``cuda`` and
    ``cuda:N`` pass through. Raises ``ValueError`` naming the device for CUDA without a GPU
    and for anything else."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name != "cpu" and not (name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit())):
        raise ValueError(f"--device {name}: unknown device; use cpu, cuda, cuda:N or auto")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: CUDA is not available")
    return name


def git_commit() -> str | None:
    """Commit of the checkout this package runs from, ``+dirty`` if tracked files differ from
    it; ``None`` outside git. Run from a pinned ``git worktree``, it names that worktree's
    commit, which is how long reproduction runs record the exact code they ran."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on a clean exit, fsync it and
    ``os.replace`` it onto ``path`` (readers see the old file or the whole new one, never a
    partial write); on an exception, delete it and re-raise. ``mode``: ``"w"`` or ``"wb"``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (:func:`atomic_open`). NaN and inf are
    written as JSON's common extensions (``NaN``, ``Infinity``)."""
    with atomic_open(path) as f:
        json.dump(data, f, indent=1, allow_nan=True)


def save_figure_atomic(fig: Any, path: str | Path, **savefig: Any) -> None:
    """``fig.savefig`` to ``path`` atomically (a killed run never leaves half a PNG)."""
    path = Path(path)
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", **savefig)
