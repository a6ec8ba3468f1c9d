"""Three-way merge of baseline documents: a table of (base, ours, theirs, merged, conflicts)."""

from __future__ import annotations

import pytest

from semdag.core.merge import MISSING, describe, merge3

E = {"node": "a", "tags": {"dtype": "int"}, "dependencies": ["x"]}


def entry(**changes: object) -> dict[str, object]:
    return {**E, **changes}


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged", "conflicts"),
    [
        # Entries whose ids sort next to each other, added on each side.
        (
            {"entries": {}},
            {"entries": {"c.max.v1": E}},
            {"entries": {"c.last.v1": E}},
            {"entries": {"c.last.v1": E, "c.max.v1": E}},
            [],
        ),
        # One side changes an entry, the other removes another.
        (
            {"entries": {"a": E, "b": E}},
            {"entries": {"a": entry(node="a2"), "b": E}},
            {"entries": {"a": E}},
            {"entries": {"a": entry(node="a2")}},
            [],
        ),
        # Different fields of one entry: both kept.
        (
            {"entries": {"a": E}},
            {"entries": {"a": entry(node="a2")}},
            {"entries": {"a": entry(tags={"dtype": "int64"})}},
            {"entries": {"a": entry(node="a2", tags={"dtype": "int64"})}},
            [],
        ),
        # The same change on both sides.
        ({"v": 1}, {"v": 2}, {"v": 2}, {"v": 2}, []),
        # Edges: sorted sets, merged member by member and kept sorted.
        (
            {"edges": [["a", "b"], ["c", "d"]]},
            {"edges": [["a", "b"], ["b", "z"], ["c", "d"]]},
            {"edges": [["a", "b"]]},
            {"edges": [["a", "b"], ["b", "z"]]},
            [],
        ),
        # Both sides changed one field differently: a conflict, ours kept.
        (
            {"entries": {"a": E}},
            {"entries": {"a": entry(node="n1")}},
            {"entries": {"a": entry(node="n2")}},
            {"entries": {"a": entry(node="n1")}},
            ["entries.a.node"],
        ),
        # Changed on one side, removed on the other.
        (
            {"entries": {"a": E}},
            {"entries": {"a": entry(node="n1")}},
            {"entries": {}},
            {"entries": {"a": entry(node="n1")}},
            ["entries.a"],
        ),
        # The same id added on both sides with different contents: not merged field by field.
        (
            {"entries": {}},
            {"entries": {"a": entry(node="n1")}},
            {"entries": {"a": entry(tags={})}},
            {"entries": {"a": entry(node="n1")}},
            ["entries.a"],
        ),
        # 1 and True are different values in a baseline.
        ({"v": 0}, {"v": 1}, {"v": True}, {"v": 1}, ["v"]),
        # A file added on both sides (no base): merged as when the base was empty.
        (MISSING, {"entries": {"a": E}}, {"entries": {"b": E}}, {"entries": {"a": E, "b": E}}, []),
        # Lists that are not sorted sets are not merged member by member.
        ({"l": [2, 1]}, {"l": [2, 1, 3]}, {"l": [1]}, {"l": [2, 1, 3]}, ["l"]),
    ],
)
def test_merge3(base, ours, theirs, merged, conflicts):
    assert merge3(base, ours, theirs) == (merged, conflicts)
    # Symmetric where it is clean.
    if not conflicts:
        assert merge3(base, theirs, ours) == (merged, [])


def test_describe_bounds_the_list():
    assert describe(["a", "b"]) == "a, b"
    assert describe([str(n) for n in range(7)], limit=2) == "0, 1 and 5 more"
