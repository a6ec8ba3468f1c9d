"""CPU-bound work shared out to forked worker processes.

Parsing and hashing tens of thousands of functions is pure-Python work that threads cannot
share out. A forked worker starts with everything its parent holds, so it needs nothing
sent to it, and only its small result comes back (pickled, through a pipe).

Forking is used only where it is safe and cheap: on Linux, and with no other thread
running (a fork copies only the calling thread, so a lock held by another one would stay
locked in the worker forever). Anywhere else, or when a worker fails, the work is done in
this process: the result never depends on whether workers were used.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_workers() -> int:
    """How many processes may share the work: the usable CPUs, or 1 where forking is unsafe."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return 1
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return 1


def fork_map(work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
    """``[work(chunk) for chunk in chunks]``, every chunk after the first in a forked worker.

    The first chunk is worked on here meanwhile. A worker that fails (an exception, a signal,
    a result that does not pickle) has its chunk worked on here instead, so an error in
    ``work`` surfaces in this process with its usual traceback.
    """
    children: list[tuple[int, int]] = []
    try:
        for chunk in chunks[1:]:
            children.append(_start(work, chunk))
        results = [work(chunks[0])] if chunks else []
    except BaseException:
        for pid, read_fd in children:
            _reap(pid, read_fd)
        raise
    for (pid, read_fd), chunk in zip(children, chunks[1:], strict=True):
        payload = _reap(pid, read_fd)
        try:
            results.append(pickle.loads(payload) if payload is not None else work(chunk))
        except (pickle.UnpicklingError, EOFError, ValueError):
            results.append(work(chunk))
    return results


def _start(work: Callable[[T], R], chunk: T) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns, never runs the parent's exit handlers
        code = 1
        try:
            os.close(read_fd)
            payload = pickle.dumps(work(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _reap(pid: int, read_fd: int) -> bytes | None:
    """A worker's pickled result once it has exited; None when it failed."""
    with os.fdopen(read_fd, "rb") as handle:
        payload = handle.read()
    _, status = os.waitpid(pid, 0)
    return payload if os.waitstatus_to_exitcode(status) == 0 and payload else None
