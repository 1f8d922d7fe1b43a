"""Hidden checks for chapter 5: the student's functions against the reference.

Inputs come from generators seeded here (``seed(name, case)``).  The cells and sequences are
compared with ``autograde.reference.ch05`` (itself tested against ``nn.LSTMCell``,
``nn.GRUCell``, ``nn.LSTM`` and ``nn.GRU``) on random sizes that include the edges (B = 1,
D = 1, H = 1, T = 1, D = H so that layers taken in the wrong order still run, three layers,
initial states None, saturating inputs, zero biases on one side), in float64 (relative
1e-10) and float32 (``tolerance``), with results of the inputs' dtype, arguments left as
they were and every ValueError the docstrings name.

``init_forget_bias`` runs where it lives (``rnncourse.training.init_lstm``) on random sizes,
layer counts, dtypes and values, and the gradient that reaches 50 steps back through an LSTM
it initialises is measured (``rnncourse.training.lstm_input_gradients``; forget bias 1 keeps
orders of magnitude more than PyTorch's default); ``parameter_count`` is compared with the parameters of
PyTorch's modules built here.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from autograde.hidden.common import cases, hidden_equal, seed
from autograde.reference import ch05 as ref
from rnncourse import longrange
from rnncourse.checks import ch05 as vis
from rnncourse.checks.core import CheckFailed, Report, call, check_raises, check_shape, produce

# init_forget_bias's gradient signal at initialisation (nn.LSTM(2, 32), T = 100, 100 adding-problem
# sequences): ||dL/dx_k|| / ||dL/dx_T|| at lag 50.  Measured on 6 seeds: PyTorch's default
# initialisation 7e-12..1.5e-10, forget bias 1 (the reference) 6e-6..5e-4.
SIGNAL_T, SIGNAL_H, SIGNAL_LAG, SIGNAL_MIN = 100, 32, 50, 1e-7


def _ref(fn, arrays, dtype="float64"):
    """The reference on tensors (float64), back as numpy (nested like the result)."""
    out = fn(*[[tuple(vis._tensors(l, dtype)) for l in a] if isinstance(a, list) else vis._tensors((a,), dtype)[0]
               for a in arrays])
    conv = lambda o: tuple(conv(p) for p in o) if isinstance(o, tuple) else o.numpy()
    return conv(out)


def _cell_case(rng, kind, case):
    B, D, H = (int(v) for v in rng.integers(1, 6, 3))
    if case == 0:
        B, D, H = 1, 1, 1
    elif case == 1:
        H = 1
    scale = 3.0 if case == 2 else float(rng.uniform(0.3, 1.2))       # case 2: saturating gates
    W = list(vis.weights(rng, kind, D, H, scale))
    if case == 3:
        W[2] = np.zeros_like(W[2])                                   # all bias in b_hh
    if case == 4:
        W[3] = np.zeros_like(W[3])                                   # all bias in b_ih
    x, h, c = rng.normal(0, scale, (B, D)), rng.uniform(-1, 1, (B, H)), rng.normal(0, 2, (B, H))
    dtype = "float32" if case in (5, 6) else "float64"
    return (B, D, H, scale, dtype), x, h, c, W


def _check_cell(name, kind, fn, n=7):
    r = Report(f"{name} (hidden)")
    for case in cases(n):
        rng = np.random.default_rng(seed(name, case))
        (B, D, H, scale, dtype), x, h, c, W = _cell_case(rng, kind, case)
        with r.case(f"random case {case}: B={B}, D={D}, H={H}, weight scale {scale:.2f}, {dtype}"):
            got = vis.run_cell(name, kind, fn, x, h, c, W, dtype)
            arrays = [x, h] + ([c] if kind == "lstm" else []) + W
            exp = _ref(getattr(ref, name), arrays, dtype)
            vis.compare_cell(name, kind, got, exp, dtype=dtype, hide=True)
    rng = np.random.default_rng(seed(name, 100))
    B, D, H = 2, 3, 3          # H = 3: a 3-D h (B, H, H) splits into three gate chunks and fails to broadcast
    G = vis.GATES[kind]
    x, h, c = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    W = vis.weights(rng, kind, D, H)
    with r.case("shapes that do not fit raise ValueError"):
        T = lambda *a: vis._tensors(a, "float64")
        cs = (c,) if kind == "lstm" else ()
        bad = [("W_ih of shape (G*H, D + 1)", T(x, h, *cs, np.zeros((G * H, D + 1)), *W[1:])),
               ("W_ih of shape (G*H + 1, D)", T(x, h, *cs, np.zeros((G * H + 1, D)), *W[1:])),
               ("W_hh of shape (G*H, H + 1)", T(x, h, *cs, W[0], np.zeros((G * H, H + 1)), *W[2:])),
               ("b_ih of shape (G*H - 1,)", T(x, h, *cs, *W[:2], np.zeros(G * H - 1), W[3])),
               ("b_hh of shape (1, G*H)", T(x, h, *cs, *W[:3], np.zeros((1, G * H)))),
               ("x of batch size B + 1", T(np.zeros((B + 1, D)), h, *cs, *W)),
               ("a 1-D h", T(x, h[0], *cs, *W)),
               ("a 3-D x", T(x[None], h, *cs, *W)),
               ("a 3-D x of shape (B, D, D)", T(np.zeros((B, D, D)), h, *cs, *W)),
               ("a 3-D h of shape (B, H, H)" + (" (and c of that shape)" if cs else ""),
                T(x, np.zeros((B, H, H)), *((np.zeros((B, H, H)),) if cs else ()), *W))]
        if kind == "lstm":
            bad.append(("c of batch size B + 1", T(x, h, np.zeros((B + 1, H)), *W)))
            bad.append(("a 1-D c", T(x, h, c[0], *W)))
        for what, args in bad:
            check_raises(f"{name} with {what}", lambda args=args: fn(*args), ValueError, "the shapes do not fit")
    r.done()


def check_lstm_cell(fn) -> None:
    _check_cell("lstm_cell", "lstm", fn)


def check_gru_cell(fn) -> None:
    _check_cell("gru_cell", "gru", fn)


def _check_sequence(name, kind, fn, n=6):
    r = Report(f"{name} (hidden)")
    lstm = kind == "lstm"
    for case in cases(n):
        rng = np.random.default_rng(seed(name, case))
        B, T, D, H, L = (int(v) for v in rng.integers(1, 5, 5))
        if case == 0:
            B, T, L = 1, 1, 1
        elif case == 1:
            D, L = H, 3                                 # layers in the wrong order still run
        elif case == 2:
            H, L = 1, 2
        given = case % 2 == 0
        dtype = "float32" if case == 5 else "float64"
        layers = vis.random_layers(rng, kind, D, H, L, float(rng.uniform(0.3, 1.0)))
        xs = rng.normal(size=(B, T, D))
        h0 = rng.normal(0, 0.5, (L, B, H)) if given else None
        c0 = (rng.normal(size=(L, B, H)) if given else None) if lstm else None
        with r.case(f"random case {case}: B={B}, T={T}, D={D}, H={H}, {L} layers, "
                    f"{'given' if given else 'no'} initial states, {dtype}"):
            got = vis.run_sequence(name, kind, fn, xs, h0, c0, layers, dtype)
            states = (h0, c0) if lstm else (h0,)
            exp = _ref(getattr(ref, name), [xs, *states, layers], dtype)
            vis.compare_sequence(name, kind, got, exp, dtype=dtype, hide=True)
    rng = np.random.default_rng(seed(name, 100))
    layers = [tuple(vis._tensors(l, "float64")) for l in vis.random_layers(rng, kind, 2, 3, 2)]
    xs, = vis._tensors((rng.normal(size=(2, 4, 2)),), "float64")
    z = lambda *s: vis._tensors((np.zeros(s),), "float64")[0]
    with r.case("errors (ValueError): xs 2-D or 4-D, T = 0, no layers, initial states or layer weights of the "
                "wrong shape"):
        st = lambda h: (h, None) if lstm else (h,)
        bad = [("a 2-D xs", (xs[0], *st(None), layers)), ("a 4-D xs", (xs[None], *st(None), layers)),
               ("T = 0", (xs[:, :0], *st(None), layers)), ("layers = []", (xs, *st(None), [])),
               ("h0 of shape (2, B + 1, H)", (xs, *st(z(2, 3, 3)), layers)),
               ("h0 of shape (2, B, H + 1)", (xs, *st(z(2, 2, 4)), layers)),
               ("h0 of shape (B, H)", (xs, *st(z(2, 3)), layers))]
        if lstm:
            bad.append(("c0 of shape (1, B, H) for 2 layers", (xs, None, z(1, 2, 3), layers)))
        G = vis.GATES[kind]
        for k, j, shape in ((0, 0, (G * 3, 3)), (1, 0, (G * 3, 2)), (1, 1, (G * 3, 2)), (0, 1, (G * 3 + 1, 3)),
                            (1, 2, (G * 3 + 1,)), (0, 3, (G * 3, 1))):
            broken = [list(layer) for layer in layers]
            broken[k][j] = z(*shape)
            what = f"layers[{k}]'s {('W_ih', 'W_hh', 'b_ih', 'b_hh')[j]} of shape {shape} (H = 3, D = 2)"
            bad.append((what, (xs, *st(None), [tuple(layer) for layer in broken])))
        for what, args in bad:
            check_raises(f"{name} with {what}", lambda args=args: fn(*args), ValueError, "see the docstring's Raises")
    r.done()


def check_lstm_sequence(fn) -> None:
    _check_sequence("lstm_sequence", "lstm", fn)


def check_gru_sequence(fn) -> None:
    _check_sequence("gru_sequence", "gru", fn)


def check_init_forget_bias(fn) -> None:
    r = Report("init_forget_bias (hidden)")
    name = "init_forget_bias"
    _structure(r, fn, name)
    _signal(r, fn, name)
    r.done()


def _structure(r, fn, name) -> None:
    for case in cases(7):
        rng = np.random.default_rng(seed(name, case))
        D, H, L = int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 4))
        dtype = "float64" if case in (1, 3, 5) else "float32"
        value = None if case == 0 else round(float(rng.uniform(-3, 3)), 3)
        structure = ("lstm", "lstm", "bilstm", "cell", "model", "bilstm", "model")[case]
        expect = {"lstm": L, "bilstm": 2 * L, "cell": 1, "model": 2 * L + 2}[structure]
        with r.case(f"random case {case}: {structure} with input {D}, hidden {H}, {L} layer(s) in {dtype}, "
                    f"value {'left out' if value is None else value}"):
            before, after = vis.init_lstm(name, fn, D, H, L, value=value, dtype=dtype, structure=structure,
                                          expect=expect, seed=int(rng.integers(0, 1000)))
            vis.check_forget_biases(name, before, after, 1.0 if value is None else value,
                                    atol=1e-12 if dtype == "float64" else 1e-6, skip=("gru.bias_ih_l0",))
    with r.case("an LSTM or an LSTMCell without biases: ValueError"):
        for structure in ("nobias", "cellnobias"):
            try:
                call(name, produce, "rnncourse.training:init_lstm", fn, 3, 2, 2, structure=structure)
            except CheckFailed as exc:
                if "ValueError" not in str(exc):
                    raise
            else:
                raise CheckFailed(f"{name} on an {'LSTMCell' if structure == 'cellnobias' else 'LSTM'} with bias=False "
                                  "must raise ValueError")


def _signal(r, fn, name) -> None:
    x, _ = longrange.adding_problem(100, SIGNAL_T, np.random.default_rng(seed(name, 200)))
    with r.case(f"gradient signal at initialisation of nn.LSTM(2, {SIGNAL_H}) with the default value (T = {SIGNAL_T}): "
                f"||dL/dx_k|| / ||dL/dx_T|| at lag {SIGNAL_LAG} above {SIGNAL_MIN:g}"):
        g = np.asarray(call(name, produce, "rnncourse.training:lstm_input_gradients", fn, SIGNAL_H, x,
                            seed=int(seed(name, 201) % 1000)), dtype=np.float64)
        check_shape(f"{name}: gradient norms by step", g, (SIGNAL_T,))
        ratio = float(g[SIGNAL_T - 1 - SIGNAL_LAG] / g[-1])
        if not np.isfinite(ratio) or ratio < SIGNAL_MIN:
            raise CheckFailed(f"{name}: with your forget bias the gradient at lag {SIGNAL_LAG} is {ratio:.3g} of the "
                              f"gradient at the last step; expected above {SIGNAL_MIN:g} (PyTorch's default "
                              "initialisation keeps about 1e-10)")


def check_parameter_count(fn) -> None:
    r = Report("parameter_count (hidden)")
    name = "parameter_count"
    for case in cases(9):
        rng = np.random.default_rng(seed(name, case))
        kind = ("lstm", "gru", "rnn")[case % 3]
        D, H, L = int(rng.integers(1, 50)), int(rng.integers(1, 50)), int(rng.integers(1, 5))
        bi = case >= 3 and case % 2 == 1
        if case == 0:
            D, H, L = 1, 1, 1
        with r.case(f"random case {case}: {kind}, input_size {D}, hidden_size {H}, num_layers {L}, "
                    f"bidirectional {bi}"):
            got = vis.counted(name, fn, kind, D, H, L, bidirectional=bi) if bi else vis.counted(name, fn, kind, D, H, L)
            if got != vis.torch_count(kind, D, H, L, bi):
                raise CheckFailed(f"{name}({kind!r}, {D}, {H}, {L}, bidirectional={bi}): you returned {got}, which is "
                                  "not the number of parameters of the torch module")
    with r.case("bidirectional=False given explicitly"):
        if vis.counted(name, fn, "gru", 4, 3, 2, bidirectional=False) != vis.torch_count("gru", 4, 3, 2):
            raise CheckFailed(f"{name}('gru', 4, 3, 2, bidirectional=False) is not the unidirectional count")
    with r.case("errors (ValueError): unknown kinds, sizes below 1"):
        for args in (("Gru", 2, 2), ("", 2, 2), ("lstm", 0, 2), ("rnn", 2, 0), ("gru", 2, 2, 0), ("lstm", -1, 3)):
            check_raises(f"parameter_count{args}", lambda args=args: fn(*args), ValueError, "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 7
# The course's training of a CharLSTM: truncated BPTT on the training plays (fast-mode text), scored on
# the first TEST_CHARS characters of the test plays, which the sandbox cannot read.  Measured with the
# reference (2 init seeds, one CPU thread, ~3 s each): 2.03 and 2.04 nats/char after 300 steps with
# hidden 64, embed 16, one layer; a character bigram (add-0.5) scores 2.48 on held-out text.
CHAR_LSTM = dict(embed_size=16, hidden_size=64, num_layers=1, steps=300, batch_size=32, chunk=64, lr=0.01)
CHAR_LSTM_TARGET, TEST_CHARS = 2.25, 20_000


@functools.lru_cache(maxsize=None)
def _char_data():
    from rnncourse import data
    train = data.shakespeare("train", size="fast")
    vocab = sorted(set(train))
    index = {c: i for i, c in enumerate(vocab)}
    held = data.shakespeare("test", size="fast")[:TEST_CHARS]
    return (np.array([index[c] for c in train]), np.array([index.get(c, 0) for c in held]), len(vocab))


def _stream_nll(logits, ids) -> float:
    import torch

    logits = np.asarray(logits, dtype=np.float64)
    B = 16
    n = (len(ids) - 1) // B
    if logits.shape[:2] != (B, n) or logits.ndim != 3:
        raise CheckFailed(f"CharLSTM: logits of shape {logits.shape} for {B} streams of {n} characters")
    logp = torch.log_softmax(torch.from_numpy(logits), -1).numpy()
    y = ids[1:B * n + 1].reshape(B, n)
    return float(-np.take_along_axis(logp, y[..., None], -1).mean())


def check_CharLSTM(cls) -> None:
    import torch

    r = Report("CharLSTM (hidden)")
    name = "CharLSTM"
    for case in cases(3):
        rng = np.random.default_rng(seed(name, case))
        V, E, H, L = int(rng.integers(2, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 4))
        B, T = (1, 1) if case == 0 else (int(rng.integers(2, 6)), int(rng.integers(2, 9)))
        if case == 0:
            L = 2                        # num_layers and dropout left out: 2 and 0.0
        with r.case(f"random case {case}: V={V}, embed={E}, hidden={H}, "
                    f"{'num_layers and dropout left out' if case == 0 else f'num_layers={L}'}, B={B}, T={T}"):
            args = (V, E, H) if case == 0 else (V, E, H, L, 0.0)
            model = vis.make_model(name, cls, *args, init_seed=case)
            s = vis.one_lstm(name, model, L=L, H=H, D=E)
            for k, f in enumerate(s["forget_bias"]):
                if f is None or not np.allclose(f, 1.0, atol=1e-6):
                    raise CheckFailed(f"{name}: layer {k}'s forget bias b_ih[H:2H] + b_hh[H:2H] is not 1")
            vis.default_init_kept(name, model, H)
            vis._char_lstm_shapes(name, model, rng, V, L, H, B, T, 1e-5)
    for case in (10, 11):
        rng = np.random.default_rng(seed(name, case))
        V, E, H, L = int(rng.integers(2, 12)), int(rng.integers(2, 9)), int(rng.integers(2, 9)), case - 9
        p = round(float(rng.uniform(0.3, 0.6)), 2)
        with r.case(f"dropout {p} with V={V}, embed={E}, hidden={H}, num_layers={L}: active in training mode only"):
            vis.dropout_properties(name, cls, rng, V, E, H, L, p, init_seed=case)
    train, held, V = _char_data()
    c = CHAR_LSTM
    with r.case(f"trained by the course's loop ({c['steps']} Adam steps of truncated BPTT, hidden {c['hidden_size']}, "
                f"embed {c['embed_size']}, {c['num_layers']} layer) on the training plays, scored on "
                f"{TEST_CHARS:,} characters of held-out plays"), _one_thread():
        model = vis.make_model(name, cls, V, c["embed_size"], c["hidden_size"], c["num_layers"], 0.0,
                               init_seed=seed(name, 100) % 2**31)
        losses = np.asarray(call(f"training {name}", produce, "rnncourse.training:train_char_stream", model, train,
                                 steps=c["steps"], batch_size=c["batch_size"], chunk=c["chunk"], lr=c["lr"],
                                 seed=seed(name, 101) % 2**31), dtype=float)
        logits = call(name, produce, "rnncourse.training:char_stream_logits", model, held)
        nll = _stream_nll(logits, held)
        if not np.isfinite(nll) or nll > CHAR_LSTM_TARGET:
            raise CheckFailed(f"{name}: held-out {nll:.3f} nats/char after the course's training, but a correct "
                              f"CharLSTM reaches below {CHAR_LSTM_TARGET} there (a character bigram: 2.48); "
                              f"the training loss went {losses[0]:.3f} -> {np.mean(losses[-20:]):.3f}")
    r.done()


@contextlib.contextmanager
def _one_thread():
    """Tiny models train fastest on one CPU thread (see chapter 2's hidden checks)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- exercise 8
_PLAY_CHARS = list("abcdefgh ABCÉé'42,.!") + ["\n"] * 4 + [":"] * 2 + ["  "]


def _play_like(rng, n) -> str:
    return "".join(rng.choice(_PLAY_CHARS, n))


def check_text_features(fn) -> None:
    r = Report("text_features (hidden)")
    name = "text_features"
    for case in cases(6):
        rng = np.random.default_rng(seed(name, case))
        text = _play_like(rng, int(rng.integers(1, 400)))
        if case == 1:
            text = text.rstrip("\n") + "\n"
        if case == 2:
            text = "\n" + text
        with r.case(f"random play-like text {case} ({len(text)} characters)"):
            got = vis.features_of(name, fn, text)
            want = ref.text_features(text)
            for key in vis.FEATURES:
                hidden_equal(f"{name}(...)[{key!r}]", got[key], want[key])
    from rnncourse import data
    text = data.shakespeare("valid", size="fast")[:6000]
    with r.case("6,000 characters of the validation plays"):
        got = vis.features_of(name, fn, text)
        want = ref.text_features(text)
        for key in vis.FEATURES:
            hidden_equal(f"{name}(...)[{key!r}]", got[key], want[key])
    for text in ("\n", "\n\n", "A:", "A:\n", "A:\nb", " \nA:\nb"):
        with r.case(f"the text {text!r}"):
            got = vis.features_of(name, fn, text)
            want = ref.text_features(text)
            for key in vis.FEATURES:
                hidden_equal(f"{name}(...)[{key!r}]", got[key], want[key])
    r.done()


# --------------------------------------------------------------------------- exercise 9
def check_SpaceRestorer(cls) -> None:
    r = Report("SpaceRestorer (hidden)")
    name = "SpaceRestorer"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        V, E, H = int(rng.integers(3, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
        bi = case % 2 == 0
        with r.case(f"random case {case}: V={V}, embed={E}, hidden={H}, bidirectional={bi}"):
            model = vis.make_model(name, cls, V, E, H, bi, init_seed=case).eval()
            s = vis.one_lstm(name, model, H=H, D=E)
            if s["bidirectional"] != bi:
                raise CheckFailed(f"{name}(bidirectional={bi}): its nn.LSTM has bidirectional={s['bidirectional']}, expected {bi}")
            vis.tagger_properties(name, model, rng, V, bi)
    _space_quality(r, cls, name)
    r.done()


# The course's training of a SpaceRestorer: rnncourse.spaces.train_tagger on lines of the training plays,
# scored on held-out lines of the test plays (the sandbox cannot read them).  Both directions are trained
# with the same budget and init seed; the bidirectional model must reach SPACES_MIN_ACC and beat its
# one-directional twin by SPACES_MIN_GAP.  Measured with the reference: see SPACES_MEASURED.
# Lines are cut at 24 characters (the bench's fast mode: 40), which halves the cost of a step.  Measured
# with the reference, 3 init seeds (scripts/bench_ch05_spaces.py's `one` at these settings): bidirectional
# 0.956-0.961 held-out accuracy, one-directional 0.877-0.884, 8-9 s and 4-5 s of one CPU thread; at
# max_len=40: 0.954-0.957 and 0.858-0.862 (always "no space": 0.793), 15 s and 7 s.
SPACES = dict(embed_size=16, hidden_size=32, steps=200, batch_size=64, lr=0.01, max_len=24, train_lines=4000,
              held_out_lines=2000)
SPACES_MIN_ACC, SPACES_MIN_GAP = 0.92, 0.05


@functools.lru_cache(maxsize=None)
def _space_data():
    from rnncourse import spaces
    c = SPACES
    train = spaces.space_task("train", max_len=c["max_len"], limit=c["train_lines"])
    held = spaces.space_task("test", max_len=c["max_len"], limit=c["held_out_lines"], vocab=train.vocab)
    return train, held


def _space_quality(r, cls, name) -> None:
    from rnncourse import spaces

    train, held = _space_data()
    c = SPACES
    acc = {}
    with r.case(f"trained by the course's loop ({c['steps']} Adam steps, hidden {c['hidden_size']}, embed "
                f"{c['embed_size']}) both ways on {c['train_lines']:,} training lines, scored on "
                f"{c['held_out_lines']:,} lines of held-out plays"), _one_thread():
        for bi in (True, False):
            model = vis.make_model(name, cls, len(train.vocab), c["embed_size"], c["hidden_size"], bi,
                                   init_seed=seed(name, 100) % 2**31)
            call(f"training {name}", produce, "rnncourse.spaces:train_tagger", model, train.ids, train.lengths,
                 train.labels, train.mask, steps=c["steps"], batch_size=c["batch_size"], lr=c["lr"],
                 seed=seed(name, 101) % 2**31)
            logits = np.asarray(call(name, produce, "rnncourse.spaces:tagger_logits", model, held.ids, held.lengths),
                                dtype=np.float64)
            check_shape(f"{name}: logits on the held-out lines", logits, held.ids.shape + (2,))
            acc[bi] = spaces.accuracy(logits, held.labels, held.mask)
        if not acc[True] >= SPACES_MIN_ACC:
            raise CheckFailed(f"{name}(bidirectional=True): held-out accuracy {acc[True]:.3f} after the course's "
                              f"training; a correct model reaches {SPACES_MIN_ACC} or more there")
        if not acc[True] - acc[False] >= SPACES_MIN_GAP:
            raise CheckFailed(f"{name}: held-out accuracy {acc[True]:.3f} bidirectional against {acc[False]:.3f} "
                              f"one-directional; the right context must be worth at least {SPACES_MIN_GAP:.2f}")


# --------------------------------------------------------------------------- exercise 10
TUNE_KINDS = ("tanh", "tanh+clip", "lstm", "gru")
# A case where the validation and the test sets disagree on the best rate (measured: validation MSEs
# 0.420, 0.181, 0.213, 0.180 -> 0.05; test 0.404, 0.177, 0.215, 0.181 -> 0.02), so that tuning on the
# test set is told apart from tuning on validation.  tests/test_checks_ch05.py keeps it that way.
DISAGREE = dict(kind="tanh+clip", T=4, lrs=(0.01, 0.02, 0.03, 0.05), hidden_size=3, steps=10, seeds=(0,))


def _expected_scores(kind, T, lrs, **kw) -> dict:
    """The reference protocol on the CPU; a rate is kept if its validation MSE ties the best
    within float noise (``close``, the rates whose MSE is within 1e-6 relative of the kept one)."""
    with _one_thread():
        out = ref.tune_and_score(kind, T, lrs, device="cpu", **kw)
    best = out["valid_mse"][out["lr"]]
    out["close"] = [lr for lr, v in out["valid_mse"].items()
                    if np.isfinite(best) and np.isfinite(v) and v != best and abs(v - best) <= 1e-6 * abs(best)]
    return out


def _compare_tuned(name, fn, kind, T, lrs, **kw) -> None:
    expected = _expected_scores(kind, T, lrs, **kw)
    got = vis.scored(name, fn, kind, T, lrs, **kw)
    if got["lr"] in expected["close"]:           # a near-tie resolved the other way: score that rate instead
        expected = _expected_scores(kind, T, [got["lr"]], **kw) | {"valid_mse": expected["valid_mse"], "lr": got["lr"]}
    vis.compare_scores(name, got, expected, hide=True)


def check_tune_and_score(fn) -> None:
    r = Report("tune_and_score (hidden)")
    name = "tune_and_score"
    for case in cases(6):
        rng = np.random.default_rng(seed(name, case))
        kind = TUNE_KINDS[case % 4]
        T, H, steps = int(rng.integers(2, 9)), int(rng.integers(1, 6)), int(rng.integers(1, 8))
        lrs = tuple(float(v) for v in np.round(10 ** rng.uniform(-3, -0.7, int(rng.integers(1, 5))), 5))
        seeds = tuple(int(v) for v in rng.choice(50, int(rng.integers(1, 4)), replace=False))
        if case == 0:
            T, H = 2, 1
        with r.case(f"random case {case}: {kind}, T {T}, {len(lrs)} rate(s), hidden_size {H}, {steps} steps, "
                    f"{len(seeds)} seed(s)"):
            _compare_tuned(name, fn, kind, T, lrs, hidden_size=H, steps=steps, seeds=seeds)
    with r.case("a case where the validation and the test sets prefer different rates"):
        kw = dict(DISAGREE)
        _compare_tuned(name, fn, kw.pop("kind"), kw.pop("T"), kw.pop("lrs"), **kw)
    with r.case("steps = 0: four rates tie (the first is kept)"):
        _compare_tuned(name, fn, "tanh+clip", 4, (0.02, 0.003, 0.05, 0.001), hidden_size=2, steps=0, seeds=(7, 3))
    with r.case("a diverged rate first (lr = inf); every rate diverged (the first is kept); seeds default to (0, 1, 2)"):
        _compare_tuned(name, fn, "gru", 3, (float("inf"), 0.02, 0.005), hidden_size=2, steps=3, seeds=(4, 5))
        _compare_tuned(name, fn, "tanh", 3, (float("inf"), 1e30), hidden_size=2, steps=2, seeds=(3,))
        _compare_tuned(name, fn, "lstm", 3, (0.01,), hidden_size=2, steps=2)
    with r.case("errors (ValueError): recipes with an init scheme, unknown kinds, no rates, no seeds"):
        for kind, lrs, seeds in (("tanh+orthogonal", (1e-3,), (0,)), ("irnn", (1e-3,), (0,)), ("Gru", (1e-3,), (0,)),
                                 ("", (1e-3,), (0,)), ("tanh", [], (0,)), ("lstm", (1e-3,), [])):
            check_raises(f"tune_and_score({kind!r}, 3, {lrs}, ..., seeds={seeds})",
                         lambda kind=kind, lrs=lrs, seeds=seeds: fn(kind, 3, lrs, hidden_size=2, steps=1, seeds=seeds,
                                                                    device="cpu"),
                         ValueError, "see the docstring's Raises")
    r.done()


def check_longest_solved_lag(fn) -> None:
    r = Report("longest_solved_lag (hidden)")
    name = "longest_solved_lag"
    limit = longrange.SOLVED_FRACTION * longrange.BASELINE_MSE
    for case in cases(8):
        rng = np.random.default_rng(seed(name, case))
        lags = [int(v) for v in rng.choice(np.arange(2, 500), int(rng.integers(1, 7)), replace=False)]
        mses = 10 ** rng.uniform(-4, 0, len(lags))
        if case % 3 == 0:
            mses[rng.integers(len(lags))] = np.nan
        table = {T: float(m) for T, m in zip(lags, mses)}
        args = () if case % 2 == 0 else (float(10 ** rng.uniform(-3, -0.5)),)
        if case == 1:
            table[max(lags) + 1] = args[0]               # exactly at the threshold: not solved
        with r.case(f"random case {case}: {len(table)} lags{', solved_below given' if args else ''}"):
            got = vis.solved_lag(name, fn, table, *args)
            want = ref.longest_solved_lag(table, *args)
            if got != want:
                raise CheckFailed(f"{name}({table}{', ' + repr(args[0]) if args else ''}): you returned {got}; expected "
                                  "the largest lag whose MSE is strictly below solved_below, or None")
    with r.case("one lag just below and one just above the default threshold 1/60"):
        for table, want in (({7: limit * (1 - 1e-9)}, 7), ({7: limit}, None), ({3: limit * 0.5, 9: limit * 1.01}, 3)):
            got = vis.solved_lag(name, fn, table)
            if got != want:
                raise CheckFailed(f"{name}({table}): you returned {got}, expected {want}")
    r.done()
