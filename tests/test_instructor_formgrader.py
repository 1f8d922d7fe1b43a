"""Formgrader shows the grades ``python -m autograde`` wrote (issue 15).

The chapter-1 class of the session (``ch01_class``: honest, broken and hostile
submissions graded in one batch) is opened as an instructor opens it: a Jupyter server
with nbgrader's formgrader extension, started in the course folder (its
``nbgrader_config.py`` points at ``autograde/gradebook.db``), on 127.0.0.1 with a token.
Headless Chromium (Debian's package, driven by playwright) loads the assignment's
submissions page, ``/formgrader/manage_submissions/ch01_ngrams``, and waits until its
JavaScript has filled the table from formgrader's API.  Then:

* every student the CSV lists as graded is in the table, marked graded, with the CSV's
  total out of the CSV's maximum ("17 / 20");
* a student whose submission was not graded shows no score at all (absent, or
  "needs autograding" with an empty score cell), a grader error is not shown as graded,
  and no row of the table is a student the CSV does not know;
* the gradebook file is byte for byte what it was before formgrader read it.

The test writes ``results/formgrader.png`` (a screenshot of that page, 960 px wide: the
book's column shows it without shrinking its text below legibility), which
``book/grading.md`` shows in its "Formgrader" section.  Jupyter's configuration, runtime
and data folders and HOME point at a temporary folder; the server is stopped at the end."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

A = "ch01_ngrams"
SCREENSHOT = ROOT / "results" / "formgrader.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GRADED = ("graded", "graded-with-problems", "timeout", "crash")   # a total in the CSV, scores in the gradebook
SCORE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def formgrader(ch01_class, tmp_path):
    """A Jupyter server with formgrader in the graded course copy: yields its base URL and token."""
    course: Path = ch01_class["course"]
    port, token = _free_port(), "formgrader-test-token"
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data"),
           "IPYTHONDIR": str(home / "ipython"), "JUPYTER_PLATFORM_DIRS": "1"}
    cmd = [sys.executable, "-m", "jupyter_server", "--allow-root", "--ServerApp.open_browser=False",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}",
           "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}"]
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            assert proc.poll() is None, f"the server exited ({proc.returncode}):\n" + (tmp_path / "server.log").read_text()[-4000:]
            try:   # the assignments, as JSON (a refused token would end at the login page's HTML)
                req = urllib.request.Request(f"{base}/formgrader/api/assignments",
                                             headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    if A in {a.get("name") for a in json.loads(r.read())}:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            assert time.time() < deadline, "formgrader did not answer in 90 s:\n" + (tmp_path / "server.log").read_text()[-4000:]
            time.sleep(0.3)
        yield base, token
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        log.close()


def test_formgrader_shows_the_class_grades(ch01_class, formgrader, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: `make browser` installs Debian's package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    course: Path = ch01_class["course"]
    db = course / "autograde" / "gradebook.db"
    before = _digest(db)
    rows = ch01_class["rows"]
    graded = {sid: r for sid, r in rows.items() if r["status"] in GRADED}
    ungraded = {sid for sid, r in rows.items() if r["status"] == "not-graded"}
    # the class must hold what the assertions below distinguish
    totals = {float(r["total"]) for r in graded.values()}
    assert len(graded) >= 10 and ungraded, {sid: r["status"] for sid, r in rows.items()}
    assert max(totals) == float(next(iter(graded.values()))["max_total"]) and min(totals) < max(totals), totals

    base, token = formgrader
    shown, errors = {}, []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            # the token goes with every request, the table's API calls included (a ?token= in the
            # address authenticates the page alone)
            page = browser.new_page(viewport={"width": 960, "height": 720},
                                    extra_http_headers={"Authorization": f"token {token}"})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith((base, "data:", "blob:")):
                    r.continue_()
                else:
                    errors.append(f"request leaving the machine: {r.request.url}")
                    r.abort()

            page.route("**/*", route)
            page.goto(f"{base}/formgrader/manage_submissions/{A}", wait_until="load")
            page.wait_for_function("() => window.models !== undefined && window.models.loaded === true", timeout=30_000)
            for r in page.eval_on_selector_all(
                    "#main-table tr",
                    "trs => trs.map(tr => ({id: tr.querySelector('.student-id')?.textContent.trim(),"
                    " status: tr.querySelector('.status')?.textContent.trim(),"
                    " score: tr.querySelector('.score')?.textContent.trim()}))"):
                assert r["id"] and r["id"] not in shown, r
                shown[r["id"]] = r
            # the screenshot: the honest submissions (reference, alternative, one planted bug per
            # exercise, untouched), filtered with the table's search box, under the breadcrumb
            page.fill("input[type=search]", "honest")
            page.evaluate("() => window.scrollTo(0, document.querySelector('.breadcrumb').getBoundingClientRect().top"
                          " + window.scrollY - 10)")
            page.screenshot(path=str(tmp_path / "formgrader.png"))
        finally:
            browser.close()
    assert not errors, errors

    assert shown, "formgrader's table is empty"
    wrong = []
    for sid, r in sorted(graded.items()):
        row = shown.get(sid)
        if row is None:
            wrong.append(f"{sid}: graded ({r['status']}, {r['total']}/{r['max_total']}) but not in formgrader's table")
            continue
        m = SCORE.match(row["score"] or "")
        if not m or (float(m[1]), float(m[2])) != (float(r["total"]), float(r["max_total"])) or row["status"] != "graded":
            wrong.append(f"{sid}: the CSV says {r['status']} {r['total']}/{r['max_total']}, "
                         f"formgrader shows {row['status']!r} {row['score']!r}")
    for sid in sorted(ungraded):
        row = shown.get(sid)
        if row is not None and (row["score"] or row["status"] != "needs autograding"):
            wrong.append(f"{sid}: not graded, but formgrader shows {row['status']!r} {row['score']!r}")
    for sid in sorted(sid for sid, r in rows.items() if r["status"] == "grader-error"):
        row = shown.get(sid)            # in the gradebook with its unknown scores left for manual grading
        if row is not None and row["status"] == "graded":
            wrong.append(f"{sid}: a grader error (no total in the CSV), but formgrader shows it graded {row['score']!r}")
    strangers = sorted(set(shown) - set(rows))
    assert not wrong, "\n".join(wrong)
    assert not strangers, f"formgrader lists students the CSV does not know: {strangers}"
    assert _digest(db) == before, "formgrader changed the gradebook"

    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "formgrader.png", SCREENSHOT)
