"""Unit tests for the picture modules: selection, changes, the DOT text, collapsing."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from semdag.core.changes import compare, read_baseline
from semdag.core.errors import BaselineError, UnknownNodeError, UsageError
from semdag.core.graph import GraphModel, NodeInfo
from semdag.core.picture import COLLAPSE_THRESHOLD, RenderOptions, quote, svg_id
from semdag.core.render import plan, render_dot
from semdag.core.selection import EmptySelectionError, NoPathError, Selection, select
from semdag.hamilton.stack import Definition, LedgerEntry

SEMANTIC = {"layer": "semantic", "semantic_id": None}
LAYERS = ("core", "plugins", "overrides")


# One cluster per layer, in stack order, then inputs, config and the legend.
STACK_CLUSTERS = ["layer:core", "layer:plugins", "layer:overrides", "inputs", "config", "legend"]


def clusters(dot: str) -> list[str]:
    """The ids of a DOT picture's clusters, in order."""
    return re.findall(r'graph \[id="cluster:([^"]+)"', dot)


def node(
    name: str,
    requires: tuple[str, ...] = (),
    *,
    layer: str | None = "core",
    module: str | None = "mods.core",
    tags: dict[str, Any] | None = None,
    optional: tuple[str, ...] = (),
    is_input: bool = False,
    is_config: bool = False,
    code_hash: str | None = None,
    type_: str = "float",
) -> NodeInfo:
    return NodeInfo(
        name=name,
        type=type_,
        tags=tags or {},
        layer=None if is_input else layer,
        module=None if is_input else module,
        function=None if is_input else name,
        file=None,
        line=None,
        end_line=None,
        doc="",
        code_hash=code_hash or (name if is_input else f"hash-{name}"),
        required=tuple(sorted(requires)),
        optional=tuple(sorted(optional)),
        is_input=is_input,
        is_config=is_config,
    )


def model(nodes: list[NodeInfo], order: list[int] | None = None) -> GraphModel:
    """A GraphModel as model_from_build makes it (``order`` shuffles insertion)."""
    items = [nodes[i] for i in order] if order else nodes
    dependents: dict[str, list[str]] = {}
    for n in items:
        for dep in (*n.required, *n.optional):
            dependents.setdefault(dep, []).append(n.name)
    return GraphModel(
        profile="dev",
        nodes={n.name: n for n in sorted(items, key=lambda n: n.name)},
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
    )


def sem(sid: str, **extra: str) -> dict[str, str]:
    return {"layer": "semantic", "semantic_id": sid, **extra}


def small() -> GraphModel:
    """seed -> raw -> base -> score <- weight; score -> bonus <- mode; lonely."""
    return model(
        [
            node("seed", is_input=True),
            node("mode", is_input=True, is_config=True),
            node("raw", ("seed",)),
            node("base", ("raw",), tags=sem("demo.base.v1", owner="core-team")),
            node("weight", layer="overrides", module="mods.hotfix", tags=sem("demo.weight.v1")),
            node("score", ("base", "weight"), tags=sem("demo.score.v1")),
            node("bonus", ("score", "mode"), layer="plugins", module="mods.plugin"),
            node("lonely", layer="plugins", module="mods.plugin"),
        ]
    )


def options(**kw: Any) -> RenderOptions:
    return RenderOptions(profile="dev", layers=LAYERS, semantic_filter=SEMANTIC, **kw)


def drawn(dot: str) -> set[str]:
    """Names of the real nodes drawn in DOT text (module boxes and legend excluded)."""
    return set(re.findall(r'^\s+"node:([^"]+)" \[', dot, flags=re.M))


def ledger_entry(name: str) -> dict[str, Any]:
    """A ledger row in the shape build facts carry (``LedgerEntry.as_dict``)."""
    return LedgerEntry(
        name,
        Definition(name, "core", "mods.core", name, "mods/core.py", 3),
        Definition(name, "overrides", "mods.hotfix", name, "mods/hotfix.py", 7),
    ).as_dict()


