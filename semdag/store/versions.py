"""The versions semdag's local speed records depend on, read without importing Hamilton."""

from __future__ import annotations

import sys


def hamilton_version() -> str:
    """The installed Hamilton distribution and version."""
    from importlib import metadata

    for name in ("apache-hamilton", "sf-hamilton"):
        try:
            return f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def hash_context() -> dict[str, str]:
    """What recorded hashes depend on besides the source text: semdag's hash version, and
    for Hamilton's hash, the Python that unparses (``ast.unparse``) and Hamilton's version.
    The local hash memo is not reused under another context (see :mod:`semdag.store.hashmemo`)."""
    from semdag.core.codehash import HASH_VERSION

    return {
        "hamilton": hamilton_version(),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "semdag_code_hash": str(HASH_VERSION),
    }
