"""The website builds with warnings as errors, and shows what readers should see."""
from __future__ import annotations

import json
import re
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


FIGURE_CALL = re.compile(r"\bplt\.(?:subplots|figure)\(")


def test_every_figure_a_page_creates_is_an_image(site):
    """Each executed page shows at least as many images as its code cells create figures
    (with ``MPLBACKEND=agg`` inherited by the kernels it would show none)."""
    import jupytext
    total = 0
    for page in _toc_files():
        md = ROOT / f"{page}.md"
        if not md.exists() or not md.read_text().startswith("---\n"):
            continue
        nb = jupytext.read(md)
        created = sum(len(FIGURE_CALL.findall(c.source)) for c in nb.cells if c.cell_type == "code")
        html = (site / f"{page}.html").read_text()
        images = len(re.findall(r'<img[^>]*src="(?:\.\./)*_images/', html))
        assert images >= created, f"{page}: its code creates {created} figure(s), the page shows {images} image(s)"
        total += images
    assert total >= 15, f"only {total} figures on the whole site"


def test_site_ships_the_student_wheel_and_offline_math(site):
    from scripts.launch_notebooks import wheel_name
    assert (site / wheel_name()).is_file()
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    page = (site / "book" / "ch01" / "markov.html").read_text()
    assert "cdn.jsdelivr.net" not in page and "_static/mathjax/tex-chtml.js" in page
    assert page.count("const THEBE_JS_URL") <= 1
