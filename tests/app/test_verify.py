"""`semdag verify`: the semantic outputs run as `execute` runs them, checked against the registry.

Most tests use tests/fixtures/contracts, a shop whose input `faults` breaks chosen promises;
the bundled example is verified as it is, and once more with one promise per rule broken.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from semdag.core.rules import finding
from semdag.store.acknowledge import GATE_KINDS, Acknowledgement, apply_acknowledgements
from tests.conftest import FIXTURES, ROOT, Result, copy_example, run_cli

# Every broken promise the shop can show in one run (dup and nokey would hide nullkey).
FAULTS = "nullkey,column,series,type,dtype"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contracts fixture, copied once: verify writes nothing into a project."""
    root = tmp_path_factory.mktemp("verify") / "shop"
    shutil.copytree(FIXTURES / "contracts", root)
    return root


def verify(shop: Path, *args: str) -> Result:
    return run_cli(["verify", "--project-dir", str(shop), *args])


def found(document: dict, profile: int = 0) -> list[tuple[str, str, str]]:
    return [
        (f["rule"], f["subject"], f["severity"])
        for f in document["data"]["verifications"][profile]["findings"]
    ]


@pytest.fixture(scope="module")
def broken_run(shop: Path) -> Result:
    return verify(shop, "-f", "json", "--input", f"faults={FAULTS}")


def test_outputs_that_keep_their_contracts_pass(shop, snapshot):
    done = verify(shop)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == snapshot


def test_each_broken_promise_is_a_finding(broken_run):
    assert broken_run.exit_code == 1, broken_run.stderr
    assert found(broken_run.json()) == [
        ("dtype-mismatch", "shop.amount.v1", "error"),
        ("dtype-unchecked", "shop.currency.v1", "info"),
        ("output-type-mismatch", "shop.order_count.v1", "error"),
        ("dtype-mismatch", "shop.orders.v1", "error"),
        ("keys-null", "shop.orders.v1", "error"),
        ("dtype-mismatch", "shop.revenue.v1", "error"),
    ]


def test_json_envelope_names_files_lines_and_rows(broken_run):
    document = broken_run.json()
    assert document["command"] == "verify" and document["ok"] is False
    (verification,) = document["data"]["verifications"]
    assert verification["profile"] == "dev"
    assert verification["rows"] == verification["rows_checked"] == 6
    assert {o["semantic_id"]: o["kind"] for o in verification["outputs"]} == {
        "shop.amount.v1": "pandas.Series",
        "shop.currency.v1": "str",
        "shop.order_count.v1": "numpy.int64",
        "shop.orders.v1": "pandas.DataFrame",
        "shop.revenue.v1": "int",
    }
    revenue = next(f for f in verification["findings"] if f["subject"] == "shop.revenue.v1")
    assert revenue["file"] == "contract_shop/orders.py"
    assert revenue["line"] == def_line("revenue")
    assert (revenue["old"], revenue["new"]) == ("float", "int")
    assert verification["counts"]["error"] == 5
    # Failing findings are the envelope's errors; the info is not.
    assert sorted(e["code"] for e in document["errors"]) == sorted(
        ["dtype-mismatch"] * 3 + ["output-type-mismatch", "keys-null"]
    )


def def_line(function: str) -> int:
    """The line of the decorator stack's first line above ``def function``."""
    text = (FIXTURES / "contracts/contract_shop/orders.py").read_text().splitlines()
    index = next(i for i, line in enumerate(text) if line.startswith(f"def {function}("))
    while index and text[index - 1].startswith("@"):
        index -= 1
    return index + 1


def test_junit_lists_every_semantic_id_as_a_test_case(shop):
    done = verify(shop, "-f", "junit", "--input", "faults=type")
    assert done.exit_code == 1
    assert '<testsuite name="semdag dev (5 outputs, 6 rows checked)" tests="5" failures="1"' in (
        done.stdout
    )
    cases = re.findall(r'<testcase classname="semdag" name="([^"]+)"', done.stdout)
    assert cases == sorted(cases) and len(cases) == 5
    assert '<failure type="output-type-mismatch"' in done.stdout


def test_fail_on_never_reports_and_passes(shop):
    done = verify(shop, "-f", "github", "--fail-on", "never", "--input", "faults=dtype")
    assert done.exit_code == 0
    line = def_line("revenue")
    assert (
        f"::error file=contract_shop/orders.py,line={line},"
        "title=semdag dtype-mismatch%3A shop.revenue.v1::"
        "revenue returned int where the registry declares dtype float"
    ) in done.stdout.splitlines()


