"""Formatters for findings: one function per output style, each returning text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from semdag.rules import Finding, Severity, counts

_ORDER = (Severity.ERROR, Severity.BREAKING, Severity.WARNING, Severity.ADDITIVE, Severity.INFO)
# Terminal colours (ANSI SGR codes) of the text report, when the caller asks for colour.
_COLOURS = {
    Severity.ERROR: "1;31",
    Severity.BREAKING: "1;31",
    Severity.WARNING: "33",
    Severity.ADDITIVE: "32",
    Severity.INFO: "2",
}


def _paint(text: str, severity: Severity, colour: bool) -> str:
    return f"\x1b[{_COLOURS[severity]}m{text}\x1b[0m" if colour else text


def _value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _where(item: Finding) -> str:
    if item.file and item.line:
        return f"{item.file}:{item.line}"
    return item.file or ""


def _change(item: Finding) -> str:
    if item.old is None or item.new is None:
        return ""
    return f"{_value(item.old)} -> {_value(item.new)}"


def summary_line(findings: Sequence[Finding]) -> str:
    """``2 breaking, 1 warning, 0 additive, 3 info`` (error shown only when present)."""
    tally = counts(findings)
    parts = [f"{tally[s.value]} {s.value}" for s in _ORDER if s is not Severity.ERROR]
    if tally["error"]:
        parts.insert(0, f"{tally['error']} error")
    acknowledged = sum(1 for f in findings if f.acknowledged)
    if acknowledged:
        parts.append(f"{acknowledged} acknowledged")
    return ", ".join(parts)


def text(findings: Sequence[Finding], title: str, *, colour: bool = False) -> str:
    """Human-readable report grouped by severity (``colour``: severities in terminal colours)."""
    if not findings:
        return f"{title}: no findings\n"
    lines = [f"{title}: {summary_line(findings)}"]
    for severity in _ORDER:
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        lines.append("")
        lines.append(_paint(f"{severity.value} ({len(group)})", severity, colour))
        for item in group:
            tag = " [acknowledged]" if item.acknowledged else ""
            lines.append("  " + _paint(f"{item.rule}: {item.subject}{tag}", severity, colour))
            lines.append(f"    {item.message}")
            change = _change(item)
            if change and change not in item.message:
                lines.append(f"    {change}")
            if _where(item):
                lines.append(f"    at {_where(item)}")
            if item.reason:
                lines.append(f"    reason: {item.reason}")
            if item.affected:
                lines.append(f"    affects: {', '.join(item.affected)}")
            if item.owners:
                lines.append(f"    owners: {', '.join(item.owners)}")
    return "\n".join(lines) + "\n"


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(findings: Sequence[Finding], title: str) -> str:
    """A pull-request comment: a summary table, then details per finding."""
    tally = counts(findings)
    lines = [f"## semdag: {title}", ""]
    if not findings:
        return "\n".join([*lines, "No semantic changes.", ""])
    lines += ["| severity | count |", "| --- | --- |"]
    for severity in _ORDER:
        if tally[severity.value]:
            lines.append(f"| {severity.value} | {tally[severity.value]} |")
    lines += [
        "",
        "| severity | rule | semantic id | change | where |",
        "| --- | --- | --- | --- | --- |",
    ]
    for item in findings:
        label = item.severity.value + (" (acknowledged)" if item.acknowledged else "")
        lines.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    label,
                    f"`{item.rule}`",
                    f"`{item.subject}`",
                    _change(item),
                    _where(item),
                )
            )
            + " |"
        )
    details = [f for f in findings if f.affected or f.reason or f.owners]
    if details:
        lines += ["", "<details><summary>details</summary>", ""]
        for item in details:
            lines.append(f"- `{item.subject}` ({item.rule}): {_md_cell(item.message)}")
            if item.affected:
                lines.append(f"  - affects: {', '.join(f'`{a}`' for a in item.affected)}")
            if item.owners:
                lines.append(f"  - owners: {', '.join(item.owners)}")
            if item.reason:
                lines.append(f"  - acknowledged: {_md_cell(item.reason)}")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github(findings: Sequence[Finding], title: str) -> str:
    """GitHub workflow commands: ``::error`` for failing severities, ``::warning``, ``::notice``."""
    lines = []
    for item in findings:
        if item.acknowledged:
            level = "notice"
        elif item.severity.rank >= 3:
            level = "error"
        elif item.severity is Severity.WARNING:
            level = "warning"
        else:
            level = "notice"
        props = []
        if item.file:
            props.append(f"file={_gh_escape(item.file, prop=True)}")
            if item.line:
                props.append(f"line={item.line}")
        props.append(f"title={_gh_escape(f'semdag {item.rule}: {item.subject}', prop=True)}")
        lines.append(f"::{level} {','.join(props)}::{_gh_escape(item.message)}")
    lines.append(f"semdag {title}: {summary_line(findings) if findings else 'no findings'}")
    return "\n".join(lines) + "\n"


def _junit_suite(findings: Sequence[Finding], title: str, threshold: int) -> list[str]:
    from xml.sax.saxutils import escape, quoteattr  # JUnit only: it pulls in urllib

    by_subject: dict[str, list[Finding]] = {}
    for item in findings:
        by_subject.setdefault(item.subject, []).append(item)
    failures = sum(1 for group in by_subject.values() if any(f.fails(threshold) for f in group))
    out = [
        f'<testsuite name={quoteattr("semdag " + title)} tests="{len(by_subject)}" '
        f'failures="{failures}" errors="0">',
    ]
    for subject in sorted(by_subject):
        group = by_subject[subject]
        out.append(f'  <testcase classname="semdag" name={quoteattr(subject)}>')
        for item in group:
            body = escape(f"{item.message} {_change(item)} {_where(item)}".strip())
            if item.fails(threshold):
                out.append(
                    f"    <failure type={quoteattr(item.rule)} message={quoteattr(item.message)}>"
                    f"{body}</failure>"
                )
        notes = [
            f"{f.severity.value} {f.rule}: {f.message}" for f in group if not f.fails(threshold)
        ]
        if notes:
            out.append(f"    <system-out>{escape(chr(10).join(notes))}</system-out>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return out


def junit(findings: Sequence[Finding], title: str, *, threshold: int = 3) -> str:
    """JUnit XML: one test case per subject, a failure for each failing finding."""
    return (
        "\n".join(
            ['<?xml version="1.0" encoding="UTF-8"?>', *_junit_suite(findings, title, threshold)]
        )
        + "\n"
    )


FORMATTERS: dict[str, Callable[..., str]] = {
    "text": text,
    "markdown": markdown,
    "github": github,
    "junit": junit,
}


def render_findings(
    findings: Sequence[Finding], fmt: str, *, title: str, threshold: int = 3, colour: bool = False
) -> str:
    """Render ``findings`` in one of :data:`FORMATTERS`'s styles (``colour``: text only)."""
    if fmt == "junit":
        return junit(findings, title, threshold=threshold)
    if fmt == "text":
        return text(findings, title, colour=colour)
    return FORMATTERS[fmt](findings, title)


def render_comparisons(
    comparisons: Sequence[tuple[str, Sequence[Finding]]],
    fmt: str,
    threshold: int = 3,
    *,
    colour: bool = False,
) -> str:
    """Render one or more profiles' findings as one document."""
    if fmt == "junit":
        suites = [
            line for name, found in comparisons for line in _junit_suite(found, name, threshold)
        ]
        body = ["<testsuites>", *("  " + line for line in suites), "</testsuites>"]
        return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', *body]) + "\n"
    return "".join(
        render_findings(found, fmt, title=name, threshold=threshold, colour=colour)
        for name, found in comparisons
    )
