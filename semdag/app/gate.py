"""The snapshot gate: write baselines, compare builds with them, compare registries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from semdag.app.session import Session
from semdag.config.project import Project
from semdag.core.diff import (
    find_changes,
    lineage_from_graph,
    lineage_from_graph_document,
    lineage_from_registry,
)
from semdag.core.errors import (
    BaselineError,
    CheckFailed,
    NoProjectError,
    SemdagError,
)
from semdag.core.graph import GraphModel
from semdag.core.registry import Registry, compile_registry
from semdag.core.rules import Finding, Severity, apply_severities, finding
from semdag.store.acknowledge import ACK_FILE, acknowledge
from semdag.store.snapshot import (
    GRAPH_FILE,
    REGISTRY_FILE,
    RecordedGraph,
    read_recorded_graph,
    read_registry,
    registry_from_document,
    snapshot_dir,
    write_snapshot,
)


@dataclass(frozen=True)
class Comparison:
    """The findings of one profile's comparison."""

    profile: str
    findings: tuple[Finding, ...]
    baseline: str

    def as_dict(self) -> dict[str, Any]:
        from semdag.core.rules import counts

        return {
            "profile": self.profile,
            "baseline": self.baseline,
            "findings": [f.as_dict() for f in self.findings],
            "counts": counts(self.findings),
        }


def current_registry(
    session: Session, profile: str | None, *, release: bool = False
) -> tuple[Registry, GraphModel]:
    """Build a profile and compile its registry (``release``: only the facts of the build
    are needed, see :meth:`Session.facts`)."""
    graph = session.graph(profile, release=release)
    return compile_registry(graph, session.load_profile(profile).tag_filter), graph


