"""The build cache answers only when nothing that the build read has changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_probe

HELPER = "def factor() -> int:\n    return 2\n"
CORE = '''
from hamilton.function_modifiers import tag

from pkg.helper import factor


@tag(layer="semantic", semantic_id="t.value.v1", entity="repo", grain="per_repo", dtype="int",
     version="1")
def value(x: int) -> int:
    """Value."""
    return x * factor()
'''


@pytest.fixture
def project(project_factory) -> Path:
    return project_factory(
        {
            "pkg/__init__.py": "",
            "pkg/helper.py": HELPER,
            "pkg/core.py": CORE,
            "configs/base.yaml": "stack:\n  core: [pkg.core]\ninputs:\n  x: 1\n",
            "configs/dev.yaml": "extends: base.yaml\nconfig:\n  mode: ${SEMDAG_T_MODE:-a}\n",
        }
    )


def cached(project: Path, *args: str) -> bool:
    result = run_cli(["build", "--project-dir", str(project), "-f", "json", *args])
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.json()["data"]["cached"]


def test_second_build_is_served_from_cache(project):
    assert cached(project) is False
    assert cached(project) is True
    assert cached(project, "--no-cache") is False


@pytest.mark.parametrize("change", ["module", "helper", "extends", "set", "env", "hamilton"])
def test_every_key_invalidates(project, monkeypatch, change):
    assert cached(project) is False
    assert cached(project) is True
    args: list[str] = []
    if change == "module":
        (project / "pkg/core.py").write_text(CORE.replace("x * factor()", "x * factor() + 0"))
    elif change == "helper":
        (project / "pkg/helper.py").write_text(HELPER.replace("2", "3"))
    elif change == "extends":
        (project / "configs/base.yaml").write_text("stack:\n  core: [pkg.core]\ninputs:\n  x: 2\n")
    elif change == "set":
        args = ["--set", "inputs.x=5"]
    elif change == "env":
        monkeypatch.setenv("SEMDAG_T_MODE", "b")
    elif change == "hamilton":
        # The key is recorded in each entry's index.
        for entry in (project / ".semdag" / "build-cache").glob("*.index.json"):
            document = json.loads(entry.read_text())
            document["key"]["hamilton"] = "apache-hamilton==0.0.1"
            entry.write_text(json.dumps(document))
    assert cached(project, *args) is False


@pytest.mark.parametrize(
    "damage",
    [
        lambda reads: reads.pop("files"),  # a record without one of its parts
        lambda reads: reads.update(env=["not", "a", "mapping"]),
        lambda reads: reads["modules"].update({"pkg/core.py": "0" * 64}),  # another sha
    ],
)
def test_a_damaged_record_of_what_the_build_read_is_a_miss(project, damage):
    assert cached(project) is False
    for entry in (project / ".semdag" / "build-cache").glob("*.index.json"):
        document = json.loads(entry.read_text())
        damage(document["reads"])
        entry.write_text(json.dumps(document))
    assert cached(project) is False
    assert cached(project) is True  # rewritten by the build that missed


def test_stale_cache_never_answers(project):
    assert cached(project) is False
    (project / "pkg/core.py").write_text(
        CORE.replace('semantic_id="t.value.v1"', 'semantic_id="t.renamed.v1"')
    )
    result = run_cli(["registry", "--project-dir", str(project), "-f", "json"])
    assert list(result.json()["data"]["entries"]) == ["t.renamed.v1"]


def test_corrupt_cache_is_ignored_and_rewritten(project):
    assert cached(project) is False
    for entry in (project / ".semdag" / "build-cache").glob("*.json"):
        entry.write_text("{not json")
    assert cached(project) is False
    assert cached(project) is True


@pytest.mark.slow
def test_cache_hit_does_not_import_hamilton(project):
    assert cached(project) is False
    probe = run_probe(["validate", "--project-dir", str(project), "-f", "json"])
    assert json.loads(probe.stdout)["ok"] is True
    assert probe.heavy == []


@pytest.mark.slow
def test_concurrent_writers_leave_a_valid_cache(project):
    command = [sys.executable, "-m", "semdag", "build", "--project-dir", str(project), "-f", "json"]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0 and json.loads(out)["ok"]
    entries = [
        e
        for e in (project / ".semdag" / "build-cache").glob("*.json")
        if not e.name.endswith(".index.json")
    ]
    assert len(entries) == 1
    json.loads(entries[0].read_text())
    assert cached(project) is True


@pytest.mark.slow
def test_warm_snapshot_check_answers_without_hamilton_and_sees_changes(project):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    first = run_cli(["snapshot", "check", "--project-dir", str(project), "-f", "json"])
    assert first.exit_code == 0
    probe = run_probe(["snapshot", "check", "--project-dir", str(project), "-f", "json"])
    assert json.loads(probe.stdout)["data"] == first.json()["data"]
    assert probe.heavy == []
    # A new acknowledgement, a changed baseline or a changed module is seen at once.
    (project / "snapshots" / "acknowledged.yaml").write_text(
        "- rule: dtype-changed\n  semantic_id: t.value.v1\n  reason: r\n  expires: 2099-01-01\n"
    )
    acknowledged = run_cli(["snapshot", "check", "--project-dir", str(project), "-f", "json"])
    rules = [f["rule"] for c in acknowledged.json()["data"]["comparisons"] for f in c["findings"]]
    assert rules == ["acknowledgement-unused"]
    (project / "pkg/core.py").write_text(CORE.replace('dtype="int"', 'dtype="int64"'))
    changed = run_cli(["snapshot", "check", "--project-dir", str(project), "-f", "json"])
    assert changed.exit_code == 0  # acknowledged
    rules = [f["rule"] for c in changed.json()["data"]["comparisons"] for f in c["findings"]]
    assert "dtype-changed" in rules


def test_results_are_kept_for_the_last_builds_only(project):
    """Each edit makes a build, and results derived from a build are kept per build: the
    oldest go, so that the cache does not grow with every edit."""
    from semdag.config.project import find_project
    from semdag.store import buildcache

    proj = find_project(project)
    digests = [f"{n:032x}" * 2 for n in range(buildcache.VERDICTS_KEPT + 6)]
    folder = project / ".semdag" / "build-cache" / "verdicts"
    for number, digest in enumerate(digests):
        buildcache.store_verdict(proj, digest, "check", {"n": digest})
        buildcache.store_verdict(proj, digest[::-1], "graph-digests", {"n": 1})
        for written in (f"check-{digest[:32]}", f"graph-digests-{digest[::-1][:32]}"):
            os.utime(folder / f"{written}.json", (number, number))  # one write a second
    kept = [d for d in digests if buildcache.load_verdict(proj, d, "check") is not None]
    assert kept == digests[-buildcache.VERDICTS_KEPT :]
    assert buildcache.load_verdict(proj, digests[-1], "check") == {"n": digests[-1]}
    # Each kind keeps its own.
    others = [d for d in digests if buildcache.load_verdict(proj, d[::-1], "graph-digests")]
    assert others == kept
