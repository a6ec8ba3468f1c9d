"""A rebuild that imports only the changed stack modules answers exactly as a full build.

A generated stack (the benchmark's generator with its decorated shape, plus a module of types
used by another module, a subdag over a plain module, an async node and a helper module) is
edited at random, one or two modules at a time: weights, tags, docstrings, functions added,
removed, renamed or moved to another module (an override when it lands in the overrides
layer), annotations and dependencies changed (type mismatches, cycles, missing inputs), a
syntax error, the module of types or the helper edited. After each edit the facts of a build
with the build cache (partial where it may be) must equal those of a build without it, the
cache entry it stores must too, and so must ``snapshot check``'s output and exit code.

``SEMDAG_DIFFERENTIAL_EDITS=10000`` runs that many edits (default: a smoke run of a few);
``SEMDAG_DIFFERENTIAL_SEED`` picks another walk.
"""

from __future__ import annotations

import ast
import collections
import logging
import os
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from bench.shapes import SHAPES
from semdag.app.session import Session
from semdag.core.errors import SemdagError
from semdag.store import buildcache
from tests.conftest import run_cli

EDITS = int(os.environ.get("SEMDAG_DIFFERENTIAL_EDITS", "10"))
SEED = int(os.environ.get("SEMDAG_DIFFERENTIAL_SEED", "7"))
# In a long run, snapshot check's output (a function of the facts) is compared every so often.
CHECK_EVERY = 1 if EDITS <= 50 else 10

KINDS = '''"""Types the stack's nodes are typed with."""


class Score(float):
    """A score: a float that says what it measures."""


def score_seed(score_input: float) -> Score:
    return Score(score_input * 2)
'''
SCORED = '''"""Nodes typed with a type of another stack module."""

from genstack.core.kinds import Score
from genstack.helpers import FACTOR


def score_total(score_seed: Score) -> Score:
    return Score(score_seed * FACTOR)


async def score_later(score_total: Score) -> float:
    return float(score_total)
'''
INNER = '''"""Functions a subdag runs (not a stack module)."""


def inner_total(base: float) -> float:
    return base + 1.0
'''
NESTED = '''"""A subdag over a plain module."""

from hamilton.function_modifiers import source, subdag

from genstack import inner


@subdag(inner, inputs={"base": source("score_seed")})
def nested_total(inner_total: float) -> float:
    return inner_total * 3.0
'''
HELPERS = "FACTOR = 3\n"


@dataclass
class Walk:
    """The state of a random walk of edits over a project."""

    root: Path
    rng: random.Random
    modules: list[Path]  # generated stack modules (same imports: functions move freely)
    pending: dict[Path, str] = field(default_factory=dict)  # edits to undo at the next step
    paths: collections.Counter[str] = field(default_factory=collections.Counter)


def _project(root: Path, nodes: int) -> Walk:
    generate(root, nodes, seed=SEED, per_module=8, shape=SHAPES["decorated"])
    pkg = root / "genstack"
    (pkg / "core" / "kinds.py").write_text(KINDS)
    (pkg / "plugins" / "scored.py").write_text(SCORED)
    (pkg / "plugins" / "nested.py").write_text(NESTED)
    (pkg / "inner.py").write_text(INNER)
    (pkg / "helpers.py").write_text(HELPERS)
    profile = root / "configs" / "dev.yaml"
    text = profile.read_text()
    text = text.replace("  core:\n", "  core:\n    - genstack.core.kinds\n", 1)
    text = text.replace(
        "  plugins:\n", "  plugins:\n    - genstack.plugins.scored\n    - genstack.plugins.nested\n"
    )
    text = text.replace("inputs:\n", "inputs:\n  score_input: 2.0\n", 1)
    profile.write_text(text + "rules:\n  async-node: warning\n")
    modules = sorted(p for p in pkg.glob("*/*.py") if re.match(r"(m|hotfix)\d+", p.stem))
    return Walk(root, random.Random(SEED), modules)


