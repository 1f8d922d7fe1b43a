"""Make every page and exercise notebook launchable on Colab, Binder or a fresh Jupyter.

    python scripts/launch_notebooks.py           # write what is missing or stale
    python scripts/launch_notebooks.py --check   # exit 1 (and list the files) if anything is

What it maintains, all derived from ``_config.yml``, ``_toc.yml`` and ``pyproject.toml``:

* an **install cell** (the first code cell of each solution notebook, right after the
  jupytext header of each book page with code): it installs the student wheel
  ``rnncourse-<version>-py3-none-any.whl`` from the course site (``html.baseurl``) when
  ``import rnncourse`` would fail, and does nothing otherwise.  On book pages it is tagged
  ``remove-cell``; in solution notebooks it carries ``"rnncourse": {"grading": "skip"}``;
* in the first cell of each exercise notebook, links to the book pages of its chapter
  (the pages listed with it in the same part of ``_toc.yml``);
* the **paired notebook** ``book/.../page.ipynb`` of each book page with code (jupytext,
  no outputs).  The launch buttons of the site open these: sphinx-book-theme sends Colab
  and Binder the ``.ipynb`` that sits next to a page's ``.md``.

After editing a book page run ``make pair`` (this script); after changing a solution
notebook run ``python -m autograde release`` as usual.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
MARK = "# rnncourse install cell"
LINKS_MARK = "Read the book pages of this chapter on the course site:"
OLD_HINT = ("# Set-up. If `rnncourse` is missing, install the course's helper package first:\n"
            "#   pip install -r requirements.txt        (from a clone of the course repository)\n")
JUPYTEXT_HEADER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def base_url() -> str:
    """The course site's address (``html.baseurl`` of ``_config.yml``), ending in ``/``."""
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"].strip()
    return url if url.endswith("/") else url + "/"


def wheel_name() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return f"{project['name']}-{project['version']}-py3-none-any.whl"


def wheel_url() -> str:
    return base_url() + wheel_name()


def install_source() -> str:
    return "\n".join([
        f"{MARK}: on Colab, Binder or a fresh Jupyter it installs the course's helper",
        "# package (the student wheel from the course site); where `rnncourse` is installed",
        "# (after `make course` or `pip install -r requirements.txt`) it does nothing.",
        "import importlib, importlib.util, subprocess, sys",
        'if importlib.util.find_spec("rnncourse") is None:',
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{wheel_url()}"], check=True)',
        "    importlib.invalidate_caches()",
    ])


# ---------------------------------------------------------------------------- toc

def _toc_parts() -> list[list[str]]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [[ch["file"] for ch in part.get("chapters", [])] for part in toc.get("parts", [])]


