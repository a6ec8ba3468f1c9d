"""`semdag execute`: outputs, JSON conversion, failures, files with a manifest, the cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from semdag.store.artifacts import canonical_json
from tests.conftest import FIXTURES, run_cli, run_process

BASIC = FIXTURES / "exec_basic"
FLOW = BASIC / "exec_basic_mods" / "flow.py"


def execute(*args: str, project: Path = BASIC):
    return run_cli(["execute", "--project-dir", str(project), *args])


def def_line(function: str) -> int:
    lines = FLOW.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(f"def {function}("))


# --- results on stdout -------------------------------------------------------------------------


def test_default_outputs_are_the_registry_nodes_and_print_as_a_table():
    result = execute()
    assert result.exit_code == 0, result.stderr
    # Scalars in one table, the frame with its shape, column names over dtypes, and rows.
    assert result.stdout == (
        "output      type         value\n"
        "item_count  numpy.int64  4\n"
        "total       float        9.0\n"
        "\n"
        "values  pandas.DataFrame  4 rows x 2 columns\n"
        " item    value\n"
        "int64  float64\n"
        "    0      0.0\n"
        "    1      1.5\n"
        "    2      3.0\n"
        "    3      4.5\n"
    )
    assert "ran 3 output(s)" in result.stderr


def test_json_envelope_converts_values():
    result = execute(
        "-f", "json",
        "--output", "values", "--output", "missing_ratio", "--output", "item_count",
        "--output", "summary", "--output", "value_series",
        "--max-rows", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["ok"] is True and doc["command"] == "execute" and doc["errors"] == []
    outputs = doc["data"]["outputs"]
    assert outputs["missing_ratio"] == {"type": "float", "value": None}
    assert outputs["item_count"] == {"type": "numpy.int64", "value": 4}
    assert outputs["summary"]["value"] == {"count": 4, "label": "demo", "total": 9.0}
    frame = outputs["values"]
    assert frame["shape"] == [4, 2]
    assert frame["records"] == [{"item": 0, "value": 0.0}, {"item": 1, "value": 1.5}]
    assert frame["max_rows"] == 2 and frame["truncated"] is True
    assert frame["dtypes"] == {"item": "int64", "value": "float64"}
    assert outputs["value_series"]["shape"] == [4]
    assert len(outputs["value_series"]["records"]) == 2
    assert doc["data"]["execution"]["executor"] == "sync"


def test_registry_default_outputs_in_json():
    doc = execute("-f", "json").json()
    assert sorted(doc["data"]["outputs"]) == ["item_count", "total", "values"]


def test_inputs_and_overrides_on_the_command_line_win_over_the_profile():
    doc = execute(
        "-f", "json", "--output", "values", "--output", "chatty",
        "--input", "n=2", "--override", "total=100.0",
    ).json()  # fmt: skip
    assert doc["data"]["outputs"]["values"]["shape"] == [2, 2]
    assert doc["data"]["outputs"]["chatty"]["value"] == 200.0


def test_printing_nodes_do_not_touch_stdout():
    result = execute("-f", "json", "--output", "chatty")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["outputs"]["chatty"]["value"] == 18.0
    assert "chatty node says hello" in result.stderr


def test_timings_go_to_stderr_and_json():
    result = execute("-f", "json", "--output", "total", "--timings")
    assert result.exit_code == 0
    names = [t["name"] for t in result.json()["data"]["timings"]]
    assert sorted(names) == ["total", "values"]
    assert all(t["kind"] == "node" and t["calls"] == 1 for t in result.json()["data"]["timings"])
    assert "slowest nodes:" in result.stderr


# --- failures ----------------------------------------------------------------------------------


def test_a_node_that_raises_exits_1_naming_node_and_location():
    result = execute("--output", "fragile", "--input", "fail=true")
    assert result.exit_code == 1
    assert result.stdout == ""
    line = def_line("fragile")
    assert f"exec_basic_mods/flow.py:{line}:" in result.stderr
    assert "node fragile (exec_basic_mods.flow.fragile)" in result.stderr
    assert "ValueError: fragile refused total=9.0" in result.stderr
    assert "Traceback" not in result.stderr
    # Hamilton's own multi-line error log is not repeated.
    assert "encountered an error" not in result.stderr


def test_a_node_that_raises_with_debug_shows_the_traceback():
    result = execute("--output", "fragile", "--input", "fail=true", "--debug")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert 'raise ValueError(f"fragile refused' in result.stderr


def test_a_node_that_raises_json_envelope():
    result = execute("-f", "json", "--output", "fragile", "--input", "fail=true")
    assert result.exit_code == 1
    doc = result.json()
    assert doc["ok"] is False and doc["data"] is None
    [error] = doc["errors"]
    assert error["code"] == "execution_error"
    assert error["file"] == "exec_basic_mods/flow.py" and error["line"] == def_line("fragile")
    assert "fragile refused" in error["message"]


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--output", "nope"], "unknown node 'nope'"),
        (["--override", "totl=1"], "unknown node 'totl' (did you mean: total?)"),
        (["--set", "outputs=[valuez]"], "outputs: unknown node 'valuez'"),
        (["--set", "inputs={}", "--output", "total"], "Required input n not provided"),
        (["--executor", "gpu"], "--executor must be one of"),
        (["-f", "csv"], "--format csv writes files: pass --out DIR"),
        (["--executor", "threads"], "needs execution.dynamic: true"),
    ],
)
def test_bad_requests_exit_2_before_running(args, phrase, tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("EXEC_BASIC_CALLS", str(calls))
    result = execute(*args)
    assert result.exit_code == 2, result.stderr
    assert phrase in result.stderr
    assert not calls.exists()  # nothing ran


# --- files and the manifest --------------------------------------------------------------------


def read_manifest(out: Path) -> dict:
    raw = (out / "manifest.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    assert raw == canonical_json(doc)
    return doc


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_out_writes_one_file_per_output_and_a_manifest(tmp_path, fmt):
    out = tmp_path / "out"
    result = execute("--out", str(out), "-f", fmt, "--output", "values", "--output", "total")
    assert result.exit_code == 0, result.stderr
    manifest = read_manifest(out)
    assert manifest["kind"] == "semdag.execute.manifest" and manifest["format"] == fmt
    entries = {e["node"]: e for e in manifest["outputs"]}
    assert entries["values"]["file"] == f"values.{fmt}"
    assert entries["values"]["rows"] == 4
    for entry in entries.values():
        payload = (out / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(payload).hexdigest()
        assert entry["bytes"] == len(payload)
    assert str(tmp_path) not in json.dumps(manifest)
    if fmt == "csv":
        assert pd.read_csv(out / "values.csv")["value"].tolist() == [0.0, 1.5, 3.0, 4.5]
        assert (out / "total.csv").read_text() == "total\n9.0\n"
    elif fmt == "parquet":
        assert pd.read_parquet(out / "values.parquet")["item"].tolist() == [0, 1, 2, 3]
    else:
        assert json.loads((out / "values.json").read_text())[1] == {"item": 1, "value": 1.5}
        assert json.loads((out / "total.json").read_text()) == 9.0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *(e["file"] for e in manifest["outputs"])]
    )
    assert f"values.{fmt}" in result.stdout


def test_out_with_json_prints_the_manifest_in_the_envelope(tmp_path):
    out = tmp_path / "out"
    doc = execute("--out", str(out), "-f", "json", "--output", "summary").json()
    written = doc["data"]["written"]
    assert written["outputs"][0]["file"] == "summary.json"
    assert json.loads((out / "summary.json").read_text())["label"] == "demo"


def test_scalars_and_flat_dicts_become_one_row_tables(tmp_path):
    out = tmp_path / "out"
    result = execute(
        "--out", str(out), "-f", "csv", "--output", "missing_ratio", "--output", "summary"
    )  # fmt: skip
    assert result.exit_code == 0
    entries = {e["node"]: e for e in read_manifest(out)["outputs"]}
    assert entries["summary"]["format"] == "csv" and entries["summary"]["rows"] == 1
    assert (out / "summary.csv").read_text() == "label,total,count\ndemo,9.0,4\n"
    assert (out / "missing_ratio.csv").read_text() == 'missing_ratio\n""\n'  # NaN: empty


def test_values_without_a_table_form_fall_back_to_json(tmp_path):
    out = tmp_path / "out"
    result = execute(
        "--out", str(out), "-f", "parquet", "--output", "summary",
        "--override", "summary={a: [1, 2], b: {c: 3}}",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [entry] = read_manifest(out)["outputs"]
    assert entry["format"] == "json" and entry["file"] == "summary.json" and entry["rows"] is None
    assert json.loads((out / "summary.json").read_text()) == {"a": [1, 2], "b": {"c": 3}}
    assert "warning: summary (dict) has no parquet form: written as json" in result.stderr


def test_manifest_is_byte_identical_across_runs(tmp_path):
    for name in ("a", "b"):
        assert execute("--out", str(tmp_path / name), "-f", "csv").exit_code == 0
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (
        tmp_path / "b" / "manifest.json"
    ).read_bytes()


def test_a_failed_run_leaves_the_previous_complete_run_alone(tmp_path):
    out = tmp_path / "out"
    assert execute("--out", str(out), "-f", "csv", "--output", "total").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = execute(
        "--out", str(out), "-f", "csv", "--output", "total", "--output", "fragile",
        "--input", "fail=true", "--input", "n=9",
    )  # fmt: skip
    assert result.exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_failed_run_writes_no_manifest(tmp_path):
    out = tmp_path / "fresh"
    result = execute("--out", str(out), "-f", "csv", "--output", "fragile", "--input", "fail=true")
    assert result.exit_code == 1
    assert not (out / "manifest.json").exists()


def test_a_failure_while_writing_keeps_old_files_and_leaves_no_staging(tmp_path, monkeypatch):
    from semdag.app import results

    out = tmp_path / "out"
    results.write_outputs(out, {"a": 1.0, "b": 2.0}, "csv", profile="dev")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = results.encode

    def failing(name, value, fmt):
        if name == "b":
            raise OSError("disk full")
        return real(name, value, fmt)

    monkeypatch.setattr(results, "encode", failing)
    with pytest.raises(OSError):
        results.write_outputs(out, {"a": 5.0, "b": 6.0}, "csv", profile="dev")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_node_named_manifest_does_not_clobber_the_manifest(tmp_path):
    from semdag.app import results

    manifest = results.write_outputs(tmp_path, {"manifest": {"x": [1, 2]}}, "json", profile="p")
    assert manifest.files[0].file == "manifest.value.json"
    assert json.loads((tmp_path / "manifest.value.json").read_text()) == {"x": [1, 2]}
    assert read_manifest(tmp_path)["outputs"][0]["node"] == "manifest"


# --- plain values ------------------------------------------------------------------------------


def test_plain_converts_library_values():
    import datetime as dt

    import numpy as np

    from semdag.core.values import plain

    assert plain(np.float64("nan")) is None
    assert plain(np.int32(7)) == 7 and type(plain(np.int32(7))) is int
    assert plain(float("inf")) is None
    assert plain(pd.Timestamp("2024-01-02")) == "2024-01-02T00:00:00"
    assert plain(pd.NaT) is None
    assert plain({1: dt.date(2024, 1, 2)}) == {"1": "2024-01-02"}
    assert plain(np.array([1, 2])) == [1, 2]
    assert plain(pd.DataFrame({"a": [1, None]})) == [{"a": 1.0}, {"a": None}]


def test_describe_frames_with_an_index_keep_it_as_a_column():
    from semdag.core.values import describe

    frame = pd.DataFrame({"v": [1, 2, 3]}, index=pd.Index(["x", "y", "z"], name="key"))
    out = describe(frame, max_rows=1)
    assert out["records"] == [{"key": "x", "v": 1}]
    assert out["shape"] == [3, 1] and out["truncated"] is True


def test_describe_caps_long_lists():
    from semdag.core.values import describe

    out = describe(list(range(100)), max_rows=3)
    assert out == {
        "type": "list",
        "value": [0, 1, 2],
        "length": 100,
        "max_rows": 3,
        "truncated": True,
    }


# --- the cache ---------------------------------------------------------------------------------


def calls_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_cache_second_run_is_served_from_the_cache(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("EXEC_BASIC_CALLS", str(calls))
    cache = tmp_path / "cache"
    args = ["-p", "cached", "--set", f"cache.path={cache}", "-f", "json", "--output", "total"]
    first = execute(*args).json()["data"]
    assert first["cache"]["executed"] == ["total", "values"] and first["cache"]["hits"] == []
    assert calls_of(calls) == ["values"]
    second = execute(*args).json()["data"]
    assert second["cache"]["hits"] == ["total", "values"] and second["cache"]["executed"] == []
    assert second["outputs"] == first["outputs"]
    assert calls_of(calls) == ["values"]  # not called again
    assert (cache / "metadata_store.db").is_file()
    # A changed input recomputes.
    third = execute(*args, "--input", "n=6").json()["data"]
    assert third["cache"]["executed"] == ["total", "values"]
    assert third["outputs"]["total"]["value"] == 22.5
    assert calls_of(calls) == ["values", "values"]


def test_no_cache_turns_the_profile_cache_off(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    doc = execute("-p", "cached", "--set", f"cache.path={cache}", "--no-cache", "-f", "json").json()
    assert doc["data"]["cache"] is None
    assert not cache.exists()


def test_cache_flag_turns_it_on_without_a_cache_section(tmp_path):
    cache = tmp_path / "c"
    doc = execute(
        "--cache", "--set", f"cache.path={cache}", "-f", "json", "--output", "total"
    ).json()
    assert doc["data"]["cache"]["executed"] == ["total", "values"]
    assert cache.is_dir()


def test_cache_settings_map_to_with_cache(tmp_path):
    from semdag.config.execution import resolve_cache
    from semdag.config.profile import load_profile
    from semdag.config.project import find_project

    project = find_project(explicit=BASIC)
    profile = load_profile(
        project,
        "cached",
        sets=[
            "cache.default_behavior=disable",
            "cache.default=[values, total]",
            "cache.recompute=true",
        ],
    )
    settings = resolve_cache(project, profile, None)
    assert settings is not None
    assert settings.path == BASIC / ".semdag" / "test-cache"  # relative: project-relative
    assert settings.builder_kwargs() == {
        "path": str(BASIC / ".semdag" / "test-cache"),
        "log_to_file": False,
        "default_behavior": "disable",
        "default": ["values", "total"],
        "recompute": True,
    }
    default = load_profile(project, "dev", sets=["cache.enabled=true"])
    assert resolve_cache(project, default, None).path == BASIC / ".semdag" / "cache"  # type: ignore[union-attr]
    assert resolve_cache(project, default, False) is None
    off = load_profile(project, "cached", sets=["cache.enabled=false"])
    assert resolve_cache(project, off, None) is None
    assert resolve_cache(project, load_profile(project, "dev"), None) is None


def test_cache_lists_naming_unknown_nodes_are_errors_where_they_were_given():
    from semdag.app.session import Session
    from semdag.config.execution import execution_config_errors
    from semdag.hamilton.model import model_from_build

    session = Session(
        command="execute", project_dir=BASIC, sets=("cache.recompute=[values, totl]",)
    )
    errors = execution_config_errors(session.profile, model_from_build(session.build()))
    # The list came from --set: the error names the assignment, not the profile file.
    assert [(e.code, e.file, e.message) for e in errors] == [
        (
            "usage_error",
            None,
            "--set cache.recompute=[values, totl]: "
            "cache.recompute: unknown node 'totl' (did you mean: total?)",
        )
    ]


# --- progress ----------------------------------------------------------------------------------


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def start(self, total: int) -> None:
        self.events.append(("start", total))

    def grow(self, extra: int) -> None:
        self.events.append(("grow", extra))

    def running(self, node: str) -> None:
        self.events.append(("running", node))

    def advance(self) -> None:
        self.events.append(("advance", 1))

    def stop(self) -> None:
        self.events.append(("stop", 0))


def test_progress_counts_every_node_it_runs():
    from semdag.app.session import Session
    from semdag.config.execution import resolve_settings
    from semdag.hamilton.execution import Runner
    from semdag.hamilton.model import model_from_build

    session = Session(command="execute", project_dir=BASIC)
    sink = RecordingSink()
    runner = Runner(
        session.project,
        session.profile,
        resolve_settings(session.project, session.profile),
        progress=sink,
    )
    build = session.build(configure=runner.configure)
    graph = model_from_build(build)
    with runner.started():
        runner.execute(build, graph, ["summary"], {"n": 3}, {})
    assert sink.events[0] == ("start", 4)  # values, total, item_count, summary
    assert sink.events.count(("advance", 1)) == 4
    running = [name for event, name in sink.events if event == "running"]
    assert sorted(running) == ["item_count", "summary", "total", "values"]
    # Each node is named before it runs and counted after.
    steps = [event for event, _ in sink.events if event in ("running", "advance")]
    assert steps == ["running", "advance"] * 4


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    result = execute("--output", "total")
    assert result.exit_code == 0
    assert "━" not in result.stderr


# --- a real process ----------------------------------------------------------------------------


@pytest.mark.slow
def test_subprocess_stdout_is_one_json_document():
    result = run_process(
        ["execute", "--project-dir", str(BASIC), "-f", "json", "--output", "chatty", "--progress"],
        cwd=BASIC,
        env={"PYTHONHASHSEED": "7", "NO_COLOR": "1", "TERM": os.environ.get("TERM", "dumb")},
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["data"]["outputs"]["chatty"]["value"] == 18.0
    assert "chatty node says hello" in result.stderr
