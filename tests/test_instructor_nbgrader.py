"""An instructor who knows nbgrader (issue 15, part 1).

* ``.venv/bin/python -m autograde run ...`` works without an activated virtual
  environment (nbgrader looks ``alembic`` up on PATH);
* stock ``nbgrader autograde ch01_ngrams`` (what formgrader's "Autograde" button runs),
  from the course folder with its ``nbgrader_config.py``, gives the reference submission
  the same scores as ``python -m autograde grade`` (its kernel starts in the submission's
  folder and must still find the course's ``autograde`` package for the hidden tests).

Both commands run with a PATH that does not hold the virtual environment and without
PYTHONPATH, as from a fresh shell.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.submissions import course_copy, filled, write

pytestmark = pytest.mark.slow

A = "ch01_ngrams"


def _bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/bin:/bin"
    env["RNNCOURSE_MODE"] = "fast"
    return env


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stock")
    course = course_copy(tmp)
    write(filled(A), tmp / "class" / "reference", A)
    python = str(Path(sys.executable))          # .venv/bin/python, not activated
    ours = subprocess.run([python, "-m", "autograde", "run", A, str(tmp / "class"), "--no-feedback"],
                          cwd=course, env=_bare_env(), capture_output=True, text=True, timeout=900)
    assert ours.returncode == 0, ours.stdout[-3000:] + ours.stderr[-3000:]
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["student_id"] == "reference")
    stock = subprocess.run([python, "-m", "nbgrader", "autograde", A, "--force"], cwd=course, env=_bare_env(),
                           capture_output=True, text=True, timeout=900)
    assert stock.returncode == 0, stock.stdout[-3000:] + stock.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}") as gb:
        sub = gb.find_submission(A, "reference")
        stock_scores = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
        stock_total, stock_max = sub.score, sub.max_score
    return row, stock_scores, stock_total, stock_max, stock.stdout + stock.stderr


def test_python_m_autograde_runs_without_an_activated_venv(graded_both_ways):
    row = graded_both_ways[0]
    assert row["status"] == "graded" and row["total"] == row["max_total"] == "20", row


def test_stock_nbgrader_autograde_gives_the_same_scores(graded_both_ways):
    row, stock_scores, total, max_score, log = graded_both_ways
    assert "ModuleNotFoundError" not in log
    ours = {k.split(":", 1)[1]: float(v) for k, v in row.items() if k.startswith(f"{A}:")}
    assert stock_scores == ours, (stock_scores, ours)
    assert total == max_score == float(row["total"]) == 20.0
