"""The package's layers hold: core is pure, each outside library has one home, no import cycles.

semdag/core is the model, rules and comparisons: importing it loads no Hamilton, pandas, typer,
rich or graphviz, and nothing from the layers that do I/O. Only semdag/hamilton imports
``hamilton``; only semdag/cli imports ``typer`` and ``rich``; each open standard's library is
imported by its exporter alone. Modules import each other at
module level without cycles.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "semdag"

# Libraries that pure code must not load, and semdag layers core must not reach.
HEAVY = (
    "hamilton",
    "pandas",
    "typer",
    "rich",
    "graphviz",
    "dask",
    "polars",
    "numpy",
    "open_data_contract_standard",
    "openlineage",
    "pydantic",
)
OUTER_LAYERS = ("semdag.store", "semdag.hamilton", "semdag.cli", "semdag.app", "semdag.config")

# Layers from the bottom up: a module imports from its own layer and the layers below only.
# perf stands apart: it imports nothing of semdag but core's tuning interface.
LAYERS = ("core", "config", "hamilton", "store", "app", "cli")
# Who may import each outside library (a module path prefix).
OWNERS = {
    "hamilton": ("semdag.hamilton",),
    "typer": ("semdag.cli",),
    "rich": ("semdag.cli",),
    # The open standards' own libraries: one exporter module each.
    "open_data_contract_standard": ("semdag.app.odcs",),
    "openlineage": ("semdag.app.lineage",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(
    module: str, *, module_level: bool, type_checking: bool = True
) -> Iterator[tuple[str, int]]:
    """(imported module, line) for each import in ``module``; with ``module_level``, only those
    that run when the module is imported (not inside functions or ``if TYPE_CHECKING``);
    without ``type_checking``, none of those under ``if TYPE_CHECKING``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if module_level and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            skip_types = module_level or not type_checking
            if skip_types and isinstance(child, ast.If) and _is_type_checking(child):
                yield from (x for stmt in child.orelse for x in visit_stmt(stmt))
                continue
            yield from visit_stmt(child)

    def visit_stmt(child: ast.AST) -> Iterator[tuple[str, int]]:
        if isinstance(child, ast.Import):
            for alias in child.names:
                yield alias.name, child.lineno
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = package.split(".")[: len(package.split(".")) - child.level + 1]
                target = ".".join([*base, *([child.module] if child.module else [])])
            else:
                target = child.module or ""
            # `from semdag.cli import console` imports the module semdag.cli.console; the
            # package itself is only needed for the names that are not modules.
            submodules = [
                f"{target}.{a.name}" for a in child.names if f"{target}.{a.name}" in MODULES
            ]
            if len(submodules) < len(child.names):
                yield target, child.lineno
            for name in submodules:
                yield name, child.lineno
        else:
            yield from visit(child)

    yield from visit(ast.parse(path.read_text(encoding="utf-8")))


def test_core_loads_nothing_heavy_in_a_fresh_interpreter() -> None:
    core = sorted(m for m in MODULES if m == "semdag.core" or m.startswith("semdag.core."))
    assert len(core) > 10
    script = (
        "import importlib, json, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if m.partition(".")[0] in HEAVY]
    outer = [m for m in loaded if m.startswith(OUTER_LAYERS)]
    assert "semdag.core.registry" in loaded
    assert heavy == []
    assert outer == []


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_each_outside_library_is_imported_by_its_layer_only(library: str) -> None:
    offenders = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {name}"
        for module in MODULES
        if not module.startswith(OWNERS[library])
        for name, line in imports(module, module_level=False)
        if name == library or name.startswith(library + ".")
    ]
    assert offenders == []


def test_the_scan_sees_imports_inside_functions() -> None:
    # The rule above would pass vacuously if function-level imports were missed.
    inner = {name for name, _ in imports("semdag.hamilton.model", module_level=False)}
    top = {name for name, _ in imports("semdag.hamilton.model", module_level=True)}
    assert "hamilton" in inner
    assert "hamilton" not in top


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in (*LAYERS, "perf") else None


def test_layers_import_downwards_only() -> None:
    assert {layer_of(m) for m in MODULES} >= {*LAYERS, "perf"}
    offenders = []
    for module in MODULES:
        layer = layer_of(module)
        if layer is None:
            continue
        for name, line in imports(module, module_level=False, type_checking=False):
            target = layer_of(name) if name.startswith("semdag.") else None
            if target is None or target == layer:
                continue
            if layer == "perf":
                if name != "semdag.core.tuning":
                    offenders.append(f"{module}:{line} imports {name}")
            elif target != "perf" and LAYERS.index(target) > LAYERS.index(layer):
                offenders.append(f"{module}:{line} imports {name}")
    assert offenders == []


# The speed work sits behind one seam: the command line's entry point hands `main` to
# semdag.perf, and nothing else imports it; everything else gets a core Tuning.
PERF_USERS = {"semdag.cli": "entry"}


def test_only_the_command_lines_entry_point_uses_perf() -> None:
    importers = {
        module
        for module in MODULES
        if layer_of(module) != "perf"
        for name, _ in imports(module, module_level=False, type_checking=True)
        if layer_of(name) == "perf"
    }
    assert importers == set(PERF_USERS)
    tree = ast.parse(MODULES["semdag.cli"].read_text(encoding="utf-8"))
    users = [
        fn.name
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("semdag.perf")
    ]
    assert users == [PERF_USERS["semdag.cli"]]


def _frozen(node: ast.ClassDef) -> bool:
    return any(
        isinstance(d, ast.Call) and any(k.arg == "frozen" for k in d.keywords)
        for d in node.decorator_list
    )


def test_no_module_keeps_process_wide_switches() -> None:
    """Process tuning is passed down, not kept in module state: no module-level instance of
    a mutable class the module defines, and no set of stand-in modules put in ``sys.modules``."""
    offenders = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mutable = {n.name for n in tree.body if isinstance(n, ast.ClassDef) and not _frozen(n)}
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                called = node.value.func
                if isinstance(called, ast.Name) and called.id in mutable:
                    offenders.append(f"{module}:{node.lineno} keeps a {called.id} instance")
        for node in ast.walk(tree):
            is_update = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "update"
                and ast.unparse(node.func.value) == "sys.modules"
            )
            if is_update:
                offenders.append(f"{module}:{node.lineno} writes sys.modules")
    assert offenders == []


def named_modules(module: str) -> set[str]:
    """Modules a module-level tuple of names lists, for ``importlib`` to import at load time
    (the CLI's command modules)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return {
        element.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple)
        for element in node.value.elts
        if isinstance(element, ast.Constant) and element.value in MODULES
    }


def import_graph() -> dict[str, set[str]]:
    return {
        module: {
            name
            for name, _ in imports(module, module_level=True)
            if name in MODULES and name != module
        }
        | named_modules(module)
        for module in MODULES
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that starts and ends at the same module, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)):
            return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_at_module_level() -> None:
    graph = import_graph()
    assert "semdag.core.graph" in graph["semdag.core.registry"]
    assert "semdag.cli.gate_cmds" in graph["semdag.cli"]
    assert find_cycle(graph) is None
