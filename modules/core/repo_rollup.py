"""Repository-level facts: counts, means, shares and the summary document."""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import (
    group,
    inject,
    parameterize,
    parameterize_sources,
    source,
    tag,
    tag_outputs,
    value,
)

from modules.lib.taxonomy import contract_tags, entity_tags, semantic_tags

SCHEMA = "semantic.repo_summary_v1"


@tag(**semantic_tags("repo.function_count.v1", "repo", "int64", SCHEMA))
def repo_function_count(functions_df: pd.DataFrame) -> int:
    """Number of functions and methods in the cleaned inventory."""
    return len(functions_df)


@tag_outputs(
    repo_mean_complexity=contract_tags("repo.mean_complexity.v1", "float", SCHEMA),
    repo_mean_risk=contract_tags("repo.mean_risk.v1", "float", SCHEMA),
)
@tag(**entity_tags("repo"))
@parameterize(
    repo_mean_complexity={"values": source("function_complexity"), "statistic": value("mean")},
    repo_mean_risk={"values": source("function_risk_score"), "statistic": value("mean")},
)
def repo_statistic(values: pd.Series, statistic: str) -> float:
    """The {statistic} of {values} over every function of the repository (0.0 when empty)."""
    if values.empty:
        return 0.0
    return round(float(values.agg(statistic)), 6)


@tag_outputs(
    repo_doc_coverage=contract_tags("repo.doc_coverage.v1", "float", SCHEMA),
    repo_public_share=contract_tags("repo.public_share.v1", "float", SCHEMA),
)
@tag(**entity_tags("repo"))
@parameterize_sources(
    repo_doc_coverage={"flags": "function_has_docstring"},
    repo_public_share={"flags": "function_is_public"},
)
def repo_share(flags: pd.Series) -> float:
    """Share of the repository's functions for which {flags} is true (0.0 when empty)."""
    if flags.empty:
        return 0.0
    return round(float(flags.mean()), 6)


@tag(**semantic_tags("repo.high_risk_function_count.v1", "repo", "int64", SCHEMA))
def repo_high_risk_count(function_is_high_risk: pd.Series) -> int:
    """Number of functions flagged high-risk."""
    return int(function_is_high_risk.sum())


@inject(
    facts=group(
        source_files=source("scanned_file_count"),
        unparsed_files=source("unparsed_file_count"),
        functions=source("repo_function_count"),
        high_risk_functions=source("repo_high_risk_count"),
        risk_alert_threshold=source("risk_alert_threshold"),
        mean_complexity=source("repo_mean_complexity"),
        mean_risk=source("repo_mean_risk"),
        doc_coverage=source("repo_doc_coverage"),
        public_share=source("repo_public_share"),
    )
)
@tag(**semantic_tags("repo.summary.v1", "repo", "json", SCHEMA))
def repo_summary(facts: dict[str, int | float]) -> dict[str, int | float]:
    """The repository's headline numbers as one JSON-ready document, keys sorted."""
    # Plain Python numbers only, so json.dump never meets a numpy scalar.
    return {key: (int(v) if isinstance(v, int) else float(v)) for key, v in sorted(facts.items())}
