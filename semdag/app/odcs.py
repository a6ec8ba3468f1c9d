"""The registry as an Open Data Contract Standard (ODCS) v3 document, built with the
standard's own Pydantic model (``open-data-contract-standard``).

One contract per profile. Each table of :func:`semdag.core.standards.tables` (an entity at a
grain) is a schema object; its key columns and each of its semantic ids are properties. The
mapping tables are in the README ("Exports"); every tag without a field of its own travels as
a custom property, so nothing is dropped.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from semdag.core.registry import Entry, Registry
from semdag.core.standards import (
    ODCS_FIELD_TAGS,
    PII_CLASSIFICATION,
    Table,
    column_types,
    contract_status,
    contract_version,
    foreign_keys,
    key_dtypes,
    odcs_logical_type,
    odcs_type_options,
    plain,
    stable_id,
    tables,
)

if TYPE_CHECKING:
    from open_data_contract_standard.model import (
        CustomProperty,
        OpenDataContractStandard,
        SchemaObject,
        SchemaProperty,
    )

# The ODCS version the documents declare (the model validates v3.0.0 to v3.2.0).
API_VERSION = "v3.1.0"
# Facts about an entry that are not tags: custom properties under these names.
ENTRY_FACTS = (
    ("semdag.node", "node"),
    ("semdag.module", "module"),
    ("semdag.stackLayer", "stack_layer"),
    ("semdag.outputType", "output_type"),
)


def contract(registry: Registry, docs: Mapping[str, str]) -> OpenDataContractStandard:
    """The profile's registry as one ODCS contract (``docs``: semantic id -> docstring)."""
    from open_data_contract_standard.model import (
        Description,
        OpenDataContractStandard,
        Team,
        TeamMember,
    )

    entries = [registry.entries[sid] for sid in sorted(registry.entries)]
    owners = sorted({str(e.tags["owner"]) for e in entries if e.tags.get("owner")})
    team = None
    if len(owners) == 1:
        team = Team(name=owners[0])
    elif owners:
        team = Team(members=[TeamMember(username=owner, role="owner") for owner in owners])
    groups = tables(registry)
    return OpenDataContractStandard(
        apiVersion=API_VERSION,
        kind="DataContract",
        id=f"urn:semdag:{registry.profile}",
        name=registry.profile,
        version=contract_version(entries),
        status=contract_status(entries),
        description=Description(
            purpose=f"The semantic registry of profile {registry.profile}: one property per "
            "semantic id, grouped by entity and grain."
        ),
        team=team,
        schema=[_schema_object(group, groups, docs) for group in groups],
        customProperties=[_custom("semdag.profile", registry.profile)],
    )


def _schema_object(table: Table, groups: list[Table], docs: Mapping[str, str]) -> SchemaObject:
    from open_data_contract_standard.model import Relationship, SchemaObject

    relationships = [
        # `from` is a Python keyword: the model takes it by its alias.
        Relationship.model_validate(
            {
                "type": "foreignKey",
                "from": _reference(table.name, keys),
                "to": _reference(target, keys),
            }
        )
        for source, keys, target in foreign_keys(groups)
        if source == table.name
    ]
    return SchemaObject(
        name=table.name,
        logicalType="object",
        businessName=table.entity,
        dataGranularityDescription=table.grain,
        properties=[
            *_key_properties(table),
            *(
                _semantic_property(entry, docs.get(entry.semantic_id, ""))
                for entry in table.entries
            ),
        ],
        relationships=relationships or None,
    )


def _reference(table: str, keys: tuple[str, ...]) -> str | list[str]:
    refs = [f"{table}.{key}" for key in keys]
    return refs[0] if len(refs) == 1 else refs


def _key_properties(table: Table) -> list[SchemaProperty]:
    from open_data_contract_standard.model import SchemaProperty

    dtypes = key_dtypes(table)
    out = []
    for name in table.key_columns:
        position = table.entity_keys.index(name) + 1 if name in table.entity_keys else None
        dtype = dtypes.get(name)
        out.append(
            SchemaProperty(
                name=name,
                primaryKey=position is not None or None,
                primaryKeyPosition=position,
                required=True,
                logicalType=odcs_logical_type(dtype, key=True),
                physicalType=dtype,
                customProperties=[_custom("semdag.role", "entity_key" if position else "join_key")],
            )
        )
    return out


def _semantic_property(entry: Entry, doc: str) -> SchemaProperty:
    from open_data_contract_standard.model import AuthoritativeDefinition, SchemaProperty

    tags = entry.tags
    dtype = str(tags["dtype"]) if tags.get("dtype") is not None else None
    pii = tags.get("pii")
    schema_ref = tags.get("schema_ref")
    columns = column_types(entry)
    nested = None
    if columns and odcs_logical_type(dtype) == "object":
        nested = [
            SchemaProperty(
                name=name,
                logicalType=odcs_logical_type(column_dtype),
                physicalType=column_dtype,
                logicalTypeOptions=odcs_type_options(column_dtype),
            )
            for name, column_dtype in columns.items()
        ]
    custom = [
        _custom(key, plain(value))
        for key, value in sorted(tags.items())
        if key not in ODCS_FIELD_TAGS
    ]
    custom += [
        _custom(name, getattr(entry, field))
        for name, field in ENTRY_FACTS
        if getattr(entry, field) is not None
    ]
    if pii is not None and str(pii) not in PII_CLASSIFICATION:
        custom.append(_custom("pii", plain(pii)))
    return SchemaProperty(
        id=stable_id(entry.semantic_id),
        name=entry.semantic_id,
        description=inspect.cleandoc(doc) or None,
        logicalType=odcs_logical_type(dtype),
        logicalTypeOptions=odcs_type_options(dtype),
        physicalType=dtype,
        classification=PII_CLASSIFICATION.get(str(pii)) if pii is not None else None,
        deprecated=True if tags.get("stability") == "deprecated" else None,
        authoritativeDefinitions=(
            [AuthoritativeDefinition(type="schema", url=str(schema_ref))] if schema_ref else None
        ),
        properties=nested,
        customProperties=custom or None,
    )


def _custom(name: str, value: Any) -> CustomProperty:
    from open_data_contract_standard.model import CustomProperty

    return CustomProperty(property=name, value=value)


def as_data(document: OpenDataContractStandard) -> dict[str, Any]:
    """The contract as plain data, as the standard writes it (its aliases, nothing unset)."""
    data: dict[str, Any] = document.model_dump(by_alias=True, exclude_none=True, mode="json")
    return data


def as_yaml(document: OpenDataContractStandard) -> str:
    """The contract as YAML with sorted keys: the same bytes for the same registry."""
    import yaml

    return yaml.safe_dump(
        as_data(document), sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
    )
