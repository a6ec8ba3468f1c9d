"""Every command's --help shows at least one example of its use."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

COMMANDS = [
    ["build"],
    ["validate"],
    ["ls"],
    ["show"],
    ["registry"],
    ["export"],
    ["render"],
    ["execute"],
    ["materialize"],
    ["snapshot", "update"],
    ["snapshot", "check"],
    ["diff"],
    ["rules"],
    ["verify"],
    ["init"],
    ["review"],
    ["merge-baselines"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_an_example(command):
    done = run_cli([*command, "--help"])
    assert done.exit_code == 0
    assert f"Example: semdag {' '.join(command)} " in done.stdout
