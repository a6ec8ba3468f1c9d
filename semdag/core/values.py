"""Results of a run as plain data.

Whatever a node returns is shown and written: frames whose index repeats a column name,
MultiIndex rows or columns, duplicate or non-string labels, polars frames, numpy arrays of any
shape. A frame becomes one table with unique string column labels (:func:`frame_of`), and every
output form starts from that table. pandas, numpy and polars are imported only when a value
is one of theirs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping
from typing import Any

DEFAULT_MAX_ROWS = 50


# --- plain values ------------------------------------------------------------------------------


def type_name(value: Any) -> str:
    """``float``, ``pandas.DataFrame``, ``numpy.int64``: the module's top package and the class."""
    cls = type(value)
    module = cls.__module__.split(".")[0]
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def kind_of(value: Any) -> str:
    """``frame``, ``series``, ``array`` or ``other``, without importing pandas or numpy."""
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module in ("pandas", "polars") and name in ("DataFrame", "LazyFrame"):
        return "frame"
    if module in ("pandas", "polars") and name == "Series":
        return "series"
    if module == "numpy" and name == "ndarray" and getattr(value, "ndim", 0) > 0:
        return "array"
    return "other"


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: numpy scalars to Python, NaN/NaT/inf to null, dates as ISO."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        # pandas' NaT is a datetime that is not equal to itself.
        return None if value != value else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return plain(float(value))
    kind = kind_of(value)
    if kind != "other":
        return records_of(value, "value", None)[0]
    module = type(value).__module__.split(".")[0]
    if module in ("numpy", "pandas"):
        return _library_scalar(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _library_scalar(value: Any) -> Any:
    import pandas as pd

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return plain(item())
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return plain(tolist())
    return str(value)


def to_pandas(value: Any) -> Any:
    """pandas and numpy values as they are; polars frames and series as pandas."""
    module = type(value).__module__.split(".")[0]
    if module == "polars":
        if type(value).__name__ == "LazyFrame":
            value = value.collect()
        return value.to_pandas()
    return value


def frame_of(value: Any, name: str) -> Any:
    """A frame, series or array as one pandas DataFrame: its index as leading columns, and
    unique string column labels. A series or a one-dimensional array is a column ``name``."""
    import pandas as pd

    value = to_pandas(value)
    if isinstance(value, pd.Series):
        # The values are the column named after the node: an index level of that name is
        # written as `index` (else the values would be renamed `k.1`).
        levels = list(value.index.names)
        if name in levels:
            value = value.rename_axis(["index" if level == name else level for level in levels])
        frame = value.to_frame(name=name)
    elif isinstance(value, pd.DataFrame):
        frame = value
    else:
        import numpy as np

        array = np.asarray(value)
        frame = pd.DataFrame(array) if array.ndim == 2 else pd.DataFrame({name: list(array)})
    if not _default_index(frame.index):
        # An index level may share a column's name (``set_index("k").join(...)``).
        frame = frame.reset_index(allow_duplicates=True)
    return frame.set_axis(unique_labels(frame.columns), axis=1)


def unique_labels(columns: Any) -> list[str]:
    """Column labels as distinct strings: MultiIndex labels joined with ``.``, and a repeated
    label numbered ``k.1``, ``k.2`` as pandas numbers repeated CSV headers."""
    texts = []
    for label in columns:
        if isinstance(label, tuple):
            label = ".".join(str(p) for p in label if p is not None and str(p) != "")
        texts.append(str(label))
    taken: set[str] = set()
    given = set(texts)
    out = []
    for text in texts:
        candidate, number = text, 0
        while candidate in taken or (number and candidate in given):
            number += 1
            candidate = f"{text}.{number}"
        taken.add(candidate)
        out.append(candidate)
    return out


def _default_index(index: Any) -> bool:
    import pandas as pd

    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def records_of(
    value: Any, name: str, max_rows: int | None, frame: Any = None
) -> tuple[list[dict[str, Any]] | list[Any], int]:
    """(rows as records, total row count) of a frame, series or array (``frame``: its
    :func:`frame_of` when already made); a one-dimensional array gives a list of values."""
    frame = frame_of(value, name) if frame is None else frame
    total = len(frame)
    head = frame if max_rows is None else frame.head(max_rows)
    if kind_of(value) == "array" and getattr(value, "ndim", 1) != 2:
        return [plain(v) for v in head.iloc[:, 0].tolist()], total
    columns = list(head.columns)
    rows = head.itertuples(index=False, name=None)
    return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], total


def describe(value: Any, max_rows: int = DEFAULT_MAX_ROWS, name: str = "value") -> dict[str, Any]:
    """One output for ``--format json``: its type, and its value (frames capped at
    ``max_rows``). ``name`` is the node's: a series' column is named after it."""
    kind = kind_of(value)
    out: dict[str, Any] = {"type": type_name(value)}
    if kind == "other":
        if isinstance(value, list | tuple) and len(value) > max_rows:
            out.update(
                value=plain(list(value[:max_rows])),
                length=len(value),
                max_rows=max_rows,
                truncated=True,
            )
        else:
            out["value"] = plain(value)
        return out
    pandas_value = to_pandas(value)
    shape = list(getattr(pandas_value, "shape", ()))
    frame = frame_of(pandas_value, name)
    records, total = records_of(pandas_value, name, max_rows, frame)
    out.update(shape=shape, max_rows=max_rows, truncated=total > max_rows)
    if kind == "frame":
        out["dtypes"] = {str(c): str(t) for c, t in zip(frame.columns, frame.dtypes, strict=True)}
        out["records"] = records
    elif kind == "series":
        out["dtype"] = str(pandas_value.dtype)
        out["name"] = name
        out["records"] = records
    else:
        out["dtype"] = str(pandas_value.dtype)
        out["values"] = records
    return out
