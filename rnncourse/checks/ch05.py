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
                   check_unchanged, produce, to_numpy, tolerance)
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
def init_lstm(name, fn, D, H, L, value=None, expect=None, **kw):
    """Run ``fn`` on a fresh module (``structure`` in kw, see rnncourse.training.init_lstm)
    where it lives; check it returned ``expect`` (the number of bias pairs it set) and kept
    every parameter's name, shape and dtype."""
    result, before, after = call(name, produce, "rnncourse.training:init_lstm", fn, D, H, L, value=value, **kw)
    if expect is not None and (isinstance(result, bool) or result != expect):
        got = "None" if result is None else (f"a {result}" if isinstance(result, str) else repr(result))
        raise CheckFailed(f"{name} must return the number of (bias_ih, bias_hh) pairs it set, here {expect} "
                          f"(one per layer and direction of each nn.LSTM, one per nn.LSTMCell); got {got}")
    for key, b in before.items():
        if key not in after:
            raise CheckFailed(f"{name}: the module lost its parameter {key}")
        check_shape(f"{name}: {key}", after[key], b.shape)
        check_dtype(f"{name}: {key}", after[key], b.dtype)
    return before, after


def forget_pairs(params: dict) -> list[tuple[str, str]]:
    """The (bias_ih, bias_hh) names of every LSTM layer, direction and cell among ``params``
    (GRU biases excluded: they are 3H long, LSTM ones 4H, and the caller gives the GRU's names)."""
    pairs = []
    for key in params:
        head, _, tail = key.rpartition("bias_ih")
        if tail.startswith("_l") or tail == "":
            pairs.append((key, head + "bias_hh" + tail))
    return pairs


def check_forget_biases(name, before, after, value, atol=1e-6, skip=()):
    """Every LSTM bias pair in ``before`` (names in ``skip`` are other modules' and must stay
    as they were): forget rows sum to ``value``, all other rows and all weights unchanged."""
    pairs = [p for p in forget_pairs(before) if p[0] not in skip]
    for ih, hh in pairs:
        H = before[ih].shape[0] // 4
        total = after[ih][H:2 * H].astype(np.float64) + after[hh][H:2 * H]
        check_close(f"{name}: the forget bias {ih}[H:2H] + {hh}[H:2H]", total, np.full(H, value), rtol=0, atol=atol,
                    context="(the forget gate is rows H..2H-1 of the stacked (i, f, g, o) biases, in every layer, "
                            "direction and cell)")
        for key in (ih, hh):
            for gate, sl in (("input gate i", slice(0, H)), ("candidate g", slice(2 * H, 3 * H)),
                             ("output gate o", slice(3 * H, 4 * H))):
                _kept(name, f"the {gate} rows of {key}", after[key][sl], before[key][sl])
    biases = {k for p in pairs for k in p}
    for key in before:
        if key not in biases:
            _kept(name, key, after[key], before[key])


def _kept(name, what, after, before):
    if not np.array_equal(after, before):
        idx = tuple(int(i) for i in np.argwhere(after != before)[0])
        raise CheckFailed(f"{name} changed {what} (at index {idx} it was {before[idx]:.6g}, now {after[idx]:.6g}); "
                          "it must be left as it was: only the forget gate's rows H..2H-1 of LSTM biases change")


