"""Validate exports against each standard's published schema: ODCS (its Pydantic model and its
JSON Schema), OpenLineage (the event and facet schemas under fixtures/openlineage_spec) and
JSON Schema 2020-12 (the meta-schema)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from tests.conftest import FIXTURES

SPEC = FIXTURES / "openlineage_spec"


def odcs_errors(document: dict[str, Any]) -> list[str]:
    """Every way ``document`` breaks ODCS: its model's validation, then its JSON Schema."""
    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard

    OpenDataContractStandard.model_validate(document)
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    schema = json.loads(text)
    validator = jsonschema.validators.validator_for(schema)
    checker = validator(schema, format_checker=validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in checker.iter_errors(document)]


def _spec_registry() -> Any:
    from referencing import Registry, Resource

    resources_ = []
    for path in sorted(SPEC.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources_.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources_)


def openlineage_errors(event: dict[str, Any]) -> list[str]:
    """Every way ``event`` breaks the OpenLineage schemas: the event against its
    ``schemaURL``, each facet against its ``_schemaURL`` (each must be one of the files)."""
    import jsonschema

    registry = _spec_registry()
    known = {str(uri) for uri in registry}
    errors: list[str] = []

    def check(instance: Any, url: str, where: str) -> None:
        if url.partition("#")[0] not in known:
            errors.append(f"{where}: no published schema {url} among the fixtures")
            return
        validator = jsonschema.Draft202012Validator(
            {"$ref": url}, registry=registry, format_checker=jsonschema.FormatChecker()
        )
        errors.extend(f"{where}: {e.message}" for e in validator.iter_errors(instance))

    check(event, event["schemaURL"], "event")
    facets = [("job", event["job"].get("facets", {}))]
    facets += [(f"outputs[{d['name']}]", d.get("facets", {})) for d in event.get("outputs", [])]
    for where, group in facets:
        for name, facet in group.items():
            check(facet, facet["_schemaURL"], f"{where}.{name}")
    return errors


def jsonschema_errors(bundle: dict[str, Any]) -> list[str]:
    """Every way the bundle, or one of its schemas, breaks the 2020-12 meta-schema."""
    import jsonschema

    errors = [
        e.message
        for e in jsonschema.Draft202012Validator(
            jsonschema.Draft202012Validator.META_SCHEMA
        ).iter_errors(bundle)
    ]
    for sid, schema in bundle["$defs"].items():
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            errors.append(f"{sid}: not a 2020-12 schema")
        meta = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)
        errors.extend(f"{sid}: {e.message}" for e in meta.iter_errors(schema))
    return errors
