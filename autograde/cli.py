"""Instructor commands.  ``python -m autograde --help`` lists them.

    python -m autograde release [ASSIGNMENT ...]        regenerate notebooks/ from solutions/
    python -m autograde collect ASSIGNMENT SOURCE       a folder per student, or an LMS .zip
    python -m autograde grade ASSIGNMENT [--student S]  validate, autograde, feedback, grades CSV
    python -m autograde feedback ASSIGNMENT             (re)write the HTML feedback
    python -m autograde export [ASSIGNMENT ...]         write the grades CSV from the gradebook
    python -m autograde run ASSIGNMENT SOURCE           collect + grade: the whole class, one command

Everything nbgrader does (release, autograde, feedback, the gradebook) is real nbgrader,
run as a subprocess per student so that one broken submission cannot stop the batch.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograde.collect import CANVAS, collect, collect_notes
from autograde.course import AssignmentSpec, Course
from autograde.validate import Problem, validate_submission


def _nbgrader(course: Course, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args]
    return subprocess.run(cmd, cwd=course.root, env=course.env(), capture_output=True, text=True, timeout=timeout)


def _fail(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"error: {what} failed (exit {proc.returncode})")


# ------------------------------------------------------------------------- release
def release(course: Course, assignments: list[str], into: Path | None = None) -> None:
    """nbgrader generate_assignment for each assignment (into notebooks/, or ``into``)."""
    for name in assignments or course.assignments():
        course.spec(name)  # clear error for an unknown name
        args = ["generate_assignment", name, "--force"]
        if into is not None:
            args.append(f"--CourseDirectory.release_directory={into}")
        _fail(_nbgrader(course, *args), f"releasing {name}")
        if into is None:
            print(f"released {name} -> {course.notebooks / name}")


def _ensure_in_gradebook(course: Course, assignment: str) -> None:
    """Autograding restores locked and hidden test cells from the gradebook; put the
    assignment there (without touching notebooks/) when this gradebook lacks it."""
    from nbgrader.api import Gradebook, MissingEntry

    course.work.mkdir(exist_ok=True)
    with Gradebook(f"sqlite:///{course.gradebook}") as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as tmp:
        release(course, [assignment], into=Path(tmp))


# ------------------------------------------------------------------------- grading
@dataclass
class Outcome:
    student: str
    status: str  # graded | graded-with-problems | timeout | crash | grader-error | not-graded
    problems: list[str] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0


def _students(course: Course, assignment: str, only: list[str] | None) -> list[str]:
    if not course.submitted.is_dir():
        return []
    found = sorted(p.parent.name for p in course.submitted.glob(f"*/{assignment}") if p.is_dir())
    if only:
        missing = sorted(set(only) - set(found))
        if missing:
            raise SystemExit(f"error: no submission of {assignment} for: {', '.join(missing)}")
        return [s for s in found if s in only]
    return found


def _scores(course: Course, spec: AssignmentSpec, student: str) -> dict[str, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, float | None] = {}
    with Gradebook(f"sqlite:///{course.gradebook}") as gb:
        for nb, gid, _ in spec.questions:
            try:
                out[gid] = float(gb.find_grade(gid, nb, spec.name, student).score)
            except MissingEntry:
                out[gid] = None
    return out


def _test_messages(course: Course, spec: AssignmentSpec, student: str) -> dict[str, str]:
    """The error each failed test cell printed, from the autograded notebook."""
    msgs = {}
    for nb in spec.notebooks:
        path = course.autograded / student / spec.name / f"{nb}.ipynb"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for cell in data.get("cells", []):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and gid:
                    msgs[gid] = f"{out.get('ename')}: {out.get('evalue')}"[:2000]
    return msgs


def grade_one(course: Course, spec: AssignmentSpec, student: str, timeout: float) -> Outcome:
    start = time.time()
    folder = course.submitted / student / spec.name
    problems: list[Problem] = validate_submission(course, spec, folder)
    notes = collect_notes(course, spec.name).get(student, [])
    outcome = Outcome(student, "graded", [*notes, *(str(p) for p in problems)])
    if any(p.fatal for p in problems):
        outcome.status = "not-graded"
        outcome.scores = {gid: None for _, gid, _ in spec.questions}
        outcome.seconds = time.time() - start
        return outcome
    try:
        proc = _nbgrader(course, "autograde", spec.name, f"--student={student}", "--force", timeout=timeout)
        log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        proc, log = None, ""
        outcome.problems.append(f"timeout: grading took longer than {timeout:.0f} s and was stopped")
    if proc is not None and proc.returncode != 0:
        outcome.problems.append("grader-error: nbgrader autograde failed: " + _last_error(log))
    if "Kernel died" in log or "DeadKernelError" in log:
        outcome.problems.append("crash: the notebook's kernel died while running")
    if "Timeout waiting for execute reply" in log or "CellTimeoutError" in log:
        outcome.problems.append("timeout: a cell ran past the cell time limit")
    outcome.scores = _scores(course, spec, student)
    kinds = {p.split(":", 1)[0] for p in outcome.problems}
    if all(v is None for v in outcome.scores.values()):
        outcome.status = "grader-error"
    else:  # the most serious problem names the status; scores after a crash are not answers
        outcome.status = next((k for k in ("crash", "timeout", "grader-error") if k in kinds),
                              "graded-with-problems" if outcome.problems else "graded")
    outcome.seconds = time.time() - start
    return outcome


def _last_error(log: str) -> str:
    lines = [ln for ln in log.splitlines() if "ERROR" in ln or "Error" in ln]
    return (lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else "no output")[:500]


def grade(course: Course, assignment: str, students: list[str] | None = None, timeout: float = 1800,
          feedback_too: bool = True, out: Path | None = None) -> list[Outcome]:
    spec = course.spec(assignment)
    _ensure_in_gradebook(course, assignment)
    todo = _students(course, assignment, students)
    if not todo:
        raise SystemExit(f"error: no submissions in {course.submitted}/*/{assignment}; run `collect` first")
    outcomes = []
    for i, student in enumerate(todo, 1):
        o = grade_one(course, spec, student, timeout)
        total = sum(v for v in o.scores.values() if v is not None)
        print(f"[{i}/{len(todo)}] {student}: {o.status}, {total:g}/{spec.max_score:g} points ({o.seconds:.1f} s)")
        for p in o.problems:
            print(f"    ! {p}")
        outcomes.append(o)
    messages = {o.student: _test_messages(course, spec, o.student) for o in outcomes}
    _write_reports(course, spec, outcomes, messages)
    if feedback_too:
        feedback(course, assignment, [o.student for o in outcomes if o.status != "not-graded"])
    path = export(course, [assignment], out)
    print(f"grades: {path}")
    return outcomes


def _write_reports(course: Course, spec: AssignmentSpec, outcomes: list[Outcome], messages) -> None:
    folder = course.work / "reports" / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        tests = []
        for nb, gid, pts in spec.questions:
            score = o.scores.get(gid)
            status = "not-run" if score is None else ("pass" if score >= pts else "fail")
            if any(p.startswith("missing-cells") and gid in p for p in o.problems):
                status = "missing-cell"
            tests.append({"notebook": nb, "test": gid, "points": pts, "score": score, "status": status,
                          "message": messages.get(o.student, {}).get(gid, "")})
        (folder / f"{o.student}.json").write_text(json.dumps(
            {"student": o.student, "assignment": spec.name, "status": o.status, "problems": o.problems,
             "tests": tests, "seconds": round(o.seconds, 2)}, indent=1))


# ------------------------------------------------------------------------- feedback / export
def feedback(course: Course, assignment: str, students: list[str] | None = None) -> None:
    for student in students if students is not None else _students(course, assignment, None):
        proc = _nbgrader(course, "generate_feedback", assignment, f"--student={student}", "--force")
        if proc.returncode != 0:
            print(f"    ! feedback for {student} failed: {_last_error(proc.stdout + proc.stderr)}")
    print(f"feedback: {course.feedback}/<student>/{assignment}/")


def export(course: Course, assignments: list[str] | None = None, out: Path | None = None) -> Path:
    """One row per student and assignment: a column per graded test cell, totals, status."""
    names = assignments or course.assignments()
    out = Path(out) if out else course.work / ("grades.csv" if len(names) != 1 else f"grades_{names[0]}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    specs = [course.spec(n) for n in names]
    columns = [f"{s.name}:{gid}" for s in specs for _, gid, _ in s.questions]
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        w.writerow(["student_id", "assignment", "status", *columns, "total", "max_total", "problems"])
        w.writerow(["(points)", "", "", *[f"{pts:g}" for s in specs for _, _, pts in s.questions], "", "", ""])
        for spec in specs:
            reports = course.work / "reports" / spec.name
            for rp in sorted(reports.glob("*.json")) if reports.is_dir() else []:
                rep = json.loads(rp.read_text())
                by_test = {t["test"]: t["score"] for t in rep["tests"]}
                cells = []
                for s in specs:
                    for _, gid, _ in s.questions:
                        v = by_test.get(gid) if s is spec else None
                        cells.append("" if v is None else f"{v:g}")
                total = sum(t["score"] for t in rep["tests"] if t["score"] is not None)
                graded = rep["status"] not in ("not-graded", "grader-error")
                w.writerow([rep["student"], spec.name, rep["status"], *cells,
                            f"{total:g}" if graded else "", f"{spec.max_score:g}", " | ".join(rep["problems"])])
    return out


# ------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    course = Course()
    ap = argparse.ArgumentParser(prog="python -m autograde", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("collect", help="copy submissions into autograde/submitted/")
    p.add_argument("assignment")
    p.add_argument("source", type=Path)
    p.add_argument("--pattern", default=CANVAS, help="regex with a group 'student' for loose file names (default: Canvas)")
    for name in ("grade", "run"):
        p = sub.add_parser(name, help="validate + autograde + feedback + CSV" if name == "grade"
                           else "collect SOURCE, then grade: the whole class in one command")
        p.add_argument("assignment")
        if name == "run":
            p.add_argument("source", type=Path)
            p.add_argument("--pattern", default=CANVAS)
        p.add_argument("--student", action="append", help="grade only this student (repeatable)")
        p.add_argument("--timeout", type=float, default=1800, help="seconds per submission (default 1800)")
        p.add_argument("--no-feedback", action="store_true")
        p.add_argument("--out", type=Path, help="grades CSV path (default autograde/grades_<assignment>.csv)")
    p = sub.add_parser("feedback", help="write HTML feedback for graded submissions")
    p.add_argument("assignment")
    p = sub.add_parser("export", help="write the grades CSV")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--out", type=Path)
    args = ap.parse_args(argv)

    if args.cmd == "release":
        release(course, args.assignments)
    elif args.cmd == "collect":
        notes = collect(course, course.spec(args.assignment), args.source, args.pattern)
        print(f"collected {len(notes)} submissions of {args.assignment} into {course.submitted}")
        for sid, ns in notes.items():
            for n in ns:
                print(f"    ! {sid}: {n}")
    elif args.cmd in ("grade", "run"):
        if args.cmd == "run":
            collect(course, course.spec(args.assignment), args.source, args.pattern)
        outcomes = grade(course, args.assignment, args.student, args.timeout, not args.no_feedback, args.out)
        bad = [o for o in outcomes if o.status in ("not-graded", "grader-error")]
        print(f"{len(outcomes)} submissions: {len(outcomes) - len(bad)} graded, {len(bad)} not graded (see status)")
    elif args.cmd == "feedback":
        feedback(course, args.assignment)
    elif args.cmd == "export":
        print(export(course, args.assignments, args.out))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