def check_init_forget_bias(init_forget_bias) -> None:
    r = Report("init_forget_bias")
    name = "init_forget_bias"
    # H = 3: the forget rows are 3..5 of each (12,) bias; their sum becomes 1, everything else stays
    with r.case("nn.LSTM(2, 3), value left out: bias_ih_l0[3:6] + bias_hh_l0[3:6] = 1, all else unchanged; returns 1"):
        before, after = init_lstm(name, init_forget_bias, 2, 3, 1, expect=1)
        check_forget_biases(name, before, after, 1.0)
    with r.case("nn.LSTM(4, 5, num_layers=3), value = 2.5: every layer's forget bias; returns 3"):
        before, after = init_lstm(name, init_forget_bias, 4, 5, 3, value=2.5, expect=3)
        check_forget_biases(name, before, after, 2.5)
    with r.case("bidirectional nn.LSTM(3, 4, num_layers=2): both directions (bias_ih_l0_reverse, ...); returns 4"):
        before, after = init_lstm(name, init_forget_bias, 3, 4, 2, value=1.0, structure="bilstm", expect=4)
        check_forget_biases(name, before, after, 1.0)
    with r.case("an nn.LSTMCell(3, 2) (biases bias_ih, bias_hh); returns 1"):
        before, after = init_lstm(name, init_forget_bias, 3, 2, 1, structure="cell", expect=1)
        check_forget_biases(name, before, after, 1.0)
    # the model: a bidirectional 2-layer LSTM (4 pairs), two LSTMCells (2 pairs), a GRU that must stay as it is
    with r.case("a model with an embedding, a bidirectional 2-layer nn.LSTM, an nn.GRU, two nn.LSTMCell in a "
                "ModuleList and a Linear: 6 pairs set, the GRU and the rest untouched"):
        before, after = init_lstm(name, init_forget_bias, 3, 2, 2, value=1.5, structure="model", expect=6)
        check_forget_biases(name, before, after, 1.5, skip=("gru.bias_ih_l0",))
    with r.case("value = 0 and value = -1 (allowed)"):
        for v in (0.0, -1.0):
            before, after = init_lstm(name, init_forget_bias, 1, 2, 2, value=v, seed=3, expect=2)
            check_forget_biases(name, before, after, v)
    with r.case("an nn.LSTM or an nn.LSTMCell with bias=False: ValueError"):
        for structure, what in (("nobias", "nn.LSTM(bias=False)"), ("cellnobias", "nn.LSTMCell(bias=False)")):
            try:
                call(name, produce, "rnncourse.training:init_lstm", init_forget_bias, 2, 3, 1, structure=structure)
            except CheckFailed as exc:
                if "ValueError" not in str(exc):
                    raise
            else:
                raise CheckFailed(f"{name} on an {what} must raise ValueError (it has no bias to set)")
    r.done()


# --------------------------------------------------------------------------- exercise 6
def torch_count(kind: str, D: int, H: int, L: int, bidirectional: bool = False) -> int:
    import torch

    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    return sum(p.numel() for p in cls(D, H, num_layers=L, bidirectional=bidirectional).parameters())


def counted(name, fn, *args, **kwargs):
    out = call(name, fn, *args, **kwargs)
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
    # bidirectional RNN(3, 2): each direction 14 -> 28.  Two layers: the second reads both directions, 2H = 4
    # inputs: 1 * 2 * (4 + 2 + 2) = 16 per direction -> 28 + 32 = 60
    for L, want in ((1, 28), (2, 60)):
        with r.case(f"rnn, input_size 3, hidden_size 2, num_layers {L}, bidirectional: {want}"):
            got = counted(name, parameter_count, "rnn", 3, 2, L, bidirectional=True)
            if got != want:
                raise CheckFailed(f"{name}('rnn', 3, 2, {L}, bidirectional=True): expected {want}, got {got} (two "
                                  "directions per layer; a layer above the first reads both directions' outputs)")
    with r.case("num_layers and bidirectional left out are 1 and False; against torch for GRU(10, 20, num_layers=3)"):
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


# --------------------------------------------------------------------------- exercise 7
def make_model(name, cls, *args, init_seed=0, device=None):
    """The student's class instantiated where it lives (the sandbox, when grading)."""
    try:
        return produce("rnncourse.training:construct", cls, int(init_seed), *args,
                       device=str(device) if device is not None else None)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet (it still raises NotImplementedError)") from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(f"{name}(...) raised {type(exc).__name__}: {exc}") from None


def lstm_outputs(name, model, ids, **kw):
    out = call(f"{name}.forward", produce, "rnncourse.training:char_lstm_outputs", model, np.asarray(ids), **kw)
    return [tuple(np.asarray(a) for a in o) for o in out]


