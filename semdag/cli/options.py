"""The options commands share, each declared once, and :func:`command`, which adds to a
command the shared ones it takes.

A command is a plain Typer function that declares only its own options. ``@command("ls",
options=BUILD_OPTIONS, formats=TEXT_JSON)`` registers it with the shared options it takes
(:class:`Shared`) and its output forms (:class:`Formats`, for ``-f/--format``), listed after
its own in the "Shared options" panel of its help; the function gets them as a
:class:`Session` from :func:`session_of`.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Flag, auto
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
from typer.main import get_params_convertors_ctx_param_name_from_function

from semdag.app.session import Session
from semdag.cli.common import app, fail_usage, help_text, tuning_of

# Options that several commands take, each as its own.
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


class Shared(Flag):
    """The shared options a command takes (``Shared.PROFILE | Shared.DEBUG``): :func:`command`
    adds them after the command's own options, in this order, and ``-f/--format`` last."""

    PROFILE = auto()
    CONFIG = auto()
    SET = auto()
    PROJECT_DIR = auto()
    DEBUG = auto()
    NO_BUILD_CACHE = auto()


# init reads a project but no profile file; the commands that run nodes read a profile (their
# cache is Hamilton's, `--cache/--no-cache`); the others may answer from the build cache.
PROJECT_OPTIONS = Shared.PROFILE | Shared.PROJECT_DIR | Shared.DEBUG
PROFILE_OPTIONS = PROJECT_OPTIONS | Shared.CONFIG | Shared.SET
BUILD_OPTIONS = PROFILE_OPTIONS | Shared.NO_BUILD_CACHE


@dataclass(frozen=True)
class _Declared:
    """One shared option: the parameter name :func:`session_of` reads it under, its type with
    its Typer declaration, and its default."""

    name: str
    annotation: Any
    default: Any


# The shared options, declared once.
_DECLARED = {
    Shared.PROFILE: _Declared(
        "profile",
        Annotated[
            str | None,
            typer.Option(
                "-p",
                "--profile",
                metavar="NAME",
                help="Profile name: reads configs/NAME.yaml.",
                rich_help_panel=SHARED_PANEL,
            ),
        ],
        None,
    ),
    Shared.CONFIG: _Declared(
        "config_file",
        Annotated[
            Path | None,
            typer.Option(
                "--config",
                metavar="FILE",
                help="A profile YAML file to use instead of a profile.",
                rich_help_panel=SHARED_PANEL,
            ),
        ],
        None,
    ),
    Shared.SET: _Declared(
        "sets",
        Annotated[
            list[str] | None,
            typer.Option(
                "--set",
                metavar="KEY=VALUE",
                help="Override a profile key: dotted.key=VALUE (YAML). Repeatable.",
                rich_help_panel=SHARED_PANEL,
            ),
        ],
        None,
    ),
    Shared.PROJECT_DIR: _Declared(
        "project_dir",
        Annotated[
            Path | None,
            typer.Option(
                "--project-dir",
                metavar="DIR",
                help="The project root (default: discovered).",
                rich_help_panel=SHARED_PANEL,
            ),
        ],
        None,
    ),
    Shared.DEBUG: _Declared(
        "debug",
        Annotated[
            bool,
            typer.Option(
                "--debug",
                help="Show full tracebacks and the libraries' own logs.",
                rich_help_panel=SHARED_PANEL,
            ),
        ],
        False,
    ),
    # semdag's own cache of build results, not Hamilton's result cache (`execute --cache`):
    # `--no-cache` is the older name, kept.
    Shared.NO_BUILD_CACHE: _Declared(
        "no_build_cache",
        Annotated[
            bool,
            typer.Option(
                "--no-build-cache",
                "--no-cache",
                help="Build afresh: bypass the build cache and code-hash memo in .semdag/ (not "
                "Hamilton's result cache, the profile's cache:).",
                rich_help_panel=SHARED_PANEL,
            ),
        ],
        False,
    ),
}


@dataclass(frozen=True)
class Formats:
    """A command's output forms, which its ``-f/--format`` chooses from. Without ``-f`` the
    first is used; ``defaults_to_first=False`` leaves the option without a default for the
    command to decide (render goes by the suffix of ``-o``)."""

    names: tuple[str, ...]
    help: str | None = None
    defaults_to_first: bool = True

    def declared(self) -> _Declared:
        """``-f/--format``, declared for these forms."""
        default = self.names[0] if self.defaults_to_first else None
        option = typer.Option(
            "-f",
            "--format",
            metavar="FORMAT",
            help=self.help or f"Output format: {'|'.join(self.names)}.",
            rich_help_panel=SHARED_PANEL,
        )
        kind = str if default is not None else str | None
        return _Declared("fmt", Annotated[kind, option], default)


TEXT_JSON = Formats(("text", "json"))


