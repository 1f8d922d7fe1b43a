"""Visible checks for chapter 1 (Markov n-gram models).

Each ``check_*`` takes the student's function, runs it on small hand-computed cases and
raises :class:`~rnncourse.checks.core.CheckFailed` with a precise message, or prints
"✔ ... checks passed".  The expected values below were computed by hand; the comments
show the arithmetic.

The tiny corpus used throughout is ``TOY = [0, 1, 0, 1, 2, 0, 1]`` (think "a b a b c a b").
"""
from __future__ import annotations

import math

import numpy as np

from .functions import Constant, FilledProb
from .core import (
    CheckFailed,
    Report,
    call,
    check_array,
    check_close,
    check_equal,
    check_dtype,
    check_never_drawn,
    check_raises,
    check_shape,
    chi2_threshold,
)

TOY = np.array([0, 1, 0, 1, 2, 0, 1])


def _pair(name, result):
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{name} must return a tuple (grams, counts), got {type(result).__name__}"
                          + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
    return result


def _counts_case(report, fn, ids, n, grams, counts):
    with report.case(f"ngram_counts(ids={[int(i) for i in ids]}, n={n})"):
        g, c = _pair("ngram_counts", call("ngram_counts", fn, np.array(ids), n))
        g = check_dtype("grams", check_array("grams", g, kind="i"), np.int64)
        c = check_dtype("counts", check_array("counts", c, kind="i"), np.int64)
        check_shape("grams", g, (len(grams), n))
        check_equal("grams (rows must be distinct and sorted lexicographically)", g, np.array(grams, dtype=np.int64).reshape(-1, n))
        check_equal("counts", c, np.array(counts, dtype=np.int64))


def check_ngram_counts(ngram_counts) -> None:
    r = Report("ngram_counts")
    # bigrams of 0 1 0 1 2 0 1: (0,1) (1,0) (0,1) (1,2) (2,0) (0,1)
    _counts_case(r, ngram_counts, TOY, 2, [[0, 1], [1, 0], [1, 2], [2, 0]], [3, 1, 1, 1])
    _counts_case(r, ngram_counts, TOY, 1, [[0], [1], [2]], [3, 3, 1])
    _counts_case(r, ngram_counts, TOY, 3, [[0, 1, 0], [0, 1, 2], [1, 0, 1], [1, 2, 0], [2, 0, 1]], [1] * 5)
    _counts_case(r, ngram_counts, [4, 4, 4, 4], 2, [[4, 4]], [3])
    # exactly n tokens: one window
    _counts_case(r, ngram_counts, [3, 5], 2, [[3, 5]], [1])
    # fewer tokens than n: no n-gram at all, but still the right shapes
    _counts_case(r, ngram_counts, [1, 2], 3, np.zeros((0, 3), dtype=np.int64), [])
    with r.case("n = 0 is not an n-gram order"):
        check_raises("ngram_counts(ids, 0)", lambda: ngram_counts(TOY, 0), ValueError, "n must be at least 1")
    r.done()


# Bigram counts of TOY, used by the probability checks.
TOY_UNIGRAMS = (np.array([[0], [1], [2]]), np.array([3, 3, 1]))
TOY_BIGRAMS = (np.array([[0, 1], [1, 0], [1, 2], [2, 0]]), np.array([3, 1, 1, 1]))
TOY_TRIGRAMS = (np.array([[0, 1, 0], [0, 1, 2], [1, 0, 1], [1, 2, 0], [2, 0, 1]]), np.ones(5, dtype=np.int64))
TOY_TABLES = [TOY_UNIGRAMS, TOY_BIGRAMS, TOY_TRIGRAMS]   # count tables of orders 1, 2, 3


def check_mle_prob(mle_prob) -> None:
    r = Report("mle_prob")
    g, c = TOY_BIGRAMS
    # c(0 .) = 3 -> P(1|0) = 3/3; c(1 .) = 2 -> P(0|1) = P(2|1) = 1/2, P(1|1) = 0;
    # context 3 never occurs -> undefined (NaN)
    queries = np.array([[0, 1], [1, 0], [1, 2], [1, 1], [2, 0], [3, 0]])
    expected = np.array([1.0, 0.5, 0.5, 0.0, 1.0, np.nan])
    with r.case("bigram MLE on the toy corpus 0 1 0 1 2 0 1"):
        p = check_dtype("probabilities", check_array("probabilities", call("mle_prob", mle_prob, g, c, queries), kind="f"), np.float64)
        check_close("probabilities", p, expected, context=f"for queries {queries.tolist()}")
    with r.case("unigram MLE (n = 1, empty context): P(w) = c(w) / N"):
        p = call("mle_prob", mle_prob, np.array([[0], [1], [2]]), np.array([3, 3, 1]), np.array([[0], [2], [5]]))
        check_close("probabilities", p, [3 / 7, 1 / 7, 0.0])
    r.done()


