"""Mermaid text: safe labels, the forms a diagram takes within the limits, determinism."""

from __future__ import annotations

import html
import re

import pytest

from semdag.core.changes import ChangeSet
from semdag.core.mermaid import (
    Diagram,
    DiagramEdge,
    DiagramNode,
    diagram_of,
    fit,
    flowchart,
    label_text,
    module_flowchart,
)
from tests.review_cases import HOSTILE, TAG_FILTER, big_review, ghost, model, node, small_review

LABEL_ALPHABET = re.compile(r"[A-Za-z0-9 _.,:/()+=#;]*")


@pytest.mark.parametrize("text", HOSTILE)
def test_labels_are_plain_ascii_that_means_the_same_text(text):
    label = label_text(text)
    assert LABEL_ALPHABET.fullmatch(label)
    for token in ('"', "[", "]", "%%", "-->", "<", ">", "`", "|"):
        assert token not in label
    decoded = html.unescape(re.sub(r"#(\d+);", r"&#\1;", label))
    assert decoded == text


def test_long_labels_are_shortened():
    assert html.unescape(re.sub(r"#(\d+);", r"&#\1;", label_text("x" * 200))) == "x" * 79 + "…"


def test_small_change_flowchart(snapshot):
    text, edges = flowchart(small_review().diagram)
    assert edges == 5
    assert text == snapshot


def test_module_flowchart_counts_nodes_by_status(snapshot):
    text, links = module_flowchart(big_review(200, 4).diagram)
    assert links == 3
    assert text == snapshot


@pytest.mark.parametrize(
    ("max_text", "max_edges", "form"),
    [
        (50_000, 500, "modules"),  # 2,000 nodes: one box per module
        (400_000, 10_000, "nodes"),  # limits raised: node by node
        (500, 500, "list"),  # not even the module boxes fit
        (50_000, 10, "list"),
    ],
)
def test_fit_takes_the_largest_form_within_the_limits(max_text, max_edges, form):
    fitted = fit(big_review(2000, 40).diagram, max_text, max_edges)
    assert fitted.form == form
    assert len(fitted.text) <= max_text and fitted.edges <= max_edges
    assert (fitted.text == "") == (form == "list")


def test_the_same_diagram_gives_the_same_bytes():
    assert flowchart(big_review(300, 6).diagram) == flowchart(big_review(300, 6).diagram)


def test_diagram_of_draws_a_removed_chain_from_the_baseline():
    graph = model([node("raw"), node("kept", ("raw",), sid="demo.kept.v1")])
    changes = ChangeSet(
        "git:main",
        "graph",
        frozenset(),
        {},
        (ghost("gone", "demo.gone.v1", ("raw",)), ghost("gone_too", None, ("gone",))),
    )
    diagram = diagram_of(graph, ["kept", "raw"], TAG_FILTER, changes)
    assert [(n.key, n.status) for n in diagram.nodes] == [
        ("gone", "removed"),
        ("gone_too", "removed"),
        ("kept", "context"),
        ("raw", "context"),
    ]
    assert DiagramEdge("gone", "gone_too", "removed") in diagram.edges
    assert DiagramEdge("raw", "gone", "removed") in diagram.edges


def test_module_links_are_counted():
    nodes = tuple(
        DiagramNode(f"{g}{i}", f"{g}{i}", None, "changed", g, None) for g in "ab" for i in range(3)
    )
    edges = tuple(DiagramEdge(f"a{i}", f"b{i}") for i in range(3))
    text, links = module_flowchart(Diagram(nodes, edges))
    assert links == 1
    assert "  m0 -->|3| m1\n" in text


def test_a_long_chain_is_drawn_top_down():
    assert fit(big_review(2000, 40).diagram).text.startswith("flowchart TB\n")
    assert module_flowchart(big_review(200, 4).diagram)[0].startswith("flowchart LR\n")
    assert flowchart(small_review().diagram)[0].startswith("flowchart LR\n")
