"""Warn-level ``@check_output`` results: warnings in ``execute`` and ``verify``, findings in
``-f json``."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

MODULE = """
import pandas as pd
from hamilton.function_modifiers import check_output, tag


@tag(layer="semantic", semantic_id="s.score.v1", entity="s", grain="all", dtype="float",
     version="1")
@check_output(range=(0.0, 1.0), importance="warn")
def score() -> pd.Series:
    return pd.Series([0.5, 2.0])


@check_output(range=(0.0, 1.0), importance="warn")
def fine() -> pd.Series:
    return pd.Series([0.5])
"""

MESSAGE = (
    "score: score_range_validator failed: Series contains 1 values in range (0.0,1.0), and 1 "
    "outside. ({'range': (0.0, 1.0), 'in_range': 1, 'out_range': 1, 'data_size': 2})"
)


@pytest.fixture
def project(project_factory):
    return project_factory(
        {"p/__init__.py": "", "p/m.py": MODULE, "configs/dev.yaml": "stack:\n  core: [p.m]\n"}
    )


def test_execute_shows_a_failed_warn_level_check_as_a_warning(project):
    done = run_cli(["execute", "--project-dir", str(project)])
    assert done.exit_code == 0
    assert "score  pandas.Series  2 rows" in done.stdout
    assert f"warning: data-quality: {MESSAGE} (p/m.py:5)\n" in done.stderr
    assert done.stderr.count("data-quality") == 1


def test_execute_json_carries_it_as_a_finding(project):
    done = run_cli(["execute", "-f", "json", "--project-dir", str(project)])
    assert done.exit_code == 0
    (found,) = json.loads(done.stdout)["data"]["findings"]
    assert (found["rule"], found["severity"], found["subject"]) == (
        "data-quality",
        "warning",
        "s.score.v1",
    )
    assert (found["message"], found["file"], found["line"]) == (MESSAGE, "p/m.py", 5)


def test_verify_reports_it_as_a_warning_that_fails_only_on_request(project):
    done = run_cli(["verify", "--project-dir", str(project)])
    assert done.exit_code == 0
    assert "warning (1)\n  data-quality: s.score.v1\n" in done.stdout
    assert done.stderr == ""
    done = run_cli(["verify", "--fail-on", "warning", "-f", "json", "--project-dir", str(project)])
    assert done.exit_code == 1
    (verification,) = json.loads(done.stdout)["data"]["verifications"]
    assert [f["rule"] for f in verification["findings"]] == ["data-quality"]
