"""Grade one submission: its code runs in a sandbox, the checks run here.

``grade_submission(course, spec, student, ...)`` returns a JSON-able result and writes the
autograded notebook.  It does not touch the gradebook (``autograde.cli`` merges results
with one writer), so any number of these can run in parallel.

How a notebook is graded
------------------------
1. The *plan* is built from the released notebook (the template), the source notebook
   (the test cells with their hidden part) and the submission:
   * given (locked) code cells run as the course wrote them, whatever the submission did
     to them; demonstration cells the course marks ``"rnncourse": {"grading": "skip"}``
     (plots, samples: nothing graded depends on them) are skipped;
   * answer cells come from the submission, matched by ``grade_id``, or, when an editor
     stripped the metadata, by the names the cell defines (``def rnn_step``);
   * cells the student added run where the student put them;
   * test cells never run as code: each becomes the list of check calls it makes
     (``checks.check_x(x)``, ``hidden.check_x(x)``), read from the *source* notebook, so
     a deleted, edited or retyped test cell is restored.
2. The cells run one by one in the sandboxed worker (``autograde.remote``).  A test's
   checks run in this process, calling the student's functions through proxies.  The
   verdict is decided here from plain values: nothing the submission does inside its own
   process changes what the reference outputs are or how they are compared.
3. A crash or time-out costs the step it happened in: the worker is restarted, the
   earlier cells are run again (without the one that crashed) and grading goes on.

Test statuses: ``pass``, ``fail`` (a check failed), ``error`` (the student's code raised,
or a graded name is missing), ``timeout``, ``crash`` (the process died), ``grader-error``
(the checking code itself failed: reported apart, never scored as 0).
"""
from __future__ import annotations

import argparse
import ast
import copy
import importlib
import json
import os
import re
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograde.course import AssignmentSpec, Course
from autograde.remote import ProtocolError, RemoteFunction, Worker, WorkerCrashed, WorkerTimeout
from autograde.sandbox import SandboxPolicy, prepare_data_view
from rnncourse.checks.core import CheckFailed

HIDDEN = re.compile(r"^\s*### BEGIN HIDDEN TESTS.*?^\s*### END HIDDEN TESTS\s*$\n?", re.S | re.M)


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _meta(cell: dict) -> dict:
    m = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nb = m.get("nbgrader", {}) if isinstance(m, dict) else {}
    return nb if isinstance(nb, dict) else {}


def _defined_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


# --------------------------------------------------------------------------- plan
@dataclass
class CheckCall:
    module: str          # rnncourse.checks.ch01 / autograde.hidden.ch01
    function: str        # check_ngram_counts
    args: list           # ("name", "ngram_counts") or ("const", value)


@dataclass
class Step:
    kind: str            # "cell" | "test"
    label: str           # grade_id or "cell 7 (added by the student)"
    code: str = ""
    checks: list[CheckCall] = field(default_factory=list)
    points: float = 0.0
    origin: str = ""     # course | student | restored


def _check_calls(code: str, aliases: dict[str, str]) -> list[CheckCall]:
    tree = ast.parse(code)
    local = dict(aliases)
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                local[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                local[a.asname or a.name] = a.name
    for node in tree.body:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            continue
        f = node.value.func
        if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in local):
            continue
        module = local[f.value.id]
        if not module.startswith(("rnncourse.checks.", "autograde.hidden.")):
            continue
        args = []
        for a in node.value.args:
            if isinstance(a, ast.Name):
                args.append(("name", a.id))
            else:
                args.append(("const", ast.literal_eval(a)))
        calls.append(CheckCall(module, f.attr, args))
    return calls


