"""Polars (eager) variant of per-function shape features."""

from __future__ import annotations

import pandas as pd
import polars as pl
from hamilton.function_modifiers import tag
from hamilton.plugins import h_polars

from modules.lib.taxonomy import internal_tags, semantic_tags
from modules.plugins import polars_column_ops


@tag(**internal_tags("intermediate"))
def functions_pl(functions_df: pd.DataFrame) -> pl.DataFrame:
    """The cleaned function inventory as a polars DataFrame."""
    return pl.from_pandas(functions_df)


@h_polars.with_columns(
    polars_column_ops,
    columns_to_pass=["loc", "complexity"],
    select=["loc_per_branch", "is_long"],
    namespace="function_shape",
)
@tag(
    **semantic_tags(
        "function.shape_features.v1",
        "function",
        "record",
        "semantic.function_shape_v1",
        stability="experimental",
    )
)
def function_shape_features(functions_pl: pl.DataFrame) -> pl.DataFrame:
    """Inventory plus shape columns: ``loc_per_branch`` (lines per path) and ``is_long``."""
    return functions_pl.select(
        "repo", "path", "symbol", "loc", "complexity", "loc_per_branch", "is_long"
    )
