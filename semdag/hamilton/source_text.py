"""A function's text as ``inspect`` reads it, without ``inspect``: the file's lines as
``linecache`` holds them, where ``inspect.findsource`` starts a function and where
``inspect.getblock`` ends it."""

from __future__ import annotations

import ast
import re

# inspect.findsource walks back from co_firstlineno to the first line matching this.
_DEF_OR_DECORATOR = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")
# The characters Python's tokenizer consumes as indentation.
_INDENT = " \t\f"


def read_source(filename: str) -> str:
    """A source file's text as ``linecache`` reads it."""
    import tokenize

    # tokenize.open honours coding cookies and BOMs and translates newlines, as linecache does.
    with tokenize.open(filename) as handle:
        return handle.read()


def split_lines(text: str) -> list[str]:
    """Lines as ``linecache`` holds them: split on newlines only, each ending in one."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1] + "\n")
    return lines


def function_node(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The first function defined in ``source`` (dedented); None when there is none."""
    import textwrap

    try:
        body = ast.parse(textwrap.dedent(source)).body
    except (SyntaxError, ValueError, RecursionError):
        return None
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def inspect_start(lines: list[str], first: int) -> int | None:
    """The 1-based line ``inspect.findsource`` starts a function at, given co_firstlineno."""
    index = first - 1
    while index > 0:
        if index >= len(lines):
            return None
        if _DEF_OR_DECORATOR.match(lines[index]):
            break
        index -= 1
    return index + 1


def block_end(lines: list[str], fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
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
