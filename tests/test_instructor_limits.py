"""Time limits from the course, not a flat 600 s (issue 15).

The first ``grade`` of an assignment on a machine grades the reference solution once,
times every cell and test and stores ``max(20 s, 10 x the reference's time)`` per step
in ``autograde/limits/<assignment>.json``.  A submission whose last answer cell loops
forever then costs that cell's limit (seconds), is reported as a timeout of that cell
with the limit and how it was derived, and the other exercises keep their points.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.submissions import course_copy, filled, write

pytestmark = pytest.mark.slow

A = "ch01_ngrams"
LOOP = "def sample(*args, **kwargs):\n    return []\n\nwhile True:   # forgot to stop\n    pass\n"


def test_an_endless_last_cell_costs_seconds_not_ten_minutes(tmp_path):
    course = course_copy(tmp_path)
    shutil.rmtree(course / "autograde" / ".sandbox", ignore_errors=True)
    shutil.rmtree(course / "autograde" / "limits", ignore_errors=True)      # measured afresh here
    write(filled(A, {"sample": LOOP}), tmp_path / "class" / "looper", A)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TIMEOUT") or not k.startswith("RNNCOURSE_")}
    env["RNNCOURSE_MODE"] = "fast"
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "autograde", "run", A, str(tmp_path / "class"), "--no-feedback"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=900)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "measuring ch01_ngrams's reference solution" in proc.stdout

    stored = json.loads((course / "autograde" / "limits" / f"{A}.json").read_text())
    steps = stored["notebooks"][A]["steps"]
    assert stored["reference_problems"] == [], "the reference passes when it is timed"
    assert steps["cell:sample"]["limit"] == max(20.0, 10 * steps["cell:sample"]["reference_seconds"])
    assert all(v["limit"] >= 20 for v in steps.values()) and "test:sample_tests" in steps

    rep = json.loads((course / "autograde" / "reports" / A / "looper.json").read_text())
    assert rep["status"] == "timeout" and rep["seconds"] < 60, rep
    msg = next(p for p in rep["problems"] if p.startswith("timeout:"))
    assert "cell sample" in msg and f"limit {steps['cell:sample']['limit']:g} s = max(20 s, 10 x" in msg, msg
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["student_id"] == "looper")
    assert row[f"{A}:sample_tests"] == "0" and row["total"] == "17", row
    assert wall < 240, f"the whole run (measuring the reference included) took {wall:.0f} s"
