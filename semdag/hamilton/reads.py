"""What importing and building a stack read, recorded while it happens.

A build's answer depends on whatever its modules' code looked at: the module files (found
wherever the import system resolved them), the data files they opened or tested for, the
folders they listed, the environment variables they read. :func:`recording` sees these as
they happen, through Python's audit hooks (``open``, ``os.listdir``, ``os.scandir``), a
recording view of ``os.environ`` and a recording ``os.stat``, and :class:`Reads` holds the
result: the build cache answers only while every one of them is as it was
(:meth:`Reads.changed`).

What no record can cover (a subprocess, a socket, a fork) makes the build uncacheable, and
:attr:`Reads.uncacheable` says who did it.

The audit hook and the wrappers are installed once per process (a hook cannot be removed)
and record only inside :func:`recording`; elsewhere they forward at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from semdag.hamilton.record import (
    _REAL_STAT,
    Reads,
    env_names_sha,
    file_sha,
    listing_sha,
    path_kind,
    resolver,
    signature,
)

# Audit events of work whose outcome no record of files and variables can cover.
_UNCOVERABLE = {
    "subprocess.Popen": "started a subprocess",
    "os.system": "started a subprocess",
    "os.exec": "started a program",
    "os.posix_spawn": "started a subprocess",
    "os.spawn": "started a subprocess",
    "os.fork": "forked",
    "os.forkpty": "forked",
    "socket.connect": "opened a socket",
    "socket.bind": "opened a socket",
    "socket.sendto": "opened a socket",
    "socket.getaddrinfo": "looked up a host name",
    "urllib.Request": "opened a URL",
    "http.client.connect": "opened a connection",
    "sqlite3.connect": "opened a database",
}

# Who lists folders to find modules and distributions, not to read a project's files.
_FINDING_MODULES = (
    "importlib._bootstrap",
    "importlib.metadata",
    "importlib_metadata",
    "pkgutil",
    "zipimport",
)

# --- recording -------------------------------------------------------------------------


@dataclass
class _Recorder:
    """Paths and names seen while recording (absolute paths)."""

    root: Path
    # Who is at work and doing what, to say who did what no record covers.
    subject: str = "the build"
    activity: str = "building the graph"
    files: set[str] = field(default_factory=set)
    listings: set[str] = field(default_factory=set)
    probes: set[str] = field(default_factory=set)
    env: dict[str, str | None] = field(default_factory=dict)
    env_walked: bool = False
    env_names: str = ""  # see Reads.env_names
    # Variables the build set itself (polars sets one at import): what it read of them first
    # was the outside's, but a later build in this process no longer reads them.
    written: set[str] = field(default_factory=set)
    # The frame that last walked the whole environment (see _RecordingEnviron).
    walker: FrameType | None = None
    uncacheable: str | None = None
    ignored: tuple[str, ...] = ()
    # The modules imported before the recording began (the host's own, not the build's).
    before: frozenset[str] = frozenset()


# The recorder in force, if any: audit hooks are process-wide, so the one hook reads this.
_active: _Recorder | None = None
_installed = False
# Top-level user modules imported by earlier recordings in this process (see forget_user).
_user_modules: set[str] = set()


# The operating system's pseudo-filesystems: their files describe the running process and
# machine (libraries such as dask and psutil read them at import), never the project.
SYSTEM_STATE = ("/proc", "/sys", "/dev")


def _ignored_prefixes() -> tuple[str, ...]:
    """Folders whose files are not the project's inputs: the interpreter's and installed
    packages' (their module files are recorded by stat instead), semdag's own source (its
    hash is part of the cache key), and :data:`SYSTEM_STATE`."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    prefixes.add(str(Path(__file__).resolve().parents[1]))
    if os.name == "posix":
        prefixes.update(SYSTEM_STATE)
    return tuple(sorted({os.path.realpath(p).rstrip(os.sep) + os.sep for p in prefixes}))


def _path_of(raw: Any) -> str | None:
    if raw is None or isinstance(raw, int):
        return None
    try:
        path = os.fsdecode(raw)
    except TypeError:
        return None
    return os.path.abspath(path)


