"""The cyclic garbage collector: paused around bursts of acyclic records, and kept off the
long-lived heap of a built stack."""

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


def freeze() -> None:
    """Treat everything alive now as permanent.

    After a build, the heap holds the imported stack and Hamilton's graph: hundreds of
    thousands of objects that live until the process ends. A full collection walks all of
    them (a third of a second at 20,000 nodes) and frees none; frozen, they are left out of
    every later collection, and objects made afterwards are collected as usual.
    """
    gc.freeze()


@contextlib.contextmanager
def short_lived_process() -> Iterator[None]:
    """Collect less often within the block, for a process that runs one command and builds
    large graphs; afterwards the thresholds are as they were and the heap unfrozen.

    With the default thresholds the collector rescans the whole heap again and again while
    Hamilton builds thousands of nodes (about a fifth of a cold check's time). Collections
    still run, less often.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
