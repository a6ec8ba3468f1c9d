"""Results of a run as text for a terminal: a table of the plain outputs, then each frame."""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from semdag.core.values import frame_of, kind_of, to_pandas, type_name

# Rows of a frame drawn on a terminal (JSON output uses --max-rows).
TERMINAL_ROWS = 10
# Widest frame cell on a terminal, and most lines a mapping takes in the outputs table.
CELL_WIDTH = 30
MAPPING_LINES = 12
# Significant digits of a float shown on a terminal (JSON and files keep every digit).
FLOAT_DIGITS = 6
ELLIPSIS = "…"


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
    elif kind_of(value) == "array" and value.size <= budget:
        yield from _pieces(value.tolist(), budget)
    elif kind_of(value) != "other":
        shape = " x ".join(str(n) for n in getattr(to_pandas(value), "shape", ()))
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
    pandas_value = to_pandas(value)  # a polars LazyFrame is collected once
    frame = frame_of(pandas_value, name)
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

    scalars = {k: v for k, v in values.items() if kind_of(v) == "other"}
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