def update(session: Session, profile: str | None) -> list[str]:
    """Write a profile's baselines; returns the project-relative paths written.

    A graph that cannot run is never accepted as a baseline: with any error that validate
    reports, nothing is written and :class:`~semdag.core.errors.CheckFailed` says why.
    """
    from semdag.core.export import baseline_document

    prof = session.load_profile(profile)
    errors = _graph_errors(session, profile)
    if errors:
        shown = session.project.relative(snapshot_dir(session.project, prof.name))
        listed = "; ".join(f"{f.rule}: {f.message}" for f in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise CheckFailed(
            f"{shown}/ left as it was: the {prof.name} graph has {len(errors)} "
            f"error{'s' if len(errors) != 1 else ''}: {listed}{more}",
            hint=f"fix them (`semdag validate -p {prof.name}` lists them), then update again",
        )
    registry, graph = current_registry(session, profile, release=True)
    document = baseline_document(graph, prof)
    paths = write_snapshot(session.project, prof.name, registry, document)
    return [session.project.relative(p) for p in paths]


def _graph_errors(session: Session, profile: str | None) -> list[Finding]:
    """validate's error-severity findings for the profile as configured: the graph cannot
    run (cycle, missing input, type mismatch, illegal override, invalid tag)."""
    return [
        f for f in session.facts(profile, release=True).findings if f.severity is Severity.ERROR
    ]


def pending_changes(session: Session, profile: str | None) -> tuple[Finding, ...] | None:
    """What writing a profile's baselines now would accept: the findings between its
    committed baselines and the current build (without acknowledgements: they do not change
    what is written). None when there is no readable baseline to compare with."""
    project = session.project
    prof = session.load_profile(profile)
    folder = snapshot_dir(project, prof.name)
    try:
        baseline = read_registry(folder / REGISTRY_FILE, project.relative(folder / REGISTRY_FILE))
    except BaselineError:
        return None
    registry, graph = current_registry(session, profile)
    findings = registry_changes(baseline, hashed_like(baseline, registry, graph, project), graph)
    if (folder / GRAPH_FILE).is_file():
        recorded = read_recorded_graph(folder / GRAPH_FILE)
        findings += graph_drift(recorded, graph, project.relative(folder / GRAPH_FILE))
    return tuple(apply_severities(findings, prof.rules))


def check(session: Session, profile: str | None) -> Comparison:
    """Compare a profile's current build with its committed baselines (see :func:`compare`),
    remembered for exactly that build and those baselines while the build cache is on."""
    from semdag.store import buildcache
    from semdag.store.verdicts import remembered

    project = session.project
    prof = session.load_profile(profile)
    folder = snapshot_dir(project, prof.name)
    use_cache = session.build_cache and buildcache.enabled()
    findings = remembered(
        project,
        "check",
        _check_stamp(project, folder) if use_cache else None,
        partial(_check_now, session, profile),
        cached_build=partial(buildcache.lookup_digest, project, prof),
        current_build=lambda: session.facts(profile).digest,
    )
    return Comparison(prof.name, tuple(findings), project.relative(folder / REGISTRY_FILE))


def _check_now(session: Session, profile: str | None) -> list[Finding]:
    """Read what a check compares (the baselines, read while the stack builds where the
    session's tuning allows) and compare it: every change (see :func:`compare`), the
    acknowledgements applied, and every error validate reports for the build, since the gate
    never passes a graph that cannot run, whatever the registry says."""
    project = session.project
    prof = session.load_profile(profile)
    folder = snapshot_dir(project, prof.name)
    registry_path, graph_path = folder / REGISTRY_FILE, folder / GRAPH_FILE
    registry_shown, graph_shown = project.relative(registry_path), project.relative(graph_path)
    if not registry_path.is_file():
        read_registry(registry_path, registry_shown)  # a missing baseline, said without a build
    reads: dict[str, Callable[[], Any]] = {
        "baseline": partial(read_registry, registry_path, registry_shown),
        "recorded": partial(read_recorded_graph, graph_path),
    }
    comparing: list[bool] = []

    def compare_to(graph: GraphModel, read: dict[str, Any]) -> list[Finding]:
        baseline: Registry = read["baseline"]
        comparing.append(True)
        registry = hashed_like(baseline, compile_registry(graph, prof.tag_filter), graph, project)
        return compare(baseline, registry, graph, read["recorded"], graph_shown, graph_path)

    try:
        facts, findings = session.compared(profile, reads, compare_to, release=True)
    except BaselineError:
        raise  # a baseline that does not read says so itself
    except SemdagError as exc:
        if not comparing:
            # A build that fails is never "no changes": keep the error's exit code and say so.
            exc.message = f"cannot compare {prof.name}: {exc.message}"
        raise
    findings = acknowledge(project, findings)
    # Added after the acknowledgements: a graph that cannot run is not a change to accept.
    findings += [f for f in facts.findings if f.severity is Severity.ERROR]
    return apply_severities(findings, prof.rules)


def compare(
    baseline: Registry,
    registry: Registry,
    graph: GraphModel,
    recorded: RecordedGraph | None,
    graph_shown: str,
    graph_path: Path | None = None,
) -> list[Finding]:
    """Every change between a profile's committed baselines (its registry, and its graph.json
    as ``recorded``) and its current build (``registry`` and ``graph``)."""
    old_graph = partial(_graph_document, graph_path) if graph_path is not None else None
    findings = registry_changes(baseline, registry, graph, old_graph)
    return findings + graph_drift(recorded, graph, graph_shown)


def registry_changes(
    baseline: Registry,
    registry: Registry,
    graph: GraphModel,
    old_graph: Callable[[], dict[str, Any] | None] | None = None,
) -> list[Finding]:
    """What changed between a committed registry and ``registry`` (hashed alike: see
    :func:`hashed_like`); ``old_graph`` gives the baseline's graph.json document, read only
    when an entry was removed, whose blast radius is in the baseline's edges."""
    new_lineage = lineage_from_graph(graph.dependents, registry)
    findings = find_changes(baseline, registry, new_lineage=new_lineage)
    if any(f.rule == "semantic-removed" for f in findings):
        document = old_graph() if old_graph is not None else None
        old_lineage = (
            lineage_from_graph_document(document, baseline)
            if document
            else lineage_from_registry(baseline)
        )
        findings = find_changes(
            baseline, registry, old_lineage=old_lineage, new_lineage=new_lineage
        )
    return findings


def hashed_like(
    baseline: Registry, registry: Registry, graph: GraphModel, project: Project
) -> Registry:
    """``registry`` with code hashes made the way ``baseline``'s were, so the two compare."""
    if baseline.hash_scheme == registry.hash_scheme:
        return registry
    return legacy_registry(project, registry, graph)


def legacy_registry(project: Project, registry: Registry, graph: GraphModel) -> Registry:
    """``registry`` with the code hashes a schema-version-1 baseline recorded (name-blind
    ``ast.unparse`` hashes), so that such a baseline compares without false findings until
    the next ``snapshot update`` rewrites it."""
    from dataclasses import replace

    from semdag.core.registry import LEGACY_HASH_SCHEME
    from semdag.hamilton.unparsed import legacy_hash_at

    entries = {}
    for sid, entry in registry.entries.items():
        node = graph.nodes.get(entry.node)
        code = None
        if node is not None and node.file and node.line and node.end_line:
            code = legacy_hash_at(project.root / node.file, node.line, node.end_line)
        entries[sid] = replace(entry, code_hash=code)
    return Registry(registry.profile, entries, hash_scheme=LEGACY_HASH_SCHEME)


def _check_stamp(project: Project, folder: Path) -> Mapping[str, str | None] | None:
    """What a check reads besides the build (see :func:`semdag.store.cachekey.check_stamp`)."""
    from semdag.store.acknowledge import today
    from semdag.store.cachekey import check_stamp

    return check_stamp(
        folder / REGISTRY_FILE,
        folder / GRAPH_FILE,
        project.snapshots_path / ACK_FILE,
        today().isoformat(),
    )


def _graph_document(path: Path) -> dict[str, Any] | None:
    from semdag.store.artifacts import read_json

    document = read_json(path)
    return document if isinstance(document, dict) else None


def graph_drift(recorded: RecordedGraph | None, graph: GraphModel, shown: str) -> list[Finding]:
    """graph-changed when the current graph's nodes or edges differ from graph.json's
    (``recorded``; None: missing or unreadable), each changed node named with what changed in
    it.

    A graph.json written by an older semdag (schema version 1) is compared on everything
    but the code hashes, which it made another way (the registry compares those)."""
    from semdag.core.changes import entry_changes
    from semdag.core.export import (
        BASELINE_NODE_FIELDS,
        ENTRY_ENCODER,
        RUN,
        baseline_texts,
        entry_digest,
        graph_digests,
        node_entry,
    )

    if recorded is None:
        return [
            finding(
                "graph-changed",
                "(graph)",
                f"{Path(shown).name} is missing or unreadable: run `semdag snapshot update`",
                file=shown,
            )
        ]
    fields = [f for f in BASELINE_NODE_FIELDS if not (recorded.legacy and f == "code_hash")]
    whole = len(fields) == len(BASELINE_NODE_FIELDS)  # node_entry gives just these fields
    encode = ENTRY_ENCODER.encode

    def texts_of(run: list[str]) -> list[str]:
        if whole:
            return baseline_texts(graph, run)
        entries = map(node_entry, map(graph.nodes.__getitem__, run))
        return [encode({key: entry.get(key) for key in fields}) for entry in entries]

    names = sorted(graph.nodes)
    same_names = names == list(recorded.nodes)
    if whole:
        runs, edges_digest = graph_digests(graph)
    else:
        runs = tuple(
            entry_digest(f"[{','.join(texts_of(names[start : start + RUN]))}]")
            for start in range(0, len(names), RUN)
        )
        edges_digest = entry_digest(encode(graph.edges()))
    differing: dict[str, dict[str, Any]] = {}
    for number, start in enumerate(range(0, len(names), RUN)):
        if same_names and runs[number] == recorded.runs[number]:
            continue  # a run of unchanged nodes
        run = names[start : start + RUN]
        for name, text in zip(run, texts_of(run), strict=True):
            digest = recorded.nodes.get(name)
            if digest is not None and entry_digest(text) != digest:
                entry = node_entry(graph.nodes[name])
                differing[name] = entry if whole else {key: entry.get(key) for key in fields}
    added = sorted(set(graph.nodes) - set(recorded.nodes))
    removed = sorted(set(recorded.nodes) - set(graph.nodes))
    reasons: dict[str, list[str]] = {}
    same_edges = edges_digest == recorded.edges
    if differing or not same_edges:
        # Texts differ; values may not (1 and 1.0): compare the recorded values.
        old_nodes, old_edges = recorded.values(differing, edges=not same_edges)
        same_edges = same_edges or old_edges == [list(pair) for pair in graph.edges()]
        for name, new in differing.items():
            if old_nodes[name] != new:
                reasons[name] = list(entry_changes(old_nodes[name], new))
    changed = sorted(reasons)
    if not (added or removed or changed or not same_edges):
        return []
    return [
        finding(
            "graph-changed",
            "(graph)",
            f"the execution graph differs from {Path(shown).name}: "
            + _drift_summary(added, removed, changed, reasons),
            new={"added": added, "removed": removed, "changed": changed, "reasons": reasons},
            file=shown,
        )
    ]


def _drift_summary(
    added: list[str], removed: list[str], changed: list[str], reasons: dict[str, list[str]]
) -> str:
    """``1 added: a; 2 changed: b (tag owner), c (code)``: each changed node with what
    changed."""

    def listed(names: list[str], why: bool = False, limit: int = 8) -> str:
        shown = [
            f"{name} ({', '.join(reasons[name])})" if why and reasons.get(name) else name
            for name in names[:limit]
        ]
        more = f" and {len(names) - limit} more" if len(names) > limit else ""
        return ", ".join(shown) + more

    parts = [
        f"{len(names)} {label}: {listed(names, why)}"
        for label, names, why in (
            ("added", added, False),
            ("removed", removed, False),
            ("changed", changed, True),
        )
        if names
    ]
    return "; ".join(parts) or "the same nodes, other edges"


def diff_files(session: Session | None, old: Path, new: Path) -> Comparison:
    """Compare two registry snapshot files."""

    def shown(path: Path) -> str:
        # Project-relative wherever it is run from; never absolute (reports are compared).
        text = path.as_posix()
        if session is not None:
            try:
                text = session.project.relative(path.absolute())
            except SemdagError:
                pass
        return path.name if Path(text).is_absolute() else text

    before = read_registry(old, shown(old))
    after = read_registry(new, shown(new))
    findings = find_changes(
        before,
        after,
        old_lineage=lineage_from_registry(before),
        new_lineage=lineage_from_registry(after),
    )
    if session is not None:
        try:
            findings = acknowledge(session.project, findings)
        except NoProjectError:
            pass  # two files compared outside a project: nothing is acknowledged
    return Comparison(after.profile, tuple(findings), shown(old))


def diff_against_git(session: Session, ref: str) -> Comparison:
    """Compare the registry built at a git revision with the working tree's."""
    from semdag.app.revision import checkout, semdag_json

    prof = session.load_profile()
    shown = f"git:{ref}"
    with checkout(session, ref) as (_, root):
        before = registry_from_document(semdag_json(root, ["registry"], session, shown), shown)
    after, graph = current_registry(session, None)
    findings = find_changes(
        before,
        after,
        old_lineage=lineage_from_registry(before),
        new_lineage=lineage_from_graph(graph.dependents, after),
    )
    findings = acknowledge(session.project, findings)
    return Comparison(prof.name, tuple(apply_severities(findings, prof.rules)), shown)
