"""Results of a run as plain data, text for a terminal, or files with a manifest.

Whatever a node returns is shown and written: frames whose index repeats a column name,
MultiIndex rows or columns, duplicate or non-string labels, polars frames, numpy arrays of any
shape. A frame becomes one table with unique string column labels (:func:`_frame`), and every
output form starts from that table.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.core.errors import MissingToolError, UsageError
from semdag.store.artifacts import atomic_write, canonical_json

MANIFEST = "manifest.json"
MANIFEST_KIND = "semdag.execute.manifest"
MANIFEST_SCHEMA_VERSION = 1
FILE_FORMATS = ("csv", "parquet", "json")
# The manifest's format when each output got the format that suits it (--out without -f).
AUTO_FORMAT = "auto"
DEFAULT_MAX_ROWS = 50
# Rows of a frame drawn on a terminal (JSON output uses --max-rows).
TERMINAL_ROWS = 10
# Widest frame cell on a terminal, and most lines a mapping takes in the outputs table.
CELL_WIDTH = 30
MAPPING_LINES = 12
# Significant digits of a float shown on a terminal (JSON and files keep every digit).
FLOAT_DIGITS = 6
ELLIPSIS = "…"


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
    kind = _kind(value)
    if kind != "other":
        return _records(value, "value", None)[0]
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


def _frame(value: Any, name: str) -> Any:
    """A frame, series or array as one pandas DataFrame: its index as leading columns, and
    unique string column labels. A series or a one-dimensional array is a column ``name``."""
    import pandas as pd

    value = _to_pandas(value)
    if isinstance(value, pd.Series):
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


def _records(
    value: Any, name: str, max_rows: int | None, frame: Any = None
) -> tuple[list[dict[str, Any]] | list[Any], int]:
    """(rows as records, total row count) of a frame, series or array (``frame``: its
    :func:`_frame` when already made); a one-dimensional array gives a list of values."""
    frame = _frame(value, name) if frame is None else frame
    total = len(frame)
    head = frame if max_rows is None else frame.head(max_rows)
    if _kind(value) == "array" and getattr(value, "ndim", 1) != 2:
        return [plain(v) for v in head.iloc[:, 0].tolist()], total
    columns = list(head.columns)
    rows = head.itertuples(index=False, name=None)
    return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], total


def describe(value: Any, max_rows: int = DEFAULT_MAX_ROWS, name: str = "value") -> dict[str, Any]:
    """One output for ``--format json``: its type, and its value (frames capped at
    ``max_rows``). ``name`` is the node's: a series' column is named after it."""
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
    frame = _frame(pandas_value, name)
    records, total = _records(pandas_value, name, max_rows, frame)
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


# --- text for a terminal -----------------------------------------------------------------------


def format_value(value: Any, limit: int = 1000) -> str:
    """One line of text for ``value`` as people read it: strings unquoted, floats to six
    significant digits, collections compact; past about ``limit`` characters it stops with …"""
    return "".join(_pieces(value, limit))[: limit + 1]


def _pieces(value: Any, budget: int) -> Iterator[str]:
    if isinstance(value, Mapping):
        yield from _joined(
            "{", "}", ((k, v) for k, v in value.items()), budget, lambda kv: _pair(kv, budget)
        )
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        brackets = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        yield from _joined(*brackets, iter(items), budget, lambda v: format_value(v, budget))
    elif _kind(value) == "array" and value.size <= budget:
        yield from _pieces(value.tolist(), budget)
    elif _kind(value) != "other":
        shape = " x ".join(str(n) for n in getattr(_to_pandas(value), "shape", ()))
        yield f"<{type_name(value)} {shape}>"
    else:
        yield _scalar_text(value)


def _pair(item: tuple[Any, Any], budget: int) -> str:
    key, value = item
    return f"{_scalar_text(key)}: {format_value(value, budget)}"


def _joined(
    opening: str, closing: str, items: Iterator[Any], budget: int, text: Any
) -> Iterator[str]:
    yield opening
    used = 1
    for index, item in enumerate(items):
        if used > budget:
            yield ELLIPSIS
            break
        piece = ("" if index == 0 else ", ") + text(item)
        used += len(piece)
        yield piece
    yield closing


def _scalar_text(value: Any) -> str:
    if value is None or isinstance(value, bool | int):
        return str(value)
    if isinstance(value, str):
        return value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if isinstance(value, float):
        return _float_text(value)
    module = type(value).__module__.split(".")[0]
    if module == "numpy" and getattr(value, "ndim", None) == 0:
        item = value.item()
        if isinstance(item, float | int | bool):
            return _scalar_text(item)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return _scalar_text(str(value)) if not isinstance(value, bytes) else repr(value)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    # Round to significant digits, then print the shortest form of the rounded number.
    return repr(float(f"{value:.{FLOAT_DIGITS}g}"))


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells, ending in … when it was longer."""
    if _cells(text) <= width:
        return text
    from rich.cells import set_cell_size

    return set_cell_size(text, max(width - 1, 0)) + ELLIPSIS if width > 0 else ""


