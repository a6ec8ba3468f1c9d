"""Per-file fan-out of the scan, for profiles with dynamic execution.

Provides ``scan_result`` like ``modules.core.scan`` (whose node it replaces in the parallel
profile), but parses each file in its own task. Needs
``Builder.enable_dynamic_execution(allow_experimental_mode=True)``: the default executor
cannot run ``Parallelizable``/``Collect``.
"""

from __future__ import annotations

from pathlib import Path

from hamilton.function_modifiers import tag
from hamilton.htypes import Collect, Parallelizable

from modules.lib import astscan
from modules.lib.taxonomy import internal_tags


@tag(**internal_tags("raw"))
def source_file(source_files: list[str]) -> Parallelizable[str]:
    """Each repo-relative source file, one task apiece."""
    yield from source_files


@tag(**internal_tags("raw"))
def file_scan(source_file: str, resolved_repo_root: str) -> astscan.ScanResult:
    """The scan of one file: its function records, or its path as unparsed."""
    root = Path(resolved_repo_root)
    return astscan.scan_file(root, source_file, astscan.package_prefix(root))


@tag(**internal_tags("raw"))
def scan_result(file_scan: Collect[astscan.ScanResult]) -> astscan.ScanResult:
    """All per-file scans merged in canonical order, identical to the serial scan."""
    return astscan.ScanResult.merge(file_scan)
