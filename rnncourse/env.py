"""Run-time environment of the course: device, seeding and fast/full mode.

Every notebook and book page starts with::

    from rnncourse import env
    env.setup()          # seeds everything, picks the device, prints the mode

Fast mode shrinks data and training so that a notebook runs in seconds on a laptop CPU
and in CI.  Full mode is what the quality targets on the results page are stated for.

The switch is one environment variable, ``RNNCOURSE_MODE``:

* ``RNNCOURSE_MODE=fast``  small data, few steps (CI, laptops);
* ``RNNCOURSE_MODE=full``  all data, full training;
* unset: ``full`` when a CUDA GPU is present, ``fast`` otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import random
import sys
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import numpy as np

MODE_VARIABLE = "RNNCOURSE_MODE"
DEVICE_VARIABLE = "RNNCOURSE_DEVICE"
MODES = ("fast", "full")

T = TypeVar("T")


def _torch():
    """Import torch lazily: chapter 1 needs only numpy."""
    try:
        import torch  # noqa: PLC0415
    except ImportError:  # pragma: no cover - depends on the install
        return None
    return torch


def cuda_available() -> bool:
    torch = _torch()
    return bool(torch is not None and torch.cuda.is_available())


def mode() -> str:
    """Return ``"fast"`` or ``"full"`` (see the module docstring)."""
    value = os.environ.get(MODE_VARIABLE, "").strip().lower()
    if not value:
        return "full" if cuda_available() else "fast"
    if value not in MODES:
        raise ValueError(
            f"{MODE_VARIABLE}={value!r} is not a mode; use one of {', '.join(MODES)}"
        )
    return value


def is_fast() -> bool:
    return mode() == "fast"


def pick(fast: T, full: T) -> T:
    """Choose a setting by mode: ``steps = env.pick(fast=200, full=20_000)``."""
    return fast if is_fast() else full


def device(prefer: str | None = None) -> Any:
    """The torch device to compute on: CUDA when present, else CPU.

    ``RNNCOURSE_DEVICE=cpu`` (or ``cuda:1``...) overrides the choice.  Returns a
    ``torch.device``; raises a clear error when torch is not installed.
    """
    torch = _torch()
    if torch is None:
        raise RuntimeError("PyTorch is not installed: pip install -r requirements.txt")
    name = prefer or os.environ.get(DEVICE_VARIABLE) or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but CUDA is not available here")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RuntimeError(f"device {name!r} asked for, but this machine has {torch.cuda.device_count()} "
                           f"CUDA device(s) (cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    return dev


def cuda_info() -> dict:
    """What the CUDA path runs on, for measurements and the GPU check: ``{"available":
    False}`` without CUDA (or without torch), else the GPU's name, compute capability and
    memory, torch's CUDA and cuDNN versions, and the TF32 and determinism switches that
    decide how close float32 results come to the CPU's (``rnncourse.checks.core.tolerance``)."""
    torch = _torch()
    if torch is None or not torch.cuda.is_available():
        return {"available": False, "torch": getattr(torch, "__version__", None)}
    props = torch.cuda.get_device_properties(0)
    cudnn = torch.backends.cudnn
    return {
        "available": True,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn.version() if cudnn.is_available() else None,
        "device_count": torch.cuda.device_count(),
        "name": torch.cuda.get_device_name(0),
        "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
        "memory_gib": round(props.total_memory / 2**30, 1),
        "multiprocessors": props.multi_processor_count,
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(cudnn.allow_tf32),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn_deterministic": bool(cudnn.deterministic),
        "cudnn_benchmark": bool(cudnn.benchmark),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
    }


class _AfterImport:
    """A ``sys.meta_path`` finder that runs ``fn(module)`` right after module ``name`` is
    first imported, then removes itself (see :func:`after_import`)."""

    def __init__(self, name: str, fn: Callable[[Any], None]):
        self.name, self.fn = name, fn

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]     # once, and no recursion
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, fn = spec.loader.exec_module, self.fn

        def exec_then_fn(module):
            exec_module(module)
            fn(module)

        spec.loader.exec_module = exec_then_fn
        return spec


def after_import(name: str, fn: Callable[[Any], None]) -> None:
    """Call ``fn(module)`` once module ``name`` is imported: now if it already is, else
    right after whoever imports it first does (an import hook), without importing it here.
    Hooks registered later run later."""
    if name in sys.modules:
        fn(sys.modules[name])
    else:
        sys.meta_path.insert(0, _AfterImport(name, fn))


def seed_everything(seed: int = 0, torch: bool = True) -> np.random.Generator:
    """Seed Python, numpy and torch (all devices); return a fresh numpy Generator.

    Code in this course passes generators explicitly (``rng`` arguments) rather than
    relying on global state, so results do not depend on the order of random calls
    elsewhere; seeding the globals too keeps third-party code reproducible.

    ``torch=False`` does not import torch (it takes seconds; chapter 1 needs only numpy):
    torch is seeded now if it is already imported, else the moment it is.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if not torch:
        after_import("torch", lambda t: t.manual_seed(seed))
        return np.random.default_rng(seed)
    t = _torch()
    if t is not None:
        t.manual_seed(seed)
    return np.random.default_rng(seed)


@dataclass(frozen=True)
class Setup:
    mode: str
    device: str
    seed: int
    rng: np.random.Generator

    def __str__(self) -> str:
        return f"rnncourse: mode={self.mode} device={self.device} seed={self.seed}"


def setup(seed: int = 0, verbose: bool = True, torch: bool = True) -> Setup:
    """Seed everything, choose the device and report the mode in one line.

    ``torch=False`` (chapter 1) neither imports torch nor picks a device: the device reads
    ``cpu (numpy only)``, and torch is seeded if and when the notebook imports it."""
    rng = seed_everything(seed, torch=torch)
    t = _torch() if torch else None
    dev = str(device()) if t is not None else "cpu (numpy only)"
    info = Setup(mode=mode(), device=dev, seed=int(seed), rng=rng)
    if verbose:
        print(info)
    return info


def machine_info() -> dict:
    """What a measurement ran on: platform, CPU, usable cores, Python, numpy, torch, GPU."""
    import os
    import platform
    from pathlib import Path

    cpu_model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "device": "cpu",
    }
    torch = _torch()
    if torch is not None:
        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["device"] = "cuda"
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
            info["cudnn"] = torch.backends.cudnn.version()
    return info
