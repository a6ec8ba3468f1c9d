"""The pytest plugin, run by pytest itself (pytester): fixtures, --semdag-contracts, inertness."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module", autouse=True)
def _imported_before_pytester(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build and verify once out here: pytester's in-process runs forget every module they
    import, and libraries such as numpy and pyarrow cannot be imported a second time."""
    root = tmp_path_factory.mktemp("warm") / "shop"
    shutil.copytree(FIXTURES / "contracts", root)
    for command in (["registry"], ["verify"], ["registry", "-f", "odcs"]):
        assert run_cli([*command, "--project-dir", str(root)]).exit_code == 0
    assert run_cli(["registry", "-f", "openlineage", "--project-dir", str(root)]).exit_code == 0


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs are plain runs even when this suite runs under xdist (syrupy, for one, keeps
    its report for the xdist controller when it sees a worker's environment)."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


# Plugins of this suite that inner runs do without: each costs seconds per in-process run,
# which forgets the modules it imported.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:xdist")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, *args)


def shop(pytester: pytest.Pytester, test: str) -> Path:
    """The contracts fixture project in pytester's directory, with one test module."""
    shutil.copytree(FIXTURES / "contracts", pytester.path, dirs_exist_ok=True)
    (pytester.path / "configs/faulty.yaml").write_text(
        "extends: dev.yaml\ninputs:\n  faults: dup\n", encoding="utf-8"
    )
    pytester.makepyfile(test_shop=test)
    return pytester.path


def test_init_sample_test_passes_at_once_against_the_committed_baseline(pytester):
    assert run_cli(["init", str(pytester.path)]).exit_code == 0
    assert (pytester.path / "tests/test_semdag.py").is_file()

    # The first run passes: no snapshot to record first, and no second copy of the registry.
    first = run(pytester)
    first.assert_outcomes(passed=2)
    assert not list(pytester.path.rglob("*.ambr"))
    assert not (pytester.path / "tests/__snapshots__").exists()

    # A changed contract fails the registry test as `snapshot check` does, naming the finding
    # and the command that accepts it.
    metrics = pytester.path / "modules/core/metrics.py"
    text = metrics.read_text(encoding="utf-8")
    metrics.write_text(text.replace('dtype="int64",', 'dtype="json",', 1), encoding="utf-8")
    changed = run(pytester)
    changed.assert_outcomes(passed=1, failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*semdag snapshot check dev: 1 failing finding(s)",
            "dtype-changed example.total_units.v1: tag dtype changed: int64 -> json "
            "(modules/core/metrics.py:*)",
            "accept the changes with `semdag snapshot update -p dev` and commit the baselines",
            "*FAILED tests/test_semdag.py::test_registry_matches_the_baseline*",
        ]
    )

    # Accepted in the baseline: the same test passes again.
    assert run_cli(["snapshot", "update", "--project-dir", str(pytester.path)]).exit_code == 0
    run(pytester).assert_outcomes(passed=2)


def test_semdag_check_reports_a_baseline_that_cannot_be_read(pytester):
    assert run_cli(["init", str(pytester.path)]).exit_code == 0
    (pytester.path / "snapshots/dev/registry.json").unlink()
    result = run(pytester, "-k", "registry")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*semdag: error: snapshots/dev/registry.json: no baseline: the file does not exist*"]
    )


def test_semdag_verify_fails_with_one_line_per_finding(pytester):
    shop(
        pytester,
        """
        def test_good(semdag_verify):
            verification = semdag_verify("dev")
            assert verification.profile == "dev" and len(verification.outputs) == 5

        def test_broken(semdag_verify):
            semdag_verify("dev", inputs={"faults": "dup,dtype"})

        def test_unknown_profile(semdag_verify):
            semdag_verify("nope")
        """,
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*semdag verify dev (5 outputs, 6 rows checked): 2 failing finding(s)",
            "keys-not-unique shop.orders.v1: orders returns 1 of 3 rows checked that repeat an "
            "entity_keys combination (order_id), for example (1) (contract_shop/orders.py:*)",
            "dtype-mismatch shop.revenue.v1: revenue returned int where the registry declares "
            "dtype float (contract_shop/orders.py:*)",
        ]
    )
    result.stdout.fnmatch_lines(["semdag: error: configs/nope.yaml: unknown profile 'nope'*"])
    # The report shows the findings, not the plugin's traceback.
    assert "pytest_plugin.py" not in result.stdout.str()


