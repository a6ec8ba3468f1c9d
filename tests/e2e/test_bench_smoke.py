"""`make bench` works end to end on tiny stacks of a few shapes (a smoke test: it measures
nothing, one run each)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.run import COLD, EDITED, EXPORT, GROWTH, HELP, MEMORY, STEP, TARGETS, WARM
from tests.conftest import ROOT

# Two tiny stacks, one run each: one shape at two sizes and, at the smaller size only, one
# decorator-heavy shape in the same run would double the cost; the shapes themselves are
# checked in tests/e2e/test_bench_shapes.py without timing anything.
SMOKE = ("--sizes", "30,120", "--runs", "1", "--shapes", "chains", "--largest-shapes", "chains")


@pytest.mark.slow
def test_bench_harness_prints_every_shape_and_the_summary():
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", *SMOKE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert re.match(r"machine: \d+ cores \(\d+ usable\), .+; Python 3\.\d+\.\d+; Hamilton 1\.", out)
    # Each shape at each size it ran, and the decorated one only at the smaller size.
    for title in ("chains @ 30 nodes", "chains @ 120 nodes"):
        assert f"\n{title}: " in out, out
    tables = out.split("\n\n")
    stacks = out.split("\nsummary")[0]
    for measure in (EXPORT, COLD, EDITED, WARM, MEMORY):
        rows = [ln for ln in stacks.splitlines() if ln.startswith(measure)]
        assert len(rows) == 2, (measure, out)  # one per stack, each with its target
        for row in rows:
            assert re.search(r" \d+\.\d{3} +≤ [\d.]+ (met|NOT MET)$", row), row
    assert "OUTPUT DIFFERS" not in out  # semdag's export is byte-identical to Hamilton's
    # The retired in-process target is information only, on the largest stack.
    (step,) = [ln for ln in stacks.splitlines() if ln.startswith(STEP)]
    assert re.search(r" \d+\.\d{3}$", step), step
    (growth,) = [ln for ln in stacks.splitlines() if ln.startswith(GROWTH)]
    assert re.search(r"chains, 30→120 \(4x nodes\) .* ≤ 4\.5 (met|NOT MET)$", growth), growth
    # The summary: every target once, with its worst shape and one verdict.
    summary = next(t for t in tables if t.startswith("summary"))
    for target in TARGETS:
        (line,) = [ln for ln in summary.splitlines() if ln.startswith(target)]
        assert re.search(r" \d+\.\d{3} +≤ [\d.]+ (met|NOT MET)$", line), line
    assert re.search(rf"{re.escape(HELP)} +all ", summary)
    assert re.search(rf"{re.escape(COLD)} +chains @ (30|120) ", summary)
