"""Mermaid flowcharts of a graph or of a change to it, within Mermaid's default limits.

GitHub and GitLab render Mermaid blocks in comments and job summaries with Mermaid's default
configuration, which a diagram cannot raise: at most :data:`MAX_TEXT` characters of text and
:data:`MAX_EDGES` links. :func:`fit` draws every node when that fits, else one box per module,
else nothing (the caller lists the change instead).

Every piece of project text (node names, semantic ids, module and layer names) is written as
Mermaid entity codes outside a small safe alphabet, so quotes, brackets, ``%%``, ``-->``,
HTML and non-ASCII text can neither end a label nor become markup, and the diagram text is
plain ASCII (its length is the same in characters, bytes and UTF-16 units).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from semdag.core.changes import ChangeSet, Ghost, removed_near
from semdag.core.graph import GraphModel
from semdag.core.registry import registry_id
from semdag.core.render_style import CHANGE_STYLE, group_key

# Mermaid's defaults (`maxTextSize`, `maxEdges`): a diagram past either is not drawn.
MAX_TEXT = 50_000
MAX_EDGES = 500

# How each status is drawn; the fills and borders of added, changed and removed are the
# Graphviz pictures' (semdag.core.render_style.CHANGE_STYLE), so every picture reads alike.
STATUS_STYLE = {
    "breaking": "fill:#ffcdd2,stroke:#b71c1c,stroke-width:3px,color:#000000",
    "removed": f"fill:{CHANGE_STYLE['removed'][0]},stroke:{CHANGE_STYLE['removed'][1]},"
    "stroke-width:2px,stroke-dasharray:5 3,color:#5d4037",
    "changed": f"fill:{CHANGE_STYLE['changed'][0]},stroke:{CHANGE_STYLE['changed'][1]},"
    "stroke-width:2px,color:#000000",
    "added": f"fill:{CHANGE_STYLE['added'][0]},stroke:{CHANGE_STYLE['added'][1]},"
    "stroke-width:2px,color:#000000",
    "impacted": "fill:#fff8e1,stroke:#f9a825,stroke-width:2px,color:#000000",
    "context": "fill:#ffffff,stroke:#90a4ae,color:#37474f",
}
# Most telling first: a module box takes the first status any of its nodes has.
STATUS_ORDER = tuple(STATUS_STYLE)
# What each status means, for legends.
STATUS_MEANING = {
    "breaking": "changed, breaking the contract",
    "removed": "removed",
    "changed": "changed",
    "added": "added",
    "impacted": "downstream of a change (blast radius)",
    "context": "context (one hop)",
}

# Characters written as themselves in a label; everything else becomes an entity code.
_PLAIN = re.compile(r"[A-Za-z0-9 _.,:/()+=]")
_LABEL_LIMIT = 80


@dataclass(frozen=True)
class DiagramNode:
    """A node to draw: its key (unique), name, semantic id, status and module."""

    key: str
    name: str
    semantic_id: str | None
    status: str
    group: str
    layer: str | None


@dataclass(frozen=True)
class DiagramEdge:
    """A link: ``dependency`` (solid), ``removed`` (dashed, from a removed node's old
    dependency) or ``impact`` (dotted, from a change to a semantic node downstream of it)."""

    tail: str
    head: str
    kind: str = "dependency"


@dataclass(frozen=True)
class Diagram:
    """What to draw, before choosing how."""

    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]


@dataclass(frozen=True)
class Fitted:
    """A diagram's text in the form that fits (``nodes``, ``modules``), or none (``list``)."""

    form: str
    text: str
    edges: int


def label_text(text: str, limit: int = _LABEL_LIMIT) -> str:
    """``text`` as safe label content: shortened to ``limit`` characters, every character
    outside a small safe alphabet written as a Mermaid entity code (``#60;``)."""
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return "".join(c if _PLAIN.fullmatch(c) else f"#{ord(c)};" for c in text)


