"""The CI recipes run as written: the workflow's own semdag commands, on a project with a change."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow

GITHUB = ROOT / "examples/ci/github-actions.yml"
GITLAB = ROOT / "examples/ci/gitlab-ci.yml"
ANNOTATION = re.compile(
    r"^::(error|warning|notice) (file=[^,]+,line=\d+,|file=[^,]+,)?title=[^:]+::.+$"
)
WITH_LINE = re.compile(r"^::(error|warning|notice) file=[^,]+,line=\d+,title=[^:]+::.+$")
SEMDAG = f"{shlex.quote(sys.executable)} -m semdag"


def semdag_lines(script: str) -> list[str]:
    """The shell lines of a ``run:`` block that call semdag."""
    return [line.strip() for line in script.splitlines() if line.strip().startswith("semdag ")]


def github_steps() -> list[dict]:
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    return job["steps"]


def run_line(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one recipe line in a shell, with this interpreter's semdag for `semdag`."""
    assert line.startswith("semdag ")
    command = SEMDAG + line[len("semdag") :]
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def changed_project(tmp_path: Path) -> Path:
    """A `semdag init` project whose code changed a dtype since the baselines were written."""
    root = tmp_path / "shop"
    assert run_cli(["init", str(root)]).exit_code == 0
    metrics = root / "modules/core/metrics.py"
    text = metrics.read_text(encoding="utf-8")
    metrics.write_text(text.replace('dtype="int64",', 'dtype="json",', 1), encoding="utf-8")
    return root


def test_workflow_shape():
    steps = github_steps()
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/checkout" in uses and "actions/upload-artifact" in uses
    runs = [line for s in steps for line in semdag_lines(s.get("run", ""))]
    assert "semdag snapshot check --all --format github" in runs
    assert any(r.startswith("semdag validate") for r in runs)
    summary = (
        'semdag snapshot check --all --format markdown --fail-on never >> "$GITHUB_STEP_SUMMARY"'
    )
    assert summary in runs
    assert runs[-1] == "semdag verify --all --format github"
    render = next(r for r in runs if r.startswith("semdag render"))
    assert "--changed-since snapshots/dev/graph.json" in render
    out = render.split("-o ", 1)[1].split()[0]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == out
    # The report, the picture and its upload also run when the gate fails.
    gate = next(
        s for s in steps if "--format github" in s.get("run", "") and "snapshot" in s["run"]
    )
    after = steps[steps.index(gate) + 1 :]
    assert after and all(f"steps.{gate['id']}.outcome == 'failure'" in s["if"] for s in after)


def test_workflow_commands_run_as_on_github(changed_project: Path, tmp_path: Path):
    summary = tmp_path / "step_summary.md"
    summary.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(changed_project),
    }
    results = {}
    for step in github_steps():
        for line in semdag_lines(step.get("run", "")):
            results[line] = run_line(line, changed_project, env)

    validate = next(v for k, v in results.items() if k.startswith("semdag validate"))
    assert validate.returncode == 0, validate.stdout + validate.stderr

    gate = results["semdag snapshot check --all --format github"]
    assert gate.returncode == 1, gate.stderr  # the dtype change is breaking
    annotations = [line for line in gate.stdout.splitlines() if line.startswith("::")]
    assert annotations
    assert all(ANNOTATION.match(line) for line in annotations), annotations
    (dtype,) = [a for a in annotations if "dtype-changed" in a]
    assert WITH_LINE.match(dtype)
    assert dtype.startswith("::error file=modules/core/metrics.py,line=")
    assert dtype.endswith("::tag dtype changed: int64 -> json")
    non_annotations = [line for line in gate.stdout.splitlines() if not line.startswith("::")]
    assert non_annotations[0] == "semdag dev: 1 breaking, 0 warning, 0 additive, 1 info"
    # The log ends with what to do about it.
    assert "  semdag snapshot update -p dev" in non_annotations
    assert non_annotations[-4:-2] == [
        "  - rule: dtype-changed",
        "    semantic_id: example.total_units.v1",
    ]
    assert non_annotations[-1].startswith("    expires: ")

    report = summary.read_text(encoding="utf-8")
    assert report.startswith("## semdag: dev\n")
    assert "| severity | rule | semantic id | change | affects | owners | where |" in report
    assert re.search(
        r"^\| breaking \| `dtype-changed` \| `example.total_units.v1` \| int64 -> json \| "
        r"`example.total_revenue.v1` \| analytics \| modules/core/metrics.py:\d+ \|$",
        report,
        re.MULTILINE,
    )
    # --fail-on never: nothing fails, so the summary has nothing to fix.
    assert "### What to do" not in report

    # The dtype tag changed, the value did not: int values fit int64, the contract holds.
    verify = results["semdag verify --all --format github"]
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout == "semdag dev (2 outputs): no findings\n"

    render = next(v for k, v in results.items() if k.startswith("semdag render"))
    assert render.returncode == 0, render.stderr
    picture = (changed_project / "review.svg").read_text(encoding="utf-8")
    assert picture.lstrip().startswith("<?xml") or "<svg" in picture[:500]
    assert "total_units" in picture
    # The picture is drawn against the baseline: the changed node is marked as changed.
    assert re.search(r"since snapshots/dev/graph.json: \d+ added, [1-9]\d* changed", render.stderr)


def test_gitlab_recipe_writes_a_junit_report(changed_project: Path):
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["semdag"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "semdag-junit.xml"
    lines = [line for entry in job["script"] for line in semdag_lines(entry)]
    assert lines[-1] == "semdag snapshot check --all --format junit > semdag-junit.xml"
    codes = {line: run_line(line, changed_project, dict(os.environ)) for line in lines}
    assert [c.returncode for c in codes.values()] == [0, 0, 0, 0, 1]
    junit = (changed_project / "semdag-junit.xml").read_text(encoding="utf-8")
    assert '<failure type="dtype-changed"' in junit
    assert 'name="example.total_units.v1"' in junit
    assert (
        (changed_project / "semdag-report.md")
        .read_text(encoding="utf-8")
        .startswith("## semdag: dev")
    )
    assert (changed_project / "review.svg").is_file()
    for path in job["artifacts"]["paths"]:
        assert (changed_project / path).is_file(), path


def test_gitlab_verify_job_writes_a_junit_report(changed_project: Path):
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["semdag-verify"]
    assert job["artifacts"]["when"] == "always"
    report = job["artifacts"]["reports"]["junit"]
    (line,) = [line for entry in job["script"] for line in semdag_lines(entry)]
    assert line == f"semdag verify --all --format junit > {report}"
    assert run_line(line, changed_project, dict(os.environ)).returncode == 0
    junit = (changed_project / report).read_text(encoding="utf-8")
    assert 'tests="2" failures="0"' in junit
    assert re.findall(r'<testcase classname="semdag" name="([^"]+)"', junit) == [
        "example.total_revenue.v1",
        "example.total_units.v1",
    ]


def test_both_recipes_keep_the_local_cache_warm():
    from semdag.config.project import STATE_DIR

    steps = github_steps()
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == STATE_DIR
    checks = [i for i, s in enumerate(steps) if "semdag " in s.get("run", "")]
    assert steps.index(cache) < min(checks)  # restored before the first semdag command
    jobs = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    for name in ("semdag", "semdag-verify"):
        assert f"{STATE_DIR}/" in jobs[name]["cache"]["paths"], name
