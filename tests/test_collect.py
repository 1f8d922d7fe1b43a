"""Collecting submissions from the layouts instructors meet, and validating them."""
from __future__ import annotations

import json
import zipfile

import pytest

from autograde.collect import collect, student_id
from autograde.course import Course
from autograde.validate import validate_submission
from tests.submissions import course_copy, filled

A = "ch01_ngrams"


@pytest.fixture()
def course(tmp_path):
    return Course(course_copy(tmp_path))


def _nb() -> str:
    return json.dumps(filled(A))


def test_folder_per_student_nested_and_flat(course, tmp_path):
    src = tmp_path / "class"
    (src / "alice").mkdir(parents=True)
    (src / "alice" / f"{A}.ipynb").write_text(_nb())
    (src / "bob" / A).mkdir(parents=True)
    (src / "bob" / A / f"{A}.ipynb").write_text(_nb())
    (src / "carol").mkdir()
    (src / "carol" / "my work (final).ipynb").write_text(_nb())
    (src / "carol" / ".ipynb_checkpoints").mkdir()
    (src / "carol" / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    notes = collect(course, course.spec(A), src)
    assert sorted(notes) == ["alice", "bob", "carol"]
    for s in ("alice", "bob", "carol"):
        assert (course.submitted / s / A / f"{A}.ipynb").exists()
    assert any("renamed-notebook" in n for n in notes["carol"])
    assert validate_submission(course, course.spec(A), course.submitted / "alice" / A) == []


def test_moodle_and_canvas_zip(course, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"Ada Lovelace_4242_assignsubmission_file_/{A}.ipynb", _nb())
        zf.writestr(f"turing_late_77_88_{A}.ipynb", _nb())
        zf.writestr(f"__MACOSX/._{A}.ipynb", "junk")
    notes = collect(course, course.spec(A), archive)
    assert sorted(notes) == ["Ada_Lovelace", "turing"]


def test_unsafe_zip_and_bad_source_are_refused(course, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.ipynb", _nb())
    with pytest.raises(SystemExit, match="unsafe path"):
        collect(course, course.spec(A), archive)
    with pytest.raises(SystemExit, match="does not exist"):
        collect(course, course.spec(A), tmp_path / "nope")


def test_student_ids_are_safe_folder_names():
    assert student_id(" Jöhn O'Neil ") == "J_hn_O_Neil"
    with pytest.raises(ValueError):
        student_id("...")


def test_validation_names_each_problem(course):
    spec = course.spec(A)
    folder = course.submitted / "x" / A
    folder.mkdir(parents=True)
    assert [p.code for p in validate_submission(course, spec, folder)] == ["missing-notebook"]
    nb = filled(A)
    nb["cells"] = nb["cells"] + [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sample"]
    (folder / f"{A}.ipynb").write_text(json.dumps(nb))
    assert [p.code for p in validate_submission(course, spec, folder)] == ["duplicate-cells"]
    (folder / f"{A}.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert [p.code for p in validate_submission(course, spec, folder)] == ["wrong-assignment"]