def _functions(text: str) -> list[tuple[str, int, int]]:
    """(name, first line with decorators, last line) of each top-level public function."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found = []
    for item in tree.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith(
            "_"
        ):
            first = min([item.lineno, *(d.lineno for d in item.decorator_list)])
            found.append((item.name, first, item.end_lineno or item.lineno))
    return found


def _node_names(walk: Walk) -> list[str]:
    """The public functions of the generated modules (the walk may have removed most)."""
    names: set[str] = {"in_01", "score_seed"}
    for path in walk.modules:
        names.update(re.findall(r"\bdef ([a-z]\w*)\(", path.read_text()))
    return sorted(names)


def _cut(text: str, first: int, last: int) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    return "".join(lines[: first - 1] + lines[last:]), "".join(lines[first - 1 : last])


def _edit(walk: Walk) -> str:
    """Apply one random edit; its kind."""
    rng = walk.rng
    kind = rng.choice(
        [
            "weight",
            "weight",
            "tag",
            "doc",
            "add",
            "remove",
            "rename",
            "move",
            "retype",
            "dependency",
            "missing",
            "syntax",
            "types-module",
            "helper",
            "two-modules",
            "scored",
        ]
    )
    if kind == "two-modules":
        for _ in range(2):
            _apply(walk, rng.choice(["weight", "tag", "add", "dependency"]))
    else:
        _apply(walk, kind)
    return kind


def _apply(walk: Walk, kind: str) -> None:
    rng = walk.rng
    pkg = walk.root / "genstack"
    path = rng.choice(walk.modules)
    if kind == "types-module":
        path = pkg / "core" / "kinds.py"
    elif kind == "helper":
        path = pkg / "helpers.py"
    elif kind == "scored":
        path = pkg / "plugins" / "scored.py"
    text = path.read_text()
    original = text
    fns = _functions(text)
    count = rng.randrange(10_000)
    if kind == "weight":
        text = re.sub(r" \* \d+\.\d+", f" * 3.{count:04d}", text, count=1)
    elif kind == "tag":
        text = re.sub(r"version='\d'", f"version='{rng.randint(1, 4)}'", text, count=1)
        text = re.sub(r"owner='[\w-]+'", f"owner='team-{count % 3}'", text, count=1)
    elif kind == "doc":
        text = text.replace('"""', f'"""Edited {count}. ', 1)
    elif kind == "add":
        deps = [*rng.sample(_node_names(walk), 2), f"extra_input_{count % 3}"]
        params = ", ".join(f"{d}: float" for d in rng.sample(deps, rng.randint(1, 2)))
        text += f"\n\ndef added_{count}({params}) -> float:\n    return 1.0\n"
    elif kind in ("remove", "move") and fns:
        _name, first, last = rng.choice(fns)
        text, block = _cut(text, first, last)
        if kind == "move":
            target = rng.choice(walk.modules)
            if target != path:
                walk.pending.setdefault(target, target.read_text())
                target.write_text(target.read_text() + "\n\n" + block)
    elif kind == "rename" and fns:
        name = rng.choice(fns)[0]
        text = re.sub(rf"\bdef {name}\(", f"def {name}_r{count % 2}(", text, count=1)
    elif kind == "retype":
        choice = rng.choice(["-> int:", "-> Score:", "-> pd.Series:", "-> 'float':"])
        if "Score" in choice and "import Score" not in text:
            text = "from genstack.core.kinds import Score\n" + text
        text = re.sub(r"-> float:", choice, text, count=1)
    elif kind in ("dependency", "missing") and fns:
        name = rng.choice(fns)[0]
        dep = rng.choice(_node_names(walk)) if kind == "dependency" else f"missing_{count % 2}"
        text = re.sub(rf"\bdef {name}\(", f"def {name}({dep}: float, ", text, count=1)
        text = text.replace(f"({dep}: float, )", f"({dep}: float)")
    elif kind == "syntax":
        text += "\n\ndef broken(:\n    pass\n"
    elif kind == "types-module":
        text = text.replace("score_input * 2", f"score_input * {count % 5 + 2}")
    elif kind == "helper":
        text = f"FACTOR = {count % 7 + 1}\n"
    elif kind == "scored":
        text = text.replace("return float(score_total)", f"return float(score_total) + {count}")
    if text == original:
        text += f"\n# touched {count}\n"
    walk.pending.setdefault(path, original)
    path.write_text(text)


class _Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def notes() -> Iterator[_Notes]:
    handler = _Notes()
    logger = logging.getLogger("semdag.build")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _facts(root: Path, *, cache: bool) -> Any:
    session = Session("snapshot check", project_dir=root, build_cache=cache)
    try:
        facts = session.facts()
        return ("facts", facts.graph, facts.modules, facts.ledger, facts.findings)
    except SemdagError as error:
        return ("error", type(error).__name__, error.as_dict())
    finally:
        session.finish()


def _stored(root: Path) -> Any:
    session = Session("snapshot check", project_dir=root)
    facts = buildcache.lookup(session.project, session.profile)
    if facts is None:
        return None
    return ("facts", facts.graph, facts.modules, facts.ledger, facts.findings)


def _difference(one: Any, other: Any) -> str:
    """Where two answers differ, shortly."""
    if one is None or other is None or one[0] != other[0] or one[0] == "error":
        return f"{one!r:.300} != {other!r:.300}"
    _kind, graph, modules, ledger, findings = one
    _kind, graph2, modules2, ledger2, findings2 = other
    if graph.nodes != graph2.nodes:
        names = [
            n for n in {*graph.nodes, *graph2.nodes} if graph.nodes.get(n) != graph2.nodes.get(n)
        ]
        return "; ".join(f"{graph.nodes.get(n)} != {graph2.nodes.get(n)}" for n in names[:3])
    for name, mine, theirs in (
        ("dependents", graph.dependents, graph2.dependents),
        ("variant_inputs", graph.variant_inputs, graph2.variant_inputs),
        ("modules", modules, modules2),
        ("ledger", ledger, ledger2),
        ("findings", findings, findings2),
    ):
        if mine != theirs:
            return f"{name}: {mine!r:.600} != {theirs!r:.600}"
    return "equal parts, unequal whole"


def _check(root: Path, *extra: str) -> tuple[int, str]:
    result = run_cli(["snapshot", "check", "--project-dir", str(root), "-f", "json", *extra])
    return result.exit_code, result.stdout


def _path_taken(messages: list[str]) -> str:
    for message in reversed(messages):
        if message.startswith("partial rebuild"):
            return "partial"
        if message.startswith("full build"):
            reason = message.split(": ", 1)[1]
            reason = re.sub(r"genstack/\S+|genstack\.[\w.]+", "M", reason)
            return "full: " + re.sub(r"\d+", "N", reason)
    return "cached"


@pytest.mark.slow
def test_partial_rebuilds_answer_as_full_builds(tmp_path, monkeypatch, notes):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    walk = _project(tmp_path / "stack", nodes=60)
    root = walk.root
    assert run_cli(["snapshot", "update", "--project-dir", str(root)]).exit_code == 0
    _facts(root, cache=True)  # the cache and the record of every module
    failures = []
    for step in range(EDITS):
        for path, text in walk.pending.items():
            path.write_text(text)
        walk.pending.clear()
        kind = _edit(walk)
        notes.messages.clear()
        # Some steps rebuild inside a check, which compares the rebuilt graph with the
        # baselines from a draft of the last one, two steps running: the second takes the
        # digests the first made of its graph.
        checking = step % CHECK_EVERY in (0, 1)
        checked = _check(root) if checking else None
        partial = _facts(root, cache=True)
        walk.paths[_path_taken(notes.messages)] += 1
        full = _facts(root, cache=False)
        if partial != full:
            failures.append((step, kind, "facts", _difference(partial, full)))
        elif partial[0] == "facts" and _stored(root) != full:
            failures.append((step, kind, "stored facts", _difference(_stored(root), full)))
        elif checking and checked != _check(root, "--no-cache"):
            failures.append((step, kind, "snapshot check output"))
        assert not failures, (failures, notes.messages)
        if full[0] == "facts" and walk.rng.random() < 0.6:
            walk.pending.clear()  # the edits stay; one that breaks the build is undone
        if step and step % 500 == 0:
            print(f"{step} edits: {dict(walk.paths)}", file=sys.stderr)
    summary = ", ".join(f"{k}: {v}" for k, v in walk.paths.most_common())
    print(f"\n{EDITS} edits, {len(failures)} failures; paths: {summary}")
    assert walk.paths["partial"] > 0, walk.paths
