"""`semdag init` in a team's existing repository: it adopts the Hamilton modules that are there,
merges its hooks into the team's pre-commit config, and its first gate is green."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from semdag.app.adopt import find_modules
from semdag.app.scaffold import HOOKS, merge_precommit
from tests.conftest import run_cli, write_files

FEATURES = '''\
"""Order features."""

import pandas as pd
from hamilton.function_modifiers import tag


def orders(orders_path: str) -> pd.DataFrame:
    return pd.read_csv(orders_path)


@tag(
    layer="semantic",
    semantic_id="customer.order_total.v1",
    entity="customer",
    grain="per_order",
    dtype="float",
    version="1",
)
def order_total(orders: pd.DataFrame) -> pd.Series:
    return orders["amount"] * orders["quantity"]
'''

HELPERS = """\
from hamilton.function_modifiers import tag


@tag(owner="nobody")
def unrelated_helper() -> int:
    return 1
"""

RUN = """\
from hamilton import driver

from pipeline import features

dr = driver.Builder().with_config({"region": "eu"}).with_modules(features).build()
"""

TEAM_PRECOMMIT = """\
# The platform team's hooks: keep ruff first.
repos:
  # Lint before anything else.
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.5.0  # pinned by the platform team
    hooks:
      - id: ruff
        args: [--fix]
"""

TEAM_PYPROJECT = '[project]\nname = "shop"\nversion = "0.1"\n'

REPOSITORY = {
    "pipeline/__init__.py": "",
    "pipeline/features.py": FEATURES,
    "pipeline/helpers.py": HELPERS,
    "run.py": RUN,
    # Never modules, whatever they import.
    "setup.py": "from hamilton.function_modifiers import tag\n",
    "tests/test_features.py": "from hamilton.function_modifiers import tag\n",
    "scripts/backfill.py": "from hamilton.function_modifiers import tag\n",
    ".pre-commit-config.yaml": TEAM_PRECOMMIT,
    "pyproject.toml": TEAM_PYPROJECT,
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def repository(root: Path, files: dict[str, str] = REPOSITORY) -> Path:
    write_files(root, files)
    git(root, "init", "-q", "-b", "main")
    return root


def test_the_modules_the_driver_scripts_pass_are_the_stack(tmp_path):
    write_files(tmp_path, REPOSITORY)
    found = find_modules(tmp_path)
    assert found is not None
    assert found.stack == {"core": ["pipeline.features"]}
    assert found.scripts == ("run.py",)
    assert found.config == {"region": "eu"}


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("from hamilton import driver\nimport pipeline.features as f\n"
         "dr = driver.Driver({}, f)\n", ["pipeline.features"]),
        ("from hamilton import driver\nfrom pipeline import features, helpers\n"
         "mods = None\ndr = driver.Builder().with_modules(*[helpers, features]).build()\n",
         ["pipeline.helpers", "pipeline.features"]),
        ("from hamilton.driver import Driver\nfrom pipeline import helpers\n"
         "dr = Driver({'a': 1}, helpers)\n", ["pipeline.helpers"]),
    ],
)  # fmt: skip
def test_driver_calls_are_read_in_their_usual_shapes(tmp_path, driver, expected):
    write_files(tmp_path, {**REPOSITORY, "run.py": driver})
    found = find_modules(tmp_path)
    assert found is not None and found.modules == expected


def test_without_driver_scripts_the_modules_importing_the_decorators(tmp_path):
    files = {k: v for k, v in REPOSITORY.items() if k != "run.py"}
    write_files(tmp_path, files)
    found = find_modules(tmp_path)
    assert found is not None
    assert found.modules == ["pipeline.features", "pipeline.helpers"]
    assert found.scripts == ()


def test_layers_follow_the_folder_layout(tmp_path):
    write_files(
        tmp_path,
        {
            "flows/core/base.py": HELPERS,
            "flows/plugins/extra.py": HELPERS.replace("unrelated_helper", "extra"),
            "flows/overrides/hotfix.py": HELPERS,
        },
    )
    found = find_modules(tmp_path)
    assert found is not None
    assert found.stack == {
        "core": ["flows.core.base"],
        "plugins": ["flows.plugins.extra"],
        "overrides": ["flows.overrides.hotfix"],
    }


def test_a_directory_without_hamilton_modules_is_not_adopted(tmp_path):
    write_files(tmp_path, {"app.py": "print('hi')\n", "setup.py": "import hamilton\n"})
    assert find_modules(tmp_path) is None


@pytest.fixture
def adopted(tmp_path: Path) -> tuple[Path, object]:
    root = repository(tmp_path / "shop")
    done = run_cli(["init", str(root)])
    return root, done


def test_init_adopts_the_repository_and_its_first_check_is_green(adopted):
    root, done = adopted
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"adopted a semdag project in {root.as_posix()}/"
    assert lines[1:3] == [
        "stack (the modules that run.py passes to Hamilton):",
        "  core: pipeline.features",
    ]
    # No sample module, and the profile stacks the repository's own.
    assert not (root / "modules").exists()
    profile = yaml.safe_load((root / "configs/dev.yaml").read_text())
    assert profile["stack"] == {"core": ["pipeline.features"]}
    assert profile["config"] == {"region": "eu"}
    registry = json.loads((root / "snapshots/dev/registry.json").read_text())
    assert sorted(registry["entries"]) == ["customer.order_total.v1"]

    check = run_cli(["snapshot", "check", "--project-dir", str(root)])
    assert (check.exit_code, check.stdout, check.stderr) == (0, "dev: no findings\n", "")
    validate = run_cli(["validate", "--project-dir", str(root)])
    assert validate.exit_code == 0, validate.stdout + validate.stderr


def test_init_inside_a_repository_says_nothing_of_git_init(adopted):
    _, done = adopted
    assert "git init" not in done.stderr
    assert (
        "&& pre-commit install, then `semdag validate` and `semdag snapshot check`\n" in done.stderr
    )
    assert "docs/" not in done.stderr + done.stdout


def test_init_merges_its_hooks_into_the_team_config(adopted):
    root, done = adopted
    text = (root / ".pre-commit-config.yaml").read_text()
    assert "  .pre-commit-config.yaml (semdag's part added, the rest kept)" in done.stdout
    # Every comment and hook of the team's config is still there, as written.
    for line in TEAM_PRECOMMIT.splitlines():
        assert line in text, line
    config = yaml.safe_load(text)
    assert config["repos"][0]["hooks"] == [{"id": "ruff", "args": ["--fix"]}]
    local = config["repos"][1]
    assert local["repo"] == "local"
    assert [hook["id"] for hook in local["hooks"]] == [hook_id for hook_id, _, _ in HOOKS]
    assert config["default_install_hook_types"] == ["pre-commit", "pre-merge-commit"]
    from pre_commit.clientlib import load_config

    load_config(str(root / ".pre-commit-config.yaml"))  # pre-commit itself accepts it


def test_the_scaffolded_test_of_an_adopted_repository_is_the_gate(adopted):
    root, _ = adopted
    text = (root / "tests/test_semdag.py").read_text()
    assert "def test_registry_matches_the_baseline(semdag_check):" in text
    assert "snapshot" not in text.split('"""')[-1].replace("semdag_check", "")


