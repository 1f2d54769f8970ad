"""The package layers: no import cycle between packages, and every module under a layer contract."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = tuple(CONFIG["root_packages"])


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _unit(graph: grimp.ImportGraph, module: str) -> str:
    """The top-level package or direct subpackage a module belongs to (infra's children count
    as top level: infra.core, infra.provisioning, infra.local are packages of their own)."""
    parts = module.split(".")
    depth = 3 if parts[0] == "infra" else 2
    for size in range(min(depth, len(parts)), 0, -1):
        candidate = ".".join(parts[:size])
        if size == len(parts) and not graph.find_children(candidate):
            continue  # a module, not a package
        return candidate
    return parts[0]


def _package_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = _unit(graph, module), _unit(graph, imported)
            if source != target:
                edges.setdefault(source, set()).add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return found


def test_no_package_imports_a_package_that_imports_it_back():
    edges = _package_edges(_graph())
    assert _cycles(edges) == []
    # The check can fail: a package that imports its importer is found.
    assert _cycles({**edges, "projects": {*edges.get("projects", ()), "web.projects"}})


def test_every_module_falls_inside_a_layer_of_the_package_contract():
    layers = next(c for c in CONFIG["contracts"] if c["id"] == "layers")["layers"]
    packages = [name.strip() for layer in layers for name in layer.replace("|", ":").split(":")]
    outside = sorted(
        module
        for module in _graph().modules
        if module not in PACKAGES
        and module != "infra"
        and not any(module == p or module.startswith(p + ".") for p in packages)
    )
    assert outside == []
