"""The one command-line entry point: ``pisces <benchmark> <verb> [options]``.

Every verb lives in its own module and is imported only when it is called, so that
``pisces --help`` stays fast and a heavy dependency of one benchmark never slows another.
A verb module exposes ``configure(parser)``-style functions named in :data:`COMMANDS`: each
adds its arguments to an :class:`argparse.ArgumentParser` and sets ``func`` (a callable
taking the parsed namespace and returning an exit code or ``None``) with
``parser.set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from pisces.errors import UsageError

#: group -> verb -> ("module:function", one-line help). The group "" holds top-level verbs.
COMMANDS: dict[str, dict[str, tuple[str, str]]] = {
    "": {
        "demo": ("pisces.demo:configure", "the main job of `make demo` (see README)"),
        "sweep": (
            "pisces.experiments.sweep:configure",
            "many seeds of many configurations from a TOML spec (local pool or Ray), resumable",
        ),
        "tune": (
            "pisces.experiments.tune:configure",
            "Optuna study of a jumping-task preset on the validation tasks (SQLite, resumable)",
        ),
        "curves": (
            "pisces.experiments.tensorboard:configure",
            "the TensorBoard scalars of --tensorboard runs under a folder as one PNG of curves",
        ),
    },
    "metrics": {
        "heatmap": (
            "pisces.experiments.jumping.heatmap:configure",
            "PSM vs bisimulation heatmaps of two jumping-task trajectories (PNG)",
        ),
    },
    "jumping": {
        "figure": (
            "pisces.experiments.jumping.figures:configure",
            "the 26x11 task grid (train/validation/test) and an example frame (PNG)",
        ),
        "embeddings": (
            "pisces.experiments.jumping.embeddings:configure",
            "Figure 3: UMAP of checkpoints' representations + cross-task alignment score",
        ),
        "train": (
            "pisces.experiments.jumping.cli:configure_train",
            "train and evaluate a preset on a grid for a range of seeds",
        ),
        "report": (
            "pisces.experiments.jumping.report:configure_report",
            "aggregate per-seed results beside the paper's Table 1 (Markdown)",
        ),
        "compare": (
            "pisces.experiments.jumping.compare:configure",
            "the same presets run two ways (e.g. fp32 vs bf16): per seed, CI, two-sample tests",
        ),
        "dynamics": (
            "pisces.experiments.jumping.dynamics:configure",
            "test %, alignment score, dead units and zero states vs epoch per run folder (PNG)",
        ),
        "bisim-transfer": (
            "pisces.experiments.jumping.bisim_transfer:configure",
            "Table 1's bisimulation-transfer baseline (tabular, no learning) per seed",
        ),
        "eta": (
            "pisces.experiments.jumping.eta:configure",
            "expected wall time of one more seed of a run folder on this CPU (from its records)",
        ),
        "results-page": (
            "pisces.experiments.jumping.results_page:configure",
            "every jumping-task table beside the paper, with figures, as one Markdown page",
        ),
        "suboptimality": (
            "pisces.experiments.jumping.suboptimality:configure",
            "Figure 5: % test solved vs epsilon of the policies behind the PSM (PNG + table)",
        ),
    },
    "lqr": {
        "train": (
            "pisces.experiments.lqr.cli:configure_train",
            "train a preset on LQR with distractors for a range of seeds",
        ),
        "report": (
            "pisces.experiments.lqr.report:configure_report",
            "aggregate per-seed results beside the paper's Table H.1 (Markdown)",
        ),
        "compare": (
            "pisces.experiments.lqr.report:configure_compare",
            "the same seeds run two ways (e.g. 2000 vs 5000 iterations): paired differences",
        ),
        "sweep": (
            "pisces.experiments.lqr.sweep:configure_sweep",
            "test error vs lambda for psm and random-penalty (Adam vs gradient descent)",
        ),
    },
    "dmc": {
        "frames": (
            "pisces.experiments.dmc.frames:configure",
            "Distracting Control observations under train and test backgrounds (PNG)",
        ),
        "teacher": (
            "pisces.experiments.dmc.teacher:configure",
            "train the state-based SAC teacher whose greedy actions define the PSM",
        ),
        "collect": (
            "pisces.experiments.dmc.collect:configure",
            "paired episodes: teacher in env A, its actions replayed in env B, physics checked",
        ),
        "train": (
            "pisces.experiments.dmc.cli:configure_train",
            "train and evaluate a DCS preset (DrQ / DrQ + PSEs) for a range of seeds",
        ),
        "report": (
            "pisces.experiments.dmc.report:configure_report",
            "DCS results beside the paper's Table 3 (mean ± s.e., IQM CI, P(improvement))",
        ),
    },
}


def _load(target: str) -> Callable[[argparse.ArgumentParser], None]:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:  # a registry entry that names nothing is a bug
        raise SystemExit(f"pisces: internal error: {module_name} has no {attr!r}") from exc


def _usage(only: str | None = None) -> str:
    if only is not None:
        lines = [f"usage: pisces {only} <verb> [options]", "", "verbs:"]
    else:
        lines = ["usage: pisces <command> [<verb>] [options]", "", "commands:"]
    for group, verbs in COMMANDS.items():
        if only is not None and group != only:
            continue
        for verb, (_, help_text) in verbs.items():
            name = f"{group} {verb}".strip()
            lines.append(f"  {name:<18} {help_text}")
    lines += ["", "`pisces <command> [<verb>] --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen verb, return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from pisces import __version__

        print(f"pisces {__version__}")
        return 0
    if args[0] in COMMANDS[""]:
        group, verb, rest = "", args[0], args[1:]
    elif args[0] in COMMANDS:
        group = args[0]
        verbs = COMMANDS[group]
        if len(args) < 2 or args[1] in ("-h", "--help"):
            print(_usage(group), file=sys.stderr if len(args) < 2 else sys.stdout)
            return 2 if len(args) < 2 else 0
        if args[1] not in verbs:
            print(
                f"pisces: unknown verb {args[1]!r} for {group!r}; choose from {sorted(verbs)}",
                file=sys.stderr,
            )
            return 2
        verb, rest = args[1], args[2:]
    else:
        print(
            f"pisces: unknown command {args[0]!r}; choose from {sorted(set(COMMANDS) - {''})} "
            f"or {sorted(COMMANDS[''])} (pisces --help)",
            file=sys.stderr,
        )
        return 2
    target, help_text = COMMANDS[group][verb]
    prog = f"pisces {group} {verb}".replace("  ", " ").strip()
    parser = _Parser(prog=prog, description=help_text)
    _load(target)(parser)
    try:
        namespace = parser.parse_args(rest)
        func = getattr(namespace, "func", None)
        if func is None:
            raise SystemExit(f"pisces: internal error: {target} did not set a func")
        result = func(namespace)
    except UsageError as exc:
        message = " ".join(str(exc).split())
        print(message if message.startswith(prog) else f"{prog}: {message}", file=sys.stderr)
        return 2
    return int(result or 0)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (one line, exit 2), not a usage
    block and ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