def check_add_k_prob(add_k_prob) -> None:
    r = Report("add_k_prob")
    g, c = TOY_BIGRAMS
    queries = np.array([[0, 1], [1, 0], [1, 1], [3, 3]])
    # V = 4, k = 1: (3+1)/(3+4), (1+1)/(2+4), (0+1)/(2+4), unseen context: (0+1)/(0+4)
    with r.case("add-one (Laplace) with V = 4"):
        p = check_array("probabilities", call("add_k_prob", add_k_prob, g, c, queries, 4, 1.0), kind="f")
        check_dtype("probabilities", p, np.float64)
        check_close("probabilities", p, [4 / 7, 2 / 6, 1 / 6, 1 / 4])
    with r.case("the default k is 1: add_k_prob(grams, counts, queries, 4) is add-one"):
        p = call("add_k_prob", add_k_prob, g, c, queries, 4)
        check_close("probabilities", p, [4 / 7, 2 / 6, 1 / 6, 1 / 4], context="(called without k)")
    # k = 0.5: (3.5)/(5), (1.5)/(4), (0.5)/(4), 0.5/2
    with r.case("add-k with k = 0.5, V = 4"):
        p = call("add_k_prob", add_k_prob, g, c, queries, 4, 0.5)
        check_close("probabilities", p, [3.5 / 5, 1.5 / 4, 0.5 / 4, 0.5 / 2])
    with r.case("every context's distribution sums to one, a context never seen (3) too"):
        for ctx in (1, 3):
            all_next = np.array([[ctx, w] for w in range(4)])
            check_close(f"sum over w of P(w | {ctx})", float(np.sum(call("add_k_prob", add_k_prob, g, c, all_next, 4, 0.3))), 1.0)
    with r.case("k must be positive"):
        check_raises("add_k_prob(..., k=0)", lambda: add_k_prob(g, c, queries, 4, 0.0), ValueError, "k = 0 is plain MLE, not smoothing")
    r.done()


def _tables(n):
    """Fresh copies of the toy count tables of orders 1..n."""
    return [(g.copy(), c.copy()) for g, c in TOY_TABLES[:n]]


def check_kneser_ney_prob(kneser_ney_prob) -> None:
    r = Report("kneser_ney_prob")
    V, D = 4, 0.75
    # Continuation counts N1+(. w): predecessors of 0 are {1, 2} -> 2; of 1: {0} -> 1;
    # of 2: {1} -> 1; of 3: none -> 0.  N1+(. .) = 4 distinct bigrams, 3 types seen.
    # P1(w) = max(N1+(.w) - D, 0)/4 + D*3/4 * 1/V
    p1 = np.array([(2 - D) / 4, (1 - D) / 4, (1 - D) / 4, 0.0]) + D * 3 / 4 / V
    with r.case("n = 1 (one table): discounted raw unigram counts, interpolated with 1/V"):
        p = check_array("probabilities", call("kneser_ney_prob", kneser_ney_prob, _tables(1), V, np.array([[0], [1], [2], [3]]), D), kind="f")
        check_dtype("probabilities", p, np.float64)
        # for n = 1 the highest order uses raw counts: c = [3, 3, 1, 0], N = 7, 3 types
        raw = np.array([3 - D, 3 - D, 1 - D, 0.0]) / 7 + D * 3 / 7 / V
        check_close("probabilities", p, raw)
    # P2(1|0): c(0 1) = 3, c(0 .) = 3, one type after 0: (3-D)/3 + D*1/3 * P1(1)
    # P2(3|2): c(2 3) = 0, c(2 .) = 1, one type: 0 + D*1/1 * P1(3)
    # P2(0|3): context 3 never seen -> P1(0)
    queries = np.array([[0, 1], [2, 3], [3, 0], [1, 2]])
    expected = [(3 - D) / 3 + D / 3 * p1[1], D * p1[3], p1[0], (1 - D) / 2 + D * 2 / 2 * p1[2]]
    with r.case("n = 2 on the toy corpus 0 1 0 1 2 0 1, D = 0.75, V = 4"):
        p = call("kneser_ney_prob", kneser_ney_prob, _tables(2), V, queries, D)
        check_close("probabilities", p, expected, context=f"for queries {queries.tolist()}")
    with r.case("every context's distribution sums to one (n = 3)"):
        for ctx in ([0, 1], [1, 2], [3, 3]):
            q = np.array([ctx + [w] for w in range(V)])
            total = float(np.sum(call("kneser_ney_prob", kneser_ney_prob, _tables(3), V, q, D)))
            check_close(f"sum over w of P(w | {ctx})", total, 1.0, rtol=1e-9)
    with r.case("both ends of [0, 1] are valid discounts: D = 0 gives the MLE where the context was seen"):
        # P2(1|0) = 3/3, P2(0|1) = 1/2; context 3 unseen -> P1(0) = N1+(. 0) / N1+(. .) = 2/4
        q = np.array([[0, 1], [1, 0], [3, 0]])
        p = call("kneser_ney_prob", kneser_ney_prob, _tables(2), V, q, 0.0)
        check_close("probabilities at D = 0", p, [1.0, 0.5, 2 / 4], context=f"for queries {q.tolist()}")
        for ctx in ([0], [1], [3]):
            qq = np.array([ctx + [w] for w in range(V)])
            total = float(np.sum(call("kneser_ney_prob", kneser_ney_prob, _tables(2), V, qq, 1.0)))
            check_close(f"sum over w of P(w | {ctx}) at D = 1", total, 1.0, rtol=1e-9)
    r.done()


