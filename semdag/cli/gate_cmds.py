"""The semantic gate: registry, snapshot update|check, diff, rules."""

from pathlib import Path
from typing import Annotated, Any

import typer

from semdag.app.session import Session
from semdag.cli.common import ARGUMENT, Outcome, app, console, fail_threshold, finish, print_error
from semdag.cli.options import (
    BUILD_OPTIONS,
    TEXT_JSON,
    FailOnOption,
    Formats,
    Shared,
    command,
    session_of,
)
from semdag.core.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, SemdagError, UsageError
from semdag.core.progress import phase
from semdag.core.rules import RULES

REPORT_FORMATS = Formats(("text", "json", "markdown", "github", "junit"))

snapshot_app = typer.Typer(
    name="snapshot",
    help="Write and check the committed baselines under snapshots/.",
    no_args_is_help=True,
)
app.add_typer(snapshot_app, name="snapshot")

AllProfiles = Annotated[bool, typer.Option("--all", help="Every profile in the configs directory.")]


def profiles_of(session: Session, every: bool) -> list[str | None]:
    """The profiles a command with ``--all`` runs on (None: the selected one)."""
    if not every:
        return [None]
    names = session.project.profiles()
    if not names:
        raise UsageError(f"no profiles in {session.project.configs_dir}/")
    return list(names)


REGISTRY_FORMATS = Formats(
    ("text", "json", "odcs", "openlineage", "jsonschema"),
    help="Output format: text|json, or an open standard: odcs (ODCS v3 YAML), openlineage "
    "(an OpenLineage job event), jsonschema (JSON Schema 2020-12 per semantic id).",
)
EmitOpt = Annotated[
    str | None,
    typer.Option(
        "--emit",
        metavar="URL",
        help="With -f openlineage: also send the event to the OpenLineage HTTP endpoint at URL "
        "(posted to URL/api/v1/lineage), stamped with the time of sending.",
    ),
]


@command("registry", options=BUILD_OPTIONS, formats=REGISTRY_FORMATS)
def registry_cmd(
    ctx: typer.Context,
    emit: EmitOpt = None,
) -> None:
    """Compile and print the semantic registry: as a table, as JSON, or exported to an open
    standard (ODCS, OpenLineage, JSON Schema).

    Example: semdag registry -p prod

    Example: semdag registry -f odcs > contract.json

    Example: semdag registry -f json > registry.json
    """
    session = session_of(ctx)
    finish(session, lambda: _registry(session, emit))


def _registry(session: Session, emit: str | None) -> Outcome:
    from semdag.app.gate import current_registry

    if emit is not None and session.fmt != "openlineage":
        raise UsageError("--emit sends an OpenLineage event: use it with -f openlineage")
    registry, graph = current_registry(session, None)
    if session.fmt in ("odcs", "openlineage", "jsonschema"):
        return _exported(session, registry, graph, emit)
    document = registry.as_document()

    def render() -> None:
        from semdag.cli.tables import Column, print_table

        names = ("entity", "grain", "dtype", "version", "owner")
        print_table(
            [
                Column("semantic_id", key=True),
                Column("node", key=True),
                Column("layer"),
                *(Column(name) for name in names),
            ],
            [
                (
                    sid,
                    entry.node,
                    entry.stack_layer or "",
                    *(str(entry.tags.get(k, "")) for k in names),
                )
                for sid, entry in registry.entries.items()
            ],
            more="semdag registry -f json",
        )
        console.err().print(f"{len(registry.entries)} semantic entries", markup=False)

    return Outcome(data=document, render=render)


def _exported(session: Session, registry: Any, graph: Any, emit: str | None) -> Outcome:
    from semdag.app.exports import docs_of, emit_lineage, export

    docs = docs_of(registry, graph)
    sent = None
    if emit is not None:
        # What is printed is what was sent.
        exported, sent = emit_lineage(registry, docs, emit)
    else:
        exported = export(registry, docs, session.fmt)

    def render() -> None:
        console.write(exported.text)
        if sent is not None:
            console.say(f"sent the OpenLineage event of profile {registry.profile} to {sent}")

    return Outcome(data=exported.data, render=render, raw=True)


