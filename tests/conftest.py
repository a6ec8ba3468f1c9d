"""Shared fixtures: fixture projects copied to a temp dir, and CLI runners."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # With whole files per worker (`-n 2 --dist loadfile`), pytest-xdist by default hands out
    # the files with the most tests first, which leaves the long files of one or two tests
    # (the benchmark smoke run, the determinism matrix) to the end, where one worker runs them
    # while the other idles. The order below (slow files first) is kept instead.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a test marked slow run first, so that short files fill the end; files
    that leave threads behind run last, so that the tests before them may fork workers."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    lingering = {item.path for item in items if item.get_closest_marker("lingering_threads")}
    items.sort(key=lambda item: (item.path in lingering, item.path not in slow))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(args: list[str], cwd: Path | None = None) -> Result:
    """Invoke the CLI in-process (stdout and stderr kept apart)."""
    from semdag.cli import app

    runner = CliRunner()
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(app, args, catch_exceptions=False)
    finally:
        os.chdir(old)
    return Result(result.exit_code, result.stdout, result.stderr)


def copy_example(root: Path) -> Path:
    """Copy the bundled example (modules, configs, pyproject) to ``root``, without baselines."""
    root.mkdir(parents=True)
    for name in ("modules", "configs"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.fixture(scope="session")
def example_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example with fresh dev baselines, made once per test process: tests get a
    copy (:func:`example`) and never change this one."""
    root = copy_example(tmp_path_factory.mktemp("example-template") / "example")
    done = run_cli(["snapshot", "update", "-p", "dev", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    return root


@pytest.fixture
def example(example_template: Path, tmp_path: Path) -> Path:
    """The bundled example copied, with fresh dev baselines and the local state writing them
    left (as after ``semdag snapshot update -p dev``): the test's own to edit."""
    root = tmp_path / "example"
    shutil.copytree(example_template, root)
    return root


def run_process(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> Result:
    """Run ``python -m semdag`` in a subprocess."""
    done = subprocess.run(
        [sys.executable, "-m", "semdag", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)


# Libraries too heavy to import when a command can do without them.
HEAVY = ("dask", "graphviz", "hamilton", "numpy", "pandas", "polars")
_PROBE = """
import json, sys
from semdag.cli import main
args, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
try:
    code = main(args)
except SystemExit as done:
    code = done.code if isinstance(done.code, int) else 1
loaded = sorted({name.split(".")[0] for name in sys.modules} & heavy)
print(json.dumps({"code": code, "heavy": loaded}), file=sys.stderr)
"""


@dataclass
class Probe:
    """A CLI run in a fresh interpreter: its exit code, its output, and the heavy libraries
    (top-level names from :data:`HEAVY`) it imported."""

    code: int
    stdout: str
    heavy: list[str]


def run_probe(args: list[str], cwd: Path | None = None) -> Probe:
    """Run ``semdag ARGS`` in a fresh interpreter (the build cache on) and see what it
    imported."""
    env = {k: v for k, v in os.environ.items() if k != "SEMDAG_NO_BUILD_CACHE"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return Probe(report["code"], done.stdout, report["heavy"])


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    """A copy of the three-layer fixture project."""
    target = tmp_path / "layered"
    shutil.copytree(FIXTURES / "layered", target)
    return target


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def project_factory(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Make a project from a mapping of relative path -> text."""
    counter = iter(range(1000))

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / f"project{next(counter)}"
        root.mkdir()
        return write_files(root, files)

    return make
