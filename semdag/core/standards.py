"""The registry in the vocabularies of the open standards: the mapping tables, and JSON Schema.

Pure: which ODCS logical type, JSON Schema type and classification each tag value stands for,
how entries group into the tables a data contract describes, and the JSON Schema 2020-12
documents (plain dicts: JSON Schema needs no library to be written). The ODCS and OpenLineage
documents are built with the standards' own libraries in :mod:`semdag.app.odcs` and
:mod:`semdag.app.lineage`, from what this module decides.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from semdag.core.contracts import tag_list
from semdag.core.registry import Entry, Registry

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Annotations semdag adds to a JSON Schema: ignored by validators, read by people and tools.
ANNOTATION = "x-semdag-"

# dtype -> ODCS ``logicalType`` (None: any value; the property gets no logical type). ODCS's
# logical types: string, date, timestamp, time, number, integer, object, array, boolean.
_INTEGERS = ("int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
ODCS_LOGICAL_TYPES: dict[str, str | None] = {
    **dict.fromkeys(_INTEGERS, "integer"),
    **dict.fromkeys(("float", "float32", "float64", "double", "decimal"), "number"),
    **dict.fromkeys(("str", "string", "category"), "string"),
    **dict.fromkeys(("bool", "boolean"), "boolean"),
    **dict.fromkeys(("datetime", "timestamp"), "timestamp"),
    "date": "date",
    "time": "time",
    # ODCS has no duration or binary type: both travel as text (ISO 8601 / base64).
    **dict.fromkeys(("timedelta", "duration", "bytes", "binary"), "string"),
    **dict.fromkeys(("record", "dict", "dataframe"), "object"),
    "list": "array",
    **dict.fromkeys(("json", "any", "series"), None),
}

# dtype -> the JSON Schema that one value of it satisfies (as JSON holds it).
JSON_TYPES: dict[str, dict[str, Any]] = {
    **{name: {"type": "integer"} for name in _INTEGERS if not name.startswith("u")},
    **{name: {"type": "integer", "minimum": 0} for name in _INTEGERS if name.startswith("u")},
    **{name: {"type": "number"} for name in ("float", "float32", "float64", "double", "decimal")},
    **{name: {"type": "string"} for name in ("str", "string", "category")},
    **{name: {"type": "boolean"} for name in ("bool", "boolean")},
    **{name: {"type": "string", "format": "date-time"} for name in ("datetime", "timestamp")},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    **{name: {"type": "string", "format": "duration"} for name in ("timedelta", "duration")},
    **{name: {"type": "string", "contentEncoding": "base64"} for name in ("bytes", "binary")},
    # A row of a table, a mapping: an object (its columns, where declared, as properties).
    **{name: {"type": "object"} for name in ("record", "dict", "dataframe")},
    "list": {"type": "array"},
    # Anything: no constraint.
    **{name: {} for name in ("json", "any", "series")},
}

# ``pii`` -> ODCS ``classification`` (free text in the standard: these words say what is known).
PII_CLASSIFICATION = {"yes": "pii", "possible": "possible-pii", "none": "non-pii"}

# Tags an ODCS property carries in a field of its own; every other tag is a custom property.
ODCS_FIELD_TAGS = frozenset(
    {"semantic_id", "entity", "grain", "dtype", "entity_keys", "pii", "schema_ref"}
)

_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
# ODCS shorthand references (``table.column``) allow these names only.
_REFERENCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def base_dtype(dtype: str) -> str:
    """A dtype without its parameters: ``decimal(10, 2)`` is a ``decimal``."""
    return "decimal" if _DECIMAL.match(dtype) else dtype


def odcs_logical_type(dtype: str | None, *, key: bool = False) -> str:
    """The ODCS logical type of a dtype. ODCS's published schema wants one on every property:
    a value whose dtype names no type (none, ``json``, ``any``, a project's own name) is an
    ``object``, a key column whose dtype no ``columns`` tag declares a ``string``. The dtype
    itself still travels, as the physical type."""
    found = ODCS_LOGICAL_TYPES.get(base_dtype(dtype)) if dtype else None
    return found or ("string" if key else "object")


def odcs_type_options(dtype: str | None) -> dict[str, Any] | None:
    """ODCS ``logicalTypeOptions`` a dtype implies: a duration's or a binary value's text
    format (the standard has no type for them)."""
    base = base_dtype(dtype) if dtype else None
    if base in ("timedelta", "duration"):
        return {"format": "duration"}
    if base in ("bytes", "binary"):
        return {"format": "byte"}
    return None


def json_type(dtype: str | None) -> dict[str, Any]:
    """The JSON Schema one value of ``dtype`` satisfies ({} for no dtype or one of the
    project's own names: any value)."""
    if not dtype:
        return {}
    return dict(JSON_TYPES.get(base_dtype(dtype), {}))


def stable_id(semantic_id: str) -> str:
    """A semantic id as an ODCS stable id (letters, digits, ``_`` and ``-`` only): its dots
    become dashes, which a semantic id never holds, so the mapping is one to one."""
    return semantic_id.replace(".", "-")


def contract_status(entries: Iterable[Entry]) -> str:
    """An ODCS contract status from its entries' ``stability``: ``deprecated`` when every
    entry is, ``draft`` when none is stable and some are experimental, else ``active``."""
    stabilities = [str(e.tags.get("stability", "stable")) for e in entries]
    if stabilities and all(s == "deprecated" for s in stabilities):
        return "deprecated"
    if "experimental" in stabilities and "stable" not in stabilities:
        return "draft"
    return "active"


def contract_version(entries: Iterable[Entry]) -> str:
    """An ODCS contract version: the highest ``version`` tag of its entries, as ``N.0.0``."""
    versions = [int(v) for e in entries if str(v := e.tags.get("version", "")).isdigit()]
    return f"{max(versions, default=1)}.0.0"


@dataclass(frozen=True)
class Table:
    """The entries of one entity at one grain and one set of keys: an ODCS schema object."""

    name: str
    entity: str | None
    grain: str | None
    entity_keys: tuple[str, ...]
    join_keys: tuple[str, ...]
    entries: tuple[Entry, ...]

    @property
    def key_columns(self) -> tuple[str, ...]:
        """Entity keys first (the primary key, in order), then the other join keys."""
        return tuple(dict.fromkeys((*self.entity_keys, *self.join_keys)))


def tables(registry: Registry) -> list[Table]:
    """The registry grouped by (entity, grain, entity keys), sorted by name. A table is named
    after its entity; when an entity has several grains or key sets, each table is named
    ``entity_grain`` (``_2``, ``_3``... where even that repeats). An entry without an entity
    is a table of its own, named after its semantic id."""
    groups: dict[tuple[str | None, str | None, tuple[str, ...], str | None], list[Entry]] = {}
    for sid, entry in sorted(registry.entries.items()):
        entity = _text(entry.tags.get("entity"))
        grain = _text(entry.tags.get("grain"))
        keys = tag_list(entry.tags.get("entity_keys") or ())
        alone = None if entity else sid
        groups.setdefault((entity, grain, keys, alone), []).append(entry)
    per_entity: dict[str | None, int] = {}
    for entity, *_ in groups:
        per_entity[entity] = per_entity.get(entity, 0) + 1
    out: dict[str, Table] = {}
    for (entity, grain, keys, alone), members in groups.items():
        if alone is not None:
            name = stable_id(alone).replace("-", "_")
        elif per_entity[entity] == 1 or not grain:
            name = str(entity)
        else:
            name = f"{entity}_{grain}"
        unique, number = name, 1
        while unique in out:
            number += 1
            unique = f"{name}_{number}"
        join = tuple(
            dict.fromkeys(k for e in members for k in tag_list(e.tags.get("join_keys") or ()))
        )
        out[unique] = Table(unique, entity, grain, keys, join, tuple(members))
    return [out[name] for name in sorted(out)]


def foreign_keys(groups: list[Table]) -> list[tuple[str, tuple[str, ...], str]]:
    """``(from table, keys, to table)`` for each table whose join keys hold every entity key
    of another table: the join a consumer may make. Only names ODCS references can spell."""
    found = []
    for here in groups:
        if not _REFERENCE_NAME.match(here.name):
            continue
        for there in groups:
            keys = there.entity_keys
            if (
                there is here
                or not keys
                or not _REFERENCE_NAME.match(there.name)
                or not set(keys) <= set(here.key_columns)
                or not all(_REFERENCE_NAME.match(k) for k in keys)
            ):
                continue
            found.append((here.name, keys, there.name))
    return found


def column_types(entry: Entry) -> dict[str, str]:
    """The ``columns`` tag (``name:dtype, name:dtype``) as name -> dtype; entries that do not
    read as NAME:DTYPE are left out here (``verify`` reports them; the tag still travels)."""
    out: dict[str, str] = {}
    for item in tag_list(entry.tags.get("columns") or ()):
        name, sep, dtype = item.partition(":")
        if sep and name.strip() and dtype.strip():
            out[name.strip()] = dtype.strip()
    return out


def key_dtypes(table: Table) -> dict[str, str]:
    """The dtype of each key column, where an entry's ``columns`` tag declares it."""
    out: dict[str, str] = {}
    for entry in table.entries:
        for name, dtype in column_types(entry).items():
            if name in table.key_columns:
                out.setdefault(name, dtype)
    return out


def plain(value: Any) -> Any:
    """A tag value as JSON holds it (tags are strings, lists and mappings of them)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# --- JSON Schema -------------------------------------------------------------------------------


def schema_id(profile: str, semantic_id: str | None = None) -> str:
    """The ``$id`` of a profile's bundle of schemas, or of one semantic id's schema."""
    return f"urn:semdag:{profile}" + (f":{semantic_id}" if semantic_id else "")


def value_schema(entry: Entry, profile: str, doc: str = "") -> dict[str, Any]:
    """The JSON Schema 2020-12 of one value ``verify`` checks for ``entry``: a scalar output
    itself, each element of a Series/array/list, each row of a table. ``dtype`` gives the
    type and format; keys, the output type and every tag are ``x-semdag-*`` annotations."""
    tags = entry.tags
    dtype = _text(tags.get("dtype"))
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(profile, entry.semantic_id),
        "title": entry.semantic_id,
    }
    text = inspect.cleandoc(doc)
    if text:
        schema["description"] = text
    schema |= json_type(dtype)
    columns = column_types(entry)
    keys = (
        *tag_list(tags.get("entity_keys") or ()),
        *tag_list(tags.get("join_keys") or ()),
    )
    if schema.get("type") == "object" and (columns or keys):
        # A row: its declared columns typed, its keys present.
        schema["properties"] = {
            name: json_type(columns.get(name)) for name in sorted({*columns, *keys})
        }
        if keys:
            schema["required"] = sorted(set(keys))
    schema[ANNOTATION + "semantic-id"] = entry.semantic_id
    schema[ANNOTATION + "node"] = entry.node
    schema[ANNOTATION + "output-type"] = entry.output_type
    if dtype:
        schema[ANNOTATION + "dtype"] = dtype
    schema[ANNOTATION + "entity-keys"] = list(tag_list(tags.get("entity_keys") or ()))
    schema[ANNOTATION + "join-keys"] = list(tag_list(tags.get("join_keys") or ()))
    schema[ANNOTATION + "tags"] = plain(dict(tags))
    return schema


def json_schema_bundle(registry: Registry, docs: Mapping[str, str]) -> dict[str, Any]:
    """Every semantic id's schema (:func:`value_schema`) in one 2020-12 document: each is an
    embedded schema resource under ``$defs``, with its own ``$id``."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(registry.profile),
        "title": f"semdag registry {registry.profile}",
        "description": "One schema per semantic id under $defs: the values semdag verify checks.",
        "$defs": {
            sid: value_schema(entry, registry.profile, docs.get(sid, ""))
            for sid, entry in sorted(registry.entries.items())
        },
    }
