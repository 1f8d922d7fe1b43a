"""Every notebook a reader can launch starts by installing the student wheel when needed."""
from __future__ import annotations

import json
import subprocess
import sys

from scripts.launch_notebooks import MARK, book_pages, wheel_url
from tests.conftest import ROOT


def test_install_cells_and_paired_notebooks_are_current():
    proc = subprocess.run([sys.executable, "scripts/launch_notebooks.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_first_code_cell_of_every_launchable_notebook_installs_the_wheel():
    notebooks = [*sorted((ROOT / "notebooks").glob("*/*.ipynb")), *[md.with_suffix(".ipynb") for md in book_pages()]]
    assert len(notebooks) >= 10
    for path in notebooks:
        cells = json.loads(path.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "code")
        src = "".join(first["source"])
        assert src.startswith(MARK) and wheel_url() in src, path
        assert "find_spec(\"rnncourse\") is None" in src, path   # a no-op where rnncourse imports
        if path.parts[-3] == "notebooks":
            assert first["metadata"]["rnncourse"] == {"grading": "skip"}, path
            assert "book/" in "".join(cells[0]["source"]), f"{path}: no link to the chapter's pages"


def test_install_cell_is_a_no_op_where_rnncourse_imports():
    from scripts.launch_notebooks import install_source
    proc = subprocess.run([sys.executable, "-c", install_source().replace('"pip"', '"pip-must-not-run"')],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
