"""Executors beyond Hamilton's own: its process pool with tasks serialised by cloudpickle, and
Dask's adapter with each delayed call naming the node that raised.

Imports Hamilton at module level: only a run with these executors imports this module. The
Dask adapter is in :mod:`semdag.hamilton.dask_adapter` (Dask is an optional dependency).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import cloudpickle
from hamilton.execution import executors
from hamilton.execution.executors import base_execute_task

from semdag.hamilton.failures import tag_failure


def quiet_worker_logging() -> None:
    """Run on Dask workers semdag started: Hamilton's failure logs would repeat the error."""
    logging.getLogger("hamilton").setLevel(logging.CRITICAL + 1)


def call_node(node_name: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a node's function, tagging any exception with the node's name."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        tag_failure(exc, node_name)
        raise


def _execute_pickled_task(payload: bytes) -> Any:
    """Run a task that was serialised with cloudpickle (in a worker process)."""

    return base_execute_task(cloudpickle.loads(payload))


class CloudpickleProcessExecutor(executors.MultiProcessingExecutor):
    """Hamilton's process pool, with tasks serialised by cloudpickle.

    A task carries its nodes and, through their dependencies, the graph upstream of them:
    decorators such as ``parameterize`` make closures that the standard pickle refuses.
    """

    def submit_task(self, task: Any) -> Any:
        future = self.pool.submit(_execute_pickled_task, cloudpickle.dumps(task))
        self.active_futures.append(future)
        return executors.TaskFutureWrappingPythonFuture(future)
