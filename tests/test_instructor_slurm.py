"""Grading on an existing cluster engine (issue 15): ``grade --engine slurm`` grades a
class as ONE Slurm job array, a task per submission, each task the same sandboxed
grading as a local worker; the submit host's one writer makes the gradebook and the
CSV.  The cluster is a real one-node Slurm (Debian's slurm-wlm and munge, started here
by ``tests/slurm_cluster.py``); the grades must be those of the local engine
(``ch01_class``, conftest.py) for the same submissions."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import adversarial_ch01, fixtures_ch01
from tests.slurm_cluster import OneNodeCluster, missing_binaries, processes_with
from tests.submissions import course_copy, filled, write

A = "ch01_ngrams"


@pytest.fixture(scope="module")
def cluster():
    missing = missing_binaries()
    if missing:
        why = (f"Slurm or munge is missing ({', '.join(missing)}): run `make cluster` "
               "(apt-get install slurm-wlm munge)")
        if os.geteuid() == 0 and shutil.which("apt-get"):
            pytest.fail(why)       # CI (root, apt): `make test` installs them; missing is a broken setup
        pytest.skip(why)
    if os.geteuid() != 0:
        pytest.skip("the one-node test cluster runs slurmd as root (SlurmUser=root)")
    c = OneNodeCluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()
        left = processes_with(f"SLURM_CONF={c.dir / 'slurm.conf'}")
        logs = c.logs()
        c.cleanup()
        assert left == [], f"processes left by the Slurm cluster: {left}\n{logs}"


def _jobs_of(cluster, grace: float = 15) -> list[str]:
    """Processes of the cluster other than its three daemons (slurmstepd, tasks, graders)
    still there ``grace`` seconds after the array left the queue (a step's slurmstepd
    tidies up for a moment after its job is done)."""
    deadline = time.time() + grace
    while True:
        pids = sorted(set(processes_with(f"SLURM_CONF={cluster.dir / 'slurm.conf'}")) - set(cluster.pids()))
        if not pids or time.time() > deadline:
            break
        time.sleep(0.2)
    left = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            left.append(f"{pid}: {cmdline}")
        except OSError:
            pass
    return left


def _mentioning(text: str) -> list[int]:
    """Pids of the processes whose command line contains ``text``."""
    pids = []
    for f in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in f.read_bytes() and int(f.parent.name) != os.getpid():
                pids.append(int(f.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def _book(course: Path, students: set[str]) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'autograde' / 'gradebook.db'}") as gb:
        return {(s.student.id, g.name): (g.auto_score, g.needs_manual_grade)
                for s in gb.assignment_submissions(A) if s.student.id in students
                for nb in s.notebooks for g in nb.grades}


# the reference, a planted bug, an answer that kills its process, a file that is not a notebook
STUDENTS = ("honest-reference", f"honest-bug-{sorted(fixtures_ch01.BUGS)[0]}", "crasher", "badjson")


@pytest.mark.slow
def test_a_class_graded_through_slurm_gets_the_local_engines_grades(ch01_class, cluster, tmp_path):
    local = ch01_class["course"]
    course = course_copy(tmp_path)
    for s in STUDENTS:
        shutil.copytree(local / "autograde" / "submitted" / s / A, course / "autograde" / "submitted" / s / A)
    if (local / "autograde" / "limits").is_dir():     # none when the class ran with flat limits (it does)
        shutil.copytree(local / "autograde" / "limits", course / "autograde" / "limits")
    (course / "autograde" / "reports").mkdir()
    collected = local / "autograde" / "reports" / f"{A}.collect.json"     # collect's notes, as for the class
    if collected.exists():
        shutil.copy(collected, course / "autograde" / "reports")
    env = {**cluster.env(), **adversarial_ch01.ENV}
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "autograde", "grade", A, "--engine", "slurm", "--workers", "2"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=900)
    took = time.time() - t0
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:] + cluster.logs()
    print(f"slurm engine: {len(STUDENTS)} submissions in {took:.1f} s")

    # the same grades as the local engine: status, every test's score, the total
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) - {"(points)"} == set(STUDENTS)
    columns = [k for k in rows["honest-reference"] if k.startswith(f"{A}:")] + ["status", "total", "max_total"]
    for s in STUDENTS:
        want, got = ch01_class["rows"][s], rows[s]
        assert {k: got[k] for k in columns} == {k: want[k] for k in columns}, (s, got, proc.stdout[-3000:])
    assert rows["honest-reference"]["total"] == "20" and rows["crasher"]["status"] == "crash"
    assert rows["badjson"]["status"] == "not-graded"
    assert _book(course, set(STUDENTS)) == _book(local, set(STUDENTS))
    assert all((course / "autograde" / "feedback" / s / A / f"{A}.html").exists() for s in STUDENTS if s != "badjson")

    # one array, a task per gradable submission (the invalid one never reaches the cluster)
    batches = list((course / "autograde" / ".sandbox" / "slurm" / A).glob("*/manifest.json"))
    assert len(batches) == 1, batches
    manifest = json.loads(batches[0].read_text())
    job = manifest["job"]
    assert "--array=0-2%2" in manifest["sbatch"]
    assert sorted(t["student"] for t in manifest["tasks"]) == sorted(set(STUDENTS) - {"badjson"})
    for t in manifest["tasks"]:
        log = Path(t["log"]).read_text()
        assert f"task {job}_{t['task']} on " in log, log
        result = json.loads((course / "autograde" / ".sandbox" / "results" / A / f"{t['student']}.json").read_text())
        assert result["slurm"]["job"] == job and result["slurm"]["task"] == str(t["task"]), result["slurm"]
        assert result["key"]["submission"]
    assert f"submitted Slurm job array {job}: 3 tasks" in proc.stdout

    # nothing left running: no step, task or grader of the cluster's (they carry its SLURM_CONF), no
    # sandbox of this course (bubblewrap's command line names its scratch folder; the uids themselves
    # are leased machine-wide, so other grading runs on this machine may hold them now)
    assert _jobs_of(cluster) == []
    assert all(u["uid"] for rp in (course / "autograde" / "reports" / A).glob("*.json")
               for u in json.loads(rp.read_text())["sandbox_uids"])
    assert _mentioning(str(course)) == []

    # again: every result is stored, so nothing is submitted
    proc = subprocess.run([sys.executable, "-m", "autograde", "grade", A, "--engine", "slurm", "--no-feedback"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "submitted Slurm job array" not in proc.stdout and "3 unchanged since their last grading" in proc.stdout


@pytest.mark.slow
def test_a_task_that_leaves_no_result_is_a_grader_error(cluster, tmp_path, monkeypatch):
    """A task that dies without its result file (here: its manifest entry names a student
    with no submission, so the grading process fails) is a grader error whose message
    names the task and says why, never a score of zero."""
    from autograde import slurm
    from autograde.course import Course

    root = course_copy(tmp_path)
    for s in ("alice", "bob"):
        write(filled(A), root / "autograde" / "submitted" / s / A, A)
    course = Course(root)
    spec = course.spec(A)
    for k, v in cluster.env().items():
        monkeypatch.setenv(k, v)
    real = slurm.write_batch

    def broken(course, spec, tasks, timeout):       # bob's task grades someone who is not there
        return real(course, spec, [{**t, "student": "nobody"} if t["student"] == "bob" else t for t in tasks],
                    timeout)

    monkeypatch.setattr(slurm, "write_batch", broken)
    outcomes = slurm.grade_batch(course, spec, ["bob"], timeout=120, version="test")
    (bob,) = outcomes
    assert bob.status == "grader-error", bob
    assert bob.scores and all(v is None for v in bob.scores.values())
    (msg,) = [p for p in bob.problems if p.startswith("grader-error")]
    print(msg)
    assert "Slurm task " in msg and "left no result" in msg and "nobody" in msg, msg
    assert not (root / "autograde" / ".sandbox" / "results" / A / "bob.json").exists()
    assert _jobs_of(cluster) == []
