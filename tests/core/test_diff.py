"""The change model as a table: (old registry, new registry, expected rule ids and severities)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from semdag.core.diff import Lineage, find_changes
from semdag.core.registry import Entry, Registry
from semdag.core.rules import RULES_BY_ID, Severity, apply_severities
from semdag.store.acknowledge import Acknowledgement, apply_acknowledgements

TAGS = {
    "layer": "semantic",
    "semantic_id": "f.risk.v1",
    "entity": "function",
    "grain": "per_function",
    "entity_keys": "repo,path,symbol",
    "join_keys": "repo,path",
    "dtype": "float64",
    "schema_ref": "semantic.function_risk_v1",
    "version": "1",
    "owner": "risk",
    "pii": "none",
}


def entry(**changes) -> Entry:
    base = Entry(
        semantic_id="f.risk.v1",
        node="risk",
        stack_layer="core",
        module="modules.core.risk",
        output_type="Series",
        tags=dict(TAGS),
        dependencies=("loc", "cyclo"),
        code_hash="h1",
    )
    tags = dict(base.tags)
    tags.update(changes.pop("tags", {}))
    return replace(base, tags=tags, **changes)


def reg(*entries: Entry) -> Registry:
    return Registry("dev", {e.semantic_id: e for e in entries})


ROWS = [
    ("semantic-removed", reg(entry()), reg(), [("semantic-removed", "breaking")]),
    ("semantic-added", reg(), reg(entry()), [("semantic-added", "additive")]),
    ("dtype", reg(entry()), reg(entry(tags={"dtype": "int64"})), [("dtype-changed", "breaking")]),
    (
        "entity",
        reg(entry()),
        reg(entry(tags={"entity": "module"})),
        [("entity-changed", "breaking")],
    ),
    (
        "grain",
        reg(entry()),
        reg(entry(tags={"grain": "per_module"})),
        [("grain-changed", "breaking")],
    ),
    (
        "entity-keys",
        reg(entry()),
        reg(entry(tags={"entity_keys": "repo,symbol"})),
        [("keys-changed", "breaking")],
    ),
    (
        "join-keys",
        reg(entry()),
        reg(entry(tags={"join_keys": "repo"})),
        [("keys-changed", "breaking")],
    ),
    (
        "schema-ref",
        reg(entry()),
        reg(entry(tags={"schema_ref": "semantic.x"})),
        [("schema-ref-changed", "breaking")],
    ),
    (
        "output-type",
        reg(entry()),
        reg(entry(output_type="DataFrame")),
        [("output-type-changed", "breaking")],
    ),
    (
        "code",
        reg(entry()),
        reg(entry(code_hash="h2")),
        [("code-changed", "warning")],
    ),
    (
        "version-bump",
        reg(entry()),
        reg(entry(code_hash="h2", tags={"version": "2"})),
        [("version-bumped", "info")],
    ),
    (
        "rename",
        reg(entry()),
        reg(entry(node="risk_score")),
        [("node-renamed", "info")],
    ),
    (
        "provider-layer",
        reg(entry()),
        reg(entry(stack_layer="overrides", module="modules.overrides.x")),
        [("provider-changed", "warning")],
    ),
    (
        "same-layer-other-module",
        reg(entry()),
        reg(entry(module="modules.core.other")),
        [("provider-changed", "warning")],
    ),
    (
        "dependencies",
        reg(entry()),
        reg(entry(dependencies=("loc",))),
        [("dependencies-changed", "warning")],
    ),
    ("other-tag", reg(entry()), reg(entry(tags={"owner": "platform"})), [("tags-changed", "info")]),
    (
        "tag-added",
        reg(entry()),
        reg(entry(tags={"stability": "stable"})),
        [("tags-changed", "info")],
    ),
    # Nothing to report:
    ("identical", reg(entry()), reg(entry()), []),
    ("docstring-or-comment-edit", reg(entry()), reg(entry()), []),
    ("dependency-order", reg(entry()), reg(entry(dependencies=("cyclo", "loc"))), []),
    (
        "keys-as-list",
        reg(entry()),
        reg(entry(tags={"entity_keys": ["repo", "path", "symbol"]})),
        [],
    ),
    (
        "two-changes",
        reg(entry()),
        reg(entry(tags={"dtype": "int64", "grain": "per_module"})),
        [("dtype-changed", "breaking"), ("grain-changed", "breaking")],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_change_table(old, new, expected):
    found = find_changes(old, new)
    assert [(f.rule, f.severity.value) for f in found] == expected
    for f in found:
        assert f.subject in set(old.entries) | set(new.entries)
        assert RULES_BY_ID[f.rule].severity == f.severity


def test_diff_of_a_registry_with_itself_is_empty():
    r = reg(entry(), entry(semantic_id="f.other.v1", node="other"))
    assert find_changes(r, r) == []


def test_findings_sorted_by_subject_then_rule():
    old = reg(entry(), entry(semantic_id="a.first.v1", node="first"))
    new = reg(entry(tags={"dtype": "int64", "owner": "x"}))
    found = find_changes(old, new)
    assert [(f.subject, f.rule) for f in found] == [
        ("a.first.v1", "semantic-removed"),
        ("f.risk.v1", "dtype-changed"),
        ("f.risk.v1", "tags-changed"),
    ]


def test_blast_radius_lists_downstream_semantic_ids_and_owners():
    lineage = Lineage.from_dependencies(
        {"risk": ("loc",), "mid": ("risk",), "agg": ("mid",), "other": ()},
        {
            "risk": ("f.risk.v1", "risk"),
            "agg": ("repo.agg.v1", "platform"),
            "other": ("x.other.v1", None),
        },
    )
    found = find_changes(reg(entry()), reg(entry(tags={"dtype": "int64"})), new_lineage=lineage)
    assert found[0].affected == ("repo.agg.v1",)
    assert found[0].owners == ("platform",)


def test_severity_overrides_and_off():
    found = find_changes(reg(entry()), reg(entry(tags={"dtype": "int64", "owner": "x"})))
    adjusted = apply_severities(found, {"dtype-changed": "warning", "tags-changed": "off"})
    assert [(f.rule, f.severity) for f in adjusted] == [("dtype-changed", Severity.WARNING)]


def ack(rule, sid, expires):
    return Acknowledgement(rule, sid, "agreed with consumers", expires, 3)


def test_acknowledged_finding_does_not_fail_until_it_expires():
    found = find_changes(reg(entry()), reg(entry(tags={"dtype": "int64"})))
    today = dt.date(2026, 1, 10)
    live = apply_acknowledgements(
        found,
        [ack("dtype-changed", "f.risk.v1", dt.date(2026, 2, 1))],
        "snapshots/acknowledged.yaml",
        on=today,
    )
    assert [(f.rule, f.acknowledged, f.fails(3)) for f in live] == [("dtype-changed", True, False)]
    expired = apply_acknowledgements(
        found,
        [ack("dtype-changed", "f.risk.v1", dt.date(2026, 1, 9))],
        "snapshots/acknowledged.yaml",
        on=today,
    )
    assert sorted((f.rule, f.fails(3)) for f in expired) == [
        ("acknowledgement-expired", True),
        ("dtype-changed", True),
    ]


def test_acknowledgement_is_keyed_by_rule_and_id_not_rule_alone():
    found = find_changes(reg(entry()), reg(entry(tags={"dtype": "int64"})))
    result = apply_acknowledgements(
        found,
        [ack("dtype-changed", "other.id", dt.date(2099, 1, 1))],
        "a.yaml",
        on=dt.date(2026, 1, 1),
    )
    assert sorted((f.rule, f.acknowledged) for f in result) == [
        ("acknowledgement-unused", False),
        ("dtype-changed", False),
    ]
    unused = next(f for f in result if f.rule == "acknowledgement-unused")
    assert unused.severity is Severity.WARNING and unused.line == 3


def test_code_hashes_of_different_schemes_are_not_compared():
    from semdag.core.registry import LEGACY_HASH_SCHEME

    legacy = Registry("dev", {"f.risk.v1": entry(code_hash="old")}, hash_scheme=LEGACY_HASH_SCHEME)
    assert find_changes(legacy, reg(entry(code_hash="new"))) == []
    assert [f.rule for f in find_changes(reg(entry(code_hash="old")), reg(entry()))] == [
        "code-changed"
    ]
