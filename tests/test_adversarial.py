"""The grader against hostile and malformed submissions (tests/adversarial_ch01.py).

Over 40 submissions of chapter 1, hostile ones among honest ones, are graded in ONE batch
with two parallel workers, as an instructor would (``python -m autograde run``).  Then:

* every submission gets exactly its expected grade (honest ones: as if alone);
* nothing escaped the sandbox: no file written outside it, no connection made to a server
  listening on the grading machine, the gradebook intact and equal to the CSV, no process
  left behind;
* regrading gives identical scores, statuses and messages.
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import adversarial_ch01 as adv
from tests.submissions import ROOT
from tests.submissions import points as notebook_points

pytestmark = pytest.mark.slow
A = adv.A


def _points() -> dict[str, float]:
    return notebook_points(A)


ENV = adv.ENV


def _run(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograde", *args], cwd=course, capture_output=True, text=True,
                          timeout=3000, env={**os.environ, **ENV})


@pytest.fixture(scope="module")
def batch(ch01_class):
    """The whole class of chapter 1 (tests/conftest.py: ``ch01_class``), graded once per session."""
    return ch01_class


def test_there_are_at_least_30_hostile_or_malformed_submissions(batch):
    hostile = [s for s in batch["subs"] if s.startswith(("attack-", "broken-"))]
    assert len(hostile) >= 30, len(hostile)


def _expected(exp: adv.Expect) -> dict[str, float]:
    return {g: (0.0 if exp.everything or g in exp.lose else p) for g, p in _points().items()}


@pytest.mark.parametrize("sid", sorted(adv.build(Path("/nonexistent"), "t", 1)))
def test_each_submission_gets_its_expected_grade(batch, sid):
    _, exp = batch["subs"][sid]
    row = batch["rows"][sid]
    if exp.not_graded:
        assert row["status"] == "not-graded" and exp.not_graded in row["problems"], row
        assert row["total"] == "", "an ungraded submission must not show a total of 0"
        return
    got = {g: float(row[f"{A}:{g}"]) for g in _points()}
    assert got == _expected(exp), (sid, row["status"], row["problems"][:1500])
    if exp.status:
        assert row["status"] == exp.status, (sid, row)
    if exp.problem:
        assert exp.problem in row["problems"], (sid, row["problems"])


def test_nothing_escaped_the_sandbox(batch):
    token, course = batch["token"], batch["course"]
    assert batch["listener"].received == [], "a submission reached a port on the grading machine"
    for where in (course, ROOT, Path("/tmp"), Path("/"), Path.home()):
        assert not list(where.glob(f"pwned-{token}")), f"a submission wrote into {where}"
    # the uids this batch's submissions ran as (leased per machine: another grading run
    # at the same time has uids of its own, whose processes are none of our business)
    uids = sorted({u["uid"] for rp in (course / "autograde" / "reports" / A).glob("*.json")
                   for u in json.loads(rp.read_text()).get("sandbox_uids", [])})
    if os.geteuid() == 0:
        assert uids, "as root, every submission runs as a leased uid"
    if os.geteuid() != 0:
        return
    # A uid is checked while this test holds its lease: once the batch has released it, a
    # grading run in another test process may lease it again, and its processes are
    # legitimate (lease_uid also kills a uid's leftovers before handing it out, so a uid
    # another run holds cannot be hiding this batch's escapees).
    from autograde.sandbox import lease_folder, processes_of

    left = {}
    for uid in uids:
        fd = os.open(lease_folder() / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue              # leased again by someone else
            if processes_of(uid):
                left[uid] = processes_of(uid)
        finally:
            os.close(fd)
    assert left == {}, f"processes left behind by submissions (uid: pids): {left}"


def test_gradebook_is_intact_and_matches_the_csv(batch):
    course, rows = batch["course"], batch["rows"]
    db = course / "autograde" / "gradebook.db"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        for sid, row in rows.items():
            if sid == "(points)" or row["status"] == "not-graded":
                continue
            for g in _points():
                assert gb.find_grade(g, A, A, sid).score == float(row[f"{A}:{g}"]), (sid, g)


def test_feedback_has_messages_but_no_hidden_code(batch):
    course = batch["course"]
    html = (course / "autograde" / "feedback" / "honest-bug-kneser_ney_prob" / A / f"{A}.html").read_text()
    import re

    rows = {k: v for k, v in re.findall(r"<td><code>(\w+)</code></td>\s*<td>(\w[\w-]*)</td>", html)
            if k.endswith("_tests")}
    assert rows == {g: ("fail" if g == "kneser_ney_prob_tests" else "pass") for g in _points()}, rows
    assert re.search(r"<td>fail</td>\s*<td>0 / 6</td>\s*<td>\[kneser_ney_prob\] n = 2 on the toy corpus", html), \
        "the summary names the failing case"
    assert "14 / 20 points" in html
    for secret in ("autograde.hidden", "HIDDEN TESTS", "BEGIN SOLUTION", "autograde.reference"):
        assert secret not in html, secret
    flood = course / "autograde" / "autograded" / "attack-print-flood" / A / f"{A}.ipynb"
    assert flood.stat().st_size < 2_000_000, "a submission's output must not bloat the graded notebook"


def test_a_missing_answer_is_explained_by_what_happened_to_its_cell(batch):
    reports = batch["course"] / "autograde" / "reports" / A
    crashed = {t["test"]: t for t in json.loads((reports / "attack-os-exit.json").read_text())["tests"]}
    assert "did not finish: crash" in crashed["mle_prob_tests"]["message"], crashed["mle_prob_tests"]
    untouched = {t["test"]: t for t in json.loads((reports / "honest-untouched.json").read_text())["tests"]}
    assert all(t["status"] == "error" for t in untouched.values())


def test_regrading_gives_identical_verdicts(batch):
    course = batch["course"]
    some = ["honest-reference", "honest-bug-sample", "attack-fork-bomb", "attack-lying-eq-object",
            "broken-metadata-stripped-by-an-editor", "attack-os-exit"]
    reports = course / "autograde" / "reports" / A

    def verdicts():
        out = {}
        for sid in some:
            rep = json.loads((reports / f"{sid}.json").read_text())
            out[sid] = (rep["status"], [(t["test"], t["status"], t["score"], t["message"]) for t in rep["tests"]])
        return out
    before = verdicts()
    args = ["grade", A, "--workers", "2", "--no-feedback"]
    for sid in some:
        args += ["--student", sid]
    proc = _run(course, *args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert verdicts() == before
