"""The shared options: declared once (semdag/cli/options.py), added by `command()` to each
command that takes them; a command function declares only its own options.

Which command takes which shared option is a table here; the build-cache option has an
explicit name (`--no-build-cache`, `--no-cache` kept) that no one confuses with Hamilton's
result cache (`execute --cache/--no-cache`).
"""

from __future__ import annotations

import ast
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
from tests.conftest import ROOT, run_cli

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


# The parameter name `session_of(ctx)` reads each shared option under.
PARAMETER_OF = {
    "--profile": "profile",
    "--config": "config_file",
    "--set": "sets",
    "--project-dir": "project_dir",
    "--debug": "debug",
    "--format": "fmt",
    "--no-build-cache": "no_build_cache",
}


def shared_params(path: str) -> list[Any]:
    """The click parameters of the shared options a command takes, in --help order."""
    return [p for p in click_command(path).params if set(p.opts) & set(PARAMETER_OF)]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_commands_are_plain_functions_of_their_own_options(path: str) -> None:
    # What Typer sees of the function is its own signature: nothing rewritten or wrapped.
    function = dict(registered())[path]
    assert "__signature__" not in vars(function)
    assert not hasattr(function, "__wrapped__")
    assert function.__module__.startswith("semdag.cli.")
    own = inspect.signature(function, follow_wrapped=False).parameters
    # The typer.Context it takes first is Typer's to pass, not an option.
    assert next(iter(own.values())).annotation in (typer.Context, "typer.Context")
    assert not set(own) & set(PARAMETER_OF.values()), "a shared option declared again"
    # The click command: the function's own options, then the shared ones.
    names = [p.name for p in click_command(path).params]
    shared = [p.name for p in shared_params(path)]
    assert names == [*list(own)[1:], *shared]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_shared_options_have_the_names_the_session_reads(path: str) -> None:
    named = {opt: p.name for p in shared_params(path) for opt in p.opts if opt in PARAMETER_OF}
    assert named == {opt: PARAMETER_OF[opt] for opt in EXPECTED[path] if opt in PARAMETER_OF}
    # In the same order everywhere, -f/--format last.
    order = list(PARAMETER_OF.values())
    order.append(order.pop(order.index("fmt")))
    listed = [p.name for p in shared_params(path)]
    assert listed == [name for name in order if name in listed]


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_shared_options_are_the_same_everywhere(path: str) -> None:
    reference = {p.name: p for p in click_command("build").params}
    for param in shared_params(path):
        if param.name == "fmt":
            continue  # each command has its own output forms
        same = reference[param.name]
        assert (param.opts, param.secondary_opts, param.help, param.metavar) == (
            same.opts,
            same.secondary_opts,
            same.help,
            same.metavar,
        )
        assert (param.default, param.multiple, param.rich_help_panel) == (
            same.default,
            same.multiple,
            "Shared options",
        )


def option_declarations() -> Iterator[tuple[str, str]]:
    """(module, option name) for every `typer.Option("--name", ...)` under semdag/cli."""
    for module in sorted((ROOT / "semdag/cli").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "Option"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        yield module.name, arg.value


def test_each_shared_option_is_declared_once_in_one_place() -> None:
    declared = [(module, name) for module, name in option_declarations() if name in PARAMETER_OF]
    assert sorted(declared) == sorted(("options.py", name) for name in PARAMETER_OF)


def test_a_command_that_declares_a_shared_option_again_is_refused() -> None:
    from semdag.cli.options import Shared, command

    group = typer.Typer(name="group")

    @command("twice", target=group, options=Shared.DEBUG)
    def twice(ctx: typer.Context, debug: bool = False) -> None:
        """Declares --debug itself."""

    with pytest.raises(TypeError, match=r"group twice: shared options declared again"):
        typer.main.get_command(group)


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
