"""The snapshot gate end to end, on a copy of the bundled example project."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.shop import edit as shop_edit
from tests.shop import make_shop

RISK = "modules/core/risk_selection.py"
RISK_TAG = '"function.risk_score.v1", "function", "float", "semantic.function_risk_v1"'


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def check(root: Path, *args: str) -> tuple[int, dict]:
    result = run_cli(
        ["snapshot", "check", "-p", "dev", "--project-dir", str(root), "-f", "json", *args]
    )
    document = json.loads(result.stdout)
    return result.exit_code, document


def rules_for(document: dict, subject: str) -> list[str]:
    return [
        f["rule"]
        for c in document["data"]["comparisons"]
        for f in c["findings"]
        if f["subject"] == subject
    ]


def test_github_annotations_name_file_and_line(example):
    edit(example, RISK, RISK_TAG, RISK_TAG.replace('"float"', '"json"'))
    args = ["snapshot", "check", "-p", "dev", "--project-dir", str(example), "-f", "github"]
    result = run_cli(args)
    assert result.exit_code == 1
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file={RISK},line=")


def test_unchanged_project_passes(example):
    code, document = check(example)
    assert code == 0
    assert document["ok"] is True
    assert document["data"]["comparisons"][0]["findings"] == []


def test_dtype_change_fails_then_acknowledged_then_expired(example):
    edit(example, RISK, RISK_TAG, RISK_TAG.replace('"float"', '"json"'))
    code, document = check(example)
    assert code == 1
    finding = next(
        f for f in document["data"]["comparisons"][0]["findings"] if f["rule"] == "dtype-changed"
    )
    assert (finding["subject"], finding["old"], finding["new"]) == (
        "function.risk_score.v1",
        "float",
        "json",
    )
    assert finding["file"] == RISK and finding["line"] > 0
    assert "function.is_high_risk.v1" in finding["affected"]

    tomorrow = dt.date.today() + dt.timedelta(days=2)
    ack = example / "snapshots" / "acknowledged.yaml"
    ack.write_text(
        f"- rule: dtype-changed\n  semantic_id: function.risk_score.v1\n"
        f"  reason: readers accept json\n  expires: {tomorrow}\n",
        encoding="utf-8",
    )
    code, document = check(example)
    assert code == 0
    finding = next(
        f for f in document["data"]["comparisons"][0]["findings"] if f["rule"] == "dtype-changed"
    )
    assert finding["acknowledged"] is True

    ack.write_text(ack.read_text().replace(str(tomorrow), "2020-01-01"), encoding="utf-8")
    code, document = check(example)
    assert code == 1
    assert "acknowledgement-expired" in rules_for(document, "function.risk_score.v1")


def test_added_node_is_additive_and_fails_only_with_fail_on_any(example):
    path = example / "modules/core/repo_rollup.py"
    path.write_text(
        path.read_text()
        + '\n\n@tag(**semantic_tags("repo.answer.v1", "repo", "int64", SCHEMA))\n'
        + 'def repo_answer() -> int:\n    """The answer."""\n    return 42\n'
    )
    code, document = check(example)
    assert code == 0
    assert rules_for(document, "repo.answer.v1") == ["semantic-added"]
    code, _ = check(example, "--fail-on", "any")
    assert code == 1


def test_removed_node_reports_blast_radius(example):
    edit(example, RISK, f"@tag(**semantic_tags({RISK_TAG}))", '@tag(layer="intermediate")')
    code, document = check(example)
    assert code == 1
    removed = next(
        f
        for c in document["data"]["comparisons"]
        for f in c["findings"]
        if f["rule"] == "semantic-removed"
    )
    assert removed["subject"] == "function.risk_score.v1"
    assert "function.is_high_risk.v1" in removed["affected"]
    assert "repo.mean_risk.v1" in removed["affected"]


def test_renamed_function_is_node_renamed_only(example):
    edit(example, "modules/core/repo_rollup.py", "def repo_summary(", "def repo_overview(")
    code, document = check(example)
    assert code == 0
    assert rules_for(document, "repo.summary.v1") == ["node-renamed"]


def test_missing_baseline_is_exit_2_never_no_changes(example):
    shutil.rmtree(example / "snapshots")
    result = run_cli(["snapshot", "check", "-p", "dev", "--project-dir", str(example)])
    assert result.exit_code == 2
    assert "snapshots/dev/registry.json: no baseline" in result.stderr
    assert "semdag snapshot update" in result.stderr
    assert "no findings" not in result.stdout
    # Said before any build: a stack that does not even import gets the same answer.
    edit(example, RISK, "def ", "def (")
    again = run_cli(["snapshot", "check", "-p", "dev", "--project-dir", str(example)])
    assert again.exit_code == 2
    assert "snapshots/dev/registry.json: no baseline" in again.stderr


def test_corrupt_and_future_baselines_are_refused(example):
    path = example / "snapshots" / "dev" / "registry.json"
    document = json.loads(path.read_text())
    path.write_text(path.read_text()[:-40])
    result = run_cli(["snapshot", "check", "-p", "dev", "--project-dir", str(example)])
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    path.write_text(json.dumps({**document, "schema_version": 99}))
    result = run_cli(["snapshot", "check", "-p", "dev", "--project-dir", str(example)])
    assert result.exit_code == 2 and "upgrade semdag" in result.stderr


def test_update_touches_only_the_selected_profile(example):
    assert sorted(p.name for p in (example / "snapshots").iterdir()) == ["dev"]
    before = (example / "snapshots" / "dev" / "registry.json").read_bytes()
    result = run_cli(["snapshot", "update", "-p", "prod", "--project-dir", str(example)])
    assert result.exit_code == 0
    assert sorted(p.name for p in (example / "snapshots").iterdir()) == ["dev", "prod"]
    assert (example / "snapshots" / "dev" / "registry.json").read_bytes() == before


def test_diff_two_files_and_formats(example, tmp_path):
    old = example / "snapshots" / "dev" / "registry.json"
    saved = tmp_path / "old.json"
    shutil.copy(old, saved)
    edit(example, RISK, RISK_TAG, RISK_TAG.replace('"float"', '"json"'))
    assert (
        run_cli(["snapshot", "update", "-p", "dev", "--project-dir", str(example)]).exit_code == 0
    )
    # Registry files carry no file:line (it churns on every edit): annotations name none.
    result = run_cli(["diff", str(saved), str(old), "-f", "github"])
    assert result.exit_code == 1
    assert "::error title=semdag dtype-changed%3A function.risk_score.v1::" in result.stdout
    junit = run_cli(["diff", str(saved), str(old), "-f", "junit"]).stdout
    import xml.etree.ElementTree as ET

    suite = ET.fromstring(junit)
    assert suite.find(".//failure").get("type") == "dtype-changed"
    markdown = run_cli(["diff", str(saved), str(old), "-f", "markdown", "--fail-on", "never"])
    assert markdown.exit_code == 0
    assert "| breaking | `dtype-changed` | `function.risk_score.v1` | float -> json |" in (
        markdown.stdout
    )


def test_diff_against_git_head(example):
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=example, check=True, capture_output=True)

    (example / ".gitignore").write_text(".semdag/\n")
    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    edit(example, RISK, RISK_TAG, RISK_TAG.replace('"float"', '"json"'))
    result = run_cli(
        ["diff", "--against", "git:HEAD", "-p", "dev", "--project-dir", str(example), "-f", "json"]
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "dtype-changed" in rules_for(result.json(), "function.risk_score.v1")
    # The working tree and the index are untouched.
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=example, capture_output=True, text=True, check=True
    ).stdout
    assert status.strip() == f"M {RISK}"
    bad = run_cli(["diff", "--against", "git:nope", "--project-dir", str(example)])
    assert bad.exit_code == 2 and "unknown git revision 'nope'" in bad.stderr


def graph_findings(document: dict) -> list[dict]:
    return [
        f
        for c in document["data"]["comparisons"]
        for f in c["findings"]
        if f["rule"] == "graph-changed"
    ]


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cached", "cold"])
def test_graph_drift_names_the_nodes_that_changed(example, cache):
    # Moving functions down the file is no drift at all: the baselines hold no positions.
    edit(example, "modules/core/repo_rollup.py", '"""', '# moved down\n"""')
    code, document = check(example, *cache, "--fail-on", "any")
    assert code == 0 and graph_findings(document) == []
    # A change of logic in a node outside the registry: info only, exit 0.
    edit(example, "modules/core/risk.py", "return 10.0", "return 12.0")
    code, document = check(example, *cache)
    assert code == 0
    (found,) = graph_findings(document)
    assert found["severity"] == "info"
    assert found["new"]["added"] == [] and found["new"]["removed"] == []
    assert found["new"]["changed"] == ["complexity_warn_threshold"]
    # Unchanged again: no drift, and the same answer from a warm cache.
    edit(example, "modules/core/risk.py", "return 12.0", "return 10.0")
    assert graph_findings(check(example, *cache)[1]) == []


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cached", "cold"])
def test_graph_drift_sees_edges_and_a_missing_graph_json(example, cache):
    path = example / "snapshots/dev/graph.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["edges"] = document["edges"][1:]
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (found,) = graph_findings(check(example, *cache)[1])
    assert (
        found["message"]
        == "the execution graph differs from graph.json: the same nodes, other edges"
    )
    path.unlink()
    (found,) = graph_findings(check(example, *cache)[1])
    assert "missing or unreadable" in found["message"]


