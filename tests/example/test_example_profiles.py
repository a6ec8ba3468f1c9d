"""Profiles and the semantic registry they produce: taxonomy, uniqueness, layering, outputs."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from hamilton import driver
from hamilton.io.materialization import to

from modules.lib import taxonomy

PROFILES = ["base", "dev", "prod", "parallel"]
CONTRACT_KEYS = {
    "extends", "stack", "layers", "config", "inputs", "overrides", "outputs", "registry",
    "rules", "execution", "cache", "materializers",
}  # fmt: skip
FULL_TAXONOMY = {
    "layer", "semantic_id", "entity", "grain", "entity_keys", "join_keys", "dtype",
    "schema_ref", "version", "owner", "stability", "pii",
}  # fmt: skip
# dtype tag -> Python types a node of that dtype may declare and return
# Element dtype -> the scalar types of one value; a Series holds values of it (checked by
# its pandas dtype kind) and a frame holds records.
DTYPE_TYPES: dict[str, tuple[type, ...]] = {
    "int64": (int,),
    "float": (float,),
    "json": (dict, list),
    "str": (str,),
    "bool": (bool,),
    "record": (pd.DataFrame, pl.DataFrame),
}
DTYPE_KINDS = {"int64": "i", "float": "f", "str": "O", "bool": "b"}
CONTAINERS = (pd.Series, pd.DataFrame, pl.DataFrame)


def semantic_nodes(dr: driver.Driver) -> list[Any]:
    return dr.list_available_variables(tag_filter={"layer": "semantic"})


def declared_type(var: Any) -> type:
    return getattr(var.type, "__origin__", var.type)


@pytest.mark.parametrize("name", PROFILES)
def test_profile_uses_only_contract_keys_and_importable_layers(name: str, profile: Any) -> None:
    loaded = profile(name)
    assert set(loaded) <= CONTRACT_KEYS
    for layer, modules in loaded["stack"].items():
        assert modules, f"layer {layer} names no module"
        for module in modules:
            importlib.import_module(module)


@pytest.mark.parametrize("name", PROFILES)
def test_semantic_ids_are_unique_and_well_formed(name: str, dr_for: Any) -> None:
    nodes = semantic_nodes(dr_for(name))
    ids = [v.tags["semantic_id"] for v in nodes]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 15 <= len(ids) <= 30
    assert all(taxonomy.SEMANTIC_ID_PATTERN.match(i) and re.search(r"\.v\d+$", i) for i in ids)
    assert {i.split(".")[0] for i in ids} == {"function", "module", "repo"}


@pytest.mark.parametrize("name", PROFILES)
def test_every_semantic_node_has_the_full_taxonomy(name: str, dr_for: Any) -> None:
    for var in semantic_nodes(dr_for(name)):
        tags = var.tags
        missing = FULL_TAXONOMY - set(tags)
        assert not missing, f"{var.name} lacks {sorted(missing)}"
        assert tags["entity"] in taxonomy.GRAINS
        assert tags["grain"] == taxonomy.GRAINS[tags["entity"]]
        assert tags["entity_keys"] == taxonomy.ENTITY_KEYS[tags["entity"]]
        assert tags["dtype"] in taxonomy.DTYPES
        assert tags["stability"] in taxonomy.STABILITIES
        assert tags["pii"] in taxonomy.PII_LEVELS
        assert tags["version"].isdigit() and int(tags["version"]) >= 1
        assert tags["schema_ref"].startswith("semantic.")
        assert tags["semantic_id"].split(".")[0] == tags["entity"]
        declared = declared_type(var)
        assert issubclass(declared, (*DTYPE_TYPES[tags["dtype"]], *CONTAINERS)), var.name
        if not issubclass(declared, CONTAINERS):
            assert issubclass(declared, DTYPE_TYPES[tags["dtype"]]), var.name


@pytest.mark.parametrize("name", PROFILES)
def test_semantic_values_match_their_dtype(name: str, dr_for: Any, sample_run: Any) -> None:
    results = sample_run(name)
    for var in semantic_nodes(dr_for(name)):
        value, dtype = results[var.name], var.tags["dtype"]
        if isinstance(value, pd.Series):
            assert value.dtype.kind == DTYPE_KINDS[dtype], var.name
            continue
        assert isinstance(value, DTYPE_TYPES[dtype]), var.name
        assert not isinstance(value, bool) or dtype == "bool", var.name
        if var.tags["dtype"] == "json":
            json.dumps(value)


@pytest.mark.parametrize("name", PROFILES)
def test_every_node_function_is_documented(name: str, dr_for: Any) -> None:
    for var in dr_for(name).list_available_variables():
        for fn in var.originating_functions or ():
            assert (fn.__doc__ or "").strip(), f"{fn.__module__}.{fn.__qualname__}"


@pytest.mark.parametrize("name", PROFILES)
def test_no_config_key_shadows_a_node(name: str, profile: Any) -> None:
    loaded = profile(name)
    # Built without the profile's config: a key named like a node would hide that node.
    neutral = {"hamilton.enable_power_user_mode": True, "risk_features": ["size"]}
    defined = set().union(
        *(_defined_names(m, neutral) for ms in loaded["stack"].values() for m in ms)
    )
    assert not defined & set(loaded["config"])


def test_profiles_differ_where_intended(dr_for: Any) -> None:
    ids = {name: {v.tags["semantic_id"] for v in semantic_nodes(dr_for(name))} for name in PROFILES}
    assert ids["prod"] == ids["base"] == ids["parallel"]
    assert ids["dev"] - ids["base"] == {
        "function.shape_features.v1",
        "function.public_undocumented.v1",
    }


def _defined_names(module_name: str, config: dict[str, Any]) -> set[str]:
    module = importlib.import_module(module_name)
    dr = driver.Builder().with_modules(module).with_config(config).build()
    return {v.name for v in dr.list_available_variables() if not v.is_external_input}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("base", {}),
        ("prod", {"risk_alert_threshold": ("core", "overrides")}),
        ("dev", {"risk_alert_threshold": ("core", "overrides")}),
        ("parallel", {"scan_result": ("core", "fanout")}),
    ],
)
def test_only_layers_that_allow_it_override(
    name: str, expected: dict[str, tuple[str, str]], profile: Any
) -> None:
    loaded = profile(name)
    policy = loaded.get("layers", {})
    first_layer: dict[str, str] = {}
    ledger: dict[str, tuple[str, str]] = {}
    for layer, modules in loaded["stack"].items():
        for module in modules:
            for node_name in _defined_names(module, loaded["config"]):
                if node_name in first_layer:
                    allowed = policy.get(layer, {}).get("allow_overrides", layer == "overrides")
                    assert allowed, f"{module} ({layer}) overrides {node_name}"
                    ledger[node_name] = (first_layer[node_name], layer)
                else:
                    first_layer[node_name] = layer
    assert ledger == expected


@pytest.mark.parametrize("name", PROFILES)
def test_profile_runs_with_only_its_own_inputs(name: str, dr_for: Any, profile: Any) -> None:
    dr = dr_for(name)
    outputs = [v.name for v in semantic_nodes(dr)]
    results = dr.execute(outputs, inputs=profile(name)["inputs"])
    assert results["repo_summary"]["source_files"] >= 1


def test_prod_materializers_are_declared_sensibly(profile: Any, dr_for: Any) -> None:
    entries = profile("prod")["materializers"]
    available = {v.name: v for v in dr_for("prod").list_available_variables()}
    assert len({e["id"] for e in entries}) == len(entries)
    for entry in entries:
        assert hasattr(to, entry["to"]), entry
        path = Path(entry["path"])
        assert not path.is_absolute() and path.parts[0] == "out"
        for dep in entry["dependencies"]:
            assert available[dep].tags["layer"] == "semantic"


def test_prod_materializers_write_files(
    dr_for: Any, profile: Any, sample_root: Path, tmp_path: Path
) -> None:
    savers = []
    for entry in profile("prod")["materializers"]:
        kwargs = {k: v for k, v in entry.items() if k not in {"id", "to", "dependencies", "path"}}
        saver = getattr(to, entry["to"])
        savers.append(
            saver(
                id=entry["id"],
                dependencies=entry["dependencies"],
                path=str(tmp_path / entry["path"]),
                **kwargs,
            )
        )
    (tmp_path / "out").mkdir()
    dr_for("prod").materialize(*savers, inputs={"repo_root": str(sample_root)})
    scorecard = pd.read_csv(tmp_path / "out" / "function_scorecard.csv")
    assert list(scorecard.columns[:3]) == ["repo", "path", "symbol"]
    assert "tests/test_core.py" not in set(scorecard["path"])  # prod cleans strictly
    summary = json.loads((tmp_path / "out" / "repo_summary.json").read_text())
    assert summary["unparsed_files"] == 1
    parquet = pd.read_parquet(tmp_path / "out" / "function_scorecard.parquet")
    assert len(parquet) == len(scorecard)
