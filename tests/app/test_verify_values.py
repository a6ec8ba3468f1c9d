"""verify on lists and tuples (the dtype is the items' type) and on rows passed downstream
(one repeated row is one finding, where it first appears)."""

from __future__ import annotations

import json

from tests.conftest import run_cli

SEQUENCES = """
from hamilton.function_modifiers import tag

T = dict(layer="semantic", entity="x", grain="all", version="1")


@tag(semantic_id="x.ids.v1", dtype="int", **T)
def ids() -> list[int]:
    return [1, 2, 3]


@tag(semantic_id="x.names.v1", dtype="str", **T)
def names() -> tuple:
    return ("a", "b")


@tag(semantic_id="x.plain.v1", dtype="str", **T)
def plain() -> list:
    return ["a"]


@tag(semantic_id="x.empty.v1", dtype="float", **T)
def empty() -> list[float]:
    return []


@tag(semantic_id="x.whole.v1", dtype="json", **T)
def whole() -> list:
    return [{"a": 1}, [2]]


@tag(semantic_id="x.bad.v1", dtype="int", **T)
def bad() -> list:
    return [1, "b"]
"""

ROWS = """
import pandas as pd
from hamilton.function_modifiers import tag

T = dict(layer="semantic", entity="order", grain="order", entity_keys="order_id", version="1",
         dtype="any")


def orders() -> pd.DataFrame:
    return pd.DataFrame({"order_id": [1, 2, 2, 3, 3], "v": [1.0, 2.0, 2.0, 3.0, 3.0]})


@tag(semantic_id="o.a.v1", **T)
def a(orders: pd.DataFrame) -> pd.DataFrame:
    return orders


@tag(semantic_id="o.b.v1", **T)
def b(a: pd.DataFrame) -> pd.DataFrame:
    return a.assign(w=a.v * 2)


@tag(semantic_id="o.c.v1", **T)
def c(orders: pd.DataFrame) -> pd.DataFrame:
    return orders[["order_id"]]


@tag(semantic_id="o.d.v1", **T)
def d() -> pd.DataFrame:
    return pd.DataFrame({"order_id": [7, 7]})
"""


def run(project_factory, module: str):
    root = project_factory(
        {"p/__init__.py": "", "p/m.py": module, "configs/dev.yaml": "stack:\n  core: [p.m]\n"}
    )
    return run_cli(["verify", "-f", "json", "--project-dir", str(root)])


def findings(done) -> list[dict]:
    return json.loads(done.stdout)["data"]["verifications"][0]["findings"]


def test_lists_and_tuples_are_checked_item_by_item(project_factory):
    done = run(project_factory, SEQUENCES)
    assert done.exit_code == 1
    assert done.stderr == ""
    (only,) = findings(done)
    assert (only["rule"], only["subject"]) == ("dtype-mismatch", "x.bad.v1")
    assert only["message"] == (
        "bad returned a list of object (mixed-integer values) where the registry declares dtype int"
    )


def test_one_repeated_row_is_one_finding_where_it_first_appears(project_factory):
    done = run(project_factory, ROWS)
    assert done.exit_code == 1
    assert done.stderr == ""
    found = findings(done)
    summary = [(f["rule"], f["subject"], f["node"], f["file"], f["line"]) for f in found]
    assert summary == [
        ("keys-not-unique", "o.a.v1", "orders", "p/m.py", 8),
        ("keys-not-unique", "o.d.v1", "d", "p/m.py", 27),
    ]
    assert found[0]["message"] == (
        "orders (upstream of a, c) returns 2 of 5 rows checked that repeat an entity_keys "
        "combination (order_id), for example (2); the same rows reach o.b.v1, o.c.v1"
    )
    assert found[0]["affected"] == ["o.b.v1", "o.c.v1"]
