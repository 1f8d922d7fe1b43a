"""Instructor commands.  ``python -m autograde --help`` lists them.

    python -m autograde release [ASSIGNMENT ...]        regenerate notebooks/ from solutions/
    python -m autograde collect ASSIGNMENT SOURCE       a folder per student, or an LMS .zip
    python -m autograde grade ASSIGNMENT [--student S]  validate, autograde, feedback, grades CSV
    python -m autograde feedback ASSIGNMENT             (re)write the HTML feedback
    python -m autograde export [ASSIGNMENT ...]         write the grades CSV from the gradebook
    python -m autograde run ASSIGNMENT SOURCE           collect + grade the students in SOURCE (--all: everyone)

``grade`` and ``run`` take ``--engine slurm``: one Slurm job array, a task per submission
(``autograde.slurm``), instead of processes on this machine.

``grade`` and ``run`` grade again only what changed: a submission whose content and
course version (notebooks, checks, grader, limits, mode) match its stored result is
taken from there, so a batch that died is resumed by running the command again;
``--force`` regrades everything.

Release and the gradebook are nbgrader's.  Grading is ours (``autograde.engine``): each
submission is graded by a process of its own, its code runs in a sandbox
(``autograde.sandbox``) and the checks run outside it; N submissions are graded in
parallel and one writer puts the scores into nbgrader's gradebook.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
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
    with gradebook_lock(course):          # another grading run may be creating it right now
        with Gradebook(course.db_url) as gb:
            try:
                gb.find_assignment(assignment)
                return
            except MissingEntry:
                pass
        with tempfile.TemporaryDirectory() as tmp:
            release(course, [assignment], into=Path(tmp))


@contextmanager
def gradebook_lock(course: Course):
    """One gradebook writer at a time across processes and machines: a PostgreSQL
    advisory lock on a server gradebook, a file lock beside a SQLite one.  Two grading
    runs at once (two assistants, two halves of a class) would otherwise race to create
    nbgrader's tables in a new database (PostgreSQL: duplicate type ``grade_cell_type``)."""
    url = course.db_url
    if url.startswith("postgresql"):
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
        finally:
            engine.dispose()
    else:
        import fcntl

        course.work.mkdir(exist_ok=True)
        with open(course.work / ".gradebook.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


_LOCK_KEY = 0x524E4E43     # "RNNC": the course's advisory lock on a PostgreSQL gradebook


# ------------------------------------------------------------------------- grading
@dataclass
class Outcome:
    student: str
    status: str  # graded | graded-with-problems | timeout | crash | grader-error | not-graded
    problems: list[str] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)
    tests: dict[str, dict] = field(default_factory=dict)      # grade_id -> status, score, message
    seconds: float = 0.0
    sandbox: str = ""
    uids: list[dict] = field(default_factory=list)             # the leased uids it ran as, and when
    reused: bool = False       # unchanged since it was last graded: the stored result was used


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


_SEVERITY = ("grader-error", "crash", "timeout")


