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
from rnncourse.checks.core import CheckFailed, Report, call, check_array, check_dtype, check_raises
from rnncourse.checks.functions import Constant, FilledProb, LastTokenTable, WindowProb


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
            g = check_dtype("grams", check_array("grams", out[0], kind="i"), np.int64)
            c = check_dtype("counts", check_array("counts", out[1], kind="i"), np.int64)
            hidden_equal("grams", g, g_ref)
            hidden_equal("counts", c, c_ref)
    for case in cases(3):
        rng = np.random.default_rng(seed("ngram_counts/exact", case))
        n = int(rng.integers(1, 6))
        ids = rng.integers(0, 9, n).astype(np.int64)
        with r.case(f"exactly n = {n} tokens: one n-gram"):
            g, c = call("ngram_counts", fn, ids.copy(), n)
            hidden_equal("grams", g, ids[None, :])
            hidden_equal("counts", c, [1])
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
            got = check_array("probabilities", call("mle_prob", fn, g.copy(), c.copy(), q.copy()), kind="f")
            check_dtype("probabilities", got, np.float64)
            hidden_close("probabilities", got, ref.mle_prob(g, c, q))
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
            got = check_array("probabilities", call("add_k_prob", fn, g.copy(), c.copy(), q.copy(), V + 2, k), kind="f")
            check_dtype("probabilities", got, np.float64)
            hidden_close("probabilities", got, ref.add_k_prob(g, c, q, V + 2, k))
        if case == 0:
            with r.case(f"random case {case} without k: the default is k = 1"):
                got = call("add_k_prob", fn, g.copy(), c.copy(), q.copy(), V + 2)
                hidden_close("probabilities", got, ref.add_k_prob(g, c, q, V + 2, 1.0))
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
            got = check_array("probabilities", call("kneser_ney_prob", fn, [(g.copy(), c.copy()) for g, c in tables],
                                                    V + 2, q.copy(), D), kind="f")
            check_dtype("probabilities", got, np.float64)
            hidden_close("probabilities", got, ref.kneser_ney_prob(tables, V + 2, q, D))
    # edge cases: the ends of the discount range; a text with one distinct token, whose
    # tables of every order hold a single n-gram
    edge = [(np.array([4, 4, 4, 4]), n, 0.75, "the text 4 4 4 4") for n in (1, 2, 3)]
    edge += [(_corpus(np.random.default_rng(seed("kneser_ney_prob/D", D)), 6, 300), 3, D, f"D = {D}") for D in (0.0, 1.0)]
    for ids, n, D, what in edge:
        V = 7
        q = np.array([[a, b, c][3 - n:] for a in (4, 0) for b in (4, 1) for c in range(V)], dtype=np.int64)
        tables = ref.count_tables(ids, n)
        with r.case(f"{what}, n = {n}, V = {V}: all next tokens after a few contexts"):
            got = call("kneser_ney_prob", fn, [(g.copy(), c.copy()) for g, c in tables], V, q.copy(), D)
            hidden_close("probabilities", got, ref.kneser_ney_prob(tables, V, q, D))
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
    with r.case("exactly n tokens (one window), and a model with probability 1 everywhere (perplexity 1)"):
        hidden_close("perplexity", call("perplexity", fn, FilledProb(0.125), np.array([3, 1, 2]), 3), 8.0)
        hidden_close("perplexity", call("perplexity", fn, FilledProb(1.0), np.arange(40) % 7, 3), 1.0)
    with r.case("prob_fn returning NaN for some windows"):
        check_raises("perplexity", lambda: fn(FilledProb(0.2, zero_token=5, zero=np.nan), np.arange(30) % 7, 2),
                     ValueError, "a NaN probability means the model is undefined on that window")
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
    with r.case("T = 0 with tied maxima: the lowest id, and no draw from the generator"):
        gen = np.random.default_rng(seed("sample", 7))
        before = gen.bit_generator.state
        g = np.asarray(call("sample", fn, Constant([0.1, 0.2, 0.35, 0.35]), np.array([1]), 5, 0.0, gen))
        if not np.array_equal(g, np.full(5, 2)):
            raise CheckFailed(f"at T = 0 with p = [.1, .2, .35, .35] expected token 2 every time, got {g.tolist()}")
        if gen.bit_generator.state != before:
            raise CheckFailed("sample drew numbers from the generator at T = 0")
    with r.case("tiny and huge temperatures"):
        p = np.array([0.0, 0.25, 0.25, 0.0, 0.5])
        for T in (1e-3, 1e-5, 100.0):
            draws = check_array("samples", call("sample", fn, Constant(p), np.array([0]), 3000, T, np.random.default_rng(1)), kind="i")
            check_distribution(f"sample at T = {T:g}", draws, ref.temperature_probs(p, T))
    with r.case("a negative temperature with length 0"):
        check_raises("sample(..., length=0, temperature=-0.5)",
                     lambda: fn(Constant([0.5, 0.5]), np.array([0]), 0, -0.5, np.random.default_rng(0)),
                     ValueError, "temperature < 0 is invalid whatever the length")
    r.done()
