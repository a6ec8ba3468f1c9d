"""Runtime contracts: does the value a node returned keep the promise of its registry entry?

What a declared dtype means and what element type a value holds is :mod:`semdag.core.elements`.

Pure: a :class:`Contract` (read from a registry entry) and a value in, findings and the number
of rows checked out. No I/O. pandas, polars, numpy and pyarrow are looked at only when the
value is one of theirs, and every check on a table is vectorised: a column's dtype answers for
all its rows; keys, nulls and untyped (object) columns are read by the libraries' own loops
over at most ``sample`` rows.

``dtype`` is the element type. Known names (see :func:`parse_dtype`) are checked; a name this
module does not know (a project's own vocabulary) is reported as ``dtype-unchecked`` (info) and
never fails. ``series``, ``dataframe`` and ``any`` declare only the container.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from semdag.core.elements import (
    CONTAINERS,
    Element,
    accepts,
    arrow_element,
    numpy_element,
    object_element,
    pandas_element,
    parse_dtype,
    polars_element,
    scalar_element,
    type_label,
)
from semdag.core.pytypes import fits_type
from semdag.core.rules import Finding, finding

# --- contracts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """What a registry entry promises about its node's value."""

    semantic_id: str
    node: str
    dtype: str | None
    entity_keys: tuple[str, ...] = ()
    join_keys: tuple[str, ...] = ()
    # column -> dtype name, from the ``columns`` tag ("name:dtype, name:dtype")
    columns: Mapping[str, str] | None = None
    # The node's declared Python output type (None: not checked).
    output_type: Any = None
    output_type_label: str | None = None
    file: str | None = None
    line: int | None = None
    problems: tuple[str, ...] = ()  # tags that could not be read

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key named, entity keys first."""
        return tuple(dict.fromkeys((*self.entity_keys, *self.join_keys)))


def tag_list(value: Any) -> tuple[str, ...]:
    """A comma-separated tag (``"repo,path"``) or a list tag, as names."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(dict.fromkeys(s for s in (str(item).strip() for item in items) if s))


