"""Visible checks for chapter 5 (LSTM and GRU).

Each ``check_*`` takes the student's function, runs it on small cases whose answers were
worked out by hand (the arithmetic is in the comments) and on random ones compared with
PyTorch's own modules (``nn.LSTMCell``, ``nn.GRUCell``, ``nn.LSTM``, ``nn.GRU``) built here
from the same arrays, and raises :class:`~rnncourse.checks.core.CheckFailed` with a
precise message, or prints "✔ ... checks passed".

Conventions (PyTorch's): batch first, weights stacked by gate in the rows (LSTM: i, f, g, o;
GRU: r, z, n), two biases; the GRU's reset gate multiplies the hidden part of the candidate
including its bias, and h' = (1 - z) * n + z * h.

The student's functions get torch tensors (copies; the originals are kept to check that no
argument is changed) and must return tensors of the inputs' dtype.  ``init_forget_bias``
changes a live ``nn.LSTM``, so it runs where the function lives
(``rnncourse.training.init_lstm``, through ``produce``).
"""
from __future__ import annotations

import numpy as np

from .core import (CheckFailed, Report, call, check_array, check_close, check_dtype, check_raises, check_shape,
                   check_unchanged, produce, tolerance)
from .core import _is_tensor

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
F64 = dict(rtol=1e-10, atol=1e-12)      # float64 against PyTorch: only the order of additions differs


# --------------------------------------------------------------------------- helpers
def weights(rng, kind: str, D: int, H: int, scale: float = 0.8):
    """Random (W_ih, W_hh, b_ih, b_hh) float64 arrays of a ``kind`` cell."""
    G = GATES[kind]
    return (rng.normal(0, scale, (G * H, D)), rng.normal(0, scale, (G * H, H)), rng.normal(0, scale, G * H),
            rng.normal(0, scale, G * H))


def torch_cell(kind: str, x, h, c, W_ih, W_hh, b_ih, b_hh, dtype="float64"):
    """What ``nn.LSTMCell`` / ``nn.GRUCell`` with these weights gives (numpy, in ``dtype``):
    (h', c') for the LSTM, h' for the GRU."""
    import torch

    dt = getattr(torch, dtype)
    D, H = np.shape(x)[1], np.shape(h)[1]
    cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(D, H).to(dt)
    with torch.no_grad():
        for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(torch.as_tensor(np.asarray(a)))
        t = lambda a: torch.as_tensor(np.asarray(a)).to(dt)
        if kind == "lstm":
            h2, c2 = cell(t(x), (t(h), t(c)))
            return h2.numpy(), c2.numpy()
        return cell(t(x), t(h)).numpy()


def torch_sequence(kind: str, xs, h0, c0, layers, dtype="float64"):
    """What ``nn.LSTM`` / ``nn.GRU(batch_first=True, num_layers=len(layers))`` with these
    weights gives (numpy): (outputs, (h_T, c_T)) for the LSTM, (outputs, h_T) for the GRU."""
    import torch

    dt = getattr(torch, dtype)
    D, H = np.shape(xs)[2], np.shape(layers[0][1])[1]
    net = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(D, H, num_layers=len(layers), batch_first=True).to(dt)
    with torch.no_grad():
        for k, layer in enumerate(layers):
            for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), layer):
                getattr(net, f"{name}_l{k}").copy_(torch.as_tensor(np.asarray(a)))
        t = lambda a: None if a is None else torch.as_tensor(np.asarray(a)).to(dt)
        if kind == "lstm":
            state = None if h0 is None else (t(h0), t(c0))
            out, (h, c) = net(t(xs), state)
            return out.numpy(), (h.numpy(), c.numpy())
        out, h = net(t(xs), t(h0))
        return out.numpy(), h.numpy()


def _tensors(arrays, dtype: str):
    import torch

    return [None if a is None else torch.tensor(np.asarray(a), dtype=getattr(torch, dtype)) for a in arrays]


def _tensor_out(name: str, out, shape, dtype: str) -> np.ndarray:
    if not _is_tensor(out):
        raise CheckFailed(f"{name} must return torch tensors, got {type(out).__name__}")
    arr = check_array(name, out, kind="f")
    check_shape(name, arr, shape)
    return check_dtype(name, arr, np.dtype(dtype))


def _pair(name: str, out, what: str):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{name} must return a tuple {what}, got {type(out).__name__}")
    return out


