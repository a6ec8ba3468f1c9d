"""Hostile and broken input on every surface: one row each, the exit code and the message.

Surfaces: command-line options, profile YAML, module code, snapshot files, the
acknowledgement file, git refs and output paths. Every row also runs with ``--format json``
(where the command has it): stdout must then be exactly one JSON document.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.sample import SAMPLE_MODULE as GOOD
from tests.sample import SAMPLE_PROFILE as PROFILE

PAYLOAD = '!!python/object/apply:os.system ["touch pwned"]'
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else 'x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
)
PATH_IDS = GOOD.replace('semantic_id="t.b.v1"', 'semantic_id="a/b"') + (
    "\n\n@tag(layer='semantic', semantic_id='../x', entity='repo', grain='per_repo',"
    " dtype='int', version='1')\ndef c(a: int) -> int:\n    return a\n"
)
BASELINE = {
    "kind": "semdag.registry",
    "schema_version": 2,
    "profile": "dev",
    "entries": {},
}


def project(**files: str | bytes) -> dict[str, str | bytes]:
    """The good project, with ``files`` (path with ``/`` written as ``__``) replaced."""
    out: dict[str, str | bytes] = {
        "pkg/__init__.py": "",
        "pkg/good.py": GOOD,
        "configs/dev.yaml": PROFILE,
    }
    out.update({name.replace("__", "/"): text for name, text in files.items()})
    return out


def module(name: str, code: str) -> dict[str, str | bytes]:
    """A project whose only stack module is ``pkg/<name>.py``."""
    return project(
        **{
            f"pkg__{name}.py": code,
            "configs__dev.yaml": f"stack:\n  core: [pkg.{name}]\ninputs:\n  x: 1\n",
        }
    )


def baseline(text: str | bytes) -> dict[str, str | bytes]:
    return {"snapshots__dev__registry.json": text}


def _git(root: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *command], cwd=root, env=env, check=True, capture_output=True)


def _full_link(root: Path) -> None:
    # A link in the project, so that a regression could only ever replace the link.
    (root / "full.json").symlink_to("/dev/full")


def _snapshot_first(root: Path) -> None:
    assert invoke(["snapshot", "update"], root).exit_code == 0


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes]
    args: list[str]
    code: int
    phrase: str
    json: bool = True  # the command has --format json
    setup: Callable[[Path], None] | None = None
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    # --- command-line options ---
    Case("cli-unknown-option", project(), ["validate", "--bogus"], 2, "No such option: --bogus"),
    Case(
        "cli-option-without-value",
        project(),
        ["snapshot", "check", "--fail-on"],
        2,
        "'--fail-on' requires an argument",
    ),
    Case(
        "cli-bad-fail-on",
        project(),
        ["snapshot", "check", "--fail-on", "sometimes"],
        2,
        "--fail-on must be one of breaking, warning, any, never",
    ),
    Case("cli-unknown-command", project(), ["frobnicate"], 2, "No such command 'frobnicate'"),
    Case("cli-missing-argument", project(), ["show"], 2, "Missing argument"),
    Case(
        "cli-unknown-format",
        project(),
        ["validate", "-f", "yaml"],
        2,
        "unknown format 'yaml'",
        False,
    ),
    Case("cli-set-no-equals", project(), ["validate", "--set", "outputs"], 2, "expected KEY=VALUE"),
    Case(
        "cli-set-half-yaml",
        project(),
        ["validate", "--set", "outputs=[a"],
        2,
        "--set outputs=[a: expected a list of strings, got a string",
    ),
    Case(
        "cli-set-python-tag-is-a-string",
        project(),
        ["validate", "--set", f"inputs.x={PAYLOAD}"],
        1,
        "input 'x' must be int, got str",
    ),
    Case("cli-unknown-profile", project(), ["validate", "-p", "prod"], 2, "unknown profile 'prod'"),
    Case(
        "cli-profile-with-path",
        project(**{"escape.yaml": PROFILE}),
        ["snapshot", "update", "-p", "../escape"],
        2,
        "a profile is a file name in configs/",
    ),
    Case("cli-config-missing", project(), ["validate", "--config", "no.yaml"], 2, "not found"),
    Case(
        "cli-project-dir-missing",
        project(),
        ["validate", "--project-dir", "no/such/dir"],
        2,
        "project directory does not exist",
    ),
    Case("cli-unknown-node", project(), ["show", "zz"], 2, "unknown node 'zz'"),
    Case(
        "cli-execute-input-no-equals",
        project(),
        ["execute", "--input", "x"],
        2,
        "--input 'x': expected KEY=VALUE",
    ),
    Case(
        "cli-render-negative-depth",
        project(),
        ["render", "--upstream-of", "b", "--depth", "-1"],
        2,
        "--depth must be 0 or more",
        False,
    ),
    Case(
        "cli-no-project",
        {"elsewhere/x.txt": ""},
        ["validate"],
        2,
        "no semdag project found",
        cwd="elsewhere",
    ),
    # --- profile YAML ---
    Case(
        "yaml-empty-file",
        project(**{"configs__dev.yaml": ""}),
        ["validate"],
        2,
        "a profile needs at least one layer",
    ),
    Case(
        "yaml-unclosed-flow",
        project(**{"configs__dev.yaml": "stack:\n  core: [pkg.good\n"}),
        ["validate"],
        2,
        "invalid YAML",
    ),
    Case(
        "yaml-python-tag",
        project(**{"configs__dev.yaml": f"stack:\n  core: {PAYLOAD}\n"}),
        ["validate"],
        2,
        "could not determine a constructor for the tag",
    ),
    Case(
        "yaml-duplicate-key",
        project(**{"configs__dev.yaml": PROFILE + "inputs: {x: 2}\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:5: duplicate key inputs",
    ),
    Case(
        "yaml-alias-bomb",
        project(**{"configs__dev.yaml": PROFILE + "config:\n  " + BOMB.replace("\n", "\n  ")}),
        ["validate"],
        2,
        "aliases expand to too many values",
    ),
    Case(
        "yaml-deep-nesting",
        project(**{"configs__dev.yaml": PROFILE + "config: " + "[" * 5000 + "]" * 5000 + "\n"}),
        ["validate"],
        2,
        "nesting too deep",
    ),
    Case(
        "yaml-control-character",
        project(**{"configs__dev.yaml": PROFILE + "config: {a: \x1f}\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:5: invalid YAML: character #x001f is not allowed",
    ),
    Case(
        "yaml-not-utf8",
        project(**{"configs__dev.yaml": b"stack: {core: [\xff\xfe]}\n"}),
        ["validate"],
        2,
        "not UTF-8 text",
    ),
    Case(
        "yaml-impossible-date",
        project(**{"configs__dev.yaml": PROFILE + "config: {d: 2024-02-30}\n"}),
        ["validate"],
        2,
        "invalid YAML: day is out of range for month",
    ),
    Case(
        "yaml-top-level-list",
        project(**{"configs__dev.yaml": "- stack\n"}),
        ["validate"],
        2,
        "the top level must be a mapping",
    ),
    Case(
        "yaml-number-and-null-keys",
        project(**{"configs__dev.yaml": PROFILE + "1: x\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:5: 1: unknown key",
    ),
    Case(
        "yaml-key-with-newline",
        project(**{"configs__dev.yaml": PROFILE + "? 'a\n\n  b'\n: 1\n"}),
        ["validate"],
        2,
        "'a\\nb': unknown key",
    ),
    Case(
        "yaml-unset-variable",
        project(**{"configs__dev.yaml": PROFILE + "config: {k: '${SEMDAG_HOSTILE_UNSET}'}\n"}),
        ["validate"],
        2,
        "environment variable SEMDAG_HOSTILE_UNSET is not set",
    ),
    Case(
        "yaml-module-path-escapes",
        project(**{"configs__dev.yaml": "stack:\n  core:\n    - ../../etc/x.py\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:3: stack.core.0: ../../etc/x.py is outside the project",
    ),
    Case(
        "yaml-wrong-type-deep",
        project(**{"configs__dev.yaml": PROFILE + "execution: {max_tasks: [1]}\n"}),
        ["validate"],
        2,
        "execution.max_tasks: expected an integer, got a list",
    ),
    # --- module code ---
    Case(
        "module-syntax-error",
        module("bad", "def f(:\n    pass\n"),
        ["validate"],
        2,
        "pkg/bad.py:1: module pkg.bad does not import: SyntaxError",
    ),
    Case(
        "module-raises-at-import",
        module("boom", "raise RuntimeError('no database')\n"),
        ["validate"],
        2,
        "module pkg.boom does not import: RuntimeError: no database",
    ),
    Case(
        "module-sys-exit-at-import",
        module("quits", "import sys\nsys.exit(3)\n"),
        ["validate"],
        2,
        "module pkg.quits called sys.exit(3) while importing",
    ),
    Case(
        "module-base-exception-at-import",
        module("odd", "class Odd(BaseException):\n    pass\n\n\nraise Odd('odd')\n"),
        ["validate"],
        2,
        "module pkg.odd does not import: Odd: odd",
    ),
    Case(
        "module-prints-at-import",
        module("noisy", "import sys\nprint('hello from import')\nsys.stdout.write('raw')\n" + GOOD),
        ["validate"],
        0,
        "hello from import",
    ),
    Case(
        "module-not-found",
        project(**{"configs__dev.yaml": "stack:\n  core: [pkg.absent]\n"}),
        ["validate"],
        2,
        "module pkg.absent not found",
    ),
    Case(
        "module-node-calls-sys-exit-0",
        module("exits", GOOD.replace("return a * 2", "import sys\n    sys.exit(0)")),
        ["execute"],
        1,
        "called sys.exit(0)",
    ),
    Case(
        "module-node-raises",
        module("fails", GOOD.replace("return a * 2", "raise ValueError('bad row')")),
        ["execute"],
        1,
        "bad row",
    ),
    # --- snapshot files ---
    Case("snapshot-missing", project(), ["snapshot", "check"], 2, "semdag snapshot update"),
    Case(
        "snapshot-invalid-json",
        project(**baseline('{\n  "kind": "semdag.registry",\n  <<<<<<< HEAD\n')),
        ["snapshot", "check"],
        2,
        "snapshots/dev/registry.json:3: the baseline is not valid JSON",
    ),
    Case(
        "snapshot-future-schema",
        project(**baseline(json.dumps({**BASELINE, "schema_version": 99}))),
        ["snapshot", "check"],
        2,
        "schema_version 99 is newer than this semdag understands (2): upgrade semdag",
    ),
    Case(
        "snapshot-nan",
        project(**baseline(json.dumps({**BASELINE, "entries": {"a": float("nan")}}))),
        ["snapshot", "check"],
        2,
        "NaN is not valid JSON",
    ),
    Case(
        "snapshot-duplicate-key",
        project(**baseline('{"kind": "semdag.registry", "kind": "semdag.registry"}')),
        ["snapshot", "check"],
        2,
        "duplicate key 'kind'",
    ),
    Case(
        "snapshot-not-utf8",
        project(**baseline(b'{"kind": "\xff"}')),
        ["snapshot", "check"],
        2,
        "cannot read the baseline",
    ),
    Case(
        "snapshot-wrong-shape",
        project(**baseline(json.dumps({**BASELINE, "entries": {"a": {"node": 3}}}))),
        ["snapshot", "check"],
        2,
        "not a semdag registry: entries.a.node must be str",
    ),
    Case(
        "snapshot-is-a-directory",
        project(**{"snapshots__dev__registry.json__keep": ""}),
        ["snapshot", "check"],
        2,
        "cannot read the baseline",
    ),
    Case(
        "snapshot-check-all-one-broken",
        project(**{"configs__prod.yaml": PROFILE, **baseline("[")}),
        ["snapshot", "check", "--all"],
        2,
        "not valid JSON",
    ),
    Case(
        "diff-hand-edited-file",
        project(**{"old.json": json.dumps(BASELINE), "new.json": '{"kind": '}),
        ["diff", "old.json", "new.json"],
        2,
        "new.json:1: the baseline is not valid JSON",
    ),
    Case(
        "semantic-id-with-path-characters",
        module("paths", PATH_IDS),
        ["validate"],
        1,
        "b: semantic_id 'a/b' must match",
    ),
    Case(
        "semantic-id-with-path-characters-update",
        module("paths", PATH_IDS),
        ["snapshot", "update"],
        1,
        "snapshots/dev/ left as it was",
    ),
    # --- acknowledgement file ---
    Case(
        "ack-python-tag",
        project(**{"snapshots__acknowledged.yaml": f"- {PAYLOAD}\n"}),
        ["snapshot", "check"],
        2,
        "could not determine a constructor for the tag",
        setup=_snapshot_first,
    ),
    Case(
        "ack-bad-date",
        project(
            **{
                "snapshots__acknowledged.yaml": "- rule: semantic-removed\n  semantic_id: t.b.v1\n"
                "  reason: moving it\n  expires: next week\n"
            }
        ),
        ["snapshot", "check"],
        2,
        "snapshots/acknowledged.yaml:1: acknowledgement: expires 'next week' must be a date",
        setup=_snapshot_first,
    ),
    Case(
        "ack-unknown-rule",
        project(
            **{
                "snapshots__acknowledged.yaml": "- {rule: everything, semantic_id: t.b.v1, "
                "reason: x, expires: 2999-01-01}\n"
            }
        ),
        ["snapshot", "check"],
        2,
        "rule 'everything' is not a rule id",
        setup=_snapshot_first,
    ),
    Case(
        "ack-mixed-keys",
        project(**{"snapshots__acknowledged.yaml": "- {1: a, rule: x, true: y}\n"}),
        ["snapshot", "check"],
        2,
        "acknowledgement: unknown key",
        setup=_snapshot_first,
    ),
    # --- git refs ---
    Case(
        "git-unknown-ref",
        project(),
        ["diff", "--against", "git:no-such-branch"],
        2,
        "unknown git revision 'no-such-branch'",
        setup=_git,
    ),
    Case(
        "git-ref-that-looks-like-an-option",
        project(),
        ["diff", "--against", "git:--output=pwned"],
        2,
        "unknown git revision '--output=pwned'",
        setup=_git,
    ),
    Case(
        "git-ref-without-prefix",
        project(),
        ["diff", "--against", "HEAD"],
        2,
        "--against takes git:REF",
        setup=_git,
    ),
    Case(
        "git-not-a-repository",
        project(),
        ["diff", "--against", "git:HEAD"],
        2,
        "not a git repository",
        env={"GIT_CEILING_DIRECTORIES": "/"},
    ),
    # --- output paths ---
    Case(
        "out-export-to-directory",
        project(),
        ["export", "-o", "configs"],
        2,
        "it is a directory",
    ),
    Case(
        "out-export-disk-full",
        project(),
        ["export", "-o", "full.json"],
        2,
        "No space left on device",
        setup=_full_link,
    ),
    Case(
        "out-render-unknown-suffix",
        project(),
        ["render", "-o", "graph.bogus"],
        2,
        "cannot infer the format from 'graph.bogus'",
        False,
    ),
    Case(
        "out-execute-into-a-file",
        project(),
        ["execute", "--out", "pkg/good.py", "-f", "csv"],
        2,
        "pkg/good.py",
    ),
]


def invoke(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run ``semdag.cli.main`` in this process, as the console script does."""
    from semdag.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(old)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Result(code, out.getvalue(), err.getvalue())


