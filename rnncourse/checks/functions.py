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


# --------------------------------------------------------------------------- chapter 6: toy step functions
class TableStep(PortableFunction):
    """A portable :class:`rnncourse.search.TableModel`: ``step_fn(tokens_prev (N,), state (1, N))
    -> (log_probs (N, V) float64, state + 1)`` with ``log_probs = table[min(step, T - 1), prev]``.
    ``table`` (T, V, V) or (V, V) of log-probabilities (lists are fine: the state travels inline)."""

    def __init__(self, table):
        from rnncourse.search import TableModel

        self.model = TableModel(np.asarray(table, dtype=np.float64))
        self.table = self.model.table
        self.vocab_size = self.model.vocab_size

    def state(self) -> dict:
        return {"table": self.table}

    def init_state(self, batch_size: int, device="cpu"):
        return self.model.init_state(batch_size, device)

    def __call__(self, tokens_prev, state):
        return self.model(tokens_prev, state)


class HashStep(PortableFunction):
    """A portable :class:`rnncourse.search.HashModel` (next-token distribution a hash of the
    whole prefix; state an int64 (1, N) tensor)."""

    def __init__(self, vocab_size: int, seed: int = 0, temperature: float = 1.0, eos_bias: float = 0.0):
        from rnncourse.search import HashModel

        self.model = HashModel(vocab_size, seed, temperature, eos_bias)
        self.vocab_size = self.model.vocab_size

    def state(self) -> dict:
        return self.model.state()

    def init_state(self, batch_size: int, device="cpu"):
        return self.model.init_state(batch_size, device)

    def __call__(self, tokens_prev, state):
        return self.model(tokens_prev, state)


def calls_recorded(fn, step_fn, *args, **kwargs):
    """``fn(recorder, *args, **kwargs)`` where ``recorder`` is ``step_fn`` that also notes
    every call; run where ``fn`` lives (through ``produce``), so that the counts come back
    to the checks as plain values.  Returns ``(result, rows)``: ``rows`` the number of rows
    (N) of each call, in order."""
    rows: list[int] = []

    def recorder(tokens_prev, state):
        rows.append(int(tokens_prev.shape[0]) if getattr(tokens_prev, "ndim", 0) >= 1 else -1)
        return step_fn(tokens_prev, state)

    return fn(recorder, *args, **kwargs), rows
