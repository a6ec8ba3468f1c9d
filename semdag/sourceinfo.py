"""Where a node's function lives, its source and its code hash, from one parse per file.

Two results must equal what Hamilton computes, because users compare them with Hamilton's
own output:

- the source text equals ``inspect.getsource(fn)``: the lines from the first decorator (found
  the way ``inspect.findsource`` finds it) to the end of the block as ``inspect.getblock``
  ends it, which includes trailing comments indented at least as deep as the body;
- the code hash equals ``HamiltonNode.version``: sha256 of ``ast.unparse`` of that source
  with every function docstring removed.

Hamilton gets there through ``inspect.getsource`` (twice) and a fresh parse per node. Here each
file is read and parsed once, spans come from the syntax tree, and each function is unparsed
once. The parsed trees are dropped as soon as a file is indexed: keeping tens of thousands of
AST objects alive makes every later garbage collection pass walk them, which costs more than
the parse itself. Functions that are not defined at column 0 of their file (closures,
methods) take Hamilton's path through ``inspect``, whose results they then equal by
construction.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.gctools import paused

# inspect.findsource walks back from co_firstlineno to the first line matching this.
_DEF_OR_DECORATOR = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")
# The characters Python's tokenizer consumes as indentation.
_INDENT = " \t\f"
_DEF_WORD = re.compile(r"\bdef\b")

_Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class FunctionSource:
    """A function's span in its file, its code hash and (on demand) its source.

    ``line`` and ``end_line`` bound exactly the text ``inspect.getsource`` returns.
    """

    file: str
    line: int
    end_line: int
    code_hash: str | None
    source: str | None
    # sha256 of the raw source text: the hashes are a pure function of it (see HashMemo).
    source_sha: str | None = None


# Raw-source sha -> (code hash, name-blind hash or None). Any record of earlier hashes, such
# as the committed graph.json, is a sound memo: the hashes depend on the source text alone.
HashMemo = Mapping[str, tuple[str, str | None]]
# Project-relative file -> (sha of its text, {first line: (end line, code hash, name-blind
# hash or None, raw-source sha)}). A file whose text is unchanged needs no parse at all.
FileMemo = Mapping[str, tuple[str, Mapping[int, tuple[int, str, str | None, str]]]]


def _docstring_owner(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
        return False
    first = node.body[0]
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def hash_pair(fn: ast.AST, *, nested: bool = True) -> tuple[str, str]:
    """Hamilton-compatible code hash of a parsed function definition.

    Docstrings of the function and of any function nested in it are left out. The tree is
    restored before returning (callers may keep using it); no deep copy is made.
    ``nested=False`` promises that ``fn`` holds no nested function, which spares a walk of
    the whole tree. Returns (code hash, name-blind hash).
    """
    stripped: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.stmt]]] = []
    for node in ast.walk(fn) if nested else (fn,):
        if _docstring_owner(node):
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            stripped.append((node, node.body))
            node.body = node.body[1:]
    try:
        text = ast.unparse(fn)
    finally:
        for node, body in stripped:
            node.body = body
    return hashlib.sha256(text.encode()).hexdigest(), _logic_hash(fn, text)


# Decorators that only describe a node; editing them changes no value it computes.
_METADATA_DECORATORS = frozenset({"tag", "tag_outputs"})


def _decorator_name(expr: ast.expr) -> str:
    target = expr.func if isinstance(expr, ast.Call) else expr
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _logic_hash(fn: ast.AST, text: str) -> str:
    """A hash blind to the function's own name and to its tag decorators.

    A rename that keeps the semantic id, or a tag edit (reported by the tag rules), is then
    not mistaken for a change of logic. It reuses the unparsed text: ``ast.unparse`` writes
    each decorator on a line of its own, ahead of the ``def`` line.
    """
    decorators = getattr(fn, "decorator_list", [])
    lines = text.split("\n")
    kept = [
        line
        for index, line in enumerate(lines)
        if index >= len(decorators)
        or _decorator_name(decorators[index]) not in _METADATA_DECORATORS
    ]
    blind = "\n".join(kept)
    name = getattr(fn, "name", "")
    if name:
        blind = blind.replace(f"def {name}(", "def _(", 1)
    return hashlib.sha256(("logic:" + blind).encode()).hexdigest()


def split_lines(text: str) -> list[str]:
    """Lines as ``linecache`` holds them: split on newlines only, each ending in one."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1] + "\n")
    return lines


