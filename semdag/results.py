"""Results of a run as plain data, a terminal summary, or files with a manifest."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.artifacts import atomic_write, canonical_json
from semdag.errors import MissingToolError, UsageError

MANIFEST = "manifest.json"
MANIFEST_KIND = "semdag.execute.manifest"
MANIFEST_SCHEMA_VERSION = 1
FILE_FORMATS = ("csv", "parquet", "json")
DEFAULT_MAX_ROWS = 50
# Rows of a frame drawn on a terminal (JSON output uses --max-rows).
TERMINAL_ROWS = 10


# --- plain values ------------------------------------------------------------------------------


def type_name(value: Any) -> str:
    """``float``, ``pandas.DataFrame``, ``numpy.int64``: the module's top package and the class."""
    cls = type(value)
    module = cls.__module__.split(".")[0]
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _kind(value: Any) -> str:
    """``frame``, ``series``, ``array`` or ``other``, without importing pandas or numpy."""
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module in ("pandas", "polars") and name in ("DataFrame", "LazyFrame"):
        return "frame"
    if module in ("pandas", "polars") and name == "Series":
        return "series"
    if module == "numpy" and name == "ndarray":
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
    kind = _kind(value)
    if kind != "other":
        return _records(value, None)[0]
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


def _to_pandas(value: Any) -> Any:
    """pandas and numpy values as they are; polars frames and series as pandas."""
    module = type(value).__module__.split(".")[0]
    if module == "polars":
        if type(value).__name__ == "LazyFrame":
            value = value.collect()
        return value.to_pandas()
    return value


def _frame(value: Any, name: str = "value") -> Any:
    """A frame, series or array as a pandas DataFrame with its index as columns."""
    import pandas as pd

    value = _to_pandas(value)
    if isinstance(value, pd.Series):
        value = value.to_frame(name=value.name if value.name is not None else name)
    elif not isinstance(value, pd.DataFrame):
        import numpy as np

        array = np.asarray(value)
        value = pd.DataFrame(array if array.ndim == 2 else {name: list(array)})
    if not _default_index(value.index):
        value = value.reset_index()
    value.columns = [str(c) for c in value.columns]
    return value


def _default_index(index: Any) -> bool:
    import pandas as pd

    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _records(value: Any, max_rows: int | None) -> tuple[list[dict[str, Any]] | list[Any], int]:
    """(rows as records, total row count) of a frame, series or array."""
    frame = _frame(value)
    total = len(frame)
    head = frame if max_rows is None else frame.head(max_rows)
    if _kind(value) == "array" and getattr(value, "ndim", 1) != 2:
        return [plain(v) for v in head.iloc[:, 0].tolist()], total
    return [{str(k): plain(v) for k, v in row.items()} for row in head.to_dict("records")], total


def describe(value: Any, max_rows: int = DEFAULT_MAX_ROWS) -> dict[str, Any]:
    """One output for ``--format json``: its type, and its value (frames capped at ``max_rows``)."""
    kind = _kind(value)
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
    pandas_value = _to_pandas(value)
    shape = list(getattr(pandas_value, "shape", ()))
    records, total = _records(pandas_value, max_rows)
    out.update(shape=shape, max_rows=max_rows, truncated=total > max_rows)
    if kind == "frame":
        out["dtypes"] = {str(c): str(t) for c, t in pandas_value.dtypes.items()}
        out["records"] = records
    elif kind == "series":
        out["dtype"] = str(pandas_value.dtype)
        out["name"] = plain(pandas_value.name)
        out["records"] = records
    else:
        out["dtype"] = str(pandas_value.dtype)
        out["values"] = records
    return out


# --- the terminal ------------------------------------------------------------------------------


def render(values: Mapping[str, Any], console: Any, max_rows: int = TERMINAL_ROWS) -> None:
    """Draw results on a rich console: scalars in one table, each frame as shape, dtypes, head."""
    from rich.table import Table

    scalars = [(k, v) for k, v in values.items() if _kind(v) == "other"]
    if scalars:
        table = Table(box=None, pad_edge=False, show_header=True)
        for column in ("output", "type", "value"):
            table.add_column(column, overflow="fold")
        for name, value in scalars:
            table.add_row(name, type_name(value), _short(value))
        console.print(table)
    for name, value in values.items():
        if _kind(value) == "other":
            continue
        frame = _frame(value, name)
        shown = min(max_rows, len(frame))
        shape = " x ".join(str(n) for n in getattr(_to_pandas(value), "shape", ()))
        console.print()
        console.print(f"{name}: {type_name(value)}, shape {shape}", markup=False)
        dtypes = ", ".join(f"{c}: {t}" for c, t in frame.dtypes.items())
        console.print(f"  dtypes: {dtypes}", markup=False, soft_wrap=True)
        head = Table(box=None, pad_edge=False)
        for column in frame.columns:
            head.add_column(str(column), overflow="fold")
        for row in frame.head(shown).itertuples(index=False):
            head.add_row(*(_short(v, 40) for v in row))
        console.print(head)
        if len(frame) > shown:
            console.print(f"  ... {len(frame) - shown} more rows", markup=False)


