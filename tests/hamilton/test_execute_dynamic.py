"""Dynamic execution: Parallelizable/Collect under sync, threads and processes; bad combinations."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES, run_cli, run_process

FANOUT = FIXTURES / "exec_fanout"
BASIC = FIXTURES / "exec_basic"
FAN = FANOUT / "exec_fanout_mods" / "fan.py"


def execute(*args: str, project=FANOUT):
    return run_cli(["execute", "--project-dir", str(project), *args])


def def_line(function: str) -> int:
    lines = FAN.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(f"def {function}("))


@pytest.mark.parametrize("executor", ["sync", "threads", "processes"])
def test_fan_out_gives_the_same_result_on_every_executor(executor):
    result = execute("--executor", executor, "-f", "json", "--input", "count=12")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["outputs"]["sum_of_squares"] == {"type": "int", "value": 650}
    assert data["outputs"]["how_many"] == {"type": "int", "value": 12}
    assert data["execution"]["executor"] == executor and data["execution"]["dynamic"] is True


def test_max_tasks_bounds_the_pool():
    from semdag.app.session import Session
    from semdag.config.execution import resolve_settings
    from semdag.hamilton.execution import Runner

    session = Session(
        command="execute",
        project_dir=FANOUT,
        sets=("execution.executor=threads", "execution.max_tasks=3"),
    )
    settings = resolve_settings(session.project, session.profile)
    executor = Runner(session.project, session.profile, settings)._remote_executor()
    assert type(executor).__name__ == "MultiThreadingExecutor" and executor.max_tasks == 3


def test_a_parallelizable_node_without_dynamic_is_a_config_error():
    result = execute("-p", "static")
    assert result.exit_code == 2
    assert "configs/static.yaml:" in result.stderr
    assert "node number" in result.stderr and "Parallelizable" in result.stderr
    assert "execution.dynamic: true" in result.stderr
    assert "squaring" not in result.stderr  # nothing ran


def test_validate_can_list_execution_config_errors():
    from semdag.app.session import Session
    from semdag.config.execution import execution_config_errors
    from semdag.hamilton.model import model_from_build

    session = Session(command="validate", project_dir=FANOUT, profile_name="static")
    errors = execution_config_errors(session.profile, model_from_build(session.build()))
    assert len(errors) == 1
    assert errors[0].file == "configs/static.yaml"
    assert "Parallelizable" in errors[0].message
    ok = Session(command="validate", project_dir=FANOUT)
    assert execution_config_errors(ok.profile, model_from_build(ok.build())) == []


def test_task_executor_without_dynamic_names_where_it_was_set():
    result = execute("-p", "static", "--set", "execution.executor=processes")
    assert result.exit_code == 2
    # The executor came from the command line, not from configs/static.yaml.
    assert "error: --set execution.executor=processes: " in result.stderr
    assert "configs/static.yaml" not in result.stderr
    assert "execution.executor: processes needs execution.dynamic: true" in result.stderr


@pytest.mark.parametrize("executor", ["sync", "processes"])
def test_a_failing_task_names_the_node(executor):
    result = execute("--executor", executor, "--input", "fail_at=3")
    assert result.exit_code == 1
    assert f"exec_fanout_mods/fan.py:{def_line('squared')}:" in result.stderr
    assert (
        "node squared (exec_fanout_mods.fan.squared) raised ArithmeticError: cannot square 3"
        in (result.stderr)
    )
    assert "Traceback" not in result.stderr


def test_timings_under_processes_report_remote_tasks():
    result = execute("--executor", "processes", "-f", "json", "--timings")
    assert result.exit_code == 0
    timings = {t["name"]: t for t in result.json()["data"]["timings"]}
    assert timings["squared"]["kind"] == "task" and timings["squared"]["calls"] == 10
    assert timings["sum_of_squares"]["kind"] == "node"


def test_progress_counts_tasks_in_dynamic_runs():
    from semdag.app.session import Session
    from semdag.config.execution import resolve_settings
    from semdag.hamilton.execution import Runner
    from semdag.hamilton.model import model_from_build
    from tests.app.test_execute import RecordingSink

    session = Session(command="execute", project_dir=FANOUT)
    sink = RecordingSink()
    settings = resolve_settings(session.project, session.profile)
    runner = Runner(session.project, session.profile, settings, progress=sink)
    build = session.build(configure=runner.configure)
    with runner.started():
        runner.execute(build, model_from_build(build), ["sum_of_squares"], {"count": 4}, {})
    kinds = [kind for kind, _ in sink.events]
    assert ("grow", 4) in sink.events  # one task per number
    assert kinds.count("advance") >= 4
    assert kinds[-1] == "stop"


@pytest.mark.slow
def test_processes_printing_in_workers_keeps_stdout_clean():
    result = run_process(
        ["execute", "--project-dir", str(FANOUT), "--executor", "processes", "-f", "json"],
        cwd=FANOUT,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["data"]["outputs"]["sum_of_squares"]["value"] == 385
    assert "squaring 7" in result.stderr
