"""Per-function metric series, extracted from the feature frame and keyed by entity.

``function_metrics`` re-indexes the feature frame by (repo, path, symbol) so every extracted
series carries its entity key; ``_cap`` then bounds two of the pressures without touching the
columns or the frame they came from.
"""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import apply_to, extract_columns, mutate, tag, tag_outputs, value

from modules.lib.taxonomy import contract_tags, entity_tags, internal_tags

SCHEMA = "semantic.function_metrics_v1"
INDEX = ["repo", "path", "symbol"]
# output name -> feature-frame column
SOURCE_COLUMNS = {
    "function_module": "module",
    "function_loc": "loc",
    "function_complexity": "complexity",
    "function_has_docstring": "has_docstring",
    "function_is_public": "is_public",
    "function_size_pressure": "size_pressure",
    "function_complexity_pressure": "complexity_pressure",
    "function_param_pressure": "param_pressure",
    "function_doc_debt": "doc_debt",
}


@tag_outputs(
    function_module=internal_tags("intermediate"),
    function_has_docstring=internal_tags("intermediate"),
    function_is_public=internal_tags("intermediate"),
    function_loc=contract_tags("function.loc.v1", "int64", SCHEMA),
    function_complexity=contract_tags("function.complexity.v1", "int64", SCHEMA),
    function_size_pressure=contract_tags("function.size_pressure.v1", "float", SCHEMA),
    function_complexity_pressure=contract_tags("function.complexity_pressure.v1", "float", SCHEMA),
    # Only some profiles feed parameter count into risk; it is not published on its own.
    function_param_pressure=internal_tags("intermediate"),
    function_doc_debt=contract_tags(
        "function.doc_debt.v1", "float", SCHEMA, stability="experimental"
    ),
)
# target_=None: the extracted columns get the entity tags, the frame itself does not.
@tag(**entity_tags("function"), target_=None)
@tag(**internal_tags("intermediate"), target_="function_metrics")
@extract_columns(*SOURCE_COLUMNS)
def function_metrics(function_features_df: pd.DataFrame) -> pd.DataFrame:
    """Feature frame renamed to metric names and indexed by the function key (repo, path, symbol).

    Extracted series: function_module (dotted module), function_loc (lines of code),
    function_complexity (cyclomatic complexity), function_has_docstring, function_is_public,
    and the four pressures: size, complexity, param, doc debt.
    """
    keyed = function_features_df.set_index(INDEX)
    return keyed[list(SOURCE_COLUMNS.values())].set_axis(list(SOURCE_COLUMNS), axis=1)


@mutate(
    # Past twice the size budget, extra lines stop adding risk; branching keeps adding risk
    # until three times its budget. The raw columns in function_features_df stay unbounded.
    apply_to(function_metrics, upper=value(2.0)).on_output("function_size_pressure"),
    apply_to(function_metrics, upper=value(3.0)).on_output("function_complexity_pressure"),
)
def _cap(pressure: pd.Series, upper: float) -> pd.Series:
    """Bounds a pressure series at ``upper``."""
    return pressure.clip(upper=upper)