def test_semdag_registry_is_plain_deterministic_data(pytester):
    shop(
        pytester,
        """
        import json

        def test_registry(semdag_registry):
            document = semdag_registry()
            assert document == semdag_registry("dev")
            assert json.loads(json.dumps(document)) == document
            assert document["profile"] == "dev"
            assert sorted(document["entries"]) == [
                "shop.amount.v1", "shop.currency.v1", "shop.order_count.v1",
                "shop.orders.v1", "shop.revenue.v1",
            ]
        """,
    )
    run(pytester).assert_outcomes(passed=1)


def test_semdag_registry_gives_each_export_as_plain_data(pytester):
    shop(
        pytester,
        """
        import json

        import pytest

        def test_exports(semdag_registry):
            odcs = semdag_registry(format="odcs")
            assert odcs["kind"] == "DataContract" and odcs["name"] == "dev"
            names = [p["name"] for o in odcs["schema"] for p in o["properties"]]
            assert "shop.revenue.v1" in names
            lineage = semdag_registry("dev", format="openlineage")
            assert sorted(d["name"] for d in lineage["outputs"]) == [
                "shop.amount.v1", "shop.currency.v1", "shop.order_count.v1",
                "shop.orders.v1", "shop.revenue.v1",
            ]
            schemas = semdag_registry(format="jsonschema")
            assert schemas["$defs"]["shop.revenue.v1"]["type"] == "number"
            for document in (odcs, lineage, schemas):
                assert json.loads(json.dumps(document)) == document
            with pytest.raises(ValueError, match="format must be one of json, odcs"):
                semdag_registry(format="xml")
        """,
    )
    run(pytester).assert_outcomes(passed=1)


def test_contracts_option_adds_one_test_per_semantic_id(pytester):
    shop(pytester, "def test_nothing():\n    pass\n")
    result = run(pytester, "--semdag-contracts", "--semdag-profile", "faulty", "-v")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "configs/faulty.yaml::semdag_contract[[]shop.amount.v1[]] PASSED*",
            "configs/faulty.yaml::semdag_contract[[]shop.orders.v1[]] FAILED*",
            "*keys-not-unique shop.orders.v1: orders returns 1 of 3 rows checked*",
        ]
    )
    # -k selects among them like among any test.
    chosen = run(pytester, "--semdag-contracts", "-k", "revenue")
    chosen.assert_outcomes(passed=1)


def test_contracts_option_reports_a_profile_that_cannot_build(pytester):
    shop(pytester, "def test_nothing():\n    pass\n")
    result = run(pytester, "--semdag-contracts", "--semdag-profile", "nope")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*ERROR collecting configs/nope.yaml*", "semdag: error: *unknown profile 'nope'*"]
    )


def test_the_plugin_is_inert_unless_used(pytester):
    shop(pytester, "def test_nothing():\n    pass\n")
    marker = pytester.path / "imported.txt"
    module = pytester.path / "contract_shop/orders.py"
    module.write_text(
        module.read_text(encoding="utf-8")
        + "\nimport pathlib\n\npathlib.Path(__file__).parents[1].joinpath('imported.txt')"
        + ".touch()\n",
        encoding="utf-8",
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert not marker.exists() and not (pytester.path / ".semdag").exists()
    # The same marker shows when a fixture is used: the check above could fail.
    pytester.makepyfile(test_used="def test_used(semdag_registry):\n    semdag_registry()\n")
    run(pytester).assert_outcomes(passed=2)
    assert marker.exists()
