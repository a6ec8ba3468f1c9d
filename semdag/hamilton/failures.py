"""Which node failed: the tag a failing node's exception carries, else its traceback; and
Hamilton's input errors in one line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from semdag.config.project import Project
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


_FUNCTION_LOCALS = ("obj", "fn", "func", "function", "f")


def build_failure_place(
    exc: BaseException, modules: Iterable[Any], project: Project, name: str | None = None
) -> tuple[str, str, int] | None:
    """The stack function a failed build was working on, as (function, file, line): the
    function named ``name`` in a stack module (Hamilton's type-mismatch names the node), else
    the innermost function of a stack module that the traceback's frames were handling."""
    import inspect

    by_module = {m.name: m.module for m in modules}
    found: Any = None
    if name is not None:
        found = next(
            (
                fn
                for module in by_module.values()
                if inspect.isfunction(fn := getattr(module, name, None))
            ),
            None,
        )
    current: BaseException | None = exc
    while found is None and current is not None:
        tb = current.__traceback__
        frames = []
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        # The parameter that holds the function at hand (typing's ``obj``, Hamilton's ``fn``)
        # first, innermost frame first; then any stack function a frame holds.
        for names in (_FUNCTION_LOCALS, None):
            for frame in reversed(frames):
                found = next(
                    (
                        value
                        for key, value in frame.f_locals.items()
                        if (names is None or key in names)
                        and inspect.isfunction(value)
                        and value.__module__ in by_module
                    ),
                    None,
                )
                if found is not None:
                    break
            if found is not None:
                break
        current = current.__cause__ or current.__context__
    if found is None:
        return None
    code = inspect.unwrap(found).__code__
    return code.co_name, project.relative(code.co_filename), code.co_firstlineno


def from_annotations(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while evaluating a function's type annotations."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name in ("get_type_hints", "_eval_type", "get_annotations"):
            return True
        tb = tb.tb_next
    return False
