"""notebooks/ is exactly what nbgrader generates from solutions/, and leaks nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.submissions import ROOT, course_copy

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "autograde.hidden",
         "autograde.reference")


def _cells(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("release"))
    out = course / "fresh"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", *ASSIGNMENTS, "--force",
                           f"--CourseDirectory.release_directory={out}"], cwd=course, capture_output=True, text=True)
    if proc.returncode != 0:  # nbgrader accepts one assignment per call in some versions
        for a in ASSIGNMENTS:
            proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", a, "--force",
                                   f"--CourseDirectory.release_directory={out}"], cwd=course, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebooks_are_up_to_date(regenerated, assignment):
    for src in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        committed = ROOT / "notebooks" / assignment / src.name
        fresh = regenerated / assignment / src.name
        assert committed.exists(), f"{committed} missing: run `python -m autograde release`"
        assert json.loads(committed.read_text()) == json.loads(fresh.read_text()), (
            f"{committed} is stale: solutions/ changed since the last release; run `python -m autograde release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebooks_leak_nothing(assignment):
    for path in sorted((ROOT / "notebooks" / assignment).glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        for marker in LEAKS:
            assert marker not in text, f"{path} contains {marker!r}"
        for cell in _cells(path):
            assert not cell.get("outputs"), f"{path} has stored outputs"
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                src = "".join(cell["source"])
                assert "raise NotImplementedError()" in src, f"{path}: answer cell {meta['grade_id']} has no stub"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_state_their_points(assignment):
    for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        cells = _cells(path)
        graded = [c["metadata"]["nbgrader"] for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        assert graded, f"{path} has no graded cell"
        intro = "".join(cells[0]["source"])
        total = sum(m["points"] for m in graded)
        assert f"**{total:g}**" in intro, f"the points table in {path.name} must show the total {total:g}"
        for m in graded:
            assert m["points"] > 0 and m["grade_id"].endswith("_tests")
            answer = m["grade_id"][: -len("_tests")]
            assert f"`{answer}` | {m['points']:g} |" in intro, f"{path.name}: points of {answer} not stated in the table"