def _short(value: Any, width: int = 80) -> str:
    text = repr(value) if isinstance(value, str) else str(plain(value))
    return text if len(text) <= width else text[: width - 1] + "…"


# --- files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenFile:
    """One output file of ``execute --out``."""

    node: str
    file: str
    format: str
    rows: int | None
    sha256: str
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "file": self.file,
            "format": self.format,
            "rows": self.rows,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class Manifest:
    """What ``execute --out`` wrote, in node order; ``notes`` explain format fallbacks."""

    profile: str
    format: str
    files: tuple[WrittenFile, ...]
    notes: tuple[str, ...] = ()

    def as_document(self) -> dict[str, Any]:
        return {
            "kind": MANIFEST_KIND,
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "profile": self.profile,
            "format": self.format,
            "outputs": [f.as_dict() for f in self.files],
        }


def _tabular(value: Any, name: str) -> Any:
    """A pandas DataFrame for ``value``, or None when it has no sensible table form."""
    import pandas as pd

    if _kind(value) != "other":
        return _frame(value, name)
    if isinstance(value, Mapping) and all(_is_scalar(v) for v in value.values()):
        return pd.DataFrame([{str(k): v for k, v in value.items()}])
    if isinstance(value, list | tuple) and value:
        if all(isinstance(v, Mapping) for v in value):
            return pd.DataFrame([dict(v) for v in value])
        if all(_is_scalar(v) for v in value):
            return pd.DataFrame({name: list(value)})
    if _is_scalar(value):
        return pd.DataFrame({name: [value]})
    return None


def _is_scalar(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, bool | int | float | str | dt.date | dt.datetime | decimal.Decimal)
        or (type(value).__module__.split(".")[0] == "numpy" and getattr(value, "ndim", 1) == 0)
    )


def encode(name: str, value: Any, fmt: str) -> tuple[bytes, str, int | None]:
    """(file bytes, the format used, row count) for one output.

    Values with no table form are written as JSON whatever ``fmt`` asks for.
    """
    if fmt == "json":
        if _kind(value) != "other":
            records, total = _records(value, None)
            return canonical_json(records).encode("utf-8"), "json", total
        return canonical_json(plain(value)).encode("utf-8"), "json", None
    frame = _tabular(value, name)
    if frame is None:
        return encode(name, value, "json")
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), "csv", len(frame)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingToolError(
            "--format parquet needs pyarrow, which is not installed",
            hint="install it with: pip install pyarrow",
        ) from None
    import io

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (TypeError, ValueError):  # Arrow rejects the column types (mixed objects, say)
        return encode(name, value, "json")
    return buffer.getvalue(), "parquet", len(frame)


def file_name(node: str, fmt: str) -> str:
    """``<node>.<fmt>``; a node that would collide with the manifest gets another name."""
    name = f"{node}.{fmt}"
    return f"{node}.value.{fmt}" if name == MANIFEST else name


def write_outputs(
    out_dir: Path,
    values: Mapping[str, Any],
    fmt: str,
    *,
    profile: str,
    shown: str | None = None,
) -> Manifest:
    """Write one file per output and then ``manifest.json``, so that nothing looks complete
    until everything is: files are staged in a temporary directory inside ``out_dir``, the old
    manifest is removed, the files are moved in, and the new manifest is written last."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".semdag-staging-", dir=out_dir))
    except OSError as exc:
        raise UsageError(
            f"--out {shown or out_dir.name}: cannot write there: {exc.strerror or exc}"
        ) from None
    try:
        written: list[WrittenFile] = []
        notes: list[str] = []
        for node in sorted(values):
            payload, used, rows = encode(node, values[node], fmt)
            if used != fmt:
                notes.append(
                    f"{node} ({type_name(values[node])}) has no table form: written as {used}"
                )
            name = file_name(node, used)
            atomic_write(staging / name, payload)
            written.append(
                WrittenFile(
                    node, name, used, rows, hashlib.sha256(payload).hexdigest(), len(payload)
                )
            )
        manifest = Manifest(profile, fmt, tuple(written), tuple(notes))
        (out_dir / MANIFEST).unlink(missing_ok=True)
        for item in written:
            os.replace(staging / item.file, out_dir / item.file)
        atomic_write(out_dir / MANIFEST, canonical_json(manifest.as_document()))
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
