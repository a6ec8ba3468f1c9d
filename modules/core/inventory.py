"""The raw function table and the scan's failure accounting."""

from __future__ import annotations

import dataclasses

import pandas as pd
from hamilton.function_modifiers import tag

from modules.lib import astscan
from modules.lib.taxonomy import internal_tags, semantic_tags

# Column order and dtypes are fixed so an empty scan still yields a well-typed table.
FUNCTION_COLUMNS: dict[str, str] = {
    "repo": "object",
    "path": "object",
    "module": "object",
    "symbol": "object",
    "line": "int64",
    "loc": "int64",
    "complexity": "int64",
    "n_params": "int64",
    "has_docstring": "bool",
    "is_public": "bool",
    "is_method": "bool",
}


@tag(**internal_tags("raw"))
def raw_functions_df(scan_result: astscan.ScanResult, repo_name: str) -> pd.DataFrame:
    """One row per function or method found by the scanner, sorted by path, line and symbol."""
    rows = [{"repo": repo_name, **dataclasses.asdict(r)} for r in scan_result.records]
    frame = pd.DataFrame(rows, columns=list(FUNCTION_COLUMNS))
    frame = frame.astype(FUNCTION_COLUMNS)
    return frame.sort_values(["path", "line", "symbol"], kind="stable").reset_index(drop=True)


@tag(**internal_tags("raw"))
def unparsed_files(scan_result: astscan.ScanResult) -> list[str]:
    """Repo-relative paths of the files that could not be read or parsed, sorted."""
    return list(scan_result.unparsed)


@tag(**semantic_tags("repo.unparsed_file_count.v1", "repo", "int64", "semantic.repo_summary_v1"))
def unparsed_file_count(unparsed_files: list[str]) -> int:
    """Number of source files skipped because they do not parse (the scan never fails on them)."""
    return len(unparsed_files)
