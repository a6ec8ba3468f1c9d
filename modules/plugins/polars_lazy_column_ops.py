"""Lazy polars column expressions for ``modules.plugins.polars_lazy_features``.

These take the frame itself (``on_input`` in the decorator) and return expressions, so no
column is extracted eagerly and the query plan stays lazy.
"""

from __future__ import annotations

import polars as pl


def needs_docstring(functions_lazy: pl.LazyFrame) -> pl.Expr:
    """True for public functions without a docstring."""
    return pl.col("is_public") & ~pl.col("has_docstring")
