"""The export library: Hamilton parity (source, version, whole string) and semdag's document."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import inspect
import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hamilton.graph_types import HamiltonNode, hash_source_code

from bench.generate import generate
from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.core.codehash import source_code_hash
from semdag.core.export import export_document, jsonable, portable_path
from semdag.core.graph import GraphModel
from semdag.core.tuning import SerialWorkers, Tuning
from semdag.hamilton.build import Build, build
from semdag.hamilton.export import hamilton_export, input_problems, node_sources
from semdag.hamilton.model import model_from_build
from semdag.hamilton.sourceinfo import SourceIndex
from semdag.store.artifacts import canonical_json
from tests.conftest import FIXTURES, ROOT

SCHEMA = ROOT / "semdag" / "schemas" / "export.schema.json"

# A stack with every common decorator, a functools.wraps wrapper, a closure built by a factory
# (its source is indented, which takes Hamilton's own path), an optional input with a default,
# a one-line function, a nested function and trailing comments.
DECORATED = '''
"""Decorated nodes for the export tests."""

import functools

import pandas as pd
from hamilton.function_modifiers import (
    apply_to,
    extract_columns,
    mutate,
    parameterize,
    pipe_input,
    source,
    step,
    tag,
    tag_outputs,
    value,
)


def _passthrough(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _clip(frame: pd.DataFrame, upper: float) -> pd.DataFrame:
    return frame.clip(upper=upper)


def _make_scaler(k):
    def scaled_seed(seed_value: float) -> float:
        """Made by a factory."""
        return seed_value * k

    return scaled_seed


@tag(layer="semantic", semantic_id="xfx.seed.v1", entity="repo", grain="per_repo",
     dtype="float", version="1")
def seed_value(seed: float) -> float:
    """The seed."""
    return seed
    # kept as a plain pass-through


@extract_columns("loc", "churn")
@tag_outputs(loc={"layer": "semantic", "semantic_id": "xfx.loc.v1", "dtype": "series"})
@tag(layer="raw")
def table(seed_value: float, scale: float = 1.0) -> pd.DataFrame:
    """A small table."""
    # one row per repository
    return pd.DataFrame({"loc": [seed_value * scale], "churn": [seed_value]})


@parameterize(
    loc_x2={"col": source("loc"), "k": value(2.0)},
    churn_x3={"col": source("churn"), "k": value(3.0)},
)
@tag(owner="quality")
def scaled(col: pd.Series, k: float) -> pd.Series:
    """{col} scaled by {k}."""
    return col * k


@pipe_input(
    step(_clip, upper=value(100.0)).named("clipped"),
    namespace="prep",
)
def prepared(table: pd.DataFrame) -> pd.DataFrame:
    return table


@_passthrough
def wrapped_total(loc_x2: pd.Series, churn_x3: pd.Series) -> float:
    """Wrapped with functools.wraps."""
    return float(loc_x2.sum() + churn_x3.sum())


def one_liner(wrapped_total: float) -> float: return wrapped_total * 2  # noqa: E704


@mutate(apply_to(prepared), factor=value(2))
def _doubled(frame: pd.DataFrame, factor: int) -> pd.DataFrame:
    return frame * factor


def with_nested(prepared: pd.DataFrame) -> int:
    """Uses a nested helper."""

    def count(frame):
        """Nested docstrings are left out of the hash too."""
        return len(frame)

    return count(prepared)


scaled_seed = _make_scaler(3.0)
'''

# Layouts where a naive span (def line to end_lineno) differs from inspect.getsource.
AWKWARD = '''"""Awkward layouts."""
import functools


def deco(f):
    return f


def wrapping(f):
    @functools.wraps(f)
    def inner(*a, **k):
        return f(*a, **k)

    return inner


@deco
def trailing(x: int) -> int:
    """Doc."""
    return x
    # trailing comment at body depth
        # deeper
# a comment at column 0 does not end the block
    # but this one still belongs to it


@ \\
  deco
def split_decorator():
    pass


@deco  # comment on the decorator
# a comment between decorators
@deco
def one_line(): return 1
    # not part of a one-line function


def multiline_signature(
    x: int,
    y: int,  # why
) -> int:
    """Multi
    line."""

    def nested(z):
        """Nested doc."""
        return z

    return nested(x) + y



@wrapping
def wrapped(v: int) -> int:
    """Wrapped."""
    return v


def only_docstring():
    """Only a docstring."""


lam = lambda q: q  # noqa: E731


def tabbed(x):
\t# tab-indented comment
\treturn x  # end
\t# tab-indented trailing comment


class Holder:
    def method(self):
        """Method."""
        return 1


def strings(s: str = "\\x0c") -> str:
    s = """
