"""Crashes and concurrency never corrupt committed state.

A ``semdag snapshot update`` killed with SIGKILL at a random moment leaves each baseline as
its old bytes or its new bytes, never a part, and no file semdag would read in its place; the
build cache and ``execute --out`` manifests likewise. Two writers at once both finish with
valid files, and a writer that has to wait says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from semdag.store import artifacts
from semdag.store.artifacts import atomic_write, atomic_write_chunks
from tests.conftest import FIXTURES, run_cli

FIXTURE = FIXTURES / "layered"
SEED = 20240611
KILLS = 8
EXECUTE_KILLS = 4
SNAPSHOT = Path("snapshots/dev")
TEMPORARY = re.compile(r"^\.(registry|graph)\.json\.[^/]+\.tmp$")


def semdag(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "semdag", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(root: Path, *args: str) -> tuple[int, str]:
    process = semdag(root, *args)
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode()


def set_owner(root: Path, owner: str) -> None:
    """Edit a tag, so that the next update has new bytes to write."""
    path = root / "stack" / "core.py"
    text = re.sub(r'owner="[^"]*"', f'owner="{owner}"', path.read_text(), count=1)
    path.write_text(text)


def baselines(root: Path) -> tuple[bytes, bytes]:
    return (root / SNAPSHOT / "registry.json").read_bytes(), (
        root / SNAPSHOT / "graph.json"
    ).read_bytes()


@pytest.fixture
def layered_copy(tmp_path: Path) -> Path:
    root = tmp_path / "layered"
    shutil.copytree(FIXTURE, root)
    return root


def assert_build_cache_readable(root: Path) -> None:
    for entry in (root / ".semdag" / "build-cache").glob("*.json"):
        json.loads(entry.read_text(encoding="utf-8"))  # atomic: whole, or not there


@pytest.mark.slow
def test_killed_snapshot_update_leaves_old_or_new_baselines(layered_copy: Path) -> None:
    root = layered_copy
    # The two states the loop moves between, and how long one full update takes.
    states: dict[str, tuple[bytes, bytes]] = {}
    durations = []
    for owner in ("team-a", "team-b"):
        set_owner(root, owner)
        started = time.monotonic()
        code, err = finish(root, "snapshot", "update")
        durations.append(time.monotonic() - started)
        assert code == 0, err
        states[owner] = baselines(root)
    assert states["team-a"][0] != states["team-b"][0]
    duration = max(durations)

    rng = random.Random(SEED)
    outcomes = {"old": 0, "new": 0}
    killed = 0
    for _ in range(KILLS):
        old = baselines(root)
        current = next(owner for owner, state in states.items() if state[0] == old[0])
        target = "team-b" if current == "team-a" else "team-a"
        set_owner(root, target)
        process = semdag(root, "snapshot", "update")
        time.sleep(rng.uniform(0, duration))
        killed += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

        registry, graph = baselines(root)
        assert registry in (old[0], states[target][0]), "a partial registry.json"
        assert graph in (old[1], states[target][1]), "a partial graph.json"
        outcomes["new" if registry == states[target][0] else "old"] += 1
        for leftover in (root / SNAPSHOT).iterdir():
            # Only the two baselines, or a temporary file semdag never reads as one.
            assert leftover.name in ("registry.json", "graph.json") or TEMPORARY.match(
                leftover.name
            ), leftover.name
        assert_build_cache_readable(root)

    # Most kills landed while the update ran (the rest after it had finished).
    assert killed >= KILLS // 2, (killed, outcomes)
    # A finished update repairs everything: no debris, and the check passes.
    done = run_cli(["snapshot", "update", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    assert sorted(p.name for p in (root / SNAPSHOT).iterdir()) == ["graph.json", "registry.json"]
    done = run_cli(["snapshot", "check", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr


def test_an_update_removes_temporary_files_a_killed_writer_left(layered_copy: Path) -> None:
    folder = layered_copy / SNAPSHOT
    folder.mkdir(parents=True)
    stale = folder / ".registry.json.k1ll3d.tmp"
    stale.write_text('{"kind": "semdag.reg')
    done = run_cli(["snapshot", "update", "--project-dir", str(layered_copy)])
    assert done.exit_code == 0, done.stderr
    assert not stale.exists()
    json.loads((folder / "registry.json").read_text())


def manifest_is_true(out: Path) -> bool:
    """No manifest, or one whose every file exists with the bytes it names."""
    manifest = out / "manifest.json"
    if not manifest.exists():
        return False
    document = json.loads(manifest.read_text(encoding="utf-8"))
    for item in document["outputs"]:
        data = (out / item["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"], item["file"]
        assert len(data) == item["bytes"]
    return True


@pytest.mark.slow
def test_killed_execute_never_leaves_a_manifest_that_lies(layered_copy: Path) -> None:
    root = layered_copy
    out = root / "out"
    started = time.monotonic()
    code, err = finish(root, "execute", "--out", "out", "-f", "json", "--input", "seed=1")
    duration = time.monotonic() - started
    assert code == 0, err
    assert manifest_is_true(out)
    rng = random.Random(SEED)
    for seed in range(2, 2 + EXECUTE_KILLS):
        process = semdag(root, "execute", "--out", "out", "-f", "json", "--input", f"seed={seed}")
        time.sleep(rng.uniform(0, duration))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        manifest_is_true(out)
    done = run_cli(["execute", "--out", "out", "-f", "json", "--input", "seed=99"], cwd=root)
    assert done.exit_code == 0, done.stderr
    assert manifest_is_true(out)
    assert json.loads((out / "score.json").read_text()) == 99 * 1.5 * 3.0


@pytest.mark.slow
def test_two_updates_at_once_both_finish_with_valid_files(layered_copy: Path) -> None:
    root = layered_copy
    done = run_cli(["snapshot", "update", "--project-dir", str(root)])
    assert done.exit_code == 0, done.stderr
    expected = baselines(root)
    shutil.rmtree(root / "snapshots")
    first = semdag(root, "snapshot", "update", "--no-cache")
    second = semdag(root, "snapshot", "update", "--no-cache")
    for process in (first, second):
        _, err_bytes = process.communicate(timeout=120)
        assert process.returncode == 0, err_bytes.decode()
    assert baselines(root) == expected
    assert sorted(p.name for p in (root / SNAPSHOT).iterdir()) == ["graph.json", "registry.json"]


@pytest.mark.slow
def test_a_writer_that_waits_for_the_lock_says_so(layered_copy: Path) -> None:
    from filelock import FileLock

    root = layered_copy
    code, err = finish(root, "registry")  # warm the build cache: the wait is the lock's
    assert code == 0, err
    lines: queue.Queue[str] = queue.Queue()
    (root / ".semdag").mkdir(exist_ok=True)
    with FileLock(str(root / ".semdag" / "snapshots.lock")):
        process = semdag(root, "snapshot", "update")
        assert process.stderr is not None
        stream = process.stderr
        threading.Thread(
            target=lambda: [lines.put(line.decode()) for line in stream], daemon=True
        ).start()
        # Hold the lock until the writer says it is waiting (or give up after a minute).
        said = lines.get(timeout=60)
        assert process.poll() is None, "the update must wait for the lock"
    assert process.wait(timeout=60) == 0
    assert said.startswith("waiting for another semdag process to finish writing snapshots/")
    assert "(lock .semdag/snapshots.lock" in said
    assert lines.qsize() <= 1 and not any("waiting" in line for line in list(lines.queue))
    json.loads((root / SNAPSHOT / "registry.json").read_text())


# --- atomic_write: what it must not do to what is already there -------------------------------


def test_atomic_write_gives_new_files_the_usual_mode_and_keeps_an_existing_mode(
    tmp_path: Path,
) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    fresh = tmp_path / "fresh.json"
    atomic_write(fresh, "{}\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    kept.chmod(0o640)
    atomic_write(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"


def test_chunked_write_leaves_identical_bytes_untouched(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(artifacts, "_BATCH_CHARS", 5)  # several batches
    path = tmp_path / "graph.json"
    text = ["{\n", '  "größe": ', '"ünïcode ✓"', "\n}", "\n"]
    assert atomic_write_chunks(path, iter(text)) is True
    assert path.read_text(encoding="utf-8") == "".join(text)
    os.utime(path, (1_000_000, 1_000_000))
    assert atomic_write_chunks(path, iter(text)) is False
    assert path.stat().st_mtime == 1_000_000, "an identical file is not rewritten"
    assert atomic_write_chunks(path, iter([*text[:-1], "\n\n"])) is True
    assert path.read_text(encoding="utf-8").endswith("}\n\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json"], "no temporary left"


def test_atomic_write_writes_through_a_link_and_into_a_pipe(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and target.read_text() == "new"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, "streamed")
    reader.join(timeout=10)
    assert received == [b"streamed"]
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the pipe is still a pipe"

    # A device behind a link (`-o /dev/full`): written to, so the error surfaces, never
    # replaced by a regular file.
    full = tmp_path / "full"
    full.symlink_to("/dev/full")
    with pytest.raises(OSError):
        atomic_write(full, "x")
    assert full.is_symlink() and stat.S_ISCHR(Path("/dev/full").stat().st_mode)
