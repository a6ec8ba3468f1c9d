"""Commands that build and inspect the graph: build, validate, ls, show."""

from typing import Annotated, Any

import typer

from semdag.app.session import Session
from semdag.cli.common import (
    ARGUMENT,
    Outcome,
    console,
    fail_threshold,
    finish,
    parse_pairs,
    parse_tag_filter,
)
from semdag.cli.options import (
    BUILD_OPTIONS,
    TEXT_JSON,
    FailOnOption,
    Formats,
    InputOption,
    LayerOption,
    TagOption,
    command,
    session_of,
)
from semdag.core.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError, did_you_mean
from semdag.core.rules import Severity, counts


def _summary(session: Session) -> dict[str, Any]:
    from semdag.core.registry import semantic_nodes

    facts = session.facts()
    graph = facts.graph
    profile = session.profile
    nodes = graph.nodes.values()
    return {
        "profile": profile.name,
        "files": list(profile.files),
        "layers": [
            {
                "name": layer.name,
                "allow_overrides": layer.allow_overrides,
                "modules": [name for lyr, name, _ in facts.modules if lyr == layer.name],
            }
            for layer in profile.layers
        ],
        "counts": {
            "nodes": len(graph.nodes),
            "semantic": len(semantic_nodes(graph, profile.tag_filter)),
            "inputs": sum(1 for n in nodes if n.is_input and not n.is_config),
            "config": sum(1 for n in nodes if n.is_config),
        },
        "ledger": [dict(entry) for entry in facts.ledger],
        # Every error (the graph cannot run as it is) and the warnings about the stack.
        "warnings": [
            f.as_dict()
            for f in facts.findings
            if f.severity is Severity.ERROR
            or f.rule in ("config-shadows-node", "override-not-allowed")
        ],
        "cached": facts.from_cache,
        # Why the build cache cannot keep this build (its import did what no record covers).
        "not_cached": facts.not_cached,
    }


@command("build", options=BUILD_OPTIONS, formats=TEXT_JSON)
def build_cmd(
    ctx: typer.Context,
) -> None:
    """Build the driver: layers, modules, node counts and the override ledger.

    Example: semdag build -p prod

    Example: semdag build --set config.clean_mode=strict -f json
    """
    session = session_of(ctx)
    finish(session, lambda: _build(session))


def _build(session: Session) -> Outcome:
    data = _summary(session)

    def render() -> None:
        out = console.out()
        counts_ = data["counts"]
        out.print(f"profile {data['profile']} ({', '.join(data['files'])})")
        for layer in data["layers"]:
            flag = " (may override)" if layer["allow_overrides"] else ""
            out.print(f"  layer {layer['name']}{flag}: {', '.join(layer['modules'])}")
        out.print(
            f"nodes: {counts_['nodes']} total, {counts_['semantic']} semantic, "
            f"{counts_['inputs']} external inputs, {counts_['config']} config"
        )
        if data["ledger"]:
            from semdag.cli.tables import Column, print_table

            print_table(
                [Column("node", key=True), Column("defined in"), Column("overridden by")],
                [
                    (
                        row["node"],
                        f"{row['defined_layer']}: {row['defined_module']} ({row['defined_at']})",
                        f"{row['overridden_layer']}: {row['overridden_module']} "
                        f"({row['overridden_at']})",
                    )
                    for row in data["ledger"]
                ],
                title="override ledger",
                boxed=True,
                more="semdag build -f json",
            )
        else:
            out.print("override ledger: no node is overridden")
        if data["not_cached"]:
            console.say(f"info: build cache off for {data['profile']}: {data['not_cached']}")
        for warning in data["warnings"]:
            console.say(
                f"{warning['severity']}: [{warning['rule']}] {warning['message']}",
                console.ERROR if warning["severity"] == "error" else console.WARNING,
            )

    errors = [
        {"code": w["rule"], "message": w["message"], "file": w["file"], "line": w["line"]}
        for w in data["warnings"]
        if w["severity"] == Severity.ERROR.value
    ]
    code = EXIT_CHECK_FAILED if errors else EXIT_OK
    return Outcome(data=data, render=render, exit_code=code, errors=errors)


