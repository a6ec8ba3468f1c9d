"""``semdag verify``: run a profile's semantic outputs and check every value against its
registry entry (the rules of kind ``verify``; the checks themselves are in
:mod:`semdag.core.contracts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from semdag.core.errors import UsageError
from semdag.core.rules import Finding, apply_severities

if TYPE_CHECKING:
    from semdag.app.session import Session
    from semdag.core.graph import GraphModel
    from semdag.core.progress import ProgressSink
    from semdag.core.registry import Entry, Registry

VERIFY_KINDS = ("verify",)


@dataclass(frozen=True)
class Request:
    """What to run and how: as ``execute`` takes it, plus the sample size."""

    outputs: tuple[str, ...] = ()  # node names or semantic ids; empty: every registry entry
    inputs: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    executor: str | None = None
    cache: bool | None = None
    sample: int | None = None

    def __post_init__(self) -> None:
        if self.sample is not None and self.sample < 1:
            raise UsageError("--sample must be 1 or more")


@dataclass(frozen=True)
class CheckedOutput:
    """One semantic output that was checked, and how much of it was read."""

    semantic_id: str
    node: str
    kind: str
    rows: int | None
    rows_checked: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "semantic_id": self.semantic_id,
            "node": self.node,
            "kind": self.kind,
            "rows": self.rows,
            "rows_checked": self.rows_checked,
        }


@dataclass(frozen=True)
class Verification:
    """The findings of one profile's verification."""

    profile: str
    findings: tuple[Finding, ...]
    outputs: tuple[CheckedOutput, ...]
    sample: int | None = None

    @property
    def rows(self) -> int:
        return sum(o.rows or 0 for o in self.outputs)

    @property
    def rows_checked(self) -> int:
        return sum(o.rows_checked or 0 for o in self.outputs)

    @property
    def title(self) -> str:
        """``dev (30 outputs, 7431 rows checked)``: the report's heading."""
        outputs = f"{len(self.outputs)} output" + ("s" if len(self.outputs) != 1 else "")
        if not any(o.rows is not None for o in self.outputs):
            return f"{self.profile} ({outputs})"
        rows = f"{self.rows_checked}" + (
            f" of {self.rows}" if self.rows_checked != self.rows else ""
        )
        return f"{self.profile} ({outputs}, {rows} rows checked)"

    def as_dict(self) -> dict[str, Any]:
        from semdag.core.rules import counts

        return {
            "profile": self.profile,
            "sample": self.sample,
            "rows": self.rows,
            "rows_checked": self.rows_checked,
            "outputs": [o.as_dict() for o in self.outputs],
            "findings": [f.as_dict() for f in self.findings],
            "counts": counts(self.findings),
        }


def select_entries(registry: Registry, graph: GraphModel, requested: Sequence[str]) -> list[Entry]:
    """The entries to verify: those named (by semantic id or node name), else all of them."""
    entries = list(registry.entries.values())
    if not requested:
        if not entries:
            raise UsageError("nothing to verify: the profile's registry is empty")
        return entries
    by_node = {entry.node: entry for entry in entries}
    chosen: dict[str, Entry] = {}
    for name in requested:
        entry = registry.entries.get(name) or by_node.get(name)
        if entry is None:
            graph.get(name)  # an unknown name: the error suggests near matches
            raise UsageError(
                f"node {name} has no registry entry: verify checks semantic outputs "
                "(see `semdag registry`)"
            )
        chosen[entry.semantic_id] = entry
    return [chosen[sid] for sid in sorted(chosen)]


# Rules about rows that a node passes on as it got them: reported where they first appear.
_INHERITED = ("keys-not-unique", "keys-null")


def at_source(findings: list[Finding], graph: GraphModel) -> list[Finding]:
    """One repeated (or null-keyed) row is one finding, where it first appears: findings of
    one rule about the same rows (the same repeated key combination, the same null key) are
    merged into the most upstream one; outputs that share an upstream node all get them from
    it, so the finding names that node and its place. The outputs downstream that inherit the
    rows are listed as affected instead of reported again."""
    import json
    from dataclasses import replace

    groups: dict[tuple[str, str], list[Finding]] = {}
    kept: list[Finding] = []
    for item in findings:
        if item.rule in _INHERITED and item.node in graph.nodes:
            key = (item.rule, json.dumps(item.new, sort_keys=True, default=str))
            groups.setdefault(key, []).append(item)
        else:
            kept.append(item)
    for group in groups.values():
        by_node = {f.node: f for f in group if f.node}
        above = {n: graph.upstream([n]) - {n} for n in by_node}
        roots = sorted(n for n in by_node if not above[n] & set(by_node))
        first = by_node[roots[0]]
        others = sorted(by_node[n].subject for n in by_node if n != roots[0])
        if len(roots) > 1:
            common = set.intersection(*(above[n] for n in roots))
            ups = {c: graph.upstream([c]) - {c} for c in common}
            lowest = sorted(c for c in common if not any(c in ups[d] for d in common if d != c))
            if not lowest:  # unrelated outputs: each its own finding
                kept += [by_node[n] for n in roots]
                continue
            source = graph.nodes[lowest[0]]
            first = replace(
                first,
                node=source.name,
                file=source.file,
                line=source.line,
                message=first.message.replace(
                    f"{roots[0]} ", f"{source.name} (upstream of {', '.join(roots)}) ", 1
                ),
            )
            others = sorted(f.subject for f in group if f is not by_node[roots[0]])
        if others:
            first = replace(
                first,
                message=f"{first.message}; the same rows reach {', '.join(others)}",
                affected=tuple(sorted({*first.affected, *others})),
            )
        kept.append(first)
    return kept


def verify(
    session: Session,
    profile: str | None = None,
    request: Request | None = None,
    *,
    progress: ProgressSink | None = None,
) -> Verification:
    """Run the profile's semantic outputs as ``execute`` would, and check each value."""
    from semdag.app.run import prepare_run
    from semdag.core.contracts import check_value, contract_from_tags
    from semdag.core.registry import compile_registry
    from semdag.store.acknowledge import acknowledge

    request = request or Request()
    prof = session.load_profile(profile)
    runner, build, graph = prepare_run(
        session, profile, executor=request.executor, cache=request.cache, progress=progress
    )
    registry = compile_registry(graph, prof.tag_filter)
    entries = select_entries(registry, graph, request.outputs)
    final_vars = sorted({entry.node for entry in entries})
    inputs = {**prof.inputs, **request.inputs}
    overrides = {**prof.overrides, **request.overrides}
    runner.check(build, graph, final_vars, inputs, overrides)
    with runner.started():
        result = runner.execute(build, graph, final_vars, inputs, overrides)
    declared = build.driver.graph.nodes
    findings: list[Finding] = []
    outputs: list[CheckedOutput] = []
    for entry in entries:
        node = declared.get(entry.node)
        contract = contract_from_tags(
            entry.semantic_id,
            entry.node,
            entry.tags,
            output_type=node.type if node is not None else None,
            output_type_label=entry.output_type,
            file=entry.file,
            line=entry.line,
        )
        report = check_value(contract, result.values[entry.node], sample=request.sample)
        findings += report.findings
        outputs.append(
            CheckedOutput(
                entry.semantic_id, entry.node, report.kind, report.rows, report.rows_checked
            )
        )
    from semdag.app.run import quality_findings

    findings += quality_findings(result.quality, graph)
    session.release_build(profile)
    findings = at_source(findings, graph)
    findings = acknowledge(session.project, findings, kinds=VERIFY_KINDS)
    return Verification(
        prof.name, tuple(apply_severities(findings, prof.rules)), tuple(outputs), request.sample
    )
