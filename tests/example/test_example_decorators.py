"""One test per decorator use in modules/: what each one wires, names, tags or changes."""

from __future__ import annotations

import importlib
import math
from typing import Any

import pandas as pd
import polars as pl
import pytest
from hamilton import driver
from hamilton.execution import executors
from hamilton.function_modifiers.base import InvalidDecoratorException

from modules.core import features, function_column_ops, risk, risk_selection


def names(dr: Any) -> set[str]:
    return {v.name for v in dr.list_available_variables()}


def node(dr: Any, name: str) -> Any:
    (found,) = [v for v in dr.list_available_variables() if v.name == name]
    return found


# --- pipe_input (modules/core/cleaning.py) -------------------------------------------------


def test_when_gated_step_exists_only_under_strict_cleaning(dr_for: Any) -> None:
    assert "prep.without_tests" in names(dr_for("prod"))  # clean_mode: strict
    assert "prep.without_tests" not in names(dr_for("dev"))  # clean_mode: lenient


def test_strict_cleaning_drops_test_code_and_lenient_keeps_it(sample_run: Any) -> None:
    strict = sample_run("prod")["functions_df"]
    lenient = sample_run("dev")["functions_df"]
    assert "tests/test_core.py" not in set(strict["path"])
    assert "tests/test_core.py" in set(lenient["path"])
    assert set(lenient["path"]) - set(strict["path"]) == {"tests/test_core.py"}


def test_named_steps_have_stable_names_and_dedupe_conditional_defs(sample_run: Any) -> None:
    results = sample_run("base")
    raw, deduped = results["raw_functions_df"], results["prep.deduped"]
    assert len(raw[(raw["path"] == "pkg/compat.py") & (raw["symbol"] == "now")]) == 2
    kept = deduped[(deduped["path"] == "pkg/compat.py") & (deduped["symbol"] == "now")]
    assert kept["line"].tolist() == [4]  # the first definition wins
    assert not results["functions_df"].duplicated(["repo", "path", "symbol"]).any()
    assert results["functions_df"].index.tolist() == list(range(len(results["functions_df"])))


def test_pipe_input_on_input_targets_the_named_parameter(dr_for: Any) -> None:
    deps = node(dr_for("base"), "prep.deduped").required_dependencies
    assert deps == {"raw_functions_df"}


# --- with_columns (modules/core/features.py, modules/plugins/*) -----------------------------


def test_pandas_with_columns_appends_selected_columns_in_a_namespace(
    dr_for: Any, sample_run: Any
) -> None:
    available = names(dr_for("base"))
    assert {f"function_features.{c}" for c in features.FEATURE_COLUMNS} <= available
    assert "size_pressure" not in available  # column ops are not top-level nodes
    frame = sample_run("base")["function_features_df"]
    inventory = sample_run("base")["functions_df"]
    assert list(frame.columns) == list(inventory.columns) + features.FEATURE_COLUMNS
    expected = inventory["loc"] / function_column_ops.SIZE_BUDGET_LOC
    pd.testing.assert_series_equal(frame["size_pressure"], expected, check_names=False)


def test_polars_eager_with_columns(sample_run: Any) -> None:
    shape = sample_run("dev")["function_shape_features"]
    assert isinstance(shape, pl.DataFrame)
    row = shape.filter(pl.col("symbol") == "branchy").row(0, named=True)
    assert row["loc_per_branch"] == pytest.approx(17 / 14)
    assert row["is_long"] is False
    assert shape.filter(pl.col("symbol") == "sprawling")["is_long"].to_list() == [True]


def test_polars_lazy_with_columns_stays_lazy(sample_run: Any) -> None:
    results = sample_run("dev")
    assert isinstance(results["function_doc_flags"], pl.LazyFrame)
    undocumented = results["public_undocumented_functions"]
    assert undocumented["symbol"].to_list() == [
        "sprawling", "now", "branchy", "matcher", "Greeter.__init__", "test_simple",
    ]  # fmt: skip


# --- extract_columns + tag_outputs + tag(target_=...) (modules/core/metrics.py) -------------


def test_tag_outputs_tags_land_on_extracted_columns_not_the_frame(dr_for: Any) -> None:
    dr = dr_for("base")
    loc = node(dr, "function_loc").tags
    assert loc["semantic_id"] == "function.loc.v1" and loc["layer"] == "semantic"
    assert loc["entity"] == "function"  # from @tag(..., target_=None)
    assert node(dr, "function_module").tags["layer"] == "intermediate"
    frame = node(dr, "function_metrics").tags
    assert frame["layer"] == "intermediate"
    assert "semantic_id" not in frame and "entity" not in frame


def test_extracted_series_are_keyed_by_the_function_entity(sample_run: Any) -> None:
    loc = sample_run("base")["function_loc"]
    assert loc.index.names == ["repo", "path", "symbol"]
    assert loc[("sample", "pkg/core.py", "branchy")] == 17