def run_cell(name: str, kind: str, fn, x, h, c, W, dtype="float64"):
    """The student's cell on tensors of ``dtype``; checks the form of the result and that no
    argument changed; returns (h', c') or h' as numpy."""
    args = [x, h] + ([c] if kind == "lstm" else []) + list(W)
    names = ["x", "h"] + (["c"] if kind == "lstm" else []) + ["W_ih", "W_hh", "b_ih", "b_hh"]
    given = _tensors(args, dtype)
    kept = [a.clone() for a in given]
    out = call(name, fn, *given)
    B, H = np.shape(h)
    if kind == "lstm":
        h2, c2 = _pair(name, out, "(h_next, c_next)")
        res = (_tensor_out(f"{name}: h_next", h2, (B, H), dtype), _tensor_out(f"{name}: c_next", c2, (B, H), dtype))
    else:
        res = _tensor_out(name, out, (B, H), dtype)
    for n, a, b in zip(names, given, kept):
        check_unchanged(n, a, b, who=name)
    return res


def compare_cell(name, kind, got, expected, *, dtype="float64", hide=False, context=""):
    tol = F64 if dtype == "float64" else vars(tolerance(dtype, "cpu"))
    if kind == "lstm":
        check_close(f"{name}: h_next", got[0], expected[0], **tol, show_expected=not hide, context=context)
        check_close(f"{name}: c_next", got[1], expected[1], **tol, show_expected=not hide, context=context)
    else:
        check_close(name, got, expected, **tol, show_expected=not hide, context=context)


def _one(values, H: int, G: int):
    """Weights of a one-unit (H = 1), one-input cell: W_ih, W_hh (G, 1) and the biases."""
    return tuple(np.array(v, dtype=np.float64).reshape(s) for v, s in zip(values, ((G, 1), (G, H), (G,), (G,))))


# --------------------------------------------------------------------------- exercise 1
def check_lstm_cell(lstm_cell) -> None:
    r = Report("lstm_cell")
    name = "lstm_cell"
    x, h = np.zeros((1, 1)), np.zeros((1, 1))
    # all weights 0: every gate pre-activation is 0, so i = f = o = sigmoid(0) = 0.5 and g = tanh(0) = 0:
    #   c' = 0.5 * c + 0.5 * 0 = 0.5 * 2 = 1;  h' = 0.5 * tanh(1) = 0.380797
    with r.case("all weights 0, c = 2: i = f = o = 0.5, g = 0, so c' = 1 and h' = 0.5 tanh(1)"):
        got = run_cell(name, "lstm", lstm_cell, x, h, [[2.0]], _one(([0] * 4, [0] * 4, [0] * 4, [0] * 4), 1, 4))
        compare_cell(name, "lstm", got, ([[0.5 * np.tanh(1.0)]], [[1.0]]))
    # biases in the gate order (i, f, g, o) = (40, -40, 0.5, 40): i = 1, f = 0, o = 1 (to 1e-17), g = tanh(0.5):
    #   c' = 0 * c + 1 * tanh(0.5) = 0.462117;  h' = 1 * tanh(0.462117) = 0.431814
    b = [40.0, -40.0, 0.5, 40.0]
    with r.case("b_ih = (40, -40, 0.5, 40) in the order (i, f, g, o), c = 3: c' = tanh(0.5), h' = tanh(c')"):
        got = run_cell(name, "lstm", lstm_cell, x, h, [[3.0]], _one(([0] * 4, [0] * 4, b, [0] * 4), 1, 4))
        compare_cell(name, "lstm", got, ([[np.tanh(np.tanh(0.5))]], [[np.tanh(0.5)]]),
                     context="(PyTorch stacks the gates as rows i, f, g, o of W_ih, W_hh and the biases)")
    with r.case("the same biases given as b_hh (b_ih = 0): both biases are added"):
        got = run_cell(name, "lstm", lstm_cell, x, h, [[3.0]], _one(([0] * 4, [0] * 4, [0] * 4, b), 1, 4))
        compare_cell(name, "lstm", got, ([[np.tanh(np.tanh(0.5))]], [[np.tanh(0.5)]]))
    # forget gate open (f = 1 from b_f = 40), input gate shut (i = 0 from b_i = -40), o = 0.5: the cell keeps c
    #   c' = c = 3;  h' = 0.5 * tanh(3) = 0.497527
    with r.case("f = 1, i = 0 (biases -40, 40, 0, 0): the cell state is kept, c' = c = 3, h' = 0.5 tanh(3)"):
        got = run_cell(name, "lstm", lstm_cell, x, h, [[3.0]], _one(([0] * 4, [0] * 4, [-40.0, 40.0, 0, 0], [0] * 4), 1, 4))
        compare_cell(name, "lstm", got, ([[0.5 * np.tanh(3.0)]], [[3.0]]))
    rng = np.random.default_rng(5)
    B, D, H = 3, 4, 5
    W = weights(rng, "lstm", D, H)
    x, h, c = rng.normal(size=(B, D)), rng.normal(0, 0.5, (B, H)), rng.normal(size=(B, H))
    for dtype in ("float64", "float32"):
        with r.case(f"random B={B}, D={D}, H={H} in {dtype} against nn.LSTMCell with the same weights"):
            got = run_cell(name, "lstm", lstm_cell, x, h, c, W, dtype)
            compare_cell(name, "lstm", got, torch_cell("lstm", x, h, c, *W, dtype=dtype), dtype=dtype)
    with r.case("shapes that do not fit raise ValueError"):
        T = lambda *a: _tensors(a, "float64")
        for what, args in (("W_ih of shape (3H, D)", T(x, h, c, W[0][:3 * H], *W[1:])),
                           ("b_hh of shape (4H + 1,)", T(x, h, c, *W[:3], np.zeros(4 * H + 1))),
                           ("a 1-D x", T(x[0], h, c, *W)),
                           ("c of shape (B, H + 1)", T(x, h, np.zeros((B, H + 1)), *W))):
            check_raises(f"lstm_cell with {what}", lambda args=args: lstm_cell(*args), ValueError,
                         "the shapes do not fit")
    r.done()


