"""Planted bugs and correct alternatives for chapter 1's exercises.

Each bug is a plausible student mistake in one answer cell; grading a submission with it
must cost exactly that exercise's points.  Each alternative is a correct solution written
differently from the reference; it must score full marks.
"""

BUGS = {
    # off by one: drops the last window
    "ngram_counts": '''
def ngram_counts(ids, n):
    if n < 1:
        raise ValueError("n must be >= 1")
    ids = np.asarray(ids, dtype=np.int64)
    m = len(ids) - n
    if m <= 0:
        return np.zeros((0, n), dtype=np.int64), np.zeros(0, dtype=np.int64)
    windows = np.stack([ids[j:j + m] for j in range(n)], axis=1)
    grams, counts = np.unique(windows, axis=0, return_counts=True)
    return grams, counts
''',
    # unseen context silently becomes 0 instead of NaN
    "mle_prob": '''
def mle_prob(grams, counts, queries):
    grams, counts, queries = np.asarray(grams), np.asarray(counts), np.asarray(queries)
    contexts, label = np.unique(grams[:, :-1], axis=0, return_inverse=True)
    totals = np.bincount(label.reshape(-1), weights=counts, minlength=len(contexts))
    row = find_rows(grams, queries)
    ctx_row = find_rows(contexts, queries[:, :-1])
    numer = np.where(row >= 0, counts[row], 0).astype(float)
    denom = np.where(ctx_row >= 0, totals[ctx_row], 0.0)
    return numer / np.maximum(denom, 1.0)
''',
    # forgets the V in the denominator
    "add_k_prob": '''
def add_k_prob(grams, counts, queries, vocab_size, k=1.0):
    if k <= 0:
        raise ValueError("k must be positive")
    grams, counts, queries = np.asarray(grams), np.asarray(counts), np.asarray(queries)
    contexts, label = np.unique(grams[:, :-1], axis=0, return_inverse=True)
    totals = np.bincount(label.reshape(-1), weights=counts, minlength=len(contexts))
    row = find_rows(grams, queries)
    ctx_row = find_rows(contexts, queries[:, :-1])
    numer = np.where(row >= 0, counts[row], 0).astype(float)
    denom = np.where(ctx_row >= 0, totals[ctx_row], 0.0)
    return (numer + k) / (denom + k)
''',
    # raw counts at every order: absolute discounting, not Kneser-Ney
    "kneser_ney_prob": '''
def kneser_ney_prob(tables, vocab_size, queries, discount=0.75):
    n = len(tables)
    queries = np.asarray(queries, dtype=np.int64)
    p = np.full(len(queries), 1.0 / vocab_size)
    for m in range(1, n + 1):
        grams, a = (np.asarray(x) for x in tables[m - 1])
        sub = queries[:, n - m:]
        contexts, label = np.unique(grams[:, :-1], axis=0, return_inverse=True)
        label = label.reshape(-1)
        d = np.bincount(label, weights=a, minlength=len(contexts))
        t = np.bincount(label, minlength=len(contexts)).astype(float)
        row = find_rows(grams, sub)
        ctx_row = find_rows(contexts, sub[:, :-1])
        a_q = np.where(row >= 0, a[row], 0).astype(float)
        seen = ctx_row >= 0
        d_q = np.where(seen, d[ctx_row], 1.0)
        t_q = np.where(seen, t[ctx_row], 0.0)
        p = np.where(seen, np.maximum(a_q - discount, 0) / d_q + discount * t_q / d_q * p, p)
    return p
''',
    # averages over all T tokens instead of the T - n + 1 scored windows
    "perplexity": '''
def perplexity(prob_fn, ids, n):
    ids = np.asarray(ids)
    m = len(ids) - n + 1
    if m <= 0:
        raise ValueError("too short")
    windows = np.stack([ids[j:j + m] for j in range(n)], axis=1)
    p = np.asarray(prob_fn(windows), dtype=float)
    if np.any(p == 0):
        return float("inf")
    return float(np.exp(-np.sum(np.log(p)) / len(ids)))
''',
    # ignores the temperature
    "sample": '''
def sample(next_probs, prefix, length, temperature, rng):
    context = list(np.asarray(prefix).reshape(-1))
    out = np.zeros(length, dtype=np.int64)
    for i in range(length):
        p = np.asarray(next_probs(np.array(context, dtype=np.int64)), dtype=float)
        tok = int(np.argmax(p)) if temperature == 0 else int(rng.choice(len(p), p=p / p.sum()))
        out[i] = tok
        context.append(tok)
    return out
''',
}

ALTERNATIVES = {
    # dictionary counting, sorted afterwards: slow but correct
    "ngram_counts": '''
def ngram_counts(ids, n):
    from collections import Counter
    if n < 1:
        raise ValueError("n must be at least 1")
    ids = [int(t) for t in ids]
    c = Counter(tuple(ids[i:i + n]) for i in range(len(ids) - n + 1))
    keys = sorted(c)
    grams = np.array(keys, dtype=np.int64).reshape(len(keys), n)
    return grams, np.array([c[k] for k in keys], dtype=np.int64)
''',
    # Gumbel-max trick: a different use of the generator, same distribution
    "sample": '''
def sample(next_probs, prefix, length, temperature, rng):
    if temperature < 0:
        raise ValueError("negative temperature")
    ctx = list(np.asarray(prefix).reshape(-1))
    out = []
    for _ in range(length):
        p = np.asarray(next_probs(np.array(ctx, dtype=np.int64)), dtype=float)
        with np.errstate(divide="ignore"):
            logp = np.log(p)
        if temperature == 0:
            tok = int(np.argmax(logp))
        else:
            tok = int(np.argmax(logp / temperature + rng.gumbel(size=p.shape)))
        out.append(tok)
        ctx.append(tok)
    return np.array(out, dtype=np.int64)
''',
    # a Python-loop perplexity with chunked calls
    "perplexity": '''
def perplexity(prob_fn, ids, n):
    import math
    ids = np.asarray(ids)
    if len(ids) < n:
        raise ValueError("not enough tokens")
    windows = np.lib.stride_tricks.sliding_window_view(ids, n)
    total = 0.0
    for start in range(0, len(windows), 1000):
        p = np.asarray(prob_fn(windows[start:start + 1000]), dtype=float)
        if np.isnan(p).any():
            raise ValueError("the model gives NaN")
        if np.any(p == 0):
            return math.inf
        total += float(-np.log(p).sum())
    return math.exp(total / len(windows))
''',
}

