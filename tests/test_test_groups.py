"""The groups of ``make test``'s two processes (tests/conftest.py: ``test_group``).

A worker runs a group whole, so a session or module fixture is computed once in the run
only if every test that uses it is in one group.  These tests read the collected session,
so a new test that uses the book build or chapter 1's class from another file, or a new
chapter fixture in tests/test_grading.py, fails here until SHARED says where it goes."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests import conftest

TESTS = Path(__file__).resolve().parent


_COLLECTOR = r"""
import json, sys
import pytest
from tests.test_test_groups import _rows

rows = []


class Dump:
    def pytest_collection_finish(self, session):
        rows.extend(_rows(session.items))


code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", sys.argv[1]], plugins=[Dump()])
print("ROWS=" + json.dumps(rows))
sys.exit(int(code))
"""


def _rows(items):
    rows = []
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        for name, defs in getattr(info, "name2fixturedefs", {}).items():
            fd = defs[-1]
            code = getattr(fd.func, "__code__", None)
            where = Path(code.co_filename).resolve() if code else None
            if fd.scope in ("session", "module") and where is not None and TESTS in where.parents:
                rows.append([item.nodeid, name, fd.scope, where.name])
    return rows


@pytest.fixture(scope="module")
def fixture_users(request):
    """(test id, fixture, scope, defining file) for every session or module fixture defined in
    tests/ that a collected test uses (pytest's own, such as tmp_path_factory, cost nothing to
    repeat): from this session when it collected the whole suite (``make test``; under xdist
    every worker collects everything), else from a collection of tests/ in a fresh process."""
    import subprocess
    import sys

    files = {item.nodeid.partition("::")[0] for item in request.session.items}
    if {"tests/test_adversarial.py", "tests/test_book.py", "tests/test_grading.py"} <= files:
        return _rows(request.session.items)

    proc = subprocess.run([sys.executable, "-c", _COLLECTOR, str(TESTS)], capture_output=True, text=True,
                          cwd=TESTS.parent, timeout=600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("ROWS=")), None)
    assert proc.returncode == 0 and line, proc.stdout[-3000:] + proc.stderr[-3000:]
    import json
    return json.loads(line[len("ROWS="):])


def test_every_shared_fixture_lives_in_one_group(fixture_users):
    users = defaultdict(set)
    for nodeid, name, scope, where in fixture_users:
        key = (name, where if scope == "module" else "session")
        users[key].add(conftest.test_group(nodeid))
    assert ("ch01_class", "session") in users and ("book_build", "session") in users, sorted(users)
    split = {k: sorted(v) for k, v in users.items() if len(v) > 1}
    assert not split, f"fixtures whose tests are in several groups (each group would compute them again): {split}"
    for fixture, group in conftest.SHARED_FIXTURES.items():
        assert users[(fixture, "session")] == {group}, (fixture, users[(fixture, "session")])


def test_grading_round_trips_are_a_group_per_chapter():
    g = conftest.test_group
    assert g("tests/test_grading.py::test_ch05_each_planted_bug_costs_exactly_its_exercise[sub-1]") == \
        "tests/test_grading.py::ch05"
    assert g("tests/test_grading.py::test_reference_and_alternative_get_full_marks") == "ch01-class"
    assert g("tests/test_adversarial.py::test_x") == "ch01-class"
    assert g("tests/test_site.py::test_y[a::b]") == "book"
    assert g("solutions/ch05_lstm/ch05_lstm.ipynb::Cell 3") == "solutions/ch05_lstm/ch05_lstm.ipynb"
    assert g("tests/test_wire.py::test_z") == "tests/test_wire.py"


def test_long_groups_come_first():
    ranks = [conftest.group_rank(conftest.test_group(n)) for n in (
        "tests/test_adversarial.py::t", "tests/test_book.py::t", "tests/test_grading.py::test_ch05_x",
        "tests/test_wire.py::t")]
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == len(conftest.LONG)


@pytest.mark.skipif(not __import__("importlib").util.find_spec("xdist"), reason="pytest-xdist is not installed")
def test_the_scheduler_groups_by_test_group():
    from xdist.scheduler import LoadScopeScheduling

    class Log:
        def __call__(self, *a, **k):
            pass

        def __getattr__(self, name):
            return self

    class Opt:
        loadscopereorder = True

    class Config:
        option = Opt()

        def getvalue(self, name):
            return ["popen", "popen"] if name == "tx" else None

        def getoption(self, name, default=None):
            return default

    sched = conftest.pytest_xdist_make_scheduler(Config(), Log())
    assert isinstance(sched, LoadScopeScheduling) and Config.option.loadscopereorder is False
    assert sched._split_scope("tests/test_instructor_postgres.py::test_a") == "ch01-class"
