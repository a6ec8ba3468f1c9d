"""``semdag export``: forms, output selection, files, errors and determinism."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.hamilton.build import build
from semdag.store.artifacts import canonical_json
from tests.conftest import run_cli
from tests.hamilton.test_export import SCHEMA, write_decorated

LAYERED_NODES = ["base", "bonus", "raw_value", "score", "seed", "weight"]


def export(project: Path, *args: str):
    return run_cli(["export", "--project-dir", str(project), "--no-cache", *args])


def hamilton_string(project: Path, final_vars: list[str] | None = None) -> str:
    """What Hamilton's own export_execution returns for the profile (every computed node)."""
    proj = find_project(explicit=project)
    profile = load_profile(proj)
    driver = build(proj, profile).driver
    if final_vars is None:
        final_vars = sorted(n for n, node in driver.graph.nodes.items() if not node.user_defined)
    return driver.export_execution(final_vars, dict(profile.inputs), dict(profile.overrides))


@pytest.fixture
def decorated(tmp_path: Path) -> Path:
    return write_decorated(tmp_path / "decorated", "xfx_cli")


def test_default_form_is_canonical_semdag_document(layered: Path) -> None:
    result = export(layered)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert result.stdout == canonical_json(doc)
    assert doc["kind"] == "semdag.graph"
    assert doc["profile"] == "dev"
    assert sorted(doc["nodes"]) == LAYERED_NODES
    assert doc["nodes"]["weight"]["stack_layer"] == "overrides"
    assert "source" not in doc["nodes"]["base"]
    assert str(layered) not in result.stdout
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(doc)


def test_semdag_form_is_the_default_with_or_without_the_build_cache(layered: Path) -> None:
    first = run_cli(["export", "--project-dir", str(layered), "-f", "semdag"])
    cached = run_cli(["export", "--project-dir", str(layered)])
    assert first.exit_code == cached.exit_code == 0
    assert first.stdout == cached.stdout == export(layered).stdout


@pytest.mark.parametrize("which", ["layered", "decorated"])
def test_hamilton_form_prints_export_execution(layered: Path, decorated: Path, which: str) -> None:
    project = {"layered": layered, "decorated": decorated}[which]
    result = export(project, "--format", "hamilton")
    assert result.exit_code == 0, result.stderr
    expected = hamilton_string(project)
    assert result.stdout == expected + "\n"
    assert json.loads(result.stdout) == json.loads(expected)


def test_hamilton_form_from_baselines_equals_export_execution(layered: Path) -> None:
    # Unchanged functions take their hashes from the committed baselines; an edited one is
    # hashed again, and its file's moved neighbours are matched by their text.
    assert run_cli(["snapshot", "update", "--project-dir", str(layered)]).exit_code == 0
    core = layered / "stack/core.py"
    text = core.read_text(encoding="utf-8")
    core.write_text(text.replace("raw_value * 1.5", "raw_value * 2.5"), encoding="utf-8")
    plugin = layered / "stack/plugin.py"
    plugin.write_text("# moved down\n" + plugin.read_text(encoding="utf-8"), encoding="utf-8")
    result = export(layered, "--format", "hamilton")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == hamilton_string(layered) + "\n"


def test_output_selects_the_upstream_closure(layered: Path) -> None:
    result = export(layered, "--output", "base", "--output", "weight")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["outputs"] == ["base", "weight"]
    assert sorted(doc["nodes"]) == ["base", "raw_value", "seed", "weight"]
    assert doc["edges"] == [["raw_value", "base"], ["seed", "raw_value"]]
    ham = export(layered, "--output", "base", "-f", "hamilton")
    assert ham.stdout == hamilton_string(layered, ["base"]) + "\n"


def test_profile_outputs_are_the_default(layered: Path) -> None:
    result = export(layered, "--set", "outputs=[score]")
    assert result.exit_code == 0, result.stderr
    assert sorted(result.json()["nodes"]) == ["base", "raw_value", "score", "seed", "weight"]


def test_all_exports_unset_optional_inputs_too(decorated: Path) -> None:
    default = export(decorated).json()
    whole = export(decorated, "--all").json()
    assert "scale" not in default["nodes"]
    assert "scale" in whole["nodes"]
    assert set(default["nodes"]) < set(whole["nodes"])
    clash = export(decorated, "--all", "--output", "table")
    assert clash.exit_code == 2
    assert "--all and --output exclude each other" in clash.stderr


def test_unknown_output_lists_near_matches(layered: Path) -> None:
    result = export(layered, "--output", "scor")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown node 'scor'" in result.stderr
    assert "did you mean: score" in result.stderr


def test_unknown_profile_output_points_at_the_profile(layered: Path) -> None:
    config = layered / "configs" / "dev.yaml"
    config.write_text(config.read_text() + "outputs:\n  - bonsu\n")
    result = export(layered)
    assert result.exit_code == 2
    line = len(config.read_text().splitlines())  # the `- bonsu` item
    assert f"configs/dev.yaml:{line}:" in result.stderr
    assert "did you mean: bonus" in result.stderr


