"""The course's check API: the only thing graded test cells call.

Test cells never use bare ``assert``; they call a chapter's check functions (for example
``rnncourse.checks.ch01.check_ngram_counts(ngram_counts)``), which are built from the
primitives below.  Keeping every comparison behind this API lets the grading backend
change (sandboxing, out-of-process verdicts) without editing any notebook.

Every failure raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader and pytest
count it as a failed test) whose message says what was checked, on which input, and what
differs: type, shape, dtype, or the first wrong entry with expected and received values.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np


class CheckFailed(AssertionError):
    """A check found a wrong answer. The message is written for the student."""


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


# Tolerances by dtype and device.  On CUDA, float32 matmuls may run in TF32 and cuDNN
# picks non-deterministic algorithms, so float32 comparisons there are looser.
_TOL = {
    ("float64", "cpu"): Tolerance(1e-7, 1e-10),
    ("float64", "cuda"): Tolerance(1e-7, 1e-10),
    ("float32", "cpu"): Tolerance(1e-5, 1e-6),
    ("float32", "cuda"): Tolerance(2e-3, 1e-4),
    ("float16", "cpu"): Tolerance(1e-2, 1e-3),
    ("float16", "cuda"): Tolerance(1e-2, 1e-3),
    ("bfloat16", "cpu"): Tolerance(2e-2, 1e-2),
    ("bfloat16", "cuda"): Tolerance(2e-2, 1e-2),
}


def tolerance(dtype: Any = "float64", device: Any = "cpu") -> Tolerance:
    """Default comparison tolerance for a dtype on a device (``"cpu"`` or ``"cuda"``)."""
    name = str(dtype).replace("torch.", "")
    if name not in {k[0] for k in _TOL}:
        name = "float64"
    dev = "cuda" if str(device).startswith("cuda") else "cpu"
    return _TOL[(name, dev)]


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def to_numpy(x: Any, name: str = "value") -> np.ndarray:
    """Convert an array-like (numpy array, torch tensor, list, number) to numpy."""
    if _is_tensor(x):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise CheckFailed(f"{name}: cannot read {type(x).__name__} as an array ({exc})") from None


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.10g}"
    return repr(v.item() if isinstance(v, np.generic) else v)


def _fmt2(a: Any, b: Any) -> tuple[str, str]:
    """Two values printed with enough digits to show that they differ (never
    "expected 0.5, got 0.5" for numbers one rounding apart)."""
    fa, fb = _fmt(a), _fmt(b)
    if fa == fb and isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)):
        fa, fb = repr(float(a)), repr(float(b))
        if fa == fb and np.asarray(a).dtype != np.asarray(b).dtype:
            fa, fb = f"{fa} ({np.asarray(a).dtype})", f"{fb} ({np.asarray(b).dtype})"
    return fa, fb


def _summary(a: np.ndarray, limit: int = 12) -> str:
    text = np.array2string(np.asarray(a), threshold=limit, precision=6, separator=", ")
    return text if len(text) < 400 else text[:400] + " ..."


def check_type(name: str, got: Any, types: type | tuple[type, ...]) -> None:
    if not isinstance(got, types):
        want = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise CheckFailed(f"{name}: expected a {want}, got {type(got).__name__}")


def check_array(name: str, got: Any, *, kind: str | None = None) -> np.ndarray:
    """Check that ``got`` is a numpy array or tensor and return it as numpy.

    ``kind`` is a numpy dtype kind: ``"i"`` any integer, ``"f"`` any float,
    ``"b"`` bool, ``"if"`` integer or float.
    """
    if got is None:
        raise CheckFailed(f"{name}: got None. Did the function forget to `return`?")
    if not (isinstance(got, np.ndarray) or _is_tensor(got)):
        raise CheckFailed(
            f"{name}: expected a numpy array, got {type(got).__name__}"
            + (" (convert it with np.asarray)" if isinstance(got, (list, tuple)) else "")
        )
    arr = to_numpy(got, name)
    if kind is not None:
        kinds = {"i": "iu", "f": "f", "b": "b", "if": "iuf"}.get(kind, kind)
        if arr.dtype.kind not in kinds:
            label = {"i": "an integer", "f": "a floating-point", "b": "a boolean", "if": "a numeric"}.get(kind, kind)
            raise CheckFailed(f"{name}: expected {label} dtype, got dtype {arr.dtype}")
    return arr


def check_shape(name: str, got: Any, shape: Sequence[int | None]) -> np.ndarray:
    """Check the shape; ``None`` in ``shape`` matches any length on that axis."""
    arr = to_numpy(got, name)
    ok = arr.ndim == len(shape) and all(s is None or s == g for s, g in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise CheckFailed(f"{name}: expected shape {want}, got shape {tuple(arr.shape)}")
    return arr


def check_equal(name: str, got: Any, expected: Any, *, context: str = "") -> None:
    """Exact comparison (integers, booleans, strings, integer arrays)."""
    where = f" {context}" if context else ""
    if isinstance(expected, (str, bytes, int, bool)) and not isinstance(expected, np.ndarray):
        if isinstance(got, (np.ndarray,)) or _is_tensor(got):
            got_arr = to_numpy(got)
            if got_arr.shape != ():
                raise CheckFailed(f"{name}{where}: expected a scalar {_fmt(expected)}, got an array of shape {got_arr.shape}")
            got = got_arr.item()
        if got != expected or type(got) is bool and type(expected) is not bool:
            raise CheckFailed(f"{name}{where}: expected {_fmt(expected)}, got {_fmt(got)}")
        return
    exp = np.asarray(expected)
    arr = check_shape(name, got, exp.shape)
    if arr.dtype.kind in "fc" and exp.dtype.kind in "iub":
        if not np.all(np.isfinite(arr)):
            raise CheckFailed(f"{name}{where}: contains NaN or inf where integers were expected")
    diff = arr != exp
    if np.any(diff):
        idx = tuple(int(i) for i in np.argwhere(diff)[0])
        n_bad = int(diff.sum())
        raise CheckFailed(
            f"{name}{where}: {n_bad} of {exp.size} entries differ; first at index {idx}: "
            "expected {}, got {}".format(*_fmt2(exp[idx], arr[idx])) + f"\n  expected: {_summary(exp)}\n  got:      {_summary(arr)}"
        )


def check_close(
    name: str,
    got: Any,
    expected: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    context: str = "",
    show_expected: bool = True,
    equal_nan: bool = True,
) -> None:
    """Compare floats with tolerances; report the worst entry.

    ``show_expected=False`` hides reference values (used by hidden checks).
    """
    where = f" {context}" if context else ""
    exp = np.asarray(expected, dtype=np.float64)
    if isinstance(got, (int, float, np.integer, np.floating)) and exp.shape == ():
        arr = np.asarray(float(got))
    else:
        if exp.shape == () and (got is None or isinstance(got, (str, bytes, list, tuple, dict))):
            raise CheckFailed(f"{name}{where}: expected a number, got {type(got).__name__}")
        arr = to_numpy(got, name)
        if exp.shape == () and arr.shape != ():
            raise CheckFailed(f"{name}{where}: expected a single number, got an array of shape {arr.shape}")
        arr = check_shape(name, arr, exp.shape)
        if arr.dtype.kind not in "iufb":
            raise CheckFailed(f"{name}{where}: expected numbers, got dtype {arr.dtype}")
    tol = tolerance("float64")
    rtol = tol.rtol if rtol is None else rtol
    atol = tol.atol if atol is None else atol
    arr = arr.astype(np.float64)
    nan_exp, nan_got = np.isnan(exp), np.isnan(arr)
    if equal_nan and np.any(nan_exp != nan_got):
        idx = tuple(int(i) for i in np.argwhere(nan_exp != nan_got)[0])
        what = "NaN" if nan_got[idx] else "a number"
        want = ("NaN" if nan_exp[idx] else "a number") if not show_expected else _fmt(exp[idx])
        raise CheckFailed(f"{name}{where}: at index {idx} expected {want}, got {what} ({_fmt(arr[idx])})")
    with np.errstate(invalid="ignore"):
        bad = ~np.isclose(arr, exp, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if np.any(bad) and exp.shape == ():
        shown = "expected {}, got {}".format(*_fmt2(exp[()], arr[()])) if show_expected else f"got {_fmt(arr)}, off by {_fmt(abs(arr - exp))}"
        raise CheckFailed(f"{name}{where}: {shown} ({rtol=:g}, {atol=:g})")
    if np.any(bad):
        err = np.where(bad, np.abs(arr - exp), -np.inf)
        idx = np.unravel_index(int(np.nanargmax(err)), exp.shape) if exp.shape else ()
        idx = tuple(int(i) for i in idx)
        msg = f"{name}{where}: {int(bad.sum())} of {exp.size} entries outside tolerance ({rtol=:g}, {atol=:g})"
        if show_expected:
            msg += "; worst at index {}: expected {}, got {}".format(idx, *_fmt2(exp[idx], arr[idx]))
            if exp.size > 1:
                msg += f"\n  expected: {_summary(exp)}\n  got:      {_summary(arr)}"
        else:
            msg += f"; worst at index {idx}: got {_fmt(arr[idx])}, off by {_fmt(abs(arr[idx] - exp[idx]))}"
        raise CheckFailed(msg)


def check_dtype(name: str, got: Any, dtype: Any) -> np.ndarray:
    """Check the exact dtype a docstring promises (``np.int64``, ``np.float64``, ...)."""
    arr = to_numpy(got, name)
    want = np.dtype(dtype)
    if arr.dtype != want:
        hint = f" (convert with .astype(np.{want.name}))" if arr.dtype.kind in "iuf" else ""
        raise CheckFailed(f"{name}: the docstring promises dtype {want.name}, got dtype {arr.dtype}{hint}")
    return arr


def check_unchanged(argument: str, after: Any, before: Any, *, who: str = "your function") -> None:
    """An argument is bit for bit what it was before the call (``before`` is a copy).

    The message names the argument in the student's terms: "your function changed its
    argument `h_prev`", then where and by how much.
    """
    a, b = to_numpy(after, argument), to_numpy(before, argument)
    if a.shape != b.shape:
        raise CheckFailed(f"{who} changed its argument `{argument}`: its shape went from {b.shape} to {a.shape}")
    same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind in "fc" else (a == b)
    if a.dtype != b.dtype or not np.all(same):
        if a.dtype != b.dtype:
            detail = f"its dtype went from {b.dtype} to {a.dtype}"
        else:
            idx = tuple(int(i) for i in np.argwhere(~same)[0])
            was, now = _fmt2(b[idx], a[idx])
            detail = f"{int((~same).sum())} of {a.size} entries differ; at index {idx} it was {was}, now {now}"
        raise CheckFailed(f"{who} changed its argument `{argument}` ({detail}). Compute into a new array "
                          "(x = x + ..., np.tanh(...)) instead of writing into an argument (+=, out=, x[...] =), "
                          "or put back exactly what you moved")


def check_never_drawn(who: str, draws: Any, probs: Any) -> None:
    """Exact, not statistical: no draw is a token whose probability is 0."""
    d = np.asarray(to_numpy(draws, who)).reshape(-1).astype(np.int64)
    p = np.asarray(probs, dtype=float).reshape(-1)
    for tok in np.flatnonzero(p == 0):
        hits = int(np.sum(d == tok))
        if hits:
            raise CheckFailed(f"{who}: token {int(tok)} has probability 0 but was drawn {hits} time"
                              f"{'s' if hits != 1 else ''} in {d.size} draws")


def check_raises(name: str, fn: Callable[[], Any], exceptions: type | tuple[type, ...], why: str) -> None:
    """Check that ``fn()`` raises one of ``exceptions`` (``why`` says when it should)."""
    try:
        fn()
    except exceptions:
        return
    except Exception as exc:
        raise CheckFailed(f"{name}: {why}; expected {_names(exceptions)}, got {type(exc).__name__}: {exc}") from None
    raise CheckFailed(f"{name}: {why}; expected {_names(exceptions)} to be raised, but nothing was raised")


def _names(exceptions: type | tuple[type, ...]) -> str:
    if isinstance(exceptions, type):
        return exceptions.__name__
    return " or ".join(e.__name__ for e in exceptions)


def is_remote(obj: Any) -> bool:
    """True for the autograder's proxies of objects living in a sandboxed submission."""
    return bool(getattr(type(obj), "__rnncourse_remote__", False))


