"""Work shared out to forked workers gives what the same work gives in one process."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from semdag.perf import forkpool

needs_fork = pytest.mark.skipif(
    sys.platform != "linux", reason="workers are forked on Linux only; elsewhere work is serial"
)


@pytest.fixture
def started(monkeypatch) -> list[int]:
    """The pids of the workers forked during the test."""
    pids: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def square_all(chunk: list[int]) -> list[tuple[int, int, int]]:
    return [(n, n * n, os.getpid()) for n in chunk]


@needs_fork
def test_chunks_after_the_first_run_in_other_processes_in_order() -> None:
    chunks = [[1, 2], [3], [4, 5, 6]]
    results = forkpool.fork_map(square_all, chunks)
    assert [[(n, sq) for n, sq, _ in part] for part in results] == [
        [(1, 1), (2, 4)],
        [(3, 9)],
        [(4, 16), (5, 25), (6, 36)],
    ]
    pids = [{pid for _, _, pid in part} for part in results]
    assert pids[0] == {os.getpid()}
    assert os.getpid() not in pids[1] | pids[2] and pids[1] != pids[2]


@needs_fork
def test_a_failing_worker_has_its_chunk_done_here() -> None:
    parent = os.getpid()

    def only_here(chunk: list[int]) -> list[int]:
        if os.getpid() != parent:
            raise RuntimeError("fails in a worker")
        return [n + 1 for n in chunk]

    assert forkpool.fork_map(only_here, [[1], [2], [3]]) == [[2], [3], [4]]


@needs_fork
def test_an_error_here_still_reaps_the_workers(started: list[int]) -> None:
    def boom(chunk: list[int]) -> list[int]:
        if chunk == [0]:
            raise ValueError("first chunk")
        return chunk

    with pytest.raises(ValueError, match="first chunk"):
        forkpool.fork_map(boom, [[0], [1], [2]])
    assert len(started) == 2
    for pid in started:  # already waited for: no zombie left behind
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@needs_fork
def test_a_worker_that_cannot_start_has_its_chunk_done_here(monkeypatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError("no more processes")

    before = open_fds()
    monkeypatch.setattr(os, "fork", no_fork)
    results = forkpool.fork_map(square_all, [[1], [2], [3]])
    assert [[(n, sq) for n, sq, _ in part] for part in results] == [[(1, 1)], [(2, 4)], [(3, 9)]]
    assert open_fds() == before, "the pipes of workers that never started are closed"


@needs_fork
def test_an_error_while_collecting_kills_and_reaps_the_remaining_workers(
    started: list[int],
) -> None:
    parent = os.getpid()

    def slow_elsewhere(chunk: list[int]) -> list[int]:
        if os.getpid() != parent:
            if chunk == [1]:
                raise RuntimeError("the worker fails, so the chunk is redone here")
            import time

            time.sleep(60)  # never finishes: it must be killed, not waited for
        if chunk == [1]:
            raise ValueError("redone here, fails here too")
        return chunk

    before = open_fds()
    with pytest.raises(ValueError, match="fails here too"):
        forkpool.fork_map(slow_elsewhere, [[0], [1], [2]])
    assert len(started) == 2
    for pid in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert open_fds() == before


@needs_fork
@pytest.mark.parametrize(
    ("cpus", "quota", "expected"),
    [
        (64, "max 100000", forkpool.MAX_WORKERS),  # many CPUs, no quota: capped
        (64, "150000 100000", 2),  # a quota of 1.5 CPUs, rounded up
        (3, "800000 100000", 3),  # the affinity is smaller than the quota
        (4, "garbage", 4),  # an unreadable quota counts as none
    ],
)
def test_workers_follow_affinity_quota_and_cap(
    monkeypatch, tmp_path, cpus: int, quota: str, expected: int
) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text(quota + "\n", encoding="ascii")
    monkeypatch.setattr(forkpool, "CGROUP_CPU_MAX", str(cpu_max))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert forkpool.available_workers() == expected


def test_no_workers_while_another_thread_runs() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert forkpool.available_workers() == 1
    finally:
        release.set()
        thread.join()


def test_empty_and_single_chunk() -> None:
    assert forkpool.fork_map(square_all, []) == []
    assert [[(n, sq) for n, sq, _ in part] for part in forkpool.fork_map(square_all, [[2]])] == [
        [(2, 4)]
    ]


def pid_and_double(chunk: list[int]) -> tuple[int, list[int]]:
    return os.getpid(), [n * 2 for n in chunk]


@needs_fork
def test_a_started_job_runs_in_another_process_while_this_one_goes_on(monkeypatch) -> None:
    # Another test may have left a thread running in this process, which rules forking out.
    monkeypatch.setattr(forkpool, "available_workers", lambda: 2)
    pending = forkpool.fork_start(pid_and_double, [1, 2])
    assert pending.forked
    pid, doubled = pending.result()
    assert doubled == [2, 4] and pid != os.getpid()
    assert not pending.forked


@needs_fork
def test_a_job_whose_worker_fails_is_done_here() -> None:
    parent = os.getpid()

    def only_here(chunk: list[int]) -> list[int]:
        if os.getpid() != parent:
            os._exit(7)
        return [n + 1 for n in chunk]

    assert forkpool.fork_start(only_here, [1]).result() == [2]


def test_a_cancelled_job_is_reaped_and_never_run_here(monkeypatch) -> None:
    ran: list[int] = []

    def record(chunk: list[int]) -> list[int]:
        ran.append(os.getpid())
        return chunk

    monkeypatch.setattr(forkpool, "available_workers", lambda: 1)
    forkpool.fork_start(record, [1]).cancel()
    assert ran == []


@needs_fork
def test_cancelling_stops_and_reaps_a_running_worker(started: list[int], monkeypatch) -> None:
    import time

    monkeypatch.setattr(forkpool, "available_workers", lambda: 2)
    pending = forkpool.fork_start(lambda seconds: time.sleep(seconds), 60)
    begun = time.monotonic()
    pending.cancel()
    assert time.monotonic() - begun < 10
    assert len(started) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0], os.WNOHANG)  # reaped already


def test_jobs_that_raise_are_left_out() -> None:
    def fails() -> int:
        raise ValueError("no")

    assert forkpool.run_jobs({"a": lambda: 1, "b": fails, "c": lambda: 3}) == {"a": 1, "c": 3}


def test_the_heap_is_frozen_only_inside_long_lived_heaps() -> None:
    import gc

    from semdag.perf import gctools

    assert gc.get_freeze_count() == 0
    gctools.settle()
    assert gc.get_freeze_count() == 0  # outside: the collector is left as it is
    kept = [object() for _ in range(10)]
    with gctools.long_lived_heaps():
        gctools.settle()
        assert gc.get_freeze_count() > len(kept)
    assert gc.get_freeze_count() == 0
