"""Planted bugs and correct alternatives for chapter 2's exercises.

Each bug is a plausible student mistake in one answer cell; grading a submission with it
must cost exactly that exercise's points.  Each alternative is a correct solution written
differently from the reference; it must score full marks.  Sources run in the notebook's
namespace (np, torch, nn, F, PAD, UNK, EOS).
"""

BUGS = {
    # column convention: W_hh @ h instead of h @ W_hh
    "rnn_step": '''
def rnn_step(x, h_prev, W_xh, W_hh, b_h):
    return np.tanh(x @ W_xh + h_prev @ W_hh.T + b_h)
''',
    # never updates the state: every step starts from h0
    "rnn_forward": '''
def rnn_forward(xs, h0, W_xh, W_hh, b_h):
    B, T, _ = xs.shape
    hs = np.zeros((B, T, W_hh.shape[0]))
    for t in range(T):
        hs[:, t] = np.tanh(xs[:, t] @ W_xh + h0 @ W_hh + b_h)
    return hs
''',
    # unknown characters become <pad> (0) instead of <unk> (1)
    "encode": '''
def encode(text, vocab):
    index = {c: i for i, c in enumerate(vocab) if i >= 3}
    return np.array([index.get(c, 0) for c in text], dtype=np.int64)
''',
    # skips <eos> instead of stopping there
    "decode": '''
def decode(ids, vocab):
    ids = [int(i) for i in ids]
    if any(i < 0 or i >= len(vocab) for i in ids):
        raise ValueError("id out of range")
    return "".join("\\ufffd" if i == 1 else vocab[i] for i in ids if i not in (0, 2))
''',
    # averages over all B*T positions, padding included
    "sequence_cross_entropy": '''
def sequence_cross_entropy(logits, targets, mask):
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ValueError("empty mask")
    z = logits - logits.max(axis=-1, keepdims=True)
    nll = np.log(np.exp(z).sum(-1)) - np.take_along_axis(z, targets[..., None], -1)[..., 0]
    return float(np.sum(nll * mask) / mask.size)
''',
    # multiplies by the temperature instead of dividing
    "sample_with_temperature": '''
def sample_with_temperature(logits, temperature, rng):
    if temperature < 0:
        raise ValueError("negative temperature")
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits * temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))
''',
    # the read-out looks at the embeddings: the RNN's state never reaches the logits
    "CharRNN": '''
class CharRNN(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(embed_size, vocab_size)

    def forward(self, ids, h0=None):
        e = self.embed(ids)
        _, h_T = self.rnn(e, h0)
        return self.out(e), h_T
''',
    # classifies from the last column, which is padding for all but the longest lines
    "LineClassifier": '''
class LineClassifier(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_classes):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, num_classes)

    def forward(self, ids, lengths):
        states, _ = self.rnn(self.embed(ids))
        return self.out(states[:, -1])
''',
}

ALTERNATIVES = {
    # einsum and a list of states stacked at the end
    "rnn_forward": '''
def rnn_forward(xs, h0, W_xh, W_hh, b_h):
    h, out = h0, []
    for t in range(xs.shape[1]):
        h = np.tanh(np.einsum("bd,dh->bh", xs[:, t], W_xh) + np.einsum("bh,hk->bk", h, W_hh) + b_h)
        out.append(h)
    return np.stack(out, axis=1)
''',
    # a lookup table over code points, vectorised
    "encode": '''
def encode(text, vocab):
    codes = np.array([ord(c) for c in text], dtype=np.int64)
    table = np.full(max([ord(c) for c in vocab[3:]] + list(codes) + [0]) + 1, 1, dtype=np.int64)
    for i, c in enumerate(vocab[3:], start=3):
        table[ord(c)] = i
    return table[codes]
''',
    # numpy boolean indexing
    "decode": '''
def decode(ids, vocab):
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError("id out of range")
    stop = np.flatnonzero(ids == 2)
    ids = ids[: stop[0]] if stop.size else ids
    chars = np.array(["", "\\ufffd", ""] + list(vocab[3:]), dtype=object)
    return "".join(chars[ids])
''',
    # log-softmax by scipy-free logaddexp.reduce and a masked sum
    "sequence_cross_entropy": '''
def sequence_cross_entropy(logits, targets, mask):
    m = np.asarray(mask, dtype=bool)
    if m.sum() == 0:
        raise ValueError("nothing to average")
    safe = np.where(m, targets, 0)
    with np.errstate(all="ignore"):
        lse = np.logaddexp.reduce(logits, axis=-1)
    picked = np.take_along_axis(logits, safe[..., None], -1)[..., 0]
    return float(np.sum(np.where(m, lse - picked, 0.0)) / m.sum())
''',
    # Gumbel-max trick: a different use of the generator, same distribution
    "sample_with_temperature": '''
def sample_with_temperature(logits, temperature, rng):
    if temperature < 0:
        raise ValueError("negative temperature")
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:
        return int(np.argmax(logits))
    return int(np.argmax(logits / temperature + rng.gumbel(size=logits.shape)))
''',
    # an explicit loop over time with nn.RNNCell and one-hot-free embeddings
    "CharRNN": '''
class CharRNN(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.cell = nn.RNNCell(embed_size, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, h0=None):
        e = self.embed(ids)
        h = e.new_zeros(ids.shape[0], self.hidden_size) if h0 is None else h0[0]
        states = []
        for t in range(ids.shape[1]):
            h = self.cell(e[:, t], h)
            states.append(h)
        return self.out(torch.stack(states, 1)), h[None]
''',
    # a plain tanh nn.RNN and packed sequences
    "LineClassifier": '''
class LineClassifier(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_classes):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, num_classes)

    def forward(self, ids, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, h = self.rnn(packed)
        return self.out(h[-1])
''',
}