def test_the_profiles_rules_table_sets_severities(shop):
    done = verify(shop, "-p", "lenient", "-f", "json", "--input", "faults=nullkey")
    assert done.exit_code == 0, done.stdout
    # keys-null is a warning there, dtype-unchecked is off.
    assert found(done.json()) == [("keys-null", "shop.orders.v1", "warning")]


def test_outputs_by_semantic_id_or_node_and_a_sample(shop):
    args = ("--output", "shop.orders.v1", "--output", "amount", "--sample", "2")
    done = verify(shop, *args)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "dev (2 outputs, 4 of 6 rows checked): no findings\n"


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--output", "raw_orders"], "node raw_orders has no registry entry"),
        (["--output", "shop.nothing.v1"], "unknown node 'shop.nothing.v1'"),
        (["--sample", "0"], "--sample must be 1 or more"),
        (["--executor", "threads"], "needs execution.dynamic: true"),
    ],
)
def test_requests_that_cannot_run_exit_2(shop, args, phrase):
    done = verify(shop, *args)
    assert done.exit_code == 2
    assert phrase in done.stderr
    assert done.stdout == ""


def test_a_node_that_raises_exits_1_naming_it(shop):
    done = verify(shop, "--input", "faults=raise")
    assert done.exit_code == 1
    assert "node order_count (contract_shop.orders.order_count) raised RuntimeError" in done.stderr


def test_the_task_based_executor_runs_the_same_checks(shop):
    args = ("--set", "execution.dynamic=true", "--executor", "threads", "-f", "json")
    done = verify(shop, *args, "--input", "faults=series")
    assert done.exit_code == 1
    assert ("dtype-mismatch", "shop.amount.v1", "error") in found(done.json())


def test_all_goes_on_past_a_profile_that_cannot_run(tmp_path):
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "contracts", root)
    (root / "configs/broken.yaml").write_text("stack:\n  core: [contract_shop.missing]\n")
    done = verify(root, "--all", "-f", "json")
    assert done.exit_code == 2
    document = done.json()
    assert [v["profile"] for v in document["data"]["verifications"]] == ["dev", "lenient"]
    assert [e["code"] for e in document["errors"]] == ["module_error"]


# --- acknowledgements --------------------------------------------------------------------------


def write_acknowledgements(root: Path, *items: tuple[str, str, str]) -> None:
    lines = ["acknowledged:"]
    for rule, sid, expires in items:
        lines += [
            f"  - rule: {rule}",
            f"    semantic_id: {sid}",
            "    reason: the upstream feed fixes it",
            f"    expires: {expires}",
        ]
    (root / "snapshots").mkdir(exist_ok=True)
    (root / "snapshots/acknowledged.yaml").write_text("\n".join(lines) + "\n")


def test_an_acknowledged_finding_is_reported_and_does_not_fail(tmp_path):
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "contracts", root)
    write_acknowledgements(
        root,
        ("keys-null", "shop.orders.v1", "2999-01-01"),
        ("dtype-changed", "shop.orders.v1", "2999-01-01"),  # the gate's, not verify's
    )
    done = verify(root, "-f", "json", "--input", "faults=nullkey")
    assert done.exit_code == 0, done.stdout
    findings = done.json()["data"]["verifications"][0]["findings"]
    (keys,) = [f for f in findings if f["rule"] == "keys-null"]
    assert keys["acknowledged"] is True
    assert keys["reason"] == "the upstream feed fixes it (until 2999-01-01)"
    assert not [f for f in findings if f["rule"].startswith("acknowledgement-")]

    write_acknowledgements(root, ("keys-null", "shop.orders.v1", "2000-01-01"))
    expired = verify(root, "--input", "faults=nullkey")
    assert expired.exit_code == 1
    assert "acknowledgement-expired: shop.orders.v1" in expired.stdout


def test_the_gate_and_verify_each_apply_their_own_acknowledgements():
    on = dt.date(2030, 1, 1)
    acks = [
        Acknowledgement("keys-null", "a.v1", "r", dt.date(2031, 1, 1), 2),
        Acknowledgement("dtype-changed", "a.v1", "r", dt.date(2031, 1, 1), 6),
    ]
    gate = apply_acknowledgements(
        [finding("dtype-changed", "a.v1", "m")], acks, "ack.yaml", on=on, kinds=GATE_KINDS
    )
    assert [(f.rule, f.acknowledged) for f in gate] == [("dtype-changed", True)]
    runtime = apply_acknowledgements(
        [finding("keys-null", "a.v1", "m")], acks, "ack.yaml", on=on, kinds=("verify",)
    )
    assert [(f.rule, f.acknowledged) for f in runtime] == [("keys-null", True)]


