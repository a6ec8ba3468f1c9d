"""Reviews built from synthetic graphs: small, too big for a comment, and hostile."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from semdag.core.changes import ChangeSet, Ghost
from semdag.core.graph import GraphModel, NodeInfo
from semdag.core.review import Acknowledged, Review, ReviewChange, review_diagram
from semdag.core.rules import Finding, finding

TAG_FILTER: dict[str, Any] = {"layer": "semantic", "semantic_id": None}

# Text that would end a Mermaid label, start a comment or a directive, draw an arrow, open a
# tag or run a script if it were written as it is.
HOSTILE = (
    'quote"d',
    "bra]ck[et",
    "%%{init: {'theme': 'dark'}}%%",
    "a-->b",
    "<img src=x onerror=window.__pwned=1>",
    "</script><script>window.__pwned=2</script>",
    "--> end <!--",
    "Ünïcødé ☃ 数据",
    "pipe|cell`tick`",
    "click n0 call alert()",
)


def node(
    name: str,
    requires: tuple[str, ...] = (),
    *,
    sid: str | None = None,
    module: str = "mods.core",
    layer: str = "core",
    code: str = "",
    tags: dict[str, Any] | None = None,
) -> NodeInfo:
    all_tags = dict(tags or {})
    if sid is not None:
        all_tags.update(layer="semantic", semantic_id=sid)
    return NodeInfo(
        name=name,
        type="float",
        tags=all_tags,
        layer=layer,
        module=module,
        function=name,
        file=f"{module.replace('.', '/')}.py",
        line=10,
        end_line=12,
        doc="",
        code_hash=f"hash-{name}{code}",
        required=tuple(sorted(requires)),
        optional=(),
        is_input=False,
        is_config=False,
        semantic_id=sid,
    )


def model(nodes: list[NodeInfo]) -> GraphModel:
    dependents: dict[str, list[str]] = {}
    for n in nodes:
        for dep in n.dependencies:
            dependents.setdefault(dep, []).append(n.name)
    return GraphModel(
        profile="dev",
        nodes={n.name: n for n in sorted(nodes, key=lambda n: n.name)},
        dependents={k: tuple(sorted(v)) for k, v in sorted(dependents.items())},
    )


def ghost(name: str, sid: str | None, deps: tuple[str, ...], module: str = "mods.core") -> Ghost:
    return Ghost(name, name, sid, "core", module, "float", deps)


def small_review() -> Review:
    """raw -> base (dtype changed, accepted) -> score (downstream); gone (removed, failing)
    used raw; fresh (added, pending); old_metric changed its code (acknowledged)."""
    head = model(
        [
            node("raw"),
            node("base", ("raw",), sid="demo.base.v1", tags={"owner": "core-team"}),
            node("score", ("base",), sid="demo.score.v1", tags={"owner": "risk-team"}),
            node("fresh", ("raw",), sid="demo.fresh.v1"),
            node("old_metric", ("raw",), sid="demo.old_metric.v1", code="2"),
        ]
    )
    base = model(
        [
            node("raw"),
            node("base", ("raw",), sid="demo.base.v1"),
            node("score", ("base",), sid="demo.score.v1"),
            node("gone", ("raw",), sid="demo.gone.v1"),
            node("old_metric", ("raw",), sid="demo.old_metric.v1"),
        ]
    )
    changes = ChangeSet(
        "git:main",
        "graph",
        frozenset({"fresh"}),
        {"base": ("tags",), "old_metric": ("code",)},
        (ghost("gone", "demo.gone.v1", ("raw",)),),
    )
    review_changes = (
        ReviewChange(
            finding("semantic-removed", "demo.gone.v1", "gone", node="gone", old="gone"),
            "failing",
            True,
        ),
        ReviewChange(
            finding(
                "semantic-added",
                "demo.fresh.v1",
                "new",
                node="fresh",
                new="fresh",
                file="mods/core.py",
                line=20,
            ),
            "pending",
            True,
        ),
        ReviewChange(
            _acked(
                finding(
                    "code-changed",
                    "demo.old_metric.v1",
                    "code",
                    node="old_metric",
                    old="a" * 40,
                    new="b" * 40,
                )
            ),
            "acknowledged",
            True,
            Acknowledged("recalibrated on purpose", "2030-01-01"),
        ),
        ReviewChange(
            finding(
                "dtype-changed",
                "demo.base.v1",
                "dtype",
                node="base",
                old="int64",
                new="float",
                file="mods/core.py",
                line=10,
                affected=("demo.score.v1",),
                owners=("risk-team",),
            ),
            "accepted",
            True,
        ),
    )
    diagram = review_diagram(head, base, changes, TAG_FILTER, {"demo.base.v1", "demo.gone.v1"})
    return Review(
        "dev", "main", "0123456789abcdef" * 2 + "01234567", "breaking", review_changes, diagram
    )


def _acked(item: Finding) -> Finding:
    from dataclasses import replace

    return replace(item, acknowledged=True, reason="recalibrated on purpose (until 2030-01-01)")


def big_review(count: int = 2000, modules: int = 40) -> Review:
    """``count`` semantic nodes in ``modules`` modules, each depending on the one before it
    in its module and on one in the previous module, every one's code changed."""
    per = count // modules
    nodes = []
    for m in range(modules):
        for i in range(per):
            deps = []
            if i:
                deps.append(f"m{m}_n{i - 1}")
            if m:
                deps.append(f"m{m - 1}_n{i}")
            nodes.append(
                node(f"m{m}_n{i}", tuple(deps), sid=f"gen.m{m}.n{i}.v1", module=f"gen.mod{m}")
            )
    head = model(nodes)
    changes = ChangeSet("git:main", "graph", frozenset(), {n.name: ("code",) for n in nodes}, ())
    review_changes = tuple(
        ReviewChange(
            finding("code-changed", n.semantic_id or "", "code", node=n.name, old="a", new="b"),
            "pending",
            True,
        )
        for n in nodes
    )
    diagram = review_diagram(head, head, changes, TAG_FILTER, ())
    return Review("dev", "main", "f" * 40, "breaking", review_changes, diagram)


