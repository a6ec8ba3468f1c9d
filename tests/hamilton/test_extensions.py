"""Hamilton's extensions are loaded for the libraries the stack imports, and only those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.hamilton.extensions import imported_names
from semdag.hamilton.stack import stack_sources
from tests.conftest import write_files

# Prints, after `semdag ls`, which libraries were imported and which extensions Hamilton has.
PROBE = """
import json, sys
from semdag.cli import app
try:
    app(["ls", "--no-build-cache", "-f", "json"], prog_name="semdag")
except SystemExit:
    pass
from hamilton import registry
print(json.dumps({
    "modules": sorted(m for m in ("dask", "polars") if m in sys.modules),
    "extensions": sorted(registry.DF_TYPE_AND_COLUMN_TYPES),
}), file=sys.stderr)
"""


def probe(root: Path, **env: str) -> dict[str, list[str]]:
    clean = {k: v for k, v in os.environ.items() if k != "HAMILTON_AUTOLOAD_EXTENSIONS"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=root,
        capture_output=True,
        text=True,
        env={**clean, "HOME": str(root), **env},
        timeout=120,
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def project(tmp_path: Path, code: str) -> Path:
    return write_files(
        tmp_path,
        {
            "pyproject.toml": "[tool.semdag]\n",
            "configs/dev.yaml": "stack:\n  core: [pkg.core]\n",
            "pkg/__init__.py": "",
            "pkg/core.py": code,
        },
    )


PANDAS_ONLY = """
import pandas as pd

def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1]})
"""

USES_POLARS = """
from pkg.helpers import make

def frame() -> int:
    return make()
"""


def test_a_stack_that_does_not_import_a_library_does_not_load_it(tmp_path: Path) -> None:
    found = probe(project(tmp_path, PANDAS_ONLY))
    assert found["modules"] == []
    assert "pandas" in found["extensions"]
    assert "dask" not in found["extensions"] and "polars" not in found["extensions"]


def test_a_library_imported_anywhere_in_the_stack_package_is_loaded(tmp_path: Path) -> None:
    root = project(tmp_path, USES_POLARS)
    write_files(root, {"pkg/helpers.py": "import polars\n\ndef make() -> int:\n    return 1\n"})
    found = probe(root)
    assert "polars" in found["modules"] and "polars" in found["extensions"]
    assert "dask" not in found["modules"]


def test_the_users_own_autoload_setting_is_left_alone(tmp_path: Path) -> None:
    found = probe(project(tmp_path, PANDAS_ONLY), HAMILTON_AUTOLOAD_EXTENSIONS="1")
    assert "dask" in found["modules"] and "dask" in found["extensions"]
    none = probe(project(tmp_path / "off", PANDAS_ONLY), HAMILTON_AUTOLOAD_EXTENSIONS="0")
    assert none["extensions"] == []


def test_imported_names_reads_import_statements_only(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "import dask.dataframe as dd\n"
        "from polars import col\n"
        "    import numpy\n"
        "text = 'import pyspark'\n"
        "# from geopandas import x\n"
    )
    assert imported_names([path, tmp_path / "missing.py"]) == {"dask", "polars", "numpy"}


def test_stack_sources_lists_each_package_once(tmp_path: Path) -> None:
    root = write_files(
        tmp_path,
        {
            "pyproject.toml": "[tool.semdag]\n",
            "configs/dev.yaml": "stack:\n  core: [pkg.a, pkg.b]\n  extra: [loose.py]\n",
            "pkg/__init__.py": "",
            "pkg/a.py": "",
            "pkg/b.py": "",
            "pkg/lib/util.py": "",
            "loose.py": "",
        },
    )
    found = find_project(explicit=root)
    sources = stack_sources(found, load_profile(found, "dev"))
    names = [p.relative_to(root).as_posix() for p in sources]
    assert sorted(names) == [
        "loose.py",
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/b.py",
        "pkg/lib/util.py",
    ]
    assert len(names) == len(set(names))


# `semdag build` in a process where `packaging` cannot be imported (as in a clean install of
# apache-hamilton and pandas, which do not require it).
WITHOUT_PACKAGING = """
import sys
sys.modules["packaging"] = None
from semdag.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_hamilton_extension_that_cannot_load_is_named_as_the_cause(tmp_path):
    root = write_files(
        tmp_path,
        {
            "configs/dev.yaml": "stack:\n  core: [p.m]\n",
            "p/__init__.py": "",
            "p/m.py": """
                import pandas as pd
                from hamilton.function_modifiers import extract_columns


                @extract_columns("a", "b")
                def frame() -> pd.DataFrame:
                    return pd.DataFrame({"a": [1], "b": [2]})
                """,
        },
    )
    clean = {k: v for k, v in os.environ.items() if k != "HAMILTON_AUTOLOAD_EXTENSIONS"}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PACKAGING, "build", "--no-build-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**clean, "HOME": str(root)},
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    first, hint = done.stderr.splitlines()
    assert first.startswith("semdag build: error: p/m.py:5: module p.m does not import: ")
    assert hint == (
        "hint: Hamilton's pandas extension did not load for want of 'packaging': its "
        "decorators (@extract_columns) and loaders and savers do not work without it "
        "(pip install packaging)"
    )


def test_semdag_requires_what_hamiltons_pandas_and_polars_extensions_import():
    import tomllib

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    required = {d.split(">")[0].split("[")[0] for d in project["project"]["dependencies"]}
    assert {"packaging", "pandas", "apache-hamilton"} <= required
