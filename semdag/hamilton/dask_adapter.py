"""Hamilton's Dask adapter, with each delayed call naming the node that raised.

Imports Dask and Hamilton's Dask plugin at module level: only a run with ``executor: dask``
imports this module.
"""

from __future__ import annotations

import functools
from typing import Any

from dask.base import tokenize
from dask.delayed import delayed
from hamilton.plugins import h_dask

from semdag.hamilton.executors import call_node


class TaggingDaskGraphAdapter(h_dask.DaskGraphAdapter):
    """``DaskGraphAdapter`` whose delayed calls name the node that raised."""

    def execute_node(self, node: Any, kwargs: dict[str, Any]) -> Any:
        key = f"{node.name}_{tokenize(kwargs)}"
        call = functools.partial(call_node, node.name, node.callable)
        return delayed(call, name=key)(**kwargs, dask_key_name=key)
