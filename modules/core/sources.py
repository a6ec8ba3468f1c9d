"""Where the code comes from: the repository root and its Python source files."""

from __future__ import annotations

from pathlib import Path

from hamilton.function_modifiers import tag

from modules.lib import astscan
from modules.lib.taxonomy import internal_tags, semantic_tags

# The project root is the parent of ``modules/``; resolving from this file keeps the default
# scan working from any working directory without a download.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Relative on purpose: a default that is an absolute path would leak this machine's layout
# into exported graphs.
DEFAULT_REPO_ROOT = "semdag"


@tag(**internal_tags("raw"))
def resolved_repo_root(repo_root: str = DEFAULT_REPO_ROOT) -> str:
    """Absolute path of the directory to scan.

    ``repo_root`` is an optional input; a relative value is resolved against the project root
    (the parent of ``modules/``), so the default scans this project's own ``semdag`` package.
    """
    root = Path(repo_root).expanduser()
    if not root.is_absolute():
        root = PROJECT_ROOT / root
    root = root.resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"repo_root {repo_root!r} is not a directory (resolved: {root})")
    return str(root)


@tag(**internal_tags("raw"))
def repo_name(resolved_repo_root: str) -> str:
    """Name of the scanned repository: the last segment of its root directory."""
    return Path(resolved_repo_root).name


@tag(**internal_tags("raw"))
def source_files(resolved_repo_root: str) -> list[str]:
    """Repo-relative POSIX paths of the Python files to scan, sorted."""
    return astscan.list_python_files(Path(resolved_repo_root))


@tag(**semantic_tags("repo.source_file_count.v1", "repo", "int64", "semantic.repo_summary_v1"))
def scanned_file_count(source_files: list[str]) -> int:
    """Number of Python source files found under the repository root (parsed or not)."""
    return len(source_files)
