"""Planted bugs and correct alternatives for chapter 5's exercises.

Tables keyed by a label, each entry ``(answer cell, source)``:

* ``BUGS``: plausible student mistakes, at most two per answer cell; grading a submission
  with them must cost exactly their exercises' points (tests/test_grading.py);
* ``MORE_BUGS``: one per promise of a docstring the checks settle (dtypes, arguments left
  alone, both biases, the layers' order, initial states None, the exceptions), caught
  in-process (tests/test_checks_ch05.py) and compared notebook-vs-grader
  (tests/test_verdicts.py);
* ``ALTERNATIVES``: correct solutions written differently from the notebook's; they must pass.

Sources run in the notebook's namespace (np, torch).
"""


def _edit(src: str, *edits: tuple[str, str]) -> str:
    """``src`` with some text replaced (each old text must occur exactly once)."""
    for old, new in edits:
        assert src.count(old) == 1, old
        src = src.replace(old, new)
    return src


_SHAPES = '''
    if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]:
        raise ValueError("x (B, D), h (B, H)")
    H, D = h.shape[1], x.shape[1]
    if W_ih.shape != (G * H, D) or W_hh.shape != (G * H, H) or b_ih.shape != (G * H,) or b_hh.shape != (G * H,):
        raise ValueError("weights")
'''

# --------------------------------------------------------------------------- exercise 1
_LSTM = '''
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    G = 4''' + _SHAPES + '''    if c.shape != h.shape:
        raise ValueError("c (B, H)")
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next
'''

# --------------------------------------------------------------------------- exercise 2
_GRU = '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    G = 3''' + _SHAPES + '''    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h
'''

# --------------------------------------------------------------------------- exercises 3, 4
_LSTM_SEQ = '''
def lstm_sequence(xs, h0, c0, layers):
    if xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0:
        raise ValueError("xs (B, T, D), T >= 1, layers")
    B, T, _ = xs.shape
    L, H = len(layers), layers[0][1].shape[1]
    if h0 is None:
        h0 = torch.zeros(L, B, H, dtype=xs.dtype)
    if c0 is None:
        c0 = torch.zeros(L, B, H, dtype=xs.dtype)
    if h0.shape != (L, B, H) or c0.shape != (L, B, H):
        raise ValueError("states (L, B, H)")
    inp, hs, cs = xs, [], []
    for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(layers):
        if [tuple(w.shape) for w in (W_ih, W_hh, b_ih, b_hh)] != [(4 * H, inp.shape[2]), (4 * H, H), (4 * H,), (4 * H,)]:
            raise ValueError("weights")
        h, c, outs = h0[k], c0[k], []
        for t in range(T):
            gates = inp[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        inp = torch.stack(outs, dim=1)
        hs.append(h)
        cs.append(c)
    return inp, (torch.stack(hs), torch.stack(cs))
'''

_GRU_SEQ = '''
def gru_sequence(xs, h0, layers):
    if xs.ndim != 3 or xs.shape[1] == 0 or len(layers) == 0:
        raise ValueError("xs (B, T, D), T >= 1, layers")
    B, T, _ = xs.shape
    L, H = len(layers), layers[0][1].shape[1]
    if h0 is None:
        h0 = torch.zeros(L, B, H, dtype=xs.dtype)
    if h0.shape != (L, B, H):
        raise ValueError("h0 (L, B, H)")
    inp, hs = xs, []
    for k, (W_ih, W_hh, b_ih, b_hh) in enumerate(layers):
        if [tuple(w.shape) for w in (W_ih, W_hh, b_ih, b_hh)] != [(3 * H, inp.shape[2]), (3 * H, H), (3 * H,), (3 * H,)]:
            raise ValueError("weights")
        h, outs = h0[k], []
        for t in range(T):
            x_r, x_z, x_n = (inp[:, t] @ W_ih.T + b_ih).chunk(3, dim=1)
            h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
            outs.append(h)
        inp = torch.stack(outs, dim=1)
        hs.append(h)
    return inp, torch.stack(hs)
'''

# --------------------------------------------------------------------------- exercise 5
_FORGET = '''
def init_forget_bias(model, value=1.0):
    pairs = []
    for m in model.modules():
        if isinstance(m, torch.nn.LSTM):
            if not m.bias:
                raise ValueError("no biases")
            for k in range(m.num_layers):
                for sfx in ("", "_reverse") if m.bidirectional else ("",):
                    pairs.append((getattr(m, f"bias_ih_l{k}{sfx}"), getattr(m, f"bias_hh_l{k}{sfx}"), m.hidden_size))
        elif isinstance(m, torch.nn.LSTMCell):
            if not m.bias:
                raise ValueError("no cell biases")
            pairs.append((m.bias_ih, m.bias_hh, m.hidden_size))
    with torch.no_grad():
        for b_ih, b_hh, H in pairs:
            b_ih[H:2 * H].fill_(value)
            b_hh[H:2 * H].zero_()
    return len(pairs)
'''