# Further mistakes, one per promise of a docstring that issue 9 settled; caught in-process
# by tests/test_checks_ch01.py and compared notebook-vs-grader by tests/test_verdicts.py.
_SAMPLER = '''
def sample(next_probs, prefix, length, temperature, rng):
    if temperature < 0:
        raise ValueError("negative temperature")
    ctx = [int(t) for t in np.asarray(prefix).reshape(-1)]
    out = np.zeros(length, dtype=np.int64)
    for i in range(length):
        p = np.asarray(next_probs(np.array(ctx, dtype=np.int64)), dtype=float)
        if temperature == 0:
            tok = int(np.argmax(p))
        else:
            with np.errstate(divide="ignore"):
                z = np.log(p) / temperature
            q = np.exp(z - z.max())
            tok = int(rng.choice(len(p), p=q / q.sum()))
        out[i] = tok
        ctx.append(tok)
    return out
'''
MORE_BUGS = {
    # counts as int32 where the docstring promises int64
    "ngram_counts_int32": ("ngram_counts", ALTERNATIVES["ngram_counts"].replace("np.int64", "np.int32")),
    # drops the last window, so exactly n tokens give no n-gram
    "ngram_counts_exact_n": ("ngram_counts", '''
def ngram_counts(ids, n):
    if n < 1:
        raise ValueError("n must be >= 1")
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) <= n:
        return np.zeros((0, n), dtype=np.int64), np.zeros(0, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(ids, n)
    g, c = np.unique(windows, axis=0, return_counts=True)
    return g.astype(np.int64), c.astype(np.int64)
'''),
    # a default pseudo-count of 0.5 where the docstring says 1
    "add_k_default": ("add_k_prob", BUGS["add_k_prob"].replace("k=1.0", "k=0.5").replace(
        "(denom + k)", "(denom + k * vocab_size)")),
    # rejects the valid ends of the discount range
    "kneser_ney_open_interval": ("kneser_ney_prob", '''
def kneser_ney_prob(tables, vocab_size, queries, discount=0.75):
    if not 0 < discount < 1:
        raise ValueError("discount must lie in (0, 1)")
''' + __import__("tests.submissions", fromlist=["answer_sources"]).answer_sources("ch01_ngrams")[
        "kneser_ney_prob"].split("\n", 1)[1]),
    # returns NaN instead of raising when the model is undefined on a window
    "perplexity_nan": ("perplexity", ALTERNATIVES["perplexity"].replace(
        '        if np.isnan(p).any():\n            raise ValueError("the model gives NaN")\n', "")),
    # `if p >= 1` treated as invalid: a sure model raises instead of giving 1
    "perplexity_sure_model": ("perplexity", ALTERNATIVES["perplexity"].replace(
        "        if np.any(p == 0):", "        if np.any(p >= 1):\n            raise ValueError('not a probability')\n"
        "        if np.any(p == 0):")),
    # scores one window per prob_fn call (the docstring: prob_fn gets all windows at once)
    "perplexity_per_window": ("perplexity", '''
def perplexity(prob_fn, ids, n):
    import math
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < n:
        raise ValueError("not enough tokens")
    ps = [float(prob_fn(ids[None, i:i + n])[0]) for i in range(len(ids) - n + 1)]
    if any(math.isnan(p) for p in ps):
        raise ValueError("NaN")
    if min(ps) == 0:
        return math.inf
    return math.exp(-sum(math.log(p) for p in ps) / len(ps))
'''),
    # smooths log(0): tokens of probability 0 get a small share at high temperature
    "sample_zero_leak": ("sample", _SAMPLER.replace("np.log(p)", "np.log(p + 1e-6)")),
    # breaks T = 0 ties at random, drawing from the generator
    "sample_random_ties": ("sample", _SAMPLER.replace(
        "tok = int(np.argmax(p))", "tok = int(rng.choice(np.flatnonzero(p == p.max())))")),
    # p ** (1 / T) directly: underflows to 0 / 0 at tiny T
    "sample_power_underflow": ("sample", _SAMPLER.replace(
        "z = np.log(p) / temperature\n            q = np.exp(z - z.max())", "q = p ** (1 / temperature)")),
    # builds the context as floats: next_probs is promised an int64 array
    "sample_float_context": ("sample", _SAMPLER.replace(
        "ctx = [int(t) for t in np.asarray(prefix).reshape(-1)]", "ctx = [float(t) for t in np.asarray(prefix).reshape(-1)]"
    ).replace("np.array(ctx, dtype=np.int64)", "np.array(ctx)")),
    # validates the temperature only inside the loop, so length 0 never raises
    "sample_late_validation": ("sample", _SAMPLER.replace(
        "    if temperature < 0:\n        raise ValueError(\"negative temperature\")\n", "").replace(
        "        if temperature == 0:", "        if temperature < 0:\n            raise ValueError('negative')\n"
        "        if temperature == 0:")),
}
