"""One command invocation's state: options, project, profile, build (each made once, lazily)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.progress import phase

if TYPE_CHECKING:
    from semdag.buildcache import BuildFacts
    from semdag.builder import Build
    from semdag.graph import GraphModel
    from semdag.hashmemo import GraphPrint
    from semdag.profile import Profile
    from semdag.project import Project
    from semdag.sourceinfo import FileMemo, HashMemo, SourceIndex


@dataclass
class Session:
    """The shared options of a command and what they lead to."""

    command: str
    profile_name: str | None = None
    config_file: Path | None = None
    sets: tuple[str, ...] = ()
    project_dir: Path | None = None
    fmt: str = "text"
    debug: bool = False
    build_cache: bool = True
    # Keep fingerprints of each baseline graph.json read for a cold build (a drift check).
    graph_prints: bool = False
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def project(self) -> Project:
        from semdag.project import find_project

        return self._once("project", lambda: find_project(explicit=self.project_dir))  # type: ignore[no-any-return]

    def load_profile(self, name: str | None = None) -> Profile:
        """The selected profile (or ``name``), merged and validated."""
        from semdag.profile import load_profile

        key = f"profile:{name}"
        return self._once(  # type: ignore[no-any-return]
            key,
            lambda: load_profile(
                self.project,
                name or self.profile_name,
                config_file=None if name else self.config_file,
                sets=self.sets,
            ),
        )

    @property
    def profile(self) -> Profile:
        return self.load_profile()

    def build(self, name: str | None = None, configure: Any = None) -> Build:
        """Build the driver for the selected profile (or ``name``)."""
        from semdag.builder import build

        profile = self.load_profile(name)
        return self._once(  # type: ignore[no-any-return]
            f"build:{name}:{id(configure)}",
            lambda: build(self.project, profile, configure=configure),
        )

    def facts(self, name: str | None = None) -> BuildFacts:
        """What a build of the profile learnt: from the build cache when nothing changed."""
        return self._once(f"facts:{name}", lambda: self._make_facts(name))  # type: ignore[no-any-return]

    def _make_facts(self, name: str | None) -> BuildFacts:
        from semdag import buildcache
        from semdag.checks import validate
        from semdag.graph import model_from_build

        profile = self.load_profile(name)
        use_cache = self.build_cache and buildcache.enabled()
        if use_cache:
            hit = buildcache.lookup(self.project, profile)
            if hit is not None:
                return hit
        # Read before the build: the memo is small, the parsed graph.json is not, and its
        # memory is then reused by the driver instead of adding to it.
        memo, file_memo = self.baseline_memo(profile.name)
        build = self.build(name)
        with phase(f"reading the source of {len(build.driver.graph.nodes)} nodes"):
            graph = model_from_build(build, memo=memo, file_memo=file_memo)
        with phase("checking the graph"):
            facts = buildcache.facts_from_build(build, graph, validate(build, graph))
        if use_cache:
            facts = buildcache.store(self.project, profile, facts)
        return facts

    def baseline_memo(
        self, profile: str, *, logic_hashes: bool = True
    ) -> tuple[HashMemo, FileMemo]:
        """Hashes recorded in a profile's baselines for source text that is unchanged (see
        :mod:`semdag.hashmemo`); keeps the baseline graph's fingerprints when asked to.

        The name-blind hashes come from registry.json, read only when ``logic_hashes``. The
        parsed documents are not kept: a 20,000-node graph.json outweighs the rest of a
        check's state.
        """
        from semdag.gctools import paused
        from semdag.hashmemo import graph_print, memo_from_baselines, read_json
        from semdag.sourceinfo import text_sha

        root = self.project.root
        folder = self.project.snapshots_path / profile
        # Tens of thousands of small acyclic records: no collection needs to look at them,
        # and the documents are dropped before collections resume.
        with paused():
            graph_doc = read_json(folder / "graph.json")
            registry_doc = read_json(folder / "registry.json") if logic_hashes else None
            memo = memo_from_baselines(graph_doc, registry_doc, lambda file: text_sha(root, file))
            if self.graph_prints:
                self._cache[f"graph-print:{profile}"] = graph_print(graph_doc)
            del graph_doc, registry_doc
        return memo

    def source_index(self, profile: str, *, with_source: bool = False) -> SourceIndex:
        """A source index that takes unchanged functions' code hashes from the baselines."""
        from semdag.sourceinfo import SourceIndex

        memo, file_memo = self.baseline_memo(profile, logic_hashes=False)
        return SourceIndex(
            self.project.relative, with_source=with_source, memo=memo, file_memo=file_memo
        )

    def release_build(self, name: str | None = None) -> None:
        """Free the driver of a profile once only its facts are needed (see ``dismantle``)."""
        from semdag.builder import dismantle

        for key in [k for k in self._cache if k.startswith(f"build:{name}:")]:
            dismantle(self._cache.pop(key))

    def baseline_print(self, profile: str) -> GraphPrint | None:
        """Fingerprints of a profile's baseline graph.json (None when unreadable): those kept
        from the cold build when there was one, else read now."""
        from semdag.hashmemo import graph_print, read_json

        key = f"graph-print:{profile}"
        if key not in self._cache:
            path = self.project.snapshots_path / profile / "graph.json"
            self._cache[key] = graph_print(read_json(path))
        return self._cache[key]  # type: ignore[no-any-return]

    def graph(self, name: str | None = None) -> GraphModel:
        """The graph model of the selected profile's build."""
        return self.facts(name).graph
