"""What every command shares: the Typer app, the shared options, :func:`shared` and :func:`run`.

A command is a plain Typer function registered with :func:`command`. It declares the shared
options it takes (``-p/--profile``, ``--config``, ``--set``, ``--project-dir``, ``--debug``,
``--no-build-cache``, ``-f/--format``) as parameters typed with the annotated types below,
makes its :class:`Session` from them with :func:`shared`, and hands its body to :func:`finish`;
:func:`run` is the one place that maps a body's outcome or error to output and an exit code.
"""

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from semdag import __version__
from semdag.app.session import Session
from semdag.cli import console
from semdag.core.errors import (
    EXIT_CHECK_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    SemdagError,
    UsageError,
)
from semdag.core.tuning import SERIAL, Tuning

app = typer.Typer(
    name="semdag",
    help="A governed semantic layer over Apache Hamilton dataflows.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Options that several commands share, declared once.
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        metavar="KEY=VALUE",
        help="KEY=VALUE (repeat a key for any-of) or KEY (the tag exists).",
    ),
]
LayerOption = Annotated[
    list[str] | None,
    typer.Option("--layer", metavar="LAYER", help="Only nodes of this stack layer."),
]
InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input", metavar="NAME=VALUE", help="A runtime input (VALUE is YAML). Repeatable."
    ),
]
FailOnOption = Annotated[
    str,
    typer.Option(
        "--fail-on",
        metavar="LEVEL",
        help="breaking|warning|any|never: the least severity that fails.",
    ),
]
# The help panel of the options every command shares, after the command's own.
SHARED_PANEL = "Shared options"

# The shared options, declared once; each command names the ones it takes.
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--profile",
        metavar="NAME",
        help="Profile name: reads configs/NAME.yaml.",
        rich_help_panel=SHARED_PANEL,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="A profile YAML file to use instead of a profile.",
        rich_help_panel=SHARED_PANEL,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a profile key: dotted.key=VALUE (YAML). Repeatable.",
        rich_help_panel=SHARED_PANEL,
    ),
]
ProjectDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--project-dir",
        metavar="DIR",
        help="The project root (default: discovered).",
        rich_help_panel=SHARED_PANEL,
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Show full tracebacks and the libraries' own logs.",
        rich_help_panel=SHARED_PANEL,
    ),
]
# semdag's own cache of build results, not Hamilton's result cache (`execute --cache`):
# `--no-cache` is the older name, kept.
NoBuildCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-build-cache",
        "--no-cache",
        help="Build afresh: bypass the build cache and code-hash memo in .semdag/ (not "
        "Hamilton's result cache, the profile's cache:).",
        rich_help_panel=SHARED_PANEL,
    ),
]


def format_option(formats: Sequence[str], help: str | None = None) -> Any:
    """``-f/--format`` for a command whose output forms are ``formats``, as the metadata of an
    annotated type: ``Annotated[str, format_option(FORMATS)]``. :func:`shared` checks the
    value against the same ``formats``."""
    return typer.Option(
        "-f",
        "--format",
        metavar="FORMAT",
        help=help or f"Output format: {'|'.join(formats)}.",
        rich_help_panel=SHARED_PANEL,
    )


TEXT_JSON = ("text", "json")
FormatOpt = Annotated[str, format_option(TEXT_JSON)]


def _argument_type() -> Any:
    """Text whose help shows no type placeholder (``<str>``): the metavar names it."""
    from typer import core

    # Typer's vendored click, or click itself in Typer versions that import it.
    types = getattr(core, "types", None) or getattr(core, "click").types  # noqa: B009

    class Named(types.StringParamType):  # type: ignore[misc, name-defined]
        def get_metavar(self, *args: Any, **kwargs: Any) -> str:
            return ""

    return Named()


# For arguments: `typer.Argument(metavar="NODE", click_type=ARGUMENT)`.
ARGUMENT = _argument_type()


