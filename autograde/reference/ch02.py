"""Reference implementations for chapter 2 (recurrent neural networks).

Instructor tooling: the hidden checks compare students' functions with these on fresh
random inputs, and train students' models with the fixed loops below (so that only the
model is graded, never the student's choice of optimiser or schedule).  Not part of the
student-facing package ``rnncourse``.

numpy parts are vectorised (a Python loop runs over time steps only); the bigram
baseline is counted with ``np.bincount``.
"""
from __future__ import annotations

import math

import numpy as np

SPECIALS = ("<pad>", "<unk>", "<eos>")
PAD, UNK, EOS = 0, 1, 2
GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")


# --------------------------------------------------------------------------- numpy RNN
def rnn_step(x, h_prev, W_xh, W_hh, b_h) -> np.ndarray:
    """h = tanh(x W_xh + h_prev W_hh + b_h) for a batch: (B, D), (B, H) -> (B, H)."""
    return np.tanh(np.asarray(x) @ W_xh + np.asarray(h_prev) @ W_hh + b_h)


def rnn_forward(xs, h0, W_xh, W_hh, b_h) -> np.ndarray:
    """All hidden states (B, T, H) of a tanh RNN run over xs (B, T, D) from h0 (B, H)."""
    xs = np.asarray(xs)
    B, T, _ = xs.shape
    h = np.asarray(h0)
    # the input projection of every step at once; only the recurrence loops over time
    xw = xs @ W_xh + b_h
    hs = np.empty((B, T, h.shape[-1]), dtype=np.result_type(xw, h, W_hh))
    for t in range(T):
        h = np.tanh(xw[:, t] + h @ W_hh)
        hs[:, t] = h
    return hs


# --------------------------------------------------------------------------- vocabulary
def build_vocab(texts) -> list[str]:
    """["<pad>", "<unk>", "<eos>"] followed by the sorted distinct characters of ``texts``."""
    return list(SPECIALS) + sorted(set("".join(texts)))


def _char_table(vocab):
    if list(vocab[:3]) != list(SPECIALS):
        raise ValueError(f"vocab must start with {list(SPECIALS)}, got {list(vocab[:3])}")
    codes = np.array([ord(c) for c in vocab[3:]], dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    return codes[order], order + 3


def encode(text: str, vocab) -> np.ndarray:
    """Character ids of ``text`` (int64, shape (len(text),)); unknown characters -> UNK."""
    codes, ids = _char_table(vocab)
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    if codes.size == 0:
        return np.full(points.shape, UNK, dtype=np.int64)
    pos = np.minimum(np.searchsorted(codes, points), codes.size - 1)
    return np.where(codes[pos] == points, ids[pos], UNK).astype(np.int64)


def decode(ids, vocab) -> str:
    """Text of ``ids`` up to the first EOS; PAD skipped; UNK written as U+FFFD."""
    ids = np.asarray(ids).reshape(-1)
    if ids.size and ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError(f"ids must lie in 0..{len(vocab) - 1}")
    stop = np.flatnonzero(ids == EOS)
    if stop.size:
        ids = ids[: stop[0]]
    table = np.array(["", "\ufffd", ""] + list(vocab[3:]), dtype=object)
    return "".join(table[ids[ids != PAD]])


# --------------------------------------------------------------------------- loss, sampling
def log_softmax(logits, axis=-1) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def sequence_cross_entropy(logits, targets, mask) -> float:
    """Mean over unmasked positions of -log softmax(logits)[target]."""
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets)
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ValueError("mask selects no position")
    with np.errstate(all="ignore"):   # masked positions may hold NaN or inf
        lp = log_softmax(logits)
    safe = np.where(mask, targets, 0).astype(np.int64)   # masked targets may be anything (-100, V, ...)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    return float(-picked[mask].mean())


def temperature_probs(logits, temperature: float) -> np.ndarray:
    """softmax(logits / T); T = 0 is a one-hot on the (first) argmax."""
    z = np.asarray(logits, dtype=np.float64)
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    if temperature == 0:
        out = np.zeros_like(z)
        out[int(np.argmax(z))] = 1.0
        return out
    return np.exp(log_softmax(z / temperature))


def sample_with_temperature(logits, temperature: float, rng: np.random.Generator) -> int:
    """One draw from softmax(logits / T); T = 0 gives argmax."""
    q = temperature_probs(logits, temperature)
    if temperature == 0:
        return int(np.argmax(q))
    return int(rng.choice(q.size, p=q))


# --------------------------------------------------------------------------- names data
def name_batch(names, vocab):
    """Inputs, targets and mask for a list of names.

    A name c_1..c_n becomes inputs EOS c_1 .. c_n and targets c_1 .. c_n EOS (EOS doubles
    as the start symbol), right-padded with PAD to the longest name; ``mask`` is True on
    the n + 1 real target positions.  Returns int64 (B, L), int64 (B, L), bool (B, L).
    """
    lengths = np.array([len(n) + 1 for n in names], dtype=np.int64)
    L = int(lengths.max())
    seq = np.full((len(names), L + 1), PAD, dtype=np.int64)
    seq[:, 0] = EOS
    for i, n in enumerate(names):  # one row per name
        seq[i, 1:len(n) + 1] = encode(n, vocab)
        seq[i, len(n) + 1] = EOS
    mask = np.arange(L)[None, :] < lengths[:, None]
    return seq[:, :-1], np.where(mask, seq[:, 1:], PAD), mask