# --------------------------------------------------------------------------- exercise 6
_COUNT = '''
def parameter_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False):
    gates = {"rnn": 1, "gru": 3, "lstm": 4}
    if kind not in gates:
        raise ValueError("kind")
    if min(input_size, hidden_size, num_layers) < 1:
        raise ValueError("sizes")
    dirs = 2 if bidirectional else 1
    total, D = 0, input_size
    for _ in range(num_layers):
        total += dirs * gates[kind] * hidden_size * (D + hidden_size + 2)
        D = dirs * hidden_size
    return total
'''

# --------------------------------------------------------------------------- exercise 7
_CHAR = '''
class CharLSTM(torch.nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=2, dropout=0.0):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, embed_size)
        self.drop = torch.nn.Dropout(dropout)
        self.lstm = torch.nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True,
                                  dropout=dropout if num_layers > 1 else 0.0)
        self.out = torch.nn.Linear(hidden_size, vocab_size)
        H = hidden_size
        with torch.no_grad():
            for k in range(num_layers):
                getattr(self.lstm, f"bias_ih_l{k}")[H:2 * H] = 1.0
                getattr(self.lstm, f"bias_hh_l{k}")[H:2 * H] = 0.0

    def forward(self, ids, state=None):
        outputs, state = self.lstm(self.drop(self.embed(ids)), state)
        return self.out(self.drop(outputs)), state
'''

# --------------------------------------------------------------------------- exercise 8
_FEATURES = '''
def text_features(text):
    n = len(text)
    to_end, word, speech = np.zeros(n), np.zeros(n), np.zeros(n)
    run = 0
    for t, ch in enumerate(text):
        if ch.isalpha() or ch == "'":
            word[t] = run
            run += 1
        else:
            run = 0
    position, previous_blank, inside = 0, True, False
    lines = text.split("\\n")
    for i, line in enumerate(lines):
        width = len(line) + (0 if i == len(lines) - 1 else 1)
        for j in range(width):
            to_end[position + j] = len(line) - j
        blank = line.strip(" ") == ""
        if blank:
            inside = False
        elif previous_blank and line.endswith(":"):
            inside = True
        elif inside:
            speech[position:position + width] = 1.0
        previous_blank = blank
        position += width
    return {"to_line_end": to_end, "word_position": word, "in_speech": speech}
'''

# --------------------------------------------------------------------------- exercise 9
_SPACES = '''
class SpaceRestorer(torch.nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, bidirectional):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, embed_size)
        self.lstm = torch.nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.out = torch.nn.Linear(hidden_size * (2 if bidirectional else 1), 2)

    def forward(self, ids, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        packed = pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, _ = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
        return self.out(outputs)
'''

# --------------------------------------------------------------------------- exercise 10
_TUNE = """
def tune_and_score(kind, T, lrs, *, hidden_size, steps, seeds=(0, 1, 2), device="cpu"):
    lrs, seeds = list(lrs), list(seeds)
    if not lrs or not seeds:
        raise ValueError("lrs and seeds must each hold at least one value")
    if kind not in longrange.RECIPES or longrange.RECIPES[kind].init is not None:
        raise ValueError(f"kind must be 'tanh', 'tanh+clip', 'lstm' or 'gru', got {kind!r}")
    clip = longrange.RECIPES[kind].clip

    def trained(lr, seed):
        model = longrange.make_model(kind, hidden_size, seed=seed)
        longrange.train(model, T, steps=steps, lr=lr, clip=clip, seed=seed, device=device)
        return model

    x_valid, y_valid = longrange.held_out_set(T, seed=longrange.VALID_SEED)
    x_test, y_test = longrange.held_out_set(T)
    first = {}
    valid_mse = {}
    for lr in lrs:
        first[lr] = trained(lr, seeds[0])
        valid_mse[lr] = longrange.held_out_mse(first[lr], x_valid, y_valid, device)
    best = lrs[0]
    for lr in lrs[1:]:
        mine, theirs = valid_mse[lr], valid_mse[best]
        if np.isfinite(mine) and (not np.isfinite(theirs) or mine < theirs):
            best = lr
    models = [first[best]] + [trained(best, seed) for seed in seeds[1:]]
    test_mses = [longrange.held_out_mse(m, x_test, y_test, device) for m in models]
    return {"lr": best, "valid_mse": valid_mse, "test_mses": test_mses, "mse": float(np.median(test_mses))}
"""

_LONGEST = """
def longest_solved_lag(mse_by_lag, solved_below=longrange.SOLVED_FRACTION * longrange.BASELINE_MSE):
    solved = [T for T, mse in mse_by_lag.items() if mse < solved_below]
    return max(solved) if solved else None
"""

