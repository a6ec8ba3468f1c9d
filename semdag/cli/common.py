"""What every command shares: the Typer app, the argument type, option parsing helpers,
:class:`Outcome`, :func:`finish` and :func:`run`.

A command is a plain Typer function registered with :func:`semdag.cli.options.command`, which
adds the shared options it takes; the function makes its :class:`Session` with
:func:`semdag.cli.options.session_of` and hands its body to :func:`finish`. :func:`run` is the
one place that maps a body's outcome or error to output and an exit code.
"""

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
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


def tuning_of(ctx: Any) -> Tuning:
    """The tuning :func:`semdag.cli.main` was given (serial when a command is invoked
    another way, as Typer's test runner does)."""
    given = ctx.find_root().obj
    return given if isinstance(given, Tuning) else SERIAL


def finish(session: Session, body: Callable[[], Outcome]) -> NoReturn:
    """Run the command's body (see :func:`run`) and leave with its exit code."""
    raise typer.Exit(run(session, body))


def fail_usage(command_name: str, message: str, fmt: str) -> NoReturn:
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
