"""The build cache answers only what an uncached run would: whatever module code read while
it was imported (a data file, a folder, a path it tested, an environment variable, a helper
found on PYTHONPATH) is part of its key, and an import that does what no record covers is
not cached at all. Each case runs the real command line, warm: in this process (as the
pytest plugin and library use do, every build recording again what the stack's import
read), and in fresh processes where the case is about the process itself (its
``PYTHONPATH``, a subprocess started while importing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Result, run_cli, write_files

pytestmark = pytest.mark.slow

TAGS = 'layer="semantic", entity="repo", grain="per_repo", dtype="int", version="1"'

FROM_FILE = f"""
import json
from pathlib import Path

from hamilton.function_modifiers import parameterize, tag, value

NAMES = json.loads(Path("features.json").read_text())


@tag({TAGS}, semantic_id="t.base.v1")
def base(x: int) -> int:
    return x


@parameterize(**{{name: {{"factor": value(i + 1)}} for i, name in enumerate(NAMES)}})
def scaled(x: int, factor: int) -> int:
    return x * factor
"""

FROM_ENV = f"""
import os

from hamilton.function_modifiers import tag


@tag({TAGS}, semantic_id="t.base.v1")
def base(x: int) -> int:
    return x


if os.environ.get("WITH_EXTRA") == "1":

    @tag({TAGS}, semantic_id="t.extra.v1")
    def extra(base: int) -> int:
        return base + 1
"""

FROM_FOLDER = f"""
import os

from hamilton.function_modifiers import parameterize, tag, value


@tag({TAGS}, semantic_id="t.base.v1")
def base(x: int) -> int:
    return x


QUERIES = sorted(os.listdir("queries"))


@parameterize(**{{n.removesuffix(".sql"): {{"q": value(n)}} for n in QUERIES}})
def query(x: int, q: str) -> int:
    return x + len(q)
"""

FROM_PROBE = f"""
from pathlib import Path

from hamilton.function_modifiers import tag


@tag({TAGS}, semantic_id="t.base.v1")
def base(x: int) -> int:
    return x


if Path("enable_extra").exists():

    @tag({TAGS}, semantic_id="t.extra.v1")
    def extra(base: int) -> int:
        return base + 1
"""

USES_HELPER = """
from hamilton.function_modifiers import tag

from helper_tags import ENTITY


@tag(layer="semantic", semantic_id="t.base.v1", entity=ENTITY, grain="per_repo", dtype="int",
     version="1")
def base(x: int) -> int:
    return x
"""

SUBPROCESS = f"""
import subprocess
import sys

from hamilton.function_modifiers import tag

subprocess.run([sys.executable, "-c", "pass"], check=True)


@tag({TAGS}, semantic_id="t.base.v1")
def base(x: int) -> int:
    return x
