"""Visible checks for chapter 7 (image captioning: a convolutional encoder, decoders
conditioned on the image, the caption loss, sampling, chapter 6's searches on a captioner,
soft attention, attention maps and the attention hit test).

The models are built where they live (``rnncourse.seq2seq_training.construct``) and probed
there; their outputs are compared with the course's formulas evaluated here in float64 on
the student's *own* parameters (read by shape with ``rnncourse.training.module_parameters``):
``F.conv2d`` and max pooling for the encoder, the LSTM equations for the decoders.  The loss
is compared with ``F.cross_entropy``, ``caption_step_fn`` with exhaustive search
(``rnncourse.search.brute_force``) run on a fixed toy decoder
(``rnncourse.captioning_training.ToyCaptionDecoder``), the sampler with chi-squared tests
on chapter 6's toy scorers (``rnncourse.checks.functions.TableStep``).  A failure raises
:class:`~rnncourse.checks.core.CheckFailed`; else the check prints "✔ ... checks passed".

Ids: ``PAD, START, END = 0, 1, 2`` (``rnncourse.captions``).
"""
from __future__ import annotations

import math

import numpy as np

from rnncourse import search as S
from .core import (CheckFailed, Report, call, check_array, check_close, check_dtype, check_equal, check_never_drawn,
                   check_raises, check_shape, check_unchanged, chi2_threshold, produce, to_numpy)
from .core import _is_tensor
from .functions import HashStep, TableStep

PAD, START, END = 0, 1, 2
MODEL_TOL = dict(rtol=2e-3, atol=1e-4)   # float32 modules (CUDA float32 when grading on a GPU)
LOGP_TOL = dict(rtol=1e-6, atol=1e-6)    # log-probabilities of a float64 toy decoder


# --------------------------------------------------------------------------- helpers
from .ch06 import _tensor, make_model  # noqa: E402  the same model construction and id tensors as chapter 6


