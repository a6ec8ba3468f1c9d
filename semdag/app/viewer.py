"""The self-contained HTML viewer: one file with the SVG, the node data and a little script."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{(TITLE|SVG|DATA)\}\}")
# Inside <script>, these would end the element or break JavaScript string parsing.
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def template() -> str:
    """The viewer page template shipped with the package."""
    return resources.files("semdag").joinpath("templates/viewer.html").read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """JSON that is safe to place verbatim inside a ``<script>`` element."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def inline_svg(svg: str) -> str:
    """The ``<svg>`` element of Graphviz's output, without the XML prolog and doctype."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("Graphviz output holds no <svg> element")
    return svg[start:].strip()


def build_page(svg: str, data: Mapping[str, Any], title: str) -> str:
    """The viewer page: ``svg`` inlined, ``data`` embedded as JSON, nothing fetched."""
    values = {
        "TITLE": html.escape(title, quote=True),
        "SVG": inline_svg(svg),
        "DATA": script_json(data),
    }
    # One pass over the template only: placeholder-like text inside the SVG or the data
    # is never substituted.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template())
