"""`semdag materialize`: Hamilton savers/loaders from the profile, dry runs, entry errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FIXTURES, run_cli

BASIC = FIXTURES / "exec_basic"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the basic fixture: materializers write project-relative files."""
    root = tmp_path / "proj"
    shutil.copytree(BASIC, root, ignore=shutil.ignore_patterns("__pycache__", ".semdag", "out"))
    return root


def materialize(root: Path, *args: str, profile: str = "export"):
    return run_cli(["materialize", "--project-dir", str(root), "-p", profile, *args])


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_materialize_writes_every_saver_and_reports_it(project):
    result = materialize(project)
    assert result.exit_code == 0, result.stderr
    assert files_under(project / "out") == ["both.json", "nested/summary.json", "values.csv"]
    frame = pd.read_csv(project / "out" / "values.csv")
    assert frame["value"].tolist() == [0.0, 1.5, 3.0, 4.5]
    assert json.loads((project / "out" / "nested" / "summary.json").read_text()) == {
        "label": "demo",
        "total": 9.0,
        "count": 4,
    }
    both = json.loads((project / "out" / "both.json").read_text())
    assert both == {"total": 9.0, "summary": {"label": "demo", "total": 9.0, "count": 4}}
    lines = result.stdout.splitlines()
    assert lines[0].startswith("values_csv\tout/values.csv (csv, 4 rows, ")
    assert any(line.startswith("summary_json\tout/nested/summary.json (json") for line in lines)
    assert "materialized 3 output(s)" in result.stderr


def test_materialize_json_reports_hamilton_metadata(project):
    result = materialize(project, "-f", "json", "--only", "values_csv")
    assert result.exit_code == 0, result.stderr
    [item] = result.json()["data"]["materialized"]
    assert item["id"] == "values_csv" and item["path"] == "out/values.csv"
    assert item["metadata"]["file_metadata"]["path"] == "out/values.csv"
    assert item["metadata"]["dataframe_metadata"]["rows"] == 4
    assert files_under(project / "out") == ["values.csv"]


def test_inputs_on_the_command_line_reach_the_savers(project):
    assert materialize(project, "--only", "values_csv", "--input", "n=2").exit_code == 0
    assert len(pd.read_csv(project / "out" / "values.csv")) == 2


def test_dry_run_validates_and_writes_nothing(project):
    result = materialize(project, "--dry-run", "-f", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["dry_run"] is True
    described = {m["id"]: m for m in data["materializers"]}
    assert described["values_csv"]["class"] == "PandasCSVWriter"
    assert described["both_json"]["combine"] == "dict"  # default with two dependencies
    assert described["summary_json"]["paths"] == ["out/nested/summary.json"]
    assert not (project / "out").exists()


def test_dry_run_catches_missing_inputs(project):
    result = materialize(project, "--dry-run", "--set", "inputs={}")
    assert result.exit_code == 2
    assert "Required input n not provided" in result.stderr
    assert not (project / "out").exists()


def test_unknown_only_id_lists_the_ids(project):
    result = materialize(project, "--only", "nope")
    assert result.exit_code == 2
    assert (
        "--only nope: no materializer has that id (ids: both_json, summary_json, values_csv)"
        in (result.stderr)
    )


def test_a_saver_that_fails_names_the_materializer(project):
    result = materialize(project, profile="export_broken")
    assert result.exit_code == 1
    assert "node count_json raised TypeError" in result.stderr
    assert "int64 is not JSON serializable" in result.stderr


def test_a_profile_without_materializers_is_a_config_error(project):
    result = materialize(project, profile="dev")
    assert result.exit_code == 2
    assert "profile dev declares no materializers" in result.stderr


def test_loaders_replace_their_target_node(project):
    (project / "data").mkdir()
    pd.DataFrame({"item": [7, 8], "value": [1.0, 2.0]}).to_csv(
        project / "data" / "values.csv", index=False
    )
    (project / "configs" / "load.yaml").write_text(
        "extends: dev.yaml\n"
        "materializers:\n"
        "  - {id: values_in, from: csv, target: values, path: data/values.csv}\n"
        "  - {id: total_json, to: json, dependencies: [summary], path: out/summary.json}\n",
        encoding="utf-8",
    )
    result = materialize(project, profile="load")
    assert result.exit_code == 0, result.stderr
    assert json.loads((project / "out" / "summary.json").read_text())["total"] == 3.0


ENTRY_ERRORS = [
    # (entry, phrase in the message)
    (
        "{id: a, to: cvs, dependencies: [values], path: x.csv}",
        "unknown saver 'cvs' (did you mean: csv?) (available: ",
    ),
    (
        "{id: a, from: jsn, target: values, path: x.json}",
        "unknown loader 'jsn' (did you mean: json",
    ),
    (
        "{id: a, to: csv, dependencies: [valuez], path: x.csv}",
        "dependencies[0]: unknown node 'valuez' (did you mean: values?)",
    ),
    (
        "{id: a, to: csv, dependencies: [values]}",
        "the csv saver for pandas.DataFrame (PandasCSVWriter) needs path",
    ),
    (
        "{id: a, to: csv, dependencies: [values], path: x.csv, sepp: ';'}",
        "unknown argument 'sepp' for PandasCSVWriter (accepts:",
    ),
    (
        "{id: a, to: csv, dependencies: [total], path: x.csv}",
        "no csv saver handles float (node total); csv savers handle: pandas.DataFrame",
    ),
    (
        "{id: a, to: json, dependencies: [total, summary], combine: list, path: x.json}",
        "combine must be one of dict, dataframe, got 'list'",
    ),
    ("{id: a, to: csv, from: csv, path: x.csv}", "needs exactly one of `to: <saver>`"),
    ("{id: a, to: csv, path: x.csv}", "a saver needs `dependencies:`"),
    ("{id: a, from: csv, target: nodez, path: x.csv}", "target: unknown node 'nodez'"),
]


@pytest.mark.parametrize(("entry", "phrase"), ENTRY_ERRORS)
def test_bad_entries_are_config_errors_naming_the_entry(project, entry, phrase):
    (project / "configs" / "bad.yaml").write_text(
        f"extends: dev.yaml\nmaterializers:\n  - {{id: ok, to: json, dependencies: [summary], "
        f"path: ok.json}}\n  - {entry}\n",
        encoding="utf-8",
    )
    result = materialize(project, "--dry-run", "-f", "json", profile="bad")
    assert result.exit_code == 2, result.stdout
    [error] = result.json()["errors"]
    assert error["code"] == "config_error"
    assert error["file"] == "configs/bad.yaml" and error["line"] == 4
    assert error["message"].startswith("materializers[1] (a): ")
    assert phrase in error["message"]


def test_duplicate_ids_are_config_errors(project):
    (project / "configs" / "dup.yaml").write_text(
        "extends: dev.yaml\nmaterializers:\n"
        "  - {id: a, to: json, dependencies: [summary], path: a.json}\n"
        "  - {id: a, to: json, dependencies: [summary], path: b.json}\n",
        encoding="utf-8",
    )
    result = materialize(project, "--dry-run", profile="dup")
    assert result.exit_code == 2
    assert "materializers[1] (a): the id is also used by materializers[0]" in result.stderr
