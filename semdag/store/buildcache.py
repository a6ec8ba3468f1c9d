"""A content-addressed cache of what a build learnt, so unchanged projects skip Hamilton.

The key is what building read: before it starts, the bytes of every profile file in the
``extends`` chain, the environment variables the profile interpolated, ``--set`` values, the
versions of Python, semdag (and the bytes of its source) and Hamilton
(:class:`~semdag.store.cachekey.CacheKey`); while it runs, everything its modules' code read,
recorded as it happened (:class:`~semdag.hamilton.record.Reads`: module files wherever they
resolved from, data files, folder listings, environment variables). Any change is a miss; a
build that did what no record covers (a subprocess, a socket) is not stored; an unreadable
or inconsistent cache file is ignored and rewritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from semdag.core.graph import GraphModel, NodeInfo
from semdag.core.rules import Finding, Severity
from semdag.core.tuning import nothing
from semdag.store.artifacts import atomic_write, atomic_write_chunks
from semdag.store.cachekey import CacheKey

T = TypeVar("T")

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project
    from semdag.core.tuning import Job
    from semdag.hamilton.build import Build
    from semdag.hamilton.record import Reads

CACHE_DIR = "build-cache"
DISABLE_ENV = "SEMDAG_NO_BUILD_CACHE"


@dataclass(frozen=True)
class BuildFacts:
    """Everything commands need from a build that does not need the live driver."""

    graph: GraphModel
    modules: tuple[tuple[str, str, str], ...]  # (layer, module, file)
    ledger: tuple[Mapping[str, Any], ...]
    findings: tuple[Finding, ...]  # validate's findings for the profile's own inputs
    from_cache: bool = False
    # Identifies exactly this build (key and what it read); None when not cached.
    digest: str | None = None
    # Why this build could not be cached (it did what no record covers), or None.
    not_cached: str | None = None


@dataclass(frozen=True)
class PendingFacts:
    """A build's graph model, and its facts once validate's findings are in: they may be
    found in another process while the caller compares the graph (see
    :func:`semdag.store.rebuild.checked_and_stored`)."""

    graph: GraphModel
    # The facts, once validate's findings are in.
    collect: Callable[[], BuildFacts]
    # The cache writes under way: whoever takes the facts, or cancels, waits for them.
    writes: tuple[Job[None], ...] = ()
    # The facts are not wanted: stop finding them.
    cancel: Callable[[], None] = nothing

    @classmethod
    def ready(cls, facts: BuildFacts, writes: Sequence[Job[None]] = ()) -> PendingFacts:
        """Facts already known."""
        return cls(facts.graph, partial(_given, facts), tuple(writes))


def _given(value: T) -> T:
    return value


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hashed(document: Any) -> str:
    """The sha256 of ``document`` as compact JSON with sorted keys (one text per value)."""
    return _sha(_COMPACT.encode(document).encode())


# Compact, so that the C encoder encodes it (an indented encoding is encoded in Python).
_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def base_key(project: Project, profile: Profile) -> dict[str, Any]:
    """The part of the key known before building: profile files, env, --set, versions."""
    return CacheKey.of(project, profile).build_key()


def _entry_path(project: Project, key: Mapping[str, Any]) -> Path:
    digest = _hashed(key)
    return project.state_path / CACHE_DIR / f"{key['profile']}-{digest[:32]}.json"


def entry_path(project: Project, profile: Profile) -> Path:
    """Where the cached facts of the profile's build under its current key are kept."""
    return _entry_path(project, base_key(project, profile))


def last_build(project: Project, profile: Profile) -> tuple[dict[str, Any], str] | None:
    """What the cached build of the profile under its current key read, and its digest,
    whether or not those reads are as they were; None when there is none or it is damaged."""
    key = base_key(project, profile)
    try:
        index = json.loads(_index_path(_entry_path(project, key)).read_text(encoding="utf-8"))
        if index.get("key") != key:
            return None
        reads, digest = index["reads"], index["digest"]
        if not isinstance(reads, dict) or digest != _digest(key, reads):
            return None
        return reads, digest
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "") in ("", "0")


def lookup(project: Project, profile: Profile) -> BuildFacts | None:
    """The cached facts for this profile, or None on any miss or doubt.

    The small index is checked first, so that a miss (an edited module) never reads the
    facts; the facts are taken only when they carry the digest the index names.
    """
    key = base_key(project, profile)
    path = _entry_path(project, key)
    digest = _current_digest(project, key, _index_path(path))
    if digest is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("digest") != digest:
            return None
        facts = _facts_from(document)
        return replace(facts, digest=digest)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _unchanged(project: Project, reads: Mapping[str, Any]) -> bool:
    """Whether everything the cached build read is as it was (see
    :meth:`semdag.hamilton.record.Reads.changed`)."""
    from semdag.hamilton.record import Reads

    return Reads.from_dict(dict(reads)).changed(project.root) is None


