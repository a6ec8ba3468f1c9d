"""The command line answers the same with its workers and without them (``SEMDAG_WORKERS=0``):
every command below runs cold, once with work shared out to forked processes and once in one
process, and prints the same bytes with the same exit code; ``snapshot update`` also writes
the same baselines.

The commands run in one fresh interpreter (the test process has other threads and rightly
forks nothing) whose libraries are told to start no thread pools, so that it may fork for
every command; the script checks that the parallel runs did fork.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

pytestmark = pytest.mark.slow

# Commands whose cold runs go through the workers: the build's facts (the source read while
# the stack imports, the cache written meanwhile) and the gate (baselines read meanwhile).
COMMANDS = [
    ["build", "-p", "dev", "-f", "json"],
    ["validate", "-p", "dev", "-f", "json"],
    ["ls", "-p", "dev", "-f", "json"],
    ["registry", "-p", "dev", "-f", "json"],
    ["render", "-p", "dev", "--format", "dot"],
    ["export", "-p", "dev"],
    ["export", "-p", "dev", "-f", "hamilton"],
    ["snapshot", "check", "-p", "dev", "-f", "json"],
    ["snapshot", "check", "--all", "--fail-on", "any"],
]

# Breakages whose errors may arise in a worker: each must be reported as without workers.
BROKEN = {
    "a module that does not parse": ("stack/core.py", "\ndef broken(:\n"),
    "an unreadable registry.json": ("snapshots/dev/registry.json", "{not json"),
    "an unreadable graph.json": ("snapshots/dev/graph.json", "{not json"),
}

SCRIPT = textwrap.dedent(
    """
    import json, os, shutil, sys, tempfile
    from pathlib import Path

    from semdag.cli import main
    from semdag.core.tuning import SerialWorkers, Tuning
    from semdag.hamilton import sourceinfo
    from semdag.perf.processes import ParallelWorkers, os_threads

    sourceinfo.AHEAD_MIN_CHARS = 0  # the small example's source is read while it imports
    plan = json.loads(sys.argv[1])
    forks = []

    class Counting(ParallelWorkers):
        def start(self, work):
            forks.append(os_threads() == 1)
            return super().start(work)

        def spare(self, work):
            forks.append(os_threads() == 1)
            return super().spare(work)

    def run(root, args, workers):
        # Each way starts from the same state: no local caches, the committed baselines.
        shutil.rmtree(root / ".semdag", ignore_errors=True)
        folder = root / "snapshots"
        kept = folder.with_name("snapshots.kept")
        if kept.exists():
            shutil.rmtree(folder)
        else:
            shutil.copytree(folder, kept)
        shutil.copytree(kept, folder, dirs_exist_ok=True)
        with tempfile.TemporaryFile() as out:
            saved = os.dup(1)
            os.dup2(out.fileno(), 1)
            try:
                code = main([*args, "--project-dir", str(root)], tuning=Tuning(workers=workers))
                sys.stdout.flush()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            out.seek(0)
            return code, out.read().decode()

    def baselines(root):
        folder = root / "snapshots" / "dev"
        return {p.name: p.read_text() for p in sorted(folder.glob("*.json"))}

    results = []
    for where, args in plan:
        root = Path(where)
        ours = [[*run(root, args, w), baselines(root)] for w in (Counting(), SerialWorkers())]
        shutil.rmtree(root / "snapshots.kept")
        results.append({"args": args, "parallel": ours[0], "serial": ours[1]})
    print(json.dumps({"results": results, "forks": forks, "threads": os_threads()}))
    """
)

# The libraries' own threads left unstarted: OpenBLAS's pool and pyarrow's jemalloc thread
# (the stack imports no polars, whose threads no setting stops).
NO_POOLS = {"OPENBLAS_NUM_THREADS": "1", "JE_ARROW_MALLOC_CONF": "background_thread:false"}


def both_ways(plan: list[tuple[Path, list[str]]]) -> dict[str, Any]:
    """Run each (project, command) of ``plan`` with workers and without, in one fresh
    interpreter: for each, the command and what each way gave, as [exit code, stdout, the
    profile's baselines after it]; and whether each worker started forked from one thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMDAG_")}
    jobs = [(str(root), args) for root, args in plan]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(jobs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, **NO_POOLS, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture(scope="module")
def baselined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layered fixture with its dev baselines written."""
    root = tmp_path_factory.mktemp("same") / "layered"
    shutil.copytree(FIXTURES / "layered", root)
    done = run_cli(["snapshot", "update", "-p", "dev", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    shutil.rmtree(root / ".semdag")
    return root


def copy_of(baselined: Path, where: Path) -> Path:
    shutil.copytree(baselined, where)
    return where


def test_every_command_answers_the_same_with_and_without_workers(
    baselined: Path, tmp_path: Path
) -> None:
    root = copy_of(baselined, tmp_path / "layered")
    core = root / "stack/core.py"
    core.write_text(core.read_text() + "\n\ndef extra_node() -> int:\n    return 1\n")
    plan = [*COMMANDS, ["snapshot", "update", "-p", "dev"]]
    report = both_ways([(root, args) for args in plan])
    results = report["results"]
    assert [r["args"] for r in results] == plan
    for result in results:
        assert result["parallel"] == result["serial"], result["args"]
    # Not an empty agreement: the commands answered, the change was found, the gate failed,
    # and the update wrote the new node into the baselines.
    by_args = {" ".join(r["args"]): r["serial"] for r in results}
    assert "extra_node" in by_args["ls -p dev -f json"][1]
    check = json.loads(by_args["snapshot check -p dev -f json"][1])
    rules = {f["rule"] for f in check["data"]["comparisons"][0]["findings"]}
    assert "graph-changed" in rules
    assert by_args["snapshot check --all --fail-on any"][0] == 1
    code, _, written = by_args["snapshot update -p dev"]
    assert code == 0 and "extra_node" in written["graph.json"]
    # Work was shared out, and every process was forked from one thread.
    forks = report["forks"]
    assert len(forks) >= len(plan)
    assert all(forks), "a worker was started while the process had other threads"


def test_what_goes_wrong_in_a_worker_is_reported_as_without_workers(
    baselined: Path, tmp_path: Path
) -> None:
    plan = []
    for number, (name, text) in enumerate(sorted(BROKEN.values())):
        root = copy_of(baselined, tmp_path / f"layered{number}")
        path = root / name
        path.write_text(path.read_text() + text if name.endswith(".py") else text)
        plan.append((root, ["snapshot", "check", "-p", "dev", "-f", "json"]))
    results = both_ways(plan)["results"]
    assert len(results) == len(BROKEN)
    for case, result in zip(sorted(BROKEN.values()), results, strict=True):
        assert result["parallel"] == result["serial"], case
        document = json.loads(result["serial"][1])
        # Each is reported: an error, or (graph.json) a finding that names the file.
        reported = document["errors"] or document["data"]["comparisons"][0]["findings"]
        assert reported, (case, document)
