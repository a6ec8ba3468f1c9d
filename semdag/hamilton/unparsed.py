"""Hashes made from ``ast.unparse`` text, whose output changes between Python releases:
Hamilton's node version (``export --format hamilton`` must equal it) and the name-blind hash
that registry baselines of schema version 1 recorded. semdag's own code hash is
:mod:`semdag.core.codehash`."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from semdag.hamilton.source_text import function_node, read_source, split_lines


def _docstring_owner(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
        return False
    first = node.body[0]
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _unparsed_without_docstrings(fn: ast.AST, nested: bool) -> str:
    """``ast.unparse`` of ``fn`` with every function docstring left out, as Hamilton hashes
    it. The tree is restored before returning; no deep copy is made."""
    stripped: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.stmt]]] = []
    for node in ast.walk(fn) if nested else (fn,):
        if _docstring_owner(node):
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            stripped.append((node, node.body))
            node.body = node.body[1:]
    try:
        return ast.unparse(fn)
    finally:
        for node, body in stripped:
            node.body = body


def hamilton_hash(fn: ast.AST, *, nested: bool = True) -> str:
    """``HamiltonNode.version`` of a parsed function definition: sha256 of its unparsed text
    without docstrings. ``nested=False`` promises that ``fn`` holds no nested function, which
    spares a walk of the whole tree."""
    return hashlib.sha256(_unparsed_without_docstrings(fn, nested).encode()).hexdigest()


def legacy_logic_hash(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The name-blind hash that registry baselines of schema version 1 recorded as
    ``logic_hash``: read only to compare with such a baseline until it is rewritten."""
    from semdag.core.codehash import METADATA_DECORATORS, decorator_name

    lines = _unparsed_without_docstrings(fn, True).split("\n")
    decorators = fn.decorator_list
    kept = [
        line
        for index, line in enumerate(lines)
        if index >= len(decorators) or decorator_name(decorators[index]) not in METADATA_DECORATORS
    ]
    blind = "\n".join(kept).replace(f"def {fn.name}(", "def _(", 1)
    return hashlib.sha256(("logic:" + blind).encode()).hexdigest()


def legacy_hash_at(path: Path, start: int, end: int) -> str | None:
    """:func:`legacy_logic_hash` of the function on lines ``start``..``end`` of ``path``;
    None when the file cannot be read or those lines hold no function."""
    try:
        lines = split_lines(read_source(str(path)))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    parsed = function_node("".join(lines[start - 1 : end]))
    return legacy_logic_hash(parsed) if parsed is not None else None
