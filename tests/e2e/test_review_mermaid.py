"""Review documents drawn by Mermaid's own library in headless Chromium: a small change, a
2,000-node change (collapsed to one box per module) and hostile names and tag values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from semdag.core.mermaid import MAX_EDGES, MAX_TEXT
from semdag.core.review_markdown import MAX_COMMENT, markdown
from tests.mermaid_browser import browser_page, diagram_facts, render
from tests.review_cases import HOSTILE, big_review, hostile_review, small_review

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with browser_page() as opened:
        yield opened


def drawn(page: Any, text: str, folder: Path) -> dict[str, Any]:
    page.problems.clear()
    outcome = render(page, text, folder)
    (block,) = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert outcome == [{"ok": True, "chars": len(block)}]
    assert page.problems == []
    facts = diagram_facts(page)
    assert facts["errors"] == 0 and facts["injected"] == 0
    assert "Maximum text size" not in facts["text"]
    return facts


def test_a_small_change_is_drawn_node_by_node(page, tmp_path):
    review = small_review()
    text, fitted = markdown(review)
    assert fitted.form == "nodes"
    facts = drawn(page, text, tmp_path)
    assert facts["nodes"] == len(review.diagram.nodes) == 6
    assert facts["edges"] == len(review.diagram.edges)
    assert any("demo.gone.v1" in label for label in facts["labels"])


def test_a_2000_node_change_collapses_to_modules_and_fits(page, tmp_path):
    review = big_review(2000, 40)
    text, fitted = markdown(review)
    assert len(review.diagram.nodes) == 2000
    assert fitted.form == "modules"
    assert len(text) <= MAX_COMMENT
    assert len(fitted.text) <= MAX_TEXT and fitted.edges <= MAX_EDGES
    assert "… and 1800 more changes: see `review.json`." in text
    facts = drawn(page, text, tmp_path)
    assert facts["nodes"] == 40
    assert facts["edges"] == 39
    assert any(label.startswith("gen.mod7") for label in facts["labels"])


def test_the_node_by_node_form_would_pass_mermaids_limits(page, tmp_path):
    """What the collapse avoids: Mermaid itself refuses the node-by-node diagram."""
    from semdag.core.mermaid import flowchart

    text, edges = flowchart(big_review(2000, 40).diagram)
    assert len(text) > MAX_TEXT and edges > MAX_EDGES
    outcome = render(page, f"```mermaid\n{text}```\n", tmp_path)
    facts = diagram_facts(page)
    assert not outcome[0]["ok"] or "Maximum text size" in facts["text"]


def test_hostile_names_neither_break_the_diagram_nor_inject_markup(page, tmp_path):
    review = hostile_review()
    text, fitted = markdown(review)
    assert fitted.form == "nodes"
    facts = drawn(page, text, tmp_path)
    assert facts["nodes"] == len(review.diagram.nodes)
    assert facts["edges"] == len(review.diagram.edges)
    labels = "\n".join(facts["labels"])
    shown = facts["text"]
    for index, hostile in enumerate(HOSTILE):
        # Drawn as text in the diagram, and shown as text in the table.
        assert f"{hostile} {index}" in labels
        assert f"{hostile}.v{index}" in shown
    assert page.evaluate("window.__pwned === undefined")
    # The table keeps its seven columns in every row.
    assert page.evaluate(
        "Array.from(document.querySelectorAll('#comment table tr'))"
        ".every(r => r.cells.length === 7)"
    )
