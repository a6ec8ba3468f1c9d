"""Commands that create or manage a project: init."""

from pathlib import Path
from typing import Annotated

import typer

from semdag.app.session import Session
from semdag.cli.common import ARGUMENT, Outcome, console, finish
from semdag.cli.options import PROJECT_OPTIONS, TEXT_JSON, Shared, command, session_of
from semdag.core.errors import SemdagError, UsageError

INIT_HELP = """Scaffold a working project in DIR (default: the current directory), or adopt
the Hamilton modules of an existing repository.

Writes pyproject.toml ([tool.semdag]), configs/dev.yaml, a module stack under modules/ with two
semantic nodes, snapshots/acknowledged.yaml, a sample test of the registry and the runtime
contracts (tests/test_semdag.py), .pre-commit-config.yaml, .gitattributes and .gitignore, then
generates the baselines snapshots/dev/registry.json and graph.json. The project passes `semdag
validate`, `semdag snapshot check`, `semdag verify` and `pytest` at once. `-p NAME` names the
profile (default dev).

In a directory with Hamilton modules, `init` adopts them: the modules its driver scripts pass
to Hamilton (`with_modules(...)`, `Driver(config, ...)`), else those that import
hamilton.function_modifiers (never setup.py, tests or scripts/). The profile stacks them
(layers from core/, plugins/ and overrides/ folders, else one core layer), no sample module is
written, and the baselines are their registry's, so the first `snapshot check` is green.

In an existing repository `init` keeps what is there: it adds [tool.semdag] to pyproject.toml,
semdag's hooks (and the pre-merge-commit hook type) to .pre-commit-config.yaml and the merge
driver's lines to .gitattributes, keeping everything else, comments included; it leaves every
other file that exists as it is (the baselines too), listing what it wrote and what it left. In
a git repository it names the baselines' merge driver in the clone's git config. `--force`
overwrites the files it would leave and replaces the [tool.semdag] table; the other files'
contents are always kept. An existing [tool.semdag] table's configs_dir and snapshots_dir are
used. Running it again changes nothing.

Example: semdag init my-project

Example: semdag init .
"""


@command("init", options=PROJECT_OPTIONS, formats=TEXT_JSON, help=INIT_HELP)
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
) -> None:
    """Scaffold a working project, or adopt an existing repository: configs, one module
    stack, committed baselines."""
    session = session_of(ctx)
    finish(session, lambda: _init(session, directory, force))


