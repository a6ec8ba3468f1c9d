"""The render command: Graphviz pictures (DOT, SVG, PNG, PDF) and the HTML viewer."""

from pathlib import Path
from typing import Annotated, Any

import typer

from semdag.app.session import Session
from semdag.cli.common import Outcome, console, finish, parse_tag_filter
from semdag.cli.options import (
    BUILD_OPTIONS,
    Formats,
    LayerOption,
    TagOption,
    command,
    given_format,
    session_of,
)
from semdag.core.errors import UsageError
from semdag.core.progress import phase

RENDER_HELP = """Draw the graph, or part of it, with Graphviz.

Anchored selectors add up: `--upstream-of a --downstream-of a` draws everything upstream
or downstream of `a`; `--path`, `--output` and repeated selectors widen the picture likewise.
`--tag` and `--layer` then narrow it: `--upstream-of a --layer core` draws the nodes upstream
of `a` that belong to layer `core`. Without selectors the whole graph is drawn.

Semantic nodes are filled and bold with their semantic_id as a second line, stack layers
are coloured frames, overridden nodes have a double border, external inputs are dashed
ellipses and config nodes notes. Above 300 nodes the picture shows one box per module
(`--no-collapse` to draw every node).

`--changed-since` colours what changed against a graph.json or registry.json snapshot, or
against the graph built at a git revision (`git:REF`, as `diff --against` takes it): added
green, changed orange, removed red (removed nodes are drawn from the old graph).

The format comes from `--format`, else from the suffix of `-o` (.dot .gv .svg .png .pdf
.html .mmd), else DOT on stdout. svg, png, pdf and html need Graphviz's `dot` program; png
and pdf need `-o`. mermaid is a Mermaid flowchart for markdown (GitHub and GitLab draw it):
one box per module when every node would pass Mermaid's default limits (50,000 characters,
500 links). DOT and Mermaid text are byte-identical across runs.

Example: semdag render --upstream-of function.risk_score.v1 -o risk.svg

Example: semdag render --changed-since git:main -o changed.svg
"""
_RENDER_FORMS = ("dot", "svg", "png", "pdf", "html", "mermaid")
# No default: without -f the suffix of -o decides.
RENDER_FORMATS = Formats(
    _RENDER_FORMS,
    help=f"Output format: {'|'.join(_RENDER_FORMS)} (default: from the suffix of -o, else dot).",
    defaults_to_first=False,
)


@command("render", options=BUILD_OPTIONS, formats=RENDER_FORMATS, help=RENDER_HELP)
def render_cmd(
    ctx: typer.Context,
    upstream_of: Annotated[
        list[str] | None,
        typer.Option("--upstream-of", metavar="NODE", help="NODE and everything it depends on."),
    ] = None,
    downstream_of: Annotated[
        list[str] | None,
        typer.Option("--downstream-of", metavar="NODE", help="NODE and everything that uses it."),
    ] = None,
    path: Annotated[
        tuple[str, str] | None,
        typer.Option("--path", metavar="A B", help="Every node on any path from A to B."),
    ] = None,
    tag: TagOption = None,
    layer: LayerOption = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            metavar="N",
            help="Hops to walk from --upstream-of/--downstream-of nodes (default: all).",
        ),
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option("--output", metavar="NODE", help="The execution subgraph of this output."),
    ] = None,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since",
            metavar="FILE|git:REF",
            help="Colour changes against a graph.json or registry.json snapshot, or the graph "
            "built at a git revision: added green, changed orange, removed red.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", metavar="FILE", help="Write the picture here.")
    ] = None,
    collapse: Annotated[
        bool | None,
        typer.Option(
            "--collapse/--no-collapse",
            help="One box per module (default: when more than 300 nodes are drawn).",
        ),
    ] = None,
) -> None:
    """Draw the graph, or part of it, with Graphviz."""
    session = session_of(ctx)
    finish(
        session,
        lambda: _render(
            session,
            given_format(ctx),
            out,
            changed_since,
            collapse,
            upstream_of,
            downstream_of,
            path,
            tag,
            layer,
            depth,
            output,
        ),
    )


