"""``semdag init``: the files of a new project, and writing them without clobbering."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdag.app.adopt import Found
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
# The gate runs on every commit, merge commits included: whatever a commit touches (a module,
# a profile, a baseline, acknowledged.yaml, pyproject.toml, a deleted file) can change the
# verdict, and with the build cache an unchanged project answers at once.
HOOK_STAGES = ["pre-commit", "pre-merge-commit", "pre-push", "manual"]
# The git hooks `pre-commit install` installs for the scaffold's config.
INSTALL_HOOK_TYPES = ["pre-commit", "pre-merge-commit"]

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

test_registry_matches_the_baseline fails as `semdag snapshot check -p {profile}` fails: when the
registry differs from the committed baseline snapshots/{profile}/registry.json in a way that
breaks it. The baseline is the only copy of the registry: accept a change with
`semdag snapshot update -p {profile}` and commit it. test_contracts runs the semantic outputs and
fails with the findings of `semdag verify`, one line each. `pytest --semdag-contracts` adds one
test per semantic id.
"""


def test_registry_matches_the_baseline(semdag_check):
    semdag_check("{profile}")


def test_contracts(semdag_verify):
    semdag_verify("{profile}")
'''

_ADOPTED_TEST = '''\
"""semdag in this project's test suite: the pytest plugin that ships with semdag.

test_registry_matches_the_baseline fails as `semdag snapshot check -p {profile}` fails: when the
registry differs from the committed baseline snapshots/{profile}/registry.json in a way that
breaks it. The baseline is the only copy of the registry: accept a change with
`semdag snapshot update -p {profile}` and commit it.

Once configs/{profile}.yaml gives the dataflow's inputs, add the runtime contracts:

    def test_contracts(semdag_verify):
        semdag_verify("{profile}")
"""


def test_registry_matches_the_baseline(semdag_check):
    semdag_check("{profile}")
