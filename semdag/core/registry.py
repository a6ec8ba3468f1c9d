"""The semantic registry: compiled from node tags, checked against the taxonomy."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from semdag.core.dtypes import dtype_problem
from semdag.core.errors import did_you_mean
from semdag.core.graph import GraphModel, NodeInfo
from semdag.core.rules import Finding, finding

REGISTRY_KIND = "semdag.registry"
# 2: code_hash is semdag's interpreter-independent hash (semdag.core.codehash); no logic_hash.
SCHEMA_VERSION = 2
# How an entry's code hash was made; hashes of different schemes are never compared.
CODE_HASH_SCHEME = "semdag"
# Registries of schema version 1 recorded a name-blind hash of ``ast.unparse`` text.
LEGACY_HASH_SCHEME = "legacy-logic"
SEMANTIC_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
STABILITY = ("experimental", "stable", "deprecated")
PII = ("none", "possible", "yes")


@dataclass(frozen=True)
class Entry:
    """One registry entry, keyed by its semantic id."""

    semantic_id: str
    node: str
    stack_layer: str | None
    module: str | None
    output_type: str
    tags: Mapping[str, Any]
    dependencies: tuple[str, ...]
    # semdag's code hash (blind to the function's name, docstrings and tag decorators, so a
    # rename or a tag edit is not mistaken for a change of logic).
    code_hash: str | None
    file: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as stored in ``registry.json`` (no file:line: they churn on every edit)."""
        return {
            "node": self.node,
            "stack_layer": self.stack_layer,
            "module": self.module,
            "output_type": self.output_type,
            "tags": dict(self.tags),
            "dependencies": list(self.dependencies),
            "code_hash": self.code_hash,
        }


@dataclass(frozen=True)
class Registry:
    """A compiled registry, or one read back from a snapshot."""

    profile: str
    entries: Mapping[str, Entry]
    # How the entries' code hashes were made (see CODE_HASH_SCHEME).
    hash_scheme: str = CODE_HASH_SCHEME

    def as_document(self) -> dict[str, Any]:
        return {
            "kind": REGISTRY_KIND,
            # A registry read from an older baseline keeps that baseline's version: its hashes
            # were made that way (see hash_scheme).
            "schema_version": 1 if self.hash_scheme == LEGACY_HASH_SCHEME else SCHEMA_VERSION,
            "profile": self.profile,
            "entries": {sid: self.entries[sid].as_dict() for sid in sorted(self.entries)},
        }


def matches(tags: Mapping[str, Any], tag_filter: Mapping[str, Any]) -> bool:
    """Hamilton's tag-filter semantics: AND across keys, any-of in a list, None = exists."""
    for key, wanted in tag_filter.items():
        if key not in tags:
            return False
        if wanted is None:
            continue
        have = tags[key]
        have_set = set(have) if isinstance(have, list) else {have}
        wanted_set = set(wanted) if isinstance(wanted, list) else {wanted}
        if not have_set & wanted_set:
            return False
    return True


def registry_id(
    tags: Mapping[str, Any], tag_filter: Mapping[str, Any], *, is_input: bool
) -> str | None:
    """The semantic id the registry lists a node under, or None: the one meaning of
    "semantic" (a computed node that the profile's tag filter selects and that has a
    ``semantic_id``), shared by the registry, build counts, ``ls --semantic``, render and
    the resolution of semantic ids given for node names."""
    sid = tags.get("semantic_id")
    if is_input or not isinstance(sid, str) or not matches(tags, tag_filter):
        return None
    return sid


def semantic_nodes(graph: GraphModel, tag_filter: Mapping[str, Any]) -> list[NodeInfo]:
    """The nodes the registry lists (see :func:`registry_id`), sorted by name."""
    return [n for n in graph.nodes.values() if is_semantic(n, tag_filter)]


def is_semantic(node: NodeInfo, tag_filter: Mapping[str, Any]) -> bool:
    """Whether the registry lists ``node`` (see :func:`registry_id`)."""
    return registry_id(node.tags, tag_filter, is_input=node.is_input) is not None


def compile_registry(graph: GraphModel, tag_filter: Mapping[str, Any]) -> Registry:
    """Compile the registry; on a duplicate semantic id the first node by name wins
    (validate reports the duplicate)."""
    entries: dict[str, Entry] = {}
    for n in semantic_nodes(graph, tag_filter):
        sid = n.tags["semantic_id"]
        if sid in entries:
            continue
        entries[sid] = Entry(
            semantic_id=sid,
            node=n.name,
            stack_layer=n.layer,
            module=n.module,
            output_type=n.type,
            tags=n.user_tags(),
            dependencies=n.dependencies,
            code_hash=n.code_hash,
            file=n.file,
            line=n.line,
        )
    return Registry(graph.profile, {k: entries[k] for k in sorted(entries)})


