"""The one error hierarchy of semdag; each error carries its exit code."""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def show_key(key: object) -> str:
    """A key from a user's file for a one-line message: as written, or quoted when it is not
    plain printable text (a key holding a newline must not break the message in two)."""
    text = str(key)
    return text if text and text.isprintable() and text.strip() == text else repr(text)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean: a, b?)`` naming the near matches of ``name`` in ``known``, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class SemdagError(Exception):
    """An expected failure: a one-line message, where it happened, and an exit code."""

    exit_code = EXIT_USAGE
    code = "error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def location(self) -> str:
        """``file:line: `` prefix, or empty when the error has no file."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}: " if self.line else f"{self.file}: "

    def as_dict(self) -> dict[str, object]:
        """The error as the JSON envelope's ``errors`` item (with its hint, when it has one:
        a JSON reader needs the way out as much as a terminal reader)."""
        item: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
        }
        if self.hint:
            item["hint"] = self.hint
        return item


class UsageError(SemdagError):
    """A bad option or argument on the command line."""

    code = "usage_error"


class ConfigError(SemdagError):
    """A profile or project configuration that cannot be used."""

    code = "config_error"


class NoProjectError(ConfigError):
    """No semdag project where one was looked for."""


class ModuleLoadError(SemdagError):
    """A stack module that does not import."""

    code = "module_error"


class ModuleNotFound(ModuleLoadError):
    """A stack module that is not there: the mistake is in the profile that names it."""


class GraphBuildError(SemdagError):
    """Hamilton refused to build the graph."""

    code = "build_error"


class UnknownNodeError(SemdagError):
    """A node name that the graph does not have."""

    code = "unknown_node"


class BaselineError(SemdagError):
    """A baseline snapshot that is missing or unreadable: the comparison could not run."""

    code = "baseline_error"


class MissingToolError(SemdagError):
    """An external program (such as Graphviz's ``dot``) or an optional extra is missing."""

    code = "missing_tool"


class CheckFailed(SemdagError):
    """A check ran and failed (validation errors, drift, a node raised)."""

    exit_code = EXIT_CHECK_FAILED
    code = "check_failed"


class ExecutionError(CheckFailed):
    """A node raised while the graph ran."""

    code = "execution_error"


class Interrupted(SemdagError):
    """The user pressed Ctrl-C."""

    exit_code = EXIT_INTERRUPTED
    code = "interrupted"
