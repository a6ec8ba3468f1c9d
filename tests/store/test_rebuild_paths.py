"""Which way a profile is built after an edit, and why: `--debug` says it on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

KINDS = '''
class Kind(float):
    """A float that says what it is."""


def base(x: float) -> Kind:
    return Kind(x)
'''
USES = """
from pkg.helper import FACTOR
from pkg.kinds import Kind


def doubled(base: Kind) -> float:
    return base * FACTOR
"""
PLAIN = '''
from hamilton.function_modifiers import tag


@tag(owner="a")
def plain(x: float) -> float:
    """Plain."""
    return x + 1


def plainer(plain: float) -> float:
    return plain * 2
'''


@pytest.fixture
def project(project_factory) -> Path:
    return project_factory(
        {
            "pkg/__init__.py": "",
            "pkg/helper.py": "FACTOR = 2\n",
            "pkg/kinds.py": KINDS,
            "pkg/uses.py": USES,
            "pkg/plain.py": PLAIN,
            "configs/dev.yaml": (
                "stack:\n  core: [pkg.kinds, pkg.plain]\n  plugins: [pkg.uses]\ninputs:\n  x: 1.0\n"
            ),
        }
    )


def _check(project: Path, *extra: str) -> tuple[int, str, str]:
    done = run_cli(["snapshot", "check", "--project-dir", str(project), "-f", "json", *extra])
    return done.exit_code, done.stdout, done.stderr


# (file, text, its replacement, what --debug says, whether the build succeeds and is kept)
@pytest.mark.parametrize(
    ("file", "old", "new", "said", "kept"),
    [
        (
            "pkg/plain.py",
            "x + 1",
            "x + 2",
            "debug: partial rebuild of dev: 1 of 3 modules changed (pkg/plain.py)",
            True,
        ),
        (
            "pkg/plain.py",
            "plain * 2",
            "plain * 2 + missing",
            "debug: partial rebuild of dev: 1 of 3 modules changed (pkg/plain.py)",
            True,
        ),
        (
            "pkg/helper.py",
            "2",
            "3",
            "debug: full build of dev: module file pkg/helper.py changed",
            True,
        ),
        (
            "pkg/kinds.py",
            "Kind(x)",
            "Kind(x * 2)",
            "debug: full build of dev: pkg/kinds.py changed, imported by 1 module (pkg.uses)",
            True,
        ),
        (
            "pkg/plain.py",
            "def plainer(plain: float)",
            "def plainer(plain: int)",
            "debug: full build of dev: plainer takes plain as int, not float",
            False,
        ),
        (
            "pkg/plain.py",
            "def plain(",
            "def plain(:",
            "debug: full build of dev: rebuilding pkg.plain failed: module pkg.plain does not "
            "import: SyntaxError",
            False,
        ),
    ],
)
def test_an_edit_is_rebuilt_as_a_full_build_answers(project, file, old, new, said, kept):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0  # the cache and the record of every module
    path = project / file
    path.write_text(path.read_text().replace(old, new))
    code, out, err = _check(project, "--debug")
    assert said in err
    full_code, full_out, _ = _check(project, "--no-cache")
    assert (code, out) == (full_code, full_out)
    # A build that succeeds is kept: the next check answers from it.
    assert (_check(project, "--debug")[2].count("debug:") == 0) is kept


def test_a_damaged_record_is_a_full_build(project):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0
    for record in (project / ".semdag" / "build-cache").glob("*.modules.jsonl"):
        record.write_text(record.read_text()[:-40])
    path = project / "pkg/plain.py"
    path.write_text(path.read_text().replace("x + 1", "x + 3"))
    code, out, err = _check(project, "--debug")
    assert "debug: full build of dev: the record of what each module contributed is damaged" in err
    assert (code, out) == _check(project, "--no-cache")[:2]


def test_a_baseline_that_does_not_read_after_an_edit_is_said_without_a_full_build(project):
    assert run_cli(["snapshot", "update", "--project-dir", str(project)]).exit_code == 0
    assert _check(project)[0] == 0
    (project / "snapshots/dev/registry.json").write_text("{not json")
    path = project / "pkg/plain.py"
    path.write_text(path.read_text().replace("x + 1", "x + 4"))
    code, out, err = _check(project, "--debug")
    # The comparison's error is the answer: it is no reason to build again in full.
    assert "debug: full build" not in err and "BaselineError" in err
    assert "registry.json" in out and code != 0
    assert (code, out) == _check(project, "--no-cache")[:2]
