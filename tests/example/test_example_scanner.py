"""The ast scanner and the raw/clean tables, on a source tree with hand-counted metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modules.lib import astscan

# (path, symbol) -> (line, loc, complexity, n_params, has_docstring, is_public, is_method)
EXPECTED = {
    ("pkg/_private.py", "helper"): (1, 2, 1, 0, False, False, False),
    ("pkg/big.py", "sprawling"): (1, 124, 62, 1, False, True, False),
    ("pkg/compat.py", "now"): (4, 2, 1, 0, False, True, False),
    ("pkg/core.py", "simple"): (1, 3, 1, 2, True, True, False),
    # if, and, for, if, or, elif, while, with, except x2, two comprehension ifs, ternary: 13 + 1
    ("pkg/core.py", "branchy"): (6, 17, 14, 4, False, True, False),
    # three match cases + 1
    ("pkg/core.py", "matcher"): (25, 8, 4, 1, False, True, False),
    ("pkg/core.py", "Greeter.__init__"): (38, 2, 1, 2, False, True, True),
    # the nested function's ternary belongs to ``inner``, not to ``_secret``
    ("pkg/core.py", "Greeter._secret"): (41, 4, 1, 1, False, False, True),
    ("pkg/core.py", "Greeter._secret.inner"): (42, 2, 2, 0, False, False, False),
    ("tests/test_core.py", "test_simple"): (1, 2, 1, 0, False, True, False),
}


def test_lists_sorted_repo_relative_posix_paths(sample_root: Path) -> None:
    files = astscan.list_python_files(sample_root)
    assert files == sorted(files)
    assert "pkg/core.py" in files and "tests/test_core.py" in files
    assert all(not Path(f).is_absolute() and "\\" not in f for f in files)


def test_skips_hidden_and_cache_directories(tmp_path: Path, tree: Any) -> None:
    tree(tmp_path, {"a.py": "", ".venv/x.py": "", "__pycache__/y.py": "", "sub/b.py": ""})
    assert astscan.list_python_files(tmp_path) == ["a.py", "sub/b.py"]


def test_records_have_hand_counted_metrics(sample_run: Any) -> None:
    raw = sample_run("base")["raw_functions_df"]
    first = raw.drop_duplicates(["path", "symbol"]).set_index(["path", "symbol"])
    columns = ["line", "loc", "complexity", "n_params", "has_docstring", "is_public", "is_method"]
    actual = {key: tuple(row) for key, row in first[columns].iterrows()}
    assert actual == EXPECTED


def test_unparsable_file_is_counted_not_fatal(sample_run: Any) -> None:
    results = sample_run("base")
    assert results["unparsed_files"] == ["pkg/broken.py"]
    assert results["unparsed_file_count"] == 1
    assert results["scanned_file_count"] == 7
    assert "pkg/broken.py" not in set(results["raw_functions_df"]["path"])


def test_raw_table_is_typed_sorted_and_keyed(sample_run: Any) -> None:
    raw = sample_run("base")["raw_functions_df"]
    assert list(raw.columns) == [
        "repo", "path", "module", "symbol", "line", "loc", "complexity", "n_params",
        "has_docstring", "is_public", "is_method",
    ]  # fmt: skip
    assert raw.equals(raw.sort_values(["path", "line", "symbol"]).reset_index(drop=True))
    assert set(raw["repo"]) == {"sample"}
    assert raw["complexity"].dtype == "int64" and raw["is_public"].dtype == bool
    assert dict(zip(raw["path"], raw["module"], strict=True))["pkg/_private.py"] == "pkg._private"


def test_module_names_are_prefixed_when_the_root_is_a_package(tmp_path: Path, tree: Any) -> None:
    root = tree(tmp_path / "lib", {"__init__.py": "", "sub/__init__.py": "def f():\n  pass\n"})
    records = astscan.scan_files(root, astscan.list_python_files(root)).records
    assert [(r.path, r.module, r.symbol) for r in records] == [("sub/__init__.py", "lib.sub", "f")]


def test_parallel_merge_is_order_independent(sample_root: Path) -> None:
    paths = astscan.list_python_files(sample_root)
    package = astscan.package_prefix(sample_root)
    parts = [astscan.scan_file(sample_root, p, package) for p in reversed(paths)]
    assert astscan.ScanResult.merge(parts) == astscan.scan_files(sample_root, paths)


def test_empty_tree_gives_an_empty_typed_table(tmp_path: Path, dr_for: Any) -> None:
    (tmp_path / "empty").mkdir()
    out = dr_for("base").execute(
        ["functions_df", "repo_summary"], inputs={"repo_root": str(tmp_path / "empty")}
    )
    assert out["functions_df"].empty
    assert out["functions_df"]["loc"].dtype == "int64"
    assert out["repo_summary"]["functions"] == 0 and out["repo_summary"]["mean_risk"] == 0.0


def test_repo_root_defaults_to_the_project_semdag_package(dr_for: Any, project_root: Path) -> None:
    root = dr_for("base").execute(["resolved_repo_root"])["resolved_repo_root"]
    assert Path(root) == project_root / "semdag"


def test_relative_repo_root_resolves_against_the_project(dr_for: Any, project_root: Path) -> None:
    root = dr_for("base").execute(["resolved_repo_root"], inputs={"repo_root": "modules"})
    assert Path(root["resolved_repo_root"]) == project_root / "modules"


def test_missing_repo_root_raises_clearly(dr_for: Any, tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="repo_root"):
        dr_for("base").execute(["source_files"], inputs={"repo_root": str(tmp_path / "nope")})


def test_scan_of_this_project_is_deterministic(dr_for: Any, project_root: Path) -> None:
    dr = dr_for("base")
    inputs = {"repo_root": str(project_root / "modules")}
    first = dr.execute(["function_scorecard"], inputs=inputs)["function_scorecard"]
    second = dr.execute(["function_scorecard"], inputs=inputs)["function_scorecard"]
    pd.testing.assert_frame_equal(first, second)
    assert "core/risk.py" in set(first["path"])
