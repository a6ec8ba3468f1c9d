"""The ``dtype`` vocabulary: element types, and whether one fits a node's output type.

``dtype`` names the type of one value: a scalar output of that type, or the elements of a
Series, column, array, list or frame of it. ``json`` fits anything. A project adds names of
its own under ``registry.dtypes`` in its profile, each with the scalar Python types it fits
(an empty list: any output type).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from semdag.core.errors import did_you_mean

_INTEGER = ("int", "integer", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")
_FLOAT = ("float", "floating", "float16", "float32", "float64", "double")
_DATETIME = ("datetime", "Timestamp", "datetime64")
_DURATION = ("timedelta", "Timedelta", "timedelta64")

# Element type -> the scalar output types it fits (None: any output type). Containers of any
# element type always fit (see CONTAINERS).
BUILTIN: dict[str, tuple[str, ...] | None] = {
    "int": _INTEGER,
    "int8": _INTEGER,
    "int16": _INTEGER,
    "int32": _INTEGER,
    "int64": _INTEGER,
    "uint8": _INTEGER,
    "uint16": _INTEGER,
    "uint32": _INTEGER,
    "uint64": (*_INTEGER, "uint64"),
    "float": _FLOAT,
    "float32": _FLOAT,
    "float64": _FLOAT,
    "double": _FLOAT,
    "decimal": ("Decimal",),
    "str": ("str",),
    "string": ("str",),
    "category": ("str",),
    "bool": ("bool", "bool_"),
    "boolean": ("bool", "bool_"),
    "datetime": _DATETIME,
    "timestamp": _DATETIME,
    "date": ("date",),
    "time": ("time",),
    "timedelta": _DURATION,
    "duration": _DURATION,
    "bytes": ("bytes",),
    "binary": ("bytes",),
    # One row of named fields: a mapping, or the rows of a frame (described by schema_ref).
    "record": ("dict",),
    "json": None,
    "any": None,
    # Container names, accepted for older projects: they say nothing about the values.
    "series": ("Series",),
    "dataframe": ("DataFrame", "LazyFrame"),
    "dict": ("dict",),
    "list": ("list",),
}
# Element types with parameters: decimal(precision, scale).
_PARAMETRISED = {re.compile(r"^decimal\(\s*\d+\s*,\s*\d+\s*\)$"): "decimal"}
# Output types that hold many values: any element dtype fits them.
CONTAINERS = frozenset(
    {
        "Series",
        "DataFrame",
        "LazyFrame",
        "Expr",
        "ndarray",
        "Index",
        "DatetimeIndex",
        "Categorical",
        "Array",
        "ChunkedArray",
        "Table",
        "list",
        "tuple",
        "set",
        "frozenset",
        "Sequence",
        "Iterable",
        "Iterator",
        "Collection",
        "Parallelizable",
        "Collect",
    }
)
# Output types semdag knows to be one scalar: a dtype that does not list them does not fit.
_SCALARS = frozenset(
    {
        name
        for fits in BUILTIN.values()
        if fits is not None
        for name in fits
        if name not in CONTAINERS
    }
)


def vocabulary(extra: Mapping[str, tuple[str, ...] | None] | None = None) -> list[str]:
    """Every dtype name a profile accepts, sorted (the built-in ones and ``extra``)."""
    return sorted({*BUILTIN, *(extra or {})})


def _fits(dtype: str, extra: Mapping[str, tuple[str, ...] | None]) -> tuple[bool, Any]:
    if dtype in extra:
        return True, extra[dtype] or None
    if dtype in BUILTIN:
        return True, BUILTIN[dtype]
    for pattern, base in _PARAMETRISED.items():
        if pattern.match(dtype):
            return True, BUILTIN[base]
    return False, None


def dtype_problem(
    dtype: object, output_type: str, extra: Mapping[str, tuple[str, ...] | None] | None = None
) -> str | None:
    """Why ``dtype`` cannot describe a node whose output type is ``output_type`` (as
    Hamilton writes it: ``float``, ``Series``, ``list[str]``...); None when it can."""
    if not isinstance(dtype, str):
        return f"dtype {dtype!r} must be a string"
    known, fits = _fits(dtype, extra or {})
    if not known:
        return (
            f"dtype {dtype!r} is not in the vocabulary{did_you_mean(dtype, vocabulary(extra))} "
            f"(add it under registry.dtypes, or use one of {', '.join(vocabulary(extra))})"
        )
    base = output_type.split("[")[0].rsplit(".", 1)[-1]
    if fits is None or base in fits or base in CONTAINERS or base not in _SCALARS:
        return None
    return f"dtype {dtype!r} does not fit the output type {output_type}"