@dataclass(frozen=True)
class Line:
    """One line of a result on a terminal, and how it is styled there."""

    text: str
    style: str = ""


def _numeric(dtype: Any) -> bool:
    return getattr(dtype, "kind", "") in "iufcb" and str(dtype) != "category"


def frame_lines(
    title: str, value: Any, name: str, width: int, rows: int = TERMINAL_ROWS
) -> list[Line]:
    """A frame, series or array as a terminal shows it: a title with the shape, column names
    with their dtypes below, the first ``rows`` rows and as many columns as fit in ``width``
    (an ellipsis column for the rest), then how much is left out."""
    pandas_value = _to_pandas(value)  # a polars LazyFrame is collected once
    frame = _frame(pandas_value, name)
    shape = tuple(getattr(pandas_value, "shape", ()))
    size = _many(shape[0], "row") + (f" x {_many(shape[1], 'column')}" if len(shape) == 2 else "")
    if len(shape) > 2:
        size = "shape " + " x ".join(str(n) for n in shape)
    lines = [Line(cut(f"{title}  {type_name(value)}  {size}", width), "bold")]
    head = frame.head(rows)
    columns: list[tuple[str, str, list[str], bool]] = []
    for index, label in enumerate(frame.columns):
        dtype = frame.dtypes.iloc[index]
        cells = [cut(format_value(v, CELL_WIDTH), CELL_WIDTH) for v in head.iloc[:, index]]
        columns.append(
            (cut(label, CELL_WIDTH), cut(str(dtype), CELL_WIDTH), cells, _numeric(dtype))
        )
    shown = _fitting(columns, width)
    hidden = len(columns) - len(shown)
    if shown:
        widths = [max(_cells(c[0]), _cells(c[1]), *(_cells(x) for x in c[2])) for c in shown]
        room = width - sum(w + 2 for w in widths[:-1]) - (3 if hidden else 0)
        widths[-1] = max(min(widths[-1], room), 1)

        def row(texts: list[str], right: list[bool]) -> str:
            parts = [
                _pad(cut(text, w), w, align_right)
                for text, w, align_right in zip(texts, widths, right, strict=True)
            ]
            return "  ".join(parts + ([ELLIPSIS] if hidden else [])).rstrip()

        right = [c[3] for c in shown]
        lines.append(Line(row([c[0] for c in shown], right), "bold"))
        lines.append(Line(row([c[1] for c in shown], right), "dim"))
        lines += [Line(row([c[2][i] for c in shown], right)) for i in range(len(head))]
    left = [_many(len(frame) - len(head), "more row")] if len(frame) > len(head) else []
    left += [_many(hidden, "more column")] if hidden else []
    if not len(frame):
        lines.append(Line("(no rows)", "dim"))
    if left:
        lines.append(
            Line(cut(f"{ELLIPSIS} {', '.join(left)}: --out DIR writes them all", width), "dim")
        )
    return lines


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _fitting(columns: list[Any], width: int) -> list[Any]:
    """The leading columns that fit in ``width`` beside an ellipsis column (at least one)."""
    total = 0
    shown: list[Any] = []
    for index, column in enumerate(columns):
        need = max(_cells(column[0]), _cells(column[1]), *(_cells(x) for x in column[2]))
        more = index < len(columns) - 1
        room = width - (3 if more else 0)
        if shown and total + 2 + need > room:
            break
        total += need + (2 if shown else 0)
        shown.append(column)
        if total > room:
            break
    return shown


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(width - _cells(text), 0)
    return space + text if right else text + space