_TUNE_ON_TEST = _edit(_TUNE, ("        valid_mse[lr] = longrange.held_out_mse(first[lr], x_valid, y_valid, device)\n",
                              "        valid_mse[lr] = longrange.held_out_mse(first[lr], x_test, y_test, device)\n"))

BUGS = {
    "lstm_gate_order_ifog": ("lstm_cell", _edit(_LSTM, ("i, f, g, o = gates.chunk", "i, f, o, g = gates.chunk"))),
    "lstm_returns_c_h": ("lstm_cell", _edit(_LSTM, ("return h_next, c_next", "return c_next, h_next"))),
    "gru_other_convention": ("gru_cell", _edit(_GRU, ("return (1 - z) * n + z * h", "return z * n + (1 - z) * h"))),
    "gru_reset_after_bias": ("gru_cell", _edit(
        _GRU, ("    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)\n",
               "    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)\n    b_hn = b_hh.chunk(3)[2]\n"),
        ("n = torch.tanh(x_n + r * h_n)", "n = torch.tanh(x_n + r * (h_n - b_hn) + b_hn)"))),
    "lstm_seq_forget_bias_on_input_gate": ("lstm_sequence", _edit(
        _LSTM_SEQ, ("i, f, g, o = gates.chunk(4, dim=1)", "f, i, g, o = gates.chunk(4, dim=1)"))),
    "gru_seq_layers_reversed": ("gru_sequence", _edit(
        _GRU_SEQ, ("enumerate(layers):", "enumerate(layers[::-1]):"))),
    "forget_bias_wrong_rows": ("init_forget_bias", _edit(
        _FORGET, ('[H:2 * H].fill_(value)', '[:H].fill_(value)'), ('[H:2 * H].zero_()', '[:H].zero_()'))),
    "forget_bias_no_reverse": ("init_forget_bias", _edit(
        _FORGET, ('("", "_reverse") if m.bidirectional else ("",)', '("",)'))),
    "count_one_bias": ("parameter_count", _edit(_COUNT, ("(D + hidden_size + 2)", "(D + hidden_size + 1)"))),
    "count_bidirectional_reads_H": ("parameter_count", _edit(_COUNT, ("D = dirs * hidden_size", "D = hidden_size"))),
    "char_lstm_no_forget_bias": ("CharLSTM", _edit(
        _CHAR, ('                getattr(self.lstm, f"bias_ih_l{k}")[H:2 * H] = 1.0\n', '                pass\n'))),
    "char_lstm_ignores_state": ("CharLSTM", _edit(
        _CHAR, ("outputs, state = self.lstm(self.drop(self.embed(ids)), state)",
                "outputs, state = self.lstm(self.drop(self.embed(ids)))"))),
    "features_speaker_line_in_speech": ("text_features", _edit(
        _FEATURES, ("            inside = True\n", "            inside = True\n            speech[position:position + width] = 1.0\n"))),
    "features_to_end_off_by_one": ("text_features", _edit(_FEATURES, ("len(line) - j", "len(line) - j - 1"))),
    "spaces_no_packing": ("SpaceRestorer", _edit(
        _SPACES, ("        packed = pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
                  "        outputs, _ = self.lstm(packed)\n"
                  "        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])\n",
                  "        outputs, _ = self.lstm(self.embed(ids))\n"))),
    "spaces_ignores_bidirectional": ("SpaceRestorer", _edit(
        _SPACES, ("batch_first=True, bidirectional=bidirectional)", "batch_first=True, bidirectional=True)"),
        ("hidden_size * (2 if bidirectional else 1)", "hidden_size * 2"))),
    "tune_selects_on_test": ("tune_and_score", _TUNE_ON_TEST),
    "tune_ignores_clip": ("tune_and_score", _edit(_TUNE, ("    clip = longrange.RECIPES[kind].clip\n", "    clip = None\n"))),
    "longest_first_failure": ("longest_solved_lag", """
def longest_solved_lag(mse_by_lag, solved_below=longrange.SOLVED_FRACTION * longrange.BASELINE_MSE):
    best = None
    for T in sorted(mse_by_lag):
        if not mse_by_lag[T] < solved_below:
            break
        best = T
    return best
"""),
    "longest_at_threshold_solved": ("longest_solved_lag", _edit(_LONGEST, ("mse < solved_below", "mse <= solved_below"))),
}

