"""What a command is doing now, named for whoever wants to show it.

Slow steps (importing a stack, building a graph, comparing a profile) announce themselves with
:func:`phase`. Nothing is shown unless a listener is installed with :func:`listening`: the CLI
installs one that draws a transient line on a terminal; library callers and tests see nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

Listener = Callable[[str | None], None]

_listeners: list[Listener] = []
_phases: list[str] = []


@contextlib.contextmanager
def phase(text: str) -> Iterator[None]:
    """Announce ``text`` for the duration of the block; the enclosing phase comes back after."""
    if not _listeners:
        yield
        return
    _phases.append(text)
    _notify(text)
    try:
        yield
    finally:
        _phases.pop()
        _notify(_phases[-1] if _phases else None)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send phase changes to ``listener`` (the phase's text, or None when none is running)."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _notify(text: str | None) -> None:
    for listener in list(_listeners):
        listener(text)


class ProgressSink(Protocol):
    """Where progress goes (the CLI draws it; workers get none)."""

    def start(self, total: int) -> None: ...

    def grow(self, extra: int) -> None: ...

    def running(self, node: str) -> None: ...

    def advance(self) -> None: ...

    def stop(self) -> None: ...
