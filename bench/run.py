"""``make bench``: semdag against its peers, whole process against whole process, on every
shape of stack in :mod:`bench.shapes`.

Every figure is a median over the runs (min–max shown), ours and the peer's measured side by
side in the same run (alternately, so that load on a shared machine falls on both), and
reported as a ratio against the peer with its target. A target holds only if it holds on
every shape: the summary names, per target, the worst shape at the largest size it ran.

Knobs (options or environment): ``--sizes``/``BENCH_SIZES`` (default 1000,5000,20000;
``make bench-large`` runs 5000,20000,60000,100000),
``--shapes``/``BENCH_SHAPES`` (default all), ``--largest-shapes``/``BENCH_LARGEST_SHAPES``
(the shapes run at the largest size; default all), ``--runs``/``BENCH_RUNS`` (default 3).
``--sizes 40,160 --runs 1`` proves the harness works without measuring anything.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.generate import generate
from bench.shapes import SHAPES, Shape

PYTHON = sys.executable
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent

# Targets: (ratio, what the ratio is against). Growth is per 4x nodes (5,000 to 20,000).
HELP = "semdag --help vs hamilton --help"
EXPORT = "export --format hamilton --no-cache, no .semdag/ vs Hamilton export script"
COLD = "cold snapshot check, no .semdag/ vs floor"
EDITED = "snapshot check after editing one module vs floor"
WARM = "warm snapshot check, nothing changed vs cold"
MEMORY = "peak memory: cold check vs floor"
GROWTH = "growth of a cold check per 4x nodes"
STEP = "export step alone, in process (retired target: info)"
TARGETS: dict[str, float] = {
    HELP: 0.25,
    EXPORT: 0.45,
    COLD: 1.3,
    EDITED: 0.5,
    WARM: 0.15,
    MEMORY: 1.2,
    GROWTH: 4.5,
}


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

    def memory(self) -> str:
        peaks = [s.peak_mib for s in self.samples]
        return f"{self.peak:.0f} MiB ({min(peaks):.0f}–{max(peaks):.0f})"


def run_once(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    stdout: Path | None = None,
) -> Sample:
    """Run a whole process in this one's environment with ``env``'s changes (None: removed);
    its own peak RSS comes from wait4, not from all children."""
    changed = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environment = {k: v for k, v in changed.items() if v is not None}
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    try:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.PIPE,
            env=environment,
        )
        assert process.stderr is not None
        err = process.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        if stdout:
            out.close()  # type: ignore[union-attr]
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{err[-2000:]}")
    return Sample(elapsed, usage.ru_maxrss / 1024)


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
        return "met" if self.ratio <= self.target else "NOT MET"


def semdag(*args: str) -> list[str]:
    return [PYTHON, "-m", "semdag", *args]


def peer(mode: str, root: Path) -> list[str]:
    return [PYTHON, "-m", "bench.peers", mode, str(root), "dev"]


class Editor:
    """Edits one module of a stack the way a person does (one weight of one function), a new
    value each time, and puts the file back afterwards."""

    def __init__(self, root: Path, package: str) -> None:
        modules = sorted((root / package / "core").rglob("m*.py"))
        self.path = modules[len(modules) // 2]
        self.original = self.path.read_text(encoding="utf-8")
        self.count = 0

    def edit(self) -> None:
        self.count += 1
        text, n = re.subn(
            r" \* (\d+\.\d+)", f" * 7.{self.count:04d}", self.original, count=1
        )  # a plain function's weight
        if not n:
            text = self.original + f"\n\ndef bench_edit_{self.count}() -> float:\n    return 1.0\n"
        self.path.write_text(text, encoding="utf-8")

    def restore(self) -> None:
        self.path.write_text(self.original, encoding="utf-8")


def bench_stack(
    root: Path, package: str, shape: Shape, runs: int, *, in_process: bool
) -> tuple[list[Row], Series]:
    """The rows of one generated stack, and its cold checks (for growth)."""
    project = ["--project-dir", str(root), "-p", "dev"]
    env = shape.env()
    state = root / ".semdag"

    def fresh() -> None:
        shutil.rmtree(state, ignore_errors=True)

    # Untimed: warm the page cache (and the bytecode cache where the shape allows one) and
    # write the committed baselines that snapshot check compares against.
    run_once(peer("floor", root), root, env)
    run_once(semdag("snapshot", "update", "--no-cache", *project), root, env)
    editor = Editor(root, package)
    series: dict[str, list[Sample]] = {
        k: [] for k in ("export", "peer", "cold", "floor", "warm", "edited")
    }
    outputs = root.parent / f"{root.name}-out"
    outputs.mkdir(exist_ok=True)
    export = semdag("export", "-f", "hamilton", "--no-cache", *project)
    steps: list[tuple[str, Callable[[], None] | None, list[str], Path | None]] = [
        ("export", fresh, export, outputs / "ours.json"),
        ("peer", None, peer("export", root), outputs / "peer.json"),
        ("cold", fresh, semdag("snapshot", "check", *project), None),
        ("floor", None, peer("floor", root), None),
        ("warm", None, semdag("snapshot", "check", *project), None),
        ("edited", editor.edit, semdag("snapshot", "check", *project), None),
    ]  # fmt: skip
    for run in range(runs):
        for key, prepare, command, stdout in steps:
            if prepare:
                prepare()
            series[key].append(run_once(command, root, env, stdout if run == 0 else None))
        editor.restore()
    same = (outputs / "ours.json").read_bytes() == (outputs / "peer.json").read_bytes()
    s = {k: Series(tuple(v)) for k, v in series.items()}
    rows = [
        compare(EXPORT + ("" if same else " (OUTPUT DIFFERS)"), s["export"], s["peer"], EXPORT),
        compare(COLD, s["cold"], s["floor"]),
        compare(EDITED, s["edited"], s["floor"]),
        compare(WARM, s["warm"], s["cold"]),
        compare(MEMORY, s["cold"], s["floor"]),
    ]
    if in_process:
        rows.append(export_step(root))
    return rows, s["cold"]


def compare(name: str, ours: Series, theirs: Series, target: str | None = None) -> Row:
    """A row of ``ours`` against ``theirs``: peak memory for :data:`MEMORY`, else wall time."""
    limit = TARGETS[target or name]
    if name == MEMORY:
        return Row(name, ours.memory(), theirs.memory(), ours.peak / theirs.peak, limit)
    return Row(name, ours.spread(), theirs.spread(), ours.median / theirs.median, limit)


def export_step(root: Path) -> Row:
    """semdag's export step against ``export_execution`` on one already-built driver, from
    scratch, in one process (the retired 0.10 target, shown for information).

    That process is a child, never this one: on Linux a process started from a large one
    begins with the large one's peak memory as its own, so a driver built here would inflate
    every later peak-memory measure.
    """
    code = (
        "import sys; from pathlib import Path; from bench.export_bench import in_process; "
        "print(*in_process(Path(sys.argv[1]), repeat=1))"
    )
    done = subprocess.run(
        [PYTHON, "-c", code, str(root)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    ours, theirs = map(float, done.stdout.split()[-2:])
    return Row(STEP, f"{ours:.3f}s", f"{theirs:.3f}s", ours / theirs, None)


def machine() -> str:
    """Cores, CPU model, Python and Hamilton versions, and the load when the run started."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    done = subprocess.run(
        [PYTHON, "-c", "import hamilton.version as v; print('.'.join(map(str, v.VERSION)))"],
        capture_output=True,
        text=True,
        check=False,
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores ({usable} usable), {model}; "
        f"Python {platform.python_version()}; Hamilton {done.stdout.strip() or '?'}; "
        f"load average {load}"
    )


