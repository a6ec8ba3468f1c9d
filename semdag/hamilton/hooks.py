"""semdag's Hamilton lifecycle hooks: failing nodes named, nodes and tasks timed, progress.

Imports Hamilton at module level: only a run imports this module (``semdag --help`` does not).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hamilton.lifecycle import api

from semdag.core.progress import ProgressSink
from semdag.hamilton.failures import tag_failure


@dataclass(frozen=True)
class Timing:
    """Time spent in one node, or, for work done in other processes, the wall time during
    which tasks of one group were in flight (queueing included)."""

    name: str
    kind: str  # "node" or "task"
    calls: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "calls": self.calls,
            "seconds": round(self.seconds, 6),
        }


def _covered(spans: list[tuple[float, float]]) -> float:
    """Wall time during which at least one of the (start, end) spans was running."""
    total = 0.0
    end_so_far = float("-inf")
    for start, end in sorted(spans):
        if end > end_so_far:
            total += end - max(start, end_so_far)
            end_so_far = end
    return total


class FailureHook(api.NodeExecutionHook):
    """Tags the exception a node raised with the node's name, wherever the node ran."""

    def run_before_node_execution(self, **kwargs: Any) -> None:
        pass

    def run_after_node_execution(
        self, *, node_name: str, success: bool, error: Exception | None = None, **kwargs: Any
    ) -> None:
        if not success and error is not None:
            tag_failure(error, node_name)


@dataclass(frozen=True)
class QualityWarning:
    """A ``@check_output`` validator that failed without failing the run (importance warn)."""

    node: str  # the node whose output was checked
    validator: str  # the validator's node
    message: str
    diagnostics: Any


class QualityHook(api.NodeExecutionHook):
    """Keeps the failed results of data-quality validators run in this process (Hamilton only
    logs the warn-level ones)."""

    def __init__(self) -> None:
        self.failed: list[QualityWarning] = []

    def run_before_node_execution(self, **kwargs: Any) -> None:
        pass

    def run_after_node_execution(
        self,
        *,
        node_name: str,
        node_tags: dict[str, Any],
        result: Any = None,
        success: bool = True,
        **kwargs: Any,
    ) -> None:
        from hamilton.data_quality.base import ValidationResult
        from hamilton.function_modifiers.validation import DATA_VALIDATOR_ORIGINAL_OUTPUT_TAG

        if success and isinstance(result, ValidationResult) and not result.passes:
            source = str(node_tags.get(DATA_VALIDATOR_ORIGINAL_OUTPUT_TAG, node_name))
            self.failed.append(
                QualityWarning(source, node_name, str(result.message), result.diagnostics)
            )


class TimingHook(api.NodeExecutionHook, api.TaskSubmissionHook, api.TaskReturnHook):
    """Times nodes run in this process, and task groups run elsewhere."""

    def __init__(self) -> None:
        self.started: dict[tuple[str, str | None], float] = {}
        self.nodes: dict[str, list[float]] = {}
        self.submitted: dict[str, float] = {}
        self.tasks: list[tuple[tuple[str, ...], float, float]] = []

    def run_before_node_execution(
        self, *, node_name: str, task_id: str | None = None, **kwargs: Any
    ) -> None:
        self.started[(node_name, task_id)] = time.perf_counter()

    def run_after_node_execution(
        self, *, node_name: str, task_id: str | None = None, **kwargs: Any
    ) -> None:
        start = self.started.pop((node_name, task_id), None)
        if start is not None:
            self.nodes.setdefault(node_name, []).append(time.perf_counter() - start)

    def run_before_task_submission(self, *, task_id: str, **kwargs: Any) -> None:
        self.submitted[task_id] = time.perf_counter()

    def run_after_task_return(self, *, task_id: str, nodes: list[Any], **kwargs: Any) -> None:
        start = self.submitted.pop(task_id, None)
        computed = tuple(sorted(n.name for n in nodes if not n.user_defined))
        if start is not None and computed:
            self.tasks.append((computed, start, time.perf_counter()))

    def timings(self) -> list[Timing]:
        out = [Timing(name, "node", len(spans), sum(spans)) for name, spans in self.nodes.items()]
        remote: dict[tuple[str, ...], list[tuple[float, float]]] = {}
        for names, start, end in self.tasks:
            # A task whose nodes were timed here ran in this process: already counted.
            if not any(n in self.nodes for n in names):
                remote.setdefault(names, []).append((start, end))
        out += [
            Timing(", ".join(names), "task", len(spans), _covered(spans))
            for names, spans in remote.items()
        ]
        return sorted(out, key=lambda t: (-t.seconds, t.name))


class ProgressHook(
    api.GraphExecutionHook,
    api.NodeExecutionHook,
    api.TaskGroupingHook,
    api.TaskReturnHook,
):
    """Drives a progress sink: nodes for plain runs, tasks for task-based runs."""

    def __init__(self, sink: ProgressSink | None) -> None:
        self.sink = sink
        self.task_based = False

    def __getstate__(self) -> dict[str, Any]:
        # Workers get an inert copy: the sink draws on this process's terminal.
        return {"sink": None, "task_based": self.task_based}

    def run_before_graph_execution(self, *, execution_path: Any, **kwargs: Any) -> None:
        if self.sink is not None:
            self.sink.start(len(execution_path))

    def run_after_graph_execution(self, **kwargs: Any) -> None:
        if self.sink is not None:
            self.sink.stop()

    def run_after_task_grouping(self, *, task_ids: list[str], **kwargs: Any) -> None:
        self.task_based = True
        if self.sink is not None:
            self.sink.start(len(task_ids))

    def run_after_task_expansion(self, *, parameters: dict[str, Any], **kwargs: Any) -> None:
        if self.sink is not None:
            self.sink.grow(len(parameters))

    def run_after_task_return(self, **kwargs: Any) -> None:
        if self.sink is not None:
            self.sink.advance()

    def run_before_node_execution(self, *, node_name: str, **kwargs: Any) -> None:
        if self.sink is not None:
            self.sink.running(node_name)

    def run_after_node_execution(self, **kwargs: Any) -> None:
        if self.sink is not None and not self.task_based:
            self.sink.advance()
