"""Layered stacks: the override ledger and the override policy."""

from __future__ import annotations

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.hamilton.build import build
from semdag.hamilton.model import model_from_build
from tests.conftest import run_cli

CORE = '''
def base() -> float:
    """Base."""
    return 1.0


def weight() -> float:
    """Weight."""
    return 2.0


def score(base: float, weight: float) -> float:
    """Score."""
    return base * weight
'''
PLUGIN = '''
def weight() -> float:
    """Plugin weight."""
    return 3.0


def extra(score: float) -> float:
    """Extra."""
    return score + 1
'''
HOTFIX = '''
def weight() -> float:
    """Hotfix weight."""
    return 5.0


def base() -> float:
    """Hotfix base."""
    return 10.0
'''


def three_layers(project_factory, policy=""):
    return project_factory(
        {
            "stk/__init__.py": "",
            "stk/core.py": CORE,
            "stk/plugin.py": PLUGIN,
            "stk/hotfix.py": HOTFIX,
            "configs/dev.yaml": "stack:\n  core: [stk.core]\n  plugins: [stk.plugin]\n"
            "  overrides: [stk.hotfix]\n" + policy,
        }
    )


def test_three_layer_ledger_records_each_override(project_factory):
    root = three_layers(project_factory, "layers:\n  plugins: {allow_overrides: true}\n")
    project = find_project(explicit=root)
    result = build(project, load_profile(project, "dev"))
    rows = [
        (e.node, e.defined.layer, e.defined.module, e.overridden_by.layer, e.overridden_by.module)
        for e in result.ledger
    ]
    assert rows == [
        ("base", "core", "stk.core", "overrides", "stk.hotfix"),
        ("weight", "core", "stk.core", "plugins", "stk.plugin"),
        ("weight", "plugins", "stk.plugin", "overrides", "stk.hotfix"),
    ]
    assert result.ledger[0].defined.where() == "stk/core.py:1"
    assert result.conflicts == ()
    # The last layer's definition is the one that runs.
    assert result.driver.execute(["score"])["score"] == 50.0
    graph = model_from_build(result)
    assert graph.nodes["weight"].layer == "overrides"
    assert graph.nodes["extra"].layer == "plugins"


def test_override_outside_override_layer_is_a_finding(project_factory):
    root = three_layers(project_factory)
    result = run_cli(["validate", "--project-dir", str(root), "-f", "json"])
    assert result.exit_code == 1
    findings = result.json()["data"]["findings"]
    assert [(f["rule"], f["subject"], f["file"], f["line"]) for f in findings] == [
        ("override-not-allowed", "weight", "stk/plugin.py", 1)
    ]
    assert "stk.core (stk/core.py:6, layer core)" in findings[0]["message"]


def test_build_prints_ledger(project_factory):
    root = three_layers(project_factory, "layers:\n  plugins: {allow_overrides: true}\n")
    result = run_cli(["build", "--project-dir", str(root), "-f", "json"])
    assert result.exit_code == 0
    data = result.json()["data"]
    assert data["counts"] == {"nodes": 4, "semantic": 0, "inputs": 0, "config": 0}
    assert [(r["node"], r["overridden_layer"]) for r in data["ledger"]] == [
        ("base", "overrides"),
        ("weight", "plugins"),
        ("weight", "overrides"),
    ]
    text = run_cli(["build", "--project-dir", str(root)])
    assert "override ledger" in text.stdout and "stk.hotfix" in text.stdout


def test_config_key_shadowing_node_warns(project_factory):
    root = three_layers(
        project_factory, "layers:\n  plugins: {allow_overrides: true}\nconfig:\n  extra: 1\n"
    )
    result = run_cli(["build", "--project-dir", str(root)])
    assert result.exit_code == 0
    assert "config-shadows-node" in result.stderr and "'extra'" in result.stderr


def test_module_by_path(project_factory):
    root = project_factory(
        {
            "lib/nodes.py": "def n() -> int:\n    return 1\n",
            "configs/dev.yaml": "stack:\n  core: [lib/nodes.py]\n",
        }
    )
    result = run_cli(["ls", "--project-dir", str(root), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert [(r["name"], r["module"]) for r in result.json()["data"]] == [("n", "lib.nodes")]
