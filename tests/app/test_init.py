"""`semdag init`: a project that validates and passes its own gate at once, never clobbering."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from semdag.app.scaffold import baseline_paths, merge_pyproject, project_files, write_project
from semdag.core.dtypes import dtype_problem
from tests.conftest import run_cli, write_files

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
        ".gitattributes",
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
        "tests/test_semdag.py",
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
    verify = run_cli(["verify", "--project-dir", str(scaffolded)])
    assert verify.exit_code == 0, verify.stdout + verify.stderr
    assert verify.stdout == "dev (2 outputs): no findings\n"


def test_init_reports_what_it_wrote(scaffolded):
    # The fixture's run, repeated with --force to see the output.
    done = run_cli(["init", str(scaffolded), "--force", "-f", "json"])
    assert done.exit_code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] is True
    # .gitattributes and .pre-commit-config.yaml are never replaced, only added to: they
    # have semdag's part already.
    merged_only = {".gitattributes", ".pre-commit-config.yaml"}
    assert document["data"]["written"] == [
        p for p in EXPECTED if not p.startswith("snapshots/dev/") and p not in merged_only
    ] + ["snapshots/dev/registry.json", "snapshots/dev/graph.json"]
    assert document["data"]["left"] == sorted(merged_only)


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
        assert dtype_problem(tags["dtype"], entry["output_type"]) is None
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


PROJECT_TABLES = """\
[project]
name = "mine"
version = "1.0"

[tool.ruff]
line-length = 90
"""


def test_init_adopts_a_repository_with_a_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PROJECT_TABLES)
    (tmp_path / ".gitignore").write_text("*.pyc\n")

    done = run_cli(["init", str(tmp_path)])

    assert done.exit_code == 0, done.stderr
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(PROJECT_TABLES)  # every other table kept as written
    document = tomllib.loads(text)
    assert document["project"] == {"name": "mine", "version": "1.0"}
    assert document["tool"]["ruff"] == {"line-length": 90}
    assert document["tool"]["semdag"]["default_profile"] == "dev"
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n"
    lines = done.stdout.splitlines()
    assert lines[0] == f"adopted a semdag project in {tmp_path.as_posix()}/"
    assert "  pyproject.toml ([tool.semdag] added)" in lines
    assert lines[lines.index("left as they were (--force overwrites them):") + 1] == "  .gitignore"
    check = run_cli(["snapshot", "check", "--project-dir", str(tmp_path)])
    assert check.exit_code == 0, check.stdout + check.stderr


def test_init_never_overwrites_an_existing_file_without_force(tmp_path):
    write_files(
        tmp_path,
        {
            "configs/dev.yaml": "stack:\n  core: [modules.core.metrics]\n",
            "snapshots/dev/registry.json": "{}\n",
        },
    )
    before = tree(tmp_path)
    done = run_cli(["init", str(tmp_path), "-f", "json"])
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    # An existing baseline is not regenerated either.
    assert data["left"] == ["configs/dev.yaml", "snapshots/dev/registry.json"]
    assert "configs/dev.yaml" not in data["written"]
    assert "modules/core/metrics.py" in data["written"]
    for rel, content in before.items():
        assert tree(tmp_path)[rel] == content, rel


def test_force_overwrites_scaffold_files_and_keeps_other_tables(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        PROJECT_TABLES + '\n[tool.semdag]\ndefault_profile = "old"\n\n[tool.black]\nx = 1\n'
    )
    (tmp_path / "notes.txt").write_text("keep me\n")
    done = run_cli(["init", str(tmp_path), "--force"])
    assert done.exit_code == 0, done.stderr
    assert "  pyproject.toml ([tool.semdag] replaced)" in done.stdout
    document = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert document["project"] == {"name": "mine", "version": "1.0"}
    assert document["tool"]["ruff"] == {"line-length": 90}
    assert document["tool"]["black"] == {"x": 1}
    assert document["tool"]["semdag"]["default_profile"] == "dev"
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"
    assert run_cli(["snapshot", "check", "--project-dir", str(tmp_path)]).exit_code == 0


def test_an_existing_semdag_table_is_kept_and_says_where_configs_live(tmp_path):
    table = '[tool.semdag]\nconfigs_dir = "profiles"\nsnapshots_dir = "baselines"\n'
    (tmp_path / "pyproject.toml").write_text(table)
    done = run_cli(["init", str(tmp_path)])
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "pyproject.toml").read_text() == table
    assert (tmp_path / "profiles/dev.yaml").is_file()
    assert (tmp_path / "baselines/dev/registry.json").is_file()
    assert "  pyproject.toml" in done.stdout.split("left as they were")[1]
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


def test_write_project_leaves_existing_files_unless_forced(tmp_path):
    (tmp_path / "b.txt").write_text("mine")
    done = write_project(tmp_path, {"a.txt": "a", "b.txt": "b"})
    assert (done.written, done.left) == (("a.txt",), ("b.txt",))
    assert (tmp_path / "b.txt").read_text() == "mine"
    forced = write_project(tmp_path, {"b.txt": "b"}, force=True)
    assert (forced.written, forced.left) == (("b.txt",), ())
    assert (tmp_path / "b.txt").read_text() == "b"


@pytest.mark.parametrize(
    ("existing_text", "force", "expected"),
    [
        ("", False, "T"),
        ("[project]\nname = 'x'\n", False, "[project]\nname = 'x'\n\nT"),
        ("[project]\nname = 'x'", False, "[project]\nname = 'x'\n\nT"),
        ("[tool.semdag]\na = 1\n", False, None),
        ("[tool.semdag]\na = 1\n\n[tool.x]\nb = 2\n", True, "T\n[tool.x]\nb = 2\n"),
        ("[tool]\nsemdag = {a = 1}\n", True, None),  # not a section: left to a person
    ],
)
def test_merge_pyproject(existing_text, force, expected):
    table = '[tool.semdag]\ndefault_profile = "dev"\n'
    merged = merge_pyproject(existing_text, table, force=force)
    assert merged == (None if expected is None else expected.replace("T", table))


def test_replacing_the_scaffold_table_with_itself_changes_nothing():
    table = project_files()["pyproject.toml"]
    assert merge_pyproject(table, table, force=True) == table
    assert merge_pyproject(PROJECT_TABLES + "\n" + table, table, force=True) == (
        PROJECT_TABLES + "\n" + table
    )
