"""Baselines that merge: git's merge driver for ``snapshots/``, its set-up in a clone, and what
a baseline left with conflict markers had accepted on each side.

``.gitattributes`` routes the baselines to the driver (``merge=semdag``); each clone names
the command in its git config (``git config merge.semdag.driver "semdag merge-baselines %O
%A %B %P"``), which ``semdag init``, ``snapshot update`` and ``snapshot check`` do where it is
missing. The driver merges the JSON documents key by key (:func:`semdag.core.merge.merge3`),
so two branches that accept different entries merge cleanly whatever their ids; where both
changed the same entry differently, it falls back to git's own text merge and its conflict
markers, which every command that reads the baseline then reports as such.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.core.merge import MISSING, describe, merge3
from semdag.store.artifacts import atomic_write, canonical_json
from semdag.store.snapshot import GRAPH_FILE, REGISTRY_FILE, MergeConflict

if TYPE_CHECKING:
    from semdag.app.session import Session
    from semdag.config.project import Project
    from semdag.core.rules import Finding

DRIVER = "semdag"
ATTRIBUTES_FILE = ".gitattributes"
# The one-line set-up a clone needs (init, snapshot update and snapshot check run it).
SETUP_COMMAND = 'git config merge.semdag.driver "semdag merge-baselines %O %A %B %P"'
_ATTRIBUTES_COMMENT = (
    "# semdag merges its baselines entry by entry, so branches that accept different changes\n"
    "# merge without a conflict. Each clone names the driver once (semdag init, snapshot update\n"
    f"# and snapshot check do it where it is missing):\n#   {SETUP_COMMAND}\n"
)


def attribute_lines(snapshots_dir: str = "snapshots") -> list[str]:
    """The ``.gitattributes`` lines that route a project's baselines to the driver."""
    folder = snapshots_dir.strip("/") or "snapshots"
    return [f"{folder}/*/{name} merge={DRIVER}" for name in (REGISTRY_FILE, GRAPH_FILE)]


def merge_attributes(existing: str | None, snapshots_dir: str = "snapshots") -> str | None:
    """``existing`` (a ``.gitattributes``, or None) with the driver's lines added; None when it
    has them all already. Every line it has is kept."""
    have = {" ".join(line.split()) for line in (existing or "").splitlines()}
    missing = [line for line in attribute_lines(snapshots_dir) if line not in have]
    if not missing:
        return None
    body = (existing or "").rstrip("\n")
    lead = body + "\n\n" if body else ""
    comment = _ATTRIBUTES_COMMENT if "merge=semdag" not in (existing or "") else ""
    return lead + comment + "\n".join(missing) + "\n"


