"""Runtime contracts as a pure function: a value and its registry entry in, findings out."""

from __future__ import annotations

import datetime as dt
import decimal
import typing
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from semdag.core.contracts import Contract, check_value, contract_from_tags, tag_list
from semdag.core.elements import parse_dtype
from semdag.core.pytypes import fits_type
from semdag.core.rules import RULES_BY_ID


def contract(dtype: str | None = None, **tags: Any) -> Contract:
    return contract_from_tags(
        "shop.thing.v1", "thing", {"dtype": dtype, **tags}, file="m.py", line=3
    )


def rules(dtype: str | None, value: Any, **tags: Any) -> list[str]:
    return [f.rule for f in check_value(contract(dtype, **tags), value).findings]


def tz_series() -> pd.Series:
    return pd.Series(pd.to_datetime(["2024-01-01"]).tz_localize("Europe/Berlin"))


# (declared dtype, value, fits): the element type of scalars, series, arrays and columns.
DTYPE_CASES = [
    # Python scalars
    ("int", 3, True),
    ("int64", 3, True),
    ("int32", 2**40, False),
    ("uint8", 255, True),
    ("uint8", -1, False),
    ("int", True, False),
    ("float", 3.5, True),
    ("float", 3, False),
    ("float32", 3.5, True),
    ("bool", False, True),
    ("str", "eur", True),
    ("str", b"eur", False),
    ("datetime", dt.datetime(2024, 1, 1), True),
    ("datetime", pd.Timestamp("2024-01-01", tz="UTC"), True),
    ("date", dt.date(2024, 1, 1), True),
    ("date", dt.datetime(2024, 1, 1), False),
    ("decimal", decimal.Decimal("1.234"), True),
    ("decimal(5,2)", decimal.Decimal("123.45"), True),
    ("decimal(5,2)", decimal.Decimal("1.234"), False),
    ("decimal(5,2)", decimal.Decimal("1234.5"), False),
    ("float", None, True),  # null fits every element type
    ("dict", {"a": 1}, True),
    ("list", [1, 2], True),
    ("dict", [1, 2], False),
    # numpy scalars and arrays
    ("int64", np.int64(3), True),
    ("int32", np.int64(3), False),
    ("float", np.float32(1.5), True),
    ("float64", np.float32(1.5), False),
    ("bool", np.bool_(True), True),
    ("int64", np.array([1, 2]), True),
    ("float", np.array([1, 2]), False),
    ("str", np.array(["a", "b"], dtype=object), True),
    ("str", np.array(["a", 1], dtype=object), False),
    # pandas series: numpy, nullable and extension dtypes
    ("float", pd.Series([1.5]), True),
    ("float", pd.Series([1, 2]), False),  # int64 under float is a mismatch
    ("float64", pd.Series([1.5], dtype="Float64"), True),
    ("int64", pd.Series([1, None], dtype="Int64"), True),
    ("int64", pd.Series([1], dtype="int32"), False),
    ("int", pd.Series([1], dtype="uint16"), True),
    ("int64", pd.Series([1], dtype="int64[pyarrow]"), True),
    ("str", pd.Series(["a", None], dtype=object), True),
    ("str", pd.Series(["a", 2], dtype=object), False),
    ("str", pd.Series(["a"], dtype="string[pyarrow]"), True),
    ("str", pd.Series(["a"], dtype="string[python]"), True),
    ("str", pd.Series(["a", "b"], dtype="category"), True),  # categories of strings
    ("int", pd.Series(["a", "b"], dtype="category"), False),
    ("category", pd.Series(["a"], dtype="category"), True),
    ("category", pd.Series(["a"]), False),
    ("bool", pd.Series([True, None], dtype="boolean"), True),
    ("bool", pd.Series([1, 0]), False),
    ("datetime", tz_series(), True),
    ("datetime", pd.Series(pd.to_datetime(["2024-01-01"])), True),
    ("date", pd.Series(pd.to_datetime(["2024-01-01"])), False),
    ("date", pd.Series([dt.date(2024, 1, 1)], dtype=object), True),
    ("decimal(10,2)", pd.Series([1], dtype=pd.ArrowDtype(pa.decimal128(10, 2))), True),
    ("decimal(10,2)", pd.Series([1], dtype=pd.ArrowDtype(pa.decimal128(12, 4))), False),
    ("decimal", pd.Series([decimal.Decimal("1.5")], dtype=object), True),
    ("float", pd.Series([None, None], dtype=object), True),  # nothing there to contradict
    ("timedelta", pd.Series(pd.to_timedelta(["1D"])), True),
    # polars
    ("float", pl.Series([1.5]), True),
    ("int64", pl.Series([1.5]), False),
    ("int64", pl.Series([1, None]), True),
    ("str", pl.Series(["a"]).cast(pl.Categorical), True),
    ("datetime", pl.Series([dt.datetime(2024, 1, 1)]).dt.replace_time_zone("UTC"), True),
    ("decimal(10,2)", pl.Series([decimal.Decimal("1.50")], dtype=pl.Decimal(10, 2)), True),
    ("uint32", pl.Series([1], dtype=pl.UInt32), True),
    ("int32", pl.Series([1], dtype=pl.UInt32), False),
    # pyarrow
    ("float", pa.array([1.5]), True),
    ("str", pa.chunked_array([["a"]]), True),
    ("int", pa.array([1.5]), False),
    # json and any fit anything
    ("json", {"nested": [1, {"a": 2}]}, True),
    ("json", pd.Series([{"a": 1}]), True),
    ("any", object(), True),
]


