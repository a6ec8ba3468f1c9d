"""Three-way merge of baseline documents (``registry.json``, ``graph.json``), key by key.

Two branches that accept different semantic changes touch different keys of the same JSON
document: different ``entries`` of the registry, different ``nodes`` of the graph, different
edges. Git merges text line by line, so two entries that sort next to each other conflict;
merged as data, they do not. A key that both sides changed differently is a conflict, reported
by its path; the caller then leaves the merge to a person (or to ``snapshot update``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class _Missing:
    """A key that one version of a document does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def merge3(base: Any, ours: Any, theirs: Any) -> tuple[Any, list[str]]:
    """The merge of ``ours`` and ``theirs``, both descended from ``base``, and the paths of
    the keys both changed differently (empty: a clean merge).

    Objects merge key by key (a key one side removed and the other left alone is removed);
    lists that are sorted sets in all three versions (edges, dependencies) merge member by
    member and stay sorted. Anything else that both sides changed differently is a conflict,
    for which ``ours`` is kept.
    """
    conflicts: list[str] = []
    merged = _merge(base, ours, theirs, (), conflicts)
    return merged, conflicts


def _merge(base: Any, ours: Any, theirs: Any, path: tuple[str, ...], out: list[str]) -> Any:
    if _same(ours, theirs):
        return ours
    if _same(ours, base):
        return theirs
    if _same(theirs, base):
        return ours
    # Two additions of the same entry are merged only as a whole: the document and its
    # top-level tables (entries, nodes, config) may be new on both sides, an entry may not.
    new_on_both = base is MISSING and len(path) < 2
    if _is_dict(ours) and _is_dict(theirs) and (new_on_both or _is_dict(base)):
        old = {} if base is MISSING else base
        merged = {}
        for key in sorted({*old, *ours, *theirs}):
            value = _merge(
                old.get(key, MISSING),
                ours.get(key, MISSING),
                theirs.get(key, MISSING),
                (*path, key),
                out,
            )
            if value is not MISSING:
                merged[key] = value
        return merged
    sets = _as_sets(base, ours, theirs)
    if sets is not None:
        old, mine, other = sets
        members = (mine | other) - (old - mine) - (old - other)
        return [_as_json(member) for member in sorted(members)]
    out.append(".".join(path) or "(document)")
    return ours


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 == True and 1 == 1.0 in Python, not in a baseline."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _as_sets(*versions: Any) -> tuple[set[Any], ...] | None:
    """Each version as a set of hashable members, when every version (a missing one counts
    as empty) is a sorted list without repeats; None otherwise."""
    out: list[set[Any]] = []
    for version in versions:
        if version is MISSING:
            out.append(set())
            continue
        if not isinstance(version, list):
            return None
        members = [_hashable(item) for item in version]
        if any(member is None for member in members):
            return None
        try:
            ordered = members == sorted(members) and len(set(members)) == len(members)
        except TypeError:  # members of different types do not sort
            return None
        if not ordered:
            return None
        out.append(set(members))
    return tuple(out)


def _hashable(item: Any) -> Any:
    """A string, number or list of them as a hashable value that sorts like the item."""
    if isinstance(item, str | int | float) and not isinstance(item, bool):
        return item
    if isinstance(item, list) and all(isinstance(part, str) for part in item):
        return tuple(item)
    return None


def _as_json(member: Any) -> Any:
    return list(member) if isinstance(member, tuple) else member


def describe(conflicts: Sequence[str], limit: int = 5) -> str:
    """``entries.a.code_hash, nodes.b.tags.dtype`` (and N more)."""
    shown = ", ".join(conflicts[:limit])
    more = f" and {len(conflicts) - limit} more" if len(conflicts) > limit else ""
    return shown + more
