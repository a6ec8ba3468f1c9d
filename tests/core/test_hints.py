"""What reports tell the reader to do, and how they show values: hints that work when
followed, and tag values that cannot be misread."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from semdag.app.scaffold import _ACKNOWLEDGED
from semdag.core.diff import compare_entries
from semdag.core.registry import Entry
from semdag.core.report import REASON_PLACEHOLDER, next_steps
from semdag.core.rules import finding
from semdag.store.acknowledge import load_acknowledgements
from tests.conftest import ROOT

TODAY = dt.date(2030, 1, 1)


def breaking(sid: str):
    return finding("dtype-changed", sid, f"{sid}: dtype changed")


def test_the_acknowledgement_hint_pasted_into_the_scaffolded_file_is_read(tmp_path: Path):
    steps = next_steps([("dev", [breaking("a.b.v1")])], 3, today=TODAY)
    # The reader replaces the placeholder reason with a real one, as the hint asks.
    pasted = [line.replace(REASON_PLACEHOLDER, "readers moved") for line in steps.yaml()]
    # As the text report prints them (indented two spaces), pasted at the end of the file.
    path = tmp_path / "acknowledged.yaml"
    path.write_text(_ACKNOWLEDGED + "".join(f"  {line}\n" for line in pasted))
    (item,) = load_acknowledgements(path, "snapshots/acknowledged.yaml")
    assert (item.rule, item.semantic_id) == ("dtype-changed", "a.b.v1")
    # As the markdown report prints them (not indented).
    path.write_text(_ACKNOWLEDGED + "".join(f"{line}\n" for line in pasted))
    assert len(load_acknowledgements(path, "snapshots/acknowledged.yaml")) == 1


def test_under_all_one_update_command_accepts_every_profile():
    comparisons = [
        ("dev", [breaking("a.b.v1")]),
        ("prod", [breaking("a.b.v1")]),
        ("parallel", []),
    ]
    steps = next_steps(
        comparisons,
        3,
        today=TODAY,
        update_command="semdag snapshot update -p {profile}",
        update_all="semdag snapshot update --all",
    )
    assert steps.update == ("semdag snapshot update --all",)
    one = next_steps(
        comparisons[:1], 3, today=TODAY, update_command="semdag snapshot update -p {profile}"
    )
    assert one.update == ("semdag snapshot update -p dev",)


def entry(**tags: str) -> Entry:
    return Entry("a.b.v1", "b", "core", "m", "int", tags, (), "h")


def test_a_tag_whose_value_reads_as_nothing_is_quoted():
    added = [f.message for f in compare_entries("a.b.v1", entry(), entry(pii="none"))]
    assert added == ["tag pii added: 'none'"]
    removed = [f.message for f in compare_entries("a.b.v1", entry(pii="yes"), entry())]
    assert removed == ["tag pii removed (was yes)"]
    changed = [f.message for f in compare_entries("a.b.v1", entry(pii="none"), entry(pii="yes"))]
    assert changed == ["tag pii changed: 'none' -> yes"]


def test_the_cookbook_uses_only_dtypes_the_example_taxonomy_accepts():
    # Read from the source: other tests import fixture projects whose package is also `modules`.
    taxonomy = (ROOT / "modules" / "lib" / "taxonomy.py").read_text(encoding="utf-8")
    DTYPES = set(re.findall(r'"(\w+)"', re.search(r"DTYPES = frozenset\(\{(.*?)\}", taxonomy)[1]))
    text = (ROOT / "docs" / "cookbook.md").read_text(encoding="utf-8")
    used = set(re.findall(r'semantic_tags\("[^"]+", "[^"]+", "([^"]+)"', text))
    used |= set(re.findall(r'contract_tags\("[^"]+", "([^"]+)"', text))
    assert used and used <= DTYPES, used - DTYPES
    assert "`series` for" not in text
