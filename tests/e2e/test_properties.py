"""Property tests: the loaders and the change model on arbitrary input.

For any YAML or JSON text (wrong types, deep nesting, huge strings, unicode, NaN, duplicate
keys, Python tags) the only outcomes are a valid result or a ``SemdagError`` with exit code 2:
never another exception, never a hang, never code run by a tag.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from semdag.config.profile import Profile, load_profile
from semdag.config.project import Project, find_project
from semdag.core.diff import find_changes, lineage_from_registry
from semdag.core.errors import SemdagError
from semdag.core.registry import Entry, Registry
from semdag.store.acknowledge import Acknowledgement, load_acknowledgements
from semdag.store.artifacts import atomic_write_chunks, canonical_chunks, canonical_json
from semdag.store.snapshot import read_registry, registry_from_document

# Every test here tries many generated inputs: seconds each.
pytestmark = pytest.mark.slow

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # The explain phase traces every line, which makes timings meaningless.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
)
# A hang shows as one example that takes this long; the slowest legitimate ones (refused
# nesting thousands deep) take about a second on a loaded machine.
HANG_SECONDS = 15.0
# The payload a Python tag would run if any loader constructed it.
MARKER = Path(tempfile.gettempdir()) / f"semdag-property-pwned-{os.getpid()}"
PAYLOAD = f'!!python/object/apply:os.system ["touch {MARKER}"]'


def outcome(call: Callable[[], Any]) -> Any:
    """Run a loader: a result or an exit-2 SemdagError, quickly, and no tag ever executed."""
    started = time.monotonic()
    try:
        result = call()
    except SemdagError as error:
        assert error.exit_code == 2, f"{type(error).__name__} exits {error.exit_code}"
        assert error.message and "\n" not in error.message.strip()
        result = error
    assert time.monotonic() - started < HANG_SECONDS
    assert not MARKER.exists(), "a YAML tag ran code"
    event(f"outcome: {type(result).__name__}")
    return result


# --- text strategies ---------------------------------------------------------------------------

KEYS = [
    *("stack", "core", "plugins", "overrides", "layers", "allow_overrides", "config", "inputs"),
    *("outputs", "registry", "tag_filter", "required_tags", "rules", "execution", "dynamic"),
    *("executor", "max_tasks", "dask", "address", "cache", "path", "default_behavior"),
    *("default", "materializers", "id", "to", "dependencies", "extends", "acknowledged"),
    *("rule", "semantic_id", "reason", "expires"),
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
    st.sampled_from(["sync", "dask", "error", "off", "semantic", "x.py", "pkg.mod", "${HOME}"]),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=10), st.integers(), st.booleans())
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)
SNIPPETS = [
    PAYLOAD + "\n",
    f"stack:\n  core: {PAYLOAD}\n",
    f"- {PAYLOAD}\n",
    "!!python/name:os.system\n",
    "a: 1\na: 2\n",
    "stack: {core: [x]}\nstack: {core: [y]}\n",
    "{",
    "- [",
    "\t- x\n",
    "a: &x [1, 2]\nb: *x\n",
    "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: [*d, *d, *d, *d, *d, *d, *d, *d]\n",
    "<<: {stack: {core: [m]}}\n",
    "? [a, b]\n: c\n",
    "? {a: 1}\n: c\n",
    "!!binary aGVsbG8=\n",
    "%YAML 1.1\n---\na: 1\n",
    "---\na: 1\n---\nb: 2\n",
    "a: !!float nan\nb: .inf\n",
    "extends: dev.yaml\n",
    "extends: [x.yaml, 3]\n",
    "extends: ../../../../etc/hostname\n",
    "stack: {core: []}\n",
    "stack:\n  core: ${HOME}\n",
    "stack:\n  core: [${SEMDAG_PROPERTY_UNSET}]\n",
    "config: {x: ${SEMDAG_PROPERTY_UNSET:-!!python/object/apply:os.system [x]}}\n",
    "stack:\n  core: [../../outside.py]\n",
    "cache: {path: /tmp}\n",
    "\x00",
    "\x1f",
    "\ufeffa: 1\n",
    "\ud7ff: 1\n",
    "a: !!timestamp 2024-01-01\n",
    "expires: 2024-02-30\n",
    "[" * 3000,
    "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 400)),
    "a: 1\n  b: 2\n",
    "x" * 200_000,
    "acknowledged: 3\n",
    "- {rule: semantic-removed, semantic_id: a.b, reason: why, expires: 2999-01-01}\n",
    "- {1: a, rule: x, true: y}\n",
]
yaml_texts = st.one_of(
    trees.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True)),
    st.text(max_size=300),
    st.sampled_from(SNIPPETS),
    st.lists(st.sampled_from(SNIPPETS), min_size=2, max_size=4).map("".join),
    st.tuples(trees, st.sampled_from(SNIPPETS)).map(
        lambda pair: yaml.safe_dump(pair[0], allow_unicode=True) + pair[1]
    ),
)


# Mostly the right keys with arbitrary values: reaches the schema checks, not just parsing.
profile_trees = st.fixed_dictionaries(
    {"stack": st.one_of(st.just({"core": ["pkg.a"]}), trees)},
    optional={key: trees for key in KEYS[:22] if key != "stack"},
)
plain = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
names = st.sampled_from(["a", "b", "c.d", "x"])
SECTIONS = {
    "layers": st.just({"core": {"allow_overrides": True}}),
    "config": st.dictionaries(names, plain, max_size=3),
    "inputs": st.dictionaries(names, plain, max_size=3),
    "overrides": st.dictionaries(names, plain, max_size=3),
    "outputs": st.lists(names, max_size=3),
    "registry": st.fixed_dictionaries(
        {},
        optional={
            "tag_filter": st.dictionaries(
                st.sampled_from(["layer", "semantic_id"]),
                st.sampled_from([None, "semantic", ["a", "b"]]),
            ),
            "required_tags": st.lists(st.sampled_from(["semantic_id", "dtype"])),
        },
    ),
    "rules": st.dictionaries(
        st.sampled_from(["cycle", "code-changed"]), st.sampled_from(["error", "warning", "off"])
    ),
    "execution": st.fixed_dictionaries(
        {},
        optional={
            "dynamic": st.booleans(),
            "executor": st.sampled_from(["sync", "threads", "processes", "dask"]),
            "max_tasks": st.integers(0, 8),
        },
    ),
    "cache": st.fixed_dictionaries(
        {},
        optional={
            "path": st.sampled_from([".semdag/c", "../../x", "/tmp/x", "a/../../b"]),
            "default_behavior": st.sampled_from(["default", "disable", "bogus"]),
            "recompute": st.one_of(st.just(True), st.lists(names, max_size=2)),
        },
    ),
    "materializers": st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["m1", "m2"])},
            optional={
                "to": st.just("json"),
                "from": st.just("csv"),
                "dependencies": st.just(["b"]),
                "path": st.sampled_from(["out/x.json", "../../x.json", "/etc/x"]),
            },
        ),
        max_size=2,
    ),
}
near_valid_profiles = st.fixed_dictionaries(
    {
        "stack": st.sampled_from(
            [
                {"core": ["pkg.a"]},
                {"core": ["pkg.a"], "plugins": ["pkg.b"]},
                {"core": "pkg.a", "overrides": ["pkg/b.py"]},
                {"core": ["pkg.a"], "overrides": ["../x.py"]},
            ]
        )
    },
    optional={key: st.one_of(*[valid] * 6, trees) for key, valid in SECTIONS.items()},
)
# Half near-valid profiles (they reach every schema check), half anything at all.
profile_texts = st.booleans().flatmap(
    lambda near: (
        near_valid_profiles.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True))
        if near
        else st.one_of(
            yaml_texts, profile_trees.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True))
        )
    )
)
set_values = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda key, value: f"{key}={value}",
        st.sampled_from(
            [
                *("outputs", "stack.core", "config.a.b", "execution.max_tasks", "cache"),
                *("inputs.x", "registry.tag_filter", "rules.cycle", "stack", ".", "a..b"),
                "layers.core.x",
            ]
        ),
        st.one_of(st.sampled_from(["[a, b]", "{", "3", "null", PAYLOAD, "${HOME}"]), st.text()),
    ),
)


@pytest.fixture(scope="module")
def project() -> Iterator[Project]:
    with tempfile.TemporaryDirectory(prefix="semdag-properties-") as tmp:
        root = Path(tmp)
        (root / "configs").mkdir()
        yield find_project(explicit=root)
    assert not MARKER.exists()


# --- registries as semdag writes them ---------------------------------------------------------

IDS = st.sampled_from(["a.x", "a.y", "b.z", "c", "../x", "a/b", "ü.v1", ""])
NODES = st.sampled_from(["n1", "n2", "n3", "n4", "weight", "score"])
tag_values = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["1", "2", "float", "int", "repo", "repo,path", "per_repo"]),
    st.lists(st.sampled_from(["repo", "path", " repo", "x"]), max_size=3),
    st.none(),
    st.integers(),
)
tags = st.dictionaries(
    st.sampled_from(
        ["dtype", "entity", "grain", "version", "entity_keys", "join_keys", "schema_ref", "owner"]
    )
    | st.text(max_size=5),
    tag_values,
    max_size=6,
)


@st.composite
def entry_bodies(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "node": draw(NODES),
        "stack_layer": draw(st.sampled_from([None, "core", "plugins", "overrides"])),
        "module": draw(st.sampled_from([None, "m.core", "m.hotfix"])),
        "output_type": draw(st.sampled_from(["int", "float", "str", "DataFrame", ""])),
        "tags": draw(tags),
        "dependencies": tuple(draw(st.lists(NODES, max_size=4))),
        "code_hash": draw(st.sampled_from([None, "h1", "h2"])),
        "file": draw(st.sampled_from([None, "m/core.py"])),
        "line": draw(st.sampled_from([None, 1, 12])),
    }


registries = st.builds(
    lambda profile, bodies: Registry(
        profile, {sid: Entry(semantic_id=sid, **body) for sid, body in sorted(bodies.items())}
    ),
    st.sampled_from(["dev", "prod"]),
    st.dictionaries(IDS, entry_bodies(), max_size=6),
)


@st.composite
def registry_pairs(draw: st.DrawFn) -> tuple[Registry, Registry]:
    """Two registries that share most ids, as a baseline and an edit of it do."""
    old = draw(registries)
    entries = dict(old.entries)
    for sid in draw(st.lists(st.sampled_from(sorted(entries) or ["a.x"]), max_size=3)):
        if sid in entries and draw(st.booleans()):
            del entries[sid]
        else:
            entries[sid] = Entry(semantic_id=sid, **draw(entry_bodies()))
    return old, Registry(old.profile, {k: entries[k] for k in sorted(entries)})


# --- loaders -----------------------------------------------------------------------------------


@EXAMPLES
@given(text=profile_texts, sets=st.one_of(st.just([]), st.lists(set_values, max_size=3)))
def test_profile_loader_gives_a_profile_or_a_config_error(
    project: Project, text: str, sets: list[str]
) -> None:
    (project.configs_path / "dev.yaml").write_text(text, encoding="utf-8", errors="replace")
    result = outcome(lambda: load_profile(project, "dev", sets=sets))
    if isinstance(result, Profile):
        assert result.layers and all(layer.modules for layer in result.layers)
        assert all(isinstance(name, str) for name in result.outputs)


@EXAMPLES
@given(text=yaml_texts)
def test_acknowledgement_loader_gives_items_or_a_config_error(project: Project, text: str) -> None:
    path = project.snapshots_path / "acknowledged.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="replace")
    result = outcome(lambda: load_acknowledgements(path, "snapshots/acknowledged.yaml"))
    if not isinstance(result, SemdagError):
        assert all(isinstance(item, Acknowledgement) for item in result)
        assert all(isinstance(item.expires, dt.date) for item in result)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
raw_entries = st.fixed_dictionaries(
    {
        "node": st.one_of(st.text(max_size=6), json_values),
        "output_type": st.one_of(st.sampled_from(["int", "float"]), json_values),
        "tags": st.one_of(
            st.dictionaries(st.text(max_size=6), json_values, max_size=4), json_values
        ),
        "dependencies": st.one_of(st.lists(st.text(max_size=4), max_size=3), json_values),
    },
    optional={k: json_values for k in ("stack_layer", "module", "code_hash")},
)


@st.composite
def edited_documents(draw: st.DrawFn) -> Any:
    """A registry document as semdag writes it, then perhaps edited by hand in one place."""
    document = json.loads(canonical_json(draw(registries).as_document()))
    if draw(st.booleans()):
        return document
    entries = document["entries"]
    targets = [("top", key) for key in document] + [
        (sid, key) for sid, entry in entries.items() for key in entry
    ]
    where, key = draw(st.sampled_from(targets))
    value = draw(json_values)
    if where == "top":
        document[key] = value
    else:
        entries[where][key] = value
    return document


documents = st.one_of(
    edited_documents(),
    edited_documents(),
    json_values,
    st.fixed_dictionaries(
        {
            "kind": st.one_of(st.just("semdag.registry"), json_values),
            "schema_version": st.one_of(st.integers(-2, 3), json_values),
            "profile": st.one_of(st.text(max_size=6), json_values),
            "entries": st.one_of(
                st.dictionaries(st.text(max_size=8), st.one_of(raw_entries, json_values)),
                json_values,
            ),
        }
    ),
)
JSON_SNIPPETS = [
    "",
    "{",
    '{"kind": "semdag.registry", "schema_version": NaN}',
    '{"a": Infinity}',
    '{"a": -Infinity}',
    '{"kind": "semdag.registry", "kind": "other"}',
    "[" * 100_000 + "]" * 100_000,
    '{"a": "\\ud800"}',
    "\ufeff{}",
    "\x00",
    '"' + "x" * 100_000 + '"',
    "1e999999",
    PAYLOAD,
]
json_texts = st.one_of(
    documents.map(lambda doc: json.dumps(doc, ensure_ascii=False)),
    st.text(max_size=200),
    st.sampled_from(JSON_SNIPPETS),
)


@EXAMPLES
@given(document=documents)
def test_registry_from_any_document_is_a_registry_or_a_baseline_error(document: Any) -> None:
    result = outcome(lambda: registry_from_document(document, "snapshots/dev/registry.json"))
    if isinstance(result, Registry):
        assert list(result.entries) == sorted(result.entries)
        # What was read back writes back canonically and reads again to the same registry.
        again = registry_from_document(json.loads(canonical_json(result.as_document())), "x")
        assert again == result


@EXAMPLES
@given(text=json_texts)
def test_read_registry_of_any_text_is_a_registry_or_a_baseline_error(
    project: Project, text: str
) -> None:
    path = project.root / "registry.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(lambda: read_registry(path, "registry.json"))


def test_non_utf8_and_missing_snapshots_are_baseline_errors(project: Project) -> None:
    path = project.root / "binary.json"
    path.write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(SemdagError, match="cannot read the baseline: not UTF-8 text"):
        read_registry(path, "binary.json")
    with pytest.raises(SemdagError) as missing:
        read_registry(project.root / "missing.json", "missing.json")
    assert "semdag snapshot update" in (missing.value.hint or "")
    assert missing.value.exit_code == 2


# --- the change model --------------------------------------------------------------------------


@EXAMPLES
@given(registry=registries)
def test_a_registry_compared_with_itself_has_no_findings(registry: Registry) -> None:
    lineage = lineage_from_registry(registry)
    assert find_changes(registry, registry) == []
    assert find_changes(registry, registry, old_lineage=lineage, new_lineage=lineage) == []


@EXAMPLES
@given(pair=registry_pairs())
def test_every_finding_names_an_id_of_either_side(pair: tuple[Registry, Registry]) -> None:
    old, new = pair
    findings = find_changes(
        old, new, old_lineage=lineage_from_registry(old), new_lineage=lineage_from_registry(new)
    )
    known = set(old.entries) | set(new.entries)
    for item in findings:
        assert item.subject in known
        assert item.affected == tuple(sorted(set(item.affected)))
        assert set(item.affected) <= known
    assert findings == sorted(findings, key=lambda f: f.sort_key())
    # Same input, same findings; and a difference is seen from both sides.
    assert findings == find_changes(
        old, new, old_lineage=lineage_from_registry(old), new_lineage=lineage_from_registry(new)
    )
    assert {f.subject for f in findings} == {f.subject for f in find_changes(new, old)}
    changed = {sid for sid in known if old.entries.get(sid) != new.entries.get(sid)}
    assert {f.subject for f in findings} <= changed


@EXAMPLES
@given(pair=registry_pairs())
def test_a_snapshot_round_trip_changes_nothing(
    project: Project, pair: tuple[Registry, Registry]
) -> None:
    registry = pair[1]
    path = project.root / "roundtrip.json"
    path.write_text(canonical_json(registry.as_document()), encoding="utf-8")
    again = read_registry(path, "roundtrip.json")
    assert again.as_document() == registry.as_document()
    assert find_changes(registry, again) == []


@EXAMPLES
@given(document=json_values)
def test_streamed_canonical_json_is_canonical_json(project: Project, document: Any) -> None:
    assert "".join(canonical_chunks(document)) == canonical_json(document)
    path = project.root / "streamed.json"
    atomic_write_chunks(path, canonical_chunks(document))
    assert path.read_text(encoding="utf-8") == canonical_json(document)
