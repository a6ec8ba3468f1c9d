"""Leaving the process without tearing its heap down."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

# CPython's exit status when flushing the standard streams fails at exit.
EXIT_FLUSH_FAILED = 120


def leave(code: int, *, fast: bool) -> NoReturn:
    """Exit with ``code``; with ``fast``, without freeing every object first.

    A process that built a large graph would otherwise spend about half a second at exit
    freeing every object one by one, and nothing needs that: exit handlers still run and the
    standard streams are flushed (a failed flush exits with 120, as Python itself does).
    The interpreter exits normally without ``fast`` (after a command that ran node
    functions, whose files and finalizers that teardown closes), and while another thread
    runs, so that it is joined.
    """
    import atexit

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    threading = sys.modules.get("threading")
    running = threading is not None and threading.active_count() > 1
    if run_exit_handlers is None or running or not fast:
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or EXIT_FLUSH_FAILED
    os._exit(code)
