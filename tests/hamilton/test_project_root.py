"""Project code runs in the project root, whatever the working directory; and only semdag
speaks unless --debug asks for the libraries' own logs."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_files

FLOW = """
import os
from pathlib import Path

import pandas as pd

# Read at import: relative to the project root too.
UNITS = Path("data/units.txt").read_text().strip()


def orders(orders_path: str) -> pd.DataFrame:
    return pd.read_csv(orders_path)


def revenue(orders: pd.DataFrame) -> float:
    return float(orders["qty"].sum()) * 2.5


def units() -> str:
    return UNITS


def workdir() -> str:
    return os.getcwd()
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "shop",
        {
            "configs/dev.yaml": """
                stack:
                  core: [modules.core.flow]
                inputs:
                  orders_path: data/orders.csv
                outputs: [revenue, units, workdir]
            """,
            "modules/__init__.py": "",
            "modules/core/__init__.py": "",
            "modules/core/flow.py": FLOW,
            "data/orders.csv": "qty\n1\n3\n",
            "data/units.txt": "EUR\n",
        },
    )


def outputs(done) -> dict:
    assert done.exit_code == 0, done.stderr
    return {k: v["value"] for k, v in done.json()["data"]["outputs"].items()}


@pytest.mark.parametrize("where", ["root", "modules/core", "elsewhere"])
def test_relative_paths_in_profiles_and_code_mean_the_same_from_anywhere(shop, tmp_path, where):
    cwd = {"root": shop, "modules/core": shop / "modules/core", "elsewhere": tmp_path}[where]
    args = ["execute", "-f", "json"] + (
        ["--project-dir", str(shop)] if where == "elsewhere" else []
    )
    before = os.getcwd()
    values = outputs(run_cli(args, cwd=cwd))
    assert values == {"revenue": 10.0, "units": "EUR", "workdir": str(shop.resolve())}
    assert os.getcwd() == before  # in-process callers get their directory back


def test_paths_typed_on_the_command_line_stay_relative_to_where_you_are(shop):
    here = shop / "modules/core"
    done = run_cli(["execute", "--out", "results", "--output", "revenue"], cwd=here)
    assert done.exit_code == 0, done.stderr
    assert json.loads((here / "results/revenue.json").read_text()) == 10.0
    assert not (shop / "results").exists()
    assert done.stdout.splitlines()[0].startswith("results/revenue.json")


def test_project_code_sees_the_root_also_when_the_build_fails(shop):
    (shop / "data/units.txt").unlink()
    done = run_cli(["validate"], cwd=shop / "modules")
    assert done.exit_code == 2
    assert "module modules.core.flow does not import: FileNotFoundError" in done.stderr


# --- only semdag speaks ------------------------------------------------------------------------

BROKEN = """
import pandas as pd


def table() -> pd.DataFrame:
    return pd.DataFrame({"a": [1]})


def untyped(table: pd.DataFrame, factor) -> pd.DataFrame:
    return table
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "broken",
        {"configs/dev.yaml": "stack:\n  core: [broken_flow]\n", "broken_flow.py": BROKEN},
    )


def test_a_build_error_is_one_line_without_debug(broken):
    hamilton = logging.getLogger("hamilton")
    level = hamilton.level
    done = run_cli(["build", "--project-dir", str(broken)])
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "semdag build: error: broken_flow.py:8: Hamilton could not build the graph (while "
        "building untyped): ValueError: Missing type hint for factor in function untyped. "
        "Please add one to fix."
    ]
    assert hamilton.level == level  # restored for whoever runs next


def test_a_type_mismatch_is_reported_without_hamilton_banner(broken):
    (broken / "broken_flow.py").write_text(
        "def a() -> str:\n    return 'x'\n\n\ndef b(a: int) -> int:\n    return a\n"
    )
    done = run_cli(["build", "--project-dir", str(broken)])
    assert done.exit_code == 1
    assert "Oh no" not in done.stderr and "slack" not in done.stderr
    assert done.stderr.splitlines() == [
        "semdag build: error: broken_flow.py:5: type-mismatch: b expects a: int, but node a is str"
    ]


def test_debug_shows_the_libraries_logs(broken):
    done = run_cli(["build", "--project-dir", str(broken), "--debug"])
    assert done.exit_code == 2
    assert "Exception occurred while compiling function: untyped" in done.stderr
    assert "Traceback" in done.stderr
