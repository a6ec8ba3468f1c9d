"""Where a node's function lives, its source and its code hashes, from one parse per file.

Each function gets semdag's code hash (:mod:`semdag.core.codehash`: stable across layout and
interpreters, what the baselines record) and, on request, two results that must equal what
Hamilton computes, because users compare them with Hamilton's own output:

- the source text equals ``inspect.getsource(fn)``: the lines from the first decorator (found
  the way ``inspect.findsource`` finds it) to the end of the block as ``inspect.getblock``
  ends it, which includes trailing comments indented at least as deep as the body;
- Hamilton's hash equals ``HamiltonNode.version``: sha256 of ``ast.unparse`` of that source
  with every function docstring removed.

Hamilton gets there through ``inspect.getsource`` (twice) and a fresh parse per node. Here each
file is read and parsed once, spans come from the syntax tree, and each function is hashed
once. The parsed trees are dropped as soon as a file is indexed: keeping tens of thousands of
AST objects alive makes every later garbage collection pass walk them, which costs more than
the parse itself. Functions that are not defined at column 0 of their file (closures,
methods) take Hamilton's path through ``inspect``, whose results they then equal by
construction.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from semdag.core.tuning import SERIAL, Tuning
from semdag.hamilton.source_text import (
    block_end,
    function_node,
    inspect_start,
    read_source,
    split_lines,
)
from semdag.hamilton.unparsed import hamilton_hash

_DEF_WORD = re.compile(r"\bdef\b")


@dataclass(frozen=True)
class FunctionSource:
    """A function's span in its file, its code hashes and (on demand) its source.

    ``line`` and ``end_line`` bound exactly the text ``inspect.getsource`` returns.
    ``code_hash`` is semdag's (see :mod:`semdag.core.codehash`); ``hamilton_hash`` equals
    ``HamiltonNode.version`` and is only computed by an index asked for it.
    """

    file: str
    line: int
    end_line: int
    code_hash: str | None
    source: str | None
    # sha256 of the raw source text: the hashes are a pure function of it (see HashMemo).
    source_sha: str | None = None
    hamilton_hash: str | None = None


# Raw-source sha -> (code hash, Hamilton's hash or None). Any record of earlier hashes is a
# sound memo: the hashes depend on the source text alone (Hamilton's also on the Python that
# unparses it, which the local memo's context records).
HashMemo = Mapping[str, tuple[str, str | None]]
# Project-relative file -> (sha of its text, {first line: (end line, code hash, Hamilton's
# hash or None, raw-source sha)}). A file whose text is unchanged needs no parse at all.
FileMemo = Mapping[str, tuple[str, Mapping[int, tuple[int, str, str | None, str]]]]


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    code_hash: str
    hamilton_hash: str | None
    source_sha: str


# A span as plain values, to cross a process boundary: (start, end, code hash, Hamilton's
# hash or None, raw-source sha).
_SpanRecord = tuple[int, int, str, str | None, str]
# What a worker found in one file: (file, sha of the text it parsed, its span records or None
# where the text does not parse).
_Indexed = tuple[str, str, list[_SpanRecord] | None]


def _parse_spans(
    lines: list[str], text: str, memo: HashMemo, *, hamilton: bool = False
) -> list[_SpanRecord]:
    """The span and hashes of each function defined at column 0 of a file's text; Hamilton's
    hash too when ``hamilton`` (it costs an ``ast.unparse`` per function)."""
    from semdag.core.codehash import code_hash

    records: list[_SpanRecord] = []
    for node in ast.parse(text).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        # co_firstlineno of a decorated function is its first decorator's line.
        key = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        if inspect_start(lines, key) != key:
            continue  # a layout inspect reads differently: take its path for this one
        end = block_end(lines, node)
        raw = hashlib.sha256("".join(lines[key - 1 : end]).encode()).hexdigest()
        hit = memo.get(raw)
        if hit is not None and (hit[1] is not None or not hamilton):
            # Unchanged text: hashing it again would give the same hashes.
            records.append((key, end, hit[0], hit[1], raw))
            continue
        ours = hit[0] if hit is not None else code_hash(node)
        theirs = None
        if hamilton:
            # A nested function needs a second `def` in the text; without one the hash need
            # not walk the tree looking for nested docstrings.
            nested = _DEF_WORD.search("".join(lines[node.lineno : end])) is not None
            theirs = hamilton_hash(node, nested=nested)
        records.append((key, end, ours, theirs, raw))
    return records


class _IndexedFile:
    """One file's span and hash of each function defined at column 0, and its lines.

    The lines are kept only when ``keep_lines`` (sources will be asked for); otherwise they
    are read again on the rare demand, so that indexing a large stack does not hold every
    line of it at once.
    """

    __slots__ = ("_lines", "filename", "sha", "spans")

    def __init__(
        self,
        filename: str,
        sha: str,
        records: Iterable[_SpanRecord],
        *,
        lines: list[str] | None,
    ) -> None:
        self.filename = filename
        self.sha = sha
        self.spans = {record[0]: _Span(*record) for record in records}
        self._lines = lines

    @classmethod
    def parsed(
        cls,
        filename: str,
        text: str,
        sha: str,
        memo: HashMemo,
        *,
        keep_lines: bool,
        hamilton: bool,
    ) -> _IndexedFile:
        lines = split_lines(text)
        records = _parse_spans(lines, text, memo, hamilton=hamilton)
        return cls(filename, sha, records, lines=lines if keep_lines else None)

    def lines(self) -> list[str] | None:
        """The file's lines, read again when they were not kept; None when the file can no
        longer be read or its text is not the text indexed (edited meanwhile)."""
        if self._lines is None:
            try:
                text = read_source(self.filename)
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                return None
            if hashlib.sha256(text.encode()).hexdigest() != self.sha:
                return None
            self._lines = split_lines(text)
        return self._lines


def worth_indexing_early(filenames: Iterable[str]) -> bool:
    """Whether the files hold enough text to gain from a worker indexing them ahead."""
    size = 0
    for filename in filenames:
        try:
            size += os.path.getsize(filename)
        except OSError:
            continue
    return size >= AHEAD_MIN_CHARS


def index_files(
    relative: Callable[[str], str],
    filenames: Iterable[str],
    memo: Callable[[], tuple[HashMemo, FileMemo]] | None = None,
) -> list[_Indexed]:
    """Each file indexed as a :class:`SourceIndex` with the local hash memo indexes it (the
    memo's record of an unchanged file, else a parse reusing the hashes of unchanged
    functions): the work of a worker forked before the stack imports, which loads the memo
    (``memo``) itself. :meth:`SourceIndex.take_indexed` records the result. A file that cannot
    be read or parsed is left out: its lookup meets the same error."""
    hashes, files = memo() if memo is not None else ({}, {})
    index = SourceIndex(relative, memo=hashes, file_memo=files)
    out: list[_Indexed] = []
    for filename in dict.fromkeys(filenames):
        indexed = index._indexed(filename)
        if indexed is not None:
            records = [
                (span.start, span.end, span.code_hash, span.hamilton_hash, span.source_sha)
                for span in indexed.spans.values()
            ]
            out.append((filename, indexed.sha, records))
    return out


# Below this much source text to parse, forking workers costs more than it saves.
PARALLEL_MIN_CHARS = 1_000_000
# Forked before the stack is imported, a worker is small and cheap to start, and its work
# overlaps the import and build instead of following them: it pays off on less text.
AHEAD_MIN_CHARS = 200_000


def _unwrapped(fn: Callable[..., Any]) -> Callable[..., Any] | None:
    """``fn`` through any ``functools.wraps`` layers, as ``inspect.getsource`` sees it."""
    if hasattr(fn, "__wrapped__"):
        import inspect

        try:
            return inspect.unwrap(fn)
        except ValueError:
            return None
    return fn


def _code_of(fn: Callable[..., Any]) -> Any:
    unwrapped = _unwrapped(fn)
    return getattr(unwrapped, "__code__", None) if unwrapped is not None else None


def _balanced(items: list[tuple[str, str, str]], parts: int) -> list[list[tuple[str, str, str]]]:
    """``items`` (file, text, sha) in at most ``parts`` groups of about equal text size."""
    groups: list[list[tuple[str, str, str]]] = [[] for _ in range(min(parts, len(items)))]
    sizes = [0] * len(groups)
    for item in sorted(items, key=lambda entry: (-len(entry[1]), entry[0])):
        lightest = sizes.index(min(sizes))
        groups[lightest].append(item)
        sizes[lightest] += len(item[1])
    return groups


class SourceIndex:
    """Reads and parses each file once and answers for any function defined in it.

    ``hamilton`` asks for Hamilton's hash of each function too (an ``ast.unparse`` each):
    only Hamilton's export form needs it.
    """

    def __init__(
        self,
        relative: Callable[[str], str],
        *,
        with_source: bool = False,
        hamilton: bool = False,
        memo: HashMemo | None = None,
        file_memo: FileMemo | None = None,
        tuning: Tuning = SERIAL,
    ) -> None:
        self.tuning = tuning
        self._relative = relative
        self._with_source = with_source
        self._hamilton = hamilton
        self._memo: HashMemo = memo or {}
        self._file_memo: FileMemo = file_memo or {}
        self._files: dict[str, _IndexedFile | None] = {}
        self._names: dict[str, str] = {}
        # What lookup answered, by id of the function and whether with source (the graph
        # model and the record of each module's contribution ask for the same functions).
        self._answered: dict[tuple[int, bool], tuple[Any, FunctionSource | None]] = {}

    def _indexed(self, filename: str) -> _IndexedFile | None:
        """The indexed file (None when it cannot be read or parsed)."""
        if filename in self._files:
            return self._files[filename]
        try:
            text = read_source(filename)
            sha = hashlib.sha256(text.encode()).hexdigest()
            known = self._known(filename, text, sha)
            # Parsing allocates many short-lived, acyclic syntax-tree objects.
            with self.tuning.quiet():
                self._files[filename] = known or _IndexedFile.parsed(
                    filename,
                    text,
                    sha,
                    self._memo,
                    keep_lines=self._with_source,
                    hamilton=self._hamilton,
                )
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            self._files[filename] = None
        return self._files[filename]

    def _known(self, filename: str, text: str, sha: str) -> _IndexedFile | None:
        """The file as the local memo recorded it, when its text is still the same."""
        recorded = self._file_memo.get(self._relative_name(filename))
        if not recorded or recorded[0] != sha:
            return None
        records = ((start, *rest) for start, rest in recorded[1].items())
        lines = split_lines(text) if self._with_source else None
        return _IndexedFile(filename, sha, records, lines=lines)

    def take_indexed(self, results: Iterable[_Indexed]) -> None:
        """Record what :func:`index_files` found, for each file whose text is still the text
        it indexed (the stack was imported after it was read)."""
        results = list(results)
        names = [filename for filename, _, _ in results]
        current = {item[0]: item for item in self._read(names) if item is not None}
        with self.tuning.quiet():
            self._index_results(results, current)

    def _read(self, filenames: Iterable[str]) -> Iterator[tuple[str, str, str] | None]:
        """(file, text, sha) of each file not indexed yet whose text the memo does not
        answer (those are indexed at once); None for a file that cannot be read."""
        for filename in filenames:
            if filename in self._files:
                continue
            try:
                text = read_source(filename)
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                yield None  # the lookup meets the same error and records it
                continue
            sha = hashlib.sha256(text.encode()).hexdigest()
            known = self._known(filename, text, sha)
            if known is not None:
                self._files[filename] = known
            else:
                yield filename, text, sha

    def _index_results(
        self, results: Iterable[_Indexed], current: Mapping[str, tuple[str, str, str]]
    ) -> None:
        """Record what workers found for each file whose ``current`` (file, text, sha) is
        the text they indexed; any other file is left to be indexed on demand."""
        for filename, sha, records in results:
            now = current.get(filename)
            if filename in self._files or now is None or now[2] != sha:
                continue
            if records is None:
                self._files[filename] = None
                continue
            lines = split_lines(now[1]) if self._with_source else None
            self._files[filename] = _IndexedFile(filename, sha, records, lines=lines)

    def prefetch(self, functions: Iterable[Callable[..., Any]]) -> None:
        """Index, ahead of their lookups, the files that define ``functions``.

        Files the memo answers are indexed at once; the rest are parsed and hashed by the
        tuning's workers when there is enough of them to gain from it, and otherwise left to
        be indexed lookup by lookup.
        """
        names = dict.fromkeys(
            code.co_filename for code in map(_code_of, functions) if code is not None
        )
        pending = [item for item in self._read(names) if item is not None]
        workers = self.tuning.workers.count()
        if workers < 2 or sum(len(text) for _, text, _ in pending) < PARALLEL_MIN_CHARS:
            return
        current = {item[0]: item for item in pending}
        chunks = _balanced(pending, workers)
        with self.tuning.quiet():
            for results in self.tuning.workers.map(self._index_chunk, chunks):
                self._index_results(results, current)

    def _index_chunk(self, chunk: list[tuple[str, str, str]]) -> list[_Indexed]:
        """(file, text sha, span records or None where it does not parse) for each file."""
        out: list[_Indexed] = []
        with self.tuning.quiet():
            for filename, text, sha in chunk:
                try:
                    records = _parse_spans(
                        split_lines(text), text, self._memo, hamilton=self._hamilton
                    )
                except (SyntaxError, ValueError, RecursionError):
                    out.append((filename, sha, None))
                else:
                    out.append((filename, sha, records))
        return out

    def file_memo(self) -> dict[str, tuple[str, dict[int, tuple[int, str, str | None, str]]]]:
        """What this index learnt, as a :data:`FileMemo` for a later index: each file by its
        relative name, with its text sha and its functions' spans and hashes."""
        return {
            self._relative_name(name): (
                indexed.sha,
                {
                    span.start: (span.end, span.code_hash, span.hamilton_hash, span.source_sha)
                    for span in indexed.spans.values()
                },
            )
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
        """Span, hashes and optionally source of ``fn``; None for objects with no code.

        ``with_source`` defaults to the index's setting. Like ``inspect.getsource``, a
        function wrapped with ``functools.wraps`` is looked up through ``__wrapped__``.
        """
        want_source = self._with_source if with_source is None else with_source
        answered = self._answered.get((id(fn), want_source))
        if answered is not None and answered[0] is fn:
            return answered[1]
        result = self._lookup(fn, want_source)
        self._answered[(id(fn), want_source)] = (fn, result)
        return result

    def _lookup(self, fn: Callable[..., Any], want_source: bool) -> FunctionSource | None:
        found = self._find(fn)
        if found is None:
            return None
        fn, filename, first, indexed, span = found
        if indexed is None or span is None:
            return self._fallback(fn, filename, first, want_source)
        lines = indexed.lines() if want_source or self._missing_hamilton(span) else None
        source = "".join(lines[span.start - 1 : span.end]) if lines is not None else None
        theirs = span.hamilton_hash
        if self._missing_hamilton(span) and source is not None:
            # The memo recorded semdag's hash only: Hamilton's is computed now.
            parsed = function_node(source)
            theirs = hamilton_hash(parsed) if parsed is not None else None
        return FunctionSource(
            self._relative_name(filename),
            span.start,
            span.end,
            span.code_hash,
            source if want_source else None,
            span.source_sha,
            theirs,
        )

    def _missing_hamilton(self, span: _Span) -> bool:
        return self._hamilton and span.hamilton_hash is None

    def _find(
        self, fn: Callable[..., Any]
    ) -> tuple[Callable[..., Any], str, int, _IndexedFile | None, _Span | None] | None:
        """(unwrapped fn, file, first line, its indexed file, its span); None without code."""
        unwrapped = _unwrapped(fn)
        code = getattr(unwrapped, "__code__", None) if unwrapped is not None else None
        if unwrapped is None or code is None:
            return None
        filename, first = code.co_filename, code.co_firstlineno
        indexed = self._indexed(filename)
        span = indexed.spans.get(first) if indexed else None
        return unwrapped, filename, first, indexed, span

    def _fallback(
        self, fn: Callable[..., Any], filename: str, first: int, with_source: bool
    ) -> FunctionSource:
        import inspect

        from hamilton.graph_types import hash_source_code

        from semdag.core.codehash import code_hash

        try:
            lines, start = inspect.getsourcelines(fn)
        except (OSError, TypeError):
            return FunctionSource(self._relative_name(filename), first, first, None, None)
        source = "".join(lines)
        start = max(start, 1)
        parsed = function_node(source)
        return FunctionSource(
            self._relative_name(filename),
            start,
            start + len(lines) - 1,
            code_hash(parsed) if parsed is not None else None,
            source if with_source else None,
            hamilton_hash=hash_source_code(source, strip=True) if self._hamilton else None,
        )
