"""Per-function feature columns, computed as a with_columns subDAG on the inventory frame."""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import tag
from hamilton.plugins.h_pandas import with_columns

from modules.core import function_column_ops
from modules.lib.taxonomy import internal_tags

FEATURE_COLUMNS = ["size_pressure", "complexity_pressure", "param_pressure", "doc_debt"]


@with_columns(
    function_column_ops,
    columns_to_pass=["loc", "complexity", "n_params", "has_docstring"],
    select=FEATURE_COLUMNS,
    namespace="function_features",
)
@tag(**internal_tags("intermediate"))
def function_features_df(functions_df: pd.DataFrame) -> pd.DataFrame:
    """The function inventory with the four pressure/debt feature columns appended."""
    return functions_df
