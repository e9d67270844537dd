"""Where units of work run: a local pool of worker processes, or a Ray cluster.

``pisces sweep`` (one unit = one (job, seed)) and ``pisces tune`` (one unit = one worker of a
study) hand a list of :class:`Task` to :func:`run_local` or :func:`run_ray`, which call back
an :class:`Events` object as tasks start, finish, fail or are retried:

* :func:`run_local`: ``workers`` long-lived processes (``spawn``), one task at a time each,
  their native thread pools sized to the tasks' ``cpus`` (:data:`THREAD_VARS`).
  The parent knows which task each process runs, so when a process dies (SIGKILL, the OOM
  killer, a segfault) exactly that task is charged an attempt and requeued (up to
  ``retries`` more times), a fresh process takes the dead one's place, and the other
  processes go on undisturbed. A Python exception inside a task is deterministic (the same
  seed fails the same way): the task fails at once, without a retry, and the rest go on.
* :func:`run_ray`: one Ray task per :class:`Task` (``num_cpus`` = its ``cpus``), with Ray's own
  retries for a worker that dies (``max_retries=retries``, ``retry_exceptions=False``, same
  rule as above). Ray retries out of sight of the driver, so an event says only the end.
* :func:`ray_session`: Ray is an optional extra (``pisces[ray]``), imported only here and only
  when asked for; with an address it connects to an existing cluster (an unreachable
  address is a one-line :class:`~pisces.errors.UsageError` within seconds, not Ray's own
  minutes of retries), without one it starts a local cluster for the session and stops it
  after.

Task functions must be importable module-level functions (they are pickled by reference) and
their results picklable; results come back to the calling process, which does all writing.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from pisces.errors import UsageError

#: the default number of retries of a task whose worker died.
DEFAULT_RETRIES = 2
#: object store of a local Ray cluster [MiB]: records are a few kB, keep Ray's footprint small.
RAY_OBJECT_STORE_MB = 128


@dataclass
class Task:
    """One unit of work: ``fn(*args)`` run in a worker; ``cpus`` it occupies (Ray's
    ``num_cpus``); ``attempts`` so far (counted by the backend)."""

    key: Hashable
    fn: Callable[..., Any]
    args: tuple
    cpus: int = 1
    attempts: int = 0


class Events(Protocol):
    """What a backend reports (all called in the calling process)."""

    def started(self, task: Task) -> None:
        """``task`` was handed to a worker (local) or submitted (Ray)."""

    def finished(self, task: Task, value: Any) -> None:
        """``task`` returned ``value``."""

    def failed(self, task: Task, why: str) -> None:
        """``task`` raised, or its worker died more often than the retries allow."""

    def retrying(self, task: Task, why: str) -> None:
        """``task``'s worker died (``why``); it is queued again."""


