"""Work done meanwhile on another core: ahead of a build, and behind it.

Ahead: one forked worker, started first.

Importing a large stack and building its driver keeps one core busy for seconds. What a
command will need besides the build (the stack's source parsed and hashed, a baseline read
and reduced) does not depend on it, so a worker forked before the import does it on another
core. Forked that early, the worker is small: its peak memory is its own work's, not the
build's.

Behind and beside: writing what a build learnt to the local cache, or comparing the build
with one baseline while this process compares it with the other, needs nothing more from
this process, so a worker forked once the build's facts are known does it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from semdag.perf.forkpool import Pending, available_workers, fork_start, run_jobs

R = TypeVar("R")


def can_fork() -> bool:
    """Whether a worker may be forked now (Linux, more than one usable CPU, no other
    thread running): where not, work meant for one is done here instead."""
    return available_workers() > 1


def start_ahead(jobs: Mapping[str, Callable[[], Any]]) -> Pending[Any, dict[str, Any]] | None:
    """A worker doing ``jobs`` one after the other while this process goes on; None when
    there is nothing to do or no worker may start (the jobs' owners then do them here).
    ``Pending.result()`` gives each job's result by name, leaving out a job that raised."""
    if not jobs or not can_fork():
        return None
    return fork_start(run_jobs, dict(jobs))


def start_behind(jobs: Sequence[Callable[[], None]]) -> Pending[Any, None]:
    """``jobs`` done one after the other in a forked worker while this process goes on.
    ``Pending.result()`` waits for them; where no worker could start, it does them then."""
    return fork_start(_run_all, list(jobs))


def meanwhile(job: Callable[[], R]) -> Pending[Any, R]:
    """``job()`` done in a forked worker while this process goes on; its result must pickle.
    ``Pending.result()`` gives it; where no worker could start or the worker failed, it is
    worked out then, here, where an error surfaces as usual."""
    return fork_start(_call, job)


def _call(job: Callable[[], R]) -> R:
    return job()


def _run_all(jobs: list[Callable[[], None]]) -> None:
    for job in jobs:
        job()
