"""What each stack module contributed to a cached build, kept beside the build cache entry.

``.semdag/build-cache/<profile>-<key>.modules.jsonl`` holds the
:class:`~semdag.hamilton.contributions.StackFacts` of the build whose digest it names, so
that after an edit to a few stack modules the next build imports only those (see
:mod:`semdag.hamilton.partial`). A file that names another digest, or that does not parse
into the record, is no record: the build is then done in full.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semdag.hamilton.contributions import (
    FunctionFacts,
    FunctionNodes,
    ModuleFacts,
    NodeFacts,
    StackFacts,
    TypeFacts,
)
from semdag.hamilton.variants import Variant
from semdag.store.artifacts import atomic_write_chunks

if TYPE_CHECKING:
    from semdag.config.profile import Profile
    from semdag.config.project import Project

# The record's layout; raising it makes every record no record.
FORMAT = 5


def record_path(project: Project, profile: Profile) -> Path:
    """Where the record of the profile's cached build is kept."""
    from semdag.store.buildcache import entry_path

    entry = entry_path(project, profile)
    return entry.with_name(entry.stem + ".modules.jsonl")


def prepare_record(
    project: Project, profile: Profile, digest: str | None, stack: StackFacts
) -> Callable[[], None]:
    """The writing of ``stack`` as the record of the build ``digest``, to do now or
    meanwhile in another process; it fails quietly (a missing record means a full build)."""
    if digest is None:
        return lambda: None
    path = record_path(project, profile)

    def write() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_chunks(path, _chunks(digest, stack))
        except (OSError, ValueError, TypeError):
            pass

    return write


# The text each module of the last record read was read from, by id: a module that did not
# change is written back as it was read instead of encoded again.
_read_as: dict[int, tuple[ModuleFacts, str]] = {}


def load_record(
    project: Project, profile: Profile, digest: str, *, head_only: bool = False
) -> StackFacts | None:
    """The record of the build ``digest``; None when there is none or it is damaged.
    ``head_only``: without the modules' contributions (``stack`` names the modules)."""
    try:
        with record_path(project, profile).open(encoding="utf-8") as handle:
            head = json.loads(handle.readline())
            if head.get("format") != FORMAT or head.get("digest") != digest:
                return None
            if head_only:
                return _decode(head, [])
            lines = handle.read().splitlines()
        if len(lines) != head["count"]:
            return None
        _read_as.clear()  # only the last record read is written back
        stack = [tuple(m) for m in head["stack"]]
        modules = []
        for line in lines:
            module = _decode_module(json.loads(line))
            _read_as[id(module)] = (module, line)
            modules.append(module)
        if stack != [(m.layer, m.name, m.read_name) for m in modules]:
            return None
        return _decode(head, modules)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def _chunks(digest: str, stack: StackFacts) -> Iterator[str]:
    """The record as lines: a head, then one module a line."""
    encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    head = {
        "count": len(stack.modules),
        "format": FORMAT,
        "digest": digest,
        "references": {k: list(v) for k, v in stack.references.items()},
        "libraries": {k: list(v) for k, v in stack.libraries.items()},
        "matched": sorted([list(pair) for pair in stack.matched]),
        "input_problems": {k: list(v) for k, v in stack.input_problems.items()},
        "stack": [list(m) for m in stack.stack],
    }
    yield encode(head) + "\n"
    for module in stack.modules:
        known = _read_as.get(id(module))
        line = known[1] if known and known[0] is module else encode(_encode_module(module))
        yield line + "\n"


def _encode_module(module: ModuleFacts) -> dict[str, Any]:
    types: dict[str, int] = {}
    table: list[list[Any]] = []

    def type_ref(facts: TypeFacts) -> int:
        number = types.get(facts.key)
        if number is None:
            number = types[facts.key] = len(table)
            table.append([facts.key, facts.text, facts.public, facts.is_any, facts.from_yaml])
        return number

    numbers = {key: number for number, key in enumerate(module.functions)}
    definitions = [
        [
            fn.name,
            fn.file,
            fn.line,
            [
                [
                    n.name,
                    type_ref(n.type),
                    n.tags,
                    n.doc,
                    n.user_defined,
                    [[dep, type_ref(t), required] for dep, t, required in n.inputs],
                    [numbers[key] for key in n.functions],
                ]
                for n in fn.nodes
            ],
        ]
        for fn in module.definitions
    ]
    return {
        "layer": module.layer,
        "name": module.name,
        "file": module.file,
        "read_name": module.read_name,
        "types": table,
        "functions": [
            [f.key, f.name, f.file, f.line, f.end_line, f.code_hash, f.is_async, f.is_subdag]
            for f in module.functions.values()
        ],
        "definitions": definitions,
        "variants": [
            [v.function, v.node, v.active, list(v.parameters), list(v.accepts), list(v.config_keys)]
            for v in module.variants
        ],
    }


def _decode(document: dict[str, Any], modules: list[ModuleFacts]) -> StackFacts:
    return StackFacts(
        modules=tuple(modules),
        references={k: tuple(v) for k, v in document["references"].items()},
        libraries={k: tuple(v) for k, v in document["libraries"].items()},
        matched=frozenset((str(a), str(b)) for a, b in document["matched"]),
        input_problems={k: (str(v[0]), v[1]) for k, v in document["input_problems"].items()},
        stack=tuple((str(a), str(b), str(c)) for a, b, c in document["stack"]),
    )


def _decode_module(raw: dict[str, Any]) -> ModuleFacts:
    types = [TypeFacts(*row) for row in raw["types"]]
    table = [FunctionFacts(*row) for row in raw["functions"]]
    keys = [f.key for f in table]
    definitions = tuple(
        FunctionNodes(
            name,
            file,
            line,
            tuple(
                NodeFacts(
                    node,
                    types[kind],
                    tags,
                    doc,
                    user_defined,
                    tuple((dep, types[t], required) for dep, t, required in inputs),
                    tuple(keys[number] for number in numbers),
                )
                for node, kind, tags, doc, user_defined, inputs, numbers in nodes
            ),
        )
        for name, file, line, nodes in raw["definitions"]
    )
    return ModuleFacts(
        layer=raw["layer"],
        name=raw["name"],
        file=raw["file"],
        read_name=raw["read_name"],
        definitions=definitions,
        functions={f.key: f for f in table},
        variants=tuple(
            Variant(fn, node, active, tuple(params), tuple(accepts), tuple(keys))
            for fn, node, active, params, accepts, keys in raw["variants"]
        ),
    )