VALIDATE_FORMATS = Formats(("text", "json", "github"))


@command("validate", options=BUILD_OPTIONS, formats=VALIDATE_FORMATS)
def validate_cmd(
    ctx: typer.Context,
    inputs: InputOption = None,
    fail_on: FailOnOption = "breaking",
) -> None:
    """Build and run every baseline-free check; exit 1 on any error-severity finding.

    Example: semdag validate -p prod -f github

    Example: semdag validate --input repo_root=src
    """
    session = session_of(ctx)
    finish(session, lambda: _validate(session, inputs, fail_on))


def _validate(session: Session, inputs: list[str] | None, fail_on: str) -> Outcome:
    from semdag.config.execution import execution_config_errors
    from semdag.core.checks import check_input_names
    from semdag.hamilton.validate import validate

    threshold = fail_threshold(fail_on)
    extra = parse_pairs(inputs, "--input")
    check_input_names(session.profile, session.graph(), extra)
    # A profile that cannot run as configured is an input error, reported before findings.
    problems = execution_config_errors(session.profile, session.graph())
    if problems:
        raise problems[0]
    # Extra inputs change what is checked: those runs need the live driver.
    findings = (
        validate(session.build(), session.graph(), inputs=extra)
        if extra
        else list(session.facts().findings)
    )
    failing = [f for f in findings if f.fails(threshold)]
    data = {
        "profile": session.profile.name,
        "findings": [f.as_dict() for f in findings],
        "counts": counts(findings),
    }

    def render() -> None:
        from semdag.core.report import render_findings

        # The report's first line is the verdict (`validate prod: no findings`).
        title = f"validate {session.profile.name}"
        console.write(render_findings(findings, session.fmt, title=title, colour=console.styled()))

    return Outcome(
        data=data,
        render=render,
        exit_code=EXIT_CHECK_FAILED if failing else EXIT_OK,
        errors=[
            {"code": f.rule, "message": f.message, "file": f.file, "line": f.line} for f in failing
        ],
    )


@command("ls", options=BUILD_OPTIONS, formats=TEXT_JSON)
def ls_cmd(
    ctx: typer.Context,
    tag: TagOption = None,
    layer: LayerOption = None,
    semantic: Annotated[
        bool, typer.Option("--semantic", help="Only nodes the registry selects.")
    ] = False,
) -> None:
    """List nodes, filtered by tags, stack layer or semantic selection.

    Example: semdag ls --semantic --layer core

    Example: semdag ls --tag owner=code-intel --tag owner=platform --tag entity
    """
    session = session_of(ctx)
    finish(session, lambda: _ls(session, tag, layer, semantic))


def _ls(
    session: Session, tag: list[str] | None, layer: list[str] | None, semantic: bool
) -> Outcome:
    from semdag.core.registry import is_semantic, matches
    from semdag.core.selection import check_tag_keys

    graph = session.graph()
    tag_filter = parse_tag_filter(tag)
    check_tag_keys(graph, tag_filter)
    if layer:
        known = {lyr.name for lyr in session.profile.layers}
        for name in layer:
            if name not in known:
                raise UsageError(
                    f"unknown layer {name!r}{did_you_mean(name, known)} "
                    f"(layers: {', '.join(sorted(known))})"
                )
    selected = [
        n
        for n in graph.nodes.values()
        if matches(n.tags, tag_filter)
        and (not layer or n.layer in layer)
        and (not semantic or is_semantic(n, session.profile.tag_filter))
    ]
    # Like `kubectl get -l`: an empty list is an answer (exit 0), said on stderr with the
    # values the filter's tags do have, so that a typo in a value is seen.
    nothing = None
    if not selected and (tag_filter or layer or semantic):
        from semdag.core.selection import tag_values_hint

        given = [f"--tag {t}" for t in tag or []] + [f"--layer {name}" for name in layer or []]
        nothing = f"no node matches {' '.join([*given, *(['--semantic'] if semantic else [])])}"
        hint = tag_values_hint(graph, tag_filter)
        nothing += f" ({hint})" if hint else ""
    data: list[dict[str, Any]] = [
        {
            "name": n.name,
            "type": n.type,
            "layer": n.layer,
            "module": n.module,
            "semantic_id": n.tags.get("semantic_id"),
            "kind": "config" if n.is_config else "input" if n.is_input else "node",
        }
        for n in selected
    ]

    def render() -> None:
        from semdag.cli.tables import Column, print_table

        if nothing:
            console.err().print(nothing, markup=False)
            return
        print_table(
            [
                Column("name", key=True),
                Column("type"),
                Column("layer"),
                Column("module"),
                Column("semantic_id", key=True),
            ],
            [
                (
                    row["name"] + (f" ({row['kind']})" if row["kind"] != "node" else ""),
                    row["type"],
                    row["layer"] or "",
                    row["module"] or "",
                    row["semantic_id"] or "",
                )
                for row in data
            ],
            more="semdag ls -f json",
        )
        console.err().print(f"{len(data)} of {len(graph.nodes)} nodes", markup=False)

    return Outcome(data=data, render=render)