def _render(
    session: Session,
    fmt: str | None,
    out: Path | None,
    changed_since: str | None,
    collapse: bool | None,
    upstream_of: list[str] | None,
    downstream_of: list[str] | None,
    path: tuple[str, str] | None,
    tag: list[str] | None,
    layer: list[str] | None,
    depth: int | None,
    output: list[str] | None,
) -> Outcome:
    from semdag.app.graphviz import NEEDS_DOT, dot_binary, format_for, run_dot
    from semdag.core.changes import compare, read_baseline
    from semdag.core.picture import RenderOptions
    from semdag.core.render import plan
    from semdag.core.selection import Selection, select

    # Mermaid text is semdag's own, not Graphviz's: the only format `.mmd` means.
    if fmt is None and out is not None and out.suffix.lower() == ".mmd":
        fmt = "mermaid"
    fmt = fmt if fmt == "mermaid" else format_for(fmt, out)
    if fmt in ("png", "pdf") and out is None:
        raise UsageError(f"{fmt} output is binary: pass -o FILE")
    if fmt in NEEDS_DOT:
        dot_binary(fmt)  # fail before the build, not after it
    profile = session.profile
    known_layers = tuple(lyr.name for lyr in profile.layers)
    for name in layer or ():
        if name not in known_layers:
            raise UsageError(f"unknown layer {name!r} (layers: {', '.join(known_layers)})")
    against_git = changed_since is not None and changed_since.startswith("git:")
    if against_git and len(changed_since or "") <= 4:
        raise UsageError(f"--changed-since takes FILE or git:REF, got {changed_since!r}")
    baseline = (
        read_baseline(Path(changed_since), changed_since)
        if changed_since and not against_git
        else None
    )
    selection = Selection(
        upstream_of=tuple(upstream_of or ()),
        downstream_of=tuple(downstream_of or ()),
        path=tuple(path) if path and all(path) else None,  # type: ignore[arg-type]
        tag_filter=parse_tag_filter(tag),
        layers=tuple(layer or ()),
        depth=depth,
        outputs=tuple(output or ()),
    )
    # Build facts, not a build: an unchanged project is drawn from the build cache without
    # importing Hamilton (the ledger and the graph are all a picture needs).
    facts = session.facts()
    graph = facts.graph
    selected = select(graph, selection)
    changes = None
    if against_git and changed_since is not None:
        from semdag.app.revision import graph_at

        with phase(f"building the graph at {changed_since}"):
            revision = graph_at(session, changed_since[4:])
        changes = compare(graph, revision.document, profile.tag_filter, changed_since)
    elif baseline is not None and changed_since is not None:
        shown = session.project.relative(Path(changed_since))
        scope = _snapshot_scope(graph, profile) if "outputs" in baseline else None
        changes = compare(graph, baseline, profile.tag_filter, shown, scope)
    if fmt == "mermaid":
        return _mermaid(graph, selected, profile.tag_filter, changes, out)
    picture = plan(
        graph,
        selected,
        RenderOptions(
            profile=profile.name,
            layers=known_layers,
            semantic_filter=profile.tag_filter,
            ledger=facts.ledger,
            changes=changes,
            collapse=collapse,
            description=selection.describe(),
        ),
    )
    dot_text = picture.to_dot()
    payload: str | bytes = dot_text
    if fmt in NEEDS_DOT:
        with phase(f"laying out {picture.node_count} nodes with Graphviz's dot"):
            laid_out = run_dot(dot_text, fmt)
        if fmt == "html":
            from semdag.app.viewer import build_page

            payload = build_page(laid_out.decode("utf-8"), picture.viewer, picture.title)
        else:
            payload = laid_out.decode("utf-8") if fmt == "svg" else laid_out
    if out is not None:
        _write(out, payload)
    notes = _notes(picture, changes, len(graph.nodes), collapse)
    summary = {
        "format": fmt,
        "out": str(out) if out else None,
        "nodes": picture.node_count,
        "collapsed": picture.collapsed,
    }

    def render() -> None:
        if out is None:
            assert isinstance(payload, str)
            console.write(payload)
        for note in notes:
            console.err().print(note, markup=False)
        if out is not None:
            console.err().print(f"wrote {out} ({fmt})", markup=False)

    return Outcome(data=summary, render=render, raw=True)


def _mermaid(graph: Any, selected: Any, tag_filter: Any, changes: Any, out: Path | None) -> Outcome:
    from semdag.core.mermaid import diagram_of, fit

    diagram = diagram_of(graph, selected, tag_filter, changes)
    fitted = fit(diagram)
    if fitted.form == "list":
        raise UsageError(
            f"{len(diagram.nodes)} nodes are more than a Mermaid diagram can show, even one "
            "box per module: narrow the selection (--upstream-of, --layer, ...) or use "
            "another format"
        )
    if out is not None:
        _write(out, fitted.text)
    notes = []
    if fitted.form == "modules":
        notes.append(
            f"render: {len(diagram.nodes)} nodes pass Mermaid's default limits: drew one box "
            "per module instead"
        )
    notes.append(
        f"render: {len(diagram.nodes)} nodes, {fitted.edges} links, {len(fitted.text)} "
        "characters of Mermaid text"
    )
    summary = {
        "format": "mermaid",
        "out": str(out) if out else None,
        "nodes": len(diagram.nodes),
        "collapsed": fitted.form == "modules",
    }

    def render() -> None:
        if out is None:
            console.write(fitted.text)
        for note in notes:
            console.err().print(note, markup=False)
        if out is not None:
            console.err().print(f"wrote {out} (mermaid)", markup=False)

    return Outcome(data=summary, render=render, raw=True)


def _snapshot_scope(graph: Any, profile: Any) -> set[str]:
    """The nodes `semdag snapshot update` would put in graph.json now (its execution graph)."""
    from semdag.core.export import default_outputs, execution_closure

    return execution_closure(
        graph,
        default_outputs(graph, profile),
        inputs=profile.inputs,
        overrides=profile.overrides,
        config=profile.config,
    )


def _write(path: Path, payload: str | bytes) -> None:
    from semdag.store.artifacts import atomic_write

    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    try:
        atomic_write(path, payload)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _notes(picture: Any, changes: Any, total: int, collapse: bool | None) -> list[str]:
    notes = []
    if picture.collapsed and collapse is None:
        boxes = sum(len(c.boxes) for c in picture.clusters if c.key != "legend")
        notes.append(
            f"render: {picture.node_count} nodes are more than a picture can show: drew "
            f"{boxes} module boxes instead (--no-collapse draws every node)"
        )
    if picture.hidden_edges:
        notes.append(
            f"render: left out the {picture.hidden_edges} lightest module links to keep the "
            "picture legible (the html viewer lists them all)"
        )
    drawn = f"{picture.node_count} of {total} nodes"
    if changes is not None:
        drawn += (
            f"; since {changes.source}: {len(changes.added)} added, "
            f"{len(changes.changed)} changed, {len(changes.removed)} removed"
        )
    notes.append(f"render: {drawn}")
    return notes
