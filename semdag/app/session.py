"""One command invocation's state: options, project, profile, build (each made once, lazily).

What a session has made is kept in typed fields, one per kind: the project, the profiles by
name, the builds by profile and driver configuration, and each profile's build facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.core.progress import phase

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.core.graph import GraphModel
    from semdag.hamilton.ahead import Pending
    from semdag.hamilton.build import Build
    from semdag.hamilton.sourceinfo import SourceIndex
    from semdag.store.buildcache import BuildFacts

# The name of the ahead job that indexes the stack's source (see Session.ahead).
_SOURCES = "semdag.sources"

# Adds executors, caches and hooks to a Hamilton Builder and returns it.
Configure = Callable[[Any], Any]


@dataclass
class Session:
    """The shared options of a command and what they lead to.

    Whoever makes a session ends it with :meth:`finish`: it waits for the cache writes that a
    worker does meanwhile (the command line and the pytest plugin do).
    """

    command: str
    profile_name: str | None = None
    config_file: Path | None = None
    sets: tuple[str, ...] = ()
    project_dir: Path | None = None
    fmt: str = "text"
    debug: bool = False
    build_cache: bool = True
    _project: Project | None = field(default=None, repr=False)
    # Keyed by the profile name asked for (None: the selected profile).
    _profiles: dict[str | None, Profile] = field(default_factory=dict, repr=False)
    # Keyed by profile name and the callable that configured the driver's Builder.
    _builds: dict[tuple[str | None, Configure | None], Build] = field(
        default_factory=dict, repr=False
    )
    _facts: dict[str | None, BuildFacts] = field(default_factory=dict, repr=False)
    # Work to do meanwhile in a worker forked as the next build starts (see `ahead`), and
    # what such a worker returned, by name.
    _ahead_jobs: dict[str, Callable[[], Any]] = field(default_factory=dict, repr=False)
    _ahead_results: dict[str, Any] = field(default_factory=dict, repr=False)
    # Work to start in a worker once a fresh build's graph is read (see `beside`), and the
    # workers doing it.
    _beside_jobs: dict[str, Callable[[GraphModel], Any]] = field(default_factory=dict, repr=False)
    _beside: dict[str, Pending[Any, Any]] = field(default_factory=dict, repr=False)
    # Cache writes under way in another process (see `finish`).
    _behind: list[Pending[Any, None]] = field(default_factory=list, repr=False)

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
            self._builds[key] = build(self.project, profile, configure=configure)
        return self._builds[key]

    def facts(self, name: str | None = None, *, release: bool = False) -> BuildFacts:
        """What a build of the profile learnt: from the build cache when nothing changed.

        ``release``: only the facts are wanted, so a driver built for them is freed as soon
        as they are read (see :meth:`release_build`), before they are stored.
        """
        if name not in self._facts:
            self._facts[name] = self._make_facts(name, release)
        return self._facts[name]

    def _make_facts(self, name: str | None, release: bool) -> BuildFacts:
        from semdag.hamilton.ahead import can_fork, meanwhile, start_ahead, start_behind
        from semdag.hamilton.model import model_from_build
        from semdag.hamilton.sourceinfo import SourceIndex, index_ahead, worth_ahead
        from semdag.hamilton.stack import stack_files
        from semdag.hamilton.validate import validate
        from semdag.store import buildcache
        from semdag.store.hashmemo import load_memo, prepare_memo

        profile = self.load_profile(name)
        use_cache = self.build_cache and buildcache.enabled()
        if use_cache:
            hit = buildcache.lookup(self.project, profile)
            if hit is not None:
                return hit
        jobs = dict(self._ahead_jobs)
        fresh = can_fork() and name not in self._built()
        files = stack_files(self.project, profile) if fresh else []
        if fresh and worth_ahead(files):
            # A worker parses and hashes the stack's source meanwhile, with the local memo.
            index = SourceIndex(self.project.relative)
            recorded = partial(load_memo, self.project, profile.name) if use_cache else None
            jobs[_SOURCES] = partial(index_ahead, self.project.relative, files, recorded)
        else:
            index = self.source_index(profile.name)
        pending = start_ahead(jobs)
        try:
            build = self.build(name)
            if pending is not None:
                results = pending.result()
                if _SOURCES in results:
                    index.take_ahead(results.pop(_SOURCES))
                self._ahead_results.update(results)
            with phase(f"reading the source of {len(build.driver.graph.nodes)} nodes"):
                graph = model_from_build(build, index)
            for key, job in self._beside_jobs.items():
                self._beside[key] = meanwhile(partial(job, graph))
        finally:
            if pending is not None:
                pending.cancel()
        with phase("checking the graph"):
            facts = buildcache.facts_from_build(build, graph, validate(build, graph))
        reads = build.reads
        if release:
            # What comes next (storing, comparing) reuses the driver's memory.
            del build
            self.release_build(name)
        if use_cache:
            # Written meanwhile by another process, while the command goes on.
            memo = prepare_memo(self.project, profile.name, index)
            facts, write = buildcache.prepare_store(self.project, profile, facts, reads)
            self._behind.append(start_behind([memo, write]))
        return facts

    def finish(self) -> None:
        """Wait for the cache writes still under way, and stop any worker whose result was
        not asked for (every command ends with this)."""
        while self._beside:
            self._beside.popitem()[1].cancel()
        while self._behind:
            self._behind.pop().result()

    def ahead(self, name: str, job: Callable[[], Any]) -> None:
        """Have ``job`` done meanwhile by a worker forked as the next build starts, so that
        reading what a command compares the build with overlaps importing the stack; its
        result must pickle. :meth:`ahead_result` gives the result, once."""
        self._ahead_jobs[name] = job

    def beside(self, name: str, job: Callable[[GraphModel], Any]) -> None:
        """Have ``job(graph)`` done by a worker forked as soon as the next build's graph model
        is read, while this process validates it and goes on; its result must pickle.
        :meth:`beside_result` gives the worker."""
        self._beside_jobs[name] = job

    def beside_result(self, name: str) -> Pending[Any, Any] | None:
        """The worker doing the job :meth:`beside` registered as ``name`` (its ``result()``,
        or ``cancel()`` when not wanted); None when no build started one."""
        self._beside_jobs.pop(name, None)
        return self._beside.pop(name, None)

    def ahead_result(self, name: str, job: Callable[[], Any]) -> Any:
        """What ``job`` returns: a worker's result when :meth:`ahead` registered it as
        ``name`` before a build, else (no build was needed, no worker could start, the job
        failed there, or it was not registered) worked out here."""
        self._ahead_jobs.pop(name, None)
        if name in self._ahead_results:
            return self._ahead_results.pop(name)
        return job()

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
        )

    def _built(self) -> set[str | None]:
        """The profiles built in this session (each imported its stack)."""
        return {key[0] for key in self._builds}

    def release_build(self, name: str | None = None) -> None:
        """Free the driver of a profile once only its facts are needed (see ``dismantle``)."""
        from semdag.hamilton.build import dismantle

        for key in [k for k in self._builds if k[0] == name]:
            dismantle(self._builds.pop(key))

    def graph(self, name: str | None = None, *, release: bool = False) -> GraphModel:
        """The graph model of the selected profile's build (``release``: see :meth:`facts`)."""
        return self.facts(name, release=release).graph