@command("update", target=snapshot_app, options=BUILD_OPTIONS, formats=TEXT_JSON)
def snapshot_update_cmd(
    ctx: typer.Context,
    every: AllProfiles = False,
) -> None:
    """Write snapshots/<profile>/registry.json and graph.json (atomically), and say which
    changes the new baselines accept.

    Example: semdag snapshot update --all

    Example: semdag snapshot update -p prod
    """
    session = session_of(ctx)
    finish(session, lambda: _snapshot_update(session, every))


def _snapshot_update(session: Session, every: bool) -> Outcome:
    from semdag.app.gate import pending_changes, update
    from semdag.app.merge import changes_against_sides
    from semdag.store.snapshot import REGISTRY_FILE, baseline_conflict

    set_up_merge_driver(session)
    written: dict[str, list[str]] = {}
    accepted: dict[str, tuple[Any, ...] | None] = {}
    # A baseline left with conflict markers: what the new one accepts against each side.
    conflicted: dict[str, tuple[str, list[tuple[str, list[Any]]]]] = {}
    conflicted_graph: dict[str, str] = {}
    names = profiles_of(session, every)
    for number, name in enumerate(names, 1):
        profile = session.load_profile(name).name
        with phase(f"writing the baselines of profile {profile} ({number} of {len(names)})"):
            # Compared before writing: afterwards the baseline is the build.
            conflict = baseline_conflict(session.project, profile)
            shown = (conflict.file or "") if conflict is not None else ""
            if conflict is not None and shown.endswith(REGISTRY_FILE):
                sides = changes_against_sides(session, profile, conflict)
                conflicted[profile] = (shown, sides or _everything(session, name))
                accepted[profile] = tuple(f for _, found in conflicted[profile][1] for f in found)
            else:
                # graph.json alone: the registry says what is accepted, as always.
                accepted[profile] = pending_changes(session, name)
                if conflict is not None:
                    conflicted_graph[profile] = shown
            written[profile] = update(session, name)

    def render() -> None:
        from semdag.core.report import by_severity, summary_line

        out = console.out()

        def items(found: Any) -> None:
            for item in by_severity(found):
                out.print(f"  {item.rule}: {item.subject}: {item.message}", markup=False)

        for profile, paths in written.items():
            found = accepted[profile]
            if profile in conflicted_graph:
                out.print(
                    f"{profile}: {conflicted_graph[profile]} had merge conflict markers: "
                    "written from the merged code",
                    markup=False,
                )
            if profile in conflicted:
                shown, sides = conflicted[profile]
                out.print(
                    f"{profile}: {shown} had merge conflict markers: written from the merged code",
                    markup=False,
                )
                for label, side in sides:
                    if side:
                        out.print(
                            f"{profile}: against {label}: accepted {summary_line(side)}",
                            markup=False,
                        )
                        items(side)
                    else:
                        out.print(f"{profile}: against {label}: no changes", markup=False)
            elif found is None:
                out.print(f"{profile}: new baseline", markup=False)
            elif not found:
                out.print(f"{profile}: no changes to accept", markup=False)
            else:
                out.print(f"{profile}: accepted {summary_line(found)}", markup=False)
                items(found)
            if paths:
                out.print(f"{profile}: wrote {', '.join(paths)}", markup=False)
            else:
                out.print(f"{profile}: baselines unchanged", markup=False)

    data: dict[str, Any] = {
        "written": written,
        "accepted": {
            profile: None if found is None else [f.as_dict() for f in found]
            for profile, found in accepted.items()
        },
    }
    if conflicted_graph:
        data["conflicted_graph"] = conflicted_graph
    if conflicted:
        data["conflicted"] = {
            profile: {
                "file": shown,
                "against": {label: [f.as_dict() for f in side] for label, side in sides},
            }
            for profile, (shown, sides) in conflicted.items()
        }
    return Outcome(data=data, render=render)


