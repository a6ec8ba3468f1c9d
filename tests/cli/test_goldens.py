"""What semdag prints and writes for the bundled example, byte for byte (syrupy goldens): the
baselines ``snapshot update`` writes, ``render --format dot``, and the report of ``snapshot
check`` and ``diff`` in every format for a change of every severity.

A failing golden is a change of output: review the diff, then ``pytest --snapshot-update``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from semdag.cli.gate_cmds import REPORT_FORMATS
from tests.conftest import Result, run_cli

# The day the reports are made: an acknowledgement they suggest expires 30 days later.
TODAY = dt.date(2030, 1, 1)
RISK = "modules/core/risk_selection.py"
RISK_TAG = '"function.risk_score.v1", "function", "float", "semantic.function_risk_v1"'
# One change of each severity: (file, old text, new text).
EDITS = [
    # breaking: a dtype that ten semantic ids downstream and an owner rely on
    (RISK, RISK_TAG, RISK_TAG.replace('"float"', '"json"')),
    # warning: a registry node's code changes and its version tag does not
    ("modules/core/repo_rollup.py", "return len(functions_df)", "return int(len(functions_df))"),
    # info: the code of a node outside the registry changes (graph.json sees it)
    ("modules/core/risk.py", "return 10.0", "return 12.0"),
]
# additive: a new semantic id
ADDED = (
    "modules/core/repo_rollup.py",
    '\n\n@tag(**semantic_tags("repo.answer.v1", "repo", "int64", SCHEMA))\n'
    'def repo_answer() -> int:\n    """The answer."""\n    return 42\n',
)


def copy(template: Path, root: Path) -> Path:
    shutil.copytree(template, root)
    return root


@pytest.fixture(scope="module")
def baselined(example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example with the dev baselines ``snapshot update`` wrote."""
    return copy(example_template, tmp_path_factory.mktemp("goldens") / "example")


@pytest.fixture(scope="module")
def changed(example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example with its dev baselines, then the changes above."""
    root = copy(example_template, tmp_path_factory.mktemp("goldens") / "example")
    for rel, old, new in EDITS:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{rel} no longer holds {old!r}"
        path.write_text(text.replace(old, new), encoding="utf-8")
    rel, code = ADDED
    with (root / rel).open("a", encoding="utf-8") as out:
        out.write(code)
    return root


@pytest.fixture(scope="module")
def registries(changed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The dev registry before the changes (old.json) and after them (new.json)."""
    folder = tmp_path_factory.mktemp("registries")
    shutil.copy(changed / "snapshots/dev/registry.json", folder / "old.json")
    updated = copy(changed, folder / "updated")
    done = run_cli(["snapshot", "update", "-p", "dev", "--project-dir", str(updated)])
    assert done.exit_code == 0, done.stderr
    shutil.copy(updated / "snapshots/dev/registry.json", folder / "new.json")
    return folder / "old.json", folder / "new.json"


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setattr("semdag.store.acknowledge.today", lambda: TODAY)
    return TODAY


def assert_one_document(fmt: str, done: Result) -> None:
    """The machine formats parse as what they claim to be."""
    if fmt == "json":
        assert done.json()["ok"] is False
    elif fmt == "junit":
        assert ET.fromstring(done.stdout).tag == "testsuites"


def test_registry_json(baselined: Path, snapshot) -> None:
    assert (baselined / "snapshots/dev/registry.json").read_text(encoding="utf-8") == snapshot


def test_graph_json(baselined: Path, snapshot) -> None:
    assert (baselined / "snapshots/dev/graph.json").read_text(encoding="utf-8") == snapshot


def test_render_dot(baselined: Path, snapshot) -> None:
    done = run_cli(["render", "-p", "dev", "--format", "dot", "--project-dir", str(baselined)])
    assert done.exit_code == 0, done.stderr
    assert done.stdout == snapshot


@pytest.mark.parametrize("fmt", REPORT_FORMATS.names)
def test_snapshot_check_report(changed: Path, today: dt.date, fmt: str, snapshot) -> None:
    args = ["snapshot", "check", "-p", "dev", "-f", fmt, "--project-dir", str(changed)]
    done = run_cli(args)
    assert done.exit_code == 1, done.stderr  # the dtype change is breaking
    assert_one_document(fmt, done)
    assert done.stdout == snapshot


@pytest.mark.parametrize("fmt", REPORT_FORMATS.names)
def test_diff_report(
    changed: Path, registries: tuple[Path, Path], today: dt.date, fmt: str, snapshot
) -> None:
    old, new = registries
    done = run_cli(["diff", str(old), str(new), "-f", fmt, "--project-dir", str(changed)])
    assert done.exit_code == 1, done.stderr
    assert_one_document(fmt, done)
    assert done.stdout == snapshot


def test_the_change_has_a_finding_of_every_severity(changed: Path, today: dt.date) -> None:
    # So that a golden updated after the example changed still shows every kind of finding.
    args = ["snapshot", "check", "-p", "dev", "-f", "json", "--project-dir", str(changed)]
    (comparison,) = run_cli(args).json()["data"]["comparisons"]
    severities = ("breaking", "warning", "additive", "info")
    assert [comparison["counts"][s] for s in severities] == [1, 1, 1, 1]
