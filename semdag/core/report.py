"""Formatters for findings: one function per output style, each returning text.

A report of several profiles (``--all``) shows a finding that holds in more than one of
them once, naming the profiles; a failing report ends with what to do about it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from semdag.core.rules import RULES_BY_ID, Finding, Severity, counts

_ORDER = (Severity.ERROR, Severity.BREAKING, Severity.WARNING, Severity.ADDITIVE, Severity.INFO)
# Code hashes are shown as their first 12 characters, as git shows commits.
_HASH = re.compile(r"[0-9a-f]{32,}")
SHORT_HASH = 12
# The reason in a suggested acknowledgement: refused until someone replaces it.
REASON_PLACEHOLDER = "TODO: why consumers can take this change"
# How long a suggested acknowledgement lasts.
ACK_DAYS = 30
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
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = str(value)
    return text[:SHORT_HASH] if _HASH.fullmatch(text) else text


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


@dataclass(frozen=True)
class Item:
    """A finding as a report shows it: once, with the profiles it holds in (none named when
    the report covers one profile)."""

    finding: Finding
    profiles: tuple[str, ...] = ()

    def in_profiles(self) -> str:
        return f" (in {', '.join(self.profiles)})" if self.profiles else ""


def group(comparisons: Sequence[tuple[str, Sequence[Finding]]]) -> list[Item]:
    """Each distinct finding once with the profiles it holds in, by severity (most severe
    first), then by subject and rule. A file of the profile's own (its baseline) does not
    tell findings apart: it is shown as ``snapshots/<profile>/…`` for several profiles."""
    if len(comparisons) == 1:
        return [Item(f) for f in by_severity(comparisons[0][1])]
    seen: dict[str, tuple[Finding, Finding, list[str]]] = {}
    for name, found in comparisons:
        for item in found:
            blind = _profile_blind(item, name)
            key = json.dumps(blind.as_dict(), sort_keys=True, default=str)
            seen.setdefault(key, (item, blind, []))[2].append(name)
    items = [Item(f if len(p) == 1 else b, tuple(p)) for f, b, p in seen.values()]
    return sorted(items, key=lambda i: _severity_first(i.finding))


def by_severity(findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` most severe first, then by subject and rule."""
    return sorted(findings, key=_severity_first)


def _severity_first(item: Finding) -> tuple[int, tuple[str, str, str]]:
    return _ORDER.index(item.severity), item.sort_key()


def _profile_blind(item: Finding, profile: str) -> Finding:
    parts = (item.file or "").split("/")
    if profile not in parts[:-1]:
        return item
    return replace(item, file="/".join("<profile>" if p == profile else p for p in parts))


# --- what to do ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextSteps:
    """How to get past a failing report: accept the changes as the new baseline, or let
    breaking ones pass for a while with entries for the acknowledgement file."""

    update: tuple[str, ...] = ()
    acknowledge: tuple[Mapping[str, str], ...] = ()
    ack_file: str = "snapshots/acknowledged.yaml"
    expires: str = ""

    def __bool__(self) -> bool:
        return bool(self.update or self.acknowledge)

    def as_dict(self) -> dict[str, Any]:
        return {
            "update": list(self.update),
            "acknowledge": [dict(e) for e in self.acknowledge],
            "ack_file": self.ack_file,
        }

    def yaml(self) -> list[str]:
        """The acknowledgement entries as YAML list items, ready to paste."""
        lines: list[str] = []
        for entry in self.acknowledge:
            for index, (key, value) in enumerate(entry.items()):
                lines.append(f"{'- ' if index == 0 else '  '}{key}: {_yaml_scalar(value)}")
        return lines


def _yaml_scalar(value: str) -> str:
    plain = re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", value)
    return value if plain else json.dumps(value, ensure_ascii=False)


def next_steps(
    comparisons: Sequence[tuple[str, Sequence[Finding]]],
    threshold: int,
    *,
    today: dt.date,
    update_command: str | None = None,
    update_all: str | None = None,
    ack_file: str = "snapshots/acknowledged.yaml",
) -> NextSteps:
    """What a failing report ends with. ``update_command`` (``semdag snapshot update -p
    {profile}``) accepts a profile's changes, when the report compares with a baseline;
    ``update_all`` accepts every profile's at once, when each of several needs it."""
    expires = (today + dt.timedelta(days=ACK_DAYS)).isoformat()
    update: list[str] = []
    entries: dict[tuple[str, str], dict[str, str]] = {}
    for name, found in comparisons:
        accepted = [f for f in found if f.fails(threshold) and _acceptable(f)]
        if accepted and update_command:
            update.append(update_command.format(profile=name))
        for item in accepted:
            if item.rule != "graph-changed":
                entries[(item.rule, item.subject)] = {
                    "rule": item.rule,
                    "semantic_id": item.subject,
                    "reason": REASON_PLACEHOLDER,
                    "expires": expires,
                }
    # One command for all: updating a profile with no change rewrites the same bytes.
    if update_all and len(update) > 1:
        update = [update_all]
    return NextSteps(tuple(update), tuple(entries[k] for k in sorted(entries)), ack_file, expires)


