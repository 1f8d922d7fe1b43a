"""Chapter 2 measurements: the names model and the genre classifier against their baselines.

    python scripts/bench_ch02.py [--mode fast|full] [--out results/ch02_rnn.json]

Names (data.names, split by a hash of the name):
* the best character n-gram model of chapter 1 (interpolated Kneser-Ney, n and D chosen on
  validation) scored on exactly the positions the RNN predicts (every character and the
  end of the name), and the add-0.5 bigram of the hidden check;
* the reference CharRNN trained by rnncourse.names_training (the notebook's training cell,
  settings names_training.SETTINGS[mode]; in full mode with input noise, dropout on the
  RNN's outputs, a cosine schedule and the best validation checkpoint); validation and test
  negative log-likelihood per character (nats);
* full mode only: the same class trained plainly by the course's fixed loop with the former
  full-mode settings (hidden 96, 1000 steps), the unregularised reference point;
* names sampled from it, and the fraction of them that also occur in the training set.

Genre of a line (data.shakespeare_lines of the training plays; acts 1-4 train, act 5 held
out, as in the hidden check): the reference LineClassifier against the majority class and a
bag-of-characters softmax regression.
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
sys.path.insert(0, str(REPO))

from autograde.reference import ch01 as R1  # noqa: E402
from autograde.reference import ch02 as R2  # noqa: E402
from rnncourse import data, env, names_training  # noqa: E402

# the names model's settings live in rnncourse.names_training.SETTINGS (shared with the notebook)
SETTINGS = {
    "fast": {"classifier": dict(embed_size=64, hidden_size=64, steps=1000, batch_size=128, lr=0.005)},
    "full": {"classifier": dict(embed_size=128, hidden_size=128, steps=4000, batch_size=128, lr=0.003)},
}
# the unregularised reference point of full mode: the fixed loop with the best plain settings
# found (a larger or longer-trained model overfits: H=256 and 4000 steps gave 2.22 nats/char
# on validation, H=128 and 3000 steps 2.11)
PLAIN_FULL = dict(hidden_size=96, embed_size=24, steps=1000, batch_size=64, lr=0.005)


def ngram_names_nll(train_names, eval_names, vocab, n, discount=0.75):
    """Kneser-Ney n-gram (chapter 1's reference) on names, scored on the RNN's positions:
    a name c_1..c_k is padded with n-1 EOS tokens in front and one after, and each c_i and
    the final EOS is predicted.  Mean NLL per predicted character, nats."""
    def windows(names):
        rows = []
        for name in names:  # one padded sequence per name
            seq = np.concatenate([np.full(n - 1, R2.EOS), R2.encode(name, vocab), [R2.EOS]]).astype(np.int64)
            rows.append(np.lib.stride_tricks.sliding_window_view(seq, n))
        return np.concatenate(rows)
    train_w, eval_w = windows(train_names), windows(eval_names)
    tables = [tuple(a.astype(np.int64) for a in np.unique(train_w[:, n - m:], axis=0, return_counts=True))
              for m in range(1, n + 1)]
    return float(-np.log(R1.kneser_ney_prob(tables, len(vocab), eval_w, discount)).mean())


def sample_names(model, vocab, count, temperature, rng, max_len=20):
    import torch

    out = []
    model.eval()
    with torch.no_grad():
        for _ in range(count):  # one name at a time, feeding each sample back
            h, tok, chars = None, R2.EOS, []
            for _ in range(max_len):
                logits, h = model(torch.tensor([[tok]]), h)
                tok = R2.sample_with_temperature(logits[0, -1].double().numpy(), temperature, rng)
                if tok == R2.EOS:
                    break
                chars.append(tok)
            out.append(R2.decode(np.array(chars, dtype=np.int64), vocab))
    return out


def names_section(mode):
    import torch

    train, valid, test = data.names("train"), data.names("valid"), data.names("test")
    vocab = R2.build_vocab(train)
    grid = {}
    orders, discounts = range(1, 9), (0.5, 0.75, 0.85, 0.9, 0.95)  # the best lies inside the grid
    for n in orders:
        for D in discounts:
            grid[(n, D)] = ngram_names_nll(train, valid, vocab, n, D)
    (best_n, best_D), best_valid = min(grid.items(), key=lambda kv: kv[1])
    ngram = {"grid": {"orders": list(orders), "discounts": list(discounts)},
             "by_order": {n: min(v for (m, _), v in grid.items() if m == n) for n in orders},
             "best_n": best_n, "best_discount": best_D, "valid_nll": best_valid,
             "test_nll": ngram_names_nll(train, test, vocab, best_n, best_D),
             "bigram_add05_valid_nll": R2.bigram_nll(train, valid, vocab, k=0.5),
             "bigram_add05_test_nll": R2.bigram_nll(train, test, vocab, k=0.5)}
    cfg = names_training.SETTINGS[mode]
    torch.manual_seed(0)
    model = R2.CharRNN(len(vocab), cfg["embed_size"], cfg["hidden_size"])
    t0 = time.perf_counter()
    run = names_training.train(model, *R2.name_batch(train, vocab), valid=R2.name_batch(valid, vocab), **cfg)
    train_s = time.perf_counter() - t0
    rnn = {"config": cfg, "train_seconds": train_s, "final_train_loss": float(np.mean(run["losses"][-50:])),
           "best_step": run["best_step"], "valid_history": run["valid_history"],
           "valid_nll": R2.char_rnn_nll(model, valid, vocab), "test_nll": R2.char_rnn_nll(model, test, vocab)}
    if mode == "full":
        torch.manual_seed(0)
        plain = R2.CharRNN(len(vocab), PLAIN_FULL["embed_size"], PLAIN_FULL["hidden_size"])
        R2.train_char_rnn(plain, train, vocab, steps=PLAIN_FULL["steps"], batch_size=PLAIN_FULL["batch_size"],
                          lr=PLAIN_FULL["lr"])
        rnn["plain_fixed_loop"] = {"config": PLAIN_FULL, "valid_nll": R2.char_rnn_nll(plain, valid, vocab),
                                   "test_nll": R2.char_rnn_nll(plain, test, vocab)}
    rng = np.random.default_rng(0)
    train_set = set(train)
    samples = {}
    for T in (0.5, 0.8, 1.0):
        names = sample_names(model, vocab, 300, T, rng)
        samples[str(T)] = {"examples": names[:12], "fraction_in_training_set": float(np.mean([s in train_set for s in names])),
                           "distinct": len(set(names))}
    return {"sizes": {"train": len(train), "valid": len(valid), "test": len(test), "vocab": len(vocab)},
            "ngram": ngram, "char_rnn": rnn, "samples": samples}


def bag_of_characters(rows_train, rows_eval, labels_train, labels_eval, steps=1500):
    """Softmax regression on character frequencies of the line (plus its length)."""
    import torch

    chars = sorted({c for r in rows_train for c in r["text"]})
    index = {c: i for i, c in enumerate(chars)}

    def features(rows):
        X = np.zeros((len(rows), len(chars) + 1), dtype=np.float32)
        for i, r in enumerate(rows):  # one row per line
            t = r["text"]
            for c in t:
                if c in index:
                    X[i, index[c]] += 1
            X[i, :-1] /= max(len(t), 1)
            X[i, -1] = math.log1p(len(t))
        return torch.from_numpy(X)
    Xtr, Xev = features(rows_train), features(rows_eval)
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    Xtr, Xev = (Xtr - mu) / sd, (Xev - mu) / sd
    ytr = torch.as_tensor(labels_train)
    torch.manual_seed(0)
    lin = torch.nn.Linear(Xtr.shape[1], len(R2.GENRES))
    opt = torch.optim.Adam(lin.parameters(), lr=0.05)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(lin(Xtr), ytr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((lin(Xev).argmax(-1).numpy() == labels_eval).mean())


def classifier_section(mode):
    import torch

    rows = data.shakespeare_lines("train")
    train_rows = [r for r in rows if r["act"] != "5"]
    held = [r for r in rows if r["act"] == "5"]
    tokens, labels = R2.genre_data(train_rows)
    vocab = R2.word_vocab(tokens, min_count=3)
    ids, lengths = R2.word_batch(tokens, vocab)
    htok, hlabels = R2.genre_data(held)
    hids, hlengths = R2.word_batch(htok, vocab)
    cfg = SETTINGS[mode]["classifier"]
    torch.manual_seed(0)
    model = R2.LineClassifier(len(vocab), cfg["embed_size"], cfg["hidden_size"], len(R2.GENRES))
    t0 = time.perf_counter()
    R2.train_line_classifier(model, ids, lengths, labels, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"])
    train_s = time.perf_counter() - t0
    return {"sizes": {"train_lines": len(train_rows), "held_out_lines": len(held), "word_vocab": len(vocab)},
            "config": cfg, "train_seconds": train_s,
            "rnn_accuracy": R2.classifier_accuracy(model, hids, hlengths, hlabels),
            "majority_accuracy": R2.majority_accuracy(labels, hlabels),
            "bag_of_characters_accuracy": bag_of_characters(train_rows, held, labels, hlabels),
            "held_out_genre_counts": {g: int((hlabels == i).sum()) for i, g in enumerate(R2.GENRES)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("fast", "full"), default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.mode:
        os.environ[env.MODE_VARIABLE] = args.mode
    mode = env.mode()
    out = args.out or REPO / "results" / ("ch02_rnn.json" if mode == "fast" else "ch02_rnn_full.json")
    import torch

    torch.set_num_threads(1)  # small models: one thread is fastest and repeatable
    env.seed_everything(0)
    start = time.perf_counter()
    result = {"chapter": "ch02_rnn", "mode": mode,
              "command": "python scripts/bench_ch02.py" + (f" --mode {args.mode}" if args.mode else ""),
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {**env.machine_info(), "torch_threads": 1}}
    result["names"] = names_section(mode)
    result["classifier"] = classifier_section(mode)
    result["runtime_s"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    nm, cl = result["names"], result["classifier"]
    print(f"names: n-gram best n={nm['ngram']['best_n']} valid {nm['ngram']['valid_nll']:.4f} test {nm['ngram']['test_nll']:.4f}; "
          f"CharRNN valid {nm['char_rnn']['valid_nll']:.4f} test {nm['char_rnn']['test_nll']:.4f} nats/char")
    print(f"genre: RNN {cl['rnn_accuracy']:.3f}, bag of characters {cl['bag_of_characters_accuracy']:.3f}, "
          f"majority {cl['majority_accuracy']:.3f}")
    print(f"wrote {out} in {result['runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
