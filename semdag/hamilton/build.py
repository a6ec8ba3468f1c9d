"""Build a Hamilton driver from a profile's stack, with an override ledger."""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from semdag.config.profile import Profile
from semdag.config.project import Project
from semdag.core.errors import CheckFailed, GraphBuildError, SemdagError
from semdag.core.progress import phase
from semdag.core.tuning import SERIAL, Tuning
from semdag.hamilton.reads import reads_of, recording
from semdag.hamilton.record import Reads
from semdag.hamilton.stack import (
    Conflict,
    Definition,
    LedgerEntry,
    LoadedModule,
    compute_ledger,
    inside_project,
    load_stack,
    resolve_definitions,
    reusing_resolved_nodes,
)

if TYPE_CHECKING:
    from hamilton import driver as h_driver

    from semdag.hamilton.variants import Variant


@dataclass(frozen=True)
class Build:
    """A built driver and everything semdag learnt while building it."""

    project: Project
    profile: Profile
    driver: h_driver.Driver
    modules: tuple[LoadedModule, ...]
    definitions: dict[str, list[Definition]] = field(repr=False)
    ledger: tuple[LedgerEntry, ...]
    conflicts: tuple[Conflict, ...]
    shadowed: tuple[str, ...]
    # What importing and building read (the build cache's record of its inputs).
    reads: Reads = field(default_factory=Reads, repr=False)
    # Each stack function's Hamilton nodes under the profile's config, keyed by ``id(fn)``
    # (those a later layer overrode included).
    resolved: dict[int, list[Any]] = field(default_factory=dict, repr=False)
    # Each stack module's functions (name, function) in Hamilton's order, by module name.
    functions: dict[str, list[tuple[str, Any]]] = field(default_factory=dict, repr=False)

    def layer_of_module(self) -> dict[str, str]:
        return {m.name: m.layer for m in self.modules}

    @functools.cached_property
    def variants(self) -> tuple[Variant, ...]:
        """The stack's config-selected functions (see :func:`~semdag.hamilton.variants.
        find_variants`), found once for the model and validate."""
        from semdag.hamilton.variants import find_variants

        return tuple(find_variants((m.module for m in self.modules), self.profile.config))

    def final_definition(self, node: str) -> Definition | None:
        """The definition that won for ``node`` (the last one in stack order)."""
        defs = self.definitions.get(node)
        return defs[-1] if defs else None


def unlink_graph(build: Build) -> None:
    """Unlink the nodes of a build's graph that nothing will use again.

    Hamilton's nodes point at each other (dependencies and dependents), so a dropped driver
    waits for a full garbage collection, which walks the whole heap (about 0.3 s at 20,000
    nodes). With those links cut, reference counting frees the graph as soon as the last
    reference to the driver goes.
    """
    for node in build.driver.graph.nodes.values():
        for attribute in ("_dependencies", "_depended_on_by"):
            links = getattr(node, attribute, None)
            if isinstance(links, list):
                links.clear()


def build(
    project: Project,
    profile: Profile,
    *,
    configure: Any = None,
    tuning: Tuning = SERIAL,
) -> Build:
    """Import the stack, resolve definitions, and build the Hamilton driver.

    ``configure`` may adjust the Builder (executors, cache) before ``build()``. What the
    import and the build read is recorded (:attr:`Build.reads`).
    """
    with recording(project.root) as recorder:
        found = _build(project, profile, configure)
    tuning.keep()  # the stack and its graph live as long as the process
    return replace(found, reads=reads_of(recorder, project.relative))


def _build(project: Project, profile: Profile, configure: Any) -> Build:
    modules = load_stack(project, profile)
    config = dict(profile.config)
    allow = {layer.name: layer.allow_overrides for layer in profile.layers}
    with (
        inside_project(project.root),
        contextlib.redirect_stdout(sys.stderr),
        phase(f"building the graph of profile {profile.name} ({len(modules)} modules)"),
    ):
        resolved: dict[int, list[Any]] = {}
        functions: dict[str, list[tuple[str, Any]]] = {}
        try:
            definitions = resolve_definitions(project, modules, config, resolved, functions)
        except Exception as exc:
            raise _build_error(exc, project, modules) from None
        ledger, conflicts = compute_ledger(definitions, allow)
        shadowed = tuple(sorted(name for name in definitions if name in config))
        from hamilton import driver as h_driver

        builder = h_driver.Builder().with_modules(*(m.module for m in modules)).with_config(config)
        if ledger or conflicts:
            # Conflicts are reported as findings by validate; building must still succeed
            # so that every other check can run.
            builder = builder.allow_module_overrides()
        if configure is not None:
            builder = configure(builder)
        try:
            with reusing_resolved_nodes(resolved, config):
                dr = builder.build()
        except Exception as exc:
            raise _build_error(exc, project, modules) from None
    return Build(
        project,
        profile,
        dr,
        modules,
        definitions,
        ledger,
        conflicts,
        shadowed,
        resolved=resolved,
        functions=functions,
    )


_MISMATCH = re.compile(r"Error: (\S+) is expecting (\S+?):(.+?), but found \S+?:(.+?)\.\s")


def _build_error(exc: Exception, project: Project, modules: Any) -> SemdagError:
    from semdag.hamilton.failures import build_failure_place, from_annotations

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    mismatch = _MISMATCH.search(str(exc))
    place = build_failure_place(exc, modules, project, mismatch.group(1) if mismatch else None)
    file, line = (place[1], place[2]) if place else (None, None)
    if mismatch:
        fn, param, wanted, found = (
            re.sub(r"<class '([^']+)'>", r"\1", g) for g in mismatch.groups()
        )
        error = CheckFailed(
            f"type-mismatch: {fn} expects {param}: {wanted}, but node {param} is {found}",
            file=file,
            line=line,
        )
        error.code = "type-mismatch"
        return error
    if place and from_annotations(exc):
        return GraphBuildError(
            f"the type annotations of {place[0]} do not evaluate: {type(exc).__name__}: {text}",
            file=file,
            line=line,
        )
    if isinstance(exc, KeyError) and "hamilton.enable_power_user_mode" in str(exc):
        text = (
            "this stack uses resolve/resolve_from_config: "
            "set config hamilton.enable_power_user_mode: true"
        )
    from semdag.hamilton.extensions import broken_hint

    where = f" (while building {place[0]})" if place else ""
    return GraphBuildError(
        f"Hamilton could not build the graph{where}: {type(exc).__name__}: {text}",
        file=file,
        line=line,
        hint=broken_hint(),
    )
