"""The shared options: each command declares the ones it takes as plain Typer parameters.

Which command takes which shared option is a table here; the build-cache option has an
explicit name (`--no-build-cache`, `--no-cache` kept) that no one confuses with Hamilton's
result cache (`execute --cache/--no-cache`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from semdag.cli import app
from semdag.core import progress
from semdag.core.rules import RULES
from tests.conftest import run_cli

BUILD_CACHE = ("--no-build-cache", "--no-cache")
SHARED = ("--profile", "--config", "--set", "--project-dir", "--debug", "--format")
# Commands that may answer from the build cache, those that run nodes (Hamilton's cache is
# their own `--cache/--no-cache`), init (it reads no profile) and rules (it reads no project).
FROM_BUILD_CACHE = (*SHARED, *BUILD_CACHE)
EXPECTED = {
    "build": FROM_BUILD_CACHE,
    "validate": FROM_BUILD_CACHE,
    "ls": FROM_BUILD_CACHE,
    "show": FROM_BUILD_CACHE,
    "registry": FROM_BUILD_CACHE,
    "diff": FROM_BUILD_CACHE,
    "export": FROM_BUILD_CACHE,
    "render": FROM_BUILD_CACHE,
    "review": FROM_BUILD_CACHE,
    "snapshot update": FROM_BUILD_CACHE,
    "snapshot check": FROM_BUILD_CACHE,
    "execute": SHARED,
    "materialize": SHARED,
    "verify": SHARED,
    "init": ("--profile", "--project-dir", "--debug", "--format"),
    "rules": ("--debug", "--format"),
    "merge-baselines": ("--debug",),
}


def registered() -> Iterator[tuple[str, Any]]:
    """(command path, the function registered for it) for every command of the app."""
    for info in app.registered_commands:
        yield str(info.name), info.callback
    for group in app.registered_groups:
        for info in group.typer_instance.registered_commands:
            yield f"{group.name} {info.name}", info.callback


def click_command(path: str) -> Any:
    command = typer.main.get_command(app)
    for word in path.split():
        command = command.commands[word]  # type: ignore[attr-defined]
    return command


def shared_panel(help_text: str) -> str:
    """The "Shared options" box of a command's rich --help."""
    assert "Shared options" in help_text
    return help_text.split("Shared options", 1)[1].split("╰", 1)[0]


def test_the_table_names_every_command():
    assert {path for path, _ in registered()} == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_help_lists_the_shared_options_the_command_takes(path: str) -> None:
    done = run_cli([*path.split(), "--help"])
    assert done.exit_code == 0, done.stderr
    panel = shared_panel(done.stdout)
    listed = {name for name in (*SHARED, *BUILD_CACHE) if name in panel}
    assert listed == set(EXPECTED[path])


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_commands_are_plain_functions(path: str) -> None:
    # What Typer sees is the function's own signature: nothing rewritten or wrapped.
    function = dict(registered())[path]
    assert "__signature__" not in vars(function)
    assert not hasattr(function, "__wrapped__")
    assert function.__module__.startswith("semdag.cli.")
    own = inspect.signature(function, follow_wrapped=False).parameters
    # The typer.Context it takes first is Typer's to pass, not an option.
    assert next(iter(own.values())).annotation in (typer.Context, "typer.Context")
    assert [p.name for p in click_command(path).params] == list(own)[1:]


