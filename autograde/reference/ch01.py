"""Reference implementations for chapter 1 (Markov n-gram models).

Instructor tooling: the hidden checks compare students' functions with these on fresh
random inputs.  Not part of the student-facing package ``rnncourse``.

Everything is vectorised with numpy: n-grams are rows of a sliding-window view, looked up
by integer keys (base-V positional encoding when it fits in int64, a joint ``np.unique``
otherwise) with ``np.searchsorted``; no Python loop runs per n-gram.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


# --------------------------------------------------------------------------- helpers
def _as_ids(ids) -> np.ndarray:
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _as_queries(queries, n: int) -> np.ndarray:
    q = np.asarray(queries)
    if q.ndim != 2 or q.shape[1] != n:
        raise ValueError(f"queries must have shape (Q, {n}), got {q.shape}")
    return q.astype(np.int64, copy=False)


def _row_keys(*blocks: np.ndarray) -> list[np.ndarray]:
    """Map rows of several int arrays with the same width to comparable int64 keys.

    Equal rows get equal keys and the key order is the lexicographic row order.
    """
    width = blocks[0].shape[1]
    if width == 0:
        return [np.zeros(len(b), dtype=np.int64) for b in blocks]
    nonempty = [b for b in blocks if b.size]
    base = int(max((int(b.max()) for b in nonempty), default=0)) + 1
    lo = min((int(b.min()) for b in nonempty), default=0)
    if lo >= 0 and width * math.log2(max(base, 2)) < 62:
        powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
        return [b.astype(np.int64) @ powers for b in blocks]
    allrows = np.concatenate(blocks, axis=0)
    _, inverse = np.unique(allrows, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out, start = [], 0
    for b in blocks:
        out.append(inverse[start:start + len(b)].astype(np.int64))
        start += len(b)
    return out


def _lookup(table_keys: np.ndarray, table_values: np.ndarray, query_keys: np.ndarray, missing=0):
    """Values for ``query_keys`` in a table with sorted unique ``table_keys``."""
    out = np.full(query_keys.shape, missing, dtype=np.result_type(table_values, type(missing)))
    if table_keys.size == 0:
        return out
    pos = np.searchsorted(table_keys, query_keys)
    pos = np.minimum(pos, table_keys.size - 1)
    hit = table_keys[pos] == query_keys
    out[hit] = table_values[pos[hit]]
    return out


# --------------------------------------------------------------------------- exercises
def ngram_counts(ids, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct n-grams of ``ids`` (rows sorted lexicographically) and their counts."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    ids = _as_ids(ids)
    if ids.size < n:
        return np.zeros((0, n), dtype=np.int64), np.zeros(0, dtype=np.int64)
    windows = sliding_window_view(ids, n)
    grams, counts = np.unique(windows, axis=0, return_counts=True)
    return grams.astype(np.int64), counts.astype(np.int64)


def _context_stats_for(grams, values, queries):
    """Per query: count of the query n-gram, total and type count of its context."""
    gkeys, qkeys = _row_keys(grams, queries)
    count = _lookup(gkeys, values.astype(np.float64), qkeys, missing=0.0)
    ckeys_g, ckeys_q = _row_keys(grams[:, :-1], queries[:, :-1])
    uniq, inverse = np.unique(ckeys_g, return_inverse=True)
    totals = np.bincount(inverse, weights=values.astype(float), minlength=uniq.size)
    types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size)
    total_q = _lookup(uniq, totals, ckeys_q, missing=0.0)
    types_q = _lookup(uniq, types, ckeys_q, missing=0.0)
    return count, total_q, types_q


def mle_prob(grams, counts, queries) -> np.ndarray:
    """P_MLE(w | ctx) = c(ctx w) / c(ctx); NaN where ctx never occurs in training."""
    grams = np.asarray(grams, dtype=np.int64)
    n = grams.shape[1]
    queries = _as_queries(queries, n)
    count, total, _ = _context_stats_for(grams, np.asarray(counts), queries)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(total > 0, count / np.where(total > 0, total, 1.0), np.nan)
    return p.astype(np.float64)


def add_k_prob(grams, counts, queries, vocab_size: int, k: float = 1.0) -> np.ndarray:
    """Add-k (Lidstone) estimate (c(ctx w) + k) / (c(ctx) + k V)."""
    if not k > 0:
        raise ValueError(f"k must be positive, got {k!r}")
    grams = np.asarray(grams, dtype=np.int64)
    queries = _as_queries(queries, grams.shape[1])
    count, total, _ = _context_stats_for(grams, np.asarray(counts), queries)
    return ((count + k) / (total + k * vocab_size)).astype(np.float64)


def count_tables(ids, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[ngram_counts(ids, m) for m in 1..n]``: the input of ``kneser_ney_prob``."""
    return [ngram_counts(ids, m) for m in range(1, n + 1)]


