"""The change model: a pure comparison of two registries, yielding sorted findings."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from semdag.core.registry import Entry, Registry
from semdag.core.rules import Finding, Severity, finding

# Tags with a rule of their own; every other tag change is `tags-changed`.
_TAG_RULES = {
    "dtype": "dtype-changed",
    "entity": "entity-changed",
    "grain": "grain-changed",
    "entity_keys": "keys-changed",
    "join_keys": "keys-changed",
    "schema_ref": "schema-ref-changed",
    "version": "version-bumped",
}


@dataclass(frozen=True)
class Lineage:
    """Who depends on whom, to tell the semantic ids downstream of a node (blast radius)."""

    dependents: Mapping[str, Sequence[str]]  # node -> the nodes that depend on it
    semantic: Mapping[str, tuple[str, str | None]]  # node -> (semantic_id, owner)

    @classmethod
    def from_dependencies(
        cls,
        dependencies: Mapping[str, Iterable[str]],
        semantic: Mapping[str, tuple[str, str | None]],
    ) -> Lineage:
        """A lineage from each node's dependencies (reversed here, once)."""
        dependents: dict[str, list[str]] = {}
        for name, deps in dependencies.items():
            for dep in deps:
                dependents.setdefault(dep, []).append(name)
        return cls(dependents, semantic)

    def downstream_ids(self, node: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Semantic ids (and their owners) downstream of ``node``, excluding its own."""
        seen, queue = {node}, deque([node])
        while queue:
            for nxt in self.dependents.get(queue.popleft(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        seen.discard(node)
        hits = sorted(self.semantic[n] for n in seen if n in self.semantic)
        return (
            tuple(sid for sid, _ in hits),
            tuple(sorted({owner for _, owner in hits if owner})),
        )


def _registry_dependencies(registry: Registry) -> dict[str, tuple[str, ...]]:
    return {e.node: e.dependencies for e in registry.entries.values()}


def _registry_semantic(registry: Registry) -> dict[str, tuple[str, str | None]]:
    return {e.node: (sid, _owner(e.tags)) for sid, e in registry.entries.items()}


def lineage_from_registry(registry: Registry) -> Lineage:
    """Lineage from registry entries alone (direct dependencies between semantic nodes)."""
    return Lineage.from_dependencies(_registry_dependencies(registry), _registry_semantic(registry))


def lineage_from_graph_document(document: Mapping[str, Any], registry: Registry) -> Lineage:
    """Lineage from a ``graph.json`` export (every node, so transitive impact is exact)."""
    nodes = document.get("nodes")
    deps: dict[str, tuple[str, ...]] = _registry_dependencies(registry)
    if isinstance(nodes, dict):
        for name, raw in nodes.items():
            if isinstance(raw, dict):
                required = raw.get("required_dependencies") or []
                optional = raw.get("optional_dependencies") or []
                deps[name] = tuple(str(d) for d in (*required, *optional))
    return Lineage.from_dependencies(deps, _registry_semantic(registry))


def lineage_from_graph(dependents: Mapping[str, Sequence[str]], registry: Registry) -> Lineage:
    """Lineage over every node of a build, from its reverse edges."""
    return Lineage(dependents, _registry_semantic(registry))


def _owner(tags: Mapping[str, Any]) -> str | None:
    owner = tags.get("owner")
    return owner if isinstance(owner, str) else None


def _blast(item: Finding, lineage: Lineage | None, node: str) -> Finding:
    if lineage is None or item.severity.rank < Severity.BREAKING.rank:
        return item
    affected, owners = lineage.downstream_ids(node)
    from dataclasses import replace

    return replace(item, affected=affected, owners=owners)


def find_changes(
    old: Registry,
    new: Registry,
    *,
    old_lineage: Lineage | None = None,
    new_lineage: Lineage | None = None,
) -> list[Finding]:
    """Every difference between ``old`` and ``new``, sorted by (semantic id, rule).

    Code hashes are compared only when both registries made them the same way (a baseline
    written by an older semdag is compared on everything else until it is rewritten).
    """
    comparable = old.hash_scheme == new.hash_scheme
    found: list[Finding] = []
    for sid in sorted(set(old.entries) | set(new.entries)):
        before, after = old.entries.get(sid), new.entries.get(sid)
        if after is None:
            assert before is not None
            item = finding(
                "semantic-removed",
                sid,
                f"{sid} (node {before.node}) is gone",
                node=before.node,
                old=before.node,
            )
            found.append(_blast(item, old_lineage, before.node))
        elif before is None:
            found.append(
                finding(
                    "semantic-added",
                    sid,
                    f"{sid} is new (node {after.node})",
                    node=after.node,
                    new=after.node,
                    file=after.file,
                    line=after.line,
                )
            )
        else:
            for item in compare_entries(sid, before, after, codes=comparable):
                found.append(_blast(item, new_lineage, after.node))
    return sorted(found, key=Finding.sort_key)


def compare_entries(
    sid: str, before: Entry, after: Entry, *, codes: bool = True
) -> Iterator[Finding]:
    """Findings for one semantic id present on both sides; ``codes=False`` leaves the code
    hashes uncompared (they were made in different ways)."""
    where = {"node": after.node, "file": after.file, "line": after.line}

    def make(rule: str, message: str, old: Any, new: Any) -> Finding:
        return finding(rule, sid, message, old=old, new=new, **where)

    for tag in sorted(set(before.tags) | set(after.tags)):
        was, now = before.tags.get(tag), after.tags.get(tag)
        if _same(was, now):
            continue
        rule = _TAG_RULES.get(tag, "tags-changed")
        if was is None:
            message = f"tag {tag} added: {_show(now)}"
        elif now is None:
            message = f"tag {tag} removed (was {_show(was)})"
        else:
            message = f"tag {tag} changed: {_show(was)} -> {_show(now)}"
        yield make(rule, message, was, now)
    if before.output_type != after.output_type:
        yield make(
            "output-type-changed",
            f"output type changed: {before.output_type} -> {after.output_type}",
            before.output_type,
            after.output_type,
        )
    if before.node != after.node:
        yield make(
            "node-renamed", f"node renamed: {before.node} -> {after.node}", before.node, after.node
        )
    if (before.stack_layer, before.module) != (after.stack_layer, after.module):
        yield make(
            "provider-changed",
            f"now provided by {after.stack_layer}:{after.module} "
            f"(was {before.stack_layer}:{before.module})",
            f"{before.stack_layer}:{before.module}",
            f"{after.stack_layer}:{after.module}",
        )
    if tuple(sorted(before.dependencies)) != tuple(sorted(after.dependencies)):
        gone = sorted(set(before.dependencies) - set(after.dependencies))
        came = sorted(set(after.dependencies) - set(before.dependencies))
        yield make(
            "dependencies-changed",
            f"dependencies changed: {'-' + ', -'.join(gone) if gone else ''}"
            f"{' ' if gone and came else ''}{'+' + ', +'.join(came) if came else ''}",
            list(before.dependencies),
            list(after.dependencies),
        )
    if (
        codes
        and before.code_hash != after.code_hash
        and _same(before.tags.get("version"), after.tags.get("version"))
    ):
        yield make(
            "code-changed",
            "the code changed but the version tag did not",
            before.code_hash,
            after.code_hash,
        )


def _same(a: Any, b: Any) -> bool:
    return a == b or _normalise(a) == _normalise(b)


def _normalise(value: Any) -> Any:
    # "repo,path" and ["repo", "path"] are the same key list.
    if isinstance(value, str) and "," in value:
        return tuple(part.strip() for part in value.split(","))
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value)
    return value


def _show(value: Any) -> str:
    # Quoted where a bare word could read as "nothing": a pii tag whose value is "none".
    text = str(value)
    return repr(text) if text.lower() in ("none", "null", "") else text