@pytest.mark.parametrize(
    ("dtype", "value", "fits"),
    DTYPE_CASES,
    ids=[f"{c[0]}-{type(c[1]).__name__}-{i}" for i, c in enumerate(DTYPE_CASES)],
)
def test_element_type_table(dtype, value, fits):
    assert rules(dtype, value) == ([] if fits else ["dtype-mismatch"])


@pytest.mark.parametrize(
    ("dtype", "value", "fits"),
    [
        ("series", pd.Series([1]), True),
        ("series", pl.Series([1]), True),
        ("series", pd.DataFrame({"a": [1]}), False),
        ("series", [1, 2], False),
        ("dataframe", pd.DataFrame({"a": [1]}), True),
        ("dataframe", pl.DataFrame({"a": [1]}), True),
        ("dataframe", pl.LazyFrame({"a": [1]}), True),
        ("dataframe", pa.table({"a": [1]}), True),
        ("dataframe", pd.Series([1]), False),
    ],
)
def test_container_declarations_check_only_the_container(dtype, value, fits):
    assert rules(dtype, value) == ([] if fits else ["dtype-mismatch"])


def test_a_mismatch_names_the_declared_and_the_actual_type():
    (found,) = check_value(contract("float"), pd.Series([1, 2])).findings
    assert found.rule == "dtype-mismatch"
    assert found.subject == "shop.thing.v1" and found.node == "thing"
    assert (found.file, found.line) == ("m.py", 3)
    assert (found.old, found.new) == ("float", "int64")
    assert found.message == (
        "thing returned a pandas.Series of int64 where the registry declares dtype float"
    )


@pytest.mark.parametrize("name", ["money", "int128", "float8", "decimal(x)", "vector[3]"])
def test_a_dtype_outside_the_known_vocabulary_is_reported_but_never_fails(name):
    (found,) = check_value(contract(name), 42).findings
    assert found.rule == "dtype-unchecked"
    assert RULES_BY_ID["dtype-unchecked"].severity.value == "info"
    assert not found.fails(0 + 1)
    assert f"{name!r}" in found.message


