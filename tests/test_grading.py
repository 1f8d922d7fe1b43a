"""Round trip through real nbgrader: a class of submissions graded with one command.

The course (solutions/, notebooks/, autograde/, nbgrader_config.py) is copied to a
temporary folder, a class of submissions is written as an LMS would export them, and
``python -m autograde run`` grades them.  Then the CSV, the per-student reports and the
feedback are read back.

Expectations:
* the reference answer scores full marks; a correct alternative too;
* the untouched student notebook scores 0 on every exercise;
* one planted bug per exercise costs exactly that exercise's points;
* invalid JSON, a notebook of another assignment, a wrong nbformat version and deleted
  graded cells are reported by name in the output and the CSV, never as a silent 0.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
import json
import subprocess
import sys
import zipfile

import pytest

from tests import fixtures_ch01, fixtures_ch02, fixtures_ch03, fixtures_ch04, fixtures_ch05, fixtures_ch06
from tests.submissions import ROOT, answer_sources, course_copy, filled, student_notebook
from tests.submissions import points as notebook_points

pytestmark = pytest.mark.slow

A = "ch01_ngrams"


def _points(assignment: str = A) -> dict[str, float]:
    return notebook_points(assignment)


def _grade_class(tmp: Path, assignment: str, subs: dict[str, object]):
    """Zip ``subs`` as a Canvas export (login_userid_submissionid_file.ipynb), grade them
    with one command, and read the grades CSV back."""
    course = course_copy(tmp)
    archive = tmp / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, (sid, nb) in enumerate(subs.items()):
            data = nb if isinstance(nb, bytes) else json.dumps(nb).encode()
            zf.writestr(f"{sid}_{1000 + i}_{5000 + i}_{assignment}.ipynb", data)
    proc = subprocess.run([sys.executable, "-m", "autograde", "run", assignment, str(archive), "--workers", "2"],
                          cwd=course, capture_output=True, text=True, timeout=2400,
                          env={**os.environ, "RNNCOURSE_MODE": "fast", "RNNCOURSE_CELL_TIMEOUT": "60"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(course / "autograde" / f"grades_{assignment}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return course, proc.stdout, {r["student_id"]: r for r in rows}


@pytest.fixture(scope="module")
def graded(ch01_class):
    """Chapter 1's class is graded once per session together with the hostile submissions
    (tests/conftest.py ``ch01_class``; the submissions are tests/adversarial_ch01.py's
    ``honest()`` and ``mishaps()``): the reference, a correct alternative, the untouched
    notebook, one planted bug per answer cell, a truncated upload, an old format, another
    assignment's notebook, a deleted test cell, a crash and an endless loop."""
    return ch01_class["course"], ch01_class["out"], ch01_class["rows"]


def _score(row, gid, assignment=A):
    v = row[f"{assignment}:{gid}"]
    return None if v == "" else float(v)


def test_reference_and_alternative_get_full_marks(graded):
    _, _, rows = graded
    points = _points()
    for sid in ("honest-reference", "honest-alternative"):
        row = rows[sid]
        assert row["status"] == "graded", row
        for gid, pts in points.items():
            assert _score(row, gid) == pts, (sid, gid, row)
        assert float(row["total"]) == sum(points.values()) == float(row["max_total"])


def test_untouched_notebook_scores_zero_everywhere(graded):
    _, _, rows = graded
    row = rows["honest-untouched"]
    assert row["status"] == "graded"
    for gid in _points():
        assert _score(row, gid) == 0.0, gid
    assert float(row["total"]) == 0.0


@pytest.mark.parametrize("answer", sorted(fixtures_ch01.BUGS))
def test_a_planted_bug_costs_exactly_its_exercise(graded, answer):
    _, _, rows = graded
    row = rows[f"honest-bug-{answer}"]
    points = _points()
    for gid, pts in points.items():
        expected = 0.0 if gid == f"{answer}_tests" else pts
        assert _score(row, gid) == expected, (answer, gid, row)
    assert float(row["total"]) == sum(points.values()) - points[f"{answer}_tests"]


