"""`make bench` works end to end at a tiny size (a smoke test: it measures nothing)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_harness_prints_the_ratio_table():
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--sizes", "40,60", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for measure in (
        "--help (process)",
        "export --format hamilton (process)",
        "cold snapshot check vs floor build",
        "warm snapshot check vs cold",
        "peak memory: cold check vs floor",
        "export step, from scratch (in process)",
        "export step, with baselines (in process)",
    ):
        # The last row of each measure is the largest stack's, which carries the target.
        rows = [ln for ln in done.stdout.splitlines() if ln.startswith(measure)]
        assert rows, f"{measure!r} missing from:\n{done.stdout}"
        assert re.search(r" \d+\.\d{3} ≤ [\d.]+ (ok|MISSED)$", rows[-1]), rows[-1]
    info = next(ln for ln in done.stdout.splitlines() if ln.startswith("export, with baselines"))
    assert re.search(r" \d+\.\d{3} $", info), info  # a ratio, no target
    assert re.search(
        r"60 nodes: check .*\(1\.5x nodes: check [\d.]+x, export [\d.]+x\)", done.stdout
    )
