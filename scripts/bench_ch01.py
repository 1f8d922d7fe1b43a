#!/usr/bin/env python
"""Benchmarks and held-out results of chapter 1 (Markov n-gram models).

Measures, with the vectorised reference implementation ``autograde.reference.ch01``:

a. speed against ``nltk.lm`` (Lidstone and interpolated Kneser-Ney) on the same
   character-level slice of the corpus, checking that both give the same perplexity,
   plus the fit+score time of the reference on the whole training split of the mode;
b. validation perplexity and bits per character by order n = 1..8 (add-k and
   Kneser-Ney, the smoothing parameter picked on validation per n), the test perplexity
   of the single best model chosen on validation, word-level perplexity for n = 1..4,
   and the fraction of validation n-grams whose context never occurs in training;
c. the mode, corpus sizes, command line, date and machine.

Usage (from the repository root)::

    python scripts/bench_ch01.py --mode fast            # -> results/ch01_ngrams.json
    RNNCOURSE_MODE=full python scripts/bench_ch01.py    # -> results/ch01_ngrams_full.json

Run times on a 2-core CPU: about a minute in fast mode, a few minutes in full mode
(building the order-8 count tables of the 4.1M-character training split dominates).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `import autograde` from a plain `python scripts/...`
    sys.path.insert(0, str(REPO))

from autograde.reference import ch01 as R  # noqa: E402
from rnncourse import data, env  # noqa: E402

# --------------------------------------------------------------------------- settings
CHAR_ORDERS = range(1, 9)
WORD_ORDERS = range(1, 5)
CHAR_K_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
WORD_K_GRID = (0.0001, 0.001, 0.01, 0.1, 1.0)
D_GRID = (0.5, 0.75, 0.9)
LIDSTONE_K = 0.1
KN_DISCOUNT = 0.75
SENTINEL = "\x00"  # prepended to the nltk comparison slice; occurs nowhere in the corpus
REL_TOL = 1e-9
# The nltk comparison slice (characters of train / of valid).  nltk's Kneser-Ney scans
# every (m+1)-gram per query and order, so its scoring time grows with both sizes.
SPEED_SLICE = {"fast": (100_000, 3_000), "full": (200_000, 5_000)}
NLTK_BUDGET_S = 120.0  # skip an nltk run projected to take longer than this
REPEATS = 3


# --------------------------------------------------------------------------- helpers
def machine_info() -> dict:
    import nltk

    return {**env.machine_info(), "nltk": nltk.__version__}


def bits(ppl: float) -> float:
    return math.log2(ppl)


def best_time(fn, repeats: int):
    """(best wall time over ``repeats`` runs, value of the last run)."""
    best, value = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


class Vocab:
    """Token -> id over a fixed token list, with one extra UNK id at the end."""

    def __init__(self, tokens):
        self.tokens = sorted(set(tokens))
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.unk = len(self.tokens)
        self.size = len(self.tokens) + 1

    def encode(self, seq) -> np.ndarray:
        get, unk = self.index.get, self.unk
        return np.fromiter((get(t, unk) for t in seq), dtype=np.int64, count=len(seq))


def row_keys(rows: np.ndarray, base: int) -> np.ndarray:
    """Integer key per row (base-``base`` digits); rows must have width*log2(base) < 62."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.shape[1] == 0:
        return np.zeros(len(rows), dtype=np.int64)
    assert rows.shape[1] * math.log2(base) < 62, "keys would overflow int64"
    return rows @ (base ** np.arange(rows.shape[1] - 1, -1, -1, dtype=np.int64))


def kn_ppl(tables, V, ids, n, D, base="uniform"):
    return R.perplexity(lambda q: R.kneser_ney_prob(tables[:n], V, q, D, base=base), ids, n)


def addk_ppl(tables, V, ids, n, k):
    grams, counts = tables[n - 1]
    return R.perplexity(lambda q: R.add_k_prob(grams, counts, q, V, k), ids, n)


def command_line(argv, mode_arg) -> str:
    """The command as typed, with the mode variable in front when it chose the mode."""
    words = sys.argv[1:] if argv is None else list(argv)
    prefix = ""
    if mode_arg is None and os.environ.get(env.MODE_VARIABLE):
        prefix = f"{env.MODE_VARIABLE}={os.environ[env.MODE_VARIABLE]} "
    return prefix + " ".join(["python", "scripts/bench_ch01.py", *words])


def log(msg: str, t0: float) -> None:
    print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", flush=True)