# --- the bundled example -----------------------------------------------------------------------

SMALL_REPO = {
    "pkg/__init__.py": "",
    "pkg/shop.py": "def price(n):\n    return n * 2\n\n\ndef total(xs):\n    return sum(xs)\n",
    "pkg/util.py": "class Cart:\n    def add(self, item):\n        return item\n",
}


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository for the example to scan: its own default (semdag/) takes seconds."""
    repo = tmp_path_factory.mktemp("repo")
    for rel, text in SMALL_REPO.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    return repo


def test_the_bundled_example_keeps_every_contract_in_every_profile(small_repo):
    args = ["--all", "-f", "json", "--input", f"repo_root={small_repo}"]
    done = run_cli(["verify", "--project-dir", str(ROOT), *args])
    assert done.exit_code == 0, done.stdout + done.stderr
    verifications = done.json()["data"]["verifications"]
    assert [v["profile"] for v in verifications] == ["base", "dev", "parallel", "prod"]
    for verification in verifications:
        assert not [f for f in verification["findings"] if f["severity"] != "info"]
        assert verification["rows_checked"] > 0


# One edit per rule, each to another semantic id: (file, old text, new text).
BREAKS = {
    "dtype-mismatch": (
        "modules/core/metrics.py",
        re.compile(r'contract_tags\("function\.loc\.v1", "\w+"'),
        'contract_tags("function.loc.v1", "float"',
    ),
    "output-type-mismatch": (
        "modules/core/repo_rollup.py",
        "    return len(functions_df)\n",
        "    return pd.Series([len(functions_df)]).iloc[0]  # a numpy.int64\n",
    ),
    "keys-missing": (
        "modules/core/scorecards.py",
        'rename_axis(["repo", "module"]).reset_index()',
        'rename_axis(["repo", "module"]).reset_index().drop(columns="module")',
    ),
    "keys-not-unique": (
        "modules/core/scorecards.py",
        '    return frame.sort_values(["path", "symbol"], kind="stable").reset_index(drop=True)\n',
        "    return pd.concat([frame, frame.head(1)], ignore_index=True)\n",
    ),
    "keys-null": (
        "modules/plugins/polars_features.py",
        '"loc_per_branch", "is_long"\n    )\n',
        '"loc_per_branch", "is_long"\n    ).with_columns(\n'
        '        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("symbol"))\n'
        '        .alias("symbol")\n    )\n',
    ),
}
BROKEN_IDS = {
    "dtype-mismatch": "function.loc.v1",
    "output-type-mismatch": "repo.function_count.v1",
    "keys-missing": "module.scorecard.v1",
    "keys-not-unique": "function.scorecard.v1",
    "keys-null": "function.shape_features.v1",
}


@pytest.fixture(scope="module")
def broken_example(tmp_path_factory: pytest.TempPathFactory, small_repo: Path) -> Result:
    """The bundled example with one promise per rule broken, verified once (dev profile)."""
    root = copy_example(tmp_path_factory.mktemp("example") / "example")
    for file, old, new in BREAKS.values():
        path = root / file
        text = path.read_text(encoding="utf-8")
        if isinstance(old, re.Pattern):
            changed, count = old.subn(new, text)
        else:
            changed, count = text.replace(old, new), text.count(old)
        assert count == 1, f"{file} no longer holds the text this test breaks"
        path.write_text(changed, encoding="utf-8")
    args = ["-p", "dev", "-f", "json", "--input", f"repo_root={small_repo}"]
    return run_cli(["verify", "--project-dir", str(root), *args])


@pytest.mark.parametrize("rule", BREAKS)
def test_breaking_the_example_is_found(broken_example, rule):
    assert broken_example.exit_code == 1, broken_example.stderr
    findings = broken_example.json()["data"]["verifications"][0]["findings"]
    hits = [f for f in findings if f["rule"] == rule]
    assert [f["subject"] for f in hits] == [BROKEN_IDS[rule]]
    # Nothing else is broken: each edit breaks exactly one promise.
    failing = [f for f in findings if f["severity"] != "info"]
    assert sorted((f["rule"], f["subject"]) for f in failing) == sorted(BROKEN_IDS.items())
