"""The review of a branch: what it changes in the contract since a base revision, and how.

Two comparisons meet here. The *branch* comparison is between the registry built at the base
revision and the one built from the working tree: every contract change the branch makes,
whether or not its author accepted it. The *gate* comparison is ``snapshot check``'s, between
the working tree and the branch's committed baselines. A branch change the gate no longer
reports was accepted in the branch's baselines; one it reports is acknowledged, failing (at or
above ``--fail-on``) or pending (below it). Findings only the gate reports (a graph that
cannot run, an expired acknowledgement) are listed too: they decide the exit code as in
``snapshot check``. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from semdag.core.changes import ChangeSet
from semdag.core.diff import Lineage
from semdag.core.graph import GraphModel
from semdag.core.mermaid import Diagram, change_diagram
from semdag.core.registry import is_semantic, registry_id
from semdag.core.rules import Finding, Severity

REVIEW_KIND = "semdag.review"
SCHEMA_VERSION = 1

# Statuses of a change, most urgent first.
STATUSES = ("failing", "pending", "acknowledged", "accepted")
STATUS_MEANING = {
    "failing": "not in the branch's baselines; fails the gate",
    "pending": "not in the branch's baselines; below --fail-on",
    "acknowledged": "acknowledged in acknowledged.yaml",
    "accepted": "accepted in the branch's baselines",
}


@dataclass(frozen=True)
class Acknowledged:
    """An acknowledgement as a review shows it."""

    reason: str
    expires: str


@dataclass(frozen=True)
class ReviewChange:
    """One change with its status; ``in_branch`` is False for what only the gate reports."""

    finding: Finding
    status: str
    in_branch: bool
    acknowledged: Acknowledged | None = None

    def as_dict(self) -> dict[str, Any]:
        out = self.finding.as_dict()
        out.pop("acknowledged", None)
        out.pop("reason", None)
        out["affected"] = list(self.finding.affected)
        out["owners"] = list(self.finding.owners)
        out["status"] = self.status
        out["in_branch"] = self.in_branch
        out["acknowledgement"] = (
            {"reason": self.acknowledged.reason, "expires": self.acknowledged.expires}
            if self.acknowledged
            else None
        )
        return out


@dataclass(frozen=True)
class Review:
    """A branch's review against its base revision."""

    profile: str
    base: str
    base_commit: str
    fail_on: str
    changes: tuple[ReviewChange, ...]
    diagram: Diagram

    @property
    def failed(self) -> bool:
        return any(c.status == "failing" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for change in self.changes:
            out[change.status] += 1
        return out


def classify(
    branch: Sequence[Finding],
    gate: Sequence[Finding],
    threshold: int,
    acknowledgements: Mapping[tuple[str, str], Acknowledged],
) -> tuple[ReviewChange, ...]:
    """Each branch finding with its status, then the gate's findings that are not the
    branch's; most urgent first, then by (semantic id, rule)."""
    by_key = {(f.rule, f.subject): f for f in gate}
    out: list[ReviewChange] = []
    seen: set[tuple[str, str]] = set()
    for item in branch:
        key = (item.rule, item.subject)
        seen.add(key)
        reported = by_key.get(key)
        if reported is None:
            out.append(ReviewChange(item, "accepted", True))
        else:
            out.append(_gate_status(item, reported, True, threshold, acknowledgements))
    for item in gate:
        if (item.rule, item.subject) not in seen:
            out.append(_gate_status(item, item, False, threshold, acknowledgements))
    return tuple(sorted(out, key=lambda c: (STATUSES.index(c.status), c.finding.sort_key())))


def _gate_status(
    item: Finding,
    reported: Finding,
    in_branch: bool,
    threshold: int,
    acknowledgements: Mapping[tuple[str, str], Acknowledged],
) -> ReviewChange:
    if reported.acknowledged:
        ack = acknowledgements.get((item.rule, item.subject))
        return ReviewChange(item, "acknowledged", in_branch, ack)
    status = "failing" if reported.fails(threshold) else "pending"
    # The gate's severity is the one the exit code follows (the profile's rules applied).
    return ReviewChange(_with(item, severity=reported.severity), status, in_branch)


def _with(item: Finding, **changes: Any) -> Finding:
    from dataclasses import replace

    return replace(item, **changes)


def with_blast_radius(findings: Iterable[Finding], old: Lineage, new: Lineage) -> list[Finding]:
    """Every finding with the semantic ids downstream of its node, and their owners (a
    removal's from the base graph, any other's from the branch's)."""
    radius = {id(old): _Radius(old), id(new): _Radius(new)}
    out = []
    for item in findings:
        if item.node is None:
            out.append(item)
            continue
        lineage = old if item.rule == "semantic-removed" else new
        affected, owners = radius[id(lineage)].of(item.node)
        out.append(_with(item, affected=affected, owners=owners))
    return out


class _Cyclic(Exception):
    pass


class _Radius:
    """Semantic ids downstream of each node, as :meth:`Lineage.downstream_ids` gives them,
    worked out once for the whole graph: each node's set is a bit mask, the union of its
    dependents' (a change to 2,000 nodes is one walk, not 2,000)."""

    def __init__(self, lineage: Lineage):
        self.lineage = lineage
        ranked = sorted(lineage.semantic.items(), key=lambda item: item[1])
        self.names = [name for name, _ in ranked]
        self.bits = {name: 1 << index for index, name in enumerate(self.names)}
        self.masks: dict[str, int] = {}
        self.cyclic = False

    def mask(self, start: str) -> int:
        """The bits of the semantic nodes strictly downstream of ``start``."""
        masks, dependents = self.masks, self.lineage.dependents
        stack: list[tuple[str, bool]] = [(start, False)]
        open_: set[str] = set()
        while stack:
            name, done = stack.pop()
            if name in masks:
                continue
            if done:
                open_.discard(name)
                total = 0
                for nxt in dependents.get(name, ()):
                    total |= self.bits.get(nxt, 0) | masks.get(nxt, 0)
                masks[name] = total
                continue
            if name in open_:
                # A cycle (validate reports it): masks made inside it would miss part of
                # it, so this graph is walked node by node instead.
                raise _Cyclic
            open_.add(name)
            stack.append((name, True))
            stack += [(n, False) for n in dependents.get(name, ()) if n not in masks]
        return masks[start] & ~self.bits.get(start, 0)

    def of(self, node: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self.cyclic:
            return self.lineage.downstream_ids(node)
        try:
            mask = self.mask(node)
        except _Cyclic:
            self.cyclic = True
            return self.lineage.downstream_ids(node)
        hits = []
        while mask:
            low = mask & -mask
            hits.append(self.lineage.semantic[self.names[low.bit_length() - 1]])
            mask ^= low
        return (
            tuple(sid for sid, _ in hits),
            tuple(sorted({owner for _, owner in hits if owner})),
        )


def review_diagram(
    head: GraphModel,
    base: GraphModel,
    changes: ChangeSet,
    tag_filter: Mapping[str, Any],
    breaking: Iterable[str],
) -> Diagram:
    """The changed nodes, one hop of context around them, the semantic nodes downstream of
    them (the blast radius, linked to the changes that reach them) and the removed nodes.

    ``breaking``: semantic ids with a breaking finding; their nodes are drawn as breaking.
    """
    breaking_ids = set(breaking)
    statuses: dict[str, str] = {}
    for name in changes.added:
        statuses[name] = "added"
    for name in changes.changed:
        info = head.nodes[name]
        sid = registry_id(info.tags, tag_filter, is_input=info.is_input)
        statuses[name] = "breaking" if sid in breaking_ids else "changed"
    sources = set(statuses)
    shown = set(sources)
    for name in sources:
        shown.update(d for d in head.nodes[name].dependencies if d in head.nodes)
        shown.update(head.dependents.get(name, ()))
    for ghost in changes.removed:
        shown.update(d for d in ghost.dependencies if d in head.nodes)
        # What used the removed node and is still here felt its removal.
        users = [n for n in base.dependents.get(ghost.name, ()) if n in head.nodes]
        shown.update(users)
        sources.update(users)
    impact: list[tuple[str, str]] = []
    for target in _blast(head, sources, tag_filter) - shown:
        statuses[target] = "impacted"
        impact += [(tail, target) for tail in _nearest_shown(head, target, shown)]
    for target in _blast(head, sources, tag_filter):
        statuses.setdefault(target, "impacted")
    return change_diagram(
        head, shown | {t for _, t in impact}, statuses, tag_filter, changes.removed, impact
    )


def _blast(graph: GraphModel, sources: Iterable[str], tag_filter: Mapping[str, Any]) -> set[str]:
    """Semantic nodes strictly downstream of ``sources``."""
    start = set(sources)
    if not start:
        return set()
    reached = graph.downstream(start) - start
    return {n for n in reached if is_semantic(graph.nodes[n], tag_filter)}


def _nearest_shown(graph: GraphModel, target: str, shown: set[str]) -> list[str]:
    """The shown nodes upstream of ``target`` that reach it without passing another shown
    node: where a dotted link to it starts."""
    found: set[str] = set()
    seen = {target}
    stack = [target]
    while stack:
        for dep in graph.nodes[stack.pop()].dependencies:
            if dep in seen or dep not in graph.nodes:
                continue
            seen.add(dep)
            if dep in shown:
                found.add(dep)
            else:
                stack.append(dep)
    return sorted(found)


def review_document(review: Review, markdown_chars: int, form: str, edges: int) -> dict[str, Any]:
    """The review as JSON (``review.json`` and ``-f json``)."""
    return {
        "kind": REVIEW_KIND,
        "schema_version": SCHEMA_VERSION,
        "profile": review.profile,
        "base": {"ref": review.base, "commit": review.base_commit},
        "fail_on": review.fail_on,
        "failed": review.failed,
        "counts": review.counts(),
        "changes": [c.as_dict() for c in review.changes],
        "diagram": {
            "form": form,
            "links": edges,
            "nodes": [
                {
                    "key": n.key,
                    "semantic_id": n.semantic_id,
                    "status": n.status,
                    "module": n.group,
                    "layer": n.layer,
                }
                for n in review.diagram.nodes
            ],
            "edges": [{"from": e.tail, "to": e.head, "kind": e.kind} for e in review.diagram.edges],
        },
        "markdown_chars": markdown_chars,
    }


def is_breaking(item: Finding) -> bool:
    """Whether a finding breaks the contract (it fails the default gate)."""
    return item.severity.rank >= Severity.BREAKING.rank