def one_lstm(name, model, *, L=None, H=None, D=None):
    settings = call(name, produce, "rnncourse.training:lstm_settings", model)
    if len(settings) != 1:
        raise CheckFailed(f"{name} must hold exactly one nn.LSTM (found {len(settings)})")
    s = settings[0]
    for key, want in (("num_layers", L), ("hidden_size", H), ("input_size", D)):
        if want is not None and s[key] != want:
            raise CheckFailed(f"{name}: its nn.LSTM has {key} {s[key]}, expected {want}")
    if not s["batch_first"]:
        raise CheckFailed(f"{name}: its nn.LSTM must be batch_first=True (ids are (B, T))")
    return s


def _char_lstm_shapes(name, model, rng, V, L, H, B, T, atol):
    from rnncourse import env

    dev_tol = tolerance("float32", env.device())     # when grading the model runs there (cuDNN, TF32 on CUDA)
    rtol, atol = max(1e-4, dev_tol.rtol), max(atol, dev_tol.atol)
    ids = rng.integers(0, V, (B, T))
    (logits, h, c), = lstm_outputs(name, model, ids)
    check_shape(f"{name}: logits", logits, (B, T, V))
    check_shape(f"{name}: h_T", h, (L, B, H))
    check_shape(f"{name}: c_T", c, (L, B, H))
    if T > 1:
        # two pieces, the state passed on, equal one run
        k = T // 2
        import torch
        first = call(f"{name}.forward", model, torch.as_tensor(ids[:, :k]))
        second = call(f"{name}.forward", model, torch.as_tensor(ids[:, k:]), first[1])
        check_close(f"{name}: the logits of the second half, run from the state the first half returned",
                    to_numpy(second[0]), logits[:, k:], rtol=rtol, atol=atol,
                    context="(forward(ids, state) must continue from state = (h, c))")
        # no look-ahead: the last token does not change earlier logits
        other = ids.copy()
        other[:, -1] = (other[:, -1] + 1) % V
        (l2, _, _), = lstm_outputs(name, model, other)
        check_close(f"{name}: the logits before the last step when only the last token changed", l2[:, :-1],
                    logits[:, :-1], rtol=rtol, atol=atol, context="(a step must not see later characters)")
    return ids, logits


def dropout_properties(name, cls, rng, V, E, H, L, p, init_seed=0):
    model = make_model(name, cls, V, E, H, L, p, init_seed=init_seed)
    s = one_lstm(name, model, L=L)
    if L > 1 and s["dropout"] != p:
        raise CheckFailed(f"{name}: with num_layers={L} its nn.LSTM must have dropout {p} between layers, "
                          f"it has {s['dropout']}")
    ids = rng.integers(0, V, (4, 6))
    a, b = lstm_outputs(name, model, ids, train=True, repeats=2)
    if np.allclose(a[0], b[0]):
        raise CheckFailed(f"{name}(..., num_layers={L}, dropout={p}): two runs in training mode gave the same "
                          "logits; dropout must act on the embeddings and on the LSTM's outputs")
    a, b = lstm_outputs(name, model, ids, train=False, repeats=2)
    check_close(f"{name}: two runs in eval mode", b[0], a[0], rtol=0, atol=0,
                context="(dropout must be off in eval mode: use nn.Dropout, not F.dropout(training=True))")


def default_init_kept(name, model, H):
    """Every LSTM parameter but the forget rows of the biases keeps PyTorch's initialisation,
    uniform in +-1/sqrt(H): nothing else was set (an input-gate row at 1 would show)."""
    params = call(name, produce, "rnncourse.training:module_parameters", model)
    bound = 1.0 / np.sqrt(H) + 1e-6
    for key, value in params.items():
        leaf = key.rsplit(".", 1)[-1]
        if not leaf.startswith(("weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l")):
            continue
        v = np.asarray(value, dtype=np.float64)
        if leaf.startswith("bias"):
            v = np.concatenate([v[:H], v[2 * H:]])       # the forget rows H..2H-1 are the exercise's
        if v.size and np.abs(v).max() > bound:
            i = int(np.abs(v).argmax())
            raise CheckFailed(f"{name}: {key} has an entry {v.flat[i]:.4g} outside PyTorch's initial range +-1/sqrt(H) "
                              f"= +-{bound:.4g} (outside its forget rows): only the forget bias may be set at "
                              "construction (rows H..2H-1 of the (i, f, g, o) biases)")


