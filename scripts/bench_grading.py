"""Grading overhead and throughput, for the instructor guide (book/grading.md).

1. Overhead: the reference solution of each assignment executed bare (nbclient, the way
   Jupyter runs it) against the same notebook graded by the autograder (sandbox, checks
   outside it, feedback not included).
2. Throughput: a class of submissions (reference, planted bugs, untouched) graded with
   ``python -m autograde grade --workers W`` for W = 1, 2 and the number of cores.

    python scripts/bench_grading.py [--assignments ch01_ngrams ch02_rnn] [--class-size 8]

Writes results/grading.json.  Run it on a quiet machine: it measures wall-clock time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.submissions import course_copy, filled, student_notebook, write  # noqa: E402


def bare_seconds(assignment: str) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    t = time.time()
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return time.time() - t


def class_of(assignment: str, size: int) -> dict[str, dict]:
    import importlib

    fx = importlib.import_module(f"tests.fixtures_{assignment.split('_')[0]}")
    bugs = sorted(fx.BUGS)
    subs = {"reference": filled(assignment), "untouched": student_notebook(assignment)}
    i = 0
    while len(subs) < size:
        label = bugs[i % len(bugs)]
        bug = fx.BUGS[label]
        cell, src = (bug if isinstance(bug, tuple) else (label, bug))
        subs[f"bug{i:02d}-{label}"] = filled(assignment, {cell: src})
        i += 1
    return subs


def grade(course: Path, assignment: str, workers: int, students: list[str] | None = None) -> float:
    args = [sys.executable, "-m", "autograde", "grade", assignment, "--workers", str(workers), "--no-feedback"]
    for s in students or []:
        args += ["--student", s]
    t = time.time()
    proc = subprocess.run(args, cwd=course, capture_output=True, text=True,
                          env={**os.environ, "RNNCOURSE_MODE": os.environ.get("RNNCOURSE_MODE", "fast")})
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    return time.time() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assignments", nargs="*", default=["ch01_ngrams", "ch02_rnn", "ch03_bptt"])
    ap.add_argument("--class-size", type=int, default=8)
    ap.add_argument("--throughput-assignment", default="ch01_ngrams")
    args = ap.parse_args(argv)
    os.environ.setdefault("RNNCOURSE_MODE", "fast")
    from autograde.sandbox import SandboxPolicy

    out = {"mode": os.environ["RNNCOURSE_MODE"], "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine(),
           "sandbox": SandboxPolicy().resolved_mode(), "overhead": {}, "throughput": {}}
    with tempfile.TemporaryDirectory() as tmp:
        course = course_copy(Path(tmp))
        for a in args.assignments:
            bare = bare_seconds(a)
            write(filled(a), course / "autograde" / "submitted" / "reference" / a, a)
            graded = grade(course, a, 1, ["reference"])
            report = json.loads((course / "autograde" / "reports" / a / "reference.json").read_text())
            total = sum(t["score"] or 0 for t in report["tests"])
            out["overhead"][a] = {"bare_seconds": round(bare, 1), "graded_seconds": round(graded, 1),
                                  "ratio": round(graded / bare, 2), "score": total}
            print(a, out["overhead"][a], flush=True)
        a = args.throughput_assignment
        subs = class_of(a, args.class_size)
        for sid, nb in subs.items():
            write(nb, course / "autograde" / "submitted" / sid / a, a)
        for w in sorted({1, 2, os.cpu_count() or 1}):
            secs = grade(course, a, w)
            out["throughput"][str(w)] = {"submissions": len(subs), "seconds": round(secs, 1),
                                         "per_minute": round(60 * len(subs) / secs, 1)}
            print("workers", w, out["throughput"][str(w)], flush=True)
    path = ROOT / "results" / "grading.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
