"""``make bench``: semdag against its peers, whole process against whole process.

Every figure is a median over ``--runs`` runs (min–max shown), measured side by side in the
same run, and reported as a ratio against the peer with its target. Sizes and runs can be
made tiny (``--sizes 200 --runs 1``) to prove the harness works without measuring anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.generate import generate

PYTHON = sys.executable
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Sample:
    """Wall time (s) and peak resident memory (MiB) of one process."""

    seconds: float
    peak_mib: float


@dataclass(frozen=True)
class Series:
    samples: tuple[Sample, ...]

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak(self) -> float:
        return statistics.median(s.peak_mib for s in self.samples)

    def spread(self) -> str:
        times = [s.seconds for s in self.samples]
        return f"{self.median:.3f}s ({min(times):.3f}–{max(times):.3f})"


def run_once(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run a whole process; its own peak RSS comes from wait4, not from all children."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    err = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{err[-2000:]}")
    return Sample(elapsed, usage.ru_maxrss / 1024)


def measure(
    command: Sequence[str], cwd: Path, runs: int, env: dict[str, str] | None = None
) -> Series:
    """``runs`` samples of one command."""
    return Series(tuple(run_once(command, cwd, env) for _ in range(runs)))


@dataclass(frozen=True)
class Row:
    name: str
    ours: str
    peer: str
    ratio: float
    target: float | None

    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "ok" if self.ratio <= self.target else "MISSED"


def semdag(*args: str) -> list[str]:
    return [PYTHON, "-m", "semdag", *args]


def peer(mode: str, root: Path) -> list[str]:
    return [PYTHON, "-m", "bench.peers", mode, str(root), "dev"]


def bench_size(root: Path, runs: int, *, largest: bool = True) -> list[Row]:
    """Rows 2–5 for one generated stack.

    The whole-process export target is set on the largest stack (20,000 nodes by default);
    on smaller ones the row shows how the ratio grows, fixed start-up costs weighing more.
    """
    project = ["--project-dir", str(root), "-p", "dev"]
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rows = []
    ours = measure(semdag("export", "--format", "hamilton", "--no-cache", *project), root, runs)
    theirs = measure(peer("export", root), root, runs, env)
    rows.append(
        Row(
            "export --format hamilton (process)",
            ours.spread(),
            theirs.spread(),
            ours.median / theirs.median,
            0.45 if largest else None,
        )
    )
    update = semdag("snapshot", "update", *project, "--no-cache")
    run_once(update, root)
    with_baselines = measure(
        semdag("export", "--format", "hamilton", "--no-cache", *project), root, runs
    )
    rows.append(
        Row(
            "export, with baselines (process)",
            with_baselines.spread(),
            theirs.spread(),
            with_baselines.median / theirs.median,
            None,
        )
    )
    cold = measure(semdag("snapshot", "check", "--no-cache", *project), root, runs)
    floor = measure(peer("floor", root), root, runs, env)
    rows.append(
        Row(
            "cold snapshot check vs floor build",
            cold.spread(),
            floor.spread(),
            cold.median / floor.median,
            1.3,
        )
    )
    warm_cmd = semdag("snapshot", "check", *project)
    run_once(warm_cmd, root)  # writes the build cache that the warm samples read
    warm = measure(warm_cmd, root, runs)
    rows.append(
        Row(
            "warm snapshot check vs cold",
            warm.spread(),
            cold.spread(),
            warm.median / cold.median,
            0.15,
        )
    )
    rows.append(
        Row(
            "peak memory: cold check vs floor",
            f"{cold.peak:.0f} MiB",
            f"{floor.peak:.0f} MiB",
            cold.peak / floor.peak,
            1.2,
        )
    )
    return rows


def in_process_export(root: Path) -> list[Row]:
    """semdag's export step against ``export_execution`` on one already-built driver: from
    scratch, and with the hashes the committed baselines hold (as ``semdag export`` runs)."""
    from bench.export_bench import in_process

    rows = []
    for baselines, name in ((False, "from scratch"), (True, "with baselines")):
        ours, theirs = in_process(root, baselines=baselines)
        rows.append(
            Row(
                f"export step, {name} (in process)",
                f"{ours:.3f}s",
                f"{theirs:.3f}s",
                ours / theirs,
                0.10,
            )
        )
    return rows


def _seconds(spread: str) -> float:
    """The median of a ``Series.spread()`` text."""
    return float(spread.split("s", 1)[0])


def table(title: str, rows: list[Row]) -> str:
    lines = [f"\n{title}", f"{'measure':<40} {'semdag':>26} {'peer':>26} {'ratio':>7} target"]
    for row in rows:
        target = f"≤ {row.target:g} {row.verdict()}" if row.target is not None else ""
        lines.append(f"{row.name:<40} {row.ours:>26} {row.peer:>26} {row.ratio:>7.3f} {target}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "1000,5000,20000"))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    runs = max(1, args.runs)
    hamilton = BIN / "hamilton"
    out: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="semdag-bench-"))
    try:
        help_ours = measure(semdag("--help"), scratch, runs)
        help_rows = []
        if hamilton.exists():
            help_theirs = measure([str(hamilton), "--help"], scratch, runs)
            help_rows.append(
                Row(
                    "--help (process)",
                    help_ours.spread(),
                    help_theirs.spread(),
                    help_ours.median / help_theirs.median,
                    0.25,
                )
            )
        out.append(table(f"start-up ({runs} runs each, median (min–max))", help_rows))
        growth = []
        for size in sizes:
            root = scratch / f"stack{size}"
            generate(root, size)
            rows = bench_size(root, runs, largest=size == max(sizes))
            if size == max(sizes):
                rows[1:1] = in_process_export(root)
            out.append(table(f"{size} nodes", rows))
            growth.append((size, rows))
            print(out[-1], flush=True)
        if len(growth) > 1:
            lines = ["\ngrowth (cold snapshot check, export) per size"]
            previous: tuple[int, list[Row]] | None = None
            for size, rows in growth:
                line = f"  {size:>6} nodes: check {rows[-3].ours}, export {rows[0].ours}"
                if previous is not None:
                    factor = size / previous[0]
                    check = _seconds(rows[-3].ours) / _seconds(previous[1][-3].ours)
                    export = _seconds(rows[0].ours) / _seconds(previous[1][0].ours)
                    line += f"  ({factor:g}x nodes: check {check:.1f}x, export {export:.1f}x)"
                lines.append(line)
                previous = (size, rows)
            out.append("\n".join(lines))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(out[0])
    if len(out) > len(sizes) + 1:
        print(out[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
