"""`semdag --help` stays fast: it imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("hamilton", "pandas", "graphviz", "dask", "polars", "numpy")
PROBE = """
import json, sys
from semdag.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["build", "--help"], ["snapshot", "check", "--help"], ["--version"], ["rules"]],
)
def test_help_imports_nothing_heavy(args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert loaded == []
    assert done.stdout.strip()


def test_python_dash_m_version():
    done = subprocess.run(
        [sys.executable, "-m", "semdag", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("semdag ")