def test_init_is_safe_to_run_again(adopted):
    root, _ = adopted
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    again = run_cli(["init", str(root)])
    assert again.exit_code == 0, again.stderr
    assert "wrote:" not in again.stdout
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert {p: b for p, b in after.items() if ".semdag" not in p.parts} == {
        p: b for p, b in before.items() if ".semdag" not in p.parts
    }
    assert run_cli(["snapshot", "check", "--project-dir", str(root)]).exit_code == 0


def test_init_names_the_merge_driver_in_the_clone(adopted):
    root, done = adopted
    assert (
        git(root, "config", "--get", "merge.semdag.driver")
        .rstrip()
        .endswith("merge-baselines %O %A %B %P")
    )
    attributes = (root / ".gitattributes").read_text()
    assert "snapshots/*/registry.json merge=semdag" in attributes.splitlines()
    assert "snapshots/*/graph.json merge=semdag" in attributes.splitlines()
    assert "set git's merge driver for the baselines in this clone" in done.stderr


def test_a_config_init_cannot_edit_gets_the_hooks_printed(tmp_path):
    broken = "repos: [\n  - this is: not yaml\n"
    root = repository(tmp_path / "shop", {**REPOSITORY, ".pre-commit-config.yaml": broken})
    done = run_cli(["init", str(root)])
    assert done.exit_code == 0, done.stderr
    assert (root / ".pre-commit-config.yaml").read_text() == broken
    assert ".pre-commit-config.yaml was left as it was (not valid YAML" in done.stderr
    assert "  - repo: local\n    hooks:\n      - id: semdag-validate\n" in done.stderr
    assert "entry: semdag snapshot check --all" in done.stderr


def test_merge_precommit_keeps_an_unindented_layout_and_adds_nothing_twice():
    team = "repos:\n- repo: local\n  hooks:\n  - id: mine  # ours\n    name: mine\n"
    team += "    entry: true\n    language: system\n"
    merged = merge_precommit(team)
    assert merged is not None
    assert merged.startswith("default_install_hook_types: [pre-commit, pre-merge-commit]\n")
    assert "  - id: mine  # ours\n" in merged
    assert "- repo: local\n  hooks:\n  - id: semdag-validate\n" in merged
    assert merge_precommit(merged) is None
    # A config that lists its own hook types keeps them and gains the merge commit's.
    own = "default_install_hook_types: [pre-push]\nrepos: []\n"
    merged = merge_precommit(own)
    assert merged is not None
    assert yaml.safe_load(merged)["default_install_hook_types"] == [
        "pre-push",
        "pre-commit",
        "pre-merge-commit",
    ]


def test_the_config_is_the_first_driver_scripts_even_through_a_name(tmp_path):
    driver = (
        "from hamilton import driver\nfrom pipeline import features\n"
        "config = {'execution': 'normal', 'location': 'data.csv'}\n"
        "dr = driver.Driver(config, features)\n"
    )
    other = driver.replace("normal", "dask")
    write_files(tmp_path, {**REPOSITORY, "run.py": driver, "run_dask.py": other})
    found = find_modules(tmp_path)
    assert found is not None
    assert found.config == {"execution": "normal", "location": "data.csv"}
    assert found.scripts == ("run.py",)


def test_a_stack_that_does_not_build_keeps_its_files_and_says_what_to_run(tmp_path):
    broken = FEATURES.replace(
        "import pandas as pd\n", "import pandas as pd\nimport not_installed\n"
    )
    root = repository(tmp_path / "shop", {**REPOSITORY, "pipeline/features.py": broken})
    done = run_cli(["init", str(root)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[-2:] == [
        "semdag init: error: pipeline/features.py:4: the baselines were not written: module "
        "pipeline.features does not import: ModuleNotFoundError: No module named 'not_installed'",
        "hint: fix it (the stack is in configs/dev.yaml), then run `semdag snapshot update -p dev`",
    ]
    assert (root / "configs/dev.yaml").is_file()
    assert not (root / "snapshots/dev/registry.json").exists()
