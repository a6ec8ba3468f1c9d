"""How a command may use the machine: other processes, and the garbage collector.

Work that could run in another process (reading baselines while the stack imports, parsing
the stack's source on every core, writing the local cache) goes through :class:`Workers`;
bursts of records that cannot form cycles may pause the collector (:attr:`Tuning.quiet`), and
a built stack that lives as long as the process may be left out of later collections
(:attr:`Tuning.keep`). :data:`SERIAL`, the default of the library, the pytest plugin and the
tests, does everything here, in order, and touches nothing process-wide. The command line
installs a faster tuning (``semdag.perf``); answers never depend on which one ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Job(Protocol[R_co]):
    """Work started now whose result is collected later."""

    def result(self) -> R_co:
        """The work's result; where it ran elsewhere and failed, it is done here, so that its
        error surfaces as usual."""
        ...

    def cancel(self) -> None:
        """The result is not wanted: stop the work if it still runs."""
        ...


class Workers(Protocol):
    """Where work that needs nothing more from this process may run."""

    def start(self, work: Callable[[], R]) -> Job[R]:
        """``work()`` started now (its result must pickle), collected by ``Job.result``."""
        ...

    def map(self, work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
        """``[work(chunk) for chunk in chunks]``, chunks shared out where they may be."""
        ...

    def count(self) -> int:
        """How many processes may share work now (1: only this one)."""
        ...

    def spare(self, work: Callable[[], R]) -> Job[R | None]:
        """``work()`` done in another process where one may start now, else here at once;
        ``Job.result`` is None where it ran elsewhere and failed. The work is not kept for a
        retry here: what it holds may be freed as soon as this returns (a cache write, whose
        loss costs only time later, or work the caller can do again another way)."""
        ...


class _Later(Generic[R]):
    """A job done when its result is asked for, here; never, when it is cancelled."""

    def __init__(self, work: Callable[[], R]) -> None:
        self._work = work

    def result(self) -> R:
        return self._work()

    def cancel(self) -> None:
        return None


class SerialWorkers:
    """Everything in this process, in order: a started job runs when its result is asked."""

    def start(self, work: Callable[[], R]) -> Job[R]:
        return _Later(work)

    def map(self, work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
        return [work(chunk) for chunk in chunks]

    def count(self) -> int:
        return 1

    def spare(self, work: Callable[[], R]) -> Job[R | None]:
        return _Done(work())


class _Done(Generic[R]):
    """A job already done."""

    def __init__(self, value: R) -> None:
        self._value = value

    def result(self) -> R:
        return self._value

    def cancel(self) -> None:
        return None


def nothing() -> None:
    """Do nothing (a default for the hooks below, and for work that has none to do)."""
    return None


@dataclass(frozen=True)
class Tuning:
    """What a session may use besides this process's one core (see the module docstring)."""

    workers: Workers = field(default_factory=SerialWorkers)
    # A context in which the collector may be paused (records that form no cycles).
    quiet: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
    # Called once a built stack is in memory for the rest of the process.
    keep: Callable[[], None] = nothing
    # Called when the project's node functions ran: their open files and finalizers need the
    # interpreter's normal exit.
    ran_project_code: Callable[[], None] = nothing
    # Called before a command that imports the project's modules but runs none of their node
    # functions: numeric libraries may leave their thread pools unstarted (they would compute
    # nothing), which keeps the process able to start workers after the build.
    imports_only: Callable[[], None] = nothing


SERIAL = Tuning()