def scalar_lines(values: Mapping[str, Any], width: int) -> tuple[list[Line], bool]:
    """Outputs that are not frames as a table of name, type and value in ``width`` columns;
    a mapping takes one line per key. Also whether any value was cut."""
    names = ["output", *values]
    types = ["type", *(type_name(v) for v in values.values())]
    name_w = max(_cells(n) for n in names)
    type_w = max(_cells(t) for t in types)
    room = width - name_w - type_w - 4
    stacked = room < 16  # too narrow for three columns: each value under its name
    value_w = width - 2 if stacked else room
    cut_any = False
    lines = [] if stacked else [Line(f"{'output':<{name_w}}  {'type':<{type_w}}  value", "bold")]
    for name, value in values.items():
        texts, cut_here = _value_texts(value, value_w)
        cut_any = cut_any or cut_here
        if stacked:
            lines.append(Line(cut(f"{name}  {type_name(value)}", width), "bold"))
            lines += [Line("  " + text) for text in texts]
            continue
        first = True
        for text in texts:
            label = f"{_pad(name, name_w, False)}  {_pad(type_name(value), type_w, False)}"
            lines.append(Line((label if first else " " * (name_w + type_w + 2)) + "  " + text))
            first = False
    return [Line(line.text.rstrip(), line.style) for line in lines], cut_any


def _value_texts(value: Any, width: int) -> tuple[list[str], bool]:
    if isinstance(value, Mapping) and value:
        items = list(value.items())
        texts = [f"{_scalar_text(k)}: {format_value(v, width)}" for k, v in items[:MAPPING_LINES]]
        out = [cut(text, width) for text in texts]
        cut_any = any(a != b for a, b in zip(out, texts, strict=True))
        if len(items) > MAPPING_LINES:
            out.append(f"{ELLIPSIS} {_many(len(items) - MAPPING_LINES, 'more key')}")
            cut_any = True
        return out, cut_any
    text = format_value(value, width)
    shown = cut(text, width)
    return [shown], shown != text


def render(
    values: Mapping[str, Any], console: Any, width: int, max_rows: int = TERMINAL_ROWS
) -> None:
    """Draw results on a rich console in ``width`` columns: the outputs that are not frames
    in one table, then each frame, series or array."""
    from rich.text import Text

    scalars = {k: v for k, v in values.items() if _kind(v) == "other"}
    blocks: list[list[Line]] = []
    if scalars:
        lines, cut_any = scalar_lines(scalars, width)
        if cut_any:
            note = f"{ELLIPSIS} cut to fit: -f json or --out DIR shows all of it"
            lines.append(Line(cut(note, width), "dim"))
        blocks.append(lines)
    for name, value in values.items():
        if name not in scalars:
            blocks.append(frame_lines(name, value, name, width, max_rows))
    for index, block in enumerate(blocks):
        if index:
            console.print()
        for line in block:
            console.print(Text(line.text, style=line.style), no_wrap=True, crop=False)


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
    if isinstance(value, Mapping) and value and all(_is_scalar(v) for v in value.values()):
        return pd.DataFrame([value.values()], columns=unique_labels(value.keys()))
    if isinstance(value, list | tuple) and value:
        if all(isinstance(v, Mapping) for v in value):
            frame = pd.DataFrame([dict(v) for v in value])
            return frame.set_axis(unique_labels(frame.columns), axis=1)
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


