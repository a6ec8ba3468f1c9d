"""Pausing the cyclic garbage collector around allocation bursts of acyclic records."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collections inside the block.

    Building tens of thousands of plain records (node models, parsed JSON, syntax trees) would
    otherwise trigger collections that rescan the whole heap, Hamilton's graph included,
    again and again, though none of these records can form a cycle.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