@dataclass(frozen=True)
class _Shape:
    """What :func:`command` says of a command beyond its function."""

    path: str  # as messages and JSON name it: `snapshot check`
    options: Shared
    formats: Formats | None
    runs_nodes: bool

    def declared(self) -> list[_Declared]:
        """The shared options the command takes, in the order its --help lists them."""
        listed = [_DECLARED[option] for option in self.options]
        return [*listed, self.formats.declared()] if self.formats else listed


def _click_params(declared: list[_Declared]) -> list[Any]:
    """The click parameters Typer makes of ``declared``, as it makes a function's own."""

    def options() -> None:
        """Only a signature: Typer reads the parameters from it."""

    parameters = [
        inspect.Parameter(
            d.name, inspect.Parameter.KEYWORD_ONLY, default=d.default, annotation=d.annotation
        )
        for d in declared
    ]
    options.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    params, _, _ = get_params_convertors_ctx_param_name_from_function(options)
    return list(params)


# Where a command keeps the shared options it was given, for `session_of`.
_GIVEN = "semdag.shared_options"


class _Command(typer.core.TyperCommand):
    """A command that takes the shared options its :class:`_Shape` names after its own, and
    whose usage line reads ``semdag show [OPTIONS] NODE``, not ``{NODE}``.

    Typer builds the function's own parameters; the shared ones are built here by Typer from
    their one declaration, and leave ``ctx.params`` before the function is called, so it
    takes only its own and asks :func:`session_of` for the rest."""

    shape: ClassVar[_Shape]

    def __init__(self, *args: Any, params: list[Any] | None = None, **kwargs: Any) -> None:
        own = list(params or ())
        added = _click_params(self.shape.declared())
        twice = {p.name for p in own} & {p.name for p in added}
        if twice:
            raise TypeError(f"{self.shape.path}: shared options declared again: {sorted(twice)}")
        super().__init__(*args, params=[*own, *added], **kwargs)
        self.shared_names = [str(p.name) for p in added]

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p[:1] == "{" and p[-1:] == "}" else p for p in pieces]

    def invoke(self, ctx: Any) -> Any:
        ctx.meta[_GIVEN] = {name: ctx.params.pop(name, None) for name in self.shared_names}
        if self.shape.runs_nodes:
            # The project's open files and finalizers need a normal interpreter exit.
            tuning_of(ctx).ran_project_code()
        else:
            tuning_of(ctx).imports_only()
        return super().invoke(ctx)


def command(
    name: str,
    *,
    options: Shared,
    formats: Formats | None = None,
    target: typer.Typer | None = None,
    help: str | None = None,
    runs_nodes: bool = False,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn`` as the command ``name`` of ``target`` (default: the app), taking the
    shared ``options`` and, with ``formats``, ``-f/--format``.

    ``fn`` is a plain Typer function that declares only its own options; it makes its
    :class:`Session` with :func:`session_of` and hands its body to :func:`finish`.
    ``runs_nodes``: the command executes the project's node functions.
    """
    path = name
    if target is not None:
        group = target.info.name
        if not isinstance(group, str):
            raise ValueError(f"{name}: its command group has no name")
        path = f"{group} {name}"

    class Registered(_Command):
        shape = _Shape(path=path, options=options, formats=formats, runs_nodes=runs_nodes)

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        text = help_text(help or fn.__doc__ or "")
        (target or app).command(name, cls=Registered, help=text)(fn)
        return fn

    return decorate


def _given(ctx: typer.Context) -> tuple[_Shape, dict[str, Any]]:
    command = ctx.command
    if not isinstance(command, _Command) or _GIVEN not in ctx.meta:
        raise TypeError(f"{ctx.info_name}: not a command registered with command()")
    return command.shape, ctx.meta[_GIVEN]


def given_format(ctx: typer.Context) -> str | None:
    """The ``-f/--format`` on the command line, None when none was given."""
    return _given(ctx)[1].get("fmt")


def session_of(ctx: typer.Context) -> Session:
    """The :class:`Session` of the running command, from the shared options it was given
    (those it does not take keep their defaults). A format outside its :class:`Formats` is a
    usage error (exit 2); no format means the first."""
    shape, given = _given(ctx)  # as click parsed them: paths are still text

    def path(key: str) -> Path | None:
        value = given.get(key)
        return Path(value) if value is not None else None

    chosen = "text"
    if shape.formats is not None:
        names = shape.formats.names
        chosen = given.get("fmt") or names[0]
        if chosen not in names:
            choices = ", ".join(names)
            fail_usage(shape.path, f"unknown format {chosen!r} (choose from {choices})", chosen)
    return Session(
        command=shape.path,
        profile_name=given.get("profile"),
        config_file=path("config_file"),
        sets=tuple(given.get("sets") or ()),
        project_dir=path("project_dir"),
        fmt=chosen,
        debug=bool(given.get("debug")),
        build_cache=not given.get("no_build_cache"),
        tuning=tuning_of(ctx),
    )
