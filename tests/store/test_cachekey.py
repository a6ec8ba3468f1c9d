"""Every cache key comes from one record of its inputs, and changing any input is a miss."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semdag.config.profile import load_profile
from semdag.config.project import find_project
from semdag.hamilton import version as hamilton_version
from semdag.hamilton.reads import reads_of, recording
from semdag.store import buildcache, cachekey
from semdag.store.cachekey import CacheKey, Versions

text = st.text(min_size=1, max_size=12)
shas = st.one_of(st.none(), st.text(alphabet="0123456789abcdef", min_size=8, max_size=8))
versions_st = st.builds(
    Versions,
    python=st.sampled_from(["3.11.9 (main)", "3.12.3 (main)", "3.13.0 (main)"]),
    semdag=text,
    semdag_source=text,
    hamilton=st.sampled_from(["apache-hamilton==1.90.0", "apache-hamilton==1.91.2"]),
    code_hash=st.sampled_from(["1", "2"]),
)
keys = st.builds(
    CacheKey,
    profile=text,
    profile_files=st.lists(st.tuples(text, shas), max_size=3).map(tuple),
    env=st.lists(st.tuples(text, st.one_of(st.none(), text)), max_size=3).map(tuple),
    sets=st.lists(text, max_size=3).map(tuple),
    versions=versions_st,
)

KEY_FIELDS = [f.name for f in dataclasses.fields(CacheKey) if f.name != "versions"]
VERSION_FIELDS = [f.name for f in dataclasses.fields(Versions)]
# What a recorded code hash depends on; the hash memo is shared by every profile.
MEMO_FIELDS = {"python", "hamilton", "code_hash"}


def perturbed(value: Any) -> Any:
    """A different value of the same shape."""
    if isinstance(value, str):
        return value + "'"
    if isinstance(value, tuple):
        return (
            (*value, ("perturbed", "x"))
            if all(isinstance(v, tuple) for v in value)
            else (
                *value,
                "perturbed",
            )
        )
    raise AssertionError(value)


@pytest.mark.parametrize("name", KEY_FIELDS)
@settings(max_examples=25, deadline=None)
@given(key=keys)
def test_every_profile_input_changes_the_build_key(key: CacheKey, name: str) -> None:
    changed = dataclasses.replace(key, **{name: perturbed(getattr(key, name))})
    assert changed.build_key() != key.build_key()
    assert changed.versions.memo_context() == key.versions.memo_context()


@pytest.mark.parametrize("name", VERSION_FIELDS)
@settings(max_examples=25, deadline=None)
@given(key=keys, data=st.data())
def test_every_version_changes_the_build_key_and_memo_context_what_it_covers(
    key: CacheKey, name: str, data: st.DataObject
) -> None:
    if name == "python":
        new = data.draw(st.sampled_from(["2.7.18 (old)", "3.14.0 (new)"]))
    else:
        new = perturbed(getattr(key.versions, name))
    changed = dataclasses.replace(key, versions=dataclasses.replace(key.versions, **{name: new}))
    assert changed.build_key() != key.build_key()
    memo_changed = changed.versions.memo_context() != key.versions.memo_context()
    assert memo_changed == (name in MEMO_FIELDS)


# --- the record read from a real project --------------------------------------------------------

HELPER = "def factor() -> int:\n    return 2\n"
OUTSIDE = "def offset() -> int:\n    return 1\n"


@pytest.fixture
def project(project_factory) -> Path:
    return project_factory(
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "def value(x: int) -> int:\n    return x\n",
            "configs/base.yaml": "stack:\n  core: [pkg.core]\ninputs:\n  x: 1\n",
            "configs/dev.yaml": "extends: base.yaml\nconfig:\n  mode: ${SEMDAG_T_MODE:-a}\n",
        }
    )


def build_key(root: Path, sets: tuple[str, ...] = ()) -> dict[str, Any]:
    project = find_project(explicit=root)
    return CacheKey.of(project, load_profile(project, "dev", sets=sets)).build_key()


@pytest.mark.parametrize(
    "change", ["extended-file", "profile-file", "env", "set", "python", "semdag", "hamilton"]
)
def test_each_input_read_before_a_build_is_a_miss(project, monkeypatch, change) -> None:
    monkeypatch.delenv("SEMDAG_T_MODE", raising=False)
    before = build_key(project)
    assert build_key(project) == before
    sets: tuple[str, ...] = ()
    if change == "extended-file":
        (project / "configs/base.yaml").write_text("stack:\n  core: [pkg.core]\ninputs:\n  x: 2\n")
    elif change == "profile-file":
        with (project / "configs/dev.yaml").open("a") as out:
            out.write("# reviewed\n")
    elif change == "env":
        monkeypatch.setenv("SEMDAG_T_MODE", "b")
    elif change == "set":
        sets = ("inputs.x=5",)
    elif change == "python":
        monkeypatch.setattr(sys, "version", "3.99.0 (elsewhere)")
    elif change == "semdag":
        monkeypatch.setattr("semdag.__version__", "99.0")
    elif change == "hamilton":
        monkeypatch.setattr(hamilton_version, "hamilton_version", lambda: "apache-hamilton==1.99")
    assert build_key(project, sets) != before


def test_semdag_source_bytes_change_the_source_hash(tmp_path) -> None:
    package = tmp_path / "semdag"
    shutil.copytree(Path(cachekey.__file__).resolve().parents[1], package)
    before = cachekey._source_hash(package)
    with (package / "core" / "rules.py").open("a") as out:
        out.write("# edited\n")
    cachekey._source_hash.cache_clear()
    assert cachekey._source_hash(package) != before


@pytest.mark.parametrize("where", ["project", "outside"])
def test_imported_module_bytes_anywhere_on_the_path_are_a_miss(
    project, tmp_path, monkeypatch, where
) -> None:
    outside = tmp_path / "site"
    outside.mkdir()
    name = f"semdag_t_{where}_mod"
    file = (project if where == "project" else outside) / f"{name}.py"
    file.write_text(HELPER if where == "project" else OUTSIDE)
    monkeypatch.syspath_prepend(str(file.parent))
    monkeypatch.delitem(sys.modules, name, raising=False)
    prj = find_project(explicit=project)
    with recording(prj.root) as recorder:
        importlib.import_module(name)
    recorded = reads_of(recorder, prj.relative).as_dict()
    shown = f"{name}.py" if where == "project" else str(file.resolve())
    assert shown in recorded["modules"]
    assert buildcache._unchanged(prj, recorded)
    file.write_text(file.read_text() + "# edited\n")
    assert not buildcache._unchanged(prj, recorded)


def test_an_installed_distribution_upgrade_is_a_miss(project, tmp_path, monkeypatch) -> None:
    site = tmp_path / "venv" / "site-packages"
    (site / "vendorlib").mkdir(parents=True)
    module = site / "vendorlib" / "__init__.py"
    module.write_text("VERSION = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    prj = find_project(explicit=project)
    with recording(prj.root) as recorder:
        importlib.import_module("vendorlib")
    recorded = reads_of(recorder, prj.relative).as_dict()
    assert str(module.resolve()) in recorded["installed"]
    assert buildcache._unchanged(prj, recorded)
    # Installing another version rewrites the distribution's files.
    module.write_text("VERSION = 22\n", encoding="utf-8")
    assert not buildcache._unchanged(prj, recorded)
    sys.modules.pop("vendorlib", None)
