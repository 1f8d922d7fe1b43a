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

from rnncourse.checks.core import (CheckFailed, check_close, check_never_drawn, check_shape, chi2_threshold, to_numpy,
                                   tolerance)

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


def check_distribution(who: str, draws, q, what: str = "draws") -> None:
    """Draws of a sampler against the probabilities ``q``: ids in range, no draw of a
    zero-probability token, and a chi-squared statistic within a generous bound."""
    draws = np.asarray(draws).reshape(-1)
    q = np.asarray(q, dtype=float)
    V, N = len(q), draws.size
    if N and (draws.min() < 0 or draws.max() >= V):
        raise CheckFailed(f"{who} returned token ids outside 0..{V - 1}")
    check_never_drawn(who, draws, q)
    freq = np.bincount(draws, minlength=V)[:V].astype(float)
    # Pearson's test needs expected counts of at least ~5 per cell: tokens expected fewer
    # times are pooled into one cell (else one lucky draw of a 1e-4 token fails a correct
    # sampler), and a pool still under 5 joins the smallest regular cell.
    exp_all = N * q
    big = exp_all >= 5
    obs, expected = list(freq[big]), list(exp_all[big])
    pool_o, pool_e = float(freq[~big & (q > 0)].sum()), float(exp_all[~big & (q > 0)].sum())
    if pool_e > 0:
        if pool_e >= 5 or not expected:
            obs.append(pool_o); expected.append(pool_e)
        else:
            j = int(np.argmin(expected))
            obs[j] += pool_o; expected[j] += pool_e
    obs, expected = np.array(obs), np.array(expected)
    if expected.size < 2:
        return
    stat = float(np.sum((obs - expected) ** 2 / expected))
    limit = chi2_threshold(expected.size - 1)
    if stat > limit:
        raise CheckFailed(f"{who}: the {what} in {N} draws do not follow the expected distribution "
                          f"(chi-squared {stat:.1f}, limit {limit:.1f})")
