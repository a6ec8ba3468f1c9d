"""Tables never cut their key columns: other columns wrap or are left out (said on stderr),
on a terminal and in a pipe that says its width with ``COLUMNS``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from semdag.cli import console
from semdag.cli.tables import Column, fit
from tests.conftest import run_cli


def test_fit_keeps_every_key_column_and_the_other_columns_that_fit():
    columns = [Column("id", key=True), Column("wide"), Column("n"), Column("name", key=True)]
    rows = [("a" * 30, "w" * 40, "1", "b" * 30)]
    assert fit(columns, rows, 200) == [0, 1, 2, 3]
    # 30 + 30 + 2 gaps = 62; "wide" needs 8 + 2 more, "n" 1 + 2 more.
    assert fit(columns, rows, 75) == [0, 1, 2, 3]
    assert fit(columns, rows, 70) == [0, 2, 3]  # "wide" left out, the narrow "n" kept
    assert fit(columns, rows, 64) == [0, 3]
    assert fit(columns, rows, 40) == [0, 3]  # keys are never dropped, even when too wide


@pytest.fixture(autouse=True)
def fresh_consoles() -> Iterator[None]:
    """The stdout console reads its width when made: make it anew for each test."""
    console.reset()
    yield
    console.reset()


@pytest.fixture
def terminal(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "dumb")
    console.force_terminal(True)
    yield
    console.force_terminal(None)


def ids(example) -> list[str]:
    done = run_cli(["registry", "-f", "json", "--project-dir", str(example)])
    return sorted(json.loads(done.stdout)["data"]["entries"])


def check_full_ids(text: str, wanted: list[str], width: int) -> None:
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    assert "…" not in text
    shown = sorted(line.split()[0] for line in lines[1:])
    assert shown == wanted


def test_registry_at_80_columns_on_a_terminal_shows_every_id_whole(example, terminal):
    done = run_cli(["registry", "--project-dir", str(example)])
    assert done.exit_code == 0
    check_full_ids(re.sub(r"\x1b\[[0-9;]*m", "", done.stdout), ids(example), 80)
    assert "left out to fit 80 columns: " in done.stderr
    assert "(see them with semdag registry -f json)" in done.stderr


@pytest.mark.parametrize("width", [80, 120])
def test_a_pipe_honours_columns(example, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    console.reset()
    done = run_cli(["registry", "--project-dir", str(example)])
    assert done.exit_code == 0
    check_full_ids(done.stdout, ids(example), width)
    done = run_cli(["ls", "--semantic", "--project-dir", str(example)])
    assert done.exit_code == 0
    assert all(len(line.rstrip()) <= width for line in done.stdout.splitlines())
    assert "…" not in done.stdout
    for sid in ids(example):
        assert re.search(rf"\s{re.escape(sid)}(\s|$)", done.stdout, re.MULTILINE), sid


def test_keys_wider_than_the_pipe_wrap_but_are_never_cut(example, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    console.reset()
    done = run_cli(["registry", "--project-dir", str(example)])
    assert done.exit_code == 0
    assert all(len(line.rstrip()) <= 40 for line in done.stdout.splitlines())
    assert "…" not in done.stdout
    text = "".join(line.split(" ")[0] for line in done.stdout.splitlines()[1:])
    for sid in ids(example):
        assert sid in text


def test_a_pipe_without_columns_cuts_and_leaves_out_nothing(example, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    console.reset()
    done = run_cli(["registry", "--project-dir", str(example)])
    assert done.exit_code == 0
    assert done.stdout.splitlines()[0].split() == [
        "semantic_id", "node", "layer", "entity", "grain", "dtype", "version", "owner"
    ]  # fmt: skip
    assert "left out" not in done.stderr


def test_the_override_ledger_wraps_its_places_instead_of_cutting_them(example, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    console.reset()
    done = run_cli(["build", "--project-dir", str(example)])
    assert done.exit_code == 0, done.stderr
    ledger = done.stdout.split("override ledger", 1)[1]
    assert "…" not in ledger
    assert all(len(line) <= 80 for line in ledger.splitlines())
    cells = "".join(line.split("│")[3].strip() for line in ledger.splitlines() if "│" in line)
    assert "(modules/overrides/recalibration.py:16)" in cells
