"""A picture of a graph: boxes in clusters and edges between them, and its DOT text.

:func:`semdag.core.render.plan` decides what a picture holds; :func:`to_dot` writes it out.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from semdag.core.changes import ChangeSet

# Above this many nodes a picture is unreadable and `dot` slow: draw one box per module.
COLLAPSE_THRESHOLD = 300


INK = "#37474f"


SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Box:
    """One drawn node: its DOT/SVG id, its HTML-like label and its DOT attributes."""

    id: str
    label: str
    attrs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Cluster:
    """A subgraph drawn as a labelled, coloured frame (a stack layer, inputs, legend)."""

    key: str
    label: str
    fill: str
    border: str
    style: str
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Edge:
    """A dependency arrow between two boxes."""

    tail: str
    head: str
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Picture:
    """Everything drawn, in drawing order, plus the data the HTML viewer shows."""

    title: str
    collapsed: bool
    node_count: int
    clusters: tuple[Cluster, ...]
    edges: tuple[Edge, ...]
    viewer: Mapping[str, Any]
    # Extra graph attributes, e.g. layout limits that keep `dot` fast on dense pictures.
    layout: tuple[tuple[str, str], ...] = ()
    # Module links left out of a collapsed picture to keep it legible and quick to lay out.
    hidden_edges: int = 0

    def to_dot(self) -> str:
        """DOT text: sorted, escaped, and identical for the same picture in any process."""
        return to_dot(self)


@dataclass(frozen=True)
class RenderOptions:
    """What to draw besides the nodes themselves."""

    profile: str
    layers: tuple[str, ...]
    semantic_filter: Mapping[str, Any]
    # Override ledger rows as LedgerEntry.as_dict gives them (and the build cache keeps them).
    ledger: tuple[Mapping[str, Any], ...] = ()
    changes: ChangeSet | None = None
    collapse: bool | None = None
    threshold: int = COLLAPSE_THRESHOLD
    description: str = ""
    # Node name -> "breaking" or "impacted": drawn over its change colour (a review's).
    emphasis: Mapping[str, str] = field(default_factory=dict)


def svg_id(prefix: str, name: str) -> str:
    """A DOT/SVG id that needs no escaping: the name itself when safe, else a stable digest."""
    if SAFE_ID.match(name):
        return f"{prefix}:{name}"
    return f"{prefix}:~{hashlib.sha256(name.encode('utf-8')).hexdigest()[:16]}"


def html_text(text: str) -> str:
    # Graphviz's HTML labels are XML: escape markup and drop control characters it rejects.
    cleaned = "".join(ch if ch >= " " or ch == "\t" else " " for ch in str(text))
    return html.escape(cleaned, quote=True)


def quote(text: str) -> str:
    """A DOT double-quoted string (backslashes doubled so no escape sequence can form)."""
    cleaned = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{cleaned}"'


def dot_attrs(attrs: Iterable[tuple[str, str]], label: str | None = None) -> str:
    parts = [f"{key}={quote(value)}" for key, value in attrs]
    if label is not None:
        parts.append(f"label=<{label}>")
    return f" [{', '.join(parts)}]" if parts else ""


def to_dot(picture: Picture) -> str:
    """Serialise ``picture`` as DOT text."""
    # newrank: rank nodes across clusters in one pass; without it Graphviz 2.4x can fail with
    # "trouble in init_rank" when edges run back and forth between clusters.
    extra = "".join(f"{key}={quote(value)}, " for key, value in picture.layout)
    lines = [
        "digraph semdag {",
        "  graph ["
        f'rankdir="LR", newrank="true", fontname="Helvetica", fontsize="12", labelloc="t", '
        f'nodesep="0.25", ranksep="0.6", {extra}label=<<B>{html_text(picture.title)}</B>>];',
        f'  node [fontname="Helvetica", fontsize="11", fontcolor="{INK}", margin="0.12,0.05"];',
        '  edge [color="#78909c", arrowsize="0.7", fontname="Helvetica", fontsize="9"];',
    ]
    for index, cluster in enumerate(picture.clusters):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(
            f"    graph [id={quote('cluster:' + cluster.key)}, style={quote(cluster.style)}, "
            f"fillcolor={quote(cluster.fill)}, color={quote(cluster.border)}, "
            f"label=<<B>{html_text(cluster.label)}</B>>];"
        )
        lines += [f"    {quote(box.id)}{dot_attrs(box.attrs, box.label)};" for box in cluster.boxes]
        lines.append("  }")
    lines += [
        f"  {quote(edge.tail)} -> {quote(edge.head)}{dot_attrs(edge.attrs)};"
        for edge in picture.edges
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"