MORE_BUGS = {
    # exercise 1
    "lstm_ignores_b_hh": ("lstm_cell", _edit(_LSTM, ("+ h @ W_hh.T + b_hh", "+ h @ W_hh.T"))),
    "lstm_in_place_c": ("lstm_cell", _edit(
        _LSTM, ("c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)",
                "c_next = c.mul_(torch.sigmoid(f)).add_(torch.sigmoid(i) * torch.tanh(g))"))),
    "lstm_in_place_h": ("lstm_cell", _edit(
        _LSTM, ("h_next = torch.sigmoid(o) * torch.tanh(c_next)", "h_next = h.copy_(torch.sigmoid(o) * torch.tanh(c_next))"))),
    "lstm_float32_output": ("lstm_cell", _edit(_LSTM, ("return h_next, c_next", "return h_next.float(), c_next.float()"))),
    "lstm_no_shape_checks": ("lstm_cell", _edit(_LSTM, (_SHAPES.split("\n", 1)[1], "    H = h.shape[1]\n"))),
    "lstm_numpy_output": ("lstm_cell", _edit(_LSTM, ("return h_next, c_next", "return h_next.numpy(), c_next.numpy()"))),
    # exercise 2
    "gru_ignores_b_hh": ("gru_cell", _edit(_GRU, ("(h @ W_hh.T + b_hh)", "(h @ W_hh.T)"))),
    "gru_gate_order_zrn": ("gru_cell", _edit(_GRU, ("x_r, x_z, x_n =", "x_z, x_r, x_n ="), ("h_r, h_z, h_n =", "h_z, h_r, h_n ="))),
    "gru_in_place_h": ("gru_cell", _edit(_GRU, ("return (1 - z) * n + z * h", "return h.mul_(z).add_((1 - z) * n)"))),
    "gru_float32_output": ("gru_cell", _edit(_GRU, ("return (1 - z) * n + z * h", "return ((1 - z) * n + z * h).float()"))),
    "gru_no_shape_checks": ("gru_cell", _edit(_GRU, (_SHAPES.split("\n", 1)[1], ""))),
    # exercise 3
    "lstm_seq_layers_reversed": ("lstm_sequence", _edit(_LSTM_SEQ, ("enumerate(layers):", "enumerate(layers[::-1]):"))),
    "lstm_seq_last_layer_only_state": ("lstm_sequence", _edit(
        _LSTM_SEQ, ("return inp, (torch.stack(hs), torch.stack(cs))",
                    "return inp, (torch.stack([hs[-1]] * L), torch.stack([cs[-1]] * L))"))),
    "lstm_seq_ignores_h0": ("lstm_sequence", _edit(_LSTM_SEQ, ("h, c, outs = h0[k], c0[k], []", "h, c, outs = 0 * h0[k], c0[k], []"))),
    "lstm_seq_in_place_h0": ("lstm_sequence", _edit(
        _LSTM_SEQ, ("            outs.append(h)\n", "            outs.append(h)\n            h0[k] = h\n"),
        ("h, c, outs = h0[k], c0[k], []", "h, c, outs = h0[k].clone(), c0[k], []"))),
    "lstm_seq_float32": ("lstm_sequence", _edit(_LSTM_SEQ, ("return inp, (", "return inp.float(), ("))),
    "lstm_seq_accepts_T0": ("lstm_sequence", _edit(_LSTM_SEQ, ("xs.ndim != 3 or xs.shape[1] == 0 or", "xs.ndim != 3 or"),
                                                  ("return inp, (torch.stack(hs)", "return (inp if T else xs[..., :H]), (torch.stack(hs)"))),
    "lstm_seq_no_state_check": ("lstm_sequence", _edit(
        _LSTM_SEQ, ("    if h0.shape != (L, B, H) or c0.shape != (L, B, H):\n        raise ValueError(\"states (L, B, H)\")\n", ""))),
    # exercise 4
    "gru_seq_ignores_b_hh": ("gru_sequence", _edit(_GRU_SEQ, ("(h @ W_hh.T + b_hh)", "(h @ W_hh.T)"))),
    "gru_seq_outputs_of_first_layer": ("gru_sequence", _edit(
        _GRU_SEQ, ("    inp, hs = xs, []\n", "    inp, hs, first = xs, [], None\n"),
        ("        inp = torch.stack(outs, dim=1)\n", "        inp = torch.stack(outs, dim=1)\n"
                                                     "        first = inp if first is None else first\n"),
        ("return inp, torch.stack(hs)", "return first, torch.stack(hs)"))),
    "gru_seq_in_place_xs": ("gru_sequence", _edit(
        _GRU_SEQ, ("            outs.append(h)\n", "            outs.append(h)\n"
                                                   "            if k == 0 and xs.shape[2] == H:\n                xs[:, t] = h\n"))),
    "gru_seq_none_breaks": ("gru_sequence", _edit(
        _GRU_SEQ, ("    if h0 is None:\n        h0 = torch.zeros(L, B, H, dtype=xs.dtype)\n", ""))),
    "gru_seq_no_state_check": ("gru_sequence", _edit(
        _GRU_SEQ, ("    if h0.shape != (L, B, H):\n        raise ValueError(\"h0 (L, B, H)\")\n", ""))),
    "gru_seq_float64_zeros": ("gru_sequence", _edit(
        _GRU_SEQ, ("h0 = torch.zeros(L, B, H, dtype=xs.dtype)", "h0 = torch.zeros(L, B, H, dtype=torch.float64)"))),
    # exercise 5
    "forget_bias_both_sides": ("init_forget_bias", _edit(_FORGET, ('[H:2 * H].zero_()', '[H:2 * H].fill_(value)'))),
    "forget_bias_first_layer_only": ("init_forget_bias", _edit(_FORGET, ("range(m.num_layers)", "range(1)"))),
    "forget_bias_keeps_hh": ("init_forget_bias", _edit(_FORGET, ('            b_hh[H:2 * H].zero_()\n', ''))),
    "forget_bias_whole_bias": ("init_forget_bias", _edit(_FORGET, ('b_ih[H:2 * H].fill_(value)', 'b_ih.fill_(value)'))),
    "forget_bias_default_0": ("init_forget_bias", _edit(_FORGET, ("value=1.0", "value=0.0"))),
    "forget_bias_returns_model": ("init_forget_bias", _edit(_FORGET, ("    return len(pairs)\n", "    return model\n"))),
    "forget_bias_returns_none": ("init_forget_bias", _edit(_FORGET, ("    return len(pairs)\n", ""))),
    "forget_bias_top_module_only": ("init_forget_bias", _edit(_FORGET, ("for m in model.modules():", "for m in [model]:"))),
    "forget_bias_skips_cells": ("init_forget_bias", _edit(_FORGET, ("elif isinstance(m, torch.nn.LSTMCell):", "elif False:"))),
    "forget_bias_touches_gru": ("init_forget_bias", _FORGET.replace("    return len(pairs)\n", """\
        for m in model.modules():
            if isinstance(m, torch.nn.GRU):
                m.bias_hh_l0[m.hidden_size:2 * m.hidden_size].zero_()
    return len(pairs)
""")),
    "forget_bias_no_bias_check": ("init_forget_bias", _edit(
        _FORGET, ('            if not m.bias:\n                raise ValueError("no biases")\n', '            if not m.bias:\n                continue\n'))),
    # exercise 6
    "count_no_bias": ("parameter_count", _edit(_COUNT, ("(D + hidden_size + 2)", "(D + hidden_size)"))),
    "count_input_every_layer": ("parameter_count", _edit(_COUNT, ("        D = dirs * hidden_size\n", ""))),
    "count_float": ("parameter_count", _edit(_COUNT, ("    return total\n", "    return float(total)\n"))),
    "count_case_insensitive": ("parameter_count", _edit(
        _COUNT, ("    if kind not in gates:", "    kind = kind.lower()\n    if kind not in gates:"))),
    "count_no_size_check": ("parameter_count", _edit(
        _COUNT, ("    if min(input_size, hidden_size, num_layers) < 1:\n        raise ValueError(\"sizes\")\n", ""))),
    "count_gru_as_lstm": ("parameter_count", _edit(_COUNT, ('"gru": 3', '"gru": 4'))),
    "count_bidirectional_ignored": ("parameter_count", _edit(_COUNT, ("dirs = 2 if bidirectional else 1", "dirs = 1"))),
    # exercise 7
    "char_lstm_dropout_only_in_lstm": ("CharLSTM", _edit(_CHAR, ("self.drop = torch.nn.Dropout(dropout)",
                                                                  "self.drop = torch.nn.Dropout(0.0)"))),
    "char_lstm_dropout_always_on": ("CharLSTM", _edit(
        _CHAR, ("        return self.out(self.drop(outputs)), state",
                "        return self.out(torch.nn.functional.dropout(outputs, self.drop.p, training=True)), state"))),
    "char_lstm_no_lstm_dropout": ("CharLSTM", _edit(_CHAR, ("dropout=dropout if num_layers > 1 else 0.0", "dropout=0.0"))),
    "char_lstm_default_one_layer": ("CharLSTM", _edit(_CHAR, ("num_layers=2, dropout", "num_layers=1, dropout"))),
    "char_lstm_returns_c_only": ("CharLSTM", _edit(_CHAR, ("return self.out(self.drop(outputs)), state",
                                                           "return self.out(self.drop(outputs)), (state[1], state[0])"))),
    "char_lstm_bidirectional": ("CharLSTM", _edit(
        _CHAR, ("batch_first=True,\n", "batch_first=True, bidirectional=True,\n"),
        ("torch.nn.Linear(hidden_size, vocab_size)", "torch.nn.Linear(2 * hidden_size, vocab_size)"))),
    "char_lstm_forget_bias_first_layer": ("CharLSTM", _edit(_CHAR, ("for k in range(num_layers):", "for k in range(1):"))),
    "char_lstm_reads_from_c": ("CharLSTM", _edit(
        _CHAR, ("        return self.out(self.drop(outputs)), state",
                "        return self.out(self.drop(state[1][-1]))[:, None].expand(-1, ids.shape[1], -1), state"))),
    # exercise 8
    "features_int_dtype": ("text_features", _edit(_FEATURES, ("np.zeros(n), np.zeros(n), np.zeros(n)",
                                                              "np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)"))),
    "features_ascii_letters": ("text_features", _edit(_FEATURES, ('ch.isalpha() or ch == "\'"', '(ch.isascii() and ch.isalpha()) or ch == "\'"'))),
    "features_no_apostrophe": ("text_features", _edit(_FEATURES, (' or ch == "\'"', ''))),
    "features_blank_needs_empty": ("text_features", _edit(_FEATURES, ('blank = line.strip(" ") == ""', 'blank = line == ""'))),
    "features_any_colon_line": ("text_features", _edit(_FEATURES, ("elif previous_blank and line.endswith(\":\"):",
                                                                  "elif line.endswith(\":\"):"))),
    "features_newline_not_in_speech": ("text_features", _edit(_FEATURES, ("speech[position:position + width] = 1.0",
                                                                         "speech[position:position + len(line)] = 1.0"))),
    "features_last_line_ends_at_zero": ("text_features", _edit(
        _FEATURES, ("to_end[position + j] = len(line) - j", "to_end[position + j] = len(line) - j - (i == len(lines) - 1)"))),
    "features_keys_extra": ("text_features", _edit(
        _FEATURES, ('"in_speech": speech}', '"in_speech": speech, "line_start": (to_end == 0).astype(float)}'))),
    # exercise 9
    "spaces_sorted_packing": ("SpaceRestorer", _edit(_SPACES, ("enforce_sorted=False", "enforce_sorted=True"))),
    "spaces_batch_norm_across_items": ("SpaceRestorer", _edit(
        _SPACES, ("        return self.out(outputs)", "        return self.out(outputs - outputs.mean(0, keepdim=True))"))),
    "spaces_padding_embedding_unmasked_mean": ("SpaceRestorer", _edit(
        _SPACES, ("        return self.out(outputs)",
                  "        return self.out(outputs + self.embed(ids).mean(1, keepdim=True).sum(-1, keepdim=True))"))),
    "spaces_one_class": ("SpaceRestorer", _edit(_SPACES, ("self.out = torch.nn.Linear(hidden_size * (2 if bidirectional else 1), 2)",
                                                          "self.out = torch.nn.Linear(hidden_size * (2 if bidirectional else 1), 1)"))),
    # exercise 10
    "tune_reports_validation": ("tune_and_score", _edit(
        _TUNE, ("test_mses = [longrange.held_out_mse(m, x_test, y_test, device)", "test_mses = [longrange.held_out_mse(m, x_valid, y_valid, device)"))),
    "tune_mean": ("tune_and_score", _edit(_TUNE, ('float(np.median(test_mses))', 'float(np.mean(test_mses))'))),
    "tune_one_seed_for_all": ("tune_and_score", _edit(_TUNE, ("[trained(best, seed) for seed in seeds[1:]]",
                                                              "[trained(best, seeds[0]) for seed in seeds[1:]]"))),
    "tune_other_seeds_first_rate": ("tune_and_score", _edit(_TUNE, ("[trained(best, seed) for seed in seeds[1:]]",
                                                                    "[trained(lrs[0], seed) for seed in seeds[1:]]"))),
    "tune_nan_wins_when_first": ("tune_and_score", _edit(
        _TUNE, ("        if np.isfinite(mine) and (not np.isfinite(theirs) or mine < theirs):\n",
                "        if mine < theirs:\n"))),
    "tune_argmin_nan": ("tune_and_score", _edit(
        _TUNE, ("    best = lrs[0]\n", "    best = lrs[int(np.argmin([valid_mse[lr] for lr in lrs]))]\n"),
        ("        if np.isfinite(mine) and (not np.isfinite(theirs) or mine < theirs):\n", "        if False:\n"))),
    "tune_last_on_tie": ("tune_and_score", _edit(
        _TUNE, ("(not np.isfinite(theirs) or mine < theirs)", "(not np.isfinite(theirs) or mine <= theirs)"))),
    "tune_valid_of_kept_only": ("tune_and_score", _edit(_TUNE, ('"valid_mse": valid_mse,', '"valid_mse": {best: valid_mse[best]},'))),
    "tune_no_kind_check": ("tune_and_score", _edit(
        _TUNE, ("    if kind not in longrange.RECIPES or longrange.RECIPES[kind].init is not None:\n"
                "        raise ValueError(f\"kind must be 'tanh', 'tanh+clip', 'lstm' or 'gru', got {kind!r}\")\n", ""))),
    "tune_fresh_validation_draw": ("tune_and_score", _edit(
        _TUNE, ("longrange.held_out_set(T, seed=longrange.VALID_SEED)", "longrange.held_out_set(T, seed=1)"))),
    "longest_in_dict_order": ("longest_solved_lag", """
def longest_solved_lag(mse_by_lag, solved_below=longrange.SOLVED_FRACTION * longrange.BASELINE_MSE):
    best = None
    for T, mse in mse_by_lag.items():
        if mse < solved_below:
            best = T
    return best
"""),
    "longest_nan_solved": ("longest_solved_lag", _edit(_LONGEST, ("if mse < solved_below", "if not mse >= solved_below"))),
    "longest_zero_for_none": ("longest_solved_lag", _edit(_LONGEST, ("else None", "else 0"))),
    "longest_default_is_baseline": ("longest_solved_lag", _edit(
        _LONGEST, ("solved_below=longrange.SOLVED_FRACTION * longrange.BASELINE_MSE", "solved_below=longrange.BASELINE_MSE"))),
    "longest_float_lag": ("longest_solved_lag", _edit(_LONGEST, ("return max(solved) if solved else None",
                                                                 "return float(max(solved)) if solved else None"))),
}

