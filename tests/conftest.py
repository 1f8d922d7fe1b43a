"""Shared fixtures: one build of the book per test session (tests/test_book.py, tests/test_site.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> Path:
    """Build the website once, as `make book` does: returns the ``_build`` folder of the build.

    MPLBACKEND is removed from the kernels' environment (the Makefile exports ``agg`` for
    scripts and tests; with it ``plt.show()`` draws nothing on the pages)."""
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=1500, env=env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    return out / "_build"


@pytest.fixture(scope="session")
def site(book_build) -> Path:
    """The built HTML site."""
    return book_build / "html"