def test_malformed_submissions_are_reported_by_name(graded):
    _, out, rows = graded
    expect = {"badjson": "invalid-json", "oldformat": "invalid-notebook", "otherassignment": "wrong-assignment"}
    for sid, code in expect.items():
        row = rows[sid]
        assert row["status"] == "not-graded", row
        assert code in row["problems"], row
        assert row["total"] == "", "an ungraded submission must not show a total of 0"
        assert f"{sid}: not-graded" in out and code in out
    row = rows["deletedtest"]
    assert row["status"] == "graded-with-problems"
    assert "missing-cells" in row["problems"] and "perplexity_tests" in row["problems"]
    report = json.loads((graded[0] / "autograde" / "reports" / A / "deletedtest.json").read_text())
    restored = {t["test"]: t for t in report["tests"]}["perplexity_tests"]
    assert restored["status"] == "pass" and restored["score"] == _points()["perplexity_tests"], \
        "a deleted test cell is restored from the course's notebook and graded"
    assert "restored" in row["problems"]


def test_feedback_and_reports_are_written(graded):
    course, _, rows = graded
    fb = course / "autograde" / "feedback" / "honest-bug-kneser_ney_prob" / A / f"{A}.html"
    assert fb.exists()
    report = json.loads((course / "autograde" / "reports" / A / "honest-bug-kneser_ney_prob.json").read_text())
    failed = [t for t in report["tests"] if t["status"] == "fail"]
    assert [t["test"] for t in failed] == ["kneser_ney_prob_tests"]
    assert "kneser_ney_prob" in failed[0]["message"] and "outside tolerance" in failed[0]["message"]
    html = fb.read_text()
    assert "kneser_ney_prob" in html and "BEGIN SOLUTION" not in html
    assert "autograde.hidden" not in html and "HIDDEN TESTS" not in html, "feedback must not show hidden test code"


def test_crash_and_timeout_cost_only_their_exercise(graded):
    """A cell that kills its process, or never ends, costs the exercise it belongs to;
    the rest of the notebook is still graded (the worker is restarted and the earlier
    cells replayed)."""
    _, out, rows = graded
    points = _points()
    for sid, gid, status, words in (("crasher", "mle_prob_tests", "crash", "exited"),
                                    ("looper", "add_k_prob_tests", "timeout", "longer than")):
        row = rows[sid]
        assert row["status"] == status and words in row["problems"], row
        for g, pts in points.items():
            assert _score(row, g) == (0.0 if g == gid else pts), (sid, g, row)
        assert f"{sid}: {status}" in out


# ----------------------------------------------------------------------------- chapter 2
# Chapter 2's hidden checks train models, so its class is smaller: the planted bugs are
# spread over two submissions, alternate exercises each, which shows both that every bug
# is caught and that it costs nothing outside its own exercise.
B = "ch02_rnn"


@pytest.fixture(scope="module")
def graded_ch02(tmp_path_factory):
    bugs = sorted(fixtures_ch02.BUGS)
    subs = {
        "reference": filled(B),
        "untouched": student_notebook(B),
        "bugs-a": filled(B, {g: fixtures_ch02.BUGS[g] for g in bugs[0::2]}),
        "bugs-b": filled(B, {g: fixtures_ch02.BUGS[g] for g in bugs[1::2]}),
    }
    _, out, rows = _grade_class(tmp_path_factory.mktemp("grading_ch02"), B, subs)
    return out, rows, {"bugs-a": bugs[0::2], "bugs-b": bugs[1::2]}


def test_ch02_reference_full_untouched_zero(graded_ch02):
    _, rows, _ = graded_ch02
    points = _points(B)
    assert rows["reference"]["status"] == "graded"
    assert float(rows["reference"]["total"]) == sum(points.values()), rows["reference"]
    assert float(rows["untouched"]["total"]) == 0.0, rows["untouched"]