def continuation_counts(grams_up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """N1+(. g) for every m-gram g, from the distinct (m+1)-grams ``grams_up``."""
    tails = np.asarray(grams_up, dtype=np.int64)[:, 1:]
    if tails.shape[0] == 0:
        return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64)
    grams, cont = np.unique(tails, axis=0, return_counts=True)
    return grams.astype(np.int64), cont.astype(np.int64)


def kneser_ney_prob(tables, vocab_size: int, queries, discount: float = 0.75,
                    base: str = "uniform") -> np.ndarray:
    """Interpolated Kneser-Ney P(w | ctx) of order n = len(tables) for query n-grams.

    ``tables[m - 1] = (grams, counts)`` is the count table of order m (m = 1..n).
    Order n uses raw counts; orders 1..n-1 use continuation counts N1+(. g).
    P_m(w|ctx) = max(a(ctx w) - D, 0) / d(ctx) + D * t(ctx) / d(ctx) * P_{m-1}(w|ctx[1:])
    with d(ctx) = sum_w a(ctx w) and t(ctx) = #{w : a(ctx w) > 0}; a context with
    d(ctx) = 0 passes P_{m-1} through unchanged.  The recursion ends in the uniform
    distribution 1/V (``base="uniform"``).  ``base="nltk"`` ends instead at the
    undiscounted continuation unigram N1+(. w) / N1+(. .), as nltk.lm.KneserNeyInterpolated
    does (used only to test against nltk).
    """
    if not 0 <= discount <= 1:
        raise ValueError(f"discount must lie in [0, 1], got {discount!r}")
    n = len(tables)
    if n < 1:
        raise ValueError("need at least one count table")
    queries = _as_queries(queries, n)
    p = np.full(len(queries), 1.0 / vocab_size)
    for m in range(1, n + 1):
        if m == n:
            grams, values = (np.asarray(x, dtype=np.int64) for x in tables[m - 1])
        else:
            grams, values = continuation_counts(tables[m][0])
        sub = queries[:, n - m:]
        if grams.shape[0] == 0:
            continue
        a, d, t = _context_stats_for(grams, values, sub)
        if m == 1 and base == "nltk":
            p = a / d
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            safe = np.where(d > 0, d, 1.0)
            mixed = np.maximum(a - discount, 0.0) / safe + discount * t / safe * p
        p = np.where(d > 0, mixed, p)
    return p.astype(np.float64)


def perplexity(prob_fn: Callable[[np.ndarray], np.ndarray], ids, n: int) -> float:
    """exp of the mean negative log-probability of every window of ``ids``."""
    ids = _as_ids(ids)
    if ids.size < n:
        raise ValueError(f"need at least n={n} tokens, got {ids.size}")
    windows = np.ascontiguousarray(sliding_window_view(ids, n))
    p = np.asarray(prob_fn(windows), dtype=np.float64).reshape(-1)
    if p.shape[0] != windows.shape[0]:
        raise ValueError(f"prob_fn returned {p.shape[0]} probabilities for {windows.shape[0]} windows")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("prob_fn returned values that are not probabilities")
    if np.any(p == 0):
        return math.inf
    return float(np.exp(-np.mean(np.log(p))))


def temperature_probs(p, temperature: float) -> np.ndarray:
    """p ** (1/T) renormalised (computed in log space); T = 0 gives a one-hot argmax."""
    p = np.asarray(p, dtype=np.float64)
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    if temperature == 0:
        out = np.zeros_like(p)
        out[int(np.argmax(p))] = 1.0
        return out
    with np.errstate(divide="ignore"):
        logits = np.log(p) / temperature
    logits -= logits.max()
    q = np.exp(logits)
    return q / q.sum()


def sample(next_probs, prefix, length: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Generate ``length`` tokens, feeding each sample back as context."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    seq = list(np.asarray(prefix, dtype=np.int64).reshape(-1))
    out = np.empty(length, dtype=np.int64)
    for i in range(length):
        q = temperature_probs(next_probs(np.asarray(seq, dtype=np.int64)), temperature)
        tok = int(np.argmax(q)) if temperature == 0 else int(rng.choice(q.size, p=q))
        out[i] = tok
        seq.append(tok)
    return out
