"""The versions semdag's recorded hashes depend on, read without importing Hamilton."""

from __future__ import annotations

import sys

# The version of semdag's name-blind hash (semdag.sourceinfo._logic_hash): raise it whenever
# that function changes, so that hashes recorded before are not reused.
LOGIC_HASH_VERSION = 1


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
    """What the code hashes depend on besides the source text: ``ast.unparse`` (so the
    Python version), Hamilton's hashing, and semdag's name-blind hash. Hashes recorded under
    another context are never reused (see :mod:`semdag.hashmemo`)."""
    return {
        "hamilton": hamilton_version(),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "semdag_logic_hash": str(LOGIC_HASH_VERSION),
    }