def contract_from_tags(
    semantic_id: str,
    node: str,
    tags: Mapping[str, Any],
    *,
    output_type: Any = None,
    output_type_label: str | None = None,
    file: str | None = None,
    line: int | None = None,
) -> Contract:
    """Read a contract from a registry entry's tags: ``dtype``, ``entity_keys``,
    ``join_keys`` and ``columns``."""
    problems: list[str] = []
    columns: dict[str, str] | None = None
    if tags.get("columns") is not None:
        columns = {}
        for item in tag_list(tags["columns"]):
            name, sep, column_dtype = item.partition(":")
            if not sep or not name.strip() or not column_dtype.strip():
                problems.append(f"has columns entry {item!r}, which is not NAME:DTYPE")
                continue
            columns[name.strip()] = column_dtype.strip()
    dtype = tags.get("dtype")
    return Contract(
        semantic_id=semantic_id,
        node=node,
        dtype=str(dtype) if dtype is not None else None,
        entity_keys=tag_list(tags.get("entity_keys") or ()),
        join_keys=tag_list(tags.get("join_keys") or ()),
        columns=columns,
        output_type=output_type,
        output_type_label=output_type_label,
        file=file,
        line=line,
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class ValueReport:
    """What checking one value found, and how much of it was read."""

    kind: str
    rows: int | None
    rows_checked: int | None
    findings: tuple[Finding, ...]


def check_value(contract: Contract, value: Any, *, sample: int | None = None) -> ValueReport:
    """Check ``value`` against ``contract``: output type, dtype (per column where declared)
    and keys. ``sample`` bounds the rows that are read (a seeded random sample)."""
    found: list[Finding] = []

    def add(rule: str, message: str, **extra: Any) -> None:
        found.append(
            finding(
                rule,
                contract.semantic_id,
                f"{contract.node} {message}",
                node=contract.node,
                file=contract.file,
                line=contract.line,
                **extra,
            )
        )

    for problem in contract.problems:
        add("invalid-tag-value", problem)
    if contract.output_type is not None and not fits_type(value, contract.output_type):
        declared = contract.output_type_label or str(contract.output_type)
        add(
            "output-type-mismatch",
            f"returned {type_label(value)} where its signature declares {declared}",
            old=declared,
            new=type_label(value),
        )
    shape = describe(value, contract, sample)
    for rule, message, old, new in _dtype_problems(contract, shape):
        add(rule, message, old=old, new=new)
    for rule, message, new in _key_problems(contract, shape):
        add(rule, message, new=new)
    return ValueReport(shape.kind, shape.rows, shape.rows_checked, tuple(found))


# --- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyStats:
    """What the key columns of the rows read hold."""

    missing: tuple[str, ...]
    nulls: Mapping[str, int]
    repeated: int  # rows whose entity-key combination an earlier row already has
    example: tuple[Any, ...] | None  # the first repeated combination


@dataclass(frozen=True)
class Shape:
    """A value described for the checks: its kind, size, element type(s) and keys."""

    kind: str
    rows: int | None = None
    rows_checked: int | None = None
    element: Element | None = None  # a single-typed value: scalar, series, array
    columns: Mapping[str, Element] | None = None  # a table's columns
    keys: KeyStats | None = None  # None: the value cannot carry keys
    # A list or tuple as one value (dtype json, list, any fit it); ``element``: its items'.
    whole: Element | None = None


def _positions(rows: int, sample: int | None) -> Any:
    """Sorted row positions of a seeded random sample (None: every row)."""
    if sample is None or rows <= sample:
        return None
    import numpy as np

    return np.sort(np.random.default_rng(0).choice(rows, size=sample, replace=False))


def _kind(value: Any) -> str | None:
    """``pandas.DataFrame``, ``polars.Series``… for the containers the checks read (subclasses
    included), else None. Only libraries already imported can have made the value."""
    for library, names in (
        ("pandas", ("DataFrame", "Series")),
        ("polars", ("DataFrame", "LazyFrame", "Series")),
        ("pyarrow", ("Table", "Array", "ChunkedArray")),
        ("numpy", ("ndarray",)),
    ):
        module = sys.modules.get(library)
        if module is None:
            continue
        for name in names:
            if isinstance(value, getattr(module, name)):
                return f"{library}.{name}"
    return None


def describe(value: Any, contract: Contract, sample: int | None = None) -> Shape:
    """Describe ``value`` for the checks, reading at most ``sample`` rows."""
    kind = _kind(value)
    if kind is None and isinstance(value, list | tuple):
        return _sequence_shape(value, sample)
    if kind is None:
        return Shape(type_label(value), element=scalar_element(value))
    library = kind.split(".", 1)[0]
    if library == "pandas":
        return _pandas_shape(value, kind, contract, sample)
    if library == "polars":
        return _polars_shape(value, kind, contract, sample)
    if library == "pyarrow":
        return _arrow_shape(value, kind, contract, sample)
    return _numpy_shape(value, sample)


def _pandas_shape(value: Any, kind: str, contract: Contract, sample: int | None) -> Shape:
    rows = len(value)
    positions = _positions(rows, sample)
    read = value if positions is None else value.iloc[positions]
    checked = len(read)
    # Keys live in index levels (a keyed Series, an indexed frame) or in columns.
    holders = {name: read.index.get_level_values(name) for name in read.index.names if name}
    if kind == "pandas.Series":
        element = pandas_element(read.dtype, read if read.dtype == object else None)
        keys = _key_stats(contract, holders, checked)
        return Shape(kind, rows, checked, element=element, keys=keys)
    columns: dict[str, Element] = {}
    for position, name in enumerate(read.columns):
        if str(name) in columns:
            continue  # a repeated column name: the first one answers
        column = read.iloc[:, position]
        columns[str(name)] = pandas_element(
            column.dtype, column if column.dtype == object else None
        )
        holders[str(name)] = column
    keys = _key_stats(contract, holders, checked)
    return Shape(kind, rows, checked, columns=columns, keys=keys)


def _key_stats(contract: Contract, holders: Mapping[str, Any], rows: int) -> KeyStats:
    """Missing keys, nulls per key and repeated entity-key combinations (pandas values)."""
    import pandas as pd

    missing = tuple(k for k in contract.keys if k not in holders)
    nulls = {k: int(pd.isna(holders[k]).sum()) for k in contract.keys if k in holders}
    repeated, example = 0, None
    entity = [k for k in contract.entity_keys if k in holders]
    if entity and len(entity) == len(contract.entity_keys) and rows:
        # Columns by position (key names may repeat), arrays as they are (no conversion).
        combos = pd.DataFrame({i: holders[k].array for i, k in enumerate(entity)}, copy=False)
        flags = combos.duplicated(keep="first").to_numpy()
        repeated = int(flags.sum())
        if repeated:
            example = tuple(_plain(v) for v in combos.iloc[int(flags.argmax())])
    return KeyStats(missing, {k: v for k, v in nulls.items() if v}, repeated, example)


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as the Python value it holds, for messages."""
    item = getattr(value, "item", None)
    try:
        return item() if callable(item) else value
    except (TypeError, ValueError):
        return value


def _polars_shape(value: Any, kind: str, contract: Contract, sample: int | None) -> Shape:
    if kind == "polars.Series":
        rows = value.len()
        positions = _positions(rows, sample)
        checked = rows if positions is None else len(positions)
        # A polars Series has no index: it cannot carry keys.
        return Shape(kind, rows, checked, element=polars_element(value.dtype))
    if kind == "polars.LazyFrame":
        import polars as pl

        schema = value.collect_schema()
        columns = {str(k): polars_element(v) for k, v in schema.items()}
        present = [k for k in contract.keys if k in schema]
        frame = value.select(present).collect() if present else None
        rows = frame.height if frame is not None else value.select(pl.len()).collect().item()
    else:
        columns = {str(k): polars_element(v) for k, v in value.schema.items()}
        present = [k for k in contract.keys if k in value.columns]
        frame = value.select(present)
        rows = value.height
    positions = _positions(rows, sample)
    if frame is not None and positions is not None:
        frame = frame[positions]
    checked = rows if positions is None else len(positions)
    missing = tuple(k for k in contract.keys if k not in columns)
    nulls: dict[str, int] = {}
    repeated, example = 0, None
    if frame is not None:
        nulls = {k: n for k in present if (n := frame[k].null_count())}
        entity = list(contract.entity_keys)
        if entity and all(k in present for k in entity) and frame.height:
            import polars as pl

            keyed = frame.select(entity)
            flags = keyed.select(~pl.struct(entity).is_first_distinct()).to_series()
            repeated = int(flags.sum())
            if repeated:
                example = keyed.row(int(flags.arg_max()))
    keys = KeyStats(missing, nulls, repeated, example)
    return Shape(kind, rows, checked, columns=columns, keys=keys)


def _arrow_shape(value: Any, kind: str, contract: Contract, sample: int | None) -> Shape:
    rows = len(value)
    positions = _positions(rows, sample)
    checked = rows if positions is None else len(positions)
    if kind != "pyarrow.Table":
        return Shape(kind, rows, checked, element=arrow_element(value.type))
    columns = {str(f.name): arrow_element(f.type) for f in value.schema}
    present = [k for k in contract.keys if k in columns]
    frame = value.select(present)
    if positions is not None:
        frame = frame.take(positions)
    holders = {k: frame.column(k).to_pandas() for k in present}
    stats = _key_stats(contract, holders, checked)
    return Shape(kind, rows, checked, columns=columns, keys=stats)


def _sequence_shape(value: list | tuple, sample: int | None) -> Shape:
    """A list or tuple: the dtype is its items' type (an empty one has no items to check)."""
    rows = len(value)
    positions = _positions(rows, sample)
    read = list(value) if positions is None else [value[int(i)] for i in positions]
    element = object_element(read) if read else None
    checked = len(read)
    return Shape(type_label(value), rows, checked, element=element, whole=scalar_element(value))


def _numpy_shape(value: Any, sample: int | None) -> Shape:
    rows = len(value) if value.ndim else 1
    positions = _positions(rows, sample) if value.ndim else None
    read = value if positions is None else value[positions]
    checked = rows if positions is None else len(positions)
    element = numpy_element(value.dtype)
    if element.family == "object":
        element = object_element(read.ravel())
    return Shape("numpy.ndarray", rows, checked, element=element)


# --- the checks --------------------------------------------------------------------------------


def _dtype_problems(contract: Contract, shape: Shape) -> list[tuple[str, str, Any, Any]]:
    """(rule, message, declared, actual) for every way the value breaks its dtype."""
    out: list[tuple[str, str, Any, Any]] = []
    name = contract.dtype
    declared = parse_dtype(name) if name is not None else None
    key_columns = set(contract.keys)
    if name is not None and declared is None:
        out.append(
            (
                "dtype-unchecked",
                f"declares dtype {name!r}, which verify does not know how to check",
                name,
                None,
            )
        )
    elif declared is not None and declared.family in CONTAINERS:
        if shape.kind not in CONTAINERS[declared.family]:
            out.append(
                (
                    "dtype-mismatch",
                    f"returned {shape.kind} where the registry declares dtype {name}",
                    name,
                    shape.kind,
                )
            )
    elif declared is not None and shape.columns is not None:
        for column, element in shape.columns.items():
            declared_here = (contract.columns or {}).get(column)
            if declared_here is not None or column in key_columns:
                continue
            if not accepts(declared, element):
                out.append(_column_mismatch(column, name or "", element))
    elif (
        declared is not None
        and shape.element is not None
        and not accepts(declared, shape.element)
        and not (shape.whole is not None and accepts(declared, shape.whole))
    ):
        label = shape.element.label
        what = label if shape.rows is None else f"a {shape.kind} of {label}"
        out.append(
            (
                "dtype-mismatch",
                f"returned {what} where the registry declares dtype {name}",
                name,
                label,
            )
        )
    if contract.columns is not None and shape.columns is not None:
        unchecked = []
        for column, column_dtype in contract.columns.items():
            found = shape.columns.get(column)
            wanted = parse_dtype(column_dtype)
            if found is None:
                out.append(
                    (
                        "dtype-mismatch",
                        f"returns no column {column} (declared {column_dtype})",
                        column_dtype,
                        None,
                    )
                )
            elif wanted is None or wanted.family in CONTAINERS:
                unchecked.append(f"{column}:{column_dtype}")
            elif not accepts(wanted, found):
                out.append(_column_mismatch(column, column_dtype, found))
        if unchecked:
            out.append(
                (
                    "dtype-unchecked",
                    "declares column dtypes verify does not know how to check: "
                    + ", ".join(unchecked),
                    unchecked,
                    None,
                )
            )
    return out


def _column_mismatch(column: str, declared: str, element: Element) -> tuple[str, str, Any, Any]:
    return (
        "dtype-mismatch",
        f"returns column {column} of {element.label} where the registry declares {declared}",
        declared,
        element.label,
    )


def _key_problems(contract: Contract, shape: Shape) -> list[tuple[str, str, Any]]:
    stats = shape.keys
    if stats is None or not contract.keys:
        return []
    out: list[tuple[str, str, Any]] = []
    where = {"pandas.DataFrame": "column or index level", "pandas.Series": "index level"}.get(
        shape.kind, "column"
    )
    for key in stats.missing:
        tag = "entity_keys" if key in contract.entity_keys else "join_keys"
        out.append(("keys-missing", f"returns no {where} {key} ({tag})", key))
    for key, count in stats.nulls.items():
        out.append(
            (
                "keys-null",
                f"returns nulls in key {key}: {count} of {shape.rows_checked} rows checked",
                key,
            )
        )
    if stats.repeated:
        keys = ", ".join(contract.entity_keys)
        example = ", ".join(map(str, stats.example or ()))
        out.append(
            (
                "keys-not-unique",
                f"returns {stats.repeated} of {shape.rows_checked} rows checked that repeat an "
                f"entity_keys combination ({keys}), for example ({example})",
                [_plain(v) for v in stats.example or ()],
            )
        )
    return out
