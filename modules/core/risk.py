"""Risk variants, complexity bands and the high-risk flag per function."""

from __future__ import annotations

import itertools
import math

import pandas as pd
from hamilton.experimental.decorators.parameterize_frame import parameterize_frame
from hamilton.function_modifiers import config, group, inject, source, tag, tag_outputs, value

from modules.lib.taxonomy import contract_tags, entity_tags, internal_tags, semantic_tags

RISK_SCHEMA = "semantic.function_risk_v1"

# One row per risk variant: the output node, the two pressures it blends, and the size weight
# (the complexity weight is 1 - size_weight). Editing this table adds or retunes variants
# without touching code.
RISK_VARIANTS = pd.DataFrame(
    [
        ["risk_size_weighted", "function_size_pressure", "function_complexity_pressure", 0.7],
        ["risk_complexity_weighted", "function_size_pressure", "function_complexity_pressure", 0.3],
        ["risk_balanced", "function_size_pressure", "function_complexity_pressure", 0.5],
    ],
    columns=[
        ["risk", "size", "complexity", "size_weight"],
        ["out", "source", "source", "value"],
    ],
)


@tag_outputs(
    risk_size_weighted=contract_tags("function.risk_size_weighted.v1", "float", RISK_SCHEMA),
    risk_complexity_weighted=contract_tags(
        "function.risk_complexity_weighted.v1", "float", RISK_SCHEMA
    ),
    risk_balanced=contract_tags("function.risk_balanced.v1", "float", RISK_SCHEMA),
)
@tag(**entity_tags("function"), target_=None)
@parameterize_frame(RISK_VARIANTS)
def risk_variant(size: pd.Series, complexity: pd.Series, size_weight: float) -> pd.DataFrame:
    """A weighted blend of size and complexity pressure per function (one column: ``risk``)."""
    blended = size_weight * size + (1.0 - size_weight) * complexity
    return pd.DataFrame({"risk": blended})


@tag(**internal_tags("intermediate"))
def complexity_warn_threshold() -> float:
    """Cyclomatic complexity above which a function is banded ``warn``."""
    return 10.0


@config.when(threshold_profile="strict")
@tag(**internal_tags("intermediate"))
def complexity_fail_threshold__strict() -> float:
    """Cyclomatic complexity above which a function is banded ``fail`` (strict profile)."""
    return 15.0


# when_not also matches when threshold_profile is absent, so relaxed is the default.
@config.when_not(threshold_profile="strict")
@tag(**internal_tags("intermediate"))
def complexity_fail_threshold__relaxed() -> float:
    """Cyclomatic complexity above which a function is banded ``fail`` (default profile)."""
    return 25.0


@inject(
    edges=group(
        value(0.0),
        source("complexity_warn_threshold"),
        source("complexity_fail_threshold"),
        value(math.inf),
    )
)
@tag(**internal_tags("intermediate"))
def complexity_band_edges(edges: list[float]) -> list[float]:
    """Bin edges for complexity bands: literal outer bounds around the two policy thresholds."""
    if any(low >= high for low, high in itertools.pairwise(edges)):
        raise ValueError(f"complexity band edges must strictly increase, got {edges}")
    return list(edges)


@tag(
    **semantic_tags(
        "function.complexity_band.v1", "function", "str", "semantic.function_metrics_v1"
    )
)
def function_complexity_band(
    function_complexity: pd.Series, complexity_band_edges: list[float]
) -> pd.Series:
    """Complexity band per function: ``ok`` up to the warn threshold, ``warn``, then ``fail``."""
    bands = pd.cut(function_complexity, bins=complexity_band_edges, labels=["ok", "warn", "fail"])
    return bands.astype(str).rename("function_complexity_band")


@tag(**semantic_tags("repo.risk_alert_threshold.v1", "repo", "float", RISK_SCHEMA))
def risk_alert_threshold() -> float:
    """Risk score at or above which a function is flagged high-risk (1.0 = on budget)."""
    return 1.0


@tag(**semantic_tags("function.is_high_risk.v1", "function", "bool", RISK_SCHEMA))
def function_is_high_risk(function_risk_score: pd.Series, risk_alert_threshold: float) -> pd.Series:
    """True where the function's risk score reaches the alert threshold."""
    return (function_risk_score >= risk_alert_threshold).rename("function_is_high_risk")
