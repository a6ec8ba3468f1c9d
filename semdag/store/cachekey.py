"""Every key of semdag's local caches, derived in one place from one typed record of inputs.

:class:`CacheKey` holds what a build reads before it starts: the profile (the bytes of every
file in its ``extends`` chain, the environment variables it interpolated, ``--set`` values)
and :class:`Versions` (Python, semdag and the bytes of its source, Hamilton, the code hash
scheme). From it come the build cache's key (:meth:`CacheKey.build_key`) and the hash memo's
context (:meth:`Versions.memo_context`). What the build read while it ran (modules wherever
they resolved from, files, folders, environment variables) is only known after it ran:
:class:`semdag.hamilton.record.Reads` records it, stored beside the key.
A remembered verdict is keyed by the digest of both and by :func:`check_stamp`, what a check
reads besides the build.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.store.artifacts import file_sha

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project

# The build cache's key layout; raising it invalidates every entry.
FORMAT = 4


@dataclass(frozen=True)
class Versions:
    """The software a cached result depends on."""

    python: str  # sys.version: the interpreter, its build included
    semdag: str
    semdag_source: str  # sha256 of semdag's own source files (a development checkout changes)
    hamilton: str  # distribution==version
    code_hash: str  # semdag's code hash scheme (semdag.core.codehash.HASH_VERSION)

    @classmethod
    def current(cls) -> Versions:
        from semdag import __version__
        from semdag.core.codehash import HASH_VERSION
        from semdag.hamilton.version import hamilton_version

        return cls(
            python=sys.version,
            semdag=__version__,
            semdag_source=semdag_source_hash(),
            hamilton=hamilton_version(),
            code_hash=str(HASH_VERSION),
        )

    @property
    def python_release(self) -> str:
        """``3.12``: what ``ast.unparse`` (and so Hamilton's hash) depends on."""
        return ".".join(self.python.split()[0].split(".")[:2])

    def memo_context(self) -> dict[str, str]:
        """What recorded code hashes depend on besides the source text: the hash memo is not
        reused under another context (see :mod:`semdag.store.hashmemo`)."""
        return {
            "hamilton": self.hamilton,
            "python": self.python_release,
            "semdag_code_hash": self.code_hash,
        }


@dataclass(frozen=True)
class CacheKey:
    """What a build of one profile reads before it starts, and the versions it runs under."""

    profile: str
    profile_files: tuple[tuple[str, str | None], ...]  # (project-relative file, sha256)
    env: tuple[tuple[str, str | None], ...]  # interpolated variables and their values
    sets: tuple[str, ...]  # --set assignments, in order
    versions: Versions

    @classmethod
    def of(cls, project: Project, profile: Profile, versions: Versions | None = None) -> CacheKey:
        return cls(
            profile=profile.name,
            profile_files=tuple((f, file_sha(project.root / f)) for f in profile.files),
            env=tuple(dict(profile.env_used).items()),
            sets=tuple(profile.sets),
            versions=versions or Versions.current(),
        )

    def build_key(self) -> dict[str, Any]:
        """The build cache's key (see :mod:`semdag.store.buildcache`)."""
        return {
            "format": FORMAT,
            "profile": self.profile,
            "profile_files": dict(self.profile_files),
            "env": dict(self.env),
            "sets": list(self.sets),
            "python": self.versions.python,
            "semdag": self.versions.semdag,
            "semdag_source": self.versions.semdag_source,
            "hamilton": self.versions.hamilton,
            "code_hash": self.versions.code_hash,
        }


def memo_context() -> dict[str, str]:
    """The hash memo's context under the running software."""
    return Versions.current().memo_context()


def check_stamp(
    registry: Path, graph: Path, acknowledged: Path, today: str
) -> Mapping[str, str | None] | None:
    """Everything a check reads besides the build: the baselines' and acknowledgements'
    bytes, and ``today`` (acknowledgements expire). None when there is no baseline."""
    registry_sha = file_sha(registry)
    if registry_sha is None:
        return None
    return {
        "registry": registry_sha,
        "graph": file_sha(graph),
        "acknowledged": file_sha(acknowledged),
        "today": today,
    }


@functools.cache
def _source_hash(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def semdag_source_hash() -> str:
    """sha256 of semdag's own source: editing semdag must invalidate, not only a release."""
    return _source_hash(Path(__file__).resolve().parents[1])