@pytest.mark.parametrize(
    ("name", "family", "bits", "precision", "scale"),
    [
        ("int", "int", None, None, None),
        ("Int64", "int", 64, None, None),
        ("uint16", "uint", 16, None, None),
        ("double", "float", 64, None, None),
        ("string", "str", None, None, None),
        ("timestamp", "datetime", None, None, None),
        ("decimal", "decimal", None, None, None),
        ("decimal(12)", "decimal", None, 12, 0),
        ("decimal(12, 4)", "decimal", None, 12, 4),
    ],
)
def test_parse_dtype(name, family, bits, precision, scale):
    declared = parse_dtype(name)
    assert declared is not None
    assert (declared.family, declared.bits, declared.precision, declared.scale) == (
        family,
        bits,
        precision,
        scale,
    )


# --- tables: columns and keys -----------------------------------------------------------------

KEYS = {"entity_keys": "repo,path", "join_keys": "repo"}


def frame(**columns: Any) -> pd.DataFrame:
    base = {"repo": ["r", "r", "r"], "path": ["a.py", "b.py", "c.py"], "loc": [3, 4, 5]}
    return pd.DataFrame({**base, **columns})


def test_columns_tag_checks_each_declared_column():
    tags = {"columns": "loc:int64, path:str, size:float", **KEYS}
    found = check_value(contract("dataframe", **tags), frame(loc=[1.5, 2.0, 3.0])).findings
    assert [(f.rule, f.message) for f in found] == [
        ("dtype-mismatch", "thing returns column loc of float64 where the registry declares int64"),
        ("dtype-mismatch", "thing returns no column size (declared float)"),
    ]


def test_columns_tag_accepts_a_list_and_reports_what_it_cannot_check():
    tags = {"columns": ["loc:int64", "path:path_type", "oops"], **KEYS}
    found = check_value(contract("dataframe", **tags), frame()).findings
    assert [f.rule for f in found] == ["invalid-tag-value", "dtype-unchecked"]
    assert "'oops'" in found[0].message and "path:path_type" in found[1].message


def test_an_element_dtype_on_a_table_applies_to_its_value_columns():
    # Keys are identifiers, not values; columns named in `columns` follow their own dtype.
    table = frame(loc=[1.0, 2.0, 3.0], size=[1, 2, 3])
    assert rules("float", table, columns="size:int", **KEYS) == []
    assert rules("float", table, **KEYS) == ["dtype-mismatch"]  # size: int64 under float


TABLES = {
    "pandas-columns": lambda f: f,
    "pandas-index": lambda f: f.set_index([c for c in ("repo", "path", "file") if c in f]),
    "polars": pl.from_pandas,
    "polars-lazy": lambda f: pl.from_pandas(f).lazy(),
    "arrow": lambda f: pa.Table.from_pandas(f, preserve_index=False),
}


@pytest.mark.parametrize("make", TABLES.values(), ids=TABLES.keys())
def test_keys_in_every_kind_of_table(make):
    good = frame()
    assert rules("dataframe", make(good), **KEYS) == []
    missing = good.rename(columns={"path": "file"})
    found = check_value(contract("dataframe", **KEYS), make(missing)).findings
    assert [f.rule for f in found] == ["keys-missing"]
    assert "path (entity_keys)" in found[0].message
    repeated = good.assign(path=["a.py", "b.py", "a.py"])
    found = check_value(contract("dataframe", **KEYS), make(repeated)).findings
    assert [f.rule for f in found] == ["keys-not-unique"]
    assert "1 of 3 rows checked" in found[0].message and "(r, a.py)" in found[0].message
    nulls = good.assign(repo=["r", None, "r"])
    found = check_value(contract("dataframe", **KEYS), make(nulls)).findings
    assert [f.rule for f in found] == ["keys-null"]
    assert found[0].message == "thing returns nulls in key repo: 1 of 3 rows checked"


