"""Serial scan: every source file parsed in one node.

``modules.plugins.parallel_scan`` provides the same ``scan_result`` node as a per-file fan-out
for the dynamic-execution profile.
"""

from __future__ import annotations

from pathlib import Path

from hamilton.function_modifiers import tag

from modules.lib import astscan
from modules.lib.taxonomy import internal_tags


@tag(**internal_tags("raw"))
def scan_result(resolved_repo_root: str, source_files: list[str]) -> astscan.ScanResult:
    """Function records of every file that parses, plus the paths of the files that do not."""
    return astscan.scan_files(Path(resolved_repo_root), source_files)
