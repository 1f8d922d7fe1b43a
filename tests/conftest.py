"""Shared fixtures: one build of the book per test session (tests/test_book.py,
tests/test_site.py) and one graded class of chapter 1 (tests/test_adversarial.py,
tests/test_grading.py)."""
from __future__ import annotations

import os
import subprocess
import sys
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
