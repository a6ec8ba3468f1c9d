"""The execution graph as JSON, in semdag's form (Hamilton's form is :mod:`semdag.hamilton.export`).

Both forms cover the same nodes: the upstream closure of the chosen outputs, walked the way
Hamilton walks it for a run (an overridden node's dependencies are not visited, and an
optional dependency on an external input that has no value is left out).

- :func:`export_document` is semdag's form (``kind: semdag.graph``): nodes keyed by name
  with their stack layer, module, file:line and code hash, the edges, and the build-time
  config. It is a pure function of a :class:`~semdag.core.graph.GraphModel` and a profile.
- :func:`baseline_document` is what ``snapshots/<profile>/graph.json`` holds: the same
  document for every node, less whatever moves when nothing a reviewer cares about changed
  (file:line, docstrings, the outputs list).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import math
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from semdag.core.graph import GraphModel, NodeInfo, unknown_node_message

if TYPE_CHECKING:
    from semdag.config.profile import Profile

EXPORT_KIND = "semdag.graph"
# 2: semdag's interpreter-independent code hash; no file shas, source shas or hash context.
SCHEMA_VERSION = 2


# --- which nodes -------------------------------------------------------------------------------


def default_outputs(graph: GraphModel, profile: Profile) -> list[str]:
    """The profile's ``outputs``, or every computed node (not an input) when it names none."""
    if profile.outputs:
        return list(profile.outputs)
    return [n.name for n in graph.nodes.values() if not n.is_input]


def unknown_outputs(names: Iterable[str], known: Collection[str]) -> list[str]:
    """One message per name that is not a node, each with near matches."""
    return [unknown_node_message(name, known) for name in names if name not in known]


def execution_closure(
    graph: GraphModel,
    outputs: Iterable[str],
    *,
    inputs: Mapping[str, Any],
    overrides: Mapping[str, Any],
    config: Mapping[str, Any],
) -> set[str]:
    """The nodes a run of ``outputs`` touches, as Hamilton's ``get_upstream_nodes`` finds them.

    The walk does not go past an overridden node, and it skips an optional dependency on an
    external input that neither ``inputs`` nor ``config`` gives a value.
    """
    nodes = graph.nodes
    seen: set[str] = set()
    stack: list[str] = []
    for name in outputs:
        if name in nodes and name not in seen:
            seen.add(name)
            stack.append(name)
    while stack:
        current = nodes[stack.pop()]
        if current.name in overrides:
            continue
        for dep in current.required:
            if dep in nodes and dep not in seen:
                seen.add(dep)
                stack.append(dep)
        for dep in current.optional:
            if dep not in nodes or dep in seen:
                continue
            if nodes[dep].is_input and dep not in inputs and dep not in config:
                continue
            seen.add(dep)
            stack.append(dep)
    return seen


# --- semdag's form -----------------------------------------------------------------------------