def check_CharLSTM(CharLSTM) -> None:
    r = Report("CharLSTM")
    name = "CharLSTM"
    rng = np.random.default_rng(5)
    with r.case("CharLSTM(7, 4, 6, num_layers=2): shapes (B=3, T=5), the state carried, no look-ahead"):
        model = make_model(name, CharLSTM, 7, 4, 6, 2, 0.0, init_seed=1)
        one_lstm(name, model, L=2, H=6, D=4)
        _char_lstm_shapes(name, model, rng, 7, 2, 6, 3, 5, 1e-5)
    with r.case("num_layers and dropout left out (2 and 0.0); B = 1, T = 1"):
        model = make_model(name, CharLSTM, 5, 3, 4, init_seed=2)
        s = one_lstm(name, model, L=2, H=4, D=3)
        if s["dropout"] != 0.0:
            raise CheckFailed(f"{name}: dropout left out must be 0.0, the nn.LSTM has dropout {s['dropout']}")
        _char_lstm_shapes(name, model, rng, 5, 2, 4, 1, 1, 1e-5)
    with r.case("forward(ids, state) starts from the state given: a random (h0, c0) changes the logits"):
        model = make_model(name, CharLSTM, 5, 3, 4, 1, init_seed=3)
        ids = rng.integers(0, 5, (2, 3))
        (a, _, _), = lstm_outputs(name, model, ids)
        (b, _, _), = lstm_outputs(name, model, ids, state_seed=7)
        if np.allclose(a, b, rtol=1e-4, atol=1e-5):
            raise CheckFailed(f"{name}: forward(ids, state) gave the same logits as forward(ids): the state is ignored")
    with r.case("the forget bias b_ih[H:2H] + b_hh[H:2H] is 1 in every layer at construction"):
        for L in (1, 3):
            model = make_model(name, CharLSTM, 6, 3, 5, L, init_seed=4)
            for k, f in enumerate(one_lstm(name, model, L=L)["forget_bias"]):
                if f is None:
                    raise CheckFailed(f"{name}: its nn.LSTM has no biases (bias=False)")
                check_close(f"{name}: layer {k}'s forget bias (num_layers={L})", f, np.ones(len(f)), rtol=0, atol=1e-6)
            default_init_kept(name, model, 5)
    with r.case("dropout = 0.5: the nn.LSTM's dropout is 0.5 when num_layers > 1; in training mode two runs differ "
                "even with one layer (embeddings and outputs), in eval mode they are equal"):
        for L in (1, 2):
            dropout_properties(name, CharLSTM, rng, 6, 8, 8, L, 0.5, init_seed=5)
        model = make_model(name, CharLSTM, 6, 8, 8, 2, 0.0, init_seed=6)
        a, b = lstm_outputs(name, model, rng.integers(0, 6, (4, 6)), train=True, repeats=2)
        check_close(f"{name}: two runs in training mode with dropout 0", b[0], a[0], rtol=0, atol=0)
    r.done()


# --------------------------------------------------------------------------- exercise 8
FEATURES = ("to_line_end", "word_position", "in_speech")


def features_of(name, fn, text):
    out = call(name, fn, text)
    if not isinstance(out, dict):
        raise CheckFailed(f"{name} must return a dict, got {type(out).__name__}")
    if set(out) != set(FEATURES):
        raise CheckFailed(f"{name} must return exactly the keys {sorted(FEATURES)}, got {sorted(map(str, out))}")
    arrays = {}
    for key in FEATURES:
        arrays[key] = check_dtype(f"{name}: [{key!r}]", out[key], np.float64)
        check_shape(f"{name}: [{key!r}]", arrays[key], (len(text),))
    return arrays


