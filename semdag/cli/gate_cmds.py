"""The semantic gate: registry, snapshot update|check, diff, rules."""

from pathlib import Path
from typing import Annotated, Any

import typer

from semdag.app.session import Session
from semdag.cli.common import (
    ARGUMENT,
    ConfigOpt,
    DebugOpt,
    FailOnOption,
    FormatOpt,
    NoBuildCacheOpt,
    Outcome,
    ProfileOpt,
    ProjectDirOpt,
    SetOpt,
    app,
    command,
    console,
    fail_threshold,
    finish,
    format_option,
    print_error,
    shared,
)
from semdag.core.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, SemdagError, UsageError
from semdag.core.progress import phase
from semdag.core.rules import RULES

REPORT_FORMATS = ("text", "json", "markdown", "github", "junit")
ReportFormatOpt = Annotated[str, format_option(REPORT_FORMATS)]

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


@command("registry")
def registry_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    project_dir: ProjectDirOpt = None,
    debug: DebugOpt = False,
    no_build_cache: NoBuildCacheOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """Compile and print the semantic registry.

    Example: semdag registry -p prod

    Example: semdag registry -f json > registry.json
    """
    session = shared(ctx, "registry")
    finish(session, lambda: _registry(session))


def _registry(session: Session) -> Outcome:
    from semdag.app.gate import current_registry

    registry, _ = current_registry(session, None)
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


@command("update", target=snapshot_app)
def snapshot_update_cmd(
    ctx: typer.Context,
    every: AllProfiles = False,
    profile: ProfileOpt = None,
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    project_dir: ProjectDirOpt = None,
    debug: DebugOpt = False,
    no_build_cache: NoBuildCacheOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """Write snapshots/<profile>/registry.json and graph.json (atomically), and say which
    changes the new baselines accept.

    Example: semdag snapshot update --all

    Example: semdag snapshot update -p prod
    """
    session = shared(ctx, "snapshot update")
    finish(session, lambda: _snapshot_update(session, every))


def _snapshot_update(session: Session, every: bool) -> Outcome:
    from semdag.app.gate import pending_changes, update

    written: dict[str, list[str]] = {}
    accepted: dict[str, tuple[Any, ...] | None] = {}
    names = profiles_of(session, every)
    for number, name in enumerate(names, 1):
        profile = session.load_profile(name).name
        with phase(f"writing the baselines of profile {profile} ({number} of {len(names)})"):
            # Compared before writing: afterwards the baseline is the build.
            accepted[profile] = pending_changes(session, name)
            written[profile] = update(session, name)

    def render() -> None:
        from semdag.core.report import by_severity, summary_line

        out = console.out()
        for profile, paths in written.items():
            found = accepted[profile]
            if found is None:
                out.print(f"{profile}: new baseline", markup=False)
            elif not found:
                out.print(f"{profile}: no changes to accept", markup=False)
            else:
                out.print(f"{profile}: accepted {summary_line(found)}", markup=False)
                for item in by_severity(found):
                    out.print(f"  {item.rule}: {item.subject}: {item.message}", markup=False)
            if paths:
                out.print(f"{profile}: wrote {', '.join(paths)}", markup=False)
            else:
                out.print(f"{profile}: baselines unchanged", markup=False)

    data = {
        "written": written,
        "accepted": {
            profile: None if found is None else [f.as_dict() for f in found]
            for profile, found in accepted.items()
        },
    }
    return Outcome(data=data, render=render)


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


@command("check", target=snapshot_app)
def snapshot_check_cmd(
    ctx: typer.Context,
    every: AllProfiles = False,
    fail_on: FailOnOption = "breaking",
    profile: ProfileOpt = None,
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    project_dir: ProjectDirOpt = None,
    debug: DebugOpt = False,
    no_build_cache: NoBuildCacheOpt = False,
    fmt: ReportFormatOpt = "text",
) -> None:
    """Compare the current build with the committed baselines.

    Example: semdag snapshot check --all

    Example: semdag snapshot check -p prod --fail-on warning -f markdown
    """
    session = shared(ctx, "snapshot check", formats=REPORT_FORMATS)
    finish(session, lambda: _snapshot_check(session, every, fail_on))


def _snapshot_check(session: Session, every: bool, fail_on: str) -> Outcome:
    from semdag.app.gate import check

    threshold = fail_threshold(fail_on)
    comparisons, errors = [], []
    names = profiles_of(session, every)
    for number, name in enumerate(names, 1):
        try:
            shown = session.load_profile(name).name
            with phase(f"comparing profile {shown} with its baseline ({number} of {len(names)})"):
                comparisons.append(check(session, name))
        except SemdagError as error:
            if not every:
                raise
            errors.append(error)
    return findings_outcome(session, comparisons, errors, threshold, update=True, every=every)


@command("diff")
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
    profile: ProfileOpt = None,
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    project_dir: ProjectDirOpt = None,
    debug: DebugOpt = False,
    no_build_cache: NoBuildCacheOpt = False,
    fmt: ReportFormatOpt = "text",
) -> None:
    """Compare two registry snapshots, or the working tree with a git revision.

    Example: semdag diff --against git:main

    Example: semdag diff old/registry.json snapshots/dev/registry.json -f json
    """
    session = shared(ctx, "diff", formats=REPORT_FORMATS)
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


@command("rules")
def rules_cmd(ctx: typer.Context, debug: DebugOpt = False, fmt: FormatOpt = "text") -> None:
    """List the rule catalogue: id, default severity, what it checks.

    Example: semdag rules -f json
    """
    finish(shared(ctx, "rules"), _rules)


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