'''

_ADOPTED_PROFILE = """\
# The `{profile}` profile: `semdag -p {profile}` reads this file ({default}).
#
# stack: the layers of Hamilton modules, in order. `semdag init` found these
# {how}.
# A module is a dotted name importable from the project root, or a .py path. A later layer may
# redefine a node only when `layers:` allows it (by default only a layer named `overrides` may).
stack:
{stack}
# Hamilton's build-time config ({config_how}).
config: {config}

# Values for the dataflow's external inputs: parameters that no function defines. Until they are
# given here, an input without a value is a warning (`rules:` below), so the gate checks the
# registry while `semdag execute` and `semdag verify` need the values (or --input).
inputs: {{}}
rules:
  missing-input: warning

# Nodes tagged layer=semantic with a semantic_id form the registry; each must carry these tags.
registry:
  required_tags: [semantic_id, entity, grain, dtype, version]
"""

_GITIGNORE = """\
# semdag's working state (build and execution caches) and the lock snapshot updates take
.semdag/
.semdag.lock
__pycache__/
"""

_PRECOMMIT_COMMENT = """\
# semdag on every commit and merge commit: `pre-commit install` once (it installs the hook
# types listed under default_install_hook_types), then each commit is validated and compared
# with the committed baselines in snapshots/, whatever files it touches.
# These hooks run the `semdag` installed in the environment you commit from (with the
# libraries your modules import). To accept a change: `semdag snapshot update --all` (or
# `pre-commit run semdag-snapshot-update --hook-stage manual`) and commit the new baselines.
# `semdag verify` runs the dataflow itself: run it in CI, or through tests/test_semdag.py.
"""


def _hook_lines(indent: str = "      ") -> list[str]:
    lines = []
    for hook_id, entry, _ in HOOKS:
        lines.append(f"{indent}- id: {hook_id}\n")
        lines.append(f"{indent}  name: {entry.removesuffix(' --all')}\n")
        lines.append(f"{indent}  entry: {entry}\n")
        lines.append(f"{indent}  language: system\n")
        lines.append(f"{indent}  pass_filenames: false\n")
        lines.append(f"{indent}  always_run: true\n")
        lines.append(f"{indent}  require_serial: true\n")
        if hook_id.endswith("-update"):
            lines.append(f"{indent}  stages: [manual]\n")
        else:
            lines.append(f"{indent}  stages: [{', '.join(HOOK_STAGES)}]\n")
    return lines


def precommit_snippet() -> str:
    """semdag's hooks as a ``repos:`` item, for a config that ``init`` cannot edit."""
    return "".join(["  - repo: local\n", "    hooks:\n", *_hook_lines()])


def _precommit_config() -> str:
    return (
        _PRECOMMIT_COMMENT
        + f"default_install_hook_types: [{', '.join(INSTALL_HOOK_TYPES)}]\n"
        + "repos:\n"
        + precommit_snippet()
    )


def merge_precommit(existing_text: str) -> str | None:
    """``existing_text`` (a ``.pre-commit-config.yaml``) with semdag's hooks added as a
    ``repo: local`` item and the merge-commit hook type added to
    ``default_install_hook_types``; every other repo, hook and comment is kept. None when it
    has them already. ValueError (saying why) when it is not a config that can be edited."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        document = yaml.load(existing_text)
    except YAMLError as exc:
        raise ValueError(f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if document is None:
        document = yaml.load("repos: []\n")
    if not isinstance(document, dict):
        raise ValueError("its top level is not a mapping")
    repos = document.get("repos")
    if repos is None:
        document["repos"] = repos = yaml.load("- x\n")
        repos.pop()
    if not isinstance(repos, list):
        raise ValueError("repos is not a list")
    present = {
        hook.get("id")
        for repo in repos
        if isinstance(repo, dict) and isinstance(repo.get("hooks"), list)
        for hook in repo["hooks"]
        if isinstance(hook, dict)
    }
    missing = [hook_id for hook_id, _, _ in HOOKS if hook_id not in present]
    changed = False
    types = document.get("default_install_hook_types")
    if types is None:
        from ruamel.yaml.comments import CommentedSeq

        flow = CommentedSeq(INSTALL_HOOK_TYPES)
        flow.fa.set_flow_style()
        document.insert(0, "default_install_hook_types", flow)  # type: ignore[attr-defined]
        changed = True
    elif isinstance(types, list):
        for hook_type in INSTALL_HOOK_TYPES:
            if hook_type not in types:
                types.append(hook_type)
                changed = True
    else:
        raise ValueError("default_install_hook_types is not a list")
    if missing:
        wanted = set(missing)
        block = "".join(["- repo: local\n", "  hooks:\n", *_hook_lines("    ")])
        item = yaml.load(block)[0]
        item["hooks"] = [hook for hook in item["hooks"] if hook["id"] in wanted]
        repos.append(item)
        changed = True
    if not changed:
        return None
    offset = _sequence_offset(existing_text)
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _sequence_offset(text: str) -> int:
    """How far the config indents the items of ``repos:`` (0 or 2, as written)."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("repos:"):
            for following in lines[number + 1 :]:
                stripped = following.lstrip()
                if stripped.startswith("- "):
                    return len(following) - len(stripped)
                if stripped and not stripped.startswith("#"):
                    break
    return 2


def project_files(
    profile: str = "dev",
    *,
    configs_dir: str = "configs",
    snapshots_dir: str = "snapshots",
    adopted: Found | None = None,
) -> dict[str, str]:
    """The files ``semdag init`` writes, as project-relative POSIX path -> text.

    ``adopted``: the repository's own Hamilton modules, which the profile stacks instead of
    the sample module (which is then not written).

    The baselines under ``snapshots/<profile>/`` are not here: they are computed from these
    files by ``snapshot update`` once the files are on disk (see :func:`baseline_paths`).
    """
    from semdag.app.merge import ATTRIBUTES_FILE, merge_attributes

    if not PROFILE_NAME.match(profile):
        raise UsageError(
            f"profile name {profile!r} must be letters, digits, '-' or '_' (for example dev)"
        )
    default = "the default profile" if profile == "dev" else "the default profile of this project"
    files = {
        ".gitignore": _GITIGNORE,
        ATTRIBUTES_FILE: merge_attributes(None, snapshots_dir) or "",
        ".pre-commit-config.yaml": _precommit_config(),
        PYPROJECT: _PYPROJECT.format(profile=profile),
        f"{snapshots_dir}/acknowledged.yaml": _ACKNOWLEDGED,
    }
    if adopted is None:
        files.update(
            {
                f"{configs_dir}/{profile}.yaml": _PROFILE.format(profile=profile, default=default),
                "modules/__init__.py": _PACKAGE_INIT,
                "modules/core/__init__.py": _CORE_INIT,
                "modules/core/metrics.py": _METRICS,
                "tests/test_semdag.py": _SAMPLE_TEST.format(profile=profile),
            }
        )
    else:
        how = (
            f"in what {', '.join(adopted.scripts)} pass{'es' if len(adopted.scripts) == 1 else ''}"
            " to Hamilton's driver"
            if adopted.scripts
            else "by their imports of hamilton.function_modifiers"
        )
        stack = "".join(
            f"  {layer}: [{', '.join(mods)}]\n" for layer, mods in adopted.stack.items()
        )
        import json

        files[f"{configs_dir}/{profile}.yaml"] = _ADOPTED_PROFILE.format(
            profile=profile,
            default=default,
            how=how,
            stack=stack,
            config=json.dumps(adopted.config, sort_keys=True) if adopted.config else "{}",
            config_how="what the driver scripts pass to with_config"
            if adopted.config
            else "none found in the driver scripts; config.when keys go here",
        )
        files["tests/test_semdag.py"] = _ADOPTED_TEST.format(profile=profile)
    return dict(sorted(files.items()))


# The sample module's path: never taken for a repository's own module.
SAMPLE_MODULE = "modules/core/metrics.py"
SAMPLE_FILES = frozenset({SAMPLE_MODULE, "modules/__init__.py", "modules/core/__init__.py"})


def is_sample(root: Path, rel: str) -> bool:
    """Whether ``rel`` under ``root`` is the sample module as ``init`` wrote it."""
    try:
        return (root / rel).read_text(encoding="utf-8") == _METRICS
    except (OSError, UnicodeDecodeError):
        return False


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
    """What ``init`` did with each file: written (new, overwritten, or an existing
    pyproject.toml, .pre-commit-config.yaml or .gitattributes with semdag's part added), left
    as it was, or (``unmerged``) an existing file that could not be edited, with the reason."""

    written: tuple[str, ...]
    left: tuple[str, ...]
    merged: tuple[str, ...] = ()
    unmerged: tuple[tuple[str, str], ...] = ()


PRECOMMIT = ".pre-commit-config.yaml"


def write_project(
    root: Path, files: Mapping[str, str], *, force: bool = False, snapshots_dir: str = "snapshots"
) -> Scaffolded:
    """Write ``files`` under ``root`` (created if missing). A file that exists is left as it
    is unless ``force``; pyproject.toml is never replaced: ``[tool.semdag]`` is added to it
    (or, with ``force``, put in place of the one it has) and every other table is kept."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    from semdag.app.merge import ATTRIBUTES_FILE, merge_attributes

    writes: dict[str, str] = {}
    left: list[str] = []
    merged_files: list[str] = []
    unmerged: list[tuple[str, str]] = []
    for rel in sorted(files):
        target = root / rel
        if target.is_dir():
            raise UsageError(f"cannot write {target}: it is a directory")
        if rel in (PRECOMMIT, ATTRIBUTES_FILE) and target.is_file():
            # Never replaced, even with --force: semdag's part is added, the rest kept.
            try:
                text = target.read_text(encoding="utf-8")
                if rel == PRECOMMIT:
                    merged = merge_precommit(text)
                else:
                    merged = merge_attributes(text, snapshots_dir)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                unmerged.append((rel, str(exc)))
                left.append(rel)
                continue
            if merged is None:
                left.append(rel)
            else:
                writes[rel] = merged
                merged_files.append(rel)
        elif rel == PYPROJECT and target.exists():
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
    return Scaffolded(tuple(writes), tuple(left), tuple(merged_files), tuple(unmerged))
