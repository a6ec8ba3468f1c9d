"""Which node failed: the tag a failing node's exception carries, else its traceback; and
Hamilton's input errors in one line."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from semdag.core.graph import GraphModel

# The attribute a failing node's exception carries; it survives pickling across processes.
FAILED_NODE_ATTR = "_semdag_failed_node"


def tag_failure(error: BaseException, node_name: str) -> None:
    if getattr(error, FAILED_NODE_ATTR, None) is None:
        with contextlib.suppress(Exception):
            setattr(error, FAILED_NODE_ATTR, node_name)


def failed_node(exc: BaseException, graph: GraphModel) -> str | None:
    """The node whose function raised ``exc``: from the tag the hooks set, else the traceback."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tagged = getattr(current, FAILED_NODE_ATTR, None)
        if isinstance(tagged, str):
            return tagged
        current = current.__cause__ or current.__context__
    return _node_from_traceback(exc, graph)


def _node_from_traceback(exc: BaseException, graph: GraphModel) -> str | None:
    import traceback

    spans: dict[str, list[tuple[int, int, str]]] = {}
    for node in graph.nodes.values():
        if node.file and node.line and node.end_line:
            spans.setdefault(node.file, []).append((node.line, node.end_line, node.name))
    if not spans:
        return None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        for file, ranges in spans.items():
            if path.as_posix().endswith(file):
                for first, last, name in ranges:
                    if first <= (frame.lineno or 0) <= last:
                        return name
    return None


def input_message(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line.removeprefix("Error: ") for line in lines if line.startswith("Error:")]
    if errors:
        return (
            "cannot run: "
            + "; ".join(errors)
            + " (pass --input NAME=VALUE or set inputs: in the profile)"
        )
    return "cannot run: " + (lines[0] if lines else "Hamilton rejected the inputs")
