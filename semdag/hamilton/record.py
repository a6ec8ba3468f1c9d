"""The record of what importing and building a stack read (:class:`Reads`), and whether any
of it is other now (:meth:`Reads.changed`): module files wherever they resolved from, data
files, folder listings, paths tested, environment variables. :mod:`semdag.hamilton.reads`
makes the record while the build runs.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Taken before any recording replaces os.stat or os.environ's class.
_REAL_STAT = os.stat
_REAL_ENVIRON_ITER = os._Environ.__iter__  # type: ignore[attr-defined]

# A file's kind as a stat of it tells.
_ABSENT = "absent"


@dataclass(frozen=True)
class Reads:
    """Everything a build read, as it was when it read it.

    Paths inside the project are project-relative, others absolute (the cache is local).
    """

    # Module files outside the standard library and installed packages: path -> sha256.
    modules: tuple[tuple[str, str | None], ...] = ()
    # Module files of installed packages: path -> (size, mtime_ns); a reinstall changes them.
    installed: tuple[tuple[str, tuple[int, int] | None], ...] = ()
    # Each imported top-level module name -> where the import system finds it now.
    resolution: tuple[tuple[str, str | None], ...] = ()
    # Files opened for reading: path -> sha256 (None: it did not exist).
    files: tuple[tuple[str, str | None], ...] = ()
    # Folders listed: path -> sha256 of the sorted names (None: it did not exist).
    listings: tuple[tuple[str, str | None], ...] = ()
    # Paths only tested (exists, is_file, stat): path -> kind ("file", "dir", "absent", ...).
    probes: tuple[tuple[str, str], ...] = ()
    # Environment variables read: name -> value (None: unset).
    env: tuple[tuple[str, str | None], ...] = ()
    # sha256 of every variable's name as the build was given them, when its code walked
    # the whole environment (what code sets meanwhile is its own doing, not an input).
    env_names: str | None = None
    # Why the build cannot be cached (something no record covers), or None.
    uncacheable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form (see :meth:`from_dict`)."""
        return {
            "modules": dict(self.modules),
            "installed": {k: list(v) if v else None for k, v in self.installed},
            "resolution": dict(self.resolution),
            "files": dict(self.files),
            "listings": dict(self.listings),
            "probes": dict(self.probes),
            "env": dict(self.env),
            "env_names": self.env_names,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Reads:
        return cls(
            modules=tuple(raw["modules"].items()),
            installed=tuple((k, tuple(v) if v else None) for k, v in raw["installed"].items()),
            resolution=tuple(raw["resolution"].items()),
            files=tuple(raw["files"].items()),
            listings=tuple(raw["listings"].items()),
            probes=tuple(raw["probes"].items()),
            env=tuple(raw["env"].items()),
            env_names=raw["env_names"],
        )

    def joined(self, later: Reads) -> Reads:
        """What this build and a ``later`` one that redid part of it read together, each
        thing as the later one found it (a file neither reads again stays in the record: a
        record that holds too much only misses more often)."""

        def join(mine: tuple[tuple[str, Any], ...], theirs: tuple[tuple[str, Any], ...]) -> Any:
            return tuple(sorted({**dict(mine), **dict(theirs)}.items()))

        return Reads(
            modules=join(self.modules, later.modules),
            installed=join(self.installed, later.installed),
            resolution=join(self.resolution, later.resolution),
            files=join(self.files, later.files),
            listings=join(self.listings, later.listings),
            probes=join(self.probes, later.probes),
            env=join(self.env, later.env),
            env_names=later.env_names or self.env_names,
            uncacheable=later.uncacheable or self.uncacheable,
        )

    def changed(self, root: Path) -> str | None:
        """What differs now from what the build read (``file modules/x.py``), or None when
        everything is as it was. ``root`` is the project root (relative paths)."""
        for kind, name in self.changes(root):
            return f"{kind} {name}" if name else kind
        return None

    def changes(self, root: Path) -> Iterator[tuple[str, str]]:
        """Each thing that differs now from what the build read, as (kind, name): ``("module
        file", "modules/x.py")``, ``("environment variable", "HOME")``; the set of variable
        names has no name (``""``). ``root`` is the project root (relative paths)."""
        hashed: dict[str, str | None] = {}  # a module's file is often a file read too

        def sha(name: str) -> str | None:
            if name not in hashed:
                hashed[name] = file_sha(absolute_path(root, name))
            return hashed[name]

        for name, digest in self.modules:
            if sha(name) != digest:
                yield "module file", name
        for name, recorded in self.installed:
            if signature(name) != recorded:
                yield "installed file", name
        for name, digest in self.files:
            if sha(name) != digest:
                yield "file", name
        for name, digest in self.listings:
            if listing_sha(absolute_path(root, name)) != digest:
                yield "folder", name
        for name, kind in self.probes:
            if path_kind(absolute_path(root, name)) != kind:
                yield "path", name
        for name, value in self.env:
            if os.environ.get(name) != value:
                yield "environment variable", name
        if self.env_names is not None and env_names_sha() != self.env_names:
            yield "the set of environment variables", ""
        if self.resolution:
            where = resolver(root)
            for name, origin in self.resolution:
                if where(name) != origin:
                    yield "where module", f"{name} is found"


def file_sha(path: Path | str) -> str | None:
    """sha256 of a file's bytes; None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def listing_sha(path: Path | str) -> str | None:
    """sha256 of a folder's sorted entry names; None when it cannot be listed."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()


def path_kind(path: Path | str) -> str:
    """``file``, ``dir``, ``other`` or ``absent``, as a stat that follows links tells."""
    try:
        mode = _REAL_STAT(path).st_mode
    except (OSError, ValueError):
        return _ABSENT
    if stat.S_ISREG(mode):
        return "file"
    return "dir" if stat.S_ISDIR(mode) else "other"


def absolute_path(root: Path, name: str) -> str:
    return name if os.path.isabs(name) else os.path.join(root, name)


def signature(path: str) -> tuple[int, int] | None:
    try:
        found = _REAL_STAT(path)
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns)


def env_names_sha() -> str:
    names = sorted(_REAL_ENVIRON_ITER(os.environ))
    return hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()


def resolver(root: Path) -> Any:
    """Where the import system, searching as a build does (the project root first, then
    ``sys.path``), finds a top-level module: its file or its package's folders, relative to
    the project root inside it (a copied project finds its modules in the same places)."""
    from importlib.machinery import PathFinder

    top = str(root)
    inside = os.path.realpath(root).rstrip(os.sep) + os.sep
    search = [top, *(top if p in ("", ".") else p for p in sys.path if p != top)]

    def shown(path: str) -> str:
        real = os.path.realpath(path)
        return Path(real[len(inside) :]).as_posix() if real.startswith(inside) else real

    def where(name: str) -> str | None:
        if name in sys.builtin_module_names:
            return "built-in"
        try:
            spec = PathFinder.find_spec(name, search)
        except (ImportError, ValueError, OSError):
            return None
        if spec is None:
            return None
        if spec.origin and spec.has_location:
            return shown(spec.origin)
        return "|".join(sorted(shown(p) for p in spec.submodule_search_locations or ()))

    return where
