"""Checking a profile's keys and blaming a bad value on where it was written: the YAML file
and line of a key path, or the ``--set`` that gave it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from semdag.config.yamlio import KeyPath
from semdag.core.errors import ConfigError, SemdagError, UsageError, did_you_mean, show_key

SEVERITY_WORDS = ("error", "breaking", "warning", "additive", "info", "off")


# Free-form maps: a dotted --set key below them names one key, dots included.
_FREE_FORM = ("config", "inputs", "overrides", "rules")


def set_path(key: str) -> list[str]:
    """The key path a ``--set`` key names: dotted, except below a free-form map."""
    parts = key.strip().split(".")
    if parts[0] in _FREE_FORM and len(parts) > 1:
        parts = [parts[0], ".".join(parts[1:])]
    return parts


def key_line(
    lines: Mapping[KeyPath, tuple[str, int]], file: str, path: KeyPath
) -> tuple[str, int | None]:
    for end in range(len(path), 0, -1):
        hit = lines.get(path[:end])
        if hit:
            return hit
    return file, None


def set_origin(
    sets: Sequence[str], path: KeyPath, lines: Mapping[KeyPath, Any] | None = None
) -> str | None:
    """The ``--set`` assignment that gave the value at ``path``: the last one naming it or a
    key above it, or one below it when the YAML has no such key (the ``--set`` made it);
    None when the value comes from the YAML."""
    found = None
    for assignment in sets:
        key = tuple(set_path(assignment.partition("=")[0]))
        made = key[: len(path)] == path and path not in (lines or {})
        if path[: len(key)] == key or made:
            found = assignment
    return found


def blame(
    path: KeyPath,
    message: str,
    file: str,
    lines: Mapping[KeyPath, tuple[str, int]],
    sets: Sequence[str],
    *,
    keyed: bool = False,
    hint: str | None = None,
) -> SemdagError:
    """``message`` about the value at ``path`` as an error where the value was given;
    ``keyed`` puts the key path in front of the message (the ``--set`` names its own key)."""
    origin = set_origin(sets, path, lines)
    if origin is not None:
        key = tuple(set_path(origin.partition("=")[0]))
        below = ".".join(map(show_key, path[len(key) :])) if keyed else ""
        return UsageError(f"--set {origin}: {below + ': ' if below else ''}{message}", hint=hint)
    at, line = key_line(lines, file, path)
    # YAML keys may be numbers, booleans or null: show them, never crash on them.
    shown = f"{'.'.join(map(show_key, path))}: " if keyed else ""
    return ConfigError(f"{shown}{message}", file=at, line=line, hint=hint)


class Checker:
    def __init__(self, file: str, lines: dict, sets: tuple[str, ...]) -> None:
        self.file = file
        self.lines = lines
        self.sets = sets

    def fail(self, path: KeyPath, message: str) -> SemdagError:
        return blame(tuple(map(str, path)), message, self.file, self.lines, self.sets, keyed=True)

    def mapping(self, value: Any, path: KeyPath) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {kind_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, got {kind_name(key)}")
        return value

    def strings(self, value: Any, path: KeyPath, *, allow_one: bool = True) -> tuple[str, ...]:
        if value is None:
            return ()
        if allow_one and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, f"expected a list of strings, got {kind_name(value)}")
        return tuple(value)

    def known_keys(self, value: dict, path: KeyPath, known: Sequence[str]) -> None:
        for key in value:
            if key not in known:
                near = did_you_mean(str(key), known)
                listed = f" (expected one of: {', '.join(known)})"
                raise self.fail((*path, key), f"unknown key{near or listed}")

    def typed(self, value: Any, path: KeyPath, kind: type | tuple, label: str) -> Any:
        if value is not None and (
            not isinstance(value, kind) or (isinstance(value, bool) and kind is int)
        ):
            raise self.fail(path, f"expected {label}, got {kind_name(value)}")
        return value

    def choice(self, value: Any, path: KeyPath, choices: Sequence[str]) -> Any:
        if value is not None and value not in choices:
            near = did_you_mean(value, choices) if isinstance(value, str) else ""
            raise self.fail(path, f"expected one of {', '.join(choices)}, got {value!r}{near}")
        return value


def check_rules(check: Checker, rules: dict[str, Any], known: Sequence[str]) -> dict[str, str]:
    """``rules:``: rule id -> severity. YAML 1.1 reads an unquoted ``off`` (also ``no``,
    ``false``) as a boolean: false is read as ``off``, the word the documentation uses."""
    out: dict[str, str] = {}
    for rule_id, severity in rules.items():
        if rule_id not in known:
            raise check.fail(
                ("rules", rule_id),
                f"unknown rule id{did_you_mean(rule_id, known)} (`semdag rules` lists them)",
            )
        if severity is False:
            severity = "off"
        elif severity is True:
            raise check.fail(
                ("rules", rule_id),
                f"expected one of {', '.join(SEVERITY_WORDS)}, got a boolean "
                "(YAML reads an unquoted on, yes or true as true)",
            )
        check.choice(severity, ("rules", rule_id), SEVERITY_WORDS)
        if severity is not None:
            out[rule_id] = severity
    return out


def kind_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def check_dtypes(check: Checker, value: Any) -> dict[str, tuple[str, ...] | None]:
    """``registry.dtypes``: a list of names (each fits any output type), or a mapping of
    name -> the scalar output types it fits (an empty list or null: any)."""
    path = ("registry", "dtypes")
    if value is None:
        return {}
    if isinstance(value, list):
        return {name: None for name in check.strings(value, path, allow_one=False)}
    out: dict[str, tuple[str, ...] | None] = {}
    for name, fits in check.mapping(value, path).items():
        types = check.strings(fits, (*path, name))
        out[name] = types or None
    return dict(sorted(out.items()))
