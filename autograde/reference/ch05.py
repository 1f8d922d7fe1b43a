"""Reference implementations for chapter 5 (LSTM and GRU).

Instructor tooling: the hidden checks compare students' functions with these, and every
one of them is tested against PyTorch's own modules (``nn.LSTMCell``, ``nn.GRUCell``,
``nn.LSTM``, ``nn.GRU``) by tests/test_checks_ch05.py.  Not part of the student package
``rnncourse``.

Conventions (PyTorch's): row vectors with batch first, weights stacked by gate in the rows,
``W_ih`` (G*H, D), ``W_hh`` (G*H, H), two biases ``b_ih``, ``b_hh`` (G*H,); LSTM gates in
the order (i, f, g, o), GRU gates (r, z, n); the GRU's reset gate multiplies the hidden
part of the candidate including its bias, and h' = (1 - z) * n + z * h.
"""
from __future__ import annotations


def _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, gates: int) -> None:
    if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]:
        raise ValueError(f"x must be (B, D) and h (B, H); got {tuple(x.shape)} and {tuple(h.shape)}")
    GH, D, H = gates * h.shape[1], x.shape[1], h.shape[1]
    if W_ih.shape != (GH, D) or W_hh.shape != (GH, H) or b_ih.shape != (GH,) or b_hh.shape != (GH,):
        raise ValueError(f"the weights must be ({GH}, {D}), ({GH}, {H}), ({GH},), ({GH},); got {tuple(W_ih.shape)}, "
                         f"{tuple(W_hh.shape)}, {tuple(b_ih.shape)}, {tuple(b_hh.shape)}")


# --------------------------------------------------------------------------- exercise 1
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One step of nn.LSTMCell: returns (h', c') of x's dtype."""
    import torch

    _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 4)
    if c.shape != h.shape:
        raise ValueError(f"c must be of h's shape {tuple(h.shape)}, got {tuple(c.shape)}")
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new


# --------------------------------------------------------------------------- exercise 2
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One step of nn.GRUCell: returns h' of x's dtype."""
    import torch

    _cell_shapes(x, h, W_ih, W_hh, b_ih, b_hh, 3)
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


# --------------------------------------------------------------------------- exercises 3, 4
def _sequence(xs, states, layers):
    """Shared checks of the sequence functions; returns (T, the initial states (L, B, H))."""
    import torch

    if xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0:
        raise ValueError(f"xs must be (B, T, D) with T >= 1 and layers non-empty; got {tuple(xs.shape)}, "
                         f"{len(layers)} layers")
    B, T, _ = xs.shape
    L, H = len(layers), layers[0][1].shape[1]
    out = []
    for s in states:
        if s is None:
            s = torch.zeros(L, B, H, dtype=xs.dtype, device=xs.device)
        if s.shape != (L, B, H):
            raise ValueError(f"the initial states must be ({L}, {B}, {H}), got {tuple(s.shape)}")
        out.append(s)
    return T, out


def lstm_sequence(xs, h0, c0, layers):
    """nn.LSTM(batch_first=True, num_layers=len(layers)) with the given weights: returns
    (outputs (B, T, H), (h_T (L, B, H), c_T (L, B, H)))."""
    import torch

    T, (h0, c0) = _sequence(xs, (h0, c0), layers)
    inp, hs, cs = xs, [], []
    for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(layers):
        h, c, outs = h0[k], c0[k], []
        for t in range(T):
            h, c = lstm_cell(inp[:, t], h, c, W_ih, W_hh, b_ih, b_hh)
            outs.append(h)
        inp = torch.stack(outs, dim=1)
        hs.append(h)
        cs.append(c)
    return inp, (torch.stack(hs), torch.stack(cs))


def gru_sequence(xs, h0, layers):
    """nn.GRU(batch_first=True, num_layers=len(layers)) with the given weights: returns
    (outputs (B, T, H), h_T (L, B, H))."""
    import torch

    T, (h0,) = _sequence(xs, (h0,), layers)
    inp, hs = xs, []
    for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(layers):
        h, outs = h0[k], []
        for t in range(T):
            h = gru_cell(inp[:, t], h, W_ih, W_hh, b_ih, b_hh)
            outs.append(h)
        inp = torch.stack(outs, dim=1)
        hs.append(h)
    return inp, torch.stack(hs)


# --------------------------------------------------------------------------- exercise 5
def _lstm_biases(module):
    """(name, bias_ih, bias_hh, H) of every LSTM layer and direction inside ``module``."""
    import torch

    found = []
    for path, m in module.named_modules():
        if isinstance(m, torch.nn.LSTM):
            suffixes = [""] + (["_reverse"] if m.bidirectional else [])
            for k in range(m.num_layers):
                for sfx in suffixes:
                    if not m.bias:
                        raise ValueError(f"the LSTM {path or 'module'} has no biases (bias=False)")
                    found.append((f"{path}.l{k}{sfx}", getattr(m, f"bias_ih_l{k}{sfx}"),
                                  getattr(m, f"bias_hh_l{k}{sfx}"), m.hidden_size))
        elif isinstance(m, torch.nn.LSTMCell):
            if not m.bias:
                raise ValueError(f"the LSTMCell {path or 'module'} has no biases (bias=False)")
            found.append((path, m.bias_ih, m.bias_hh, m.hidden_size))
    return found


def init_forget_bias(model, value: float = 1.0) -> int:
    """Set the forget gate's bias of every nn.LSTM layer and direction and every nn.LSTMCell
    inside ``model`` (``model`` itself included): bias_ih[H:2H] + bias_hh[H:2H] = value
    (here: value and 0); nothing else changes.  Returns how many (bias_ih, bias_hh) pairs
    were set; ValueError for an LSTM without biases."""
    import torch

    found = _lstm_biases(model)
    with torch.no_grad():
        for _, b_ih, b_hh, H in found:
            b_ih[H:2 * H] = value
            b_hh[H:2 * H] = 0.0
    return len(found)


# --------------------------------------------------------------------------- exercise 6
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def parameter_count(kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    bidirectional: bool = False) -> int:
    """The number of parameters of nn.RNN / nn.GRU / nn.LSTM(input_size, hidden_size,
    num_layers, bidirectional=bidirectional) (with biases)."""
    if kind not in GATES:
        raise ValueError(f"kind must be 'rnn', 'gru' or 'lstm', got {kind!r}")
    if input_size < 1 or hidden_size < 1 or num_layers < 1:
        raise ValueError("input_size, hidden_size and num_layers must be >= 1")
    G, H, dirs = GATES[kind], hidden_size, 2 if bidirectional else 1
    first = G * H * (input_size + H + 2)
    return dirs * (first + (num_layers - 1) * G * H * (dirs * H + H + 2))


# --------------------------------------------------------------------------- exercise 7
def _nn():
    import torch
    return torch.nn


class CharLSTM(_nn().Module):
    """Embedding -> dropout -> nn.LSTM(num_layers, dropout between layers) -> dropout ->
    Linear; the forget bias of every layer is 1 at construction."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=2, dropout=0.0):
        import torch.nn as nn

        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.out = nn.Linear(hidden_size, vocab_size)
        init_forget_bias(self.lstm, 1.0)

    def forward(self, ids, state=None):
        outputs, state = self.lstm(self.drop(self.embed(ids)), state)
        return self.out(self.drop(outputs)), state


