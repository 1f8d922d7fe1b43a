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


# Figure text legible at the page's width.  An image wider than the content column is scaled
# down to it, so text of s points in a PNG of d dpi, w px wide, shows at
# s * d / 72 * min(1, COLUMN_PX / w) CSS px.  COLUMN_PX is the width of a cell's output at a
# 1280 px wide window (sphinx-book-theme; 790 px on wider windows): tests/test_site.py checks
# it in the browser.  A page's smallest font is the smallest explicit size in its code
# (fontsize=, labelsize=, "font.size": ...) or matplotlib's default 10 pt, whichever is less.
COLUMN_PX = 688
MIN_TEXT_PX = 9.0
DEFAULT_FONT_PT = 10.0
FONT_SIZE = re.compile(r"""(?:\b(?:fontsize|labelsize)\s*=\s*|["'][\w.]*(?:font\.size|fontsize|labelsize)["']\s*:\s*)"""
                       r"""(\d+(?:\.\d+)?|["'][\w-]+["'])""")
FONT_SCALINGS = {"xx-small": 0.579, "x-small": 0.694, "small": 0.833, "smaller": 0.833}


def _smallest_font_pt(code: str) -> float:
    sizes = [DEFAULT_FONT_PT]
    for value in FONT_SIZE.findall(code):
        name = value.strip("'\"")
        sizes.append(float(name) if name[0].isdigit() else DEFAULT_FONT_PT * FONT_SCALINGS.get(name, 1.0))
    return min(sizes)


def test_figure_text_is_legible_at_the_column_width(site):
    import jupytext
    from PIL import Image
    problems, checked = [], 0
    for page in _toc_files():
        md = ROOT / f"{page}.md"
        if not md.exists() or not md.read_text().startswith("---\n"):
            continue
        code = "\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "code")
        smallest = _smallest_font_pt(code)
        html = site / f"{page}.html"
        for src in re.findall(r'<img[^>]*src="((?:\.\./)*_images/[^"]+\.png)"', html.read_text()):
            with Image.open((html.parent / src).resolve()) as im:
                width, dpi = im.width, float(im.info.get("dpi", (100.0,))[0])
            shown_px = smallest * dpi / 72 * min(1.0, COLUMN_PX / width)
            checked += 1
            if shown_px < MIN_TEXT_PX:
                problems.append(f"{page}: {src.rsplit('/', 1)[-1][:12]}... is {width} px wide at {dpi:.0f} dpi: "
                                f"its {smallest:g} pt text shows at {shown_px:.1f} px (< {MIN_TEXT_PX:g}); "
                                f"make the figure narrower (at most {smallest * dpi / 72 * COLUMN_PX / MIN_TEXT_PX / dpi:.1f} in) "
                                f"or its smallest text larger")
    assert checked >= 15, f"only {checked} figures checked"
    assert not problems, "\n".join(problems)


def _numbered_parts() -> list[dict]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [part for part in toc.get("parts", []) if part.get("numbered")]


SECTION_NUMBER = re.compile(r'<span class="section-number">([\d.]+)\. </span>')   # headings, prev/next links
HEADING_NUMBER = re.compile(r'<h[1-6]><span class="section-number">([\d.]+)\. </span>')
SIDEBAR_NUMBER = re.compile(r'class="[^"]*reference internal[^"]*" href="[^"]*">(\d+(?:\.\d+)*)\. ')


def test_chapters_are_numbered_as_their_titles_say(site):
    """The k-th numbered part of the table of contents is "Chapter k", and its j-th page is
    numbered k.j (headings inside it k.j.1, ...): no number runs on from one chapter to the next."""
    parts = _numbered_parts()
    assert parts, "no numbered part in _toc.yml"
    for k, part in enumerate(parts, 1):
        assert part["caption"].startswith(f"Chapter {k}:"), part["caption"]
        for j, chapter in enumerate(part["chapters"], 1):
            html = (site / f"{chapter['file']}.html").read_text()
            numbers = HEADING_NUMBER.findall(html)
            assert numbers and numbers[0] == f"{k}.{j}", f"{chapter['file']}: heading numbered {numbers[:1]}, not {k}.{j}"
            assert all(n.startswith(f"{k}.{j}.") for n in numbers[1:]), f"{chapter['file']}: {numbers}"
    for html in site.rglob("*.html"):
        text = html.read_text()
        for number in SECTION_NUMBER.findall(text) + SIDEBAR_NUMBER.findall(text):
            assert int(number.split(".")[0]) <= len(parts), f"{html.relative_to(site)}: number {number} > {len(parts)} chapters"


def test_site_ships_the_student_wheel_and_offline_math(site):
    from scripts.launch_notebooks import wheel_name
    assert (site / wheel_name()).is_file()
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    page = (site / "book" / "ch01" / "markov.html").read_text()
    assert "cdn.jsdelivr.net" not in page and "_static/mathjax/tex-chtml.js" in page
    assert page.count("const THEBE_JS_URL") <= 1
