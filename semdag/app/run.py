"""A run of a profile's DAG: its settings resolved and its driver built for the runner."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from semdag.config.execution import check_execution_config, resolve_settings
from semdag.core.progress import ProgressSink
from semdag.hamilton.execution import Runner

if TYPE_CHECKING:
    from semdag.app.session import Session
    from semdag.core.graph import GraphModel
    from semdag.core.rules import Finding
    from semdag.hamilton.build import Build
    from semdag.hamilton.hooks import QualityWarning


def prepare_run(
    session: Session,
    profile: str | None = None,
    *,
    executor: str | None = None,
    cache: bool | None = None,
    progress: ProgressSink | None = None,
) -> tuple[Runner, Build, GraphModel]:
    """A runner for a profile (its ``execution:`` and ``cache:`` combined with ``--executor``
    and ``--cache``), the driver built with the runner's configuration, and its graph."""
    from semdag.hamilton.model import model_from_build

    prof = session.load_profile(profile)
    settings = resolve_settings(session.project, prof, executor=executor, cache=cache)
    runner = Runner(session.project, prof, settings, progress=progress, debug=session.debug)
    build = session.build(profile, configure=runner.configure)
    graph = model_from_build(build)
    check_execution_config(prof, graph, settings)
    return runner, build, graph


def quality_findings(warnings: Iterable[QualityWarning], graph: GraphModel) -> list[Finding]:
    """Warn-level ``@check_output`` failures as ``data-quality`` findings, at the checked
    node's function."""
    from semdag.core.rules import finding

    out = []
    for item in warnings:
        node = graph.nodes.get(item.node)
        subject = (node.semantic_id if node else None) or item.node
        diagnostics = f" ({item.diagnostics})" if item.diagnostics else ""
        out.append(
            finding(
                "data-quality",
                subject,
                f"{item.node}: {item.validator} failed: {item.message}{diagnostics}",
                node=item.node,
                new=item.validator,
                file=node.file if node else None,
                line=node.line if node else None,
            )
        )
    return out
