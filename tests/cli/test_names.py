"""Names a user types: typos caught with near matches, values blamed on where they were given,
semantic ids accepted wherever a node name is, and one meaning of "semantic"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.shop import make_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("names") / "shop")


def cli(root: Path, *args: str):
    return run_cli([*args, "--project-dir", str(root)])


# --- typos are errors with near matches ---------------------------------------------------------


@pytest.mark.parametrize("command", [["execute", "--output", "revenue"], ["validate"]])
def test_an_unknown_input_on_the_command_line_is_a_usage_error(shop, command):
    done = cli(shop, *command, "--input", "unit_pric=3")
    assert done.exit_code == 2
    assert done.stdout == ""
    assert (
        "error: --input unit_pric: no node takes an input 'unit_pric' "
        "(did you mean: unit_price?)" in done.stderr
    )
    assert "hint: the graph's inputs: quantities, unit_price" in done.stderr


def test_an_unknown_input_set_on_the_command_line_is_blamed_on_the_set(shop):
    done = cli(shop, "execute", "--output", "revenue", "--set", "inputs.order_path=x", "-f", "json")
    assert done.exit_code == 2
    (error,) = done.json()["errors"]
    assert error["message"] == "--set inputs.order_path=x: no node takes an input 'order_path'"
    assert error["file"] is None


def test_an_unknown_input_in_the_profile_names_its_file_and_line(shop):
    (shop / "configs/typo.yaml").write_text(
        "extends: dev.yaml\ninputs:\n  unit_prise: 3.0\n", encoding="utf-8"
    )
    done = cli(shop, "validate", "-p", "typo")
    assert done.exit_code == 2
    assert (
        "error: configs/typo.yaml:3: no node takes an input 'unit_prise' "
        "(did you mean: unit_price" in done.stderr
    )


def test_a_computed_node_given_as_an_input_says_to_override_it(shop):
    done = cli(shop, "execute", "--output", "doubled", "--input", "revenue=3")
    assert done.exit_code == 2
    assert "--input revenue: 'revenue' is computed by the graph, not an input" in done.stderr
    assert "--override revenue=VALUE" in done.stderr


@pytest.mark.parametrize("command", [["ls"], ["render"]])
def test_a_tag_key_no_node_has_is_a_usage_error(shop, command):
    done = cli(shop, *command, "--tag", "ownr=shop")
    assert done.exit_code == 2
    assert "--tag ownr: no node has a tag 'ownr' (did you mean: owner?)" in done.stderr
    # A known key with a value nobody has is an empty list, said so with the values it has.
    done = cli(shop, "ls", "--tag", "owner=nobody")
    assert (done.exit_code, done.stdout) == (0, "")
    assert done.stderr == (
        "no node matches --tag owner=nobody (tag owner has the values finance, shop)\n"
    )


def test_a_misspelt_profile_suggests_the_near_one(shop):
    done = cli(shop, "validate", "-p", "prdo")
    assert done.exit_code == 2
    assert "unknown profile 'prdo' (did you mean: prod?)" in done.stderr


# --- values are blamed on where they were given -------------------------------------------------


def test_a_set_key_is_blamed_on_the_command_line_not_the_profile(shop):
    done = cli(shop, "validate", "--set", "input.x=1")
    assert done.exit_code == 2
    assert "error: --set input.x=1: unknown key (did you mean: inputs?)" in done.stderr
    assert "configs/dev.yaml" not in done.stderr


def test_an_input_of_the_wrong_type_is_blamed_on_the_command_line(shop):
    done = cli(shop, "execute", "--output", "revenue", "--input", "unit_price=abc")
    assert done.exit_code == 2
    assert (
        "error: --input unit_price: input 'unit_price' must be float, got str 'abc'" in done.stderr
    )
    assert "configs/dev.yaml" not in done.stderr


def test_a_profile_input_of_the_wrong_type_names_its_line(shop):
    (shop / "configs/badtype.yaml").write_text(
        "extends: dev.yaml\ninputs:\n  unit_price: cheap\n", encoding="utf-8"
    )
    done = cli(shop, "execute", "-p", "badtype", "--output", "revenue")
    assert done.exit_code == 2
    assert "error: configs/badtype.yaml:3: input 'unit_price' must be float" in done.stderr


# --- semantic ids are accepted wherever a node name is ------------------------------------------


def test_show_takes_a_semantic_id(shop):
    done = cli(shop, "show", "store.revenue.v1", "-f", "json")
    assert done.exit_code == 0, done.stderr
    data = done.json()["data"]
    assert data["name"] == "revenue"
    assert data["dependents"] == ["doubled"]
    assert data["registry_entry"]["semantic_id"] == "store.revenue.v1"


def test_execute_and_export_take_a_semantic_id(shop):
    done = cli(shop, "execute", "--output", "store.revenue.v1", "-f", "json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["data"]["outputs"]["revenue"]["value"] == 7.5
    exported = cli(shop, "export", "--output", "store.units.v1", "-f", "json")
    assert exported.exit_code == 0, exported.stderr
    assert exported.json()["data"]["outputs"] == ["units"]


@pytest.mark.parametrize(
    "selector",
    [
        ["--upstream-of", "store.revenue.v1"],
        ["--downstream-of", "store.units.v1"],
        ["--path", "store.units.v1", "store.revenue.v1"],
    ],
)
def test_render_selectors_take_a_semantic_id(shop, selector):
    done = cli(shop, "render", *selector)
    assert done.exit_code == 0, done.stderr
    assert '"node:revenue" [class="semantic"' in done.stdout
    assert "render: " in done.stderr


def test_materializer_dependencies_take_a_semantic_id(shop):
    (shop / "configs/saved.yaml").write_text(
        "extends: dev.yaml\nmaterializers:\n  - id: revenue_json\n    to: json\n"
        "    dependencies: [store.revenue.v1, units]\n    path: out/revenue.json\n",
        encoding="utf-8",
    )
    done = cli(shop, "materialize", "-p", "saved", "--dry-run", "-f", "json")
    assert done.exit_code == 0, done.stderr
    (spec,) = done.json()["data"]["materializers"]
    assert spec["dependencies"] == ["revenue", "units"]


def test_an_unknown_name_suggests_node_names_and_semantic_ids(shop):
    done = cli(shop, "show", "store.revenu.v1")
    assert done.exit_code == 2
    assert "unknown node 'store.revenu.v1' (did you mean: store.revenue.v1" in done.stderr


# --- "semantic" means what the registry means ---------------------------------------------------


def test_semantic_counts_ls_and_render_agree_with_the_registry(shop):
    registry = cli(shop, "registry", "-p", "loose", "-f", "json").json()["data"]
    assert sorted(registry["entries"]) == ["store.revenue.v1", "store.units.v1"]
    build = cli(shop, "build", "-p", "loose", "-f", "json").json()["data"]
    assert build["counts"]["semantic"] == 2
    listed = cli(shop, "ls", "-p", "loose", "--semantic", "-f", "json").json()["data"]
    assert [row["name"] for row in listed] == ["revenue", "units"]
    dot = cli(shop, "render", "-p", "loose").stdout
    semantic = [line for line in dot.splitlines() if 'class="semantic' in line]
    assert any('"node:revenue"' in line for line in semantic)
    assert not any('"node:margin"' in line for line in semantic)


def test_validate_flags_a_node_tagged_for_the_registry_without_a_semantic_id(shop):
    done = cli(shop, "validate", "-p", "loose", "-f", "json")
    assert done.exit_code == 1
    findings = json.loads(done.stdout)["data"]["findings"]
    (found,) = [f for f in findings if f["subject"] == "margin"]
    assert found["rule"] == "missing-required-tag"
    assert found["severity"] == "error"
    assert found["message"] == (
        "margin is tagged layer=semantic but has no semantic_id: the registry leaves it out"
    )
    assert found["file"] == "shop_mods/extra.py" and found["line"] > 0