# --------------------------------------------------------------------------- selection


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(), {"seed", "mode", "raw", "base", "weight", "score", "bonus", "lonely"}),
        (Selection(upstream_of=("score",)), {"seed", "raw", "base", "weight", "score"}),
        (Selection(upstream_of=("score",), depth=1), {"base", "weight", "score"}),
        (Selection(downstream_of=("raw",)), {"raw", "base", "score", "bonus"}),
        (Selection(downstream_of=("raw",), depth=0), {"raw"}),
        (Selection(upstream_of=("base", "weight")), {"seed", "raw", "base", "weight"}),
        (Selection(path=("raw", "bonus")), {"raw", "base", "score", "bonus"}),
        (Selection(path=("weight", "weight")), {"weight"}),
        (Selection(outputs=("base",)), {"seed", "raw", "base"}),
        (Selection(tag_filter={"owner": ["core-team"]}), {"base"}),
        (Selection(tag_filter={"semantic_id": None}), {"base", "weight", "score"}),
        (
            Selection(tag_filter={"semantic_id": ["demo.base.v1", "demo.weight.v1"]}),
            {"base", "weight"},
        ),
        (Selection(layers=("plugins",)), {"bonus", "lonely"}),
        (Selection(layers=("plugins", "overrides")), {"bonus", "lonely", "weight"}),
        # Selectors intersect.
        (Selection(upstream_of=("bonus",), layers=("core",)), {"raw", "base", "score"}),
        # Anchored selectors add up: everything upstream of score or downstream of raw.
        (
            Selection(upstream_of=("score",), downstream_of=("raw",)),
            {"seed", "raw", "base", "weight", "score", "bonus"},
        ),
        (
            Selection(outputs=("bonus",), tag_filter={"semantic_id": None}),
            {"base", "weight", "score"},
        ),
    ],
)
def test_select(selection: Selection, expected: set[str]) -> None:
    assert set(select(small(), selection)) == expected


def test_select_is_sorted() -> None:
    names = select(small(), Selection())
    assert list(names) == sorted(names)


def test_unknown_node_lists_near_matches() -> None:
    with pytest.raises(UnknownNodeError, match=r"unknown node 'scor'.*did you mean: score"):
        select(small(), Selection(upstream_of=("scor",)))
    with pytest.raises(UnknownNodeError, match="'nowhere'"):
        select(small(), Selection(path=("raw", "nowhere")))


def test_no_path_is_a_failed_check_with_a_hint_when_reversed() -> None:
    with pytest.raises(NoPathError, match="no path from lonely to score") as lonely:
        select(small(), Selection(path=("lonely", "score")))
    assert lonely.value.exit_code == 1
    assert lonely.value.hint is None
    with pytest.raises(NoPathError, match="no path from score to raw") as reversed_:
        select(small(), Selection(path=("score", "raw")))
    assert reversed_.value.hint == "raw is upstream of score: try --path raw score"


def test_empty_intersection_fails() -> None:
    with pytest.raises(EmptySelectionError, match="no node matches") as info:
        select(small(), Selection(upstream_of=("base",), layers=("plugins",)))
    assert info.value.exit_code == 1


def test_depth_needs_an_anchor_and_is_not_negative() -> None:
    with pytest.raises(UsageError, match="--depth counts hops"):
        select(small(), Selection(depth=2))
    with pytest.raises(UsageError, match="0 or more"):
        select(small(), Selection(upstream_of=("score",), depth=-1))


def test_describe() -> None:
    selection = Selection(
        upstream_of=("a",), depth=2, tag_filter={"k": ["x", "y"], "e": None}, layers=("core",)
    )
    assert selection.describe() == ("upstream of a within 2 hops; tag k=x|y; tag e; layer core")
    assert Selection().describe() == ""


# --------------------------------------------------------------------------- DOT text


