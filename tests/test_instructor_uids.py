"""Sandbox uids are leased per machine (issue 15, part 3 of "What to build").

As root, every sandboxed worker runs as a uid of its own.  The uid is *leased*: an
``flock`` on ``<lease folder>/<uid>.lock`` held while the worker lives, so two grading
runs at once (two assignments, two teaching assistants, two cluster tasks on one node)
never share a uid, nor its process limit, and a lease whose holder was killed is free
again at once.
"""
from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograde import sandbox
from autograde.sandbox import lease_uid, processes_of
from tests import fixtures_ch01
from tests.adversarial_ch01 import without_sample
from tests.submissions import course_copy, write

A = "ch01_ngrams"


@pytest.fixture()
def leases(tmp_path, monkeypatch):
    folder = tmp_path / "uids"
    monkeypatch.setenv("RNNCOURSE_UID_LEASES", str(folder))
    monkeypatch.setattr(sandbox, "UID_BASE", 61000)
    monkeypatch.setattr(sandbox, "UID_COUNT", 4)
    return folder


def test_leases_are_exclusive_and_released(leases):
    a, b = lease_uid(), lease_uid(prefer=61000)
    assert {a.uid, b.uid} == {61000, 61001}, "the preferred uid is taken, so the next free one"
    held = [lease_uid(), lease_uid()]
    with pytest.raises(RuntimeError, match="all 4 sandbox uids"):
        lease_uid()
    a.release()
    assert lease_uid().uid == a.uid, "a released uid is free again"
    for lease in [b, *held]:
        lease.release()


def test_a_killed_holders_lease_is_recovered(leases):
    """A grader killed with SIGKILL cannot release anything: its lock dies with it."""
    code = ("import sys, time; from autograde.sandbox import lease_uid; l = lease_uid(prefer=61002); "
            "print(l.uid, flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                                   "RNNCOURSE_UID_BASE": "61000", "RNNCOURSE_UID_COUNT": "4"})
    assert holder.stdout.readline().strip() == "61002"
    assert lease_uid(prefer=61002).uid != 61002, "held by the other process"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert lease_uid(prefer=61002).uid == 61002, "the dead holder's lease is free again"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run processes as another uid")
def test_a_new_lease_stops_what_a_dead_holder_left_running(leases):
    stray = subprocess.Popen(["setpriv", "--reuid=61003", "--regid=61003", "--clear-groups", "sleep", "600"])
    try:
        for _ in range(50):
            if processes_of(61003):
                break
            time.sleep(0.1)
        assert processes_of(61003)
        lease = lease_uid(prefer=61003)
        assert lease.uid == 61003
        stray.wait(timeout=10)
        assert processes_of(61003) == []
        lease.release()
    finally:
        if stray.poll() is None:
            stray.kill()


# --------------------------------------------------------------------------- two batches at once
@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="uids are only leased as root")
def test_two_grading_runs_at_once_never_share_a_uid(tmp_path):
    """Two classes graded at the same time on this machine, each with two workers: every
    grade is right, and no uid was used by two submissions at overlapping times."""
    bug = next(iter(fixtures_ch01.BUGS))
    runs = []
    for name in ("one", "two"):
        tmp = tmp_path / name
        tmp.mkdir()
        course = course_copy(tmp)
        write(without_sample(), tmp / "class" / "reference", A)
        write(without_sample({bug: fixtures_ch01.BUGS[bug]}), tmp / "class" / f"bug-{bug}", A)
        write(without_sample(), tmp / "class" / "reference2", A)
        runs.append((course, subprocess.Popen(
            [sys.executable, "-m", "autograde", "run", A, str(tmp / "class"), "--workers", "2", "--no-feedback"],
            cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "RNNCOURSE_MODE": "fast"})))
    spans = []
    for k, (course, proc) in enumerate(runs):
        out, _ = proc.communicate(timeout=1200)
        assert proc.returncode == 0, out[-4000:]
        with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
            rows = {r["student_id"]: r for r in csv.DictReader(fh)}
        assert rows["reference"]["total"] == rows["reference2"]["total"] == "17", out[-3000:]   # 20 less sample's 3
        assert rows["reference"][f"{A}:sample_tests"] == "0", rows["reference"]
        got = rows[f"bug-{bug}"]
        assert got[f"{A}:{bug}_tests"] == "0" and float(got["total"]) < 17, got
        for rp in (course / "autograde" / "reports" / A).glob("*.json"):
            rep = json.loads(rp.read_text())
            assert rep["sandbox_uids"], rep
            spans += [(k, rep["student"], u["uid"], u["from"], u["until"]) for u in rep["sandbox_uids"]]
    assert len(spans) == 6
    runs_overlapped = False
    for i, (c1, s1, u1, f1, t1) in enumerate(spans):
        for c2, s2, u2, f2, t2 in spans[i + 1:]:
            if f1 < t2 and f2 < t1:                     # at the same time
                runs_overlapped |= c1 != c2
                assert u1 != u2, f"uid {u1} used by {s1} and {s2} at the same time"
    assert runs_overlapped, f"the two runs did not grade at the same time: {spans}"
    # every lease was given back when its grader ended.  The lease folder is the machine's: a
    # grading run of another test (make test runs two test processes) may hold one of these
    # uids for a submission or two, so a held lock is tried again; a leaked lease stays held
    for _, _, uid, _, _ in spans:
        fd = os.open(sandbox.lease_folder() / f"{uid}.lock", os.O_RDWR)
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, f"the lease of uid {uid} is still held 180 s after its run ended"
                    time.sleep(1)
        finally:
            os.close(fd)