@pytest.mark.parametrize("sid", ["bugs-a", "bugs-b"])
def test_ch02_each_planted_bug_costs_exactly_its_exercise(graded_ch02, sid):
    _, rows, planted = graded_ch02
    row = rows[sid]
    for gid, pts in _points(B).items():
        lost = gid[: -len("_tests")] in planted[sid]
        assert _score(row, gid, B) == (0.0 if lost else pts), (sid, gid, row)


# ----------------------------------------------------------------------------- chapter 3
# Chapter 3 plants up to two bugs per answer cell (fixtures_ch03.BUGS: label -> (cell,
# source)). The j-th bug of the i-th answer cell goes to submission "bugs-<2j + i % 2>", so
# no submission has two bugs in one cell and each leaves every other cell untouched: each
# must lose exactly the exercises of its bugs.
C3 = "ch03_bptt"


def _spread(bugs: dict[str, tuple[str, str]], cells: list[str]) -> dict[str, dict[str, str]]:
    """submission id -> {answer cell: bug source}."""
    subs: dict[str, dict[str, str]] = {}
    seen = {cell: 0 for cell in cells}
    for label in sorted(bugs):
        cell, source = bugs[label]
        sid = f"bugs-{2 * seen[cell] + cells.index(cell) % 2}"
        seen[cell] += 1
        subs.setdefault(sid, {})[cell] = source
    return subs


@pytest.fixture(scope="module")
def graded_ch03(tmp_path_factory):
    planted = _spread(fixtures_ch03.BUGS, list(answer_sources(C3)))
    subs = {"reference": filled(C3), "untouched": student_notebook(C3)}
    subs.update({sid: filled(C3, cells) for sid, cells in planted.items()})
    _, out, rows = _grade_class(tmp_path_factory.mktemp("grading_ch03"), C3, subs)
    return out, rows, {sid: sorted(cells) for sid, cells in planted.items()}


def test_ch03_reference_full_untouched_zero(graded_ch03):
    _, rows, _ = graded_ch03
    points = _points(C3)
    assert rows["reference"]["status"] == "graded"
    assert float(rows["reference"]["total"]) == sum(points.values()), rows["reference"]
    assert float(rows["untouched"]["total"]) == 0.0, rows["untouched"]


def test_ch03_every_bug_is_planted():
    planted = _spread(fixtures_ch03.BUGS, list(answer_sources(C3)))
    assert sum(len(cells) for cells in planted.values()) == len(fixtures_ch03.BUGS)
    assert all(0 < len(cells) < len(answer_sources(C3)) for cells in planted.values())


@pytest.mark.parametrize("sid", sorted(_spread(fixtures_ch03.BUGS, list(answer_sources(C3)))))
def test_ch03_each_planted_bug_costs_exactly_its_exercise(graded_ch03, sid):
    _, rows, planted = graded_ch03
    row = rows[sid]
    assert row["status"] == "graded", row
    for gid, pts in _points(C3).items():
        lost = gid[: -len("_tests")] in planted[sid]
        assert _score(row, gid, C3) == (0.0 if lost else pts), (sid, gid, row)


# ----------------------------------------------------------------------------- chapter 4
# One bug per answer cell (fixtures_ch04.BUGS), spread as in chapter 3: cells 0, 2, 4 go to
# "bugs-0" and cells 1, 3, 5 to "bugs-1", so each submission keeps three exercises intact.
C4 = "ch04_gradients"


@pytest.fixture(scope="module")
def graded_ch04(tmp_path_factory):
    planted = _spread(fixtures_ch04.BUGS, list(answer_sources(C4)))
    subs = {"reference": filled(C4), "untouched": student_notebook(C4)}
    subs.update({sid: filled(C4, cells) for sid, cells in planted.items()})
    _, out, rows = _grade_class(tmp_path_factory.mktemp("grading_ch04"), C4, subs)
    return out, rows, {sid: sorted(cells) for sid, cells in planted.items()}


