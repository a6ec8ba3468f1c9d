"""Cleaning of the raw function table as explicit, config-gated pipeline steps."""

from __future__ import annotations

import pandas as pd
from hamilton.function_modifiers import pipe_input, step, tag

from modules.lib.taxonomy import semantic_tags

KEY_COLUMNS = ["path", "symbol"]
TEST_DIR_NAMES = frozenset({"test", "tests", "testing"})


def _dedupe_symbols(frame: pd.DataFrame) -> pd.DataFrame:
    """Keeps the first definition of a (path, symbol) pair.

    Conditional definitions (``if sys.version_info ...: def f()`` / ``else: def f()``) would
    otherwise break the entity key.
    """
    return frame.drop_duplicates(subset=KEY_COLUMNS, keep="first")


def _is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        any(part in TEST_DIR_NAMES for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _drop_test_code(frame: pd.DataFrame) -> pd.DataFrame:
    """Removes functions that live in test files or test directories."""
    return frame[~frame["path"].map(_is_test_path)]


def _canonical_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorts by the entity key and renumbers rows, so outputs are byte-stable across runs."""
    return frame.sort_values(["path", "line", "symbol"], kind="stable").reset_index(drop=True)


@pipe_input(
    step(_dedupe_symbols).named("deduped"),
    # strict: metrics describe shipped code only; lenient keeps tests in the inventory.
    step(_drop_test_code).when(clean_mode="strict").named("without_tests"),
    step(_canonical_order).named("ordered"),
    on_input="raw_functions_df",
    namespace="prep",
)
@tag(
    **semantic_tags("function.inventory.v1", "function", "record", "semantic.function_inventory_v1")
)
def functions_df(raw_functions_df: pd.DataFrame) -> pd.DataFrame:
    """The cleaned function inventory: one row per function, unique on (repo, path, symbol).

    Columns: repo, path, module, symbol, line, loc, complexity, n_params, has_docstring,
    is_public, is_method.
    """
    return raw_functions_df
