"""Graphviz's ``dot`` program: output formats, finding the binary, and laying DOT text out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from semdag.core.errors import EXIT_INTERNAL, MissingToolError, SemdagError, UsageError

FORMATS = ("dot", "svg", "png", "pdf", "html")
# Formats Graphviz's `dot` must lay out; html embeds an SVG, so it needs `dot` too.
NEEDS_DOT = ("svg", "png", "pdf", "html")
SUFFIXES = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}

INSTALL_HINT = (
    "install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS), or `make graphviz`; `--format dot` works without it"
)


class DotFailedError(SemdagError):
    """Graphviz rejected DOT text that semdag generated: a bug, not a user error."""

    exit_code = EXIT_INTERNAL
    code = "dot_failed"


def format_for(fmt: str | None, output: Path | None) -> str:
    """The output format: ``fmt`` when given, else inferred from ``output``'s suffix, else dot."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
        return fmt
    if output is None:
        return "dot"
    inferred = SUFFIXES.get(output.suffix.lower())
    if inferred is None:
        raise UsageError(
            f"cannot infer the format from {output.name!r}: pass --format "
            f"({', '.join(FORMATS)}) or use a suffix {', '.join(sorted(SUFFIXES))}"
        )
    return inferred


def dot_binary(fmt: str) -> str:
    """The path of Graphviz's ``dot``; MissingToolError (with install hints) when absent."""
    binary = shutil.which("dot")
    if binary is None:
        what = "html output embeds an SVG, so it" if fmt == "html" else f"{fmt} output"
        raise MissingToolError(
            f"{what} needs Graphviz's `dot` program, which is not on PATH", hint=INSTALL_HINT
        )
    return binary


def run_dot(dot_text: str, fmt: str) -> bytes:
    """Lay ``dot_text`` out with Graphviz's ``dot`` into svg, png or pdf bytes (svg for html)."""
    target = "svg" if fmt == "html" else fmt
    binary = dot_binary(fmt)
    try:
        done = subprocess.run(
            [binary, f"-T{target}", "-Gcharset=UTF-8"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise MissingToolError(f"cannot run {binary}: {exc.strerror}", hint=INSTALL_HINT) from None
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        first = detail[0] if detail else "no output"
        raise DotFailedError(f"Graphviz `dot` failed (exit {done.returncode}): {first}")
    return done.stdout
