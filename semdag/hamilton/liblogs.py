"""Libraries' own logging: silenced while a command runs, unless ``--debug`` (which also
shows semdag's own debug notes).

Hamilton logs a failed build at length (a traceback and an invitation to its Slack) and Dask
logs every worker failure; semdag reports each failure once, in one line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

LIBRARY_LOGGERS = ("hamilton", "distributed")
SEMDAG_LOGGER = "semdag"


@contextlib.contextmanager
def quiet_libraries(debug: bool) -> Iterator[None]:
    """Silence :data:`LIBRARY_LOGGERS` for the block; with ``debug``, send their warnings and
    errors to stderr instead, whatever handlers the process has configured."""
    if debug:
        with _to_stderr():
            yield
        return
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _to_stderr() -> Iterator[None]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    for lg in loggers:
        lg.addHandler(handler)
    # semdag's own notes (which way a profile was built, and why) as `debug: ...` lines.
    own = logging.getLogger(SEMDAG_LOGGER)
    notes = logging.StreamHandler(sys.stderr)
    notes.setFormatter(logging.Formatter("debug: %(message)s"))
    level = own.level
    own.setLevel(logging.DEBUG)
    own.addHandler(notes)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        own.removeHandler(notes)
        own.setLevel(level)