# --------------------------------------------------------------------------- exercise 8
def text_features(text: str) -> dict:
    """Per-character features of a play's text: "to_line_end", "word_position", "in_speech"
    (float64 arrays of len(text)); see the notebook's docstring for the definitions."""
    import numpy as np

    n = len(text)
    to_end = np.zeros(n)
    word = np.zeros(n)
    speech = np.zeros(n)
    run = 0
    for t, ch in enumerate(text):
        if ch.isalpha() or ch == "'":
            word[t] = run
            run += 1
        else:
            run = 0
    start, previous_blank, in_speech = 0, True, False
    while start < n:
        end = text.find("\n", start)
        line_end = n if end < 0 else end          # where the line's text ends (its newline, or the end)
        stop = n if end < 0 else end + 1          # the line's characters and its newline
        to_end[start:stop] = line_end - np.arange(start, stop)
        line = text[start:line_end]
        blank = line.strip() == ""
        if blank:
            in_speech = False
        elif previous_blank and line.endswith(":"):
            in_speech = True                      # a speaker line: the lines after it are the speech
        elif in_speech:
            speech[start:stop] = 1.0
        previous_blank = blank
        start = stop
    return {"to_line_end": to_end, "word_position": word, "in_speech": speech}


# --------------------------------------------------------------------------- exercise 9
class SpaceRestorer(_nn().Module):
    """Embedding -> (bi)LSTM over the packed sequence -> Linear to 2 classes per character."""

    def __init__(self, vocab_size, embed_size, hidden_size, bidirectional=True):
        import torch.nn as nn

        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), 2)

    def forward(self, ids, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        packed = pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, _ = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
        return self.out(outputs)


# --------------------------------------------------------------------------- exercise 10
def tune_and_score(kind: str, T: int, lrs, *, hidden_size: int, steps: int, seeds=(0, 1, 2),
                   device: str = "cpu") -> dict:
    """One recipe at one lag of the adding problem, tuned on validation and scored on test:
    one model per learning rate with ``seeds[0]``, the lowest validation MSE kept (a
    non-finite MSE loses to any number; the first of ``lrs`` wins a tie), the other seeds
    trained with it, the median test MSE over the seeds reported."""
    import math

    import numpy as np

    from rnncourse import longrange as L

    lrs, seeds = list(lrs), list(seeds)
    if not lrs or not seeds:
        raise ValueError("lrs and seeds must not be empty")
    if kind not in L.RECIPES or L.RECIPES[kind].init is not None:
        raise ValueError(f"kind must be a recipe of longrange.RECIPES without an init scheme, got {kind!r}")
    clip = L.RECIPES[kind].clip
    xv, yv = L.held_out_set(T, seed=L.VALID_SEED)
    xt, yt = L.held_out_set(T, seed=L.TEST_SEED)

    def trained(lr, s):
        model = L.make_model(kind, hidden_size, seed=s)
        L.train(model, T, steps=steps, lr=lr, clip=clip, seed=s, device=device)
        return model

    first = {lr: trained(lr, seeds[0]) for lr in lrs}
    valid = {lr: L.held_out_mse(first[lr], xv, yv, device) for lr in lrs}
    best = min(lrs, key=lambda lr: valid[lr] if math.isfinite(valid[lr]) else math.inf)
    models = [first[best]] + [trained(best, s) for s in seeds[1:]]
    test = [L.held_out_mse(m, xt, yt, device) for m in models]
    return {"lr": best, "valid_mse": valid, "test_mses": test, "mse": float(np.median(test))}


def longest_solved_lag(mse_by_lag: dict, solved_below: float | None = None):
    """The longest lag T whose MSE is below ``solved_below`` (default: 10% of the baseline
    1/6), or None when none is; NaN is never solved."""
    from rnncourse import longrange as L

    limit = L.SOLVED_FRACTION * L.BASELINE_MSE if solved_below is None else solved_below
    solved = [T for T, mse in mse_by_lag.items() if mse < limit]
    return max(solved) if solved else None