def bigram_nll(train_names, eval_names, vocab, k: float = 0.5) -> float:
    """Add-k smoothed character bigram model: mean NLL per predicted character (nats).

    Counts (previous, next) pairs of the same input/target sequences the RNN sees
    (EOS as start and end symbol), over a vocabulary of len(vocab) tokens.
    """
    V = len(vocab)
    x, y, m = name_batch(train_names, vocab)
    counts = np.bincount(x[m] * V + y[m], minlength=V * V).reshape(V, V).astype(np.float64)
    probs = (counts + k) / (counts.sum(1, keepdims=True) + k * V)
    x, y, m = name_batch(eval_names, vocab)
    return float(-np.log(probs[x[m], y[m]]).mean())


def train_char_rnn(model, names, vocab, *, steps: int, batch_size: int = 64, lr: float = 0.01,
                   seed: int = 0, device="cpu"):
    """The fixed training loop of the hidden check (``rnncourse.training.train_char_lm``,
    the course's one policy for graded models) on ``names``.  Returns the training losses."""
    from rnncourse import training

    x, y, m = name_batch(names, vocab)
    return training.train_char_lm(model, x, y, m, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                  device=str(device)).tolist()


def char_rnn_nll(model, names, vocab, device="cpu", batch_size: int = 1024) -> float:
    """Mean NLL per predicted character (nats) of a CharRNN on ``names``."""
    import torch
    import torch.nn.functional as F

    x, y, m = (torch.as_tensor(a) for a in name_batch(names, vocab))
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(names), batch_size):
            xb, yb, mb = x[s:s + batch_size].to(device), y[s:s + batch_size].to(device), m[s:s + batch_size].to(device)
            logits, _ = model(xb)
            total += float(F.cross_entropy(logits[mb].double(), yb[mb], reduction="sum"))
            count += int(mb.sum())
    return total / count


# --------------------------------------------------------------------------- models
def _torch_models():
    import torch
    from torch import nn

    class CharRNN(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids, h0=None):
            output, h_T = self.rnn(self.embed(ids), h0)
            return self.out(output), h_T

    class LineClassifier(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_classes):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
            self.rnn = nn.GRU(embed_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, num_classes)

        def forward(self, ids, lengths):
            output, _ = self.rnn(self.embed(ids))
            lengths = torch.as_tensor(lengths, device=output.device).long()
            idx = (lengths - 1).view(-1, 1, 1).expand(-1, 1, output.shape[-1])
            last = output.gather(1, idx).squeeze(1)
            return self.out(last)

    return CharRNN, LineClassifier


def __getattr__(name):  # CharRNN and LineClassifier import torch only when asked for
    if name in ("CharRNN", "LineClassifier"):
        return dict(zip(("CharRNN", "LineClassifier"), _torch_models()))[name]
    raise AttributeError(name)


# --------------------------------------------------------------------------- genre data
def word_vocab(token_lists, min_count: int = 3) -> list[str]:
    """SPECIALS followed by the sorted words occurring at least ``min_count`` times."""
    words, counts = np.unique(np.array([w for ws in token_lists for w in ws], dtype=object).astype(str),
                              return_counts=True)
    return list(SPECIALS) + [str(w) for w in words[counts >= min_count] if w not in SPECIALS]


def word_batch(token_lists, vocab, max_len: int = 40):
    """Right-padded ids (int64, (B, L)) and lengths (int64, (B,)) of tokenised lines.

    Unknown words become UNK; lines are cut to ``max_len`` tokens; an empty line is one UNK.
    """
    index = {w: i for i, w in enumerate(vocab)}
    enc = [[index.get(w, UNK) for w in ws[:max_len]] or [UNK] for ws in token_lists]
    lengths = np.array([len(e) for e in enc], dtype=np.int64)
    ids = np.full((len(enc), int(lengths.max())), PAD, dtype=np.int64)
    for i, e in enumerate(enc):  # one row per line
        ids[i, :len(e)] = e
    return ids, lengths


def genre_data(rows):
    """Word tokens (``data.words``) and genre labels (int64 indices into GENRES) of rows."""
    from rnncourse import data

    tokens = [data.words(r["text"]) for r in rows]
    labels = np.array([GENRES.index(r["genre"]) for r in rows], dtype=np.int64)
    return tokens, labels


def train_line_classifier(model, ids, lengths, labels, *, steps: int, batch_size: int = 64,
                          lr: float = 0.005, seed: int = 0, device="cpu"):
    """The fixed training loop of the hidden check (``rnncourse.training.train_classifier``)."""
    from rnncourse import training

    return training.train_classifier(model, ids, lengths, labels, steps=steps, batch_size=batch_size, lr=lr,
                                     seed=seed, device=str(device)).tolist()


def classifier_accuracy(model, ids, lengths, labels, device="cpu", batch_size: int = 1024) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(labels), batch_size):
            lb = torch.as_tensor(lengths[s:s + batch_size])
            L = int(lb.max())
            xb = torch.as_tensor(ids[s:s + batch_size, :L]).to(device)
            pred = model(xb, lb.to(device)).argmax(-1).cpu().numpy()
            correct += int((pred == labels[s:s + batch_size]).sum())
    return correct / len(labels)


def majority_accuracy(train_labels, eval_labels) -> float:
    """Accuracy on ``eval_labels`` of always predicting the most frequent training label."""
    top = int(np.bincount(train_labels).argmax())
    return float(np.mean(np.asarray(eval_labels) == top))


def nats_to_bits(x: float) -> float:
    return x / math.log(2)
