"""Typos and YAML 1.1 in profiles: every name looked up is checked, near matches suggested,
and one mistake gives one message at the profile line that made it."""

from __future__ import annotations

import json

import pytest

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.core.errors import ConfigError, UsageError
from tests.conftest import run_cli

STACK = "stack:\n  core: [pkg.a]\n"


def load(project_factory, files, name="dev", sets=()):
    root = project_factory(files)
    return load_profile(find_project(explicit=root), name, sets=sets)


@pytest.mark.parametrize("word", ["off", "Off", "no", "false"])
def test_an_unquoted_off_is_the_severity_off(project_factory, word):
    profile = load(
        project_factory, {"configs/dev.yaml": STACK + f"rules: {{code-changed: {word}}}\n"}
    )
    assert dict(profile.rules) == {"code-changed": "off"}
    profile = load(
        project_factory, {"configs/dev.yaml": STACK}, sets=[f"rules.code-changed={word}"]
    )
    assert dict(profile.rules) == {"code-changed": "off"}


def test_an_unquoted_on_is_refused_with_the_reason(project_factory):
    with pytest.raises(ConfigError) as info:
        load(project_factory, {"configs/dev.yaml": STACK + "rules: {code-changed: on}\n"})
    assert info.value.line == 3
    assert "got a boolean (YAML reads an unquoted on, yes or true as true)" in info.value.message


@pytest.mark.parametrize(
    ("text", "sets", "line", "expected"),
    [
        (
            STACK + "rules:\n  dtype-chnged: error\n",
            (),
            4,
            "rules.dtype-chnged: unknown rule id (did you mean: dtype-changed",
        ),
        ("stak:\n  core: [pkg.a]\n", (), 1, "stak: unknown key (did you mean: stack?)"),
        (
            "extends: bse.yaml\n",
            (),
            1,
            "extends: bse.yaml does not exist (did you mean: base.yaml?)",
        ),
        (
            STACK + "registry:\n  requird_tags: [a]\n",
            (),
            4,
            "registry.requird_tags: unknown key (did you mean: required_tags?)",
        ),
    ],
)
def test_names_in_a_profile_suggest_near_matches(project_factory, text, sets, line, expected):
    files = {"configs/base.yaml": STACK, "configs/dev.yaml": text}
    with pytest.raises(ConfigError) as info:
        load(project_factory, files, sets=sets)
    assert info.value.file == "configs/dev.yaml"
    assert info.value.line == line
    assert info.value.message.startswith(expected)


def test_a_set_path_that_names_no_key_suggests_near_matches(project_factory):
    with pytest.raises(UsageError) as info:
        load(project_factory, {"configs/dev.yaml": STACK}, sets=["confg.x=1"])
    assert info.value.message == "--set confg.x=1: unknown key (did you mean: config?)"
    with pytest.raises(UsageError) as info:
        load(project_factory, {"configs/dev.yaml": STACK}, sets=["rules.code-chnged=off"])
    assert info.value.message.startswith(
        "--set rules.code-chnged=off: unknown rule id (did you mean: code-changed"
    )


MODULE = """
from hamilton.function_modifiers import tag


@tag(layer="semantic", semantic_id="shop.a.v1", entity="shop", grain="all", dtype="int",
     version="1")
def a() -> int:
    return 1


@tag(layer="semantic", semantic_id="shop.b.v1", entity="shop", grain="all", dtype="strr",
     version="1")
def b() -> str:
    return "b"


@tag(layer="semantic", semantic_id="shop.c.v1")
def c() -> int:
    return 3
"""


def project(project_factory, profile: str):
    return project_factory(
        {"pkg/__init__.py": "", "pkg/shop.py": MODULE, "configs/dev.yaml": profile}
    )


def test_one_finding_per_cause_each_at_its_place(project_factory):
    root = project(
        project_factory,
        STACK.replace("pkg.a", "pkg.shop")
        + "registry:\n  required_tags: [semantic_id, entity, grain, dtype, versoin]\n",
    )
    done = run_cli(["validate", "-f", "json", "--project-dir", str(root)])
    assert done.exit_code == 1, done.stderr
    assert done.stderr == ""
    found = json.loads(done.stdout)["data"]["findings"]
    summary = [(f["rule"], f["subject"], f["file"], f["line"]) for f in found]
    assert summary == [
        ("invalid-tag-value", "shop.b.v1", "pkg/shop.py", 10),
        ("missing-required-tag", "shop.c.v1", "pkg/shop.py", 16),
        ("missing-required-tag", "versoin", "configs/dev.yaml", 4),
    ]
    messages = [f["message"] for f in found]
    assert messages[0].startswith(
        "b: dtype 'strr' is not in the vocabulary (did you mean: str, string?)"
    )
    assert messages[1] == "c has no 'entity', 'grain', 'dtype' tags"
    assert messages[2] == (
        "registry.required_tags: no semantic node has a 'versoin' tag "
        "(did you mean: version?) (3 nodes lack it)"
    )


