"""Findings remembered for exactly one cached build and the files a comparison read.

A comparison's findings depend on the build (named by its digest: see
:mod:`semdag.store.buildcache`) and on what the comparison read besides it (its ``stamp``:
the baselines' bytes, the date). :func:`remembered` answers from the local cache when both
are the same, and otherwise computes the findings and remembers them; a build that is not
cached (no digest) is never remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from semdag.core.rules import Finding

if TYPE_CHECKING:
    from semdag.config.project import Project


def remembered(
    project: Project,
    name: str,
    stamp: Mapping[str, Any] | None,
    compute: Callable[[], list[Finding]],
    *,
    cached_build: Callable[[], str | None],
    current_build: Callable[[], str | None],
) -> list[Finding]:
    """``compute()``, or what it returned for the same build and ``stamp`` (None: do not
    remember). ``cached_build`` names the cached build that would answer now, without
    building (see :func:`semdag.store.buildcache.lookup_digest`); ``current_build``, asked
    after ``compute``, the build it compared (None when that build is not cached)."""
    from semdag.store import buildcache

    if stamp is None:
        return compute()
    digest = cached_build()
    stored = buildcache.load_verdict(project, digest, name) if digest else None
    if isinstance(stored, dict) and stored.get("stamp") == dict(stamp):
        try:
            return [buildcache.finding_from_dict(item) for item in stored["findings"]]
        except (KeyError, TypeError, ValueError):
            pass
    found = compute()
    value = {"stamp": dict(stamp), "findings": [buildcache.finding_to_dict(f) for f in found]}
    buildcache.store_verdict(project, current_build(), name, value)
    return found
