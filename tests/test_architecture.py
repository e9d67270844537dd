"""The house keeps standing: no import cycle inside ``pisces``, layers import downwards only.

Layers, from the bottom: the core (``metrics``, ``losses``, ``networks``) → ``envs`` →
``agents`` → ``experiments`` → the entry points (``cli``, ``demo``); ``analysis`` (statistics
and the paper's numbers) sits on the core. Every import counts, the lazy ones inside
functions included: a cycle held together by a lazy import is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: layer rank of each top-level subpackage / module of pisces.
RANK = {
    "metrics": 0,
    "losses": 0,
    "networks": 0,
    "analysis": 1,
    "envs": 1,
    "agents": 2,
    "experiments": 3,
    "errors": 0,
    "argtypes": 0,
    "cli": 4,
    "demo": 4,
}
CORE = ("metrics", "losses", "networks")


def module_names() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "pisces").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The pisces modules that ``name`` imports anywhere in its source."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import sub" imports the submodule when there is one
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("pisces") and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_the_graph_sees_lazy_imports_and_submodules():
    graph = import_graph()
    # a lazy import inside a function counts
    assert "pisces.experiments.jumping.trainer" in graph["pisces.experiments.jumping.cli"]
    # "from pisces.envs.jumping import core" is an edge to the submodule
    assert "pisces.envs.jumping.core" in graph["pisces.envs.jumping.mdp"]


def test_no_import_cycle_inside_pisces():
    cycles = strongly_connected(import_graph())
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_finder_finds_a_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers_import_downwards_only():
    graph = import_graph()
    bad = []
    for name, targets in graph.items():
        here = layer(name)
        if here is None:  # the package's own __init__
            assert not targets, f"pisces/__init__ imports {targets}"
            continue
        for target in targets:
            there = layer(target)
            if there is None:  # "from pisces import __version__": the root holds no code
                continue
            assert there in RANK, f"unknown layer {there!r} of {target}: add it to RANK"
            if RANK[there] > RANK[here] or (here in CORE and there not in CORE):
                bad.append(f"{name} -> {target}")
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("pisces.metrics", ("ot", "torch", "pisces.envs", "pisces.experiments")),
        ("pisces.losses", ("pisces.envs", "pisces.agents", "pisces.experiments")),
        ("pisces.envs.jumping", ("torch", "ot", "pisces.experiments")),
        ("pisces.cli", ("torch", "numpy", "pisces.experiments")),
    ],
)
def test_imports_stay_light(module, forbidden):
    code = f"import sys, {module}; print(','.join(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"import {module} loads {out}"
