"""One command invocation's state: options, project, profile, build (each made once, lazily).

What a session has made is kept in typed fields, one per kind: the project, the profiles by
name, the builds by profile and driver configuration, and each profile's build facts. Work
that may run in another process goes through the :class:`~semdag.core.tuning.Tuning` the
session is given (serial unless the command line installs another).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from semdag.core.progress import phase
from semdag.core.tuning import SERIAL, Job, Tuning, nothing

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.core.graph import GraphModel
    from semdag.core.rules import Finding
    from semdag.hamilton.build import Build
    from semdag.hamilton.sourceinfo import SourceIndex
    from semdag.store.buildcache import BuildFacts, PendingFacts

# Adds executors, caches and hooks to a Hamilton Builder and returns it.
Configure = Callable[[Any], Any]
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Session:
    """The shared options of a command and what they lead to.

    Whoever makes a session ends it with :meth:`finish`: it waits for the cache writes that
    may still be under way (the command line and the pytest plugin do).
    """

    command: str
    profile_name: str | None = None
    config_file: Path | None = None
    sets: tuple[str, ...] = ()
    project_dir: Path | None = None
    fmt: str = "text"
    debug: bool = False
    build_cache: bool = True
    tuning: Tuning = SERIAL
    _project: Project | None = field(default=None, repr=False)
    # Keyed by the profile name asked for (None: the selected profile).
    _profiles: dict[str | None, Profile] = field(default_factory=dict, repr=False)
    # Keyed by profile name and the callable that configured the driver's Builder.
    _builds: dict[tuple[str | None, Configure | None], Build] = field(
        default_factory=dict, repr=False
    )
    _facts: dict[str | None, BuildFacts] = field(default_factory=dict, repr=False)
    # Cache writes that may still be under way (see `finish`).
    _writes: list[Job[None]] = field(default_factory=list, repr=False)

    @property
    def project(self) -> Project:
        if self._project is None:
            from semdag.config.project import find_project

            self._project = find_project(explicit=self.project_dir)
        return self._project

    def load_profile(self, name: str | None = None) -> Profile:
        """The selected profile (or ``name``), merged and validated."""
        from semdag.config.profile import load_profile

        if name not in self._profiles:
            self._profiles[name] = load_profile(
                self.project,
                name or self.profile_name,
                config_file=None if name else self.config_file,
                sets=self.sets,
            )
        return self._profiles[name]

    @property
    def profile(self) -> Profile:
        return self.load_profile()

    def build(self, name: str | None = None, configure: Configure | None = None) -> Build:
        """Build the driver for the selected profile (or ``name``)."""
        from semdag.hamilton.build import build

        profile = self.load_profile(name)
        key = (name, configure)
        if key not in self._builds:
            self._builds[key] = build(
                self.project, profile, configure=configure, tuning=self.tuning
            )
        return self._builds[key]

    def facts(self, name: str | None = None, *, release: bool = False) -> BuildFacts:
        """What a build of the profile learnt: from the build cache when nothing changed.

        ``release``: only the facts are wanted, so a driver built for them is freed as soon
        as they are read (see :meth:`release_build`).
        """
        if name not in self._facts:
            self._facts[name] = self._collected(name, self._pending_facts(name), release)
        return self._facts[name]

    def compared(
        self,
        name: str | None,
        reads: Mapping[str, Callable[[], T]],
        compare: Callable[[GraphModel, dict[str, T]], R],
        *,
        release: bool = False,
    ) -> tuple[BuildFacts, R]:
        """The facts of a profile (see :meth:`facts`) and ``compare(graph, what each of
        reads returned)``. With a parallel tuning, the reads run in another process while the
        stack imports, and a stack built now is checked by validate in another process while
        this one compares. A read's error is raised here, as it would be if it ran now."""
        jobs = {key: self.tuning.workers.start(work) for key, work in reads.items()}
        try:
            known = self._facts.get(name)
            if known is not None:
                return known, compare(known.graph, {key: job.result() for key, job in jobs.items()})
            pending = self._pending_facts(name, compare_meanwhile=True, release=release)
            try:
                read = {key: job.result() for key, job in jobs.items()}
                with self.tuning.quiet():  # comparing makes many plain records, no cycle
                    done = compare(pending.graph, read)
            except BaseException:
                pending.cancel()
                self._writes.extend(pending.writes)  # the record of each module, still wanted
                raise
            from semdag.store import buildcache

            facts = self._facts[name] = self._collected(name, pending, release)
            # What the comparison made of the graph, for the draft of it after an edit.
            buildcache.store_graph_digests(self.project, facts.digest, facts.graph)
            return facts, done
        finally:
            for job in jobs.values():
                job.cancel()

    def _collected(self, name: str | None, pending: PendingFacts, release: bool) -> BuildFacts:
        """The facts ``pending`` gives once validate's findings are in; the cache writes
        under way are waited for by :meth:`finish`."""
        facts = pending.collect()
        self._writes.extend(pending.writes)
        if release:
            self.release_build(name)
        return facts

    def _pending_facts(
        self, name: str | None, *, compare_meanwhile: bool = False, release: bool = False
    ) -> PendingFacts:
        """The graph of a profile (see :meth:`facts`), and its facts once validate's
        findings are in: with ``compare_meanwhile``, found in another process where one
        may start while the caller compares the graph (a driver built for them is then
        freed before the comparison, with ``release``)."""
        from semdag.hamilton.model import model_from_build
        from semdag.hamilton.sourceinfo import SourceIndex, index_files, worth_indexing_early
        from semdag.hamilton.stack import stack_files
        from semdag.hamilton.validate import validate
        from semdag.store import buildcache
        from semdag.store.hashmemo import load_memo, prepare_memo
        from semdag.store.rebuild import checked_and_stored, rebuild_changed, record_of_build

        profile = self.load_profile(name)
        use_cache = self.build_cache and buildcache.enabled()
        if use_cache:
            hit = buildcache.lookup(self.project, profile)
            if hit is not None:
                return buildcache.PendingFacts.ready(hit)
            # Only some stack modules changed: those alone are imported, when that is sound.
            indexer = partial(self.source_index, profile.name)
            rebuilt = rebuild_changed(
                self.project, profile, indexer, self.tuning, compare_meanwhile=compare_meanwhile
            )
            if rebuilt is not None:
                return rebuilt
        indexing: Job[Any] | None = None
        fresh = self.tuning.workers.count() > 1 and name not in self._built()
        files = stack_files(self.project, profile) if fresh else []
        if fresh and worth_indexing_early(files):
            # The stack's source is parsed and hashed (with the local memo) while it imports.
            index = SourceIndex(self.project.relative, tuning=self.tuning)
            recorded = partial(load_memo, self.project, profile.name) if use_cache else None
            work = partial(index_files, self.project.relative, files, recorded)
            indexing = self.tuning.workers.start(work)
        else:
            index = self.source_index(profile.name)
        try:
            build = self.build(name)
            if indexing is not None:
                index.take_indexed(indexing.result())
                indexing = None
        finally:
            if indexing is not None:
                indexing.cancel()
        writes: list[Job[None]] = []
        if use_cache:
            # What each module contributed is recorded (for a partial rebuild after an edit)
            # in another process where one may start, while this one reads the graph.
            record = record_of_build(self.project, profile, build, index)
            writes.append(self.tuning.workers.spare(record))
            del record
        with phase(f"reading the source of {len(build.driver.graph.nodes)} nodes"):
            graph = model_from_build(build, index)
        with phase("checking the graph"):
            # With ``compare_meanwhile``, in another process where one may start.
            pending = checked_and_stored(
                self.project,
                profile,
                graph,
                build.reads,
                self.tuning,
                partial(validate, build, graph),
                partial(buildcache.facts_of, buildcache.build_summary(build), graph),
                compare_meanwhile=compare_meanwhile,
                find_again=partial(self._validated_again, name, graph),
                store=use_cache,
                also=prepare_memo(self.project, profile.name, index) if use_cache else nothing,
                writes=writes,
            )
        if compare_meanwhile and release:
            # The comparison reuses the driver's memory.
            del build, index
            self.release_build(name)
        return pending

    def _validated_again(self, name: str | None, graph: GraphModel) -> list[Finding]:
        """Validate's findings for a profile whose driver may have been freed (built again)."""
        from semdag.hamilton.validate import validate

        return validate(self.build(name), graph)

    def finish(self) -> None:
        """Wait for the cache writes still under way (every command ends with this)."""
        while self._writes:
            self._writes.pop().result()

    def source_index(
        self, profile: str, *, with_source: bool = False, hamilton: bool = False
    ) -> SourceIndex:
        """A source index that takes unchanged functions' hashes from the local hash memo
        (see :mod:`semdag.store.hashmemo`), unless caches are off."""
        from semdag.hamilton.sourceinfo import SourceIndex
        from semdag.store import buildcache
        from semdag.store.hashmemo import load_memo

        use_cache = self.build_cache and buildcache.enabled()
        memo, file_memo = load_memo(self.project, profile) if use_cache else ({}, {})
        return SourceIndex(
            self.project.relative,
            with_source=with_source,
            hamilton=hamilton,
            memo=memo,
            file_memo=file_memo,
            tuning=self.tuning,
        )

    def _built(self) -> set[str | None]:
        """The profiles built in this session (each imported its stack)."""
        return {key[0] for key in self._builds}

    def release_build(self, name: str | None = None) -> None:
        """Free the driver of a profile once only its facts are needed (see ``unlink_graph``)."""
        from semdag.hamilton.build import unlink_graph

        for key in [k for k in self._builds if k[0] == name]:
            unlink_graph(self._builds.pop(key))

    def graph(self, name: str | None = None, *, release: bool = False) -> GraphModel:
        """The graph model of the selected profile's build (``release``: see :meth:`facts`)."""
        return self.facts(name, release=release).graph
