"""Shared fixtures: one build of the book per test session (tests/test_book.py,
tests/test_site.py) and one graded class of chapter 1 (tests/test_adversarial.py,
tests/test_grading.py)."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> Path:
    """Build the website once, as `make book` does (``scripts/build_book.py``: jupyter-book build with the pages executed in parallel): returns the ``_build`` folder of the build.

    MPLBACKEND is removed from the kernels' environment (the Makefile exports ``agg`` for
    scripts and tests; with it ``plt.show()`` draws nothing on the pages)."""
    out = tmp_path_factory.mktemp("book")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_book.py"), str(ROOT), "--path-output", str(out),
                           "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=1500, env=env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    return out / "_build"


@pytest.fixture(scope="session")
def site(book_build) -> Path:
    """The built HTML site."""
    return book_build / "html"


@pytest.fixture(scope="session")
def ch01_class(tmp_path_factory) -> dict:
    """Chapter 1's class, hostile, malformed and honest submissions mixed, graded in one
    batch (``tests/adversarial_ch01.py: grade_class``); both the grader's attack tests and
    the grading round trip read it, so the class is graded once per session."""
    from tests import adversarial_ch01

    return adversarial_ch01.grade_class(tmp_path_factory.mktemp("ch01-class"))


@pytest.fixture(autouse=True)
def _process_settings_restored():
    """A test may not leak process-wide settings into the tests after it: the mode
    variable (a bench script's ``main(["--mode", "full"])`` sets it) and torch's thread
    count.  Both are put back after every test."""
    mode = os.environ.get("RNNCOURSE_MODE")
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    yield
    if mode is None:
        os.environ.pop("RNNCOURSE_MODE", None)
    else:
        os.environ["RNNCOURSE_MODE"] = mode
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- two test processes
# ``make test`` runs pytest-xdist's ``-n 2`` with the scheduler below: each worker process runs a
# *group* of tests whole, so a fixture computed once per session or module is computed once in
# the whole run.  The controller sees test ids only (it does not collect), so the groups are a
# function of the id: SHARED names the files whose tests use a session fixture of this file,
# tests/test_grading.py is a group per chapter (each chapter's module fixture), every other
# file and every notebook is a group.  tests/test_test_groups.py checks SHARED against the
# fixtures the collected tests really use.
SHARED = {
    "ch01-class": ("tests/test_adversarial.py", "tests/test_grading.py::ch01", "tests/test_instructor_formgrader.py",
                   "tests/test_instructor_postgres.py", "tests/test_instructor_slurm.py"),
    "book": ("tests/test_book.py", "tests/test_site.py"),
}
SHARED_FIXTURES = {"ch01_class": "ch01-class", "book_build": "book", "site": "book"}
# the groups that take minutes on the 2-core CI machine, longest first (``make test`` prints the
# slowest tests): a worker takes the next group when it finishes one, so these must not come last
LONG = ("ch01-class", "book", "tests/test_grading.py::ch05", "tests/test_instructor_resume.py",
        "tests/test_bench_class.py", "tests/test_grading.py::ch06", "tests/test_grading.py::ch07",
        "tests/test_mutants.py", "tests/test_verdicts.py", "tests/test_checks_ch05.py", "tests/test_checks_ch02.py",
        "tests/test_grading.py::", "tests/test_instructor_", "solutions/", "tests/test_sandbox.py",
        "tests/test_release.py")


def test_group(nodeid: str) -> str:
    """The group of a test id: a SHARED group, ``tests/test_grading.py::chNN``, or its file."""
    path, _, name = nodeid.partition("::")
    if path == "tests/test_grading.py":
        chapter = name[len("test_"):len("test_") + 4] if name.startswith("test_ch0") else "ch01"
        path = f"{path}::{chapter}"
    for group, members in SHARED.items():
        if path in members:
            return group
    return path


def group_rank(group: str) -> int:
    return next((k for k, prefix in enumerate(LONG) if group.startswith(prefix)), len(LONG))


test_group.__test__ = False     # not a test, whatever its name


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return test_group(nodeid)

    config.option.loadscopereorder = False      # keep the order below: long groups first
    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Under xdist, order the tests by group rank (each worker reports this order and the
    scheduler hands out groups in it); a plain run keeps pytest's order."""
    if getattr(config.option, "numprocesses", None) or os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda it: group_rank(test_group(it.nodeid)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With ``RNNCOURSE_TEST_CPU=<file>``, every test (set-up, call and tear-down) appends
    one JSON line to ``<file>.<worker>``: its start, wall seconds, and CPU seconds of this
    process and of the child processes it waited for.  A test whose wall time is much
    longer than its CPU time is waiting (a timeout, a sleep, a server), and costs CI time
    without using the cores."""
    out = os.environ.get("RNNCOURSE_TEST_CPU")
    if not out:
        yield
        return
    def cpu():
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
    start, (own0, kids0) = time.time(), cpu()
    yield
    own1, kids1 = cpu()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"{out}.{worker}", "a") as f:
        f.write(json.dumps({"test": item.nodeid, "start": round(start, 2), "wall": round(time.time() - start, 2),
                            "cpu": round(own1 - own0, 2), "cpu_children": round(kids1 - kids0, 2)}) + "\n")