def make(tmp_path: Path, case: Case) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name, text in case.files.items():
        path = root / name
        if name.endswith("__keep"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_name(path.name.removesuffix("__keep")).mkdir()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    if case.setup is not None:
        case.setup(root)
    return root


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if ".semdag" not in p.parts}


def check_side_effects(root: Path, before: set[str]) -> None:
    """Nothing ran from a tag, and nothing was written outside snapshots/<profile>/."""
    assert not (root / "pwned").exists()
    assert not (root.parent / "pwned").exists()
    new = tree(root) - before
    folders = ("snapshots", "snapshots/dev", "snapshots/prod")
    assert all(p in folders or p.startswith(("snapshots/dev/", "snapshots/prod/")) for p in new)
    assert not (root.parent / "escape").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_text(tmp_path: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEMDAG_HOSTILE_UNSET", raising=False)
    root = make(tmp_path, case)
    before = tree(root)
    result = invoke(case.args, root / case.cwd, case.env)
    assert result.exit_code == case.code, result.stdout + result.stderr
    assert case.phrase in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if case.code == 2:
        assert result.stderr.strip(), "an error says what went wrong"
    check_side_effects(root, before)


JSON_CASES = [c for c in CASES if c.json]


def json_args(args: list[str]) -> list[str]:
    """``args`` asking for JSON: ``-f json`` right after the command words (an option left
    without its value must stay without it)."""
    args = list(args)
    if "-f" in args:
        args[args.index("-f") + 1] = "json"
        return args
    words = 0
    while words < len(args) and not args[words].startswith("-") and words < 2:
        words += 1
        if args[0] != "snapshot":
            break
    return [*args[:words], "-f", "json", *args[words:]]


@pytest.mark.parametrize("case", JSON_CASES, ids=[c.id for c in JSON_CASES])
def test_hostile_input_json(tmp_path: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEMDAG_HOSTILE_UNSET", raising=False)
    root = make(tmp_path, case)
    before = tree(root)
    result = invoke(json_args(case.args), root / case.cwd, case.env)
    assert result.exit_code == case.code, result.stdout + result.stderr
    document = json.loads(result.stdout)  # the whole of stdout: exactly one document
    assert set(document) == {"command", "ok", "data", "errors"}
    assert document["ok"] is (case.code == 0)
    if case.code == 2:
        assert document["errors"], document
    text = json.dumps(document, ensure_ascii=False)
    said = [
        f"{e['file']}:{e['line']}: " * bool(e["file"] and e["line"])
        + f"{e['file']}: " * bool(e["file"] and not e["line"])
        + f"{e['message']} {e.get('hint') or ''}"
        for e in document["errors"]
    ]
    assert case.phrase in "\n".join([*said, text, result.stderr]), said
    assert str(tmp_path) not in text, "no absolute paths in the envelope"
    assert "Traceback" not in result.stderr
    check_side_effects(root, before)


def test_module_printing_at_import_keeps_stdout_one_json_document(tmp_path: Path) -> None:
    root = make(tmp_path, Case("", module("noisy", "print('hi')\n" + GOOD), [], 0, ""))
    done = invoke(["registry", "-f", "json", "--no-cache"], root)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["data"]["entries"]["t.b.v1"]["node"] == "b"
    assert "hi" in done.stderr


# --- real processes: a module that never finishes importing, a reader that goes away -------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_interrupting_a_module_that_takes_minutes_to_import(tmp_path: Path, fmt: str) -> None:
    importing = tmp_path / "importing"
    code = f"import pathlib, time\npathlib.Path({str(importing)!r}).touch()\ntime.sleep(600)\n"
    root = make(tmp_path, Case("", module("slow", code), [], 0, ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "semdag", "validate", "-f", fmt],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt once the module is being imported (not while Python itself starts).
    deadline = time.monotonic() + 60
    while not importing.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert importing.exists() and process.poll() is None, "still importing"
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert process.returncode == 130
    assert "Traceback" not in stderr
    if fmt == "json":
        document = json.loads(stdout)
        assert document["ok"] is False and document["errors"][0]["code"] == "interrupted"
    else:
        assert stdout == ""
        assert stderr.strip().splitlines() == ["semdag validate: error: interrupted"]


@pytest.mark.slow
@pytest.mark.parametrize("args", [["ls"], ["export"], ["registry", "-f", "json"]])
def test_a_reader_that_goes_away_is_no_crash(tmp_path: Path, args: list[str]) -> None:
    root = make(tmp_path, Case("", project(), [], 0, ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "semdag", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # `semdag ls | head -0`
    _, stderr = process.communicate(timeout=120)
    assert stderr == b"", stderr  # no traceback, no "Exception ignored", no false sys.exit
    assert process.returncode == 1
