"""Profile loading: extends, interpolation, --set, schema errors with file, key and line."""

from __future__ import annotations

import pytest

from semdag.config.profile import apply_set, deep_merge, load_profile
from semdag.config.project import find_project
from semdag.core.errors import ConfigError, UsageError

STACK = "stack:\n  core: [pkg.a]\n"


def load(project_factory, files, name="dev", sets=()):
    root = project_factory(files)
    return load_profile(find_project(explicit=root), name, sets=sets)


def test_extends_list_deep_merges_later_wins(project_factory):
    profile = load(
        project_factory,
        {
            "configs/base.yaml": STACK + "config:\n  a: 1\n  nested: {x: 1, y: 2}\n",
            "configs/extra.yaml": "config:\n  nested: {y: 3}\n  b: 2\n",
            "configs/dev.yaml": "extends: [base.yaml, extra.yaml]\nconfig:\n  a: 9\n",
        },
    )
    assert dict(profile.config) == {"a": 9, "b": 2, "nested": {"x": 1, "y": 3}}
    assert profile.files == ("configs/dev.yaml", "configs/base.yaml", "configs/extra.yaml")


def test_interpolation_with_default_and_type(project_factory, monkeypatch):
    monkeypatch.setenv("SEMDAG_T_MODE", "strict")
    monkeypatch.delenv("SEMDAG_T_TASKS", raising=False)
    profile = load(
        project_factory,
        {
            "configs/dev.yaml": STACK
            + "config:\n  mode: ${SEMDAG_T_MODE}\n  label: run-${SEMDAG_T_MODE}\n"
            "execution:\n  max_tasks: ${SEMDAG_T_TASKS:-4}\n",
        },
    )
    assert profile.config["mode"] == "strict"
    assert profile.config["label"] == "run-strict"
    assert profile.execution.max_tasks == 4
    assert profile.env_used == {"SEMDAG_T_MODE": "strict", "SEMDAG_T_TASKS": None}


def test_unset_variable_names_file_key_line(project_factory, monkeypatch):
    monkeypatch.delenv("SEMDAG_T_MISSING", raising=False)
    with pytest.raises(ConfigError) as info:
        load(project_factory, {"configs/dev.yaml": STACK + "config:\n  k: ${SEMDAG_T_MISSING}\n"})
    assert info.value.file == "configs/dev.yaml"
    assert info.value.line == 4
    assert "config.k" in info.value.message and "SEMDAG_T_MISSING" in info.value.message


def test_set_parses_yaml_and_keeps_dotted_config_keys(project_factory):
    profile = load(
        project_factory,
        {"configs/dev.yaml": STACK},
        sets=[
            "outputs=[a, b]",
            "config.hamilton.enable_power_user_mode=true",
            "execution.max_tasks=3",
        ],
    )
    assert profile.outputs == ("a", "b")
    assert profile.config == {"hamilton.enable_power_user_mode": True}
    assert profile.execution.max_tasks == 3


def test_set_type_errors_are_blamed_on_the_command_line(project_factory):
    # The value came from --set, not from configs/dev.yaml: the error says so.
    with pytest.raises(UsageError, match="^--set execution.max_tasks=many: expected an integer"):
        load(project_factory, {"configs/dev.yaml": STACK}, sets=["execution.max_tasks=many"])


def test_set_into_scalar_is_usage_error():
    with pytest.raises(UsageError, match="outputs is not a mapping"):
        apply_set({"outputs": []}, "outputs.x=1")


def test_layer_policy_defaults_and_explicit(project_factory):
    profile = load(
        project_factory,
        {
            "configs/dev.yaml": "stack:\n  core: [pkg.a]\n  patches: [pkg.b]\n"
            "  overrides: [pkg.c]\n"
            "layers:\n  patches: {allow_overrides: true}\n",
        },
    )
    assert [(lyr.name, lyr.allow_overrides) for lyr in profile.layers] == [
        ("core", False),
        ("patches", True),
        ("overrides", True),
    ]


def test_layers_naming_unknown_layer(project_factory):
    with pytest.raises(
        ConfigError, match="layers.hotfix: names a layer that the stack does not have"
    ):
        load(
            project_factory,
            {"configs/dev.yaml": STACK + "layers:\n  hotfix: {allow_overrides: true}\n"},
        )


def test_duplicate_key_is_an_error(project_factory):
    with pytest.raises(ConfigError) as info:
        load(project_factory, {"configs/dev.yaml": STACK + "config: {}\nconfig: {}\n"})
    assert "duplicate key config" in info.value.message
    assert info.value.line == 4


def test_rules_severity_vocabulary(project_factory):
    with pytest.raises(ConfigError, match="rules.cycle: expected one of"):
        load(project_factory, {"configs/dev.yaml": STACK + "rules:\n  cycle: fatal\n"})


def test_deep_merge_replaces_lists():
    assert deep_merge({"a": [1, 2], "m": {"x": 1}}, {"a": [3], "m": {"y": 2}}) == {
        "a": [3],
        "m": {"x": 1, "y": 2},
    }


def test_pyproject_settings(project_factory):
    root = project_factory(
        {
            "pyproject.toml": '[tool.semdag]\nconfigs_dir = "profiles"\ndefault_profile = "ci"\n',
            "profiles/ci.yaml": STACK,
        }
    )
    project = find_project(start=root / "profiles")
    assert project.root == root.resolve()
    assert load_profile(project).name == "ci"


def test_pyproject_unknown_key(project_factory):
    root = project_factory(
        {"pyproject.toml": '[tool.semdag]\nconfig_dir = "x"\n', "configs/dev.yaml": STACK}
    )
    with pytest.raises(ConfigError, match="unknown key tool.semdag.config_dir"):
        find_project(explicit=root)
