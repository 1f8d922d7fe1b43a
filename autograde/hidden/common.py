"""Shared machinery of the hidden checks (instructor side).

* ``seed(name, case)``: a stable seed per check and case, so regrading a submission gives
  the same inputs and the same verdict.  ``RNNCOURSE_CHECK_SEED`` shifts every seed (an
  instructor can draw fresh inputs for a new term without editing notebooks).
* ``hidden_close`` / ``hidden_equal``: comparisons that report what differs without
  revealing the reference values.
* tolerances come from ``rnncourse.checks.core.tolerance`` for the grading device.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from rnncourse.checks.core import CheckFailed, check_close, check_shape, to_numpy, tolerance

SEED_VARIABLE = "RNNCOURSE_CHECK_SEED"


def seed(name: str, case: int) -> int:
    base = int(os.environ.get(SEED_VARIABLE, "0"))
    digest = hashlib.sha256(f"{name}:{case}:{base}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def cases(n: int) -> range:
    return range(n)


def hidden_equal(name: str, got, expected) -> None:
    exp = np.asarray(expected)
    arr = check_shape(name, got, exp.shape)
    diff = arr != exp
    if np.any(diff):
        idx = tuple(int(i) for i in np.argwhere(diff)[0])
        raise CheckFailed(f"{name}: {int(diff.sum())} of {exp.size} entries differ from the reference; "
                          f"first at index {idx} (you returned {arr[idx]!r})")


def hidden_close(name: str, got, expected, *, dtype="float64", device="cpu") -> None:
    tol = tolerance(dtype, device)
    if got is None:
        raise CheckFailed(f"{name}: got None. Did the function forget to `return`?")
    check_close(name, to_numpy(got) if not isinstance(got, (int, float)) else got, expected,
                rtol=tol.rtol, atol=tol.atol, show_expected=False)
