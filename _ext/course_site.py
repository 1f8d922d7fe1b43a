"""Sphinx extension of the course website (loaded through ``sphinx.local_extensions``).

* builds the **student wheel** ``rnncourse-<version>-py3-none-any.whl`` (the ``rnncourse``
  package alone: no solutions, reference or hidden checks) from a clean copy of the
  package and ships it at the site's root, where the launch cells and how-to-use's
  download link point (``scripts/launch_notebooks.py``);
* drops inline scripts that appear twice on a page (a second ``const THEBE_JS_URL`` is a
  SyntaxError in the browser);
* numbers the pages **by chapter**: each part of ``_toc.yml`` with ``numbered: true`` is a
  chapter, numbered 1, 2, 3... in order, and its pages are ``c.1``, ``c.2``... (sections
  ``c.p.1``...).  Jupyter Book alone numbers the pages of all parts in one run (the third
  chapter's pages came out as 10, 11, ...) or restarts at 1 in every part.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wheel_name() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return f"{project['name']}-{project['version']}-py3-none-any.whl"


def build_wheel(dest: Path) -> Path:
    """Build the student wheel into ``dest`` from a copy holding only ``rnncourse/``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        shutil.copy(ROOT / "pyproject.toml", src)
        shutil.copytree(ROOT / "rnncourse", src / "rnncourse",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                               "--wheel-dir", str(dest), str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("building the rnncourse wheel failed:\n" + proc.stdout + proc.stderr)
    wheel = dest / wheel_name()
    if not wheel.is_file():
        raise RuntimeError(f"pip wheel did not write {wheel}")
    return wheel


def _builder_inited(app):
    app.env_course_wheel = build_wheel(Path(app.doctreedir).parent / "wheel")


# Extensions that do not declare whether they are safe for parallel reading, read and
# found safe: sphinx_multitoc_numbering (Jupyter Book sets it up after the builder) only
# replaces how the toctree collector numbers sections, which runs in the main process
# after the readers' results are merged; sphinx-mathjax-offline only copies MathJax at
# build-finished; sphinx_jupyterbook_latex does nothing unless the builder is LaTeX's.
# Undeclared, each makes Sphinx read, and execute, the pages one at a
# time even with several jobs (scripts/build_book.py), with a warning (an error under -W).
PARALLEL_READ_SAFE = ("sphinx_multitoc_numbering", "sphinx-mathjax-offline", "sphinx_jupyterbook_latex")


def _declare_parallel_safe(app, env, docnames):
    """Sphinx asks whether every extension is parallel-safe right after this event."""
    for name in PARALLEL_READ_SAFE:
        if name == "sphinx_jupyterbook_latex" and app.builder.format == "latex":
            continue
        ext = app.extensions.get(name)
        if ext is not None and ext.parallel_read_safe is None:
            ext.parallel_read_safe = True


def _copy_wheel(app, exc):
    if exc is None and app.builder.format == "html":
        shutil.copy(app.env_course_wheel, Path(app.outdir) / wheel_name())


INLINE_SCRIPT = re.compile(r"^\s*<script>.*</script>\s*$")


def _dedupe_inline_scripts(app, exc):
    """Drop repeated identical inline ``<script>`` lines of each written page (sphinx-thebe
    and sphinx-togglebutton add theirs twice in a Jupyter Book build; a second
    ``const THEBE_JS_URL`` is a SyntaxError in the browser)."""
    if exc is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        lines = page.read_text(encoding="utf-8").split("\n")
        seen, kept = set(), []
        for line in lines:
            if INLINE_SCRIPT.match(line):
                if line.strip() in seen:
                    continue
                seen.add(line.strip())
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("\n".join(kept), encoding="utf-8")


def _number_by_chapter(app, env):
    """Renumber after Sphinx (and sphinx-external-toc) have numbered the toctrees: the k-th
    numbered toctree of the root page is chapter k, its j-th page gets (k, j, ...) in place
    of the number (n, ...) the default numbering gave it.  Runs on every build, after the
    toctree collector recomputed the numbers from scratch."""
    from docutils import nodes
    from sphinx import addnodes
    from sphinx.environment.collectors.toctree import TocTreeCollector

    root = app.config.root_doc
    if root not in env.numbered_toctrees:
        return []
    renumbered, chapter = [], 0
    for toctree in env.get_doctree(root).findall(addnodes.toctree):
        if not toctree.get("numbered"):
            continue
        chapter += 1
        page = 0
        for _title, ref in toctree["entries"]:
            if ref not in env.toc_secnumbers:
                continue
            page += 1

            def renumber(number, _prefix=(chapter, page)):
                return None if not number else _prefix + tuple(number[1:])

            env.toc_secnumbers[ref] = {anchor: renumber(num) for anchor, num in env.toc_secnumbers[ref].items()}
            if ref in env.tocs:
                for reference in env.tocs[ref].findall(nodes.reference):
                    if reference.get("secnumber"):
                        reference["secnumber"] = list(renumber(reference["secnumber"]))
            if env.titles.get(ref) is not None and env.titles[ref].get("secnumber"):
                env.titles[ref]["secnumber"] = list(renumber(env.titles[ref]["secnumber"]))
            renumbered.append(ref)
    # figure (and equation) numbers are prefixed with section numbers: assign them again
    TocTreeCollector.assign_figure_numbers(None, env)
    # every page's sidebar shows the numbers: when they change, write every page again
    signature = {ref: env.toc_secnumbers[ref].get("") for ref in renumbered}
    if getattr(env, "course_chapter_numbers", None) != signature:
        env.course_chapter_numbers = signature
        return sorted(env.found_docs)
    return renumbered


def setup(app):
    app.connect("env-get-updated", _number_by_chapter, priority=900)
    app.connect("builder-inited", _builder_inited)
    app.connect("env-before-read-docs", _declare_parallel_safe)
    app.connect("build-finished", _dedupe_inline_scripts)
    app.connect("build-finished", _copy_wheel)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
