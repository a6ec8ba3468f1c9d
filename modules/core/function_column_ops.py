"""Column operations for ``modules.core.features`` (loaded by ``with_columns``).

Kept out of ``features.py`` on purpose: functions defined in a dataflow module are crawled as
top-level nodes, and these only make sense inside the per-frame subDAG.

Each "pressure" is a ratio to a budget: 1.0 means exactly at budget, 2.0 twice over it.
"""

from __future__ import annotations

import pandas as pd

SIZE_BUDGET_LOC = 60
COMPLEXITY_BUDGET = 10
PARAM_BUDGET = 5


def size_pressure(loc: pd.Series) -> pd.Series:
    """Lines of code relative to a 60-line budget."""
    return loc / SIZE_BUDGET_LOC


def complexity_pressure(complexity: pd.Series) -> pd.Series:
    """Decision points beyond the first relative to a budget of 10."""
    return (complexity - 1) / COMPLEXITY_BUDGET


def param_pressure(n_params: pd.Series) -> pd.Series:
    """Parameter count relative to a budget of 5."""
    return n_params / PARAM_BUDGET


def doc_debt(has_docstring: pd.Series, size_pressure: pd.Series) -> pd.Series:
    """Missing documentation weighted by size: an undocumented long function owes the most.

    0.0 when documented; otherwise the size pressure, capped at 1.0.
    """
    return (~has_docstring).astype("float64") * size_pressure.clip(upper=1.0)
