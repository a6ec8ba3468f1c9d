"""Build errors and type findings carry the file and line of the node or profile key."""

from __future__ import annotations

import json

from tests.conftest import run_cli

MISMATCH = """
def a() -> int:
    return 1


def b(a: str) -> str:
    return a
"""

ANNOTATION = """
from __future__ import annotations

import pandas as pd


def fine() -> int:
    return 1


def c(fine: int) -> pd.Seires:
    return fine
"""


def project(project_factory, module: str, profile: str = ""):
    return project_factory(
        {
            "p/__init__.py": "",
            "p/m.py": module,
            "configs/dev.yaml": "stack:\n  core: [p.m]\n" + profile,
        }
    )


def test_a_type_mismatch_between_nodes_names_the_function_file_and_line(project_factory):
    root = project(project_factory, MISMATCH)
    done = run_cli(["validate", "--project-dir", str(root)])
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == (
        "semdag validate: error: p/m.py:5: type-mismatch: b expects a: str, but node a is int\n"
    )
    done = run_cli(["validate", "-f", "json", "--project-dir", str(root)])
    assert done.exit_code == 1
    (error,) = json.loads(done.stdout)["errors"]
    assert (error["code"], error["file"], error["line"]) == ("type-mismatch", "p/m.py", 5)


def test_an_annotation_typo_names_the_function_file_and_line(project_factory):
    root = project(project_factory, ANNOTATION)
    done = run_cli(["validate", "--project-dir", str(root)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr == (
        "semdag validate: error: p/m.py:10: the type annotations of c do not evaluate: "
        "AttributeError: module 'pandas' has no attribute 'Seires'\n"
    )


def test_an_input_of_the_wrong_type_is_found_at_its_profile_line(project_factory):
    root = project(project_factory, "def x(n: int) -> int:\n    return n\n", "inputs:\n  n: hi\n")
    done = run_cli(["validate", "-f", "json", "--project-dir", str(root)])
    assert done.exit_code == 1, done.stderr
    (found,) = json.loads(done.stdout)["data"]["findings"]
    assert found["rule"] == "type-mismatch"
    assert (found["file"], found["line"]) == ("configs/dev.yaml", 4)
    assert found["message"] == "input 'n' must be int, got str 'hi'"