def test_a_released_build_is_freed_without_a_collection(example):
    import gc
    import weakref

    from semdag.app.session import Session

    session = Session(command="t", profile_name="dev", project_dir=example, build_cache=False)
    node = next(iter(session.build().driver.graph.nodes.values()))
    ref = weakref.ref(node)
    del node
    session.graph()  # the facts outlive the driver
    gc.disable()
    try:
        session.release_build()
        assert ref() is None
    finally:
        gc.enable()
    assert session.graph().nodes  # still answers from the facts


# --- the report on a small project: what changed, what to do, what update accepted ------------


@pytest.fixture(scope="module")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop project with fresh baselines for its dev and prod profiles, made once."""
    root = make_shop(tmp_path_factory.mktemp("gate") / "shop")
    for profile in ("dev", "prod"):
        done = run_cli(["snapshot", "update", "-p", profile, "--project-dir", str(root)])
        assert done.exit_code == 0, done.stderr
    return root


@pytest.fixture
def shop(shop_template: Path, tmp_path: Path) -> Path:
    """A copy of the shop project with its baselines, the test's own to edit."""
    root = tmp_path / "shop"
    shutil.copytree(shop_template, root)
    return root


def shop_cli(root: Path, *args: str):
    return run_cli([*args, "--project-dir", str(root)])