def hostile_review() -> Review:
    """Nodes, semantic ids, modules, layers and tag values made of :data:`HOSTILE` text."""
    nodes = [node("root")]
    base_nodes = [node("root")]
    review_changes = []
    changed = {}
    for i, text in enumerate(HOSTILE):
        name = f"{text} {i}"
        sid = f"{text}.v{i}"
        module = f"mod {text}"
        nodes.append(node(name, ("root",), sid=sid, module=module, layer=f"layer {text}"))
        base_nodes.append(node(name, ("root",), sid=sid, module=module, layer=f"layer {text}"))
        changed[name] = ("tags",)
        review_changes.append(
            ReviewChange(
                finding(
                    "dtype-changed",
                    sid,
                    f"tag dtype changed: {text}",
                    node=name,
                    old=text,
                    new=f"{text}!",
                    file=f"{module}.py",
                    line=i + 1,
                    affected=(sid,),
                    owners=(text,),
                ),
                "failing",
                True,
            )
        )
    head, base = model(nodes), model(base_nodes)
    changes = ChangeSet("git:main", "graph", frozenset(), changed, ())
    sids = {c.finding.subject for c in review_changes[::2]}
    diagram = review_diagram(head, base, changes, TAG_FILTER, sids)
    return Review("dev", "main <b>", "e" * 40, "breaking", tuple(review_changes), diagram)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, env=GIT_ENV
    )
    return done.stdout


GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "semdag tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "semdag tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

RISK_MAX = '''

@tag(**entity_tags("function"), **contract_tags("function.risk_max.v1", "float", RISK_SCHEMA))
def risk_max(risk_size_weighted: pd.Series, risk_complexity_weighted: pd.Series) -> pd.Series:
    """The larger of the two risk variants."""
    return risk_size_weighted.combine(risk_complexity_weighted, max)
'''


def example_branch(root: Path) -> Path:
    """The bundled example (with baselines) in a git repository whose branch ``feature``,
    checked out, changes function.loc.v1's dtype and accepts it with ``snapshot update``,
    then adds function.risk_max.v1 and removes function.risk_balanced.v1 without updating."""
    from tests.conftest import run_cli

    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    metrics = root / "modules/core/metrics.py"
    text = metrics.read_text(encoding="utf-8")
    old = 'contract_tags("function.loc.v1", "int64", SCHEMA)'
    assert old in text
    metrics.write_text(text.replace(old, old.replace("int64", "float")), encoding="utf-8")
    done = run_cli(["snapshot", "update", "-p", "dev", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    git(root, "commit", "-q", "-am", "function.loc.v1 is a float")
    risk = root / "modules/core/risk.py"
    text = risk.read_text(encoding="utf-8")
    for line in (
        '        ["risk_balanced", "function_size_pressure", '
        '"function_complexity_pressure", 0.5],\n',
        '    risk_balanced=contract_tags("function.risk_balanced.v1", "float", RISK_SCHEMA),\n',
    ):
        assert line in text
        text = text.replace(line, "")
    risk.write_text(text + RISK_MAX, encoding="utf-8")
    git(root, "commit", "-q", "-am", "risk_max replaces risk_balanced")
    return root
