"""`semdag render` end to end: selectors, formats, changes, errors, determinism, scale."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from semdag.cli import app
from tests.conftest import run_probe
from tests.core.test_render import STACK_CLUSTERS, clusters

# Module names unique to this file: tests in one process share sys.modules.
PREFIX = "rcli"

PROFILE = f"""\
stack:
  core: [{PREFIX}_core]
  plugins: [{PREFIX}_plugin]
  overrides: [{PREFIX}_hotfix]
config:
  mode: fast
inputs:
  seed: 2
"""

CORE = '''\
"""Core layer."""

from hamilton.function_modifiers import tag

SEM = dict(layer="semantic", entity="repo", grain="per_repo", dtype="float", version="1")


def raw_value(seed: int) -> int:
    """The raw input."""
    return seed


@tag(semantic_id="demo.base.v1", owner="core-team", **SEM)
def base(raw_value: int) -> float:
    """A base metric."""
    return raw_value * 1.5


@tag(semantic_id="demo.weight.v1", **SEM)
def weight() -> float:
    """A weight."""
    return 2.0


@tag(semantic_id="demo.score.v1", note='</script><b>"x" & y</b>', **SEM)
def score(base: float, weight: float) -> float:
    """The weighted score."""
    return base * weight


def speed(mode: str) -> float:
    """Speed from config."""
    return 1.0 if mode == "fast" else 0.5


def größe(score: float) -> float:
    """A node whose name is not ASCII."""
    return score
'''

PLUGIN = '''\
"""Plugin layer."""


def bonus(score: float, speed: float, boost: float = 1.0) -> float:
    """A bonus."""
    return score + speed + boost


def unrelated() -> int:
    """Connected to nothing."""
    return 1
'''

HOTFIX = '''\
"""Override layer."""

from hamilton.function_modifiers import tag


@tag(
    layer="semantic",
    semantic_id="demo.weight.v1",
    entity="repo",
    grain="per_repo",
    dtype="float",
    version="1",
)
def weight() -> float:
    """Recalibrated."""
    return 3.0
'''

ALL = {
    "base",
    "bonus",
    "boost",
    "größe",
    "mode",
    "raw_value",
    "score",
    "seed",
    "speed",
    "unrelated",
    "weight",
}


def write_project(root: Path) -> Path:
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "dev.yaml").write_text(PROFILE, encoding="utf-8")
    for name, text in (("core", CORE), ("plugin", PLUGIN), ("hotfix", HOTFIX)):
        (root / f"{PREFIX}_{name}.py").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("render-project"))


def render(project: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["render", "--project-dir", str(project), *args])
    assert not isinstance(result.exception, AssertionError), result.exception
    return result.exit_code, result.stdout, result.stderr


def drawn(dot: str) -> set[str]:
    """Names of the real nodes in DOT text (ids are node:<name>, or a digest for odd names)."""
    names = set(re.findall(r'^\s+"node:([A-Za-z_][\w.\-]*)" \[', dot, flags=re.M))
    names |= {
        m for m in re.findall(r'^\s+"node:~[0-9a-f]+" \[.*label=<<B>([^<]+)</B>', dot, flags=re.M)
    }
    return names


# --------------------------------------------------------------------------- the picture


def test_whole_graph_as_dot_on_stdout(project: Path) -> None:
    code, out, err = render(project)
    assert code == 0, err
    assert out.startswith("digraph semdag {\n") and out.endswith("}\n")
    assert drawn(out) == ALL
    assert clusters(out) == STACK_CLUSTERS
    line = {m.group(1): m.group(0) for m in re.finditer(r'^\s+"node:(\w+)" \[.*', out, re.M)}
    assert 'class="semantic"' in line["score"] and "demo.score.v1" in line["score"]
    assert 'class="semantic overridden"' in line["weight"]
    assert "overridden by overrides (was core)" in line["weight"]
    assert 'class="input"' in line["seed"] and 'class="config"' in line["mode"]
    assert re.search(r'"node:boost" -> "node:bonus" \[.*style="dashed"', out)  # optional input
    # The note tag is data for the viewer, never markup in the picture.
    assert "</script>" not in out
    assert "render: 11 of 11 nodes" in err
    assert err.strip() and not out.count("render:")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--upstream-of", "score"], {"score", "base", "weight", "raw_value", "seed"}),
        (["--upstream-of", "score", "--depth", "1"], {"score", "base", "weight"}),
        (["--downstream-of", "base"], {"base", "score", "bonus", "größe"}),
        (["--downstream-of", "base", "--depth", "1"], {"base", "score"}),
        (
            ["--downstream-of", "seed", "--downstream-of", "mode"],
            {"seed", "raw_value", "base", "score", "bonus", "größe", "mode", "speed"},
        ),
        (["--path", "raw_value", "bonus"], {"raw_value", "base", "score", "bonus"}),
        (["--tag", "owner=core-team"], {"base"}),
        (["--tag", "semantic_id"], {"base", "score", "weight"}),
        (
            ["--tag", "semantic_id=demo.base.v1", "--tag", "semantic_id=demo.score.v1"],
            {"base", "score"},
        ),
        (["--layer", "plugins"], {"bonus", "unrelated"}),
        (
            ["--output", "bonus"],
            {"bonus", "score", "speed", "boost", "mode", "base", "weight", "raw_value", "seed"},
        ),
        # Selectors intersect.
        (["--output", "bonus", "--layer", "core"], {"score", "speed", "base", "raw_value"}),
        (["--upstream-of", "bonus", "--tag", "semantic_id"], {"score", "base", "weight"}),
    ],
)
def test_selectors(project: Path, args: list[str], expected: set[str]) -> None:
    code, out, err = render(project, *args)
    assert code == 0, err
    assert drawn(out) == expected
    assert f"render: {len(expected)} of 11 nodes" in err


def test_help_says_how_selectors_combine() -> None:
    result = CliRunner().invoke(app, ["render", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Anchored selectors add up" in text and "then narrow it" in text
    for option in (
        "--upstream-of",
        "--downstream-of",
        "--path",
        "--tag",
        "--layer",
        "--depth",
        "--output",
        "--changed-since",
        "--no-collapse",
        "-o",
    ):
        assert option in text


def test_formats_from_suffix_and_flag(project: Path, tmp_path: Path) -> None:
    for name in ("pic.svg", "pic.png", "pic.pdf", "pic.html", "pic.gv"):
        code, out, err = render(project, "-o", str(tmp_path / name))
        assert code == 0, err
        assert out == ""
        assert f"wrote {tmp_path / name}" in err
    assert (tmp_path / "pic.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / "pic.pdf").read_bytes().startswith(b"%PDF")
    svg = (tmp_path / "pic.svg").read_text(encoding="utf-8")
    assert '<g id="node:score" class="node semantic">' in svg
    assert (tmp_path / "pic.gv").read_text(encoding="utf-8").startswith("digraph semdag")
    page = (tmp_path / "pic.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<g id="node:base"' in page
    # The tag that tries to close the script element arrives escaped in the data.
    assert "</script><b>" not in page
    assert "\\u003c/script\\u003e\\u003cb\\u003e" in page
    # --format wins over the suffix; svg may go to stdout.
    code, out, _ = render(project, "-f", "svg", "-o", str(tmp_path / "really-svg.png"))
    assert code == 0 and "<svg" in (tmp_path / "really-svg.png").read_text(encoding="utf-8")
    code, out, _ = render(project, "-f", "svg")
    assert code == 0 and "<svg" in out and 'id="node:weight"' in out


def test_collapse_can_be_forced(project: Path) -> None:
    code, out, err = render(project, "--collapse")
    assert code == 0, err
    assert not drawn(out)
    assert '"module:rcli_core" [' in out and "5 nodes · 2 semantic" in out
    assert '1 node · 1 semantic</FONT><BR/><FONT POINT-SIZE="9">1 overridden' in out
    assert "more than a picture can show" not in err


# --------------------------------------------------------------------------- changes


def test_changed_since_graph_snapshot(project: Path, tmp_path: Path) -> None:
    baseline = {
        "kind": "semdag.graph",
        "schema_version": 2,
        "profile": "dev",
        "nodes": {
            **{name: {} for name in ALL - {"größe", "unrelated"}},
            "base": {"code_hash": "stale", "output_type": "float"},
            "score": {"output_type": "int"},
            "old_metric": {
                "stack_layer": "core",
                "tags": {"semantic_id": "demo.old.v1"},
                "required_dependencies": ["raw_value"],
            },
        },
    }
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(baseline), encoding="utf-8")
    code, out, err = render(project, "--changed-since", str(path))
    assert code == 0, err
    line = {m.group(1): m.group(0) for m in re.finditer(r'^\s+"(\S+)" \[.*', out, re.M)}
    assert 'class="added"' in line["node:unrelated"] and "#c8f0c4" in line["node:unrelated"]
    assert "changed: code" in line["node:base"] and "#ffe0b2" in line["node:base"]
    assert "changed: type" in line["node:score"]
    assert "demo.old.v1" in line["removed:old_metric"] and "#ffebee" in line["removed:old_metric"]
    assert '"node:raw_value" -> "removed:old_metric"' in out
    assert "2 added, 2 changed, 1 removed" in err


def test_changed_since_registry_snapshot(project: Path, tmp_path: Path) -> None:
    entries = {
        "demo.base.v1": {
            "node": "base",
            "code_hash": "stale",
            "output_type": "float",
            "tags": {"semantic_id": "demo.base.v1"},
        },
        "demo.gone.v1": {"node": "gone", "stack_layer": "plugins", "dependencies": ["score"]},
    }
    path = tmp_path / "registry.json"
    path.write_text(
        json.dumps({"kind": "semdag.registry", "schema_version": 2, "entries": entries}),
        encoding="utf-8",
    )
    code, out, err = render(project, "--changed-since", str(path))
    assert code == 0, err
    line = {m.group(1): m.group(0) for m in re.finditer(r'^\s+"(\S+)" \[.*', out, re.M)}
    assert 'class="semantic added"' in line["node:score"]
    assert 'class="semantic overridden added"' in line["node:weight"]
    assert "changed: code, tags" in line["node:base"]
    assert "removed:demo.gone.v1" in line
    assert '"node:score" -> "removed:demo.gone.v1"' in out


def test_changed_since_a_snapshot_written_by_export(project: Path, tmp_path: Path) -> None:
    from semdag.app.session import Session
    from semdag.core.export import export_document
    from semdag.store.artifacts import canonical_json

    session = Session(command="test", project_dir=project)
    document = export_document(session.graph(), session.profile, None)
    path = tmp_path / "graph.json"
    path.write_text(canonical_json(document), encoding="utf-8")
    code, out, err = render(project, "--changed-since", str(path))
    assert code == 0, err
    assert "0 added, 0 changed, 0 removed" in err
    document["nodes"]["base"]["code_hash"] = "stale"
    del document["nodes"]["bonus"]
    path.write_text(canonical_json(document), encoding="utf-8")
    code, out, err = render(project, "--changed-since", str(path))
    assert "1 added, 1 changed, 0 removed" in err
    assert re.search(r'"node:bonus" \[class="added"', out)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline not found"),
        ("{oops", "is not JSON"),
        ('{"kind": "semdag.other"}', "is not a semdag graph or registry snapshot"),
    ],
)
def test_changed_since_unusable_baseline(
    project: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = render(project, "--changed-since", str(path))
    assert code == 2
    assert out == ""
    assert message in err


# --------------------------------------------------------------------------- bad input


def test_unknown_node_lists_near_matches(project: Path) -> None:
    for args in (
        ["--upstream-of", "scroe"],
        ["--downstream-of", "scroe"],
        ["--path", "raw_value", "scroe"],
        ["--output", "scroe"],
    ):
        code, out, err = render(project, *args)
        assert code == 2, args
        assert "unknown node 'scroe' (did you mean: score?)" in err
        assert out == ""


def test_no_path_exits_1_without_traceback(project: Path) -> None:
    code, out, err = render(project, "--path", "unrelated", "score")
    assert code == 1
    assert "no path from unrelated to score" in err
    assert "Traceback" not in err and out == ""
    code, _, err = render(project, "--path", "score", "raw_value")
    assert code == 1
    assert "hint: raw_value is upstream of score: try --path raw_value score" in err


def test_empty_selection_exits_1(project: Path) -> None:
    code, out, err = render(project, "--tag", "owner=nobody")
    assert code == 1 and out == ""
    assert "no node matches the selection (tag owner=nobody)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "gif"], "unknown format 'gif' (choose from dot, svg, png, pdf, html, mermaid)"),
        (["-o", "picture.jpeg"], "cannot infer the format from 'picture.jpeg'"),
        (["-f", "png"], "png output is binary: pass -o FILE"),
        (["-f", "pdf"], "pdf output is binary: pass -o FILE"),
        (["--layer", "nope"], "unknown layer 'nope' (layers: core, plugins, overrides)"),
        (["--depth", "2"], "--depth counts hops from --upstream-of/--downstream-of nodes"),
        (["--tag", "=x"], "--tag '=x': expected KEY or KEY=VALUE"),
    ],
)
def test_usage_errors(project: Path, args: list[str], message: str) -> None:
    code, out, err = render(project, *args)
    assert code == 2
    assert out == ""
    assert message in " ".join(err.split())


def test_unwritable_output_names_the_path(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    for target in (blocker / "pic.dot", tmp_path):
        code, out, err = render(project, "-f", "dot", "-o", str(target))
        assert code == 2, err
        assert f"cannot write {target}" in err
        assert out == ""


def test_missing_dot_binary(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A PATH that holds no Graphviz at all.
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for fmt, what in (("svg", "svg output needs"), ("html", "html output embeds an SVG")):
        code, out, err = render(project, "-f", fmt)
        assert code == 2, err
        assert what in err and "Graphviz's `dot` program, which is not on PATH" in err
        assert "apt-get install graphviz" in err and "brew install graphviz" in err
        assert "make graphviz" in err
        assert out == ""
    code, _, _ = render(project, "-o", str(tmp_path / "x.png"))
    assert code == 2 and not (tmp_path / "x.png").exists()
    # DOT needs no Graphviz.
    code, out, err = render(project)
    assert code == 0, err
    assert out.startswith("digraph semdag {")


# --------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_dot_is_byte_identical_across_processes(project: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "graph.json"
    baseline.write_text(
        json.dumps({"kind": "semdag.graph", "nodes": {"base": {"code_hash": "x"}, "gone": {}}}),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "semdag", "render", "--project-dir", str(project)]
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [*command, "--changed-since", "graph.json"],
            capture_output=True,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        outputs.add(done.stdout)
    assert len(outputs) == 1
    text = outputs.pop().decode()
    assert drawn(text) == ALL and '"removed:gone"' in text


# --------------------------------------------------------------------------- build cache


def probe_render(project: Path) -> tuple[dict[str, object], str]:
    probe = run_probe(
        ["render", "--project-dir", str(project), "-p", "dev", "-f", "dot"], cwd=project.parent
    )
    return {"code": probe.code, "heavy": probe.heavy}, probe.stdout


@pytest.mark.slow
def test_unchanged_project_renders_from_the_build_cache(tmp_path: Path) -> None:
    project = write_project(tmp_path / "cached")
    first, cold = probe_render(project)
    assert first["code"] == 0
    assert "hamilton" in first["heavy"]  # the probe sees a real build
    second, warm = probe_render(project)
    assert second == {"code": 0, "heavy": []}
    assert warm == cold
    # The override ledger comes from the cached facts too.
    assert "overridden by overrides (was core)" in warm
    # An edited module is a cache miss: built again, and the picture shows the edit.
    hotfix = project / f"{PREFIX}_hotfix.py"
    hotfix.write_text(
        hotfix.read_text(encoding="utf-8")
        + '\n\ndef extra() -> int:\n    """New."""\n    return 1\n',
        encoding="utf-8",
    )
    third, edited = probe_render(project)
    assert third["code"] == 0 and "hamilton" in third["heavy"]
    assert '"node:extra" [' in edited and '"node:extra" [' not in warm


# --------------------------------------------------------------------------- scale


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.generate import generate

    root = tmp_path_factory.mktemp("render-big")
    generate(root, 1000, package=f"{PREFIX}_big")
    return root


def test_big_stack_collapses_by_module(big_project: Path, tmp_path: Path) -> None:
    page = tmp_path / "big.html"
    code, out, err = render(big_project, "-o", str(page))
    assert code == 0, err
    assert re.search(r"render: 10\d\d nodes are more than a picture can show: drew \d+ module", err)
    text = page.read_text(encoding="utf-8")
    assert f'id="module:{PREFIX}_big.core.m0000"' in text
    data = json.loads(
        re.search(r'<script type="application/json" id="semdag-data">(.*?)</script>', text).group(1)
    )
    assert data["collapsed"] is True
    assert len(data["nodes"]) >= 1000
    assert sum(len(g["members"]) for g in data["groups"].values()) == len(data["nodes"])
    # --no-collapse draws every node (as DOT: laying a thousand nodes out is Graphviz's business).
    code, out, err = render(big_project, "--no-collapse")
    assert code == 0, err
    assert len(drawn(out)) == len(data["nodes"])
    assert "more than a picture can show" not in err