class _Command(typer.core.TyperCommand):
    """A command whose usage line reads ``semdag show [OPTIONS] NODE``, not ``{NODE}``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p[:1] == "{" and p[-1:] == "}" else p for p in pieces]


def fail_threshold(fail_on: str) -> int:
    """The severity rank ``--fail-on`` names."""
    from semdag.core.rules import FAIL_ON

    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    return FAIL_ON[fail_on]


def parse_tag_filter(tags: list[str] | None) -> dict[str, Any]:
    """``--tag K=V`` (repeat a key for any-of) and ``--tag K`` (exists) into a tag filter."""
    out: dict[str, Any] = {}
    for item in tags or ():
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"--tag {item!r}: expected KEY or KEY=VALUE")
        if not sep:
            out.setdefault(key, None)
            continue
        current = out.get(key)
        out[key] = [*(current or []), value]
    return out


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``K=V`` options into a dict, values parsed as YAML scalars."""
    from semdag.config.yamlio import parse_scalar

    out: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} {pair!r}: expected KEY=VALUE")
        out[key] = parse_scalar(value)
    return out


@dataclass
class Outcome:
    """What a command produced: data for JSON, a text renderer, and its exit code."""

    data: Any = None
    render: Callable[[], None] | None = None
    exit_code: int = EXIT_OK
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Output formats that are not the envelope (markdown, junit, dot...) print themselves.
    raw: bool = False


