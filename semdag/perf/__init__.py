"""Speed for the command line's process: other processes, the collector, the fast exit.

:func:`run_command_line` is the whole interface: the command line's entry point hands it
``main``, and nothing else in semdag imports this package. Without it, ``main`` runs with
the serial tuning and the interpreter exits as usual; answers are the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn

from semdag.core.tuning import SerialWorkers, Tuning, nothing

# SEMDAG_WORKERS=0 keeps all work in one process.
WORKERS_ENV = "SEMDAG_WORKERS"


def run_command_line(main: Callable[..., int]) -> NoReturn:
    """Run ``main(tuning=...)`` in a process tuned for one command, then leave it without
    tearing the heap down unless project code ran (see :func:`semdag.perf.fastexit.leave`)."""
    from semdag.perf import gctools
    from semdag.perf.fastexit import leave
    from semdag.perf.processes import ParallelWorkers
    from semdag.perf.threads import unstarted

    ran_project_code: list[bool] = []
    serial = os.environ.get(WORKERS_ENV, "").strip() == "0"
    tuning = Tuning(
        workers=SerialWorkers() if serial else ParallelWorkers(),
        quiet=gctools.paused,
        keep=gctools.freeze,
        ran_project_code=lambda: ran_project_code.append(True),
        imports_only=nothing if serial else unstarted,
    )
    with gctools.short_lived_process():
        code = main(tuning=tuning)
    leave(code, fast=not ran_project_code)