ALTERNATIVES = {
    "tune_sorted_retrain": ("tune_and_score", """
import math
import statistics

def tune_and_score(kind, T, lrs, *, hidden_size, steps, seeds=(0, 1, 2), device="cpu"):
    if kind not in ("tanh", "tanh+clip", "lstm", "gru"):
        raise ValueError(kind)
    if len(lrs) == 0 or len(seeds) == 0:
        raise ValueError("empty")
    recipe = longrange.RECIPES[kind]

    def mse_after(lr, s, which):
        torch.manual_seed(123)          # make_model seeds again: this must not matter
        m = longrange.make_model(kind, hidden_size, seed=s)
        longrange.train(m, T, steps=steps, batch_size=64, lr=lr, clip=recipe.clip, seed=s, device=device)
        x, y = longrange.held_out_set(T, 1000, seed=which)
        return longrange.held_out_mse(m.to(device), x, y, device=device, batch_size=250)

    valid = {lr: mse_after(lr, seeds[0], longrange.VALID_SEED) for lr in lrs}
    order = sorted(range(len(lrs)), key=lambda i: (not math.isfinite(valid[lrs[i]]), valid[lrs[i]] if math.isfinite(valid[lrs[i]]) else 0, i))
    best = lrs[order[0]]
    test = [mse_after(best, s, longrange.TEST_SEED) for s in seeds]      # seeds[0] trained again: the same model
    return dict(lr=best, valid_mse=valid, test_mses=test, mse=statistics.median(test))
"""),
    "longest_reversed_scan": ("longest_solved_lag", """
import math

def longest_solved_lag(mse_by_lag, solved_below=0.1 / 6):
    for T in sorted(mse_by_lag, reverse=True):
        m = mse_by_lag[T]
        if not math.isnan(m) and m < solved_below:
            return int(T)
    return None
"""),
    "lstm_numpy": ("lstm_cell", '''
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    dtype = x.dtype
    x, h, c, W_ih, W_hh, b_ih, b_hh = (t.detach().numpy() for t in (x, h, c, W_ih, W_hh, b_ih, b_hh))
    if x.ndim != 2 or h.ndim != 2 or c.shape != h.shape or len(x) != len(h):
        raise ValueError("x (B, D), h and c (B, H)")
    H = h.shape[1]
    if W_ih.shape != (4 * H, x.shape[1]) or W_hh.shape != (4 * H, H) or b_ih.shape != (4 * H,) or b_hh.shape != (4 * H,):
        raise ValueError("weights")
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))
    a = x @ W_ih.T + h @ W_hh.T + (b_ih + b_hh)
    i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    c2 = f * c + i * g
    h2 = o * np.tanh(c2)
    return torch.from_numpy(h2).to(dtype), torch.from_numpy(c2).to(dtype)
'''),
    "lstm_chunk": ("lstm_cell", _LSTM),
    "gru_linear_slices": ("gru_cell", '''
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    import torch.nn.functional as F
    if x.dim() != 2 or h.dim() != 2 or x.size(0) != h.size(0):
        raise ValueError("x (B, D), h (B, H)")
    H = h.size(1)
    if tuple(W_ih.shape) != (3 * H, x.size(1)) or tuple(W_hh.shape) != (3 * H, H) \\
            or tuple(b_ih.shape) != (3 * H,) or tuple(b_hh.shape) != (3 * H,):
        raise ValueError("weights")
    gi, gh = F.linear(x, W_ih, b_ih), F.linear(h, W_hh, b_hh)
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h - n)
'''),
    "gru_chunk": ("gru_cell", _GRU),
    "lstm_seq_chunk": ("lstm_sequence", _LSTM_SEQ),
    "gru_seq_chunk": ("gru_sequence", _GRU_SEQ),
    "forget_bias_split": ("init_forget_bias", '''
def init_forget_bias(model, value=1.0):
    # half on each side, by parameter name: the sum is what the gate sees
    count = 0
    for module in model.modules():
        if type(module).__name__ not in ("LSTM", "LSTMCell"):
            continue
        if not module.bias:
            raise ValueError("bias=False")
        H = module.hidden_size
        with torch.no_grad():
            for name, p in module.named_parameters(recurse=False):
                if name.startswith("bias_"):
                    p[H:2 * H] = value / 2
                    count += name.startswith("bias_ih")
    return count
'''),
    "count_closed_form": ("parameter_count", '''
def parameter_count(kind, input_size, hidden_size, num_layers=1, bidirectional=False):
    G = {"rnn": 1, "gru": 3, "lstm": 4}.get(kind)
    if G is None or input_size < 1 or hidden_size < 1 or num_layers < 1:
        raise ValueError("bad arguments")
    H, d = hidden_size, 1 + bool(bidirectional)
    return d * G * H * (input_size + H + 2) + (num_layers - 1) * d * G * H * (d * H + H + 2)
'''),
    "char_lstm_dict": ("CharLSTM", '''
class CharLSTM(torch.nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=2, dropout=0.0):
        super().__init__()
        self.layers = torch.nn.ModuleDict({
            "emb": torch.nn.Embedding(vocab_size, embed_size),
            "rnn": torch.nn.LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True,
                                 dropout=dropout if num_layers > 1 else 0),
            "head": torch.nn.Linear(hidden_size, vocab_size)})
        self.p = dropout
        H = hidden_size
        for name, b in self.layers["rnn"].named_parameters():
            if name.startswith("bias"):
                with torch.no_grad():
                    b[H:2 * H] = 0.5
    def forward(self, ids, state=None):
        F = torch.nn.functional
        x = F.dropout(self.layers["emb"](ids), self.p, self.training)
        y, (h, c) = self.layers["rnn"](x, state)
        return self.layers["head"](F.dropout(y, self.p, self.training)), (h, c)
'''),
    "features_regex": ("text_features", '''
def text_features(text):
    n = len(text)
    out = {k: np.zeros(n, dtype=np.float64) for k in ("to_line_end", "word_position", "in_speech")}
    i = 0
    while i < n:
        j = i
        while j < n and (text[j].isalpha() or text[j] == "'"):
            out["word_position"][j] = j - i
            j += 1
        i = j + 1 if j == i else j
    start = 0
    state = "outside"      # outside, after_speaker
    prev_blank = True
    for line in text.split("\\n"):
        end = start + len(line)
        out["to_line_end"][start:end + 1] = np.arange(len(line), -1, -1)[: min(end + 1, n) - start]
        stripped = line.strip(" ")
        if not stripped:
            state = "outside"
        elif prev_blank and line.endswith(":"):
            state = "speech"
        elif state == "speech":
            out["in_speech"][start:min(end + 1, n)] = 1
        prev_blank = not stripped
        start = end + 1
    return out
'''),
    "spaces_by_length": ("SpaceRestorer", '''
class SpaceRestorer(torch.nn.Module):
    """Runs the lines of each length together, unpadded: no packing needed."""
    def __init__(self, vocab_size, embed_size, hidden_size, bidirectional):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.rnn = torch.nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.lin = torch.nn.Linear((1 + bidirectional) * hidden_size, 2)
    def forward(self, ids, lengths):
        lengths = torch.as_tensor(lengths).to(ids.device)
        out = torch.zeros(*ids.shape, 2, device=ids.device)
        for n in sorted(set(lengths.tolist())):
            if n > 0:
                rows = torch.nonzero(lengths == n).flatten()
                y, _ = self.rnn(self.emb(ids[rows, :n]))
                out[rows, :n] = self.lin(y)
        return out
'''),
    "spaces_sorted_by_hand": ("SpaceRestorer", '''
class SpaceRestorer(torch.nn.Module):
    """Runs each line alone: slow but correct."""
    def __init__(self, vocab_size, embed_size, hidden_size, bidirectional):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.rnn = torch.nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.lin = torch.nn.Linear((1 + bidirectional) * hidden_size, 2)
    def forward(self, ids, lengths):
        B, T = ids.shape
        out = torch.zeros(B, T, 2, device=ids.device)
        for b in range(B):
            n = int(lengths[b])
            y, _ = self.rnn(self.emb(ids[b:b + 1, :n]))
            out[b, :n] = self.lin(y[0])
        return out
'''),
}
