"""Functions that checks hand to a student's function as arguments (a ``next_probs``, a
``prob_fn``), written so the autograder can rebuild them inside the sandbox.

A check could pass any Python function; the autograder would then call it back across
the sandbox boundary for every use (a round trip each: slow for a sampler that asks for
a distribution 3,000 times).  These classes are plain data plus a ``__call__``: the
autograder sends their ``state()`` and the sandbox calls them locally.  They are inputs,
never verdicts: a submission that tampers with them only changes its own inputs.
"""
from __future__ import annotations

import numpy as np


class PortableFunction:
    """Base class: ``state()`` returns plain values, ``cls(**state)`` rebuilds."""

    def state(self) -> dict:
        raise NotImplementedError


class Constant(PortableFunction):
    """``f(anything) -> probs``: the same distribution whatever the context."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=float)

    def state(self) -> dict:
        return {"probs": self.probs}

    def __call__(self, context):
        return self.probs.copy()


class LastTokenTable(PortableFunction):
    """``f(context) -> table[context[-1]]``: a first-order Markov chain's next-token
    distribution (``table`` is (V, V))."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)

    def state(self) -> dict:
        return {"table": self.table}

    def __call__(self, context):
        return self.table[int(np.asarray(context).reshape(-1)[-1])].copy()


class WindowProb(PortableFunction):
    """``f(windows (Q, n)) -> (Q,)`` probabilities: ``table[first, last]`` of each window,
    or ``table[0, last]`` for windows of one token (a toy n-gram model)."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)

    def state(self) -> dict:
        return {"table": self.table}

    def __call__(self, windows):
        w = np.asarray(windows)
        return self.table[w[:, 0], w[:, -1]] if w.shape[1] > 1 else self.table[0, w[:, -1]]


class FilledProb(PortableFunction):
    """``f(windows) -> value`` for every window, except ``zero_token`` as last token,
    which gets ``zero`` (default 0; ``zero_token=-1``: none)."""

    def __init__(self, value: float, zero_token: int = -1, zero: float = 0.0):
        self.value, self.zero_token, self.zero = float(value), int(zero_token), float(zero)

    def state(self) -> dict:
        return {"value": self.value, "zero_token": self.zero_token, "zero": self.zero}

    def __call__(self, windows):
        w = np.asarray(windows)
        return np.where(w[:, -1] == self.zero_token, self.zero, self.value) if w.ndim == 2 else np.full(len(w), self.value)


def repeat(fn, n: int, *args):
    """``[fn(*args) for _ in range(n)]``: ``n`` calls with the same arguments (a sampler
    with the same generator, drawing ``n`` times), run where ``fn`` lives."""
    return [fn(*args) for _ in range(int(n))]