def test_dot_marks_semantic_overridden_inputs_config_and_layers() -> None:
    dot = render_dot(
        small(), select(small(), Selection()), options(ledger=(ledger_entry("weight"),))
    )
    lines = {m.group(1): m.group(0) for m in re.finditer(r'^\s+"node:(\w+)" \[.*', dot, re.M)}
    assert 'penwidth="2.5"' in lines["base"] and "demo.base.v1" in lines["base"]
    assert 'class="semantic"' in lines["base"]
    assert "penwidth" not in lines["raw"]
    assert 'peripheries="2"' in lines["weight"]
    assert "overridden by overrides (was core)" in lines["weight"]
    assert 'shape="ellipse"' in lines["seed"] and "dashed" in lines["seed"]
    assert 'shape="note"' in lines["mode"]
    assert clusters(dot) == STACK_CLUSTERS
    assert '"legend:semantic"' in dot and '"legend:added"' not in dot
    edges = re.findall(r'^  "node:(\w+)" -> "node:(\w+)"', dot, flags=re.M)
    assert edges == sorted(edges)
    assert ("mode", "bonus") in edges and ("base", "score") in edges


def test_optional_dependency_is_dashed() -> None:
    g = model([node("boost", is_input=True), node("bonus", optional=("boost",))])
    dot = render_dot(g, select(g, Selection()), options())
    assert re.search(r'"node:boost" -> "node:bonus" \[.*style="dashed"', dot)


def test_dot_is_identical_whatever_the_insertion_order() -> None:
    nodes = list(small().nodes.values())
    texts = set()
    for seed in range(5):
        order = list(range(len(nodes)))
        random.Random(seed).shuffle(order)
        g = model(nodes, order)
        texts.add(render_dot(g, select(g, Selection()), options(ledger=(ledger_entry("weight"),))))
    assert len(texts) == 1


def test_quote_cannot_be_broken_out_of() -> None:
    assert quote('a"b') == '"a\\"b"'
    assert quote("a\\") == '"a\\\\"'
    assert quote("line\nbreak") == '"line\\nbreak"'


def test_svg_ids_are_safe() -> None:
    assert svg_id("node", "score") == "node:score"
    odd = svg_id("node", 'we"ird name')
    assert re.fullmatch(r"node:~[0-9a-f]{16}", odd)
    assert svg_id("node", 'we"ird name') == odd  # stable


def test_labels_escape_markup() -> None:
    g = model([node("x", tags=sem("a.b", note="x"))])
    dot = render_dot(
        g,
        ("x",),
        RenderOptions(
            profile='p<&>"', layers=("core",), semantic_filter=SEMANTIC, description="<script>"
        ),
    )
    assert "<B>semdag · profile p&lt;&amp;&gt;&quot; · &lt;script&gt;</B>" in dot
    assert "<script>" not in dot


def test_graphviz_accepts_awkward_names_and_tags() -> None:
    assert shutil.which("dot"), "Graphviz's `dot` is missing: run `make graphviz`"
    g = model(
        [
            node('we"ird\\', tags=sem("x.y", note='</b>"&')),
            node("größe", ('we"ird\\',)),
            node("café", ("größe",), layer="la<y>er"),
        ]
    )
    opts = RenderOptions(profile="dev", layers=("core", "la<y>er"), semantic_filter=SEMANTIC)
    dot = render_dot(g, select(g, Selection()), opts)
    done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    svg = done.stdout.decode()
    assert "größe" in svg and "la&lt;y&gt;er" in svg
    assert svg.count('class="node') == len(g.nodes) + 5  # the nodes and five legend entries


# --------------------------------------------------------------------------- changes


def graph_doc(nodes: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "semdag.graph", "schema_version": 2, "profile": "dev", "nodes": nodes}