def test_ch04_reference_full_untouched_zero(graded_ch04):
    _, rows, _ = graded_ch04
    points = _points(C4)
    assert rows["reference"]["status"] == "graded"
    assert float(rows["reference"]["total"]) == sum(points.values()), rows["reference"]
    assert float(rows["untouched"]["total"]) == 0.0, rows["untouched"]


def test_ch04_every_bug_is_planted():
    planted = _spread(fixtures_ch04.BUGS, list(answer_sources(C4)))
    assert sum(len(cells) for cells in planted.values()) == len(fixtures_ch04.BUGS)
    assert all(0 < len(cells) < len(answer_sources(C4)) for cells in planted.values())


@pytest.mark.parametrize("sid", sorted(_spread(fixtures_ch04.BUGS, list(answer_sources(C4)))))
def test_ch04_each_planted_bug_costs_exactly_its_exercise(graded_ch04, sid):
    _, rows, planted = graded_ch04
    row = rows[sid]
    assert row["status"] == "graded", row
    for gid, pts in _points(C4).items():
        lost = gid[: -len("_tests")] in planted[sid]
        assert _score(row, gid, C4) == (0.0 if lost else pts), (sid, gid, row)


# ----------------------------------------------------------------------------- chapter 5
# Up to two bugs per answer cell (fixtures_ch05.BUGS), spread as in chapter 3: no submission
# has two bugs in one cell, and each keeps some exercises intact.
C5 = "ch05_lstm"


@pytest.fixture(scope="module")
def graded_ch05(tmp_path_factory):
    planted = _spread(fixtures_ch05.BUGS, list(answer_sources(C5)))
    subs = {"reference": filled(C5), "untouched": student_notebook(C5),
            "alternative": filled(C5, dict(reversed(list(fixtures_ch05.ALTERNATIVES.values()))))}   # the first per cell
    subs.update({sid: filled(C5, cells) for sid, cells in planted.items()})
    _, out, rows = _grade_class(tmp_path_factory.mktemp("grading_ch05"), C5, subs)
    return out, rows, {sid: sorted(cells) for sid, cells in planted.items()}


def test_ch05_reference_and_alternative_full_untouched_zero(graded_ch05):
    _, rows, _ = graded_ch05
    points = _points(C5)
    for sid in ("reference", "alternative"):
        assert rows[sid]["status"] == "graded", rows[sid]
        assert float(rows[sid]["total"]) == sum(points.values()), rows[sid]
    assert float(rows["untouched"]["total"]) == 0.0, rows["untouched"]


def test_ch05_every_bug_is_planted():
    planted = _spread(fixtures_ch05.BUGS, list(answer_sources(C5)))
    assert sum(len(cells) for cells in planted.values()) == len(fixtures_ch05.BUGS)
    assert all(0 < len(cells) < len(answer_sources(C5)) for cells in planted.values())


@pytest.mark.parametrize("sid", sorted(_spread(fixtures_ch05.BUGS, list(answer_sources(C5)))))
def test_ch05_each_planted_bug_costs_exactly_its_exercise(graded_ch05, sid):
    _, rows, planted = graded_ch05
    row = rows[sid]
    assert row["status"] == "graded", row
    for gid, pts in _points(C5).items():
        lost = gid[: -len("_tests")] in planted[sid]
        assert _score(row, gid, C5) == (0.0 if lost else pts), (sid, gid, row)


# ----------------------------------------------------------------------------- chapter 6
C6 = "ch06_seq2seq"


