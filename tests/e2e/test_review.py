"""`semdag review` and `render --changed-since git:REF` on the bundled example in git.

The branch changes a dtype (accepted with `snapshot update`), adds a semantic node and removes
another; the review lists the three with their status, within a comment's limits, and its
markdown is drawn by Mermaid's own library in headless Chromium.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from semdag.core.mermaid import MAX_EDGES, MAX_TEXT
from semdag.core.review_markdown import MARKER, MAX_COMMENT
from tests.conftest import copy_example, run_cli
from tests.mermaid_browser import browser_page, diagram_facts, render
from tests.review_cases import example_branch, git

pytestmark = pytest.mark.slow

SCREENSHOT_ENV = "SEMDAG_REVIEW_SCREENSHOT"


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("review") / "example")
    done = run_cli(["snapshot", "update", "-p", "dev", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    return example_branch(root)


@pytest.fixture(scope="module")
def reviewed(branch: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("review-out")
    result = run_cli(["review", "--project-dir", str(branch), "--base", "main", "-o", str(out)])
    return out, result


def rows(markdown: str) -> dict[str, list[str]]:
    """The changes table: semantic id -> [status, severity, rule, ...]."""
    table = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) == 7 and cells[1] in ("breaking", "additive", "warning", "info"):
            table[cells[3].replace("\\_", "_")] = cells
    return table


def test_review_lists_the_three_changes_with_their_status(reviewed):
    out, result = reviewed
    assert result.exit_code == 1, result.stderr  # the removal is breaking and not accepted
    table = rows(result.stdout)
    assert table["function.loc.v1"][:3] == ["accepted", "breaking", "`dtype-changed`"]
    assert table["function.loc.v1"][4] == "int64 → float"
    assert table["function.loc.v1"][5].startswith("modules/core/metrics.py:")
    assert "function.scorecard.v1" in table["function.loc.v1"][6]
    assert "owners: code-intel" in table["function.loc.v1"][6]
    assert table["function.risk_balanced.v1"][:3] == ["failing", "breaking", "`semantic-removed`"]
    assert table["function.risk_balanced.v1"][5].startswith("modules/core/risk.py:")  # at base
    assert table["function.risk_max.v1"][:3] == ["pending", "additive", "`semantic-added`"]
    assert table["function.risk_max.v1"][5].startswith("modules/core/risk.py:")
    assert result.stdout.startswith(MARKER + "\n## semdag review: profile `dev` against main (`")
    assert "The branch fails the gate (`--fail-on breaking`)" in result.stdout
    assert re.fullmatch(
        r"review: \d+ changes against main \(1 failing, \d+ pending, 1 accepted\); "
        r"diagram: nodes, \d+ links, \d+ characters; markdown: \d+ characters\n"
        + "".join(
            f"wrote {re.escape(str(out / n))}\n"
            for n in ("review.md", "review.json", "review.svg", "review.html")
        ),
        result.stderr,
    ), result.stderr


def test_review_fits_and_writes_its_artifacts(reviewed):
    out, result = reviewed
    markdown = (out / "review.md").read_text(encoding="utf-8")
    assert markdown == result.stdout
    assert len(markdown) <= MAX_COMMENT
    (block,) = re.findall(r"```mermaid\n(.*?)```", markdown, re.S)
    assert len(block) <= MAX_TEXT and block.count("-->") + block.count("-.->") <= MAX_EDGES
    document = json.loads((out / "review.json").read_text(encoding="utf-8"))
    assert document["kind"] == "semdag.review" and document["failed"] is True
    assert document["markdown_chars"] == len(markdown)
    status = {c["subject"]: c["status"] for c in document["changes"] if c["in_branch"]}
    assert status == {
        "function.loc.v1": "accepted",
        "function.risk_balanced.v1": "failing",
        "function.risk_max.v1": "pending",
    }
    drawn = {n["key"]: n["status"] for n in document["diagram"]["nodes"]}
    assert drawn["function_loc"] == "breaking"
    assert drawn["risk_max"] == "added"
    assert drawn["risk_balanced"] == "removed"
    assert drawn["function_scorecard"] == "impacted"
    svg = (out / "review.svg").read_text(encoding="utf-8")
    assert "risk_max" in svg and "risk_balanced" in svg and "#c8f0c4" in svg
    assert "#ffcdd2" in svg and "#fff8e1" in svg  # breaking, and downstream of a change
    assert "edge:removed:risk_variant__2&#45;&gt;removed:risk_balanced" in svg  # a chain
    page = (out / "review.html").read_text(encoding="utf-8")
    assert '"risk_balanced (removed)"' in page and "<svg" in page


def test_review_json_and_exit_code_follow_fail_on(branch):
    result = run_cli(
        [
            "review",
            "--project-dir",
            str(branch),
            "--base",
            "git:main",
            "-f",
            "json",
            "--fail-on",
            "never",
        ]
    )
    assert result.exit_code == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is True and envelope["command"] == "review"
    assert envelope["data"]["counts"]["pending"] >= 2
    assert result.stderr == ""


def test_review_default_base_is_the_merge_base_with_main(branch):
    result = run_cli(["review", "--project-dir", str(branch), "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    base = git(branch, "merge-base", "HEAD", "main").strip()
    assert f"against the merge base with main (`{base[:10]}`)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-ref"], "semdag review: error: unknown git revision 'no-such-ref'\n"),
        (["--base", "git:"], "semdag review: error: --base takes a git revision"),
        (["--link", "javascript:alert(1)"], "semdag review: error: --link takes an http(s) URL"),
        (["-f", "svg"], "semdag review: error: unknown format 'svg'"),
    ],
)
def test_review_bad_input_is_one_line_and_exit_2(branch, args, message):
    result = run_cli(["review", "--project-dir", str(branch), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_render_changed_since_a_git_revision(branch):
    result = run_cli(
        [
            "render",
            "--project-dir",
            str(branch),
            "--changed-since",
            "git:main",
            "-f",
            "mermaid",
            "--layer",
            "core",
        ]
    )
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("flowchart TB\n")  # the core layer is more than 8 ranks deep
    ids = dict(re.findall(r"  (n\d+)\(\[\"[^\"]*<br/>([a-z_]+)\"\]\)", text))
    by_name = {name: node for node, name in ids.items()}
    classes = {}
    for status, members in re.findall(r"  class ([n\d,]+) (\w+)", text):
        classes.update({m: members for m in status.split(",")})
    assert classes[by_name["risk_max"]] == "added"
    assert classes[by_name["function_loc"]] == "changed"
    assert classes[by_name["risk_balanced"]] == "removed"  # drawn from the old graph
    assert "since git:main: 1 added, 1 changed, 2 removed" not in result.stderr
    assert result.stderr.startswith("render: ")


def test_review_markdown_renders_with_mermaid_in_chromium(reviewed, tmp_path):
    out, _ = reviewed
    markdown = (out / "review.md").read_text(encoding="utf-8")
    with browser_page() as page:
        outcome = render(page, markdown, tmp_path)
        facts = diagram_facts(page)
        shot = tmp_path / "review.png"
        page.screenshot(path=str(shot), full_page=True)
        assert page.problems == []
    (block,) = re.findall(r"```mermaid\n(.*?)```", markdown, re.S)
    assert outcome == [{"ok": True, "chars": len(block)}]
    document = json.loads((out / "review.json").read_text(encoding="utf-8"))
    assert facts["nodes"] == len(document["diagram"]["nodes"])
    assert facts["edges"] == len(document["diagram"]["edges"])
    assert facts["errors"] == 0 and facts["injected"] == 0
    labels = " ".join(facts["labels"])
    for sid in ("function.loc.v1", "function.risk_max.v1", "function.risk_balanced.v1"):
        assert sid in labels
    assert shot.stat().st_size > 10_000