def _wanted(recorder: _Recorder, path: str) -> bool:
    if path.endswith((".pyc", ".pyo")) or f"{os.sep}__pycache__{os.sep}" in path:
        return False
    if "site-packages" in path or "dist-packages" in path:
        return False
    return not path.startswith(recorder.ignored)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recorder = _active
    if recorder is None:
        return
    if event == "open":
        path = _path_of(args[0])
        if path is None:
            return
        mode, flags = args[1], args[2]
        reading = (
            ("r" in mode or "+" in mode)
            if isinstance(mode, str)
            else (flags & os.O_ACCMODE) != os.O_WRONLY
        )
        if reading and _wanted(recorder, path):
            recorder.files.add(path)
    elif event in ("os.listdir", "os.scandir"):
        module = str(sys._getframe(1).f_globals.get("__name__", ""))
        if module.startswith(_FINDING_MODULES):
            return  # looking for modules or distributions: resolution is recorded apart
        path = _path_of(args[0] if args[0] is not None else ".")
        if path is not None and _wanted(recorder, path):
            recorder.listings.add(path)
    elif event in _UNCOVERABLE and recorder.uncacheable is None:
        what = _UNCOVERABLE[event]
        recorder.uncacheable = f"{recorder.subject} {what} while {recorder.activity}"


def _recording_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
    recorder = _active
    if recorder is not None:
        shown = _path_of(path)
        if shown is not None and _wanted(recorder, shown):
            recorder.probes.add(shown)
    return _REAL_STAT(path, *args, **kwargs)


class _RecordingEnviron(os._Environ):  # type: ignore[name-defined,misc]
    """``os.environ`` while recording: each variable read is noted with its value.

    Project code walking the whole environment (``dict(os.environ)``, ``for k in
    os.environ``) has the variables' names noted, and each value it reads. When an installed
    library or the standard library walks it (fsspec copies it at import to pick out its own
    variables), neither is: every shell sets some variables of its own (``PWD``, ``_``), and
    keyed on them the cache would never answer; what a library reads by name is noted.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> str:
        recorder = _active
        try:
            value: str = super().__getitem__(key)
        except KeyError:
            if recorder is not None and isinstance(key, str):
                recorder.env.setdefault(key, None)
            raise
        if recorder is not None and isinstance(key, str) and key not in recorder.env:
            caller = _caller()
            if caller is None or caller is not recorder.walker or not _library(recorder, caller):
                recorder.env[key] = value
        return value

    def __setitem__(self, key: str, value: str) -> None:
        if _active is not None:
            _active.written.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if _active is not None:
            _active.written.add(key)
        super().__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        recorder = _active
        if recorder is not None:
            recorder.walker = caller = _caller()
            if caller is None or not _library(recorder, caller):
                recorder.env_walked = True
        return super().__iter__()  # type: ignore[no-any-return]


# Files whose frames stand between a caller and the environment mapping.
_PASSING_FILES = {os.__file__, __file__, "<frozen os>", "<frozen _collections_abc>"}


def _caller() -> FrameType | None:
    """The first frame outside ``os``, ``collections.abc`` and this module."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename in _PASSING_FILES
        or frame.f_globals.get("__name__") in ("_collections_abc", "collections.abc", "os")
    ):
        frame = frame.f_back
    return frame


def _library(recorder: _Recorder, frame: FrameType) -> bool:
    """Whether ``frame`` runs code of an installed package or the standard library."""
    file = frame.f_code.co_filename
    return not _wanted(recorder, os.path.abspath(file)) or file.startswith("<frozen")


def _install() -> None:
    global _installed
    if _installed:
        return
    sys.addaudithook(_audit)
    _installed = True


