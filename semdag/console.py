"""Where output goes: results to stdout, everything else to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

_err: Console | None = None
_out: Console | None = None


def err() -> Console:
    """The stderr console (messages, warnings, progress)."""
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False, soft_wrap=True)
    return _err


def out() -> Console:
    """The stdout console (results only)."""
    global _out
    if _out is None:
        # Piped output is for reading in full or for grep: never truncate table cells.
        width = None if sys.stdout.isatty() else 1000
        _out = Console(highlight=False, soft_wrap=True, width=width)
    return _out


def reset() -> None:
    """Forget the consoles (tests swap sys.stdout/sys.stderr between invocations)."""
    global _err, _out
    _err = _out = None


def write(text: str) -> None:
    """Write raw text to stdout (machine-readable output bypasses rich)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def envelope(command: str, ok: bool, data: Any, errors: list[dict[str, Any]]) -> None:
    """Print the one JSON document of ``--format json``."""
    document = {"command": command, "ok": ok, "data": data, "errors": errors}
    write(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