def _inspect_start(lines: list[str], first: int) -> int | None:
    """The 1-based line ``inspect.findsource`` starts a function at, given co_firstlineno."""
    index = first - 1
    while index > 0:
        if index >= len(lines):
            return None
        if _DEF_OR_DECORATOR.match(lines[index]):
            break
        index -= 1
    return index + 1


def _block_end(lines: list[str], fn: _Function) -> int:
    """The 1-based last line ``inspect.getblock`` keeps for a column-0 function.

    The block ends at the last logical line of the body, extended over the comment lines
    that follow it when they are indented at least as deep as the body (the first INDENT).
    A body on the ``def`` line opens no INDENT, so no trailing comment joins it.
    """
    end = fn.end_lineno or fn.lineno
    first = fn.body[0]
    lead = lines[first.lineno - 1][: first.col_offset]
    if lead.strip(_INDENT):
        return end
    body_col = len(lead)
    for index in range(end, len(lines)):
        text = lines[index]
        rest = text.lstrip(_INDENT)
        if rest in ("\n", "\r\n", ""):
            continue
        if not rest.startswith("#"):
            break
        if len(text) - len(rest) >= body_col:
            end = index + 1
    return end


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    code_hash: str
    logic_hash: str | None
    source_sha: str


class _IndexedFile:
    """One file's span and hash of each function defined at column 0, and its lines.

    The lines are kept only when ``keep_lines`` (sources will be asked for); otherwise they
    are read again on the rare demand, so that indexing a large stack does not hold every
    line of it at once.
    """

    __slots__ = ("_lines", "complete", "filename", "sha", "spans")

    def __init__(
        self,
        filename: str,
        text: str,
        sha: str,
        memo: HashMemo,
        known: Mapping[int, tuple[int, str, str | None, str]],
        *,
        keep_lines: bool,
    ) -> None:
        self.filename = filename
        self.sha = sha
        self.spans: dict[int, _Span] = {}
        self._lines: list[str] | None = None
        # From a baseline that recorded this very text: only the node functions it knew.
        self.complete = not known
        if known:
            for start, (end, code_hash, logic_hash, raw) in known.items():
                self.spans[start] = _Span(start, end, code_hash, logic_hash, raw)
            return
        lines = split_lines(text)
        if keep_lines:
            self._lines = lines
        for node in ast.parse(text).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            # co_firstlineno of a decorated function is its first decorator's line.
            key = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if _inspect_start(lines, key) != key:
                continue  # a layout inspect reads differently: take its path for this one
            end = _block_end(lines, node)
            raw = hashlib.sha256("".join(lines[key - 1 : end]).encode()).hexdigest()
            hit = memo.get(raw)
            if hit is not None:
                # Unchanged text: the unparse (most of the cost) would give the same hashes.
                self.spans[key] = _Span(key, end, hit[0], hit[1], raw)
                continue
            # A nested function needs a second `def` in the text; without one the hash
            # need not walk the tree looking for nested docstrings.
            body = "".join(lines[node.lineno : end])
            nested = _DEF_WORD.search(body) is not None
            self.spans[key] = _Span(key, end, *hash_pair(node, nested=nested), raw)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = split_lines(_read(self.filename))
        return self._lines


def _read(filename: str) -> str:
    import tokenize

    # tokenize.open honours coding cookies and BOMs and translates newlines, as linecache does.
    with tokenize.open(filename) as handle:
        return handle.read()


def text_sha(filename: str | Path) -> str | None:
    """sha256 of a source file's text as the index reads it; None when it cannot be read."""
    try:
        return hashlib.sha256(_read(str(filename)).encode()).hexdigest()
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


