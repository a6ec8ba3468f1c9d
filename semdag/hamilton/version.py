"""The installed Hamilton's version, read from its distribution without importing Hamilton, and
the range of versions semdag's patches of Hamilton internals are tested against."""

from __future__ import annotations

import re

# Distributions Hamilton is published as, newest name first.
DISTRIBUTIONS = ("apache-hamilton", "sf-hamilton")
# Versions whose internals semdag patches (see semdag.hamilton.stack.reusing_resolved_nodes):
# from the lowest supported release up to, not including, the next major release.
PATCH_TESTED = ((1, 90), (2, 0))


def hamilton_version() -> str:
    """The installed Hamilton distribution and version, ``apache-hamilton==1.90.0``."""
    from importlib import metadata

    for name in DISTRIBUTIONS:
        try:
            return f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def release(version: str) -> tuple[int, int] | None:
    """(major, minor) of ``name==1.90.0`` or ``1.90.0``, or None when it does not read so."""
    found = re.match(r"^(?:[\w.-]+==)?(\d+)\.(\d+)", version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def patch_tested(version: str | None = None) -> bool:
    """Whether Hamilton ``version`` (the installed one by default) is in :data:`PATCH_TESTED`."""
    found = release(hamilton_version() if version is None else version)
    low, high = PATCH_TESTED
    return found is not None and low <= found < high