not a comment
# inside a string
"""
    return s
    #last'''

AWKWARD_FILES: dict[str, bytes] = {
    "plain": AWKWARD.encode() + b"\n",
    "no_final_newline": AWKWARD.encode(),
    "crlf": AWKWARD.replace("\n", "\r\n").encode(),
    "bom": b"\xef\xbb\xbf" + AWKWARD.encode() + b"\n",
    "latin1": b"# -*- coding: latin-1 -*-\n"
    + AWKWARD.replace('"""Awkward layouts."""', '"""Awkward layouts: caf\xe9."""').encode(
        "latin-1"
    ),
    "formfeed": AWKWARD.replace(
        "\n\n\n@deco\ndef trailing", "\n\n\x0c\n@deco\ndef trailing"
    ).encode(),
}


def write_decorated(root: Path, package: str, *, inputs: str = "seed: 2.0") -> Path:
    """A one-module project exercising the decorators (package name must be unique)."""
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "base.py").write_text(DECORATED.lstrip("\n"))
    (root / "configs").mkdir()
    (root / "configs" / "dev.yaml").write_text(
        f"stack:\n  core: [{package}.base]\ninputs:\n  {inputs}\n"
    )
    return root


@dataclasses.dataclass(frozen=True)
class Built:
    root: Path
    build: Build
    graph: GraphModel

    @property
    def driver(self) -> Any:
        return self.build.driver

    def final_vars(self) -> list[str]:
        return sorted(n for n, node in self.driver.graph.nodes.items() if not node.user_defined)


def _build(root: Path) -> Built:
    project = find_project(explicit=root)
    result = build(project, load_profile(project))
    return Built(root, result, model_from_build(result))


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("export")
    layered = base / "layered"
    shutil.copytree(FIXTURES / "layered", layered)
    decorated = write_decorated(base / "decorated", "xfx_unit")
    generated = base / "generated"
    generate(generated, 400, seed=7, package="genx_unit")
    return {"layered": layered, "decorated": decorated, "generated": generated}


STACKS = ("layered", "decorated", "generated")


# --- source and hash parity -------------------------------------------------------------------


def _import_file(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("variant", sorted(AWKWARD_FILES))
def test_source_and_hash_equal_inspect_and_hamilton(tmp_path: Path, variant: str) -> None:
    path = tmp_path / f"awkward_{variant}.py"
    path.write_bytes(AWKWARD_FILES[variant])
    module = _import_file(path, f"awkward_{variant}")
    functions = [
        value
        for value in vars(module).values()
        if inspect.isfunction(value) and value.__module__ == module.__name__
    ]
    functions.append(module.Holder.method)
    assert len(functions) == 12
    index = SourceIndex(str, with_source=True, hamilton=True)
    for fn in functions:
        found = index.lookup(fn)
        assert found is not None, fn.__name__
        lines, start = inspect.getsourcelines(fn)
        assert found.source == inspect.getsource(fn), fn.__name__
        assert (found.line, found.end_line) == (start, start + len(lines) - 1), fn.__name__
        assert found.hamilton_hash == hash_source_code(fn, strip=True), fn.__name__
        assert found.code_hash == source_code_hash(textwrap.dedent(found.source)), fn.__name__


def test_source_index_parses_each_file_once(tmp_path: Path, monkeypatch) -> None:
    import ast

    path = tmp_path / "awkward_once.py"
    path.write_bytes(AWKWARD_FILES["plain"])
    module = _import_file(path, "awkward_once")
    calls = []
    real_parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda *a, **k: calls.append(1) or real_parse(*a, **k))
    index = SourceIndex(str)
    for name in ("deco", "trailing", "multiline_signature", "only_docstring", "strings"):
        assert index.lookup(getattr(module, name)) is not None
    assert len(calls) == 1


def test_source_of_a_file_edited_after_indexing_is_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "edited_later.py"
    path.write_bytes(AWKWARD_FILES["plain"])
    module = _import_file(path, "edited_later")
    index = SourceIndex(str)  # keeps no lines: sources are read again on demand
    assert index.lookup(module.deco) is not None
    assert index.lookup(module.deco, with_source=True).source == inspect.getsource(module.deco)
    fresh = SourceIndex(str)
    assert fresh.lookup(module.trailing) is not None
    path.write_bytes(b"# shifted\n" + AWKWARD_FILES["plain"])
    found = fresh.lookup(module.trailing, with_source=True)
    assert found is not None and found.source is None  # not the shifted text


@pytest.mark.parametrize("stack", STACKS)
def test_code_hash_and_source_equal_hamilton_for_every_node(stacks, stack) -> None:
    built = _build(stacks[stack])
    index = SourceIndex(str, with_source=True, hamilton=True)
    for name, n in built.driver.graph.nodes.items():
        expected = HamiltonNode.from_node(n)
        fns = n.originating_functions
        if fns:
            found = index.lookup(fns[0])
            assert found is not None and found.source == inspect.getsource(fns[0]), name
            assert found.hamilton_hash == expected.version, name
            ours = source_code_hash(textwrap.dedent(found.source))
            # An input's function is one of its consumers' (Hamilton's choice): semdag hashes
            # its name instead, which no branch adding another consumer changes.
            wanted = name if n.user_defined else ours
            assert built.graph.nodes[name].code_hash == wanted, name
        else:
            assert built.graph.nodes[name].code_hash == expected.version == name


def test_generated_stack_has_the_decorated_shapes(stacks) -> None:
    graph = _build(stacks["generated"]).graph
    names = set(graph.nodes)
    assert any(name.endswith("_v0") for name in names)  # parameterize
    assert any(name.endswith("_loc") for name in names)  # extract_columns
    assert any(n.tags.get("layer") == "semantic" for n in graph.nodes.values())  # tag


# --- Hamilton's form ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_hamilton_form_is_export_execution_byte_for_byte(stacks, stack) -> None:
    built = _build(stacks[stack])
    profile = built.build.profile
    final_vars = built.final_vars()
    inputs, overrides = dict(profile.inputs), dict(profile.overrides)
    theirs = built.driver.export_execution(final_vars, inputs, overrides)
    ours = hamilton_export(built.driver, final_vars, inputs, overrides)
    assert json.loads(ours) == json.loads(theirs)
    assert ours == theirs


class ChunkedWorkers:
    """Workers that say two processes could share the work and note every chunk they get
    (working on each here, as a worker would)."""

    def __init__(self) -> None:
        self.chunks: list[object] = []

    def start(self, work):
        return SerialWorkers().start(work)

    def map(self, work, chunks):
        self.chunks.extend(chunks)
        return [work(chunk) for chunk in chunks]

    def count(self) -> int:
        return 2


@pytest.mark.parametrize("stack", ["layered", "generated"])  # stacks of several files
def test_parsing_shared_out_changes_nothing(stacks, stack, monkeypatch) -> None:
    from semdag.hamilton import sourceinfo

    built = _build(stacks[stack])
    profile = built.build.profile
    final_vars = built.final_vars()
    inputs, overrides = dict(profile.inputs), dict(profile.overrides)
    serial = hamilton_export(built.driver, final_vars, inputs, overrides)
    monkeypatch.setattr(sourceinfo, "PARALLEL_MIN_CHARS", 0)
    workers = ChunkedWorkers()
    index = sourceinfo.SourceIndex(str, with_source=True, hamilton=True, tuning=Tuning(workers))
    assert hamilton_export(built.driver, final_vars, inputs, overrides, index=index) == serial
    assert len(workers.chunks) == 2, "the files were not shared out"
    assert model_from_build(built.build) == built.graph


def test_hamilton_form_matches_on_a_subset_with_overrides(stacks) -> None:
    built = _build(stacks["generated"])
    inputs = dict(built.build.profile.inputs)
    final_vars = built.final_vars()[-25:]
    overrides = {name: 1.0 for name in built.final_vars()[-60:-40]}
    theirs = built.driver.export_execution(final_vars, inputs, overrides)
    assert hamilton_export(built.driver, final_vars, inputs, overrides) == theirs
    expected = built.driver.export_execution(final_vars, inputs)
    assert hamilton_export(built.driver, final_vars, inputs) == expected


def test_hamilton_form_needs_no_inputs(stacks) -> None:
    built = _build(stacks["decorated"])
    final_vars = built.final_vars()
    with pytest.raises(ValueError, match="seed"):
        built.driver.export_execution(final_vars, {}, {})
    # The inputs change neither the walk (seed is required) nor any field.
    expected = built.driver.export_execution(final_vars, {"seed": 2.0}, {})
    assert hamilton_export(built.driver, final_vars, {}, {}) == expected


def test_input_problems_name_what_hamilton_refuses(stacks) -> None:
    driver = _build(stacks["layered"]).driver
    assert input_problems(driver, ["bonus"], {"seed": 2}, {}) == []
    missing = input_problems(driver, ["bonus"], {}, {})
    assert [(p.name, p.kind) for p in missing] == [("seed", "missing")]
    assert "raw_value" in missing[0].message
    mistyped = input_problems(driver, ["bonus"], {"seed": "two"}, {})
    assert [(p.name, p.kind) for p in mistyped] == [("seed", "type-mismatch")]
    # An override of the node that needs the input removes the need.
    assert input_problems(driver, ["bonus"], {}, {"raw_value": 1}) == []
    # Nothing upstream of `weight` needs an input.
    assert input_problems(driver, ["weight"], {}, {}) == []


# --- semdag's form -----------------------------------------------------------------------------


def _document(built: Built, **kwargs: Any) -> dict[str, Any]:
    return export_document(built.graph, built.build.profile, **kwargs)


def test_document_fields_on_the_layered_fixture(stacks) -> None:
    built = _build(stacks["layered"])
    doc = _document(built)
    assert doc["kind"] == "semdag.graph"
    assert doc["schema_version"] == 2
    assert doc["profile"] == "dev"
    assert doc["config"] == {}
    assert doc["outputs"] == ["base", "bonus", "raw_value", "score", "weight"]
    assert sorted(doc["nodes"]) == ["base", "bonus", "raw_value", "score", "seed", "weight"]
    weight = doc["nodes"]["weight"]
    assert weight["stack_layer"] == "overrides"
    assert weight["module"] == "stack.hotfix"
    assert weight["file"] == "stack/hotfix.py"
    assert weight["line"] == 6
    assert weight["doc"] == "A recalibrated weight."
    assert weight["tags"]["semantic_id"] == "demo.weight.v1"
    assert doc["nodes"]["score"]["required_dependencies"] == ["base", "weight"]
    seed = doc["nodes"]["seed"]
    assert (seed["is_input"], seed["is_config"], seed["stack_layer"]) == (True, False, None)
    assert doc["edges"] == [
        ["base", "score"],
        ["raw_value", "base"],
        ["score", "bonus"],
        ["seed", "raw_value"],
        ["weight", "score"],
    ]
    assert "source" not in weight


@pytest.mark.parametrize("stack", STACKS)
def test_document_validates_against_the_schema(stacks, stack) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    built = _build(stacks[stack])
    doc = json.loads(canonical_json(_document(built)))
    jsonschema.Draft202012Validator(schema).validate(doc)
    with_source = _document(
        built,
        include_source=True,
        sources=node_sources(built.build, built.graph.nodes),
    )
    jsonschema.Draft202012Validator(schema).validate(json.loads(canonical_json(with_source)))
    broken = {**doc, "nodes": {"x": {"name": "x"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)


@pytest.mark.parametrize("stack", STACKS)
def test_document_covers_the_same_nodes_as_hamilton(stacks, stack) -> None:
    built = _build(stacks[stack])
    profile = built.build.profile
    final_vars = built.final_vars()
    hamilton = json.loads(
        built.driver.export_execution(final_vars, dict(profile.inputs), dict(profile.overrides))
    )
    doc = _document(built)
    assert sorted(doc["nodes"]) == [n["name"] for n in hamilton["nodes"]]
    for row in hamilton["nodes"]:
        node = doc["nodes"][row["name"]]
        if node["is_input"]:
            assert node["code_hash"] == row["name"]
        elif row["source"] is None:
            assert node["code_hash"] == row["version"]
        else:
            assert node["code_hash"] == source_code_hash(textwrap.dedent(row["source"]))
        assert node["required_dependencies"] == row["required_dependencies"]
        assert node["optional_dependencies"] == row["optional_dependencies"]
    members = set(doc["nodes"])
    assert all(a in members and b in members for a, b in doc["edges"])


def test_unset_optional_input_is_left_out_unless_whole_graph(stacks) -> None:
    built = _build(stacks["decorated"])
    assert "scale" not in _document(built)["nodes"]
    whole = _document(built, whole_graph=True)
    assert "scale" in whole["nodes"]
    assert whole["outputs"] == sorted(built.graph.nodes)
    assert ["scale", "table"] in whole["edges"]


def test_an_override_stops_the_walk(stacks) -> None:
    built = _build(stacks["layered"])
    profile = dataclasses.replace(built.build.profile, overrides={"base": 1.0})
    doc = export_document(built.graph, profile, ["bonus"])
    assert sorted(doc["nodes"]) == ["base", "bonus", "score", "weight"]
    hamilton = json.loads(built.driver.export_execution(["bonus"], {"seed": 2}, {"base": 1.0}))
    assert sorted(doc["nodes"]) == [n["name"] for n in hamilton["nodes"]]


def test_include_source_gives_inspect_source(stacks) -> None:
    built = _build(stacks["decorated"])
    with pytest.raises(ValueError, match="sources"):
        _document(built, include_source=True)
    sources = node_sources(built.build, built.graph.nodes)
    doc = _document(built, include_source=True, sources=sources)
    nodes = built.driver.graph.nodes
    for name, node in doc["nodes"].items():
        fns = nodes[name].originating_functions
        assert node["source"] == (inspect.getsource(fns[0]) if fns else None), name
    assert doc["nodes"]["wrapped_total"]["source"].startswith("@_passthrough\ndef wrapped_total(")
    assert doc["nodes"]["scaled_seed"]["source"].startswith("    def scaled_seed(")


def test_unknown_output_is_a_key_error_with_near_matches(stacks) -> None:
    built = _build(stacks["layered"])
    with pytest.raises(KeyError, match="did you mean: score"):
        _document(built, outputs=["scor"])


def test_document_is_canonical_and_machine_free(stacks) -> None:
    root = stacks["decorated"]
    first = canonical_json(_document(_build(root)))
    second = canonical_json(_document(_build(root)))
    assert first == second
    assert str(root) not in first
    assert json.loads(first)["nodes"]["table"]["file"] == "xfx_unit/base.py"


def test_profile_config_is_made_json_safe(stacks) -> None:
    built = _build(stacks["layered"])
    profile = dataclasses.replace(
        built.build.profile,
        config={
            "when": datetime.date(2024, 1, 2),
            "ids": {3, 1},
            "raw": b"\x00",
            "x": float("nan"),
        },
    )
    doc = export_document(built.graph, profile, ["score"])
    assert doc["config"] == {"when": "2024-01-02", "ids": [1, 3], "raw": "AA==", "x": "nan"}
    canonical_json(doc)


def test_jsonable_and_portable_path() -> None:
    assert jsonable({"a": (1, 2.5), 3: None}) == {"a": [1, 2.5], "3": None}
    assert jsonable(float("inf")) == "inf"
    assert portable_path("stack/core.py") == "stack/core.py"
    assert portable_path(None) is None
    import hamilton.function_modifiers.macros as macros

    assert portable_path(macros.__file__) == "hamilton/function_modifiers/macros.py"
    assert portable_path("/nowhere/on/the/path/x.py") == "x.py"


# --- the generator -----------------------------------------------------------------------------


def test_generator_is_deterministic_and_layered(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 300, seed=3, package="genx_det")
    generate(tmp_path / "b", 300, seed=3, package="genx_det")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.py"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.py"))
    assert files_a == files_b
    for rel in [*files_a, Path("configs/dev.yaml")]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    generate(tmp_path / "c", 300, seed=4, package="genx_det")
    module = Path("genx_det/core/m0000.py")
    assert (tmp_path / "c" / module).read_bytes() != (tmp_path / "a" / module).read_bytes()

    built = _build(tmp_path / "a")
    computed = [n for n in built.graph.nodes.values() if not n.is_input]
    assert len(computed) == 300
    assert first.semantic == 75
    semantic = [n for n in computed if n.tags.get("layer") == "semantic"]
    assert len(semantic) == 75
    for key in ("semantic_id", "entity", "grain", "entity_keys", "join_keys", "dtype",
                "schema_ref", "version", "owner", "stability", "pii"):  # fmt: skip
        assert all(key in n.tags for n in semantic), key
    assert {n.layer for n in computed} == {"core", "plugins", "overrides"}
    assert [e.node for e in built.build.ledger] == list(first.overridden)
    assert all(1 <= len(n.required) <= 4 for n in computed)
