"""Dask: a real scheduler and workers on 127.0.0.1, results equal to the synchronous run's."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import FIXTURES, run_cli, run_process

# distributed keeps its IO loop and offload threads for the rest of the process.
pytestmark = pytest.mark.lingering_threads

FANOUT = FIXTURES / "exec_fanout"
BASIC = FIXTURES / "exec_basic"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """One local cluster for the module; its workers can import the fixture projects."""
    from distributed import LocalCluster

    roots = [str(FANOUT), str(BASIC)]
    # Workers are spawned with this process's sys.path: that is how they import the modules.
    sys.path[:0] = roots
    try:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )
    finally:
        for root in roots:
            sys.path.remove(root)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def execute(project, *args: str):
    return run_cli(["execute", "--project-dir", str(project), "-f", "json", *args])


def on_dask(address: str) -> list[str]:
    return ["--set", "execution.executor=dask", "--set", f"execution.dask.address={address}"]


def test_dynamic_run_on_a_scheduler_equals_the_sync_run(scheduler):
    sync = execute(FANOUT, "--input", "count=15")
    dask = execute(FANOUT, "--input", "count=15", *on_dask(scheduler))
    assert dask.exit_code == 0, dask.stderr
    assert dask.json()["data"]["outputs"] == sync.json()["data"]["outputs"]
    assert dask.json()["data"]["outputs"]["sum_of_squares"]["value"] == 1240
    assert dask.json()["data"]["execution"]["dask"]["address"] == scheduler


def test_graph_adapter_run_on_a_scheduler_equals_the_sync_run(scheduler):
    outputs: list[str] = []
    for name in ("values", "summary", "value_series", "missing_ratio", "chatty"):
        outputs += ["--output", name]
    sync = execute(BASIC, *outputs)
    dask = execute(BASIC, *outputs, *on_dask(scheduler))
    assert dask.exit_code == 0, dask.stderr
    assert dask.json()["data"]["execution"]["dynamic"] is False
    assert dask.json()["data"]["outputs"] == sync.json()["data"]["outputs"]


def test_a_failing_task_on_dask_names_the_node(scheduler):
    result = execute(FANOUT, "--input", "fail_at=4", *on_dask(scheduler))
    assert result.exit_code == 1
    [error] = result.json()["errors"]
    assert error["code"] == "execution_error" and error["file"] == "exec_fanout_mods/fan.py"
    assert "node squared" in error["message"] and "cannot square 4" in error["message"]


def test_a_failing_node_in_dask_graph_names_the_node(scheduler):
    result = execute(BASIC, "--output", "fragile", "--input", "fail=true", *on_dask(scheduler))
    assert result.exit_code == 1
    [error] = result.json()["errors"]
    assert error["file"] == "exec_basic_mods/flow.py"
    assert "node fragile" in error["message"] and "fragile refused" in error["message"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_is_an_input_error_before_running(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("EXEC_BASIC_CALLS", str(calls))
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = execute(BASIC, *on_dask(address), "--set", "execution.dask.timeout=1")
    assert time.monotonic() - start < 20
    assert result.exit_code == 2
    [error] = result.json()["errors"]
    # The address came from --set: the error names the option, not the profile file.
    assert error["code"] == "usage_error"
    assert error["message"].startswith(
        f"--set execution.dask.address={address}: cannot reach the Dask scheduler at {address} "
        "within 1s"
    )
    assert error["file"] is None
    assert not calls.exists()


@pytest.mark.slow
def test_without_an_address_semdag_runs_a_local_cluster_and_stdout_stays_json():
    # A real process: the workers semdag starts inherit its stdout, where the nodes print.
    result = run_process(
        ["execute", "--project-dir", str(FANOUT), "--executor", "dask", "-f", "json",
         "--set", "execution.dask.n_workers=1"],
        cwd=FANOUT,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["outputs"]["sum_of_squares"]["value"] == 385
    assert data["execution"]["dask"] == {"address": None, "n_workers": 1}
    assert "squaring 7" in result.stderr


def test_the_cache_needs_dynamic_execution_on_dask(tmp_path):
    result = execute(BASIC, "--executor", "dask", "--cache", "--set", f"cache.path={tmp_path}")
    assert result.exit_code == 2
    [error] = result.json()["errors"]
    assert "the cache cannot be combined with executor dask" in error["message"]


def test_missing_distributed_is_a_missing_tool_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = run_cli(["execute", "--project-dir", str(FANOUT), "--executor", "dask"])
    assert result.exit_code == 2
    assert "executor dask needs dask[distributed]" in result.stderr
    assert "pip install 'semdag[dask]'" in result.stderr
