"""Commands that create or manage a project: init."""

from pathlib import Path
from typing import Annotated

import typer

from semdag.app.session import Session
from semdag.cli.common import (
    ARGUMENT,
    DebugOpt,
    FormatOpt,
    Outcome,
    ProfileOpt,
    ProjectDirOpt,
    command,
    console,
    finish,
    shared,
)
from semdag.core.errors import UsageError

INIT_HELP = """Scaffold a working project in DIR (default: the current directory).

Writes pyproject.toml ([tool.semdag]), configs/dev.yaml, a module stack under modules/ with
two semantic nodes, snapshots/acknowledged.yaml, a sample test of the registry and the runtime
contracts (tests/test_semdag.py), .pre-commit-config.yaml and .gitignore, then
generates the baselines snapshots/dev/registry.json and graph.json. The project passes
`semdag validate`, `semdag snapshot check` and `semdag verify` at once. `-p NAME` names the
profile (default dev).

In an existing repository `init` adopts what is there: it adds [tool.semdag] to an existing
pyproject.toml and keeps every other table, and it leaves every other file that exists as it
is (the baselines too), listing what it wrote and what it left. `--force` overwrites those
files and replaces the [tool.semdag] table; pyproject.toml's other tables are always kept. An
existing [tool.semdag] table's configs_dir and snapshots_dir are used.
"""


@command("init", help=INIT_HELP)
def init_cmd(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIR",
            click_type=ARGUMENT,
            help="Where to create the project (created if missing).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite files that already exist (pyproject.toml: only its table)."
        ),
    ] = False,
    profile: ProfileOpt = None,
    project_dir: ProjectDirOpt = None,
    debug: DebugOpt = False,
    fmt: FormatOpt = "text",
) -> None:
    """Scaffold a working project, or adopt an existing repository: configs, one module
    stack, committed baselines."""
    session = shared(ctx, "init")
    finish(session, lambda: _init(session, directory, force))


def _init(session: Session, directory: Path | None, force: bool) -> Outcome:
    from semdag.app.gate import update
    from semdag.app.scaffold import (
        baseline_paths,
        existing,
        project_files,
        tool_table,
        write_project,
    )

    # `init` makes a project: nothing here may look for an existing one before the files exist.
    root = directory or session.project_dir or Path(".")
    profile = session.profile_name or "dev"
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    had_pyproject = (root / "pyproject.toml").is_file()
    had_table = tool_table(root) if had_pyproject else None
    # A [tool.semdag] table that stays says where configs and snapshots live.
    table = (had_table or {}) if not force else {}
    dirs = {key: str(table[key]) for key in ("configs_dir", "snapshots_dir") if table.get(key)}
    files = project_files(profile, **dirs)
    baselines = baseline_paths(profile, snapshots_dir=dirs.get("snapshots_dir", "snapshots"))
    adopted = root.is_dir() and bool(existing(root, [*files, *baselines]))
    done = write_project(root, files, force=force)
    written, left = list(done.written), list(done.left)
    kept = existing(root, baselines) if not force else []
    if kept:
        left += kept
    else:
        project_session = Session(command="init", project_dir=root, profile_name=profile)
        update(project_session, None)
        # Generated for this project, whether or not the same bytes were there already.
        written += baselines
    shown = root.as_posix()

    def _note(rel: str) -> str:
        if rel != "pyproject.toml" or not had_pyproject:
            return ""
        return " ([tool.semdag] replaced)" if had_table is not None else " ([tool.semdag] added)"

    def render() -> None:
        out = console.out()
        verb = "adopted" if adopted else "created"
        out.print(f"{verb} a semdag project in {shown}/", markup=False)
        if written:
            out.print("wrote:", markup=False)
            for rel in written:
                out.print(f"  {rel}{_note(rel)}", markup=False)
        if left:
            out.print("left as they were (--force overwrites them):", markup=False)
            for rel in left:
                out.print(f"  {rel}", markup=False)
        where = "" if root.resolve() == Path.cwd().resolve() else f"cd {shown} && "
        console.err().print(
            f"next: {where}git init && pre-commit install, then `semdag validate` "
            "and `semdag snapshot check`",
            markup=False,
        )
        if ".pre-commit-config.yaml" in left:
            console.err().print(
                "your .pre-commit-config.yaml was left as it was: add the hooks "
                "semdag-validate and semdag-snapshot-check (docs/ci.md) to gate commits",
                markup=False,
            )

    data = {"root": shown, "profile": profile, "written": written, "left": left}
    return Outcome(data=data, render=render)
