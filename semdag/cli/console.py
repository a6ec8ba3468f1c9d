"""Where output goes: results to stdout, everything else to stderr.

Colour and animation appear only on a terminal, never with ``NO_COLOR`` or when a stream is
piped; :func:`force_terminal` is the seam that lets tests see what a terminal would show.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from rich.console import Console

_err: Console | None = None
_out: Console | None = None
_forced: bool | None = None
_activity: Activity | None = None
# Width of results on stdout when it is not a terminal and $COLUMNS does not say.
PIPE_WIDTH = 80
# The same for tables, which would rather not wrap at all.
PIPE_TABLE_WIDTH = 1000


def _columns() -> int:
    """``$COLUMNS`` as a positive number, else 0."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return 0
    return max(columns, 0)


def force_terminal(value: bool | None) -> None:
    """Treat stdout and stderr as terminals (True) or as pipes (False); None asks the streams."""
    global _forced
    _forced = value
    reset()


def err() -> Console:
    """The stderr console (messages, warnings, progress)."""
    global _err
    if _err is None:
        _err = Console(stderr=True, highlight=False, soft_wrap=True, force_terminal=_forced)
    return _err


def out() -> Console:
    """The stdout console (results only)."""
    global _out
    if _out is None:
        # Piped output is for reading in full or for grep: as wide as $COLUMNS says, else
        # wide enough that no table wraps.
        terminal = sys.stdout.isatty() if _forced is None else _forced
        _out = Console(
            highlight=False,
            soft_wrap=True,
            width=None if terminal else (_columns() or PIPE_TABLE_WIDTH),
            force_terminal=_forced,
        )
    return _out


def reset() -> None:
    """Forget the consoles (tests swap sys.stdout/sys.stderr between invocations)."""
    global _err, _out
    _err = _out = None


def styled(console: Console | None = None) -> bool:
    """Whether text for ``console`` (default: stdout) may carry colour."""
    target = console or out()
    return target.is_terminal and not target.no_color and target.color_system is not None


def width() -> int:
    """Columns a result on stdout may use: the terminal's, else ``$COLUMNS``, else 80."""
    target = out()
    if target.is_terminal:
        return target.width
    return _columns() or PIPE_WIDTH


# Styles of message lines on stderr (shown only where colour is).
ERROR, WARNING, HINT = "red", "yellow", "dim"


def say(text: str, style: str = "") -> None:
    """One message line on stderr, in ``style`` (such as :data:`ERROR`) on a terminal."""
    from rich.text import Text

    err().print(Text(text, style=style))


def write(text: str) -> None:
    """Write raw text to stdout (machine-readable output bypasses rich)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def envelope(command: str, ok: bool, data: Any, errors: list[dict[str, Any]]) -> None:
    """Print the one JSON document of ``--format json``."""
    document = {"command": command, "ok": ok, "data": data, "errors": errors}
    write(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


# --- what runs now -----------------------------------------------------------------------------


class Activity:
    """One transient line on stderr: a spinner, what the command is doing, the time so far,
    and while nodes run, a bar with the node that is running. Gone when the command ends."""

    # Seconds between forced redraws; the display also redraws itself ten times a second.
    min_interval = 0.05

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._phase = ""
        self._node: str | None = None
        self._counting = False
        self._drawn = 0.0

    def _started(self, description: str) -> Any:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.text import Text

            class Counted(BarColumn):
                def render(self, task: Any) -> Any:
                    return super().render(task) if task.total is not None else Text("")

            class Count(MofNCompleteColumn):
                def render(self, task: Any) -> Any:
                    return super().render(task) if task.total is not None else Text("")

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                Counted(),
                Count(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
                # stdout carries results: only stderr is routed around the display.
                redirect_stdout=False,
            )
            self._task = self._progress.add_task(description, total=None)
            self._progress.start()
        return self._progress

    def _draw(self, force: bool = False) -> None:
        description = self._phase
        if self._counting:
            description = f"running {self._node}" if self._node else "running nodes"
        progress = self._started(description)
        progress.update(self._task, description=description)
        now = time.monotonic()
        if force or now - self._drawn >= self.min_interval:
            self._drawn = now
            progress.refresh()

    def phase(self, text: str | None) -> None:
        """Show ``text`` as what the command is doing (None: nothing named)."""
        self._phase = text or ""
        if text is not None or self._progress is not None:
            self._draw(force=self._drawn == 0.0)

    # The progress sink of a run (see semdag.core.progress.ProgressSink).
    def start(self, total: int) -> None:
        self._counting = True
        self._draw()
        self._progress.update(self._task, total=total, completed=0)

    def grow(self, extra: int) -> None:
        if self._counting:
            total = self._progress.tasks[0].total or 0
            self._progress.update(self._task, total=total + extra)

    def running(self, node: str) -> None:
        if self._counting:
            self._node = node
            self._draw()

    def advance(self) -> None:
        if self._counting:
            self._progress.advance(self._task)

    def stop(self) -> None:
        if self._counting:
            self._counting = False
            self._node = None
            # Back to naming phases: no count (update() cannot unset a total).
            self._progress.tasks[0].total = None
            self._progress.update(self._task, completed=0)
            self._draw()

    def close(self) -> None:
        """Take the line away."""
        if self._progress is not None:
            with contextlib.suppress(Exception):
                self._progress.stop()
            self._progress = None


def activity() -> Activity:
    """The command's activity line (made on first use; closed when the command ends)."""
    global _activity
    if _activity is None:
        _activity = Activity(err())
    return _activity


@contextlib.contextmanager
def showing_activity() -> Iterator[None]:
    """For one command: on a terminal, name on stderr each phase as it runs."""
    global _activity
    from semdag.core import progress

    previous, _activity = _activity, None
    try:
        if err().is_terminal:
            with progress.listening(lambda text: activity().phase(text)):
                yield
        else:
            yield
    finally:
        if _activity is not None:
            _activity.close()
        _activity = previous
