"""Baseline snapshots: ``snapshots/<profile>/registry.json`` and ``graph.json``."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.config.project import Project
from semdag.core.errors import BaselineError, UsageError, show_key
from semdag.core.registry import LEGACY_HASH_SCHEME, REGISTRY_KIND, SCHEMA_VERSION, Entry, Registry
from semdag.store.artifacts import atomic_write_chunks, canonical_chunks, read_json

REGISTRY_FILE = "registry.json"
GRAPH_FILE = "graph.json"
_ENTRY_FIELDS = {"node": str, "output_type": str, "tags": dict, "dependencies": list}


# Under .semdag/ (working state), not snapshots/: nothing but baselines belongs in a folder
# that is committed.
LOCK_FILE = "snapshots.lock"
# Waiting longer than this for another writer is said on stderr, so a run never looks hung.
LOCK_PATIENCE = 1.0
LOCK_TIMEOUT = 120.0


def snapshot_dir(project: Project, profile: str) -> Path:
    """Where a profile's baselines live; a profile name can never point outside it."""
    if profile in ("", ".", "..") or Path(profile).name != profile or "\\" in profile:
        raise UsageError(f"profile name {profile!r} is not a plain name")
    return project.snapshots_path / profile


def _say_waiting(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def write_snapshot(
    project: Project,
    profile: str,
    registry: Registry,
    graph_doc: Mapping[str, Any],
    *,
    on_wait: Callable[[str], None] = _say_waiting,
) -> list[Path]:
    """Write both baselines canonically and atomically, under a lock; returns the paths
    written (a file that already holds the same bytes is left untouched and not returned).

    ``on_wait`` is told once when another process holds the lock for more than a second.
    """
    from filelock import FileLock, Timeout

    folder = snapshot_dir(project, profile)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    lock_path = project.state_dir() / LOCK_FILE
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=LOCK_PATIENCE)
    except Timeout:
        on_wait(
            "waiting for another semdag process to finish writing "
            f"{project.relative(project.snapshots_path)}/ "
            f"(lock {project.relative(lock_path)}, up to {LOCK_TIMEOUT:.0f}s)"
        )
        try:
            lock.acquire(timeout=LOCK_TIMEOUT)
        except Timeout:
            raise BaselineError(
                f"another process has held the lock for {LOCK_TIMEOUT:.0f}s",
                file=project.relative(lock_path),
            ) from None
    try:
        _remove_stale_temporaries(folder)
        for name, document in ((REGISTRY_FILE, registry.as_document()), (GRAPH_FILE, graph_doc)):
            # Streamed: a 20,000-node graph.json is never held as one string. An unchanged
            # file is left untouched.
            path = folder / name
            if atomic_write_chunks(path, canonical_chunks(document)):
                written.append(path)
    finally:
        lock.release()
    return written


