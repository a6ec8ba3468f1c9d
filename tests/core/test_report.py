"""The gate's reports: golden outputs of every format, findings grouped across profiles, and
what a failing report says to do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from semdag.core.errors import ConfigError
from semdag.core.report import (
    REASON_PLACEHOLDER,
    github_error,
    group,
    next_steps,
    render_comparisons,
)
from semdag.core.rules import finding
from semdag.store.acknowledge import load_acknowledgements

TODAY = dt.date(2030, 1, 1)
OLD_HASH = "0123456789abcdef" * 4
NEW_HASH = "fedcba9876543210" * 4


def findings(profile: str) -> list:
    """One of each kind a report shows; the graph drift names the profile's own graph.json."""
    return sorted(
        [
            finding(
                "dtype-changed",
                "store.revenue.v1",
                "tag dtype changed: float -> int",
                old="float",
                new="int",
                file="shop_mods/shop.py",
                line=10,
                affected=("store.margin.v1", "store.profit.v1"),
                owners=("finance",),
            ),
            finding(
                "code-changed",
                "store.units.v1",
                "the code changed but the version tag did not",
                old=OLD_HASH,
                new=NEW_HASH,
                file="shop_mods/shop.py",
                line=4,
            ),
            finding("semantic-added", "store.tax.v1", "store.tax.v1 is new (node tax)"),
            finding(
                "graph-changed",
                "(graph)",
                "the execution graph differs from graph.json: 1 changed: doubled (tag team)",
                file=f"snapshots/{profile}/graph.json",
            ),
        ],
        key=lambda f: f.sort_key(),
    )


SINGLE = [("dev", findings("dev"))]
MULTI = [("dev", findings("dev")), ("prod", findings("prod")), ("empty", [])]


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit"])
@pytest.mark.parametrize("case", ["single", "multi"])
def test_failing_report_golden(fmt, case, snapshot):
    comparisons = SINGLE if case == "single" else MULTI
    steps = next_steps(
        comparisons, 3, today=TODAY, update_command="semdag snapshot update -p {profile}"
    )
    assert render_comparisons(comparisons, fmt, 3, steps) == snapshot


def test_a_finding_in_several_profiles_is_shown_once_naming_them():
    items = group(MULTI)
    assert len(items) == 4  # not 8
    by_rule = {item.finding.rule: item for item in items}
    assert by_rule["dtype-changed"].profiles == ("dev", "prod")
    # The profile's own baseline file does not tell two findings apart.
    assert by_rule["graph-changed"].finding.file == "snapshots/<profile>/graph.json"
    # Most severe first.
    assert [i.finding.rule for i in items] == [
        "dtype-changed",
        "code-changed",
        "semantic-added",
        "graph-changed",
    ]


def test_a_finding_in_one_profile_keeps_its_own_file():
    other = [f for f in findings("prod") if f.rule != "graph-changed"]
    items = group([("dev", findings("dev")), ("prod", other)])
    (drift,) = [i for i in items if i.finding.rule == "graph-changed"]
    assert (drift.profiles, drift.finding.file) == (("dev",), "snapshots/dev/graph.json")


def test_code_changed_shows_short_hashes():
    text = render_comparisons(SINGLE, "text")
    assert f"{OLD_HASH[:12]} -> {NEW_HASH[:12]}" in text
    assert OLD_HASH not in text
    markdown = render_comparisons(SINGLE, "markdown")
    assert f"| {OLD_HASH[:12]} -> {NEW_HASH[:12]} |" in markdown


def test_markdown_rows_are_sorted_breaking_first_with_affects_and_owners():
    rows = [ln for ln in render_comparisons(SINGLE, "markdown").splitlines() if "| `" in ln]
    assert [row.split(" | ")[0] for row in rows] == [
        "| breaking",
        "| warning",
        "| additive",
        "| info",
    ]
    assert "| `store.margin.v1`, `store.profit.v1` | finance |" in rows[0]


def test_next_steps_accept_or_acknowledge_what_fails():
    steps = next_steps(SINGLE, 3, today=TODAY, update_command="semdag snapshot update -p {profile}")
    assert steps.update == ("semdag snapshot update -p dev",)
    # Only the failing (breaking) finding gets an entry, expiring in 30 days.
    assert [dict(e) for e in steps.acknowledge] == [
        {
            "rule": "dtype-changed",
            "semantic_id": "store.revenue.v1",
            "reason": REASON_PLACEHOLDER,
            "expires": "2030-01-31",
        }
    ]
    assert not next_steps(SINGLE, 99, today=TODAY)  # --fail-on never: nothing to do
    # Every profile of several needs it: one command for all.
    every = next_steps(
        MULTI[:2],
        3,
        today=TODAY,
        update_command="semdag snapshot update -p {profile}",
        update_all="semdag snapshot update --all",
    )
    assert every.update == ("semdag snapshot update --all",)


def test_the_suggested_entry_pastes_and_is_refused_until_it_says_why(tmp_path: Path):
    steps = next_steps(SINGLE, 3, today=TODAY)
    path = tmp_path / "acknowledged.yaml"
    path.write_text("acknowledged:\n" + "".join(f"  {ln}\n" for ln in steps.yaml()))
    assert yaml.safe_load(path.read_text())["acknowledged"][0]["rule"] == "dtype-changed"
    with pytest.raises(ConfigError, match="reason is still the suggested placeholder"):
        load_acknowledgements(path, "snapshots/acknowledged.yaml")
    path.write_text(path.read_text().replace(REASON_PLACEHOLDER, "readers take ints"))
    (ack,) = load_acknowledgements(path, "snapshots/acknowledged.yaml")
    assert (ack.rule, ack.semantic_id, ack.expires) == (
        "dtype-changed",
        "store.revenue.v1",
        dt.date(2030, 1, 31),
    )


def test_github_error_annotation_carries_file_and_hint():
    line = github_error(
        "snapshot check",
        {
            "message": "no baseline: the file does not exist",
            "file": "snapshots/dev/registry.json",
            "line": None,
            "hint": "run `semdag snapshot update`",
        },
    )
    assert line == (
        "::error file=snapshots/dev/registry.json,title=semdag snapshot check::"
        "no baseline: the file does not exist%0Ahint: run `semdag snapshot update`\n"
    )
