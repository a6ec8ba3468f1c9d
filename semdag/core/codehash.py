"""semdag's code hash: what a function computes, independent of layout and interpreter.

The hash is sha256 of a canonical serialisation of the function's syntax tree. It leaves out
everything that does not change what the function computes or what its contract says
elsewhere in the registry:

- comments, blank lines, line and column positions, formatting, redundant parentheses and
  trailing commas (none of them reach the syntax tree);
- the docstrings of the function and of anything nested in it;
- the function's own name (a rename is reported as ``node-renamed``);
- its ``@tag`` / ``@tag_outputs`` decorators (tags are compared tag by tag).

It is written against the syntax tree, not against ``ast.unparse`` or ``ast.dump``, whose text
changes between Python releases: fields that are empty or absent are left out, so a field a
newer Python adds (``type_params`` in 3.12) changes nothing where it is not used. The same
source therefore hashes the same under CPython 3.11, 3.12 and 3.13.

This module imports nothing outside the standard library, so that any interpreter can run it.
Any change to the serialisation must raise :data:`HASH_VERSION`.
"""

from __future__ import annotations

import ast
import hashlib
from typing import Any

# Written into the serialisation, so hashes of different versions never compare equal.
HASH_VERSION = 2

# Decorators that only describe a node; editing them changes no value it computes.
METADATA_DECORATORS = frozenset({"tag", "tag_outputs"})

# Fields with no meaning for what code computes: expression context follows from the tree's
# shape, and type comments are only parsed on request.
_SKIPPED_FIELDS = frozenset({"ctx", "type_comment"})

_DOC_OWNERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def decorator_name(expr: ast.expr) -> str:
    """The last dotted part of a decorator's name: ``tag`` for ``@function_modifiers.tag(...)``."""
    target = expr.func if isinstance(expr, ast.Call) else expr
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _has_docstring(body: list[ast.stmt]) -> bool:
    first = body[0] if body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _literal_runs(values: list[ast.expr]) -> list[Any]:
    """An f-string's parts with adjacent literal text joined and empty literals dropped:
    Python 3.12 splits and pads format specs differently from 3.11 for the same source."""
    parts: list[Any] = []
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            if parts and isinstance(parts[-1], str):
                parts[-1] += value.value
            elif value.value:
                parts.append(value.value)
        else:
            parts.append(value)
    return parts


# Per syntax-tree class: its opening text, the fields written (those not skipped), whether
# it owns a docstring and whether it is an f-string. Computed once per class: looking the
# same things up for each of hundreds of thousands of nodes is most of a hash's cost.
_Plan = tuple[str, tuple[str, ...], bool, bool]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        fields = tuple(f for f in getattr(cls, "_fields", ()) if f not in _SKIPPED_FIELDS)
        plan = (
            f"{cls.__name__}(",
            fields,
            issubclass(cls, _DOC_OWNERS),
            issubclass(cls, ast.JoinedStr),
        )
        _PLANS[cls] = plan
    return plan


def _write(node: ast.AST, out: list[str]) -> None:
    head, fields, doc_owner, joined = _PLANS.get(type(node)) or _plan(type(node))
    append = out.append
    append(head)
    for name in fields:
        value = getattr(node, name, None)
        if value is None:
            continue
        if isinstance(value, list):
            if doc_owner and name == "body" and _has_docstring(value):
                value = value[1:]
            elif joined:
                value = _literal_runs(value)
            if not value:
                continue
            append(f"{name}=[")
            for item in value:
                if isinstance(item, ast.AST):
                    _write(item, out)
                else:
                    append(repr(item))
                append(",")
            append("];")
        elif isinstance(value, ast.AST):
            append(f"{name}=")
            _write(value, out)
            append(";")
        else:
            append(f"{name}={value!r};")
    append(")")


def code_hash(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The hash of a parsed function definition (see the module docstring)."""
    kind = "async def" if isinstance(fn, ast.AsyncFunctionDef) else "def"
    out = [f"semdag-code-hash/{HASH_VERSION}:{kind}"]
    for decorator in fn.decorator_list:
        if decorator_name(decorator) not in METADATA_DECORATORS:
            out.append("@")
            _write(decorator, out)
    for name in ("args", "returns"):
        value = getattr(fn, name, None)
        if value is not None:
            out.append(name)
            _write(value, out)
    type_params = getattr(fn, "type_params", None)
    if type_params:
        out.append("type_params=[")
        for param in type_params:
            _write(param, out)
        out.append("]")
    body = fn.body[1:] if _has_docstring(fn.body) else fn.body
    out.append("body=[")
    for statement in body:
        _write(statement, out)
        out.append(",")
    out.append("]")
    return hashlib.sha256("".join(out).encode("utf-8", "surrogatepass")).hexdigest()


def source_code_hash(source: str) -> str | None:
    """The hash of the first function defined in ``source`` (dedented by the caller);
    None when it defines none or does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return code_hash(node)
    return None