# --- mutate + apply_to(...).on_output(...) (modules/core/metrics.py) ------------------------


def test_mutate_caps_exactly_the_targeted_outputs(sample_run: Any) -> None:
    results = sample_run("base")
    key = ("sample", "pkg/big.py", "sprawling")
    raw = results["function_features_df"].set_index(["repo", "path", "symbol"]).loc[key]
    assert raw["size_pressure"] > 2.0 and raw["complexity_pressure"] > 3.0
    assert results["function_size_pressure"][key] == 2.0  # per-target cap 2.0
    assert results["function_complexity_pressure"][key] == 3.0  # per-target cap 3.0
    # untargeted outputs of the same frame are untouched
    assert results["function_param_pressure"][key] == pytest.approx(raw["param_pressure"])
    assert results["function_doc_debt"][key] == pytest.approx(raw["doc_debt"])
    small = ("sample", "pkg/core.py", "branchy")
    assert results["function_size_pressure"][small] == pytest.approx(17 / 60)


def test_mutate_keeps_the_targeted_node_name_and_tags(dr_for: Any) -> None:
    dr = dr_for("base")
    assert {"function_size_pressure.raw", "function_size_pressure.with_cap"} <= names(dr)
    assert "function_loc.with_cap" not in names(dr)
    assert node(dr, "function_size_pressure").tags["semantic_id"] == "function.size_pressure.v1"


# --- pipe_output(on_output=...) (modules/core/scorecards.py) --------------------------------


def test_pipe_output_rounds_only_the_listed_outputs(sample_run: Any, dr_for: Any) -> None:
    results = sample_run("base")
    summary = results["module_summary"]
    mean_risk = results["module_mean_risk"]
    pd.testing.assert_series_equal(mean_risk, summary["module_mean_risk"].round(3))
    assert (summary["module_mean_risk"] != mean_risk).any()  # rounding did something
    assert "module_function_count.raw" not in names(dr_for("base"))


# --- inject + group (modules/core/risk.py, scorecards.py, repo_rollup.py) -------------------


def test_group_list_delivers_sources_and_values_in_order(sample_run: Any, dr_for: Any) -> None:
    assert sample_run("base")["complexity_band_edges"] == [0.0, 10.0, 25.0, math.inf]
    assert sample_run("prod")["complexity_band_edges"] == [0.0, 10.0, 15.0, math.inf]
    deps = node(dr_for("base"), "complexity_band_edges").required_dependencies
    assert deps == {"complexity_warn_threshold", "complexity_fail_threshold"}


def test_complexity_band_uses_the_injected_edges(sample_run: Any) -> None:
    band = sample_run("base")["function_complexity_band"]
    assert band[("sample", "pkg/core.py", "simple")] == "ok"
    assert band[("sample", "pkg/core.py", "branchy")] == "warn"  # 14 in (10, 25]
    assert band[("sample", "pkg/big.py", "sprawling")] == "fail"


def test_group_dict_delivers_named_columns_in_order(sample_run: Any) -> None:
    scorecard = sample_run("base")["function_scorecard"]
    assert list(scorecard.columns) == [
        "repo", "path", "symbol", "module", "loc", "complexity", "complexity_band",
        "risk_score", "is_high_risk",
    ]  # fmt: skip
    summary = sample_run("base")["repo_summary"]
    assert list(summary) == sorted(summary)
    assert summary["functions"] == 10 and summary["unparsed_files"] == 1


# --- config.when / config.when_not (modules/core/risk.py) -----------------------------------


def test_config_when_not_is_the_default_variant(dr_for: Any, build: Any, profile: Any) -> None:
    assert dr_for("base").execute(["complexity_fail_threshold"]) == {
        "complexity_fail_threshold": 25.0
    }
    assert dr_for("prod").execute(["complexity_fail_threshold"]) == {
        "complexity_fail_threshold": 15.0
    }
    relaxed = build(profile("base"), config={"threshold_profile": "relaxed"})
    assert relaxed.execute(["complexity_fail_threshold"])["complexity_fail_threshold"] == 25.0


# --- resolve_from_config + inject (modules/core/risk_selection.py) --------------------------


@pytest.mark.parametrize(
    ("name", "features"),
    [("dev", ["size", "complexity", "params", "doc_debt"]), ("prod", ["size", "complexity"])],
)
def test_resolve_from_config_wires_the_configured_features(
    name: str, features: list[str], dr_for: Any, profile: Any, sample_run: Any
) -> None:
    assert profile(name)["config"]["risk_features"] == features
    expected_nodes = [risk_selection.RISK_FEATURES[f] for f in features]
    assert node(dr_for(name), "function_risk_score").required_dependencies == set(expected_nodes)
    results = sample_run(name)
    expected = pd.concat([results[n] for n in expected_nodes], axis=1).mean(axis=1)
    pd.testing.assert_series_equal(results["function_risk_score"], expected, check_names=False)