# Further mistakes, one per promise a docstring settled (issue 9); caught in-process by
# tests/test_checks_ch02.py and compared notebook-vs-grader by tests/test_verdicts.py.
MORE_BUGS = {
    # indexes the targets at masked positions too (IndexError on -100 or V)
    "sce_reads_masked_targets": ("sequence_cross_entropy", '''
def sequence_cross_entropy(logits, targets, mask):
    m = np.asarray(mask, dtype=float)
    if m.sum() == 0:
        raise ValueError("nothing to average")
    lse = np.logaddexp.reduce(logits, axis=-1)
    picked = np.take_along_axis(logits, targets[..., None], -1)[..., 0]
    return float(np.sum((lse - picked) * m) / m.sum())
'''),
    # multiplies by the mask: NaN at a masked position times 0 is still NaN
    "sce_nan_times_mask": ("sequence_cross_entropy", '''
def sequence_cross_entropy(logits, targets, mask):
    m = np.asarray(mask, dtype=float)
    if m.sum() == 0:
        raise ValueError("nothing to average")
    safe = np.where(mask, targets, 0)
    z = logits - logits.max(axis=-1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(lp, safe[..., None], -1)[..., 0]
    return float(-np.sum(picked * m) / m.sum())
'''),
    # float32 states where the docstring promises float64
    "rnn_step_float32": ("rnn_step", '''
def rnn_step(x, h_prev, W_xh, W_hh, b_h):
    return np.tanh(x @ W_xh + h_prev @ W_hh + b_h).astype(np.float32)
'''),
    # keeps the running state in the caller's h0
    "rnn_forward_writes_h0": ("rnn_forward", '''
def rnn_forward(xs, h0, W_xh, W_hh, b_h):
    h, out = h0, []
    for t in range(xs.shape[1]):
        h[...] = np.tanh(xs[:, t] @ W_xh + h @ W_hh + b_h)
        out.append(h.copy())
    return np.stack(out, axis=1)
'''),
    # a table built from the characters alone crashes when there are none
    "encode_needs_a_character": ("encode", '''
def encode(text, vocab):
    chars = np.array([ord(c) for c in vocab[3:]])
    table = np.full(max(chars.max(), max((ord(c) for c in text), default=0)) + 1, 1, dtype=np.int64)
    table[chars] = np.arange(3, len(vocab))
    return table[np.array([ord(c) for c in text], dtype=np.int64)]
'''),
    # checks the range only of the ids it reads (up to the first EOS)
    "decode_checks_before_eos_only": ("decode", '''
def decode(ids, vocab):
    out = []
    for i in np.asarray(ids).reshape(-1).tolist():
        if i == 2:
            break
        if not 0 <= i < len(vocab):
            raise ValueError(f"bad id {i}")
        out.append("" if i == 0 else "\\ufffd" if i == 1 else vocab[i])
    return "".join(out)
'''),
    # the max-shift replaced by a min-shift: exp overflows on large logits
    "sampler_min_shift": ("sample_with_temperature", '''
def sample_with_temperature(logits, temperature, rng):
    if temperature < 0:
        raise ValueError("T < 0")
    if temperature == 0:
        return int(np.argmax(logits))
    z = np.asarray(logits, dtype=float) / temperature
    z = z - z[np.isfinite(z)].min()
    p = np.exp(z); p /= p.sum()
    return int(rng.choice(len(p), p=p))
'''),
    # torch inside numpy: a shape mismatch raises RuntimeError, not the promised ValueError
    "rnn_step_torch_errors": ("rnn_step", '''
def rnn_step(x, h_prev, W_xh, W_hh, b_h):
    t = [torch.as_tensor(a) for a in (x, h_prev, W_xh, W_hh, b_h)]
    return torch.tanh(t[0] @ t[2] + t[1] @ t[3] + t[4]).numpy()
'''),
    # a correct model with the constructor's old argument order (vocab, hidden, embed)
    "char_rnn_old_argument_order": ("CharRNN", ALTERNATIVES["CharRNN"].replace(
        "def __init__(self, vocab_size, embed_size, hidden_size):",
        "def __init__(self, vocab_size, hidden_size, embed_size):")),
}
