"""Result tables that never cut their key: key columns keep their full width, other columns
wrap, and when even that does not fit, the rightmost other columns are left out (said on
stderr, with where to find them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from semdag.cli import console

# The narrowest a wrapping column may get before it is left out instead.
MIN_WRAPPED = 8


@dataclass(frozen=True)
class Column:
    """A table column; a ``key`` column (a node name, a semantic id) is never cut."""

    name: str
    key: bool = False


def fit(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, *, gap: int = 2
) -> list[int]:
    """The indexes of the columns to show in ``width`` characters: every key column, then the
    other columns, from the left, that still fit with :data:`MIN_WRAPPED` characters."""
    natural = [
        max([len(c.name), *(len(line) for row in rows for line in str(row[i]).splitlines())])
        for i, c in enumerate(columns)
    ]
    keep = [i for i, c in enumerate(columns) if c.key]
    used = sum(natural[i] for i in keep) + gap * max(len(keep) - 1, 0)
    for i, column in enumerate(columns):
        if column.key:
            continue
        need = min(natural[i], MIN_WRAPPED) + gap
        if used + need > width:
            continue
        keep.append(i)
        used += need
    return sorted(keep)


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    boxed: bool = False,
    more: str = "-f json",
) -> None:
    """Print ``rows`` on stdout within its width (see :func:`fit`); ``more`` names where the
    columns left out can be read in full."""
    from rich import box
    from rich.table import Table

    width = console.out().width
    # A box draws a border and a rule between columns: three characters each, two at the ends.
    shown = fit(columns, rows, width - (4 if boxed else 0), gap=3 if boxed else 2)
    table: Any = Table(
        title=title,
        title_justify="left",
        box=box.HEAVY_HEAD if boxed else None,
        pad_edge=boxed,
    )
    # Keys that do not fit side by side even alone wrap too: broken over lines, never cut.
    natural_keys = sum(
        max([len(columns[i].name), *(len(str(row[i])) for row in rows)])
        for i in shown
        if columns[i].key
    )
    keys_fit = natural_keys + (3 if boxed else 2) * (len(shown) - 1) <= width
    for i in shown:
        column = columns[i]
        table.add_column(column.name, no_wrap=column.key and keys_fit, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[i]) for i in shown))
    console.out().print(table)
    left_out = [c.name for i, c in enumerate(columns) if i not in shown]
    if left_out:
        console.err().print(
            f"left out to fit {width} columns: {', '.join(left_out)} (see them with {more})",
            markup=False,
        )
