"""Libraries' own logging: silenced while a command runs, unless ``--debug``.

Hamilton logs a failed build at length (a traceback and an invitation to its Slack) and Dask
logs every worker failure; semdag reports each failure once, in one line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

LIBRARY_LOGGERS = ("hamilton", "distributed")


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
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
