"""``jupyter-book build`` with Sphinx's parallel reading, so that the pages' notebooks
execute several at a time (Jupyter Book 1's command line always builds with one
process).  Usage: the arguments of ``jupyter-book build``, e.g.

    python scripts/build_book.py . -W -n --keep-going

``RNNCOURSE_BOOK_JOBS`` sets the number of processes (default: the CPU count)."""
from __future__ import annotations

import os
import sys

import jupyter_book.sphinx as jb_sphinx
from jupyter_book.cli.main import main

_build_sphinx = jb_sphinx.build_sphinx


def build_sphinx(*args, **kwargs):
    kwargs["jobs"] = int(os.environ.get("RNNCOURSE_BOOK_JOBS") or os.cpu_count() or 1)
    return _build_sphinx(*args, **kwargs)


if __name__ == "__main__":
    jb_sphinx.build_sphinx = build_sphinx      # the command imports it at call time
    sys.exit(main(["build", *sys.argv[1:]]))
