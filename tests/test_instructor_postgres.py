"""The gradebook on PostgreSQL as well as SQLite (issue 15, part 4).

nbgrader's ``CourseDirectory.db_url`` is the setting (``nbgrader_config.py`` takes it from
``RNNCOURSE_DB_URL``; SQLite in ``autograde/`` otherwise), and every command, ours and
nbgrader's, uses that one gradebook.  A real server is started from Debian's package
(``tests/pg_server.py``); chapter 1's class, graded once per session into SQLite by the
``ch01_class`` fixture, is the comparison: the same submissions graded into PostgreSQL
give the same CSV rows and the same scores in the gradebook, also when two grading runs
write to it at the same time."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import adversarial_ch01, pg_server
from tests.submissions import course_copy

pytestmark = pytest.mark.slow

A = "ch01_ngrams"


@pytest.fixture(scope="module")
def postgres():
    server = pg_server.start()
    try:
        yield server
    finally:
        pg_server.remove(server)


def _class_from(fixture: dict, tmp: Path, students: list[str], results_too: bool = False) -> Path:
    """A fresh course copy holding some of the fixture's collected submissions (and the
    limits and collect notes they were graded with); with ``results_too`` also their
    stored results, so that grading them again only writes (the course version is equal)."""
    src = fixture["course"] / "autograde"
    course = course_copy(tmp)
    dst = course / "autograde"
    for sid in students:
        shutil.copytree(src / "submitted" / sid, dst / "submitted" / sid)
        if results_too:
            (dst / ".sandbox" / "results" / A).mkdir(parents=True, exist_ok=True)
            shutil.copy(src / ".sandbox" / "results" / A / f"{sid}.json", dst / ".sandbox" / "results" / A)
            shutil.copytree(src / "autograded" / sid, dst / "autograded" / sid)
    if (src / "limits").is_dir():        # measured limits (the fixture's flat ones are in its ENV)
        shutil.copytree(src / "limits", dst / "limits")
    (dst / "reports").mkdir(exist_ok=True)
    for name in (f"{A}.collect.json", f"{A}.roster.json"):
        if (src / "reports" / name).exists():
            shutil.copy(src / "reports" / name, dst / "reports" / name)
    return course


def _autograde(course: Path, db_url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, **adversarial_ch01.ENV, "RNNCOURSE_DB_URL": db_url}
    return subprocess.Popen([sys.executable, "-m", "autograde", *args], cwd=course, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, timeout: float = 900) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-5000:]
    return out


def _rows(course: Path) -> dict[str, dict]:
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh) if r["student_id"] != "(points)"}


def _book(url: str, students: set[str]) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return {(s.student.id, g.name): (g.auto_score, g.needs_manual_grade)
                for s in gb.assignment_submissions(A) if s.student.id in students
                for nb in s.notebooks for g in nb.grades}


def _sqlite_book(fixture: dict, students: set[str]) -> dict:
    return _book(f"sqlite:///{fixture['course'] / 'autograde' / 'gradebook.db'}", students)


def test_a_class_graded_into_postgresql_equals_sqlite(ch01_class, postgres, tmp_path):
    bug = sorted(adversarial_ch01.fixtures_ch01.BUGS)[0]
    students = ["honest-reference", "honest-alternative", "honest-untouched", f"honest-bug-{bug}", "badjson"]
    course = _class_from(ch01_class, tmp_path, students)
    url = postgres.createdb("roundtrip")
    out = _finish(_autograde(course, url, "grade", A, "--workers", "2", "--no-feedback"))
    assert f"grading {len(students)} submissions" in out, out

    assert not (course / "autograde" / "gradebook.db").exists(), "the SQLite default was used, not the server"
    rows = _rows(course)
    assert set(rows) == set(students)
    for sid in students:
        assert rows[sid] == ch01_class["rows"][sid], sid
    assert rows["honest-reference"]["total"] == "20" and rows["badjson"]["status"] == "not-graded"

    book = _book(url, set(students))
    assert book == _sqlite_book(ch01_class, set(students))
    assert {k[1] for k in book} and all(v == (None, True) or v[0] is not None for v in book.values())
    assert book[("honest-reference", f"{bug}_tests")][0] > 0 and book[(f"honest-bug-{bug}", f"{bug}_tests")][0] == 0

    # nbgrader's own commands read the same setting: its export lists the same totals
    env = {**os.environ, **adversarial_ch01.ENV, "RNNCOURSE_DB_URL": url}
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to", str(tmp_path / "nb.csv")],
                          cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(tmp_path / "nb.csv", newline="") as fh:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == A}
    for sid in students:
        if rows[sid]["total"]:
            assert exported[sid] == float(rows[sid]["total"]), (sid, exported)


def test_two_grading_runs_write_one_postgresql_gradebook_at_once(ch01_class, postgres, tmp_path):
    """Two teaching assistants grade two halves of a class into one gradebook at the same
    time: each run's one writer commits its half, nothing is lost or doubled."""
    students = sorted(s for s in ch01_class["rows"] if s.startswith("honest-"))
    assert len(students) >= 6
    course = _class_from(ch01_class, tmp_path, students, results_too=True)
    url = postgres.createdb("twowriters")
    halves = [students[0::2], students[1::2]]
    procs = [_autograde(course, url, "grade", A, "--no-feedback", *[a for s in half for a in ("--student", s)])
             for half in halves]
    outs = [_finish(p) for p in procs]
    for half, out in zip(halves, outs):
        assert f"{len(half)} unchanged since their last grading" in out, out      # only the writing was redone
    assert _book(url, set(students)) == _sqlite_book(ch01_class, set(students))
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        assert sorted(s.id for s in gb.students) == students
        assert len(gb.assignment_submissions(A)) == len(students)
    _finish(_autograde(course, url, "export", A))
    rows = _rows(course)
    assert {sid: rows[sid] for sid in students} == {sid: ch01_class["rows"][sid] for sid in students}
