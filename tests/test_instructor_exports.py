"""Grades where instructors need them (issue 15): beside the CSV, the files Canvas's
gradebook import and Moodle's grading-worksheet upload read, in their documented
column layouts, parsed back here."""
from __future__ import annotations

import csv
import json
import shutil
import zipfile

from autograde.cli import CANVAS_HEADER, MOODLE_HEADER, export
from autograde.collect import collect
from autograde.course import Course
from tests.submissions import course_copy, filled

A = "ch01_ngrams"


def _report(course, sid, status, scores):
    spec = course.spec(A)
    tests = [{"notebook": nb, "test": gid, "points": pts, "score": scores.get(gid, pts if status == "graded" else None),
              "status": "pass", "message": ""} for nb, gid, pts in spec.questions]
    folder = course.work / "reports" / A
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sid}.json").write_text(json.dumps({"student": sid, "assignment": A, "status": status,
                                                    "problems": [], "tests": tests}))


def test_canvas_and_moodle_files_parse_back(tmp_path):
    course = Course(course_copy(tmp_path))
    shutil.rmtree(course.work / "reports", ignore_errors=True)
    nb = json.dumps(filled(A))
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"turing_late_77_88_{A}.ipynb", nb)
        zf.writestr(f"hopper_1234_5678_{A}.ipynb", nb)
        zf.writestr(f"Ada Lovelace_4242_assignsubmission_file_/{A}.ipynb", nb)
    collect(course, course.spec(A), archive)
    _report(course, "turing", "graded", {})                            # 20
    _report(course, "hopper", "graded", {"sample_tests": 0.0})        # 17
    _report(course, "Ada_Lovelace", "graded", {"kneser_ney_prob_tests": 0.0})   # 14
    _report(course, "broken", "not-graded", {})
    export(course, [A])

    with open(course.work / f"grades_{A}.canvas.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [*CANVAS_HEADER, A]
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "20"
    canvas = {r[3]: r for r in rows[2:]}       # by SIS Login ID
    assert canvas["turing"][1] == "77" and canvas["turing"][-1] == "20"
    assert canvas["hopper"][1] == "1234" and canvas["hopper"][-1] == "17"
    assert canvas["Ada_Lovelace"][-1] == "14" and canvas["broken"][-1] == ""   # not graded: empty, never 0
    assert all(len(r) == len(rows[0]) for r in rows)

    with open(course.work / f"grades_{A}.moodle.csv", newline="", encoding="utf-8") as fh:
        moodle = list(csv.DictReader(fh))
    assert list(moodle[0]) == MOODLE_HEADER
    ada = next(r for r in moodle if r["Identifier"] == "Participant 4242")
    assert ada["Full name"] == "Ada Lovelace" and ada["Grade"] == "14.00" and ada["Maximum Grade"] == "20.00"
    assert next(r for r in moodle if r["Full name"] == "broken")["Grade"] == ""
    assert {r["Full name"] for r in moodle} == {"Ada Lovelace", "turing", "hopper", "broken"}