def test_resolve_from_config_refuses_to_build_without_power_user_mode(
    build: Any, profile: Any
) -> None:
    with pytest.raises(InvalidDecoratorException, match="power user mode"):
        build(profile("base"), config={"hamilton.enable_power_user_mode": False})


def test_resolve_from_config_with_the_power_user_key_missing_raises(
    build: Any, profile: Any
) -> None:
    base = profile("base")
    del base["config"]["hamilton.enable_power_user_mode"]
    # Hamilton 1.90 surfaces this as a bare KeyError naming the key.
    with pytest.raises(KeyError, match=r"hamilton\.enable_power_user_mode"):
        build(base)


def test_resolve_from_config_rejects_unknown_features(build: Any, profile: Any) -> None:
    with pytest.raises(InvalidDecoratorException, match="risk_features"):
        build(profile("base"), config={"risk_features": ["size", "vibes"]})


# --- parameterize_frame (modules/core/risk.py) ----------------------------------------------


def test_parameterize_frame_creates_one_output_per_spec_row(dr_for: Any, sample_run: Any) -> None:
    dr, results = dr_for("base"), sample_run("base")
    spec = risk.RISK_VARIANTS
    for _, row in spec.iterrows():
        output = row[("risk", "out")]
        weight = row[("size_weight", "value")]
        assert node(dr, output).tags["semantic_id"] == f"function.{output}.v1"
        expected = (
            weight * results[row[("size", "source")]]
            + (1 - weight) * results[row[("complexity", "source")]]
        )
        pd.testing.assert_series_equal(results[output], expected, check_names=False)
    # the decorator also leaves one frame node per row behind
    assert {f"risk_variant__{i}" for i in range(len(spec))} <= names(dr)


# --- parameterize / parameterize_sources (modules/core/repo_rollup.py) ----------------------


def test_parameterize_and_parameterize_sources(dr_for: Any, sample_run: Any) -> None:
    results = sample_run("base")
    assert results["repo_mean_complexity"] == pytest.approx(results["function_complexity"].mean())
    assert results["repo_doc_coverage"] == pytest.approx(results["function_has_docstring"].mean())
    assert results["repo_public_share"] == pytest.approx(results["function_is_public"].mean())
    doc = node(dr_for("base"), "repo_doc_coverage").documentation
    assert "function_has_docstring" in doc  # the docstring template was filled per output


# --- module overrides (modules/overrides/recalibration.py) ----------------------------------


def test_override_layer_node_wins(dr_for: Any, sample_run: Any) -> None:
    assert sample_run("base")["risk_alert_threshold"] == 1.0  # core
    assert sample_run("dev")["risk_alert_threshold"] == 0.8  # overrides layer
    winner = node(dr_for("dev"), "risk_alert_threshold")
    assert [f.__module__ for f in winner.originating_functions] == [
        "modules.overrides.recalibration"
    ]
    assert winner.tags["version"] == "2"
    assert (
        winner.tags["semantic_id"]
        == node(dr_for("base"), "risk_alert_threshold").tags["semantic_id"]
    )


def test_override_needs_module_overrides_allowed() -> None:
    from modules.core import risk as core_risk
    from modules.overrides import recalibration

    with pytest.raises(Exception, match="risk_alert_threshold"):
        driver.Builder().with_modules(core_risk, recalibration).build()


# --- Parallelizable / Collect (modules/plugins/parallel_scan.py) ----------------------------


def test_parallel_profile_matches_the_serial_one(dr_for: Any, sample_run: Any) -> None:
    assert {"source_file", "file_scan"} <= names(dr_for("parallel"))
    assert "source_file" not in names(dr_for("base"))
    serial, parallel = sample_run("base"), sample_run("parallel")
    assert parallel["scan_result"] == serial["scan_result"]
    assert parallel["repo_summary"] == serial["repo_summary"]
    for frame in ("function_scorecard", "module_scorecard"):
        pd.testing.assert_frame_equal(parallel[frame], serial[frame])


def test_parallel_profile_on_threads_matches_too(
    profile: Any, sample_root: Any, sample_run: Any
) -> None:
    loaded = profile("parallel")
    modules = [importlib.import_module(m) for ms in loaded["stack"].values() for m in ms]
    dr = (
        driver.Builder()
        .with_modules(*modules)
        .with_config(loaded["config"])
        .allow_module_overrides()
        .enable_dynamic_execution(allow_experimental_mode=True)
        .with_remote_executor(executors.MultiThreadingExecutor(max_tasks=4))
        .build()
    )
    threaded = dr.execute(["repo_summary"], inputs={"repo_root": str(sample_root)})
    assert threaded["repo_summary"] == sample_run("base")["repo_summary"]