def diagram_of(
    graph: GraphModel,
    selected: Sequence[str],
    tag_filter: Mapping[str, object],
    changes: ChangeSet | None = None,
) -> Diagram:
    """The selected nodes and the edges between them, coloured by ``changes`` when given
    (removed nodes that touched the selection drawn from the baseline)."""
    keep = set(selected)
    statuses: dict[str, str] = {}
    ghosts: tuple[Ghost, ...] = ()
    if changes is not None:
        statuses = {n: s for n in keep if (s := changes.status(n))}
        every = len(keep) == len(graph.nodes)
        ghosts = changes.removed if every else removed_near(changes, graph, keep)
    return change_diagram(graph, sorted(keep), statuses, tag_filter, ghosts)


def change_diagram(
    graph: GraphModel,
    shown: Iterable[str],
    statuses: Mapping[str, str],
    tag_filter: Mapping[str, object],
    ghosts: Sequence[Ghost] = (),
    impact: Iterable[tuple[str, str]] = (),
) -> Diagram:
    """A diagram of ``shown`` nodes of ``graph`` (status from ``statuses``, else context),
    ``ghosts`` (removed nodes, linked to their old dependencies that are shown) and dotted
    ``impact`` links."""
    names = sorted(set(shown))
    keep = set(names)
    nodes = [
        DiagramNode(
            key=name,
            name=name,
            semantic_id=registry_id(
                graph.nodes[name].tags, tag_filter, is_input=graph.nodes[name].is_input
            ),
            status=statuses.get(name, "context"),
            group=group_key(graph.nodes[name]),
            layer=graph.nodes[name].layer,
        )
        for name in names
    ]
    edges = [DiagramEdge(dep, node) for dep, node in graph.edges(names)]
    ghost_keys = {g.name: g.key if g.key not in keep else f"{g.key} (removed)" for g in ghosts}
    for ghost in ghosts:
        key = ghost_keys[ghost.name]
        nodes.append(
            DiagramNode(
                key=key,
                name=ghost.name,
                semantic_id=ghost.semantic_id,
                status="removed",
                group=ghost.module or "(removed)",
                layer=ghost.layer,
            )
        )
        # An old dependency is drawn when shown, or when it was removed too.
        edges += [
            DiagramEdge(dep if dep in keep else ghost_keys[dep], key, "removed")
            for dep in ghost.dependencies
            if dep in keep or dep in ghost_keys
        ]
    known = {n.key for n in nodes}
    edges += [DiagramEdge(a, b, "impact") for a, b in impact if a in known and b in known]
    return Diagram(
        tuple(sorted(nodes, key=lambda n: n.key)),
        tuple(sorted(set(edges), key=lambda e: (e.tail, e.head, e.kind))),
    )


def fit(diagram: Diagram, max_text: int = MAX_TEXT, max_edges: int = MAX_EDGES) -> Fitted:
    """The diagram drawn node by node when that fits the limits, else one box per module,
    else ``list`` (no text): the caller lists the change instead."""
    for form, draw in (("nodes", flowchart), ("modules", module_flowchart)):
        text, edges = draw(diagram)
        if len(text) <= max_text and edges <= max_edges:
            return Fitted(form, text, edges)
    return Fitted("list", "", 0)


_ARROWS = {"dependency": "-->", "removed": "-.->", "impact": "-.->"}


def flowchart(diagram: Diagram) -> tuple[str, int]:
    """Every node in its stack layer's frame; returns the text and its number of links."""
    ids = {node.key: f"n{i}" for i, node in enumerate(diagram.nodes)}
    lines = [f"flowchart {_direction([(e.tail, e.head) for e in diagram.edges])}"]
    layers: dict[str, list[DiagramNode]] = {}
    for node in diagram.nodes:
        layers.setdefault(node.layer or "", []).append(node)
    for number, layer in enumerate(sorted(layers)):
        members = [f"    {ids[n.key]}{_shape(n)}" for n in layers[layer]]
        if layer:
            lines.append(f'  subgraph L{number}["layer {label_text(layer)}"]')
            lines += [*members, "  end"]
        else:
            lines += [m[2:] for m in members]
    for edge in diagram.edges:
        lines.append(f"  {ids[edge.tail]} {_ARROWS[edge.kind]} {ids[edge.head]}")
    lines += _classes({ids[n.key]: n.status for n in diagram.nodes})
    return "\n".join(lines) + "\n", len(diagram.edges)