# --------------------------------------------------------------------------- (a) speed
def nltk_run(kind: str, n: int, train_tokens: list, valid_tokens: list, deadline_s: float):
    """Fit an nltk model and score every window of ``valid_tokens``.

    Returns (fit_s, score_s, perplexity, vocab size) or None when the projected scoring
    time (from the first 5 % of the windows) exceeds ``deadline_s``.
    """
    from nltk.lm import KneserNeyInterpolated, Lidstone
    from nltk.util import everygrams

    t0 = time.perf_counter()
    lm = Lidstone(LIDSTONE_K, n) if kind == "lidstone" else KneserNeyInterpolated(n, discount=KN_DISCOUNT)
    lm.fit([everygrams(train_tokens, max_len=n)], vocabulary_text=train_tokens)
    t1 = time.perf_counter()
    positions = range(n - 1, len(valid_tokens))
    probe = max(1, len(positions) // 20)
    logp = []
    for j, i in enumerate(positions):
        logp.append(math.log(lm.score(valid_tokens[i], valid_tokens[i - n + 1:i])))
        if j + 1 == probe:
            projected = (time.perf_counter() - t1) * len(positions) / probe
            if projected > deadline_s:
                return None
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, math.exp(-sum(logp) / len(logp)), len(lm.vocab)


def speed(mode: str, train_text: str, valid_text: str, full_train: np.ndarray,
          full_valid: np.ndarray, V_full: int, t0: float) -> dict:
    n_train, n_valid = SPEED_SLICE[mode]
    train_slice = SENTINEL + train_text[:n_train]
    valid_slice = valid_text[:n_valid]
    assert SENTINEL not in train_text and SENTINEL not in valid_slice
    train_tokens, valid_tokens = list(train_slice), list(valid_slice)
    vocab = Vocab(train_slice)  # nltk builds its vocabulary from the same tokens (+ <UNK>)
    tr, va = vocab.encode(train_slice), vocab.encode(valid_slice)
    V = vocab.size

    rows = []
    for n in (3, 5):
        for kind in ("lidstone", "kneser_ney"):
            if kind == "lidstone":
                def ours(n=n):
                    t = time.perf_counter()
                    grams, counts = R.ngram_counts(tr, n)
                    fit = time.perf_counter() - t
                    ppl = R.perplexity(lambda q: R.add_k_prob(grams, counts, q, V, LIDSTONE_K), va, n)
                    return fit, time.perf_counter() - t - fit, ppl
                param = {"k": LIDSTONE_K}
            else:
                def ours(n=n):
                    t = time.perf_counter()
                    tables = R.count_tables(tr, n)
                    fit = time.perf_counter() - t
                    ppl = kn_ppl(tables, V, va, n, KN_DISCOUNT, base="nltk")
                    return fit, time.perf_counter() - t - fit, ppl
                param = {"discount": KN_DISCOUNT, "base": "nltk"}
            runs = [ours() for _ in range(REPEATS)]
            o_fit, o_score, ppl_ours = min(runs, key=lambda r: r[0] + r[1])
            row = {"n": n, "smoothing": kind, **param,
                   "ours_fit_s": o_fit, "ours_score_s": o_score, "ours_total_s": o_fit + o_score,
                   "ours_repeats": REPEATS, "ppl_ours": ppl_ours}
            first = nltk_run(kind, n, train_tokens, valid_tokens, NLTK_BUDGET_S)
            if first is None:
                row.update(nltk_skipped=f"projected scoring time over {NLTK_BUDGET_S:.0f} s")
                log(f"speed n={n} {kind}: ours {o_fit + o_score:.3f}s, nltk skipped", t0)
                rows.append(row)
                continue
            nruns = [first]
            if first[0] + first[1] < 5.0:  # cheap enough: best of 3 like ours
                nruns += [nltk_run(kind, n, train_tokens, valid_tokens, math.inf) for _ in range(REPEATS - 1)]
            n_fit, n_score, ppl_nltk, v_nltk = min(nruns, key=lambda r: r[0] + r[1])
            assert v_nltk == V, (v_nltk, V)
            rel = abs(ppl_ours - ppl_nltk) / ppl_nltk
            row.update(nltk_fit_s=n_fit, nltk_score_s=n_score, nltk_total_s=n_fit + n_score,
                       nltk_repeats=len(nruns), ppl_nltk=ppl_nltk, rel_diff=rel,
                       equal=bool(rel < REL_TOL),
                       speedup=(n_fit + n_score) / (o_fit + o_score))
            log(f"speed n={n} {kind}: ours {o_fit + o_score:.3f}s nltk {n_fit + n_score:.2f}s "
                f"ppl {ppl_ours:.6f} / {ppl_nltk:.6f} rel {rel:.1e}", t0)
            assert rel < REL_TOL, f"ours and nltk disagree: {ppl_ours} vs {ppl_nltk}"
            rows.append(row)

    # The reference alone on the whole training split of the mode, scored on all of valid.
    full_rows = []
    for n in (3, 5):
        for kind in ("lidstone", "kneser_ney"):
            def run(n=n, kind=kind):
                t = time.perf_counter()
                if kind == "lidstone":
                    grams, counts = R.ngram_counts(full_train, n)
                    fit = time.perf_counter() - t
                    ppl = R.perplexity(lambda q: R.add_k_prob(grams, counts, q, V_full, LIDSTONE_K),
                                       full_valid, n)
                else:
                    tables = R.count_tables(full_train, n)
                    fit = time.perf_counter() - t
                    ppl = kn_ppl(tables, V_full, full_valid, n, KN_DISCOUNT)
                return fit, time.perf_counter() - t - fit, ppl
            fit, score, ppl = min((run() for _ in range(REPEATS)), key=lambda r: r[0] + r[1])
            full_rows.append({"n": n, "smoothing": kind,
                              **({"k": LIDSTONE_K} if kind == "lidstone" else
                                 {"discount": KN_DISCOUNT, "base": "uniform"}),
                              "train_chars": int(full_train.size), "valid_chars": int(full_valid.size),
                              "fit_s": fit, "score_s": score, "total_s": fit + score,
                              "repeats": REPEATS, "ppl": ppl})
            log(f"ours full-size n={n} {kind}: {fit + score:.2f}s ppl {ppl:.4f}", t0)
    return {
        "train_chars": n_train, "valid_chars": n_valid, "vocab_size": V,
        "sentinel": "one NUL character prepended to the training slice",
        "timing": (f"time.perf_counter; ours best of {REPEATS}; nltk best of {REPEATS} when one "
                   "run takes under 5 s, else once. fit = count tables (ours) or "
                   "lm.fit(everygrams) with its vocabulary (nltk); score = perplexity of every "
                   "n-character window of the validation slice. Text-to-id encoding is outside "
                   "the timed region."),
        "rows": rows,
        "ours_full_size": full_rows,
    }


# --------------------------------------------------------------------------- (b) quality
def char_quality(tr, va, te, V, t0: float) -> dict:
    t = time.perf_counter()
    tables = R.count_tables(tr, max(CHAR_ORDERS))
    log(f"count tables up to n={max(CHAR_ORDERS)}: {time.perf_counter() - t:.1f}s", t0)
    rows, candidates = [], []
    for n in CHAR_ORDERS:
        addk = {k: addk_ppl(tables, V, va, n, k) for k in CHAR_K_GRID}
        kn = {D: kn_ppl(tables, V, va, n, D) for D in D_GRID}
        k_best = min(addk, key=addk.get)
        d_best = min(kn, key=kn.get)
        rows.append({
            "n": n,
            "addk_best_k": k_best, "addk_ppl": addk[k_best], "addk_bpc": bits(addk[k_best]),
            "addk_by_k": {str(k): v for k, v in addk.items()},
            "kn_best_D": d_best, "kn_ppl": kn[d_best], "kn_bpc": bits(kn[d_best]),
            "kn_by_D": {str(D): v for D, v in kn.items()},
        })
        candidates += [(addk[k_best], n, "add_k", k_best), (kn[d_best], n, "kneser_ney", d_best)]
        log(f"char n={n}: add-k (k={k_best}) {addk[k_best]:.3f}   KN (D={d_best}) {kn[d_best]:.3f}", t0)

    def test_of(n, kind, p):
        return addk_ppl(tables, V, te, n, p) if kind == "add_k" else kn_ppl(tables, V, te, n, p)

    best = {}
    for label, pool in (("overall", candidates),
                        ("add_k", [c for c in candidates if c[2] == "add_k"]),
                        ("kneser_ney", [c for c in candidates if c[2] == "kneser_ney"])):
        vppl, n, kind, p = min(pool)
        tppl = test_of(n, kind, p)
        best[label] = {"n": n, "smoothing": kind, ("k" if kind == "add_k" else "discount"): p,
                       "valid_ppl": vppl, "valid_bpc": bits(vppl),
                       "test_ppl": tppl, "test_bpc": bits(tppl)}
    log(f"best on valid: {best['overall']}", t0)

    # Sparsity: validation n-grams whose context (first n-1 characters) never occurs as
    # the context of a training n-gram, and n-grams never seen at all.
    sparsity = []
    for n in CHAR_ORDERS:
        grams = tables[n - 1][0]
        windows = np.lib.stride_tricks.sliding_window_view(va, n)
        seen_ctx = np.unique(row_keys(grams[:, :-1], V))
        seen_gram = row_keys(grams, V)  # already sorted and unique
        ctx = row_keys(windows[:, :-1], V)
        full = row_keys(windows, V)
        sparsity.append({
            "n": n, "valid_ngrams": int(len(windows)), "train_distinct_ngrams": int(len(grams)),
            "unseen_context_frac": float(1 - np.isin(ctx, seen_ctx).mean()),
            "unseen_ngram_frac": float(1 - np.isin(full, seen_gram).mean()),
        })
    return {"k_grid": list(CHAR_K_GRID), "D_grid": list(D_GRID), "base": "uniform",
            "rows": rows, "best": best, "sparsity": sparsity}


def word_quality(train_text, valid_text, test_text, t0: float) -> dict:
    tw, vw, sw = data.words(train_text), data.words(valid_text), data.words(test_text)
    vocab = Vocab(tw)
    tr, va, te = vocab.encode(tw), vocab.encode(vw), vocab.encode(sw)
    V = vocab.size
    tables = R.count_tables(tr, max(WORD_ORDERS))
    rows = []
    for n in WORD_ORDERS:
        addk = {k: addk_ppl(tables, V, va, n, k) for k in WORD_K_GRID}
        kn = {D: kn_ppl(tables, V, va, n, D) for D in D_GRID}
        k_best, d_best = min(addk, key=addk.get), min(kn, key=kn.get)
        rows.append({
            "n": n,
            "addk_best_k": k_best, "addk_ppl": addk[k_best],
            "addk_by_k": {str(k): v for k, v in addk.items()},
            "kn_best_D": d_best, "kn_ppl": kn[d_best],
            "kn_by_D": {str(D): v for D, v in kn.items()},
        })
        log(f"word n={n}: add-k (k={k_best}) {addk[k_best]:.1f}   KN (D={d_best}) {kn[d_best]:.1f}", t0)
    vppl, n, kind, p = min([(r["addk_ppl"], r["n"], "add_k", r["addk_best_k"]) for r in rows]
                           + [(r["kn_ppl"], r["n"], "kneser_ney", r["kn_best_D"]) for r in rows])
    tppl = addk_ppl(tables, V, te, n, p) if kind == "add_k" else kn_ppl(tables, V, te, n, p)
    return {
        "tokeniser": "rnncourse.data.words",
        "vocab": "distinct training words + <unk>; other words map to <unk>",
        "vocab_size": V,
        "train_words": int(tr.size), "valid_words": int(va.size), "test_words": int(te.size),
        "valid_oov_rate": float((va == vocab.unk).mean()),
        "test_oov_rate": float((te == vocab.unk).mean()),
        "k_grid": list(WORD_K_GRID), "D_grid": list(D_GRID), "base": "uniform",
        "rows": rows,
        "best": {"n": n, "smoothing": kind, ("k" if kind == "add_k" else "discount"): p,
                 "valid_ppl": vppl, "test_ppl": tppl},
    }


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=env.MODES, default=None,
                        help="fast or full (default: $RNNCOURSE_MODE, else by GPU presence)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output JSON (default: results/ch01_ngrams.json in fast mode, "
                             "results/ch01_ngrams_full.json in full mode)")
    args = parser.parse_args(argv)
    mode = args.mode or env.mode()
    out = args.out or REPO / "results" / ("ch01_ngrams.json" if mode == "fast" else "ch01_ngrams_full.json")
    t0 = time.perf_counter()
    log(f"mode={mode} out={out}", t0)

    train_text = data.shakespeare("train", size=mode)
    valid_text = data.shakespeare("valid", size=mode)
    test_text = data.shakespeare("test", size=mode)
    # Character vocabulary of the full training split (65 characters) + UNK, in both
    # modes, so that V (and the uniform base of Kneser-Ney) does not depend on the mode.
    cvocab = Vocab(data.shakespeare("train", size="full"))
    tr, va, te = (cvocab.encode(t) for t in (train_text, valid_text, test_text))

    result = {
        "schema": 1,
        "chapter": "ch01_ngrams",
        "mode": mode,
        "command": command_line(argv, args.mode),
        "env_RNNCOURSE_MODE": os.environ.get(env.MODE_VARIABLE),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "corpus": {
            "name": "Shakespeare (rnncourse.data.shakespeare), split by play",
            "train_chars": len(train_text), "valid_chars": len(valid_text), "test_chars": len(test_text),
            "char_vocab_size": cvocab.size,
            "char_vocab": "65 characters of the full training split + UNK",
            "valid_unk_chars": int((va == cvocab.unk).sum()), "test_unk_chars": int((te == cvocab.unk).sum()),
        },
    }
    result["speed"] = speed(mode, train_text, valid_text, tr, va, cvocab.size, t0)
    result["char"] = char_quality(tr, va, te, cvocab.size, t0)
    result["word"] = word_quality(train_text, valid_text, test_text, t0)
    result["runtime_s"] = time.perf_counter() - t0

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    log(f"wrote {out} (total {result['runtime_s']:.1f}s)", t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
