"""Hidden checks for chapter 1: the student's function against the reference.

Called from the hidden part of the notebook's graded test cells during autograding.
Inputs are drawn from generators seeded here (``seed(case)``), never from global random
state, so a verdict does not depend on the order of random calls in the student's code,
and regrading gives the same verdict.  Messages name the case and what differs, but not
the reference values.
"""
from __future__ import annotations


import numpy as np

from autograde.hidden.common import check_distribution, cases, hidden_close, hidden_equal, seed
from autograde.reference import ch01 as ref
from rnncourse.checks.core import CheckFailed, Report, call, check_array
from rnncourse.checks.functions import Constant, LastTokenTable, WindowProb


def _corpus(rng, V, T):
    # skewed, Zipf-like token frequencies, like real text
    weights = 1.0 / np.arange(1, V + 1) ** rng.uniform(0.5, 1.5)
    return rng.choice(V, size=T, p=weights / weights.sum()).astype(np.int64)


def _queries(rng, ids, n, V, Q):
    """Half seen n-grams, half random ones (some with unseen tokens V..V+1)."""
    if len(ids) >= n:
        starts = rng.integers(0, len(ids) - n + 1, size=Q // 2)
        seen = np.stack([ids[s:s + n] for s in starts]) if Q // 2 else np.zeros((0, n), np.int64)
    else:
        seen = np.zeros((0, n), np.int64)
    rand = rng.integers(0, V + 2, size=(Q - len(seen), n))
    return np.concatenate([seen, rand]).astype(np.int64)


def check_ngram_counts(fn) -> None:
    r = Report("ngram_counts (hidden)")
    for case in cases(8):
        rng = np.random.default_rng(seed("ngram_counts", case))
        V, n, T = int(rng.integers(2, 40)), int(rng.integers(1, 6)), int(rng.integers(0, 3000))
        ids = _corpus(rng, V, T)
        g_ref, c_ref = ref.ngram_counts(ids, n)
        with r.case(f"random case {case}: T={T} tokens, V={V}, n={n}"):
            out = call("ngram_counts", fn, ids.copy(), n)
            if not isinstance(out, tuple) or len(out) != 2:
                raise CheckFailed("ngram_counts must return a tuple (grams, counts)")
            g = check_array("grams", out[0], kind="i")
            c = check_array("counts", out[1], kind="i")
            hidden_equal("grams", g, g_ref)
            hidden_equal("counts", c, c_ref)
    r.done()


def check_mle_prob(fn) -> None:
    r = Report("mle_prob (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("mle_prob", case))
        V, n = int(rng.integers(2, 30)), int(rng.integers(1, 5))
        ids = _corpus(rng, V, int(rng.integers(n, 2000)))
        g, c = ref.ngram_counts(ids, n)
        q = _queries(rng, ids, n, V, 200)
        with r.case(f"random case {case}: V={V}, n={n}, 200 queries"):
            hidden_close("probabilities", call("mle_prob", fn, g.copy(), c.copy(), q.copy()), ref.mle_prob(g, c, q))
    r.done()


def check_add_k_prob(fn) -> None:
    r = Report("add_k_prob (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("add_k_prob", case))
        V, n = int(rng.integers(2, 30)), int(rng.integers(1, 5))
        k = float(rng.choice([1.0, 0.5, 0.01, 2.5]))
        ids = _corpus(rng, V, int(rng.integers(n, 2000)))
        g, c = ref.ngram_counts(ids, n)
        q = _queries(rng, ids, n, V, 200)
        with r.case(f"random case {case}: V={V + 2}, n={n}, k={k}"):
            got = call("add_k_prob", fn, g.copy(), c.copy(), q.copy(), V + 2, k)
            hidden_close("probabilities", got, ref.add_k_prob(g, c, q, V + 2, k))
    r.done()


def check_kneser_ney_prob(fn) -> None:
    r = Report("kneser_ney_prob (hidden)")
    for case in cases(8):
        rng = np.random.default_rng(seed("kneser_ney_prob", case))
        V, n = int(rng.integers(2, 25)), int(rng.integers(1, 6))
        D = float(rng.choice([0.75, 0.5, 0.9, 0.1]))
        ids = _corpus(rng, V, int(rng.integers(max(n, 2), 3000)))
        q = _queries(rng, ids, n, V, 200)
        with r.case(f"random case {case}: V={V + 2}, n={n}, D={D}"):
            tables = ref.count_tables(ids, n)
            got = call("kneser_ney_prob", fn, [(g.copy(), c.copy()) for g, c in tables], V + 2, q.copy(), D)
            hidden_close("probabilities", got, ref.kneser_ney_prob(tables, V + 2, q, D))
    r.done()


def check_perplexity(fn) -> None:
    r = Report("perplexity (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("perplexity", case))
        V, n = int(rng.integers(2, 20)), int(rng.integers(1, 5))
        ids = _corpus(rng, V, int(rng.integers(n, 500)))
        table = rng.dirichlet(np.ones(V), size=V)  # P(w | first token of the window)
        prob_fn = WindowProb(table)
        with r.case(f"random case {case}: {len(ids)} tokens, n={n}"):
            hidden_close("perplexity", call("perplexity", fn, prob_fn, ids.copy(), n), ref.perplexity(prob_fn, ids, n))
    r.done()


def check_sample(fn) -> None:
    r = Report("sample (hidden)")
    # 1. context-free distributions at several temperatures
    for case in cases(4):
        rng = np.random.default_rng(seed("sample", case))
        V = int(rng.integers(3, 12))
        p = rng.dirichlet(np.ones(V) * 0.7)
        p[rng.integers(V)] = 0.0
        p /= p.sum()
        T = float(rng.choice([0.3, 0.8, 1.0, 1.7]))
        q = ref.temperature_probs(p, T)
        N = 3000
        with r.case(f"random distribution {case}: V={V}, T={T}"):
            draws = check_array("samples", call("sample", fn, Constant(p), np.array([0]), N, T, np.random.default_rng(case)), kind="i")
            check_distribution("sample", draws, q)
    # 2. a Markov chain: the next token depends on the last one
    rng = np.random.default_rng(seed("sample", 99))
    V = 5
    P = rng.dirichlet(np.ones(V), size=V)
    with r.case("a first-order Markov chain (next token depends on the previous one)"):
        draws = np.asarray(call("sample", fn, LastTokenTable(P), np.array([0]), 6000, 1.0, np.random.default_rng(5)))
        seq = np.concatenate([[0], draws])
        for a in range(V):
            nxt = seq[1:][seq[:-1] == a]
            if len(nxt) > 200:
                check_distribution("sample", nxt, P[a], what=f"tokens following {a}")
    # 3. determinism and T = 0
    with r.case("the same generator state gives the same samples; T = 0 is argmax"):
        p = np.array([0.2, 0.5, 0.3])
        a = np.asarray(call("sample", fn, Constant(p), np.array([1]), 30, 1.3, np.random.default_rng(123)))
        b = np.asarray(call("sample", fn, Constant(p), np.array([1]), 30, 1.3, np.random.default_rng(123)))
        if not np.array_equal(a, b):
            raise CheckFailed("two runs with generators seeded alike gave different samples")
        g = np.asarray(call("sample", fn, Constant(p), np.array([1]), 7, 0.0, np.random.default_rng(0)))
        if not np.array_equal(g, np.ones(7)):
            raise CheckFailed(f"at T = 0 expected the argmax token every time, got {g.tolist()}")
    r.done()
