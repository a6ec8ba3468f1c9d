"""`semdag --help` stays fast: it imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_probe


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["build", "--help"],
        ["snapshot", "check", "--help"],
        ["verify", "--help"],
        ["--version"],
        ["rules"],
    ],
)
def test_help_imports_nothing_heavy(args):
    probe = run_probe(args)
    assert probe.code == 0
    assert probe.heavy == []
    assert probe.stdout.strip()


def test_python_dash_m_version():
    done = subprocess.run(
        [sys.executable, "-m", "semdag", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("semdag ")


# --- leaving the process --------------------------------------------------------------------


class Left(Exception):
    """Stands in for the end of the process in these tests."""


@pytest.fixture
def leaving(monkeypatch) -> list[object]:
    """What entry() does on its way out: exit handlers run, then os._exit(code)."""
    import atexit
    import os
    import threading

    from semdag.perf import processes

    calls: list[object] = []

    def hard_exit(code: int) -> None:
        calls.append(code)
        raise Left

    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: calls.append("exit handlers"))
    monkeypatch.setattr(os, "_exit", hard_exit)
    # os._exit is faked here: a forked worker would carry on as this test process.
    monkeypatch.setattr(processes, "os_threads", lambda: 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    return calls


def test_entry_runs_exit_handlers_then_leaves_with_the_code(monkeypatch, leaving) -> None:
    from semdag import cli

    monkeypatch.setattr(cli, "main", lambda tuning: 1)
    with pytest.raises(Left):
        cli.entry()
    assert leaving == ["exit handlers", 1]


def test_a_failed_final_flush_exits_120(monkeypatch, leaving) -> None:
    from semdag import cli

    class Full:
        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "main", lambda tuning: 0)
    monkeypatch.setattr(sys, "stdout", Full())
    with pytest.raises(Left):
        cli.entry()
    assert leaving == ["exit handlers", 120]


def test_running_nodes_takes_the_normal_exit(monkeypatch, leaving, layered) -> None:
    from semdag import cli

    args = ["execute", "--project-dir", str(layered), "--output", "base", "-f", "json"]
    monkeypatch.setattr(sys, "argv", ["semdag", *args])
    with pytest.raises(SystemExit) as exited:
        cli.entry()
    assert exited.value.code == 0
    assert leaving == []  # neither the early exit handlers nor os._exit


def test_a_command_that_runs_no_node_takes_the_fast_exit(monkeypatch, leaving, layered) -> None:
    from semdag import cli

    monkeypatch.setattr(sys, "argv", ["semdag", "build", "--project-dir", str(layered)])
    with pytest.raises(Left):
        cli.entry()
    assert leaving == ["exit handlers", 0]
