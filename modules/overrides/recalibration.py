"""Recalibrated risk alert threshold.

Same node name as ``modules.core.risk.risk_alert_threshold``, so with module overrides allowed
this definition wins. Hamilton does not merge tags across the two definitions, so the full tag
set is repeated here; only ``version`` changes, because the contract (semantic id, dtype) does
not.
"""

from __future__ import annotations

from hamilton.function_modifiers import tag

from modules.lib.taxonomy import semantic_tags


@tag(
    **semantic_tags(
        "repo.risk_alert_threshold.v1", "repo", "float", "semantic.function_risk_v1", version="2"
    )
)
def risk_alert_threshold() -> float:
    """Risk score at or above which a function is flagged high-risk, recalibrated to 0.8.

    Reviews found functions at 80% of budget already needed attention, so alerts fire earlier.
    """
    return 0.8
