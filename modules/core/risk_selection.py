"""Config-selected risk score.

Kept in its own module: ``resolve_from_config`` needs Hamilton's power-user mode, and isolating
it makes the dependency on that flag obvious.
"""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import group, inject, resolve_from_config, source, tag
from hamilton.function_modifiers.base import InvalidDecoratorException

from modules.lib.taxonomy import semantic_tags

# Names usable in the ``risk_features`` config list -> the metric node each one wires in.
RISK_FEATURES = {
    "size": "function_size_pressure",
    "complexity": "function_complexity_pressure",
    "params": "function_param_pressure",
    "doc_debt": "function_doc_debt",
}


def _inject_risk_features(risk_features: list[str]) -> inject:
    """Builds the ``inject`` that feeds the configured feature nodes, in config order."""
    if isinstance(risk_features, str) or not risk_features:
        raise InvalidDecoratorException(
            f"config risk_features must be a non-empty list, got {risk_features!r}"
        )
    unknown = [name for name in risk_features if name not in RISK_FEATURES]
    if unknown or len(set(risk_features)) != len(risk_features):
        raise InvalidDecoratorException(
            f"config risk_features {risk_features!r}: entries must be unique and one of "
            f"{sorted(RISK_FEATURES)}"
        )
    return inject(components=group(*(source(RISK_FEATURES[name]) for name in risk_features)))


@resolve_from_config(decorate_with=_inject_risk_features)
@tag(**semantic_tags("function.risk_score.v1", "function", "float", "semantic.function_risk_v1"))
def function_risk_score(components: list[pd.Series]) -> pd.Series:
    """Risk per function: the mean of the pressures named by config ``risk_features``."""
    return pd.concat(components, axis=1).mean(axis=1).rename("function_risk_score")
