"""Commands that create or manage a project: init."""

from pathlib import Path
from typing import Annotated

import typer

from semdag import console
from semdag.cli import ARGUMENT, Outcome, command
from semdag.session import Session

INIT_HELP = """Scaffold a working project in DIR (default: the current directory).

Writes pyproject.toml ([tool.semdag]), configs/dev.yaml, a module stack under modules/ with
two semantic nodes, snapshots/acknowledged.yaml, .pre-commit-config.yaml and .gitignore, then
generates the baselines snapshots/dev/registry.json and graph.json. The project passes
`semdag validate` and `semdag snapshot check` at once. `-p NAME` names the profile (default
dev). Existing files are never overwritten without `--force`: when any would be, nothing is
written and the command exits 2 naming them.
"""


@command("init", help=INIT_HELP, cacheable=False, profile_file=False)
def init_cmd(
    session: Session,
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
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
) -> Outcome:
    """Scaffold a working project: configs, one module stack, committed baselines."""
    from semdag.gate import update
    from semdag.scaffold import baseline_paths, project_files, write_project

    # `init` makes a project: nothing here may look for an existing one before the files exist.
    root = directory or session.project_dir or Path(".")
    profile = session.profile_name or "dev"
    files = project_files(profile)
    written = write_project(root, files, force=force, generated=baseline_paths(profile))
    project_session = Session(command="init", project_dir=root, profile_name=profile)
    written += update(project_session, None)
    shown = root.as_posix()

    def render() -> None:
        console.out().print(f"created a semdag project in {shown}/", markup=False)
        for rel in written:
            console.out().print(f"  {rel}", markup=False)
        where = "" if root.resolve() == Path.cwd().resolve() else f"cd {shown} && "
        console.err().print(
            f"next: {where}git init && pre-commit install, then `semdag validate` "
            "and `semdag snapshot check`",
            markup=False,
        )

    return Outcome(data={"root": shown, "profile": profile, "written": written}, render=render)
