"""``semdag init``: the files of a new project, and writing them without clobbering."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from semdag.artifacts import atomic_write
from semdag.errors import UsageError

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
    dtype="int",
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
acknowledged: []
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


def project_files(profile: str = "dev") -> dict[str, str]:
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
        f"configs/{profile}.yaml": _PROFILE.format(profile=profile, default=default),
        "modules/__init__.py": _PACKAGE_INIT,
        "modules/core/__init__.py": _CORE_INIT,
        "modules/core/metrics.py": _METRICS,
        "pyproject.toml": _PYPROJECT.format(profile=profile),
        "snapshots/acknowledged.yaml": _ACKNOWLEDGED,
        "tests/test_semdag.py": _SAMPLE_TEST.format(profile=profile),
    }


def baseline_paths(profile: str = "dev") -> list[str]:
    """The baselines ``init`` generates after writing :func:`project_files`."""
    return [f"snapshots/{profile}/graph.json", f"snapshots/{profile}/registry.json"]


def existing(root: Path, paths: Iterable[str]) -> list[str]:
    """Those of ``paths`` (relative to ``root``) that already exist, sorted."""
    return sorted(p for p in paths if (root / p).exists() or (root / p).is_symlink())


def write_project(
    root: Path, files: Mapping[str, str], *, force: bool = False, generated: Iterable[str] = ()
) -> list[str]:
    """Write ``files`` under ``root`` (created if missing); returns the paths written.

    Without ``force``, nothing is written when any of ``files`` or ``generated`` (paths the
    caller writes afterwards) exists: a half-scaffolded directory is harder to recover from
    than a refusal.
    """
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    if not force:
        clashes = existing(root, [*files, *generated])
        if clashes:
            raise UsageError(
                f"refusing to overwrite existing files in {root}: {', '.join(clashes)}",
                hint="pass --force to overwrite them, or choose another directory",
            )
    for rel in sorted(files):
        target = root / rel
        if target.is_dir():
            raise UsageError(f"cannot write {target}: it is a directory")
        atomic_write(target, files[rel])
    return sorted(files)
