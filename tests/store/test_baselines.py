"""The committed baselines hold the contract only: stable bytes, mergeable, no false green."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli, write_files

# Keys that would move when nothing a reviewer cares about changed.
SPEED_KEYS = {"line", "end_line", "file", "files", "doc", "source_sha", "hashed_with"}


def keys_in(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def baselines(root: Path, profile: str = "dev") -> dict[str, bytes]:
    folder = root / "snapshots" / profile
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.json"))}


def semdag(root: Path, *args: str) -> tuple[int, str, str]:
    done = run_cli([*args, "--project-dir", str(root)])
    return done.exit_code, done.stdout, done.stderr


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_the_committed_baselines_hold_no_positions_docs_or_versions(example):
    for name, data in baselines(example).items():
        document = json.loads(data)
        assert document["schema_version"] == 2, name
        top = set(document) - {"entries", "nodes"}
        body = document.get("entries") or document.get("nodes")
        leaked = (top | {k for v in body.values() for k in v}) & (SPEED_KEYS | {"logic_hash"})
        assert not leaked, (name, leaked)


COSMETIC = [
    ("a comment", "modules/core/risk.py", "    return 10.0", "    # policy\n    return 10.0  # ok"),
    ("blank lines", "modules/core/metrics.py", "\n\n@", "\n\n\n\n@"),
    ("a docstring", "modules/core/repo_rollup.py", '"""Number of functions', '"""Count of all'),
    ("a module docstring", "modules/core/risk.py", '"""', '"""Edited. '),
    ("reformatting", "modules/core/risk.py", "def risk_alert_threshold() -> float:",
     "def risk_alert_threshold(\n) -> float:"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "file", "old", "new"), COSMETIC, ids=[c[0] for c in COSMETIC])
def test_cosmetic_edits_leave_every_committed_byte_alone(example, label, file, old, new):
    before = baselines(example)
    edit(example / file, old, new)
    code, out, err = semdag(example, "snapshot", "check", "-p", "dev", "--fail-on", "any")
    assert code == 0, out + err
    assert semdag(example, "snapshot", "update", "-p", "dev")[0] == 0
    assert baselines(example) == before, label


def test_moving_a_function_within_its_module_leaves_the_baselines_alone(example):
    before = baselines(example)
    path = example / "modules/core/risk.py"
    text = path.read_text(encoding="utf-8")
    start = text.index('@tag(**semantic_tags("repo.risk_alert_threshold.v1"')
    end = text.index("\n\n\n", start) + 3
    block = text[start:end]
    moved = text[:start] + text[end:]
    path.write_text(moved.rstrip("\n") + "\n\n\n" + block.rstrip("\n") + "\n", encoding="utf-8")
    assert semdag(example, "snapshot", "check", "-p", "dev", "--fail-on", "any")[0] == 0
    assert semdag(example, "snapshot", "update", "-p", "dev")[0] == 0
    assert baselines(example) == before


# --- two branches, merged ---------------------------------------------------------------------

MERGE_PROJECT = {
    "configs/dev.yaml": """
        stack:
          core: [metrics.orders, metrics.stores]
        inputs: {n: 3}
    """,
    "metrics/__init__.py": "",
    "metrics/orders.py": '''
        """Order metrics."""
        from hamilton.function_modifiers import tag


        @tag(layer="semantic", semantic_id="orders.count.v1", entity="order",
             grain="per_store", dtype="int64", version="1", owner="sales")
        def order_count(n: int) -> int:
            """Orders."""
            return n


        @tag(layer="semantic", semantic_id="orders.value.v1", entity="order",
             grain="per_store", dtype="float", version="1", owner="sales")
        def order_value(order_count: int) -> float:
            """Value of the orders."""
            return order_count * 2.5
    ''',
    "metrics/stores.py": '''
        """Store metrics."""
        from hamilton.function_modifiers import tag


        @tag(layer="semantic", semantic_id="stores.count.v1", entity="store",
             grain="per_region", dtype="int64", version="1", owner="ops")
        def store_count(n: int) -> int:
            """Stores."""
            return n + 1


        @tag(layer="semantic", semantic_id="stores.share.v1", entity="store",
             grain="per_region", dtype="float", version="1", owner="ops")
        def store_share(store_count: int, order_count: int) -> float:
            """Orders per store."""
            return order_count / store_count
    ''',
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def commit_update(root: Path, message: str) -> None:
    code, _, err = semdag(root, "snapshot", "update", "-p", "dev")
    assert code == 0, err
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.mark.slow
def test_two_branches_that_change_different_entries_merge_cleanly(tmp_path):
    root = write_files(tmp_path / "shop", MERGE_PROJECT)
    git(root, "init", "-q", "-b", "main")
    commit_update(root, "start")
    assert not (root / ".semdag").exists() or git(root, "ls-files", ".semdag") == ""

    git(root, "checkout", "-q", "-b", "orders")
    edit(root / "metrics/orders.py", '"""Orders."""', '"""Orders placed."""\n    # counted once')
    edit(root / "metrics/orders.py", 'dtype="float", version="1", owner="sales"',
         'dtype="float", version="1", owner="sales-ops"')  # fmt: skip
    commit_update(root, "orders: new owner")

    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-q", "-b", "stores")
    edit(root / "metrics/stores.py", "return n + 1", "return n + 2")
    edit(root / "metrics/stores.py", 'dtype="int64", version="1"', 'dtype="int64", version="2"')
    edit(root / "metrics/stores.py", '"""Store metrics."""', '"""Store metrics, per region."""')
    commit_update(root, "stores: count the depot")

    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "orders")
    git(root, "merge", "-q", "--no-edit", "stores")  # no conflict under snapshots/
    merged = baselines(root)
    registry = json.loads(merged["registry.json"])["entries"]
    assert registry["orders.value.v1"]["tags"]["owner"] == "sales-ops"
    assert registry["stores.count.v1"]["tags"]["version"] == "2"
    # What the merge holds is exactly what an update of the merged code writes.
    assert semdag(root, "snapshot", "check", "-p", "dev", "--fail-on", "any")[0] == 0
    assert semdag(root, "snapshot", "update", "-p", "dev")[0] == 0
    assert baselines(root) == merged
    assert git(root, "status", "--porcelain") == ""


# --- the local cache --------------------------------------------------------------------------


def test_the_state_folder_ignores_itself(example):
    assert semdag(example, "build", "-p", "dev")[0] == 0
    ignore = example / ".semdag" / ".gitignore"
    assert ignore.read_text(encoding="utf-8").splitlines()[-1] == "*"
    git(example, "init", "-q")
    status = git(example, "status", "--porcelain", "--untracked-files=all")
    assert ".semdag" not in status and "configs/dev.yaml" in status


def test_a_stack_module_outside_the_project_is_part_of_the_cache_key(tmp_path, monkeypatch):
    shared = write_files(
        tmp_path / "shared",
        {
            "sharedlib/__init__.py": "",
            "sharedlib/flows.py": '''
                from hamilton.function_modifiers import tag


                @tag(layer="semantic", semantic_id="shared.total.v1", dtype="float", version="1")
                def total(n: int) -> float:
                    """A total from a library outside the project."""
                    return n * 1.0
            ''',
        },
    )
    monkeypatch.syspath_prepend(str(shared))
    root = write_files(
        tmp_path / "app",
        {
            "configs/dev.yaml": """
                stack:
                  core: [sharedlib.flows]
                inputs: {n: 1}
                registry:
                  required_tags: [semantic_id, dtype, version]
            """
        },
    )
    assert semdag(root, "snapshot", "update", "-p", "dev")[0] == 0
    assert semdag(root, "snapshot", "check", "-p", "dev")[0] == 0  # cached from here on
    edit(shared / "sharedlib/flows.py", 'dtype="float"', 'dtype="json"')
    code, out, _ = semdag(root, "snapshot", "check", "-p", "dev", "-f", "json")
    assert code == 1
    rules = [f["rule"] for c in json.loads(out)["data"]["comparisons"] for f in c["findings"]]
    assert "dtype-changed" in rules


def test_installed_modules_the_build_imported_are_part_of_the_cache_key(example):
    from semdag.app.session import Session
    from semdag.config.project import find_project
    from semdag.store import buildcache

    session = Session(command="t", profile_name="dev", project_dir=example)
    session.facts()
    session.finish()  # the cache is written meanwhile by another process
    project, profile = find_project(explicit=example), session.profile
    assert buildcache.lookup(project, profile) is not None
    index = next((example / ".semdag/build-cache").glob("*.index.json")).read_text()
    installed = json.loads(index)["reads"]["installed"]
    assert any("/pandas/" in name for name in installed)
    assert any("/hamilton/" in name for name in installed)


# --- no false green ---------------------------------------------------------------------------

CYCLE = {
    "configs/dev.yaml": """
        stack:
          core: [flows.loop]
        registry:
          required_tags: [semantic_id]
    """,
    "flows/__init__.py": "",
    "flows/loop.py": '''
        from hamilton.function_modifiers import tag


        @tag(layer="semantic", semantic_id="loop.a.v1")
        def a(b: int) -> int:
            """Needs b."""
            return b + 1


        def b(x: int) -> int:
            """Needs x."""
            return x * 2
    ''',
}


def test_a_graph_that_cannot_run_never_passes_the_gate(tmp_path):
    root = write_files(tmp_path / "loop", CYCLE)
    # A valid graph first: x is an input.
    materializer = "materializers: [{id: a_out, to: pickle, dependencies: [a], path: out/a.pkl}]"
    edit(root / "configs/dev.yaml", "stack:", f"inputs: {{x: 1}}\n{materializer}\nstack:")
    assert semdag(root, "snapshot", "update", "-p", "dev")[0] == 0
    before = baselines(root)
    # b now depends on a: a cycle (and x is no longer an input).
    edit(root / "flows/loop.py", "def b(x: int) -> int:", "def b(a: int) -> int:")
    edit(root / "flows/loop.py", "return x * 2", "return a * 2")
    edit(root / "configs/dev.yaml", "inputs: {x: 1}", "inputs: {}")

    code, _, err = semdag(root, "build", "-p", "dev")
    assert code == 1 and "cycle" in err
    code, out, _ = semdag(root, "snapshot", "check", "-p", "dev", "-f", "json")
    assert code == 1
    document = json.loads(out)
    rules = [f["rule"] for c in document["data"]["comparisons"] for f in c["findings"]]
    assert "cycle" in rules and document["ok"] is False
    code, _, err = semdag(root, "snapshot", "update", "-p", "dev")
    assert code == 1 and "left as it was" in err and "cycle" in err
    assert baselines(root) == before
    for command in (["execute", "--output", "a"], ["materialize"]):
        code, out, err = semdag(root, *command, "-p", "dev")
        assert code == 1, (command, err)
        assert "dependency cycle a -> b -> a" in err and "RecursionError" not in err + out


@pytest.mark.parametrize(
    ("rule", "old", "new"),
    [
        ("missing-input", "inputs: {x: 1}\n", ""),
        ("invalid-tag-value", 'semantic_id="loop.a.v1"', 'semantic_id="loop.a.v1", version="0"'),
    ],
)
def test_each_validate_error_fails_the_check_even_with_no_registry_change(tmp_path, rule, old, new):
    root = write_files(tmp_path / "gate", CYCLE)
    edit(root / "configs/dev.yaml", "stack:", "inputs: {x: 1}\nstack:")
    assert semdag(root, "snapshot", "update", "-p", "dev")[0] == 0
    target = root / ("configs/dev.yaml" if rule == "missing-input" else "flows/loop.py")
    edit(target, old, new)
    code, out, _ = semdag(root, "snapshot", "check", "-p", "dev", "-f", "json")
    assert code == 1
    found = [f for c in json.loads(out)["data"]["comparisons"] for f in c["findings"]]
    assert rule in [f["rule"] for f in found]
    assert all(not f["acknowledged"] for f in found if f["rule"] == rule)


# --- reading yesterday's baselines ------------------------------------------------------------


def test_baselines_of_the_first_format_compare_without_false_findings(tmp_path):
    root = tmp_path / "layered"
    shutil.copytree(FIXTURES / "layered", root)
    (root / "snapshots/dev").mkdir(parents=True)
    for name in ("registry.json", "graph.json"):
        shutil.copy(FIXTURES / "legacy_v1" / name, root / "snapshots/dev" / name)
    code, out, err = semdag(root, "snapshot", "check", "-p", "dev", "--fail-on", "any")
    assert code == 0, out + err
    # A real change of logic is still seen through the old hashes.
    edit(root / "stack/core.py", "return raw_value * 1.5", "return raw_value * 2.5")
    code, out, _ = semdag(root, "snapshot", "check", "-p", "dev", "-f", "json", "--no-cache")
    rules = [f["rule"] for c in json.loads(out)["data"]["comparisons"] for f in c["findings"]]
    assert "code-changed" in rules
    # The next update writes the new format.
    assert semdag(root, "snapshot", "update", "-p", "dev")[0] == 0
    assert json.loads(baselines(root)["registry.json"])["schema_version"] == 2


# --- dtype ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "output", "ok"),
    [
        ("float", "Series", True),
        ("float", "float", True),
        ("int64", "int", True),
        ("float", "int", False),
        ("str", "ndarray", True),
        ("json", "MyModel", True),
        ("decimal(18,2)", "Decimal", True),
        ("decimal(18,2)", "Series", True),
        ("decimal(18,2)", "float", False),
        ("record", "DataFrame", True),
        ("money", "float", False),  # not in the vocabulary
    ],
)
def test_dtype_is_an_element_type(dtype, output, ok):
    from semdag.core.dtypes import dtype_problem

    assert (dtype_problem(dtype, output) is None) is ok


def test_a_project_extends_the_dtype_vocabulary(tmp_path):
    from semdag.core.dtypes import dtype_problem

    assert dtype_problem("money", "Decimal", {"money": ("Decimal",)}) is None
    assert dtype_problem("money", "str", {"money": ("Decimal",)}) is not None
    assert dtype_problem("geo", "Point", {"geo": None}) is None
    root = write_files(tmp_path / "p", CYCLE)
    edit(root / "configs/dev.yaml", "stack:", "inputs: {x: 1}\nstack:")
    edit(
        root / "flows/loop.py", 'semantic_id="loop.a.v1"', 'semantic_id="loop.a.v1", dtype="money"'
    )
    code, out, err = semdag(root, "validate", "-p", "dev")
    assert code == 1 and "'money' is not in the vocabulary" in out + err
    edit(root / "configs/dev.yaml", "registry:", "registry:\n  dtypes: {money: [int]}")
    assert semdag(root, "validate", "-p", "dev")[0] == 0
    edit(root / "configs/dev.yaml", "{money: [int]}", "{money: [Decimal]}")
    code, out, err = semdag(root, "validate", "-p", "dev")
    assert code == 1 and "does not fit the output type int" in out + err
    edit(root / "configs/dev.yaml", "{money: [Decimal]}", "{money: 3}")
    code, _, err = semdag(root, "validate", "-p", "dev")
    assert code == 2 and "registry.dtypes.money" in err


def test_a_registry_read_from_an_old_baseline_writes_back_as_that_version() -> None:
    from semdag.core.registry import LEGACY_HASH_SCHEME
    from semdag.store.snapshot import registry_from_document

    old = {"kind": "semdag.registry", "schema_version": 1, "profile": "dev", "entries": {}}
    read = registry_from_document(old, "snapshots/dev/registry.json")
    assert read.hash_scheme == LEGACY_HASH_SCHEME
    written = read.as_document()
    assert written["schema_version"] == 1
    assert registry_from_document(written, "x") == read
