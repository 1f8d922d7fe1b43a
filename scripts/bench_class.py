"""A simulated class graded end to end, for the instructor guide (issue 15, item 8).

A small assignment ``bench_counts`` is cut out of chapter 1's notebook (intro, set-up, the
given ``find_rows`` cell and exercises 1 and 2: ``ngram_counts`` and ``mle_prob``, 6
points) in a temporary copy of the course, released with nbgrader, and handed in by a
class of ``--students`` submissions: mostly honest (the reference, a correct alternative,
an untouched notebook), planted bugs (tests/fixtures_ch01.py), hostile code (patched
checks, a wrong answer next to stolen solutions, shell commands, a fork bomb, a crash, an
infinite loop) and broken files (truncated JSON, another assignment's notebook, nbformat
3).  Every submission carries the grade it must get.  The class is collected once and
graded with ``python -m autograde grade bench_counts --workers W --no-feedback --force``
for each W, timed; a failure is a submission whose total, status or not-graded code is
not the expected one, or whose status is ``grader-error``.

    python scripts/bench_class.py --students 1000 --workers 1,2 [--subset 1=300] [--out FILE]

``--subset W=K`` grades only K of the class (spread evenly over it, so the mix is kept)
in the W-worker run; its total time is then an extrapolation and the JSON says so.
``--slurm`` adds ``--engine slurm`` runs (when ``python -m autograde grade --help``
offers it) on the cluster of ``$SLURM_CONF`` or, without one, on a one-node cluster
started here (tests/slurm_cluster.py, root only); their overhead per job is (Slurm wall -
local wall of the same submissions at the same concurrency, graded just before) / N;
``--slurm-workers`` chooses their worker counts (default: the local ones).
``--append`` adds the runs to those already in ``--out`` (the same class).  Writes
``results/class_bench.json`` (``--out``) and prints a markdown table.  Run it on a quiet
machine: it measures wall-clock time.

The numbers in book/grading.md ("A class of 1000") came from

    python scripts/bench_class.py --students 1000 --workers 2,1 --subset 2=200 --subset 1=80 --slurm
    python scripts/bench_class.py --students 1000 --workers 2 --no-default-workers --subset 2=100 --slurm --append
    python scripts/bench_class.py --students 1000 --workers 2 --no-default-workers --append
    python scripts/bench_class.py --students 1000 --workers 1,2 --no-default-workers --subset 1=200 --slurm --slurm-workers 2 --append
    python scripts/bench_class.py --students 1000 --workers "" --no-default-workers --subset 2=500 --slurm --slurm-workers 2 --append

(the fourth was stopped once its local runs had ended, before its Slurm run, for want of
session time; ``--workers ""`` makes no local run).
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import os
import platform
import shlex
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import adversarial_ch01, fixtures_ch01  # noqa: E402
from tests.submissions import answer_sources, course_copy, load, write  # noqa: E402

A = "bench_counts"
SOURCE = "ch01_ngrams"
KEEP = ("intro", "setup", "lookup_md", "lookup", "ex1_md", "ngram_counts", "ngram_counts_tests",
        "ex2_md", "mle_prob", "mle_prob_tests")
TESTS = {"ngram_counts_tests": 3.0, "mle_prob_tests": 3.0}
MAX = sum(TESTS.values())

WRONG_MLE = '''
def mle_prob(grams, counts, queries):
    return np.full(len(queries), 0.5)
'''


# ------------------------------------------------------------------------- the assignment
def build_assignment(course: Path) -> Path:
    """``solutions/bench_counts/bench_counts.ipynb``: the kept cells of chapter 1, metadata and all."""
    nb = load(ROOT / "solutions" / SOURCE / f"{SOURCE}.ipynb")
    by_id = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}
    missing = [g for g in KEEP if g not in by_id]
    if missing:
        raise SystemExit(f"error: chapter 1's notebook lacks the cells {missing}")
    out = copy.deepcopy(nb)
    out["cells"] = [copy.deepcopy(by_id[g]) for g in KEEP]
    for c in out["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    path = course / "solutions" / A / f"{A}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return path


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def filled(course: Path, replace: dict[str, str] | None = None) -> dict:
    """The released bench notebook with the reference answers, some replaced by ``replace``."""
    nb = load(course / "notebooks" / A / f"{A}.ipynb")
    answers = {g: s for g, s in answer_sources(SOURCE).items() if g in KEEP}
    answers.update(replace or {})
    for cell in nb["cells"]:
        if _gid(cell) in answers and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = answers[_gid(cell)]
    return nb


# ------------------------------------------------------------------------- the class
def kinds(course: Path) -> list[dict]:
    """Every kind of submission: how to make it, its weight in the class and what it must get.

    ``total``: the points it must score (None: not graded, then ``not_graded`` is the
    validation code); ``status``: the status it must have.  ``slow``: a kind that costs
    a time limit (left out of classes too small to hold every kind)."""
    ref = answer_sources(SOURCE)
    solution = course / "solutions" / A / f"{A}.ipynb"
    other = load(ROOT / "solutions" / "ch02_rnn" / "ch02_rnn.ipynb")
    nb3 = filled(course)
    nb3["nbformat"] = 3
    K = []

    def add(name, group, weight, make, total, status="graded", not_graded=None, slow=False):
        K.append({"name": name, "group": group, "weight": weight, "make": make, "total": total,
                  "status": status, "not_graded": not_graded, "slow": slow})

    add("reference", "honest", 520, lambda: filled(course), MAX)
    add("alternative-ngram_counts", "honest", 100,
        lambda: filled(course, {"ngram_counts": fixtures_ch01.ALTERNATIVES["ngram_counts"]}), MAX)
    add("untouched", "honest", 30, lambda: load(course / "notebooks" / A / f"{A}.ipynb"), 0.0)
    add("bug-ngram_counts", "buggy", 90, lambda: filled(course, {"ngram_counts": fixtures_ch01.BUGS["ngram_counts"]}),
        MAX - 3)
    add("bug-mle_prob", "buggy", 90, lambda: filled(course, {"mle_prob": fixtures_ch01.BUGS["mle_prob"]}), MAX - 3)
    add("bug-ngram_counts_exact_n", "buggy", 40,
        lambda: filled(course, {"ngram_counts": fixtures_ch01.MORE_BUGS["ngram_counts_exact_n"][1]}), MAX - 3)
    # hostile: the payload sits next to a WRONG mle_prob (if it worked, the wrong answer
    # would score) or next to the reference (it must cost nothing)
    add("hostile-patch-checks", "hostile", 12, lambda: filled(course, {"mle_prob": WRONG_MLE + '''
import rnncourse.checks.core as _core
import rnncourse.checks.ch01 as _c1
_core.check_close = lambda *a, **k: None
for _n in dir(_c1):
    if _n.startswith("check_"):
        setattr(_c1, _n, lambda *a, **k: print("✔ all checks passed"))
checks = _c1
np.allclose = lambda *a, **k: True
'''}), MAX - 3)
    add("hostile-read-solutions", "hostile", 12, lambda: filled(course, {"mle_prob": WRONG_MLE + f'''
import json
try:
    _nb = json.load(open({str(solution)!r}))
    _code = [''.join(c["source"]) for c in _nb["cells"] if c.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id") == "mle_prob"][0]
    exec(_code.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
except Exception as exc:
    print("solutions:", exc)
try:
    from autograde.reference.ch01 import mle_prob
except Exception as exc:
    print("reference:", exc)
'''}), MAX - 3)
    add("hostile-os-system", "hostile", 12, lambda: filled(course, {"mle_prob": ref["mle_prob"] + f'''
import os
os.system("id; ls {course} /root; cat /etc/shadow; rm -rf {course / 'autograde'}")
'''}), MAX)
    lying = next(a.code for a in adversarial_ch01.attacks(course, "bench", 0) if a.name == "lying-eq-object")
    add("hostile-lying-eq", "hostile", 8, lambda: filled(course, {"mle_prob": lying}), MAX - 3)
    add("hostile-fork-bomb", "hostile", 6, lambda: filled(course, {"mle_prob": ref["mle_prob"] + '''
import os, time
try:
    for _ in range(100000):
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
except OSError as exc:
    print("fork:", exc)
'''}), MAX)
    add("hostile-os-exit", "hostile", 8, lambda: filled(course, {"mle_prob": "import os\nos._exit(1)"}), MAX - 3,
        status="crash")
    add("hostile-loop-in-function", "hostile", 3, lambda: filled(course, {"mle_prob": '''
def mle_prob(grams, counts, queries):
    while True:
        pass
'''}), MAX - 3, status="timeout", slow=True)
    add("hostile-loop-in-cell", "hostile", 2, lambda: filled(course, {"ngram_counts": "while True:\n    pass"}),
        MAX - 3, status="timeout", slow=True)
    add("broken-truncated-json", "malformed", 30, lambda: b'{"cells": [ {"cell_type": "code", ', None,
        status="not-graded", not_graded="invalid-json")
    add("broken-nbformat-3", "malformed", 10, lambda: nb3, None, status="not-graded", not_graded="invalid-notebook")
    add("broken-another-assignment", "malformed", 27, lambda: other, None, status="not-graded",
        not_graded="wrong-assignment")
    return K


def allocate(K: list[dict], n: int) -> list[str]:
    """How many of each kind in a class of ``n``: proportional to the weights (largest
    remainder), every kind at least once when ``n`` holds them all; a smaller class takes
    the cheap kinds round-robin over the groups.  Returns the kinds' names, shuffled
    with a fixed seed."""
    if n >= len(K):
        total = sum(k["weight"] for k in K)
        rest = n - len(K)
        share = [k["weight"] / total * rest for k in K]
        count = [1 + int(s) for s in share]
        for i in sorted(range(len(K)), key=lambda i: -(share[i] - int(share[i])))[:n - sum(count)]:
            count[i] += 1
        names = [k["name"] for k, c in zip(K, count) for _ in range(c)]
    else:
        groups: dict[str, list[str]] = {}
        for k in K:
            if not k["slow"]:
                groups.setdefault(k["group"], []).append(k["name"])
        order = []
        while any(groups.values()):
            for g in list(groups):
                if groups[g]:
                    order.append(groups[g].pop(0))
        names = [order[i % len(order)] for i in range(n)]
    random.Random(15).shuffle(names)
    return names


def make_class(course: Path, folder: Path, n: int) -> dict[str, dict]:
    K = {k["name"]: k for k in kinds(course)}
    expected = {}
    made: dict[str, object] = {}
    for i, name in enumerate(allocate(list(K.values()), n)):
        sid = f"s{i + 1:04d}"
        if name not in made:
            made[name] = K[name]["make"]()
        body = made[name]
        write(body if isinstance(body, bytes) else body, folder / sid, A)
        k = K[name]
        expected[sid] = {"kind": name, "group": k["group"], "total": k["total"], "status": k["status"],
                         "not_graded": k["not_graded"]}
    return expected


# ------------------------------------------------------------------------- grading
def _cli(course: Path, *args: str, timeout: float = 6 * 3600, env: dict | None = None) -> tuple[str, float]:
    t = time.time()
    proc = subprocess.run([sys.executable, "-m", "autograde", *args], cwd=course, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    wall = time.time() - t
    if proc.returncode != 0:
        raise SystemExit(f"error: autograde {' '.join(args[:3])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout, wall


def check(course: Path, expected: dict[str, dict], students: list[str]) -> tuple[list[dict], dict]:
    """Compare each report with the expected grade: the failures, and the statuses seen."""
    failures, statuses = [], {}
    reports = course / "autograde" / "reports" / A
    for sid in students:
        e = expected[sid]
        path = reports / f"{sid}.json"
        if not path.exists():
            failures.append({"student": sid, "kind": e["kind"], "why": "no report"})
            continue
        rep = json.loads(path.read_text())
        statuses[rep["status"]] = statuses.get(rep["status"], 0) + 1
        graded = rep["status"] not in ("not-graded", "grader-error")
        total = sum(t["score"] for t in rep["tests"] if t["score"] is not None) if graded else None
        codes = {p.split(":", 1)[0] for p in rep["problems"]}
        why = []
        if rep["status"] == "grader-error":
            why.append("grader-error")
        if rep["status"] != e["status"]:
            why.append(f"status {rep['status']}, expected {e['status']}")
        if total != e["total"]:
            why.append(f"total {total}, expected {e['total']}")
        if e["not_graded"] and e["not_graded"] not in codes:
            why.append(f"problems {sorted(codes)}, expected {e['not_graded']}")
        if why:
            failures.append({"student": sid, "kind": e["kind"], "why": "; ".join(why),
                             "problems": rep["problems"][:3]})
    return failures, statuses


def run_grade(course: Path, expected: dict, workers: int, students: list[str] | None, engine: str | None = None,
              env: dict | None = None) -> dict:
    shutil.rmtree(course / "autograde" / "reports" / A, ignore_errors=True)
    args = ["grade", A, "--workers", str(workers), "--no-feedback", "--force"]
    if engine:
        args += ["--engine", engine]
    for s in students or []:
        args += ["--student", s]
    load0 = os.getloadavg()
    out, wall = _cli(course, *args, env=env)
    graded = students or sorted(expected)
    m = re.search(r"^graded in ([\d.]+) s", out, re.M)
    failures, statuses = check(course, expected, graded)
    per = [json.loads((course / "autograde" / "reports" / A / f"{s}.json").read_text())["seconds"]
           for s in graded if (course / "autograde" / "reports" / A / f"{s}.json").exists()]
    n = len(graded)
    return {"engine": engine or "local", "workers": workers, "submissions": n, "of_class": len(expected),
            "wall_seconds": round(wall, 1), "grading_seconds": float(m.group(1)) if m else None,
            "submissions_per_minute": round(60 * n / wall, 1), "seconds_per_submission": round(wall / n, 3),
            "mean_seconds_in_grader": round(sum(per) / len(per), 2) if per else None,
            "failures": len(failures), "failed": failures[:20], "statuses": statuses,
            "load_average_before": [round(x, 2) for x in load0],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def slurm_offered(course: Path) -> bool:
    proc = subprocess.run([sys.executable, "-m", "autograde", "grade", "--help"], cwd=course, capture_output=True,
                          text=True)
    return "--engine" in proc.stdout and "slurm" in proc.stdout


def machine() -> dict:
    try:
        import torch

        tv = torch.__version__
    except Exception:  # pragma: no cover
        tv = None
    cpu = platform.processor() or ""
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_count": os.cpu_count(), "cpu": cpu, "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "python": platform.python_version(),
            "torch": tv, "platform": platform.platform(), "mode": os.environ.get("RNNCOURSE_MODE", "fast")}


def table(res: dict) -> str:
    rows = ["| engine | workers | graded | wall time | submissions / min | s / submission | failures |",
            "|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        part = f"{r['submissions']} of {r['of_class']}" if r["submissions"] != r["of_class"] else f"{r['submissions']}"
        wall = f"{r['wall_seconds'] / 60:.1f} min"
        if r.get("extrapolated_class_minutes"):
            wall += f" (class of {r['of_class']}: {r['extrapolated_class_minutes']:.0f} min, extrapolated)"
        rows.append(f"| {r['engine']} | {r['workers']} | {part} | {wall} | {r['submissions_per_minute']:g} | "
                    f"{r['seconds_per_submission']:.2f} | {r['failures']} |")
    over = [r for r in res["runs"] if "overhead_seconds_per_job" in r]
    rows += [""] if over else []
    for r in over:
        c = r.get("compared_with") or {"submissions": r["submissions"]}
        if c["submissions"] == r["submissions"]:
            rows.append(f"Slurm with {r['workers']} at once: {r['overhead_seconds_per_job']:+.2f} s per job against the "
                        f"local engine on the same {r['submissions']} submissions ({r['wall_seconds']} s vs "
                        f"{r['compared_with_local_wall_seconds']} s)")
        else:
            rows.append(f"Slurm with {r['workers']} at once: {r['overhead_seconds_per_job']:+.2f} s per job against the "
                        f"local engine's {c['seconds_per_submission']:.2f} s per submission on {c['submissions']} "
                        f"submissions (command {c['command']})")
    return "\n".join(rows)


def pair_slurm_runs(res: dict) -> None:
    """Give each Slurm run its overhead per job against a local run at the same concurrency.

    The partner is the local run of the same invocation with the same workers and the same
    submissions (graded just before it): overhead = (Slurm wall - local wall) / N.  Without
    one, it is the latest local run with the same workers on the same kind of machine (CPU
    model and core count) graded before it, and the overhead is the difference of the
    seconds per submission; ``compared_with`` names the partner (its command number,
    1-based, and how many submissions it graded).  No partner: no overhead.
    """
    runs = res["runs"]
    machines = res.get("machines") or [res.get("machine", {})]

    def kind(r):
        m = machines[min(r.get("invocation") or 0, len(machines) - 1)] if machines else {}
        return (m.get("cpu"), m.get("cpu_count"))

    for n, r in enumerate(runs):
        if r["engine"] != "slurm":
            continue
        earlier = [x for x in runs[:n] if x["engine"] == "local" and x["workers"] == r["workers"]]
        same = [x for x in earlier if x.get("invocation") == r.get("invocation") and x["submissions"] == r["submissions"]]
        like = [x for x in earlier if kind(x) == kind(r)]
        if same:
            local = same[-1]
            r["overhead_seconds_per_job"] = round((r["wall_seconds"] - local["wall_seconds"]) / r["submissions"], 3)
        elif like:
            local = like[-1]
            r["overhead_seconds_per_job"] = round(r["seconds_per_submission"] - local["seconds_per_submission"], 3)
        else:
            continue
        r["compared_with_local_wall_seconds"] = local["wall_seconds"]
        r["compared_with"] = {"command": (local.get("invocation") or 0) + 1, "submissions": local["submissions"],
                              "seconds_per_submission": local["seconds_per_submission"]}


def run_plan(workers: list[int], slurm_workers: str | None, slurm: bool) -> list[tuple[int, str | None]]:
    """The runs in the order they are graded: (workers, None) for each local worker count,
    then, with ``slurm``, (workers, "slurm") for each of ``slurm_workers`` (a comma list;
    ``None`` or empty means the local counts again)."""
    plan: list[tuple[int, str | None]] = [(w, None) for w in workers]
    if slurm:
        sw = [int(w) for w in (slurm_workers or "").split(",") if w.strip()] or list(workers)
        plan += [(w, "slurm") for w in sw]
    return plan


def main(argv: list[str] | None = None) -> int:
    from autograde.cli import default_workers

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts; default_workers() is added")
    ap.add_argument("--no-default-workers", action="store_true",
                    help="do not add a run with default_workers() processes")
    ap.add_argument("--subset", action="append", default=[], metavar="W=K",
                    help="the W-worker run grades only K submissions, spread over the class (repeatable)")
    ap.add_argument("--slurm", action="store_true", help="also grade through `--engine slurm` when offered")
    ap.add_argument("--slurm-workers", metavar="W,...",
                    help="worker counts of the Slurm runs (default: the local ones, after them)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "class_bench.json")
    ap.add_argument("--keep", type=Path, help="build the course copy here and keep it")
    ap.add_argument("--append", action="store_true",
                    help="add this invocation's runs to those already in --out (the same class: same --students)")
    args = ap.parse_args(argv)

    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    dw = default_workers()
    if dw not in workers and not args.no_default_workers:
        workers.append(dw)
    subset = {int(w): int(k) for w, k in (s.split("=") for s in args.subset)}
    env_note = {k: os.environ[k] for k in sorted(os.environ) if k.startswith("RNNCOURSE_")}

    tmp = Path(tempfile.mkdtemp(prefix="bench_class_")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        course = course_copy(tmp)
        shutil.rmtree(course / "autograde" / ".sandbox", ignore_errors=True)
        build_assignment(course)
        _cli(course, "release", A)
        t = time.time()
        expected = make_class(course, tmp / "class", args.students)
        made = time.time() - t
        _cli(course, "collect", A, str(tmp / "class"))
        students = sorted(expected)
        # the first grade measures the time limits on this machine (the reference, once): not timed
        warm, warm_wall = _cli(course, "grade", A, "--student", students[0], "--workers", "1", "--no-feedback")
        limits = json.loads((course / "autograde" / "limits" / f"{A}.json").read_text()) \
            if (course / "autograde" / "limits" / f"{A}.json").exists() else None
        mix: dict[str, int] = {}
        groups: dict[str, int] = {}
        for e in expected.values():
            mix[e["kind"]] = mix.get(e["kind"], 0) + 1
            groups[e["group"]] = groups.get(e["group"], 0) + 1
        res = {"assignment": A, "cells": list(KEEP), "max_points": MAX, "students": args.students,
               "command": "python scripts/bench_class.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
               "machine": machine(), "default_workers": dw, "environment": env_note,
               "mix_by_group": groups, "mix": mix,
               "expected": {k["name"]: {"group": k["group"], "total": k["total"], "status": k["status"],
                                        "not_graded": k["not_graded"]} for k in kinds(course)},
               "limits": {"floor_seconds": limits.get("floor_seconds"),
                          "notebook_limit": next(iter(limits["notebooks"].values()))["notebook_limit"]}
               if limits else None,
               "setup_seconds": {"make_class": round(made, 1), "first_grade_with_limits": round(warm_wall, 1)},
               "runs": []}
        print(f"class of {args.students} in {tmp}: {groups}", flush=True)
        invocation = 0
        if args.append and args.out.exists():
            old = json.loads(args.out.read_text())
            if old.get("students") != args.students or old.get("mix") != mix:
                raise SystemExit(f"error: {args.out} holds another class; --append needs the same --students")
            invocation = 1 + max(r.get("invocation", 0) for r in old["runs"])
            old.setdefault("commands", [old["command"]]).append(res["command"])
            old.setdefault("machines", [old["machine"]]).append(res["machine"])
            old["machine"] = res["machine"]
            res = old
        plan = run_plan(workers, args.slurm_workers, slurm=False)
        cluster = None
        slurm_env = None
        if args.slurm:
            from tests.slurm_cluster import OneNodeCluster, missing_binaries

            if not slurm_offered(course):
                res["slurm"] = "not measured: `python -m autograde grade --help` offers no --engine slurm"
            elif os.environ.get("SLURM_CONF"):
                slurm_env = {}
                res["slurm"] = f"the cluster of SLURM_CONF={os.environ['SLURM_CONF']}"
            elif missing_binaries() or os.geteuid() != 0:
                res["slurm"] = f"not measured: no Slurm here ({', '.join(missing_binaries()) or 'not root'})"
            else:
                cluster = OneNodeCluster().start()
                slurm_env = {"SLURM_CONF": cluster.env()["SLURM_CONF"]}
                res["slurm"] = (f"a one-node cluster on this machine (tests/slurm_cluster.py: slurmctld, slurmd, "
                                f"munged; {os.cpu_count()} CPUs, a task per CPU at most)")
            if slurm_env is not None:
                plan = run_plan(workers, args.slurm_workers, slurm=True)
        for w, engine in plan:
            only = None
            if w in subset and subset[w] < len(students):
                step = len(students) / subset[w]
                only = [students[int(i * step)] for i in range(subset[w])]
            try:
                r = run_grade(course, expected, w, only, engine, slurm_env if engine == "slurm" else None)
            except BaseException:
                if cluster is not None:
                    cluster.stop()
                raise
            r["invocation"] = invocation
            if only:
                r["extrapolated_class_minutes"] = round(r["seconds_per_submission"] * len(students) / 60, 1)
                r["note"] = (f"{len(only)} of the class of {len(students)} (every {len(students) / len(only):g}th), "
                             "graded and timed; the class time is extrapolated from their rate")
            res["runs"].append(r)
            print(f"{r['engine']} x{w}: {r['submissions']} in {r['wall_seconds']} s, {r['failures']} failures "
                  f"{r['statuses']} (load {r['load_average_after']})", flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(res, indent=1) + "\n")
        if cluster is not None:
            cluster.stop()
            getattr(cluster, "cleanup", lambda: None)()
        pair_slurm_runs(res)
        res["failures"] = sum(r["failures"] for r in res["runs"])
        res["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        args.out.write_text(json.dumps(res, indent=1) + "\n")
        print(table(res))
        print(f"written {args.out}")
        return 0 if res["failures"] == 0 else 1
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