def export_document(
    graph: GraphModel,
    profile: Profile,
    outputs: Sequence[str] | None = None,
    include_source: bool = False,
    *,
    whole_graph: bool = False,
    sources: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """semdag's graph export of ``outputs`` as a JSON-ready dict (write it with ``canonical_json``).

    ``outputs=None`` takes :func:`default_outputs`; ``whole_graph=True`` exports every node
    (and lists every node as an output). Names that are not nodes raise ``KeyError``; the CLI
    checks them first. The walk uses the profile's inputs, overrides and config (see
    :func:`execution_closure`).

    Nothing in the document depends on the machine or the run: files are project-relative
    (files outside the project are given relative to their import root), every mapping is
    sorted by the canonical writer, every list is sorted here. Source bodies are left out
    unless ``include_source``, which takes them from ``sources`` (node name to text, see
    :func:`node_sources`).
    """
    if include_source and sources is None:
        raise ValueError("include_source needs `sources` (see semdag.hamilton.export.node_sources)")
    if whole_graph:
        chosen = list(graph.nodes)
        members = set(graph.nodes)
    else:
        chosen = default_outputs(graph, profile) if outputs is None else list(outputs)
        missing = unknown_outputs(chosen, graph.nodes)
        if missing:
            raise KeyError("; ".join(missing))
        members = execution_closure(
            graph,
            chosen,
            inputs=profile.inputs,
            overrides=profile.overrides,
            config=profile.config,
        )
    nodes: dict[str, Any] = {}
    for name in sorted(members):
        n = graph.nodes[name]
        entry = node_entry(n)
        entry.update(file=portable_path(n.file), line=n.line, end_line=n.end_line, doc=n.doc)
        if include_source:
            assert sources is not None
            entry["source"] = sources.get(name)
        nodes[name] = entry
    return {
        **_header(graph, profile, members),
        "outputs": sorted(set(chosen)),
        "nodes": nodes,
    }


def baseline_document(graph: GraphModel, profile: Profile) -> dict[str, Any]:
    """``graph.json``: every node as :func:`node_entry` records it, the edges and the config.

    Only what a reviewer should see change: nothing here moves when a comment, a docstring
    or a function's place in its file changes, or with the interpreter that wrote it.
    """
    return {
        **_header(graph, profile, graph.nodes),
        "nodes": {name: node_entry(node) for name, node in graph.nodes.items()},
    }


def _header(graph: GraphModel, profile: Profile, members: Iterable[str]) -> dict[str, Any]:
    return {
        "kind": EXPORT_KIND,
        "schema_version": SCHEMA_VERSION,
        "profile": profile.name,
        "config": jsonable(dict(profile.config)),
        "edges": [[dep, node] for dep, node in graph.edges(members)],
    }


# The fields of a graph node that the baseline records: the contract, nothing positional.
BASELINE_NODE_FIELDS = (
    "code_hash",
    "is_config",
    "is_input",
    "module",
    "name",
    "optional_dependencies",
    "output_type",
    "required_dependencies",
    "stack_layer",
    "tags",
)


def node_entry(n: NodeInfo) -> dict[str, Any]:
    """A node as ``graph.json`` records it (:data:`BASELINE_NODE_FIELDS`)."""
    return {
        "name": n.name,
        "output_type": n.type,
        "tags": jsonable(n.tags),  # a new mapping
        "stack_layer": n.layer,
        "module": n.module,
        "code_hash": n.code_hash,
        "required_dependencies": sorted(n.required),
        "optional_dependencies": sorted(n.optional),
        "is_input": n.is_input,
        "is_config": n.is_config,
    }


# Compact JSON with sorted keys: equal texts are equal values (the converse may fail: 1, 1.0).
ENTRY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def baseline_texts(graph: GraphModel, names: Iterable[str]) -> list[str]:
    """The compact text (:data:`ENTRY_ENCODER`) of :func:`node_entry` of each of the nodes
    ``names``, in order. The text of a list of entries is theirs joined by commas, in
    brackets."""
    encode = ENTRY_ENCODER.encode
    nodes = graph.nodes
    return [encode(node_entry(nodes[name])) for name in names]


def entry_digest(text: str) -> bytes:
    """The digest of an entry's compact text (:data:`ENTRY_ENCODER`), as a comparison with
    a baseline keeps it."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


# Nodes per run digest (see graph_digests).
RUN = 256


def graph_digests(graph: GraphModel) -> tuple[tuple[bytes, ...], bytes]:
    """The digest of the text of each run of :data:`RUN` nodes' entries (a list of
    :func:`node_entry`), in name order, and of the edges' text (:meth:`GraphModel.edges`).

    Made once: where ``graph.digests`` holds those of a graph with the same names, a
    run whose node objects are all that graph's keeps its digest, and the edges keep theirs
    when every node has the same dependencies; the others are made of their texts (see
    :func:`baseline_texts`)."""
    memo = graph.digests.made
    nodes = graph.nodes
    names = sorted(nodes)
    known: Mapping[str, NodeInfo] = memo[0] if memo is not None else {}
    same_names = memo is not None and known.keys() == nodes.keys()
    runs = []
    for number, start in enumerate(range(0, len(names), RUN)):
        run = names[start : start + RUN]
        if same_names and all(known[name] is nodes[name] for name in run):
            runs.append(memo[1][number])  # type: ignore[index]
        else:
            runs.append(entry_digest(f"[{','.join(baseline_texts(graph, run))}]"))
    if memo is not None and _same_dependencies(known, nodes):
        edges = memo[2]
    else:
        edges = entry_digest(ENTRY_ENCODER.encode(graph.edges()))
    graph.digests.made = (nodes, tuple(runs), edges)
    return tuple(runs), edges


def _same_dependencies(before: Mapping[str, NodeInfo], after: Mapping[str, NodeInfo]) -> bool:
    if before is after:
        return True
    if before.keys() != after.keys():
        return False
    for name, node in after.items():
        old = before[name]
        if old is not node and (old.required != node.required or old.optional != node.optional):
            return False
    return True


@functools.lru_cache(maxsize=8192)
def portable_path(path: str | None) -> str | None:
    """A path that means the same on every machine: project-relative paths are kept; an
    absolute path (a file outside the project, such as a library's) becomes relative to the
    ``sys.path`` entry it is imported from, or just its file name."""
    if path is None or not PurePath(path).is_absolute():
        return path
    candidate = Path(path)
    best: Path | None = None
    for entry in sys.path:
        if not entry:
            continue
        root = Path(entry)
        if candidate.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return candidate.relative_to(best).as_posix() if best else candidate.name


def jsonable(value: Any) -> Any:
    """``value`` with everything JSON cannot hold made plain: dates as ISO text, sets and
    tuples as lists, bytes as base64, non-finite floats and other objects as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return dict(value)  # a node's tags, mostly: text only
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {
            # Most tag values are text: nothing to convert.
            k if type(k) is str else str(k): v if type(v) is str else jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [v if type(v) is str else jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)
