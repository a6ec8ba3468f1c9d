"""`semdag registry -f odcs|openlineage|jsonschema`: each export validates against its
standard's published schema, prints the same bytes every time, and OpenLineage events reach an
HTTP endpoint."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES, run_cli, run_process
from tests.standards import jsonschema_errors, odcs_errors, openlineage_errors

FORMATS = ("odcs", "openlineage", "jsonschema")


def parse(fmt: str, text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text) if fmt == "odcs" else json.loads(text)
    return data


def errors(fmt: str, data: dict[str, Any]) -> list[str]:
    check = {
        "odcs": odcs_errors,
        "openlineage": openlineage_errors,
        "jsonschema": jsonschema_errors,
    }
    return check[fmt](data)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A project of its own (not the bundled example): composite keys, a foreign key, pii,
    deprecated and experimental entries, two owners, a project dtype, declared columns."""
    root = tmp_path / "ledger"
    shutil.copytree(FIXTURES / "ledger", root)
    return root


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "contracts", root)
    return root


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("project", ["example_template", "ledger", "shop"])
def test_exports_validate_against_the_published_schemas(
    fmt: str, project: str, request: pytest.FixtureRequest
) -> None:
    root = request.getfixturevalue(project)
    done = run_cli(["registry", "-f", fmt, "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.endswith("\n")
    data = parse(fmt, done.stdout)
    assert errors(fmt, data) == []
    # Every semantic id is there, once.
    registry = run_cli(["registry", "-f", "json", "--project-dir", str(root)]).json()["data"]
    assert sorted(ids(fmt, data)) == sorted(registry["entries"])


def ids(fmt: str, data: dict[str, Any]) -> list[str]:
    if fmt == "odcs":
        return [
            p["name"]
            for o in data["schema"]
            for p in o["properties"]
            if "semdag.role" not in {c["property"] for c in p.get("customProperties", [])}
        ]
    if fmt == "openlineage":
        return [d["name"] for d in data["outputs"]]
    return list(data["$defs"])


@pytest.mark.parametrize(
    ("fmt", "broken", "message"),
    [
        ("odcs", lambda d: d.update(kind="Contract"), "'Contract' is not one of"),
        ("openlineage", lambda d: d.pop("eventTime"), "'eventTime' is a required property"),
        (
            "openlineage",
            lambda d: d["outputs"][0]["facets"]["tags"]["tags"][0].update(value=3),
            "3 is not of type 'string'",
        ),
        ("jsonschema", lambda d: d["$defs"]["shop.amount.v1"].update(type="decimal"), "decimal"),
    ],
)
def test_the_validation_catches_a_broken_document(
    shop: Path, fmt: str, broken: Any, message: str
) -> None:
    done = run_cli(["registry", "-f", fmt, "--project-dir", str(shop)])
    data = parse(fmt, done.stdout)
    broken(data)
    assert any(message in e for e in errors(fmt, data)), errors(fmt, data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_registry_prints_the_same_bytes_in_another_process(ledger: Path, fmt: str) -> None:
    here = run_cli(["registry", "-f", fmt, "--project-dir", str(ledger)])
    there = run_process(
        ["registry", "-f", fmt, "--no-build-cache"], cwd=ledger, env={"PYTHONHASHSEED": "7"}
    )
    assert there.exit_code == 0, there.stderr
    assert there.stdout == here.stdout


def test_example_odcs_and_json_schema_are_golden(example_template: Path, snapshot: Any) -> None:
    for fmt in ("odcs", "jsonschema"):
        done = run_cli(["registry", "-f", fmt, "--project-dir", str(example_template)])
        assert done.stdout == snapshot(name=fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ledger_exports_are_golden(ledger: Path, fmt: str, snapshot: Any) -> None:
    done = run_cli(["registry", "-f", fmt, "--project-dir", str(ledger)])
    assert done.stdout == snapshot


def test_odcs_carries_every_tag(ledger: Path) -> None:
    done = run_cli(["registry", "-f", "odcs", "--project-dir", str(ledger)])
    contract = yaml.safe_load(done.stdout)
    tags = run_cli(["registry", "-f", "json", "--project-dir", str(ledger)]).json()["data"]
    account, posting = contract["schema"]
    assert [p["name"] for p in account["properties"]][:1] == ["account_id"]
    holder = next(p for p in account["properties"] if p["name"] == "account.holder.v1")
    custom = {c["property"]: c["value"] for c in holder["customProperties"]}
    assert custom["retention"] == "7y"  # a tag no field holds travels as a custom property
    assert holder["classification"] == "pii"
    assert holder["id"] == "account-holder-v1"
    iban = next(p for p in account["properties"] if p["name"] == "account.iban.v1")
    assert iban["deprecated"] is True
    assert iban["physicalType"] == "iban"
    amount = next(p for p in posting["properties"] if p["name"] == "posting.amount.v2")
    assert (
        amount["description"]
        == "The signed amount of each posting.\n\nNegative amounts are debits."
    )
    assert amount["authoritativeDefinitions"] == [
        {"type": "schema", "url": "https://example.org/ledger/posting#amount"}
    ]
    assert [(p["name"], p.get("primaryKeyPosition")) for p in posting["properties"][:3]] == [
        ("account_id", 1),
        ("posting_no", 2),
        ("branch", None),
    ]
    assert posting["dataGranularityDescription"] == "per_posting"
    assert posting["relationships"] == [
        {"from": "posting.account_id", "to": "account.account_id", "type": "foreignKey"}
    ]
    assert contract["team"] == {
        "members": [
            {"role": "owner", "username": "accounts-team"},
            {"role": "owner", "username": "ledger-team"},
        ]
    }
    assert contract["version"] == "2.0.0"
    assert contract["status"] == "active"
    # Each tag is in a field of its own or a custom property: none is dropped.
    fields = {"semantic_id", "entity", "grain", "dtype", "entity_keys", "pii", "schema_ref"}
    for obj in contract["schema"]:
        for prop in obj["properties"]:
            entry = tags["entries"].get(prop["name"])
            if entry is None:
                continue
            custom = {c["property"] for c in prop.get("customProperties", [])}
            assert set(entry["tags"]) - fields <= custom, prop["name"]


def test_openlineage_job_has_one_dataset_per_semantic_id_with_schema_and_tags(
    ledger: Path,
) -> None:
    done = run_cli(["registry", "-f", "openlineage", "--project-dir", str(ledger)])
    event = json.loads(done.stdout)
    assert event["job"] == {
        "namespace": "semdag",
        "name": "dev",
        "facets": event["job"]["facets"],
    }
    assert event["eventTime"] == "1970-01-01T00:00:00.000Z"
    statement = next(d for d in event["outputs"] if d["name"] == "account.statement.v1")
    assert statement["namespace"] == "semdag://dev"
    fields = [(f["name"], f.get("type")) for f in statement["facets"]["schema"]["fields"]]
    assert fields == [
        ("account_id", "int64"),
        ("opened", "date"),
        ("balance", "decimal"),
        ("active", "bool"),
    ]
    tags = {t["key"]: t["value"] for t in statement["facets"]["tags"]["tags"]}
    assert tags["semantic_id"] == "account.statement.v1"
    assert tags["owner"] == "accounts-team"
    assert statement["facets"]["ownership"]["owners"] == [
        {"name": "accounts-team", "type": "OWNER"}
    ]
    holder = next(d for d in event["outputs"] if d["name"] == "account.holder.v1")
    assert [f["name"] for f in holder["facets"]["schema"]["fields"]] == [
        "account_id",
        "account_holder",
    ]


def test_openlineage_event_time_follows_source_date_epoch(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["registry", "-f", "openlineage", "--project-dir", str(ledger)]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    done = run_cli(args)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["eventTime"] == "2026-01-01T00:00:00.000Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    bad = run_cli(args)
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert "SOURCE_DATE_EPOCH 'soon' is not a number of seconds" in bad.stderr


# --- sending the events ------------------------------------------------------------------------


class Collector(http.server.BaseHTTPRequestHandler):
    """An OpenLineage endpoint that keeps what it is sent."""

    received: list[tuple[str, dict[str, Any]]] = []
    status = 201

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, type[Collector]]]:
    handler = type("Handler", (Collector,), {"received": [], "status": 201})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_emit_posts_the_event_to_a_local_endpoint(
    ledger: Path, endpoint: tuple[str, type[Collector]]
) -> None:
    url, handler = endpoint
    done = run_cli(["registry", "-f", "openlineage", "--emit", url, "--project-dir", str(ledger)])
    assert done.exit_code == 0, done.stderr
    assert done.stderr == f"sent the OpenLineage event of profile dev to {url}/api/v1/lineage\n"
    [(path, event)] = handler.received
    assert path == "/api/v1/lineage"
    assert event == json.loads(done.stdout)  # what was printed is what was sent
    assert event["eventTime"] != "1970-01-01T00:00:00.000Z"  # stamped with the time of sending
    assert openlineage_errors(event) == []
    assert sorted(d["name"] for d in event["outputs"]) == [
        "account.holder.v1",
        "account.iban.v1",
        "account.statement.v1",
        "posting.amount.v2",
        "posting.booked_at.v2",
    ]


def test_emit_reports_an_endpoint_that_refuses(
    ledger: Path, endpoint: tuple[str, type[Collector]]
) -> None:
    url, handler = endpoint
    handler.status = 400
    done = run_cli(["registry", "-f", "openlineage", "--emit", url, "--project-dir", str(ledger)])
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        "semdag registry: error: could not send the OpenLineage event to "
        f"{url}/api/v1/lineage: HTTP 400 Bad Request\n"
    )
    assert len(handler.received) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-f", "odcs", "--emit", "http://127.0.0.1:9"],
            "--emit sends an OpenLineage event: use it with -f openlineage",
        ),
        (
            ["-f", "openlineage", "--emit", "ftp://x"],
            "--emit 'ftp://x': expected an http:// or https:// URL",
        ),
        (
            ["-f", "xml"],
            "unknown format 'xml' (choose from text, json, odcs, openlineage, jsonschema)",
        ),
    ],
)
def test_bad_export_options_are_usage_errors(ledger: Path, args: list[str], message: str) -> None:
    done = run_cli(["registry", *args, "--project-dir", str(ledger)])
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == f"semdag registry: error: {message}\n"


