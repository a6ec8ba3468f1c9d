"""Commands that run the graph: execute, materialize (verify runs it too: verify_cmds)."""

from pathlib import Path
from typing import Annotated, Any

import typer

from semdag.app.session import Session
from semdag.cli.common import Outcome, console, finish, parse_pairs
from semdag.cli.options import (
    PROFILE_OPTIONS,
    TEXT_JSON,
    Formats,
    InputOption,
    command,
    session_of,
)
from semdag.core.errors import ConfigError, UsageError
from semdag.core.progress import phase

# Options shared by both commands.
OverrideOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--override",
        metavar="NODE=VALUE",
        help="A node's value instead of computing it (VALUE is YAML). Repeatable.",
    ),
]
ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor",
        metavar="EXECUTOR",
        help="sync|threads|processes|dask (default: the profile's).",
    ),
]
CacheOpt = Annotated[
    bool | None,
    typer.Option(
        "--cache/--no-cache",
        help="Hamilton's result cache, from the profile's cache: (default: on when the "
        "profile has one). Not semdag's build cache in .semdag/.",
    ),
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress", help="Progress bar on stderr (default: when it is a terminal)."
    ),
]
TIMINGS_SHOWN = 10


def progress_sink(flag: bool | None) -> Any:
    """The command's activity line shows the run: on a terminal, or with ``--progress``."""
    show = console.err().is_terminal if flag is None else flag
    return console.activity() if show else None


def _prepare(
    session: Session, executor: str | None, cache: bool | None, progress: bool | None
) -> tuple[Any, Any, Any]:
    """(runner, build, graph) for the selected profile."""
    from semdag.app.run import prepare_run

    return prepare_run(session, executor=executor, cache=cache, progress=progress_sink(progress))


def _final_vars(session: Session, graph: Any, requested: list[str] | None) -> list[str]:
    from semdag.core.checks import profile_outputs
    from semdag.core.registry import compile_registry

    profile = session.profile
    if requested:
        return list(dict.fromkeys(graph.get(name).name for name in requested))
    if profile.outputs:
        return profile_outputs(profile, graph)
    registry = compile_registry(graph, profile.tag_filter)
    nodes = sorted({entry.node for entry in registry.entries.values()})
    if not nodes:
        raise UsageError(
            "nothing to compute: the profile names no outputs and its registry is empty "
            "(pass --output NODE)"
        )
    return nodes


