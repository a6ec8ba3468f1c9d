"""The command-line interface: a thin Typer layer over semdag's use cases.

:mod:`semdag.cli.common` holds what every command shares; each command group is a module in
:data:`COMMAND_MODULES` that registers its commands on the app when imported. :func:`main`
runs a command line and returns its exit code; :func:`entry` is the executable.
"""

import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer

from semdag.cli import console
from semdag.cli.common import EXIT_POLICY, app, reader_gone
from semdag.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, UsageError

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


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    from semdag.perf.gctools import short_lived_process

    console.reset()
    short_lived_process()
    args = list(argv) if argv is not None else sys.argv[1:]
    if not args or "-h" in args or "--help" in args:
        _load_rich_help()
    try:
        code = app(args=args, prog_name="semdag", standalone_mode=False)
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


# What Typer's rich help formatter imports but this CLI never uses: markdown help (it uses
# rich markup) and pretty tracebacks (they are off). Half the time `semdag --help` takes.
_UNUSED_BY_HELP = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def _load_rich_help() -> None:
    """Import Typer's rich help formatter with stand-ins for :data:`_UNUSED_BY_HELP`, each of
    which imports the real class if it is ever called. The stand-ins are in ``sys.modules``
    only while the formatter imports, so later imports get the real modules; should the
    formatter refuse them, Typer imports everything itself as usual."""
    if "typer.rich_utils" in sys.modules or any(m in sys.modules for m in _UNUSED_BY_HELP):
        return
    stand_ins = {module: _stand_in(module, name) for module, name in _UNUSED_BY_HELP.items()}
    sys.modules.update(stand_ins)
    try:
        importlib.import_module("typer.rich_utils")
    except Exception:
        sys.modules.pop("typer.rich_utils", None)
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


def _stand_in(module: str, name: str) -> Any:
    """A module whose class ``name`` makes instances of the real ``module.name``."""
    import types

    def create(cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    stand_in = types.ModuleType(module)
    setattr(stand_in, name, type(name, (), {"__new__": create}))
    return stand_in


def entry() -> None:
    """The ``semdag`` executable: :func:`main`, then leave without tearing the heap down
    unless the command ran node functions (see :func:`semdag.perf.fastexit.leave`)."""
    from semdag.perf.fastexit import leave

    leave(main(), fast=EXIT_POLICY.fast)


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
