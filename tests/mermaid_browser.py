"""Markdown with Mermaid blocks rendered as a pull-request page would: markdown to HTML, each
``mermaid`` block drawn by Mermaid's own library (from the npm registry) in headless Chromium.

Mermaid's bundle is fetched by ``scripts/install-npm-tools.sh`` (``make test`` runs it; so
does :func:`npm_tool` when it is missing). Nothing here skips: a missing browser, npm or bundle
fails the test that needs it.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

MERMAID_VERSION = "11.12.2"
NPM_DIR = ROOT / ".venv" / "npm"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Renders every ```mermaid block with Mermaid's defaults (strict security, maxTextSize 50,000,
# maxEdges 500), as GitHub does, and records what happened to each.
_SCRIPT = """
window.__results = (async () => {
  mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
  const results = [];
  const blocks = Array.from(document.querySelectorAll("pre > code.language-mermaid"));
  for (const [index, code] of blocks.entries()) {
    const text = code.textContent;
    try {
      await mermaid.parse(text);
      const {svg} = await mermaid.render("diagram" + index, text);
      const holder = document.createElement("div");
      holder.className = "rendered-diagram";
      holder.innerHTML = svg;
      code.parentElement.replaceWith(holder);
      results.push({ok: true, chars: text.length});
    } catch (error) {
      results.push({ok: false, error: String((error && error.message) || error)});
    }
  }
  document.body.dataset.ready = "true";
  return results;
})();
"""


def npm_tool(name: str, version: str, member: str) -> Path:
    """A file of an npm package that scripts/install-npm-tools.sh fetches (run when missing)."""
    path = NPM_DIR / f"{name}-{version}" / member
    if not path.is_file():
        assert shutil.which("npm"), "npm is missing: install Node.js and npm to run this test"
        done = subprocess.run(
            ["sh", str(ROOT / "scripts/install-npm-tools.sh"), str(NPM_DIR)],
            capture_output=True,
            text=True,
            env={**os.environ, "MERMAID_VERSION": MERMAID_VERSION},
            timeout=300,
            check=False,
        )
        assert done.returncode == 0 and path.is_file(), done.stderr
    return path


def mermaid_js() -> Path:
    """Mermaid's browser bundle."""
    return npm_tool("mermaid", MERMAID_VERSION, "mermaid.min.js")


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), (
        "Chromium is missing: run `make browser` (scripts/install-chromium.sh) to install it"
    )
    return path


def comment_page(markdown_text: str, folder: Path) -> Path:
    """An HTML page showing ``markdown_text`` as a comment (HTML in the markdown allowed, as
    GitHub allows some), with the Mermaid blocks left for :func:`render`."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown_text)
    page = folder / "comment.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>comment</title>"
        "<style>body{font-family:sans-serif;margin:16px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}</style>"
        f"<script src='{html.escape(mermaid_js().as_uri())}'></script></head>"
        f"<body><article id='comment'>{body}</article><script>{_SCRIPT}</script></body></html>",
        encoding="utf-8",
    )
    return page


@contextmanager
def browser_page() -> Iterator[Any]:
    """A Chromium page that records page errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = instance.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(60_000)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.problems = problems
            yield page
        finally:
            instance.close()


def render(page: Any, markdown_text: str, folder: Path) -> list[dict[str, Any]]:
    """Show ``markdown_text`` in ``page`` and draw its diagrams; each block's outcome."""
    page.goto(comment_page(markdown_text, folder).as_uri())
    page.wait_for_selector("body[data-ready='true']")
    results = page.evaluate("window.__results")
    assert isinstance(results, list)
    return results


def diagram_facts(page: Any) -> dict[str, Any]:
    """What the drawn diagrams hold: node and edge counts, label texts, error diagrams."""
    return json.loads(
        page.evaluate(
            """JSON.stringify({
              nodes: document.querySelectorAll(".rendered-diagram g.node").length,
              edges: document.querySelectorAll(".rendered-diagram path.flowchart-link").length,
              labels: Array.from(document.querySelectorAll(".rendered-diagram g.node"))
                .map(n => n.textContent),
              text: document.querySelector("#comment").textContent,
              errors: document.querySelectorAll(".rendered-diagram .error-icon").length,
              injected: document.querySelectorAll(
                "#comment script, #comment img, #comment iframe, #comment b.pwned, "
                + "#comment [onerror], #comment a[href^='javascript']").length,
            })"""
        )
    )
