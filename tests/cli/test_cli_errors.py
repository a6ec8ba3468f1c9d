"""Bad input gets a one-line error naming the file, key or node, and the right exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sample import SAMPLE_MODULE as GOOD_MODULE
from tests.sample import SAMPLE_PROFILE as GOOD_PROFILE


def base(**extra: str) -> dict[str, str]:
    files = {"pkg/__init__.py": "", "pkg/good.py": GOOD_MODULE, "configs/dev.yaml": GOOD_PROFILE}
    files.update(extra)
    return files


CASES = [
    # id, files, args, exit code, phrase in the message
    (
        "yaml-syntax",
        base(**{"configs/dev.yaml": "stack:\n  core: [pkg.good\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:3",
    ),
    (
        "unknown-top-level-key",
        base(**{"configs/dev.yaml": GOOD_PROFILE + "stacks: {}\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:5: stacks: unknown key",
    ),
    (
        "wrong-type",
        base(**{"configs/dev.yaml": "stack: 3\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:1: stack: expected a mapping",
    ),
    (
        "extends-missing",
        base(**{"configs/dev.yaml": "extends: nope.yaml\n" + GOOD_PROFILE}),
        ["validate"],
        2,
        "extends: nope.yaml does not exist",
    ),
    (
        "extends-cycle",
        base(
            **{
                "configs/dev.yaml": "extends: b.yaml\n" + GOOD_PROFILE,
                "configs/b.yaml": "extends: dev.yaml\n",
            }
        ),
        ["validate"],
        2,
        "extends cycle: configs/dev.yaml -> configs/b.yaml -> configs/dev.yaml",
    ),
    (
        "unknown-profile",
        base(),
        ["validate", "-p", "staging"],
        2,
        "unknown profile 'staging' (available: dev)",
    ),
    ("set-without-equals", base(), ["validate", "--set", "outputs"], 2, "expected KEY=VALUE"),
    (
        "module-missing",
        base(**{"configs/dev.yaml": "stack:\n  core: [pkg.nothere]\n"}),
        ["validate"],
        2,
        "module pkg.nothere not found",
    ),
    (
        "module-syntax-error",
        base(
            **{
                "pkg/bad.py": "def f(:\n    pass\n",
                "configs/dev.yaml": "stack:\n  core: [pkg.bad]\n",
            }
        ),
        ["validate"],
        2,
        "pkg/bad.py:1: module pkg.bad does not import: SyntaxError",
    ),
    (
        "module-import-raises",
        base(
            **{
                "pkg/boom.py": "x = 1\nraise RuntimeError('no db')\n",
                "configs/dev.yaml": "stack:\n  core: [pkg.boom]\n",
            }
        ),
        ["validate"],
        2,
        "pkg/boom.py:2: module pkg.boom does not import: RuntimeError: no db",
    ),
    (
        "duplicate-node-no-override",
        base(
            **{
                "pkg/dup.py": "def a(x: int) -> int:\n    return x\n",
                "configs/dev.yaml": "stack:\n  core: [pkg.good]\n"
                "  plugins: [pkg.dup]\ninputs: {x: 1}\n",
            }
        ),
        ["validate"],
        1,
        "override-not-allowed",
    ),
    (
        "cycle",
        base(
            **{
                "pkg/cyc.py": "def p(q: int) -> int:\n    return q\n\n\n"
                "def q(p: int) -> int:\n    return p\n",
                "configs/dev.yaml": "stack:\n  core: [pkg.cyc]\n",
            }
        ),
        ["validate"],
        1,
        "dependency cycle: p -> q -> p",
    ),
    (
        "missing-input",
        base(**{"configs/dev.yaml": "stack:\n  core: [pkg.good]\n"}),
        ["validate"],
        1,
        "input 'x' is required by a",
    ),
    (
        "type-mismatch",
        base(
            **{
                "pkg/mm.py": "def m(b: str) -> str:\n    return b\n",
                "configs/dev.yaml": "stack:\n  core: [pkg.good, pkg.mm]\ninputs: {x: 1}\n",
            }
        ),
        ["validate"],
        1,
        "type-mismatch: m expects b",
    ),
    ("unknown-node", base(), ["show", "bb"], 2, "unknown node 'bb' (did you mean: b?)"),
    (
        "layer-without-modules",
        base(**{"configs/dev.yaml": "stack:\n  core: []\n"}),
        ["validate"],
        2,
        "stack.core: the layer names no module",
    ),
    (
        "python-tag-in-yaml",
        base(**{"configs/dev.yaml": "stack: !!python/object/apply:os.system ['touch pwned']\n"}),
        ["validate"],
        2,
        "configs/dev.yaml:1",
    ),
]


@pytest.mark.parametrize(
    ("files", "args", "code", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_text(project_factory, files, args, code, phrase):
    root = project_factory(files)
    result = run_cli([*args, "--project-dir", str(root)])
    assert result.exit_code == code, result.stderr
    # Usage and input errors go to stderr; failed checks are the command's result (stdout).
    assert phrase in (result.stderr if code == 2 else result.stdout + result.stderr)
    assert "Traceback" not in result.stderr
    assert not (root / "pwned").exists()


@pytest.mark.parametrize(
    ("files", "args", "code", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_json_envelope(project_factory, files, args, code, phrase):
    root = project_factory(files)
    result = run_cli([*args, "--project-dir", str(root), "-f", "json"])
    assert result.exit_code == code
    document = result.json()
    assert document["ok"] is False
    assert document["errors"], document
    rendered = [
        f"{e['file']}:{e['line']}: {e['message']}" if e["line"] else f"{e['file']}: {e['message']}"
        for e in document["errors"]
    ]
    assert any(
        phrase in text or e["code"] in phrase
        for text, e in zip(rendered, document["errors"], strict=True)
    ), rendered


def test_no_configs_dir(tmp_path: Path):
    result = run_cli(["validate", "--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no configs/ directory" in result.stderr
    assert "semdag init" in result.stderr


def test_no_project_found(tmp_path: Path):
    result = run_cli(["build"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "no semdag project found" in result.stderr


def test_unknown_format_is_usage_error(project_factory):
    root = project_factory(base())
    result = run_cli(["build", "--project-dir", str(root), "-f", "yaml"])
    assert result.exit_code == 2
    assert "unknown format 'yaml'" in result.stderr


@pytest.mark.parametrize(
    ("annotation", "hint"),
    [
        ("int", "(set it under inputs: or pass --input)"),
        ("int | None", "(set it under inputs: or pass --input)"),
        ("list[float]", "(set it under inputs: or pass --input)"),
        (
            "pd.Series",
            "(a Series cannot be written in YAML: compute it in a node, or, when it "
            "is given at run time, set rules: {missing-input: warning} in the profile)",
        ),
    ],
)
def test_a_missing_input_says_how_it_can_be_given(project_factory, annotation, hint):
    root = project_factory(
        {
            "pyproject.toml": "[tool.semdag]\n",
            "configs/dev.yaml": "stack:\n  core: [pkg.core]\n",
            "pkg/__init__.py": "",
            "pkg/core.py": "import pandas as pd\n\n\n"
            f"def out(spend: {annotation}) -> float:\n    return 1.0\n",
        }
    )
    result = run_cli(["validate", "--project-dir", str(root)])
    assert result.exit_code == 1
    assert f"input 'spend' is required by out and has no value {hint}" in " ".join(
        result.stdout.split()
    )
