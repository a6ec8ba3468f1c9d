"""The profile is parsed once into typed records: ``execution``, ``cache`` and
``materializers`` included, each error at its key and line when the profile loads."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.config.sections import CacheConfig, DaskConfig, ExecutionConfig, MaterializerConfig
from semdag.core.errors import ConfigError, UsageError

STACK = "stack:\n  core: [pkg.a]\n"
PACKAGE = Path(__file__).parents[2] / "semdag"


def load(project_factory, text, sets=()):
    root = project_factory({"configs/dev.yaml": STACK + text})
    return load_profile(find_project(explicit=root), "dev", sets=sets)


def test_every_section_is_a_typed_record(project_factory):
    profile = load(
        project_factory,
        "execution: {dynamic: true, executor: threads, max_tasks: 3, dask: {n_workers: 4}}\n"
        "cache: {path: .cache, default_behavior: disable, default: [a, b], recompute: true}\n"
        "materializers:\n"
        "  - {id: out, to: json, dependencies: [a, b], path: out/a.json}\n"
        "  - {id: raw, from: csv, path: in.csv}\n",
    )
    assert profile.execution == ExecutionConfig(True, "threads", 3, DaskConfig(None, 4, 10.0))
    assert profile.cache == CacheConfig(
        given=True,
        path=".cache",
        default_behavior="disable",
        lists={"default": ("a", "b"), "recompute": True},
    )
    assert profile.cache.on and profile.cache.names("default") == ("a", "b")
    assert profile.materializers == (
        MaterializerConfig(
            0, "out", "saver", "json", ("a", "b"), None, "dict", {"path": "out/a.json"}
        ),
        MaterializerConfig(1, "raw", "loader", "csv", (), "raw", None, {"path": "in.csv"}),
    )
    empty = load(project_factory, "")
    assert empty.execution == ExecutionConfig() and not empty.cache.on
    assert empty.materializers == ()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "execution:\n  dask: {n_workers: 0}\n",
            4,
            "execution.dask.n_workers: expected an integer",
        ),
        ("execution:\n  dask: {address: localhost}\n", 4, "execution.dask.address: expected a"),
        ("cache:\n  default: true\n  recompute: true\n", 5, "cache.recompute: only one of"),
        (
            "materializers:\n  - {id: a, to: csv, from: csv}\n",
            4,
            "materializers[0] (a): needs exactly one of `to: <saver>` or `from: <loader>`",
        ),
        (
            "materializers:\n  - {id: a, to: csv}\n",
            4,
            "materializers[0] (a): a saver needs `dependencies:`",
        ),
    ],
)
def test_a_bad_section_is_refused_when_the_profile_loads(project_factory, text, line, message):
    with pytest.raises(ConfigError) as info:
        load(project_factory, text)
    assert (info.value.file, info.value.line) == ("configs/dev.yaml", line)
    assert info.value.message.startswith(message)


def test_a_bad_value_from_set_is_blamed_on_the_set(project_factory):
    with pytest.raises(UsageError) as info:
        load(project_factory, "", sets=["execution.dask.timeout=-1"])
    assert info.value.message == (
        "--set execution.dask.timeout=-1: expected a positive number of seconds"
    )


def test_nothing_downstream_reads_a_section_as_a_mapping():
    """No module outside the profile's parser calls .get() on a profile section."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "config" and path.name in ("profile.py", "sections.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "get"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr in ("execution", "cache", "materializers")
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