@pytest.fixture(scope="module")
def graded_ch06(tmp_path_factory):
    planted = _spread(fixtures_ch06.BUGS, list(answer_sources(C6)))
    subs = {"reference": filled(C6), "untouched": student_notebook(C6),
            "alternative": filled(C6, dict(reversed(list(fixtures_ch06.ALTERNATIVES.values()))))}   # the first per cell
    subs.update({sid: filled(C6, cells) for sid, cells in planted.items()})
    _, out, rows = _grade_class(tmp_path_factory.mktemp("grading_ch06"), C6, subs)
    return out, rows, {sid: sorted(cells) for sid, cells in planted.items()}


def test_ch06_reference_and_alternative_full_untouched_zero(graded_ch06):
    _, rows, _ = graded_ch06
    points = _points(C6)
    for sid in ("reference", "alternative"):
        assert rows[sid]["status"] == "graded", rows[sid]
        assert float(rows[sid]["total"]) == sum(points.values()), rows[sid]
    assert float(rows["untouched"]["total"]) == 0.0, rows["untouched"]


def test_ch06_every_bug_is_planted():
    planted = _spread(fixtures_ch06.BUGS, list(answer_sources(C6)))
    assert sum(len(cells) for cells in planted.values()) == len(fixtures_ch06.BUGS)
    assert all(0 < len(cells) < len(answer_sources(C6)) for cells in planted.values())


@pytest.mark.parametrize("sid", sorted(_spread(fixtures_ch06.BUGS, list(answer_sources(C6)))))
def test_ch06_each_planted_bug_costs_exactly_its_exercise(graded_ch06, sid):
    _, rows, planted = graded_ch06
    row = rows[sid]
    assert row["status"] == "graded", row
    for gid, pts in _points(C6).items():
        lost = gid[: -len("_tests")] in planted[sid]
        assert _score(row, gid, C6) == (0.0 if lost else pts), (sid, gid, row)


# ----------------------------------------------------------------------------- chapter 7
# Two bugs per answer cell (fixtures_ch07.BUGS), spread as in chapters 5 and 6: no submission
# has two bugs in one cell, and each keeps some exercises intact.
from tests import fixtures_ch07  # noqa: E402

C7 = "ch07_captioning"


@pytest.fixture(scope="module")
def graded_ch07(tmp_path_factory):
    planted = _spread(fixtures_ch07.BUGS, list(answer_sources(C7)))
    subs = {"reference": filled(C7), "untouched": student_notebook(C7),
            "alternative": filled(C7, dict(reversed(list(fixtures_ch07.ALTERNATIVES.values()))))}   # the first per cell
    subs.update({sid: filled(C7, cells) for sid, cells in planted.items()})
    _, out, rows = _grade_class(tmp_path_factory.mktemp("grading_ch07"), C7, subs)
    return out, rows, {sid: sorted(cells) for sid, cells in planted.items()}


def test_ch07_reference_and_alternative_full_untouched_zero(graded_ch07):
    _, rows, _ = graded_ch07
    points = _points(C7)
    for sid in ("reference", "alternative"):
        assert rows[sid]["status"] == "graded", rows[sid]
        assert float(rows[sid]["total"]) == sum(points.values()), rows[sid]
    assert float(rows["untouched"]["total"]) == 0.0, rows["untouched"]


def test_ch07_every_bug_is_planted():
    planted = _spread(fixtures_ch07.BUGS, list(answer_sources(C7)))
    assert sum(len(cells) for cells in planted.values()) == len(fixtures_ch07.BUGS)
    assert all(0 < len(cells) < len(answer_sources(C7)) for cells in planted.values())


@pytest.mark.parametrize("sid", sorted(_spread(fixtures_ch07.BUGS, list(answer_sources(C7)))))
def test_ch07_each_planted_bug_costs_exactly_its_exercise(graded_ch07, sid):
    _, rows, planted = graded_ch07
    row = rows[sid]
    assert row["status"] == "graded", row
    for gid, pts in _points(C7).items():
        lost = gid[: -len("_tests")] in planted[sid]
        assert _score(row, gid, C7) == (0.0 if lost else pts), (sid, gid, row)