def _version(value: bool) -> None:
    if value:
        console.write(f"semdag {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """A governed semantic layer over Apache Hamilton dataflows."""


def help_text(text: str) -> str:
    """Help text as Typer's rich help shows it literally (``[tool.semdag]`` is not markup),
    each paragraph one line for the terminal to wrap at its own width (rich keeps a
    paragraph's line breaks, which a narrower terminal then breaks again)."""
    paragraphs = (" ".join(block.split()) for block in text.strip().split("\n\n"))
    return "\n\n".join(paragraphs).replace("[", "\\[")


class _NodeRunningCommand(_Command):
    """A command that executes the project's node functions, whose open files and finalizers
    a normal interpreter exit must close: it tells the tuning so (see :func:`tuning_of`)."""

    def invoke(self, ctx: Any) -> Any:
        tuning_of(ctx).ran_project_code()
        return super().invoke(ctx)


def tuning_of(ctx: Any) -> Tuning:
    """The tuning :func:`semdag.cli.main` was given (serial when a command is invoked
    another way, as Typer's test runner does)."""
    given = ctx.find_root().obj
    return given if isinstance(given, Tuning) else SERIAL


def command(
    name: str,
    *,
    target: typer.Typer | None = None,
    help: str | None = None,
    runs_nodes: bool = False,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn`` as the command ``name`` of ``target`` (default: the app).

    ``fn`` is a plain Typer function: it declares its own options and the shared ones it takes
    (:data:`ProfileOpt` ...), makes its :class:`Session` with :func:`shared` and hands its body
    to :func:`finish`. ``runs_nodes``: the command executes the project's node functions.
    """

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        cls = _NodeRunningCommand if runs_nodes else _Command
        (target or app).command(name, cls=cls, help=help_text(help or fn.__doc__ or ""))(fn)
        return fn

    return decorate


def shared(ctx: typer.Context, name: str, *, formats: Sequence[str] = TEXT_JSON) -> Session:
    """The :class:`Session` of the command ``name`` (``snapshot check``) from the shared
    options it declares (``ProfileOpt``, ``FormatOpt``...; those it does not take keep their
    defaults). A format outside ``formats`` is a usage error (exit 2); no format means the
    first."""
    given = ctx.params  # as click parsed them: paths are still text

    def path(key: str) -> Path | None:
        value = given.get(key)
        return Path(value) if value is not None else None

    chosen = given.get("fmt") or formats[0]
    if chosen not in formats:
        choices = ", ".join(formats)
        _fail_usage(name, f"unknown format {chosen!r} (choose from {choices})", chosen)
    return Session(
        command=name,
        profile_name=given.get("profile"),
        config_file=path("config_file"),
        sets=tuple(given.get("sets") or ()),
        project_dir=path("project_dir"),
        fmt=chosen,
        debug=bool(given.get("debug")),
        build_cache=not given.get("no_build_cache"),
        tuning=tuning_of(ctx),
    )


def finish(session: Session, body: Callable[[], Outcome]) -> NoReturn:
    """Run the command's body (see :func:`run`) and leave with its exit code."""
    raise typer.Exit(run(session, body))


def _fail_usage(command_name: str, message: str, fmt: str) -> NoReturn:
    if fmt == "json":
        console.envelope(
            command_name,
            False,
            None,
            [{"code": "usage_error", "message": message, "file": None, "line": None}],
        )
    else:
        console.say(f"semdag {command_name}: error: {message}", console.ERROR)
    raise typer.Exit(2)


def run(session: Session, body: Callable[[], Outcome]) -> int:
    """Run a command body; the one place where outcomes and errors become output and exit codes."""
    try:
        return _run(session, body)
    finally:
        session.finish()


def _run(session: Session, body: Callable[[], Outcome]) -> int:
    from semdag.hamilton.liblogs import quiet_libraries

    as_json = session.fmt == "json"
    try:
        # What runs is named on a terminal; the line is gone before anything is reported.
        with console.showing_activity(), quiet_libraries(session.debug):
            outcome = body()
    except BaseException as exc:
        return _report_failure(session, exc, as_json)
    try:
        ok = outcome.exit_code == EXIT_OK
        if as_json and not outcome.raw:
            console.envelope(session.command, ok, outcome.data, outcome.errors)
        elif outcome.render is not None:
            # Rendering can fail too (a file to write, a missing tool): same handling.
            outcome.render()
        return outcome.exit_code
    except (BrokenPipeError, SystemExit):
        # The reader of stdout went away (`semdag ls | head`); rich says so with SystemExit.
        return reader_gone()
    except BaseException as exc:
        return _report_failure(session, exc, as_json)


def _report_failure(session: Session, exc: BaseException, as_json: bool) -> int:
    if isinstance(exc, SemdagError):
        return _report_error(session, exc, as_json)
    if isinstance(exc, KeyboardInterrupt):
        return _report_error(session, _interrupted(), as_json)
    if isinstance(exc, SystemExit):
        # Project code (a stack module, a node) called sys.exit. Exiting with the code it chose
        # would let sys.exit(0) read as a pass, and skip the JSON document: report a failure.
        from semdag.core.errors import ExecutionError

        exited = ExecutionError(
            f"project code called sys.exit({exc.code}) during {session.command}"
        )
        return _report_error(session, exited, as_json)
    # An unexpected failure is a bug: exit 3, traceback on --debug.
    if session.debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = f"internal error: {type(exc).__name__}: {exc}"
    if as_json:
        console.envelope(
            session.command,
            False,
            None,
            [{"code": "internal_error", "message": message, "file": None, "line": None}],
        )
    else:
        console.say(f"semdag {session.command}: {message}", console.ERROR)
        if not session.debug:
            console.say("rerun with --debug for the full traceback", console.HINT)
    return EXIT_INTERNAL


def reader_gone() -> int:
    """Stop quietly when stdout's reader has gone, and keep Python from complaining again
    when it flushes stdout at exit. Exit 1: the output is incomplete."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_CHECK_FAILED


def _interrupted() -> SemdagError:
    from semdag.core.errors import Interrupted

    return Interrupted("interrupted")


def _report_error(session: Session, error: SemdagError, as_json: bool) -> int:
    if session.debug:
        traceback.print_exception(error, file=sys.stderr)
    if as_json:
        console.envelope(session.command, False, None, [error.as_dict()])
    else:
        if session.fmt == "github":
            # A workflow log shows annotations, not stderr lines: the error is the result.
            from semdag.core.report import github_error

            console.write(github_error(session.command, error.as_dict()))
        print_error(session.command, error)
    return error.exit_code if error.exit_code != 0 else EXIT_INTERRUPTED


def print_error(command_name: str, error: SemdagError) -> None:
    """An error's line (and hint) on stderr, as every command reports one."""
    console.say(f"semdag {command_name}: error: {error.location()}{error.message}", console.ERROR)
    if error.hint:
        console.say(f"hint: {error.hint}", console.HINT)
