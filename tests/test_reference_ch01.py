"""The chapter 1 reference (autograde/reference/ch01.py) against nltk.lm and by hand.

* ``add_k_prob`` equals ``nltk.lm.Lidstone(gamma=k)`` and ``kneser_ney_prob(...,
  base="nltk")`` equals ``nltk.lm.KneserNeyInterpolated`` exactly, on small random
  corpora, when nltk is fit on the ``everygrams`` of the unpadded token sequence with its
  vocabulary built from the same tokens (nltk adds ``<UNK>``: V = len(lm.vocab)).  Queries
  include unseen contexts and the unknown word; no context contains the first training
  token (nltk treats it differently), which a sentinel token at the start guarantees.
* ``kneser_ney_prob(..., base="uniform")`` is a distribution over the V tokens for any
  context, seen or not.
* ``ngram_counts`` on hand-computed cases, empty and short input; ``perplexity`` of the
  uniform model is V.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograde.reference import ch01 as R

nltk_lm = pytest.importorskip("nltk.lm")
from nltk.util import everygrams  # noqa: E402

SENTINEL = "<s0>"
RTOL = 1e-12


def random_corpus(seed: int, length: int = 300, alphabet: int = 6):
    """A random token sequence (strings) that starts with a sentinel seen nowhere else.

    Returns (tokens, ids, id_to_token, V) with V = number of distinct tokens + 1 (UNK,
    the last id, mapped to nltk's "<UNK>").
    """
    rng = np.random.default_rng(seed)
    # a skewed distribution so that some n-grams are frequent and many are absent
    p = rng.dirichlet(np.full(alphabet, 0.5))
    body = [f"t{i}" for i in rng.choice(alphabet, size=length, p=p)]
    tokens = [SENTINEL] + body
    vocab = sorted(set(tokens))
    index = {t: i for i, t in enumerate(vocab)}
    ids = np.array([index[t] for t in tokens], dtype=np.int64)
    id_to_token = vocab + ["<UNK>"]
    return tokens, ids, id_to_token, len(vocab) + 1, index[SENTINEL]


def random_queries(rng, n: int, V: int, sentinel_id: int, ids: np.ndarray, count: int = 150):
    """Half n-grams taken from the corpus (seen contexts), half random (mostly unseen);
    contexts never contain the sentinel; the word may be anything, UNK included."""
    body = ids[1:]
    starts = rng.integers(0, len(body) - n + 1, size=count // 2)
    seen = np.stack([body[s:s + n] for s in starts]) if n > 0 else np.zeros((0, n))
    choices = np.array([i for i in range(V) if i != sentinel_id])
    rand = rng.choice(choices, size=(count - len(seen), n))
    q = np.concatenate([seen, rand]).astype(np.int64)
    q[rng.random(len(q)) < 0.1, -1] = V - 1  # some unknown words
    return q


def nltk_scores(lm, queries, id_to_token):
    out = []
    for row in queries:
        toks = [id_to_token[i] for i in row]
        out.append(lm.score(toks[-1], toks[:-1] or None))
    return np.array(out)


# --------------------------------------------------------------------------- nltk
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_add_k_equals_nltk_lidstone(seed, n):
    tokens, ids, id_to_token, V, sid = random_corpus(seed)
    rng = np.random.default_rng(100 + seed)
    grams, counts = R.ngram_counts(ids, n)
    queries = random_queries(rng, n, V, sid, ids)
    for k in (0.01, 0.1, 0.5, 1.0, 2.5):
        lm = nltk_lm.Lidstone(k, n)
        lm.fit([everygrams(tokens, max_len=n)], vocabulary_text=tokens)
        assert len(lm.vocab) == V
        ours = R.add_k_prob(grams, counts, queries, V, k)
        np.testing.assert_allclose(ours, nltk_scores(lm, queries, id_to_token), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_kneser_ney_nltk_base_equals_nltk(seed, n):
    tokens, ids, id_to_token, V, sid = random_corpus(seed)
    rng = np.random.default_rng(200 + seed)
    tables = R.count_tables(ids, n)
    queries = random_queries(rng, n, V, sid, ids)
    for D in (0.1, 0.5, 0.75, 0.9, 1.0):
        lm = nltk_lm.KneserNeyInterpolated(n, discount=D)
        lm.fit([everygrams(tokens, max_len=n)], vocabulary_text=tokens)
        assert len(lm.vocab) == V
        ours = R.kneser_ney_prob(tables, V, queries, discount=D, base="nltk")
        np.testing.assert_allclose(ours, nltk_scores(lm, queries, id_to_token), rtol=RTOL, atol=0)


def test_perplexity_matches_nltk_kneser_ney():
    """Whole pipeline: the perplexity of a held-out sequence agrees with nltk's scores."""
    tokens, ids, id_to_token, V, sid = random_corpus(7, length=500)
    n, D = 3, 0.75
    held = random_corpus(8, length=80)[1][1:]  # other random ids, no sentinel
    held = np.where(held == sid, V - 1, held)
    lm = nltk_lm.KneserNeyInterpolated(n, discount=D)
    lm.fit([everygrams(tokens, max_len=n)], vocabulary_text=tokens)
    tables = R.count_tables(ids, n)
    ours = R.perplexity(lambda q: R.kneser_ney_prob(tables, V, q, D, base="nltk"), held, n)
    windows = np.lib.stride_tricks.sliding_window_view(held, n)
    p = nltk_scores(lm, windows, id_to_token)
    assert ours == pytest.approx(float(np.exp(-np.mean(np.log(p)))), rel=RTOL)


# --------------------------------------------------------------------------- KN sums to 1
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("D", [0.0, 0.3, 0.75, 1.0])
def test_kneser_ney_uniform_is_a_distribution(n, D):
    rng = np.random.default_rng(n * 10 + int(D * 100))
    V = 9  # ids 7 and 8 never occur in training: unseen words and contexts
    ids = rng.choice(7, size=400, p=rng.dirichlet(np.full(7, 0.4)))
    tables = R.count_tables(ids, n)
    contexts = [rng.integers(0, V, size=n - 1) for _ in range(20)]
    contexts += [ids[s:s + n - 1] for s in rng.integers(0, len(ids) - n, size=10)]
    contexts.append(np.full(n - 1, 8))  # context of unseen tokens only
    for ctx in contexts:
        q = np.column_stack([np.tile(ctx, (V, 1)).reshape(V, n - 1), np.arange(V)]).astype(np.int64)
        p = R.kneser_ney_prob(tables, V, q, discount=D)
        assert np.all(p >= 0)
        if D > 0:
            assert np.all(p > 0), "with D > 0 every token keeps some mass"
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_kneser_ney_unseen_everything_is_uniform():
    tables = R.count_tables(np.array([0, 1, 0, 1, 2]), 3)
    q = np.array([[5, 6, w] for w in range(8)])
    # contexts (5, 6) and (6,) never occur: only the unigram level and the base mix
    p = R.kneser_ney_prob(tables, 8, q, 0.75)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------- ngram_counts
def test_ngram_counts_hand_computed():
    ids = np.array([1, 2, 1, 2, 1])
    g, c = R.ngram_counts(ids, 1)
    np.testing.assert_array_equal(g, [[1], [2]])
    np.testing.assert_array_equal(c, [3, 2])
    g, c = R.ngram_counts(ids, 2)
    np.testing.assert_array_equal(g, [[1, 2], [2, 1]])
    np.testing.assert_array_equal(c, [2, 2])
    g, c = R.ngram_counts(ids, 3)
    np.testing.assert_array_equal(g, [[1, 2, 1], [2, 1, 2]])
    np.testing.assert_array_equal(c, [2, 1])
    g, c = R.ngram_counts(ids, 5)
    np.testing.assert_array_equal(g, [[1, 2, 1, 2, 1]])
    np.testing.assert_array_equal(c, [1])
    g, c = R.ngram_counts([3, 0, 3, 3, 0], 2)  # lexicographic row order, list input
    np.testing.assert_array_equal(g, [[0, 3], [3, 0], [3, 3]])
    np.testing.assert_array_equal(c, [1, 2, 1])
    assert g.dtype == np.int64 and c.dtype == np.int64


@pytest.mark.parametrize("ids,n", [([], 1), ([], 3), ([4], 2), ([4, 5], 3)])
def test_ngram_counts_empty_and_short(ids, n):
    g, c = R.ngram_counts(np.array(ids, dtype=np.int64), n)
    assert g.shape == (0, n) and c.shape == (0,)
    assert g.dtype == np.int64 and c.dtype == np.int64


def test_ngram_counts_total_and_invalid_input():
    ids = np.random.default_rng(0).integers(0, 5, size=200)
    for n in range(1, 6):
        _, c = R.ngram_counts(ids, n)
        assert c.sum() == len(ids) - n + 1
    for bad_n in (0, -1, 1.5):
        with pytest.raises(ValueError):
            R.ngram_counts(ids, bad_n)
    with pytest.raises(ValueError):
        R.ngram_counts(np.zeros((2, 3), dtype=np.int64), 1)
    with pytest.raises(ValueError):
        R.ngram_counts(np.array([0.5, 1.5]), 1)


# --------------------------------------------------------------------------- perplexity
@pytest.mark.parametrize("V", [2, 7, 65, 1000])
@pytest.mark.parametrize("n", [1, 3])
def test_perplexity_of_uniform_model_is_V(V, n):
    ids = np.random.default_rng(V).integers(0, V, size=50)
    ppl = R.perplexity(lambda q: np.full(len(q), 1.0 / V), ids, n)
    assert ppl == pytest.approx(V, rel=1e-12)


def test_perplexity_edge_cases():
    ids = np.array([0, 1, 2])
    with pytest.raises(ValueError):
        R.perplexity(lambda q: np.full(len(q), 0.5), ids, 4)  # shorter than n
    assert R.perplexity(lambda q: np.zeros(len(q)), ids, 1) == np.inf
    with pytest.raises(ValueError):
        R.perplexity(lambda q: np.full(len(q) + 1, 0.5), ids, 1)
