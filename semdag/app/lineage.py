"""The registry as OpenLineage: one job for the profile with one output dataset per semantic
id, built with ``openlineage-python``'s classes and sent with the client's own transports.

The event is a static ``JobEvent`` (what the job produces, not one run of it). Its
``eventTime`` is required by the standard: printed, it is ``SOURCE_DATE_EPOCH`` when that is
set and the Unix epoch otherwise, so the same registry prints the same bytes; emitted, it is
the time of sending (a lineage service orders a job's versions by it).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from semdag.core.contracts import tag_list
from semdag.core.errors import SemdagError
from semdag.core.registry import Entry, Registry
from semdag.core.standards import column_types

if TYPE_CHECKING:
    from openlineage.client.event_v2 import JobEvent, OutputDataset

JOB_NAMESPACE = "semdag"
PRODUCER = "urn:semdag"
# Where the events of `--emit URL` are posted, under URL (the OpenLineage HTTP API's path).
ENDPOINT = "api/v1/lineage"
# One retry, soon: a mistyped address fails in about a second, not after the client's default
# five attempts with backoff.
RETRY = {"total": 1, "connect": 1, "read": 1, "backoff_factor": 0.2}


class EmitError(SemdagError):
    """An OpenLineage endpoint that did not take the event."""

    code = "emit_error"


def dataset_namespace(profile: str) -> str:
    """The namespace of a profile's datasets: one per profile, as a semantic id is computed
    by each profile's own stack."""
    return f"semdag://{profile}"


def event_time(environ: Mapping[str, str]) -> datetime:
    """The printed event's time: ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention)
    or the Unix epoch."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if value and not value.isdigit():
        raise SemdagError(f"SOURCE_DATE_EPOCH {value!r} is not a number of seconds")
    return datetime.fromtimestamp(int(value or 0), UTC)


def job_event(registry: Registry, docs: Mapping[str, str], when: datetime) -> JobEvent:
    """The profile's job and its output datasets, one per semantic id (``docs``: semantic id
    -> docstring)."""
    from openlineage.client.event_v2 import Job, JobEvent
    from openlineage.client.facet_v2 import documentation_job, job_type_job

    job = Job(
        namespace=JOB_NAMESPACE,
        name=registry.profile,
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="HAMILTON", jobType="DAG", producer=PRODUCER
            ),
            "documentation": documentation_job.DocumentationJobFacet(
                description=f"The semantic registry of profile {registry.profile}: each output "
                "dataset is one semantic id.",
                producer=PRODUCER,
            ),
        },
    )
    outputs = [
        _dataset(registry.entries[sid], registry.profile, docs.get(sid, ""))
        for sid in sorted(registry.entries)
    ]
    return JobEvent(
        eventTime=when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        producer=PRODUCER,
        job=job,
        inputs=[],
        outputs=outputs,
    )


def _dataset(entry: Entry, profile: str, doc: str) -> OutputDataset:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import (
        documentation_dataset,
        ownership_dataset,
        schema_dataset,
        tags_dataset,
    )

    tags = entry.tags
    facets: dict[str, Any] = {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, description=text)
                for name, dtype, text in fields(entry, doc)
            ],
            producer=PRODUCER,
        ),
        "tags": tags_dataset.TagsDatasetFacet(
            tags=[
                tags_dataset.TagsDatasetFacetFields(
                    key=key, value=_tag_text(value), source="semdag"
                )
                for key, value in sorted(tags.items())
            ],
            producer=PRODUCER,
        ),
    }
    text = inspect.cleandoc(doc)
    if text:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=text, producer=PRODUCER
        )
    if tags.get("owner"):
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=str(tags["owner"]), type="OWNER")],
            producer=PRODUCER,
        )
    return OutputDataset(
        namespace=dataset_namespace(profile), name=entry.semantic_id, facets=facets
    )


def fields(entry: Entry, doc: str = "") -> list[tuple[str, str | None, str | None]]:
    """The dataset's fields (name, type, description): its key columns, then its columns
    where a ``columns`` tag declares them, else one field named after the node holding the
    values of its ``dtype`` (described by the first line of the node's docstring)."""
    tags = entry.tags
    columns = column_types(entry)
    keys = tuple(
        dict.fromkeys(
            (*tag_list(tags.get("entity_keys") or ()), *tag_list(tags.get("join_keys") or ()))
        )
    )
    out: list[tuple[str, str | None, str | None]] = [
        (
            key,
            columns.get(key),
            "entity key" if key in tag_list(tags.get("entity_keys") or ()) else "join key",
        )
        for key in keys
    ]
    if columns:
        out += [(name, dtype, None) for name, dtype in columns.items() if name not in keys]
    else:
        dtype = tags.get("dtype")
        summary = next(iter(inspect.cleandoc(doc).splitlines()), "") or None
        out.append((entry.node, str(dtype) if dtype is not None else None, summary))
    return out


def _tag_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return json.dumps(value, sort_keys=True, default=str)


def as_data(event: JobEvent) -> dict[str, Any]:
    """The event as plain data, as the client serialises it (no nulls)."""
    from openlineage.client.serde import Serde

    return Serde.to_dict(event)


def emit(event: JobEvent, url: str) -> str:
    """Send ``event`` to the OpenLineage HTTP endpoint at ``url`` with the client's HTTP
    transport; returns the address it was posted to."""
    from urllib.parse import urljoin, urlparse

    from openlineage.client.client import OpenLineageClient

    if urlparse(url).scheme not in ("http", "https"):
        raise EmitError(f"--emit {url!r}: expected an http:// or https:// URL")
    base = url if url.endswith("/") else url + "/"
    client = OpenLineageClient(
        config={"transport": {"type": "http", "url": base, "endpoint": ENDPOINT, "retry": RETRY}}
    )
    target = urljoin(base, ENDPOINT)
    try:
        client.emit(event)
    except Exception as error:  # the transport's errors: connection, HTTP status, timeout
        raise EmitError(
            f"could not send the OpenLineage event to {target}: {_reason(error)}"
        ) from None
    finally:
        client.close(timeout=5.0)
    return target


def _reason(error: Exception) -> str:
    """Why a send failed, in a few words (the transport's own messages run to paragraphs)."""
    import requests

    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code} {error.response.reason}".strip()
    if isinstance(error, requests.ConnectionError):
        return "no connection (is the address right, and the service up?)"
    if isinstance(error, requests.Timeout):
        return "no answer in time"
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