def _tuple(name, out, n, what):
    if not isinstance(out, (tuple, list)) or len(out) != n:
        raise CheckFailed(f"{name} must return {what}, got {type(out).__name__}"
                          + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return out


def _float_tensor(label, x, shape):
    if not _is_tensor(x):
        raise CheckFailed(f"{label}: expected a torch tensor, got {type(x).__name__}")
    arr = check_array(label, x, kind="f")
    return check_shape(label, arr, shape).astype(np.float64)


def parameters(name, model):
    """The model's parameters (name -> float64 array, in registration order)."""
    params = call(name, produce, "rnncourse.training:module_parameters", model)
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


def check_parameter_shapes(name, params, want, formula):
    got = sorted(tuple(np.shape(p)) for p in params.values())
    want = sorted(tuple(s) for s in want)
    if got != want:
        raise CheckFailed(f"{name}: its parameters have shapes {got}; expected those of {formula}: {want} "
                          f"({sum(int(np.prod(s)) for s in want)} numbers, yours {sum(int(np.prod(s)) for s in got)})")


def by_shape(params, shape):
    return [p for p in params.values() if tuple(p.shape) == tuple(shape)]


def with_bias(params, shape):
    """Each parameter of ``shape`` with the parameter registered right after it (its bias:
    PyTorch's layers register weight, then bias)."""
    items = list(params.values())
    return [(p, items[i + 1] if i + 1 < len(items) else None) for i, p in enumerate(items)
            if tuple(p.shape) == tuple(shape)]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(x, h, c, w_ih, w_hh, b):
    """PyTorch's LSTM cell (gates i, f, g, o) in float64."""
    g = x @ w_ih.T + h @ w_hh.T + b
    i, f, gg, o = np.split(g, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
    return _sigmoid(o) * np.tanh(c), c


def _lstm_parts(params, E_in, H):
    w_ih, w_hh = by_shape(params, (4 * H, E_in)), by_shape(params, (4 * H, H))
    b = sum(by_shape(params, (4 * H,)))
    return w_ih[0], w_hh[0], b


def _init_pairs(params, D, H):
    """The two Linear(D, H) layers of an initial state, each (weight, bias) in registration order."""
    return with_bias(params, (H, D))


def check_initial_state(name, h0, c0, mean, pairs, what):
    """h0 and c0 are tanh(W v + b) of the two Linear(D, H) layers (either one for h)."""
    cands = [np.tanh(mean @ W.T + b) for W, b in pairs]
    for order in ((0, 1), (1, 0)):
        if np.allclose(h0, cands[order[0]], **MODEL_TOL) and np.allclose(c0, cands[order[1]], **MODEL_TOL):
            return
    raise CheckFailed(f"{name}.init_state: h0 and c0 must be tanh(W_h v + b_h) and tanh(W_c v + b_c) of its two "
                      f"nn.Linear({pairs[0][0].shape[1]}, {pairs[0][0].shape[0]}) layers, v = {what}; they are not "
                      f"(h0[0] = {np.round(h0.reshape(len(h0), -1)[0], 4).tolist()})")


# --------------------------------------------------------------------------- exercise 1
def conv_peer(params, images, channels):
    """The encoder's formula on its own parameters (float64): (grid, pooled)."""
    import torch
    import torch.nn.functional as F

    items = list(params.values())
    convs = [(items[i], items[i + 1]) for i, p in enumerate(items) if p.ndim == 4]
    x = torch.as_tensor(np.asarray(images, np.float64))
    for w, b in convs[:len(channels)]:
        x = F.max_pool2d(F.relu(F.conv2d(x, torch.as_tensor(w), torch.as_tensor(b), padding=1)), 2)
    cells = x.flatten(2).transpose(1, 2).numpy()                   # (N, L, C), row-major
    lin_w, lin_b = [(p, items[i + 1]) for i, p in enumerate(items) if p.ndim == 2][0]
    grid = cells @ lin_w.T + lin_b
    return grid, grid.mean(1)


def conv_shapes(in_ch, channels, D):
    out, c = [], in_ch
    for k in channels:
        out += [(k, c, 3, 3), (k,)]
        c = k
    return out + [(D, c), (D,)]


def run_encoder(name, model, images, L, D):
    x = _tensor(images, "float32")
    kept = x.clone()
    out = call(f"{name}.forward", model, x)
    grid, pooled = _tuple(name, out, 2, "a tuple (grid, pooled)")
    N = np.shape(images)[0]
    grid = _float_tensor(f"{name}: grid", grid, (N, L, D))
    pooled = _float_tensor(f"{name}: pooled", pooled, (N, D))
    check_unchanged("images", x, kept, who=f"{name}.forward")
    return grid, pooled


def encoder_case(name, cls, rng, args, N, Hpx, Wpx, *, init_seed=0, defaults=False):
    in_ch, channels, D = args
    model = make_model(name, cls, *(() if defaults else args), init_seed=init_seed)
    params = parameters(name, model)
    check_parameter_shapes(name, params, conv_shapes(in_ch, channels, D),
                           f"{len(channels)} stages Conv2d(3x3) with bias and a Linear({channels[-1]}, {D})")
    f = 2 ** len(channels)
    L = (Hpx // f) * (Wpx // f)
    images = rng.random((N, in_ch, Hpx, Wpx))
    grid, pooled = run_encoder(name, model, images, L, D)
    check_close(f"{name}: pooled against the mean of your grid over the {L} cells", pooled, grid.mean(1), **MODEL_TOL)
    want_g, want_p = conv_peer(params, images.astype(np.float32), channels)
    ctx = (f"(each stage Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2); cell r * {Wpx // f} + c is grid row r, "
           "column c (row-major); a Linear maps each cell's features)")
    check_close(f"{name}: grid of {Hpx} x {Wpx} images ({Hpx // f} x {Wpx // f} cells) against the formula on your "
                "parameters", grid, want_g, **MODEL_TOL, context=ctx)
    check_close(f"{name}: pooled against the formula on your parameters", pooled, want_p, **MODEL_TOL)
    if N > 1:
        g1, _ = run_encoder(name, model, images[1:2], L, D)
        check_close(f"{name}: image 1 encoded alone against in the batch", g1[0], grid[1], **MODEL_TOL)
    return model


def check_ConvEncoder(ConvEncoder) -> None:
    r = Report("ConvEncoder")
    name = "ConvEncoder"
    rng = np.random.default_rng(71)
    with r.case("ConvEncoder(3, (4, 6), 5) on two 8 x 12 images: 2 stages (/4), a 2 x 3 grid, L = 6 cells in "
                "row-major order, against the formula on your parameters"):
        encoder_case(name, ConvEncoder, rng, (3, (4, 6), 5), 2, 8, 12, init_seed=1)
    with r.case("ConvEncoder(1, (3,), 2): one stage, 1 channel, 4 x 2 images: a 2 x 1 grid"):
        encoder_case(name, ConvEncoder, rng, (1, (3,), 2), 3, 4, 2, init_seed=2)
    with r.case("ConvEncoder() (defaults in_channels=3, channels=(16, 32, 64), feature_size=64): one 64 x 64 image "
                "-> an 8 x 8 grid, L = 64, D = 64"):
        encoder_case(name, ConvEncoder, rng, (3, (16, 32, 64), 64), 1, 64, 64, init_seed=3, defaults=True)
    with r.case("errors (ValueError): H or W not divisible by 2 ** stages, a channel count other than in_channels"):
        model = make_model(name, ConvEncoder, 3, (4, 6), 5, init_seed=4)
        for what, shape in (("H = 10 (not divisible by 4)", (1, 3, 10, 8)), ("W = 6", (1, 3, 8, 6)),
                            ("1 channel", (1, 1, 8, 8)), ("4 channels", (2, 4, 8, 8)),
                            ("a 3-D tensor", (2, 3, 8))):
            x = _tensor(np.zeros(shape), "float32")
            check_raises(f"{name}(3, (4, 6), 5) on images of shape {shape} ({what})", lambda x=x: model(x),
                         ValueError, "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 2
def decoder_shapes(V, E, H, D, inject):
    E_in = E + D if inject == "input" else E
    s = [(V, E), (4 * H, E_in), (4 * H, H), (4 * H,), (4 * H,), (V, H), (V,)]
    return s + ([(H, D), (H,), (H, D), (H,)] if inject == "init" else [])


def run_caption_decoder(name, model, features, tgt_in, V, H):
    f, t = _tensor(features, "float32"), _tensor(tgt_in)
    kept = (f.clone(), t.clone())
    logits = call(f"{name}.forward", model, f, t)
    N, T = np.shape(tgt_in)
    logits = _float_tensor(f"{name}.forward: logits", logits, (N, T, V))
    st = call(f"{name}.init_state", model.init_state, f)
    h0, c0 = _tuple(f"{name}.init_state", st, 2, "a tuple (h, c)")
    h0, c0 = _float_tensor(f"{name}.init_state: h", h0, (1, N, H)), _float_tensor(f"{name}.init_state: c", c0, (1, N, H))
    check_unchanged("features", f, kept[0], who=f"{name}.forward")
    check_unchanged("tgt_in", t, kept[1], who=f"{name}.forward")
    return logits, h0, c0


def decoder_steps(name, model, features, tgt_in, V, H):
    """``init_state`` then ``step`` T times: logits (N, T, V)."""
    f = _tensor(features, "float32")
    state = call(f"{name}.init_state", model.init_state, f)
    out = []
    N, T = np.shape(tgt_in)
    for t in range(T):
        tok = _tensor(np.asarray(tgt_in)[:, t])
        res = call(f"{name}.step", model.step, f, tok, state)
        lg, state = _tuple(f"{name}.step", res, 2, "a tuple (logits, new_state)")
        out.append(_float_tensor(f"{name}.step: logits", lg, (N, V)))
        _tuple(f"{name}.step: new_state", state, 2, "a tuple (h, c)")
    return np.stack(out, 1)


def caption_decoder_peer(params, features, tgt_in, h0, c0, V, E, H, D, inject):
    emb = by_shape(params, (V, E))[0]
    w_ih, w_hh, b = _lstm_parts(params, E + D if inject == "input" else E, H)
    W_o, b_o = with_bias(params, (V, H))[0]
    h, c, out = h0[0], c0[0], []
    f = np.asarray(features, np.float32).astype(np.float64)
    for t in range(np.shape(tgt_in)[1]):
        x = emb[np.asarray(tgt_in)[:, t]]
        if inject == "input":
            x = np.concatenate([x, f], axis=1)
        h, c = lstm_step(x, h, c, w_ih, w_hh, b)
        out.append(h @ W_o.T + b_o)
    return np.stack(out, 1)


def decoder_case(name, cls, rng, V, E, H, D, inject, N, T, *, init_seed=0, default=False):
    model = make_model(name, cls, V, E, H, D, *(() if default else (inject,)), init_seed=init_seed)
    params = parameters(name, model)
    formula = (f"Embedding({V}, {E}), LSTM({E + D if inject == 'input' else E}, {H}), Linear({H}, {V})"
               + (f" and two Linear({D}, {H}) for h0 and c0" if inject == "init" else " (inject='input')"))
    check_parameter_shapes(name, params, decoder_shapes(V, E, H, D, inject), formula)
    feats = rng.normal(0, 1, (N, D))
    tgt = rng.integers(3, V, (N, T))
    tgt[:, 0] = START
    logits, h0, c0 = run_caption_decoder(name, model, feats, tgt, V, H)
    f32 = feats.astype(np.float32).astype(np.float64)
    if inject == "init":
        check_initial_state(name, h0[0], c0[0], f32, _init_pairs(params, D, H), "the features")
    else:
        check_close(f"{name}.init_state with inject='input': h and c", np.stack([h0, c0]), np.zeros((2, 1, N, H)),
                    rtol=0, atol=0, context="(the image enters at every step's input; the initial state is zeros)")
    want = caption_decoder_peer(params, feats, tgt, h0, c0, V, E, H, D, inject)
    ctx = ("(inject='init': the LSTM reads the word embeddings from (h0, c0); inject='input': it reads "
           "concat(embedding, v) at every step from zeros; then Linear(hidden, vocab))")
    check_close(f"{name}(inject={inject!r}).forward against the LSTM equations on your parameters", logits, want,
                **MODEL_TOL, context=ctx)
    steps = decoder_steps(name, model, feats, tgt, V, H)
    check_close(f"{name}(inject={inject!r}): {T} calls of step from init_state against forward", steps, logits,
                **MODEL_TOL, context="(step(features, tokens, state) must carry the state from call to call)")
    return model


def check_CaptionDecoder(CaptionDecoder) -> None:
    r = Report("CaptionDecoder")
    name = "CaptionDecoder"
    rng = np.random.default_rng(72)
    with r.case("CaptionDecoder(7, 3, 5, 4, 'init'): h0 = tanh(W_h v + b_h), c0 = tanh(W_c v + b_c); forward against "
                "the LSTM equations on your parameters; step T times = forward"):
        decoder_case(name, CaptionDecoder, rng, 7, 3, 5, 4, "init", 3, 4, init_seed=1)
    with r.case("CaptionDecoder(7, 3, 5, 4, 'input'): zero initial state, concat(embedding, v) at every step"):
        decoder_case(name, CaptionDecoder, rng, 7, 3, 5, 4, "input", 3, 4, init_seed=2)
    with r.case("CaptionDecoder(6, 2, 3, 5) with inject left out ('init'); N = 1, T = 1"):
        decoder_case(name, CaptionDecoder, rng, 6, 2, 3, 5, "init", 1, 1, init_seed=3, default=True)
        decoder_case(name, CaptionDecoder, rng, 6, 2, 3, 5, "input", 1, 1, init_seed=3)
    with r.case("errors (ValueError): inject='both', inject='Init'"):
        for bad in ("both", "Init"):
            check_raises(f"{name}(7, 3, 5, 4, {bad!r})",
                         lambda bad=bad: produce("rnncourse.seq2seq_training:construct", CaptionDecoder, 0, 7, 3, 5, 4,
                                                 bad), ValueError, "an unknown inject must raise ValueError")
    r.done()


# --------------------------------------------------------------------------- exercise 3
def loss_value(name, fn, logits, targets, mask, dtype="float64", **kw):
    lg, tg, mk = _tensor(logits, dtype), _tensor(targets), _tensor(mask, "bool")
    kept = (lg.clone(), tg.clone(), mk.clone())
    out = call(name, fn, lg, tg, mk, **kw)
    if not _is_tensor(out):
        raise CheckFailed(f"{name} must return a 0-dim torch tensor (differentiable), got {type(out).__name__}")
    arr = check_dtype(f"{name}: the loss (of logits' dtype)", out, np.dtype(dtype))
    check_shape(f"{name}: the loss (a 0-dim tensor)", arr, ())
    for arg, now, before in zip(("logits", "targets", "mask"), (lg, tg, mk), kept):
        check_unchanged(arg, now, before, who=name)
    return float(arr)


def reference_loss(logits, targets, mask, reduction):
    """F.cross_entropy on the real steps (float64) and its gradient."""
    import torch
    import torch.nn.functional as F

    lg = torch.as_tensor(np.asarray(logits, np.float64)).clone().requires_grad_(True)
    m = torch.as_tensor(np.asarray(mask, bool))
    tg = torch.as_tensor(np.asarray(targets, np.int64))
    s = F.cross_entropy(lg[m], tg[m], reduction="sum")
    loss = s / lg.shape[0] if reduction == "caption" else s / int(m.sum())
    loss.backward()
    return float(loss.detach()), lg.grad.numpy()


def junk(rng, logits, targets, mask, V):
    lg, tg = np.array(logits, np.float64), np.array(targets, np.int64)
    n = int((~mask).sum())
    lg[~mask] = np.where(rng.random((n, V)) < 0.5, np.nan, np.inf)
    tg[~mask] = rng.choice([-100, V, V + 3, PAD], n)
    return lg, tg


def loss_gradient(name, fn, logits, targets, mask, want_grad, *, hide=False, **kw):
    info = call(name, produce, "rnncourse.captioning_training:loss_with_grad", fn, _tensor(logits, "float64"),
                _tensor(targets), _tensor(mask, "bool"), **kw)
    if not info["is_tensor"] or not info["requires_grad"] or info["grad"] is None:
        raise CheckFailed(f"{name}: the loss must be differentiable (torch operations on logits, no .item() or "
                          "numpy); backward() gave no gradient")
    g = check_shape(f"{name}: the gradient with respect to logits", np.asarray(info["grad"], np.float64),
                    np.shape(logits))
    m = np.asarray(mask, bool)
    check_close(f"{name}: the gradient at masked steps (NaN / inf logits there)", g[~m],
                np.zeros(((~m).sum(), np.shape(logits)[2])), rtol=0, atol=0,
                context="(select the real steps before the softmax: 0 * NaN is NaN)")
    check_close(f"{name}: the gradient with respect to logits", g, want_grad, rtol=1e-7, atol=1e-10,
                show_expected=not hide)


def check_temporal_softmax_loss(temporal_softmax_loss) -> None:
    r = Report("temporal_softmax_loss")
    name = "temporal_softmax_loss"
    # N = 2 captions, T = 2, V = 2.  Caption 0: (0, ln 3) -> 1: -ln(3/4) = 0.287682; (0, 0) -> 0: ln 2 = 0.693147.
    # Caption 1: step 0 masked (NaN logits, target -100); (0, 0) -> 1: ln 2.
    # "caption": ((0.287682 + 0.693147) + 0.693147) / 2 = 0.836988;  "token": (0.287682 + 2 ln 2) / 3 = 0.557992
    lg = np.array([[[0.0, math.log(3.0)], [0.0, 0.0]], [[np.nan, np.nan], [0.0, 0.0]]])
    tg, mk = np.array([[1, 0], [-100, 1]]), np.array([[True, True], [False, True]])
    per = [-math.log(0.75), math.log(2.0), math.log(2.0)]
    with r.case("hand-made: 2 captions, one masked step (NaN logits, target -100): 'caption' (0.287682 + 0.693147 + "
                "0.693147) / 2 = 0.836988 (the default), 'token' the same sum / 3 = 0.557992"):
        check_close(f"{name}(..., reduction='caption')", loss_value(name, temporal_softmax_loss, lg, tg, mk,
                                                                    reduction="caption"), sum(per) / 2, rtol=1e-12,
                    atol=0, context="(each caption's real steps summed, then the mean over the N captions)")
        check_close(f"{name}(...) with reduction left out", loss_value(name, temporal_softmax_loss, lg, tg, mk),
                    sum(per) / 2, rtol=1e-12, atol=0, context="(the default is 'caption')")
        check_close(f"{name}(..., reduction='token')", loss_value(name, temporal_softmax_loss, lg, tg, mk,
                                                                  reduction="token"), sum(per) / 3, rtol=1e-12, atol=0,
                    context="(the mean over all real steps)")
    rng = np.random.default_rng(73)
    N, T, V = 3, 5, 6
    lg = rng.normal(0, 2, (N, T, V))
    mk = rng.random((N, T)) < 0.6
    mk[0, 0] = mk[1, :].any() or True
    tg = rng.integers(0, V, (N, T))
    jl, jt = junk(rng, lg, tg, mk, V)
    for dtype in ("float64", "float32"):
        for red in ("caption", "token"):
            want, grad = reference_loss(lg, tg, mk, red)
            with r.case(f"random N={N}, T={T}, V={V}, {dtype}, reduction={red!r}, NaN / inf logits and targets -100, "
                        "V, PAD at masked steps, against F.cross_entropy on the real steps"):
                got = loss_value(name, temporal_softmax_loss, jl, jt, mk, dtype, reduction=red)
                check_close(f"{name}(..., reduction={red!r})", got, want, rtol=1e-12 if dtype == "float64" else 1e-5,
                            atol=0)
                if dtype == "float64":
                    loss_gradient(name, temporal_softmax_loss, jl, jt, mk, grad, reduction=red)
    with r.case("errors (ValueError): an unknown reduction, a mask with no real step, shapes that disagree"):
        L, G, M = _tensor(lg, "float64"), _tensor(tg), _tensor(mk, "bool")
        for what, args, kw in (("reduction='mean'", (L, G, M), dict(reduction="mean")),
                               ("a mask with no real step", (L, G, _tensor(np.zeros((N, T), bool), "bool")), {}),
                               ("targets of shape (N, T + 1)", (L, _tensor(np.zeros((N, T + 1), int)), M), {}),
                               ("a mask of shape (N + 1, T)", (L, G, _tensor(np.ones((N + 1, T), bool), "bool")), {}),
                               ("2-D logits (N * T, V)", (L.reshape(N * T, V), G, M), {}),
                               ("4-D logits (N, T, V, 1)", (L[..., None], G, M), {})):
            check_raises(f"{name} with {what}", lambda args=args, kw=kw: temporal_softmax_loss(*args, **kw),
                         ValueError, "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 4
def start_state(steps):
    import torch

    return torch.tensor([list(steps)], dtype=torch.int64)


def run_sampler(name, fn, step_fn, state, N, max_len, *, temperature=None, seed=None, runs=1, global_seed=0,
                nested=False):
    kept = state.clone()
    out = call(name, produce, "rnncourse.captioning_training:sample_runs", fn, step_fn, state, N, max_len,
               temperature=temperature, seed=seed, runs=runs, global_seed=global_seed, nested=nested)
    check_unchanged("init_state", state, kept, who=name)
    res = []
    for run in out:
        tokens = check_dtype(f"{name}: tokens", check_array(f"{name}: tokens", run["tokens"], kind="i"), np.int64)
        lengths = check_dtype(f"{name}: lengths", check_array(f"{name}: lengths", run["lengths"], kind="i"), np.int64)
        check_shape(f"{name}: tokens (N, max_len)", tokens, (N, max_len))
        check_shape(f"{name}: lengths (N,)", lengths, (N,))
        check_consistent(name, tokens, lengths, run["rows"], max_len)
        res.append((tokens, lengths, run["rows"], run["rng_changed"]))
    return res


def check_consistent(name, tokens, lengths, rows, max_len):
    """PAD after END, lengths up to END, and step_fn fed only the rows not yet finished."""
    N = len(tokens)
    for b in range(N):
        row = tokens[b].tolist()
        n = row.index(END) + 1 if END in row else max_len
        if int(lengths[b]) != n:
            raise CheckFailed(f"{name}: row {b} is {row}: its length is {n} (tokens up to and including END, or "
                              f"max_len); expected {n}, got {int(lengths[b])}")
        if any(t != PAD for t in row[n:]):
            raise CheckFailed(f"{name}: row {b} is {row}: after END every token must be PAD (0)")
    want = [int((lengths > t).sum()) for t in range(max_len)]
    want = [w for w in want if w > 0]
    if list(rows) != want:
        raise CheckFailed(f"{name} called step_fn with {list(rows)} rows; expected {want}, the rows not finished "
                          f"before each step (finished rows are not fed again: select the state's rows with index_select(1, ...); "
                          "no call once every row has ended)")


def distribution(who, draws, q, what="draws"):
    """Chi-squared test of ``draws`` against probabilities ``q`` (cells expected < 5 pooled)."""
    draws = np.asarray(draws).reshape(-1)
    q = np.asarray(q, float)
    V, n = len(q), draws.size
    if n and (draws.min() < 0 or draws.max() >= V):
        raise CheckFailed(f"{who} returned token ids outside 0..{V - 1}")
    check_never_drawn(who, draws, q)
    freq = np.bincount(draws, minlength=V)[:V].astype(float)
    exp = n * q
    big = exp >= 5
    obs, e = list(freq[big]), list(exp[big])
    small = ~big & (q > 0)
    if small.any():
        obs.append(freq[small].sum())
        e.append(exp[small].sum())
    obs, e = np.array(obs), np.array(e)
    if e.size < 2:
        return
    stat = float(np.sum((obs - e) ** 2 / e))
    if stat > chi2_threshold(e.size - 1):
        raise CheckFailed(f"{who}: the {what} in {n} draws do not follow softmax(log_probs / temperature): observed "
                          f"frequencies {np.round(freq / n, 3).tolist()}, expected {np.round(q, 3).tolist()} "
                          f"(chi-squared {stat:.1f} > {chi2_threshold(e.size - 1):.1f})")


def tempered(p, T):
    with np.errstate(divide="ignore"):
        lp = np.log(np.asarray(p, float)) / T
    q = np.exp(lp - lp.max())
    return q / q.sum()


def _sampling_table():
    """V = 5; step 0 after START: p0; step 1 after token 3: q3, after 4: q4 (END otherwise)."""
    p = np.full((2, 5, 5), 1e-300)
    p[:, :, END] = 1.0
    p[0, START] = [0.0, 0.0, 0.2, 0.5, 0.3]
    p[1, 3] = [0.0, 0.0, 0.1, 0.3, 0.6]
    p[1, 4] = [0.0, 0.0, 0.7, 0.3, 0.0]
    with np.errstate(divide="ignore"):
        return np.log(p / p.sum(-1, keepdims=True)), p


def check_sample_captions(sample_captions) -> None:
    from .ch06 import _greedy_table

    r = Report("sample_captions")
    name = "sample_captions"
    step = TableStep(_greedy_table())
    # chapter 6's hand-made table, rows started at steps 0..3, greedy (temperature 0):
    #   row 0: a END; row 1: b a END; row 2: END; row 3: a (a tie 0.4 = 0.4 -> the lowest id) END
    #   calls: 4 rows, then 3 (row 2 ended), then 1 (rows 0 and 3 ended): [4, 3, 1]
    with r.case("temperature 0 on chapter 6's hand-made table (4 rows started at steps 0..3): a END / b a END / END / "
                "a END (a tie to the lowest id), PAD after END; step_fn calls of 4, 3, 1 rows; the generator untouched"):
        (tokens, lengths, rows, moved), = run_sampler(name, sample_captions, step, start_state([0, 1, 2, 3]), 4, 4,
                                                      temperature=0.0, seed=5)
        check_equal(f"{name}(temperature=0): tokens", tokens, [[3, 2, 0, 0], [4, 3, 2, 0], [2, 0, 0, 0], [3, 2, 0, 0]])
        check_equal(f"{name}(temperature=0): lengths", lengths, [2, 3, 1, 2])
        if moved:
            raise CheckFailed(f"{name}(temperature=0) drew from rng: the argmax must leave the generator as it was")
    with r.case("the same with a nested state (table state, (a copy of it,)): every tensor's rows selected alike"):
        (tokens, lengths, _, _), = run_sampler(name, sample_captions, step, start_state([0, 1, 2, 3]), 4, 4,
                                               temperature=0.0, nested=True)
        check_equal(f"{name}(temperature=0, nested state): tokens", tokens,
                    [[3, 2, 0, 0], [4, 3, 2, 0], [2, 0, 0, 0], [3, 2, 0, 0]])
    with r.case("temperature 0, max_len 2: row 1 cut after b a (no END, length 2)"):
        (tokens, lengths, _, _), = run_sampler(name, sample_captions, step, start_state([0, 1, 2, 3]), 4, 2,
                                               temperature=0.0)
        check_equal(f"{name}(temperature=0, max_len=2): tokens", tokens, [[3, 2], [4, 3], [2, 0], [3, 2]])
        check_equal(f"{name}(temperature=0, max_len=2): lengths", lengths, [2, 2, 1, 2])
    table, p = _sampling_table()
    model = TableStep(table)
    N = 3000
    for T, kw in ((1.0, None), (0.5, 0.5), (2.0, 2.0)):
        label = "temperature left out (1.0)" if kw is None else f"temperature {T}"
        with r.case(f"{label}: {N} rows, first tokens from softmax(log p / T), p = (0, 0, 0.2, 0.5, 0.3); second tokens "
                    "given the first (q after 3, after 4); PAD and START never drawn"):
            (tokens, lengths, rows, moved), = run_sampler(name, sample_captions, model, start_state([0] * N), N, 3,
                                                          temperature=kw, seed=17)
            distribution(name, tokens[:, 0], tempered(p[0, START], T), what="first tokens")
            for a in (3, 4):
                sel = tokens[:, 0] == a
                distribution(name, tokens[sel, 1], tempered(p[1, a], T), what=f"second tokens after token {a}")
            if not moved:
                raise CheckFailed(f"{name}({label}) did not draw from rng: draw with torch.multinomial(..., "
                                  "generator=rng)")
    with r.case("the same rng seed gives the same captions, whatever torch's global seed"):
        runs = run_sampler(name, sample_captions, model, start_state([0] * 50), 50, 3, temperature=1.0, seed=3,
                           runs=2)
        check_equal(f"{name}: tokens of a second run with torch.Generator().manual_seed(3)", runs[1][0], runs[0][0],
                    context="(randomness comes from rng only, not from torch's global generator)")
    with r.case("rng left out (None): sampling still works (torch's global generator)"):
        run_sampler(name, sample_captions, model, start_state([0] * 20), 20, 3, temperature=1.0)
    with r.case("errors (ValueError): temperature -0.5, max_len 0"):
        st = start_state([0])
        check_raises(f"{name}(..., temperature=-0.5)", lambda: sample_captions(step, st, 1, 3, temperature=-0.5),
                     ValueError, "temperature must be >= 0")
        check_raises(f"{name}(..., max_len=0)", lambda: sample_captions(step, st, 1, 0), ValueError,
                     "max_len must be >= 1")
    r.done()


# --------------------------------------------------------------------------- exercise 5
def toy_brute_force(V, D, H, seed, inject, features, max_len):
    """Every complete caption of each image scored by the toy decoder run on that image alone
    (teacher forcing, no reordering): ranked lists as rnncourse.search.brute_force gives."""
    import itertools

    import torch

    from rnncourse.captioning_training import ToyCaptionDecoder

    dec = ToyCaptionDecoder(V, D, H, seed, inject)
    out = []
    for b in range(len(features)):
        f = torch.as_tensor(np.asarray(features[b:b + 1], np.float64))
        seqs = []
        for n in range(1, max_len + 1):
            for body in itertools.product([v for v in range(V) if v != END], repeat=n - 1):
                seqs += [body + (END,)] + ([body + (v,) for v in range(V) if v != END] if n == max_len else [])
        hyps = []
        for s in seqs:
            tgt_in = torch.tensor([(START,) + s[:-1]])
            lp = torch.log_softmax(dec.forward(f, tgt_in), -1)[0]
            x = sum(float(lp[t, s[t]]) for t in range(len(s)))
            hyps.append((tuple(s), x, x))
        out.append(sorted(hyps, key=lambda h: (-h[2], h[0])))
    return out


def run_caption_step_fn(name, fn, V, D, H, seed, inject, features, max_len):
    info = call(name, produce, "rnncourse.captioning_training:caption_search", fn, V, D, H, seed, inject,
                np.asarray(features), max_len)
    N = len(features)
    shapes = [tuple(s) for s in info["leaf_shapes"]]
    if not shapes or any(len(s) < 2 or s[1] != N for s in shapes):
        raise CheckFailed(f"{name}: every tensor of init_state must have the N = {N} rows along dim 1; got shapes "
                          f"{shapes}")
    first = np.asarray(info["first"], np.float64)
    check_shape(f"{name}: the log_probs of the first step", first, (N, V))
    with np.errstate(over="ignore"):
        sums = np.log(np.exp(first).sum(1))
    check_close(f"{name}: log of the sum of exp(log_probs) of each row (first step)", sums, np.zeros(N), rtol=0,
                atol=1e-6, context="(log_probs must be normalised: log_softmax of the logits)")
    if info["features_changed"]:
        raise CheckFailed(f"{name} changed its argument `features`")
    return info["hyps"]


def same_lists(name, got, want, *, hide=False, what="exhaustive search"):
    for b, (g, w) in enumerate(zip(got, want)):
        gt, wt = [tuple(h[0]) for h in g], [tuple(h[0]) for h in w]
        if gt != wt:
            detail = (f"the best are {gt[:3]}, expected {wt[:3]}" if not hide else
                      f"{sum(x != y for x, y in zip(gt, wt))} of {len(wt)} differ (your best: {gt[:3]})")
            raise CheckFailed(f"{name}: {what} with your step_fn ranks image {b}'s captions differently from the "
                              f"decoder run on that image alone: {detail} (each hypothesis must keep its own image: "
                              "carry the features inside the state, rows along dim 1)")
        for j, (x, y) in enumerate(zip(g, w)):
            check_close(f"{name}: the log-probability of image {b}'s caption {gt[j]}", x[1], y[1], **LOGP_TOL,
                        show_expected=not hide)


def check_caption_step_fn(caption_step_fn) -> None:
    r = Report("caption_step_fn")
    name = "caption_step_fn"
    rng = np.random.default_rng(75)
    for inject, seed in (("input", 1), ("init", 2)):
        V, D, H, L = 5, 2, 4, 3
        feats = rng.normal(0, 1.5, (3, D))
        with r.case(f"a toy decoder (inject={inject!r}, V={V}), 3 different images: exhaustive search "
                    "(rnncourse.search.brute_force, which reorders and repeats rows) with your step_fn = the decoder "
                    "run on each image alone; normalised log_probs"):
            got = run_caption_step_fn(name, caption_step_fn, V, D, H, seed, inject, feats, L)
            same_lists(name, got, toy_brute_force(V, D, H, seed, inject, feats, L))
    with r.case("one image (N = 1), max_len 1"):
        feats = rng.normal(0, 1, (1, 3))
        got = run_caption_step_fn(name, caption_step_fn, 4, 3, 2, 3, "input", feats, 1)
        same_lists(name, got, toy_brute_force(4, 3, 2, 3, "input", feats, 1))
        got = run_caption_step_fn(name, caption_step_fn, 4, 3, 2, 3, "init", feats, 2)
        same_lists(name, got, toy_brute_force(4, 3, 2, 3, "init", feats, 2))
    r.done()


# --------------------------------------------------------------------------- exercise 6
def attention_shapes(V, E, H, D, A):
    return [(V, E), (4 * H, E + D), (4 * H, H), (4 * H,), (4 * H,), (H, D), (H,), (H, D), (H,), (A, H), (A,),
            (A, D), (1, A), (V, H), (V,)]


def attention_peer(params, grid, tgt_in, h0, c0, V, E, H, D, A):
    emb = by_shape(params, (V, E))[0]
    w_ih, w_hh, b = _lstm_parts(params, E + D, H)
    W_a, b_a = with_bias(params, (A, H))[0]
    U_a, w = by_shape(params, (A, D))[0], by_shape(params, (1, A))[0]
    W_o, b_o = with_bias(params, (V, H))[0]
    g = np.asarray(grid, np.float32).astype(np.float64)
    h, c, logits, weights = h0, c0, [], []
    for t in range(np.shape(tgt_in)[1]):
        e = (np.tanh((h @ W_a.T + b_a)[:, None, :] + g @ U_a.T) @ w.T)[..., 0]      # (N, L)
        p = np.exp(e - e.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        z = np.einsum("nl,nld->nd", p, g)
        h, c = lstm_step(np.concatenate([emb[np.asarray(tgt_in)[:, t]], z], 1), h, c, w_ih, w_hh, b)
        logits.append(h @ W_o.T + b_o)
        weights.append(p)
    return np.stack(logits, 1), np.stack(weights, 1)


def run_attention(name, model, grid, tgt_in, V, H):
    g, t = _tensor(grid, "float32"), _tensor(tgt_in)
    kept = (g.clone(), t.clone())
    out = call(f"{name}.forward", model, g, t)
    logits, weights = _tuple(name, out, 2, "a tuple (logits, weights)")
    N, T = np.shape(tgt_in)
    L = np.shape(grid)[1]
    logits = _float_tensor(f"{name}.forward: logits", logits, (N, T, V))
    weights = _float_tensor(f"{name}.forward: weights", weights, (N, T, L))
    st = _tuple(f"{name}.init_state", call(f"{name}.init_state", model.init_state, g), 2, "a tuple (h, c)")
    h0, c0 = _float_tensor(f"{name}.init_state: h", st[0], (N, H)), _float_tensor(f"{name}.init_state: c", st[1], (N, H))
    check_unchanged("grid", g, kept[0], who=f"{name}.forward")
    check_unchanged("tgt_in", t, kept[1], who=f"{name}.forward")
    return logits, weights, h0, c0


def attention_steps(name, model, grid, tgt_in, V):
    g = _tensor(grid, "float32")
    state = call(f"{name}.init_state", model.init_state, g)
    N, T = np.shape(tgt_in)
    L = np.shape(grid)[1]
    lgs, ws = [], []
    for t in range(T):
        res = call(f"{name}.step", model.step, g, _tensor(np.asarray(tgt_in)[:, t]), state)
        lg, state, w = _tuple(f"{name}.step", res, 3, "a tuple (logits, new_state, weights)")
        lgs.append(_float_tensor(f"{name}.step: logits", lg, (N, V)))
        ws.append(_float_tensor(f"{name}.step: weights", w, (N, L)))
    return np.stack(lgs, 1), np.stack(ws, 1)


def attention_case(name, cls, rng, V, E, H, D, A, N, T, L, *, init_seed=0):
    model = make_model(name, cls, V, E, H, D, A, init_seed=init_seed)
    params = parameters(name, model)
    check_parameter_shapes(name, params, attention_shapes(V, E, H, D, A),
                           f"Embedding({V}, {E}), LSTMCell({E + D}, {H}), two Linear({D}, {H}) for h0 and c0, "
                           f"W_a Linear({H}, {A}), U_a Linear({D}, {A}, bias=False), w Linear({A}, 1, bias=False), "
                           f"Linear({H}, {V})")
    grid = rng.normal(0, 1, (N, L, D))
    tgt = rng.integers(3, V, (N, T))
    tgt[:, 0] = START
    logits, weights, h0, c0 = run_attention(name, model, grid, tgt, V, H)
    g32 = grid.astype(np.float32).astype(np.float64)
    check_initial_state(name, h0, c0, g32.mean(1), _init_pairs(params, D, H), "the mean of the grid's cells")
    check_close(f"{name}: the sums of the weights over the {L} cells", weights.sum(-1), np.ones((N, T)), rtol=0,
                atol=1e-5, context="(p_t = softmax over the cells i of e_ti)")
    want_l, want_w = attention_peer(params, grid, tgt, h0, c0, V, E, H, D, A)
    ctx = ("(e_ti = w^T tanh(W_a h_{t-1} + U_a v_i + b_a), p_t = softmax_i(e_t), z_t = sum_i p_ti v_i, the cell reads "
           "concat(embed(x_t), z_t), logits = Linear(h_t))")
    check_close(f"{name}: weights against the formulas on your parameters", weights, want_w, **MODEL_TOL, context=ctx)
    check_close(f"{name}: logits against the formulas on your parameters", logits, want_l, **MODEL_TOL, context=ctx)
    sl, sw = attention_steps(name, model, grid, tgt, V)
    ctx = "(forward must equal init_state then step T times, each from the state the previous step returned)"
    check_close(f"{name}: logits of {T} steps against forward", sl, logits, **MODEL_TOL, context=ctx)
    check_close(f"{name}: weights of {T} steps against forward", sw, weights, **MODEL_TOL, context=ctx)
    return model


def check_AttentionCaptionDecoder(AttentionCaptionDecoder) -> None:
    r = Report("AttentionCaptionDecoder")
    name = "AttentionCaptionDecoder"
    rng = np.random.default_rng(76)
    with r.case("AttentionCaptionDecoder(7, 3, 5, 4, 6), N = 3, T = 4, L = 6: h0, c0 from the mean cell; weights sum "
                "to 1; logits and weights against the formulas on your parameters; step T times = forward"):
        attention_case(name, AttentionCaptionDecoder, rng, 7, 3, 5, 4, 6, 3, 4, 6, init_seed=1)
    with r.case("AttentionCaptionDecoder(6, 2, 3, 5, 4): N = 1, T = 1, L = 1 (one cell: weight 1)"):
        attention_case(name, AttentionCaptionDecoder, rng, 6, 2, 3, 5, 4, 1, 1, 1, init_seed=2)
    r.done()


# --------------------------------------------------------------------------- exercise 7
def run_maps(name, fn, weights, grid_size, image_size):
    kept = weights.copy() if isinstance(weights, np.ndarray) else weights.clone()
    out = call(name, fn, weights, grid_size, image_size)
    if isinstance(weights, np.ndarray) and not isinstance(out, np.ndarray):
        raise CheckFailed(f"{name} must return a numpy array for numpy weights (numpy in, numpy out), got "
                          f"{type(out).__name__}")
    if _is_tensor(weights) and not _is_tensor(out):
        raise CheckFailed(f"{name} must return a tensor for tensor weights (a tensor in, a tensor out), got "
                          f"{type(out).__name__}")
    check_unchanged("weights", weights, kept, who=name)
    check_dtype(f"{name}: the maps (of the weights' dtype)", out, to_numpy(weights).dtype)
    return to_numpy(out)


def check_attention_maps(attention_maps) -> None:
    r = Report("attention_maps")
    name = "attention_maps"
    # grid 2 x 3 (cells 0 1 2 / 3 4 5), image 4 x 6: each cell a 2 x 2 block; cell 1 is rows 0:2, cols 2:4
    w = np.arange(6, dtype=np.float64) / 15
    want = np.repeat(np.repeat(w.reshape(2, 3), 2, axis=0), 2, axis=1)
    with r.case("weights 0..5 / 15 on a 2 x 3 grid, image 4 x 6: cell r * 3 + c fills rows 2r:2r+2, cols 2c:2c+2"):
        got = run_maps(name, attention_maps, w.copy(), (2, 3), (4, 6))
        check_equal(f"{name}(w, (2, 3), (4, 6))", got, want)
    with r.case("a batch (2, 3, 6) of float32 tensors -> (2, 3, 8, 9): blocks 4 x 3, dtype kept"):
        import torch

        rng = np.random.default_rng(77)
        ww = rng.random((2, 3, 6)).astype(np.float32)
        got = run_maps(name, attention_maps, torch.from_numpy(ww.copy()), (2, 3), (8, 9))
        check_equal(f"{name}(w (2, 3, 6), (2, 3), (8, 9))", got,
                    np.repeat(np.repeat(ww.reshape(2, 3, 2, 3), 4, axis=-2), 3, axis=-1))
    with r.case("a numpy batch (2, 3, 6) float64 -> (2, 3, 4, 6): blocks 2 x 2"):
        ww = np.random.default_rng(78).random((2, 3, 6))
        got = run_maps(name, attention_maps, ww.copy(), (2, 3), (4, 6))
        check_equal(f"{name}(w (2, 3, 6), (2, 3), (4, 6))", got,
                    np.repeat(np.repeat(ww.reshape(2, 3, 2, 3), 2, axis=-2), 2, axis=-1))
    with r.case("a 1 x 1 grid: the one weight everywhere; float32 numpy in, float32 numpy out"):
        got = run_maps(name, attention_maps, np.array([0.25], np.float32), (1, 1), (2, 3))
        check_equal(f"{name}([0.25], (1, 1), (2, 3))", got, np.full((2, 3), 0.25, np.float32))
    with r.case("errors (ValueError): L = 5 for a 2 x 3 grid, an image 5 x 6 for a 2 x 3 grid, 4 x 7"):
        for what, args in (("L = 5, grid (2, 3)", (np.zeros(5), (2, 3), (4, 6))),
                           ("image (5, 6), grid (2, 3)", (np.zeros(6), (2, 3), (5, 6))),
                           ("image (4, 7), grid (2, 3)", (np.zeros(6), (2, 3), (4, 7))),
                           ("a tensor of L = 4, grid (2, 3)", (_tensor(np.zeros((3, 4)), "float32"), (2, 3), (4, 6)))):
            check_raises(f"{name} with {what}", lambda args=args: attention_maps(*args), ValueError,
                         "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 8
def run_in_box(name, fn, weights, grid_size, image_size, boxes):
    wk, bk = weights.copy(), boxes.copy()
    out = call(name, fn, weights, grid_size, image_size, boxes)
    if not isinstance(out, np.ndarray):
        raise CheckFailed(f"{name} must return a numpy bool array, got {type(out).__name__}")
    check_dtype(f"{name}: the result", out, np.bool_)
    check_shape(f"{name}: the result (K,)", out, (len(weights),))
    check_unchanged("weights", weights, wk, who=name)
    check_unchanged("boxes", boxes, bk, who=name)
    return out


def check_attention_in_box(attention_in_box) -> None:
    r = Report("attention_in_box")
    name = "attention_in_box"
    # grid 2 x 4 on a 64 x 64 image: cells are 32 rows x 16 cols; cell k = r * 4 + c has centre
    # x = 16 c + 8, y = 32 r + 16.  Cell 6 (r 1, c 2): (40, 48); cell 1 (r 0, c 1): (24, 16).
    W = np.zeros((5, 8))
    W[0, 6] = 1.0      # centre (40, 48) in box (30, 40, 50, 60): inside
    W[1, 6] = 1.0      # the same centre, box (0, 40, 40, 64): x1 = 40 is exclusive: outside
    W[2, 1] = 1.0      # centre (24, 16), box (24, 16, 30, 20): on x0 and y0: inside
    W[3, 1] = 1.0      # centre (24, 16), box (0, 0, 64, 16): y1 = 16 exclusive: outside
    W[4, [2, 5]] = 0.5  # a tie: the lowest index, cell 2 (r 0, c 2): centre (40, 16), box (32, 0, 48, 32): inside
    boxes = np.array([[30, 40, 50, 60], [0, 40, 40, 64], [24, 16, 30, 20], [0, 0, 64, 16], [32, 0, 48, 32]])
    with r.case("hand-made, a 2 x 4 grid on 64 x 64 (centres x = 16c + 8, y = 32r + 16): inside, on the exclusive x1, "
                "on x0 and y0, on the exclusive y1, a tie to the lowest index"):
        got = run_in_box(name, attention_in_box, W.copy(), (2, 4), (64, 64), boxes.copy())
        check_equal(f"{name}(...)", got, np.array([True, False, True, False, True]))
    # a wide box that holds cell 4's centre but not cell 1's swapped: grid 2 x 4, cell 4 = (r 1, c 0): (8, 48)
    with r.case("x and y are not swapped: cell 4 (row 1, col 0), centre x = 8, y = 48, in box (0, 40, 16, 64) and not "
                "in box (40, 0, 64, 16)"):
        W2 = np.zeros((2, 8))
        W2[:, 4] = 1.0
        got = run_in_box(name, attention_in_box, W2, (2, 4), (64, 64), np.array([[0, 40, 16, 64], [40, 0, 64, 16]]))
        check_equal(f"{name}(...)", got, np.array([True, False]))
    with r.case("errors (ValueError): weights with L != gh * gw, boxes of shape (K, 3), boxes for K + 1 pairs"):
        for what, args in (("L = 7 for a 2 x 4 grid", (np.zeros((2, 7)), (2, 4), (64, 64), np.zeros((2, 4)))),
                           ("boxes (K, 3)", (np.zeros((2, 8)), (2, 4), (64, 64), np.zeros((2, 3)))),
                           ("boxes (K + 1, 4)", (np.zeros((2, 8)), (2, 4), (64, 64), np.zeros((3, 4))))):
            check_raises(f"{name} with {what}", lambda args=args: attention_in_box(*args), ValueError,
                         "see the docstring's Raises")
    r.done()
