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
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from semdag.core.tuning import SERIAL, Job, Tuning, nothing
from semdag.hamilton.assembly import NotReproduced
from semdag.hamilton.contributions import StackFacts, library_imports, needed_libraries
from semdag.hamilton.partial import Imported, assemble_facts, draft, import_changed
from semdag.hamilton.validate import findings_of
from semdag.store.buildcache import BuildFacts, PendingFacts

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.core.graph import GraphModel
    from semdag.core.rules import Finding
    from semdag.hamilton.assembly import Modelled
    from semdag.hamilton.build import Build
    from semdag.hamilton.record import Reads
    from semdag.hamilton.sourceinfo import SourceIndex

log = logging.getLogger("semdag.build")


class _FullBuild(Exception):
    """Why this profile is built in full."""


def rebuild_changed(
    project: Project,
    profile: Profile,
    index: Callable[[], SourceIndex],
    tuning: Tuning = SERIAL,
    *,
    compare_meanwhile: bool = False,
) -> PendingFacts | None:
    """The facts of a build that imports only the changed stack modules, and the writing of
    its cache entry and record; None when the profile must be built in full (the reason is
    logged). With a parallel ``tuning`` the changed modules import in another process, which
    makes the source ``index`` that hashes their functions (with ``index()``); with
    ``compare_meanwhile`` the assembled graph is checked in another process while the caller
    compares it."""
    try:
        return _rebuild(project, profile, index, tuning, compare_meanwhile)
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
        return nothing

    def write() -> None:
        stack = record_build(build, index)
        if stack is not None:
            prepare_record(project, profile, digest, stack)()

    return write


def checked_and_stored(
    project: Project,
    profile: Profile,
    graph: GraphModel,
    reads: Reads,
    tuning: Tuning,
    find: Callable[[], list[Finding]],
    facts_of: Callable[[list[Finding]], BuildFacts],
    *,
    compare_meanwhile: bool,
    find_again: Callable[[], list[Finding]] | None = None,
    store: bool = True,
    also: Callable[[], None] = nothing,
    writes: Sequence[Job[None]] = (),
) -> PendingFacts:
    """The facts of a build whose ``graph`` is read (``facts_of`` validate's findings,
    ``find()``), with their digest, and their writing to the local cache with ``also()``
    (unless not ``store``); ``writes``: other writes under way.

    With ``compare_meanwhile``, the findings are found and written in another process where
    one may start, while the caller compares the graph; what ``find`` holds is then free to
    go once this returns, and where that process fails they are found here by
    ``find_again()`` (default: ``find()``). Without, they are found here now and written by
    a spare worker."""
    from semdag.store import buildcache

    def write(findings: list[Finding]) -> None:
        if store:
            also()
            buildcache.prepare_store(project, profile, facts_of(findings), reads)[1]()

    def stored(findings: list[Finding]) -> BuildFacts:
        facts = facts_of(findings)
        return buildcache.prepare_store(project, profile, facts, reads)[0] if store else facts

    if not compare_meanwhile:
        findings = find()
        writing = tuning.workers.spare(partial(write, findings))
        return PendingFacts.ready(stored(findings), (*writes, writing))
    checking = tuning.workers.spare(partial(_found_and_written, find, write))
    again = find_again or find

    def collect() -> BuildFacts:
        findings = checking.result()
        return stored(again() if findings is None else findings)

    return PendingFacts(graph, collect, tuple(writes), checking.cancel)


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
    compare_meanwhile: bool,
) -> PendingFacts:
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
        with tuning.quiet():  # plain records by the ten thousand, and no cycle among them
            stack = load_record(project, profile, digest)
            drafted = _drafted(project, profile, digest, stack, compare_meanwhile)
            tuning.keep()  # and they live as long as the process
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
        with tuning.quiet():
            graph, ledger, checked = assemble_facts(
                profile, modules, stack, set(fresh), imported.any_type, drafted
            )
            tuning.keep()
    except NotReproduced as exc:
        raise _FullBuild(str(exc)) from None
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
    pending = checked_and_stored(
        project,
        profile,
        graph,
        reads,
        tuning,
        partial(findings_of, checked, graph),
        partial(buildcache.facts_of, (modules_of, ledger), graph),
        compare_meanwhile=compare_meanwhile,
        writes=writes,
    )
    log.debug(
        "partial rebuild of %s: %d of %d modules changed (%s)",
        profile.name,
        len(fresh),
        len(modules),
        ", ".join(changed[name] for name in sorted(fresh)),
    )
    return pending


def _drafted(
    project: Project, profile: Profile, digest: str, stack: StackFacts | None, compare: bool
) -> Modelled | None:
    """The graph of the record of the build ``digest`` (see
    :func:`semdag.hamilton.partial.draft`), made while the changed modules import; with
    ``compare``, with the digests a comparison of that build's graph made (or, when none
    were kept, makes now): the graph after the edit makes only those of the few nodes the
    edit changed."""
    from semdag.core.export import graph_digests
    from semdag.store.buildcache import load_graph_digests

    if stack is None:
        return None
    drafted = draft(profile, stack)
    if drafted is not None and compare and not load_graph_digests(project, digest, drafted.graph):
        graph_digests(drafted.graph)
    return drafted


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
