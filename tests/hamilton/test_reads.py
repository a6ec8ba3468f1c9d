"""The recording of what a build read: each kind of read is seen, and a change to any
recorded input is a change (:meth:`Reads.changed`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from semdag.hamilton.reads import reads_of, recording
from semdag.hamilton.record import Reads


def relative_to(root: Path):
    def relative(path: str) -> str:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()

    return relative


def record(root: Path, work) -> Reads:
    with recording(root) as recorder:
        work()
    return reads_of(recorder, relative_to(root))


def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.txt").write_text("a")
    (root / "data" / "b.txt").write_text("b")
    (root / "features.json").write_text("[1]")
    return root


def reading(root: Path, variable: str):
    """What a module's import might do: open a file, list a folder, test a path, read a
    variable (set or not)."""

    def work() -> None:
        (root / "features.json").read_bytes()
        os.listdir(root / "data")
        (root / "flag").exists()
        os.environ.get(variable)
        os.getenv(variable + "_UNSET")

    return work


def test_each_kind_of_read_is_recorded(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.setenv("SEMDAG_T_READ", "1")
    reads = record(root, reading(root, "SEMDAG_T_READ"))
    assert dict(reads.files)["features.json"] is not None
    assert dict(reads.listings)["data"] is not None
    assert dict(reads.probes)["flag"] == "absent"
    assert dict(reads.env) == {"SEMDAG_T_READ": "1", "SEMDAG_T_READ_UNSET": None}
    assert reads.uncacheable is None
    assert reads.changed(root) is None


def test_nothing_is_recorded_outside_a_recording(tmp_path):
    root = project(tmp_path)
    with recording(root) as recorder:
        pass
    (root / "features.json").read_text()
    os.environ.get("SEMDAG_T_OUTSIDE")
    reads = reads_of(recorder, relative_to(root))
    assert reads.files == () and reads.env == ()
    assert type(os.environ).__name__ == "_Environ"
    assert os.stat.__module__ in ("os", "posix")


# One change to each kind of recorded input, applied after the recording.
CHANGES = {
    "file edited": lambda root, mp: (root / "features.json").write_text("[1, 2]"),
    "file removed": lambda root, mp: (root / "features.json").unlink(),
    "folder gains an entry": lambda root, mp: (root / "data" / "c.txt").write_text("c"),
    "folder loses an entry": lambda root, mp: (root / "data" / "a.txt").unlink(),
    "tested path appears": lambda root, mp: (root / "flag").write_text(""),
    "variable changed": lambda root, mp: mp.setenv("SEMDAG_T_PROP", "2"),
    "variable unset": lambda root, mp: mp.delenv("SEMDAG_T_PROP"),
    "unset variable set": lambda root, mp: mp.setenv("SEMDAG_T_PROP_UNSET", "x"),
}


@settings(max_examples=20, deadline=None)
@given(change=st.sampled_from(sorted(CHANGES)), content=st.binary(min_size=1, max_size=20))
def test_a_change_to_any_recorded_input_is_a_change(tmp_path_factory, change, content):
    import pytest

    root = project(tmp_path_factory.mktemp("prop"))
    (root / "features.json").write_bytes(content)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMDAG_T_PROP", "1")
        mp.delenv("SEMDAG_T_PROP_UNSET", raising=False)
        reads = record(root, reading(root, "SEMDAG_T_PROP"))
        assert reads.changed(root) is None
        CHANGES[change](root, mp)
        assert reads.changed(root) is not None, change
        # And the record survives its JSON form unchanged.
        assert Reads.from_dict(reads.as_dict()).changed(root) is not None


def test_a_subprocess_makes_the_record_uncacheable(tmp_path):
    root = project(tmp_path)
    reads = record(root, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    assert reads.uncacheable == "the build started a subprocess while building the graph"


def test_a_module_found_elsewhere_is_a_change(tmp_path, monkeypatch):
    root = project(tmp_path)
    first, second = tmp_path / "v1", tmp_path / "v2"
    for folder, value in ((first, 1), (second, 2)):
        folder.mkdir()
        (folder / "semdag_t_where.py").write_text(f"VALUE = {value}\n")
    monkeypatch.syspath_prepend(str(first))
    monkeypatch.delitem(sys.modules, "semdag_t_where", raising=False)
    reads = record(root, lambda: __import__("semdag_t_where"))
    assert reads.changed(root) is None
    monkeypatch.syspath_prepend(str(second))
    assert reads.changed(root) == "where module semdag_t_where is found"
    sys.modules.pop("semdag_t_where", None)


def test_project_code_walking_the_environment_keys_on_names_and_values(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.setenv("SEMDAG_T_WALKED", "1")
    reads = record(root, lambda: dict(os.environ))  # this file is project code here
    assert reads.env_names is not None
    assert dict(reads.env)["SEMDAG_T_WALKED"] == "1"
    monkeypatch.setenv("SEMDAG_T_WALKED", "2")
    assert reads.changed(root) == "environment variable SEMDAG_T_WALKED"
    monkeypatch.setenv("SEMDAG_T_WALKED_NEW", "x")
    monkeypatch.setenv("SEMDAG_T_WALKED", "1")
    assert reads.changed(root) == "the set of environment variables"


def test_a_recording_holds_nothing_of_the_code_it_recorded_once_it_ends(tmp_path):
    # The work that walked the environment leaves its frame, and through it its caller's
    # objects: none may outlive the recording (a build would stay in memory for good).
    import gc
    import weakref

    class Driver:
        """Stands for a built driver, held only by the frame that made it."""

    made: list[weakref.ref[Driver]] = []

    def build() -> None:
        driver = Driver()
        made.append(weakref.ref(driver))
        dict(os.environ)  # this file is project code here: its frame is the walker

    gc.disable()  # only reference counting may free it: as in a process whose heap is frozen
    try:
        reads = record(project(tmp_path), build)
        assert reads.env_names is not None
        assert made[0]() is None
    finally:
        gc.enable()


def test_what_the_operating_system_says_of_the_running_machine_is_no_input(tmp_path):
    # dask and psutil read /proc and /sys when imported: were those reads recorded, no
    # build would ever be cached (/proc/<pid>/... names another file in every process).
    def machine() -> None:
        for path in ("/proc/self/stat", "/proc/meminfo", "/sys/fs/cgroup/cpu.max"):
            if os.path.exists(path):
                with open(path, "rb") as handle:
                    handle.read()
        os.listdir("/proc/self")
        os.path.isdir("/sys/fs/cgroup")
        with open("/dev/null", "rb") as handle:
            handle.read()

    root = project(tmp_path)
    reads = record(root, machine)
    named = [*reads.files, *reads.listings, *reads.probes]
    assert not [name for name, _ in named if name.startswith(("/proc", "/sys", "/dev"))]
    assert reads.changed(root) is None
    # A file of the project read alongside still is one.
    both = record(root, lambda: (machine(), (root / "features.json").read_text()))
    assert [name for name, _ in both.files] == ["features.json"]


def test_a_library_walking_the_environment_keys_on_nothing_of_it(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.setenv("SEMDAG_T_LIB_WALKED", "1")
    # Code whose file is inside the interpreter's prefix counts as an installed library's.
    library = compile("copied = dict(os.environ)", os.path.join(sys.prefix, "lib", "x.py"), "exec")
    reads = record(root, lambda: exec(library, {"os": os}))
    assert reads.env_names is None
    assert "SEMDAG_T_LIB_WALKED" not in dict(reads.env)
    monkeypatch.setenv("SEMDAG_T_LIB_WALKED", "2")
    assert reads.changed(root) is None


def test_a_variable_the_build_sets_itself_is_not_part_of_the_key(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.delenv("SEMDAG_T_SELF_SET", raising=False)

    def work() -> None:
        if os.environ.get("SEMDAG_T_SELF_SET") is None:
            os.environ["SEMDAG_T_SELF_SET"] = "set at import"

    reads = record(root, work)
    # The same process builds again: the variable is set now, by the build before, and the
    # answer is the same.
    assert "SEMDAG_T_SELF_SET" not in dict(reads.env)
    assert reads.changed(root) is None
