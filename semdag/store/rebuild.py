"""The build cache's answer after an edit to a few stack modules: a partial rebuild.

When the build cache misses only because some stack modules' source changed, the other
modules' contributions are taken from the record of the cached build
(:mod:`semdag.store.modulefacts`), the changed modules are imported (recording what they
read) and resolved, and the graph is assembled from both as Hamilton would
(:mod:`semdag.hamilton.partial`). The answer is the full build's, byte for byte; wherever
that cannot be shown, the build is done in full:

- anything else changed (a helper module, a data file, an environment variable, where a
  module is found, an installed package), or the record is missing or damaged;
- another project module refers to a changed module (imports it, or a function or type of
  it), before or after the edit;
- the stack's libraries with Hamilton extensions changed;
- a changed module does not import or resolve (the full build reports it);
- Hamilton would compare two types on an edge that are neither the same nor ``Any`` and the
  cached build did not show that pair to match (or a changed module defines one of them);
- a profile input's value was checked against another type than its node has now;
- the changed modules' import did what no record covers.

``--debug`` says on stderr which way each profile was built and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from semdag.core.tuning import SERIAL, Job, Tuning
from semdag.hamilton.assembly import NotReproduced
from semdag.hamilton.contributions import StackFacts, library_imports, needed_libraries
from semdag.hamilton.partial import Imported, assemble_facts, import_changed
from semdag.hamilton.validate import findings_of
from semdag.store.buildcache import BuildFacts

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.core.graph import GraphModel
    from semdag.core.rules import Finding
    from semdag.hamilton.build import Build
    from semdag.hamilton.record import Reads
    from semdag.hamilton.sourceinfo import SourceIndex

log = logging.getLogger("semdag.build")

# The facts, and the writes of the cache entry and the record, started.
Rebuilt = tuple[BuildFacts, list[Job[None]]]


class _FullBuild(Exception):
    """Why this profile is built in full."""


class _MeanwhileFailed(Exception):
    """What the caller's own work raised: its error, not a reason to build in full."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def rebuild_changed(
    project: Project,
    profile: Profile,
    index: Callable[[], SourceIndex],
    tuning: Tuning = SERIAL,
    meanwhile: Callable[[GraphModel], None] | None = None,
) -> Rebuilt | None:
    """The facts of a build that imports only the changed stack modules, and the writing of
    its cache entry; None when the profile must be built in full (the reason is logged).
    With a parallel ``tuning`` the changed modules import in another process, which makes
    the source ``index`` that hashes their functions (with ``index()``), and the assembled
    graph is checked in another process while ``meanwhile(graph)`` runs here (once the
    graph is known to be a full build's)."""
    try:
        return _rebuild(project, profile, index, tuning, meanwhile)
    except _MeanwhileFailed as exc:
        raise exc.error from None
    except _FullBuild as exc:
        log.debug("full build of %s: %s", profile.name, exc)
    except Exception as exc:  # the full build gives the answer, or reports the error itself
        log.debug("full build of %s: the partial rebuild stopped: %r", profile.name, exc)
    return None


def record_of_build(
    project: Project, profile: Profile, build: Build, index: SourceIndex
) -> Callable[[], None]:
    """The recording of what each module of a full ``build`` contributed (``index``: its
    functions' source), as the record of the cache entry its facts get: to do now, or
    meanwhile in another process, which then reads the build in its own memory. A build that
    is not stored, or cannot be recorded, leaves no record (the next edit builds in full)."""
    from semdag.hamilton.partial import record_build
    from semdag.store import buildcache
    from semdag.store.modulefacts import prepare_record

    digest = buildcache.entry_digest(project, profile, build.reads)
    if digest is None:
        return _nothing

    def write() -> None:
        stack = record_build(build, index)
        if stack is not None:
            prepare_record(project, profile, digest, stack)()

    return write


def _nothing() -> None:
    return None


def checked_and_stored(
    project: Project,
    profile: Profile,
    reads: Reads,
    tuning: Tuning,
    find: Callable[[], list[Finding]],
    facts_of: Callable[[list[Finding]], BuildFacts],
    meanwhile: Callable[[], None] | None,
    *,
    store: bool = True,
    also: Callable[[], None] = _nothing,
) -> tuple[BuildFacts, Job[None] | None]:
    """The facts of a build (``facts_of`` validate's findings, ``find()``), with their
    digest, and their writing to the local cache with ``also()`` (unless not ``store``).

    With ``meanwhile``, the findings are found and written in another process where one may
    start while ``meanwhile()`` runs here; without, they are found here and written by a
    spare worker (the job returned)."""
    from semdag.store import buildcache

    def write(findings: list[Finding]) -> None:
        if store:
            also()
            buildcache.prepare_store(project, profile, facts_of(findings), reads)[1]()

    writing: Job[None] | None = None
    if meanwhile is None:
        findings = find()
        writing = tuning.workers.spare(partial(write, findings))
    else:
        checking = tuning.workers.start(partial(_found_and_written, find, write))
        try:
            meanwhile()
            findings = checking.result()
        finally:
            checking.cancel()
    facts = facts_of(findings)
    if store:
        facts = buildcache.prepare_store(project, profile, facts, reads)[0]
    return facts, writing


def _found_and_written(
    find: Callable[[], list[Finding]], write: Callable[[list[Finding]], None]
) -> list[Finding]:
    findings = find()
    write(findings)
    return findings