def check_perplexity(perplexity) -> None:
    r = Report("perplexity")
    with r.case("a model that gives every token probability 1/4 has perplexity 4"):
        ppl = call("perplexity", perplexity, FilledProb(0.25), TOY, 2)   # every window: 1/4
        check_close("perplexity", ppl, 4.0)
    with r.case("probabilities 0.5 and 0.25 on two windows: exp(-(ln 0.5 + ln 0.25)/2) = sqrt(8)"):
        def two(q):
            q = np.asarray(q)
            if q.shape != (2, 3):
                raise CheckFailed(f"perplexity should call prob_fn with all windows at once: expected shape (2, 3), got {q.shape}")
            if not np.array_equal(q, [[5, 6, 7], [6, 7, 8]]):
                raise CheckFailed(f"the windows of [5, 6, 7, 8] with n = 3 are [[5, 6, 7], [6, 7, 8]], got {q.tolist()}")
            return np.array([0.5, 0.25])
        check_close("perplexity", call("perplexity", perplexity, two, np.array([5, 6, 7, 8]), 3), math.sqrt(8))
    with r.case("a zero probability gives infinite perplexity"):
        ppl = call("perplexity", perplexity, FilledProb(0.5, zero_token=2), TOY, 2)   # 0 for token 2
        if not (isinstance(ppl, (float, np.floating)) and math.isinf(ppl)):
            raise CheckFailed(f"perplexity: expected inf, got {ppl!r}")
    with r.case("exactly n tokens: one window; a model sure of every token has perplexity 1"):
        check_close("perplexity", call("perplexity", perplexity, FilledProb(0.25), np.array([0, 1]), 2), 4.0,
                    context="(ids = [0, 1], n = 2: the single window [0, 1])")
        check_close("perplexity", call("perplexity", perplexity, FilledProb(1.0), TOY, 2), 1.0,
                    context="(every window has probability exactly 1)")
    with r.case("fewer tokens than n"):
        check_raises("perplexity(fn, [1], 2)", lambda: perplexity(FilledProb(1.0), np.array([1]), 2),
                     ValueError, "one token has no bigram to score")
    with r.case("a model undefined on some window (NaN) has no perplexity"):
        check_raises("perplexity(fn giving NaN for token 2, TOY, 2)",
                     lambda: perplexity(FilledProb(0.5, zero_token=2, zero=np.nan), TOY, 2), ValueError,
                     "prob_fn returned NaN for the windows ending in 2 (mle_prob does this on unseen contexts)")
    r.done()


def _fixed(p):
    return Constant(p)   # lambda context: p.copy(), rebuilt inside the grader's sandbox


