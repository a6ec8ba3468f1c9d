"""How the current graph differs from a graph.json or registry.json baseline, node by node.

Everything here is pure except :func:`read_baseline`, which reads the snapshot file.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from semdag.core.errors import BaselineError
from semdag.core.graph import GraphModel, NodeInfo
from semdag.core.registry import compile_registry


@dataclass(frozen=True)
class Ghost:
    """A node or semantic id the baseline has and the current graph does not."""

    key: str
    name: str
    semantic_id: str | None
    layer: str | None
    module: str | None
    type: str | None
    dependencies: tuple[str, ...]


@dataclass(frozen=True)
class ChangeSet:
    """How the current graph differs from a baseline snapshot."""

    source: str
    kind: str
    added: frozenset[str]
    changed: Mapping[str, tuple[str, ...]]
    removed: tuple[Ghost, ...]

    def status(self, name: str) -> str | None:
        """ "added", "changed" or None (unchanged, or not in the current graph)."""
        if name in self.added:
            return "added"
        if name in self.changed:
            return "changed"
        return None


def removed_near(changes: ChangeSet, graph: GraphModel, keep: Collection[str]) -> tuple[Ghost, ...]:
    """The removed nodes a picture of ``keep`` shows: those that touched a kept node, and
    those that touched such a removed node (a removed chain is drawn whole)."""
    kept = set(keep)
    near = {
        g.name
        for g in changes.removed
        if kept & set(g.dependencies) or any(g.name in graph.nodes[n].dependencies for n in kept)
    }
    grown = True
    while grown:
        before = len(near)
        near.update(g.name for g in changes.removed if near & set(g.dependencies))
        grown = len(near) > before
    return tuple(g for g in changes.removed if g.name in near)


def read_baseline(path: Path, shown: str) -> dict[str, Any]:
    """Read a ``semdag.graph`` or ``semdag.registry`` snapshot; BaselineError when unusable."""
    hint = "`semdag snapshot update` writes snapshots/<profile>/graph.json and registry.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"baseline not found: {shown}", hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BaselineError(f"cannot read baseline {shown}: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"baseline {shown} is not JSON: {exc.msg}", file=shown, line=exc.lineno
        ) from None
    kind = document.get("kind") if isinstance(document, dict) else None
    body = {"semdag.graph": "nodes", "semdag.registry": "entries"}.get(str(kind))
    if body is None:
        raise BaselineError(
            f"{shown} is not a semdag graph or registry snapshot "
            f"(kind {kind!r}; expected 'semdag.graph' or 'semdag.registry')"
        )
    if not isinstance(document.get(body), dict) or not all(
        isinstance(v, dict) for v in document[body].values()
    ):
        raise BaselineError(f"baseline {shown}: {body!r} must map names to objects")
    return document


def compare(
    graph: GraphModel,
    baseline: Mapping[str, Any],
    tag_filter: Mapping[str, Any],
    source: str,
    scope: Collection[str] | None = None,
) -> ChangeSet:
    """Nodes added, changed (code hash, tags or output type) and removed since ``baseline``.

    ``scope`` is the set of nodes a fresh graph snapshot would hold (a graph export covers
    the profile's execution graph, not always every node): only those can count as added.
    """
    # Schema version 1 made its code hashes another way: they say nothing about today's.
    codes = baseline.get("schema_version") != 1
    if baseline.get("kind") == "semdag.registry":
        return _compare_registry(graph, baseline["entries"], tag_filter, source, codes)
    return _compare_graph(graph, baseline, source, scope, codes)


def _differences(
    current: NodeInfo, old: Mapping[str, Any], tags: Mapping[str, Any], codes: bool
) -> list[str]:
    reasons = []
    # A baseline that lacks a field says nothing about it: only compare what it records.
    if codes and "code_hash" in old and old["code_hash"] != current.code_hash:
        reasons.append("code")
    if "tags" in old and _recorded_user_tags(current, old["tags"]) != tags:
        reasons.append("tags")
    old_type = old.get("output_type", old.get("type"))
    if old_type is not None and old_type != current.type:
        reasons.append("type")
    return reasons


# What a difference in each field of a graph.json node means, in a report.
_ENTRY_FIELDS = {
    "code_hash": "code",
    "required_dependencies": "dependencies",
    "optional_dependencies": "dependencies",
    "output_type": "type",
    "stack_layer": "provider",
    "module": "provider",
    "is_input": "kind",
    "is_config": "kind",
}


def entry_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """What differs between two records of one node (graph.json entries): ``tag K`` for each
    tag, else ``code``, ``dependencies``, ``type``, ``provider``, ``kind`` or the field's own
    name."""
    reasons: list[str] = []
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        if key == "tags" and isinstance(was, Mapping) and isinstance(now, Mapping):
            tags = sorted(t for t in set(was) | set(now) if was.get(t) != now.get(t))
            reasons += [f"tag {t}" for t in tags]
        else:
            reasons.append(_ENTRY_FIELDS.get(key, key))
    return tuple(dict.fromkeys(sorted(reasons)))


def _recorded_user_tags(current: NodeInfo, recorded: Any) -> dict[str, Any]:
    # A graph.json records every tag; leave out Hamilton's bookkeeping exactly as the current
    # node's user_tags() does, by asking the same method about the recorded tags.
    if not isinstance(recorded, dict):
        return {}
    return replace(current, tags=recorded).user_tags()


def _old_dependencies(old: Mapping[str, Any], extra: Iterable[str] = ()) -> tuple[str, ...]:
    deps: list[Any] = list(extra)
    keys = (
        "dependencies",
        "required",
        "optional",
        "required_dependencies",
        "optional_dependencies",
    )
    for key in keys:
        value = old.get(key)
        if isinstance(value, list):
            deps.extend(value)
        elif isinstance(value, dict):  # {"required": [...], "optional": [...]}
            for inner in value.values():
                deps.extend(inner if isinstance(inner, list) else [])
    return tuple(sorted({str(d) for d in deps}))


def _ghost(
    key: str, name: str, old: Mapping[str, Any], sid: str | None, deps: Iterable[str] = ()
) -> Ghost:
    layer = old.get("stack_layer", old.get("layer"))
    module = old.get("module")
    old_type = old.get("output_type", old.get("type"))
    return Ghost(
        key=key,
        name=name,
        semantic_id=sid,
        layer=str(layer) if layer is not None else None,
        module=str(module) if module is not None else None,
        type=str(old_type) if old_type is not None else None,
        dependencies=_old_dependencies(old, deps),
    )


def _compare_graph(
    graph: GraphModel,
    baseline: Mapping[str, Any],
    source: str,
    scope: Collection[str] | None,
    codes: bool,
) -> ChangeSet:
    old_nodes: Mapping[str, Any] = baseline["nodes"]
    old_edges: dict[str, list[str]] = {}
    for pair in baseline.get("edges") or ():
        if isinstance(pair, list) and len(pair) == 2:
            old_edges.setdefault(str(pair[1]), []).append(str(pair[0]))
    candidates = graph.nodes if scope is None else [n for n in graph.nodes if n in scope]
    added = frozenset(name for name in candidates if name not in old_nodes)
    changed: dict[str, tuple[str, ...]] = {}
    for name, info in graph.nodes.items():
        if name in old_nodes:
            reasons = _differences(info, old_nodes[name], info.user_tags(), codes)
            if reasons:
                changed[name] = tuple(reasons)
    removed = tuple(
        _ghost(name, name, old_nodes[name], _semantic_id(old_nodes[name]), old_edges.get(name, ()))
        for name in sorted(old_nodes)
        if name not in graph.nodes
    )
    return ChangeSet(source, "graph", added, dict(sorted(changed.items())), removed)


def _semantic_id(old: Mapping[str, Any]) -> str | None:
    tags = old.get("tags")
    sid = tags.get("semantic_id") if isinstance(tags, dict) else None
    return sid if isinstance(sid, str) else None


def _compare_registry(
    graph: GraphModel,
    old_entries: Mapping[str, Any],
    tag_filter: Mapping[str, Any],
    source: str,
    codes: bool,
) -> ChangeSet:
    current = compile_registry(graph, tag_filter).entries
    added = frozenset(e.node for sid, e in current.items() if sid not in old_entries)
    changed: dict[str, list[str]] = {}
    for sid, entry in current.items():
        old = old_entries.get(sid)
        if old is None:
            continue
        reasons = _differences(graph.nodes[entry.node], old, dict(entry.tags), codes)
        if old.get("node", entry.node) != entry.node:
            reasons.append(f"renamed from {old['node']}")
        if reasons:
            changed.setdefault(entry.node, []).extend(reasons)
    removed = tuple(
        _ghost(sid, str(old_entries[sid].get("node") or sid), old_entries[sid], sid)
        for sid in sorted(old_entries)
        if sid not in current
    )
    return ChangeSet(
        source,
        "registry",
        added,
        {k: tuple(v) for k, v in sorted(changed.items())},
        removed,
    )