def check_text_features(text_features) -> None:
    r = Report("text_features")
    name = "text_features"
    # "AB:\nHi, y'all\n\nC:\nNo" -- line 1 is a speaker line (first line, ends with ':'), line 2 its speech,
    # line 3 blank, line 4 a speaker line, line 5 speech without a final newline.
    text = "AB:\nHi, y'all\n\nC:\nNo"
    to_end = [3, 2, 1, 0,  9, 8, 7, 6, 5, 4, 3, 2, 1, 0,  0,  2, 1, 0,  2, 1]
    word = [0, 1, 0, 0,  0, 1, 0, 0, 0, 1, 2, 3, 4, 0,  0,  0, 0, 0,  0, 1]
    speech = [0, 0, 0, 0,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  0,  0, 0, 0,  1, 1]
    with r.case(f"text {text!r}"):
        got = features_of(name, text_features, text)
        for key, want in zip(FEATURES, (to_end, word, speech)):
            check_close(f"{name}(...)[{key!r}]", got[key], np.array(want, float), rtol=0, atol=0)
    with r.case("the empty text: three empty arrays"):
        features_of(name, text_features, "")
    # "X:\nA:\nB\n  \nC" -- 'A:' does not follow a blank line, so it is speech; '  ' is blank and ends the speech;
    # 'C' comes after a blank line but no speaker line: not speech.  word_position counts letters and
    # apostrophes: 'ÉTÉ' is a word, '42' is not
    text2 = "X:\nA:\nB\n  \nC"
    with r.case(f"text {text2!r}: a line ending in ':' inside a speech is speech; a line of spaces is blank"):
        got = features_of(name, text_features, text2)
        check_close(f"{name}(...)['in_speech']", got["in_speech"],
                    np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0], float), rtol=0, atol=0)
        check_close(f"{name}(...)['to_line_end']", got["to_line_end"],
                    np.array([2, 1, 0, 2, 1, 0, 1, 0, 2, 1, 0, 1], float), rtol=0, atol=0)
    text3 = "ÉTÉ 42 o'er"
    with r.case(f"text {text3!r}: letters (str.isalpha) and apostrophes make words, digits do not"):
        got = features_of(name, text_features, text3)
        check_close(f"{name}(...)['word_position']", got["word_position"],
                    np.array([0, 1, 2, 0, 0, 0, 0, 0, 1, 2, 3], float), rtol=0, atol=0)
    r.done()


# --------------------------------------------------------------------------- exercise 9
def _tagger_run(name, model, ids, lengths):
    import torch

    out = call(f"{name}.forward", model, torch.as_tensor(np.asarray(ids)), torch.as_tensor(np.asarray(lengths)))
    out = to_numpy(out, f"{name}: logits")
    check_shape(f"{name}: logits", out, (len(ids), np.asarray(ids).shape[1], 2))
    return out


