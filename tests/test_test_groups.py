"""The work units of ``make test``'s two processes (tests/conftest.py,
``pytest_collection_modifyitems``): every test of a shared fixture in one group, a
chapter's round trip in its own group, the long groups first under xdist."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DUMP = '''
import json, os
def pytest_collection_finish(session):
    rows = [[it.nodeid, [m.args[0] for m in it.iter_markers("xdist_group")],
             sorted(getattr(it, "fixturenames", ()))] for it in session.items]
    with open(os.environ["GROUPS_OUT"], "w") as fh:
        json.dump(rows, fh)
'''


def _collect(tmp_path, *args):
    (tmp_path / "dumpgroups.py").write_text(DUMP)
    out = tmp_path / "groups.json"
    env = {**os.environ, "GROUPS_OUT": str(out), "RNNCOURSE_MODE": "fast",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "dumpgroups",
                           "-p", "no:cacheprovider", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_shared_fixtures_chapters_and_files_are_groups(tmp_path):
    rows = _collect(tmp_path, "tests/test_adversarial.py", "tests/test_grading.py", "tests/test_book.py",
                    "tests/test_site.py", "tests/test_wire.py")
    assert all(len(g) == 1 for _, g, _ in rows), "every test is in exactly one group"
    group = {n: g[0] for n, g, _ in rows}
    fixtures = {n: f for n, _, f in rows}
    for n, f in fixtures.items():
        if "ch01_class" in f:
            assert group[n] == "ch01-class", n
        elif "book_build" in f:
            assert group[n] == "book", n
    assert {group[n] for n in group if n.startswith("tests/test_adversarial.py")} == {"ch01-class"}
    assert {group[n] for n in group if n.startswith("tests/test_site.py")} == {"book"}
    assert {group[n] for n in group if n.startswith("tests/test_wire.py")} == {"tests/test_wire.py"}
    chapters = {group[n] for n in group if n.startswith("tests/test_grading.py") and group[n] != "ch01-class"}
    for k in range(2, 8):
        users = {group[n] for n, f in fixtures.items() if f"graded_ch0{k}" in f}
        assert users == {f"tests/test_grading.py:graded_ch0{k}"}, (k, users)
    assert len(chapters) >= 6
    # without -n the collection order is the files' own
    assert [n for n, _, _ in rows][0].startswith("tests/test_adversarial.py")


class _Item:
    def __init__(self, path: str, fixtures=()):
        import pytest

        self.fspath, self.fixturenames, self.stash, self.marks = str(ROOT / path), list(fixtures), pytest.Stash(), []

    def add_marker(self, mark):
        self.marks.append(mark)


class _Config:
    def __init__(self, n):
        self.option = type("O", (), {"numprocesses": n})()


def test_under_xdist_the_long_groups_come_first_and_keep_their_order():
    from tests import conftest

    def items():
        return [_Item("tests/test_wire.py"), _Item("solutions/ch02_rnn/ch02_rnn.ipynb"), _Item("tests/test_site.py", ["book_build", "site"]),
                _Item("tests/test_adversarial.py", ["batch", "ch01_class"]), _Item("tests/test_wire.py"),
                _Item("tests/test_grading.py", ["ch01_class"]), _Item("tests/test_book.py", ["book_build"])]

    serial = items()
    conftest.pytest_collection_modifyitems(_Config(None), serial)
    assert [it.fspath for it in serial] == [it.fspath for it in items()], "without -n nothing moves"
    assert [m.args[0] for it in serial for m in it.marks] == [
        "tests/test_wire.py", "solutions/ch02_rnn/ch02_rnn.ipynb", "book", "ch01-class", "tests/test_wire.py",
        "ch01-class", "book"]
    par = items()
    conftest.pytest_collection_modifyitems(_Config(2), par)
    assert [(Path(it.fspath).name, it.stash[conftest._GROUP]) for it in par] == [
        ("test_adversarial.py", "ch01-class"), ("test_grading.py", "ch01-class"), ("test_site.py", "book"),
        ("test_book.py", "book"), ("ch02_rnn.ipynb", "solutions/ch02_rnn/ch02_rnn.ipynb"),
        ("test_wire.py", "tests/test_wire.py"), ("test_wire.py", "tests/test_wire.py")]