def _init(session: Session, directory: Path | None, force: bool) -> Outcome:
    from semdag.app.adopt import find_modules
    from semdag.app.gate import update
    from semdag.app.merge import SETUP_COMMAND, configure_driver, in_git_repository
    from semdag.app.scaffold import (
        PRECOMMIT,
        SAMPLE_FILES,
        SAMPLE_MODULE,
        baseline_paths,
        existing,
        is_sample,
        precommit_snippet,
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
    snapshots_dir = dirs.get("snapshots_dir", "snapshots")
    # The repository's own Hamilton modules (the sample module a previous init wrote is not).
    sample = set(SAMPLE_FILES) if is_sample(root, SAMPLE_MODULE) else set()
    found = find_modules(root, ignore=sample) if root.is_dir() else None
    files = project_files(profile, **dirs, adopted=found)
    baselines = baseline_paths(profile, snapshots_dir=snapshots_dir)
    adopted = root.is_dir() and (found is not None or bool(existing(root, [*files, *baselines])))
    done = write_project(root, files, force=force, snapshots_dir=snapshots_dir)
    written, left = list(done.written), list(done.left)
    kept = existing(root, baselines) if not force else []
    if kept:
        left += kept
    else:
        project_session = Session(command="init", project_dir=root, profile_name=profile)
        try:
            update(project_session, None)
        except SemdagError as error:
            # The files stay (each is complete): the baselines wait for a graph that builds.
            profile_file = f"{dirs.get('configs_dir', 'configs')}/{profile}.yaml"
            error.message = f"the baselines were not written: {error.message}"
            error.hint = (
                f"{error.hint}; then"
                if error.hint
                else f"fix it (the stack is in {profile_file}), then"
            ) + f" run `semdag snapshot update -p {profile}`"
            raise
        # Generated for this project, whether or not the same bytes were there already.
        written += baselines
    in_git = in_git_repository(root)
    driver = configure_driver(root) if in_git else None
    shown = root.as_posix()
    unmerged = dict(done.unmerged)

    def _note(rel: str) -> str:
        if rel in done.merged:
            return " (semdag's part added, the rest kept)"
        if rel != "pyproject.toml" or not had_pyproject:
            return ""
        return " ([tool.semdag] replaced)" if had_table is not None else " ([tool.semdag] added)"

    def render() -> None:
        out = console.out()
        err = console.err()
        verb = "adopted" if adopted else "created"
        out.print(f"{verb} a semdag project in {shown}/", markup=False)
        if found is not None:
            how = (
                f"the modules that {', '.join(found.scripts)} "
                f"{'passes' if len(found.scripts) == 1 else 'pass'} to Hamilton"
                if found.scripts
                else "the modules that import hamilton.function_modifiers"
            )
            out.print(f"stack ({how}):", markup=False)
            for layer, modules in found.stack.items():
                out.print(f"  {layer}: {', '.join(modules)}", markup=False)
        if written:
            out.print("wrote:", markup=False)
            for rel in written:
                out.print(f"  {rel}{_note(rel)}", markup=False)
        if left:
            out.print("left as they were (--force overwrites them):", markup=False)
            for rel in left:
                out.print(f"  {rel}", markup=False)
        if driver:
            err.print(
                f"set git's merge driver for the baselines in this clone: {driver}", markup=False
            )
        where = "" if root.resolve() == Path.cwd().resolve() else f"cd {shown} && "
        first = "pre-commit install" if in_git else "git init && pre-commit install"
        err.print(
            f"next: {where}{first}, then `semdag validate` and `semdag snapshot check`",
            markup=False,
        )
        if not in_git:
            err.print(
                "each clone merges the baselines entry by entry once it names the merge "
                f"driver: {SETUP_COMMAND} (`semdag snapshot check` does it too)",
                markup=False,
            )
        if PRECOMMIT in unmerged:
            err.print(
                f"{PRECOMMIT} was left as it was ({unmerged[PRECOMMIT]}): add semdag's hooks "
                "under its repos: to gate commits and merge commits:",
                markup=False,
            )
            err.print(precommit_snippet().rstrip("\n"), markup=False, highlight=False)

    data = {
        "root": shown,
        "profile": profile,
        "written": written,
        "left": left,
        "stack": found.stack if found is not None else None,
        "merge_driver": driver,
    }
    return Outcome(data=data, render=render)


MERGE_HELP = """Merge two versions of a baseline (registry.json or graph.json) from their
common ancestor, entry by entry: git's merge driver for snapshots/.

Git runs it for the files .gitattributes routes to it (`merge=semdag`, written by `semdag
init`) once the clone names it: `git config merge.semdag.driver "semdag merge-baselines %O %A
%B %P"` (init, `snapshot update` and `snapshot check` do this where it is missing). OURS is
rewritten with the merge. Two branches that accept different changes merge without a
conflict, and the result is what `snapshot update` writes for the merged code. Where both
changed the same entry differently, OURS gets git's conflict markers and the exit code is 1;
`semdag snapshot update` then writes the baseline from the merged code.

Example: semdag merge-baselines base.json ours.json theirs.json snapshots/dev/registry.json
"""


@command("merge-baselines", options=Shared.DEBUG, help=MERGE_HELP)
def merge_baselines_cmd(
    ctx: typer.Context,
    base: Annotated[
        Path,
        typer.Argument(metavar="BASE", click_type=ARGUMENT, help="The common ancestor (%O)."),
    ],
    ours: Annotated[
        Path,
        typer.Argument(
            metavar="OURS", click_type=ARGUMENT, help="This branch's version, rewritten (%A)."
        ),
    ],
    theirs: Annotated[
        Path,
        typer.Argument(metavar="THEIRS", click_type=ARGUMENT, help="The other branch's (%B)."),
    ],
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH",
            click_type=ARGUMENT,
            help="The file's path in the repository, for messages (%P).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Merge two versions of a baseline entry by entry (git's merge driver for snapshots/)."""
    session = session_of(ctx)
    finish(session, lambda: _merge_baselines(base, ours, theirs, path))


def _merge_baselines(base: Path, ours: Path, theirs: Path, path: str | None) -> Outcome:
    from semdag.app.merge import merge_files

    for given in (base, ours, theirs):
        if not given.is_file():
            raise UsageError(f"{given}: no such file")
    merged = merge_files(base, ours, theirs, path or ours.as_posix())

    def render() -> None:
        console.err().print(f"semdag: {merged.message}", markup=False)

    return Outcome(
        data={"clean": merged.clean, "message": merged.message},
        render=render,
        exit_code=0 if merged.clean else 1,
    )
