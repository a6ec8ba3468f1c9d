"""The command-line interface: a thin Typer layer over semdag's use cases.

:mod:`semdag.cli.common` holds what every command shares; each command group is a module in
:data:`COMMAND_MODULES` that registers its commands on the app when imported. :func:`main`
runs a command line and returns its exit code; :func:`entry` is the executable.
"""

import importlib
import sys
import traceback
from collections.abc import Sequence

import typer

from semdag.cli import console
from semdag.cli.common import app, reader_gone
from semdag.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, UsageError
from semdag.core.tuning import SERIAL, Tuning

# Command groups; each module registers its commands on `app` (or a sub-app) at import.
COMMAND_MODULES = (
    "semdag.cli.graph_cmds",
    "semdag.cli.gate_cmds",
    "semdag.cli.export_cmds",
    "semdag.cli.run_cmds",
    "semdag.cli.verify_cmds",
    "semdag.cli.project_cmds",
    "semdag.cli.render_cmds",
    "semdag.cli.review_cmds",
)


def _load_commands() -> None:
    for module in COMMAND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: Sequence[str] | None = None, *, tuning: Tuning = SERIAL) -> int:
    """Run a command line; returns the exit code. Commands use the machine as ``tuning``
    allows (see :mod:`semdag.core.tuning`)."""
    console.reset()
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        code = app(args=args, prog_name="semdag", standalone_mode=False, obj=tuning)
        return code if isinstance(code, int) else 0
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except KeyboardInterrupt:
        console.err().print("semdag: interrupted", markup=False)
        return EXIT_INTERRUPTED
    except SystemExit as done:
        return int(done.code or 0) if isinstance(done.code, int) else 1
    except BrokenPipeError:
        return reader_gone()
    except Exception as exc:  # parsing errors and anything else outside a command body
        if _is_click(exc, "Abort"):
            console.err().print("semdag: interrupted", markup=False)
            return EXIT_INTERRUPTED
        if _is_click(exc, "ClickException"):
            return _report_usage(exc, args)
        if "--debug" in args:
            traceback.print_exc(file=sys.stderr)
        console.err().print(f"semdag: internal error: {type(exc).__name__}: {exc}", markup=False)
        return EXIT_INTERNAL


def entry() -> None:
    """The ``semdag`` executable: :func:`main` in a process tuned for one command (other
    processes, the collector, the fast exit: :mod:`semdag.perf`). Without that package this
    is ``sys.exit(main())``."""
    from semdag.perf import run_command_line

    run_command_line(main)


def _is_click(exc: BaseException, name: str) -> bool:
    # Click's exceptions, or the copies Typer vendors (typer._click): match by class name.
    return any(
        cls.__name__ == name and ("click" in cls.__module__ or "typer" in cls.__module__)
        for cls in type(exc).__mro__
    )


def _report_usage(exc: Exception, args: Sequence[str]) -> int:
    """A command line that does not parse: exit 2; one JSON document when JSON was asked for."""
    ctx = getattr(exc, "ctx", None)
    path = str(getattr(ctx, "command_path", "") or "semdag").split()
    command_name = " ".join(path[1:]) or _command_words(args)
    message = str(exc.format_message()) if hasattr(exc, "format_message") else str(exc)
    if _wants_json(args):
        console.envelope(
            command_name,
            False,
            None,
            [{"code": "usage_error", "message": message, "file": None, "line": None}],
        )
    elif hasattr(exc, "show"):
        exc.show(file=sys.stderr)
    else:
        console.err().print(f"semdag: error: {message}", markup=False)
    return UsageError.exit_code


def _command_words(args: Sequence[str]) -> str:
    """The command named on the command line (``snapshot check``), for error envelopes."""
    groups = {group.name for group in app.registered_groups}
    words: list[str] = []
    for arg in args:
        if arg.startswith("-") or len(words) == (2 if words and words[0] in groups else 1):
            break
        words.append(arg)
    return " ".join(words) or "semdag"


def _wants_json(args: Sequence[str]) -> bool:
    for index, arg in enumerate(args):
        if arg in ("--format=json", "-fjson"):
            return True
        if arg in ("-f", "--format") and args[index + 1 : index + 2] == ["json"]:
            return True
    return False


_load_commands()