def test_json_failure_is_one_envelope(layered: Path) -> None:
    result = export(layered, "-f", "json", "--output", "scor")
    assert result.exit_code == 2
    envelope = json.loads(result.stdout)
    assert envelope["command"] == "export"
    assert envelope["ok"] is False
    assert envelope["data"] is None
    [error] = envelope["errors"]
    assert error["code"] == "unknown_node"
    assert "did you mean: score" in error["message"]


def test_json_success_wraps_the_document(layered: Path) -> None:
    result = export(layered, "-f", "json")
    assert result.exit_code == 0
    envelope = result.json()
    assert envelope["ok"] is True and envelope["errors"] == []
    assert envelope["data"] == export(layered).json()


def test_out_file_is_written_instead_of_stdout(layered: Path, tmp_path: Path) -> None:
    target = tmp_path / "nested" / "graph.json"
    result = export(layered, "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {target}" in result.stderr
    assert target.read_text() == export(layered).stdout
    assert not [p for p in target.parent.iterdir() if p.name != "graph.json"]  # no temp left
    ham = export(layered, "-f", "hamilton", "-o", str(target))
    assert ham.exit_code == 0
    assert target.read_text() == hamilton_string(layered) + "\n"
    summary = export(layered, "-f", "json", "-o", str(target)).json()
    assert summary["data"]["written"] == str(target)
    assert summary["data"]["nodes"] == len(LAYERED_NODES)


@pytest.mark.parametrize("kind", ["directory", "under_a_file"])
def test_unwritable_out_path_is_a_usage_error(layered: Path, tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        target = tmp_path
    else:
        (tmp_path / "plain.txt").write_text("x")
        target = tmp_path / "plain.txt" / "graph.json"
    result = export(layered, "-o", str(target))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"cannot write {target}" in result.stderr
    as_json = export(layered, "-o", str(target), "-f", "json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["ok"] is False


def test_missing_inputs_do_not_stop_an_export_unless_strict(layered: Path) -> None:
    lenient = export(layered, "-f", "hamilton", "--set", "inputs={}")
    assert lenient.exit_code == 0, lenient.stderr
    assert lenient.stdout == hamilton_string(layered) + "\n"
    assert "input 'seed' has no value" in lenient.stderr
    semdag_form = export(layered, "--set", "inputs={}")
    assert semdag_form.exit_code == 0
    assert "seed" in semdag_form.json()["nodes"]
    for form in ("semdag", "hamilton"):
        strict = export(layered, "-f", form, "--set", "inputs={}", "--strict")
        assert strict.exit_code == 2
        assert strict.stdout == ""
        assert "input 'seed' has no value (needed by raw_value)" in strict.stderr
    ok = export(layered, "--strict")
    assert ok.exit_code == 0


def test_include_source(decorated: Path) -> None:
    result = export(decorated, "--include-source")
    assert result.exit_code == 0, result.stderr
    nodes = result.json()["nodes"]
    assert nodes["one_liner"]["source"] == (
        "def one_liner(wrapped_total: float) -> float: return wrapped_total * 2  # noqa: E704\n"
    )
    source = nodes["seed_value"]["source"]
    assert source.startswith("@tag(") and source.endswith("    # kept as a plain pass-through\n")
    assert nodes["seed"]["source"] == source  # an input carries the function that needs it
    refused = export(decorated, "--include-source", "-f", "hamilton")
    assert refused.exit_code == 2
    assert "--include-source" in refused.stderr


def test_export_of_the_decorated_stack_matches_inspect(decorated: Path) -> None:
    proj = find_project(explicit=decorated)
    driver = build(proj, load_profile(proj)).driver
    rows = {
        row["name"]: row for row in json.loads(export(decorated, "-f", "hamilton").stdout)["nodes"]
    }
    for name in ("loc_x2", "wrapped_total", "prep.clipped", "scaled_seed", "with_nested"):
        fn = driver.graph.nodes[name].originating_functions[0]
        assert rows[name]["source"] == inspect.getsource(fn), name


@pytest.mark.slow
def test_bytes_are_identical_across_processes_and_hash_seeds(decorated: Path) -> None:
    def start(form: str, seed: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "semdag",
                "export",
                "--no-cache",
                "-f",
                form,
                "--project-dir",
                str(decorated),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )

    runs = {(form, seed): start(form, seed) for form in ("semdag", "hamilton") for seed in "12"}
    outputs = {}
    for key, process in runs.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
        outputs[key] = stdout
    for form in ("semdag", "hamilton"):
        assert len({outputs[(form, seed)] for seed in "12"}) == 1, form
    assert json.loads(outputs[("semdag", "1")])["kind"] == "semdag.graph"
