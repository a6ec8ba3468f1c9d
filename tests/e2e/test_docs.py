"""docs/cli.md is generated from the CLI and stays true; every command and option is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from semdag.cli.docgen import documented_commands, generate
from tests.conftest import ROOT, run_cli

CLI_MD = ROOT / "docs/cli.md"
# CONTRACT §3: the commands users, hooks and CI rely on.
CONTRACT_COMMANDS = (
    "build",
    "validate",
    "ls",
    "show",
    "registry",
    "export",
    "render",
    "execute",
    "materialize",
    "snapshot update",
    "snapshot check",
    "diff",
    "rules",
    "verify",
    "init",
)


def test_cli_md_is_up_to_date():
    committed = CLI_MD.read_text(encoding="utf-8") if CLI_MD.is_file() else ""
    assert committed == generate(), "docs/cli.md is out of date: run `make docs`"


def test_make_docs_command_is_deterministic():
    # `make docs` runs exactly this; another hash seed must not reorder anything.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-m", "semdag.cli.docgen"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout == generate()


def test_every_command_and_option_has_help():
    missing = []
    for doc in documented_commands():
        if not doc.help:
            missing.append(doc.path)
        missing += [f"{doc.path} {p.label}" for p in doc.params if not p.help]
    assert missing == [], f"add help text to: {', '.join(missing)}"
    assert "(undocumented)" not in generate()


@pytest.mark.parametrize("name", CONTRACT_COMMANDS)
def test_contract_command_is_documented(name):
    paths = {doc.path for doc in documented_commands()}
    assert f"semdag {name}" in paths, f"`semdag {name}` is not a command"
    assert f"\n## `semdag {name}`\n" in generate()


def test_every_option_appears_in_the_reference():
    text = generate()
    for doc in documented_commands():
        section = text.split(f"\n## `{doc.path}`\n", 1)[1].split("\n## ", 1)[0]
        assert f"{doc.path} [OPTIONS]" in section
        for param in doc.params:
            assert f"- `{param.label}`: {param.help}" in section, (doc.path, param.label)


def test_defaults_are_documented():
    text = generate()
    check = text.split("\n## `semdag snapshot check`\n", 1)[1]
    assert re.search(r"- `--fail-on [A-Z]+`: .*Default: `breaking`\.", check)
    assert re.search(r"- `-f, --format [A-Z]+`: .*Default: `text`\.", check)


def test_shell_completion_is_available_and_mentioned():
    done = run_cli(["--help"])
    assert done.exit_code == 0
    assert "--install-completion" in done.stdout
    assert "--show-completion" in done.stdout
    assert "`semdag --install-completion`" in generate().split("## Commands", 1)[0]


def test_ci_doc_links_resolve():
    text = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((\.\./[^)#]+)\)", text)
    assert links
    for link in links:
        assert (ROOT / "docs" / link).resolve().exists(), link
