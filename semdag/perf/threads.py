"""Native libraries' thread pools, left unstarted in a command that computes nothing.

numpy's BLAS starts a pool of threads when it loads, and pyarrow's allocator a background
thread; pandas loads both. A command that imports the project's modules only to read their
graph never computes with them, yet those threads would keep the process from forking a
worker after the build (see :mod:`semdag.perf.processes`). Their sizes are read from the
environment when each library loads, so they are set here, before the stack imports, and
only where the user has set nothing.
"""

from __future__ import annotations

import os
import sys

# Variable -> the value that starts no thread, for the libraries pandas and numpy load.
SINGLE_THREADED = {
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
# Once one of these is loaded, its pool exists (or its size is read) already.
LOADERS = ("numpy", "pyarrow")


def unstarted() -> None:
    """Leave the pools unstarted in this process (see the module docstring)."""
    if any(name in sys.modules for name in LOADERS):
        return
    for name, value in SINGLE_THREADED.items():
        os.environ.setdefault(name, value)