def default_format(value: Any) -> str:
    """The file format ``--out`` picks without ``-f``: parquet for frames, series and arrays
    (every row, types kept), JSON for everything else."""
    return "parquet" if _kind(value) != "other" else "json"


def encode(name: str, value: Any, fmt: str) -> tuple[bytes, str, int | None]:
    """(file bytes, the format used, row count) for one output.

    Values with no table form, and tables Arrow cannot store, are written as JSON whatever
    ``fmt`` asks for.
    """
    if fmt == "json":
        if _kind(value) != "other":
            records, total = _records(value, name, None)
            return canonical_json(records).encode("utf-8"), "json", total
        return canonical_json(plain(value)).encode("utf-8"), "json", None
    frame = _tabular(value, name)
    if frame is None:
        return encode(name, value, "json")
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), "csv", len(frame)
    try:
        import pyarrow
    except ImportError:
        raise MissingToolError(
            "--format parquet needs pyarrow, which is not installed",
            hint="install it with: pip install pyarrow",
        ) from None
    import io

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (pyarrow.ArrowException, TypeError, ValueError, NotImplementedError):
        # Arrow rejects the column types (mixed objects, complex numbers, say).
        return encode(name, value, "json")
    return buffer.getvalue(), "parquet", len(frame)


def file_name(node: str, fmt: str) -> str:
    """``<node>.<fmt>``; a node that would collide with the manifest gets another name."""
    name = f"{node}.{fmt}"
    return f"{node}.value.{fmt}" if name == MANIFEST else name


def _listed_files(out_dir: Path) -> set[str]:
    """The files an earlier manifest in ``out_dir`` lists (plain names inside it only)."""
    try:
        document = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(document, dict) or document.get("kind") != MANIFEST_KIND:
        return set()
    names = set()
    for item in document.get("outputs") or ():
        file = item.get("file") if isinstance(item, dict) else None
        if isinstance(file, str) and file == Path(file).name and file not in ("", ".", ".."):
            names.add(file)
    return names


def write_outputs(
    out_dir: Path,
    values: Mapping[str, Any],
    fmt: str | None,
    *,
    profile: str,
    shown: str | None = None,
) -> Manifest:
    """Write one file per output and then ``manifest.json``, so that nothing looks complete
    until everything is: files are staged in a temporary directory inside ``out_dir``, the old
    manifest is removed, the files are moved in, files the old manifest listed and the new one
    does not are removed, and the new manifest is written last. ``fmt`` None picks a format
    per output (:func:`default_format`)."""
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
            wanted = fmt or default_format(values[node])
            payload, used, rows = encode(node, values[node], wanted)
            if used != wanted:
                notes.append(
                    f"{node} ({type_name(values[node])}) has no {wanted} form: written as {used}"
                )
            name = file_name(node, used)
            atomic_write(staging / name, payload)
            written.append(
                WrittenFile(
                    node, name, used, rows, hashlib.sha256(payload).hexdigest(), len(payload)
                )
            )
        manifest = Manifest(profile, fmt or AUTO_FORMAT, tuple(written), tuple(notes))
        stale = _listed_files(out_dir) - {item.file for item in written} - {MANIFEST}
        (out_dir / MANIFEST).unlink(missing_ok=True)
        for item in written:
            os.replace(staging / item.file, out_dir / item.file)
        for file in sorted(stale):
            path = out_dir / file
            if path.is_file() and not path.is_symlink():
                path.unlink()
        atomic_write(out_dir / MANIFEST, canonical_json(manifest.as_document()))
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
