"""Nothing lost when a batch dies (issue 15): the grader is killed with SIGKILL half-way
through a class; the next ``grade`` grades only what is missing or changed (a
submission's content hash and the course version decide, stored beside each result),
and the gradebook and the CSV end equal to an uninterrupted run.  ``run`` grades only
the students in SOURCE unless ``--all`` is given."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import fixtures_ch01
from tests.adversarial_ch01 import without_sample as _nb
from tests.submissions import course_copy, points, student_notebook, write

pytestmark = pytest.mark.slow

A = "ch01_ngrams"
ENV = {**os.environ, "RNNCOURSE_MODE": "fast"}




def _cmd(course: Path, *args: str, timeout: float = 1200) -> str:
    proc = subprocess.run([sys.executable, "-m", "autograde", *args], cwd=course, env=ENV, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    return proc.stdout


def _state(course: Path) -> tuple[list[list[str]], dict]:
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}") as gb:
        book = {(s.student.id, g.name): (g.auto_score, g.needs_manual_grade)
                for s in gb.assignment_submissions(A) for nb in s.notebooks for g in nb.grades}
    return rows, book


def _graded_now(out: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^\[\d+/\d+\] (\S+): .*\((?!unchanged)[\d.]+ s\)$", out, re.M)}


def test_a_killed_batch_resumes_and_ends_as_an_uninterrupted_run(tmp_path):
    course = course_copy(tmp_path)
    shutil.rmtree(course / "autograde" / ".sandbox", ignore_errors=True)   # results of the repo's own grading
    cls = tmp_path / "class"
    bugs = sorted(fixtures_ch01.BUGS)[:1]   # four students: enough to kill a batch half-way
    students = {"ref-a": _nb(), "ref-b": _nb(), "untouched": student_notebook(A)}
    students.update({f"bug-{b}": _nb({b: fixtures_ch01.BUGS[b]}) for b in bugs})
    for sid, nb in students.items():
        write(nb, cls / sid, A)
    _cmd(course, "collect", A, str(cls))

    # the first batch, killed as soon as one result is stored
    results = course / "autograde" / ".sandbox" / "results" / A
    proc = subprocess.Popen([sys.executable, "-m", "autograde", "grade", A, "--workers", "1", "--no-feedback"],
                            cwd=course, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and not list(results.glob("*.json")):
        assert proc.poll() is None, "the grader ended before it could be killed"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(1)
    done_before = {p.stem for p in results.glob("*.json")}
    assert 1 <= len(done_before) < len(students), done_before
    assert not (course / "autograde" / f"grades_{A}.csv").exists()

    # resumed: only the rest is graded
    out = _cmd(course, "grade", A, "--workers", "2", "--no-feedback")
    assert _graded_now(out) == set(students) - done_before, out
    assert f"{len(done_before)} unchanged since their last grading" in out
    resumed = _state(course)

    # a changed submission, and only it, is graded again
    write(_nb({"perplexity": fixtures_ch01.BUGS["perplexity"]}), course / "autograde" / "submitted" / "ref-b" / A, A)
    out = _cmd(course, "grade", A, "--no-feedback")
    assert _graded_now(out) == {"ref-b"}, out
    changed = _state(course)
    by_student = {r[0]: r for r in changed[0]}
    pts = points(A)   # sample is left unanswered in every notebook here (without_sample)
    full = sum(pts.values()) - pts["sample_tests"]
    assert by_student["ref-a"][-3] == f"{full:g}", by_student
    assert by_student["ref-b"][-3] == f"{full - pts['perplexity_tests']:g}", by_student

    # the uninterrupted run: everything regraded from scratch gives the same gradebook and CSV
    out = _cmd(course, "grade", A, "--workers", "2", "--no-feedback", "--force")
    assert _graded_now(out) == set(students), out
    assert _state(course) == changed
    assert {k: v for k, v in resumed[1].items() if k[0] != "ref-b"} == \
        {k: v for k, v in changed[1].items() if k[0] != "ref-b"}

    # `run` grades only the students in SOURCE; --all grades everyone collected
    late = tmp_path / "late"
    write(_nb(), late / "latecomer", A)
    out = _cmd(course, "run", A, str(late), "--no-feedback", "--force")
    assert "grading 1 submissions" in out and _graded_now(out) == {"latecomer"}, out
    out = _cmd(course, "run", A, str(late), "--no-feedback", "--all")
    assert f"grading {len(students) + 1} submissions" in out and _graded_now(out) == set(), out
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        assert {r["student_id"] for r in csv.DictReader(fh)} >= set(students) | {"latecomer"}