def tagger_properties(name, model, rng, V, bidirectional, atol=1e-5):
    """Shapes, padding (content and amount) without effect on valid positions, items
    independent of their batch, and the direction of the context."""
    B, T = 4, 7
    lengths = np.array([7, 3, 1, 5])
    ids = rng.integers(1, V, (B, T))
    for b, n in enumerate(lengths):
        ids[b, n:] = 0
    base = _tagger_run(name, model, ids, lengths)
    junk = ids.copy()
    for b, n in enumerate(lengths):
        junk[b, n:] = rng.integers(1, V, T - n)
    wide = np.concatenate([ids, np.zeros((B, 4), ids.dtype)], axis=1)
    for what, other in (("padding filled with other ids", junk), ("4 more padding columns", wide)):
        got = _tagger_run(name, model, other, lengths)
        for b, n in enumerate(lengths):
            check_close(f"{name}: logits of sequence {b} (length {n}) with {what}", got[b, :n], base[b, :n],
                        rtol=1e-4, atol=atol, context="(positions at and beyond a sequence's length must not "
                        "change its outputs: pack the sequences, nn.utils.rnn.pack_padded_sequence)")
    for b in (0, 2):
        n = lengths[b]
        alone = _tagger_run(name, model, ids[b:b + 1, :n], lengths[b:b + 1])
        check_close(f"{name}: sequence {b} run alone", alone[0], base[b, :n], rtol=1e-4, atol=atol)
    # change the character at position 4 of sequence 0 (length 7)
    other = ids.copy()
    other[0, 4] = 1 + (other[0, 4] % (V - 1))
    got = _tagger_run(name, model, other, lengths)
    before_same = np.allclose(got[0, :4], base[0, :4], rtol=1e-4, atol=atol)
    if bidirectional and before_same:
        raise CheckFailed(f"{name}(bidirectional=True): changing character 4 left the outputs at positions 0..3 "
                          "unchanged: the model does not read the right context")
    if not bidirectional and not before_same:
        raise CheckFailed(f"{name}(bidirectional=False): changing character 4 changed the outputs at positions "
                          "0..3: a one-directional model reads only characters up to its position")
    if np.allclose(got[0, 4:], base[0, 4:], rtol=1e-4, atol=atol):
        raise CheckFailed(f"{name}: changing character 4 changed no output at positions 4..6")


def check_SpaceRestorer(SpaceRestorer) -> None:
    r = Report("SpaceRestorer")
    name = "SpaceRestorer"
    rng = np.random.default_rng(9)
    for bi in (True, False):
        with r.case(f"SpaceRestorer(9, 4, 5, bidirectional={bi}): logits (B, T, 2); padded positions change nothing; "
                    f"{'reads both sides' if bi else 'reads only the left context'}"):
            model = make_model(name, SpaceRestorer, 9, 4, 5, bi, init_seed=2 + bi).eval()
            s = one_lstm(name, model, H=5, D=4)
            if s["bidirectional"] != bi:
                raise CheckFailed(f"{name}(bidirectional={bi}): its nn.LSTM has bidirectional={s['bidirectional']}, expected {bi}")
            tagger_properties(name, model, rng, 9, bi)
    r.done()


# --------------------------------------------------------------------------- exercise 10
SCORE_KEYS = ("lr", "valid_mse", "test_mses", "mse")


def protocol_model(kind: str, T: int, hidden_size: int, steps: int, lr: float, seed: int):
    """Step 1 of ``tune_and_score``'s docstring, on the CPU: a trained model."""
    from rnncourse import longrange

    model = longrange.make_model(kind, hidden_size, seed=seed)
    longrange.train(model, T, steps=steps, lr=lr, clip=longrange.RECIPES[kind].clip, seed=seed, device="cpu")
    return model


def held_out(model, T: int, which: str) -> float:
    from rnncourse import longrange

    x, y = longrange.held_out_set(T, seed=longrange.VALID_SEED if which == "valid" else longrange.TEST_SEED)
    return longrange.held_out_mse(model, x, y)