def submission_hash(folder: Path) -> str:
    """sha256 of a submission folder: every file's relative path and bytes."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(folder).rglob("*") if p.is_file()) if Path(folder).is_dir() else []:
        h.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


_VERSION_FILES = ("rnncourse/**/*.py", "autograde/engine.py", "autograde/remote.py", "autograde/sandbox.py",
                  "autograde/validate.py", "autograde/course.py", "autograde/hidden/**/*.py",
                  "autograde/reference/**/*.py")
_VERSION_ENV = ("RNNCOURSE_CHECK_SEED", "RNNCOURSE_CELL_TIMEOUT", "RNNCOURSE_TEST_TIMEOUT",
                "RNNCOURSE_NOTEBOOK_TIMEOUT", "RNNCOURSE_MEMORY_BYTES", "RNNCOURSE_SCRATCH_BYTES",
                "RNNCOURSE_MAX_PROCESSES", "RNNCOURSE_OUTPUT_CAP", "RNNCOURSE_GRADER_THREADS", "RNNCOURSE_SANDBOX")


def course_version(course: Course, spec: AssignmentSpec) -> str:
    """What a grade depends on besides the submission: the assignment's source and release
    notebooks, the checks, hidden checks, reference code and grader, the time limits
    stored with the release, the mode and the grading settings.  Any change regrades."""
    import rnncourse

    h = hashlib.sha256()
    pkg_root = Path(rnncourse.__file__).resolve().parents[1]
    files = [*sorted((course.solutions / spec.name).glob("*.ipynb")), *sorted((course.notebooks / spec.name).glob("*.ipynb"))]
    for pattern in _VERSION_FILES:
        base = pkg_root if pattern.startswith("rnncourse/") else course.root
        files += sorted(base.glob(pattern))
    limits = limits_path(course, spec.name)
    if limits.exists():
        files.append(limits)
    for f in files:
        if "__pycache__" in f.parts:
            continue
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    mode = course.env().get("RNNCOURSE_MODE", "")
    h.update(json.dumps([mode, [os.environ.get(k, "") for k in _VERSION_ENV]]).encode())
    return h.hexdigest()


def limits_path(course: Course, assignment: str) -> Path:
    """Where the time limits measured for an assignment are stored."""
    return course.limits_file(assignment)


def ensure_limits(course: Course, spec: AssignmentSpec, timeout: float = 3600) -> dict | None:
    """The time limits derived from the reference's measured time on this machine: read
    from ``autograde/limits/<assignment>.json``, or measured now (grading the reference
    once) when missing or made for other notebooks, another mode or another device."""
    from autograde.engine import stored_limits

    if os.environ.get("RNNCOURSE_CELL_TIMEOUT") or os.environ.get("RNNCOURSE_TEST_TIMEOUT"):
        return None   # flat limits were asked for: nothing to measure
    stored = stored_limits(course, spec)
    if stored is not None:
        return stored
    print(f"measuring {spec.name}'s reference solution on this machine for the time limits ...", flush=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "limits.json"
        proc = subprocess.run([sys.executable, "-m", "autograde.engine", spec.name, "--measure-limits",
                               "--out", str(out)], cwd=course.root, env=course.env(), capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0 or not out.exists():
            print(f"warning: measuring the reference failed; flat limits are used: "
                  f"{_last_error(proc.stdout + proc.stderr)}", file=sys.stderr)
            return None
        stored = json.loads(out.read_text())
    for nb, v in stored["notebooks"].items():
        worst = max(v["steps"].values(), key=lambda x: x["limit"], default=None)
        print(f"  {nb}: reference {v['reference_seconds']:g} s; limits {stored['floor_seconds']:g}"
              f"-{worst['limit'] if worst else stored['floor_seconds']:g} s per cell/test, "
              f"{v['notebook_limit']:g} s per notebook ({time.time() - t0:.0f} s)")
    if stored.get("reference_problems"):
        print("warning: the reference solution does not pass on this machine: "
              + "; ".join(stored["reference_problems"]), file=sys.stderr)
    return stored


def grade_one(course: Course, spec: AssignmentSpec, student: str, timeout: float, slot: int = 0,
              version: str | None = None, force: bool = False) -> Outcome:
    """Validate one submission, then grade it in a process of its own
    (``python -m autograde.engine``), whose student code runs in the sandbox.

    The result is stored beside the others with the submission's hash and the course
    ``version``: when both are unchanged, the stored result is used again (unless
    ``force``), so a batch that died is resumed where it stopped.

    Three parts, so that another engine (``autograde.slurm``) can run the middle one
    elsewhere: ``prepare_one`` (validation, the key, the stored result), ``run_local``
    (the grading process) and ``finish_one`` (the result as an Outcome)."""
    prep = prepare_one(course, spec, student, version=version, force=force)
    if prep.done or prep.result is not None:
        return finish_one(prep)
    part = prep.out.with_suffix(".part")
    failure = run_local(course, spec, student, part, timeout, slot)
    if failure is not None:
        return finish_one(prep, failure=failure)
    return finish_one(prep, store_result(prep, part))


@dataclass
class Prepared:
    """A submission checked and ready to grade: its Outcome so far, and either a final
    status (``done``: not gradable), the stored result to reuse, or the key and path its
    new result is stored under."""
    outcome: Outcome
    start: float
    done: bool = False
    key: dict | None = None
    out: Path | None = None
    result: dict | None = None


def prepare_one(course: Course, spec: AssignmentSpec, student: str, version: str | None = None,
                force: bool = False) -> Prepared:
    """Validation, the result's key (submission hash + course version) and the stored
    result when its key matches (unless ``force``)."""
    start = time.time()
    folder = course.submitted / student / spec.name
    problems: list[Problem] = validate_submission(course, spec, folder)
    notes = collect_notes(course, spec.name).get(student, [])
    outcome = Outcome(student, "graded", [*notes, *(str(p) for p in problems)])
    outcome.scores = {gid: None for _, gid, _ in spec.questions}
    if any(p.fatal for p in problems):
        outcome.status = "not-graded"
        outcome.seconds = time.time() - start
        return Prepared(outcome, start, done=True)
    results = course.work / ".sandbox" / "results" / spec.name
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"{student}.json"
    key = {"submission": submission_hash(folder), "course": version or course_version(course, spec)}
    prep = Prepared(outcome, start, key=key, out=out)
    if not force and out.exists():
        try:
            stored = json.loads(out.read_text(encoding="utf-8"))
            if stored.get("key") == key and (course.autograded / student / spec.name).is_dir():
                prep.result, outcome.reused = stored, True
        except (OSError, ValueError):
            pass
    if prep.result is None:
        out.unlink(missing_ok=True)
    return prep


def run_local(course: Course, spec: AssignmentSpec, student: str, part: Path, timeout: float,
              slot: int = 0, echo: bool = False) -> str | None:
    """The local engine: ``python -m autograde.engine`` for one submission, writing its
    result to ``part``.  Returns None when it did, else what went wrong (the log's last
    error).  ``echo``: the grading process's output to stdout too (a Slurm task's log)."""
    part.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "autograde.engine", spec.name, student, "--slot", str(slot), "--out", str(part)]
    try:
        from autograde.sandbox import _die_with_parent

        proc = subprocess.run(cmd, cwd=course.root, env=course.env(), capture_output=True, text=True,
                              timeout=timeout, preexec_fn=_die_with_parent)
        log = (proc.stdout + proc.stderr)[-3000:]
        failed = proc.returncode != 0 or not part.exists()
    except subprocess.TimeoutExpired:
        failed, log = True, f"grading took longer than {timeout:.0f} s and was stopped"
    if echo:
        print(log, flush=True)
    return _last_error(log) if failed else None


def store_result(prep: Prepared, part: Path, extra: dict | None = None) -> dict:
    """A new result (``part``, as the engine wrote it) stored with its key under
    ``prep.out``, whole or not at all."""
    result = json.loads(part.read_text(encoding="utf-8"))
    result.update(extra or {})
    result["key"] = prep.key
    part.write_text(json.dumps(result, indent=1), encoding="utf-8")
    os.replace(part, prep.out)      # the whole result or none: a batch killed here is resumed
    return result


def finish_one(prep: Prepared, result: dict | None = None, failure: str | None = None,
               seconds: float | None = None) -> Outcome:
    """The Outcome of a prepared submission: final already (not gradable), a grader
    error (``failure``: grading it failed) or its result's verdicts (``result``, or the
    stored one).  ``seconds``: how long it took, when not since ``prepare_one``."""
    outcome = prep.outcome
    if prep.done:
        return outcome
    if failure is not None:
        outcome.status = "grader-error"
        outcome.problems.append("grader-error: grading this submission failed: " + failure)
        outcome.seconds = time.time() - prep.start if seconds is None else seconds
        return outcome
    result = result if result is not None else prep.result
    outcome.sandbox = result.get("sandbox", "")
    for nb_name, nb in result["notebooks"].items():
        if nb.get("uid"):
            outcome.uids.append({"notebook": nb_name, **nb["uid"]})
        for note in nb.get("notes", []):
            outcome.problems.append(f"note: {nb_name}: {note}")
        for cell in nb.get("cells", []):
            if cell["status"] in ("crash", "timeout"):
                outcome.problems.append(f"{cell['status']}: {nb_name}: cell {cell['cell']}: {cell.get('message', '')}")
        for gid, t in nb["tests"].items():
            outcome.tests[gid] = t
            outcome.scores[gid] = t["score"]
            if t["status"] in _SEVERITY:
                outcome.problems.append(f"{t['status']}: {nb_name}: test {gid}: {t['message'].splitlines()[0][:300]}")
    kinds = {p.split(":", 1)[0] for p in outcome.problems}
    outcome.status = next((k for k in _SEVERITY if k in kinds),
                          "graded-with-problems" if outcome.problems else "graded")
    outcome.seconds = time.time() - prep.start if seconds is None else seconds
    return outcome


def _last_error(log: str) -> str:
    lines = [ln for ln in log.splitlines() if "ERROR" in ln or "Error" in ln]
    return (lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else "no output")[:500]


def default_workers() -> int:
    """Parallel grading processes: one per two CPU cores, at least one; on GPU machines,
    no more than four per GPU (they share it through CUDA's own scheduling)."""
    n = max(1, (os.cpu_count() or 2) // 2)
    try:
        import torch

        if torch.cuda.is_available():
            n = min(n, 4 * torch.cuda.device_count())
    except Exception:
        pass
    return n


def grade(course: Course, assignment: str, students: list[str] | None = None, timeout: float = 1800,
          feedback_too: bool = True, out: Path | None = None, workers: int | None = None,
          force: bool = False, engine: str = "local", slurm_partition: str | None = None,
          slurm_args: str = "") -> list[Outcome]:
    """Grade the submissions of ``assignment`` (``students``, or all collected).  A
    submission whose content and course version are those of its stored result is not
    graded again (``force`` regrades it); the gradebook, reports, feedback and CSV are
    written for all of them, so a batch that died ends as if it had not.

    ``engine``: ``local`` (processes on this machine, ``workers`` at once) or ``slurm``
    (one job array on a Slurm cluster, ``autograde.slurm``; ``workers`` caps how many of
    its tasks run at once).  Either way this process writes the gradebook."""
    from autograde.sandbox import prepare_data_view

    spec = course.spec(assignment)
    _ensure_in_gradebook(course, assignment)
    todo = _students(course, assignment, students)
    if not todo:
        raise SystemExit(f"error: no submissions in {course.submitted}/*/{assignment}; run `collect` first")
    prepare_data_view(course.work / ".sandbox" / "data")     # once, before the workers start
    if engine == "slurm":
        from autograde import slurm

        slurm.check_client()       # before measuring anything: a clear error without sbatch
    elif engine != "local":
        raise SystemExit(f"error: unknown engine {engine!r} (local or slurm)")
    asked = workers
    workers = max(1, min(workers or default_workers(), len(todo)))
    ensure_limits(course, spec)
    version = course_version(course, spec)
    slots: queue.Queue[int] = queue.Queue()
    for i in range(workers):
        slots.put(i)

    def job(student: str) -> Outcome:
        slot = slots.get()
        try:
            return grade_one(course, spec, student, timeout, slot, version=version, force=force)
        finally:
            slots.put(slot)

    def report(i: int, o: Outcome) -> None:
        total = sum(v for v in o.scores.values() if v is not None)
        how = "unchanged, stored result" if o.reused else f"{o.seconds:.1f} s"
        print(f"[{i}/{len(todo)}] {o.student}: {o.status}, {total:g}/{spec.max_score:g} points ({how})", flush=True)
        for p in o.problems:
            print(f"    ! {p}")

    outcomes = []
    t0 = time.time()
    if engine == "slurm":
        cap = min(asked, len(todo)) if asked else None
        print(f"grading {len(todo)} submissions of {assignment} on Slurm "
              f"({f'at most {cap} at once' if cap else 'as many at once as the cluster gives'})", flush=True)
        outcomes = slurm.grade_batch(course, spec, todo, timeout, version=version, force=force, max_running=cap,
                                     partition=slurm_partition, extra_args=slurm_args)
        for i, o in enumerate(outcomes, 1):
            report(i, o)
    else:
        print(f"grading {len(todo)} submissions of {assignment} with {workers} worker{'s' if workers > 1 else ''}")
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(job, s): s for s in todo}
            for i, fut in enumerate(as_completed(futures), 1):
                o = fut.result()
                report(i, o)
                outcomes.append(o)
    outcomes.sort(key=lambda o: o.student)
    reused = sum(o.reused for o in outcomes)
    print(f"graded in {time.time() - t0:.1f} s" + (f" ({len(outcomes) - reused} graded now, {reused} unchanged "
                                                    "since their last grading: --force regrades them)" if reused else ""))
    write_gradebook(course, spec, outcomes)
    _write_reports(course, spec, outcomes)
    if feedback_too:
        feedback(course, assignment, [o.student for o in outcomes if o.status != "not-graded"])
    path = export(course, [assignment], out)
    print(f"grades: {path} (for Canvas's and Moodle's gradebook import: "
          f"grades_{assignment}.canvas.csv, grades_{assignment}.moodle.csv beside it)")
    return outcomes


def write_gradebook(course: Course, spec: AssignmentSpec, outcomes: list[Outcome]) -> None:
    """The one writer: every graded submission's scores into nbgrader's gradebook (so
    formgrader shows them).  A score of None (grader error) is left for manual grading."""
    from nbgrader.api import Gradebook

    with gradebook_lock(course), Gradebook(course.db_url) as gb:
        for o in outcomes:
            if o.status == "not-graded":
                continue
            gb.update_or_create_student(o.student)
            gb.update_or_create_submission(spec.name, o.student)
            for nb, gid, _ in spec.questions:
                g = gb.find_grade(gid, nb, spec.name, o.student)
                score = o.scores.get(gid)
                g.auto_score = score
                g.needs_manual_grade = score is None
            gb.db.commit()


def _write_reports(course: Course, spec: AssignmentSpec, outcomes: list[Outcome]) -> None:
    folder = course.work / "reports" / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        tests = []
        for nb, gid, pts in spec.questions:
            t = o.tests.get(gid)
            if t is None:
                status, score, message = "not-run", None, ""
            else:
                status, score, message = t["status"], t["score"], t.get("message", "")
            tests.append({"notebook": nb, "test": gid, "points": pts, "score": score, "status": status,
                          "message": message})
        (folder / f"{o.student}.json").write_text(json.dumps(
            {"student": o.student, "assignment": spec.name, "status": o.status, "problems": o.problems,
             "sandbox": o.sandbox, "sandbox_uids": o.uids, "tests": tests, "seconds": round(o.seconds, 2)},
            indent=1))


# ------------------------------------------------------------------------- feedback / export
def feedback(course: Course, assignment: str, students: list[str] | None = None) -> None:
    """HTML feedback per student: a table of every test's status, points and message,
    then the graded notebook.  Test cells show the course's visible checks only: no hidden
    test code, hidden inputs or reference outputs (the messages never contain them)."""
    import html

    import nbformat
    from nbconvert import HTMLExporter

    spec = course.spec(assignment)
    exporter = HTMLExporter()
    for student in students if students is not None else _students(course, assignment, None):
        report_path = course.work / "reports" / assignment / f"{student}.json"
        if not report_path.exists():
            continue
        report = json.loads(report_path.read_text(encoding="utf-8"))
        for nb_name in spec.notebooks:
            src = course.autograded / student / assignment / f"{nb_name}.ipynb"
            if not src.exists():
                continue
            nb = nbformat.reads(src.read_text(encoding="utf-8"), as_version=4)
            rows = [t for t in report["tests"] if t["notebook"] == nb_name]
            got = sum(t["score"] or 0 for t in rows)
            lines = [f"# Feedback: {assignment}, {html.escape(student)}", "",
                     f"**{got:g} / {sum(t['points'] for t in rows):g} points** (status: {report['status']})", "",
                     "| test | status | points | message |", "|---|---|---|---|"]
            for t in rows:
                said = [ln.strip() for ln in (t.get("message") or "").strip().splitlines() if ln.strip()]
                # a pass: every "✔ ..." line; otherwise the case and what differs (the full
                # message is under the test cell below)
                msg = html.escape("; ".join(said if t["status"] == "pass" else said[:2]).replace("|", "/"))
                score = "-" if t["score"] is None else f"{t['score']:g}"
                lines.append(f"| `{t['test']}` | {t['status']} | {score} / {t['points']:g} | {msg[:400]} |")
            problems = [p for p in report.get("problems", [])]
            if problems:
                lines += ["", "Notes from the grader:", ""] + [f"* {html.escape(p)}" for p in problems]
            nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
            body, _ = exporter.from_notebook_node(nb)
            out = course.feedback / student / assignment / f"{nb_name}.html"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(body, encoding="utf-8")
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
    for spec in specs:
        lms_exports(course, spec, out.parent)
    return out


CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def _totals(course: Course, spec: AssignmentSpec) -> list[dict]:
    rows = []
    reports = course.work / "reports" / spec.name
    for rp in sorted(reports.glob("*.json")) if reports.is_dir() else []:
        rep = json.loads(rp.read_text())
        graded = rep["status"] not in ("not-graded", "grader-error")
        total = sum(t["score"] for t in rep["tests"] if t["score"] is not None)
        rows.append({"student": rep["student"], "status": rep["status"], "total": total if graded else None,
                     "problems": rep["problems"]})
    return rows


def lms_exports(course: Course, spec: AssignmentSpec, folder: Path, canvas_column: str | None = None) -> list[Path]:
    """The assignment's totals in the layouts the LMS gradebooks import, beside the CSV.

    ``grades_<a>.canvas.csv``: Canvas's gradebook import (Grades > Import): the columns
    Student, ID (Canvas user id), SIS User ID, SIS Login ID, Section, then one column per
    assignment, headed by its name (``"Name (assignment id)"`` to match an existing
    Canvas assignment: ``canvas_column``), and a first data row "Points Possible".  The
    user id and login come from the Canvas export's file names.

    ``grades_<a>.moodle.csv``: Moodle's assignment grading worksheet (enable "Offline
    grading worksheet" in the assignment's feedback types; upload it with "Upload
    grading worksheet"): Identifier (``Participant <n>``, from the folder names of
    Moodle's "Download all submissions"), Full name, Email address, Status, Grade,
    Maximum Grade, Grade can be changed, Last modified (submission), Last modified
    (grade), Feedback comments.

    A submission that was not graded (invalid, grader error) gets an empty grade, never a 0."""
    from autograde.collect import lms_roster

    roster = lms_roster(course, spec.name)
    rows = _totals(course, spec)
    canvas = folder / f"grades_{spec.name}.canvas.csv"
    with canvas.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*CANVAS_HEADER, canvas_column or spec.name])
        w.writerow(["Points Possible", "", "", "", "", f"{spec.max_score:g}"])
        for r in rows:
            who = roster.get(r["student"], {})
            w.writerow([who.get("name", r["student"]), who.get("user_id", ""), "",
                        who.get("login", r["student"]), "", "" if r["total"] is None else f"{r['total']:g}"])
    moodle = folder / f"grades_{spec.name}.moodle.csv"
    with moodle.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(MOODLE_HEADER)
        for r in rows:
            who = roster.get(r["student"], {})
            ident = f"Participant {who['participant']}" if who.get("participant") else ""
            comment = f"Autograded: {r['status']}" + (f" ({len(r['problems'])} notes in the feedback)"
                                                      if r["problems"] else "")
            w.writerow([ident, who.get("name", r["student"]).replace("_", " ") if who else r["student"], "",
                        "Submitted for grading", "" if r["total"] is None else f"{r['total']:.2f}",
                        f"{spec.max_score:.2f}", "Yes", "-", "-", comment])
    return [canvas, moodle]


