"""``semdag init``: the files of a new project, and writing them without clobbering."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.core.errors import ConfigError, UsageError
from semdag.store.artifacts import atomic_write

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# The hooks every scaffolded project runs on commit; `.pre-commit-hooks.yaml` publishes the same.
HOOKS = (
    ("semdag-validate", "semdag validate", "Build the dataflow and run every baseline-free check."),
    (
        "semdag-snapshot-check",
        "semdag snapshot check --all",
        "Compare every profile's build with its committed baselines.",
    ),
    (
        "semdag-snapshot-update",
        "semdag snapshot update --all",
        "Rewrite every profile's baselines (run it by hand: pre-commit run --hook-stage manual).",
    ),
)
HOOK_FILES = r"\.(py|ya?ml)$"

_PYPROJECT = """\
# semdag reads [tool.semdag]; the table also marks this directory as the project root.
[tool.semdag]
configs_dir = "configs"
snapshots_dir = "snapshots"
default_profile = "{profile}"
"""

_PROFILE = """\
# The `{profile}` profile: `semdag -p {profile}` reads this file ({default}).
#
# stack: the layers of Hamilton modules, in order. A module is a dotted name importable from
# the project root, or a .py path. A later layer may redefine a node only when `layers:` allows
# it (by default only a layer named `overrides` may).
stack:
  core: [modules.core.metrics]

# Values for the dataflow's external inputs: parameters that no function defines.
inputs:
  order_quantities: [3, 1, 4]
  unit_price: 2.5

# Nodes tagged layer=semantic with a semantic_id form the registry; each must carry these tags.
registry:
  required_tags: [semantic_id, entity, grain, dtype, version]
"""

_PACKAGE_INIT = (
    '"""Hamilton modules of this project, imported by dotted name from the project root."""\n'
)
_CORE_INIT = '"""The core layer: the dataflow every profile starts from."""\n'

_METRICS = '''\
"""Example metrics for one store: units sold and revenue.

