"""Canonical JSON and atomic writes: every artifact semdag writes goes through here."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO


def canonical_json(document: Any) -> str:
    """UTF-8 JSON with sorted keys, ``indent=2`` and a trailing newline."""
    return (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    )


def file_sha(path: Path) -> str | None:
    """sha256 of a file's bytes, read in chunks; None when it cannot be read."""
    import hashlib

    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def canonical_chunks(document: Any) -> Iterator[str]:
    """:func:`canonical_json`'s text in pieces, for writing a large document as it is encoded."""
    encoder = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    yield from encoder.iterencode(document)
    yield "\n"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``path`` so that a crash leaves either the old file or the new one, never a part."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _replace(path, lambda handle: handle.write(payload))


def atomic_write_chunks(path: Path, chunks: Iterable[str]) -> bool:
    """Write the text ``chunks`` join to, as :func:`atomic_write` does, without holding it
    whole. A file that already holds exactly these bytes is left untouched (its time stamp
    too); returns whether the file was written."""
    import hashlib

    digest = hashlib.sha256()

    def fill(handle: BinaryIO) -> None:
        batch: list[str] = []
        size = 0
        for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= _BATCH_CHARS:
                data = "".join(batch).encode("utf-8")
                digest.update(data)
                handle.write(data)
                batch, size = [], 0
        data = "".join(batch).encode("utf-8")
        digest.update(data)
        handle.write(data)

    return _replace(path, fill, unless_sha=lambda: digest.hexdigest())


# Characters encoded and written at a time by atomic_write_chunks.
_BATCH_CHARS = 1 << 18


def _replace(
    path: Path,
    fill: Callable[[BinaryIO], object],
    *,
    unless_sha: Callable[[], str] | None = None,
) -> bool:
    """Fill a temporary file beside ``path`` and rename it over ``path``; returns whether
    ``path`` was replaced. ``unless_sha`` (called once the file is filled) keeps the old file
    when it already has that sha256."""
    # Write through a symlink, not over it; and a device or pipe (-o /dev/stdout) cannot be
    # replaced by renaming, it must be written to: renaming over it would destroy it.
    if path.exists() and not path.is_file():
        with open(path, "wb") as handle:
            fill(handle)
        return True
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600): keep the mode of the file it replaces, else
        # give it the mode any new file would get.
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            if unless_sha is not None and file_sha(path) == unless_sha():
                os.unlink(tmp)
                return False
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    return True


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@functools.cache
def _umask() -> int:
    # Reading the umask means setting it; do it once, not on every write from every thread.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_json(path: Path) -> Any:
    """A parsed JSON file, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