def test_graph_changed_names_each_node_and_what_changed_in_every_format(shop):
    # A tag edit on a node without a semantic id: only the graph snapshot sees it.
    shop_edit(shop, "shop_mods/shop.py", '@tag(team="shop")', '@tag(team="web")')
    document = shop_cli(shop, "snapshot", "check", "-p", "dev", "-f", "json").json()
    (found,) = graph_findings(document)
    assert found["new"]["changed"] == ["doubled"]
    # Tags are compared tag by tag: the code hash leaves tag decorators out.
    assert found["new"]["reasons"] == {"doubled": ["tag team"]}
    said = "the execution graph differs from graph.json: 1 changed: doubled (tag team)"
    assert found["message"] == said
    for fmt in ("text", "markdown", "github", "junit"):
        done = shop_cli(shop, "snapshot", "check", "-p", "dev", "-f", fmt)
        assert done.exit_code == 0, done.stderr
        assert said in done.stdout, fmt


def test_a_failing_check_ends_with_what_to_do_and_the_entry_pastes(shop):
    shop_edit(shop, "shop_mods/shop.py", 'dtype="float"', 'dtype="json"')
    done = shop_cli(shop, "snapshot", "check", "-p", "dev")
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    assert lines.index("  semdag snapshot update -p dev") > lines.index("breaking (1)")
    assert lines[-4:-1] == [
        "  - rule: dtype-changed",
        "    semantic_id: store.revenue.v1",
        '    reason: "TODO: why consumers can take this change"',
    ]
    expires = dt.date.fromisoformat(lines[-1].split(": ")[1])
    assert (expires - dt.date.today()).days in (29, 30, 31)  # today in UTC: 30 days ahead
    markdown = shop_cli(shop, "snapshot", "check", "-p", "dev", "-f", "markdown").stdout
    assert "### What to do" in markdown and markdown.rstrip().endswith("```")
    data = shop_cli(shop, "snapshot", "check", "-p", "dev", "-f", "json").json()["data"]
    assert data["next_steps"]["update"] == ["semdag snapshot update -p dev"]
    # Pasted as printed, the entry is refused until it says why; then the change passes.
    ack = shop / "snapshots/acknowledged.yaml"
    ack.write_text("acknowledged:\n" + "\n".join(lines[-4:]) + "\n", encoding="utf-8")
    refused = shop_cli(shop, "snapshot", "check", "-p", "dev")
    assert refused.exit_code == 2
    assert "reason is still the suggested placeholder" in refused.stderr
    ack.write_text(ack.read_text().replace("TODO: why", "readers round; why"), encoding="utf-8")
    assert shop_cli(shop, "snapshot", "check", "-p", "dev").exit_code == 0


