"""The built site as a reader gets it, and the student wheel it ships.

* the wheel holds ``rnncourse`` alone, installs into a fresh virtual environment and the
  student notebooks' visible checks run with it (no ``autograde``, no repository);
* every page, opened in headless Chromium (Debian's package) from a server on 127.0.0.1:
  no console error, no request leaving the machine, every formula typeset, every image
  loaded, launch and download links pointing at notebooks that exist, internal links
  resolving, and search finding a term.  Screenshots go to ``_build/screenshots/``.
Both reuse the session's one book build (``tests/conftest.py``)."""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import venv
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlparse

import nbformat
import pytest
import yaml

from scripts.launch_notebooks import base_url, wheel_name
from tests.conftest import ROOT
from tests.test_book import COLUMN_PX

pytestmark = pytest.mark.slow


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    return files


# ---------------------------------------------------------------------------- the wheel

def test_wheel_holds_the_student_package_alone(site):
    with zipfile.ZipFile(site / wheel_name()) as whl:
        names = whl.namelist()
        top = {n.split("/", 1)[0] for n in names}
        assert top == {"rnncourse", wheel_name().split("-py3")[0] + ".dist-info"}, top
        assert "rnncourse/checks/ch01.py" in names
        for n in names:
            assert not re.search(r"autograde|solutions|hidden|reference|tests/", n), n
            text = whl.read(n).decode("utf-8", "replace")
            for leak in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograde.hidden", "autograde.reference"):
                assert leak not in text, f"{n} contains {leak!r}"


def _student_script(solution: Path) -> tuple[str, int]:
    """The solution notebook's code as a script a student's run would execute: hidden tests
    removed, demonstration cells (grading: skip) left out; and the number of graded cells."""
    nb = nbformat.read(solution, as_version=4)
    parts, graded = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code" or (cell.metadata.get("rnncourse", {}) or {}).get("grading") == "skip":
            continue
        src = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
        src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        graded += bool(cell.metadata.get("nbgrader", {}).get("grade"))
        parts.append(src)
    return "\n\n".join(parts) + "\n", graded


def test_wheel_installs_in_a_fresh_venv_and_visible_checks_run(site, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # numpy, torch, matplotlib... come from this environment's site-packages as a plain path
    # entry (its .pth files, among them the editable rnncourse of the checkout, are not run)
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    here = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").exists())
    Path(purelib, "course-deps.pth").write_text(here + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    env.update(MPLBACKEND="agg", RNNCOURSE_MODE="fast", RNNCOURSE_DATA=str(ROOT / "data"), PIP_NO_INDEX="1")
    proc = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--quiet", str(site / wheel_name())],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    probe = ("import importlib.util, rnncourse; print(rnncourse.__file__); "
             "print(importlib.util.find_spec('autograde')); print(importlib.util.find_spec('torch') is not None)")
    out = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    where, autograde, torch = out.stdout.split("\n")[:3]
    assert where.startswith(str(env_dir)), where
    assert autograde == "None" and torch == "True"
    for solution in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        script, graded = _student_script(solution)
        (tmp_path / "run.py").write_text(script)
        run = subprocess.run([str(py), "run.py"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
        assert run.returncode == 0, f"{solution.name}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        passed = run.stdout.count("checks passed")
        assert graded and passed >= graded, f"{solution.name}: {passed} visible checks passed, {graded} graded cells"


# ---------------------------------------------------------------------------- the browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _repo_path_of_launch(href: str) -> str | None:
    """The repository path a Colab, Binder or JupyterHub link opens, or None for other links."""
    url = urlparse(href)
    if url.netloc.endswith("colab.research.google.com"):
        m = re.match(r"/github/[^/]+/[^/]+/blob/[^/]+/(.+)", url.path)
        return m.group(1) if m else None                  # a plain link to Colab is no launch
    if url.netloc.endswith("mybinder.org") and url.path.startswith("/v2/"):
        urlpath = parse_qs(url.query).get("urlpath", [""])[0]
        return re.sub(r"^(lab/tree|tree)/", "", urlpath)
    return None


def test_every_page_in_headless_chromium(site, server):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: `make browser` installs Debian's package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems, outside, checked_files, columns = [], [], set(), {}
    site_base = base_url()

    def local(url: str) -> Path | None:
        if url.startswith(site_base):                        # absolute links to the course site
            url = server + url[len(site_base):]
        if not url.startswith(server):
            return None
        path = unquote(urlparse(url).path)[1:]
        target = site / path
        return target / "index.html" if target.is_dir() else target

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(r):
            if r.request.url.startswith(server) or r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()
        context.route("**/*", route)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for name in _toc_pages():
            errors.clear()
            page.goto(server + name + ".html", wait_until="load")
            page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)")
            page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
            state = page.evaluate("""() => ({
                math: [...document.querySelectorAll('.math')].map(e => !!e.querySelector('mjx-container') && !e.querySelector('mjx-merror')),
                images: [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
                links: [...document.querySelectorAll('a[href]')].map(a => a.href),
                column: Math.max(0, ...[...document.querySelectorAll('.cell_output')].map(e => e.clientWidth)),
            })""")
            if state["column"]:
                columns[name] = state["column"]
            bad_math = state["math"].count(False)
            if bad_math:
                problems.append(f"{name}: {bad_math} of {len(state['math'])} formulas not typeset")
            problems += [f"{name}: image {src} did not load" for src, ok in state["images"] if not ok]
            for href in state["links"]:
                repo_path = _repo_path_of_launch(href)
                if repo_path is not None:
                    if not repo_path.endswith(".ipynb") or not (ROOT / repo_path).is_file():
                        problems.append(f"{name}: launch link opens {repo_path!r}, not a notebook of the repository")
                    continue
                target = local(href.split("#")[0].split("?")[0])
                if target is not None and not target.is_file():
                    problems.append(f"{name}: link {href} resolves to nothing")
                if target is not None and target.suffix in (".ipynb", ".whl"):
                    checked_files.add(target.suffix)
                    if target.suffix == ".ipynb":
                        try:
                            nbformat.reads(target.read_text(), as_version=4)
                        except Exception as exc:  # noqa: BLE001 - any failure is the finding
                            problems.append(f"{name}: download {href} is not a notebook ({exc})")
            problems += [f"{name}: console error: {e}" for e in errors]
            page.screenshot(path=str(shots / (name.replace("/", "__") + ".png")))
        page.goto(server + "search.html?q=perplexity", wait_until="load")
        page.wait_for_selector("#search-results ul.search li", timeout=20000)
        hits = page.locator("#search-results ul.search li").count()
        browser.close()
    assert not outside, f"requests left the machine: {sorted(set(outside))[:10]}"
    assert not problems, "\n".join(problems[:40])
    assert checked_files == {".ipynb", ".whl"}, f"no download link of kind {({'.ipynb', '.whl'} - checked_files)}"
    assert hits >= 3, f"search for 'perplexity' found {hits} pages"
    # test_book's legibility check of figure text assumes outputs at least COLUMN_PX wide
    narrow = {n: w for n, w in columns.items() if w < COLUMN_PX}
    assert columns and not narrow, f"cell outputs narrower than {COLUMN_PX} px at a 1280 px window: {narrow}"