def _aliases(cells: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_src(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("rnncourse", "autograde")):
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def build_plan(source: dict, release: dict, submission: dict) -> tuple[list[Step], list[str]]:
    """Steps to run, and notes about what was restored or matched by content."""
    notes: list[str] = []
    src_by_id = {_meta(c).get("grade_id"): c for c in source["cells"] if _meta(c).get("grade_id")}
    aliases = _aliases(source["cells"])
    template = [c for c in release["cells"]]
    known_ids = {_meta(c).get("grade_id") for c in template if _meta(c).get("grade_id")}
    answer_names = {}
    for c in template:
        m = _meta(c)
        if m.get("solution") and not m.get("grade"):
            answer_names[m["grade_id"]] = _defined_names(_src(c))

    # the submission's code cells, each tagged with the template cell it stands for (or None)
    subs: list[tuple[str | None, dict]] = []
    seen: set[str] = set()
    for c in submission.get("cells", []):
        if not isinstance(c, dict) or c.get("cell_type") != "code":
            continue
        gid = _meta(c).get("grade_id")
        if gid in known_ids and gid not in seen:
            seen.add(gid)
            subs.append((gid, c))
        else:
            subs.append((None, c))
    # answers whose metadata was stripped: match by the names the cell defines
    for gid, names in answer_names.items():
        if gid in seen or not names:
            continue
        for i, (tag, c) in enumerate(subs):
            if tag is None and names <= _defined_names(_src(c)):
                subs[i] = (gid, c)
                seen.add(gid)
                notes.append(f"{gid}: answer cell found by its content (its nbgrader metadata is missing)")
                break
    # test cells whose metadata was stripped are dropped (they are restored from the source)
    test_ids = {_meta(c).get("grade_id") for c in template if _meta(c).get("grade")}
    given = {_src(c).strip() for c in template if c.get("cell_type") == "code" and not _meta(c).get("solution")}
    cleaned = []
    for tag, c in subs:
        if tag is None and (_check_calls_safe(_src(c), aliases) or _src(c).strip() in given):
            continue
        cleaned.append((tag, c))
    subs = cleaned

    by_tag = {tag: c for tag, c in subs if tag}
    extras_after: dict[str | None, list[dict]] = {}
    anchor = None
    for tag, c in subs:
        if tag:
            anchor = tag
        else:
            extras_after.setdefault(anchor, []).append(c)

    steps: list[Step] = []
    pending_first = list(extras_after.get(None, []))   # run after the course's first code cell (set-up)
    for cell in template:
        if pending_first and steps:
            for i, c in enumerate(pending_first):
                steps.append(Step("cell", f"a cell added by the student before the first graded cell (#{i + 1})",
                                  _src(c), origin="student"))
            pending_first = []
        if cell.get("cell_type") != "code":
            continue
        m = _meta(cell)
        gid = m.get("grade_id")
        if m.get("grade"):
            code = _src(src_by_id.get(gid, cell))
            try:
                checks = _check_calls(code, aliases)
            except (SyntaxError, ValueError) as exc:
                checks = []
                notes.append(f"{gid}: the course's test cell could not be read ({exc})")
            steps.append(Step("test", gid, code, checks, float(m.get("points", 0)),
                              origin="course" if gid in by_tag else "restored"))
            if gid not in by_tag:
                notes.append(f"{gid}: test cell missing from the submission; restored from the course")
        elif m.get("solution"):
            if gid in by_tag:
                steps.append(Step("cell", gid, _src(by_tag[gid]), origin="student"))
            else:
                notes.append(f"{gid}: answer cell missing from the submission")
        else:
            if (cell.get("metadata", {}).get("rnncourse", {}) or {}).get("grading") == "skip":
                continue  # a demonstration cell of the course's that no graded code depends on
            steps.append(Step("cell", gid or "given cell", _src(src_by_id.get(gid, cell)), origin="course"))
            if gid and gid in by_tag and _src(by_tag[gid]).strip() != _src(cell).strip():
                notes.append(f"{gid}: the submission edited a locked cell; the course's version was run")
        for j, extra in enumerate(extras_after.get(gid, []) if gid else []):
            steps.append(Step("cell", f"a cell added by the student after {gid} (#{j + 1})", _src(extra),
                              origin="student"))
    return steps, notes


def _check_calls_safe(code: str, aliases: dict[str, str]) -> bool:
    try:
        return bool(_check_calls(code, aliases))
    except (SyntaxError, ValueError):
        return False


# --------------------------------------------------------------------------- run
FLOOR_SECONDS = 20.0          # no cell or test gets less
FACTOR = 10.0                 # ... nor less than this many times the reference's time
NOTEBOOK_FLOOR = 300.0


@dataclass
class Limits:
    """Wall-clock limits.  By default derived from the reference solution's measured time
    on this machine (``measure_limits``, stored in ``autograde/limits/<assignment>.json``):
    each cell and test gets ``max(20 s, 10 x the reference's time)``, a cell the course
    has no time for (one the student added) the largest of those, the notebook
    ``max(300 s, 10 x the reference's total)``.  ``RNNCOURSE_CELL_TIMEOUT``,
    ``RNNCOURSE_TEST_TIMEOUT`` and ``RNNCOURSE_NOTEBOOK_TIMEOUT`` set flat limits instead."""
    cell_seconds: float = float(os.environ.get("RNNCOURSE_CELL_TIMEOUT", "600"))
    test_seconds: float = float(os.environ.get("RNNCOURSE_TEST_TIMEOUT", os.environ.get("RNNCOURSE_CELL_TIMEOUT", "600")))
    notebook_seconds: float = float(os.environ.get("RNNCOURSE_NOTEBOOK_TIMEOUT", "3600"))
    max_restarts: int = 4
    steps: dict[str, dict] = field(default_factory=dict)   # step key -> {"limit", "reference_seconds"}

    @classmethod
    def derived(cls, stored: dict | None) -> "Limits":
        """The limits for one notebook from its stored measurement (flat ones without)."""
        lim = cls()
        if not stored:
            return lim
        if not (os.environ.get("RNNCOURSE_CELL_TIMEOUT") or os.environ.get("RNNCOURSE_TEST_TIMEOUT")):
            lim.steps = dict(stored.get("steps", {}))
            if lim.steps:
                lim.cell_seconds = lim.test_seconds = max(v["limit"] for v in lim.steps.values())
        if not os.environ.get("RNNCOURSE_NOTEBOOK_TIMEOUT") and stored.get("notebook_limit"):
            lim.notebook_seconds = float(stored["notebook_limit"])
        return lim

    def for_step(self, key: str, kind: str) -> float:
        got = self.steps.get(key)
        if got is not None:
            return float(got["limit"])
        return self.test_seconds if kind == "test" else self.cell_seconds

    def explain(self, key: str, kind: str, budget: float) -> str:
        """How the limit of a step came about, for the feedback."""
        got = self.steps.get(key)
        if got is not None and budget >= got["limit"] - 1e-9:
            ref = got["reference_seconds"]
            ref = f"{ref:g} s" if ref >= 0.01 else "under 0.01 s"
            return (f"limit {got['limit']:g} s = max({FLOOR_SECONDS:g} s, {FACTOR:g} x the reference solution's "
                    f"{ref} on the grading machine)")
        if budget < self.for_step(key, kind) - 1e-9:
            return f"limit {budget:g} s: what was left of the notebook's {self.notebook_seconds:g} s"
        if self.steps:
            return f"limit {budget:g} s: the largest limit of the course's cells (the reference has no such cell)"
        return f"limit {budget:g} s"


def step_keys(steps: list["Step"]) -> list[str]:
    """A key per step that is the same for the reference and a submission: kind and
    label, numbered when a label repeats (given cells without an id)."""
    seen: dict[str, int] = {}
    keys = []
    for st in steps:
        k = f"{st.kind}:{st.label}"
        seen[k] = seen.get(k, 0) + 1
        keys.append(k if seen[k] == 1 else f"{k}#{seen[k]}")
    return keys


def _status_of(message: str) -> str:
    low = message.lower()
    if "is not implemented yet" in low or " raised " in low or "is not defined" in low:
        return "error"
    return "fail"


def run_notebook(steps: list[Step], worker: Worker, limits: Limits, log=lambda s: None,
                 timings: dict[str, float] | None = None) -> tuple[dict, list[dict]]:
    """Run the plan; ``(tests, cells)``: per-test verdicts and per-cell outcomes."""
    start = time.monotonic()
    keys = dict(zip(map(id, steps), step_keys(steps)))
    done: list[Step] = []          # cells that ran to the end (ok or with an error): replayed after a restart
    tests: dict[str, dict] = {}
    cells: list[dict] = []
    restarts = 0
    started = False

    def left() -> float:
        return limits.notebook_seconds - (time.monotonic() - start)

    def restart() -> bool:
        nonlocal restarts, started
        worker.stop()
        if restarts >= limits.max_restarts:
            return False
        restarts += 1
        try:
            worker.start()
            for s in done:
                worker.exec_cell(s.code, min(limits.for_step(keys[id(s)], s.kind), max(left(), 1.0)))
            return True
        except (WorkerCrashed, WorkerTimeout, ProtocolError) as exc:
            log(f"replay after restart failed: {exc}")
            worker.stop()
            return False

    try:
        worker.start()
        started = True
    except (WorkerCrashed, WorkerTimeout, ProtocolError, OSError) as exc:
        started = False
        start_error = f"the sandbox could not start: {exc}"
    for step in steps:
        t0 = time.monotonic()
        if not worker.alive():
            if not started or not restart():
                why = start_error if not started else "the submission's process could not be restarted"
                if step.kind == "test":
                    tests[step.label] = _verdict("crash", step.points, why, t0)
                else:
                    cells.append({"cell": step.label, "status": "crash", "message": why})
                continue
        if left() <= 0:
            if step.kind == "test":
                tests[step.label] = _verdict("timeout", step.points, "the notebook ran past its total time limit "
                                             f"of {limits.notebook_seconds:g} s before this test", t0)
            else:
                cells.append({"cell": step.label, "status": "timeout", "message": "notebook time limit reached"})
            continue
        key = keys[id(step)]
        budget = min(limits.for_step(key, step.kind), left())
        if step.kind == "cell":
            try:
                r = worker.exec_cell(step.code, budget)
                done.append(step)
                if timings is not None:
                    timings[key] = time.monotonic() - t0
                if r.get("ok"):
                    cells.append({"cell": step.label, "status": "ok", "seconds": round(time.monotonic() - t0, 2)})
                else:
                    e = r.get("error") or {}
                    cells.append({"cell": step.label, "status": "error",
                                  "message": f"{e.get('type')}: {str(e.get('message', ''))[:500]}"})
            except WorkerTimeout as exc:
                cells.append({"cell": step.label, "status": "timeout",
                              "message": f"{exc} ({limits.explain(key, step.kind, budget)}); skipped"})
            except WorkerCrashed as exc:
                cells.append({"cell": step.label, "status": "crash", "message": f"{exc}; skipped"})
            except ProtocolError as exc:
                cells.append({"cell": step.label, "status": "crash", "message": str(exc)})
            continue
        tests[step.label] = run_test(step, worker, budget)
        if tests[step.label]["status"] == "timeout":
            tests[step.label]["message"] += f" ({limits.explain(key, step.kind, budget)})"
        tests[step.label]["seconds"] = round(time.monotonic() - t0, 2)
        if timings is not None:
            timings[key] = time.monotonic() - t0
        _explain_missing_names(tests[step.label], cells)
    worker.stop()
    return tests, cells


def _explain_missing_names(verdict: dict, cells: list[dict]) -> None:
    """When a test failed because a graded name is undefined, say what happened to the
    cell that should have defined it (it raised, crashed or timed out)."""
    for name in re.findall(r"name '(\w+)' is not defined", verdict.get("message", "")):
        for cell in cells:
            if cell["cell"] == name and cell["status"] != "ok":
                verdict["message"] += (f"\n(the answer cell {name} did not finish: {cell['status']}: "
                                       f"{str(cell.get('message', '')).strip()[:300]})")
                break


def _verdict(status: str, points: float, message: str, t0: float) -> dict:
    return {"status": status, "score": points if status == "pass" else (None if status == "grader-error" else 0.0),
            "points": points, "message": message, "seconds": round(time.monotonic() - t0, 2)}


def run_test(step: Step, worker: Worker, budget: float) -> dict:
    t0 = time.monotonic()
    if not step.checks:
        return _verdict("grader-error", step.points, "the course's test cell has no checks", t0)
    worker.call_timeout = max(budget, 1.0)
    printed: list[str] = []
    deadline = time.monotonic() + budget
    import contextlib
    import io

    try:
        for cc in step.checks:
            fn = getattr(importlib.import_module(cc.module), cc.function)
            args = [RemoteFunction(worker, v) if kind == "name" else v for kind, v in cc.args]
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                fn(*args)
            printed.append(buf.getvalue().strip())
            worker.call_timeout = max(deadline - time.monotonic(), 1.0)
    except CheckFailed as exc:
        msg = str(exc)
        return _verdict(_status_of(msg), step.points, msg, t0)
    except WorkerTimeout as exc:
        return _verdict("timeout", step.points, f"{exc}: the test was stopped", t0)
    except WorkerCrashed as exc:
        return _verdict("crash", step.points, str(exc), t0)
    except ProtocolError as exc:
        return _verdict("error", step.points, str(exc), t0)
    except Exception as exc:  # the checking code failed: a grader bug, reported apart
        tb = traceback.format_exc(limit=-4)
        return _verdict("grader-error", step.points, f"{type(exc).__name__}: {exc}\n{tb}", t0)
    return _verdict("pass", step.points, "\n".join(p for p in printed if p), t0)


# --------------------------------------------------------------------------- one submission
def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def default_policy(course: Course, gpu: bool | None = None) -> SandboxPolicy:
    if gpu is None:
        from autograde.course import _has_cuda

        gpu = _has_cuda()
    view = prepare_data_view(course.work / ".sandbox" / "data")
    policy = SandboxPolicy(data_view=view, gpu=gpu, threads=int(os.environ.get("RNNCOURSE_GRADER_THREADS", "1")))
    for var, attr in (("RNNCOURSE_MEMORY_BYTES", "memory_bytes"), ("RNNCOURSE_SCRATCH_BYTES", "scratch_bytes"),
                      ("RNNCOURSE_MAX_PROCESSES", "max_processes"), ("RNNCOURSE_OUTPUT_CAP", "output_bytes")):
        if os.environ.get(var):
            setattr(policy, attr, int(os.environ[var]))
    return policy


def limits_stamp(course: Course, spec: AssignmentSpec) -> dict:
    """What measured limits are valid for: the assignment's notebooks, the mode, the device."""
    import hashlib

    from autograde.course import _has_cuda

    h = hashlib.sha256()
    for folder in (course.solutions / spec.name, course.notebooks / spec.name):
        for f in sorted(folder.glob("*.ipynb")):
            h.update(f.read_bytes())
    mode = os.environ.get("RNNCOURSE_MODE") or ("full" if _has_cuda() else "fast")
    return {"notebooks": h.hexdigest(), "mode": mode, "device": "cuda" if _has_cuda() else "cpu"}


def stored_limits(course: Course, spec: AssignmentSpec) -> dict | None:
    path = course.limits_file(spec.name)
    try:
        stored = load_json(path)
    except (OSError, ValueError):
        return None
    return stored if stored.get("stamp") == limits_stamp(course, spec) else None


def measure_limits(course: Course, spec: AssignmentSpec) -> dict:
    """Grade the reference solution (the source notebooks) with the flat limits, time each
    cell and test, and store the limits derived from those times."""
    limits = Limits(cell_seconds=600, test_seconds=600, notebook_seconds=3600)
    result = grade_submission(course, spec, "(reference)", folder=course.solutions / spec.name, limits=limits,
                              write_autograded=False, use_stored=False)
    out = {"stamp": limits_stamp(course, spec), "floor_seconds": FLOOR_SECONDS, "factor": FACTOR,
           "measured": time.strftime("%Y-%m-%d %H:%M:%S"), "notebooks": {}}
    problems = []
    for nb_name, nb in result["notebooks"].items():
        steps = {}
        for key, seconds in nb["timings"].items():
            steps[key] = {"reference_seconds": round(seconds, 2), "limit": round(max(FLOOR_SECONDS, FACTOR * seconds), 1)}
        total = sum(nb["timings"].values())
        out["notebooks"][nb_name] = {"steps": steps, "reference_seconds": round(total, 2),
                                     "notebook_limit": round(max(NOTEBOOK_FLOOR, FACTOR * total), 1)}
        problems += [f"{nb_name}: test {gid}: {t['status']}" for gid, t in nb["tests"].items() if t["status"] != "pass"]
        problems += [f"{nb_name}: cell {c['cell']}: {c['status']}" for c in nb["cells"] if c["status"] != "ok"]
    out["reference_problems"] = problems
    path = course.limits_file(spec.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def grade_submission(course: Course, spec: AssignmentSpec, student: str, slot: int = 0,
                     policy: SandboxPolicy | None = None, limits: Limits | None = None,
                     folder: Path | None = None, write_autograded: bool = True, use_stored: bool = True) -> dict:
    policy = policy or default_policy(course)
    stored = stored_limits(course, spec) if limits is None and use_stored else None
    folder = folder or course.submitted / student / spec.name
    result = {"student": student, "assignment": spec.name, "sandbox": policy.resolved_mode(), "notebooks": {}}
    t_all = time.monotonic()
    for nb_name in spec.notebooks:
        t0 = time.monotonic()
        nb_limits = limits or Limits.derived((stored or {}).get("notebooks", {}).get(nb_name))
        source = load_json(course.solutions / spec.name / f"{nb_name}.ipynb")
        release = load_json(course.notebooks / spec.name / f"{nb_name}.ipynb")
        submission = load_json(folder / f"{nb_name}.ipynb")
        steps, notes = build_plan(source, release, submission)
        timings: dict[str, float] = {}
        # a folder of this process's own: two grading runs of one course never share one
        scratch = course.work / ".sandbox" / "scratch" / f"{os.getpid()}-{slot}"
        worker = Worker(policy, scratch, slot=slot, call_timeout=nb_limits.cell_seconds)
        try:
            tests, cells = run_notebook(steps, worker, nb_limits, timings=timings)
            tail = worker.output_tail(2000)
        finally:
            lease = worker.lease
            worker.close()
            shutil.rmtree(scratch, ignore_errors=True)
        result["notebooks"][nb_name] = {"tests": tests, "cells": cells, "notes": notes, "output_tail": tail,
                                        "seconds": round(time.monotonic() - t0, 2), "timings": timings,
                                        "limits": {"derived": bool(nb_limits.steps),
                                                   "cell_default": nb_limits.cell_seconds,
                                                   "notebook": nb_limits.notebook_seconds}}
        if lease is not None:   # which uid the submission ran as, and when (uids are leased per machine)
            result["notebooks"][nb_name]["uid"] = {"uid": lease.uid, "from": round(lease.since, 3),
                                                   "until": round(time.time(), 3)}
        if write_autograded:
            _write_autograded(course, spec, student, nb_name, release, submission, steps, tests)
    result["seconds"] = round(time.monotonic() - t_all, 2)
    return result


def _write_autograded(course, spec, student, nb_name, release, submission, steps, tests) -> None:
    """The submission as graded: the course's (visible) test cells with the verdicts as
    their output, for the feedback page and for formgrader.

    The outputs are written as plain nbformat-4 dicts: importing ``nbformat`` costs about
    2 s per grading process (its JSON-schema validator compiles dozens of grammars)."""

    nb = copy.deepcopy(release)
    answers = {s.label: s.code for s in steps if s.kind == "cell" and s.origin == "student"}
    for cell in nb["cells"]:
        m = _meta(cell)
        gid = m.get("grade_id")
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"] = []
        if m.get("solution") and gid in answers:
            cell["source"] = answers[gid]
        if m.get("grade") and gid in tests:
            t = tests[gid]
            cell["source"] = HIDDEN.sub("", _src(cell)).rstrip() + "\n"
            text = f"[{t['status']}] {t['score'] if t['score'] is not None else '-'} / {t['points']:g} points\n"
            text += (t.get("message") or "").strip()
            if t["status"] == "pass":
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text + "\n"}]
            else:
                cell["outputs"] = [{"output_type": "error", "ename": t["status"], "evalue": text, "traceback": [text]}]
    out = course.autograded / student / spec.name / f"{nb_name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)     # stock `nbgrader autograde` leaves its copy read-only (0444)
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m autograde.engine ASSIGNMENT STUDENT --slot K --out FILE``: grade one
    submission in this process (the CLI runs one such process per student)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("assignment")
    ap.add_argument("student", nargs="?")
    ap.add_argument("--slot", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--measure-limits", action="store_true", help="time the reference, store the limits")
    args = ap.parse_args(argv)
    course = Course()
    spec = course.spec(args.assignment)
    if args.measure_limits:
        args.out.write_text(json.dumps(measure_limits(course, spec), indent=1), encoding="utf-8")
        return 0
    result = grade_submission(course, spec, args.student, slot=args.slot)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