@command("show", options=BUILD_OPTIONS, formats=TEXT_JSON)
def show_cmd(
    ctx: typer.Context,
    node: Annotated[
        str,
        typer.Argument(metavar="NODE", click_type=ARGUMENT, help="The node name or semantic id."),
    ],
) -> None:
    """One node: type, tags, layer, module, file:line, doc, dependencies, overrides, registry.

    Example: semdag show function.loc.v1

    Example: semdag show function_loc -p prod -f json
    """
    session = session_of(ctx)
    finish(session, lambda: _show(session, node))


def _show(session: Session, node: str) -> Outcome:
    from semdag.core.registry import compile_registry

    graph = session.graph()
    info = graph.get(node)
    node = info.name
    history = [dict(e) for e in session.facts().ledger if e["node"] == node]
    registry = compile_registry(graph, session.profile.tag_filter)
    sid = info.tags.get("semantic_id")
    entry = registry.entries.get(sid) if isinstance(sid, str) else None
    data: dict[str, Any] = {
        "name": info.name,
        "type": info.type,
        "tags": dict(sorted(info.tags.items())),
        "layer": info.layer,
        "module": info.module,
        "function": info.function,
        "location": info.where(),
        "doc": info.doc,
        "kind": "config" if info.is_config else "input" if info.is_input else "node",
        "dependencies": {"required": list(info.required), "optional": list(info.optional)},
        "dependents": list(graph.dependents.get(node, ())),
        "override_history": history,
        "registry_entry": (
            {"semantic_id": sid, **entry.as_dict()} if entry and entry.node == node else None
        ),
    }

    def render() -> None:
        out = console.out()
        out.print(f"{info.name}: {info.type}  [{data['kind']}]", markup=False)
        out.print(f"  layer: {info.layer or '-'}   module: {info.module or '-'}", markup=False)
        out.print(f"  defined at: {info.where() or '-'}", markup=False)
        if info.doc:
            out.print(f"  doc: {info.doc.strip().splitlines()[0]}", markup=False)
        for key, value in data["tags"].items():
            out.print(f"  tag {key} = {value}", markup=False)
        out.print(f"  requires: {', '.join(info.required) or '-'}", markup=False)
        if info.optional:
            out.print(f"  optional: {', '.join(info.optional)}", markup=False)
        out.print(f"  dependents: {', '.join(data['dependents']) or '-'}", markup=False)
        for row in history:
            out.print(
                f"  overridden: {row['defined_layer']}:{row['defined_module']} -> "
                f"{row['overridden_layer']}:{row['overridden_module']}",
                markup=False,
            )
        if data["registry_entry"]:
            out.print(
                f"  registry: {sid} (code {(entry.code_hash or '-')[:12] if entry else '-'})",
                markup=False,
            )

    return Outcome(data=data, render=render)