def table(title: str, rows: list[Row]) -> str:
    lines = [
        f"\n{title}",
        f"{'measure':<72} {'semdag':>26} {'peer':>26} {'ratio':>7} {'target':>7} verdict",
    ]
    for row in rows:
        target = f"≤ {row.target:g}" if row.target is not None else ""
        lines.append(
            f"{row.name:<72} {row.ours:>26} {row.peer:>26} {row.ratio:>7.3f} {target:>7} "
            f"{row.verdict()}".rstrip()
        )
    return "\n".join(lines)


def growth_row(shape: str, sizes: list[tuple[int, Series]]) -> Row | None:
    """A cold check at the largest size against the next smaller one; the target (4.5 for
    4x nodes) scales with the size step."""
    if len(sizes) < 2:
        return None
    (small, before), (large, after) = sizes[-2], sizes[-1]
    step = large / small
    return Row(
        f"{GROWTH}: {shape}, {small}→{large} ({step:g}x nodes)",
        after.spread(),
        before.spread(),
        after.median / before.median,
        TARGETS[GROWTH] * step / 4,
    )


def summary(results: dict[str, tuple[int, list[Row]]], extra: list[tuple[str, Row]]) -> str:
    """Per target, the worst shape at the largest size each shape ran."""
    lines = [
        "\nsummary: a target holds only if it holds on every shape (worst shape shown)",
        f"{'target':<72} {'worst shape':>28} {'ratio':>7} {'target':>7} verdict",
    ]
    for target, limit in TARGETS.items():
        found: list[tuple[float, str, float]] = []
        for shape, (size, rows) in results.items():
            found += [
                (r.ratio, f"{shape} @ {size}", r.target or limit)
                for r in rows
                if r.name.startswith(target)
            ]
        found += [
            (r.ratio, where, r.target or limit) for where, r in extra if r.name.startswith(target)
        ]
        if not found:
            continue
        ratio, where, bound = max(found, key=lambda f: f[0] / f[2])
        verdict = "met" if all(f[0] <= f[2] for f in found) else "NOT MET"
        lines.append(f"{target:<72} {where:>28} {ratio:>7.3f} {f'≤ {bound:g}':>7} {verdict}")
    return "\n".join(lines)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "1000,5000,20000"))
    parser.add_argument("--shapes", default=os.environ.get("BENCH_SHAPES", ",".join(SHAPES)))
    parser.add_argument(
        "--largest-shapes", default=os.environ.get("BENCH_LARGEST_SHAPES", ""),
        help="shapes run at the largest size (default: every shape)",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    parser.add_argument(
        "--in-process", default=os.environ.get("BENCH_IN_PROCESS", "largest"),
        choices=("largest", "all", "none"), help="where to time the export step in process",
    )  # fmt: skip
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in _names(args.sizes))
    shapes = _names(args.shapes)
    unknown = [name for name in shapes if name not in SHAPES]
    if unknown or not sizes:
        parser.error(
            f"unknown shape {unknown} (known: {', '.join(SHAPES)})" if unknown else "no sizes"
        )
    largest = _names(args.largest_shapes) or shapes
    runs = max(1, args.runs)
    print(machine(), flush=True)
    print(f"{runs} runs per measure, median (min–max); lower is better", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="semdag-bench-"))
    results: dict[str, tuple[int, list[Row]]] = {}
    colds: dict[str, list[tuple[int, Series]]] = {name: [] for name in shapes}
    try:
        hamilton = BIN / "hamilton"
        ours = [run_once(semdag("--help"), scratch) for _ in range(runs)]
        theirs = [run_once([str(hamilton), "--help"], scratch) for _ in range(runs)]
        help_row = compare(HELP, Series(tuple(ours)), Series(tuple(theirs)))
        print(table("start-up", [help_row]), flush=True)
        for size in sizes:
            for name in shapes:
                if size == sizes[-1] and len(sizes) > 1 and name not in largest:
                    continue
                shape = SHAPES[name]
                package = f"gen_{name.replace('-', '_')}_{size}"
                root = scratch / f"{name}-{size}"
                stack = generate(root, size, shape=shape, package=package)
                started = time.perf_counter()
                step = args.in_process == "all" or (
                    args.in_process == "largest" and size == sizes[-1]
                )
                rows, cold = bench_stack(root, package, shape, runs, in_process=step)
                colds[name].append((size, cold))
                results[name] = (size, rows)
                title = (
                    f"{name} @ {size} nodes: {shape.description}; {stack.modules} modules "
                    f"({time.perf_counter() - started:.0f}s)"
                )
                print(table(title, rows), flush=True)
                shutil.rmtree(root, ignore_errors=True)
        growth = [(name, row) for name in shapes if (row := growth_row(name, colds[name]))]
        if growth:
            print(table("growth (cold snapshot check)", [row for _, row in growth]), flush=True)
        print(summary(results, [("all", help_row), *growth]))
        print(machine().replace("machine:", "machine at the end:"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
