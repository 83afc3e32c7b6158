"""The shape of the code, read from its imports (every one, a function's lazy import
too): nothing reaches into the ledger's tables, store or rules from outside it;
imports run downward only (the technical ground under the capabilities, the
capabilities under the edges); and the capabilities' import graph has no cycle.

The layers, bottom up:

* ground: ``money``, ``errors``, ``config``, ``roles`` and ``infra`` (the database,
  the outbox, outbound HTTP...): they know no capability;
* capabilities: ``ledger``, ``wallets``, ``loans``... (each one's pure model,
  services and tables);
* edges: ``api``, the ``console``, the command line, the demo, the benchmarks, each capability's
  ``views``/``cli`` modules, and the composition roots that know them all
  (``schema`` for the migrations, ``wiring``, ``migrations``)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "yirong"
GROUND = {"money", "errors", "config", "roles", "infra"}
EDGE_PACKAGES = {"api", "console", "demo", "bench", "cli", "cli_support", "__main__"}
ROOTS = {"schema", "wiring", "migrations"}
LEDGER_PRIVATE = ("yirong.ledger.tables", "yirong.ledger.store", "yirong.ledger.rules")


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every yirong module ``path`` imports (``from a import b``: both a and a.b)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("yirong"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("yirong"))
    return found


MODULES = {_module(p): _imports(p) for p in SRC.rglob("*.py")}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_edge(module: str) -> bool:
    name = module.rsplit(".", maxsplit=1)[-1]
    return (
        _package(module) in EDGE_PACKAGES | ROOTS
        or name in ("views", "cli")
        or name.endswith(("_views", "_cli"))
    )


def _edges_of(layer: str) -> dict[str, set[str]]:
    """module -> what it imports, for the modules of ``layer`` (ground, capability)."""
    chosen = {}
    for module, imported in MODULES.items():
        if _is_edge(module):
            continue
        is_ground = _package(module) in GROUND
        if (layer == "ground") == is_ground:
            chosen[module] = imported
    return chosen


def test_the_rules_see_the_code() -> None:
    # The parse finds what is known to be there (else every rule below is vacuous).
    assert "yirong.ledger.service" in MODULES["yirong.wallets.service"]
    assert _is_edge("yirong.reconciliation.daily_views") and _is_edge("yirong.loans.cli")
    assert not _is_edge("yirong.loans.repayments")
    assert len(_edges_of("capability")) > 80 and len(_edges_of("ground")) > 10


def test_only_the_ledger_touches_its_tables_store_and_rules() -> None:
    reaching = sorted(
        (module, imported)
        for module, imports in MODULES.items()
        if not module.startswith("yirong.ledger") and module != "yirong.schema"
        for imported in imports
        if imported.startswith(LEDGER_PRIVATE)
    )
    assert reaching == []


@pytest.mark.parametrize("layer", ["ground", "capability"])
def test_imports_run_downward(layer: str) -> None:
    allowed_above = GROUND if layer == "ground" else None
    upward = []
    for module, imports in _edges_of(layer).items():
        for imported in imports:
            if imported == "yirong" or _package(imported) == _package(module):
                continue
            target = _package(imported)
            if allowed_above is not None and target not in allowed_above:
                upward.append((module, imported))  # the ground knows no capability
            elif _is_edge(imported) or target in EDGE_PACKAGES | ROOTS:
                upward.append((module, imported))  # nothing below an edge knows it
    assert sorted(upward) == []


def test_the_capabilities_import_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imports in _edges_of("capability").items():
        for imported in imports:
            if _package(imported) not in ("", _package(module)) and not _is_edge(imported):
                graph[_package(module)].add(_package(imported))
    cycle = _a_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (as a path that ends where it began), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def test_a_cycle_is_found_where_there_is_one() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": {"c"}}) is None