def produce(path: str, *args: Any, **kwargs: Any) -> Any:
    """Run the course function ``path`` (``"rnncourse.module:function"``) where the
    student's objects live: here in a notebook, inside the sandbox when the autograder
    passes proxies.  Checks use it for whatever needs a live model (training it,
    collecting its outputs); the verdict is then computed from the returned values."""
    for a in (*args, *kwargs.values()):
        if is_remote(a):
            return a._worker.call({"import": path}, args, kwargs, what=path.split(":")[-1])
    import importlib

    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)(*args, **kwargs)


def call(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; turn ``NotImplementedError`` and crashes into clear failures."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet (it still raises NotImplementedError)") from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(f"{name} raised {type(exc).__name__}: {exc}") from exc


class Report:
    """Counts passed checks and prints one line per check group."""

    def __init__(self, title: str):
        self.title = title
        self.passed = 0

    @contextlib.contextmanager
    def case(self, description: str) -> Iterator[None]:
        try:
            yield
        except CheckFailed as exc:
            raise CheckFailed(f"[{self.title}] {description}\n{exc}") from None
        self.passed += 1

    def done(self) -> None:
        print(f"\u2714 {self.title}: {self.passed} check{'s' if self.passed != 1 else ''} passed")


def total_variation(p: Any, q: Any) -> float:
    """Total-variation distance between two distributions (same support)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())


def chi2_threshold(dof: int, z: float = 5.0) -> float:
    """A generous upper bound for a chi-squared statistic with ``dof`` degrees of freedom.

    Uses the Wilson-Hilferty normal approximation at ``z`` standard deviations, so a
    correct sampler fails with probability far below one in a million.
    """
    dof = max(int(dof), 1)
    a = 2.0 / (9.0 * dof)
    return dof * (1.0 - a + z * math.sqrt(a)) ** 3


def _short_traceback(shell, etype, value, tb, tb_offset=None):
    """Show a failed check as its message alone (no frames of the checking code)."""
    shell._showtraceback(etype, value, [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"])


def _install_ipython_handler() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "_showtraceback"):
        shell.set_custom_exc((CheckFailed,), _short_traceback)


_install_ipython_handler()
