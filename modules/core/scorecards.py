"""Published tables: the per-function scorecard and the per-module rollup."""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import (
    extract_columns,
    group,
    inject,
    pipe_output,
    source,
    step,
    tag,
    tag_outputs,
    value,
)

from modules.lib.taxonomy import contract_tags, entity_tags, internal_tags, semantic_tags

MODULE_SCHEMA = "semantic.module_summary_v1"
SCORECARD_KEYS = ["repo", "path", "symbol"]


@inject(
    columns=group(
        module=source("function_module"),
        loc=source("function_loc"),
        complexity=source("function_complexity"),
        complexity_band=source("function_complexity_band"),
        risk_score=source("function_risk_score"),
        is_high_risk=source("function_is_high_risk"),
    )
)
@tag(**semantic_tags("function.scorecard.v1", "function", "record", "semantic.function_risk_v1"))
def function_scorecard(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per function: keys (repo, path, symbol), module, loc, complexity, band, risk.

    The dict's keys become the column names, so the column order is the injection order.
    """
    frame = pd.DataFrame(columns).rename_axis(SCORECARD_KEYS).reset_index()
    return frame.sort_values(["path", "symbol"], kind="stable").reset_index(drop=True)


def _round_to(measure: pd.Series, ndigits: int) -> pd.Series:
    """Rounds a published ratio so reports and snapshots do not churn on float noise."""
    return measure.round(ndigits)


@pipe_output(
    step(_round_to, ndigits=value(3)),
    on_output=["module_mean_complexity", "module_mean_risk", "module_high_risk_share"],
)
@tag_outputs(
    module_function_count=contract_tags("module.function_count.v1", "int64", MODULE_SCHEMA),
    module_mean_complexity=contract_tags("module.mean_complexity.v1", "float", MODULE_SCHEMA),
    module_mean_risk=contract_tags("module.mean_risk.v1", "float", MODULE_SCHEMA),
    module_high_risk_share=contract_tags("module.high_risk_share.v1", "float", MODULE_SCHEMA),
)
@tag(**entity_tags("module"), target_=None)
@tag(**internal_tags("intermediate"), target_="module_summary")
@extract_columns(
    "module_function_count", "module_mean_complexity", "module_mean_risk", "module_high_risk_share"
)
def module_summary(function_scorecard: pd.DataFrame) -> pd.DataFrame:
    """Per-module aggregates of the function scorecard, indexed by (repo, module).

    Columns: function count, mean complexity, mean risk score, share of high-risk functions.
    """
    grouped = function_scorecard.groupby(["repo", "module"], sort=True)
    return pd.DataFrame(
        {
            "module_function_count": grouped["symbol"].count().astype("int64"),
            "module_mean_complexity": grouped["complexity"].mean(),
            "module_mean_risk": grouped["risk_score"].mean(),
            "module_high_risk_share": grouped["is_high_risk"].mean(),
        }
    )


@inject(
    columns=group(
        function_count=source("module_function_count"),
        mean_complexity=source("module_mean_complexity"),
        mean_risk=source("module_mean_risk"),
        high_risk_share=source("module_high_risk_share"),
    )
)
@tag(**semantic_tags("module.scorecard.v1", "module", "record", MODULE_SCHEMA))
def module_scorecard(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per module: keys (repo, module), function count and the rounded mean measures."""
    return pd.DataFrame(columns).rename_axis(["repo", "module"]).reset_index()