@contextlib.contextmanager
def recording(root: Path) -> Iterator[_Recorder]:
    """Record what the block reads (see the module's docstring); then :func:`reads_of` makes
    the record. Recordings do not nest: an inner one records nothing of its own."""
    global _active
    if _active is not None:
        yield _active
        return
    _install()
    before = frozenset(sys.modules)
    recorder = _Recorder(
        Path(root), ignored=_ignored_prefixes(), before=before, env_names=env_names_sha()
    )
    environ = os.environ
    environ_class = type(environ)
    _active = recorder
    os.stat = _recording_stat
    if environ_class is os._Environ:  # type: ignore[attr-defined]
        environ.__class__ = _RecordingEnviron
    try:
        yield recorder
    finally:
        _active = None
        # A frame keeps its callers' frames, and with them the build it ran in.
        recorder.walker = None
        os.stat = _REAL_STAT
        if type(environ) is _RecordingEnviron:
            environ.__class__ = environ_class  # type: ignore[assignment]
        _user_modules.update(
            name for name in set(sys.modules) - before if _is_user_module(recorder, name)
        )


@contextlib.contextmanager
def attributing(subject: str, activity: str) -> Iterator[None]:
    """Within the block, what the recording sees is done by ``subject`` (a module name)
    while ``activity`` (``importing``)."""
    recorder = _active
    if recorder is None:
        yield
        return
    previous = recorder.subject, recorder.activity
    recorder.subject, recorder.activity = subject, activity
    try:
        yield
    finally:
        recorder.subject, recorder.activity = previous


def forget_user_modules() -> None:
    """Drop the project's own modules (not installed, not the standard library) that earlier
    builds in this process imported, so that this build runs their code again and records
    what it reads: a helper imported once and kept would read nothing the next time."""
    for name in _user_modules:
        sys.modules.pop(name, None)
    _user_modules.clear()


def _is_user_module(recorder: _Recorder, name: str) -> bool:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    return _wanted(recorder, os.path.realpath(file))


def reads_of(recorder: _Recorder, relative: Any) -> Reads:
    """The record of what was read under ``recorder``, with every file hashed now.

    ``relative`` turns a path inside the project into its project-relative form.
    """
    root = os.path.realpath(recorder.root).rstrip(os.sep) + os.sep

    def shown(path: str) -> str:
        real = os.path.realpath(path)
        if real == root.rstrip(os.sep):
            return "."
        return relative(real) if real.startswith(root) else real

    modules, installed, resolution = _imported(recorder, shown)
    files = {shown(p): file_sha(p) for p in recorder.files}
    listings = {shown(p): listing_sha(p) for p in recorder.listings}
    probes = {shown(p): path_kind(p) for p in recorder.probes - recorder.files}
    return Reads(
        modules=tuple(sorted(modules.items())),
        installed=tuple(sorted(installed.items())),
        resolution=tuple(sorted(resolution.items())),
        files=tuple(sorted(files.items())),
        listings=tuple(sorted(listings.items())),
        probes=tuple(sorted(probes.items())),
        env=tuple(sorted((k, v) for k, v in recorder.env.items() if k not in recorder.written)),
        env_names=recorder.env_names if recorder.env_walked else None,
        uncacheable=recorder.uncacheable,
    )


def _imported(
    recorder: _Recorder, shown: Any
) -> tuple[dict[str, str | None], dict[str, tuple[int, int] | None], dict[str, str | None]]:
    """Every imported module's file: by content outside the standard library and installed
    packages, by size and modification time inside installed ones; and where each top-level
    module that the recording saw imported is found (modules the host process had imported
    before were not looked for by the build)."""
    stdlib = tuple(
        os.path.realpath(p).rstrip(os.sep) + os.sep
        for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
    )
    own = str(Path(__file__).resolve().parents[1]) + os.sep
    modules: dict[str, str | None] = {}
    installed: dict[str, tuple[int, int] | None] = {}
    tops: set[str] = set()
    folders: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not isinstance(file, str):
            continue
        if "." not in name and name not in recorder.before:
            tops.add(name)
        folder, base = os.path.split(os.path.abspath(file))
        real = folders.get(folder)
        if real is None:
            real = folders[folder] = os.path.realpath(folder)
        path = os.path.join(real, base)
        if path.startswith(own):
            continue
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            installed[path] = signature(path)
        elif not path.startswith(stdlib):
            modules[shown(path)] = file_sha(path)
    where = resolver(recorder.root)
    resolution = {name: where(name) for name in sorted(tops) if name != "__main__"}
    return modules, installed, resolution
