"""Layered module stacks: import each layer's modules and record who defines which node."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import os
import sys
import traceback
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from semdag.config.profile import Profile
from semdag.config.project import Project
from semdag.core.errors import ModuleLoadError, ModuleNotFound
from semdag.core.progress import phase


@dataclass(frozen=True)
class LoadedModule:
    """A stack module after import."""

    layer: str
    name: str
    file: str
    module: ModuleType


@dataclass(frozen=True, slots=True)
class Definition:
    """One definition of a node by a function of a stack module."""

    node: str
    layer: str
    module: str
    function: str
    file: str
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class LedgerEntry:
    """A node that a later layer replaced."""

    node: str
    defined: Definition
    overridden_by: Definition

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "defined_layer": self.defined.layer,
            "defined_module": self.defined.module,
            "defined_at": self.defined.where(),
            "overridden_layer": self.overridden_by.layer,
            "overridden_module": self.overridden_by.module,
            "overridden_at": self.overridden_by.where(),
        }


@dataclass(frozen=True)
class Conflict:
    """A node defined again in a layer that may not override."""

    node: str
    first: Definition
    second: Definition


@contextlib.contextmanager
def inside_project(root: Path) -> Iterator[None]:
    """Run the block as project code runs: with the project root first on ``sys.path`` (stack
    modules import by dotted name) and as the working directory (relative paths in profiles
    and node code mean the same from anywhere). Both are restored afterwards."""
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        previous: str | None = os.getcwd()
    except OSError:  # the working directory was deleted
        previous = None
    os.chdir(root)
    try:
        yield
    finally:
        if previous is not None:
            with contextlib.suppress(OSError):
                os.chdir(previous)
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def _module_name_for_path(project: Project, spec: str) -> tuple[str, Path | None]:
    path = (project.root / spec).resolve()
    if not path.is_file():
        raise ModuleNotFound(f"module file not found: {spec}", file=spec)
    try:
        rel = path.relative_to(project.root)
    except ValueError:
        return f"semdag_ext_{path.stem}", path
    return ".".join(rel.with_suffix("").parts), None


def import_stack_module(project: Project, spec: str) -> ModuleType:
    """Import one module by dotted name or ``.py`` path; errors name the module, file and line."""
    name, outside = _module_name_for_path(project, spec) if spec.endswith(".py") else (spec, None)
    try:
        # A module that prints at import must not corrupt stdout (it carries only results).
        with contextlib.redirect_stdout(sys.stderr):
            if outside is not None:
                loader_spec = importlib.util.spec_from_file_location(name, outside)
                assert loader_spec and loader_spec.loader
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[name] = module
                loader_spec.loader.exec_module(module)
                return module
            return importlib.import_module(name)
    except SyntaxError as exc:
        file = project.relative(exc.filename) if exc.filename else spec
        raise ModuleLoadError(
            f"module {spec} does not import: SyntaxError: {exc.msg}", file=file, line=exc.lineno
        ) from None
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ModuleNotFound(
                f"module {spec} not found "
                f"(dotted names resolve from the project root {project.root.name}/)"
            ) from None
        raise _import_failure(project, spec, exc) from None
    except SystemExit as exc:
        raise ModuleLoadError(
            f"module {spec} called sys.exit({exc.code}) while importing"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # also BaseException subclasses a module may raise
        raise _import_failure(project, spec, exc) from None


def _import_failure(project: Project, spec: str, exc: BaseException) -> ModuleLoadError:
    file, line = spec, None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        try:
            Path(frame.filename).resolve().relative_to(project.root)
        except ValueError:
            continue
        file, line = project.relative(frame.filename), frame.lineno
        break
    from semdag.hamilton.extensions import broken_hint

    return ModuleLoadError(
        f"module {spec} does not import: {type(exc).__name__}: {exc}",
        file=file,
        line=line,
        hint=broken_hint(),
    )


def _forget_stack_packages(profile: Profile) -> None:
    """Drop earlier imports of the stack's packages so each build reads the files as they are.

    One process may build several profiles or projects whose packages share names
    (``modules``, ``stack``); a stale entry in ``sys.modules`` would silently win.
    """
    tops = {
        spec.split("/")[0] if spec.endswith(".py") else spec.split(".")[0]
        for layer in profile.layers
        for spec in layer.modules
    }
    tops.discard("semdag")
    for name in list(sys.modules):
        if name.split(".")[0] in tops:
            del sys.modules[name]
    importlib.invalidate_caches()


def stack_files(project: Project, profile: Profile) -> list[str]:
    """The file each stack module will be imported from, found the way the import system
    finds it but without importing anything (no module or package code runs), so that its
    source can be read while the stack imports. A module it cannot place is left out."""
    from importlib.machinery import PathFinder

    files: list[str] = []
    with inside_project(project.root):
        for layer in profile.layers:
            for spec in layer.modules:
                try:
                    name, outside = (
                        _module_name_for_path(project, spec)
                        if spec.endswith(".py")
                        else (spec, None)
                    )
                    if outside is not None:
                        files.append(str(outside))
                        continue
                    search: list[str] | None = None
                    found = None
                    for part in name.split("."):
                        found = PathFinder.find_spec(part, search)
                        if found is None:
                            break
                        search = list(found.submodule_search_locations or [])
                except (ModuleLoadError, ImportError, ValueError, OSError):
                    continue  # the import reports it
                if found is not None and found.has_location and found.origin:
                    files.append(found.origin)
    return files


def stack_sources(project: Project, profile: Profile) -> list[Path]:
    """Every Python file of the packages the stack's modules belong to (and each ``.py``
    module), where the stack's own imports can be read."""
    found: dict[Path, None] = {}
    packages: dict[Path, None] = {}
    for layer in profile.layers:
        for spec in layer.modules:
            if spec.endswith(".py"):
                found[project.root / spec] = None
                continue
            top = project.root / spec.split(".")[0]
            if top.is_dir():
                packages[top] = None
            else:
                found[top.with_suffix(".py")] = None
    for package in packages:
        found.update(dict.fromkeys(sorted(package.rglob("*.py"))))
    return list(found)