def _acceptable(item: Finding) -> bool:
    # A change between baseline and build; an expired or unused acknowledgement is fixed in
    # the acknowledgement file itself, a validate error in the code.
    rule = RULES_BY_ID.get(item.rule)
    return rule is not None and rule.kind == "diff" and not item.rule.startswith("acknowledg")


def _steps_text(steps: NextSteps) -> list[str]:
    lines = [""]
    if steps.update:
        lines.append("to accept these changes as the new baseline, run:")
        lines += [f"  {command}" for command in steps.update]
    if steps.acknowledge:
        lead = "or, to" if steps.update else "to"
        lines.append(
            f"{lead} let them pass until {steps.expires}, add these under `acknowledged:` in "
            f"{steps.ack_file} (an empty `acknowledged: []` becomes `acknowledged:`) and say why:"
        )
        lines += [f"  {line}" for line in steps.yaml()]
    return lines


# --- formats ------------------------------------------------------------------------------------


def text(findings: Sequence[Finding], title: str, *, colour: bool = False) -> str:
    """Human-readable report grouped by severity (``colour``: severities in terminal colours)."""
    if not findings:
        return f"{title}: no findings\n"
    items = [Item(f) for f in findings]
    return _text([f"{title}: {summary_line(findings)}"], items, colour=colour)


def _text(
    header: list[str],
    items: Sequence[Item],
    steps: NextSteps | None = None,
    *,
    colour: bool = False,
) -> str:
    lines = list(header)
    for severity in _ORDER:
        group_ = [i for i in items if i.finding.severity is severity]
        if not group_:
            continue
        lines.append("")
        lines.append(_paint(f"{severity.value} ({len(group_)})", severity, colour))
        for entry in group_:
            lines += _text_item(entry, colour)
    if steps:
        lines += _steps_text(steps)
    return "\n".join(lines) + "\n"


def _text_item(entry: Item, colour: bool = False) -> list[str]:
    item = entry.finding
    tag = " [acknowledged]" if item.acknowledged else ""
    head = _paint(f"{item.rule}: {item.subject}{tag}{entry.in_profiles()}", item.severity, colour)
    lines = [f"  {head}", f"    {item.message}"]
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
    return lines


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(findings: Sequence[Finding], title: str) -> str:
    """A pull-request comment: a summary table, then one row per finding, most severe first."""
    return _markdown(title, [(title, findings)], [Item(f) for f in findings])


# Blast-radius ids shown in a table cell; the details list them all.
_AFFECTS_SHOWN = 5


