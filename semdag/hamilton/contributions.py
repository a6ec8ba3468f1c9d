"""What each stack module contributed to a build, as plain values a later build can reuse.

A full build records, per stack module, the Hamilton nodes its functions resolved to under
the profile's config (in Hamilton's order, overridden ones included), with what assembling
the graph, reading it into the model and validating it need of each: its type, tags, doc,
inputs and originating functions. Beside them: which project modules refer to which (a
module another one imports cannot be rebuilt alone), the libraries whose Hamilton extensions
the stack loaded, the type pairs Hamilton accepted on an edge, and how the profile's inputs
fared against their nodes' types. :mod:`semdag.hamilton.partial` rebuilds from these when
only a few modules changed.
"""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.hamilton.variants import Variant

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.hamilton.build import Build
    from semdag.hamilton.sourceinfo import SourceIndex
    from semdag.hamilton.stack import LoadedModule


class NotRecordable(Exception):
    """The build holds something a record cannot name faithfully (two functions that read
    alike, an object with no code): no module is reused from it."""


@dataclass(frozen=True, slots=True)
class TypeFacts:
    """A type as the graph uses it."""

    key: str  # repr of the type: two types with one key are taken to be the same
    text: str  # Hamilton's spelling (htypes.get_type_as_string), as messages show it
    public: str  # the graph model's spelling (see semdag.hamilton.model.public_type_name)
    is_any: bool
    from_yaml: bool  # a value of it can be written under inputs:


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    """A function a node originates from."""

    key: str  # module, qualified name and first line: one key, one function
    name: str  # its __name__
    file: str | None
    line: int | None
    end_line: int | None
    code_hash: str | None
    is_async: bool
    is_subdag: bool


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """One Hamilton node a stack function resolved to."""

    name: str
    type: TypeFacts
    tags: Mapping[str, Any]
    doc: str
    user_defined: bool
    # (dependency, its type as the function takes it, required), in Hamilton's order.
    inputs: tuple[tuple[str, TypeFacts, bool], ...]
    functions: tuple[str, ...]  # keys of its originating functions


@dataclass(frozen=True, slots=True)
class FunctionNodes:
    """A stack function (as its module names it), where it is defined, and its nodes."""

    name: str
    file: str
    line: int
    nodes: tuple[NodeFacts, ...]


@dataclass(frozen=True)
class ModuleFacts:
    """What one stack module contributed."""

    layer: str
    name: str
    file: str  # as the build's modules list it
    read_name: str  # its file as the record of what the build read names it
    definitions: tuple[FunctionNodes, ...]
    functions: Mapping[str, FunctionFacts]
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class StackFacts:
    """Every stack module's contribution, and what decides whether one can be reused."""

    modules: tuple[ModuleFacts, ...]
    # Project module -> the project modules its globals refer to (modules, functions, types).
    references: Mapping[str, tuple[str, ...]]
    # Each stack source file -> the libraries with a Hamilton extension it imports.
    libraries: Mapping[str, tuple[str, ...]]
    # (parameter type key, node type key) pairs Hamilton accepted on an edge.
    matched: frozenset[tuple[str, str]]
    # Profile input -> (key of its node's type, why the value cannot be it, or None).
    input_problems: Mapping[str, tuple[str, str | None]]
    # Each module as (layer, name, the name of its file in the record of what was read), in
    # stack order: known before the modules' contributions are read.
    stack: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.modules and not self.stack:
            stack = tuple((m.layer, m.name, m.read_name) for m in self.modules)
            object.__setattr__(self, "stack", stack)

    def referrers(self, module: str) -> list[str]:
        """The other project modules that refer to ``module``."""
        return sorted(k for k, v in self.references.items() if module in v and k != module)


def stack_libraries(project: Project, profile: Profile) -> dict[str, tuple[str, ...]]:
    """Each file of the stack's source -> the libraries with a Hamilton extension it imports
    (see :func:`semdag.hamilton.stack.load_stack`)."""
    from semdag.hamilton.stack import stack_sources

    return library_imports(project, stack_sources(project, profile))


def library_imports(project: Project, files: Iterable[Path]) -> dict[str, tuple[str, ...]]:
    """Each of ``files`` (by its name in the record of what a build read) -> the libraries
    with a Hamilton extension it imports; a file that imports none is left out."""
    from semdag.hamilton.extensions import LIBRARIES, imported_names

    wanted = set(LIBRARIES.values())
    out: dict[str, tuple[str, ...]] = {}
    for path in files:
        found = imported_names([path]) & wanted
        if found:
            out[read_name(project, str(path))] = tuple(sorted(found))
    return out


