"""The package layout holds its rules: no import circle, and each stage imports only what it may (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "netcheck"


def _imports() -> dict[str, set[str]]:
    """Every netcheck module and the netcheck modules it imports (anywhere in it, TYPE_CHECKING blocks included)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("netcheck"):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    edges[name].add(submodule if submodule in modules else node.module)
    return edges


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle() -> None:
    assert _circles(_imports()) == []


ALLOWED = {
    "netcheck.model": ("netcheck.model",),
    "netcheck.parse": ("netcheck.model", "netcheck.parse"),
    "netcheck.classify": ("netcheck.model", "netcheck.parse", "netcheck.classify"),
    "netcheck.observe.access": ("netcheck.model", "netcheck.parse", "netcheck.observe", "netcheck.errors", "netcheck.files"),
    "netcheck.report": ("netcheck.model", "netcheck.report", "netcheck.errors", "netcheck.files", "netcheck"),
}
"""What each stage may import: the model and pure parsers everywhere; the classifiers nothing that does I/O; the
access stage no classifier (the runner has its observations judged); reports nothing from plan or observe."""


def test_each_stage_imports_only_what_it_may() -> None:
    edges = _imports()
    leaks = {
        (module, imported)
        for module, imports in edges.items()
        for stage, allowed in ALLOWED.items()
        if module == stage or module.startswith(stage + ".")
        for imported in imports
        if not any(imported == prefix or imported.startswith(prefix + ".") for prefix in allowed)
        or (stage == "netcheck.report" and imported.startswith(("netcheck.plan", "netcheck.observe", "netcheck.classify")))
    }
    assert sorted(leaks) == []