# --------------------------------------------------------------------------- exercise 2
def check_gru_cell(gru_cell) -> None:
    r = Report("gru_cell")
    name = "gru_cell"
    x, h = np.zeros((1, 1)), np.array([[0.5]])
    W_hh = [0.0, 0.0, 1.0]            # only W_hn = 1
    # b_ih = (r, z, n) = (40, -40, 0): r = 1, z = 0; b_hh = (0, 0, 0.3):
    #   n = tanh(0 + r * (W_hn h + b_hn)) = tanh(1 * (0.5 + 0.3)) = tanh(0.8) = 0.664037;  h' = (1 - 0) n + 0 h = n
    with r.case("x = 0, h = 0.5, W_hn = 1, b_hn = 0.3, r = 1, z = 0 (b_ih = 40, -40, 0): h' = n = tanh(0.8)"):
        got = run_cell(name, "gru", gru_cell, x, h, None, _one(([0] * 3, W_hh, [40.0, -40.0, 0], [0, 0, 0.3]), 1, 3))
        compare_cell(name, "gru", got, [[np.tanh(0.8)]],
                     context="(gates in the order r, z, n; h' = (1 - z) * n + z * h)")
    # z = 1 (b_z = 40): h' = (1 - 1) n + 1 h = h = 0.5
    with r.case("z = 1 (b_iz = 40): h' = h = 0.5 (z is the share of the old state)"):
        got = run_cell(name, "gru", gru_cell, x, h, None, _one(([0] * 3, W_hh, [0, 40.0, 0], [0, 0, 0.3]), 1, 3))
        compare_cell(name, "gru", got, [[0.5]], context="(h' = (1 - z) * n + z * h, PyTorch's convention)")
    # r = sigmoid(0) = 0.5, z = 0: n = tanh(0 + 0.5 * (0.5 + 0.3)) = tanh(0.4) = 0.379949 (not tanh(0.5 * 0.5 + 0.3))
    with r.case("r = 0.5, z = 0: n = tanh(x_n + r * (W_hn h + b_hn)) = tanh(0.4); r multiplies b_hn too"):
        got = run_cell(name, "gru", gru_cell, x, h, None, _one(([0] * 3, W_hh, [0, -40.0, 0], [0, 0, 0.3]), 1, 3))
        compare_cell(name, "gru", got, [[np.tanh(0.4)]],
                     context="(PyTorch: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)))")
    rng = np.random.default_rng(6)
    B, D, H = 3, 2, 4
    W = weights(rng, "gru", D, H)
    x, h = rng.normal(size=(B, D)), rng.normal(0, 0.5, (B, H))
    for dtype in ("float64", "float32"):
        with r.case(f"random B={B}, D={D}, H={H} in {dtype} against nn.GRUCell with the same weights"):
            got = run_cell(name, "gru", gru_cell, x, h, None, W, dtype)
            compare_cell(name, "gru", got, torch_cell("gru", x, h, None, *W, dtype=dtype), dtype=dtype)
    with r.case("shapes that do not fit raise ValueError"):
        T = lambda *a: _tensors(a, "float64")
        for what, args in (("W_hh of shape (4H, H)", T(x, h, W[0], np.zeros((4 * H, H)), *W[2:])),
                           ("h of batch size B + 1", T(x, np.zeros((B + 1, H)), *W))):
            check_raises(f"gru_cell with {what}", lambda args=args: gru_cell(*args), ValueError,
                         "the shapes do not fit")
    r.done()