def needed_libraries(files: Mapping[str, Iterable[str]]) -> set[str]:
    """The libraries whose Hamilton extensions a stack of these files needs."""
    return {library for names in files.values() for library in names}


def record_stack(build: Build, index: SourceIndex) -> StackFacts:
    """The contributions of every module of ``build`` (see the module's docstring)."""
    from semdag.hamilton.validate import type_problem

    recorder = _Recorder(build.project, index)
    key = recorder.type_key
    config = dict(build.profile.config)
    modules = tuple(
        recorder.module(
            loaded,
            build.resolved,
            config,
            root_read_name(build.project, loaded),
            build.functions.get(loaded.name),
        )
        for loaded in build.modules
    )
    graph_nodes = build.driver.graph.nodes
    matched: set[tuple[str, str]] = set()
    for n in graph_nodes.values():
        for dep, (param_type, _kind) in n.input_types.items():
            producer = graph_nodes.get(dep)
            if producer is not None and not producer.user_defined:
                matched.add((key(param_type), key(producer.type)))
    problems: dict[str, tuple[str, str | None]] = {}
    for name, value in build.profile.inputs.items():
        node = graph_nodes.get(name)
        if node is not None and node.user_defined and name not in config:
            problems[name] = (key(node.type), type_problem(name, node, value))
    return StackFacts(
        modules=modules,
        references=project_references(build.project),
        libraries=stack_libraries(build.project, build.profile),
        matched=frozenset(matched),
        input_problems=problems,
    )


def record_modules(
    project: Project,
    modules: Iterable[LoadedModule],
    config: Mapping[str, Any],
    index: SourceIndex,
) -> tuple[ModuleFacts, ...]:
    """The contributions of ``modules``, resolving their functions' nodes now."""
    recorder = _Recorder(project, index)
    return tuple(
        recorder.module(loaded, None, dict(config), root_read_name(project, loaded))
        for loaded in modules
    )


def root_read_name(project: Project, loaded: LoadedModule) -> str:
    """The name the record of what a build read gives a module's file."""
    return read_name(project, getattr(loaded.module, "__file__", None) or loaded.file)


def read_name(project: Project, file: str) -> str:
    """The name the record of what a build read gives a file (project-relative inside the
    project, absolute and resolved outside)."""
    real = os.path.realpath(file)
    root = os.path.realpath(project.root)
    return project.relative(real) if real.startswith(root + os.sep) else real


