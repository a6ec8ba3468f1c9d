"""CPU-bound work shared out to forked worker processes.

Parsing and hashing tens of thousands of functions is pure-Python work that threads cannot
share out. A forked worker starts with everything its parent holds, so it needs nothing
sent to it, and only its small result comes back (pickled, through a pipe).

Forking is used only where it is safe and cheap: on Linux, and with no other thread
running (a fork copies only the calling thread, so a lock held by another one would stay
locked in the worker forever). Anywhere else, when a worker cannot be started or fails, the
work is done in this process: the result never depends on whether workers were used.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

# More workers than this gain little on parsing, and each holds its share of results.
MAX_WORKERS = 8
# Where cgroup v2 states this process's CPU quota.
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"
# Signals that would otherwise reach a worker before it is ready to exit on them.
_DEFERRED = {signal.SIGINT, signal.SIGTERM}


def available_workers() -> int:
    """How many processes may share the work: the CPUs this process may use (its affinity
    and its cgroup's CPU quota), at most :data:`MAX_WORKERS`; 1 where forking is unsafe."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return 1
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return 1
    return max(1, min(cpus, _cgroup_cpus() or cpus, MAX_WORKERS))


def _cgroup_cpus() -> int | None:
    """The CPU quota of this process's cgroup (v2), rounded up; None when unlimited."""
    try:
        with open(CGROUP_CPU_MAX, encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        return None if quota == "max" else max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        return None


def fork_map(work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
    """``[work(chunk) for chunk in chunks]``, every chunk after the first in a forked worker.

    The first chunk is worked on here meanwhile. A chunk whose worker cannot be started or
    fails (an exception, a signal, a result that does not pickle) is worked on here instead,
    so an error in ``work`` surfaces in this process with its usual traceback. When this
    process is interrupted, its workers are killed and reaped before the error propagates.
    """
    children: dict[int, tuple[int, int]] = {}  # chunk index -> (pid, read end of its pipe)
    try:
        for position, chunk in enumerate(chunks[1:], start=1):
            started = _start(work, chunk)
            if started is not None:
                children[position] = started
        results = [work(chunks[0])] if chunks else []
        for position in range(1, len(chunks)):
            worker = children.pop(position, None)
            value = _reap(*worker) if worker is not None else _FAILED
            results.append(work(chunks[position]) if value is _FAILED else value)
        return results
    finally:
        for pid, read_fd in children.values():
            _kill(pid, read_fd)


class Pending(Generic[T, R]):
    """``work(chunk)`` started in a forked worker now, its result collected later.

    What forking is for when this process has work of its own meanwhile (importing and
    building while the worker parses). :meth:`result` waits for the worker, or works on the
    chunk here when none could start or the worker failed; :meth:`cancel` stops a worker
    whose result is no longer wanted. Either reaps the worker, once.
    """

    def __init__(self, work: Callable[[T], R], chunk: T) -> None:
        self._work = work
        self._chunk = chunk
        self._worker = _start(work, chunk) if available_workers() > 1 else None

    @property
    def forked(self) -> bool:
        """Whether a worker is working on the chunk (not yet collected)."""
        return self._worker is not None

    def result(self) -> R:
        worker, self._worker = self._worker, None
        value = _reap(*worker) if worker is not None else _FAILED
        return self._work(self._chunk) if value is _FAILED else cast(R, value)

    def cancel(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            _kill(*worker)


def fork_start(work: Callable[[T], R], chunk: T) -> Pending[T, R]:
    """Start ``work(chunk)`` in a forked worker where one may run (see :class:`Pending`)."""
    return Pending(work, chunk)


def run_jobs(jobs: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each job's result by name, one job after the other. A job that raises is left out:
    whoever wants its result runs it again where its error surfaces as usual."""
    results: dict[str, Any] = {}
    for name, job in jobs.items():
        try:
            results[name] = job()
        except Exception:
            continue
    return results


def _start(work: Callable[[T], R], chunk: T) -> tuple[int, int] | None:
    """A worker for ``chunk``: (pid, read end of its result pipe); None when none can start."""
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
    # Signals wait until the worker can take them inside its `try`: before that, one would
    # unwind the worker through this process's stack, its exit handlers and its output.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the worker: never returns, never runs the parent's exit handlers
        code = 1
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            os.close(read_fd)
            payload = pickle.dumps(work(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    try:
        os.close(write_fd)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a deferred signal lands here
    except BaseException:
        _kill(pid, read_fd)
        raise
    return pid, read_fd


# What a worker that failed gives (see _reap); its chunk is then worked on here.
_FAILED: Any = object()


def _reap(pid: int, read_fd: int) -> Any:
    """A worker's result once it has exited, unpickled as it is read from the pipe (its
    bytes are never held whole here); :data:`_FAILED` when it failed. Takes over the pipe:
    interrupted, it kills and reaps the worker before the error goes on."""
    try:
        with os.fdopen(read_fd, "rb") as handle:
            try:
                value = pickle.load(handle)
            except Exception:
                value = _FAILED
        _, status = os.waitpid(pid, 0)
    except BaseException:
        _kill(pid, None)
        raise
    return value if os.waitstatus_to_exitcode(status) == 0 else _FAILED


def _kill(pid: int, read_fd: int | None) -> None:
    """Stop a worker whose result is no longer wanted, close its pipe, and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if read_fd is not None:
        os.close(read_fd)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