def _digest(key: Mapping[str, Any], reads: Mapping[str, Any]) -> str:
    return _hashed({"key": key, "reads": reads})


def entry_digest(project: Project, profile: Profile, reads: Reads) -> str | None:
    """The digest the cache entry of a build that read ``reads`` has (None: it is not
    stored, see :func:`prepare_store`)."""
    if reads.uncacheable is not None:
        return None
    return _digest(base_key(project, profile), reads.as_dict())


def prepare_store(
    project: Project, profile: Profile, facts: BuildFacts, reads: Reads
) -> tuple[BuildFacts, Callable[[], None]]:
    """The facts with their digest, and the writing of them, to do now or meanwhile in
    another process: it reads nothing that can change before it runs (``reads``, what the
    build read, was recorded while it ran) and fails quietly (it is a cache). A build that
    did what no record covers is not stored (``facts.not_cached`` says why)."""
    if reads.uncacheable is not None:
        return replace(facts, not_cached=reads.uncacheable), nothing
    key = base_key(project, profile)
    recorded = reads.as_dict()
    digest = _digest(key, recorded)
    try:
        folder = project.state_dir(CACHE_DIR)
    except OSError:
        return facts, nothing
    entry = folder / _entry_path(project, key).name

    def write() -> None:
        try:
            # Encoded and written a batch of nodes at a time: the facts of a large build
            # are never held as one string beside the build.
            atomic_write_chunks(entry, _facts_chunks(digest, facts))
            index = {"key": key, "reads": recorded, "digest": digest}
            atomic_write(_index_path(entry), _COMPACT.encode(index))
        except (OSError, ValueError):
            pass

    return replace(facts, digest=digest), write


def _index_path(entry: Path) -> Path:
    return entry.with_name(entry.stem + ".index.json")


def lookup_digest(project: Project, profile: Profile) -> str | None:
    """The digest of the cached build, checked like :func:`lookup` but from the small index
    file only, so that results remembered for that build answer without loading the build."""
    key = base_key(project, profile)
    return _current_digest(project, key, _index_path(_entry_path(project, key)))


def _current_digest(project: Project, key: Mapping[str, Any], index_path: Path) -> str | None:
    """The digest an index file names, when its key is ``key`` and every file it recorded
    is as it was; None otherwise."""
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        if index.get("key") != key or not _unchanged(project, index["reads"]):
            return None
        digest = index["digest"]
        valid = isinstance(digest, str) and digest == _digest(key, index["reads"])
        return digest if valid else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def load_verdict(project: Project, digest: str | None, name: str) -> Any:
    """A result derived from exactly the build ``digest``, stored by :func:`store_verdict`."""
    if digest is None:
        return None
    path = project.state_path / CACHE_DIR / VERDICTS_DIR / f"{name}-{digest[:32]}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# Where results derived from a build are kept (a folder of the build cache's), and how many
# of one kind: each edit makes a build, and the results of the oldest builds go.
VERDICTS_DIR = "verdicts"
VERDICTS_KEPT = 64


def store_verdict(project: Project, digest: str | None, name: str, value: Any) -> None:
    """Remember a result derived from the build ``digest`` (only builds that are cached),
    beside those of the :data:`VERDICTS_KEPT` builds last remembered for ``name``."""
    if digest is None:
        return
    try:
        folder = project.state_dir(CACHE_DIR, VERDICTS_DIR)
        path = folder / f"{name}-{digest[:32]}.json"
        atomic_write(path, _COMPACT.encode(value))
        others = [
            p for p in folder.glob(f"{name}-*.json") if len(p.stem) == len(path.stem) and p != path
        ]
        if len(others) >= VERDICTS_KEPT:
            others.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
            for old in others[: len(others) - VERDICTS_KEPT + 1]:
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


# The digests a comparison made of a build's graph (see semdag.core.export.graph_digests).
GRAPH_DIGESTS = "graph-digests"


def store_graph_digests(project: Project, digest: str | None, graph: GraphModel) -> None:
    """Keep the digests a comparison made of the graph of the build ``digest``, for the
    build after an edit, whose draft of this graph takes them (see
    :func:`load_graph_digests`)."""
    memo = graph.digests.made
    if memo is None or memo[0] is not graph.nodes:
        return
    runs, edges = memo[1], memo[2]
    store_verdict(
        project, digest, GRAPH_DIGESTS, {"runs": [d.hex() for d in runs], "edges": edges.hex()}
    )


