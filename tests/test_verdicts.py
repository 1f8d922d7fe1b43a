"""The grader never disagrees with the student's own notebook.

For every fixture of chapters 1-5 (the notebook's solution, the correct alternatives and
every planted bug) the visible check is run twice: in-process on the function itself, as in
the student's kernel, and under the grader, where the function lives in the sandbox and the
check holds a proxy (arguments cross as copies, generators as their state).  Both runs
must reach the same verdict with the same message: a check that fails in the notebook
("inputs are not modified", "the generator is left as it was") fails under the grader.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from autograde.remote import RemoteFunction, Worker
from autograde.sandbox import SandboxPolicy, bubblewrap_works, prepare_data_view
from rnncourse.checks.core import CheckFailed
from tests.submissions import answer_sources

pytestmark = pytest.mark.slow

CHAPTERS = {"ch01": "ch01_ngrams", "ch02": "ch02_rnn", "ch03": "ch03_bptt", "ch04": "ch04_gradients",
            "ch05": "ch05_lstm", "ch06": "ch06_seq2seq", "ch07": "ch07_captioning"}


# Bugs that only write into an argument: caught in the notebook by "inputs are not
# modified", so the grader must catch them too (arguments cross into the sandbox as copies).
IN_PLACE = {
    "ch02": [("in_place:rnn_step_out_h_prev", "rnn_step", '''
def rnn_step(x, h_prev, W_xh, W_hh, b_h):
    return np.tanh(x @ W_xh + h_prev @ W_hh + b_h, out=h_prev)
''')],
    # chapter 3's grad_check_mutates, putting entries back by arithmetic (one rounding off)
    "ch03": [("in_place:grad_check_restores_by_arithmetic", "grad_check",
              __import__("tests.fixtures_ch03", fromlist=["MORE_BUGS"]).MORE_BUGS["grad_check_mutates"][1].replace(
                  "            old = vals[k][i]\n            vals[k][i] = old + eps; up = f()\n"
                  "            vals[k][i] = old - eps; down = f()\n",
                  "            vals[k][i] += eps; up = f()\n            vals[k][i] -= 2 * eps; down = f()\n"
                  "            vals[k][i] += eps\n"))],
}


def _fixtures(ch: str) -> list[tuple[str, str, str]]:
    """``(label, function name, source)`` of every fixture of a chapter."""
    fx = importlib.import_module(f"tests.fixtures_{ch}")
    out = [(f"solution:{n}", n, src) for n, src in answer_sources(CHAPTERS[ch]).items()]
    out += IN_PLACE.get(ch, [])
    for table in ("ALTERNATIVES", "BUGS", "MORE_BUGS"):
        for label, entry in getattr(fx, table, {}).items():
            name, src = entry if isinstance(entry, tuple) else (label, entry)
            out.append((f"{table.lower()}:{label}", name, src))
    return out


def _given(ch: str) -> str:
    """The given cells' code, as the chapter's in-process tests set it up."""
    mod = importlib.import_module(f"tests.test_checks_{ch}")
    src = []
    import json
    from tests.submissions import ROOT
    nb = json.loads((ROOT / "solutions" / CHAPTERS[ch] / f"{CHAPTERS[ch]}.ipynb").read_text())
    given = getattr(mod, "GIVEN", ("lookup",))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in given:
            text = "".join(cell["source"])
            if "env.setup" in text:
                text = "\n".join(ln for ln in text.splitlines() if not ln.startswith(("info =", "device =")))
            src.append(text)
    return "import numpy as np\n" + "\n".join(src)


def _verdict(check, fn) -> str:
    try:
        check(fn)
    except CheckFailed as exc:
        return f"fail: {exc}"
    return "pass"


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return prepare_data_view(tmp_path_factory.mktemp("view") / "data")


@pytest.mark.parametrize("ch", sorted(CHAPTERS))
def test_visible_checks_agree_in_the_notebook_and_under_the_grader(ch, view, tmp_path, capsys):
    ok, why = bubblewrap_works()
    assert ok, f"bubblewrap is needed (apt-get install bubblewrap; `make test` installs it): {why}"
    visible = importlib.import_module(f"rnncourse.checks.{ch}")
    define = importlib.import_module(f"tests.test_checks_{ch}")._define
    worker = Worker(SandboxPolicy(data_view=view), tmp_path / "scratch", slot=9, call_timeout=120)
    worker.start()
    try:
        r = worker.exec_cell(_given(ch), timeout=120)
        assert r["ok"], r
        disagreements = []
        for label, name, src in _fixtures(ch):
            check = getattr(visible, f"check_{name}")
            local = _verdict(check, define(src, name))
            r = worker.exec_cell(src, timeout=60)
            assert r["ok"], (label, r)
            remote = _verdict(check, RemoteFunction(worker, name))
            if local != remote:
                disagreements.append(f"{label}\n  notebook: {local}\n  grader:   {remote}")
        assert not disagreements, "\n".join(disagreements)
        for label, name, src in IN_PLACE.get(ch, []):   # and they are bugs, in both places
            assert _verdict(getattr(visible, f"check_{name}"), define(src, name)).startswith("fail"), label
    finally:
        worker.stop()
