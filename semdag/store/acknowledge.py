"""``snapshots/acknowledged.yaml``: breaking changes a team has accepted, until a date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from semdag.core.errors import ConfigError, show_key
from semdag.core.report import REASON_PLACEHOLDER
from semdag.core.rules import RULES_BY_ID, Finding, finding

if TYPE_CHECKING:
    from semdag.config.project import Project

ACK_FILE = "acknowledged.yaml"
# The rule kinds whose findings `snapshot check` and `diff` report.
GATE_KINDS = ("validate", "diff")


@dataclass(frozen=True)
class Acknowledgement:
    rule: str
    semantic_id: str
    reason: str
    expires: dt.date
    line: int | None


def load_acknowledgements(path: Path, shown: str) -> tuple[Acknowledgement, ...]:
    """Read the acknowledgement file; a missing file means none. Errors name file and line."""
    from semdag.config.yamlio import parse_yaml

    if not path.is_file():
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=shown) from None
    # The file may be a bare list or a mapping with an `acknowledged` list.
    doc = parse_yaml(text, shown, allow_list=True)
    prefix: tuple[str, ...] = ()
    if isinstance(doc.data, list):
        items = doc.data
    else:
        unknown = sorted(map(show_key, set(doc.data) - {"acknowledged"}))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]} (expected: acknowledged)", file=shown)
        items, prefix = doc.data.get("acknowledged") or [], ("acknowledged",)
    if not isinstance(items, list):
        raise ConfigError("acknowledged must be a list", file=shown)
    out = []
    for index, item in enumerate(items):
        line = doc.lines.get((*prefix, str(index)))
        out.append(_parse_item(item, shown, line))
    return tuple(out)


def _parse_item(item: object, shown: str, line: int | None) -> Acknowledgement:
    def bad(message: str) -> ConfigError:
        return ConfigError(f"acknowledgement: {message}", file=shown, line=line)

    if not isinstance(item, dict):
        raise bad("each entry must be a mapping with rule, semantic_id, reason, expires")
    unknown = sorted(map(show_key, set(item) - {"rule", "semantic_id", "reason", "expires"}))
    if unknown:
        raise bad(f"unknown key {unknown[0]}")
    rule, sid, reason, expires = (item.get(k) for k in ("rule", "semantic_id", "reason", "expires"))
    if not isinstance(rule, str) or rule not in RULES_BY_ID:
        raise bad(f"rule {rule!r} is not a rule id (see `semdag rules`)")
    if not isinstance(sid, str) or not sid:
        raise bad("semantic_id must be a non-empty string")
    if not isinstance(reason, str) or not reason.strip():
        raise bad("reason must say why the change is accepted")
    if reason.strip() == REASON_PLACEHOLDER:
        raise bad("reason is still the suggested placeholder: say why the change is accepted")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise bad(f"expires {expires!r} must be a date YYYY-MM-DD") from None
    if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
        raise bad("expires must be a date YYYY-MM-DD")
    return Acknowledgement(rule, sid, reason.strip(), expires, line)


def today() -> dt.date:
    """Today's date in UTC, so the verdict does not depend on the machine's time zone."""
    return dt.datetime.now(dt.UTC).date()


def apply_acknowledgements(
    findings: Sequence[Finding],
    acknowledgements: Sequence[Acknowledgement],
    shown: str,
    *,
    on: dt.date | None = None,
    kinds: Collection[str] = GATE_KINDS,
) -> list[Finding]:
    """Mark matched findings acknowledged; add expired and unused acknowledgements.

    Only acknowledgements of rules of ``kinds`` take part: those of the runtime rules belong
    to ``verify``, those of the gate's rules to ``snapshot check`` and ``diff``, and neither
    command reports the other's as unused.
    """
    on = on or today()
    acknowledgements = [a for a in acknowledgements if RULES_BY_ID[a.rule].kind in kinds]
    out: list[Finding] = []
    used: set[int] = set()
    for item in findings:
        match = next(
            (
                i
                for i, ack in enumerate(acknowledgements)
                if ack.rule == item.rule and ack.semantic_id == item.subject
            ),
            None,
        )
        if match is None:
            out.append(item)
            continue
        used.add(match)
        ack = acknowledgements[match]
        if ack.expires < on:
            out.append(item)
            continue
        out.append(replace(item, acknowledged=True, reason=f"{ack.reason} (until {ack.expires})"))
    for index, ack in enumerate(acknowledgements):
        where = {"file": shown, "line": ack.line}
        if ack.expires < on:
            out.append(
                finding(
                    "acknowledgement-expired",
                    ack.semantic_id,
                    f"the acknowledgement of {ack.rule} expired on {ack.expires}: {ack.reason}",
                    old=str(ack.expires),
                    **where,
                )
            )
        elif index not in used:
            out.append(
                finding(
                    "acknowledgement-unused",
                    ack.semantic_id,
                    f"the acknowledgement of {ack.rule} matches no finding: remove it",
                    **where,
                )
            )
    return sorted(out, key=Finding.sort_key)


def acknowledge(
    project: Project, findings: Sequence[Finding], *, kinds: Collection[str] = GATE_KINDS
) -> list[Finding]:
    """Apply the project's ``snapshots/acknowledged.yaml`` to ``findings`` (see
    :func:`apply_acknowledgements`)."""
    path = project.snapshots_path / ACK_FILE
    shown = project.relative(path)
    return apply_acknowledgements(findings, load_acknowledgements(path, shown), shown, kinds=kinds)
