"""Stdlib-``ast`` scanner: one record per function or method of a Python source tree.

Plain functions, no Hamilton: the dataflow modules (``modules.core.scan``,
``modules.plugins.parallel_scan``) call these, so the serial and the fanned-out scan share one
implementation and produce identical records.

Metric definitions:

- ``loc``: physical lines from the ``def`` line to the last line of the body (decorators are
  not counted; docstring, blank and comment lines inside the body are).
- ``complexity``: 1 + decision points in the function's own body: ``if``/``elif``, conditional
  expressions, ``for``, ``while``, ``except`` handlers, ``with``, each extra operand of a
  ``and``/``or`` chain, each ``if`` of a comprehension and each ``case`` of a ``match``.
  Nested functions and classes are measured on their own, not added to their parent.
- ``n_params``: every declared parameter, including ``self``/``cls``, ``*args``, ``**kwargs``.
- ``is_public``: no private segment (``_name`` but not ``__dunder__``) in the module path or the
  qualified symbol, and not nested inside another function.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Directory names that never hold first-party source worth measuring.
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"})

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, order=True)
class FunctionRecord:
    """Measurements of one function or method, keyed by (path, symbol)."""

    path: str
    line: int
    symbol: str
    module: str
    loc: int
    complexity: int
    n_params: int
    has_docstring: bool
    is_public: bool
    is_method: bool


@dataclass(frozen=True)
class ScanResult:
    """Records of every parsed file plus the repo-relative paths of files that did not parse."""

    records: tuple[FunctionRecord, ...] = field(default_factory=tuple)
    unparsed: tuple[str, ...] = field(default_factory=tuple)

    @staticmethod
    def merge(parts: Iterable[ScanResult]) -> ScanResult:
        """Combines per-file results in a canonical order, whatever order the parts arrive in."""
        records: list[FunctionRecord] = []
        unparsed: list[str] = []
        for part in parts:
            records.extend(part.records)
            unparsed.extend(part.unparsed)
        return ScanResult(records=tuple(sorted(records)), unparsed=tuple(sorted(unparsed)))


def list_python_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of every ``*.py`` file under ``root``, sorted.

    Hidden directories and tool/build directories are skipped so a checkout with a virtualenv
    inside measures only its own code.
    """
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if name.endswith(".py"):
                found.append((rel_dir / name).as_posix())
    return sorted(found)


def module_name(path: str, package: str | None) -> str:
    """Dotted module name for a repo-relative path; ``package`` prefixes it when the root is one."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if package:
        parts.insert(0, package)
    return ".".join(parts) if parts else (package or "")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class _ComplexityCounter(ast.NodeVisitor):
    """Counts decision points without descending into nested scopes that are measured apart."""

    def __init__(self) -> None:
        self.points = 0

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return None

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        return None

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        return None

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(
            node,
            ast.If
            | ast.IfExp
            | ast.For
            | ast.AsyncFor
            | ast.While
            | ast.ExceptHandler
            | ast.With
            | ast.AsyncWith
            | ast.match_case,
        ):
            self.points += 1
        elif isinstance(node, ast.BoolOp):
            self.points += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            self.points += len(node.ifs)
        super().generic_visit(node)


def cyclomatic_complexity(fn: FunctionNode) -> int:
    """1 + the decision points of ``fn``'s own body (see the module docstring)."""
    counter = _ComplexityCounter()
    for statement in fn.body:
        counter.visit(statement)
    return 1 + counter.points


def _count_params(args: ast.arguments) -> int:
    return (
        len(args.posonlyargs)
        + len(args.args)
        + len(args.kwonlyargs)
        + (args.vararg is not None)
        + (args.kwarg is not None)
    )


def _walk_functions(
    body: list[ast.stmt], prefix: tuple[str, ...], in_class: bool, in_function: bool
) -> Iterator[tuple[FunctionNode, tuple[str, ...], bool, bool]]:
    """Yields (function, qualified parts, is_method, is_nested) in source order."""
    for statement in body:
        for child in _scoped_children(statement):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                parts = (*prefix, child.name)
                yield child, parts, in_class, in_function
                yield from _walk_functions(child.body, parts, False, True)
            elif isinstance(child, ast.ClassDef):
                yield from _walk_functions(child.body, (*prefix, child.name), True, in_function)


def _scoped_children(statement: ast.stmt) -> Iterator[ast.stmt]:
    """The statement itself, or the statements of its blocks when it is compound control flow.

    Definitions under ``if``/``try``/``with`` at module or class level are still definitions of
    that scope (e.g. ``if TYPE_CHECKING:`` or version-dependent fallbacks).
    """
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield statement
        return
    blocks: list[list[ast.stmt]] = []
    if isinstance(statement, ast.If | ast.For | ast.AsyncFor | ast.While):
        blocks = [statement.body, statement.orelse]
    elif isinstance(statement, ast.With | ast.AsyncWith):
        blocks = [statement.body]
    elif isinstance(statement, ast.Try | ast.TryStar):
        blocks = [statement.body, *(h.body for h in statement.handlers)]
        blocks += [statement.orelse, statement.finalbody]
    elif isinstance(statement, ast.Match):
        blocks = [case.body for case in statement.cases]
    for block in blocks:
        for inner in block:
            yield from _scoped_children(inner)


def scan_source(source: str | bytes, path: str, module: str) -> list[FunctionRecord]:
    """Records for every function in one file's source; ``SyntaxError`` if it does not parse."""
    tree = ast.parse(source, filename=path)
    module_private = any(_is_private(part) for part in module.split("."))
    records = []
    for fn, parts, is_method, is_nested in _walk_functions(tree.body, (), False, False):
        assert fn.end_lineno is not None  # always set by ast.parse
        records.append(
            FunctionRecord(
                path=path,
                line=fn.lineno,
                symbol=".".join(parts),
                module=module,
                loc=fn.end_lineno - fn.lineno + 1,
                complexity=cyclomatic_complexity(fn),
                n_params=_count_params(fn.args),
                has_docstring=ast.get_docstring(fn, clean=False) is not None,
                is_public=not (module_private or is_nested or any(_is_private(p) for p in parts)),
                is_method=is_method,
            )
        )
    return records


def package_prefix(root: Path) -> str | None:
    """The root's own name when it is a package (has ``__init__.py``), else ``None``."""
    return root.name if (root / "__init__.py").is_file() else None


def scan_file(root: Path, path: str, package: str | None) -> ScanResult:
    """Scans one repo-relative file; a file that cannot be read or parsed is reported, not raised.

    Returns the file's records, or an empty result listing the path as unparsed.
    """
    try:
        source = (root / path).read_bytes()
        records = scan_source(source, path, module_name(path, package))
    except (SyntaxError, ValueError, RecursionError, OSError):
        # ValueError covers undecodable bytes and NUL bytes on Python 3.11.
        return ScanResult(unparsed=(path,))
    return ScanResult(records=tuple(sorted(records)))


def scan_files(root: Path, paths: Iterable[str]) -> ScanResult:
    """Scans every listed file under ``root`` and merges the results canonically."""
    package = package_prefix(root)
    return ScanResult.merge(scan_file(root, path, package) for path in paths)