def registry_findings(
    graph: GraphModel,
    tag_filter: Mapping[str, Any],
    required_tags: tuple[str, ...],
    dtypes: Mapping[str, tuple[str, ...] | None] | None = None,
    required_at: tuple[str | None, int | None] = (None, None),
) -> Iterator[Finding]:
    """Baseline-free registry rules: duplicate ids, missing and invalid tags (``dtypes``:
    the project's own dtype names, see :mod:`semdag.core.dtypes`; ``required_at``: the file
    and line of the profile's ``required_tags``)."""
    by_id: dict[str, list[NodeInfo]] = {}
    selected = list(semantic_nodes(graph, tag_filter))
    # A required tag that no semantic node has is one mistake in the profile (a typo, or a
    # tag not rolled out yet), reported once there rather than once per node.
    nowhere = [
        tag
        for tag in required_tags
        if len(selected) > 1 and not any(tag in n.tags for n in selected)
    ]
    if nowhere:
        carried = sorted({t for n in selected for t in n.user_tags()})
        file, line = required_at
        for tag in nowhere:
            yield finding(
                "missing-required-tag",
                tag,
                f"registry.required_tags: no semantic node has a {tag!r} tag"
                f"{did_you_mean(tag, carried)} ({len(selected)} nodes lack it)",
                file=file,
                line=line,
                new=[n.name for n in selected],
            )
    for n in selected:
        where = {"node": n.name, "file": n.file, "line": n.line}
        sid = n.tags["semantic_id"]
        by_id.setdefault(sid, []).append(n)
        missing = [tag for tag in required_tags if tag not in n.tags and tag not in nowhere]
        if missing:
            shown = ", ".join(repr(tag) for tag in missing)
            yield finding(
                "missing-required-tag",
                sid,
                f"{n.name} has no {shown} tag{'s' if len(missing) > 1 else ''}",
                new=missing,
                **where,
            )
        yield from _invalid_tags(n, sid, where, dtypes or {})
    yield from _unlisted(graph, tag_filter)
    for sid, nodes in sorted(by_id.items()):
        if len(nodes) > 1:
            places = ", ".join(f"{n.name} ({n.where()})" for n in nodes)
            first = nodes[1]
            yield finding(
                "duplicate-semantic-id",
                sid,
                f"semantic_id {sid!r} is claimed by {places}",
                node=first.name,
                file=first.file,
                line=first.line,
                new=[n.name for n in nodes],
            )


def _unlisted(graph: GraphModel, tag_filter: Mapping[str, Any]) -> Iterator[Finding]:
    """Nodes tagged for the registry that it leaves out for want of a ``semantic_id``: those
    the tag filter's other conditions select (when it has any)."""
    rest = {k: v for k, v in tag_filter.items() if k != "semantic_id"}
    if not rest:
        return
    shown = ", ".join(
        k if v is None else f"{k}={'|'.join(v) if isinstance(v, list) else v}"
        for k, v in rest.items()
    )
    for n in graph.nodes.values():
        sid = n.tags.get("semantic_id")
        if n.is_input or isinstance(sid, str) or not matches(n.tags, rest):
            continue
        what = "no semantic_id" if sid is None else f"semantic_id {sid!r}, which is not one string"
        yield finding(
            "missing-required-tag",
            n.name,
            f"{n.name} is tagged {shown} but has {what}: the registry leaves it out",
            node=n.name,
            file=n.file,
            line=n.line,
        )


def _invalid_tags(
    n: NodeInfo,
    subject: str,
    where: dict[str, Any],
    dtypes: Mapping[str, tuple[str, ...] | None],
) -> Iterator[Finding]:
    tags = n.tags

    def bad(message: str) -> Finding:
        return finding("invalid-tag-value", subject, f"{n.name}: {message}", **where)

    sid = tags.get("semantic_id")
    if sid is not None and (not isinstance(sid, str) or not SEMANTIC_ID.match(sid)):
        yield bad(f"semantic_id {sid!r} must match {SEMANTIC_ID.pattern}")
    version = tags.get("version")
    if version is not None and (
        not isinstance(version, str) or not version.isdigit() or int(version) < 1
    ):
        yield bad(f"version {version!r} must be a positive integer")
    for tag, allowed in (("stability", STABILITY), ("pii", PII)):
        value = tags.get(tag)
        if value is not None and value not in allowed:
            yield bad(f"{tag} {value!r} must be one of {', '.join(allowed)}")
    dtype = tags.get("dtype")
    problem = dtype_problem(dtype, n.type, dtypes) if dtype is not None else None
    if problem:
        yield bad(problem)
