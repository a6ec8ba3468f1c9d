"""The local hash memo: what a cold build takes from the last one instead of recomputing it.

``.semdag/hash-memo/<profile>.json`` holds, for each file a build indexed, the sha of its text
and the span and hashes of each function in it. A later build takes an unchanged file whole
from it, and an unchanged function's hashes from its raw-source sha, so only what changed is
parsed and hashed again. It is local, like every speed fact: the committed baselines hold the
contract only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from semdag.store.artifacts import read_json

if TYPE_CHECKING:
    from semdag.config.project import Project
    from semdag.hamilton.sourceinfo import FileMemo, HashMemo, SourceIndex

MEMO_DIR = "hash-memo"


def _memo_path(project: Project, profile: str) -> Path:
    return project.state_path / MEMO_DIR / f"{profile}.json"


def load_memo(project: Project, profile: str) -> tuple[HashMemo, FileMemo]:
    """The hashes a profile's last build recorded, as (by raw-source sha, by file); empty
    when there is no memo or it was recorded under another context (see
    :func:`semdag.store.cachekey.memo_context`)."""
    from semdag.store.cachekey import memo_context

    document = read_json(_memo_path(project, profile))
    if not isinstance(document, dict) or document.get("context") != memo_context():
        return {}, {}
    memo: dict[str, tuple[str, str | None]] = {}
    files: dict[str, tuple[str, dict[int, tuple[int, str, str | None, str]]]] = {}
    try:
        for name, (sha, spans) in document["files"].items():
            table: dict[int, tuple[int, str, str | None, str]] = {}
            for start, (end, code, theirs, raw) in spans.items():
                table[int(start)] = (int(end), str(code), theirs, str(raw))
                memo[str(raw)] = (str(code), theirs)
            files[str(name)] = (str(sha), table)
    except (AttributeError, KeyError, TypeError, ValueError):
        return {}, {}
    return memo, files


def prepare_memo(project: Project, profile: str, index: SourceIndex) -> Callable[[], None]:
    """The recording of what ``index`` learnt, to do now or meanwhile in another process."""
    from semdag.store.artifacts import atomic_write
    from semdag.store.cachekey import memo_context

    try:
        project.state_dir(MEMO_DIR)
    except OSError:
        return lambda: None
    path = _memo_path(project, profile)

    def write() -> None:
        document = {"context": memo_context(), "files": index.file_memo()}
        try:
            text = json.dumps(document, sort_keys=True, separators=(",", ":"))
            atomic_write(path, text)
        except (OSError, ValueError):
            pass

    return write