def check_sample(sample) -> None:
    r = Report("sample")
    p = np.array([0.1, 0.2, 0.3, 0.4])
    with r.case("returns `length` integer tokens"):
        out = check_array("samples", call("sample", sample, _fixed(p), np.array([0]), 5, 1.0, np.random.default_rng(0)), kind="i")
        check_shape("samples", out, (5,))
    with r.case("the same seed gives the same text"):
        a = call("sample", sample, _fixed(p), np.array([0]), 50, 1.0, np.random.default_rng(7))
        b = call("sample", sample, _fixed(p), np.array([0]), 50, 1.0, np.random.default_rng(7))
        check_equal("second run with seed 7", np.asarray(b), np.asarray(a))
    with r.case("temperature 0 picks the most likely token every time"):
        out = call("sample", sample, _fixed(p), np.array([0]), 10, 0.0, np.random.default_rng(0))
        check_equal("samples at T = 0", np.asarray(out), np.full(10, 3))
    with r.case("T = 0: the lowest id among tied maxima, without drawing from the generator"):
        g = np.random.default_rng(5)
        before = g.bit_generator.state
        out = call("sample", sample, _fixed([0.1, 0.4, 0.1, 0.4]), np.array([0]), 6, 0.0, g)
        check_equal("samples at T = 0 with p = [.1, .4, .1, .4]", np.asarray(out), np.full(6, 1),
                    context="(ties go to the first index, as np.argmax does)")
        if g.bit_generator.state != before:
            raise CheckFailed("sample: at T = 0 the function drew numbers from rng; the docstring says T = 0 "
                              "draws nothing (the generator must be left as it was)")
    with r.case("a negative temperature raises ValueError, even for length 0"):
        for n in (5, 0):
            check_raises(f"sample(..., length={n}, temperature=-1.0, ...)",
                         lambda: sample(_fixed(p), np.array([0]), n, -1.0, np.random.default_rng(0)),
                         ValueError, "T must be >= 0")
    seen = []

    dtypes = []

    def spy(context):
        seen.append(np.asarray(context).reshape(-1).tolist())
        dtypes.append(str(np.asarray(context).dtype))
        return p
    with r.case("next_probs sees the prefix, then the prefix plus every sampled token"):
        out = np.asarray(call("sample", sample, spy, np.array([2, 1]), 3, 1.0, np.random.default_rng(1)))
        expected = [[2, 1], [2, 1, int(out[0])], [2, 1, int(out[0]), int(out[1])]]
        if seen != expected:
            raise CheckFailed(f"next_probs was called with {seen}; expected {expected}")
        if any(d != "int64" for d in dtypes):
            raise CheckFailed(f"next_probs was called with contexts of dtype {sorted(set(dtypes))}; the docstring "
                              "promises a 1-D int64 array (np.asarray(context, dtype=np.int64))")
    for T in (1.0, 0.5, 2.0):
        q = p ** (1 / T) / np.sum(p ** (1 / T))
        with r.case(f"at T = {T} the token frequencies follow p**(1/T), normalised: {np.round(q, 3).tolist()}"):
            draws = np.asarray(call("sample", sample, _fixed(p), np.array([0]), 4000, T, np.random.default_rng(11)))
            freq = np.bincount(draws, minlength=4)[:4]
            expected = 4000 * q
            chi2 = float(np.sum((freq - expected) ** 2 / expected))
            if chi2 > chi2_threshold(3):
                raise CheckFailed(f"in 4000 draws the token counts were {freq.tolist()}, expected about {np.round(expected).astype(int).tolist()}")
    with r.case("tokens with probability 0 are never drawn, at any temperature"):
        zeros = [0.0, 0.5, 0.0, 0.3, 0.2, 0.0]
        for T in (0.5, 1.0, 3.0, 50.0):
            draws = call("sample", sample, _fixed(zeros), np.array([1]), 2000, T, np.random.default_rng(3))
            check_never_drawn(f"sample at T = {T} with p = {zeros}", draws, zeros)
    with r.case("a tiny temperature (T = 1e-4) still samples: p = [0.5, 0.5, 0] gives tokens 0 and 1 about equally"):
        draws = np.asarray(call("sample", sample, _fixed([0.5, 0.5, 0.0]), np.array([0]), 400, 1e-4, np.random.default_rng(2)))
        check_never_drawn("sample at T = 1e-4", draws, [0.5, 0.5, 0.0])
        ones = int(np.sum(draws == 1))
        if not 120 <= ones <= 280:   # Binomial(400, 1/2): mean 200, sd 10
            raise CheckFailed(f"sample at T = 1e-4: token 1 was drawn {ones} times in 400 draws, expected about 200 "
                              "(p ** (1/T) underflows to 0 here: work with log p / T and subtract its max)")
    r.done()