def _rebuild(
    project: Project,
    profile: Profile,
    index: Callable[[], SourceIndex],
    tuning: Tuning,
    meanwhile: Callable[[GraphModel], None] | None,
) -> Rebuilt:
    from semdag.hamilton.record import Reads
    from semdag.store import buildcache
    from semdag.store.modulefacts import load_record

    last = buildcache.last_build(project, profile)
    if last is None:
        raise _FullBuild("no cached build under this profile's key")
    recorded, digest = last
    head = load_record(project, profile, digest, head_only=True)
    if head is None:
        raise _FullBuild("no record of what each module contributed")
    reads = Reads.from_dict(recorded)
    # The changed modules import (Hamilton and their libraries with them) in another process
    # where there is one, which finds them as this one does, while this one reads every
    # other module's record.
    importing = tuning.workers.start(partial(_import_changes, project, profile, head, reads, index))
    try:
        changed = _changed_modules(project, profile, head, reads)
        files = _library_files(project, head, changed)
        stack = load_record(project, profile, digest)
        imported = importing.result()
    finally:
        importing.cancel()
    if imported.why_not is not None:
        raise _FullBuild(imported.why_not)
    if stack is None or stack.stack != head.stack:
        raise _FullBuild("the record of what each module contributed is damaged")
    fresh = imported.modules
    if set(fresh) != set(changed) or imported.reads is None or imported.any_type is None:
        raise _FullBuild("the changed modules imported as other modules")
    for name in sorted(fresh):
        users = [k for k, v in sorted(imported.references.items()) if name in v and k != name]
        if users:
            raise _FullBuild(f"{changed[name]} is now imported by {', '.join(users)}")
    modules = tuple(fresh.get(m.name, m) for m in stack.modules)
    try:
        graph, ledger, checked = assemble_facts(
            profile, modules, stack, set(fresh), imported.any_type
        )
    except NotReproduced as exc:
        raise _FullBuild(str(exc)) from None
    from semdag.store import buildcache
    from semdag.store.modulefacts import prepare_record

    # The record of each module is written from here on, while the graph is checked.
    reads = reads.joined(imported.reads)
    new_stack = StackFacts(
        modules=modules,
        references={**stack.references, **imported.references},
        libraries=files,
        matched=stack.matched,
        input_problems=stack.input_problems,
    )
    stored_as = buildcache.entry_digest(project, profile, reads)
    writes = [tuning.workers.spare(prepare_record(project, profile, stored_as, new_stack))]
    modules_of = tuple((m.layer, m.name, m.file) for m in modules)

    def facts_of(findings: list[Finding]) -> BuildFacts:
        return BuildFacts(graph=graph, modules=modules_of, ledger=ledger, findings=tuple(findings))

    def compare() -> None:
        assert meanwhile is not None
        try:
            meanwhile(graph)
        except Exception as exc:
            raise _MeanwhileFailed(exc) from None

    facts, writing = checked_and_stored(
        project,
        profile,
        reads,
        tuning,
        partial(findings_of, checked, graph),
        facts_of,
        compare if meanwhile is not None else None,
    )
    log.debug(
        "partial rebuild of %s: %d of %d modules changed (%s)",
        profile.name,
        len(fresh),
        len(modules),
        ", ".join(changed[name] for name in sorted(fresh)),
    )
    return facts, [*writes, *([writing] if writing else [])]


def _import_changes(
    project: Project,
    profile: Profile,
    head: StackFacts,
    reads: Reads,
    index: Callable[[], SourceIndex],
) -> Imported:
    """The changed stack modules imported anew (see :func:`import_changed`), or why they
    are not: what changed is found here as the caller finds it (the caller then sees the
    same modules imported, or builds in full)."""
    try:
        changed = _changed_modules(project, profile, head, reads)
        libraries = needed_libraries(_library_files(project, head, changed))
    except _FullBuild as exc:
        return Imported(why_not=str(exc))
    return import_changed(project, profile, changed, index, libraries)


def _library_files(
    project: Project, head: StackFacts, changed: dict[str, str]
) -> dict[str, tuple[str, ...]]:
    """The libraries each source file imports after the edit of the ``changed`` modules (a
    file that is not one of them is as it was: else anything else changed);
    :class:`_FullBuild` when the stack's libraries with Hamilton extensions changed."""
    files = dict(head.libraries)
    for file in changed.values():
        files.pop(file, None)
    files.update(library_imports(project, [project.root / file for file in changed.values()]))
    if needed_libraries(files) != needed_libraries(head.libraries):
        raise _FullBuild("the libraries the stack imports changed")
    return files


def _changed_modules(
    project: Project, profile: Profile, head: StackFacts, reads: Reads
) -> dict[str, str]:
    """The stack modules whose source changed: name -> file; :class:`_FullBuild` when
    anything else changed or the record does not match the profile's stack."""
    specs = [(layer.name, spec) for layer in profile.layers for spec in layer.modules]
    if specs != [(layer, name) for layer, name, _file in head.stack]:
        raise _FullBuild("the record names other stack modules than the profile")
    by_file = {file: name for _layer, name, file in head.stack}
    changed: dict[str, str] = {}
    for kind, name in reads.changes(project.root):
        module = by_file.get(name) if kind in ("module file", "file") else None
        if module is None:
            raise _FullBuild(f"{kind} {name} changed" if name else f"{kind} changed")
        changed[module] = name
    if not changed:
        raise _FullBuild("nothing changed, but the cached facts could not be read")
    for module, file in sorted(changed.items()):
        users = head.referrers(module)
        if users:
            raise _FullBuild(
                f"{file} changed, imported by {len(users)} "
                f"module{'s' if len(users) > 1 else ''} ({', '.join(users[:3])}"
                f"{', …' if len(users) > 3 else ''})"
            )
    return changed
