"""Build student submissions from the released notebook, for grading tests.

A *filled* submission is the student notebook with every answer cell replaced by the
body of the reference solution (the lines between the solution markers, plus the code
around them), exactly what a student who wrote the model answer would hand in.  Planted
bugs and alternative solutions replace one answer cell's code.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _src(cell) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def answer_sources(assignment: str) -> dict[str, str]:
    """grade_id -> reference answer (solution markers removed) of every answer cell."""
    nb = load(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    out = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and not meta.get("grade"):
            lines = [ln for ln in _src(cell).splitlines() if not _MARKERS.match(ln)]
            out[meta["grade_id"]] = "\n".join(lines)
    return out


def given_namespace(assignment: str, given: tuple[str, ...], drop: tuple[str, ...] = ("info =",)) -> dict:
    """Globals of a solution notebook's given cells (imports, helpers the answers may use),
    without the set-up cell's seeding and printing (lines starting with ``drop``)."""
    nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    ns: dict = {}
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in given:
            src = "".join(cell["source"])
            if "env.setup" in src:   # imports only; no seeding or printing
                src = "\n".join(ln for ln in src.splitlines() if not ln.startswith(drop))
            exec(src, ns)
    return ns


def define(assignment: str, given: tuple[str, ...], source: str, name: str,
           drop: tuple[str, ...] = ("info =",)):
    """``name`` as defined by ``source`` run among the notebook's given cells."""
    ns = given_namespace(assignment, given, drop)
    exec(source, ns)
    return ns[name]


def student_notebook(assignment: str) -> dict:
    return load(ROOT / "notebooks" / assignment / f"{assignment}.ipynb")


def points(assignment: str) -> dict[str, float]:
    """grade id -> points of every graded test cell of the assignment's source notebook."""
    nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: float(c["metadata"]["nbgrader"]["points"])
            for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def filled(assignment: str, replace: dict[str, str] | None = None) -> dict:
    """The released notebook with reference answers, some replaced by ``replace``."""
    nb = copy.deepcopy(student_notebook(assignment))
    answers = answer_sources(assignment)
    answers.update(replace or {})
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = answers[gid]
    return nb


def write(nb: dict | str | bytes, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb, encoding="utf-8")
    else:
        path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def course_copy(tmp: Path) -> Path:
    """A copy of the course (solutions, notebooks, instructor tooling, nbgrader config)
    whose gradebook and grading folders start empty."""
    dst = Path(tmp) / "course"
    dst.mkdir()
    for name in ("solutions", "notebooks"):
        shutil.copytree(ROOT / name, dst / name)
    shutil.copytree(ROOT / "autograde", dst / "autograde",
                    ignore=shutil.ignore_patterns("submitted", "autograded", "feedback", "reports", "downloaded", ".sandbox", "limits",
                                                  "gradebook.db*", "grades*.csv", "__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", dst)
    return dst
