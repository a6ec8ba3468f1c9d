"""The benchmark's shapes generate the stacks they describe, and each builds in semdag
(checked in process and untimed; tests/e2e/test_bench_smoke.py times one shape end to end)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from bench.generate import generate
from bench.shapes import SHAPES
from tests.conftest import run_cli


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_shape_generates_a_stack_semdag_validates(tmp_path, name):
    shape = SHAPES[name]
    root = tmp_path / name
    generate(root, 120, shape=shape)
    texts = [p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))]
    source = "\n".join(texts)
    functions = [
        node
        for text in texts
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef)
    ]
    documented = sum(ast.get_docstring(fn) is not None for fn in functions)
    assert functions
    if shape.docs == "off":
        assert documented == 0, name
    elif shape.docs == "on":
        assert documented >= 0.8 * len(functions), name  # step functions of pipes have none
    if shape.thresholds[1] > 0.1:
        for decorator in ("@parameterize", "@extract_columns", "@config.when", "@pipe_"):
            assert decorator in source, (name, decorator)
    done = run_cli(["validate", "--project-dir", str(root), "--no-cache"])
    assert done.exit_code == 0, done.stdout + done.stderr


def test_each_measured_process_has_its_shapes_bytecode_cache_whatever_the_shells(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    from bench.run import run_once
    from bench.shapes import SHAPES

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as a shell may set it
    probe = "import os, sys; sys.exit(0 if os.environ.get('PYTHONDONTWRITEBYTECODE') {} else 2)"
    kinds = {shape.bytecode for shape in SHAPES.values()}
    assert kinds == {True, False}  # both kinds of shape are measured
    for bytecode in kinds:
        shape = next(s for s in SHAPES.values() if s.bytecode is bytecode)
        wanted = "is None" if bytecode else "== '1'"
        # run_once raises when the process exits 2: the variable was not as the shape says.
        run_once([sys.executable, "-c", probe.format(wanted)], tmp_path, shape.env())
