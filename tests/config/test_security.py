"""Nothing in a project's files runs code or reaches outside the project unless the user asks.

YAML is safe-loaded everywhere; ``--set`` and ``${VAR}`` produce values, never code; file
paths read from profile YAML (stack modules, savers, the cache) must stay inside the project,
while the same paths given on the command line are the user's choice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semdag.config.profile import load_profile
from semdag.config.project import Project, find_project
from semdag.core.errors import ConfigError, UsageError
from semdag.store.snapshot import snapshot_dir
from tests.conftest import Result, run_cli, write_files
from tests.sample import SAMPLE_MODULE as GOOD
from tests.sample import SAMPLE_PROFILE as PROFILE


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "project",
        {"pkg/__init__.py": "", "pkg/good.py": GOOD, "configs/dev.yaml": PROFILE},
    )


def payload(marker: Path, tag: str = "python/object/apply:os.system") -> str:
    return f'!!{tag} ["touch {marker}"]'


def cli(root: Path, *args: str) -> Result:
    return run_cli([*args, "--project-dir", str(root)])


# --- safe loading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "python/object/apply:os.system",
        "python/object/new:os.system",
        "python/name:os.system",
        "python/module:os",
    ],
)
def test_python_tags_in_a_profile_are_a_config_error_and_run_nothing(
    root: Path, tmp_path: Path, tag: str
) -> None:
    marker = tmp_path / "pwned"
    (root / "configs" / "dev.yaml").write_text(PROFILE + f"config:\n  x: {payload(marker, tag)}\n")
    result = cli(root, "validate")
    assert result.exit_code == 2
    assert "configs/dev.yaml:6: invalid YAML: could not determine a constructor" in result.stderr
    assert not marker.exists()


def test_python_tag_in_acknowledgements_is_a_config_error_and_runs_nothing(
    root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    assert cli(root, "snapshot", "update").exit_code == 0
    (root / "snapshots" / "acknowledged.yaml").write_text(
        f"- rule: semantic-removed\n  semantic_id: t.b.v1\n  reason: {payload(marker)}\n"
        "  expires: 2999-01-01\n"
    )
    result = cli(root, "snapshot", "check", "-f", "json")
    assert result.exit_code == 2
    error = result.json()["errors"][0]
    assert error["code"] == "config_error"
    assert (error["file"], error["line"]) == ("snapshots/acknowledged.yaml", 3)
    assert not marker.exists()


def test_a_snapshot_is_json_and_a_tag_in_it_is_only_text(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    assert cli(root, "snapshot", "update").exit_code == 0
    registry = root / "snapshots" / "dev" / "registry.json"
    document = json.loads(registry.read_text())
    document["entries"]["t.b.v1"]["tags"]["owner"] = payload(marker)
    registry.write_text(json.dumps(document))
    result = cli(root, "snapshot", "check", "-f", "json")
    assert result.exit_code == 0  # tags-changed is info
    changes = result.json()["data"]["comparisons"][0]["findings"]
    assert any(f["rule"] == "tags-changed" and f["old"] == payload(marker) for f in changes)
    registry.write_text(payload(marker))
    assert cli(root, "snapshot", "check").exit_code == 2
    assert not marker.exists()


def test_set_never_evaluates_code(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    project = find_project(explicit=root)
    profile = load_profile(project, "dev", sets=[f"config.x={payload(marker)}"])
    assert profile.config["x"] == payload(marker)
    result = cli(root, "build", "--set", f"config.x={payload(marker)}")
    assert result.exit_code == 0, result.stderr
    assert not marker.exists()


def test_environment_values_are_values_not_code_nor_more_references(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.setenv("SEMDAG_T_EVIL", payload(marker))
    monkeypatch.setenv("SEMDAG_T_NESTED", "${HOME}")
    (root / "configs" / "dev.yaml").write_text(
        PROFILE + "config:\n  whole: ${SEMDAG_T_EVIL}\n  part: x-${SEMDAG_T_EVIL}\n"
        "  nested: ${SEMDAG_T_NESTED}\n"
    )
    profile = load_profile(find_project(explicit=root), "dev")
    assert profile.config == {
        "whole": payload(marker),
        "part": f"x-{payload(marker)}",
        "nested": "${HOME}",
    }
    assert cli(root, "validate").exit_code == 0
    assert not marker.exists()


# --- paths that leave the project ----------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A module outside the project that leaves a mark when imported."""
    module = tmp_path / "outside.py"
    module.write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n" + GOOD)
    return module


