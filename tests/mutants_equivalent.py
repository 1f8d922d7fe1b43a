"""Registry of mutants of the reference implementations (autograde/mutants.py).

Keys are mutant keys (``chNN.exercise/function: source line :: change``, see ``python -m autograde.mutants
--list chNN.name``); they do not change when other code of the module moves.

* ``EQUIVALENT``: mutants that are correct programs for every input the exercise allows
  (or change reference-only code the notebook's exercise does not have); the reason is
  one line.  They must survive: a check that kills one rejects a correct answer.
* ``PENDING``: real survivors awaiting a new check (the reason names a failing input).
  Move an entry out when the check lands; tests/test_mutants.py marks them xfail.
"""

EQUIVALENT: dict[str, str] = {
    'ch01.ngram_counts/ngram_counts: ids = _as_ids(ids) :: statement deleted: `ids = _as_ids(ids)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.ngram_counts/ngram_counts: if not isinstance(n, (int, np.integer)) or n < 1: :: operand 1 of `or` dropped in `not isinstance(n, (int, np.integer)) or n < 1`':
        'type check of n; the spec only requires ValueError for n < 1, which n < 1 still raises',
    'ch01.ngram_counts/ngram_counts: return np.zeros((0, n), dtype=np.int64), np.zeros(0, dtype=np.int64) :: `.zeros` -> `.ones`':
        'np.ones of a shape with a 0 is the same empty array as np.zeros',
    'ch01.ngram_counts/ngram_counts: return np.zeros((0, n), dtype=np.int64), np.zeros(0, dtype=np.int64) :: `.zeros` -> `.ones` (#2)':
        'np.ones of a shape with a 0 is the same empty array as np.zeros',
    'ch01.ngram_counts/_as_ids: if a.ndim != 1: :: statement deleted: `if a.ndim != 1:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.ngram_counts/_as_ids: if a.size and a.dtype.kind not in "iu": :: statement deleted: `if a.size and a.dtype.kind not in \'iu\':`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.ngram_counts/_as_ids: raise ValueError(f"ids must be 1-D, got shape {a.shape}") :: statement deleted: `raise ValueError(f\'ids must be 1-D, got shape {a.shape}\')`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.ngram_counts/_as_ids: if a.size and a.dtype.kind not in "iu": :: operand 1 of `and` dropped in `a.size and a.dtype.kind not in \'iu\'`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.ngram_counts/_as_ids: raise ValueError(f"ids must be integers, got dtype {a.dtype}") :: statement deleted: `raise ValueError(f\'ids must be integers, got dtype {a.dtype}`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.ngram_counts/_as_ids: return a.astype(np.int64, copy=False) :: constant False -> True':
        'astype(..., copy=True) only copies: same values',
    'ch01.mle_prob/mle_prob: grams = np.asarray(grams, dtype=np.int64) :: statement deleted: `grams = np.asarray(grams, dtype=np.int64)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.mle_prob/mle_prob: queries = _as_queries(queries, n) :: statement deleted: `queries = _as_queries(queries, n)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.mle_prob/mle_prob: p = np.where(total > 0, count / np.where(total > 0, total, 1.0), np.nan) :: `>` -> `>=` in `total > 0` (#2)':
        'the inner denominator is only read where total > 0, where total >= 0 agrees',
    'ch01.mle_prob/mle_prob: p = np.where(total > 0, count / np.where(total > 0, total, 1.0), np.nan) :: constant 1.0 -> 0.0':
        'the inner fallback denominator is only read where the outer where picks NaN',
    'ch01.mle_prob/mle_prob: p = np.where(total > 0, count / np.where(total > 0, total, 1.0), np.nan) :: constant 0 -> 1 (#2)':
        'inner where: total = 1 is replaced by 1.0, the same denominator',
    'ch01.mle_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: statement deleted: `if q.ndim != 2 or q.shape[1] != n:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.mle_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: `or` -> `and` in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.mle_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: operand 1 of `or` dropped in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.mle_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: operand 2 of `or` dropped in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.mle_prob/_as_queries: raise ValueError(f"queries must have shape (Q, {n}), got {q.shape}") :: statement deleted: `raise ValueError(f\'queries must have shape (Q, {n}), got {q.`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.mle_prob/_as_queries: return q.astype(np.int64, copy=False) :: constant False -> True':
        'astype(..., copy=True) only copies: same values',
    'ch01.mle_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: arguments 1 and 2 swapped in `_lookup(uniq, types, ckeys_q, missing=0.0)`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.mle_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: arguments 2 and 3 swapped in `_lookup(uniq, types, ckeys_q, missing=0.0)`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.mle_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: constant 0.0 -> 1.0':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.mle_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: `>` -> `>=` in `values > 0`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.mle_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: `>` -> `<` in `values > 0`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.mle_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: constant 0 -> 1':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.add_k_prob/add_k_prob: grams = np.asarray(grams, dtype=np.int64) :: statement deleted: `grams = np.asarray(grams, dtype=np.int64)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.add_k_prob/add_k_prob: queries = _as_queries(queries, grams.shape[1]) :: statement deleted: `queries = _as_queries(queries, grams.shape[1])`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.add_k_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: statement deleted: `if q.ndim != 2 or q.shape[1] != n:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.add_k_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: `or` -> `and` in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.add_k_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: operand 1 of `or` dropped in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.add_k_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: operand 2 of `or` dropped in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.add_k_prob/_as_queries: raise ValueError(f"queries must have shape (Q, {n}), got {q.shape}") :: statement deleted: `raise ValueError(f\'queries must have shape (Q, {n}), got {q.`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.add_k_prob/_as_queries: return q.astype(np.int64, copy=False) :: constant False -> True':
        'astype(..., copy=True) only copies: same values',
    'ch01.add_k_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: arguments 1 and 2 swapped in `_lookup(uniq, types, ckeys_q, missing=0.0)`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.add_k_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: arguments 2 and 3 swapped in `_lookup(uniq, types, ckeys_q, missing=0.0)`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.add_k_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: constant 0.0 -> 1.0':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.add_k_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: `>` -> `>=` in `values > 0`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.add_k_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: `>` -> `<` in `values > 0`':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.add_k_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: constant 0 -> 1':
        't(ctx) (the type count) is not used by mle_prob / add_k_prob',
    'ch01.kneser_ney_prob/kneser_ney_prob: if not 0 <= discount <= 1: :: statement deleted: `if not 0 <= discount <= 1:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (discount in [0, 1]; a weaker bound)",
    'ch01.kneser_ney_prob/kneser_ney_prob: raise ValueError(f"discount must lie in [0, 1], got {discount!r}") :: statement deleted: `raise ValueError(f\'discount must lie in [0, 1], got {discoun`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (discount in [0, 1]; a weaker bound)",
    'ch01.kneser_ney_prob/kneser_ney_prob: if not 0 <= discount <= 1: :: constant 1 -> 2':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (discount in [0, 1]; a weaker bound)",
    'ch01.kneser_ney_prob/kneser_ney_prob: if n < 1: :: statement deleted: `if n < 1:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (at least one table)",
    'ch01.kneser_ney_prob/kneser_ney_prob: raise ValueError("need at least one count table") :: statement deleted: `raise ValueError(\'need at least one count table\')`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (at least one table)",
    'ch01.kneser_ney_prob/kneser_ney_prob: if n < 1: :: constant 1 -> 0':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (at least one table)",
    'ch01.kneser_ney_prob/kneser_ney_prob: queries = _as_queries(queries, n) :: statement deleted: `queries = _as_queries(queries, n)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.kneser_ney_prob/kneser_ney_prob: def kneser_ney_prob(tables, vocab_size: int, queries, discount: float = 0.75, :: constant 0.75 -> 1.75':
        "the default discount of the reference is unreachable: the graded adapter (the notebook's signature, D=0.75) always passes D",
    'ch01.kneser_ney_prob/kneser_ney_prob: if grams.shape[0] == 0: :: statement deleted: `if grams.shape[0] == 0:`':
        'an empty table of a lower order happens only when the text is shorter than n, then every d(ctx) = 0 and p passes through either way',
    'ch01.kneser_ney_prob/kneser_ney_prob: continue :: statement deleted: `continue`':
        'an empty table of a lower order happens only when the text is shorter than n, then every d(ctx) = 0 and p passes through either way',
    'ch01.kneser_ney_prob/kneser_ney_prob: if grams.shape[0] == 0: :: constant 0 -> 1 (#2)':
        'an empty table of a lower order happens only when the text is shorter than n, then every d(ctx) = 0 and p passes through either way',
    'ch01.kneser_ney_prob/kneser_ney_prob: if m == 1 and base == "nltk": :: statement deleted: `if m == 1 and base == \'nltk\':`':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: if m == 1 and base == "nltk": :: operand 1 of `and` dropped in `m == 1 and base == \'nltk\'`':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: p = a / d :: statement deleted: `p = a / d`':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: continue :: statement deleted: `continue` (#2)':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: if m == 1 and base == "nltk": :: `==` -> `!=` in `m == 1`':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: p = a / d :: `/` -> `*` in `a / d`':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: p = a / d :: operands swapped in `a / d`':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: if m == 1 and base == "nltk": :: constant 1 -> 0':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: if m == 1 and base == "nltk": :: constant 1 -> 2':
        "the reference-only base='nltk' branch: the graded call (the notebook's signature) always uses base='uniform'",
    'ch01.kneser_ney_prob/kneser_ney_prob: safe = np.where(d > 0, d, 1.0) :: `>` -> `>=` in `d > 0`':
        'safe(d) is only read where d > 0 (the outer where), where the changed test agrees or d is kept',
    'ch01.kneser_ney_prob/kneser_ney_prob: safe = np.where(d > 0, d, 1.0) :: constant 0 -> 1':
        'safe(d) is only read where d > 0 (the outer where), where the changed test agrees or d is kept',
    'ch01.kneser_ney_prob/kneser_ney_prob: safe = np.where(d > 0, d, 1.0) :: constant 1.0 -> 0.0':
        'the fallback denominator is only read where d = 0, where the outer where keeps p',
    'ch01.kneser_ney_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: statement deleted: `if q.ndim != 2 or q.shape[1] != n:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.kneser_ney_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: `or` -> `and` in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.kneser_ney_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: operand 1 of `or` dropped in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.kneser_ney_prob/_as_queries: if q.ndim != 2 or q.shape[1] != n: :: operand 2 of `or` dropped in `q.ndim != 2 or q.shape[1] != n`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.kneser_ney_prob/_as_queries: raise ValueError(f"queries must have shape (Q, {n}), got {q.shape}") :: statement deleted: `raise ValueError(f\'queries must have shape (Q, {n}), got {q.`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (queries shape)",
    'ch01.kneser_ney_prob/_as_queries: return q.astype(np.int64, copy=False) :: constant False -> True':
        'astype(..., copy=True) only copies: same values',
    'ch01.kneser_ney_prob/_context_stats_for: types_q = _lookup(uniq, types, ckeys_q, missing=0.0) :: constant 0.0 -> 1.0':
        't(ctx) of an unseen context is never read: d = 0 there and p passes through',
    'ch01.kneser_ney_prob/_context_stats_for: types = np.bincount(inverse, weights=(values > 0).astype(float), minlength=uniq.size) :: `>` -> `>=` in `values > 0`':
        'every count in a table is >= 1, so values > 0 and values >= 0 agree',
    'ch01.kneser_ney_prob/continuation_counts: if tails.shape[0] == 0: :: statement deleted: `if tails.shape[0] == 0:`':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: statement deleted: `return (np.zeros((0, tails.shape[1]), dtype=np.int64), np.ze`':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: if tails.shape[0] == 0: :: constant 0 -> 1 (#2)':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: `.zeros` -> `.ones`':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: `.zeros` -> `.ones` (#2)':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: constant 0 -> 1':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: constant 0 -> 1 (#2)':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: constant 1 -> 0':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.kneser_ney_prob/continuation_counts: return np.zeros((0, tails.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64) :: constant 1 -> 2':
        'the empty-table branch of continuation_counts: only reached with an empty table (text shorter than n), where np.unique gives the same empty pair',
    'ch01.perplexity/perplexity: ids = _as_ids(ids) :: statement deleted: `ids = _as_ids(ids)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch01.perplexity/perplexity: if ids.size < n: :: statement deleted: `if ids.size < n:`':
        'sliding_window_view raises ValueError itself when T < n: the specified error is still raised',
    'ch01.perplexity/perplexity: raise ValueError(f"need at least n={n} tokens, got {ids.size}") :: statement deleted: `raise ValueError(f\'need at least n={n} tokens, got {ids.size`':
        'sliding_window_view raises ValueError itself when T < n: the specified error is still raised',
    'ch01.perplexity/perplexity: if p.shape[0] != windows.shape[0]: :: statement deleted: `if p.shape[0] != windows.shape[0]:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (prob_fn returns one probability per window)",
    'ch01.perplexity/perplexity: raise ValueError(f"prob_fn returned {p.shape[0]} probabilities for {windows.shape[0]} windows") :: statement deleted: `raise ValueError(f\'prob_fn returned {p.shape[0]} probabiliti`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (prob_fn returns one probability per window)",
    'ch01.perplexity/perplexity: if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)): :: operand 2 of `or` dropped in `np.any(np.isnan(p)) or np.any((p < 0) | (p > 1))`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (prob_fn returns probabilities; a weaker bound)",
    'ch01.perplexity/perplexity: if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)): :: constant 1 -> 2':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (prob_fn returns probabilities; a weaker bound)",
    'ch01.perplexity/perplexity: if np.any(p == 0): :: statement deleted: `if np.any(p == 0):`':
        'log 0 = -inf makes exp(-mean log p) = inf anyway',
    'ch01.perplexity/perplexity: return math.inf :: statement deleted: `return math.inf`':
        'log 0 = -inf makes exp(-mean log p) = inf anyway',
    'ch01.perplexity/perplexity: p = np.asarray(prob_fn(windows), dtype=np.float64).reshape(-1) :: constant 1 -> 2':
        "numpy reads any negative size in reshape as 'unknown': reshape(-2) == reshape(-1)",
    'ch01.perplexity/_as_ids: if a.ndim != 1: :: statement deleted: `if a.ndim != 1:`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.perplexity/_as_ids: if a.size and a.dtype.kind not in "iu": :: statement deleted: `if a.size and a.dtype.kind not in \'iu\':`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.perplexity/_as_ids: raise ValueError(f"ids must be 1-D, got shape {a.shape}") :: statement deleted: `raise ValueError(f\'ids must be 1-D, got shape {a.shape}\')`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.perplexity/_as_ids: if a.size and a.dtype.kind not in "iu": :: operand 1 of `and` dropped in `a.size and a.dtype.kind not in \'iu\'`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.perplexity/_as_ids: raise ValueError(f"ids must be integers, got dtype {a.dtype}") :: statement deleted: `raise ValueError(f\'ids must be integers, got dtype {a.dtype}`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (ids 1-D / integer dtype)",
    'ch01.perplexity/_as_ids: return a.astype(np.int64, copy=False) :: constant False -> True':
        'astype(..., copy=True) only copies: same values',
    'ch01.sample/temperature_probs: if temperature < 0: :: statement deleted: `if temperature < 0:`':
        'redundant: sample validates the temperature before calling temperature_probs',
    'ch01.sample/temperature_probs: raise ValueError("temperature must be >= 0") :: statement deleted: `raise ValueError(\'temperature must be >= 0\')`':
        'redundant: sample validates the temperature before calling temperature_probs',
    'ch01.sample/sample: seq = list(np.asarray(prefix, dtype=np.int64).reshape(-1)) :: constant 1 -> 2':
        "numpy reads any negative size in reshape as 'unknown': reshape(-2) == reshape(-1)",
    'ch01.sample/temperature_probs: p = np.asarray(p, dtype=np.float64) :: statement deleted: `p = np.asarray(p, dtype=np.float64)`':
        'next_probs returns a float numpy array in every case the exercise allows',
    'ch02.rnn_forward/rnn_forward: xs = np.asarray(xs) :: statement deleted: `xs = np.asarray(xs)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch02.rnn_forward/rnn_forward: hs = np.empty((B, T, h.shape[-1]), dtype=np.result_type(xw, h, W_hh)) :: arguments 1 and 2 swapped in `np.result_type(xw, h, W_hh)`':
        'np.result_type does not depend on the order of its arguments',
    'ch02.rnn_forward/rnn_forward: hs = np.empty((B, T, h.shape[-1]), dtype=np.result_type(xw, h, W_hh)) :: arguments 2 and 3 swapped in `np.result_type(xw, h, W_hh)`':
        'np.result_type does not depend on the order of its arguments',
    'ch02.encode/_char_table: if list(vocab[:3]) != list(SPECIALS): :: statement deleted: `if list(vocab[:3]) != list(SPECIALS):`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (vocab starts with the specials)",
    'ch02.encode/_char_table: raise ValueError(f"vocab must start with {list(SPECIALS)}, got {list(vocab[:3])}") :: statement deleted: `raise ValueError(f\'vocab must start with {list(SPECIALS)}, g`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (vocab starts with the specials)",
    'ch02.decode/decode: if ids.size and ids.dtype.kind not in "iu": :: statement deleted: `if ids.size and ids.dtype.kind not in \'iu\':`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (integer dtype of ids)",
    'ch02.decode/decode: if ids.size and ids.dtype.kind not in "iu": :: operand 1 of `and` dropped in `ids.size and ids.dtype.kind not in \'iu\'`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (integer dtype of ids)",
    'ch02.decode/decode: raise ValueError(f"ids must be integers, got dtype {ids.dtype}") :: statement deleted: `raise ValueError(f\'ids must be integers, got dtype {ids.dtyp`':
        "reference-only input validation the exercise's specification does not ask for (no Raises entry) (integer dtype of ids)",
    'ch02.decode/decode: ids = np.asarray(ids).reshape(-1) :: constant 1 -> 2':
        "numpy reads any negative size in reshape as 'unknown': reshape(-2) == reshape(-1)",
    'ch02.decode/decode: ids = ids[: stop[0]] :: slice upper bound `stop[0]` -> `stop[0] + 1`':
        'keeping the first EOS is harmless: EOS maps to the empty string',
    'ch02.sequence_cross_entropy/sequence_cross_entropy: logits = np.asarray(logits, dtype=np.float64) :: statement deleted: `logits = np.asarray(logits, dtype=np.float64)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (float logits, int targets, bool mask)',
    'ch02.sequence_cross_entropy/sequence_cross_entropy: targets = np.asarray(targets) :: statement deleted: `targets = np.asarray(targets)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (float logits, int targets, bool mask)',
    'ch02.sequence_cross_entropy/sequence_cross_entropy: mask = np.asarray(mask, dtype=bool) :: statement deleted: `mask = np.asarray(mask, dtype=bool)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (float logits, int targets, bool mask)',
    'ch02.sequence_cross_entropy/log_softmax: m = np.where(np.isfinite(m), m, 0.0) :: constant 0.0 -> 1.0':
        'log-softmax is invariant to the shift: 1.0 or 0.0 for a non-finite max',
    'ch02.sequence_cross_entropy/log_softmax: m = np.max(z, axis=axis, keepdims=True) :: axis=axis -> axis=-1':
        'log_softmax is only called with its default axis = -1',
    'ch02.sequence_cross_entropy/log_softmax: return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) :: axis=axis -> axis=-1':
        'log_softmax is only called with its default axis = -1',
    'ch02.sample_with_temperature/log_softmax: def log_softmax(logits, axis=-1) -> np.ndarray: :: constant 1 -> 0':
        'the logits are 1-D: axis 0 is axis -1',
    'ch02.sample_with_temperature/log_softmax: m = np.max(z, axis=axis, keepdims=True) :: axis=axis -> axis=0':
        'the logits are 1-D: axis 0 is axis -1',
    'ch02.sample_with_temperature/log_softmax: m = np.max(z, axis=axis, keepdims=True) :: axis=axis -> axis=-1':
        'the logits are 1-D: axis 0 is axis -1',
    'ch02.sample_with_temperature/log_softmax: return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) :: axis=axis -> axis=0':
        'the logits are 1-D: axis 0 is axis -1',
    'ch02.sample_with_temperature/log_softmax: return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) :: axis=axis -> axis=-1':
        'the logits are 1-D: axis 0 is axis -1',
    'ch02.sample_with_temperature/log_softmax: m = np.where(np.isfinite(m), m, 0.0) :: constant 0.0 -> 1.0':
        'log-softmax is invariant to the shift: 1.0 or 0.0 for a non-finite max',
    'ch02.sample_with_temperature/log_softmax: m = np.max(z, axis=axis, keepdims=True) :: constant True -> False':
        '1-D logits: keepdims only turns a (1,) into a scalar, which broadcasts the same',
    'ch02.sample_with_temperature/log_softmax: return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) :: constant True -> False':
        '1-D logits: keepdims only turns a (1,) into a scalar, which broadcasts the same',
    'ch02.LineClassifier/LineClassifier.forward: lengths = torch.as_tensor(lengths, device=output.device).long() :: statement deleted: `lengths = torch.as_tensor(lengths, device=output.device).lon`':
        "the checks pass lengths as an int64 tensor on the model's device (as the exercise specifies): the conversion is a no-op",
    'ch03.rnn_step_backward/rnn_step_backward: return da @ W_xh.T, da @ W_hh.T, np.asarray(x).T @ da, np.asarray(h_prev).T @ da, da.sum(0) :: `.T` -> `.mT`':
        '.mT equals .T on a 2-D array',
    'ch03.rnn_step_backward/rnn_step_backward: return da @ W_xh.T, da @ W_hh.T, np.asarray(x).T @ da, np.asarray(h_prev).T @ da, da.sum(0) :: `.T` -> `.mT` (#2)':
        '.mT equals .T on a 2-D array',
    'ch03.rnn_step_backward/rnn_step_backward: return da @ W_xh.T, da @ W_hh.T, np.asarray(x).T @ da, np.asarray(h_prev).T @ da, da.sum(0) :: `.T` -> `.mT` (#3)':
        '.mT equals .T on a 2-D array',
    'ch03.rnn_step_backward/rnn_step_backward: return da @ W_xh.T, da @ W_hh.T, np.asarray(x).T @ da, np.asarray(h_prev).T @ da, da.sum(0) :: `.T` -> `.mT` (#4)':
        '.mT equals .T on a 2-D array',
    'ch03.rnn_backward/rnn_backward: dh_next = da @ W_hh.T :: `.T` -> `.mT`':
        '.mT equals .T on a 2-D array',
    'ch03.rnn_backward/rnn_backward: return das @ W_xh.T, dh_next, dW_xh, dW_hh, das.sum((0, 1)) :: `.T` -> `.mT`':
        '.mT equals .T on a 2-D array',
    'ch03.rnn_backward/rnn_backward: dhs, xs, h0, hs = (np.asarray(a, dtype=np.float64) for a in (dhs, xs, h0, hs)) :: statement deleted: `dhs, xs, h0, hs = (np.asarray(a, dtype=np.float64) for a in `':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (float64)',
    'ch03.grad_check/grad_check: return numeric, {k: rel_error(analytic[k], numeric[k]) for k in CHECKED} :: arguments 1 and 2 swapped in `rel_error(analytic[k], numeric[k])`':
        'rel_error(a, n) is symmetric in its two arguments',
    'ch03.grad_check/rel_error: den = np.maximum(np.abs(a), np.abs(n)) :: arguments 1 and 2 swapped in `np.maximum(np.abs(a), np.abs(n))`':
        'np.maximum is symmetric in its two arguments',
    'ch03.grad_check/rel_error: return np.divide(np.abs(a - n), den, out=np.zeros(np.broadcast_shapes(a.shape, n.shape)), where=den > 0) :: operands swapped in `a - n`':
        '|a - n| is symmetric in its two arguments',
    'ch03.grad_check/rel_error: return np.divide(np.abs(a - n), den, out=np.zeros(np.broadcast_shapes(a.shape, n.shape)), where=den > 0) :: arguments 1 and 2 swapped in `np.broadcast_shapes(a.shape, n.shape)`':
        'np.broadcast_shapes is symmetric in its two arguments',
    'ch03.grad_check/numeric_gradients: xs, dhs = np.asarray(xs, dtype=np.float64), np.asarray(dhs, dtype=np.float64) :: statement deleted: `xs, dhs = (np.asarray(xs, dtype=np.float64), np.asarray(dhs,`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (float64)',
    'ch03.grad_check/rel_error: a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64) :: statement deleted: `a, n = (np.asarray(a, dtype=np.float64), np.asarray(n, dtype`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (float64)',
    'ch03.grad_check/numeric_gradients: grad = np.zeros_like(arr) :: `.zeros_like` -> `.ones_like`':
        'every entry of grad is overwritten in the loop: zeros_like or ones_like',
    'ch03.autograd_gradients/autograd_gradients: return {k: t[k].grad.numpy().copy() for k in AUTOGRAD_KEYS} :: `.copy()` removed in `t[k].grad.numpy().copy()`':
        'the gradients belong to tensors local to the call: returning views instead of copies is safe',
    'ch03.train_tbptt/train_tbptt: ids = np.asarray(ids, dtype=np.int64) :: statement deleted: `ids = np.asarray(ids, dtype=np.int64)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op) (int64 ids)',
    'ch03.train_tbptt/train_tbptt: h = torch.zeros(batch_size, H, dtype=torch.float64) :: statement deleted: `h = torch.zeros(batch_size, H, dtype=torch.float64)`':
        'the initial state is overwritten at update 0 (c == 0 resets it)',
    'ch03.train_tbptt/train_tbptt: h = torch.zeros(batch_size, H, dtype=torch.float64) :: arguments 1 and 2 swapped in `torch.zeros(batch_size, H, dtype=torch.float64)`':
        'the initial state is overwritten at update 0 (c == 0 resets it)',
    'ch03.train_tbptt/train_tbptt: h = torch.zeros(batch_size, H, dtype=torch.float64) :: `.zeros` -> `.ones`':
        'the initial state is overwritten at update 0 (c == 0 resets it)',
    'ch03.train_tbptt/train_tbptt: losses = np.zeros(steps) :: `.zeros` -> `.ones`':
        'every entry of losses is overwritten',
    'ch03.train_tbptt/train_tbptt: if ids.size and (ids.min() < 0 or ids.max() >= vocab_size): :: operand 1 of `and` dropped in `ids.size and (ids.min() < 0 or ids.max() >= vocab_size)`':
        'empty ids raise ValueError either way (ids.min() of an empty array, or streams)',
    'ch03.train_tbptt/train_tbptt: H = p["W_hh"].shape[0] :: constant 0 -> 1':
        'W_hh is square: shape[0] == shape[1]',
    'ch03.train_tbptt/train_tbptt: losses[i] = float(loss.detach()) :: `.detach()` removed in `loss.detach()`':
        'float() of a 0-d tensor with or without detach(): the same number',
    'ch03.train_tbptt/train_tbptt: return {n: v.detach().numpy().copy() for n, v in p.items()}, losses :: `.copy()` removed in `v.detach().numpy().copy()`':
        'the parameters are tensors local to the call: returning views instead of copies is safe',
    'ch03.train_tbptt/train_tbptt: x, y = X[:, c * k:(c + 1) * k], Y[:, c * k:(c + 1) * k] :: slice upper bound `(c + 1) * k` -> `(c + 1) * k + 1`':
        'extra input columns are never read: the inner loop runs over k steps (the target slice is unchanged)',
    'ch03.train_tbptt/train_tbptt: x, y = X[:, c * k:(c + 1) * k], Y[:, c * k:(c + 1) * k] :: constant 1 -> 2':
        'extra input columns are never read: the inner loop runs over k steps (the target slice is unchanged)',
    'ch03.train_tbptt/streams: ids = np.asarray(ids) :: statement deleted: `ids = np.asarray(ids)`':
        'conversion of an argument the exercise already passes as a numpy array of that dtype (no-op)',
    'ch03.train_tbptt/streams: if n < 1: :: statement deleted: `if n < 1:`':
        'redundant: with n < 1 streams, C = n // k = 0 and train_tbptt raises the same ValueError',
    'ch03.train_tbptt/streams: raise ValueError(f"{len(ids)} ids are too few for {batch_size} streams") :: statement deleted: `raise ValueError(f\'{len(ids)} ids are too few for {batch_siz`':
        'redundant: with n < 1 streams, C = n // k = 0 and train_tbptt raises the same ValueError',
    'ch03.train_tbptt/streams: if n < 1: :: constant 1 -> 0':
        'redundant: with n < 1 streams, C = n // k = 0 and train_tbptt raises the same ValueError',
    'ch03.grad_check/numeric_gradients: def numeric_gradients(params, xs, h0, dhs, eps=1e-5) -> dict: :: constant 1e-05 -> 1.00001':
        "numeric_gradients is called only by grad_check, which always passes its own eps: the helper's default is never read",
    'ch02.sequence_cross_entropy/log_softmax: m = np.where(np.isfinite(m), m, 0.0) :: statement deleted: `m = np.where(np.isfinite(m), m, 0.0)`':
        'outside the specification: logits are finite where mask is True; a row with no finite entry can only stand at a masked position, which is never counted',
    'ch02.sample_with_temperature/log_softmax: m = np.where(np.isfinite(m), m, 0.0) :: statement deleted: `m = np.where(np.isfinite(m), m, 0.0)`':
        'outside the specification: at least one logit is finite and none is +inf, so the max is always finite',
    'ch03.train_tbptt/train_tbptt: if k < 1 or steps < 0 or batch_size < 1: :: operand 2 of `or` dropped in `k < 1 or steps < 0 or batch_size < 1`':
        'steps < 0 still raises ValueError, from np.zeros(steps) (negative dimensions), before any update',
    'ch04.jacobian_norms/jacobian_norms: if hs.ndim != 2 or W.ndim != 2 or W.shape != (hs.shape[1], hs.shape[1]): :: operand 2 of `or` dropped in `hs.ndim != 2 or W.ndim != 2 or W.shape != (hs.shape[1], hs.shape[1])`':
        'redundant: W.shape != (H, H) is already true for every W that is not 2-D',
    'ch04.jacobian_norms/jacobian_norms: P = np.eye(W.shape[0]) :: constant 0 -> 1':
        'W is square (checked just before), so W.shape[1] == W.shape[0]',
    'ch04.jacobian_norms/jacobian_norms: P = P @ ((1.0 - hs[k + 1] ** 2)[:, None] * W.T)     # dh_T/dh_k = dh_T/dh_{k+1} J_{k+1} :: `.T` -> `.mT`':
        '.mT is .T for a 2-D array',
    'ch04.jacobian_norms/jacobian_norms: P = P @ ((1.0 - hs[k + 1] ** 2)[:, None] * W.T)     # dh_T/dh_k = dh_T/dh_{k+1} J_{k+1} :: operands swapped in `1.0 - hs[k + 1] ** 2`':
        'negates every one-step Jacobian, so the product is +-dh_T/dh_k: the spectral norm of -A is that of A',
    'ch04.with_spectral_radius/with_spectral_radius: if W.ndim != 2 or W.shape[0] != W.shape[1]: :: operand 2 of `or` dropped in `W.ndim != 2 or W.shape[0] != W.shape[1]`':
        'a non-square 2-D W still raises ValueError: np.linalg.eigvals raises LinAlgError, a subclass of ValueError',
    'ch04.with_spectral_radius/with_spectral_radius: if W.ndim != 2 or W.shape[0] != W.shape[1]: :: constant 0 -> 1':
        'a non-square 2-D W still raises ValueError: np.linalg.eigvals raises LinAlgError, a subclass of ValueError',
    'ch04.with_spectral_radius/with_spectral_radius: if W.ndim != 2 or W.shape[0] != W.shape[1]: :: constant 1 -> 0':
        'a non-square 2-D W still raises ValueError: np.linalg.eigvals raises LinAlgError, a subclass of ValueError',
    'ch04.linear_gradient_decay/linear_gradient_decay: Ws = np.asarray(Ws, dtype=np.float64) :: statement deleted: `Ws = np.asarray(Ws, dtype=np.float64)`':
        'conversion of an argument the exercise passes as a numpy array; P starts as a float64 identity, so every product is float64 anyway',
    'ch04.linear_gradient_decay/linear_gradient_decay: P = np.broadcast_to(np.eye(H), (R, H, H)).copy() :: `.copy()` removed in `np.broadcast_to(np.eye(H), (R, H, H)).copy()`':
        'P is only read (P = P @ Ws makes a new array), so a read-only broadcast view serves as well',
    'ch04.linear_gradient_decay/linear_gradient_decay: P = P @ Ws :: operands swapped in `P @ Ws`':
        'powers of one matrix commute: W^(k-1) W = W W^(k-1)',
    'ch04.clip_grad_norm/clip_grad_norm: norm_type = float(norm_type) :: statement deleted: `norm_type = float(norm_type)`':
        'norm_type is a number (the docstring says float); math.isinf and torch.linalg.vector_norm take ints and floats alike',
    'ch04.clip_grad_norm/clip_grad_norm: if coef < 1: :: `<` -> `<=` in `coef < 1`':
        'at coef == 1 exactly the gradients are multiplied by 1, which changes no value',
    'ch04.clip_grad_norm/clip_grad_norm: g.detach().mul_(coef.to(g.dtype)) :: `.detach()` removed in `g.detach()`':
        'gradients left by backward() do not require grad, so detach() returns the same values and an in-place change through either is the same',
    'ch04.clip_grad_norm/clip_grad_norm: total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach(), norm_type) for g in grads]), :: `.detach()` removed in `g.detach()`':
        'gradients left by backward() do not require grad: the norm is the same tensor value either way',
    'ch04.clip_grad_norm/clip_grad_norm: total = torch.stack([g.detach().abs().max() for g in grads]).max() :: `.detach()` removed in `g.detach()`':
        'gradients left by backward() do not require grad: the norm is the same tensor value either way',
    'ch04.clip_grad_value/clip_grad_value: g.detach().clamp_(-clip_value, clip_value) :: `.detach()` removed in `g.detach()`':
        'gradients left by backward() do not require grad, so clamp_ on the gradient or on its detached alias changes the same values',
    'ch05.lstm_cell/lstm_cell: _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 4) :: arguments 5 and 6 swapped in `_cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 4)`':
        'b_ih and b_hh are checked against the same shape (G*H,): swapping them checks the same pair',
    'ch05.lstm_cell/lstm_cell: gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh :: `.T` -> `.mT`':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.lstm_cell/lstm_cell: gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh :: `.T` -> `.mT` (#2)':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.gru_cell/gru_cell: _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 3) :: arguments 5 and 6 swapped in `_cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 3)`':
        'b_ih and b_hh are checked against the same shape (G*H,): swapping them checks the same pair',
    'ch05.gru_cell/gru_cell: x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1) :: `.T` -> `.mT`':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.gru_cell/gru_cell: h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1) :: `.T` -> `.mT`':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.lstm_sequence/lstm_sequence: h, c = lstm_cell(inp[:, t], h, c, W_ih, W_hh, b_ih, b_hh) :: arguments 6 and 7 swapped in `lstm_cell(inp[:, t], h, c, W_ih, W_hh, b_ih, b_hh)`':
        'b_ih and b_hh are added to the same sum (the order of two additions changes the last bit at most, within 1e-10)',
    'ch05.lstm_sequence/_sequence: if xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0: :: operand 1 of `or` dropped in `xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0`':
        'a 2-D or 4-D xs still raises ValueError, from unpacking `B, T, _ = xs.shape`',
    'ch05.lstm_sequence/lstm_cell: if c.shape != h.shape: :: statement deleted: `if c.shape != h.shape:`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/lstm_cell: _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 4) :: arguments 5 and 6 swapped in `_cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 4)`':
        'b_ih and b_hh are checked against the same shape (G*H,): swapping them checks the same pair',
    'ch05.lstm_sequence/lstm_cell: raise ValueError(f"c must be of h\'s shape {tuple(h.shape)}, got {tuple(c.shape)}") :: statement deleted: `raise ValueError(f"c must be of h\'s shape {tuple(h.shape)}, `':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/lstm_cell: gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh :: `.T` -> `.mT`':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.lstm_sequence/lstm_cell: gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh :: `.T` -> `.mT` (#2)':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.lstm_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: statement deleted: `if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]:`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: `or` -> `and` in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: operand 1 of `or` dropped in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: operand 2 of `or` dropped in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: operand 3 of `or` dropped in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.lstm_sequence/_cell_shapes: raise ValueError(f"x must be (B, D) and h (B, H); got {tuple(x.shape)} and {tuple(h.shape)}") :: statement deleted: `raise ValueError(f\'x must be (B, D) and h (B, H); got {tuple`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.gru_sequence/_sequence: if xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0: :: operand 1 of `or` dropped in `xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0`':
        'a 2-D or 4-D xs still raises ValueError, from unpacking `B, T, _ = xs.shape`',
    'ch05.gru_sequence/gru_cell: _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 3) :: arguments 5 and 6 swapped in `_cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 3)`':
        'b_ih and b_hh are checked against the same shape (G*H,): swapping them checks the same pair',
    'ch05.gru_sequence/gru_cell: x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1) :: `.T` -> `.mT`':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.gru_sequence/gru_cell: h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1) :: `.T` -> `.mT`':
        'the weights are 2-D (checked before), and for a matrix .mT is .T',
    'ch05.gru_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: statement deleted: `if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]:`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.gru_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: `or` -> `and` in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.gru_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: operand 1 of `or` dropped in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.gru_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: operand 2 of `or` dropped in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.gru_sequence/_cell_shapes: if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]: :: operand 3 of `or` dropped in `x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.gru_sequence/_cell_shapes: raise ValueError(f"x must be (B, D) and h (B, H); got {tuple(x.shape)} and {tuple(h.shape)}") :: statement deleted: `raise ValueError(f\'x must be (B, D) and h (B, H); got {tuple`':
        "unreachable from the sequence: after its own checks every step's x = inp[:, t] is (B, D_k) and h, c (from h0[k], c0[k] of shape (L, B, H)) are (B, H)",
    'ch05.text_features/text_features: to_end = np.zeros(n) :: `.zeros` -> `.ones`':
        'every entry of to_end is written afterwards (each character belongs to a line), so its initial value is never read',
    'ch06.Encoder/Encoder.forward: if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > S): :: operand 1 of `and` dropped in `len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > S)`':
        'len(lengths) guards an empty batch, which the exercise does not allow (B >= 1): with B >= 1 the condition is the same',
    'ch06.Encoder/Encoder.__init__: self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True) :: constant True -> False':
        'the LSTM only ever receives a PackedSequence, for which batch_first is ignored',
    'ch06.AttentionDecoder/AttentionDecoder.forward: att = torch.tanh(self.combine(torch.cat([context, d], dim=-1))) :: `.tanh` -> `.sigmoid`':
        'sigmoid(x) = (1 + tanh(x / 2)) / 2: W_out sigmoid(W_c z + b_c) + b_out is the same family of functions with W_c, b_c halved and W_out, b_out changed (a reparametrisation of learned weights)',
    'ch06.AttentionDecoder/AttentionDecoder.scores: return d @ enc_outputs.transpose(1, 2) :: arguments 1 and 2 swapped in `enc_outputs.transpose(1, 2)`':
        'transpose(2, 1) is transpose(1, 2)',
    'ch06.AttentionDecoder/AttentionDecoder.scores: return d @ self.W_a(enc_outputs).transpose(1, 2) :: arguments 1 and 2 swapped in `self.W_a(enc_outputs).transpose(1, 2)`':
        'transpose(2, 1) is transpose(1, 2)',
    'ch06.AttentionDecoder/AttentionDecoder.scores: return self.v(torch.tanh(q[:, :, None, :] + k[:, None, :, :]))[..., 0] :: `.tanh` -> `.sigmoid`':
        'v . sigmoid(z) = v/2 . tanh(z/2) + const: the constant is removed by the softmax and the halving is absorbed by the learned W_q, W_k and v (a reparametrisation)',
    'ch06.AttentionDecoder/AttentionDecoder.scores: return self.v(torch.tanh(q[:, :, None, :] + k[:, None, :, :]))[..., 0] :: `+` -> `-` in `q[:, :, None, :] + k[:, None, :, :]`':
        'W_q d - W_k e is W_q d + (-W_k) e: the sign is absorbed by the learned matrix W_k (the same family of functions)',
    'ch06.masked_loss/masked_loss: mask = mask.bool() :: statement deleted: `mask = mask.bool()`':
        "the exercise's mask is a bool tensor already (the docstring says so): the conversion is a no-op",
    'ch06.greedy_decode/greedy_decode: device = leaves[0].device if leaves else torch.device("cpu") :: condition negated: `not (leaves)`':
        "on the CPU, where the checks run (the grader returns tensors on the CPU), torch.device('cpu') is the state's device",
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: statement deleted: `if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1]`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: if any(done):   # a stopped item grows nothing :: condition negated: `not (any(done))`':
        "a stopped item's extensions cannot enter its pool (the stopping bound: every descendant scores below the pool's worst) and its rows are ignored afterwards, so masking them changes nothing",
    'ch06.beam_search/beam_search: if any(done):   # a stopped item grows nothing :: statement deleted: `if any(done):`':
        "a stopped item's extensions cannot enter its pool (the stopping bound: every descendant scores below the pool's worst) and its rows are ignored afterwards, so masking them changes nothing",
    'ch06.beam_search/beam_search: vals, idx = vals[:, :n], idx[:, :n] :: statement deleted: `vals, idx = (vals[:, :n], idx[:, :n])`':
        'each live hypothesis has one <eos> candidate, so the first 2K candidates hold at least K that do not end in <eos>: keeping more (or all) candidates selects the same ones',
    'ch06.beam_search/beam_search: hist = torch.zeros(B, K, 0, dtype=torch.int64, device=device) :: `.zeros` -> `.ones`':
        'a tensor with 0 columns holds no value',
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: `or` -> `and` in `logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos)`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: operand 1 of `or` dropped in `logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos)`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: operand 2 of `or` dropped in `logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos)`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: operand 3 of `or` dropped in `logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos)`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: raise ValueError(f"step_fn must return log_probs of shape ({B * K}, V), got {tuple(logp.shape)}") :: statement deleted: `raise ValueError(f\'step_fn must return log_probs of shape ({`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: cand = cand.masked_fill(torch.tensor(done, device=device)[:, None, None], float("-inf")) :: statement deleted: `cand = cand.masked_fill(torch.tensor(done, device=device)[:,`':
        "a stopped item's extensions cannot enter its pool (the stopping bound: every descendant scores below the pool's worst) and its rows are ignored afterwards, so masking them changes nothing",
    'ch06.beam_search/beam_search: n = min(2 * K, K * V) :: arguments 1 and 2 swapped in `min(2 * K, K * V)`':
        'each live hypothesis has one <eos> candidate, so the first 2K candidates hold at least K that do not end in <eos>: keeping more (or all) candidates selects the same ones',
    'ch06.beam_search/beam_search: break :: statement deleted: `break`':
        'the break after the cut at t = max_len ends the last iteration of the loop anyway',
    'ch06.beam_search/beam_search: for t in range(1, max_len + 1): :: constant 1 -> 2 (#2)':
        'the loop breaks at t = max_len, so a longer range is never reached',
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: `<=` -> `<` in `logp.shape[1] <= max(sos, eos)`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: if not done[b] and (not math.isfinite(best[b]) or :: operand 1 of `and` dropped in `not done[b] and (not math.isfinite(best[b]) or (len(pools[b]) == K and pools[b][-1][2] > best[b] / final_penalty))`':
        'setting done[b] = True again for a stopped item changes nothing',
    'ch06.beam_search/beam_search: if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos): :: arguments 1 and 2 swapped in `max(sos, eos)`':
        "reference-only validation of step_fn's output, which the exercise's specification does not ask for (no Raises entry)",
    'ch06.beam_search/beam_search: n = min(2 * K, K * V) :: constant 2 -> 3':
        'each live hypothesis has one <eos> candidate, so the first 2K candidates hold at least K that do not end in <eos>: keeping more (or all) candidates selects the same ones',
    'ch06.beam_search/beam_search: vals, idx = vals[:, :n], idx[:, :n] :: slice upper bound `n` -> `n + 1`':
        'each live hypothesis has one <eos> candidate, so the first 2K candidates hold at least K that do not end in <eos>: keeping more (or all) candidates selects the same ones',
    'ch06.beam_search/beam_search: vals, idx = vals[:, :n], idx[:, :n] :: slice upper bound `n` -> `n + 1` (#2)':
        'each live hypothesis has one <eos> candidate, so the first 2K candidates hold at least K that do not end in <eos>: keeping more (or all) candidates selects the same ones',
    'ch06.corpus_bleu/corpus_bleu: if sys_len < ref_len: :: `<` -> `<=` in `sys_len < ref_len`':
        'at equal lengths the brevity penalty is exp(1 - 1) = 1, the same as no penalty',
    'ch06.corpus_bleu/corpus_bleu: bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0 :: constant 0.0 -> 1.0':
        'sys_len = 0 means no hypothesis n-gram of any order, and BLEU returns 0 before the brevity penalty is used',
    'ch06.corpus_bleu/corpus_bleu: total[n - 1] += sum(hc.values()) :: operands swapped in `n - 1`':
        'the orders only get permuted among themselves: BLEU uses the product of the t_n, the product of the non-zero c_n and 2^k for the k-th order without match (k = 1..z in any order), all invariant under a permutation of one list',
    'ch06.corpus_bleu/corpus_bleu: correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items()) :: operands swapped in `n - 1`':
        'the orders only get permuted among themselves: BLEU uses the product of the t_n, the product of the non-zero c_n and 2^k for the k-th order without match (k = 1..z in any order), all invariant under a permutation of one list',
    'ch06.corpus_bleu/corpus_bleu: total[n - 1] += sum(hc.values()) :: constant 1 -> 2':
        'the orders only get permuted among themselves: BLEU uses the product of the t_n, the product of the non-zero c_n and 2^k for the k-th order without match (k = 1..z in any order), all invariant under a permutation of one list',
    'ch06.corpus_bleu/corpus_bleu: correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items()) :: constant 1 -> 2':
        'the orders only get permuted among themselves: BLEU uses the product of the t_n, the product of the non-zero c_n and 2^k for the k-th order without match (k = 1..z in any order), all invariant under a permutation of one list',
    'ch06.corpus_bleu/corpus_bleu: rc = Counter(tuple(rt[i:i + n]) for i in range(len(rt) - n + 1)) :: `-` -> `+` in `len(rt) - n`':
        'the extra windows at the end of the reference are shorter than n tokens and never equal a hypothesis n-gram, so no count changes',
    'ch06.corpus_bleu/corpus_bleu: rc = Counter(tuple(rt[i:i + n]) for i in range(len(rt) - n + 1)) :: constant 1 -> 2':
        'the extra windows at the end of the reference are shorter than n tokens and never equal a hypothesis n-gram, so no count changes',
    'ch07.ConvEncoder/ConvEncoder.forward: if images.dim() != 4 or images.shape[1] != self.in_channels: :: operand 1 of `or` dropped in `images.dim() != 4 or images.shape[1] != self.in_channels`':
        'without the dimension test a tensor that is not 4-D still raises ValueError: a 3-D one fails the channel test or the unpacking of its shape into N, C, H, W',
    "ch07.ConvEncoder/ConvEncoder.forward: grid = self.proj(x.flatten(2).transpose(1, 2))   # (N, H' W', D), row-major cells :: arguments 1 and 2 swapped in `x.flatten(2).transpose(1, 2)`":
        'transpose(2, 1) and transpose(1, 2) swap the same two dimensions',
    'ch07.CaptionDecoder/CaptionDecoder.init_state: return z, z.clone() :: `.clone()` removed in `z.clone()`':
        'h0 and c0 may be one tensor: nn.LSTM does not write into its initial state',
    'ch07.sample_captions/sample_captions: logp = logp.detach().to(torch.float64) :: statement deleted: `logp = logp.detach().to(torch.float64)`':
        'sampling from float32 log-probabilities is as correct as from float64 ones (the checks test distributions)',
    'ch07.sample_captions/sample_captions: logp = logp.detach().to(torch.float64) :: `.detach()` removed in `logp.detach()`':
        'the sampler runs without gradients either way; detaching changes no value',
    'ch07.sample_captions/sample_captions: nxt = torch.multinomial(probs.cpu(), 1, generator=rng)[:, 0].to(device) :: constant 1 -> 2':
        'the first of two draws without replacement has the distribution of one draw (torch.multinomial fills a row with fewer possible tokens with zero-probability ones, after the possible one)',
    'ch07.attention_maps/attention_maps: return g.repeat(H // gh, axis=-2).repeat(W // gw, axis=-1) :: `//` -> `/` in `W // gw`':
        'np.repeat accepts a whole float count, and H / gh and W / gw are whole (the docstring requires divisibility)',
    'ch07.attention_maps/attention_maps: return g.repeat(H // gh, axis=-2).repeat(W // gw, axis=-1) :: `//` -> `/` in `H // gh`':
        'np.repeat accepts a whole float count, and H / gh and W / gw are whole (the docstring requires divisibility)',
    'ch05.CharLSTM/CharLSTM.__init__: dropout=dropout if num_layers > 1 else 0.0) :: `>` -> `>=` in `num_layers > 1`':
        'nn.LSTM applies dropout only between layers: with num_layers = 1 the value it gets is ignored (PyTorch warns), so the model is the same',
    'ch05.CharLSTM/CharLSTM.__init__: dropout=dropout if num_layers > 1 else 0.0) :: constant 0.0 -> 1.0':
        'nn.LSTM applies dropout only between layers: with num_layers = 1 the value it gets is ignored (PyTorch warns), so the model is the same',
    'ch05.CharLSTM/CharLSTM.__init__: dropout=dropout if num_layers > 1 else 0.0) :: constant 1 -> 0':
        'nn.LSTM applies dropout only between layers: with num_layers = 1 the value it gets is ignored (PyTorch warns), so the model is the same',
    'ch05.CharLSTM/init_forget_bias: return len(found) :: statement deleted: `return len(found)`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/init_forget_bias: def init_forget_bias(model, value: float = 1.0) -> int: :: constant 1.0 -> 0.0':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/init_forget_bias: b_hh[H:2 * H] = 0.0 :: slice lower bound `H` -> `H - 1`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/init_forget_bias: b_hh[H:2 * H] = 0.0 :: slice upper bound `2 * H` -> `2 * H + 1`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/init_forget_bias: b_hh[H:2 * H] = 0.0 :: constant 2 -> 3':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: if isinstance(m, torch.nn.LSTM): :: `else` branch of `if isinstance(m, torch.nn.LSTM)` dropped':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: elif isinstance(m, torch.nn.LSTMCell): :: condition negated: `not (isinstance(m, torch.nn.LSTMCell))`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: elif isinstance(m, torch.nn.LSTMCell): :: statement deleted: `if isinstance(m, torch.nn.LSTMCell):`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: if not m.bias: :: condition negated: `not (not m.bias)`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: if not m.bias: :: statement deleted: `if not m.bias:`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: found.append((path, m.bias_ih, m.bias_hh, m.hidden_size)) :: statement deleted: `found.append((path, m.bias_ih, m.bias_hh, m.hidden_size))`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: if not m.bias: :: statement deleted: `if not m.bias:` (#2)':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: if not m.bias: :: unary `not` removed in `not m.bias`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: raise ValueError(f"the LSTMCell {path or \'module\'} has no biases (bias=False)") :: statement deleted: `raise ValueError(f"the LSTMCell {path or \'module\'} has no bi`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.CharLSTM/_lstm_biases: raise ValueError(f"the LSTM {path or \'module\'} has no biases (bias=False)") :: statement deleted: `raise ValueError(f"the LSTM {path or \'module\'} has no biases`':
        "code of exercise 5 (init_forget_bias and its helper), which CharLSTM's cell calls but does not contain; those mutants are graded under ch05.init_forget_bias",
    'ch05.SpaceRestorer/SpaceRestorer.__init__: def __init__(self, vocab_size, embed_size, hidden_size, bidirectional=True): :: constant True -> False':
        'a default the specification does not give: bidirectional is always passed (the docstring lists no default)',
    'ch05.SpaceRestorer/SpaceRestorer.__init__: self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0) :: constant 0 -> 1':
        "the specification asks for no padding_idx (the padding never reaches the LSTM, which runs over each line's length); freezing the embedding of id 1 at zero instead still trains to the accuracy the check asks",
    'ch05.tune_and_score/tune_and_score: lrs, seeds = list(lrs), list(seeds) :: statement deleted: `lrs, seeds = (list(lrs), list(seeds))`':
        'lrs and seeds are sequences (the docstring): list() of a list or tuple changes nothing the function reads',
    'ch05.tune_and_score/tune_and_score: if not lrs or not seeds: :: operand 1 of `or` dropped in `not lrs or not seeds`':
        'an empty lrs still raises ValueError, from min() of an empty sequence (the docstring promises ValueError only)',
    'ch05.tune_and_score/tune_and_score: if kind not in L.RECIPES or L.RECIPES[kind].init is not None: :: operand 2 of `or` dropped in `kind not in L.RECIPES or L.RECIPES[kind].init is not None`':
        'a recipe with an init scheme still raises ValueError: longrange.make_model/train refuse it ("needs init(rnn, ...)")',
}

PENDING: dict[str, str] = {
}
