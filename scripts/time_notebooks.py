#!/usr/bin/env python
"""Execute the solution notebooks and record how long they take.

Every notebook under ``solutions/*/*.ipynb`` (or the ones named on the command line) is
run top to bottom with nbclient, in a ``python3`` kernel whose working directory is the
notebook's folder and whose environment has ``PYTHONPATH`` = the repository root (so
``autograde`` imports) and ``RNNCOURSE_MODE`` = ``--mode``.  The notebooks on disk are
not modified.

Recorded per notebook: wall-clock seconds (kernel start included, and without it), the
five slowest cells, whether it ran without error (and the error otherwise), the device
(``cuda`` when ``torch.cuda.is_available()``, else ``cpu``), the machine and the date.
Results are merged, keyed by notebook path, into ``results/notebook_times_<mode>.json``.

Usage (from the repository root)::

    python scripts/time_notebooks.py --mode fast
    python scripts/time_notebooks.py --mode full solutions/ch01_ngrams/ch01_ngrams.ipynb

Exit status 1 when a notebook failed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = ("fast", "full")


def default_mode() -> str:
    sys.path.insert(0, str(REPO))
    from rnncourse import env  # noqa: PLC0415

    return env.mode()


def device() -> str:
    try:
        import torch  # noqa: PLC0415
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def machine() -> dict:
    from rnncourse.env import machine_info

    return machine_info()


def first_line(source: str) -> str:
    """The cell's first line of code (comments skipped unless the cell has only those)."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")]
    return (code or lines or [""])[0][:100]


def time_notebook(path: Path, mode: str, timeout: int) -> dict:
    import nbformat  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415
    from nbclient.exceptions import CellExecutionError  # noqa: PLC0415

    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["RNNCOURSE_MODE"] = mode
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MPLBACKEND", "Agg")

    starts: dict[int, float] = {}
    cell_times: dict[int, float] = {}

    def on_start(cell, cell_index):
        starts[cell_index] = time.perf_counter()

    def on_done(cell, cell_index, execute_reply):
        cell_times[cell_index] = time.perf_counter() - starts.get(cell_index, time.perf_counter())

    client = NotebookClient(
        nb, kernel_name="python3", timeout=timeout, allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=on_start, on_cell_executed=on_done,
    )
    error = None
    t0 = time.perf_counter()
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # noqa: BLE001 - timeouts, dead kernels: record and go on
        error = f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - t0

    failed_cell = None
    if error is not None:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                failed_cell = i
                break
    slowest = sorted(cell_times.items(), key=lambda kv: -kv[1])[:5]
    return {
        "notebook": path.relative_to(REPO).as_posix(),
        "mode": mode,
        "ok": error is None,
        "error": error,
        "failed_cell": failed_cell,
        "wall_s": round(wall, 3),
        "cells_s": round(sum(cell_times.values()), 3),
        "code_cells": sum(c.cell_type == "code" for c in nb.cells),
        "cells_run": len(cell_times),
        "slowest_cells": [
            {"index": i, "seconds": round(s, 3), "first_line": first_line(nb.cells[i].source)}
            for i, s in slowest
        ],
        "device": device(),
        "machine": machine(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: solutions/*/*.ipynb)")
    parser.add_argument("--mode", choices=MODES, default=None,
                        help="RNNCOURSE_MODE for the kernels (default: $RNNCOURSE_MODE, else by GPU)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output JSON (default: results/notebook_times_<mode>.json)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    mode = args.mode or default_mode()
    out = args.out or REPO / "results" / f"notebook_times_{mode}.json"
    paths = [p.resolve() for p in args.notebooks] or sorted(REPO.glob("solutions/*/*.ipynb"))
    if not paths:
        print("no notebooks found under solutions/*/", file=sys.stderr)
        return 1

    command = " ".join(["python", "scripts/time_notebooks.py", *(sys.argv[1:] if argv is None else argv)])
    results = json.loads(out.read_text()) if out.exists() else {}
    results.setdefault("schema", 1)
    results["mode"] = mode
    notebooks = results.setdefault("notebooks", {})
    failed = 0
    for path in paths:
        print(f"running {path.relative_to(REPO)} (mode={mode}) ...", flush=True)
        rec = time_notebook(path, mode, args.timeout)
        rec["command"] = command
        notebooks[rec["notebook"]] = rec
        failed += not rec["ok"]
        status = "ok" if rec["ok"] else f"FAILED at cell {rec['failed_cell']}: {rec['error']}"
        print(f"  {rec['wall_s']:.1f} s on {rec['device']}: {status}", flush=True)
        for c in rec["slowest_cells"]:
            print(f"    cell {c['index']:3d}  {c['seconds']:7.2f} s  {c['first_line']}", flush=True)
        # write after every notebook so that a later crash keeps what was measured
        results["updated"] = rec["date"]
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
        tmp.replace(out)
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
