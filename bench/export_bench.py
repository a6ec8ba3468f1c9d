"""``semdag export --format hamilton`` against Hamilton's ``Driver.export_execution``.

Two comparisons on generated stacks (see :mod:`bench.generate`), each checking first that
both sides produce the same bytes:

- whole process: ``python -m semdag export -f hamilton -o FILE`` against a script that
  imports the same modules, builds the Driver with Hamilton's Builder and writes
  ``export_execution``'s string;
- in process: on one already-built driver, semdag's export step
  (:func:`semdag.hamilton.export.hamilton_export`) against ``driver.export_execution`` alone.

``python -m bench.export_bench [--nodes 5000 --nodes 20000] [--repeat N] [--workdir DIR]``
prints a table; the functions return the numbers for other harnesses.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from bench.generate import generate

SIZES = (5000, 20000)

# The Hamilton-only side of the whole-process comparison: what a user would write.
HAMILTON_SCRIPT = """
import importlib, sys
import yaml
root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
with open(root + "/configs/dev.yaml") as handle:
    profile = yaml.safe_load(handle)
from hamilton import driver
modules = [importlib.import_module(m) for layer in profile["stack"].values() for m in layer]
dr = (
    driver.Builder()
    .with_modules(*modules)
    .with_config(profile.get("config") or {})
    .allow_module_overrides()
    .build()
)
final_vars = sorted(n for n, node in dr.graph.nodes.items() if not node.user_defined)
text = dr.export_execution(final_vars, profile.get("inputs") or {}, profile.get("overrides") or {})
with open(out, "w") as handle:
    handle.write(text + "\\n")
"""


class Timing(NamedTuple):
    """Best seconds of semdag's side and of Hamilton's side of one comparison."""

    semdag_s: float
    hamilton_s: float


def prepare(nodes: int, workdir: Path, *, seed: int = 0) -> Path:
    """A generated project of ``nodes`` nodes under ``workdir`` (reused when already there)."""
    root = workdir / f"stack{nodes}_{seed}"
    marker = root / ".generated"
    if not marker.is_file():
        generate(root, nodes, seed=seed, package=f"gen{nodes}_{seed}")
        marker.write_text("ok\n")
    return root


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def whole_process(root: Path, *, repeat: int = 1) -> Timing:
    """Best wall time of each command over ``repeat`` alternating runs, in seconds."""
    env = {**os.environ, "SEMDAG_NO_BUILD_CACHE": "1", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        ours_out, theirs_out = Path(tmp) / "semdag.json", Path(tmp) / "hamilton.json"
        ours_cmd = [
            sys.executable, "-m", "semdag", "export", "-f", "hamilton",
            "--project-dir", str(root), "-o", str(ours_out),
        ]  # fmt: skip
        theirs_cmd = [sys.executable, "-c", HAMILTON_SCRIPT, str(root), str(theirs_out)]
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(repeat):
            for command, times in ((ours_cmd, ours), (theirs_cmd, theirs)):
                start = time.perf_counter()
                subprocess.run(command, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
        if ours_out.read_bytes() != theirs_out.read_bytes():
            raise AssertionError(f"semdag and Hamilton exports differ for {root}")
    return Timing(min(ours), min(theirs))


def in_process(root: Path, *, repeat: int = 3, baselines: bool = False) -> Timing:
    """Best time of each export step on one already-built driver, in seconds.

    ``baselines=True`` gives semdag's step what ``semdag export`` gives it in a project with
    committed snapshots (run ``semdag snapshot update`` first): the hashes of unchanged
    functions. Otherwise every function is parsed and hashed from scratch, as Hamilton does.
    """
    from semdag.app.session import Session
    from semdag.config.profile import load_profile
    from semdag.config.project import find_project
    from semdag.hamilton.build import build
    from semdag.hamilton.export import hamilton_export

    project = find_project(explicit=root)
    profile = load_profile(project)
    if baselines and not (project.snapshots_path / profile.name / "graph.json").is_file():
        raise FileNotFoundError(f"no baselines in {root}: run `semdag snapshot update` first")
    driver = build(project, profile).driver
    final_vars = sorted(n for n, node in driver.graph.nodes.items() if not node.user_defined)
    inputs, overrides = dict(profile.inputs), dict(profile.overrides)
    session = Session(command="bench", project_dir=root)

    def ours() -> str:
        # A fresh index each time: nothing carries over from the previous run.
        index = (
            session.source_index(profile.name, with_source=True, hamilton=True)
            if baselines
            else None
        )
        return hamilton_export(driver, final_vars, inputs, overrides, index=index)

    semdag_times: list[float] = []
    hamilton_times: list[float] = []
    texts: dict[str, str] = {}
    for _ in range(repeat):
        seconds, texts["semdag"] = _timed(ours)
        semdag_times.append(seconds)
        seconds, texts["hamilton"] = _timed(
            lambda: driver.export_execution(final_vars, inputs, overrides)
        )
        hamilton_times.append(seconds)
    if texts["semdag"] != texts["hamilton"]:
        raise AssertionError(f"semdag and Hamilton exports differ for {root}")
    return Timing(min(semdag_times), min(hamilton_times))


def measure(
    sizes: Sequence[int] = SIZES,
    *,
    workdir: Path | None = None,
    repeat: int = 2,
) -> list[dict[str, Any]]:
    """Both comparisons for each stack size, in one run."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base = workdir or Path(tmp)
        for size in sizes:
            root = prepare(size, base)
            whole = whole_process(root, repeat=repeat)
            inner = in_process(root, repeat=max(repeat, 2))
            results.append(
                {
                    "nodes": size,
                    "process_semdag_s": whole.semdag_s,
                    "process_hamilton_s": whole.hamilton_s,
                    "export_semdag_s": inner.semdag_s,
                    "export_hamilton_s": inner.hamilton_s,
                }
            )
    return results


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """The measurements as a plain-text table."""
    lines = [
        f"{'nodes':>7}  {'process: semdag':>16}  {'hamilton':>9}  {'speed-up':>8}  "
        f"{'export step: semdag':>20}  {'hamilton':>9}  {'speed-up':>8}"
    ]
    for r in results:
        lines.append(
            f"{r['nodes']:>7}  {r['process_semdag_s']:>15.2f}s  {r['process_hamilton_s']:>8.2f}s  "
            f"{r['process_hamilton_s'] / r['process_semdag_s']:>7.1f}x  "
            f"{r['export_semdag_s']:>19.2f}s  {r['export_hamilton_s']:>8.2f}s  "
            f"{r['export_hamilton_s'] / r['export_semdag_s']:>7.1f}x"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run :func:`measure` and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.export_bench")
    parser.add_argument("--nodes", type=int, action="append", help="stack size (repeatable)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best kept)")
    parser.add_argument("--workdir", type=Path, help="keep generated stacks here")
    args = parser.parse_args(argv)
    results = measure(args.nodes or SIZES, workdir=args.workdir, repeat=args.repeat)
    sys.stdout.write(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
