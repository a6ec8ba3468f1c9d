"""Rebuilding a stack's graph after an edit to a few of its modules: import those alone.

:func:`import_changed` imports and resolves the changed stack modules (recording what they
read) into :class:`~semdag.hamilton.contributions.ModuleFacts`; :func:`assemble_facts`
assembles them with every other module's recorded contribution as Hamilton would
(:mod:`semdag.hamilton.assembly`) into the graph model, the override ledger and validate's
findings. Whether a rebuild may be partial at all is decided where the record is kept
(:mod:`semdag.store.rebuild`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from semdag.hamilton.assembly import (
    Modelled,
    NotReproduced,
    assemble,
    checked_of_assembled,
    graph_of,
    plainly_accepts,
)
from semdag.hamilton.contributions import (
    ModuleFacts,
    NotRecordable,
    StackFacts,
    TypeFacts,
    project_references,
    record_modules,
    record_stack,
    type_facts,
)

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.core.graph import GraphModel
    from semdag.hamilton.build import Build
    from semdag.hamilton.record import Reads
    from semdag.hamilton.sourceinfo import SourceIndex
    from semdag.hamilton.validate import Checked

log = logging.getLogger("semdag.build")


def record_build(build: Build, index: SourceIndex) -> StackFacts | None:
    """What each module of a full build contributed (None when it cannot be recorded: the
    next edit is then built in full too)."""
    try:
        return record_stack(build, index)
    except NotRecordable as exc:
        log.debug("no record of the modules of %s: %s", build.profile.name, exc)
        return None


@dataclass(frozen=True)
class Imported:
    """What importing the changed modules gave (or why they cannot be reused)."""

    modules: dict[str, ModuleFacts] = field(default_factory=dict)
    reads: Reads | None = None
    # Project module -> the project modules it refers to, for those imported.
    references: dict[str, tuple[str, ...]] = field(default_factory=dict)
    any_type: TypeFacts | None = None
    why_not: str | None = None


def import_changed(
    project: Project,
    profile: Profile,
    changed: Mapping[str, str],
    index: Callable[[], SourceIndex],
    libraries: Collection[str],
) -> Imported:
    """Import and resolve the changed modules, recording what they read: their
    contributions, the record of their reads and the references of the project modules
    this process imported (see :class:`Imported`); it may run in another process."""
    from semdag.hamilton.reads import reads_of, recording
    from semdag.hamilton.stack import inside_project, load_stack

    source = index()  # its memo in .semdag/ is no input of the build: read before recording
    try:
        with recording(project.root) as recorder:
            loaded = load_stack(project, profile, only=set(changed), libraries=libraries)
            with inside_project(project.root), contextlib.redirect_stdout(sys.stderr):
                fresh = record_modules(project, loaded, dict(profile.config), source)
    except NotRecordable as exc:
        return Imported(why_not=str(exc))
    except Exception as exc:  # the full build reports it as it reports every failure
        return Imported(why_not=f"rebuilding {', '.join(sorted(changed))} failed: {exc}")
    later = reads_of(recorder, project.relative)
    if later.uncacheable is not None:
        return Imported(why_not=later.uncacheable)
    any_type: Any = typing.Any
    return Imported(
        modules={m.name: m for m in fresh},
        reads=later,
        references=project_references(project),
        any_type=type_facts(any_type),
    )


def draft(profile: Profile, stack: StackFacts) -> Modelled | None:
    """The graph model of the record as it is, made while the changed modules import: the
    assembly after the edit takes from it every node whose contribution is the same (see
    :func:`semdag.hamilton.assembly.graph_of`). None when the record does not assemble
    (the assembly after the edit says why, if it does not either)."""
    # Only nodes made here anew (config keys no node takes) have this type, and those are
    # never taken: the assembly makes them anew too.
    placeholder = TypeFacts("typing.Any", "Any", "Any", True, False)
    try:
        assembled = assemble(
            stack.modules, dict(profile.config), _accepts(stack, set()), placeholder
        )
    except (NotReproduced, LookupError):
        return None
    variants = [v for m in stack.modules for v in m.variants]
    return graph_of(assembled, profile, {m.name: m.layer for m in stack.modules}, variants)


def assemble_facts(
    profile: Profile,
    modules: tuple[ModuleFacts, ...],
    stack: StackFacts,
    changed: set[str],
    any_type: TypeFacts,
    like: Modelled | None = None,
) -> tuple[GraphModel, tuple[Mapping[str, Any], ...], Checked]:
    """The graph model, the override ledger and what validate checks (its findings are
    ``findings_of(checked, graph)``) of ``modules`` (the record's, with the ``changed`` ones
    imported anew), taking what it can from ``like`` (see :func:`draft`);
    :class:`NotReproduced` where they cannot be shown to be a full build's."""
    config = dict(profile.config)
    assembled = assemble(modules, config, _accepts(stack, changed), any_type)
    variants = [v for m in modules for v in m.variants]
    graph = graph_of(assembled, profile, {m.name: m.layer for m in modules}, variants, like).graph
    checked, ledger = checked_of_assembled(
        assembled, profile, graph, variants, stack.input_problems
    )
    return graph, ledger, checked


def _accepts(stack: StackFacts, changed: set[str]) -> Callable[[TypeFacts, TypeFacts], bool]:
    """Whether Hamilton accepts a node of one type for a parameter of another, as far as
    the record shows it (the ``changed`` modules' types are other types now)."""

    def accepts(param: TypeFacts, node: TypeFacts) -> bool:
        if plainly_accepts(param, node):
            return True
        if any(f"{name}." in param.key or f"{name}." in node.key for name in changed):
            return False  # a type of a changed module is another type now
        return (param.key, node.key) in stack.matched

    return accepts
