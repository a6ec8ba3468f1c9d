"""The picture's outside: the output format a render picks, and the HTML viewer page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from semdag.app.graphviz import format_for
from semdag.app.viewer import build_page, inline_svg, script_json
from semdag.core.errors import UsageError

# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        (None, None, "dot"),
        (None, Path("a.SVG"), "svg"),
        (None, Path("a.gv"), "dot"),
        (None, Path("x/a.html"), "html"),
        ("png", Path("a.svg"), "png"),
        ("pdf", None, "pdf"),
    ],
)
def test_format_for(fmt: str | None, out: Path | None, expected: str) -> None:
    assert format_for(fmt, out) == expected


def test_format_for_rejects_unknown() -> None:
    with pytest.raises(UsageError, match="unknown format 'gif'"):
        format_for("gif", None)
    with pytest.raises(UsageError, match="cannot infer the format from 'a.txt'"):
        format_for(None, Path("a.txt"))


# --------------------------------------------------------------------------- viewer page


def test_script_json_cannot_close_the_script_element() -> None:
    data = {"tag": "</script><script>alert(1)</script>", "x": "a&b\u2028"}
    text = script_json(data)
    assert "</" not in text and "<" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == data


def test_page_substitutes_once_and_escapes_the_title() -> None:
    svg = '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg><text>{{DATA}} {{TITLE}}</text></svg>\n'
    page = build_page(svg, {"nodes": {"a": {"note": "{{SVG}}"}}}, 'T <b>"x"</b>')
    assert "<svg><text>{{DATA}} {{TITLE}}</text></svg>" in page
    assert '"note":"{{SVG}}"' in page
    assert "<title>T &lt;b&gt;&quot;x&quot;&lt;/b&gt;</title>" in page
    assert "<?xml" not in page and "DOCTYPE svg" not in page
    # Self-contained: nothing is fetched.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert "Content-Security-Policy" in page


def test_inline_svg_needs_an_svg() -> None:
    assert inline_svg("<?xml?><svg/>") == "<svg/>"
    with pytest.raises(ValueError, match="no <svg>"):
        inline_svg("nothing")
