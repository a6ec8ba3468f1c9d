"""The same input gives the same bytes.

Snapshots (registry.json, graph.json), ``export``, ``render --format dot`` and every report
format of ``snapshot check`` and ``diff`` are byte-identical across ``PYTHONHASHSEED`` values,
project locations, working directories inside the project, locales and time zones, each
compared with a reference run; every run is a fresh process.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

FIXTURE = FIXTURES / "layered"
REPORT_FORMATS = ("text", "json", "markdown", "github", "junit")


@dataclass(frozen=True)
class Setting:
    """Where and how the commands run."""

    name: str
    root: Path
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)


REFERENCE_ENV = {"PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8", "TZ": "UTC"}


def run(setting: Setting, *args: str) -> tuple[int, bytes, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "SEMDAG_"))}
    env.update({**REFERENCE_ENV, **setting.env})
    done = subprocess.run(
        [sys.executable, "-m", "semdag", *args],
        cwd=setting.root / setting.cwd,
        env=env,
        capture_output=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr.decode(errors="replace")


def artifacts(setting: Setting) -> dict[str, tuple[int, bytes]]:
    """Every output the matrix compares, keyed by a name, with its exit code."""
    up = "../" if setting.cwd != "." else ""
    shutil.rmtree(setting.root / ".semdag", ignore_errors=True)  # build in this setting
    shutil.rmtree(setting.root / "snapshots" / "mirror", ignore_errors=True)
    out: dict[str, tuple[int, bytes]] = {}
    code, _, err = run(setting, "snapshot", "update", "-p", "mirror")
    assert code == 0, err
    for name in ("registry.json", "graph.json"):
        out[f"snapshot {name}"] = (0, (setting.root / "snapshots" / "mirror" / name).read_bytes())
    commands = {
        "export": ["export"],
        "render dot": ["render", "--format", "dot"],
        **{
            f"check {f}": ["snapshot", "check", "-f", f, "--fail-on", "warning"]
            for f in REPORT_FORMATS
        },
        **{
            f"diff {f}": ["diff", f"{up}reports/old.json", f"{up}reports/new.json", "-f", f]
            for f in REPORT_FORMATS
        },
    }
    for name, args in commands.items():
        code, stdout, err = run(setting, *args)
        assert "Traceback" not in err, err
        out[name] = (code, stdout)
    return out


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The layered fixture with a committed baseline and a breaking change on top, in two
    places whose paths differ in depth and length."""
    first = tmp_path_factory.mktemp("one") / "layered"
    shutil.copytree(FIXTURE, first)
    (first / "configs" / "mirror.yaml").write_text("extends: dev.yaml\n")
    reference = Setting("reference", first)
    code, _, err = run(reference, "snapshot", "update")
    assert code == 0, err
    (first / "reports").mkdir()
    shutil.copy(first / "snapshots" / "dev" / "registry.json", first / "reports" / "old.json")
    core = first / "stack" / "core.py"
    text = core.read_text()
    old, new = 'dtype="float", version="1", owner="core-team"', 'dtype="json", version="1"'
    text = text.replace(old, new)
    text = text.replace('owner="risk-team"', 'owner="risk-ops", stability="stable"')
    text = text.replace("return raw_value * 1.5", "return raw_value * 2.5")
    core.write_text(text)
    code, stdout, err = run(reference, "registry", "-f", "json")
    assert code == 0, err
    document = json.loads(stdout)["data"]
    (first / "reports" / "new.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    # Expiring today (UTC): a verdict taken from the local date would differ in Kiritimati
    # (UTC+14) for most of the day. Near midnight, tomorrow: the matrix must not straddle it.
    now = dt.datetime.now(dt.UTC)
    today = (now + dt.timedelta(minutes=10)).date()
    (first / "snapshots" / "acknowledged.yaml").write_text(
        "- rule: dtype-changed\n  semantic_id: demo.base.v1\n"
        f"  reason: consumers migrated\n  expires: {today.isoformat()}\n"
    )
    second = tmp_path_factory.mktemp("two") / "a much" / "longer" / "path" / "layered"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns(".semdag"))
    return first, second


def settings(first: Path, second: Path) -> list[Setting]:
    # One setting changes every dimension at once against the reference (every run is a
    # process of its own, so a setting per dimension would cost seconds each): another
    # project path, a working directory inside the project, another hash seed, locale and
    # time zone.
    return [
        Setting(
            "another project path, cd configs, PYTHONHASHSEED=4242, LC_ALL=C, "
            "TZ=Pacific/Kiritimati",
            second,
            cwd="configs",
            env={"PYTHONHASHSEED": "4242", "LC_ALL": "C", "TZ": "Pacific/Kiritimati"},
        ),
    ]


def describe(name: str, want: bytes, got: bytes) -> str:
    lines = difflib.unified_diff(
        want.decode(errors="replace").splitlines(),
        got.decode(errors="replace").splitlines(),
        "reference",
        name,
        lineterm="",
        n=1,
    )
    return "\n".join(list(lines)[:20])


@pytest.mark.slow
def test_outputs_are_byte_identical_across_the_matrix(projects: tuple[Path, Path]) -> None:
    first, second = projects
    reference = artifacts(Setting("reference", first))
    # The reports say something: an acknowledged breaking change, a warning, tag changes.
    check_text = reference["check text"][1].decode()
    assert reference["check text"][0] == 1, check_text
    assert "dtype-changed: demo.base.v1 [acknowledged]" in check_text
    assert "code-changed" in check_text and "tags-changed" in check_text
    assert b"dtype-changed" in reference["diff junit"][1]
    for name, (_, data) in reference.items():
        assert data, f"{name} is empty"
        for root in (first, second):
            assert str(root).encode() not in data, f"{name} holds the absolute project path"
        assert re.search(rb"/tmp/|pytest-of-", data) is None, f"{name} holds a temporary path"

    combinations = 0
    failures = []
    for setting in settings(first, second):
        got = artifacts(setting)
        assert got.keys() == reference.keys()
        for name, (code, data) in reference.items():
            combinations += 1
            if got[name][0] != code:
                failures.append(f"{setting.name}: {name} exits {got[name][0]}, not {code}")
            elif got[name][1] != data:
                failures.append(f"{setting.name}: {name}\n{describe(name, data, got[name][1])}")
    assert combinations == 14
    assert not failures, "\n\n".join(failures)