Each public function is a Hamilton node named after the function; its parameters
are the nodes or profile inputs it depends on (`order_quantities` and `unit_price`
come from the profile's `inputs:`). The two tagged nodes are the semantic layer:
`semdag registry` lists them, and `semdag snapshot check` reports changes to their
tags, output types or code against the committed baselines in snapshots/.
"""

from hamilton.function_modifiers import tag


@tag(
    layer="semantic",
    semantic_id="example.total_units.v1",
    entity="store",
    grain="per_store",
    entity_keys="store_id",
    join_keys="store_id",
    dtype="int64",
    schema_ref="example.store_metrics_v1",
    version="1",
    owner="analytics",
    stability="experimental",
    pii="none",
)
def total_units(order_quantities: list[int]) -> int:
    """Units sold: the sum of every order's quantity."""
    return sum(order_quantities)


@tag(
    layer="semantic",
    semantic_id="example.total_revenue.v1",
    entity="store",
    grain="per_store",
    entity_keys="store_id",
    join_keys="store_id",
    dtype="float",
    schema_ref="example.store_metrics_v1",
    version="1",
    owner="analytics",
    stability="experimental",
    pii="none",
)
def total_revenue(total_units: int, unit_price: float) -> float:
    """Revenue: units sold times the unit price."""
    return total_units * unit_price
'''

_ACKNOWLEDGED = """\
# Breaking changes the team has accepted for a while. `semdag snapshot check` still reports an
# acknowledged finding but does not fail on it; once `expires` has passed it fails again.
#
# acknowledged:
#   - rule: dtype-changed
#     semantic_id: example.total_units.v1
#     reason: consumers moved to the int64 reader
#     expires: 2030-01-31
acknowledged:
"""

_SAMPLE_TEST = '''\
"""semdag in this project's test suite: the pytest plugin that ships with semdag.

test_registry compares the registry with a snapshot (it needs syrupy: pip install syrupy):
record it once with `pytest --snapshot-update` and commit tests/__snapshots__/; a contract that
changes then fails here until the snapshot is updated on purpose. test_contracts runs the
semantic outputs and fails with the findings of `semdag verify`, one line each.
`pytest --semdag-contracts` adds one test per semantic id.
"""


def test_registry(semdag_registry, snapshot):
    assert semdag_registry("{profile}") == snapshot


def test_contracts(semdag_verify):
    semdag_verify("{profile}")
'''

_GITIGNORE = """\
# semdag's working state (build and execution caches) and the lock snapshot updates take
.semdag/
.semdag.lock
__pycache__/
"""

_PRECOMMIT_HEADER = """\
# semdag on every commit: `pre-commit install` once, then each commit that touches a .py or
# .yaml file is validated and compared with the committed baselines in snapshots/.
# These hooks run the `semdag` installed in the environment you commit from (with the
# libraries your modules import). To accept a change: `semdag snapshot update --all` (or
# `pre-commit run semdag-snapshot-update --hook-stage manual`) and commit the new baselines.
# `semdag verify` runs the dataflow itself: run it in CI, or through tests/test_semdag.py.
repos:
  - repo: local
    hooks:
"""


def _precommit_config() -> str:
    lines = [_PRECOMMIT_HEADER]
    for hook_id, entry, _ in HOOKS:
        lines.append(f"      - id: {hook_id}\n")
        lines.append(f"        name: {entry.removesuffix(' --all')}\n")
        lines.append(f"        entry: {entry}\n")
        lines.append("        language: system\n")
        lines.append("        pass_filenames: false\n")
        lines.append(f"        files: '{HOOK_FILES}'\n")
        lines.append("        require_serial: true\n")
        if hook_id.endswith("-update"):
            # Runs only by hand, and then whether or not a matching file is staged.
            lines.append("        always_run: true\n")
            lines.append("        stages: [manual]\n")
    return "".join(lines)


def project_files(
    profile: str = "dev", *, configs_dir: str = "configs", snapshots_dir: str = "snapshots"
) -> dict[str, str]:
    """The files ``semdag init`` writes, as project-relative POSIX path -> text.

    The baselines under ``snapshots/<profile>/`` are not here: they are computed from these
    files by ``snapshot update`` once the files are on disk (see :func:`baseline_paths`).
    """
    if not PROFILE_NAME.match(profile):
        raise UsageError(
            f"profile name {profile!r} must be letters, digits, '-' or '_' (for example dev)"
        )
    default = "the default profile" if profile == "dev" else "the default profile of this project"
    return {
        ".gitignore": _GITIGNORE,
        ".pre-commit-config.yaml": _precommit_config(),
        f"{configs_dir}/{profile}.yaml": _PROFILE.format(profile=profile, default=default),
        "modules/__init__.py": _PACKAGE_INIT,
        "modules/core/__init__.py": _CORE_INIT,
        "modules/core/metrics.py": _METRICS,
        PYPROJECT: _PYPROJECT.format(profile=profile),
        f"{snapshots_dir}/acknowledged.yaml": _ACKNOWLEDGED,
        "tests/test_semdag.py": _SAMPLE_TEST.format(profile=profile),
    }


PYPROJECT = "pyproject.toml"


def baseline_paths(profile: str = "dev", *, snapshots_dir: str = "snapshots") -> list[str]:
    """The baselines ``init`` generates after writing :func:`project_files`."""
    return [f"{snapshots_dir}/{profile}/registry.json", f"{snapshots_dir}/{profile}/graph.json"]


def existing(root: Path, paths: Iterable[str]) -> list[str]:
    """Those of ``paths`` (relative to ``root``) that already exist, sorted."""
    return sorted(p for p in paths if (root / p).exists() or (root / p).is_symlink())


def tool_table(root: Path) -> dict[str, Any] | None:
    """The ``[tool.semdag]`` table of ``root``'s pyproject.toml; None when it has none."""
    text = _read_pyproject(root)
    if text is None:
        return None
    table = _parse_toml(text).get("tool", {}).get("semdag")
    return table if isinstance(table, dict) else None


def _read_pyproject(root: Path) -> str | None:
    path = root / PYPROJECT
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {PYPROJECT}: {exc}") from None


def _parse_toml(text: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=PYPROJECT) from None


_TABLE_HEADER = re.compile(r"^\[\s*tool\s*\.\s*semdag\s*\]\s*(#.*)?$", re.MULTILINE)
_ANY_HEADER = re.compile(r"^[ \t]*\[[^\]\n]*\][ \t]*(#.*)?$", re.MULTILINE)


def merge_pyproject(existing_text: str, table: str, *, force: bool = False) -> str | None:
    """``existing_text`` (a pyproject.toml) with ``table`` (the ``[tool.semdag]`` table)
    added, or with ``force`` put in place of the one it has; every other table is kept as
    written. None when it already has the table and ``force`` is not given, or when its
    table is not a ``[tool.semdag]`` section that can be replaced."""
    before = _parse_toml(existing_text)
    has_table = isinstance(before.get("tool", {}).get("semdag"), dict)
    if has_table and not force:
        return None
    if not has_table:
        body = existing_text.rstrip("\n")
        merged = (body + "\n\n" if body else "") + table
    else:
        header = _TABLE_HEADER.search(existing_text)
        if header is None:  # dotted keys or an inline table: left for a person to edit
            return None
        following = _ANY_HEADER.search(existing_text, header.end())
        end = following.start() if following else len(existing_text)
        rest = existing_text[end:]
        # The comment the table comes with replaces the same comment above the old one.
        start = header.start()
        own = _TABLE_HEADER.search(table)
        comment = table[: own.start()] if own else ""
        if comment and existing_text[:start].endswith(comment):
            start -= len(comment)
        merged = existing_text[:start] + table + ("\n" + rest if rest else "")
    after = _parse_toml(merged)
    if _without_tool_semdag(after) != _without_tool_semdag(before):
        raise UsageError(f"{PYPROJECT}: cannot add [tool.semdag] without changing other tables")
    return merged


def _without_tool_semdag(document: dict[str, Any]) -> dict[str, Any]:
    tool = {k: v for k, v in document.get("tool", {}).items() if k != "semdag"}
    rest = {k: v for k, v in document.items() if k != "tool"}
    return {**rest, "tool": tool} if tool else rest


@dataclass(frozen=True)
class Scaffolded:
    """What ``init`` did with each file: written (new, overwritten, or pyproject.toml with
    ``[tool.semdag]`` added), or left as it was."""

    written: tuple[str, ...]
    left: tuple[str, ...]


def write_project(root: Path, files: Mapping[str, str], *, force: bool = False) -> Scaffolded:
    """Write ``files`` under ``root`` (created if missing). A file that exists is left as it
    is unless ``force``; pyproject.toml is never replaced: ``[tool.semdag]`` is added to it
    (or, with ``force``, put in place of the one it has) and every other table is kept."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    writes: dict[str, str] = {}
    left: list[str] = []
    for rel in sorted(files):
        target = root / rel
        if target.is_dir():
            raise UsageError(f"cannot write {target}: it is a directory")
        if rel == PYPROJECT and target.exists():
            merged = merge_pyproject(_read_pyproject(root) or "", files[rel], force=force)
            if merged is None:
                left.append(rel)
            else:
                writes[rel] = merged
        elif target.exists() or target.is_symlink():
            if force:
                writes[rel] = files[rel]
            else:
                left.append(rel)
        else:
            writes[rel] = files[rel]
    # Every check before the first write: a refusal leaves the directory as it was.
    for rel, text in writes.items():
        atomic_write(root / rel, text)
    return Scaffolded(tuple(writes), tuple(left))
