"""scripts/build_book.py: several Sphinx processes share one jupyter-cache database."""
from __future__ import annotations

import importlib.util
import multiprocessing as mp

from tests.submissions import ROOT

_spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
build_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_book)


def _open_cache(path, queue):
    import jupyter_cache.cache.db as jc_db
    import jupyter_cache.cache.main as jc_main
    from jupyter_cache import get_cache

    jc_db.create_db = jc_main.create_db = build_book.create_db       # as __main__ does
    try:
        get_cache(path).list_project_records()       # creates the database on first use
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
        queue.put(repr(exc)[:200])


def test_processes_starting_together_share_one_new_cache(tmp_path):
    """Six forked processes open a cache that does not exist yet, ten times over (jupyter-
    cache's own create_db lets two of them create the tables at once: "table nbproject
    already exists", about 1 in 30 processes on this machine)."""
    ctx = mp.get_context("fork")          # Sphinx's parallel reading forks, too
    for trial in range(10):
        queue = ctx.Queue()
        procs = [ctx.Process(target=_open_cache, args=(str(tmp_path / str(trial)), queue)) for _ in range(6)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert results == ["ok"] * 6, results


def test_connections_wait_for_a_busy_database(tmp_path):
    engine = build_book.create_db(tmp_path)
    with engine.connect() as con:
        timeout = con.connection.dbapi_connection.execute("PRAGMA busy_timeout").fetchone()[0]
    assert timeout == build_book.DB_TIMEOUT_S * 1000
