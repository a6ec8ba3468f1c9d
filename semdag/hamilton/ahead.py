"""Work done meanwhile while a stack imports and builds: one forked worker, started first.

Importing a large stack and building its driver keeps one core busy for seconds. What a
command will need besides the build (the stack's source parsed and hashed, a baseline read
and reduced) does not depend on it, so a worker forked before the import does it on another
core. Forked that early, the worker is small: its peak memory is its own work's, not the
build's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from semdag.perf.forkpool import Pending, available_workers, fork_start, run_jobs


def start_ahead(jobs: Mapping[str, Callable[[], Any]]) -> Pending[Any, dict[str, Any]] | None:
    """A worker doing ``jobs`` one after the other while this process goes on; None when
    there is nothing to do or no worker may start (the jobs' owners then do them here).
    ``Pending.result()`` gives each job's result by name, leaving out a job that raised."""
    if not jobs or available_workers() < 2:
        return None
    return fork_start(run_jobs, dict(jobs))