# The parameter name `shared(ctx, ...)` reads each shared option under: a command that named
# one otherwise would have the option silently ignored.
PARAMETER_OF = {
    "--profile": "profile",
    "--config": "config_file",
    "--set": "sets",
    "--project-dir": "project_dir",
    "--debug": "debug",
    "--format": "fmt",
    "--no-build-cache": "no_build_cache",
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_shared_options_have_the_names_the_session_reads(path: str) -> None:
    named = {
        opt: p.name for p in click_command(path).params for opt in p.opts if opt in PARAMETER_OF
    }
    assert named == {opt: PARAMETER_OF[opt] for opt in named}
    assert set(named) >= {o for o in EXPECTED[path] if o in PARAMETER_OF}


def test_each_cache_option_says_which_cache() -> None:
    ls = {p.name: p for p in click_command("ls").params}["no_build_cache"]
    assert ls.opts == ["--no-build-cache", "--no-cache"]
    assert "build cache" in ls.help and ".semdag/" in ls.help
    assert "not Hamilton's result cache" in ls.help
    execute = {p.name: p for p in click_command("execute").params}["cache"]
    assert (execute.opts, execute.secondary_opts) == (["--cache"], ["--no-cache"])
    assert "Hamilton's result cache" in execute.help and "cache:" in execute.help
    assert "Not semdag's build cache" in execute.help


def ls(project: Path, *args: str) -> tuple[str, list[str]]:
    """``ls``'s JSON document and the phases the command went through."""
    seen: list[str] = []
    with progress.listening(lambda text: seen.append(text) if text else None):
        done = run_cli(["ls", "--project-dir", str(project), "-f", "json", *args])
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["data"]
    return done.stdout, seen


def cache_files(project: Path) -> dict[str, tuple[bytes, int]]:
    state = project / ".semdag"
    return {
        str(p.relative_to(state)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(state.rglob("*"))
        if p.is_file()
    }


# A phase of a build that a build-cache hit skips.
BUILDING = "checking the graph"


@pytest.mark.parametrize("option", BUILD_CACHE)
def test_both_names_bypass_the_build_cache(layered: Path, option: str) -> None:
    # Cold and without the cache: built, and nothing is written to .semdag/.
    bypassed, phases = ls(layered, option)
    assert BUILDING in phases
    assert cache_files(layered) == {}
    # With the cache: the second run is answered from it.
    ls(layered)
    warm = cache_files(layered)
    assert warm
    cached, phases = ls(layered)
    assert BUILDING not in phases
    # Warm, the option still builds, and leaves the cache as it was.
    again, phases = ls(layered, option)
    assert BUILDING in phases
    assert cache_files(layered) == warm
    assert bypassed == cached == again


def test_rules_json_is_one_envelope() -> None:
    done = run_cli(["rules", "--format", "json", "--debug"])
    assert done.exit_code == 0
    assert done.stderr == ""
    document = json.loads(done.stdout)  # exactly one JSON document
    assert document["command"] == "rules" and document["ok"] is True
    assert document["errors"] == []
    assert [row["id"] for row in document["data"]] == [rule.id for rule in RULES]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["build", "-f", "yaml"],
            "semdag build: error: unknown format 'yaml' (choose from text, json)",
        ),
        (
            ["rules", "-f", "yaml"],
            "semdag rules: error: unknown format 'yaml' (choose from text, json)",
        ),
        (
            ["snapshot", "check", "--format", "html"],
            "semdag snapshot check: error: unknown format 'html' "
            "(choose from text, json, markdown, github, junit)",
        ),
        (
            ["execute", "-f", "text"],
            "semdag execute: error: unknown format 'text' (choose from table, json, csv, parquet)",
        ),
    ],
)
def test_unknown_format_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli(args, cwd=tmp_path)
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.strip() == message


def test_unknown_format_json_asked_is_an_envelope(tmp_path: Path) -> None:
    # render has no JSON form; asking for it still gets one JSON document that says so.
    done = run_cli(["render", "-f", "json"], cwd=tmp_path)
    assert done.exit_code == 2
    document = json.loads(done.stdout)
    assert document["command"] == "render" and document["ok"] is False
    assert document["errors"] == [
        {
            "code": "usage_error",
            "file": None,
            "line": None,
            "message": "unknown format 'json' (choose from dot, svg, png, pdf, html, mermaid)",
        }
    ]


def test_help_paragraphs_are_left_for_the_terminal_to_wrap() -> None:
    from semdag.cli.common import help_text

    text = "Writes pyproject.toml ([tool.semdag]),\n  then the baselines.\n\nSecond  one.\n"
    assert (
        help_text(text)
        == "Writes pyproject.toml (\\[tool.semdag]), then the baselines.\n\nSecond one."
    )
