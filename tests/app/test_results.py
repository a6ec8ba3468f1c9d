"""Results for people and files: frames that fit the terminal, readable scalars, and every value
Hamilton may return shown and written in every output form."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from rich.cells import cell_len
from rich.console import Console

from semdag.app import results
from semdag.cli import results_view
from semdag.core import values
from tests.conftest import run_cli, write_files


def drawn(values: dict[str, Any], width: int) -> list[str]:
    """What ``execute`` draws for ``values`` in a terminal ``width`` columns wide."""
    buffer = io.StringIO()
    results_view.render(values, Console(file=buffer, width=width, color_system=None), width)
    return buffer.getvalue().splitlines()


def assert_fits(lines: list[str], width: int) -> None:
    too_wide = [line for line in lines if cell_len(line) > width]
    assert too_wide == [], f"wider than {width}: {too_wide}"


# --- frames on a terminal ----------------------------------------------------------------------


def wide_frame(rows: int = 200_000, columns: int = 23) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    data = {f"metric_{i:02d}": rng.normal(size=rows) for i in range(columns - 1)}
    return pd.DataFrame({"store_id": [f"S{i}" for i in range(rows)], **data})


def test_a_wide_frame_shows_shape_dtypes_first_rows_and_the_columns_that_fit():
    lines = drawn({"sales": wide_frame()}, 100)
    assert_fits(lines, 100)
    assert lines[0] == "sales  pandas.DataFrame  200000 rows x 23 columns"
    header, dtypes, *rows, footer = lines[1:]
    names = header.split()
    assert names[0] == "store_id" and names[-1] == "…" and len(names) > 4
    assert dtypes.split()[:2] == ["str", "float64"] and dtypes.split()[-1] == "…"
    assert len(rows) == results_view.TERMINAL_ROWS
    assert rows[0].split()[0] == "S0"
    hidden = 23 - (len(names) - 1)
    assert footer == f"… 199990 more rows, {hidden} more columns: --out DIR writes them all"


@pytest.mark.parametrize("width", [12, 30, 60, 100, 240])
def test_no_line_is_wider_than_the_terminal(width):
    values = {
        "sales": wide_frame(rows=30),
        "a_rather_long_output_name": {"k": "v" * 300, "n": 1.5},
        "label": "x" * 500,
        "series": pd.Series(["é" * 40, "漢字" * 30], name="s"),
    }
    assert_fits(drawn(values, width), width)


def test_everything_fits_when_the_terminal_is_wide_enough():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    lines = drawn({"f": frame}, 80)
    assert lines == [
        "f  pandas.DataFrame  2 rows x 2 columns",
        "    a  b",
        "int64  str",
        "    1  x",
        "    2  y",
    ]


def test_a_frame_with_no_rows_says_so():
    lines = drawn({"f": pd.DataFrame({"a": pd.Series([], dtype="int64")})}, 80)
    assert lines[0] == "f  pandas.DataFrame  0 rows x 1 column"
    assert lines[-1] == "(no rows)"


# --- scalars -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("S1", "S1"),
        ("two\nlines", "two\\nlines"),
        (-0.0001036946390896351, "-0.000103695"),
        (0.1 + 0.2, "0.3"),
        (2 / 3 * 1e20, "6.66667e+19"),
        (9.0, "9.0"),
        (float("nan"), "NaN"),
        (float("-inf"), "-inf"),
        (np.float32(1.1), "1.1"),
        (np.int64(7), "7"),
        (np.bool_(True), "True"),
        (True, "True"),
        (None, "None"),
        (decimal.Decimal("1.10"), "1.10"),
        (pd.Timestamp("2024-01-01", tz="Europe/Paris"), "2024-01-01 00:00:00+01:00"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (pd.NA, "<NA>"),
        ({"doc_coverage": 0.4908716, "name": "S1"}, "{doc_coverage: 0.490872, name: S1}"),
        ([1.23456789, "a", None], "[1.23457, a, None]"),
        ((1, 2), "(1, 2)"),
        ({3, 1}, "[1, 3]"),
        (pd.DataFrame({"a": [1]}), "<pandas.DataFrame 1 x 1>"),
    ],
)
def test_values_read_as_people_write_them(value, text):
    assert results_view.format_value(value) == text


def test_a_long_value_is_cut_with_a_note_on_getting_all_of_it():
    lines = drawn({"label": "x" * 200, "n": 0.5}, 60)
    assert_fits(lines, 60)
    assert lines[1].startswith("label   str    xxx") and lines[1].endswith("…")
    assert lines[-1] == "… cut to fit: -f json or --out DIR shows all of it"


def test_a_mapping_takes_a_line_per_key_and_says_how_many_more():
    summary = {f"key_{i:02d}": i / 3 for i in range(15)}
    lines = drawn({"summary": summary}, 80)
    assert lines[1] == "summary  dict  key_00: 0.0"
    assert lines[2].strip() == "key_01: 0.333333"
    assert lines[results_view.MAPPING_LINES + 1].strip() == "… 3 more keys"
    assert lines[-1].startswith("… cut to fit")


def test_nothing_is_cut_nothing_is_noted():
    lines = drawn({"n": 1, "s": "short"}, 80)
    assert lines == ["output  type  value", "n       int   1", "s       str   short"]


def test_a_narrow_terminal_puts_each_value_under_its_name():
    lines = drawn({"a_long_output_name": "value"}, 24)
    assert lines == ["a_long_output_name  str", "  value"]


def test_terminal_rendering_golden(snapshot):
    values = {
        "threshold": 0.80000001,
        "summary": {"doc_coverage": 0.4908716, "store": "S1", "bands": [0.0, 10.0, float("inf")]},
        "scores": pd.Series([0.1234567, 2.5], index=pd.Index(["a", "b"], name="fn"), name="x"),
        "joined": pd.DataFrame({"k": [1, 2], "a": [3, 4]})
        .set_index("k")
        .join(pd.DataFrame({"k": [1, 2], "b": [5, 6]})),
    }
    assert "\n".join(drawn(values, 72)) + "\n" == snapshot


# --- every value in every form -----------------------------------------------------------------


class Opaque:
    def __str__(self) -> str:
        return "opaque thing"


def index_is_a_column() -> pd.DataFrame:
    # What `set_index("k").join(other_with_k)` gives: index `k` and a column `k`.
    left = pd.DataFrame({"k": [1, 2], "a": [3, 4]}).set_index("k")
    return left.join(pd.DataFrame({"k": [1, 2], "b": [5, 6]}))


VALUES: dict[str, Callable[[], Any]] = {
    "index-name-is-a-column": index_is_a_column,
    "multiindex-rows": lambda: pd.DataFrame(
        {"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["x", "v"])
    ),
    "multiindex-columns": lambda: pd.DataFrame(
        [[1, 2, 3]], columns=pd.MultiIndex.from_tuples([("m", "a"), ("m", "b"), ("n", "")])
    ),
    "multiindex-both": lambda: pd.DataFrame(
        [[1, 2]],
        index=pd.MultiIndex.from_tuples([("r", 0)], names=["x", None]),
        columns=pd.MultiIndex.from_tuples([("x", ""), ("m", "b")]),
    ),
    "duplicate-labels": lambda: pd.DataFrame([[1, 2, 3]], columns=["a", "a", "a.1"]),
    "non-string-labels": lambda: pd.DataFrame(
        {0: [1], 1.5: [2], None: [3], dt.date(2024, 1, 1): [4], ("t", 1): [5]}
    ),
    "index-named-index": lambda: pd.DataFrame(
        {"index": [1, 2], "level_0": [3, 4]}, index=pd.Index([5, 6])
    ),
    "categorical": lambda: pd.DataFrame({"c": pd.Categorical(["x", "y", "x"])}),
    "tz-aware-datetimes": lambda: pd.DataFrame(
        {"t": pd.date_range("2024-03-30", periods=3, freq="D", tz="Europe/Paris")}
    ),
    "timedeltas-and-missing": lambda: pd.DataFrame(
        {"d": pd.to_timedelta([1, None], unit="s"), "n": pd.array([1, None], dtype="Int64")}
    ),
    "complex-and-mixed-objects": lambda: pd.DataFrame({"z": [1 + 2j, 3j], "m": [1, "a"]}),
    "empty-frame": lambda: pd.DataFrame({"a": pd.Series([], dtype="int64")}),
    "frame-without-columns": lambda: pd.DataFrame(),
    "frame-with-non-default-index-only": lambda: pd.DataFrame(index=pd.Index([3, 4], name="i")),
    "series-with-its-own-name": lambda: pd.Series([1.5, 2.5], name="something_else"),
    "series-multiindex": lambda: pd.Series(
        [1, 2], index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["p", "q"])
    ),
    "series-named-like-its-index": lambda: pd.Series(
        [1, 2], index=pd.Index(["a", "b"], name="value"), name="value"
    ),
    "empty-series": lambda: pd.Series([], dtype="float64"),
    "polars-frame": lambda: pl.DataFrame({"a": [1, 2], "b": ["x", None]}),
    "polars-lazy-frame": lambda: pl.LazyFrame({"a": [1.5]}),
    "polars-series": lambda: pl.Series("other_name", [1.5, None]),
    "numpy-1d": lambda: np.array([1.0, np.nan]),
    "numpy-2d": lambda: np.arange(6).reshape(2, 3),
    "numpy-3d": lambda: np.zeros((2, 2, 2)),
    "numpy-0d": lambda: np.array(3.5),
    "numpy-scalar": lambda: np.float64(0.25),
    "dict-nested": lambda: {"a": 1, "b": [1, 2], "c": {"d": None}, 4: "four"},
    "dict-flat": lambda: {"a": 1.5, 2: "x"},
    "dict-empty": lambda: {},
    "list-of-dicts": lambda: [{"a": 1}, {"a": 2, "b": 3}],
    "list-of-scalars": lambda: [1, 2.5, "x"],
    "set": lambda: {3, 1, 2},
    "none": lambda: None,
    "nan": lambda: float("nan"),
    "text": lambda: "two\nlines",
    "bytes": lambda: b"\x00\xff",
    "an-object": lambda: Opaque(),
}
NODE = "my_node"
FORMS = ("table", "json", "csv", "parquet", "file-json", "auto")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", sorted(VALUES))
def test_every_value_in_every_form(case: str, form: str, tmp_path: Path) -> None:
    value = VALUES[case]()
    if form == "table":
        assert_fits(drawn({NODE: value}, 50), 50)
        return
    if form == "json":
        described = json.loads(json.dumps(values.describe(value, 5, NODE), allow_nan=False))
        records = described.get("records")
        if records:
            assert list(records[0]) == list(described.get("dtypes") or records[0])
        if "name" in described:  # a series: its column is the node
            assert described["name"] == NODE and (not records or NODE in records[0])
        return
    fmt = {"file-json": "json", "auto": None}.get(form, form)
    manifest = results.write_outputs(tmp_path, {NODE: value}, fmt, profile="dev")
    [entry] = manifest.files
    written = tmp_path / entry.file
    assert written.is_file() and entry.file.startswith(f"{NODE}.")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([entry.file, "manifest.json"])
    if entry.format == "parquet":
        table = pd.read_parquet(written)
        assert len(table) == entry.rows and table.columns.is_unique
    elif entry.format == "csv":
        header = written.read_text(encoding="utf-8").splitlines()[:1]
        assert len(set(header[0].split(","))) == len(header[0].split(",")) if header else True
    else:
        json.loads(written.read_text(encoding="utf-8"))
    if form == "auto":
        kind = "parquet" if values.kind_of(value) != "other" else "json"
        assert entry.format in (kind, "json")


def test_the_index_that_repeats_a_column_keeps_both():
    frame = values.frame_of(index_is_a_column(), NODE)
    assert list(frame.columns) == ["k", "a", "k.1", "b"]
    assert frame["k"].tolist() == [1, 2] and frame["k.1"].tolist()[0] == 2.0


def test_unique_labels_number_repeats_without_colliding():
    assert values.unique_labels(["a", "a", "a.1", ("m", "b"), ("n", ""), 0, None]) == [
        "a",
        "a.2",
        "a.1",
        "m.b",
        "n",
        "0",
        "None",
    ]


def test_a_series_indexed_by_its_own_name_keeps_its_values_under_that_name(tmp_path):
    series = pd.Series([1.5, 2.5], index=pd.Index(["a", "b"], name="k"), name="k")
    assert values.describe(series, 5, "k")["records"][0] == {"index": "a", "k": 1.5}
    results.write_outputs(tmp_path, {"k": series}, "csv", profile="dev")
    assert (tmp_path / "k.csv").read_text().splitlines()[:2] == ["index,k", "a,1.5"]
    results.write_outputs(tmp_path, {"k": series}, "parquet", profile="dev")
    assert list(pd.read_parquet(tmp_path / "k.parquet").columns) == ["index", "k"]


def test_a_series_is_named_after_its_node_in_every_form(tmp_path):
    series = pd.Series([1.5, 2.5], name="pandas_name")
    assert values.describe(series, 5, "revenue")["records"][0] == {"revenue": 1.5}
    assert "revenue" in drawn({"revenue": series}, 80)[1]
    results.write_outputs(tmp_path, {"revenue": series}, "csv", profile="dev")
    assert (tmp_path / "revenue.csv").read_text().splitlines()[0] == "revenue"
    results.write_outputs(tmp_path, {"revenue": pl.Series("polars_name", [1])}, None, profile="d")
    assert list(pd.read_parquet(tmp_path / "revenue.parquet").columns) == ["revenue"]


# --- execute --out -----------------------------------------------------------------------------

FLOW = """
import pandas as pd
import polars as pl