def load_graph_digests(project: Project, digest: str, graph: GraphModel) -> bool:
    """Give ``graph``, a draft of the graph of the build ``digest`` (the same nodes), the
    digests a comparison made of that build's graph; False when none were kept."""
    from semdag.core.export import RUN

    raw = load_verdict(project, digest, GRAPH_DIGESTS)
    try:
        runs = tuple(bytes.fromhex(run) for run in raw["runs"])
        edges = bytes.fromhex(raw["edges"])
    except (TypeError, KeyError, ValueError):
        return False
    if len(runs) != -(-len(graph.nodes) // RUN):
        return False
    graph.digests.made = (graph.nodes, runs, edges)
    return True


def finding_to_dict(item: Finding) -> dict[str, Any]:
    return {**asdict(item), "severity": item.severity.value, "extra": dict(item.extra)}


def finding_from_dict(raw: Mapping[str, Any]) -> Finding:
    item = dict(raw)
    item["severity"] = Severity(item["severity"])
    for field in ("affected", "owners"):
        item[field] = tuple(item[field])
    return Finding(**item)


# What the facts keep of a build's driver: its modules (layer, module, file) and its
# override ledger.
BuildSummary = tuple[tuple[tuple[str, str, str], ...], tuple[Mapping[str, Any], ...]]


def build_summary(build: Build) -> BuildSummary:
    """What the facts keep of ``build``, without holding the build."""
    return (
        tuple((m.layer, m.name, m.file) for m in build.modules),
        tuple(entry.as_dict() for entry in build.ledger),
    )


def facts_of(summary: BuildSummary, graph: GraphModel, findings: list[Finding]) -> BuildFacts:
    """The facts of a build (``summary``) whose graph model is ``graph``."""
    modules, ledger = summary
    return BuildFacts(graph=graph, modules=modules, ledger=ledger, findings=tuple(findings))


# NodeInfo's fields, in order: a node is stored as a flat list of their values (asdict would
# copy every tag mapping deeply, the largest part of storing a big build).
_NODE_FIELDS = tuple(f.name for f in fields(NodeInfo))
# Nodes encoded at a time when the facts are written.
_NODES_PER_CHUNK = 500


def _facts_chunks(digest: str, facts: BuildFacts) -> Iterator[str]:
    """The cache entry's JSON text in pieces: a batch of nodes at a time, each batch encoded
    in one go (only a one-shot encode uses the C encoder, several times faster than a
    streaming one); compact and unsorted, since lookups compare parsed values, not text."""
    encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    head = {
        "digest": digest,
        "profile": facts.graph.profile,
        "fields": list(_NODE_FIELDS),
        "modules": [list(m) for m in facts.modules],
        "ledger": [dict(e) for e in facts.ledger],
        "findings": [finding_to_dict(f) for f in facts.findings],
        "variant_inputs": {k: list(v) for k, v in facts.graph.variant_inputs.items()},
    }
    yield encode(head)[:-1] + ',"nodes":['
    nodes = list(facts.graph.nodes.values())
    for start in range(0, len(nodes), _NODES_PER_CHUNK):
        batch = [
            [getattr(n, k) for k in _NODE_FIELDS] for n in nodes[start : start + _NODES_PER_CHUNK]
        ]
        yield ("," if start else "") + encode(batch)[1:-1]
    yield "]}"


def _facts_from(raw: Mapping[str, Any]) -> BuildFacts:
    if raw["fields"] != list(_NODE_FIELDS):
        raise ValueError("the entry was written with other node fields")
    nodes: dict[str, NodeInfo] = {}
    dependents: dict[str, list[str]] = {}
    required, optional = _NODE_FIELDS.index("required"), _NODE_FIELDS.index("optional")
    for item in raw["nodes"]:
        item[required] = tuple(item[required])
        item[optional] = tuple(item[optional])
        info = NodeInfo(*item)
        nodes[info.name] = info
        for dep in info.dependencies:
            dependents.setdefault(dep, []).append(info.name)
    graph = GraphModel(
        profile=raw["profile"],
        nodes={k: nodes[k] for k in sorted(nodes)},
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
        variant_inputs={k: tuple(v) for k, v in raw["variant_inputs"].items()},
    )
    findings = [finding_from_dict(item) for item in raw["findings"]]
    return BuildFacts(
        graph=graph,
        modules=tuple(tuple(m) for m in raw["modules"]),  # type: ignore[misc]
        ledger=tuple(raw["ledger"]),
        findings=tuple(findings),
        from_cache=True,
    )
