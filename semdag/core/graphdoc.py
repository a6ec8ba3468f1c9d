"""A graph model read back from semdag's graph export (``semdag export --all -f json``).

A build at another git revision runs in another process; what it sends back is its export
document, and this module turns that document into the :class:`GraphModel` every comparison
and picture reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from semdag.core.errors import BaselineError
from semdag.core.export import EXPORT_KIND
from semdag.core.graph import GraphModel, NodeInfo
from semdag.core.registry import registry_id


def graph_from_document(
    document: Mapping[str, Any], tag_filter: Mapping[str, Any], shown: str
) -> GraphModel:
    """The graph an export document describes; ``tag_filter`` says which nodes are semantic.

    A document that is not a ``semdag.graph`` export raises BaselineError naming ``shown``.
    """
    raw = document.get("nodes") if document.get("kind") == EXPORT_KIND else None
    if not isinstance(raw, Mapping):
        raise BaselineError(f"{shown} is not a semdag graph export")
    nodes: dict[str, NodeInfo] = {}
    dependents: dict[str, list[str]] = {}
    for name in sorted(raw):
        item = raw[name]
        if not isinstance(item, Mapping):
            raise BaselineError(f"{shown}: node {name!r} is not an object")
        raw_tags = item.get("tags")
        tags: dict[str, Any] = dict(raw_tags) if isinstance(raw_tags, Mapping) else {}
        is_input = bool(item.get("is_input"))
        info = NodeInfo(
            name=str(name),
            type=str(item.get("output_type")),
            tags=tags,
            layer=_text(item.get("stack_layer")),
            module=_text(item.get("module")),
            function=None,
            file=_text(item.get("file")),
            line=item.get("line") if isinstance(item.get("line"), int) else None,
            end_line=item.get("end_line") if isinstance(item.get("end_line"), int) else None,
            doc=str(item.get("doc") or ""),
            code_hash=_text(item.get("code_hash")),
            required=tuple(str(d) for d in item.get("required_dependencies") or ()),
            optional=tuple(str(d) for d in item.get("optional_dependencies") or ()),
            is_input=is_input,
            is_config=bool(item.get("is_config")),
            semantic_id=registry_id(tags, tag_filter, is_input=is_input),
        )
        nodes[info.name] = info
        for dep in info.dependencies:
            dependents.setdefault(dep, []).append(info.name)
    return GraphModel(
        profile=str(document.get("profile") or ""),
        nodes=nodes,
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
