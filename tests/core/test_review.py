"""The review model: each change's status, the diagram's selection, the markdown's limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from semdag.core.diff import Lineage
from semdag.core.review import Acknowledged, classify, with_blast_radius
from semdag.core.review_markdown import MARKER, MAX_COMMENT, markdown, md_text
from semdag.core.rules import FAIL_ON, Severity, finding
from tests.review_cases import HOSTILE, big_review, small_review

REMOVED = finding("semantic-removed", "a.v1", "gone", node="a")
ADDED = finding("semantic-added", "b.v1", "new", node="b")
CODE = finding("code-changed", "c.v1", "code", node="c")
ACK = Acknowledged("on purpose", "2030-01-01")


@pytest.mark.parametrize(
    ("branch", "gate", "fail_on", "expected"),
    [
        # Not reported by the gate: accepted in the branch's baselines.
        ([REMOVED], [], "breaking", [("a.v1", "accepted", True)]),
        ([REMOVED], [REMOVED], "breaking", [("a.v1", "failing", True)]),
        ([ADDED], [ADDED], "breaking", [("b.v1", "pending", True)]),
        ([ADDED], [ADDED], "any", [("b.v1", "failing", True)]),
        (
            [CODE],
            [replace(CODE, severity=Severity.BREAKING)],
            "breaking",
            [("c.v1", "failing", True)],
        ),
        (
            [REMOVED],
            [replace(REMOVED, acknowledged=True)],
            "breaking",
            [("a.v1", "acknowledged", True)],
        ),
        # What only the gate reports is listed too.
        ([], [REMOVED], "never", [("a.v1", "pending", False)]),
        (
            [ADDED, REMOVED],
            [REMOVED],
            "breaking",
            [("a.v1", "failing", True), ("b.v1", "accepted", True)],
        ),
    ],
)
def test_classify(branch, gate, fail_on, expected):
    changes = classify(branch, gate, FAIL_ON[fail_on], {("semantic-removed", "a.v1"): ACK})
    assert [(c.finding.subject, c.status, c.in_branch) for c in changes] == expected
    for change in changes:
        assert (change.acknowledged is not None) == (change.status == "acknowledged")


def test_every_change_gets_its_blast_radius():
    old = Lineage.from_dependencies({"x": ["a"], "y": ["x"]}, {"y": ("y.v1", "team-y")})
    new = Lineage.from_dependencies({"z": ["c"]}, {"z": ("z.v1", "team-z")})
    out = with_blast_radius([REMOVED, CODE], old, new)
    assert [(f.affected, f.owners) for f in out] == [
        (("y.v1",), ("team-y",)),
        (("z.v1",), ("team-z",)),
    ]


def test_small_review_markdown(snapshot):
    text, fitted = markdown(small_review(), link="https://ci.example/run/1")
    assert text.startswith(MARKER + "\n")
    assert fitted.form == "nodes"
    assert text == snapshot


def test_a_2000_change_review_fits_a_comment():
    text, fitted = markdown(big_review(2000, 40))
    assert len(text) <= MAX_COMMENT
    assert fitted.form == "modules"


def test_the_table_shrinks_before_the_limit_is_passed():
    review = big_review(2000, 40)
    text, _ = markdown(review, max_chars=8_000)
    assert len(text) <= 8_000
    assert "more changes: see `review.json`" in text


def test_a_review_with_too_little_room_lists_modules():
    text, fitted = markdown(big_review(2000, 40), max_text=1_000)
    assert fitted.form == "list"
    assert "- gen.mod0: 50 changed" in text
    assert "```mermaid" not in text


@pytest.mark.parametrize("text", HOSTILE)
def test_md_text_is_one_safe_cell(text):
    cell = md_text(text)
    assert "<" not in cell and ">" not in cell
    assert "|" not in cell.replace("\\|", "")
    assert "\n" not in cell


def test_blast_radius_matches_the_lineage_walk_on_random_graphs():
    import random

    rng = random.Random(7)
    for _ in range(20):
        count = rng.randint(2, 60)
        deps = {f"n{i}": [f"n{j}" for j in range(i) if rng.random() < 0.1] for i in range(count)}
        if rng.random() < 0.3:  # a cycle, which validate reports; the walk must still end
            deps["n0"] = [f"n{count - 1}"]
        semantic = {
            f"n{i}": (f"s{i}.v1", rng.choice([None, "a", "b"]))
            for i in range(count)
            if rng.random() < 0.5
        }
        lineage = Lineage.from_dependencies(deps, semantic)
        found = [finding("code-changed", "x", "code", node=f"n{i}") for i in range(count)]
        for item in with_blast_radius(found, lineage, lineage):
            assert (item.affected, item.owners) == lineage.downstream_ids(item.node)


def test_review_json_document(snapshot):
    from semdag.core.review import review_document

    review = small_review()
    text, fitted = markdown(review)
    document = review_document(review, len(text), fitted.form, fitted.edges)
    assert document["counts"] == {"failing": 1, "pending": 1, "acknowledged": 1, "accepted": 1}
    assert document == snapshot
