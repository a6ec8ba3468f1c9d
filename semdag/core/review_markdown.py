"""A review as one markdown document that a pull-request comment and a job summary can hold.

GitHub refuses a comment over :data:`MAX_COMMENT` characters, and Mermaid draws nothing past
its own limits (:mod:`semdag.core.mermaid`). The document is the changes table, then the
diagram in the largest form that fits what is left: node by node, one box per module, or a
list of the changed modules. When even that does not fit, the table is shortened; the full
list is always in ``review.json`` and the full picture in the SVG and HTML artifacts.

Project text is escaped for markdown and HTML (:func:`md_text`): a node name or tag value can
neither end a table cell, nor open a tag, nor close the hidden marker comment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from semdag.core.mermaid import MAX_EDGES, MAX_TEXT, STATUS_MEANING, STATUS_ORDER, Fitted, fit
from semdag.core.review import STATUS_MEANING as CHANGE_MEANING
from semdag.core.review import STATUSES, Review, ReviewChange

# GitHub's limit on a comment's body (and a job summary's step output is larger).
MAX_COMMENT = 65_536
# The hidden first line a CI job finds its earlier comment by.
MARKER = "<!-- semdag-review -->"
# Table rows tried, most first: a comment is read, not searched (review.json has them all).
_ROW_STEPS = (200, 100, 50, 20, 0)
_CELL_LIMIT = 160
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!{}])")
_SHORT_HASH = re.compile(r"^[0-9a-f]{40,64}$")


def md_text(value: object, limit: int = _CELL_LIMIT) -> str:
    """Text safe in a markdown table cell: one line, HTML and markdown punctuation escaped."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    # Markdown punctuation first: the entities HTML escaping makes hold none of it.
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def markdown(
    review: Review,
    *,
    link: str | None = None,
    max_chars: int = MAX_COMMENT,
    max_text: int = MAX_TEXT,
    max_edges: int = MAX_EDGES,
) -> tuple[str, Fitted]:
    """The review document and the diagram form it holds, within ``max_chars``."""
    for rows in _ROW_STEPS:
        head = _head(review)
        table = _table(review.changes, rows)
        foot = _foot(link)
        room = max_chars - sum(map(len, (head, table, foot))) - 400
        fitted = fit(review.diagram, min(max_text, room), max_edges) if room > 0 else None
        body = _diagram(fitted, review, max(room, 0), link) if fitted else ""
        document = head + table + body + foot
        if len(document) <= max_chars:
            return document, fitted or Fitted("list", "", 0)
    raise ValueError(f"a review does not fit in {max_chars} characters")


def _head(review: Review) -> str:
    counts = review.counts()
    tally = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "none"
    verdict = (
        f"fails the gate (`--fail-on {review.fail_on}`)"
        if review.failed
        else f"passes the gate (`--fail-on {review.fail_on}`)"
    )
    base = f"{md_text(review.base)} (`{review.base_commit[:10]}`)"
    lines = [
        MARKER,
        f"## semdag review: profile `{md_text(review.profile)}` against {base}",
        "",
        f"**{len(review.changes)} contract change{'s' * (len(review.changes) != 1)}**: "
        f"{tally}. The branch {verdict}.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _table(changes: Sequence[ReviewChange], rows: int) -> str:
    if not changes:
        return "No contract changes since the base revision.\n\n"
    columns = ["status", "severity", "rule", "semantic id", "change", "where", "downstream"]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for change in changes[:rows]:
        lines.append("| " + " | ".join(_cells(change)) + " |")
    hidden = len(changes) - min(rows, len(changes))
    if hidden:
        lines += ["", f"… and {hidden} more change{'s' * (hidden != 1)}: see `review.json`."]
    legend = "; ".join(f"**{s}**: {CHANGE_MEANING[s]}" for s in STATUSES)
    return "\n".join([*lines, "", legend, ""]) + "\n"


def _cells(change: ReviewChange) -> list[str]:
    item = change.finding
    status = change.status
    if change.acknowledged:
        status += (
            f": {md_text(change.acknowledged.reason, 80)} "
            f"(until {md_text(change.acknowledged.expires)})"
        )
    elif not change.in_branch:
        status += " (snapshot check)"
    where = f"{item.file}:{item.line}" if item.file and item.line else item.file or ""
    if where and item.rule == "semantic-removed":
        where += " (at the base)"
    downstream = ", ".join(item.affected[:5])
    if len(item.affected) > 5:
        downstream += f" and {len(item.affected) - 5} more"
    if item.owners:
        downstream += f" (owners: {', '.join(item.owners)})"
    return [
        status,
        item.severity.value,
        f"`{item.rule}`",
        md_text(item.subject, 80),
        md_text(_change(item)),
        md_text(where, 80),
        md_text(downstream),
    ]


def _change(item: object) -> str:
    old, new = getattr(item, "old", None), getattr(item, "new", None)
    if (old is None and new is None) or isinstance(old, dict) or isinstance(new, dict):
        return str(getattr(item, "message", ""))
    return f"{_value(old)} → {_value(new)}"


def _value(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(map(_value, value)) + "]"
    text = str(value)
    return text[:12] if _SHORT_HASH.fullmatch(text) else text


def _diagram(fitted: Fitted, review: Review, room: int, link: str | None) -> str:
    if not review.diagram.nodes:
        return ""
    lines = ["### The change in the graph", ""]
    if fitted.form == "list":
        lines += _module_list(review, room - 200)
    else:
        if fitted.form == "modules":
            lines += [
                f"{len(review.diagram.nodes)} nodes are more than a diagram here can show: "
                "one box per module, with its nodes counted by status.",
                "",
            ]
        lines += ["```mermaid", fitted.text.rstrip("\n"), "```", ""]
        legend = "; ".join(
            f"**{s}**: {STATUS_MEANING[s]}"
            for s in STATUS_ORDER
            if any(n.status == s for n in review.diagram.nodes)
        )
        lines += [f"Colours: {legend}. Semantic nodes are rounded, labelled with their id.", ""]
    return "\n".join(lines) + "\n"


def _module_list(review: Review, room: int) -> list[str]:
    tallies: dict[str, dict[str, int]] = {}
    for node in review.diagram.nodes:
        if node.status == "context":
            continue
        tally = tallies.setdefault(node.group, {})
        tally[node.status] = tally.get(node.status, 0) + 1
    lines = [
        f"{len(review.diagram.nodes)} nodes in {len(tallies)} modules are more than a "
        "diagram here can show; the changed modules:",
        "",
    ]
    used = sum(len(x) + 1 for x in lines)
    for number, group in enumerate(sorted(tallies)):
        counts = ", ".join(f"{n} {s}" for s in STATUS_ORDER if (n := tallies[group].get(s)))
        line = f"- {md_text(group, 100)}: {counts}"
        if used + len(line) + 80 > room:
            lines.append(f"- … and {len(tallies) - number} more modules")
            break
        lines.append(line)
        used += len(line) + 1
    return [*lines, ""]


def _foot(link: str | None) -> str:
    artifacts = f"[this run's artifacts]({link})" if link else "this run's artifacts"
    return (
        "The full picture (review.svg, review.html) and every change (review.json) are kept "
        f"with {artifacts}.\n"
    )