def declares_driver(root: Path) -> bool:
    """Whether the project's ``.gitattributes`` routes files to the driver."""
    try:
        return f"merge={DRIVER}" in (root / ATTRIBUTES_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def in_git_repository(root: Path) -> bool:
    done = _git(root, "rev-parse", "--is-inside-work-tree")
    return done is not None and done.returncode == 0 and done.stdout.strip() == "true"


def driver_command() -> str:
    """The command git runs for the driver: ``semdag`` when it is on PATH, else this
    interpreter's ``python -m semdag`` (a virtualenv that is not activated)."""
    args = "merge-baselines %O %A %B %P"
    if shutil.which("semdag"):
        return f"semdag {args}"
    return f"{shlex.quote(sys.executable)} -m semdag {args}"


def configure_driver(root: Path) -> str | None:
    """Name the driver in the git config of the clone holding ``root``, unless it is named
    already or ``root`` is not in a git work tree; returns the command it set, else None."""
    known = _git(root, "config", "--get", f"merge.{DRIVER}.driver")
    if known is None or (known.returncode == 0 and known.stdout.strip()):
        return None
    if not in_git_repository(root):
        return None
    command = driver_command()
    named = _git(root, "config", f"merge.{DRIVER}.name", "semdag baselines, merged entry by entry")
    done = _git(root, "config", f"merge.{DRIVER}.driver", command)
    if named is None or done is None or named.returncode or done.returncode:
        return None
    return command


@dataclass(frozen=True)
class Merged:
    """What the driver did with one file: merged cleanly, or left with conflict markers."""

    clean: bool
    message: str


def merge_files(base: Path, ours: Path, theirs: Path, shown: str) -> Merged:
    """Merge ``theirs`` into ``ours`` (written in place, as git expects of a driver) from
    ``base``. Clean: ``ours`` holds the canonical merged document. Otherwise ``ours`` holds
    git's text merge with conflict markers."""
    documents = [_read(path) for path in (base, ours, theirs)]
    if any(document is None for document in documents[1:]) or documents[0] is None:
        _text_merge(base, ours, theirs)
        return Merged(False, f"{shown}: not JSON on every side; merged as text")
    old, mine, other = documents
    merged, conflicts = merge3(old, mine, other)
    if not conflicts:
        atomic_write(ours, canonical_json(merged))
        return Merged(True, f"{shown}: merged entry by entry")
    _text_merge(base, ours, theirs)
    return Merged(
        False,
        f"{shown}: both sides changed {describe(conflicts)}; "
        "resolve the code, then run `semdag snapshot update`",
    )


def _read(path: Path) -> Any:
    """A side's document: MISSING for an empty file (no base: added on both sides), None when
    it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.strip():
        return MISSING
    try:
        return json.loads(text)
    except ValueError:
        return None


def _text_merge(base: Path, ours: Path, theirs: Path) -> None:
    """git's own line merge, with conflict markers, into ``ours``."""
    labels = ["-L", "ours", "-L", "base", "-L", "theirs"]
    subprocess.run(
        ["git", "merge-file", *labels, str(ours), str(base), str(theirs)],
        capture_output=True,
        check=False,
    )


# --- a baseline left with conflict markers --------------------------------------------------


def _registry_of(text: str | None, shown: str) -> Any:
    from semdag.core.errors import SemdagError
    from semdag.store.snapshot import registry_from_document

    if text is None:
        return None
    try:
        return registry_from_document(json.loads(text), shown)
    except (ValueError, SemdagError):
        return None


def _base_text(project: Project, conflict: MergeConflict) -> str | None:
    """The merge base's version of the conflicted file: from diff3 markers, else from the
    index of a merge in progress (stage 1)."""
    if conflict.sides.base is not None:
        return conflict.sides.base
    if conflict.file is None:
        return None
    done = _git(project.root, "show", f":1:./{conflict.file}")
    return done.stdout if done is not None and done.returncode == 0 else None


def side_changes(project: Project, conflict: MergeConflict) -> list[tuple[str, list[Finding]]]:
    """What each side of a conflicted ``registry.json`` had accepted: its changes from the
    merge base (when known), else from the other side. Empty when the sides cannot be read."""
    from semdag.core.diff import find_changes

    shown = conflict.file or REGISTRY_FILE
    if not shown.endswith(REGISTRY_FILE):
        return []
    sides = conflict.sides
    ours = _registry_of(sides.ours, shown)
    theirs = _registry_of(sides.theirs, shown)
    if ours is None or theirs is None:
        return []
    base = _registry_of(_base_text(project, conflict), shown)
    return [
        (sides.ours_label, find_changes(base or theirs, ours)),
        (sides.theirs_label, find_changes(base or ours, theirs)),
    ]


def listed(findings: list[Finding], limit: int = 6) -> str:
    """``semantic-added a, dtype-changed b`` (and N more), or ``nothing``."""
    items = [f"{f.rule} {f.subject}" for f in findings]
    if not items:
        return "nothing"
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def conflict_error(project: Project, conflict: MergeConflict, profile: str) -> MergeConflict:
    """The conflict as the gate reports it: what each side had accepted, and the command that
    writes the baseline from the merged code."""
    sides = side_changes(project, conflict)
    if sides:
        conflict.message += "; " + "; ".join(
            f"{label} had accepted {listed(found)}" for label, found in sides
        )
    conflict.hint = (
        f"run `semdag snapshot update -p {profile}` to write the baselines from the merged "
        "code (it lists what it accepts against each side), then commit them"
    )
    return conflict


def changes_against_sides(
    session: Session, profile: str, conflict: MergeConflict
) -> list[tuple[str, list[Finding]]]:
    """What writing the profile's baselines from the current build accepts, relative to each
    side of its conflicted ``registry.json`` (empty when the sides cannot be read)."""
    from semdag.app.gate import current_registry, hashed_like
    from semdag.core.diff import find_changes

    shown = conflict.file or REGISTRY_FILE
    if not shown.endswith(REGISTRY_FILE):
        return []
    ours = _registry_of(conflict.sides.ours, shown)
    theirs = _registry_of(conflict.sides.theirs, shown)
    if ours is None or theirs is None:
        return []
    registry, graph = current_registry(session, profile)
    project = session.project
    return [
        (label, find_changes(side, hashed_like(side, registry, graph, project)))
        for label, side in (
            (conflict.sides.ours_label, ours),
            (conflict.sides.theirs_label, theirs),
        )
    ]
