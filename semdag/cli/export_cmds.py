"""The export command: the execution graph as JSON."""

from pathlib import Path
from typing import Annotated, Any

import typer

from semdag.app.session import Session
from semdag.cli.common import Outcome, console, finish
from semdag.cli.options import BUILD_OPTIONS, Formats, command, session_of
from semdag.core.errors import UnknownNodeError, UsageError

EXPORT_HELP = """Write the execution graph of the chosen outputs as JSON.

The outputs are the `--output` nodes, else the profile's `outputs:`, else every computed node;
`--all` exports the whole graph. The graph is their upstream closure as a run walks it: an
overridden node's dependencies and unset optional inputs are left out.

`--format semdag` (the default) writes semdag's document: nodes with type, tags, stack layer,
module, file:line, doc, code hash and dependencies, plus the edges and the build-time config
(schema: semdag/schemas/export.schema.json). Add `--include-source` for source bodies.
`--format hamilton` writes what Hamilton's `Driver.export_execution` returns for the same
outputs, node for node. `--format json` prints the semdag document inside the standard JSON
envelope.

Missing inputs do not stop an export; `--strict` makes them an error that names them.
Example: semdag export --output function.loc.v1 > graph.json

Example: semdag export --format hamilton --output function.loc.v1
"""
EXPORT_FORMATS = Formats(("semdag", "json", "hamilton"))


@command("export", options=BUILD_OPTIONS, formats=EXPORT_FORMATS, help=EXPORT_HELP)
def export_cmd(
    ctx: typer.Context,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            metavar="NODE",
            help="An output node (default: the profile's outputs, else every node). Repeatable.",
        ),
    ] = None,
    whole: Annotated[bool, typer.Option("--all", help="Export every node of the graph.")] = False,
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    include_source: Annotated[
        bool,
        typer.Option("--include-source", help="Add each node's source (semdag form)."),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Fail when the outputs need inputs that have no value."),
    ] = False,
) -> None:
    """Write the execution graph of the chosen outputs as JSON."""
    session = session_of(ctx)
    finish(session, lambda: _export(session, output, whole, out, include_source, strict))


def _export(
    session: Session,
    output: list[str] | None,
    whole: bool,
    out: Path | None,
    include_source: bool,
    strict: bool,
) -> Outcome:
    if whole and output:
        raise UsageError("--all and --output exclude each other")
    if include_source and session.fmt == "hamilton":
        raise UsageError("--include-source applies to the semdag form (hamilton always has source)")
    if out is not None and out.is_dir():
        raise UsageError(f"cannot write {out}: it is a directory")
    profile = session.profile
    problems: list[Any] = []
    if session.fmt == "hamilton":
        from semdag.hamilton.export import hamilton_export

        # Hashes of unchanged functions come from the local hash memo, as for a build.
        index = session.source_index(profile.name, with_source=True, hamilton=True)
        driver = session.build().driver
        nodes = driver.graph.nodes
        inputs_ = {k for k, n in nodes.items() if n.user_defined}
        final_vars = _final_vars(session, list(nodes), inputs_, output, whole)
        problems = _input_problems(session, final_vars, strict)
        text = (
            hamilton_export(driver, final_vars, profile.inputs, profile.overrides, index=index)
            + "\n"
        )
        summary: dict[str, Any] = {"format": "hamilton", "outputs": len(final_vars)}
        document = None
    else:
        from semdag.store.artifacts import canonical_json

        # The semdag form needs no live driver: a cached build answers it.
        graph = session.graph()
        inputs_ = {k for k, n in graph.nodes.items() if n.is_input}
        final_vars = _final_vars(session, list(graph.nodes), inputs_, output, whole)
        if strict:
            _input_problems(session, final_vars, strict)
        document = _semdag_document(session, final_vars, whole, include_source)
        text = canonical_json(document)
        summary = {
            "format": "semdag",
            "outputs": len(document["outputs"]),
            "nodes": len(document["nodes"]),
            "edges": len(document["edges"]),
        }
    notes = []
    if problems:
        notes.append(
            "export: Driver.export_execution would refuse these inputs, exported anyway "
            f"(--strict fails instead): {'; '.join(p.message for p in problems)}"
        )
    if out is not None:
        _write(out, text)
        summary["written"] = str(out)
        notes.append(f"export: wrote {out}")

    def render() -> None:
        if out is None:
            console.write(text)
        for note in notes:
            console.err().print(note, markup=False)

    if session.fmt == "json":
        # The envelope carries the document itself unless it went to a file.
        return Outcome(data=summary if out is not None else document, render=render)
    return Outcome(data=summary, render=render, raw=True)


def _input_problems(session: Session, final_vars: list[str], strict: bool) -> list[Any]:
    """Hamilton's objections to the inputs; with ``strict`` they are an error."""
    from semdag.hamilton.export import input_problems

    profile = session.profile
    problems = input_problems(session.build().driver, final_vars, profile.inputs, profile.overrides)
    if strict and problems:
        raise UsageError(
            "the outputs need inputs that Hamilton would refuse: "
            + "; ".join(p.message for p in problems),
            hint="set them under inputs: in the profile, or pass --set inputs.NAME=VALUE",
        )
    return problems


def _final_vars(
    session: Session,
    names: list[str],
    inputs: set[str],
    requested: list[str] | None,
    whole: bool,
) -> list[str]:
    from semdag.core.export import unknown_outputs

    if whole:
        return sorted(names)
    known = set(names)
    wanted = list(requested or session.profile.outputs)
    if any(name not in known for name in wanted):
        # A semantic id names a node too: the graph model resolves it (and explains typos).
        from semdag.core.checks import profile_outputs

        graph = session.graph()
        if not requested:
            return profile_outputs(session.profile, graph)
        problems = unknown_outputs([n for n in requested if n not in graph.by_semantic_id], known)
        if problems:
            raise UnknownNodeError("; ".join(problems))
        wanted = [graph.get(name).name for name in requested]
    if wanted:
        return list(dict.fromkeys(wanted))
    return sorted(n for n in names if n not in inputs)


def _semdag_document(
    session: Session, final_vars: list[str], whole: bool, include_source: bool
) -> dict[str, Any]:
    from semdag.core.export import export_document
    from semdag.hamilton.export import node_sources

    graph = session.graph()
    sources = None
    if include_source:
        sources = node_sources(session.build(), graph.nodes)
    return export_document(
        graph,
        session.profile,
        final_vars,
        include_source,
        whole_graph=whole,
        sources=sources,
    )


def _write(path: Path, text: str) -> None:
    from semdag.store.artifacts import atomic_write

    try:
        atomic_write(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