def test_compare_graph_snapshot() -> None:
    g = small()
    old = {
        name: {"code_hash": info.code_hash, "tags": dict(info.tags), "output_type": info.type}
        for name, info in g.nodes.items()
        if name != "lonely"
    }
    old["base"] = {**old["base"], "code_hash": "stale"}
    old["score"] = {**old["score"], "tags": {**old["score"]["tags"], "version": "2"}}
    old["raw"] = {**old["raw"], "output_type": "int", "tags": {"module": "elsewhere"}}
    old["gone"] = {
        "code_hash": "h",
        "tags": sem("demo.gone.v1"),
        "layer": "core",
        "dependencies": ["raw"],
    }
    changes = compare(g, graph_doc(old), SEMANTIC, "graph.json")
    assert changes.kind == "graph"
    assert changes.added == {"lonely"}
    # Hamilton's bookkeeping tags (module, hamilton.*) never count as a change.
    assert changes.changed == {"base": ("code",), "score": ("tags",), "raw": ("type",)}
    assert [(gh.name, gh.semantic_id, gh.layer, gh.dependencies) for gh in changes.removed] == [
        ("gone", "demo.gone.v1", "core", ("raw",))
    ]


def test_compare_registry_snapshot() -> None:
    g = small()
    old_entries = {
        "demo.base.v1": {
            "node": "base",
            "code_hash": "stale",
            "output_type": "float",
            "tags": sem("demo.base.v1", owner="core-team"),
        },
        "demo.weight.v1": {
            "node": "old_weight",
            "code_hash": "hash-weight",
            "output_type": "float",
            "tags": sem("demo.weight.v1"),
        },
        "demo.gone.v1": {
            "node": "gone",
            "stack_layer": "plugins",
            "output_type": "int",
            "dependencies": ["score"],
            "tags": {},
        },
    }
    doc = {"kind": "semdag.registry", "schema_version": 2, "profile": "dev", "entries": old_entries}
    changes = compare(g, doc, SEMANTIC, "registry.json")
    assert changes.added == {"score"}
    assert changes.changed == {"base": ("code",), "weight": ("renamed from old_weight",)}
    assert [(gh.key, gh.name, gh.layer) for gh in changes.removed] == [
        ("demo.gone.v1", "gone", "plugins")
    ]


def test_changes_are_drawn() -> None:
    g = small()
    old = graph_doc(
        {
            **{name: {} for name in g.nodes if name != "lonely"},
            "base": {"code_hash": "stale"},
            "gone": {"layer": "plugins", "dependencies": ["score"], "tags": sem("demo.gone.v1")},
        }
    )
    changes = compare(g, old, SEMANTIC, "snapshots/dev/graph.json")
    dot = render_dot(g, select(g, Selection()), options(changes=changes))
    line = {m.group(1): m.group(0) for m in re.finditer(r'^\s+"(\w+:\w+)" \[.*', dot, re.M)}
    assert 'fillcolor="#c8f0c4"' in line["node:lonely"] and 'class="added"' in line["node:lonely"]
    assert 'fillcolor="#ffe0b2"' in line["node:base"] and "changed: code" in line["node:base"]
    assert 'class="semantic changed"' in line["node:base"]
    ghost = line["removed:gone"]
    assert 'fillcolor="#ffebee"' in ghost and "dashed" in ghost and "demo.gone.v1" in ghost
    assert '"node:score" -> "removed:gone"' in dot
    assert "changes since snapshots/dev/graph.json" in dot
    assert '"legend:removed"' in dot
    # A selection keeps only the removed nodes that touched it.
    near = render_dot(g, select(g, Selection(upstream_of=("score",))), options(changes=changes))
    far = render_dot(g, select(g, Selection(layers=("overrides",))), options(changes=changes))
    assert '"removed:gone"' in near and '"removed:gone"' not in far


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline not found: base.json"),
        ("{not json", "is not JSON"),
        ('{"kind": "other"}', "not a semdag graph or registry snapshot"),
        ("[1, 2]", "not a semdag graph or registry snapshot"),
        ('{"kind": "semdag.graph", "nodes": []}', "'nodes' must map names to objects"),
        ('{"kind": "semdag.registry", "entries": {"a": 1}}', "'entries' must map"),
    ],
)
def test_read_baseline_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(BaselineError, match=re.escape(message)) as info:
        read_baseline(path, "base.json")
    assert info.value.exit_code == 2


