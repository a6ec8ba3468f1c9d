"""A change inside a ``@subdag``'s functions is a code change of the node it builds."""

from __future__ import annotations

import json

from tests.conftest import run_cli

INNER = """
def doubled(x: int) -> int:
    return x * 2


def result(doubled: int) -> int:
    return doubled + 1
"""

OUTER = """
from hamilton.function_modifiers import source, subdag, tag

from p import inner


@tag(layer="semantic", semantic_id="s.total.v1", entity="s", grain="all", dtype="int",
     version="1")
@subdag(inner, inputs={"x": source("seed")})
def total(result: int) -> int:
    return result


def seed() -> int:
    return 3
"""


def test_a_change_inside_a_subdag_is_code_changed_of_its_node(project_factory):
    root = project_factory(
        {
            "p/__init__.py": "",
            "p/inner.py": INNER,
            "p/m.py": OUTER,
            "configs/dev.yaml": "stack:\n  core: [p.m]\n",
        }
    )
    assert run_cli(["snapshot", "update", "--project-dir", str(root)]).exit_code == 0
    inner = root / "p" / "inner.py"
    inner.write_text(inner.read_text().replace("x * 2", "x * 3"))
    done = run_cli(["snapshot", "check", "-f", "json", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    found = json.loads(done.stdout)["data"]["comparisons"][0]["findings"]
    assert [(f["rule"], f["subject"], f["severity"]) for f in found] == [
        ("graph-changed", "(graph)", "info"),
        ("code-changed", "s.total.v1", "warning"),
    ]
