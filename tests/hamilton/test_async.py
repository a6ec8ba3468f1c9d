"""``async def`` nodes: refused by validate (``async-node``) and by a run, before anything runs."""

from __future__ import annotations

import json

from tests.conftest import run_cli

MODULE = """
import asyncio


async def fetched() -> int:
    await asyncio.sleep(0)
    return 1


def doubled(fetched: int) -> int:
    return fetched * 2


def other() -> int:
    return 3
"""


def project(project_factory):
    return project_factory(
        {"p/__init__.py": "", "p/m.py": MODULE, "configs/dev.yaml": "stack:\n  core: [p.m]\n"}
    )


def test_validate_refuses_an_async_node_with_a_clear_finding(project_factory):
    root = project(project_factory)
    done = run_cli(["validate", "-f", "json", "--project-dir", str(root)])
    assert done.exit_code == 1
    assert done.stderr == ""
    (found,) = json.loads(done.stdout)["data"]["findings"]
    assert (found["rule"], found["severity"], found["file"], found["line"]) == (
        "async-node",
        "error",
        "p/m.py",
        4,
    )
    assert found["message"].startswith("fetched is an async def: semdag runs graphs on ")


def test_a_run_that_needs_it_is_refused_before_it_starts(project_factory):
    root = project(project_factory)
    done = run_cli(["execute", "--output", "doubled", "--project-dir", str(root)])
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == (
        "semdag execute: error: p/m.py:4: cannot run: fetched is an async def, which "
        "Hamilton's synchronous driver does not await (make it a plain def)\n"
    )
    done = run_cli(["execute", "--output", "other", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