# --------------------------------------------------------------------------- exercises 3 and 4
def run_sequence(name: str, kind: str, fn, xs, h0, c0, layers, dtype="float64"):
    """The student's sequence function on tensors; checks the form of the result and that
    no argument changed; returns (outputs, (h_T, c_T)) or (outputs, h_T) as numpy."""
    B, T, _ = np.shape(xs)
    L, H = len(layers), np.shape(layers[0][1])[1]
    xs_t, h0_t, c0_t = _tensors((xs, h0, c0), dtype)
    lay_t = [tuple(_tensors(layer, dtype)) for layer in layers]
    kept = [None if a is None else a.clone() for a in (xs_t, h0_t, c0_t)]
    kept_layers = [tuple(a.clone() for a in layer) for layer in lay_t]
    args = (xs_t, h0_t, c0_t, lay_t) if kind == "lstm" else (xs_t, h0_t, lay_t)
    out, state = _pair(name, call(name, fn, *args), "(outputs, (h_T, c_T))" if kind == "lstm" else "(outputs, h_T)")
    outs = _tensor_out(f"{name}: outputs", out, (B, T, H), dtype)
    if kind == "lstm":
        h, c = _pair(name, state, "(outputs, (h_T, c_T))")
        state = (_tensor_out(f"{name}: h_T", h, (L, B, H), dtype), _tensor_out(f"{name}: c_T", c, (L, B, H), dtype))
    else:
        state = _tensor_out(f"{name}: h_T", state, (L, B, H), dtype)
    for n, a, b in zip(("xs", "h0", "c0"), (xs_t, h0_t, c0_t), kept):
        if a is not None:
            check_unchanged(n, a, b, who=name)
    for k, (layer, before) in enumerate(zip(lay_t, kept_layers)):
        for n, a, b in zip(("W_ih", "W_hh", "b_ih", "b_hh"), layer, before):
            check_unchanged(f"layers[{k}] ({n})", a, b, who=name)
    return outs, state


def compare_sequence(name, kind, got, expected, *, dtype="float64", hide=False, context=""):
    tol = F64 if dtype == "float64" else vars(tolerance(dtype, "cpu"))
    check_close(f"{name}: outputs", got[0], expected[0], **tol, show_expected=not hide, context=context)
    if kind == "lstm":
        check_close(f"{name}: h_T", got[1][0], expected[1][0], **tol, show_expected=not hide, context=context)
        check_close(f"{name}: c_T", got[1][1], expected[1][1], **tol, show_expected=not hide, context=context)
    else:
        check_close(f"{name}: h_T", got[1], expected[1], **tol, show_expected=not hide, context=context)


def random_layers(rng, kind, D, H, L, scale=0.6):
    return [weights(rng, kind, D if k == 0 else H, H, scale) for k in range(L)]


