"""The import graph (docs/architecture.md): no cycle between modules, and no import against the
layers `cryptovol.cli → flows → (training, serving, monitoring) → feature_repo → cryptovol`.

Every import counts, also one inside a function: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from cryptovol.settings import REPO_ROOT

PACKAGES = ("cryptovol", "feature_repo", "training", "serving", "monitoring", "flows")
# a module may import its own layer and those below; serving and monitoring may use training
RANK = {"cryptovol": 0, "feature_repo": 1, "training": 2, "serving": 3, "monitoring": 3,
        "flows": 4, "cryptovol.cli": 5}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports (``from a.b import c`` is a.b.c when that is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    known = _modules()
    return {name: {target for target in _imports(path, known) - {name}
                   # a module importing its own package's __init__ is no dependency on itself
                   if not name.startswith(f"{target}.")}
            for name, path in known.items()}


def _edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(a, b) for a, targets in graph.items() for b in targets]


def layer(module: str) -> str:
    return "cryptovol.cli" if module.startswith("cryptovol.cli") else module.split(".")[0]


def test_the_walk_sees_every_package_and_real_edges():
    graph = _graph()
    assert {layer(m) for m in graph} == set(RANK)
    assert "cryptovol.cli.models" in graph["cryptovol.cli.app"]
    assert "cryptovol.settings" in graph["feature_repo.store"]
    assert len(_edges(graph)) > 300


def test_no_import_cycle():
    try:
        tuple(TopologicalSorter(_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"an import cycle: {' -> '.join(exc.args[1])}") from None


def test_a_cycle_would_be_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        assert set(exc.args[1]) == {"a", "b", "c"}
    else:
        raise AssertionError("graphlib missed a cycle")


def test_imports_follow_the_layers():
    wrong = sorted(f"{a} -> {b}" for a, b in _edges(_graph()) if RANK[layer(a)] < RANK[layer(b)])
    assert not wrong, "imports against docs/architecture.md's layers:\n" + "\n".join(wrong)