def joined() -> pd.DataFrame:
    left = pd.DataFrame({"k": [1, 2], "a": [3, 4]}).set_index("k")
    return left.join(pd.DataFrame({"k": [1, 2], "b": [5, 6]}))


def scores() -> pd.Series:
    return pd.Series([0.5, 0.25], name="pandas_name")


def lazy() -> pl.LazyFrame:
    return pl.LazyFrame({"x": [1, 2, 3]})


def summary(scores: pd.Series) -> dict:
    return {"mean": float(scores.mean()), "label": "S1"}


def count() -> int:
    return 3
"""


@pytest.fixture
def frames_project(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "frames",
        {"configs/dev.yaml": "stack:\n  core: [frames_flow]\n", "frames_flow.py": FLOW},
    )


def execute(project: Path, *args: str):
    return run_cli(["execute", "--project-dir", str(project), *args])


OUTPUTS = ["--output", "joined", "--output", "scores", "--output", "lazy", "--output", "summary"]


@pytest.mark.parametrize(
    ("out", "fmt"),
    [
        (False, None),
        (False, "json"),
        (True, "csv"),
        (True, "parquet"),
        (True, "json"),
        (True, None),
    ],
)
def test_execute_shows_and_writes_ordinary_frames(frames_project, tmp_path, out, fmt):
    target = tmp_path / "out"
    args = [*(["--out", str(target)] if out else []), *(["-f", fmt] if fmt else [])]
    done = execute(frames_project, *OUTPUTS, *args)
    assert done.exit_code == 0, done.stderr
    if fmt == "json":
        data = done.json()["data"]
        assert sorted(data["outputs"]["joined"]["records"][0]) == ["a", "b", "k", "k.1"]
        assert data["outputs"]["scores"]["records"][0] == {"scores": 0.5}
    elif not out:
        assert "joined  pandas.DataFrame  2 rows x 3 columns" in done.stdout
        assert "scores  pandas.Series  2 rows" in done.stdout
    if out:
        manifest = json.loads((target / "manifest.json").read_text())
        assert [e["node"] for e in manifest["outputs"]] == ["joined", "lazy", "scores", "summary"]


def test_out_without_a_format_picks_one_per_value(frames_project, tmp_path):
    out = tmp_path / "out"
    done = execute(frames_project, *OUTPUTS, "--output", "count", "--out", str(out))
    assert done.exit_code == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "auto"
    formats = {e["node"]: (e["file"], e["format"]) for e in manifest["outputs"]}
    assert formats == {
        "count": ("count.json", "json"),
        "joined": ("joined.parquet", "parquet"),
        "lazy": ("lazy.parquet", "parquet"),
        "scores": ("scores.parquet", "parquet"),
        "summary": ("summary.json", "json"),
    }
    assert list(pd.read_parquet(out / "scores.parquet").columns) == ["scores"]
    assert list(pd.read_parquet(out / "joined.parquet").columns) == ["k", "a", "k.1", "b"]
    assert json.loads((out / "summary.json").read_text()) == {"label": "S1", "mean": 0.375}


def test_rerunning_into_the_same_folder_leaves_no_stale_files(frames_project, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (out / "notes.txt").write_text("mine")  # not semdag's: left alone
    assert execute(frames_project, *OUTPUTS, "--out", str(out), "-f", "csv").exit_code == 0
    assert execute(frames_project, "--output", "count", "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["count.json", "manifest.json", "notes.txt"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["file"] for e in manifest["outputs"]] == ["count.json"]


@pytest.mark.parametrize("text", ['{"name": "My PWA", "start_url": "/"}', "not json", "[]"])
def test_out_refuses_to_replace_a_manifest_it_did_not_write(frames_project, tmp_path, text):
    out = tmp_path / "site"
    out.mkdir()
    (out / "manifest.json").write_text(text)
    done = run_cli(
        ["execute", "--output", "count", "--out", str(out), "--project-dir", str(frames_project)]
    )
    assert done.exit_code == 2
    assert done.stdout == ""
    assert "manifest.json was not written by semdag; refusing to replace it" in done.stderr
    assert "hint: choose another directory for --out" in done.stderr
    assert (out / "manifest.json").read_text() == text
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