def _markdown(
    title: str,
    comparisons: Sequence[tuple[str, Sequence[Finding]]],
    items: Sequence[Item],
    steps: NextSteps | None = None,
) -> str:
    lines = [f"## semdag: {title}", ""]
    if not items:
        return "\n".join([*lines, "No semantic changes.", ""])
    if len(comparisons) > 1:
        lines += ["| profile | findings |", "| --- | --- |"]
        for name, found in comparisons:
            lines.append(f"| {name} | {summary_line(found) if found else 'none'} |")
    else:
        tally = counts(comparisons[0][1])
        lines += ["| severity | count |", "| --- | --- |"]
        for severity in _ORDER:
            if tally[severity.value]:
                lines.append(f"| {severity.value} | {tally[severity.value]} |")
    columns = ["severity", "rule", "semantic id", "change", "affects", "owners", "where"]
    if len(comparisons) > 1:
        columns.append("profiles")
    lines += ["", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for entry in sorted(items, key=lambda i: _ORDER.index(i.finding.severity)):
        item = entry.finding
        label = item.severity.value + (" (acknowledged)" if item.acknowledged else "")
        affects = [f"`{a}`" for a in item.affected[:_AFFECTS_SHOWN]]
        if len(item.affected) > _AFFECTS_SHOWN:
            affects.append(f"and {len(item.affected) - _AFFECTS_SHOWN} more")
        cells = [
            label,
            f"`{item.rule}`",
            f"`{item.subject}`",
            _change(item) or item.message,
            ", ".join(affects),
            ", ".join(item.owners),
            _where(item),
        ]
        if len(comparisons) > 1:
            cells.append(", ".join(entry.profiles))
        lines.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    details = [
        i.finding for i in items if len(i.finding.affected) > _AFFECTS_SHOWN or i.finding.reason
    ]
    if details:
        lines += ["", "<details><summary>details</summary>", ""]
        for item in details:
            lines.append(f"- `{item.subject}` ({item.rule}): {_md_cell(item.message)}")
            if len(item.affected) > _AFFECTS_SHOWN:
                lines.append(f"  - affects: {', '.join(f'`{a}`' for a in item.affected)}")
            if item.reason:
                lines.append(f"  - acknowledged: {_md_cell(item.reason)}")
        lines += ["", "</details>"]
    if steps:
        lines += ["", "### What to do", ""]
        if steps.update:
            commands = ", ".join(f"`{c}`" for c in steps.update)
            lines.append(f"- Accept the changes as the new baseline: {commands}")
        if steps.acknowledge:
            lead = "Or let" if steps.update else "Let"
            lines += [
                f"- {lead} them pass until {steps.expires}: add these under `acknowledged:` in "
                f"`{steps.ack_file}` (an empty `acknowledged: []` becomes `acknowledged:`) "
                "and say why:",
                "",
                "```yaml",
                *steps.yaml(),
                "```",
            ]
    return "\n".join(lines) + "\n"


def _gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _gh_level(item: Finding) -> str:
    if item.acknowledged:
        return "notice"
    if item.severity.rank >= 3:
        return "error"
    return "warning" if item.severity is Severity.WARNING else "notice"


def github(findings: Sequence[Finding], title: str) -> str:
    """GitHub workflow commands: ``::error`` for failing severities, ``::warning``, ``::notice``."""
    return _github([(title, findings)], [Item(f) for f in findings])


def _github(
    comparisons: Sequence[tuple[str, Sequence[Finding]]],
    items: Sequence[Item],
    steps: NextSteps | None = None,
) -> str:
    lines = []
    for entry in items:
        item = entry.finding
        props = []
        if item.file:
            props.append(f"file={_gh_escape(item.file, prop=True)}")
            if item.line:
                props.append(f"line={item.line}")
        title = f"semdag {item.rule}: {item.subject}{entry.in_profiles()}"
        props.append(f"title={_gh_escape(title, prop=True)}")
        lines.append(f"::{_gh_level(item)} {','.join(props)}::{_gh_escape(item.message)}")
    for name, found in comparisons:
        lines.append(f"semdag {name}: {summary_line(found) if found else 'no findings'}")
    if steps:
        lines += _steps_text(steps)
    return "\n".join(lines) + "\n"


def github_error(command: str, error: Mapping[str, Any]) -> str:
    """An error that stopped a comparison (a missing baseline, a build that fails) as a
    GitHub ``::error`` annotation, its hint on a second line."""
    props = []
    if error.get("file"):
        props.append(f"file={_gh_escape(str(error['file']), prop=True)}")
        if error.get("line"):
            props.append(f"line={error['line']}")
    props.append(f"title={_gh_escape(f'semdag {command}', prop=True)}")
    message = str(error.get("message"))
    if error.get("hint"):
        message += f"\nhint: {error['hint']}"
    return f"::error {','.join(props)}::{_gh_escape(message)}\n"


def _junit_suite(
    findings: Sequence[Finding], title: str, threshold: int, cases: Sequence[str] = ()
) -> list[str]:
    """One test case per subject of ``findings`` and of ``cases`` (subjects that were checked
    and may have no finding: they pass)."""
    from xml.sax.saxutils import escape, quoteattr  # JUnit only: it pulls in urllib

    by_subject: dict[str, list[Finding]] = {subject: [] for subject in cases}
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
    steps: NextSteps | None = None,
    cases: Sequence[Sequence[str]] = (),
    *,
    colour: bool = False,
) -> str:
    """Render one or more profiles' findings as one document: a finding that holds in
    several profiles once, naming them; ``steps`` (what to do) at the end when it fails;
    ``cases`` (one list per comparison) adds the subjects JUnit lists as test cases even
    without a finding; ``colour``: the text report's severities in terminal colours."""
    if fmt == "junit":
        padded = [*cases, *([()] * (len(comparisons) - len(cases)))]
        suites = [
            line
            for (name, found), subjects in zip(comparisons, padded, strict=True)
            for line in _junit_suite(found, name, threshold, subjects)
        ]
        body = ["<testsuites>", *("  " + line for line in suites), "</testsuites>"]
        return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', *body]) + "\n"
    single = len(comparisons) == 1
    items = group(comparisons)
    if fmt == "markdown":
        title = comparisons[0][0] if single else ", ".join(name for name, _ in comparisons)
        return _markdown(title, comparisons, items, steps)
    if fmt == "github":
        return _github(comparisons, items, steps)
    header = [
        f"{name}: {summary_line(found) if found else 'no findings'}" for name, found in comparisons
    ]
    return _text(header, items, steps, colour=colour)
