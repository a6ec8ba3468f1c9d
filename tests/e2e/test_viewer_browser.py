"""The HTML viewer in a real headless Chromium: search highlights, clicks fill the side panel.

Chromium is Debian's package (``make browser`` installs it); Playwright only drives it. The
test fails, never skips, when the browser is missing: CI must exercise the page.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from semdag.cli import app
from tests.mermaid_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.slow

PREFIX = "rview"

PROFILE = f"""\
stack:
  core: [{PREFIX}_core]
  overrides: [{PREFIX}_hotfix]
inputs:
  seed: 2
"""

CORE = '''\
"""Core layer."""

from hamilton.function_modifiers import tag

SEM = dict(layer="semantic", entity="repo", grain="per_repo", dtype="float", version="1")


def raw_value(seed: int) -> int:
    """The raw input."""
    return seed


@tag(semantic_id="demo.base.v1", owner="core-team", **SEM)
def base(raw_value: int) -> float:
    """A base metric."""
    return raw_value * 1.5


@tag(semantic_id="demo.weight.v1", **SEM)
def weight() -> float:
    """A weight."""
    return 2.0


@tag(
    semantic_id="demo.score.v1",
    note="</script><script>window.__pwned = 1</script><img src=x onerror=window.__pwned=2>",
    **SEM,
)
def score(base: float, weight: float) -> float:
    """The weighted score."""
    return base * weight
'''

HOTFIX = '''\
"""Override layer."""

from hamilton.function_modifiers import tag


@tag(layer="semantic", semantic_id="demo.weight.v1", entity="repo", grain="per_repo",
     dtype="float", version="1", owner="hotfix-team")
def weight() -> float:
    """Recalibrated."""
    return 3.0
'''


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), (
        "Chromium is missing: run `make browser` (scripts/install-chromium.sh) to install it"
    )
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("viewer")
    (root / "configs").mkdir()
    (root / "configs" / "dev.yaml").write_text(PROFILE, encoding="utf-8")
    (root / f"{PREFIX}_core.py").write_text(CORE, encoding="utf-8")
    (root / f"{PREFIX}_hotfix.py").write_text(HOTFIX, encoding="utf-8")
    out = {"full": root / "full.html", "collapsed": root / "collapsed.html"}
    for key, extra in (("full", []), ("collapsed", ["--collapse"])):
        result = CliRunner().invoke(
            app, ["render", "--project-dir", str(root), "-o", str(out[key]), *extra]
        )
        assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(5000)
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.on("request", lambda r: requests.append(r.url))
    page.problems = problems
    page.requests = requests
    yield page
    context.close()


def open_page(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='true']")


def classes(page: Any, element_id: str) -> list[str]:
    return page.evaluate("(id) => Array.from(document.getElementById(id).classList)", element_id)


def test_search_highlights_matching_nodes(page: Any, pages: dict[str, Path]) -> None:
    open_page(page, pages["full"])
    page.fill("#search", "score")
    assert "semdag-match" in classes(page, "node:score")
    assert "semdag-match" not in classes(page, "node:base")
    assert page.text_content("#match-count") == "1 match"
    # By semantic id, case-insensitively.
    page.fill("#search", "DEMO.WEIGHT")
    assert "semdag-match" in classes(page, "node:weight")
    assert "semdag-match" not in classes(page, "node:score")
    page.fill("#search", "demo.")
    assert page.text_content("#match-count") == "3 matches"
    page.fill("#search", "")
    assert page.evaluate("document.querySelectorAll('.semdag-match').length") == 0
    assert page.problems == []


def test_click_shows_tags_type_layer_and_dependencies(page: Any, pages: dict[str, Path]) -> None:
    open_page(page, pages["full"])
    page.click("[id='node:base']")
    panel = page.locator("#panel-body")
    assert panel.get_attribute("data-node") == "base"
    tags = dict(
        page.evaluate(
            "Array.from(document.querySelectorAll('#panel-tags tr'))"
            ".map(r => [r.cells[0].textContent, r.cells[1].textContent])"
        )
    )
    assert tags["owner"] == "core-team" and tags["semantic_id"] == "demo.base.v1"
    fields = page.text_content("#panel-fields")
    assert "float" in fields and "core" in fields and f"{PREFIX}_core" in fields
    text = panel.text_content()
    assert "raw_value" in text and "score" in text  # requires / dependents
    assert "semdag-selected" in classes(page, "node:base")
    assert "semdag-neighbour" in classes(page, "node:score")
    # The overridden node says which layer replaced it.
    page.click("[id='node:weight']")
    assert "by layer overrides (was core)" in page.text_content("#panel-fields")
    assert "hotfix-team" in page.text_content("#panel-tags")
    # A tag that tries to inject markup is shown as text and runs nothing.
    page.click("[id='node:score']")
    note = page.evaluate(
        "Array.from(document.querySelectorAll('#panel-tags tr'))"
        ".find(r => r.cells[0].textContent === 'note').cells[1].textContent"
    )
    assert note.startswith("</script><script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned === undefined")
    # Links in the panel move the selection.
    page.click("#panel-body button.link:text-is('base')")
    assert panel.get_attribute("data-node") == "base"
    assert page.problems == []


def test_page_is_self_contained(page: Any, pages: dict[str, Path]) -> None:
    open_page(page, pages["full"])
    assert [url for url in page.requests if not url.startswith("file://")] == []
    data = json.loads(page.text_content("#semdag-data"))
    assert set(data["nodes"]) == {"base", "raw_value", "score", "seed", "weight"}


def test_collapsed_page_lists_module_members(page: Any, pages: dict[str, Path]) -> None:
    open_page(page, pages["collapsed"])
    page.fill("#search", "raw")
    assert "semdag-match" in classes(page, f"module:{PREFIX}_core")
    assert "semdag-match" not in classes(page, f"module:{PREFIX}_hotfix")
    page.click(f"[id='module:{PREFIX}_core']")
    text = page.text_content("#panel-body")
    assert f"{PREFIX}_core" in text and "raw_value" in text and "score" in text
    page.click("#panel-body button.link:text-is('score')")
    assert page.get_attribute("#panel-body", "data-node") == "score"
    assert page.problems == []