def scored(name: str, fn, kind: str, T: int, lrs, **kw) -> dict:
    """Call ``tune_and_score`` on the CPU and check the layout of what it returns."""
    out = call(name, fn, kind, T, lrs, device="cpu", **kw)
    where = f"{name}({kind!r}, {T}, {tuple(lrs)}, ...)"
    if not isinstance(out, dict):
        raise CheckFailed(f"{where} must return a dict, got {type(out).__name__}")
    if set(out) != set(SCORE_KEYS):
        raise CheckFailed(f"{where} must return exactly the keys {list(SCORE_KEYS)}, got {sorted(map(str, out))}")
    lr = out["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.number)) or not any(lr == v for v in lrs):
        raise CheckFailed(f"{where}['lr'] must be one of the learning rates {tuple(lrs)}, got {lr!r}")
    valid = out["valid_mse"]
    if not isinstance(valid, dict) or set(map(float, valid)) != set(map(float, lrs)):
        raise CheckFailed(f"{where}['valid_mse'] must be a dict from every rate of lrs {tuple(lrs)} to its validation MSE, "
                          f"got {valid!r}")
    seeds = list(kw.get("seeds", (0, 1, 2)))
    test = out["test_mses"]
    if not isinstance(test, (list, tuple)) or len(test) != len(seeds):
        raise CheckFailed(f"{where}['test_mses'] must be a list with one test MSE per seed ({len(seeds)} seeds), got {test!r}")
    values = [valid[v] for v in valid] + list(test) + [out["mse"]]
    if any(isinstance(v, bool) or not isinstance(v, (int, float, np.number)) for v in values):
        raise CheckFailed(f"{where}: the MSEs must be numbers (float), got {values!r}")
    return {"lr": float(lr), "valid_mse": {float(k): float(v) for k, v in valid.items()},
            "test_mses": [float(v) for v in test], "mse": float(out["mse"])}


def compare_scores(name: str, got: dict, expected: dict, *, rtol=1e-5, atol=1e-7, hide=False) -> None:
    """``got`` (from :func:`scored`) against the expected protocol's numbers."""
    exp_valid = expected["valid_mse"]
    lrs = list(exp_valid)
    check_close(f"{name}: 'valid_mse' (rates {lrs})", [got["valid_mse"][lr] for lr in lrs], [exp_valid[lr] for lr in lrs],
                rtol=rtol, atol=atol, show_expected=not hide,
                context="(the validation MSE of each rate's model trained with seeds[0], on "
                        "longrange.held_out_set(T, seed=longrange.VALID_SEED))")
    if got["lr"] != expected["lr"]:
        raise CheckFailed(f"{name}: kept the rate {got['lr']:g}; expected "
                          f"{'another rate' if hide else format(expected['lr'], 'g')}, the one with the lowest finite "
                          "validation MSE (a diverged model loses to any number; a tie goes to the rate first in lrs)")
    check_close(f"{name}: 'test_mses'", got["test_mses"], expected["test_mses"], rtol=rtol, atol=atol,
                show_expected=not hide, context="(one model per seed, in the order of seeds, trained with the kept "
                                                "rate and scored on longrange.held_out_set(T))")
    check_close(f"{name}: 'mse'", got["mse"], float(np.median(got["test_mses"])), rtol=1e-12, atol=1e-15,
                context="(the median of 'test_mses', numpy.median)")


def check_tune_and_score(tune_and_score) -> None:
    r = Report("tune_and_score")
    name = "tune_and_score"
    # steps = 0: no model moves, so every rate gives the same model and the same validation MSE (a tie: the
    # first rate is kept), and each seed's test MSE is that of its untrained model
    with r.case("steps = 0 (untrained models): a tie keeps the first rate; the held-out sets and the seeds' order"):
        seeds = (2, 0, 1)
        got = scored(name, tune_and_score, "gru", 5, (3e-3, 1e-2, 1e-3), hidden_size=3, steps=0, seeds=seeds)
        v = held_out(protocol_model("gru", 5, 3, 0, 3e-3, 2), 5, "valid")
        expected = {"lr": 3e-3, "valid_mse": {lr: v for lr in (3e-3, 1e-2, 1e-3)},
                    "test_mses": [held_out(protocol_model("gru", 5, 3, 0, 3e-3, s), 5, "test") for s in seeds]}
        compare_scores(name, got, expected)
    # lr = inf: Adam's first step sends the weights to +-inf and every MSE after it is NaN
    with r.case("a diverged model (lr = inf: NaN) is never kept; with every model diverged, the first rate is"):
        got = scored(name, tune_and_score, "tanh", 4, (float("inf"), 1e-2), hidden_size=3, steps=2, seeds=(0,))
        m = protocol_model("tanh", 4, 3, 2, 1e-2, 0)
        compare_scores(name, got, {"lr": 1e-2, "valid_mse": {float("inf"): float("nan"), 1e-2: held_out(m, 4, "valid")},
                                   "test_mses": [held_out(m, 4, "test")]})
        # lr = 1e30: one step sends the weights to about 1e30 and the predictions to inf (an infinite MSE)
        got = scored(name, tune_and_score, "lstm", 3, (1e30, float("inf")), hidden_size=2, steps=1, seeds=(1,))
        if got["lr"] != 1e30 or np.isfinite(got["mse"]):
            raise CheckFailed(f"{name}('lstm', 3, (1e30, inf), ...): both models diverge (infinite and NaN validation "
                              f"MSE); expected the first rate, 1e30, and a NaN or infinite 'mse', got lr {got['lr']:g} "
                              f"and 'mse' {got['mse']:g}")
    with r.case("tanh+clip (the recipe's clip), two rates, three seeds: tuned on validation, scored on test"):
        T, H, steps, lrs, seeds = 6, 4, 5, (0.05, 0.003), (0, 1, 2)
        first = {lr: protocol_model("tanh+clip", T, H, steps, lr, seeds[0]) for lr in lrs}
        valid = {lr: held_out(m, T, "valid") for lr, m in first.items()}
        best = min(lrs, key=valid.get)
        test = [held_out(first[best], T, "test")] + [held_out(protocol_model("tanh+clip", T, H, steps, best, s), T, "test")
                                                     for s in seeds[1:]]
        got = scored(name, tune_and_score, "tanh+clip", T, lrs, hidden_size=H, steps=steps, seeds=seeds)
        compare_scores(name, got, {"lr": best, "valid_mse": valid, "test_mses": test})
    with r.case("errors (ValueError): a recipe with an init scheme, an unknown kind, no rates, no seeds"):
        for kind, lrs, seeds, why in (("irnn", (1e-3,), (0,), "'irnn' needs an initialisation scheme"),
                                      ("LSTM", (1e-3,), (0,), "the kinds are 'tanh', 'tanh+clip', 'lstm', 'gru'"),
                                      ("lstm", (), (0,), "lrs is empty"), ("gru", (1e-3,), (), "seeds is empty")):
            check_raises(f"{name}({kind!r}, 4, {lrs}, ..., seeds={seeds})",
                         lambda kind=kind, lrs=lrs, seeds=seeds: tune_and_score(kind, 4, lrs, hidden_size=2, steps=1,
                                                                                seeds=seeds, device="cpu"),
                         ValueError, why)
    r.done()


def solved_lag(name: str, fn, table: dict, *args):
    out = call(name, fn, dict(table), *args)
    if out is not None and (isinstance(out, bool) or not isinstance(out, (int, np.integer))):
        raise CheckFailed(f"{name}({table}{', ' + ', '.join(map(repr, args)) if args else ''}) must return an int "
                          f"(a lag) or None, got {type(out).__name__} ({out!r})")
    return None if out is None else int(out)


def check_longest_solved_lag(longest_solved_lag) -> None:
    r = Report("longest_solved_lag")
    name = "longest_solved_lag"
    nan = float("nan")
    # the default threshold is 1/6 * 0.1 = 0.016666...
    cases = [({10: 0.001, 20: 0.002, 40: 0.2}, (), 20, "lags solved up to 20"),
             ({80: 0.001, 10: 0.001, 40: 0.5, 20: 0.001}, (), 80, "in any order; a failure at 40 below a solved 80"),
             ({10: 0.0166, 20: 0.0167}, (), 10, "the default threshold, 10% of 1/6 = 0.01667"),
             ({10: 0.05, 20: 0.1}, (0.1,), 10, "solved_below 0.1: strictly below"),
             ({10: 0.001, 20: nan, 40: 0.3}, (), 10, "NaN is never solved"),
             ({10: nan, 20: 0.5}, (), None, "nothing solved"),
             ({}, (), None, "an empty dict")]
    for table, args, want, what in cases:
        with r.case(f"{table}{' with solved_below ' + str(args[0]) if args else ''}: {want} ({what})"):
            got = solved_lag(name, longest_solved_lag, table, *args)
            if got != want:
                raise CheckFailed(f"{name}({table}{', ' + str(args[0]) if args else ''}): expected {want}, got {got} "
                                  "(the largest lag whose MSE is strictly below solved_below; None when there is none)")
    r.done()
