"""Bookkeeping shared by every benchmark's ``train`` command: seed specs, the device, the
commit stamp of a result, and atomic JSON writes (a killed run never leaves a half-written
result behind)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import tempfile
import typing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any


def parse_seeds(spec: str) -> list[int]:
    """Parse ``"1-100"``, ``"3"``, ``"1,3,5"`` or ``"1-3,7"`` into sorted distinct seeds >= 0.

    Raises:
        ValueError: naming the offending item, for an empty spec or item, a non-integer, a
            reversed range or a negative seed.
    """
    if not spec or not spec.strip():
        raise ValueError("empty seeds spec; use e.g. 1-100 or 1,3,5")
    seeds: set[int] = set()
    for item in spec.split(","):
        item = item.strip()
        lo_text, dash, hi_text = item.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise ValueError(
                f"bad seeds spec {spec!r} at {item!r}: use e.g. 1-100 or 1,3,5 (seeds >= 0)"
            ) from None
        if hi < lo:
            raise ValueError(f"bad seeds spec {spec!r}: range {item!r} is reversed")
        seeds.update(range(lo, hi + 1))
    return sorted(seeds)


class ConfigMismatch(ValueError):
    """A finished result in the output folder was made with another configuration."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} was made with a different configuration; use another --out")
        self.path = path


def pending_seeds(
    seeds: Iterable[int],
    path_of: Callable[[int], Path],
    same_config: Callable[[dict], bool],
    on_done: Callable[[int, dict], None] | None = None,
) -> list[int]:
    """The seeds of ``seeds`` that still need running: resume for every ``train`` command.

    A seed whose result file ``path_of(seed)`` exists is done: ``same_config(record)`` must
    hold for its JSON record (else :class:`ConfigMismatch` names the file, and nothing is
    run), and ``on_done(seed, record)`` is called (e.g. to print "skipped").
    """
    todo = []
    for seed in seeds:
        path = path_of(seed)
        if not path.exists():
            todo.append(seed)
            continue
        record = json.loads(path.read_text())
        if not same_config(record):
            raise ConfigMismatch(path)
        if on_done is not None:
            on_done(seed, record)
    return todo


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


def parse_overrides(items: list[str] | None, config_class: type) -> dict[str, Any]:
    """``["alpha=5", "rand_conv=true"]`` → ``{"alpha": 5.0, "rand_conv": True}``.

    Each item is ``FIELD=VALUE`` for a field of the dataclass ``config_class``; the value is
    converted to the field's annotated type (``bool``: true/false/1/0/yes/no; ``int``,
    ``float``, ``str`` and ``Literal`` choices as text). The config's own validation then
    checks ranges and combinations.

    Raises:
        ValueError: naming the item, for a missing ``=``, an unknown field (the message lists
            the fields) or a value that does not convert.
    """
    hints = typing.get_type_hints(config_class)
    fields = {f.name for f in dataclasses.fields(config_class)}
    out: dict[str, Any] = {}
    for item in items or []:
        name, eq, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not eq or not name:
            raise ValueError(f"override {item!r} is not FIELD=VALUE")
        if name not in fields:
            raise ValueError(f"unknown field {name!r} in {item!r}; fields: {sorted(fields)}")
        kind = hints[name]
        if typing.get_origin(kind) is typing.Literal:
            choices = typing.get_args(kind)
            if text not in choices:
                raise ValueError(f"{name} must be one of {list(choices)}, got {text!r}")
            out[name] = text
        elif kind is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"{name} takes true or false, got {text!r}")
            out[name] = lowered in ("true", "1", "yes")
        elif kind in (int, float, str):
            try:
                out[name] = kind(text)
            except ValueError:
                raise ValueError(f"{name} takes {kind.__name__}, got {text!r}") from None
        else:
            raise ValueError(f"field {name!r} ({kind}) cannot be set from the command line")
    return out
