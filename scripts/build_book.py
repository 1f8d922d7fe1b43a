"""``jupyter-book build`` with Sphinx's parallel reading, so that the pages' notebooks
execute several at a time (Jupyter Book 1's command line always builds with one
process).  Usage: the arguments of ``jupyter-book build``, e.g.

    python scripts/build_book.py . -W -n --keep-going

``RNNCOURSE_BOOK_JOBS`` sets the number of processes (default: the CPU count).

Parallel reading shares one jupyter-cache database (SQLite) between the processes.
jupyter-cache creates it on first use without a lock, and SQLite waits only 5 s for a
busy database; two processes starting at once could then fail with "Unexpected error
accessing jupyter cache".  So the database is created under a file lock, and its
connections wait up to ``DB_TIMEOUT_S`` for one another."""
from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import jupyter_book.sphinx as jb_sphinx
import jupyter_cache.cache.db as jc_db
import jupyter_cache.cache.main as jc_main
from jupyter_book.cli.main import main

DB_TIMEOUT_S = 300

_build_sphinx = jb_sphinx.build_sphinx


def build_sphinx(*args, **kwargs):
    kwargs["jobs"] = int(os.environ.get("RNNCOURSE_BOOK_JOBS") or os.cpu_count() or 1)
    return _build_sphinx(*args, **kwargs)


def create_db(path):
    """jupyter-cache's ``create_db``, made safe for several processes: one at a time
    creates the tables, and every connection waits for a busy database."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "create.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)           # released when the file closes
        exists = (folder / jc_db.DB_NAME).exists()
        engine = jc_db.create_engine(f"sqlite:///{folder / jc_db.DB_NAME}",
                                     connect_args={"timeout": DB_TIMEOUT_S})
        if not exists:
            jc_db.OrmBase.metadata.create_all(engine)
            folder.joinpath("__version__.txt").write_text(jc_db.__version__)
    return engine


if __name__ == "__main__":
    jb_sphinx.build_sphinx = build_sphinx      # the command imports it at call time
    jc_db.create_db = jc_main.create_db = create_db
    sys.exit(main(["build", *sys.argv[1:]]))
