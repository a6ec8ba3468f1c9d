"""A run of a profile's DAG: its settings resolved and its driver built for the runner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from semdag.config.execution import check_execution_config, resolve_settings
from semdag.core.progress import ProgressSink
from semdag.hamilton.execution import Runner

if TYPE_CHECKING:
    from semdag.app.session import Session
    from semdag.core.graph import GraphModel
    from semdag.hamilton.build import Build


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
