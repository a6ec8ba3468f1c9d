"""Where a node's function lives and its code hash, from one parse per source file.

The hash equals Hamilton's ``HamiltonNode.version``: sha256 of the function's source with
docstrings and comments removed (``ast.unparse`` after dropping docstrings). Hamilton gets
there through ``inspect.getsource`` and a fresh parse per node; parsing each file once and
unparsing the already-parsed function gives the same text far faster.
"""

from __future__ import annotations

import ast
import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FunctionSource:
    """A function's span in its file, its code hash and (on demand) its source."""

    file: str
    line: int
    end_line: int
    code_hash: str | None
    source: str | None


def _strip_docstrings(fn: ast.AST) -> ast.AST:
    tree = copy.deepcopy(fn)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:]
    return tree


def hash_function_ast(fn: ast.AST) -> str:
    """Hamilton-compatible code hash of a parsed function definition."""
    return hashlib.sha256(ast.unparse(_strip_docstrings(fn)).encode()).hexdigest()


class _ParsedFile:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.by_line: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                self.by_line.setdefault(first, node)
        self.hashes: dict[int, str] = {}


class SourceIndex:
    """Parses each file once and answers for any function defined in it."""

    def __init__(self, relative: Callable[[str], str]) -> None:
        self._relative = relative
        self._files: dict[str, _ParsedFile | None] = {}

    def _parsed(self, filename: str) -> _ParsedFile | None:
        if filename not in self._files:
            try:
                with open(filename, encoding="utf-8") as handle:
                    self._files[filename] = _ParsedFile(handle.read())
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                self._files[filename] = None
        return self._files[filename]

    def lookup(self, fn: Callable[..., Any], *, with_source: bool = False) -> FunctionSource | None:
        """Span, hash and optionally source of ``fn``; None for objects with no code."""
        code = getattr(fn, "__code__", None)
        if code is None:
            return None
        filename, first = code.co_filename, code.co_firstlineno
        parsed = self._parsed(filename)
        node = parsed.by_line.get(first) if parsed else None
        if parsed is None or node is None:
            return self._fallback(fn, filename, first, with_source)
        code_hash = parsed.hashes.get(first)
        if code_hash is None:
            code_hash = parsed.hashes[first] = hash_function_ast(node)
        end = node.end_lineno or first
        source = "".join(parsed.lines[first - 1 : end]) if with_source else None
        return FunctionSource(self._relative(filename), first, end, code_hash, source)

    def _fallback(
        self, fn: Callable[..., Any], filename: str, first: int, with_source: bool
    ) -> FunctionSource:
        import inspect

        from hamilton.graph_types import hash_source_code

        try:
            source = inspect.getsource(fn)
            code_hash: str | None = hash_source_code(source, strip=True)
        except (OSError, TypeError):
            source, code_hash = None, None
        end = first + (source.count("\n") - 1 if source else 0)
        return FunctionSource(
            self._relative(filename), first, end, code_hash, source if with_source else None
        )
