"""How a picture looks: colours and node shapes, labels, groups, and Graphviz layout limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from semdag.core.graph import NodeInfo
from semdag.core.picture import Edge, html_text, svg_id

# Pale cluster fills and matching borders, one pair per stack layer in stack order.
LAYER_COLOURS = (
    ("#eaf2fb", "#7a9cc6"),
    ("#ebf6ec", "#7fae84"),
    ("#fdf3e6", "#c9a36a"),
    ("#f4ecfb", "#a38ac4"),
    ("#fbeaf0", "#c58aa0"),
    ("#e8f7f6", "#6fb1ab"),
    ("#f6f6e6", "#aeae6a"),
)


SEMANTIC_FILL = "#fff4c2"


SEMANTIC_BORDER = "#1f3a60"


CHANGE_STYLE = {
    # status: (fill, border)
    "added": ("#c8f0c4", "#2e7d32"),
    "changed": ("#ffe0b2", "#e65100"),
    "removed": ("#ffebee", "#c62828"),
    # A review's emphasis (RenderOptions.emphasis): a change that breaks the contract, and a
    # semantic node downstream of a change.
    "breaking": ("#ffcdd2", "#b71c1c"),
    "impacted": ("#fff8e1", "#f9a825"),
}


BASE_ATTRS = {
    "shape": "box",
    "style": "rounded,filled",
    "fillcolor": "#ffffff",
    "color": "#78909c",
}


INPUT_ATTRS = {
    "shape": "ellipse",
    "style": "dashed,filled",
    "fillcolor": "#f5f5f5",
    "color": "#757575",
}


CONFIG_ATTRS = {"shape": "note", "style": "filled", "fillcolor": "#eeeeee", "color": "#757575"}


MODULE_ATTRS = {
    "shape": "box3d",
    "style": "filled",
    "fillcolor": "#ffffff",
    "color": "#78909c",
}


LABELLED_EDGES = 200


EDGE_BUDGET = 400


DENSE_EDGES = 500


def layout_limits(edges: int) -> tuple[tuple[str, str], ...]:
    # Crossing minimisation and network simplex grow fast with edges; on dense pictures a
    # bounded search keeps `dot` interactive at a small cost in crossings.
    if edges <= DENSE_EDGES:
        return ()
    return (("mclimit", "0.3"), ("nslimit", "5"), ("nslimit1", "5"), ("searchsize", "10"))


def semantic_attrs() -> dict[str, str]:
    return {
        **BASE_ATTRS,
        "fillcolor": SEMANTIC_FILL,
        "color": SEMANTIC_BORDER,
        "penwidth": "2.5",
    }


def change_attrs(attrs: dict[str, str], status: str) -> dict[str, str]:
    fill, border = CHANGE_STYLE[status]
    out = {**attrs, "fillcolor": fill, "color": border}
    if status == "removed":
        out["style"] = "rounded,dashed,filled"
    if status == "breaking":
        out["penwidth"] = "3"
    return out


def node_kind(info: NodeInfo) -> str:
    if info.is_config:
        return "config"
    if info.is_input:
        return "input"
    return "node"


def cluster_key(layer: str | None, info: NodeInfo) -> str:
    if layer is not None:
        return f"layer:{layer}"
    if info.is_config:
        return "config"
    if info.is_input:
        return "inputs"
    return "nolayer"


SPECIAL_GROUPS = {
    "(external inputs)": "module:~inputs",
    "(config)": "module:~config",
    "(no module)": "module:~none",
}


def group_key(info: NodeInfo) -> str:
    if info.module:
        return info.module
    if info.is_config:
        return "(config)"
    if info.is_input:
        return "(external inputs)"
    return "(no module)"


def group_id(group: str) -> str:
    return SPECIAL_GROUPS.get(group) or svg_id("module", group)


def str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def attr_tuple(attrs: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(attrs.items()))


def edge_key(edge: Edge) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return (edge.tail, edge.head, edge.attrs)


def html_label(title: str, *lines: str) -> str:
    """An HTML-like label: the title in bold, further lines smaller (all text escaped)."""
    parts = [f"<B>{html_text(title)}</B>"]
    parts += [f'<BR/><FONT POINT-SIZE="9">{html_text(line)}</FONT>' for line in lines]
    return "".join(parts)