"""


def make(root: Path, module: str, profile: str = "", **extra: str) -> Path:
    return write_files(
        root,
        {
            "pyproject.toml": "[tool.semdag]\n",
            "pkg/__init__.py": "",
            "pkg/core.py": module,
            "configs/dev.yaml": "stack:\n  core: [pkg.core]\ninputs: {x: 1}\n" + profile,
            **extra,
        },
    )


_SCRUBBED = ("SEMDAG_NO_BUILD_CACHE", "WITH_EXTRA", "PYTHONPATH")


def semdag(
    root: Path, *args: str, env: dict[str, str] | None = None, fresh: bool = False
) -> Result:
    """``semdag ARGS`` with the build cache on and ``env`` set: in this process, or in a
    fresh one (``fresh``)."""
    argv = [*args, "--project-dir", str(root)]
    if not fresh:
        saved = {k: os.environ.pop(k) for k in (*_SCRUBBED, *(env or {})) if k in os.environ}
        os.environ.update(env or {})
        try:
            return run_cli(argv, cwd=root)
        finally:
            for key in (*_SCRUBBED, *(env or {})):
                os.environ.pop(key, None)
            os.environ.update(saved)
    clean = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    done = subprocess.run(
        [sys.executable, "-m", "semdag", *argv],
        cwd=root,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def baseline_then_check(root: Path, change, env: dict[str, str] | None = None) -> Result:
    """Write baselines, warm the cache with a passing check, make ``change``, check again."""
    assert semdag(root, "snapshot", "update").exit_code == 0
    warm = semdag(root, "snapshot", "check")
    assert warm.exit_code == 0, warm.stderr
    assert cached(root), "the check before the change should be answered from the cache"
    change()
    return semdag(root, "snapshot", "check", "-f", "json", "--fail-on", "any", env=env)


def cached(root: Path, env: dict[str, str] | None = None, fresh: bool = False) -> bool:
    done = semdag(root, "build", "-f", "json", env=env, fresh=fresh)
    assert done.exit_code == 0, done.stdout + done.stderr
    return bool(done.json()["data"]["cached"])


def rules(result: Result) -> list[str]:
    document = json.loads(result.stdout)
    return [f["rule"] for c in document["data"]["comparisons"] for f in c["findings"]]


def test_a_data_file_read_at_import_is_part_of_the_key(tmp_path):
    root = make(tmp_path / "p", FROM_FILE, **{"features.json": '["a", "b"]'})

    def change() -> None:
        (root / "features.json").write_text('["a", "b", "c"]')

    checked = baseline_then_check(root, change)
    assert checked.exit_code == 1, checked.stdout
    assert "graph-changed" in rules(checked)
    listed = semdag(root, "ls", "-f", "json")
    assert "c" in {n["name"] for n in listed.json()["data"]}


def test_an_environment_variable_read_by_module_code_is_part_of_the_key(tmp_path):
    root = make(tmp_path / "p", FROM_ENV)
    checked = baseline_then_check(root, lambda: None, env={"WITH_EXTRA": "1"})
    assert checked.exit_code == 1, checked.stdout
    assert "semantic-added" in rules(checked)
    # Set again, the answer is served from the cache and is the same.
    assert cached(root, env={"WITH_EXTRA": "1"})
    again = semdag(root, "snapshot", "check", "-f", "json", env={"WITH_EXTRA": "1"})
    assert "semantic-added" in rules(again)


def test_a_folder_listed_at_import_is_part_of_the_key(tmp_path):
    root = make(tmp_path / "p", FROM_FOLDER, **{"queries/a.sql": "select 1"})
    checked = baseline_then_check(root, lambda: (root / "queries/b.sql").write_text("select 2"))
    assert checked.exit_code == 1, checked.stdout
    assert "graph-changed" in rules(checked)


def test_a_path_only_tested_for_existence_is_part_of_the_key(tmp_path):
    root = make(tmp_path / "p", FROM_PROBE)
    checked = baseline_then_check(root, lambda: (root / "enable_extra").write_text(""))
    assert checked.exit_code == 1, checked.stdout
    assert "semantic-added" in rules(checked)


def test_a_helper_found_on_another_pythonpath_is_a_miss(tmp_path):
    root = make(tmp_path / "p", USES_HELPER)
    v1 = write_files(tmp_path / "v1", {"helper_tags.py": 'ENTITY = "account"\n'})
    v2 = write_files(tmp_path / "v2", {"helper_tags.py": 'ENTITY = "customer"\n'})
    assert (
        semdag(root, "snapshot", "update", env={"PYTHONPATH": str(v1)}, fresh=True).exit_code == 0
    )
    assert cached(root, env={"PYTHONPATH": str(v1)}, fresh=True)
    checked = semdag(
        root, "snapshot", "check", "-f", "json", env={"PYTHONPATH": str(v2)}, fresh=True
    )
    assert checked.exit_code == 1, checked.stdout
    assert "entity-changed" in rules(checked)
    # Asked again under v2, the answer is still v2's, never the v1 entry's.
    again = semdag(root, "snapshot", "check", "-f", "json", env={"PYTHONPATH": str(v2)}, fresh=True)
    assert "entity-changed" in rules(again)


def test_an_import_that_starts_a_subprocess_is_not_cached_and_build_says_why(tmp_path):
    root = make(tmp_path / "p", SUBPROCESS)
    first = semdag(root, "build", fresh=True)
    assert first.exit_code == 0, first.stderr
    assert "build cache off for dev: pkg.core started a subprocess while importing" in (
        first.stderr
    )
    assert not cached(root, fresh=True)
    assert not (root / ".semdag" / "build-cache").exists() or not any(
        (root / ".semdag" / "build-cache").glob("dev-*.index.json")
    )


CYCLE = f"""
from hamilton.function_modifiers import tag


@tag({TAGS}, semantic_id="t.value.v1")
def value(x: int) -> int:
    return x


def loop_a(loop_b: int) -> int:
    return loop_b


def loop_b(loop_a: int) -> int:
    return loop_a
"""


def test_a_cycle_off_the_outputs_path_fails_every_gate(tmp_path):
    root = write_files(
        tmp_path / "p",
        {
            "pyproject.toml": "[tool.semdag]\n",
            "pkg/__init__.py": "",
            "pkg/core.py": CYCLE,
            "configs/dev.yaml": "stack:\n  core: [pkg.core]\ninputs: {x: 1}\noutputs: [value]\n",
        },
    )
    validated = semdag(root, "validate", "-f", "json")
    assert validated.exit_code == 1
    assert [e["code"] for e in validated.json()["errors"]] == ["cycle"]
    assert semdag(root, "build").exit_code == 1
    updated = semdag(root, "snapshot", "update")
    assert updated.exit_code == 1
    assert "cycle" in updated.stderr
    assert not (root / "snapshots").exists()


def test_a_cycle_added_off_the_outputs_path_fails_the_check(tmp_path):
    acyclic = CYCLE.split("def loop_a")[0]
    root = make(tmp_path / "p", acyclic, profile="outputs: [value]\n")
    checked = baseline_then_check(root, lambda: (root / "pkg/core.py").write_text(CYCLE))
    assert checked.exit_code == 1, checked.stdout
    assert "cycle" in rules(checked)