def _title(page: str) -> str:
    in_code = False
    for line in (ROOT / f"{page}.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif line.startswith("# ") and not in_code:
            return line[2:].strip()
    return page.rsplit("/", 1)[-1]


def chapter_pages(assignment: str) -> list[str]:
    """Book pages (``book/chNN/page``) listed in the same part of ``_toc.yml`` as the exercise."""
    for files in _toc_parts():
        if f"notebooks/{assignment}/{assignment}" in files:
            return [f for f in files if f.startswith("book/")]
    return []


def links_paragraph(assignment: str) -> str:
    pages = chapter_pages(assignment)
    links = ", ".join(f"[{_title(p)}]({base_url()}{p}.html)" for p in pages)
    return f"{LINKS_MARK} {links}."


# ---------------------------------------------------------------------------- solution notebooks

def _nbgrader_meta(grade_id: str) -> dict:
    return {"grade": False, "grade_id": grade_id, "locked": True, "schema_version": 3,
            "solution": False, "task": False}


def fix_solution(nb) -> bool:
    """Install cell as the first code cell and chapter links in the first cell; True if changed."""
    changed = False
    assignment = nb.metadata.get("rnncourse_assignment")  # not set: derived by the caller
    intro = nb.cells[0]
    want_links = links_paragraph(assignment) if assignment else None
    if want_links:
        lines = intro.source.split("\n")
        kept = [ln for ln in lines if not ln.startswith(LINKS_MARK)]
        while kept and not kept[-1].strip():
            kept.pop()
        new = "\n".join(kept) + "\n\n" + want_links
        if new != intro.source:
            intro.source, changed = new, True
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first = nb.cells[code[0]] if code else None
    if first is None or not first.source.startswith(MARK):
        cell = nbformat.v4.new_code_cell(install_source())
        nb.cells.insert(code[0] if code else 1, cell)
        first, changed = cell, True
    want_meta = {"nbgrader": _nbgrader_meta("install"), "rnncourse": {"grading": "skip"}}
    if first.source != install_source():
        first.source, changed = install_source(), True
    if dict(first.metadata) != want_meta:
        first.metadata = nbformat.from_dict(want_meta)
        changed = True
    if first.get("id") != "install-rnncourse":
        first["id"], changed = "install-rnncourse", True
    for cell in nb.cells[code[0] + 1:] if code else []:  # the set-up cell's old install hint
        if cell.cell_type == "code" and cell.source.startswith(OLD_HINT):
            cell.source, changed = "# Set-up.\n" + cell.source[len(OLD_HINT):], True
    return changed


def solution_notebooks() -> list[Path]:
    return sorted((ROOT / "solutions").glob("*/*.ipynb"))


# ---------------------------------------------------------------------------- book pages

def md_cell() -> str:
    return "```{code-cell} ipython3\n:tags: [remove-cell]\n\n" + install_source() + "\n```\n"


def fix_page_text(text: str) -> str:
    """The page's text with its install cell, right after the jupytext header."""
    head = JUPYTEXT_HEADER.match(text)
    if not head:
        return text
    body = text[head.end():]
    cell = re.compile(r"\A\n*```\{code-cell\} ipython3\n:tags: \[remove-cell\]\n\n" + re.escape(MARK) + r".*?\n```\n", re.S)
    body = cell.sub("", body, count=1).lstrip("\n")
    return text[:head.end()] + "\n" + md_cell() + "\n" + body


def book_pages() -> list[Path]:
    pages = []
    for files in _toc_parts():
        for f in files:
            md = ROOT / f"{f}.md"
            if f.startswith("book/") and md.exists() and JUPYTEXT_HEADER.match(md.read_text(encoding="utf-8")):
                pages.append(md)
    return pages


def paired_notebook(md: Path) -> str:
    """The ``.ipynb`` jupytext makes of a page (no outputs), as text."""
    nb = jupytext.reads(md.read_text(encoding="utf-8"), fmt="md:myst")
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nbformat.writes(nb) + "\n"


# ---------------------------------------------------------------------------- main

def plan() -> dict[Path, str]:
    """Every file this script maintains, with the text it should have."""
    out: dict[Path, str] = {}
    for path in solution_notebooks():
        nb = nbformat.read(path, as_version=4)
        nb.metadata["rnncourse_assignment"] = path.parent.name
        fix_solution(nb)
        del nb.metadata["rnncourse_assignment"]
        out[path] = nbformat.writes(nb) + "\n"
    for md in book_pages():
        out[md] = fix_page_text(md.read_text(encoding="utf-8"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in plan().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    # paired notebooks after the pages got their cells
    for md in book_pages():
        ipynb, text = md.with_suffix(".ipynb"), paired_notebook(md)
        if not ipynb.exists() or ipynb.read_text(encoding="utf-8") != text:
            stale.append(ipynb)
            if not args.check:
                ipynb.write_text(text, encoding="utf-8")
    for path in stale:
        print(("stale: " if args.check else "wrote: ") + str(path.relative_to(ROOT)))
    if args.check and stale:
        print("run `make pair` (python scripts/launch_notebooks.py), then `python -m autograde release`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
