"""Work in other processes, forked with ``multiprocessing``'s fork start method.

Parsing and hashing tens of thousands of functions is pure-Python work that threads cannot
share out, and reading baselines while the stack imports needs nothing from the import. A
forked process starts with everything its parent holds, so nothing is sent to it; only its
small result comes back (pickled, through a pipe).

A process is forked only where that is safe: on Linux, and while this process has one thread
as the operating system counts them (a fork copies only the calling thread, so a lock another
thread held would stay locked in the child; numpy's and polars' pools are threads too).
Anywhere else, and wherever a worker cannot start or fails, the work is done here: the answer
never depends on whether workers ran.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from semdag.core.tuning import Job, SerialWorkers

T = TypeVar("T")
R = TypeVar("R")

# More workers than this gain little on parsing, and each holds its share of results.
MAX_WORKERS = 8
# Where cgroup v2 states this process's CPU quota.
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"
# Where Linux lists a process's threads, one folder each.
TASKS = "/proc/self/task"


def os_threads() -> int:
    """How many threads this process has, as the operating system counts them (0: unknown)."""
    try:
        return len(os.listdir(TASKS))
    except OSError:
        return 0


def may_fork() -> bool:
    """Whether a process may be forked now: Linux, and this process's only thread running."""
    return sys.platform == "linux" and hasattr(os, "fork") and os_threads() == 1


def cpus() -> int:
    """The CPUs this process may use (its affinity and its cgroup's quota), at most
    :data:`MAX_WORKERS`."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return 1
    return max(1, min(count, _cgroup_cpus() or count, MAX_WORKERS))


def _cgroup_cpus() -> int | None:
    """The CPU quota of this process's cgroup (v2), rounded up; None when unlimited."""
    try:
        with open(CGROUP_CPU_MAX, encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        return None if quota == "max" else max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        return None


class _Forked(Generic[R]):
    """``work()`` in a forked process, its result read from a pipe when asked for."""

    def __init__(self, work: Callable[[], R], *, retry_here: bool = True) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._work: Callable[[], R] | None = work if retry_here else None
        self._receive, send = context.Pipe(duplex=False)
        self._process: Any = context.Process(target=_serve, args=(send, work), daemon=True)
        try:
            self._process.start()
        finally:
            send.close()

    def result(self) -> R:
        try:
            done, value = self._receive.recv()
        except Exception:  # the worker died, or its result did not arrive whole
            done, value = False, None
        finally:
            self._close(kill=False)
        if done or self._work is None:
            return value  # type: ignore[no-any-return]
        return self._work()

    def cancel(self) -> None:
        self._close(kill=True)

    def _close(self, *, kill: bool) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        self._receive.close()
        if kill:
            process.kill()
        process.join()
        process.close()


def _serve(send: Any, work: Callable[[], Any]) -> None:
    """A worker's body: the result, or ``(False, None)`` when the work (or pickling its
    result) failed, so that the parent does the work itself."""
    import signal

    # An interrupt is the parent's to handle: it stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            send.send((True, work()))
        except Exception:
            send.send((False, None))
    finally:
        send.close()


class ParallelWorkers:
    """Work shared out to forked processes where that is safe (see the module docstring)."""

    def start(self, work: Callable[[], R]) -> Job[R]:
        if may_fork():
            try:
                return _Forked(work)
            except OSError:
                pass
        return SerialWorkers().start(work)

    def map(self, work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
        """Every chunk after the first in a forked process while this one works on the first;
        a chunk whose worker could not start or failed is worked on here."""
        started: list[Job[R]] = []
        try:
            for chunk in chunks[1:]:
                started.append(self.start(partial(work, chunk)))
            results = [work(chunks[0])] if chunks else []
            while started:
                results.append(started.pop(0).result())
            return results
        finally:
            for job in started:
                job.cancel()

    def count(self) -> int:
        return cpus() if may_fork() else 1

    def spare(self, work: Callable[[], R]) -> Job[R | None]:
        if may_fork():
            try:
                return _Forked(work, retry_here=False)
            except OSError:
                pass
        return SerialWorkers().spare(work)
