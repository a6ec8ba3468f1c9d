"""`make bench` works end to end on tiny stacks of a few shapes (a smoke test: it measures
nothing, one run each)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.run import (
    COLD,
    EDITED,
    EXPORT,
    GROWTH,
    HELP,
    MEMORY,
    STEP,
    TARGETS,
    WARM,
    Sample,
    Series,
    growth_row,
    summary,
    table,
)
from tests.conftest import ROOT

# One tiny stack, one run: every measured process of one size (a second size would double
# the cost and add only the growth row, checked below as the function it is); the shapes
# themselves are checked in tests/e2e/test_bench_shapes.py without timing anything.
SMOKE = ("--sizes", "30", "--runs", "1", "--shapes", "chains")


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
    assert "\nchains @ 30 nodes: " in out, out
    tables = out.split("\n\n")
    stacks = out.split("\nsummary")[0]
    for measure in (EXPORT, COLD, EDITED, WARM, MEMORY):
        rows = [ln for ln in stacks.splitlines() if ln.startswith(measure)]
        assert len(rows) == 1, (measure, out)  # one per stack, with its target
        for row in rows:
            assert re.search(r" \d+\.\d{3} +≤ [\d.]+ (met|NOT MET)$", row), row
    assert "OUTPUT DIFFERS" not in out  # semdag's export is byte-identical to Hamilton's
    # The retired in-process target is information only, on the largest stack.
    (step,) = [ln for ln in stacks.splitlines() if ln.startswith(STEP)]
    assert re.search(r" \d+\.\d{3}$", step), step
    assert GROWTH not in out  # one size: nothing to grow from
    # The summary: every target once, with its worst shape and one verdict.
    summary = next(t for t in tables if t.startswith("summary"))
    for target in TARGETS:
        if target == GROWTH:
            continue
        (line,) = [ln for ln in summary.splitlines() if ln.startswith(target)]
        assert re.search(r" \d+\.\d{3} +≤ [\d.]+ (met|NOT MET)$", line), line
    assert re.search(rf"{re.escape(HELP)} +all ", summary)
    assert re.search(rf"{re.escape(COLD)} +chains @ 30 ", summary)


def _cold(*seconds: float) -> Series:
    return Series(tuple(Sample(s, 100.0) for s in seconds))


def test_growth_compares_the_largest_size_with_the_next_and_scales_its_target():
    assert growth_row("chains", [(5000, _cold(1.0))]) is None  # one size: nothing to compare
    sizes = [(1000, _cold(0.5)), (5000, _cold(1.0, 1.2, 1.1)), (20000, _cold(4.0, 4.6, 4.2))]
    row = growth_row("chains", sizes)
    assert row is not None
    assert row.name == f"{GROWTH}: chains, 5000→20000 (4x nodes)"
    assert row.ratio == pytest.approx(4.2 / 1.1)
    assert row.target == pytest.approx(TARGETS[GROWTH])  # 4x nodes: the target as written
    assert row.verdict() == "met"
    # A 3x step scales the target to three quarters of the 4x one.
    tripled = growth_row("fan", [(20000, _cold(2.0)), (60000, _cold(7.0))])
    assert tripled is not None
    assert tripled.target == pytest.approx(TARGETS[GROWTH] * 3 / 4)
    assert tripled.verdict() == "NOT MET"
    line = table("growth (cold snapshot check)", [row, tripled]).splitlines()[-1]
    assert re.search(r"fan, 20000→60000 \(3x nodes\) .* 3\.500 +≤ 3\.375 NOT MET$", line), line
    # The summary names the worst shape against its own scaled target.
    text = summary({}, [("chains", row), ("fan", tripled)])
    (worst,) = [ln for ln in text.splitlines() if ln.startswith(GROWTH)]
    assert re.search(r" fan +3\.500 +≤ 3\.375 NOT MET$", worst), worst
