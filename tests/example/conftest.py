"""Fixtures for the bundled example: profiles read from configs/*.yaml, drivers built directly.

The drivers are assembled with Hamilton's own Builder (not semdag), so these tests pin down
what the example modules do on Hamilton itself.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIGS_DIR = PROJECT_ROOT / "configs"
# The example's modules are importable by dotted name from the project root.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from hamilton import driver  # noqa: E402
from hamilton.execution import executors  # noqa: E402

from tests.conftest import write_files  # noqa: E402

PROFILES = ("base", "dev", "prod", "parallel")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value in ``top`` replaces the one in ``base``."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _expand_env(value: Any) -> Any:
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    return value


def _read_profile(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ValueError(f"extends cycle: {' -> '.join(map(str, (*seen, path)))}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    parents = data.pop("extends", [])
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = deep_merge(merged, _read_profile(path.parent / parent, (*seen, path)))
    return deep_merge(merged, data)


@cache
def _cached_profile(name: str) -> dict[str, Any]:
    return _expand_env(_read_profile(CONFIGS_DIR / f"{name}.yaml"))


def load_profile(name: str) -> dict[str, Any]:
    """The profile ``configs/<name>.yaml`` with ``extends`` merged and ``${VAR}`` expanded."""
    return copy.deepcopy(_cached_profile(name))


def _forget_foreign_example_modules() -> None:
    """Other test files build copies of the example in this same process (one pytest worker
    runs many files), which leaves their ``modules`` package in ``sys.modules``: forget it,
    so that the names import from this project again."""
    top = sys.modules.get("modules")
    here = PROJECT_ROOT / "modules" / "__init__.py"
    if top is None or Path(getattr(top, "__file__", "") or "").resolve() == here:
        return
    for name in [n for n in sys.modules if n == "modules" or n.startswith("modules.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture(autouse=True)
def _example_modules_from_this_project() -> None:
    _forget_foreign_example_modules()


def stack_modules(profile: dict[str, Any]) -> list[tuple[str, ModuleType]]:
    """(layer, module) pairs in stack order."""
    _forget_foreign_example_modules()
    return [
        (layer, importlib.import_module(name))
        for layer, names in profile["stack"].items()
        for name in names
    ]


def allows_overrides(profile: dict[str, Any]) -> bool:
    """True when some layer of the stack may override (by default only ``overrides``)."""
    policy = profile.get("layers", {})
    return any(
        policy.get(layer, {}).get("allow_overrides", layer == "overrides")
        for layer in profile["stack"]
    )


def build_driver(
    profile: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    modules: list[ModuleType] | None = None,
) -> driver.Driver:
    """A Hamilton driver for ``profile``; ``config`` entries are laid over the profile's config."""
    mods = modules if modules is not None else [m for _, m in stack_modules(profile)]
    builder = (
        driver.Builder().with_modules(*mods).with_config({**profile["config"], **(config or {})})
    )
    if allows_overrides(profile):
        builder = builder.allow_module_overrides()
    execution = profile.get("execution") or {}
    if execution.get("dynamic"):
        assert execution.get("executor", "sync") == "sync", "the example tests run in-process"
        builder = (
            builder.enable_dynamic_execution(allow_experimental_mode=True)
            .with_local_executor(executors.SynchronousLocalTaskExecutor())
            .with_remote_executor(executors.SynchronousLocalTaskExecutor())
        )
    return builder.build()


@cache
def profile_driver(name: str) -> driver.Driver:
    """One driver per profile for the whole session; building them is the slow part."""
    return build_driver(load_profile(name))


# A 124-line function with 61 branches: far over both budgets, so the caps in
# modules.core.metrics apply to it.
BIG_FUNCTION = (
    "def sprawling(x):\n"
    + "".join(f"    if x == {i}:\n        x += {i}\n" for i in range(61))
    + "    return x\n"
)

# A tiny repository with hand-checked metrics (see test_example_scanner.py for the numbers).
SAMPLE_TREE: dict[str, str] = {
    "pkg/__init__.py": "",
    "pkg/core.py": '''
        def simple(a, b):
            """Adds."""
            return a + b


        def branchy(x, *args, flag=False, **kw):
            if x > 0 and flag:
                for i in range(x):
                    if i % 2 or i % 3:
                        x += 1
            elif x < 0:
                while x < 0:
                    x += 1
            try:
                with open("f") as fh:
                    fh.read()
            except OSError:
                pass
            except ValueError:
                pass
            evens = [i for i in range(x) if i % 2 if i > 1]
            return evens if x else None


        def matcher(cmd):
            match cmd:
                case "a":
                    return 1
                case "b":
                    return 2
                case _:
                    return 0


        class Greeter:
            """Greets."""

            def __init__(self, name):
                self.name = name

            def _secret(self):
                def inner():
                    return 1 if self.name else 2
                return inner()
        ''',
    "pkg/compat.py": """
        import sys

        if sys.version_info >= (3, 11):
            def now():
                return 1
        else:
            def now():
                return 2
        """,
    "pkg/_private.py": """
        def helper():
            return 1
        """,
    "pkg/big.py": BIG_FUNCTION,
    "pkg/broken.py": """
        def oops(:
            pass
        """,
    "tests/test_core.py": """
        def test_simple():
            assert True
        """,
}


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample tree (one file does not parse), shared read-only by the session."""
    return write_files(tmp_path_factory.mktemp("repos") / "sample", SAMPLE_TREE)


# Nodes inside a Parallelizable block cannot be requested as outputs.
_NOT_REQUESTABLE = frozenset({"source_file", "file_scan"})


def execute_all(dr: driver.Driver, repo_root: Path) -> dict[str, Any]:
    """Every computable node of ``dr`` for the tree at ``repo_root``."""
    outputs = [
        v.name
        for v in dr.list_available_variables()
        if not v.is_external_input and v.name not in _NOT_REQUESTABLE
    ]
    return dr.execute(outputs, inputs={"repo_root": str(repo_root)})


@pytest.fixture(scope="session")
def sample_run(sample_root: Path) -> Callable[[str], dict[str, Any]]:
    """All node values of a profile on the sample tree, computed once per profile."""
    results: dict[str, dict[str, Any]] = {}

    def run(name: str) -> dict[str, Any]:
        if name not in results:
            results[name] = execute_all(profile_driver(name), sample_root)
        return results[name]

    return run


@pytest.fixture
def dr_for() -> Callable[[str], driver.Driver]:
    """Session-cached driver for a profile by name."""
    return profile_driver


# Helpers are handed out as fixtures so tests never import this conftest by name (that breaks
# under pytest's importlib import mode).
@pytest.fixture
def project_root() -> Path:
    """The project root (parent of ``modules/`` and ``configs/``)."""
    return PROJECT_ROOT


@pytest.fixture
def profile() -> Callable[[str], dict[str, Any]]:
    """Loads ``configs/<name>.yaml`` with ``extends`` merged."""
    return load_profile


@pytest.fixture
def build() -> Callable[..., driver.Driver]:
    """``build(profile_dict, config=..., modules=...)`` -> a fresh driver."""
    return build_driver


@pytest.fixture
def tree() -> Callable[[Path, dict[str, str]], Path]:
    """``tree(root, {relative path: source})`` writes a source tree and returns ``root``."""
    return write_files
