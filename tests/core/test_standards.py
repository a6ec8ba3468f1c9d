"""The mapping of registry entries onto the open standards' vocabularies (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from semdag.core.registry import Entry, Registry
from semdag.core.standards import (
    contract_status,
    contract_version,
    foreign_keys,
    json_schema_bundle,
    json_type,
    odcs_logical_type,
    odcs_type_options,
    stable_id,
    tables,
    value_schema,
)


def entry(sid: str, **tags: Any) -> Entry:
    return Entry(
        semantic_id=sid,
        node=sid.split(".")[1],
        stack_layer="core",
        module="modules.m",
        output_type=tags.pop("output_type", "Series"),
        tags={"semantic_id": sid, **tags},
        dependencies=(),
        code_hash=None,
    )


def registry(*entries: Entry) -> Registry:
    return Registry("dev", {e.semantic_id: e for e in entries})


@pytest.mark.parametrize(
    ("dtype", "logical", "key_logical", "schema"),
    [
        ("int64", "integer", "integer", {"type": "integer"}),
        ("uint8", "integer", "integer", {"type": "integer", "minimum": 0}),
        ("float", "number", "number", {"type": "number"}),
        ("decimal(10, 2)", "number", "number", {"type": "number"}),
        ("str", "string", "string", {"type": "string"}),
        ("category", "string", "string", {"type": "string"}),
        ("bool", "boolean", "boolean", {"type": "boolean"}),
        ("datetime", "timestamp", "timestamp", {"type": "string", "format": "date-time"}),
        ("date", "date", "date", {"type": "string", "format": "date"}),
        ("time", "time", "time", {"type": "string", "format": "time"}),
        ("duration", "string", "string", {"type": "string", "format": "duration"}),
        ("bytes", "string", "string", {"type": "string", "contentEncoding": "base64"}),
        ("record", "object", "object", {"type": "object"}),
        ("list", "array", "array", {"type": "array"}),
        ("json", "object", "string", {}),
        ("money", "object", "string", {}),  # a project's own name: no claim
        (None, "object", "string", {}),
    ],
)
def test_dtype_vocabulary_maps_onto_each_standard(
    dtype: str | None, logical: str, key_logical: str, schema: dict[str, Any]
) -> None:
    assert odcs_logical_type(dtype) == logical
    assert odcs_logical_type(dtype, key=True) == key_logical
    assert json_type(dtype) == schema


def test_types_odcs_has_no_name_for_say_their_text_format() -> None:
    assert odcs_type_options("timedelta") == {"format": "duration"}
    assert odcs_type_options("binary") == {"format": "byte"}
    assert odcs_type_options("int64") is None


def test_stable_id_is_one_to_one_and_odcs_safe() -> None:
    assert stable_id("function.risk_score.v1") == "function-risk_score-v1"
    assert stable_id("a.b_c") != stable_id("a_b.c")


@pytest.mark.parametrize(
    ("stabilities", "status"),
    [
        (["stable", "experimental"], "active"),
        (["experimental", "experimental"], "draft"),
        (["deprecated", "deprecated"], "deprecated"),
        (["deprecated", "stable"], "active"),
        ([None], "active"),
    ],
)
def test_contract_status_follows_stability(stabilities: list[str | None], status: str) -> None:
    entries = [
        entry(f"x.e{i}.v1", **({"stability": s} if s else {})) for i, s in enumerate(stabilities)
    ]
    assert contract_status(entries) == status


def test_contract_version_is_the_highest_entry_version() -> None:
    assert contract_version([entry("x.a.v1", version="1"), entry("x.b.v2", version="3")]) == "3.0.0"
    assert contract_version([entry("x.a.v1")]) == "1.0.0"


def test_tables_group_by_entity_grain_and_keys() -> None:
    found = tables(
        registry(
            entry("order.amount.v1", entity="order", grain="per_order", entity_keys="order_id"),
            entry("order.total.v1", entity="order", grain="per_order", entity_keys="order_id"),
            entry("order.daily.v1", entity="order", grain="per_day", entity_keys="day"),
            entry("shop.revenue.v1", entity="shop", grain="per_shop", entity_keys="shop_id"),
            entry("loose.value.v1"),
        )
    )
    assert [(t.name, [e.semantic_id for e in t.entries]) for t in found] == [
        ("loose_value_v1", ["loose.value.v1"]),
        ("order_per_day", ["order.daily.v1"]),
        ("order_per_order", ["order.amount.v1", "order.total.v1"]),
        ("shop", ["shop.revenue.v1"]),
    ]
    assert found[2].entity_keys == ("order_id",)


def test_foreign_keys_are_join_keys_that_hold_another_tables_entity_keys() -> None:
    groups = tables(
        registry(
            entry(
                "line.qty.v1",
                entity="line",
                grain="per_line",
                entity_keys="order_id,line_no",
                join_keys="order_id,line_no,shop_id",
            ),
            entry("order.total.v1", entity="order", grain="per_order", entity_keys="order_id"),
            entry("shop.revenue.v1", entity="shop", grain="per_shop", entity_keys="shop_id"),
        )
    )
    assert foreign_keys(groups) == [
        ("line", ("order_id",), "order"),
        ("line", ("shop_id",), "shop"),
    ]
    line = groups[0]
    assert line.key_columns == ("order_id", "line_no", "shop_id")


def test_value_schema_types_one_value_and_annotates_keys_and_tags() -> None:
    e = entry(
        "order.row.v1",
        output_type="DataFrame",
        dtype="record",
        entity="order",
        entity_keys="order_id",
        join_keys="order_id,shop_id",
        columns="amount:float, placed:datetime",
        owner="shop-team",
    )
    schema = value_schema(e, "dev", "  One row per order.\n")
    assert schema["$id"] == "urn:semdag:dev:order.row.v1"
    assert schema["description"] == "One row per order."
    assert schema["type"] == "object"
    assert schema["properties"] == {
        "amount": {"type": "number"},
        "order_id": {},
        "placed": {"type": "string", "format": "date-time"},
        "shop_id": {},
    }
    assert schema["required"] == ["order_id", "shop_id"]
    assert schema["x-semdag-entity-keys"] == ["order_id"]
    assert schema["x-semdag-join-keys"] == ["order_id", "shop_id"]
    assert schema["x-semdag-tags"]["owner"] == "shop-team"
    assert schema["x-semdag-output-type"] == "DataFrame"


def test_json_schema_bundle_embeds_one_resource_per_semantic_id() -> None:
    bundle = json_schema_bundle(
        registry(entry("b.x.v1", dtype="int64"), entry("a.y.v1", dtype="str")), {"a.y.v1": "Y."}
    )
    assert bundle["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(bundle["$defs"]) == ["a.y.v1", "b.x.v1"]
    assert bundle["$defs"]["b.x.v1"]["$id"] == "urn:semdag:dev:b.x.v1"
    assert "description" not in bundle["$defs"]["b.x.v1"]