def _sequence_checks(r, name, kind, fn, seed):
    rng = np.random.default_rng(seed)
    c_of = (lambda a: a) if kind == "lstm" else (lambda a: None)
    for B, T, D, H, L, given in ((2, 4, 3, 5, 1, True), (3, 3, 2, 4, 2, True), (2, 3, 4, 3, 3, False)):
        layers = random_layers(rng, kind, D, H, L)
        xs = rng.normal(size=(B, T, D))
        h0 = rng.normal(0, 0.5, (L, B, H)) if given else None
        c0 = rng.normal(size=(L, B, H)) if given else None
        what = "given initial states" if given else "h0 = None" + (" and c0 = None (zeros)" if kind == "lstm" else " (zeros)")
        with r.case(f"random B={B}, T={T}, D={D}, H={H}, {L} layer{'s' * (L > 1)}, {what}, against "
                    f"nn.{kind.upper()}(batch_first=True)"):
            got = run_sequence(name, kind, fn, xs, h0, c_of(c0), layers)
            compare_sequence(name, kind, got, torch_sequence(kind, xs, h0, c_of(c0), layers),
                             context="(layer k reads the outputs of layer k - 1; h_T[k] is layer k's last state)")
    layers = random_layers(rng, kind, 2, 3, 2)
    xs = rng.normal(size=(1, 1, 2))
    with r.case("B = 1, T = 1, 2 layers, in float32"):
        got = run_sequence(name, kind, fn, xs, None, None, layers, "float32")
        compare_sequence(name, kind, got, torch_sequence(kind, xs, None, None, layers, "float32"), dtype="float32")
    with r.case("errors (ValueError): a 2-D xs, T = 0, an initial state of the wrong shape"):
        xs_t, = _tensors((rng.normal(size=(2, 3, 2)),), "float64")
        lay_t = [tuple(_tensors(layer, "float64")) for layer in layers]
        bad_h, = _tensors((np.zeros((1, 2, 3)),), "float64")
        extra = (None,) if kind == "lstm" else ()
        for what, args in (("a 2-D xs", (xs_t[0], None, *extra, lay_t)),
                           ("T = 0", (xs_t[:, :0], None, *extra, lay_t)),
                           ("h0 of shape (1, B, H) for 2 layers", (xs_t, bad_h, *((bad_h,) if extra else ()), lay_t))):
            check_raises(f"{name} with {what}", lambda args=args: fn(*args), ValueError, "see the docstring's Raises")


def check_lstm_sequence(lstm_sequence) -> None:
    r = Report("lstm_sequence")
    name = "lstm_sequence"
    # one unit, all weights 0: every step halves c and h_t = 0.5 tanh(c_t): c0 = 4 -> c1 = 2, c2 = 1,
    #   h1 = 0.5 tanh(2) = 0.482014, h2 = 0.5 tanh(1) = 0.380797
    with r.case("one layer, one unit, all weights 0, c0 = 4, T = 2: c = 2, 1 and h_t = 0.5 tanh(c_t)"):
        zero = [tuple(np.zeros(s) for s in ((4, 1), (4, 1), (4,), (4,)))]
        got = run_sequence(name, "lstm", lstm_sequence, np.zeros((1, 2, 1)), np.zeros((1, 1, 1)), np.full((1, 1, 1), 4.0),
                           zero)
        h1, h2 = 0.5 * np.tanh(2.0), 0.5 * np.tanh(1.0)
        compare_sequence(name, "lstm", got, ([[[h1], [h2]]], ([[[h2]]], [[[1.0]]])))
    _sequence_checks(r, name, "lstm", lstm_sequence, 7)
    r.done()


def check_gru_sequence(gru_sequence) -> None:
    r = Report("gru_sequence")
    name = "gru_sequence"
    # one unit, all weights 0: r = z = 0.5, n = tanh(0) = 0, so h_t = 0.5 h_{t-1}: h0 = 4 -> 2, 1
    with r.case("one layer, one unit, all weights 0, h0 = 4, T = 2: z = 0.5 and n = 0, so h = 2, 1"):
        zero = [tuple(np.zeros(s) for s in ((3, 1), (3, 1), (3,), (3,)))]
        got = run_sequence(name, "gru", gru_sequence, np.zeros((1, 2, 1)), np.full((1, 1, 1), 4.0), None, zero)
        compare_sequence(name, "gru", got, ([[[2.0], [1.0]]], [[[1.0]]]))
    _sequence_checks(r, name, "gru", gru_sequence, 8)
    r.done()


# --------------------------------------------------------------------------- exercise 5
def init_lstm(name, fn, D, H, L, value=None, **kw):
    result, before, after = call(name, produce, "rnncourse.training:init_lstm", fn, D, H, L, value=value, **kw)
    if result is not None:
        raise CheckFailed(f"{name} must change the LSTM in place and return None, got a {result}")
    for key, b in before.items():
        if key not in after:
            raise CheckFailed(f"{name}: the LSTM lost its parameter {key}")
        check_shape(f"{name}: {key}", after[key], b.shape)
        check_dtype(f"{name}: {key}", after[key], b.dtype)
    return before, after