def values(root: Path, *extra: str) -> dict[str, list[Any]]:
    """Each semantic output's values as `execute -f json` writes them: one per scalar, one per
    element of a Series, one per row of a frame."""
    done = run_cli(["execute", "-f", "json", "--project-dir", str(root), *extra])
    assert done.exit_code == 0, done.stderr
    out: dict[str, list[Any]] = {}
    for node, shown in done.json()["data"]["outputs"].items():
        if "value" in shown:
            out[node] = [shown["value"]]
        elif shown["type"] == "pandas.Series":
            out[node] = [record[shown["name"]] for record in shown["records"]]
        else:
            out[node] = shown["records"]
    return out


@pytest.mark.parametrize(
    ("faults", "failing"),
    [("", set()), ("nokey", {"shop.orders.v1"}), ("column", set())],
)
def test_the_values_verify_checks_validate_against_their_json_schemas(
    shop: Path, faults: str, failing: set[str]
) -> None:
    import jsonschema

    bundle = json.loads(
        run_cli(["registry", "-f", "jsonschema", "--project-dir", str(shop)]).stdout
    )
    outputs = values(shop, "--input", f"faults={faults}")
    rejected = set()
    for sid, schema in bundle["$defs"].items():
        validator = jsonschema.Draft202012Validator(schema)
        for value in outputs[schema["x-semdag-node"]]:
            if not validator.is_valid(value):
                rejected.add(sid)
    # JSON has one number type: ints under a float declaration are verify's to catch.
    assert rejected == failing


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_semantic_id_the_standards_cannot_carry_is_refused_by_name(
    ledger: Path, fmt: str
) -> None:
    books = ledger / "ledger" / "books.py"
    text = books.read_text(encoding="utf-8")
    books.write_text(text.replace('"account.holder.v1"', '"Account Holder"'), encoding="utf-8")
    done = run_cli(["registry", "-f", fmt, "--project-dir", str(ledger)])
    assert (done.exit_code, done.stdout) == (2, "")
    # The node's line is its first decorator's, `@tag(` just above the semantic id.
    line = text.splitlines().index('    semantic_id="account.holder.v1",')
    assert done.stderr == (
        f"semdag registry: error: ledger/books.py:{line}: account_holder: semantic_id "
        "'Account Holder' must match ^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$ to be exported\n"
        "hint: `semdag validate` lists every invalid tag\n"
    )
