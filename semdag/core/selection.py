"""Which nodes a picture draws: selectors that narrow a graph, and paths between two nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from semdag.core.errors import CheckFailed, UsageError, did_you_mean
from semdag.core.graph import GraphModel
from semdag.core.registry import matches


class NoPathError(CheckFailed):
    """``--path A B`` where B cannot be reached from A."""

    code = "no_path"


class EmptySelectionError(CheckFailed):
    """The selectors leave no node to draw."""

    code = "empty_selection"


@dataclass(frozen=True)
class Selection:
    """Which nodes to draw.

    Anchored selectors (upstream of, downstream of, path, outputs) add up, as dbt's
    space-separated selectors do: ``--upstream-of X --downstream-of X`` is X's whole
    neighbourhood. Tag and layer filters then narrow that set.
    """

    upstream_of: tuple[str, ...] = ()
    downstream_of: tuple[str, ...] = ()
    path: tuple[str, str] | None = None
    tag_filter: Mapping[str, Any] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    depth: int | None = None
    outputs: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short human description for the picture's title ("" for the whole graph)."""
        parts: list[str] = []
        hops = f" within {self.depth} hops" if self.depth is not None else ""
        if self.upstream_of:
            parts.append(f"upstream of {', '.join(self.upstream_of)}{hops}")
        if self.downstream_of:
            parts.append(f"downstream of {', '.join(self.downstream_of)}{hops}")
        if self.path:
            parts.append(f"paths {self.path[0]} → {self.path[1]}")
        if self.outputs:
            parts.append(f"execution of {', '.join(self.outputs)}")
        for key, wanted in self.tag_filter.items():
            if wanted is None:
                parts.append(f"tag {key}")
            else:
                values = wanted if isinstance(wanted, list) else [wanted]
                parts.append(f"tag {key}={'|'.join(str(v) for v in values)}")
        if self.layers:
            parts.append(f"layer {'|'.join(self.layers)}")
        return "; ".join(parts)


def select(graph: GraphModel, selection: Selection) -> tuple[str, ...]:
    """Names of the nodes ``selection`` keeps, sorted: the union of the anchored selectors
    (every node when there is none), narrowed by the tag and layer filters."""
    if selection.depth is not None:
        if selection.depth < 0:
            raise UsageError(f"--depth must be 0 or more, got {selection.depth}")
        if not (selection.upstream_of or selection.downstream_of):
            raise UsageError("--depth counts hops from --upstream-of/--downstream-of nodes")
    check_tag_keys(graph, selection.tag_filter)
    # Unknown names fail before any walk, each with its near matches.
    for name in (
        *selection.upstream_of,
        *selection.downstream_of,
        *(selection.path or ()),
        *selection.outputs,
    ):
        graph.get(name)
    anchored: list[set[str]] = []
    if selection.upstream_of:
        anchored.append(graph.upstream(selection.upstream_of, selection.depth))
    if selection.downstream_of:
        anchored.append(graph.downstream(selection.downstream_of, selection.depth))
    if selection.outputs:
        anchored.append(graph.upstream(selection.outputs))
    if selection.path:
        anchored.append(_path_nodes(graph, *selection.path))
    keep: set[str] = set().union(*anchored) if anchored else set(graph.nodes)
    if selection.tag_filter:
        keep = {n for n in keep if matches(graph.nodes[n].tags, selection.tag_filter)}
    if selection.layers:
        keep = {n for n in keep if graph.nodes[n].layer in selection.layers}
    if not keep:
        raise EmptySelectionError(f"no node matches the selection ({selection.describe()})")
    return tuple(sorted(keep))


def check_tag_keys(graph: GraphModel, tag_filter: Mapping[str, Any]) -> None:
    """A ``--tag`` key that no node has is a typo, not an empty selection: say so, with the
    near matches among the keys the graph's nodes do have."""
    if not tag_filter:
        return
    known = {key for n in graph.nodes.values() for key in n.tags}
    for key in tag_filter:
        if key not in known:
            raise UsageError(f"--tag {key}: no node has a tag {key!r}{did_you_mean(key, known)}")


def tag_values_hint(graph: GraphModel, tag_filter: Mapping[str, Any]) -> str | None:
    """The values the graph's nodes have for each ``--tag K=V`` key, near matches first."""
    parts = []
    for key, wanted in tag_filter.items():
        if wanted is None:
            continue
        found = [n.tags[key] for n in graph.nodes.values() if key in n.tags]
        values = sorted({str(v) for f in found for v in (f if isinstance(f, list) else [f])})
        shown = ", ".join(values[:10]) + (" …" if len(values) > 10 else "")
        asked = wanted if isinstance(wanted, list) else [wanted]
        near = "".join(did_you_mean(str(v), values) for v in asked)
        parts.append(f"tag {key} has the values {shown}{near}")
    return "; ".join(parts) or None


def _path_nodes(graph: GraphModel, source: str, target: str) -> set[str]:
    between = graph.downstream([source]) & graph.upstream([target])
    if between:
        return between
    hint = None
    if graph.downstream([target]) & graph.upstream([source]):
        hint = f"{target} is upstream of {source}: try --path {target} {source}"
    raise NoPathError(f"no path from {source} to {target}", hint=hint)