def test_update_says_what_it_accepted(shop):
    shop_edit(shop, "shop_mods/shop.py", 'dtype="float"', 'dtype="json"')
    done = shop_cli(shop, "snapshot", "update", "-p", "dev")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "dev: accepted 1 breaking, 0 warning, 0 additive, 1 info",
        "  dtype-changed: store.revenue.v1: tag dtype changed: float -> json",
    ]
    assert "dev: wrote snapshots/dev/registry.json, snapshots/dev/graph.json" in done.stdout
    again = shop_cli(shop, "snapshot", "update", "-p", "dev", "-f", "json")
    assert again.json()["data"]["accepted"] == {"dev": []}
    assert again.json()["data"]["written"] == {"dev": []}  # the same bytes: nothing rewritten
    text = shop_cli(shop, "snapshot", "update", "-p", "dev").stdout
    assert text.splitlines() == ["dev: no changes to accept", "dev: baselines unchanged"]
    shutil.rmtree(shop / "snapshots/prod")
    first = shop_cli(shop, "snapshot", "update", "-p", "prod")
    assert first.stdout.startswith("prod: new baseline\n")


def test_all_shows_a_finding_common_to_profiles_once(shop):
    shop_edit(shop, "shop_mods/shop.py", 'dtype="float"', 'dtype="json"')
    (shop / "configs/loose.yaml").unlink()
    text = shop_cli(shop, "snapshot", "check", "--all").stdout
    assert text.count("dtype-changed: store.revenue.v1") == 1
    assert "dtype-changed: store.revenue.v1 (in dev, prod)" in text
    assert "graph-changed: (graph) (in dev, prod)" in text
    assert "  semdag snapshot update --all" in text
    github = shop_cli(shop, "snapshot", "check", "--all", "-f", "github").stdout
    assert [ln for ln in github.splitlines() if ln.startswith("::error")] == [
        "::error file=shop_mods/shop.py,line=10,title=semdag dtype-changed%3A store.revenue.v1 "
        "(in dev%2C prod)::tag dtype changed: float -> json"
    ]
    markdown = shop_cli(shop, "snapshot", "check", "--all", "-f", "markdown").stdout
    assert markdown.count("`dtype-changed`") == 1
    # JSON keeps each profile's own comparison.
    document = shop_cli(shop, "snapshot", "check", "--all", "-f", "json").json()
    assert [c["profile"] for c in document["data"]["comparisons"]] == ["dev", "prod"]


@pytest.mark.parametrize("every", [[], ["--all"]], ids=["one", "all"])
def test_github_format_annotates_a_missing_baseline(shop, every):
    shutil.rmtree(shop / "snapshots/prod")
    args = ["snapshot", "check", "-f", "github", *every]
    done = shop_cli(shop, *args, *([] if every else ["-p", "prod"]))
    assert done.exit_code == 2
    assert (
        "::error file=snapshots/prod/registry.json,title=semdag snapshot check::no baseline"
        in done.stdout
    )
    assert "no baseline" in done.stderr
