"""Eager polars column operations for ``modules.plugins.polars_features``."""

from __future__ import annotations

import polars as pl

LONG_FUNCTION_LOC = 50


def loc_per_branch(loc: pl.Series, complexity: pl.Series) -> pl.Series:
    """Lines of code per execution path: high values mean long straight-line code."""
    return loc / complexity


def is_long(loc: pl.Series) -> pl.Series:
    """True for functions longer than 50 lines."""
    return loc > LONG_FUNCTION_LOC
