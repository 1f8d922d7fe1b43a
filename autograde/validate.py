"""Check a submission before grading it, so that a broken file is reported as what it is.

Every problem found becomes a :class:`Problem` with a machine-readable ``code`` and a
sentence for the instructor.  ``fatal`` problems stop the notebook from being graded (the
grades CSV shows the status instead of a silent 0); the others are graded and reported.

codes:
  missing-notebook   the submission has no file with the expected notebook name
  invalid-json       the file is not JSON (truncated upload, wrong file type)
  invalid-notebook   JSON, but not a version-4 Jupyter notebook nbformat can read
  wrong-assignment   a notebook of another assignment (its graded cells belong elsewhere)
  missing-cells      graded cells (answers or tests) were deleted or their metadata stripped
                     (graded anyway: tests are restored from the course's notebook)
  metadata-stripped  no nbgrader metadata at all (graded: answers found by the names they define)
  duplicate-cells    a graded cell appears more than once
  extra-notebook     a notebook the assignment does not have (ignored)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from autograde.course import AssignmentSpec, Course

FATAL = {"missing-notebook", "invalid-json", "invalid-notebook", "wrong-assignment"}


@dataclass(frozen=True)
class Problem:
    code: str
    notebook: str
    message: str

    @property
    def fatal(self) -> bool:
        return self.code in FATAL

    def __str__(self) -> str:
        return f"{self.code}: {self.notebook}: {self.message}"


def _grade_ids(nb: dict) -> list[str]:
    ids = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and (meta.get("grade") or meta.get("solution")) and meta.get("grade_id"):
            ids.append(meta["grade_id"])
    return ids


def _owner(course: Course, ids: set[str], assignment: str) -> str | None:
    """The other assignment whose graded cells these are, if any."""
    for other in course.assignments():
        if other == assignment:
            continue
        spec = course.spec(other)
        other_ids = {g for nb in spec.notebooks.values() for g in (*nb.answer_cells, *nb.test_cells)}
        if ids and len(ids & other_ids) >= max(1, len(ids) // 2):
            return other
    return None


def _defines_answers(course: Course, assignment: str, notebook: str, nb: dict) -> bool:
    """Whether the code cells of ``nb`` define most of the names the answer cells of the
    released notebook define (a notebook whose nbgrader metadata was stripped)."""
    import ast

    release = course.notebooks / assignment / f"{notebook}.ipynb"
    if not release.exists():
        return False

    def names(code: str) -> set[str]:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return set()
        return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}

    def src(cell) -> str:
        s = cell.get("source", "")
        return "".join(s) if isinstance(s, list) else str(s)

    wanted: set[str] = set()
    for cell in json.loads(release.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade"):
            wanted |= names(src(cell))
    have: set[str] = set()
    for cell in nb.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            have |= names(src(cell))
    return bool(wanted) and len(wanted & have) * 2 >= len(wanted)


def validate_submission(course: Course, spec: AssignmentSpec, folder: Path) -> list[Problem]:
    """Problems of one student's submission folder ``submitted/<student>/<assignment>``."""
    import nbformat

    problems: list[Problem] = []
    present = {p.stem: p for p in folder.glob("*.ipynb")} if folder.is_dir() else {}
    for extra in sorted(set(present) - set(spec.notebooks)):
        problems.append(Problem("extra-notebook", extra, "not part of this assignment; ignored"))
    for name, nbspec in spec.notebooks.items():
        path = present.get(name)
        if path is None:
            found = ", ".join(sorted(present)) or "no notebook at all"
            problems.append(Problem("missing-notebook", name, f"expected {name}.ipynb, found {found}"))
            continue
        raw = path.read_bytes()
        try:
            nb = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(Problem("invalid-json", name, f"the file is not valid JSON ({exc}); {len(raw)} bytes"))
            continue
        if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
            version = nb.get("nbformat") if isinstance(nb, dict) else None
            problems.append(Problem("invalid-notebook", name, f"not an nbformat-4 notebook (nbformat={version!r})"))
            continue
        try:
            nbformat.validate(nbformat.from_dict(nb))
        except Exception as exc:  # nbformat.ValidationError and friends
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(Problem("invalid-notebook", name, f"fails the nbformat schema: {first}"))
            continue
        ids = _grade_ids(nb)
        expected = [*nbspec.answer_cells, *nbspec.test_cells]
        mine = set(ids)
        if not mine & set(expected):
            owner = _owner(course, mine, spec.name)
            if owner:
                problems.append(Problem("wrong-assignment", name, f"this is a notebook of assignment {owner!r}, not {spec.name!r}"))
            elif not ids and _defines_answers(course, spec.name, name, nb):
                problems.append(Problem("metadata-stripped", name, "the notebook has no nbgrader metadata (an editor "
                                        "stripped it); answers were found by the names they define, tests restored"))
            else:
                problems.append(Problem("wrong-assignment", name, "none of this assignment's graded cells is present "
                                        "(a different notebook, or all nbgrader metadata stripped)"))
            continue
        missing = [g for g in expected if g not in mine]
        if missing:
            problems.append(Problem("missing-cells", name, "graded cells deleted or metadata stripped: " + ", ".join(missing)))
        dups = sorted({g for g in ids if ids.count(g) > 1})
        if dups:
            problems.append(Problem("duplicate-cells", name, "graded cells appear more than once: " + ", ".join(dups)))
    return problems
