"""The class benchmark's dry run (scripts/bench_class.py, issue 15 item 8): a class of 12
made of the cheap kinds (honest, buggy, hostile, malformed), graded with 2 workers and,
for 4 of them, with 1 worker (the subset path the 1000-student run uses); every
submission gets the grade it must get and the JSON has what the instructor guide quotes.
It writes to a tmp file, never to results/class_bench.json."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_a_small_class_is_graded_as_expected(tmp_path):
    out = tmp_path / "class_bench.json"
    before = (ROOT / "results" / "class_bench.json").read_bytes() if (ROOT / "results" / "class_bench.json").exists() \
        else None
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_class.py"), "--students", "8",
                           "--workers", "2,1", "--subset", "1=2", "--out", str(out), "--keep", str(tmp_path / "w")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "RNNCOURSE_MODE": "fast"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    for key in ("assignment", "command", "machine", "mix", "mix_by_group", "expected", "runs", "failures"):
        assert key in res, key
    assert {"cpu_count", "load_average", "date", "torch"} <= set(res["machine"])
    assert res["failures"] == 0
    assert set(res["mix_by_group"]) == {"honest", "buggy", "hostile", "malformed"}
    assert sum(res["mix"].values()) == 8
    runs = {r["workers"]: r for r in res["runs"] if r["engine"] == "local"}
    assert runs[2]["submissions"] == 8 and runs[1]["submissions"] == 2 and runs[1]["of_class"] == 8
    assert "extrapolated_class_minutes" in runs[1] and "extrapolated_class_minutes" not in runs[2]
    for r in runs.values():
        assert r["failures"] == 0 and r["failed"] == [], r["failed"]
        assert "grader-error" not in r["statuses"]
        for key in ("wall_seconds", "submissions_per_minute", "seconds_per_submission", "load_average_after"):
            assert r[key] is not None
    assert runs[2]["statuses"].get("not-graded", 0) >= 1
    assert "| local | 2 | 8 |" in proc.stdout
    after = (ROOT / "results" / "class_bench.json").read_bytes() if (ROOT / "results" / "class_bench.json").exists() \
        else None
    assert after == before


def test_the_run_plan_puts_local_runs_first_then_the_slurm_counts_asked_for():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bench_class import run_plan
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert run_plan([1, 2], None, slurm=False) == [(1, None), (2, None)]
    assert run_plan([1, 2], None, slurm=True) == [(1, None), (2, None), (1, "slurm"), (2, "slurm")]
    assert run_plan([1, 2], "2", slurm=True) == [(1, None), (2, None), (2, "slurm")]
    assert run_plan([2], " 1, 2 ", slurm=True) == [(2, None), (1, "slurm"), (2, "slurm")]
    assert run_plan([2], "2", slurm=False) == [(2, None)]


def _run(engine, workers, n, wall, inv):
    return {"engine": engine, "workers": workers, "submissions": n, "wall_seconds": wall,
            "seconds_per_submission": wall / n, "invocation": inv}


def test_slurm_runs_are_paired_with_the_local_run_they_can_be_compared_with():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bench_class import pair_slurm_runs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    amd, intel = {"cpu": "AMD EPYC", "cpu_count": 2}, {"cpu": "Intel Xeon", "cpu_count": 2}
    res = {"machines": [amd, intel, intel],
           "runs": [_run("local", 2, 100, 200.0, 0), _run("slurm", 2, 100, 270.0, 0),     # paired, same N
                    _run("local", 2, 1000, 3000.0, 1), _run("local", 1, 200, 1000.0, 1),
                    _run("slurm", 2, 500, 1750.0, 2),                                      # the Intel local x2
                    _run("slurm", 1, 10, 60.0, 2)]}                                        # 1 worker: x1 run
    pair_slurm_runs(res)
    r = res["runs"]
    assert r[1]["overhead_seconds_per_job"] == 0.7 and r[1]["compared_with"]["command"] == 1
    assert r[4]["overhead_seconds_per_job"] == 0.5 and r[4]["compared_with"] == \
        {"command": 2, "submissions": 1000, "seconds_per_submission": 3.0}
    assert r[5]["overhead_seconds_per_job"] == 1.0 and r[5]["compared_with"]["submissions"] == 200
    # another kind of machine and no local run in the same invocation: no overhead claimed
    res = {"machines": [amd, intel], "runs": [_run("local", 2, 100, 200.0, 0), _run("slurm", 2, 500, 1750.0, 1)]}
    pair_slurm_runs(res)
    assert "overhead_seconds_per_job" not in res["runs"][1]