# --------------------------------------------------------------------------- collapse


def big(n: int, modules: int = 40, seed: int = 7) -> GraphModel:
    """A layered synthetic stack: each node reads up to three earlier nodes, mostly nearby."""
    rnd = random.Random(seed)
    nodes = [node("seed", is_input=True)]
    for i in range(n - 1):
        name = f"n{i:05d}"
        module = i * modules // n
        pool = [f"n{j:05d}" for j in range(max(0, i - 60), i)] or ["seed"]
        requires = tuple(sorted({rnd.choice(pool) for _ in range(min(3, len(pool)))}))
        nodes.append(
            node(
                name,
                requires,
                layer=LAYERS[module % 3],
                module=f"mods.m{module:02d}",
                tags=sem(f"x.n{i}") if i % 7 == 0 else {},
            )
        )
    return model(nodes)


def test_collapses_above_the_threshold() -> None:
    at = big(COLLAPSE_THRESHOLD)
    assert not plan(at, select(at, Selection()), options()).collapsed
    over = big(COLLAPSE_THRESHOLD + 1)
    picture = plan(over, select(over, Selection()), options())
    assert picture.collapsed
    forced = plan(over, select(over, Selection()), options(collapse=False))
    assert not forced.collapsed and len(drawn(forced.to_dot())) == COLLAPSE_THRESHOLD + 1
    assert plan(at, select(at, Selection()), options(collapse=True)).collapsed


def test_collapsed_picture_aggregates_edges_per_module() -> None:
    g = big(1000, modules=10)
    picture = plan(g, select(g, Selection()), options())
    dot = picture.to_dot()
    assert not drawn(dot)
    boxes = re.findall(
        r'^\s+"(module:[^"]+)" \[.*label=<<B>([^<]+)</B><BR/><FONT POINT-SIZE="9">'
        r"(\d+) nodes? · (\d+) semantic",
        dot,
        flags=re.M,
    )
    assert sum(int(b[2]) for b in boxes) == 1000
    assert {b[1] for b in boxes} == {f"mods.m{i:02d}" for i in range(10)} | {"(external inputs)"}
    counts: dict[tuple[str, str], int] = {}
    module_of = {n.name: n.module or "(external inputs)" for n in g.nodes.values()}
    for dep, name in g.edges():
        if module_of[dep] != module_of[name]:
            key = (module_of[dep], module_of[name])
            counts[key] = counts.get(key, 0) + 1
    drawn_edges = {
        (a, b): int(c)
        for a, b, c in re.findall(r'"module:([^"]+)" -> "module:([^"]+)" \[.*label="(\d+)"', dot)
    }
    expected = {(a.replace("(external inputs)", "~inputs"), b): c for (a, b), c in counts.items()}
    assert drawn_edges == expected
    # The viewer maps every node to its module box.
    assert picture.viewer["nodes"]["n00000"]["svg"] == "module:mods.m00"
    assert len(picture.viewer["groups"]["module:mods.m03"]["members"]) == 100


def test_five_thousand_nodes_render_fast() -> None:
    g = big(5000, modules=50)
    selected = select(g, Selection())
    timings = {}
    for collapse in (None, False):
        start = time.perf_counter()
        dot = render_dot(g, selected, options(collapse=collapse))
        timings[collapse] = time.perf_counter() - start
        assert dot.startswith("digraph semdag {")
    assert len(drawn(dot)) == 5000
    # A few seconds is the budget; this takes well under one on a laptop.
    assert timings[None] < 5 and timings[False] < 5, timings