def test_a_series_carries_its_keys_in_its_index():
    keyed = pd.Series([1.0, 2.0], index=pd.MultiIndex.from_tuples([("r", "a"), ("r", "b")]))
    keyed.index.names = ["repo", "path"]
    assert rules("float", keyed, **KEYS) == []
    found = check_value(contract("float", **KEYS), keyed.reset_index(drop=True)).findings
    assert [f.rule for f in found] == ["keys-missing", "keys-missing"]
    assert found[0].message == "thing returns no index level repo (entity_keys)"


@pytest.mark.parametrize("value", [3, 1.5, {"a": 1}, pl.Series([1.0]), np.array([1.0])])
def test_values_that_cannot_carry_keys_are_not_key_checked(value):
    assert not [r for r in rules(None, value, **KEYS) if r.startswith("keys-")]


def test_keys_accept_lists_and_comma_separated_strings():
    assert tag_list("repo, path,,") == ("repo", "path")
    assert tag_list(["repo", " path "]) == ("repo", "path")
    assert contract(None, entity_keys="a,b", join_keys=["b", "c"]).keys == ("a", "b", "c")


def test_a_sample_bounds_the_rows_read_and_is_the_same_every_time():
    big = pd.DataFrame({"repo": ["r"] * 100_000, "path": np.arange(100_000).astype(str)})
    big.loc[99_999, "repo"] = None
    first = check_value(contract("dataframe", **KEYS), big, sample=1000)
    again = check_value(contract("dataframe", **KEYS), big, sample=1000)
    assert (first.kind, first.rows, first.rows_checked) == ("pandas.DataFrame", 100_000, 1000)
    assert first == again
    whole = check_value(contract("dataframe", **KEYS), big)
    assert whole.rows_checked == 100_000
    assert [f.rule for f in whole.findings] == ["keys-null"]


def test_object_columns_are_read_within_the_sample_only():
    values = pd.Series(["a"] * 1000 + [1], dtype=object)
    assert rules("str", values) == ["dtype-mismatch"]
    sampled = check_value(contract("str"), values, sample=10)
    assert sampled.rows_checked == 10


# --- the output type ---------------------------------------------------------------------------

T = typing.TypeVar("T")


@pytest.mark.parametrize(
    ("value", "declared", "fits"),
    [
        (3, int, True),
        (np.int64(3), int, False),
        (3, float, True),  # PEP 484's numeric tower
        (np.float64(1.0), float, True),
        ("x", float, False),
        ({"a": 1}, dict[str, int], True),
        ([1], dict[str, int], False),
        (None, int | None, True),
        (None, int, False),
        (pd.Series([1]), pd.Series, True),
        (pl.DataFrame(), pd.DataFrame, False),
        ("a", typing.Literal["a", "b"], True),
        ("c", typing.Literal["a", "b"], False),
        (3, typing.Annotated[int, "units"], True),
        (object(), typing.Any, True),
        (object(), T, True),
        (3, typing.Union[str, int], True),  # noqa: UP007
    ],
)
def test_fits_type(value, declared, fits):
    assert fits_type(value, declared) is fits


def test_output_type_mismatch_names_the_declared_type():
    checked = contract_from_tags(
        "shop.count.v1", "count", {"dtype": "int"}, output_type=int, output_type_label="int"
    )
    (found,) = check_value(checked, np.int64(3)).findings
    assert found.rule == "output-type-mismatch"
    assert found.message == "count returned numpy.int64 where its signature declares int"
    assert (found.old, found.new) == ("int", "numpy.int64")


def test_every_verify_rule_is_in_the_catalogue():
    kinds = {r: RULES_BY_ID[r].kind for r in RULES_BY_ID if RULES_BY_ID[r].kind == "verify"}
    assert set(kinds) == {
        "data-quality",
        "dtype-mismatch",
        "dtype-unchecked",
        "keys-missing",
        "keys-not-unique",
        "keys-null",
        "output-type-mismatch",
    }
