"""The semantic gate: registry, snapshot update|check, diff, rules."""

from pathlib import Path
from typing import Annotated, Any

import typer

from semdag import console
from semdag.cli import (
    ARGUMENT,
    FailOnOption,
    Outcome,
    app,
    command,
    fail_threshold,
    print_error,
)
from semdag.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, SemdagError, UsageError
from semdag.progress import phase
from semdag.rules import RULES
from semdag.session import Session

REPORT_FORMATS = ("text", "json", "markdown", "github", "junit")

snapshot_app = typer.Typer(
    name="snapshot",
    help="Write and check the committed baselines under snapshots/.",
    no_args_is_help=True,
)
app.add_typer(snapshot_app, name="snapshot")

AllProfiles = Annotated[bool, typer.Option("--all", help="Every profile in the configs directory.")]


def _profiles(session: Session, every: bool) -> list[str | None]:
    if not every:
        return [None]
    names = session.project.profiles()
    if not names:
        raise UsageError(f"no profiles in {session.project.configs_dir}/")
    return list(names)


@command("registry")
def registry_cmd(session: Session) -> Outcome:
    """Compile and print the semantic registry."""
    from semdag.gate import current_registry

    registry, _ = current_registry(session, None)
    document = registry.as_document()

    def render() -> None:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for column in (
            "semantic_id",
            "node",
            "layer",
            "entity",
            "grain",
            "dtype",
            "version",
            "owner",
        ):
            table.add_column(column)
        for sid, entry in registry.entries.items():
            tags = entry.tags
            table.add_row(
                sid,
                entry.node,
                entry.stack_layer or "",
                *(str(tags.get(k, "")) for k in ("entity", "grain", "dtype", "version", "owner")),
            )
        console.out().print(table)
        console.err().print(f"{len(registry.entries)} semantic entries", markup=False)

    return Outcome(data=document, render=render)


@command("update", target=snapshot_app)
def snapshot_update_cmd(session: Session, every: AllProfiles = False) -> Outcome:
    """Write snapshots/<profile>/registry.json and graph.json (atomically)."""
    from semdag.gate import update

    written: dict[str, list[str]] = {}
    names = _profiles(session, every)
    for number, name in enumerate(names, 1):
        profile = session.load_profile(name).name
        with phase(f"writing the baselines of profile {profile} ({number} of {len(names)})"):
            written[profile] = update(session, name)

    def render() -> None:
        for profile, paths in written.items():
            console.out().print(f"{profile}: wrote {', '.join(paths)}", markup=False)

    return Outcome(data={"written": written}, render=render)


def _comparisons_outcome(
    session: Session, comparisons: list[Any], errors: list[SemdagError], threshold: int
) -> Outcome:
    from semdag.report import render_comparisons

    failing = [f for c in comparisons for f in c.findings if f.fails(threshold)]
    code = EXIT_USAGE if errors else EXIT_CHECK_FAILED if failing else EXIT_OK
    data = {
        "comparisons": [c.as_dict() for c in comparisons],
        "failed": bool(failing),
    }
    error_items = [e.as_dict() for e in errors] + [
        {"code": f.rule, "message": f.message, "file": f.file, "line": f.line} for f in failing
    ]

    def render() -> None:
        console.write(
            render_comparisons(
                [(c.profile, c.findings) for c in comparisons],
                session.fmt,
                threshold,
                colour=console.styled(),
            )
        )
        for error in errors:
            print_error(session.command, error)

    return Outcome(data=data, render=render, exit_code=code, errors=error_items)


@command("check", target=snapshot_app, formats=REPORT_FORMATS)
def snapshot_check_cmd(
    session: Session, every: AllProfiles = False, fail_on: FailOnOption = "breaking"
) -> Outcome:
    """Compare the current build with the committed baselines."""
    from semdag.gate import check

    threshold = fail_threshold(fail_on)
    comparisons, errors = [], []
    names = _profiles(session, every)
    for number, name in enumerate(names, 1):
        try:
            shown = session.load_profile(name).name
            with phase(f"comparing profile {shown} with its baseline ({number} of {len(names)})"):
                comparisons.append(check(session, name))
        except SemdagError as error:
            if not every:
                raise
            errors.append(error)
    return _comparisons_outcome(session, comparisons, errors, threshold)


@command("diff", formats=REPORT_FORMATS)
def diff_cmd(
    session: Session,
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
) -> Outcome:
    """Compare two registry snapshots, or the working tree with a git revision."""
    from semdag.gate import diff_against_git, diff_files

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
    return _comparisons_outcome(session, [comparison], [], threshold)


def _has_project() -> bool:
    from semdag.project import find_project

    try:
        find_project()
    except SemdagError:
        return False
    return True


@app.command("rules")
def rules_cmd(
    fmt: Annotated[
        str, typer.Option("-f", "--format", metavar="FORMAT", help="Output format: text|json.")
    ] = "text",
) -> None:
    """List the rule catalogue: id, default severity, what it checks."""
    if fmt not in ("text", "json"):
        console.err().print(f"semdag rules: error: unknown format {fmt!r}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    rows = [
        {"id": r.id, "severity": r.severity.value, "kind": r.kind, "summary": r.summary}
        for r in RULES
    ]
    if fmt == "json":
        console.envelope("rules", True, rows, [])
        return
    width = max(len(r.id) for r in RULES)
    for row in rows:
        console.write(
            f"{row['id']:<{width}}  {row['severity']:<8}  {row['kind']:<8}  {row['summary']}\n"
        )
