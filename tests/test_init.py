"""`semdag init`: a project that validates and passes its own gate at once, never clobbering."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from semdag.registry import DTYPES
from semdag.scaffold import baseline_paths, project_files, write_project
from tests.conftest import run_cli

TAXONOMY = (
    "layer",
    "semantic_id",
    "entity",
    "grain",
    "entity_keys",
    "join_keys",
    "dtype",
    "schema_ref",
    "version",
    "owner",
    "stability",
    "pii",
)
EXPECTED = sorted(
    [
        ".gitignore",
        ".pre-commit-config.yaml",
        "configs/dev.yaml",
        "modules/__init__.py",
        "modules/core/__init__.py",
        "modules/core/metrics.py",
        "pyproject.toml",
        "snapshots/acknowledged.yaml",
        "snapshots/dev/graph.json",
        "snapshots/dev/registry.json",
    ]
)


# What the scaffold's .gitignore keeps out of the repository.
IGNORED = {".semdag", ".semdag.lock", "__pycache__"}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` that git would see, as relative path -> bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not IGNORED.intersection(p.parts)
    }


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init") / "shop"
    done = run_cli(["init", str(root)])
    assert done.exit_code == 0, done.stderr
    return root


def test_project_files_are_pure_and_complete():
    files = project_files()
    assert files == project_files()
    assert sorted([*files, *baseline_paths()]) == EXPECTED
    assert tomllib.loads(files["pyproject.toml"])["tool"]["semdag"] == {
        "configs_dir": "configs",
        "snapshots_dir": "snapshots",
        "default_profile": "dev",
    }
    ignored = files[".gitignore"].splitlines()
    assert {".semdag/", ".semdag.lock", "__pycache__/"} <= set(ignored)
    profile = yaml.safe_load(files["configs/dev.yaml"])
    assert profile["stack"] == {"core": ["modules.core.metrics"]}
    assert profile["inputs"]["order_quantities"] == [3, 1, 4]


def test_init_writes_a_project_that_passes_validate_and_check(scaffolded):
    assert sorted(tree(scaffolded)) == EXPECTED
    validate = run_cli(["validate", "--project-dir", str(scaffolded)])
    assert validate.exit_code == 0, validate.stdout + validate.stderr
    assert "no findings" in validate.stdout
    check = run_cli(["snapshot", "check", "--all", "--project-dir", str(scaffolded)])
    assert check.exit_code == 0, check.stdout + check.stderr
    assert "dev: no findings" in check.stdout


def test_init_reports_what_it_wrote(scaffolded):
    # The fixture's run, repeated with --force to see the output.
    done = run_cli(["init", str(scaffolded), "--force", "-f", "json"])
    assert done.exit_code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] is True
    assert document["data"]["written"] == [
        p for p in EXPECTED if not p.startswith("snapshots/dev/")
    ] + ["snapshots/dev/registry.json", "snapshots/dev/graph.json"]


def test_two_semantic_nodes_with_the_full_taxonomy(scaffolded):
    registry = json.loads((scaffolded / "snapshots/dev/registry.json").read_text())
    assert registry["kind"] == "semdag.registry"
    entries = registry["entries"]
    assert sorted(entries) == ["example.total_revenue.v1", "example.total_units.v1"]
    for sid, entry in entries.items():
        tags = entry["tags"]
        assert set(TAXONOMY) <= set(tags), sid
        assert tags["layer"] == "semantic"
        assert tags["semantic_id"] == sid
        assert tags["version"] == "1"
        assert entry["output_type"] in DTYPES[tags["dtype"]]  # dtype fits the return type
    assert entries["example.total_revenue.v1"]["dependencies"] == ["total_units", "unit_price"]


def test_baselines_are_canonical_and_machine_independent(scaffolded, tmp_path):
    other = tmp_path / "elsewhere" / "deeper"
    assert run_cli(["init", str(other)]).exit_code == 0
    first, second = tree(scaffolded), tree(other)
    assert first == second
    for rel in baseline_paths():
        text = first[rel].decode("utf-8")
        assert text.endswith("}\n")
        assert str(scaffolded) not in text and str(tmp_path) not in text
        assert json.dumps(
            json.loads(text), indent=2, sort_keys=True, ensure_ascii=False
        ) + "\n" == (text)


def test_init_defaults_to_the_current_directory(tmp_path):
    done = run_cli(["init"], cwd=tmp_path)
    assert done.exit_code == 0, done.stderr
    assert sorted(tree(tmp_path)) == EXPECTED
    assert "created a semdag project in ./" in done.stdout
    # The hint goes to stderr: stdout carries only the result.
    assert "pre-commit install" in done.stderr and "next:" not in done.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    root = tmp_path / "existing"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (root / "snapshots" / "dev").mkdir(parents=True)
    (root / "snapshots/dev/registry.json").write_text("{}\n")
    before = tree(root)

    done = run_cli(["init", str(root)])

    assert done.exit_code == 2
    assert done.stdout == ""
    assert "refusing to overwrite existing files" in done.stderr
    assert "pyproject.toml" in done.stderr
    assert "snapshots/dev/registry.json" in done.stderr
    assert "configs/dev.yaml" not in done.stderr
    assert "--force" in done.stderr
    assert tree(root) == before


def test_init_refusal_in_json(tmp_path):
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    done = run_cli(["init", str(tmp_path), "-f", "json"])
    assert done.exit_code == 2
    document = json.loads(done.stdout)
    assert document["ok"] is False
    assert document["errors"][0]["code"] == "usage_error"
    assert ".gitignore" in document["errors"][0]["message"]
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n"


def test_force_overwrites_scaffold_files_and_keeps_the_rest(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (tmp_path / "notes.txt").write_text("keep me\n")
    done = run_cli(["init", str(tmp_path), "--force"])
    assert done.exit_code == 0, done.stderr
    assert "[tool.semdag]" in (tmp_path / "pyproject.toml").read_text()
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"
    assert run_cli(["snapshot", "check", "--project-dir", str(tmp_path)]).exit_code == 0


def test_named_profile(tmp_path):
    done = run_cli(["init", str(tmp_path), "-p", "staging"])
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "configs/staging.yaml").is_file()
    assert not (tmp_path / "configs/dev.yaml").exists()
    assert (tmp_path / "snapshots/staging/registry.json").is_file()
    assert 'default_profile = "staging"' in (tmp_path / "pyproject.toml").read_text()
    check = run_cli(["snapshot", "check", "--project-dir", str(tmp_path)])
    assert check.exit_code == 0, check.stdout + check.stderr
    assert "staging: no findings" in check.stdout


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--set", "inputs.unit_price=3"], "No such option: --set"),
        (["--config", "x.yaml"], "No such option: --config"),
        (["--no-cache"], "No such option: --no-cache"),
        (["-p", "../evil"], "profile name '../evil'"),
    ],
)
def test_init_rejects_options_that_do_not_apply(tmp_path, args, phrase):
    done = run_cli(["init", str(tmp_path / "p"), *args])
    assert done.exit_code == 2
    assert phrase in done.stderr
    assert not (tmp_path / "p").exists()


def test_init_into_a_file_is_a_usage_error(tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    done = run_cli(["init", str(target)])
    assert done.exit_code == 2
    assert "not a directory" in done.stderr


def test_write_project_checks_generated_paths_too(tmp_path):
    (tmp_path / "out.json").write_text("{}")
    with pytest.raises(Exception, match="out.json"):
        write_project(tmp_path, {"a.txt": "a"}, generated=["out.json"])
    assert not (tmp_path / "a.txt").exists()
    assert write_project(tmp_path, {"a.txt": "a"}, generated=["out.json"], force=True) == ["a.txt"]