def check_forget_biases(name, before, after, H, L, value, atol=1e-6):
    for k in range(L):
        ih, hh = f"bias_ih_l{k}", f"bias_hh_l{k}"
        total = after[ih][H:2 * H].astype(np.float64) + after[hh][H:2 * H]
        check_close(f"{name}: layer {k}'s forget bias bias_ih_l{k}[H:2H] + bias_hh_l{k}[H:2H]", total,
                    np.full(H, value), rtol=0, atol=atol,
                    context="(the forget gate is rows H..2H-1 of the stacked (i, f, g, o) biases, in every layer)")
        for key in (ih, hh):
            for gate, sl in (("input gate i", slice(0, H)), ("candidate g", slice(2 * H, 3 * H)),
                             ("output gate o", slice(3 * H, 4 * H))):
                _kept(name, f"the {gate} rows of lstm.{key}", after[key][sl], before[key][sl])
    for key in before:
        if key.startswith("weight"):
            _kept(name, f"lstm.{key}", after[key], before[key])


def _kept(name, what, after, before):
    if not np.array_equal(after, before):
        idx = tuple(int(i) for i in np.argwhere(after != before)[0])
        raise CheckFailed(f"{name} changed {what} (at index {idx} it was {before[idx]:.6g}, now {after[idx]:.6g}); "
                          "it must be left as it was: only the forget gate's rows H..2H-1 of the biases change")


def check_init_forget_bias(init_forget_bias) -> None:
    r = Report("init_forget_bias")
    name = "init_forget_bias"
    # H = 3: the forget rows are 3..5 of each (12,) bias; their sum becomes 1, everything else stays
    with r.case("nn.LSTM(2, 3), value left out: bias_ih_l0[3:6] + bias_hh_l0[3:6] = 1, all else unchanged"):
        before, after = init_lstm(name, init_forget_bias, 2, 3, 1)
        check_forget_biases(name, before, after, 3, 1, 1.0)
    with r.case("nn.LSTM(4, 5, num_layers=3), value = 2.5: every layer's forget bias"):
        before, after = init_lstm(name, init_forget_bias, 4, 5, 3, value=2.5)
        check_forget_biases(name, before, after, 5, 3, 2.5)
    with r.case("value = 0 and value = -1 (allowed)"):
        for v in (0.0, -1.0):
            before, after = init_lstm(name, init_forget_bias, 1, 2, 2, value=v, seed=3)
            check_forget_biases(name, before, after, 2, 2, v)
    r.done()


# --------------------------------------------------------------------------- exercise 6
def torch_count(kind: str, D: int, H: int, L: int) -> int:
    import torch

    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    return sum(p.numel() for p in cls(D, H, num_layers=L).parameters())


def counted(name, fn, *args):
    out = call(name, fn, *args)
    if isinstance(out, bool) or not isinstance(out, (int, np.integer)):
        raise CheckFailed(f"{name} must return an int, got {type(out).__name__} ({out!r})")
    return int(out)


def check_parameter_count(parameter_count) -> None:
    r = Report("parameter_count")
    name = "parameter_count"
    # LSTM(3, 2): 4 gates * 2 units * (3 inputs + 2 recurrent + 2 biases) = 8 * 7 = 56;
    # GRU: 3 * 2 * 7 = 42; RNN: 1 * 2 * 7 = 14.  A second layer reads H = 2 inputs: 4 * 2 * (2 + 2 + 2) = 48
    for kind, L, want in (("lstm", 1, 56), ("gru", 1, 42), ("rnn", 1, 14), ("lstm", 2, 56 + 48)):
        with r.case(f"{kind}, input_size 3, hidden_size 2, num_layers {L}: {want}"):
            got = counted(name, parameter_count, kind, 3, 2, L)
            if got != want:
                raise CheckFailed(f"{name}({kind!r}, 3, 2, {L}): expected {want}, got {got} (G gates * H * (D + H + 2) "
                                  "for the first layer, D = H for the others; two biases per gate)")
    with r.case("num_layers left out is 1; against torch for GRU(10, 20, num_layers=3)"):
        got = counted(name, parameter_count, "lstm", 3, 2)
        if got != 56:
            raise CheckFailed(f"{name}('lstm', 3, 2): expected 56, got {got}")
        got, want = counted(name, parameter_count, "gru", 10, 20, 3), torch_count("gru", 10, 20, 3)
        if got != want:
            raise CheckFailed(f"{name}('gru', 10, 20, 3): expected {want} (sum of p.numel() of nn.GRU), got {got}")
    with r.case("errors (ValueError): an unknown kind, hidden_size 0"):
        check_raises("parameter_count('LSTM', 3, 2)", lambda: parameter_count("LSTM", 3, 2), ValueError,
                     "the kinds are 'rnn', 'gru' and 'lstm'")
        check_raises("parameter_count('gru', 3, 0)", lambda: parameter_count("gru", 3, 0), ValueError,
                     "sizes must be >= 1")
    r.done()