def _run_values(
    build: Any, graph: Any, inputs: list[str] | None, overrides: list[str] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's inputs (checked: see ``checked_inputs``) and overrides, keyed by node name
    (an override may name its node by semantic id)."""
    from semdag.hamilton.validate import checked_inputs

    run_inputs = checked_inputs(build, graph, parse_pairs(inputs, "--input"))
    given = {**build.profile.overrides, **parse_pairs(overrides, "--override")}
    run_overrides = {graph.get(name).name: value for name, value in given.items()}
    return run_inputs, run_overrides


EXECUTE_FORMATS = Formats(("table", "json", "csv", "parquet"))


@command("execute", options=PROFILE_OPTIONS, formats=EXECUTE_FORMATS, runs_nodes=True)
def execute_cmd(
    ctx: typer.Context,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            metavar="NODE",
            help="A node to compute (default: the profile's outputs, else the registry's "
            "nodes). Repeatable.",
        ),
    ] = None,
    inputs: InputOption = None,
    overrides: OverrideOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Write one file per output into DIR, and manifest.json: parquet for frames, "
            "series and arrays, JSON for other values, or the --format given "
            "(csv|parquet|json). Files the previous manifest listed and this run does not "
            "write are removed.",
        ),
    ] = None,
    executor: ExecutorOpt = None,
    cache: CacheOpt = None,
    progress: ProgressOpt = None,
    timings: Annotated[
        bool,
        typer.Option("--timings", help="Print the slowest nodes to stderr (and into JSON data)."),
    ] = False,
    max_rows: Annotated[
        int, typer.Option("--max-rows", metavar="N", help="Rows per DataFrame in JSON output.")
    ] = 50,
) -> None:
    """Run the DAG and print or write its outputs.

    Example: semdag execute --output function.loc.v1

    Example: semdag execute -p prod --input repo_root=src --out out/run
    """
    session = session_of(ctx)
    finish(
        session,
        lambda: _execute(
            session, output, inputs, overrides, out, executor, cache, progress, timings, max_rows
        ),
    )


def _execute(
    session: Session,
    output: list[str] | None,
    inputs: list[str] | None,
    overrides: list[str] | None,
    out: Path | None,
    executor: str | None,
    cache: bool | None,
    progress: bool | None,
    timings: bool,
    max_rows: int,
) -> Outcome:
    from semdag.app import results
    from semdag.cli import results_view
    from semdag.core import values

    fmt = session.fmt
    if fmt in ("csv", "parquet") and out is None:
        raise UsageError(f"--format {fmt} writes files: pass --out DIR")
    if max_rows < 0:
        raise UsageError("--max-rows must be 0 or more")
    if out is not None:  # before the run: a refusal should not cost one
        out_dir = out if out.is_absolute() else Path.cwd() / out
        results.check_out_dir(out_dir, session.project.relative(out_dir.absolute()))
    runner, build, graph = _prepare(session, executor, cache, progress)
    final_vars = _final_vars(session, graph, output)
    run_inputs, run_overrides = _run_values(build, graph, inputs, overrides)
    runner.check(build, graph, final_vars, run_inputs, run_overrides)
    with runner.started():
        result = runner.execute(build, graph, final_vars, run_inputs, run_overrides)
    manifest = None
    if out is not None:
        out_dir = out if out.is_absolute() else Path.cwd() / out
        with phase(f"writing {len(result.values)} output(s) to {_shown(out)}"):
            manifest = results.write_outputs(
                out_dir,
                result.values,
                None if fmt == "table" else fmt,
                profile=session.profile.name,
                shown=session.project.relative(out_dir.absolute()),
            )

    project = session.project
    data: dict[str, Any] = {
        "profile": session.profile.name,
        "outputs": {
            name: values.describe(value, max_rows, name) for name, value in result.values.items()
        },
        "execution": runner.settings.describe(project),
        "seconds": round(result.seconds, 3),
        "cache": result.cache.as_dict() if result.cache else None,
    }
    from semdag.app.run import quality_findings

    quality = quality_findings(result.quality, graph)
    data["findings"] = [f.as_dict() for f in quality]
    if timings:
        data["timings"] = [t.as_dict() for t in result.timings]
    if manifest is not None:
        data["written"] = {"dir": _shown(out), **manifest.as_document()}

    def render() -> None:
        if manifest is None:
            results_view.render(result.values, console.out(), console.width())
        else:
            for item in manifest.files:
                rows = "" if item.rows is None else f", {item.rows} rows"
                console.write(f"{_shown(out)}/{item.file}\t{item.node} ({item.format}{rows})\n")
            console.write(f"{_shown(out)}/{results.MANIFEST}\n")
        _warn(manifest)
        for warned in quality:
            where = f" ({warned.file}:{warned.line})" if warned.file and warned.line else ""
            console.say(f"warning: data-quality: {warned.message}{where}", console.WARNING)
        _report_run(session, runner, result, timings)

    if fmt == "json":
        # Notes about format fallbacks are not part of the envelope's data; say them on stderr.
        _warn(manifest)
        if timings:
            _print_timings(result.timings)
    return Outcome(data=data, render=render)


def _warn(manifest: Any) -> None:
    for note in manifest.notes if manifest else ():
        console.say(f"warning: {note}", console.WARNING)


def _shown(path: Path | None) -> str:
    return "" if path is None else path.as_posix().rstrip("/")


def _report_run(session: Session, runner: Any, result: Any, timings: bool) -> None:
    err = console.err()
    settings = runner.settings
    mode = settings.executor + (", dynamic" if settings.dynamic else "")
    err.print(f"ran {len(result.values)} output(s) in {result.seconds:.2f}s ({mode})", markup=False)
    if result.cache is not None:
        err.print(
            f"cache ({result.cache.path}): {len(result.cache.hits)} from cache, "
            f"{len(result.cache.executed)} computed",
            markup=False,
        )
    if timings:
        _print_timings(result.timings)


def _print_timings(timings: Any) -> None:
    err = console.err()
    if not timings:
        err.print("timings: none measured (nodes ran inside Dask's graph)", markup=False)
        return
    err.print("slowest nodes:", markup=False)
    for timing in list(timings)[:TIMINGS_SHOWN]:
        calls = f", {timing.calls} calls" if timing.calls > 1 else ""
        where = " (remote tasks, wall time)" if timing.kind == "task" else ""
        err.print(f"  {timing.seconds:9.4f}s  {timing.name}{where}{calls}", markup=False)


@command("materialize", options=PROFILE_OPTIONS, formats=TEXT_JSON, runs_nodes=True)
def materialize_cmd(
    ctx: typer.Context,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="ID", help="Run only this materializer id. Repeatable."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate the materializers; write nothing.")
    ] = False,
    inputs: InputOption = None,
    overrides: OverrideOpt = None,
    executor: ExecutorOpt = None,
    cache: CacheOpt = None,
    progress: ProgressOpt = None,
) -> None:
    """Run the profile's materializers (Hamilton savers and loaders).

    Example: semdag materialize --dry-run

    Example: semdag materialize -p prod
    """
    session = session_of(ctx)
    finish(
        session,
        lambda: _materialize(session, only, dry_run, inputs, overrides, executor, cache, progress),
    )


def _materialize(
    session: Session,
    only: list[str] | None,
    dry_run: bool,
    inputs: list[str] | None,
    overrides: list[str] | None,
    executor: str | None,
    cache: bool | None,
    progress: bool | None,
) -> Outcome:
    from semdag.hamilton import materialize as mat

    profile = session.profile
    if not profile.materializers:
        file, line = profile.where("materializers")
        raise ConfigError(f"profile {profile.name} declares no materializers", file=file, line=line)
    runner, build, graph = _prepare(session, executor, cache, progress)
    specs = mat.select(mat.parse_materializers(session.project, profile, build, graph), only or [])
    if not any(s.kind == "saver" for s in specs):
        raise UsageError("nothing to materialize: no saver (`to:`) is selected")
    run_inputs, run_overrides = _run_values(build, graph, inputs, overrides)
    factories = mat.factories(specs)
    runner.check_materializers(build, graph, factories, run_inputs, run_overrides)
    project = session.project
    if dry_run:
        data: dict[str, Any] = {
            "profile": profile.name,
            "dry_run": True,
            "materializers": [spec.describe(project) for spec in specs],
        }

        def render_dry() -> None:
            for spec in specs:
                verb = "would write" if spec.kind == "saver" else "would load"
                paths = ", ".join(project.relative(p) for p in spec.paths()) or "-"
                console.write(f"{spec.id}\t{verb} {paths} ({spec.adapter}: {spec.adapter_class})\n")
            console.err().print(
                f"dry run: {len(specs)} materializer(s) valid; nothing was written", markup=False
            )

        return Outcome(data=data, render=render_dry)

    mat.prepare_directories(specs)
    with runner.started():
        metadata, seconds = runner.materialize(build, graph, factories, run_inputs, run_overrides)
    written = mat.describe_results(project, specs, metadata)
    data = {
        "profile": profile.name,
        "dry_run": False,
        "seconds": round(seconds, 3),
        "materialized": [m.as_dict() for m in written],
    }

    def render() -> None:
        for item in written:
            meta = item.metadata
            file_meta = meta.get("file_metadata") or {}
            frame_meta = meta.get("dataframe_metadata") or {}
            details = [item.adapter]
            if frame_meta.get("rows") is not None:
                details.append(f"{frame_meta['rows']} rows")
            if file_meta.get("size") is not None:
                details.append(f"{file_meta['size']} bytes")
            console.write(f"{item.id}\t{item.path or '-'} ({', '.join(details)})\n")
        console.err().print(
            f"materialized {len(written)} output(s) in {seconds:.2f}s", markup=False
        )

    return Outcome(data=data, render=render)
