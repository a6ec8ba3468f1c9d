"""semdag's code hash: blind to layout, docs, names and tags; the same on every interpreter."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from semdag.core.codehash import code_hash, source_code_hash
from tests.conftest import ROOT

BASE = '''@tag(dtype="int")
@inject(x=value(1))
def f(x: int) -> int:
    """Doc."""
    return x
'''


def h(source: str) -> str:
    found = source_code_hash(source)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("label", "edited"),
    [
        ("comment", BASE.replace("    return x", "    # why\n    return x  # same")),
        ("blank lines", BASE.replace("    return x", "\n\n    return x\n\n")),
        ("docstring", BASE.replace("Doc.", "Another doc, longer.")),
        ("no docstring", BASE.replace('    """Doc."""\n', "")),
        ("name", BASE.replace("def f(", "def g(")),
        ("tag decorator", BASE.replace('dtype="int"', 'dtype="int64"')),
        ("reformatting", BASE.replace("def f(x: int) -> int:", "def f(\n    x: int,\n) -> int:")),
        ("parentheses", BASE.replace("return x", "return (x)")),
    ],
)
def test_what_does_not_change_what_a_function_computes_keeps_its_hash(label, edited):
    assert h(edited) == h(BASE), label


def test_nested_docstrings_are_left_out_too():
    nested = BASE.replace("    return x", "    def g():\n        return 1\n    return x")
    documented = nested.replace("def g():", 'def g():\n        """Nested doc."""')
    assert h(documented) == h(nested) != h(BASE)


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("return x", "return x + 1"),
        BASE.replace("value(1)", "value(2)"),  # a non-tag decorator is logic
        BASE.replace("-> int", "-> float"),
        BASE.replace("x: int", "x: float"),
        BASE.replace("def f(", "async def f("),
        BASE.replace("    return x", '    return f"{x:>{x}}"'),
    ],
)
def test_a_change_of_logic_changes_the_hash(edited):
    assert h(edited) != h(BASE)


def test_fstring_splitting_does_not_matter():
    # Python 3.12 pads nested format specs with an empty literal that 3.11 leaves out.
    tree = ast.parse('def f(a, w):\n    return f"{a:<{w}}"\n').body[0]
    assert isinstance(tree, ast.FunctionDef)
    padded = ast.parse('def f(a, w):\n    return f"{a:<{w}}"\n').body[0]
    spec = padded.body[0].value.values[0].format_spec  # type: ignore[attr-defined]
    spec.values.append(ast.Constant(value=""))
    assert code_hash(padded) == code_hash(tree)  # type: ignore[arg-type]


def _interpreters() -> list[str]:
    """Other CPython minors on this machine (pyenv's builds, or python3.X on PATH)."""
    found = []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in ("3.11", "3.12", "3.13"):
        if f"{sys.version_info.major}.{sys.version_info.minor}" == minor:
            continue
        candidates = sorted(pyenv.glob(f"{minor}.*/bin/python{minor}")) if pyenv.is_dir() else []
        on_path = shutil.which(f"python{minor}")
        chosen = str(candidates[-1]) if candidates else on_path
        if chosen:
            found.append(chosen)
    return found


_CORPUS = r"""
import ast, json, pathlib, sys, importlib.util
spec = importlib.util.spec_from_file_location("codehash", sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
out = {}
for root in sys.argv[2:]:
    for path in sorted(pathlib.Path(root).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out[f"{path.relative_to(root)}:{node.lineno}"] = module.code_hash(node)
print(json.dumps(out, sort_keys=True))
"""


def _corpus_hashes(python: str) -> dict[str, str]:
    done = subprocess.run(
        [python, "-c", _CORPUS, str(ROOT / "semdag/core/codehash.py"), str(ROOT / "semdag")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_every_function_hashes_the_same_under_every_interpreter():
    others = _interpreters()
    # CI's machines have pyenv's 3.11, 3.12 and 3.13: a missing one is a broken machine.
    assert others, "no other CPython 3.11-3.13 found to compare with"
    mine = _corpus_hashes(sys.executable)
    assert len(mine) > 500  # semdag's own functions, f-strings and all
    for python in others:
        assert _corpus_hashes(python) == mine, python