@pytest.mark.parametrize(
    "spec", ["../outside.py", "pkg/../../outside.py", "{outside}", "pkg/link.py"]
)
def test_a_stack_module_path_outside_the_project_is_refused(
    root: Path, outside: Path, spec: str
) -> None:
    (root / "pkg" / "link.py").symlink_to(outside)
    spec = spec.format(outside=outside)
    (root / "configs" / "dev.yaml").write_text(
        f"stack:\n  core: [pkg.good]\n  plugins:\n    - {spec}\ninputs: {{x: 1}}\n"
    )
    result = cli(root, "validate", "-f", "json")
    assert result.exit_code == 2
    error = result.json()["errors"][0]
    assert error["code"] == "config_error"
    assert (error["file"], error["line"]) == ("configs/dev.yaml", 4)
    assert error["message"].startswith(f"stack.plugins.0: {spec} is outside the project")
    assert not (outside.parent / "imported").exists()


def test_a_module_path_on_the_command_line_is_the_users_choice(root: Path, outside: Path) -> None:
    result = cli(root, "ls", "--set", f"stack.core=[{outside}]")
    assert result.exit_code == 0, result.stderr
    assert (outside.parent / "imported").exists()
    assert "t.b.v1" in result.stdout


def test_a_profile_file_elsewhere_is_fine(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "p.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(PROFILE)
    result = cli(root, "validate", "--config", str(elsewhere))
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("yaml", "key", "line"),
    [
        ("cache:\n  path: ../../x\n", "cache.path", 6),
        ("cache: {path: /tmp/semdag-cache}\n", "cache.path", 5),
        (
            "materializers:\n  - id: out\n    to: json\n    dependencies: [b]\n"
            "    path: ../../tmp/x\n",
            "materializers.0.path",
            9,
        ),
    ],
    ids=["cache-relative", "cache-absolute", "saver-path"],
)
def test_cache_and_saver_paths_outside_the_project_are_refused(
    root: Path, yaml: str, key: str, line: int
) -> None:
    (root / "configs" / "dev.yaml").write_text(PROFILE + yaml)
    for command in (["validate"], ["execute"], ["materialize", "--dry-run"]):
        result = cli(root, *command, "-f", "json")
        assert result.exit_code == 2, (command, result.stdout)
        error = result.json()["errors"][0]
        assert error["code"] == "config_error"
        assert (error["file"], error["line"]) == ("configs/dev.yaml", line)
        assert error["message"].startswith(f"{key}: ")
        assert "is outside the project" in error["message"]
    assert not (root.parent.parent / "x").exists()


def test_paths_inside_the_project_and_loader_paths_are_accepted(root: Path) -> None:
    (root / "configs" / "dev.yaml").write_text(
        PROFILE + "cache: {path: .semdag/cache}\nmaterializers:\n"
        "  - {id: out, to: json, dependencies: [b], path: out/../out/b.json}\n"
        "  - {id: a, from: json, path: ../../shared/input.json}\n"
    )
    profile = load_profile(find_project(explicit=root), "dev")
    assert profile.cache.path == ".semdag/cache"


def test_cache_path_given_with_set_is_the_users_choice(root: Path) -> None:
    profile = load_profile(find_project(explicit=root), "dev", sets=["cache.path=../shared"])
    assert profile.cache.path == "../shared"


def test_project_contained(root: Path, tmp_path: Path) -> None:
    project = Project(root=root)
    assert project.contained("pkg/good.py", key="k", file="f", line=1) == root / "pkg" / "good.py"
    assert project.contained(str(root / "pkg"), key="k", file="f", line=1) == root / "pkg"
    (root / "escape").symlink_to(tmp_path)
    for path in ("..", "../project2/x", "/etc/passwd", "escape/x", "pkg/../../x"):
        with pytest.raises(ConfigError) as info:
            project.contained(path, key="stack.core.0", file="configs/dev.yaml", line=7)
        assert (info.value.file, info.value.line) == ("configs/dev.yaml", 7)
        assert info.value.message.startswith(f"stack.core.0: {path} is outside the project")


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", "/etc/x"])
def test_a_profile_name_never_becomes_a_path_outside_snapshots(root: Path, name: str) -> None:
    with pytest.raises(UsageError):
        snapshot_dir(Project(root=root), name)
    result = cli(root, "snapshot", "update", "-p", name) if name else None
    if result is not None:
        assert result.exit_code == 2
    assert sorted(p.name for p in root.iterdir()) == ["configs", "pkg"]
