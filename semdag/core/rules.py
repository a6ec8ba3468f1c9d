"""The rule catalogue: stable ids, default severities, and the finding model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How much a finding matters; ``error`` (validate) and ``breaking`` (diff) both fail."""

    ERROR = "error"
    BREAKING = "breaking"
    WARNING = "warning"
    ADDITIVE = "additive"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    Severity.ERROR: 3,
    Severity.BREAKING: 3,
    Severity.WARNING: 2,
    Severity.ADDITIVE: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    kind: str  # "validate" (no baseline needed), "diff" or "verify" (runs the graph)
    summary: str


# Each severity is a decision; the comment says why it is what it is.
RULES: tuple[Rule, ...] = (
    # --- baseline-free checks run by `validate` ---
    # A cycle makes execution recurse forever: nothing downstream can run.
    Rule("cycle", Severity.ERROR, "validate", "the graph has a dependency cycle"),
    # The profile's outputs cannot be computed without the input.
    Rule("missing-input", Severity.ERROR, "validate", "a required external input has no value"),
    # Hamilton would refuse to execute a graph whose edge types disagree.
    Rule("type-mismatch", Severity.ERROR, "validate", "a dependency's type does not match"),
    # Two nodes claiming one public id make the registry ambiguous.
    Rule("duplicate-semantic-id", Severity.ERROR, "validate", "two nodes share a semantic_id"),
    # Consumers rely on the taxonomy; a missing tag is an incomplete contract.
    Rule(
        "missing-required-tag", Severity.ERROR, "validate", "a semantic node lacks a required tag"
    ),
    # A malformed id, version or vocabulary value cannot be compared or trusted.
    Rule(
        "invalid-tag-value", Severity.ERROR, "validate", "a tag value is malformed or inconsistent"
    ),
    # Hamilton silently turns the node into an input; a semantic node can vanish.
    Rule("config-shadows-node", Severity.WARNING, "validate", "a config key has a node's name"),
    # A silent replacement outside an override layer is almost always an accident.
    Rule(
        "override-not-allowed",
        Severity.ERROR,
        "validate",
        "a node is defined again in a layer that may not override",
    ),
    # semdag runs graphs on Hamilton's synchronous driver, where a coroutine is no value.
    Rule(
        "async-node",
        Severity.ERROR,
        "validate",
        "an async def node, which only Hamilton's async driver runs",
    ),
    # Opt-in caching that misses upstream nodes or inputs caches nothing useful.
    Rule(
        "cache-incomplete",
        Severity.WARNING,
        "validate",
        "a node cached in opt-in mode has upstream nodes or inputs that are not cached",
    ),
    # `ignore` lets a node's result be reused when its inputs changed.
    Rule(
        "cache-ignore-stale",
        Severity.WARNING,
        "validate",
        "cache `ignore` can return stale results",
    ),
    # --- baseline comparisons run by `snapshot check` and `diff` ---
    # Consumers of the id lose it.
    Rule("semantic-removed", Severity.BREAKING, "diff", "a semantic_id in the baseline is gone"),
    # New ids break nobody.
    Rule("semantic-added", Severity.ADDITIVE, "diff", "a new semantic_id"),
    # Readers parse values by dtype.
    Rule("dtype-changed", Severity.BREAKING, "diff", "the dtype tag changed"),
    # What one row means changed: every join and aggregate over it is wrong.
    Rule("entity-changed", Severity.BREAKING, "diff", "the entity tag changed"),
    Rule("grain-changed", Severity.BREAKING, "diff", "the grain tag changed"),
    # Joins on the old keys break.
    Rule("keys-changed", Severity.BREAKING, "diff", "entity_keys or join_keys changed"),
    # The logical schema readers validate against changed.
    Rule("schema-ref-changed", Severity.BREAKING, "diff", "the schema_ref tag changed"),
    # Python consumers receive another type.
    Rule("output-type-changed", Severity.BREAKING, "diff", "the node's Python output type changed"),
    # Logic changed but the contract version did not: values may shift unannounced.
    Rule("code-changed", Severity.WARNING, "diff", "the code hash changed and version did not"),
    # An announced change: worth reading, not blocking.
    Rule("version-bumped", Severity.INFO, "diff", "the version tag changed"),
    # Node names are implementation details; the semantic_id is the contract.
    Rule("node-renamed", Severity.INFO, "diff", "same semantic_id, another node name"),
    # Another team's code now answers for the id: review who owns it.
    Rule(
        "provider-changed",
        Severity.WARNING,
        "diff",
        "another stack layer or module now provides the semantic_id",
    ),
    # Values may change through new inputs even when the function did not.
    Rule("dependencies-changed", Severity.WARNING, "diff", "the node's dependencies changed"),
    # Non-semantic nodes are free to change; the graph snapshot is refreshed, not gated.
    Rule("graph-changed", Severity.INFO, "diff", "the execution graph differs from graph.json"),
    # Operational metadata (owner, stability, ...) is informative.
    Rule("tags-changed", Severity.INFO, "diff", "any other tag changed"),
    # --- runtime contracts checked by `verify` on the values the graph produced ---
    # Readers parse values by dtype: the registry promises a type the data does not have.
    Rule(
        "dtype-mismatch",
        Severity.ERROR,
        "verify",
        "a value's element type (or a declared column's) does not fit its dtype",
    ),
    # Consumers find and join rows by the declared keys; without them they cannot.
    Rule(
        "keys-missing",
        Severity.ERROR,
        "verify",
        "a key in entity_keys or join_keys is neither a column nor an index level",
    ),
    # Rows that repeat a key are not at the declared grain: joins fan out, sums double count.
    Rule("keys-not-unique", Severity.ERROR, "verify", "rows repeat an entity_keys combination"),
    # A row with a null key belongs to no entity and joins to nothing.
    Rule("keys-null", Severity.ERROR, "verify", "a key column or index level holds nulls"),
    # Python consumers receive another type than the node's signature promises.
    Rule(
        "output-type-mismatch",
        Severity.ERROR,
        "verify",
        "the value is not of the node's declared output type",
    ),
    # The author chose to be warned, not stopped: shown on every run, failing only on request.
    Rule(
        "data-quality",
        Severity.WARNING,
        "verify",
        "a warn-level @check_output validator failed on the value a node returned",
    ),
    # A project's own dtype names are its business: worth saying, never a failure.
    Rule("dtype-unchecked", Severity.INFO, "verify", "the dtype is not one verify can check"),
    # An exception that has run out must be looked at again.
    Rule(
        "acknowledgement-expired",
        Severity.BREAKING,
        "diff",
        "an acknowledgement in acknowledged.yaml has expired",
    ),
    # A stale acknowledgement would silently cover a future change.
    Rule(
        "acknowledgement-unused",
        Severity.WARNING,
        "diff",
        "an acknowledgement matches no finding",
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class Finding:
    """One thing a check found."""

    rule: str
    severity: Severity
    message: str
    subject: str  # the semantic id, or the node name for graph checks
    node: str | None = None
    old: Any = None
    new: Any = None
    file: str | None = None
    line: int | None = None
    acknowledged: bool = False
    reason: str | None = None
    affected: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[str, str, str]:
        return (self.subject, self.rule, self.message)

    def fails(self, threshold: int) -> bool:
        return not self.acknowledged and self.severity.rank >= threshold

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "subject": self.subject,
            "node": self.node,
            "message": self.message,
            "old": self.old,
            "new": self.new,
            "file": self.file,
            "line": self.line,
            "acknowledged": self.acknowledged,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.affected:
            out["affected"] = list(self.affected)
        if self.owners:
            out["owners"] = list(self.owners)
        return out


FAIL_ON = {"breaking": 3, "warning": 2, "any": 0, "never": 99}


def finding(rule_id: str, subject: str, message: str, **kwargs: Any) -> Finding:
    """A finding with the rule's default severity."""
    return Finding(rule_id, RULES_BY_ID[rule_id].severity, message, subject, **kwargs)


def apply_severities(findings: Iterable[Finding], overrides: Mapping[str, str]) -> list[Finding]:
    """Apply a profile's ``rules:`` table; ``off`` drops the rule. Result sorted."""
    out = []
    for item in findings:
        wanted = overrides.get(item.rule)
        if wanted == "off":
            continue
        if wanted:
            item = replace(item, severity=Severity(wanted))
        out.append(item)
    return sorted(out, key=Finding.sort_key)


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Number of findings per severity, every severity present."""
    out = {s.value: 0 for s in Severity}
    for item in findings:
        out[item.severity.value] += 1
    return out