# ------------------------------------------------------------------------- entry point
def _interpreter_on_path() -> None:
    """Put this interpreter's scripts folder first on PATH (nbgrader runs ``alembic`` and
    Jupyter looks up its kernels by name there), so ``.venv/bin/python -m autograde``
    works without an activated virtual environment."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bindir]:
        os.environ["PATH"] = os.pathsep.join([bindir, *[p for p in parts if p and p != bindir]])


def main(argv: list[str] | None = None) -> int:
    _interpreter_on_path()
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
            p.add_argument("--all", action="store_true",
                           help="grade every collected student, not only those in SOURCE")
        p.add_argument("--student", action="append", help="grade only this student (repeatable)")
        p.add_argument("--timeout", type=float, default=1800, help="seconds per submission (default 1800)")
        p.add_argument("--no-feedback", action="store_true")
        p.add_argument("--force", action="store_true",
                       help="regrade submissions whose content and course version are unchanged")
        p.add_argument("--workers", type=int, help="parallel grading processes (default: one per two cores; "
                       "with --engine slurm: the most array tasks at once, default no cap)")
        p.add_argument("--engine", choices=("local", "slurm"), default="local",
                       help="where submissions are graded: processes on this machine (default) or one Slurm "
                       "job array (sbatch on PATH, SLURM_CONF honoured)")
        p.add_argument("--slurm-partition", help="partition for the job array (default: the cluster's default)")
        p.add_argument("--slurm-args", default="", help='extra sbatch options, e.g. "--gres=gpu:1 --mem=8G"')
        p.add_argument("--out", type=Path, help="grades CSV path (default autograde/grades_<assignment>.csv)")
    p = sub.add_parser("feedback", help="write HTML feedback for graded submissions")
    p.add_argument("assignment")
    p = sub.add_parser("export", help="write the grades CSV (and the Canvas and Moodle import files)")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--out", type=Path)
    p.add_argument("--canvas-column", help='header of the grade column for Canvas, "Name (assignment id)" to '
                   "match an existing Canvas assignment (one assignment only)")
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
        students = args.student
        if args.cmd == "run":
            notes = collect(course, course.spec(args.assignment), args.source, args.pattern)
            if not args.all:     # the students in SOURCE (and of those, --student's)
                students = [s for s in sorted(notes) if not args.student or s in args.student]
                if not students:
                    raise SystemExit(f"error: no submissions of {args.assignment} in {args.source}"
                                     + (" for --student" if args.student else ""))
        outcomes = grade(course, args.assignment, students, args.timeout, not args.no_feedback, args.out,
                         args.workers, force=args.force, engine=args.engine,
                         slurm_partition=args.slurm_partition, slurm_args=args.slurm_args)
        bad = [o for o in outcomes if o.status in ("not-graded", "grader-error")]
        print(f"{len(outcomes)} submissions: {len(outcomes) - len(bad)} graded, {len(bad)} not graded (see status)")
    elif args.cmd == "feedback":
        feedback(course, args.assignment)
    elif args.cmd == "export":
        path = export(course, args.assignments, args.out)
        if args.canvas_column:
            if len(args.assignments) != 1:
                raise SystemExit("error: --canvas-column needs exactly one assignment")
            lms_exports(course, course.spec(args.assignments[0]), path.parent, args.canvas_column)
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