def _everything(session: Session, profile: str | None) -> list[tuple[str, list[Any]]]:
    """Every entry of the current build, as what a baseline whose sides cannot be read
    accepts: never "nothing"."""
    from semdag.app.gate import current_registry
    from semdag.core.diff import find_changes
    from semdag.core.registry import Registry

    registry, _ = current_registry(session, profile)
    return [("an empty baseline", find_changes(Registry(registry.profile, {}), registry))]


def set_up_merge_driver(session: Session) -> None:
    """Name the baselines' merge driver in this clone's git config where the project's
    .gitattributes asks for it and the clone does not have it yet."""
    from semdag.app.merge import configure_driver, declares_driver

    try:
        root = session.project.root
    except SemdagError:
        return
    if not declares_driver(root):
        return
    command = configure_driver(root)
    if command is not None:
        console.err().print(
            f"set git's merge driver for semdag baselines in this clone: {command}",
            markup=False,
        )


def findings_outcome(
    session: Session,
    comparisons: list[Any],
    errors: list[SemdagError],
    threshold: int,
    *,
    key: str = "comparisons",
    titles: list[str] | None = None,
    cases: list[list[str]] | None = None,
    errors_exit: int | None = EXIT_USAGE,
    update: bool = False,
    every: bool = False,
) -> Outcome:
    """The report of one or more profiles' findings (``comparisons``: objects with
    ``profile``, ``findings`` and ``as_dict()``), in ``session.fmt``, with the gate's exit code.

    ``errors`` are profiles that could not be checked (``--all`` goes on past them): they exit
    with ``errors_exit``, or with their own exit code when that is None. ``update``: the
    findings compare with the committed baselines, which ``snapshot update`` rewrites (a
    failing report says so).
    """
    from semdag.core.report import github_error, next_steps, render_comparisons
    from semdag.store.acknowledge import today

    failing = [f for c in comparisons for f in c.findings if f.fails(threshold)]
    code = EXIT_CHECK_FAILED if failing else EXIT_OK
    if errors:
        own = max(e.exit_code for e in errors)
        code = errors_exit if errors_exit is not None else max(own, code)
    sections = [
        (title, c.findings)
        for title, c in zip(titles or [c.profile for c in comparisons], comparisons, strict=True)
    ]
    steps = next_steps(
        [(c.profile, c.findings) for c in comparisons],
        threshold,
        today=today(),
        update_command="semdag snapshot update -p {profile}" if update else None,
        update_all="semdag snapshot update --all" if update and every else None,
        ack_file=_ack_file(session),
    )
    data = {
        key: [c.as_dict() for c in comparisons],
        "failed": bool(failing),
    }
    if steps:
        data["next_steps"] = steps.as_dict()
    error_items = [e.as_dict() for e in errors] + [
        {"code": f.rule, "message": f.message, "file": f.file, "line": f.line} for f in failing
    ]

    def render() -> None:
        console.write(
            render_comparisons(
                sections, session.fmt, threshold, steps, cases or (), colour=console.styled()
            )
        )
        if session.fmt == "github":
            for error in errors:
                console.write(github_error(session.command, error.as_dict()))
        for error in errors:
            print_error(session.command, error)

    return Outcome(data=data, render=render, exit_code=code, errors=error_items)


@command("check", target=snapshot_app, options=BUILD_OPTIONS, formats=REPORT_FORMATS)
def snapshot_check_cmd(
    ctx: typer.Context,
    every: AllProfiles = False,
    fail_on: FailOnOption = "breaking",
) -> None:
    """Compare the current build with the committed baselines.

    Example: semdag snapshot check --all

    Example: semdag snapshot check -p prod --fail-on warning -f markdown
    """
    session = session_of(ctx)
    finish(session, lambda: _snapshot_check(session, every, fail_on))


