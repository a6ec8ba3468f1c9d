"""What a terminal shows: colour by severity, rich help, phases named while they run, and one
verdict line; and what a pipe, ``NO_COLOR`` or a machine format shows instead."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from semdag.cli import console
from semdag.core import progress
from tests.conftest import FIXTURES, ROOT, run_cli

BASIC = FIXTURES / "exec_basic"
RED, BOLD_RED, YELLOW, GREEN = "\x1b[31m", "\x1b[1;31m", "\x1b[33m", "\x1b[32m"
COLOURS = (RED, BOLD_RED, YELLOW, GREEN, "\x1b[91m", "\x1b[93m", "\x1b[92m")


@pytest.fixture
def terminal(monkeypatch) -> Iterator[None]:
    """stdout and stderr behave as an 80-column colour terminal."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(console.Activity, "min_interval", 0.0)
    console.force_terminal(True)
    yield
    console.force_terminal(None)


def coloured(text: str) -> bool:
    return any(code in text for code in COLOURS)


# --- colour ------------------------------------------------------------------------------------


@pytest.fixture
def registries(tmp_path: Path) -> tuple[Path, Path]:
    """Two registry files: one breaking, one warning and one additive change apart."""
    old = json.loads((ROOT / "snapshots/dev/registry.json").read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    first, second, *_ = sorted(new["entries"])
    new["entries"][first]["tags"]["dtype"] = "json"  # dtype-changed: breaking
    new["entries"][second]["dependencies"] = ["something_else"]  # a warning
    added = copy.deepcopy(new["entries"][second])
    added["tags"]["semantic_id"] = "zz.added.v1"
    new["entries"]["zz.added.v1"] = added  # semantic-added: additive
    paths = tmp_path / "old.json", tmp_path / "new.json"
    for path, document in zip(paths, (old, new), strict=True):
        path.write_text(json.dumps(document), encoding="utf-8")
    return paths


def diff(registries: tuple[Path, Path], *args: str):
    return run_cli(
        ["diff", str(registries[0]), str(registries[1]), *args], cwd=registries[0].parent
    )


def test_findings_are_coloured_by_severity_on_a_terminal(terminal, registries):
    done = diff(registries)
    assert done.exit_code == 1
    lines = done.stdout.splitlines()
    breaking = next(line for line in lines if "breaking (" in line)
    assert breaking.startswith(BOLD_RED)
    assert any(line.startswith(f"  {BOLD_RED}dtype-changed:") for line in lines)
    assert any(line.startswith(f"{YELLOW}warning (") for line in lines)
    assert any(line.startswith(f"  {GREEN}semantic-added: zz.added.v1") for line in lines)


@pytest.mark.parametrize("fmt", ["json", "markdown", "github", "junit"])
def test_no_colour_in_machine_formats(terminal, registries, fmt):
    done = diff(registries, "-f", fmt)
    assert done.exit_code == 1
    assert not coloured(done.stdout) and "\x1b[" not in done.stdout


def test_no_colour_with_no_color(terminal, registries, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    console.reset()
    done = diff(registries)
    assert done.exit_code == 1 and "breaking (" in done.stdout
    assert not coloured(done.stdout) and not coloured(done.stderr)


def test_no_colour_in_a_pipe(registries):
    done = diff(registries)
    assert done.exit_code == 1 and "breaking (" in done.stdout
    assert "\x1b[" not in done.stdout + done.stderr


def test_errors_are_red_and_hints_dim_on_a_terminal(terminal, tmp_path):
    done = run_cli(["validate", "--project-dir", str(tmp_path / "nowhere")])
    assert done.exit_code == 2
    assert done.stderr.startswith(f"{RED}semdag validate: error: project directory")


# --- help --------------------------------------------------------------------------------------


def every_command() -> list[list[str]]:
    import typer.main

    from semdag.cli import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_help_uses_panels_and_names_every_placeholder(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    for path in every_command():
        done = run_cli([*path, "--help"])
        assert done.exit_code == 0, path
        assert "╭─ Options" in done.stdout, path
        for placeholder in ("<str>", "<path>", "<int>", "{", "}"):
            assert placeholder not in done.stdout, (path, placeholder)


def test_shared_options_have_their_own_panel():
    done = run_cli(["execute", "--help"])
    options, shared = done.stdout.split("╭─ Shared options")
    assert "--out" in options and "--profile" not in options
    assert "--profile" in shared and "NAME" in shared and "KEY=VALUE" in shared


def test_command_summaries_use_a_wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    done = run_cli(["--help"])
    for summary in (
        "Build and run every baseline-free check; exit 1 on any error-severity finding.",
        "One node: type, tags, layer, module, file:line, doc, dependencies, overrides, registry.",
        "Compare two registry snapshots, or the working tree with a git revision.",
    ):
        assert summary in done.stdout


def test_init_help_lists_only_what_init_uses():
    done = run_cli(["init", "--help"])
    assert done.exit_code == 0
    for absent in ("--config", "--set", "--no-cache"):
        assert absent not in done.stdout
    assert "--force" in done.stdout and "--profile" in done.stdout
    assert "([tool.semdag])" in " ".join(done.stdout.split())  # brackets are not markup


# --- phases ------------------------------------------------------------------------------------


@pytest.fixture
def phases() -> Iterator[list[str]]:
    """Every phase the command names, terminal or not."""
    seen: list[str] = []
    with progress.listening(lambda text: seen.append(text) if text else None):
        yield seen


def test_a_build_names_its_phases(phases):
    done = run_cli(["validate", "--project-dir", str(BASIC), "--no-cache"])
    assert done.exit_code in (0, 1), done.stderr
    assert phases[:2] == [
        "importing exec_basic_mods.flow (module 1 of 1)",
        "building the graph of profile dev (1 modules)",
    ]
    assert "checking the graph" in phases


def test_phases_are_drawn_on_stderr_on_a_terminal(terminal):
    done = run_cli(["execute", "--project-dir", str(BASIC), "--output", "total"])
    assert done.exit_code == 0, done.stderr
    assert "importing exec_basic_mods.flow (module 1 of 1)" in done.stderr
    assert "building the graph of profile dev" in done.stderr
    assert "running values" in done.stderr and "running total" in done.stderr
    # The line is erased before the summary, and never touches the results.
    assert "\x1b[2Kran 1 output(s) in" in done.stderr
    assert "importing" not in done.stdout and "total" in done.stdout


def test_nothing_is_drawn_in_a_pipe():
    done = run_cli(["execute", "--project-dir", str(BASIC), "--output", "total"])
    assert done.exit_code == 0
    assert "importing" not in done.stderr and "running" not in done.stderr
    assert done.stderr.startswith("ran 1 output(s)")


def test_snapshot_check_all_names_each_profile(layered, phases):
    shutil.copy(layered / "configs/dev.yaml", layered / "configs/prod.yaml")
    assert run_cli(["snapshot", "update", "--all", "--project-dir", str(layered)]).exit_code == 0
    assert "writing the baselines of profile prod (2 of 2)" in phases
    phases.clear()
    done = run_cli(["snapshot", "check", "--all", "--no-cache", "--project-dir", str(layered)])
    assert done.exit_code == 0, done.stderr
    # An outer phase is named again when an inner one ends: count each once.
    comparing = [p for p in dict.fromkeys(phases) if p.startswith("comparing")]
    assert comparing == [
        "comparing profile dev with its baseline (1 of 2)",
        "comparing profile prod with its baseline (2 of 2)",
    ]
    assert any(p.startswith("importing ") for p in phases)


def test_diff_against_git_names_what_it_compares(layered, phases, monkeypatch):
    from semdag.app import gate
    from semdag.core.errors import UsageError

    during: list[str] = []

    def comparing(session: Any, ref: str) -> Any:
        during.extend(phases)
        raise UsageError("stopped here")

    monkeypatch.setattr(gate, "diff_against_git", comparing)
    done = run_cli(["diff", "--against", "git:HEAD", "--project-dir", str(layered)])
    assert done.exit_code == 2 and "stopped here" in done.stderr
    assert during == ["comparing the registry with git:HEAD"]


# --- one verdict -------------------------------------------------------------------------------


def test_validate_says_its_verdict_once(layered):
    done = run_cli(["validate", "--project-dir", str(layered)])
    assert done.exit_code == 0
    assert done.stdout == "validate dev: no findings\n"
    assert "validate" not in done.stderr


def test_validate_with_findings_says_its_verdict_once(layered):
    done = run_cli(["validate", "--project-dir", str(layered), "--set", "config.base=1"])
    assert done.exit_code == 0
    verdicts = [line for line in (done.stdout + done.stderr).splitlines() if "validate" in line]
    assert verdicts == ["validate dev: 0 breaking, 1 warning, 0 additive, 0 info"]
