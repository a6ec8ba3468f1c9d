"""Results of a run as files with a manifest (``execute --out``).

Plain data is :mod:`semdag.core.values`; text for a terminal is :mod:`semdag.cli.results_view`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.core.errors import MissingToolError, UsageError
from semdag.core.values import frame_of, kind_of, plain, records_of, type_name, unique_labels
from semdag.store.artifacts import atomic_write, canonical_json

MANIFEST = "manifest.json"
MANIFEST_KIND = "semdag.execute.manifest"
MANIFEST_SCHEMA_VERSION = 1
FILE_FORMATS = ("csv", "parquet", "json")
# The manifest's format when each output got the format that suits it (--out without -f).
AUTO_FORMAT = "auto"


# --- files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenFile:
    """One output file of ``execute --out``."""

    node: str
    file: str
    format: str
    rows: int | None
    sha256: str
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "file": self.file,
            "format": self.format,
            "rows": self.rows,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class Manifest:
    """What ``execute --out`` wrote, in node order; ``notes`` explain format fallbacks."""

    profile: str
    format: str
    files: tuple[WrittenFile, ...]
    notes: tuple[str, ...] = ()

    def as_document(self) -> dict[str, Any]:
        return {
            "kind": MANIFEST_KIND,
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "profile": self.profile,
            "format": self.format,
            "outputs": [f.as_dict() for f in self.files],
        }


def _tabular(value: Any, name: str) -> Any:
    """A pandas DataFrame for ``value``, or None when it has no sensible table form."""
    import pandas as pd

    if kind_of(value) != "other":
        return frame_of(value, name)
    if isinstance(value, Mapping) and value and all(_is_scalar(v) for v in value.values()):
        return pd.DataFrame([value.values()], columns=unique_labels(value.keys()))
    if isinstance(value, list | tuple) and value:
        if all(isinstance(v, Mapping) for v in value):
            frame = pd.DataFrame([dict(v) for v in value])
            return frame.set_axis(unique_labels(frame.columns), axis=1)
        if all(_is_scalar(v) for v in value):
            return pd.DataFrame({name: list(value)})
    if _is_scalar(value):
        return pd.DataFrame({name: [value]})
    return None


def _is_scalar(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, bool | int | float | str | dt.date | dt.datetime | decimal.Decimal)
        or (type(value).__module__.split(".")[0] == "numpy" and getattr(value, "ndim", 1) == 0)
    )


def default_format(value: Any) -> str:
    """The file format ``--out`` picks without ``-f``: parquet for frames, series and arrays
    (every row, types kept), JSON for everything else."""
    return "parquet" if kind_of(value) != "other" else "json"


def encode(name: str, value: Any, fmt: str) -> tuple[bytes, str, int | None]:
    """(file bytes, the format used, row count) for one output.

    Values with no table form, and tables Arrow cannot store, are written as JSON whatever
    ``fmt`` asks for.
    """
    if fmt == "json":
        if kind_of(value) != "other":
            records, total = records_of(value, name, None)
            return canonical_json(records).encode("utf-8"), "json", total
        return canonical_json(plain(value)).encode("utf-8"), "json", None
    frame = _tabular(value, name)
    if frame is None:
        return encode(name, value, "json")
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), "csv", len(frame)
    try:
        import pyarrow
    except ImportError:
        raise MissingToolError(
            "--format parquet needs pyarrow, which is not installed",
            hint="install it with: pip install pyarrow",
        ) from None
    import io

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (pyarrow.ArrowException, TypeError, ValueError, NotImplementedError):
        # Arrow rejects the column types (mixed objects, complex numbers, say).
        return encode(name, value, "json")
    return buffer.getvalue(), "parquet", len(frame)


def file_name(node: str, fmt: str) -> str:
    """``<node>.<fmt>``; a node that would collide with the manifest gets another name."""
    name = f"{node}.{fmt}"
    return f"{node}.value.{fmt}" if name == MANIFEST else name


def check_out_dir(out_dir: Path, shown: str | None = None) -> None:
    """Refuse a directory whose ``manifest.json`` semdag did not write (a web app's, say):
    writing the outputs would replace it."""
    path = out_dir / MANIFEST
    if not path.exists() and not path.is_symlink():
        return
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = None
    if path.is_symlink() or not isinstance(document, dict) or document.get("kind") != MANIFEST_KIND:
        where = f"{shown or out_dir.name}/{MANIFEST}"
        raise UsageError(
            f"--out {shown or out_dir.name}: {where} was not written by semdag; "
            "refusing to replace it",
            hint="choose another directory for --out (semdag writes its own manifest.json)",
        )


def _listed_files(out_dir: Path) -> set[str]:
    """The files an earlier manifest in ``out_dir`` lists (plain names inside it only)."""
    try:
        document = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(document, dict) or document.get("kind") != MANIFEST_KIND:
        return set()
    names = set()
    for item in document.get("outputs") or ():
        file = item.get("file") if isinstance(item, dict) else None
        if isinstance(file, str) and file == Path(file).name and file not in ("", ".", ".."):
            names.add(file)
    return names


def write_outputs(
    out_dir: Path,
    values: Mapping[str, Any],
    fmt: str | None,
    *,
    profile: str,
    shown: str | None = None,
) -> Manifest:
    """Write one file per output and then ``manifest.json``, so that nothing looks complete
    until everything is: files are staged in a temporary directory inside ``out_dir``, the old
    manifest is removed, the files are moved in, files the old manifest listed and the new one
    does not are removed, and the new manifest is written last. ``fmt`` None picks a format
    per output (:func:`default_format`)."""
    check_out_dir(out_dir, shown)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".semdag-staging-", dir=out_dir))
    except OSError as exc:
        raise UsageError(
            f"--out {shown or out_dir.name}: cannot write there: {exc.strerror or exc}"
        ) from None
    try:
        written: list[WrittenFile] = []
        notes: list[str] = []
        for node in sorted(values):
            wanted = fmt or default_format(values[node])
            payload, used, rows = encode(node, values[node], wanted)
            if used != wanted:
                notes.append(
                    f"{node} ({type_name(values[node])}) has no {wanted} form: written as {used}"
                )
            name = file_name(node, used)
            atomic_write(staging / name, payload)
            written.append(
                WrittenFile(
                    node, name, used, rows, hashlib.sha256(payload).hexdigest(), len(payload)
                )
            )
        manifest = Manifest(profile, fmt or AUTO_FORMAT, tuple(written), tuple(notes))
        stale = _listed_files(out_dir) - {item.file for item in written} - {MANIFEST}
        (out_dir / MANIFEST).unlink(missing_ok=True)
        for item in written:
            os.replace(staging / item.file, out_dir / item.file)
        for file in sorted(stale):
            path = out_dir / file
            if path.is_file() and not path.is_symlink():
                path.unlink()
        atomic_write(out_dir / MANIFEST, canonical_json(manifest.as_document()))
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
