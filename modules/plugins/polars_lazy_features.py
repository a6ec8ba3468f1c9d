"""Polars (lazy) variant: public functions that lack a docstring."""

from __future__ import annotations

import polars as pl
from hamilton.function_modifiers import tag
from hamilton.plugins import h_polars_lazyframe

from modules.lib.taxonomy import internal_tags, semantic_tags
from modules.plugins import polars_lazy_column_ops


@tag(**internal_tags("intermediate"))
def functions_lazy(functions_pl: pl.DataFrame) -> pl.LazyFrame:
    """The polars function inventory as a lazy query."""
    return functions_pl.lazy()


@h_polars_lazyframe.with_columns(
    polars_lazy_column_ops,
    on_input="functions_lazy",
    select=["needs_docstring"],
    namespace="doc_gap",
)
@tag(**internal_tags("intermediate"))
def function_doc_flags(functions_lazy: pl.LazyFrame) -> pl.LazyFrame:
    """Lazy inventory with the ``needs_docstring`` flag column appended."""
    return functions_lazy


@tag(
    **semantic_tags(
        "function.public_undocumented.v1",
        "function",
        "record",
        "semantic.function_inventory_v1",
        stability="experimental",
    )
)
def public_undocumented_functions(function_doc_flags: pl.LazyFrame) -> pl.DataFrame:
    """Public functions without a docstring: repo, path, symbol, line, loc; sorted by path, line."""
    return (
        function_doc_flags.filter(pl.col("needs_docstring"))
        .select("repo", "path", "symbol", "line", "loc")
        .sort("path", "line", "symbol")
        .collect()
    )