class _Recorder:
    """Reads nodes, types and functions into facts, each type and function once."""

    def __init__(self, project: Project, index: SourceIndex) -> None:
        from hamilton import node as h_node
        from hamilton.function_modifiers.recursive import subdag

        self.required = h_node.DependencyType.REQUIRED
        self.subdag = subdag
        self.project = project
        self.index = index
        self.types: dict[int, tuple[Any, TypeFacts]] = {}
        self.functions: dict[str, tuple[Any, FunctionFacts]] = {}
        self.by_id: dict[int, tuple[Any, FunctionFacts]] = {}

    def module(
        self,
        loaded: LoadedModule,
        resolved: Mapping[int, list[Any]] | None,
        config: dict[str, Any],
        read_name: str,
        functions: list[tuple[str, Any]] | None = None,
    ) -> ModuleFacts:
        from hamilton.function_modifiers import base as fm_base
        from hamilton.graph_utils import find_functions

        from semdag.hamilton.variants import variants_of

        definitions: list[FunctionNodes] = []
        used: dict[str, FunctionFacts] = {}
        found = functions if functions is not None else find_functions(loaded.module)
        for fn_name, fn in found:
            code = getattr(fn, "__code__", None)
            file = self.project.relative(code.co_filename) if code else loaded.file
            line = code.co_firstlineno if code else 0
            nodes = resolved.get(id(fn)) if resolved is not None else None
            if nodes is None:
                nodes = fm_base.resolve_nodes(fn, config)
            facts = tuple(self.node(n, used) for n in nodes)
            definitions.append(FunctionNodes(fn_name, file, line, facts))
        return ModuleFacts(
            layer=loaded.layer,
            name=loaded.name,
            file=loaded.file,
            read_name=read_name,
            definitions=tuple(definitions),
            functions=used,
            variants=tuple(variants_of(found, config)),
        )

    def node(self, n: Any, used: dict[str, FunctionFacts]) -> NodeFacts:
        keys = []
        for fn in n.originating_functions or ():
            facts = self.function(fn)
            used[facts.key] = facts
            keys.append(facts.key)
        type_of = self.type
        required = self.required
        # NodeFacts's fields in order.
        return NodeFacts(
            n.name,
            type_of(n.type),
            n.tags,
            n.documentation or "",
            bool(n.user_defined),
            tuple((dep, type_of(t), kind == required) for dep, (t, kind) in n.input_types.items()),
            tuple(keys),
        )

    def type_key(self, annotation: Any) -> str:
        return self.type(annotation).key

    def type(self, annotation: Any) -> TypeFacts:
        known = self.types.get(id(annotation))
        if known is not None and known[0] is annotation:
            return known[1]  # the same object: its facts once
        facts = type_facts(annotation)
        self.types[id(annotation)] = (annotation, facts)
        return facts

    def function(self, fn: Any) -> FunctionFacts:
        seen = self.by_id.get(id(fn))
        if seen is not None and seen[0] is fn:
            return seen[1]
        facts = self._function(fn)
        self.by_id[id(fn)] = (fn, facts)
        return facts

    def _function(self, fn: Any) -> FunctionFacts:
        unwrapped = inspect.unwrap(fn) if hasattr(fn, "__wrapped__") else fn
        code = getattr(unwrapped, "__code__", None)
        if code is None:
            raise NotRecordable(f"{fn!r} has no code")
        module, qualname = getattr(fn, "__module__", ""), getattr(fn, "__qualname__", "")
        key = f"{module}:{qualname}:{code.co_filename}:{code.co_firstlineno}"
        known = self.functions.get(key)
        if known is not None:
            if known[0] is not fn:
                raise NotRecordable(f"two functions read as {key}")
            return known[1]
        src = self.index.lookup(fn)
        decorators = getattr(fn, "generate", None) or ()
        facts = FunctionFacts(
            key,
            fn.__name__,
            src.file if src else None,
            src.line if src else None,
            src.end_line if src else None,
            src.code_hash if src else None,
            _is_async(unwrapped, code),
            any(isinstance(d, self.subdag) for d in decorators),
        )
        self.functions[key] = (fn, facts)
        return facts


def _is_async(fn: Any, code: Any) -> bool:
    """``inspect.iscoroutinefunction(fn)``, from the code's flags where that is the same."""
    if type(fn) is types.FunctionType and not hasattr(fn, "_is_coroutine_marker"):
        return bool(code.co_flags & inspect.CO_COROUTINE)
    return inspect.iscoroutinefunction(fn)


def type_facts(annotation: Any) -> TypeFacts:
    """A type's facts (see :class:`TypeFacts`)."""
    import typing

    from hamilton import htypes

    from semdag.hamilton.model import public_type_name
    from semdag.hamilton.validate import from_yaml

    text = htypes.get_type_as_string(annotation)
    return TypeFacts(
        key=_type_key(annotation),
        text=str(text),
        public=public_type_name(text or str(annotation)),
        is_any=annotation == typing.Any,
        from_yaml=from_yaml(annotation),
    )


def _type_key(annotation: Any) -> str:
    return repr(annotation)


def project_references(project: Project) -> dict[str, tuple[str, ...]]:
    """Every imported project module -> the other project modules its globals refer to: a
    module object, or an object (function, class, value) whose ``__module__`` names one. A
    package's attribute for its own submodule (set by importing the submodule) is left out."""
    import sys

    roots = tuple({str(project.root) + os.sep, os.path.realpath(project.root) + os.sep})
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    own = tuple({package + os.sep, os.path.realpath(package) + os.sep})
    inside: set[str] = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or "site-packages" in file:
            continue  # installed libraries are no project module, wherever the project is
        real = file if file.startswith(roots) else os.path.realpath(file)
        if real.startswith(roots) and not real.startswith(own):
            inside.add(name)
    out: dict[str, tuple[str, ...]] = {}
    for name in sorted(inside):
        found: set[str] = set()
        for attribute, value in list(vars(sys.modules[name]).items()):
            target: Any
            if isinstance(value, types.ModuleType):
                target = value.__name__
                if target == f"{name}.{attribute}":
                    continue
            else:
                try:
                    target = getattr(value, "__module__", None)
                except Exception:  # an object whose attributes raise
                    continue
            if isinstance(target, str) and target != name and target in inside:
                found.add(target)
        out[name] = tuple(sorted(found))
    return out
