"""Libraries' own logging: silenced while a command runs, unless ``--debug``.

Hamilton logs a failed build at length (a traceback and an invitation to its Slack) and Dask
logs every worker failure; semdag reports each failure once, in one line.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

LIBRARY_LOGGERS = ("hamilton", "distributed")


@contextlib.contextmanager
def quiet_libraries(debug: bool) -> Iterator[None]:
    """Silence :data:`LIBRARY_LOGGERS` for the block (nothing changes with ``debug``)."""
    if debug:
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