class SourceIndex:
    """Reads and parses each file once and answers for any function defined in it."""

    def __init__(
        self,
        relative: Callable[[str], str],
        *,
        with_source: bool = False,
        memo: HashMemo | None = None,
        file_memo: FileMemo | None = None,
    ) -> None:
        self._relative = relative
        self._with_source = with_source
        self._memo: HashMemo = memo or {}
        self._file_memo: FileMemo = file_memo or {}
        self._files: dict[str, _IndexedFile | None] = {}
        self._names: dict[str, str] = {}

    def _indexed(self, filename: str, *, parse: bool = False) -> _IndexedFile | None:
        """The indexed file; ``parse`` forces a real parse of a file known from the memo."""
        current = self._files.get(filename)
        if filename in self._files and (current is None or current.complete or not parse):
            return current
        try:
            text = _read(filename)
            sha = hashlib.sha256(text.encode()).hexdigest()
            known: Mapping[int, tuple[int, str, str | None, str]] = {}
            if not parse:
                recorded = self._file_memo.get(self._relative_name(filename))
                if recorded and recorded[0] == sha:
                    known = recorded[1]
            # Parsing allocates many short-lived, acyclic syntax-tree objects.
            with paused():
                self._files[filename] = _IndexedFile(
                    filename, text, sha, self._memo, known, keep_lines=self._with_source
                )
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            self._files[filename] = None
        return self._files[filename]

    def file_shas(self) -> dict[str, str]:
        """sha256 of the text of every file indexed so far, by project-relative name."""
        return {
            self._relative_name(name): indexed.sha
            for name, indexed in sorted(self._files.items())
            if indexed is not None
        }

    def _relative_name(self, filename: str) -> str:
        name = self._names.get(filename)
        if name is None:
            name = self._names[filename] = self._relative(filename)
        return name

    def lookup(
        self, fn: Callable[..., Any], *, with_source: bool | None = None
    ) -> FunctionSource | None:
        """Span, hash and optionally source of ``fn``; None for objects with no code.

        ``with_source`` defaults to the index's setting. Like ``inspect.getsource``, a
        function wrapped with ``functools.wraps`` is looked up through ``__wrapped__``.
        """
        want_source = self._with_source if with_source is None else with_source
        found = self._find(fn)
        if found is None:
            return None
        fn, filename, first, indexed, span = found
        if indexed is None or span is None:
            return self._fallback(fn, filename, first, want_source)
        source = "".join(indexed.lines[span.start - 1 : span.end]) if want_source else None
        return FunctionSource(
            self._relative_name(filename),
            span.start,
            span.end,
            span.code_hash,
            source,
            span.source_sha,
        )

    def _find(
        self, fn: Callable[..., Any]
    ) -> tuple[Callable[..., Any], str, int, _IndexedFile | None, _Span | None] | None:
        """(unwrapped fn, file, first line, its indexed file, its span); None without code."""
        if hasattr(fn, "__wrapped__"):
            import inspect

            try:
                fn = inspect.unwrap(fn)
            except ValueError:
                return None
        code = getattr(fn, "__code__", None)
        if code is None:
            return None
        filename, first = code.co_filename, code.co_firstlineno
        indexed = self._indexed(filename)
        span = indexed.spans.get(first) if indexed else None
        if indexed is not None and span is None and not indexed.complete:
            # The baseline knew this file but not this function: parse it after all.
            indexed = self._indexed(filename, parse=True)
            span = indexed.spans.get(first) if indexed else None
        return fn, filename, first, indexed, span

    def logic_hash(self, fn: Callable[..., Any]) -> str | None:
        """The name-blind hash of ``fn`` (None where its source is not indexed)."""
        found = self._find(fn)
        if found is None:
            return None
        _, _, _, indexed, span = found
        if span is None:
            return None
        if span.logic_hash is None:
            # The memo had the code hash only (the node was not in the registry before).
            text = "".join(indexed.lines[span.start - 1 : span.end]) if indexed else ""
            return hash_pair(ast.parse(text).body[0])[1]
        return span.logic_hash

    def _fallback(
        self, fn: Callable[..., Any], filename: str, first: int, with_source: bool
    ) -> FunctionSource:
        import inspect

        from hamilton.graph_types import hash_source_code

        try:
            lines, start = inspect.getsourcelines(fn)
        except (OSError, TypeError):
            return FunctionSource(self._relative_name(filename), first, first, None, None)
        source = "".join(lines)
        start = max(start, 1)
        return FunctionSource(
            self._relative_name(filename),
            start,
            start + len(lines) - 1,
            hash_source_code(source, strip=True),
            source if with_source else None,
        )
