"""Profiles and ``@config.when``: inputs of variants left out, removing inherited keys, and a
config value that selects no variant."""

from __future__ import annotations

import json

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from tests.conftest import run_cli

ORDERS = """
import pandas as pd
from hamilton.function_modifiers import config, tag


@config.when(orders_source="csv")
def orders_raw__csv(orders_path: str) -> pd.DataFrame:
    return pd.read_csv(orders_path)


@config.when_in(orders_source=["synthetic", "demo"])
def orders_raw__synthetic(n_orders: int) -> pd.DataFrame:
    return pd.DataFrame({"id": range(n_orders)})


@tag(layer="semantic", semantic_id="orders.count.v1", entity="order", grain="all",
     dtype="int", version="1")
def order_count(orders_raw: pd.DataFrame) -> int:
    return len(orders_raw)
"""

FILES = {
    "mods/__init__.py": "",
    "mods/orders.py": ORDERS,
    "data/orders.csv": "id\n1\n2\n",
    "configs/dev.yaml": """
        stack:
          core: [mods.orders]
        config:
          orders_source: csv
        inputs:
          orders_path: data/orders.csv
          n_orders: 4
        """,
    "configs/synthetic.yaml": """
        extends: dev.yaml
        config:
          orders_source: synthetic
        inputs:
          orders_path: null
        """,
    "configs/typo.yaml": """
        extends: dev.yaml
        config:
          orders_source: cvs
        """,
}


def test_an_input_only_an_unselected_variant_takes_is_not_an_error(project_factory):
    root = project_factory(FILES)
    for sets in ([], ["--set", "config.orders_source=synthetic"]):
        done = run_cli(["validate", *sets, "--project-dir", str(root)])
        assert done.exit_code == 0, done.stderr
        assert done.stdout.strip() == "validate dev: no findings"
        assert done.stderr == ""
    done = run_cli(["execute", "--set", "config.orders_source=demo", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    assert "order_count  int   4" in done.stdout


def test_a_profile_removes_an_inherited_input_with_null(project_factory):
    root = project_factory(FILES)
    profile = load_profile(find_project(explicit=root), "synthetic")
    assert dict(profile.inputs) == {"n_orders": 4}
    assert profile.config["orders_source"] == "synthetic"
    profile = load_profile(find_project(explicit=root), "dev", sets=["inputs.n_orders=null"])
    assert dict(profile.inputs) == {"orders_path": "data/orders.csv"}
    done = run_cli(["execute", "-p", "synthetic", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    assert "order_count  int   4" in done.stdout


def test_a_typo_among_inputs_is_still_refused(project_factory):
    root = project_factory(
        {**FILES, "configs/dev.yaml": FILES["configs/dev.yaml"] + "  n_order: 1\n"}
    )
    done = run_cli(["validate", "--project-dir", str(root)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert "configs/dev.yaml:8: no node takes an input 'n_order' (did you mean: n_orders?)" in (
        done.stderr
    )


def test_a_config_value_that_selects_no_variant_names_node_variants_and_values(project_factory):
    root = project_factory(FILES)
    expected = (
        "config orders_source='cvs' selects no variant of node orders_raw (needed by "
        "order_count); its variants: orders_raw__csv (orders_source=csv), "
        "orders_raw__synthetic (orders_source in [synthetic, demo])"
    )
    done = run_cli(["validate", "-p", "typo", "--project-dir", str(root)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert f"error: configs/typo.yaml:3: {expected}" in done.stderr
    done = run_cli(["ls", "--set", "config.orders_source=cvs", "--project-dir", str(root)])
    assert done.exit_code == 2
    assert f"error: --set config.orders_source=cvs: {expected}" in done.stderr


def test_a_node_no_variant_of_which_is_selected_says_which_config_key_selects_one(
    project_factory,
):
    root = project_factory(
        {**FILES, "configs/dev.yaml": "stack:\n  core: [mods.orders]\ninputs:\n  n_orders: 2\n"}
    )
    done = run_cli(["validate", "-f", "json", "--project-dir", str(root)])
    assert done.exit_code == 1, done.stderr
    (found,) = json.loads(done.stdout)["data"]["findings"]
    assert (found["rule"], found["subject"], found["file"]) == (
        "missing-input",
        "orders_raw",
        "configs/dev.yaml",
    )
    assert found["message"] == (
        "input 'orders_raw' is required by order_count and has no value (no variant is "
        "selected: set config orders_source; its variants: orders_raw__csv "
        "(orders_source=csv), orders_raw__synthetic (orders_source in [synthetic, demo]))"
    )