def _remove_stale_temporaries(folder: Path) -> None:
    # A writer killed between creating its temporary file and renaming it leaves the file
    # behind; under the lock no other writer is alive, so these are debris, not in-flight.
    for name in (REGISTRY_FILE, GRAPH_FILE):
        for stale in folder.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _load_json(path: Path, shown: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            "no baseline: the file does not exist",
            file=shown,
            hint="run `semdag snapshot update` to create it",
        ) from None
    except UnicodeDecodeError:
        raise BaselineError("cannot read the baseline: not UTF-8 text", file=shown) from None
    except OSError as exc:
        # strerror, not str(exc): that repeats the absolute path, and messages land in JSON.
        reason = exc.strerror or type(exc).__name__
        raise BaselineError(f"cannot read the baseline: {reason}", file=shown) from None
    conflicted = conflict_sides(text)
    if conflicted is not None:
        raise MergeConflict(shown, conflicted)
    try:
        return json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicates
        )
    except (json.JSONDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise BaselineError(
            f"the baseline is not valid JSON: {getattr(exc, 'msg', exc)}", file=shown, line=line
        ) from None
    except RecursionError:
        raise BaselineError("the baseline is nested too deeply", file=shown) from None


# The lines git writes around a conflict: ours, (diff3/zdiff3) the base, theirs.
_MARKER = re.compile(r"^(<{7}|\|{7}|={7}|>{7})(?: (.*))?$")


@dataclass(frozen=True)
class ConflictSides:
    """A file with merge conflict markers, taken apart: the text of each side (what the file
    would be had every conflict been resolved for that side), the base's when the markers
    carry it (``merge.conflictStyle diff3``), the markers' labels and the first marker's line."""

    ours: str
    theirs: str
    base: str | None
    ours_label: str
    theirs_label: str
    line: int


def conflict_sides(text: str) -> ConflictSides | None:
    """``text`` taken apart at its merge conflict markers; None when it has none (or they do
    not nest as git writes them)."""
    if "<<<<<<<" not in text:
        return None
    ours: list[str] = []
    theirs: list[str] = []
    base: list[str] = []
    has_base = False
    labels = ["", ""]
    first = 0
    state = "both"
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        marker = _MARKER.match(line.rstrip("\r\n"))
        kind = marker.group(1)[0] if marker else None
        label = (marker.group(2) or "") if marker else ""
        if kind == "<" and state == "both":
            state, first = "ours", first or number
            labels[0] = labels[0] or label
            continue
        if kind == "|" and state == "ours":
            state, has_base = "base", True
            continue
        if kind == "=" and state in ("ours", "base"):
            state = "theirs"
            continue
        if kind == ">" and state == "theirs":
            state = "both"
            labels[1] = labels[1] or label
            continue
        if state in ("both", "ours"):
            ours.append(line)
        if state in ("both", "theirs"):
            theirs.append(line)
        if state in ("both", "base"):
            base.append(line)
    if not first or state != "both":
        return None
    return ConflictSides(
        "".join(ours),
        "".join(theirs),
        "".join(base) if has_base else None,
        labels[0] or "ours",
        labels[1] or "theirs",
        first,
    )


class MergeConflict(BaselineError):
    """A baseline that a git merge left with conflict markers."""

    code = "merge_conflict"

    def __init__(self, shown: str, sides: ConflictSides) -> None:
        super().__init__(
            f"{shown} has merge conflict markers (line {sides.line}: {sides.ours_label} "
            f"against {sides.theirs_label})",
            file=shown,
            line=sides.line,
            hint="run `semdag snapshot update` to write it from the merged code",
        )
        self.sides = sides

    def location(self) -> str:
        # The message names the file already.
        return ""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A badly resolved merge conflict can leave a key twice; json would keep the last silently.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def registry_from_document(document: Any, shown: str) -> Registry:
    """Check a registry document's shape and read it back; errors name the file and key."""

    def bad(message: str) -> BaselineError:
        return BaselineError(f"not a semdag registry: {message}", file=shown)

    if not isinstance(document, dict):
        raise bad("the top level must be an object")
    if document.get("kind") != REGISTRY_KIND:
        raise bad(f"kind must be {REGISTRY_KIND!r}")
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise bad("schema_version must be an integer")
    if version < 1:
        raise bad(f"schema_version {version} does not exist (the first is 1)")
    if version > SCHEMA_VERSION:
        raise BaselineError(
            f"schema_version {version} is newer than this semdag understands "
            f"({SCHEMA_VERSION}): upgrade semdag to read it",
            file=shown,
            hint="pip install --upgrade semdag",
        )
    profile = document.get("profile")
    entries = document.get("entries")
    if not isinstance(profile, str):
        raise bad("profile must be a string")
    if not isinstance(entries, dict):
        raise bad("entries must be an object")
    legacy = version < 2
    out: dict[str, Entry] = {}
    for sid, raw in entries.items():
        if not isinstance(raw, dict):
            raise bad(f"entries.{show_key(sid)} must be an object")
        for key, kind in _ENTRY_FIELDS.items():
            if not isinstance(raw.get(key), kind):
                raise bad(f"entries.{show_key(sid)}.{key} must be {kind.__name__}")
        for key in ("stack_layer", "module", "code_hash"):
            if raw.get(key) is not None and not isinstance(raw.get(key), str):
                raise bad(f"entries.{show_key(sid)}.{key} must be a string or null")
        if not all(isinstance(d, str) for d in raw["dependencies"]):
            raise bad(f"entries.{show_key(sid)}.dependencies must be a list of strings")
        code = raw.get("code_hash")
        if legacy:
            # Version 1 compared logic through its name-blind `logic_hash`.
            logic = raw.get("logic_hash")
            code = logic if isinstance(logic, str) else None
        out[sid] = Entry(
            semantic_id=sid,
            node=raw["node"],
            stack_layer=raw.get("stack_layer"),
            module=raw.get("module"),
            output_type=raw["output_type"],
            tags=raw["tags"],
            dependencies=tuple(raw["dependencies"]),
            code_hash=code,
        )
    ordered = {k: out[k] for k in sorted(out)}
    if legacy:
        return Registry(profile, ordered, hash_scheme=LEGACY_HASH_SCHEME)
    return Registry(profile, ordered)


def read_registry(path: Path, shown: str | None = None) -> Registry:
    """Read a registry snapshot file; every problem is a :class:`BaselineError` (exit 2)."""
    shown = shown or str(path)
    return registry_from_document(_load_json(path, shown), shown)


@dataclass(frozen=True)
class RecordedGraph:
    """What ``graph.json`` records, reduced to what a comparison needs: the digest of each
    node's baseline fields and of the edges, as compact canonical JSON text
    (:data:`semdag.core.export.ENTRY_ENCODER`), and those texts compressed, to be read only
    when a digest differs.

    Small beside the parsed document, and it pickles: it is worked out by a worker while the
    stack imports (see ``Session.ahead``).
    """

    schema_version: Any
    nodes: Mapping[str, bytes]  # name -> digest, in name order (the order of ``texts``)
    # The digest of the text of the list of each run of RUN nodes' fields, in name
    # order: an equal run of the current graph is unchanged without a digest per node.
    runs: tuple[bytes, ...]
    edges: bytes  # digest of the edges' text
    texts: bytes  # zlib of each node's text, then the edges', one per line

    @property
    def legacy(self) -> bool:
        """Written by an older semdag (schema version 1), whose code hashes were made
        another way: compared on everything but them."""
        return bool(self.schema_version == 1)

    def values(self, names: Iterable[str], *, edges: bool = True) -> tuple[dict[str, Any], Any]:
        """The recorded fields of the nodes ``names`` (recorded ones only), and the recorded
        edges (None unless ``edges``): only these are parsed."""
        lines = zlib.decompress(self.texts).decode().split("\n")
        position = {name: number for number, name in enumerate(self.nodes)}
        wanted = {name: json.loads(lines[position[name]]) for name in names if name in position}
        return wanted, json.loads(lines[-1]) if edges else None


def read_recorded_graph(path: Path) -> RecordedGraph | None:
    """``graph.json`` at ``path`` as a :class:`RecordedGraph`; None when it is missing,
    unreadable or has no nodes."""
    from semdag.core.export import BASELINE_NODE_FIELDS, ENTRY_ENCODER, RUN, entry_digest

    document = read_json(path)
    recorded = document.get("nodes") if isinstance(document, dict) else None
    if not isinstance(recorded, dict):
        return None
    version = document.get("schema_version")
    fields = [f for f in BASELINE_NODE_FIELDS if not (version == 1 and f == "code_hash")]
    encode = ENTRY_ENCODER.encode
    names = sorted(recorded)
    entries = [
        {key: node.get(key) for key in fields} if isinstance(node, dict) else {}
        for node in map(recorded.__getitem__, names)
    ]
    texts = [encode(entry) for entry in entries]
    edges = encode(document.get("edges"))
    return RecordedGraph(
        version,
        dict(zip(names, map(entry_digest, texts), strict=True)),
        tuple(
            entry_digest(encode(entries[start : start + RUN]))
            for start in range(0, len(entries), RUN)
        ),
        entry_digest(edges),
        zlib.compress("\n".join([*texts, edges]).encode(), 1),
    )


def baseline_conflict(project: Project, profile: str) -> MergeConflict | None:
    """The first of a profile's baselines that has merge conflict markers, as the error that
    says so; None when neither has any."""
    folder = snapshot_dir(project, profile)
    for name in (REGISTRY_FILE, GRAPH_FILE):
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"<<<<<<<" not in data:
            continue
        sides = conflict_sides(data.decode("utf-8", errors="replace"))
        if sides is not None:
            return MergeConflict(project.relative(path), sides)
    return None