def exit_reason(code: int | None) -> str:
    """``"worker died (SIGKILL)"`` for a negative exit code, ``"worker exited with status 3"``."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker died ({name})"
    return f"worker exited with status {code}"


#: environment variables that size the thread pools of OpenMP, OpenBLAS and MKL.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_main(conn: Connection, threads: int) -> None:
    """A pool process: run ``(fn, args)`` messages until ``None`` or the pipe closes; answer
    ``("ok", value)`` or ``("error", "Type: message")``. Before anything imports NumPy or torch,
    the native thread pools are sized to ``threads`` (unless the environment already sets
    them), as Ray does for its workers: two workers with a BLAS pool of one thread per core
    each would oversubscribe the machine."""
    for name in THREAD_VARS:
        os.environ.setdefault(name, str(threads))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            value = fn(*args)
        except Exception as exc:
            reply: tuple[str, Any] = ("error", f"{type(exc).__name__}: {exc}")
        else:
            reply = ("ok", value)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class _Slot:
    """One pool process, its end of the pipe and the task it runs (None when idle)."""

    def __init__(self, ctx: Any, threads: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, threads), daemon=True)
        self.process.start()
        child.close()
        self.task: Task | None = None

    def stop(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def run_local(
    tasks: Sequence[Task],
    events: Events,
    *,
    workers: int,
    retries: int = DEFAULT_RETRIES,
    poll_seconds: float = 0.5,
    on_poll: Callable[[], None] | None = None,
) -> None:
    """Run ``tasks`` in ``workers`` spawned processes (see the module docstring); returns
    when every task has finished or failed. ``on_poll()`` is called about every
    ``poll_seconds`` (a progress bar's refresh). Ctrl-C stops every worker and re-raises."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    queue = deque(tasks)
    if not queue:
        return
    ctx = multiprocessing.get_context("spawn")
    threads = max(task.cpus for task in queue)
    slots = [_Slot(ctx, threads) for _ in range(min(workers, len(queue)))]
    try:
        while queue or any(s.task is not None for s in slots):
            for i, slot in enumerate(slots):
                if slot.task is not None or not queue:
                    continue
                if not slot.process.is_alive():
                    slot.stop()
                    slots[i] = slot = _Slot(ctx, threads)
                task = queue.popleft()
                try:
                    slot.conn.send((task.fn, task.args))
                except (BrokenPipeError, OSError):  # died between tasks: not this task's fault
                    queue.appendleft(task)
                    continue
                task.attempts += 1
                slot.task = task
                events.started(task)
            busy = [s for s in slots if s.task is not None]
            wait([h for s in busy for h in (s.conn, s.process.sentinel)], timeout=poll_seconds)
            for i, slot in enumerate(slots):
                task = slot.task
                if task is None:
                    continue
                reply = None
                if slot.conn.poll():
                    try:
                        reply = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join(5.0)  # the pipe closed: the process is going
                if reply is not None:
                    slot.task = None
                    kind, value = reply
                    if kind == "ok":
                        events.finished(task, value)
                    else:
                        events.failed(task, value)
                elif not slot.process.is_alive():
                    why = exit_reason(slot.process.exitcode)
                    slot.stop()
                    slots[i] = _Slot(ctx, threads)
                    if task.attempts <= retries:
                        events.retrying(task, why)
                        queue.appendleft(task)
                    else:
                        events.failed(task, f"{why}; gave up after {task.attempts} attempts")
            if on_poll is not None:
                on_poll()
    finally:
        for slot in slots:
            slot.stop()


# --------------------------------------------------------------------------------------- Ray


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`UsageError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--backend ray needs Ray, an optional extra: pip install 'pisces[ray]'"
        ) from None
    return ray


def parse_address(address: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (the GCS address ``ray start --head`` prints; ``[v6]:PORT`` too) →
    ``(host, port)``; :class:`UsageError` for anything else."""
    host, sep, port_text = address.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(
            f"--address {address!r}: use HOST:PORT of a Ray head node (e.g. 127.0.0.1:6379)"
        )
    return host, int(port_text)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail within ``timeout`` seconds, in one line, when nothing listens at ``address``
    (``ray.init`` itself would retry for minutes)."""
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise UsageError(
            f"--address {address}: no Ray cluster reachable there ({why}); start one with "
            f"`ray start --head --port {port}` or drop --address to start a local one"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


@contextlib.contextmanager
def ray_session(address: str | None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to the Ray cluster at ``address`` (``HOST:PORT``) or, without one, start a
    local cluster of ``num_cpus`` CPUs (no dashboard, a small object store); yields the
    ``ray`` module and shuts the connection (and a local cluster) down after. A session
    already initialised in this process is used as it is and left running.

    Ray ≥ 2.59 turns token authentication on for new local clusters unless ``RAY_AUTH_MODE``
    is set (``disabled`` turns it off, ``token`` on): the environment decides, this does not.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        check_reachable(address)
        try:
            ray.init(address=address, **quiet)
        except Exception as exc:
            raise UsageError(
                f"--address {address}: cannot connect to the Ray cluster ({_first_line(exc)})"
            ) from None
    else:
        ray.init(
            address="local",  # never join a cluster named by RAY_ADDRESS by accident
            num_cpus=num_cpus,
            include_dashboard=False,
            object_store_memory=RAY_OBJECT_STORE_MB * 2**20,
            **quiet,
        )
    try:
        yield ray
    finally:
        ray.shutdown()


def ray_node_cpus(ray: Any) -> tuple[int, int]:
    """``(total CPUs, CPUs of the largest node)`` of the connected cluster's live nodes."""
    cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    return sum(cpus), max(cpus, default=0)


def _call(fn: Callable[..., Any], args: tuple) -> Any:
    return fn(*args)


def run_ray(
    ray: Any,
    tasks: Sequence[Task],
    events: Events,
    *,
    retries: int = DEFAULT_RETRIES,
    poll_seconds: float = 0.5,
    on_poll: Callable[[], None] | None = None,
) -> None:
    """Run ``tasks`` as Ray tasks on the connected cluster (see the module docstring)."""
    remote = ray.remote(_call)
    pending: dict[Any, Task] = {}
    for task in tasks:
        ref = remote.options(
            num_cpus=task.cpus, max_retries=retries, retry_exceptions=False
        ).remote(task.fn, task.args)
        task.attempts = 1
        pending[ref] = task
        events.started(task)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=poll_seconds)
        for ref in ready:
            task = pending.pop(ref)
            try:
                value = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the task raised
                cause = exc.cause if exc.cause is not None else exc
                events.failed(task, _first_line(cause))
            except ray.exceptions.RayError as exc:  # the worker (or node) died every time
                events.failed(task, f"{_first_line(exc)}; gave up after {retries + 1} attempts")
            else:
                events.finished(task, value)
        if on_poll is not None:
            on_poll()