@pytest.mark.parametrize(
    ("stack", "sets", "expected"),
    [
        ("[pkg.shop, pkg.shp]", [], "configs/dev.yaml:2: module pkg.shp not found"),
        ("\n    - pkg.shop\n    - pkg/nope.py", [], "configs/dev.yaml:4: module file not found"),
        (
            "[pkg.shop]",
            ["--set", "stack.core=[pkg.zz]"],
            "--set stack.core=[pkg.zz]: module pkg.zz",
        ),
    ],
)
def test_a_missing_stack_module_is_blamed_on_the_profile(project_factory, stack, sets, expected):
    root = project(project_factory, f"stack:\n  core: {stack}\n")
    done = run_cli(["validate", *sets, "--project-dir", str(root)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"semdag validate: error: {expected}")


def test_ls_that_matches_nothing_says_so(project_factory):
    root = project(project_factory, STACK.replace("pkg.a", "pkg.shop"))
    done = run_cli(["ls", "--tag", "entity=shp", "--project-dir", str(root)])
    assert done.exit_code == 0
    assert done.stdout == ""
    assert done.stderr == (
        "no node matches --tag entity=shp (tag entity has the values shop (did you mean: shop?))\n"
    )
    done = run_cli(["ls", "--tag", "entity=shp", "-f", "json", "--project-dir", str(root)])
    assert (done.exit_code, json.loads(done.stdout)["data"], done.stderr) == (0, [], "")
    done = run_cli(["ls", "--tag", "entity=shop", "--project-dir", str(root)])
    assert done.exit_code == 0
    assert "shop.a.v1" in done.stdout and "shop.c.v1" not in done.stdout
    assert done.stderr == "2 of 3 nodes\n"


def test_a_layer_policy_for_a_layer_the_stack_lacks_suggests_near_matches(project_factory):
    text = "stack:\n  overrides: [pkg.a]\nlayers:\n  overide: {allow_overrides: true}\n"
    with pytest.raises(ConfigError) as info:
        load(project_factory, {"configs/dev.yaml": text})
    assert (info.value.file, info.value.line) == ("configs/dev.yaml", 4)
    assert info.value.message == (
        "layers.overide: names a layer that the stack does not have "
        "(did you mean: overrides?) (stack layers: overrides)"
    )


def test_ls_with_an_unknown_layer_suggests_near_matches(project_factory):
    root = project(project_factory, STACK.replace("pkg.a", "pkg.shop"))
    done = run_cli(["ls", "--layer", "cor", "--project-dir", str(root)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert "error: unknown layer 'cor' (did you mean: core?) (layers: core)" in done.stderr


def test_cache_findings_carry_a_place(project_factory):
    root = project(
        project_factory,
        STACK.replace("pkg.a", "pkg.shop") + "cache:\n  ignore: [a]\n",
    )
    done = run_cli(["validate", "-f", "json", "--project-dir", str(root)])
    found = [
        f for f in json.loads(done.stdout)["data"]["findings"] if f["rule"].startswith("cache")
    ]
    assert [(f["rule"], f["file"], f["line"]) for f in found] == [
        ("cache-ignore-stale", "configs/dev.yaml", 4)
    ]


def test_a_severity_or_executor_near_a_known_one_is_suggested(project_factory):
    with pytest.raises(UsageError) as info:
        load(project_factory, {"configs/dev.yaml": STACK}, sets=["rules.code-changed=warn"])
    assert info.value.message.endswith("got 'warn' (did you mean: warning?)")
    with pytest.raises(ConfigError) as config_info:
        load(project_factory, {"configs/dev.yaml": STACK + "execution: {executor: thread}\n"})
    assert config_info.value.message.endswith("got 'thread' (did you mean: threads?)")
