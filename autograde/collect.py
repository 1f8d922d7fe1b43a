"""Bring submissions into ``autograde/submitted/<student>/<assignment>/``.

Accepted sources:

* a folder with one sub-folder per student (``alice/ch01_ngrams.ipynb`` or
  ``alice/ch01_ngrams/ch01_ngrams.ipynb``);
* a folder of loose files or a ``.zip`` exported by a learning-management system:
  Canvas names files ``<login>_<userid>_<submissionid>_<original name>.ipynb`` (``_late_``
  may follow the login); Moodle puts each student's files in a folder
  ``<Full Name>_<id>_assignsubmission_file_``.  ``--pattern`` takes any other regular
  expression with a named group ``student``.

A student who submitted one notebook under another file name gets it renamed to the
expected name; the rename is recorded and reported as a problem ``renamed-notebook``.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from autograde.course import AssignmentSpec, Course

CANVAS = r"^(?P<student>.+?)_(?:late_)?\d+_\d+_.+\.ipynb$"
MOODLE_FOLDER = re.compile(r"^(?P<student>.+?)_(?P<participant>\d+)_assignsubmission_\w+_?$")
CANVAS_IDS = re.compile(r"^(?P<student>.+?)_(?:late_)?(?P<user_id>\d+)_(?P<submission_id>\d+)_.+\.ipynb$", re.I)
SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def student_id(raw: str) -> str:
    sid = SAFE.sub("_", raw.strip()).strip("._")
    if not sid:
        raise ValueError(f"cannot make a student id from {raw!r}")
    return sid


def _gather(source: Path, pattern: str, roster: dict | None = None) -> dict[str, list[Path]]:
    """student id -> notebook files, from an extracted folder; ``roster`` gets the LMS's
    ids of each student (Canvas user id, Moodle participant number and full name) for
    the grade exports."""
    regex = re.compile(pattern, re.IGNORECASE)
    found: dict[str, list[Path]] = {}
    roster = {} if roster is None else roster
    for nb in sorted(source.rglob("*.ipynb")):
        rel = nb.relative_to(source)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        if len(rel.parts) >= 2:
            top = rel.parts[0]
            m = MOODLE_FOLDER.match(top)
            sid = student_id(m.group("student") if m else top)
            if m:
                roster[sid] = {"lms": "moodle", "participant": m.group("participant"), "name": m.group("student")}
        else:
            m = regex.match(rel.name)
            sid = student_id(m.group("student")) if m else student_id(nb.stem)
            ids = CANVAS_IDS.match(rel.name)
            if ids and pattern == CANVAS:
                roster[sid] = {"lms": "canvas", "user_id": ids.group("user_id"), "login": ids.group("student"),
                               "submission_id": ids.group("submission_id")}
        found.setdefault(sid, []).append(nb)
    return found


def collect(course: Course, spec: AssignmentSpec, source: Path, pattern: str = CANVAS) -> dict[str, list[str]]:
    """Copy submissions in; return notes per student (renames, ambiguities)."""
    source = Path(source)
    if not source.exists():
        raise SystemExit(f"error: {source} does not exist")
    notes: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise SystemExit(f"error: {source} is neither a folder nor a zip file")
            with zipfile.ZipFile(source) as zf:
                for member in zf.namelist():
                    target = (Path(tmp) / member).resolve()
                    if not str(target).startswith(str(Path(tmp).resolve())):
                        raise SystemExit(f"error: {source} holds an unsafe path {member!r}")
                zf.extractall(tmp)
            root = Path(tmp)
        else:
            root = source
        roster: dict[str, dict] = {}
        gathered = _gather(root, pattern, roster)
        expected = list(spec.notebooks)
        for sid, files in sorted(gathered.items()):
            dest = course.submitted / sid / spec.name
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            mine = notes.setdefault(sid, [])
            by_stem = {}
            for f in files:
                stem = f.stem
                for name in expected:  # LMS prefixes: keep the expected name when it ends the file name
                    if stem.endswith(name):
                        stem = name
                by_stem.setdefault(stem, f)
            if len(expected) == 1 and expected[0] not in by_stem and len(files) == 1:
                by_stem = {expected[0]: files[0]}
                mine.append(f"renamed-notebook: {files[0].name} -> {expected[0]}.ipynb")
            for stem, f in by_stem.items():
                shutil.copy2(f, dest / f"{stem}.ipynb")
        (course.work / "reports").mkdir(parents=True, exist_ok=True)
        notes_file = course.work / "reports" / f"{spec.name}.collect.json"
        kept = collect_notes(course, spec.name)     # students collected earlier keep their notes
        kept.update(notes)
        notes_file.write_text(json.dumps(kept, indent=1, sort_keys=True))
        known = lms_roster(course, spec.name)
        known.update(roster)
        (course.work / "reports" / f"{spec.name}.roster.json").write_text(json.dumps(known, indent=1, sort_keys=True))
    return notes


def collect_notes(course: Course, assignment: str) -> dict[str, list[str]]:
    path = course.work / "reports" / f"{assignment}.collect.json"
    return json.loads(path.read_text()) if path.exists() else {}


def lms_roster(course: Course, assignment: str) -> dict[str, dict]:
    """student id -> the LMS's ids for them, as read from the export's file names."""
    path = course.work / "reports" / f"{assignment}.roster.json"
    return json.loads(path.read_text()) if path.exists() else {}
