"""The cyclic garbage collector: paused around bursts of acyclic records, and kept off the
long-lived heap of a built stack."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass


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


@dataclass
class _Settling:
    allowed: bool = False
    frozen: bool = False


_SETTLING = _Settling()


@contextlib.contextmanager
def long_lived_heaps() -> Iterator[None]:
    """Within the block, :func:`settle` may freeze the heap; afterwards it is unfrozen.

    The process's owner (the command line) decides this: a process that goes on to other
    work (a test session, a notebook) keeps the collector as it was.
    """
    previous = _SETTLING.allowed
    _SETTLING.allowed = True
    try:
        yield
    finally:
        _SETTLING.allowed = previous
        if _SETTLING.frozen and not previous:
            _SETTLING.frozen = False
            gc.unfreeze()


def settle() -> None:
    """Treat everything alive now as permanent (inside :func:`long_lived_heaps` only).

    After a build, the heap holds the imported stack and Hamilton's graph: hundreds of
    thousands of objects that live until the process ends. A full collection walks all of
    them (a third of a second at 20,000 nodes) and frees none; frozen, they are left out of
    every later collection, and objects made afterwards are collected as usual.
    """
    if _SETTLING.allowed:
        gc.freeze()
        _SETTLING.frozen = True


def short_lived_process() -> None:
    """Collect less often, for a process that runs one command and builds large graphs.

    With the default thresholds the collector rescans the whole heap again and again while
    Hamilton builds thousands of nodes (about a fifth of a cold check's time). Collections
    still run, less often. Only a process's owner calls this (the command line's ``main``).
    """
    gc.set_threshold(50_000, 20, 20)
