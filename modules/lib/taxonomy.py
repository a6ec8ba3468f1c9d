"""Builders for the semantic-layer tag taxonomy.

Every semantic node carries the same set of tags. Building them here, with the vocabulary
checked at import time, keeps the decorators short and turns a typo into an import error
instead of a silently wrong registry entry.
"""

from __future__ import annotations

import re

OWNER = "code-intel"

SEMANTIC_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
# Element types: what one value is (a scalar, or each element of a Series); "record" is one
# row of a table whose columns schema_ref describes.
DTYPES = frozenset({"int64", "float", "str", "bool", "json", "record"})
STABILITIES = frozenset({"experimental", "stable", "deprecated"})
PII_LEVELS = frozenset({"none", "possible", "yes"})
LAYERS = frozenset({"raw", "intermediate", "semantic"})

GRAINS = {"function": "per_function", "module": "per_module", "repo": "per_repo"}
# Keys are the columns (or index levels) a consumer needs to identify one row of the entity.
ENTITY_KEYS = {"function": "repo,path,symbol", "module": "repo,module", "repo": "repo"}
JOIN_KEYS = {"function": "repo,path,symbol", "module": "repo,module", "repo": "repo"}


def entity_tags(entity: str, *, owner: str = OWNER, pii: str = "none") -> dict[str, str]:
    """Tags that describe what one row/value is about: entity, grain, keys, owner, pii."""
    if entity not in GRAINS:
        raise ValueError(f"unknown entity {entity!r}; expected one of {sorted(GRAINS)}")
    if pii not in PII_LEVELS:
        raise ValueError(f"unknown pii level {pii!r}; expected one of {sorted(PII_LEVELS)}")
    return {
        "entity": entity,
        "grain": GRAINS[entity],
        "entity_keys": ENTITY_KEYS[entity],
        "join_keys": JOIN_KEYS[entity],
        "owner": owner,
        "pii": pii,
    }


def contract_tags(
    semantic_id: str,
    dtype: str,
    schema_ref: str,
    *,
    version: str = "1",
    stability: str = "stable",
) -> dict[str, str]:
    """Tags that make a node part of the public contract: layer, id, dtype, schema, version."""
    if not SEMANTIC_ID_PATTERN.match(semantic_id):
        raise ValueError(
            f"semantic_id {semantic_id!r} does not match {SEMANTIC_ID_PATTERN.pattern}"
        )
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPES)}")
    if stability not in STABILITIES:
        raise ValueError(f"unknown stability {stability!r}; expected one of {sorted(STABILITIES)}")
    # Hamilton only accepts str tag values, so the version is a decimal string, not an int.
    if not (version.isdigit() and int(version) > 0):
        raise ValueError(f"version {version!r} must be a positive integer written as a string")
    return {
        "layer": "semantic",
        "semantic_id": semantic_id,
        "dtype": dtype,
        "schema_ref": schema_ref,
        "version": version,
        "stability": stability,
    }


def semantic_tags(
    semantic_id: str,
    entity: str,
    dtype: str,
    schema_ref: str,
    *,
    version: str = "1",
    stability: str = "stable",
    pii: str = "none",
    owner: str = OWNER,
) -> dict[str, str]:
    """The full taxonomy for one semantic node (entity tags plus contract tags)."""
    return {
        **entity_tags(entity, owner=owner, pii=pii),
        **contract_tags(semantic_id, dtype, schema_ref, version=version, stability=stability),
    }


def internal_tags(layer: str) -> dict[str, str]:
    """Tags for a non-semantic node: only its layer (raw or intermediate)."""
    if layer not in LAYERS - {"semantic"}:
        raise ValueError(f"internal layer must be 'raw' or 'intermediate', not {layer!r}")
    return {"layer": layer}