def load_stack(
    project: Project,
    profile: Profile,
    only: Collection[str] | None = None,
    libraries: Collection[str] | None = None,
) -> tuple[LoadedModule, ...]:
    """Import every module of every layer (or those ``only`` names), in stack order
    (Hamilton first, with the extensions the stack's libraries need: see
    :mod:`semdag.hamilton.extensions`; ``libraries``, when known, are those the stack's
    source imports)."""
    from semdag.hamilton import extensions
    from semdag.hamilton.reads import attributing, forget_user_modules

    loaded: list[LoadedModule] = []
    seen: set[str] = set()
    if libraries is None:
        libraries = extensions.imported_names(stack_sources(project, profile))
    extensions.load_for(set(libraries))
    forget_user_modules()
    _forget_stack_packages(profile)
    specs = [
        (layer, spec)
        for layer in profile.layers
        for spec in layer.modules
        if only is None or spec in only
    ]
    with inside_project(project.root):
        for number, (layer, spec) in enumerate(specs, 1):
            with (
                phase(f"importing {spec} (module {number} of {len(specs)})"),
                attributing(spec, "importing"),
            ):
                try:
                    module = import_stack_module(project, spec)
                except ModuleNotFound as exc:  # blamed on the profile key that names it
                    at = profile.error(
                        exc.message, "stack", layer.name, str(layer.modules.index(spec))
                    )
                    raise ModuleNotFound(at.message, file=at.file, line=at.line) from None
            if module.__name__ in seen:
                raise ModuleLoadError(
                    f"module {module.__name__} appears twice in the stack",
                    file=profile.file,
                )
            seen.add(module.__name__)
            file = getattr(module, "__file__", None) or spec
            loaded.append(LoadedModule(layer.name, module.__name__, project.relative(file), module))
    return tuple(loaded)


def resolve_definitions(
    project: Project,
    modules: tuple[LoadedModule, ...],
    config: Mapping[str, Any],
    resolved: dict[int, list[Any]] | None = None,
    functions: dict[str, list[tuple[str, Any]]] | None = None,
) -> dict[str, list[Definition]]:
    """Every node each module defines under ``config``, in stack order.

    ``resolved``, when given, receives each function's Hamilton nodes keyed by ``id(fn)``
    so that the driver build can reuse them (see :func:`reusing_resolved_nodes`);
    ``functions`` each module's functions (name, function) in Hamilton's order.
    """
    from hamilton.function_modifiers import base as fm_base
    from hamilton.graph_utils import find_functions

    definitions: dict[str, list[Definition]] = {}
    for loaded in modules:
        found = find_functions(loaded.module)
        if functions is not None:
            functions[loaded.name] = found
        for fn_name, fn in found:
            code = getattr(fn, "__code__", None)
            file = project.relative(code.co_filename) if code else loaded.file
            line = code.co_firstlineno if code else 0
            nodes = fm_base.resolve_nodes(fn, dict(config))
            if resolved is not None:
                resolved[id(fn)] = nodes
            for node in nodes:
                definitions.setdefault(node.name, []).append(
                    Definition(node.name, loaded.layer, loaded.name, fn_name, file, line)
                )
    return definitions


@contextlib.contextmanager
def reusing_resolved_nodes(
    resolved: dict[int, list[Any]], config: Mapping[str, Any]
) -> Iterator[None]:
    """Let Hamilton's graph construction reuse the nodes semdag resolved for the ledger.

    Resolving decorators is the larger part of building a graph; without this, every build
    would resolve each function twice. Only functions semdag resolved, with the same config,
    are answered from ``resolved``; anything else goes to Hamilton's own resolver.

    This replaces a function inside Hamilton, so it does so only for the Hamilton versions it
    is tested against (:data:`semdag.hamilton.version.PATCH_TESTED`); under any other version
    Hamilton resolves every function itself, slower and the same.
    """
    from semdag.hamilton.version import patch_tested

    if not patch_tested():
        yield
        return
    from hamilton import graph as h_graph

    base = getattr(h_graph, "fm_base", None)
    original = getattr(base, "resolve_nodes", None)
    if original is None:
        yield
        return

    def resolve(fn: Any, asked: dict[str, Any]) -> Any:
        hit = resolved.get(id(fn)) if asked == config else None
        return hit if hit is not None else original(fn, asked)

    setattr(base, "resolve_nodes", resolve)  # noqa: B010 - patched for the build's duration
    try:
        yield
    finally:
        setattr(base, "resolve_nodes", original)  # noqa: B010


def compute_ledger(
    definitions: Mapping[str, list[Definition]], allow: Mapping[str, bool]
) -> tuple[tuple[LedgerEntry, ...], tuple[Conflict, ...]]:
    """Overrides a later layer may make (the ledger) and those it may not (conflicts)."""
    ledger: list[LedgerEntry] = []
    conflicts: list[Conflict] = []
    for name in sorted(definitions):
        defs = definitions[name]
        for previous, current in itertools.pairwise(defs):
            if allow.get(current.layer, False) and current.module != previous.module:
                ledger.append(LedgerEntry(name, previous, current))
            else:
                conflicts.append(Conflict(name, previous, current))
    return tuple(ledger), tuple(conflicts)
