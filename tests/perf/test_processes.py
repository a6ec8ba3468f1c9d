"""Work shared out to forked processes gives what the same work gives in one process, and no
process is forked while this one has another thread."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
import threading

import pytest

from semdag.perf import gctools, processes

# Run in a fresh interpreter: a test process (pytest-xdist's channel, numpy's pools) has
# other threads, and rightly forks nothing.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from semdag.perf.processes import ParallelWorkers, os_threads

    parent = os.getpid()
    workers = ParallelWorkers()

    def square_all(chunk):
        return [(n, n * n, os.getpid()) for n in chunk]

    def only_here(chunk):
        if os.getpid() != parent:
            raise RuntimeError("fails in a worker")
        return [n + 1 for n in chunk]

    mapped = workers.map(square_all, [[1, 2], [3], [4, 5, 6]])
    failing = workers.map(only_here, [[1], [2], [3]])
    unpicklable = workers.start(lambda: (lambda: os.getpid())).result()()
    spared = []
    def note_pid():
        with open(sys.argv[1], "w") as handle:
            handle.write(str(os.getpid()))
    spare = workers.spare(note_pid)
    spare.result()
    with open(sys.argv[1]) as handle:
        spared.append(int(handle.read()))
    def fails():
        raise RuntimeError("a write that fails is lost, not retried here")
    workers.spare(fails).result()
    started = time.monotonic()
    slow = workers.start(lambda: time.sleep(60))
    slow.cancel()
    cancelled_in = time.monotonic() - started
    print(json.dumps({
        "parent": parent,
        "threads": os_threads(),
        "count": workers.count(),
        "mapped": mapped,
        "failing": failing,
        "unpicklable": unpicklable,
        "cancelled_in": cancelled_in,
        "spared": spared,
    }))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="processes are forked on Linux only")
def test_work_in_forked_processes_gives_what_it_gives_here(tmp_path):
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", SCRIPT, str(tmp_path / "pid")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning, no worker's traceback
    report = json.loads(done.stdout)
    assert report["threads"] == 1
    mapped = report["mapped"]
    assert [[[n, sq] for n, sq, _ in part] for part in mapped] == [
        [[1, 1], [2, 4]],
        [[3, 9]],
        [[4, 16], [5, 25], [6, 36]],
    ]
    pids = [{pid for _, _, pid in part} for part in mapped]
    assert pids[0] == {report["parent"]}  # the first chunk is worked on here
    assert report["parent"] not in pids[1] | pids[2] and pids[1] != pids[2]
    # A chunk whose worker failed is worked on here, with the same result.
    assert report["failing"] == [[2], [3], [4]]
    # A result that does not pickle is worked out here.
    assert report["unpicklable"] == report["parent"]
    assert report["cancelled_in"] < 5
    # Spare work (a cache write) ran in another process, whose failure is not retried here.
    assert report["spared"] and report["spared"][0] != report["parent"]


def test_spare_work_runs_at_once_where_no_process_may_start(tmp_path):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        ran: list[int] = []
        import os

        job = processes.ParallelWorkers().spare(lambda: ran.append(os.getpid()))
        assert ran == [os.getpid()]  # done before spare returned, here
        job.result()
        assert ran == [os.getpid()]
    finally:
        stop.set()
        thread.join()


# A command that only imports the stack leaves pandas's native thread pools unstarted, so that
# its process may still fork after the build; a variable the user set is left as it is.
UNSTARTED = textwrap.dedent(
    """
    import json, os
    from semdag.perf.processes import os_threads
    from semdag.perf.threads import unstarted

    unstarted()
    import pandas  # numpy's BLAS and pyarrow's allocator load here
    print(json.dumps({"threads": os_threads(), "blas": os.environ["OPENBLAS_NUM_THREADS"]}))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="threads are counted on Linux only")
@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("3", "3")])
def test_an_import_only_command_starts_no_library_threads(given, expected):
    import os

    env = {k: v for k, v in os.environ.items() if k not in processes_env()}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run(
        [sys.executable, "-c", UNSTARTED], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["blas"] == expected
    if given is None:
        assert report["threads"] == 1


def processes_env() -> set[str]:
    from semdag.perf.threads import SINGLE_THREADED

    return set(SINGLE_THREADED)


def test_no_process_is_forked_while_another_thread_runs(monkeypatch):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert processes.os_threads() >= 2
        assert not processes.may_fork()
        workers = processes.ParallelWorkers()
        assert workers.count() == 1
        import os

        assert workers.start(os.getpid).result() == os.getpid()
        assert workers.map(lambda chunk: [os.getpid()], [[1], [2]]) == [[os.getpid()]] * 2
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize(
    ("cpus", "cpu_max", "expected"),
    [
        (4, "max 100000", 4),  # no quota: every CPU of the affinity mask
        (4, "200000 100000", 2),  # a quota of two CPUs
        (4, "150000 100000", 2),  # a fraction rounds up
        (1, "max 100000", 1),
        (64, "max 100000", processes.MAX_WORKERS),  # many CPUs, no quota: capped
    ],
)
def test_cpus_follow_affinity_and_quota(monkeypatch, tmp_path, cpus, cpu_max, expected):
    import os

    path = tmp_path / "cpu.max"
    path.write_text(cpu_max + "\n")
    monkeypatch.setattr(processes, "CGROUP_CPU_MAX", str(path))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(cpus)), raising=False)
    assert processes.cpus() == expected


def test_a_short_lived_process_restores_the_collector_afterwards():
    before = gc.get_threshold()
    with gctools.short_lived_process():
        assert gc.get_threshold()[0] == 50_000
        gctools.freeze()
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