def _snapshot_check(session: Session, every: bool, fail_on: str) -> Outcome:
    from semdag.app.gate import check
    from semdag.app.merge import conflict_error
    from semdag.store.snapshot import baseline_conflict

    set_up_merge_driver(session)
    threshold = fail_threshold(fail_on)
    comparisons, errors = [], []
    names = profiles_of(session, every)
    for number, name in enumerate(names, 1):
        try:
            shown = session.load_profile(name).name
            conflict = baseline_conflict(session.project, shown)
            if conflict is not None:
                raise conflict_error(session.project, conflict, shown)
            with phase(f"comparing profile {shown} with its baseline ({number} of {len(names)})"):
                comparisons.append(check(session, name))
        except SemdagError as error:
            if not every:
                raise
            errors.append(error)
    return findings_outcome(session, comparisons, errors, threshold, update=True, every=every)


@command("diff", options=BUILD_OPTIONS, formats=REPORT_FORMATS)
def diff_cmd(
    ctx: typer.Context,
    old: Annotated[
        Path | None,
        typer.Argument(metavar="OLD", click_type=ARGUMENT, help="The older registry.json."),
    ] = None,
    new: Annotated[
        Path | None,
        typer.Argument(metavar="NEW", click_type=ARGUMENT, help="The newer registry.json."),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="git:REF",
            help="git:REF: compare the registry built at REF with the working tree.",
        ),
    ] = None,
    fail_on: FailOnOption = "breaking",
) -> None:
    """Compare two registry snapshots, or the working tree with a git revision.

    Example: semdag diff --against git:main

    Example: semdag diff old/registry.json snapshots/dev/registry.json -f json
    """
    session = session_of(ctx)
    finish(session, lambda: _diff(session, old, new, against, fail_on))


def _diff(
    session: Session, old: Path | None, new: Path | None, against: str | None, fail_on: str
) -> Outcome:
    from semdag.app.gate import diff_against_git, diff_files

    threshold = fail_threshold(fail_on)
    if against is not None:
        if old is not None or new is not None:
            raise UsageError("give either OLD NEW or --against git:REF, not both")
        if not against.startswith("git:") or len(against) <= 4:
            raise UsageError(f"--against takes git:REF (for example git:HEAD), got {against!r}")
        with phase(f"comparing the registry with {against}"):
            comparison = diff_against_git(session, against[4:])
    else:
        if old is None or new is None:
            raise UsageError("diff needs two registry files (OLD NEW) or --against git:REF")
        project_session = session if session.project_dir or _has_project() else None
        comparison = diff_files(project_session, old, new)
    return findings_outcome(session, [comparison], [], threshold)


def _ack_file(session: Session) -> str:
    """The acknowledgement file as a report names it (the default outside a project)."""
    from semdag.store.acknowledge import ACK_FILE

    try:
        return session.project.relative(session.project.snapshots_path / ACK_FILE)
    except SemdagError:
        return f"snapshots/{ACK_FILE}"


def _has_project() -> bool:
    from semdag.config.project import find_project

    try:
        find_project()
    except SemdagError:
        return False
    return True


@command("rules", options=Shared.DEBUG, formats=TEXT_JSON)
def rules_cmd(ctx: typer.Context) -> None:
    """List the rule catalogue: id, default severity, what it checks.

    Example: semdag rules -f json
    """
    finish(session_of(ctx), _rules)


def _rules() -> Outcome:
    rows = [
        {"id": r.id, "severity": r.severity.value, "kind": r.kind, "summary": r.summary}
        for r in RULES
    ]

    def render() -> None:
        width = max(len(r.id) for r in RULES)
        for row in rows:
            console.write(
                f"{row['id']:<{width}}  {row['severity']:<8}  {row['kind']:<8}  {row['summary']}\n"
            )

    return Outcome(data=rows, render=render)
