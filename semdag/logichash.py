"""A name-insensitive code hash, so renaming a function is not reported as a logic change."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable
from typing import Any

from semdag.sourceinfo import hash_function_ast


class LogicHasher:
    """Hashes a function's definition with its own name blanked; one parse per file."""

    def __init__(self) -> None:
        self._files: dict[str, dict[int, ast.AST] | None] = {}

    def _functions(self, filename: str) -> dict[int, ast.AST] | None:
        if filename not in self._files:
            try:
                with open(filename, encoding="utf-8") as handle:
                    tree = ast.parse(handle.read())
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                self._files[filename] = None
                return None
            found: dict[int, ast.AST] = {}
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                    found.setdefault(first, node)
            self._files[filename] = found
        return self._files[filename]

    def hash(self, fn: Callable[..., Any]) -> str | None:
        """The hash of ``fn`` with its name replaced; None when its source is unavailable."""
        code = getattr(fn, "__code__", None)
        if code is None:
            return None
        functions = self._functions(code.co_filename)
        node = functions.get(code.co_firstlineno) if functions else None
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        original = node.name
        node.name = "_"
        try:
            digest = hash_function_ast(node)
        finally:
            node.name = original
        return hashlib.sha256(("logic:" + digest).encode()).hexdigest()
