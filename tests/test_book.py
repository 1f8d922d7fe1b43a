"""The website builds with warnings as errors, and shows what readers should see."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.submissions import ROOT

pytestmark = pytest.mark.slow


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    return files


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


def test_every_toc_page_is_built(site):
    for f in _toc_files():
        assert (site / f"{f}.html").exists(), f


def test_only_toc_files_are_built(site):
    built = {p.relative_to(site).with_suffix("").as_posix() for p in site.rglob("*.html")}
    # index.html at the top is the redirect to the root page; genindex and search are Sphinx pages
    extra = {b for b in built if not b.startswith(("_", "genindex", "search")) and b != "index"} - set(_toc_files())
    assert not extra, f"pages outside the table of contents were built: {sorted(extra)}"
    assert not (site / "solutions").exists()


def test_exercise_page_offers_download_and_launch_but_no_solutions(site):
    page = (site / "notebooks" / "ch01_ngrams" / "ch01_ngrams.html").read_text()
    assert "ch01_ngrams.ipynb" in page                       # download button
    assert "mybinder.org" in page and "colab.research.google.com" in page   # launch buttons
    assert "YOUR CODE HERE" in page and "NotImplementedError" in page   # the student version
    assert 'class="cell_output' not in page                 # ... shown, never executed
    for html in site.rglob("*.html"):
        text = html.read_text()
        for leak in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograde.hidden", "autograde.reference"):
            assert leak not in text, f"{html} shows {leak!r}"


def test_book_pages_are_executed_with_figures(site):
    page = (site / "book" / "ch01" / "evaluation.html").read_text()
    assert "<img" in page and "perplexity" in page.lower()
