"""The review of a branch against a base revision: findings, diagram, pictures, artifacts.

The base revision is built in a separate checkout (:mod:`semdag.app.revision`); the branch is
the working tree, compared with the base and, through ``snapshot check``'s own comparison,
with its committed baselines. :mod:`semdag.core.review` decides each change's status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from semdag.app.gate import check
from semdag.app.revision import default_base, graph_at
from semdag.app.session import Session
from semdag.core.changes import ChangeSet, compare
from semdag.core.diff import find_changes, lineage_from_graph
from semdag.core.errors import UsageError
from semdag.core.graph import GraphModel
from semdag.core.registry import compile_registry
from semdag.core.review import (
    Acknowledged,
    Review,
    classify,
    is_breaking,
    review_diagram,
    with_blast_radius,
)
from semdag.core.rules import Finding, apply_severities

# What `review --out DIR` writes.
MARKDOWN_FILE = "review.md"
JSON_FILE = "review.json"
SVG_FILE = "review.svg"
HTML_FILE = "review.html"


@dataclass(frozen=True)
class ReviewRun:
    """A review with what its pictures are drawn from."""

    review: Review
    changes: ChangeSet
    graph: GraphModel


def review_branch(session: Session, base: str | None, fail_on: str, threshold: int) -> ReviewRun:
    """Review the working tree against ``base`` (a git revision; default: the merge base
    with the default branch)."""
    project = session.project
    profile = session.profile
    if base is None:
        ref, branch = default_base(project.root)
        shown = f"the merge base with {branch}"
    else:
        ref = shown = base
    revision = graph_at(session, ref)
    gate = check(session, None)
    graph = session.graph()
    before = compile_registry(revision.graph, revision.tag_filter)
    after = compile_registry(graph, profile.tag_filter)
    found = with_blast_radius(
        apply_severities(find_changes(before, after), profile.rules),
        lineage_from_graph(revision.graph.dependents, before),
        lineage_from_graph(graph.dependents, after),
    )
    found = [_where_it_was(item, revision.graph) for item in found]
    changes = classify(found, gate.findings, threshold, _acknowledgements(session))
    changeset = compare(graph, revision.document, profile.tag_filter, shown)
    breaking = {c.finding.subject for c in changes if c.in_branch and is_breaking(c.finding)}
    diagram = review_diagram(graph, revision.graph, changeset, profile.tag_filter, breaking)
    review = Review(profile.name, shown, revision.commit, fail_on, changes, diagram)
    return ReviewRun(review, changeset, graph)


def _where_it_was(item: Finding, base: GraphModel) -> Finding:
    """A removal with the file:line its node had at the base revision."""
    old = base.nodes.get(item.node or "") if item.rule == "semantic-removed" else None
    if old is None or item.file:
        return item
    return replace(item, file=old.file, line=old.line)


def _acknowledgements(session: Session) -> dict[tuple[str, str], Acknowledged]:
    from semdag.store.acknowledge import ACK_FILE, load_acknowledgements

    path = session.project.snapshots_path / ACK_FILE
    items = load_acknowledgements(path, session.project.relative(path))
    return {(a.rule, a.semantic_id): Acknowledged(a.reason, a.expires.isoformat()) for a in items}


def pictures(session: Session, run: ReviewRun) -> tuple[str, str] | None:
    """The full picture of the change as SVG and as the HTML viewer, coloured as the diagram
    is; None when nothing changed."""
    from semdag.app.graphviz import run_dot
    from semdag.app.viewer import build_page
    from semdag.core.picture import RenderOptions
    from semdag.core.render import plan

    selected = sorted(n.key for n in run.review.diagram.nodes if n.key in run.graph.nodes)
    if not selected:
        return None
    profile = session.profile
    picture = plan(
        run.graph,
        selected,
        RenderOptions(
            profile=profile.name,
            layers=tuple(layer.name for layer in profile.layers),
            semantic_filter=profile.tag_filter,
            ledger=session.facts().ledger,
            changes=run.changes,
            description="review",
            emphasis={
                n.key: n.status
                for n in run.review.diagram.nodes
                if n.status in ("breaking", "impacted") and n.key in run.graph.nodes
            },
        ),
    )
    svg = run_dot(picture.to_dot(), "svg").decode("utf-8")
    return svg, build_page(svg, picture.viewer, picture.title)


def write_artifacts(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (name to text) into ``folder``, atomically each; returns the paths."""
    from semdag.store.artifacts import atomic_write

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"cannot write into {folder}: it is not a directory")
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            atomic_write(folder / name, text)
            written.append(folder / name)
    except OSError as exc:
        raise UsageError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    return written


def require_dot() -> None:
    """Fail before any build when Graphviz's ``dot`` (for the pictures) is missing."""
    from semdag.app.graphviz import dot_binary

    dot_binary("svg")
