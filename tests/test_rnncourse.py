"""Unit tests of the helper package: environment switches and the check API's messages."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from rnncourse import env
from rnncourse.checks import core
from rnncourse.checks.core import CheckFailed


# ----------------------------------------------------------------------------- env
def test_mode_switch(monkeypatch):
    monkeypatch.setenv("RNNCOURSE_MODE", "fast")
    assert env.mode() == "fast" and env.is_fast() and env.pick(fast=1, full=2) == 1
    monkeypatch.setenv("RNNCOURSE_MODE", "FULL")
    assert env.mode() == "full" and env.pick(fast=1, full=2) == 2
    monkeypatch.delenv("RNNCOURSE_MODE")
    assert env.mode() == ("full" if env.cuda_available() else "fast")
    monkeypatch.setenv("RNNCOURSE_MODE", "turbo")
    with pytest.raises(ValueError, match="RNNCOURSE_MODE='turbo' is not a mode"):
        env.mode()


def test_seed_everything_makes_numpy_torch_and_generators_repeatable():
    torch = pytest.importorskip("torch")
    g1 = env.seed_everything(3)
    a = (np.random.rand(), torch.rand(1).item(), g1.random())
    g2 = env.seed_everything(3)
    assert a == (np.random.rand(), torch.rand(1).item(), g2.random())
    with pytest.raises(ValueError):
        env.seed_everything(-1)


def test_device_choice(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.delenv("RNNCOURSE_DEVICE", raising=False)
    assert env.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("RNNCOURSE_DEVICE", "cpu")
    assert env.device().type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            env.device("cuda")


def test_setup_reports_mode_and_device(monkeypatch, capsys):
    monkeypatch.setenv("RNNCOURSE_MODE", "fast")
    info = env.setup(seed=5)
    assert "mode=fast" in capsys.readouterr().out and info.seed == 5


def test_after_import_runs_once_right_after_the_first_import(tmp_path, monkeypatch):
    (tmp_path / "course_fake_module.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    env.after_import("course_fake_module", lambda m: seen.append(("first", m.VALUE)))
    env.after_import("course_fake_module", lambda m: seen.append(("second", m.VALUE)))
    assert seen == [] and "course_fake_module" not in sys.modules
    import course_fake_module

    import course_fake_module as again   # noqa: F401  (a second import runs nothing)
    assert seen == [("first", 41), ("second", 41)], "hooks registered later run later, once each"
    assert not any(type(f).__name__ == "_AfterImport" for f in sys.meta_path)
    env.after_import("course_fake_module", lambda m: seen.append(("now", m.VALUE)))
    assert seen[-1] == ("now", 41), "an imported module gets fn at once"
    sys.modules.pop("course_fake_module")


def test_setup_without_torch_does_not_import_it_and_seeds_it_on_import():
    code = ("import sys\nfrom rnncourse import env\ninfo = env.setup(seed=7, torch=False)\n"
            "print('imported' if 'torch' in sys.modules else 'not imported', info.device)\n"
            "import torch\nprint(torch.initial_seed())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "RNNCOURSE_MODE": "fast"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines == ["rnncourse: mode=fast device=cpu (numpy only) seed=7", "not imported cpu (numpy only)", "7"], lines


# ----------------------------------------------------------------------------- checks
def _msg(fn) -> str:
    with pytest.raises(CheckFailed) as e:
        fn()
    return str(e.value)


def test_check_equal_names_first_wrong_entry():
    m = _msg(lambda: core.check_equal("counts", np.array([3, 1, 2]), np.array([3, 1, 1])))
    assert "1 of 3 entries differ" in m and "index (2,)" in m and "expected 1, got 2" in m


def test_check_shape_and_dtype_messages():
    assert "expected shape (4, 2), got shape (2, 4)" in _msg(lambda: core.check_shape("grams", np.zeros((2, 4)), (4, 2)))
    assert "expected an integer dtype, got dtype float64" in _msg(lambda: core.check_array("c", np.zeros(3), kind="i"))
    assert "Did the function forget to `return`" in _msg(lambda: core.check_array("c", None))
    assert "convert it with np.asarray" in _msg(lambda: core.check_array("c", [1, 2]))


def test_check_close_reports_worst_entry_and_nan():
    m = _msg(lambda: core.check_close("p", np.array([0.5, 0.2]), np.array([0.5, 0.25])))
    assert "worst at index (1,)" in m and "expected 0.25, got 0.2" in m
    m = _msg(lambda: core.check_close("p", np.array([0.5, 0.0]), np.array([0.5, np.nan])))
    assert "at index (1,) expected nan" in m.lower()
    core.check_close("p", np.array([1.0, np.nan]), np.array([1.0 + 1e-12, np.nan]))
    hidden = _msg(lambda: core.check_close("p", np.array([0.5]), np.array([0.7]), show_expected=False))
    assert "0.7" not in hidden and "off by" in hidden
    assert "expected a number, got str" in _msg(lambda: core.check_close("x", "4", 4.0))


def test_check_close_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    core.check_close("t", torch.tensor([1.0, 2.0]), np.array([1.0, 2.0]))


def test_tolerances_depend_on_dtype_and_device():
    assert core.tolerance("float32", "cuda").rtol > core.tolerance("float32", "cpu").rtol > core.tolerance("float64").rtol
    assert core.tolerance("torch.float32", "cuda:0") == core.tolerance("float32", "cuda")


def test_call_turns_not_implemented_into_a_clear_message():
    def stub(x):
        raise NotImplementedError()
    assert "is not implemented yet" in _msg(lambda: core.call("f", stub, 1))
    assert "f raised ZeroDivisionError" in _msg(lambda: core.call("f", lambda: 1 / 0))


def test_check_raises():
    core.check_raises("f", lambda: int("x"), ValueError, "bad input")
    assert "nothing was raised" in _msg(lambda: core.check_raises("f", lambda: 1, ValueError, "bad input"))


def test_chi2_threshold_is_generous_but_finite():
    # 3 degrees of freedom: the 99.9999% quantile is about 30; the bound must exceed it
    assert 30 < core.chi2_threshold(3) < 60
    assert core.total_variation([1, 1], [1, 1]) == 0 and math.isclose(core.total_variation([1, 0], [0, 1]), 1)


def test_failure_messages_print_enough_digits_to_show_the_difference():
    import pytest as _pytest
    from rnncourse.checks.core import CheckFailed, check_close, check_equal
    with _pytest.raises(CheckFailed, match=r"expected 0\.30000000000000004, got 0\.3\b"):
        check_equal("h0 after the call", np.array([0.3]), np.array([0.1 + 0.2]))
    with _pytest.raises(CheckFailed, match=r"expected 0\.3, got 0\.30000000000000004"):
        check_close("x", 0.1 + 0.2, 0.3, rtol=0, atol=0)


def test_models_are_built_where_the_graders_tensors_arrive(monkeypatch):
    """Under grading the sandbox rebuilds every tensor on ``env.device()`` (CUDA on a GPU
    grader), so ``training.construct`` puts the student's model there too, and the
    producers compute on the model's device by default.  The "meta" device stands in for
    CUDA on a machine without one."""
    import torch

    from rnncourse import training

    monkeypatch.setenv("RNNCOURSE_DEVICE", "meta")
    monkeypatch.delenv("RNNCOURSE_GRADING", raising=False)
    assert next(training.construct(torch.nn.Linear, 0, 2, 3).parameters()).device.type == "cpu"   # a notebook
    monkeypatch.setenv("RNNCOURSE_GRADING", "1")
    model = training.construct(torch.nn.Linear, 0, 2, 3)
    assert next(model.parameters()).device.type == "meta"
    assert torch.device(training.model_device(model)).type == "meta"
    assert training.model_device(model, "cpu") == "cpu"
    assert training.model_device(torch.nn.ReLU()) == "cpu"          # no parameters
    assert next(training.construct(torch.nn.Linear, 0, 2, 3, device="cpu").parameters()).device.type == "cpu"


def test_pages_markdown_table_escapes_and_aligns():
    from rnncourse.pages import markdown_table

    text = markdown_table(["a", "b|c"], [[1, "x|y"], [2.5, ""]], "a note")
    lines = text.split("\n")
    assert lines[0] == "| a | b\\|c |" and lines[1] == "|---|---|"
    assert lines[2] == "| 1 | x\\|y |" and lines[3] == "| 2.5 |  |" and lines[-1] == "a note" and lines[-2] == ""
    assert markdown_table(["n"], [[3]], align="right").split("\n")[1] == "|---:|"
    assert "\n\n" not in markdown_table(["n"], [[3]])
    with pytest.raises(ValueError, match="align"):
        markdown_table(["n"], [], align="centre")