def module_flowchart(diagram: Diagram) -> tuple[str, int]:
    """One box per module, with its nodes counted by status; links carry their count."""
    members: dict[str, list[DiagramNode]] = {}
    for node in diagram.nodes:
        members.setdefault(node.group, []).append(node)
    groups = sorted(members)
    ids = {group: f"m{i}" for i, group in enumerate(groups)}
    group_of = {node.key: node.group for node in diagram.nodes}
    pairs = [(group_of[e.tail], group_of[e.head]) for e in diagram.edges]
    lines = [f"flowchart {_direction([(a, b) for a, b in pairs if a != b])}"]
    statuses: dict[str, str] = {}
    for group in groups:
        tally = {s: 0 for s in STATUS_ORDER}
        for node in members[group]:
            tally[node.status] += 1
        counts = " ".join(f"{tally[s]} {s}" for s in STATUS_ORDER if tally[s])
        lines.append(f'  {ids[group]}["{label_text(group)}<br/>{label_text(counts, 200)}"]')
        statuses[ids[group]] = next(s for s in STATUS_ORDER if tally[s])
    links: dict[tuple[str, str, str], int] = {}
    for edge in diagram.edges:
        a, b = group_of[edge.tail], group_of[edge.head]
        if a != b:
            kind = "dependency" if edge.kind == "dependency" else "removed"
            links[(a, b, kind)] = links.get((a, b, kind), 0) + 1
    for (a, b, kind), count in sorted(links.items()):
        arrow = "-->" if kind == "dependency" else "-.->"
        lines.append(f"  {ids[a]} {arrow}|{count}| {ids[b]}")
    lines += _classes(statuses)
    return "\n".join(lines) + "\n", len(links)


# Past this many ranks a left-to-right diagram is wider than a comment: it is drawn top down.
_WIDE_RANKS = 8


def _direction(edges: Sequence[tuple[str, str]]) -> str:
    """``LR`` unless the longest chain of links has more than :data:`_WIDE_RANKS` ranks
    (counted over the acyclic part: nodes on a cycle are left out)."""
    incoming: dict[str, int] = {}
    following: dict[str, list[str]] = {}
    for tail, head in set(edges):
        following.setdefault(tail, []).append(head)
        incoming[head] = incoming.get(head, 0) + 1
        incoming.setdefault(tail, incoming.get(tail, 0))
    rank = [n for n, count in incoming.items() if count == 0]
    ranks = 0
    while rank:
        ranks += 1
        nxt = []
        for name in rank:
            for head in following.get(name, ()):
                incoming[head] -= 1
                if incoming[head] == 0:
                    nxt.append(head)
        rank = nxt
    return "TB" if ranks > _WIDE_RANKS else "LR"


def _shape(node: DiagramNode) -> str:
    if node.semantic_id:
        text = f"{label_text(node.semantic_id)}<br/>{label_text(node.name)}"
        return f'(["{text}"])'
    return f'["{label_text(node.name)}"]'


def _classes(statuses: Mapping[str, str]) -> list[str]:
    used = sorted(set(statuses.values()), key=STATUS_ORDER.index)
    lines = [f"  classDef {status} {STATUS_STYLE[status]}" for status in used]
    for status in used:
        members = [i for i, s in statuses.items() if s == status]
        # One statement per status, in chunks: a long line is as hard to diff as to read.
        for start in range(0, len(members), 40):
            lines.append(f"  class {','.join(members[start : start + 40])} {status}")
    return lines
