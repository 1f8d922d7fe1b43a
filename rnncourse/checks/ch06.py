"""Visible checks for chapter 6 (sequence to sequence: encoder-decoder, greedy and beam
search, attention, BLEU).

Each ``check_*`` takes the student's function or class, runs it on small cases whose answers
were worked out by hand (the arithmetic is in the comments) and on random ones compared with
peers: exhaustive search (``rnncourse.search.brute_force``) for beam search, a plain greedy
loop for beam size 1, ``F.cross_entropy`` for the masked loss, ``sacrebleu`` for BLEU, and the
student's own module run on each sequence alone for the encoder and decoders.  A failure
raises :class:`~rnncourse.checks.core.CheckFailed` with a precise message, else the check
prints "✔ ... checks passed".

Conventions (``rnncourse.search``'s module docstring): ids 0 ``<pad>``, 1 ``<sos>``, 2
``<eos>``; ``step_fn(tokens_prev (N,), state) -> (log_probs (N, V), state)`` with every state
tensor's rows along dim 1; hypotheses ``(tokens tuple, log_prob, score)`` sorted by score
descending, ties by tokens ascending.

The step functions handed to the search exercises are the portable toy scorers
``rnncourse.checks.functions.TableStep`` and ``HashStep``; the number of ``step_fn`` calls and
the rows of each are recorded where the student's function runs
(``rnncourse.checks.functions.calls_recorded`` through ``produce``).  The models are built
and probed where they live (``rnncourse.training.construct``, ``rnncourse.seq2seq_training``).
"""
from __future__ import annotations

import math

import numpy as np

from rnncourse import search as S
from .core import (CheckFailed, Report, call, check_array, check_close, check_dtype, check_equal, check_raises,
                   check_shape, check_unchanged, produce, to_numpy)
from .core import _is_tensor
from .functions import HashStep, TableStep

# float32 modules: batched against alone, one call against steps.  The models run where they live (on CUDA when
# the grader has one: cuDNN and TF32), so the float32 CUDA tolerance of rnncourse.checks.core.tolerance.
MODEL_TOL = dict(rtol=2e-3, atol=1e-4)
SAME_ATOL = 1e-6                          # "did not change": outputs equal to 1e-6 (an ignored input changes nothing)
LOGP_TOL = dict(rtol=1e-9, atol=1e-9)     # float64 sums of log-probabilities


# --------------------------------------------------------------------------- models: helpers
def make_model(name, cls, *args, init_seed=0):
    """The student's class instantiated where it lives (the sandbox, when grading)."""
    try:
        return produce("rnncourse.seq2seq_training:construct", cls, int(init_seed), *args)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet (it still raises NotImplementedError)") from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(f"{name}{tuple(args)} raised {type(exc).__name__}: {exc}") from None


def _tensor(a, dtype="int64"):
    import torch

    return torch.as_tensor(np.asarray(a)).to(getattr(torch, dtype)).clone()


def _pair(name, out, what):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{name} must return {what}, got {type(out).__name__}"
                          + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return out


def _float_tensor(label, x, shape):
    if not _is_tensor(x):
        raise CheckFailed(f"{label}: expected a torch tensor, got {type(x).__name__}")
    arr = check_array(label, x, kind="f")
    return check_shape(label, arr, shape).astype(np.float64)


def _state(name, state, L, B, H, what):
    h, c = _pair(f"{name}: the state", state, f"{what} with the state a tuple (h, c)")
    h, c = _float_tensor(f"{name}: h", h, (L, B, H)), _float_tensor(f"{name}: c", c, (L, B, H))
    bad = np.abs(h) > np.tanh(np.abs(c)) + 1e-5
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CheckFailed(f"{name}: the state must be (h, c) in this order: an LSTM's h = o * tanh(c), so "
                          f"|h| <= tanh(|c|), but at index {idx} h = {h[idx]:.4g} and c = {c[idx]:.4g}")
    return h, c


def padded(rng, V, B, S, lengths):
    """Random ids 3..V-1 (ordinary tokens) right-padded with 0 to S."""
    ids = rng.integers(3 if V > 3 else 1, V, (B, S))
    for b, n in enumerate(lengths):
        ids[b, n:] = 0
    return ids


def run_encoder(name, model, src, lengths, L, H):
    """``model(src, lengths)`` on int64 tensors; checks the form of the result and that the
    arguments are left alone; returns (outputs, h, c) as float64 numpy."""
    src_t, len_t = _tensor(src), _tensor(lengths)
    kept = (src_t.clone(), len_t.clone())
    out = call(f"{name}.forward", model, src_t, len_t)
    outputs, state = _pair(name, out, "a tuple (outputs, (h, c))")
    B, S_ = np.shape(src)
    outputs = _float_tensor(f"{name}: outputs", outputs, (B, S_, H))
    h, c = _state(name, state, L, B, H, "(outputs, (h, c))")
    check_unchanged("src", src_t, kept[0], who=f"{name}.forward")
    check_unchanged("lengths", len_t, kept[1], who=f"{name}.forward")
    return outputs, h, c


def encoder_properties(name, model, rng, V, L, H, B, S_):
    """Exactly 0 at padding; each sequence's outputs and final state equal the module run on
    that sequence alone (unpadded); padding content and extra padding columns change nothing."""
    lengths = rng.integers(1, S_ + 1, B)
    lengths[0] = S_
    if B > 1:
        lengths[1] = 1
    if B > 2:
        lengths[2] = max(1, S_ - 1)
    ids = padded(rng, V, B, S_, lengths)
    out, h, c = run_encoder(name, model, ids, lengths, L, H)
    valid = np.arange(S_)[None, :] < lengths[:, None]
    check_close(f"{name}: outputs at padded positions", out[~valid], np.zeros(((~valid).sum(), H)), rtol=0, atol=0,
                context=f"(lengths {lengths.tolist()}; outputs must be exactly 0 at padding: pack the sequences with "
                        "nn.utils.rnn.pack_padded_sequence and unpack with pad_packed_sequence)")
    for b, n in enumerate(lengths):
        o1, h1, c1 = run_encoder(name, model, ids[b:b + 1, :n], lengths[b:b + 1], L, H)
        why = ("(each sequence must be encoded as if alone, unpadded: the final state is the state after its last "
               "true token, not after the padding; pack the sequences, enforce_sorted=False)")
        check_close(f"{name}: outputs of sequence {b} (length {n} of {S_}) against the same module run on it alone",
                    out[b, :n], o1[0], **MODEL_TOL, context=why)
        check_close(f"{name}: h of sequence {b} (length {n} of {S_}) against the same module run on it alone",
                    h[:, b], h1[:, 0], **MODEL_TOL, context=why)
        check_close(f"{name}: c of sequence {b} (length {n} of {S_}) against the same module run on it alone",
                    c[:, b], c1[:, 0], **MODEL_TOL, context=why)
    junk = ids.copy()
    for b, n in enumerate(lengths):
        junk[b, n:] = rng.integers(1, V, S_ - n)
    wide = np.concatenate([ids, np.zeros((B, 3), ids.dtype)], axis=1)
    for what, other in (("padding filled with other ids", junk), ("3 more padding columns", wide)):
        o2, h2, c2 = run_encoder(name, model, other, lengths, L, H)
        ctx = "(what lies beyond a sequence's length must change nothing)"
        check_close(f"{name}: outputs with {what}", o2[:, :S_], out, **MODEL_TOL, context=ctx)
        check_close(f"{name}: h with {what}", h2, h, **MODEL_TOL, context=ctx)
        check_close(f"{name}: c with {what}", c2, c, **MODEL_TOL, context=ctx)
        if o2.shape[1] > S_:
            check_close(f"{name}: outputs in the 3 extra padding columns", o2[:, S_:], np.zeros((B, 3, H)), rtol=0,
                        atol=0, context="(exactly 0 at padding; pad_packed_sequence(..., total_length=S))")
    return ids, lengths


def encoder_errors(name, model, V):
    src, lengths = _tensor([[3, 4, 0], [5, 0, 0]]), _tensor([2, 1])
    bad = (("a length 0", src, _tensor([2, 0])), ("a length S + 1 = 4", src, _tensor([4, 1])),
           ("lengths of shape (B + 1,)", src, _tensor([2, 1, 1])), ("a 1-D src", src[0], _tensor([2])))
    for what, s, l in bad:
        check_raises(f"{name}.forward with {what}", lambda s=s, l=l: model(s, l), ValueError,
                     "the docstring's Raises: shapes that disagree or lengths outside 1..S")
    call(f"{name}.forward", model, src, lengths)


def run_decoder(name, model, tgt_in, h0, c0, V):
    """``model(tgt_in, (h0, c0))``; returns (logits, h, c) as float64 numpy."""
    t, h, c = _tensor(tgt_in), _tensor(h0, "float32"), _tensor(c0, "float32")
    kept = (t.clone(), h.clone(), c.clone())
    out = call(f"{name}.forward", model, t, (h, c))
    logits, state = _pair(name, out, "a tuple (logits, (h, c))")
    B, U = np.shape(tgt_in)
    L, _, H = np.shape(h0)
    logits = _float_tensor(f"{name}: logits", logits, (B, U, V))
    hs, cs = _state(name, state, L, B, H, "(logits, (h, c))")
    for arg, now, before in zip(("tgt_in", "state[0] (h)", "state[1] (c)"), (t, h, c), kept):
        check_unchanged(arg, now, before, who=f"{name}.forward")
    return logits, hs, cs


def decoder_properties(name, model, rng, V, L, H, B, U):
    """U one-token calls equal one call on U tokens; the state given is used, row by row;
    a later token does not change earlier logits."""
    tgt = rng.integers(3, V, (B, U))
    tgt[:, 0] = S.SOS
    h0, c0 = rng.normal(0, 0.7, (L, B, H)), rng.normal(0, 0.7, (L, B, H))
    logits, h1, c1 = run_decoder(name, model, tgt, h0, c0, V)
    hs, cs = h0, c0
    for t in range(U):
        lt, hs, cs = run_decoder(name, model, tgt[:, t:t + 1], hs, cs, V)
        check_close(f"{name}: logits at position {t} decoded one token at a time (the state passed on)", lt[:, 0],
                    logits[:, t], **MODEL_TOL, context="(one call on U tokens must equal U calls on one token each, "
                    "each started from the state the previous call returned)")
    check_close(f"{name}: h after {U} one-token calls", hs, h1, **MODEL_TOL)
    check_close(f"{name}: c after {U} one-token calls", cs, c1, **MODEL_TOL)
    z, _, _ = run_decoder(name, model, tgt, np.zeros_like(h0), np.zeros_like(c0), V)
    if np.allclose(z, logits, rtol=0, atol=SAME_ATOL):
        raise CheckFailed(f"{name}: forward(tgt_in, state) gave the same logits from a random state as from zeros: "
                          "the state given is ignored (pass it to the LSTM)")
    if B > 1:
        h2, c2 = h0.copy(), c0.copy()
        h2[:, 0], c2[:, 0] = rng.normal(0, 0.7, (L, H)), rng.normal(0, 0.7, (L, H))
        l2, _, _ = run_decoder(name, model, tgt, h2, c2, V)
        check_close(f"{name}: logits of items 1..B-1 when only item 0's state changed", l2[1:], logits[1:],
                    **MODEL_TOL, context="(the state's dim 1 is the batch: item b starts from state[:, b])")
        if np.allclose(l2[0], logits[0], rtol=0, atol=SAME_ATOL):
            raise CheckFailed(f"{name}: changing item 0's initial state did not change its logits")
    if U > 1:
        other = tgt.copy()
        other[:, -1] = 3 + (other[:, -1] - 2) % (V - 3)
        l3, _, _ = run_decoder(name, model, other, h0, c0, V)
        check_close(f"{name}: logits before the last position when only the last input changed", l3[:, :-1],
                    logits[:, :-1], **MODEL_TOL, context="(position u must see inputs up to u only)")


def run_attention(name, model, tgt_in, h0, c0, enc, mask, V):
    t, h, c = _tensor(tgt_in), _tensor(h0, "float32"), _tensor(c0, "float32")
    e, m = _tensor(enc, "float32"), _tensor(mask, "bool")
    kept = [x.clone() for x in (t, h, c, e, m)]
    out = call(f"{name}.forward", model, t, (h, c), e, m)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"{name} must return a tuple (logits, (h, c), weights), got {type(out).__name__}")
    B, U = np.shape(tgt_in)
    L, _, H = np.shape(h0)
    S_ = np.shape(enc)[1]
    logits = _float_tensor(f"{name}: logits", out[0], (B, U, V))
    hs, cs = _state(name, out[1], L, B, H, "(logits, (h, c), weights)")
    weights = _float_tensor(f"{name}: weights", out[2], (B, U, S_))
    for arg, now, before in zip(("tgt_in", "state[0] (h)", "state[1] (c)", "enc_outputs", "src_mask"),
                                (t, h, c, e, m), kept):
        check_unchanged(arg, now, before, who=f"{name}.forward")
    return logits, hs, cs, weights


def attention_properties(name, model, rng, V, L, H, B, U, S_, score):
    """Weights sum to 1 over the source, exactly 0 where src_mask is False; the padded encoder
    outputs (and extra padded columns) change nothing; U one-token calls equal one call; the
    state and the encoder outputs at real positions are used."""
    lengths = rng.integers(1, S_ + 1, B)
    lengths[0] = S_
    if B > 1:
        lengths[1] = 1
    mask = np.arange(S_)[None, :] < lengths[:, None]
    enc = rng.normal(0, 1, (B, S_, H))
    enc[~mask] = 0.0
    tgt = rng.integers(3, V, (B, U))
    tgt[:, 0] = S.SOS
    h0, c0 = rng.normal(0, 0.7, (L, B, H)), rng.normal(0, 0.7, (L, B, H))
    what = f"(score={score!r}, source lengths {lengths.tolist()})"
    logits, h1, c1, w = run_attention(name, model, tgt, h0, c0, enc, mask, V)
    check_close(f"{name}: the sums of the weights over the source {what}", w.sum(-1), np.ones((B, U)), rtol=0,
                atol=1e-5, context="(weights[b, t] = softmax over s of the scores)")
    if np.any(w < 0):
        raise CheckFailed(f"{name}: negative attention weights {what}")
    pad = np.broadcast_to(~mask[:, None, :], w.shape)
    check_close(f"{name}: weights at padded source positions {what}", w[pad], np.zeros(int(pad.sum())), rtol=0,
                atol=0, context="(set the scores of padded positions to -inf before the softmax: exactly 0)")
    junk = enc.copy()
    junk[~mask] = rng.normal(0, 50.0, (int((~mask).sum()), H))
    wide_enc = np.concatenate([junk, rng.normal(0, 50.0, (B, 2, H))], axis=1)
    wide_mask = np.concatenate([mask, np.zeros((B, 2), bool)], axis=1)
    for label, e2, m2 in (("large values in the padded encoder outputs", junk, mask),
                          ("2 more padded source columns (large values)", wide_enc, wide_mask)):
        l2, h2, c2, w2 = run_attention(name, model, tgt, h0, c0, e2, m2, V)
        ctx = "(padded positions must get weight 0 and change nothing)"
        check_close(f"{name}: logits with {label} {what}", l2, logits, **MODEL_TOL, context=ctx)
        check_close(f"{name}: weights with {label} {what}", w2[:, :, :S_], w, **MODEL_TOL, context=ctx)
        check_close(f"{name}: h with {label}", h2, h1, **MODEL_TOL, context=ctx)
        if w2.shape[2] > S_:
            check_close(f"{name}: weights on the extra padded columns", w2[:, :, S_:], np.zeros((B, U, 2)), rtol=0,
                        atol=0, context=ctx)
    flat = np.repeat(rng.normal(0, 1, (B, 1, H)), S_, axis=1)
    flat[~mask] = junk[~mask]
    _, _, _, wf = run_attention(name, model, tgt, h0, c0, flat, mask, V)
    check_close(f"{name}: weights when every real source position has the same encoder output {what}", wf,
                np.broadcast_to((mask / lengths[:, None])[:, None, :], w.shape), rtol=0, atol=1e-5,
                context="(equal scores give equal weights: 1 / length on each real position)")
    hs, cs = h0, c0
    for t in range(U):
        lt, hs, cs, wt = run_attention(name, model, tgt[:, t:t + 1], hs, cs, enc, mask, V)
        ctx = "(one call on U tokens must equal U one-token calls, each from the state the previous one returned)"
        check_close(f"{name}: logits at position {t} decoded one token at a time {what}", lt[:, 0], logits[:, t],
                    **MODEL_TOL, context=ctx)
        check_close(f"{name}: weights at position {t} decoded one token at a time {what}", wt[:, 0], w[:, t],
                    **MODEL_TOL, context=ctx)
    check_close(f"{name}: h after {U} one-token calls", hs, h1, **MODEL_TOL)
    check_close(f"{name}: c after {U} one-token calls", cs, c1, **MODEL_TOL)
    z, _, _, _ = run_attention(name, model, tgt, np.zeros_like(h0), np.zeros_like(c0), enc, mask, V)
    if np.allclose(z, logits, rtol=0, atol=SAME_ATOL):
        raise CheckFailed(f"{name}: the same logits from a random state as from zeros {what}: the state is ignored")
    e3 = enc.copy()
    e3[0, 0] = rng.normal(0, 2.0, H)
    l3, _, _, w3 = run_attention(name, model, tgt, h0, c0, e3, mask, V)
    if np.allclose(l3[0], logits[0], rtol=0, atol=SAME_ATOL):
        raise CheckFailed(f"{name}: changing the encoder output at a real source position did not change the logits "
                          f"{what}: the context vector must enter the output (W_c [context ; d])")
    if B > 1:
        check_close(f"{name}: logits of items 1..B-1 when only item 0's encoder outputs changed", l3[1:], logits[1:],
                    **MODEL_TOL)


def attention_default_and_errors(name, cls, V, E, H):
    shapes = {}
    for label, args in (("left out", (V, E, H)), ("'general'", (V, E, H, 1, "general"))):
        model = make_model(name, cls, *args, init_seed=1)
        params = call(name, produce, "rnncourse.training:module_parameters", model)
        shapes[label] = sorted(tuple(np.shape(p)) for p in params.values())
    if shapes["left out"] != shapes["'general'"]:
        raise CheckFailed(f"{name}({V}, {E}, {H}) with num_layers and score left out must be the 'general' score with "
                          f"one layer: its parameters have shapes {shapes['left out']}, those of "
                          f"{name}({V}, {E}, {H}, 1, 'general') {shapes[chr(39) + 'general' + chr(39)]}")
    for bad in ("cosine", "Dot"):
        check_raises(f"{name}({V}, {E}, {H}, 1, {bad!r})",
                     lambda bad=bad: produce("rnncourse.training:construct", cls, 0, V, E, H, 1, bad), ValueError,
                     "an unknown score must raise ValueError")


# --------------------------------------------------------------------------- exercise 1
def check_Encoder(Encoder) -> None:
    r = Report("Encoder")
    name = "Encoder"
    rng = np.random.default_rng(61)
    with r.case("Encoder(9, 4, 5): B = 4, S = 6, unsorted lengths; outputs 0 at padding; each sequence as if alone; "
                "padding content and extra columns change nothing"):
        model = make_model(name, Encoder, 9, 4, 5, 1, init_seed=1)
        encoder_properties(name, model, rng, 9, 1, 5, 4, 6)
    with r.case("Encoder(7, 3, 4, 2) (two layers): h and c (2, B, H), each layer's state at the true end"):
        model = make_model(name, Encoder, 7, 3, 4, 2, init_seed=2)
        encoder_properties(name, model, rng, 7, 2, 4, 3, 5)
    with r.case("Encoder(6, 2, 3) with num_layers left out (1); B = 1 and S = 1"):
        model = make_model(name, Encoder, 6, 2, 3, init_seed=3)
        encoder_properties(name, model, rng, 6, 1, 3, 2, 4)
        run_encoder(name, model, [[4]], [1], 1, 3)
    with r.case("errors (ValueError): a length 0 or S + 1, lengths of the wrong shape, a 1-D src"):
        encoder_errors(name, make_model(name, Encoder, 6, 2, 3, init_seed=4), 6)
    r.done()


# --------------------------------------------------------------------------- exercise 2
def check_Decoder(Decoder) -> None:
    r = Report("Decoder")
    name = "Decoder"
    rng = np.random.default_rng(62)
    with r.case("Decoder(8, 4, 5): logits (B, U, V); U one-token calls = one call; the state given is used"):
        model = make_model(name, Decoder, 8, 4, 5, 1, init_seed=1)
        decoder_properties(name, model, rng, 8, 1, 5, 3, 4)
    with r.case("Decoder(7, 3, 4, 2) (two layers); B = 1, U = 1"):
        model = make_model(name, Decoder, 7, 3, 4, 2, init_seed=2)
        decoder_properties(name, model, rng, 7, 2, 4, 2, 3)
        decoder_properties(name, model, rng, 7, 2, 4, 1, 1)
    with r.case("Decoder(6, 2, 3) with num_layers left out (1)"):
        model = make_model(name, Decoder, 6, 2, 3, init_seed=3)
        decoder_properties(name, model, rng, 6, 1, 3, 2, 3)
    r.done()


# --------------------------------------------------------------------------- exercise 3
def loss_value(name, fn, logits, targets, mask, dtype="float64"):
    """The student's loss on tensors; checks it is a scalar tensor of logits' dtype, that no
    argument changed; returns it as a float."""
    lg, tg, mk = _tensor(logits, dtype), _tensor(targets), _tensor(mask, "bool")
    kept = (lg.clone(), tg.clone(), mk.clone())
    out = call(name, fn, lg, tg, mk)
    if not _is_tensor(out):
        raise CheckFailed(f"{name} must return a scalar torch tensor (differentiable), got {type(out).__name__}")
    arr = check_dtype(f"{name}: the loss (of logits' dtype)", out, np.dtype(dtype))
    check_shape(f"{name}: the loss (a scalar tensor)", arr, ())
    for arg, now, before in zip(("logits", "targets", "mask"), (lg, tg, mk), kept):
        check_unchanged(arg, now, before, who=name)
    return float(arr)


def loss_gradient(name, fn, logits, targets, mask, expected_grad=None, hide=False):
    """``fn``'s loss and its gradient with respect to the logits (computed where fn lives):
    finite, exactly 0 at masked-out positions, and ``expected_grad`` when given."""
    info = call(name, produce, "rnncourse.seq2seq_training:loss_with_grad", fn, _tensor(logits, "float64"),
                _tensor(targets), _tensor(mask, "bool"))
    if not info["is_tensor"] or not info["requires_grad"] or info["grad"] is None:
        raise CheckFailed(f"{name}: the loss must be a differentiable tensor (computed from logits with torch "
                          "operations, not .item() or numpy); backward() gave no gradient")
    g = np.asarray(info["grad"], dtype=np.float64)
    check_shape(f"{name}: the gradient with respect to logits", g, np.shape(logits))
    m = np.asarray(mask, bool)
    check_close(f"{name}: the gradient at masked-out positions", g[~m], np.zeros(((~m).sum(), np.shape(logits)[2])),
                rtol=0, atol=0, equal_nan=True, context="(positions where mask is False must get zero gradient: select "
                "the True positions before the loss; multiplying NaN logits by 0 gives NaN)")
    if expected_grad is not None:
        check_close(f"{name}: the gradient with respect to logits", g, expected_grad, rtol=1e-7, atol=1e-10,
                    show_expected=not hide, context="(the mean over the True positions: each gets 1 / (number of "
                    "True positions) of (softmax - one-hot))")
    return g


def _reference_ce(logits, targets, mask):
    """Mean cross-entropy over the True positions with F.cross_entropy (float64), and its gradient."""
    import torch
    import torch.nn.functional as F

    lg = torch.as_tensor(np.asarray(logits, np.float64)).clone().requires_grad_(True)
    m = torch.as_tensor(np.asarray(mask, bool))
    loss = F.cross_entropy(lg[m], torch.as_tensor(np.asarray(targets, np.int64))[m])
    loss.backward()
    return float(loss.detach()), lg.grad.numpy()


def junk_targets(rng, targets, mask, V):
    """Targets with -100, V and other out-of-range ids at the masked-out positions."""
    t = np.array(targets, np.int64)
    t[~mask] = rng.choice([-100, V, V + 7, -1], int((~mask).sum()))
    return t


def check_masked_loss(masked_loss) -> None:
    r = Report("masked_loss")
    name = "masked_loss"
    # V = 2, B = 1, U = 3.  Position 0: logits (0, ln 3), target 1: softmax = (1/4, 3/4), loss -ln(3/4) = 0.287682;
    # position 1: logits (0, 0), target 0: -ln(1/2) = 0.693147; position 2 masked out (logits NaN, target -100).
    # mean over the 2 True positions: (0.287682 + 0.693147) / 2 = 0.490415
    logits = np.array([[[0.0, math.log(3.0)], [0.0, 0.0], [np.nan, np.nan]]])
    targets, mask = np.array([[1, 0, -100]]), np.array([[True, True, False]])
    want = (-math.log(0.75) + math.log(2.0)) / 2
    with r.case("V = 2: (0, ln 3) -> target 1 and (0, 0) -> target 0 count, a NaN position with target -100 does not: "
                "(-ln 3/4 + ln 2) / 2 = 0.490415"):
        check_close(f"{name}(...)", loss_value(name, masked_loss, logits, targets, mask), want, rtol=1e-12, atol=0,
                    context="(the mean over the True positions of -log softmax(logits)[target])")
    # the same with all three positions: (0.287682 + 0.693147 + ln 2) / 3 when position 2 is (0, 0) -> target 1
    with r.case("all positions True: the mean over B * U"):
        lg = logits.copy()
        lg[0, 2] = 0.0
        got = loss_value(name, masked_loss, lg, [[1, 0, 1]], [[True, True, True]])
        check_close(f"{name}(...)", got, (-math.log(0.75) + 2 * math.log(2.0)) / 3, rtol=1e-12, atol=0)
    rng = np.random.default_rng(63)
    for dtype in ("float64", "float32"):
        B, U, V = 3, 5, 6
        lg = rng.normal(0, 2, (B, U, V))
        mask = rng.random((B, U)) < 0.6
        mask[0, 0] = True
        tg = rng.integers(0, V, (B, U))
        want, grad = _reference_ce(lg, tg, mask)
        junk = lg.copy()
        junk[~mask] = np.nan
        with r.case(f"random B={B}, U={U}, V={V} in {dtype}, NaN logits and targets -100 / V at masked positions, "
                    "against F.cross_entropy on the True positions"):
            got = loss_value(name, masked_loss, junk, junk_targets(rng, tg, mask, V), mask, dtype)
            check_close(f"{name}(...)", got, want, rtol=1e-12 if dtype == "float64" else 1e-5, atol=0)
    with r.case("the loss is differentiable; masked-out positions (NaN logits) get zero gradient"):
        loss_gradient(name, masked_loss, junk, junk_targets(rng, tg, mask, V), mask, grad)
    with r.case("one True position in the whole batch: that position's cross-entropy"):
        m1 = np.zeros((B, U), bool)
        m1[2, 4] = True
        want1, _ = _reference_ce(lg, tg, m1)
        check_close(f"{name}(...)", loss_value(name, masked_loss, lg, tg, m1), want1, rtol=1e-12, atol=0)
    with r.case("errors (ValueError): a mask without True, shapes that disagree"):
        lg_t, tg_t, mk_t = _tensor(lg, "float64"), _tensor(tg), _tensor(mask, "bool")
        bad = (("a mask with no True", (lg_t, tg_t, _tensor(np.zeros((B, U), bool), "bool"))),
               ("targets of shape (B, U + 1)", (lg_t, _tensor(np.zeros((B, U + 1), int)), mk_t)),
               ("a mask of shape (B + 1, U)", (lg_t, tg_t, _tensor(np.ones((B + 1, U), bool), "bool"))),
               ("2-D logits (B * U, V)", (lg_t.reshape(B * U, V), tg_t, mk_t)))
        for what, args in bad:
            check_raises(f"{name} with {what}", lambda args=args: masked_loss(*args), ValueError,
                         "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- search: helpers
def start_state(steps):
    """A TableStep state (1, B) whose rows start at the given steps."""
    import torch

    return torch.tensor([list(steps)], dtype=torch.int64)


def recorded(name, fn, step_fn, *args, **kwargs):
    """``fn(step_fn, *args, **kwargs)`` run where fn lives, with its step_fn calls recorded:
    returns (result, rows of each call)."""
    return call(name, produce, "rnncourse.checks.functions:calls_recorded", fn, step_fn, *args, **kwargs)


def run_greedy(name, fn, step_fn, state, B, max_len, **kw):
    """The student's greedy decoding with calls recorded; checks types, shapes, dtypes and that
    init_state is left alone; returns (tokens, lengths, rows)."""
    kept = state.clone()
    out, rows = recorded(name, fn, step_fn, state, B, max_len, **kw)
    check_unchanged("init_state", state, kept, who=name)
    tokens, lengths = _pair(name, out, "a tuple (tokens, lengths)")
    tokens = check_dtype(f"{name}: tokens", check_array(f"{name}: tokens", tokens, kind="i"), np.int64)
    lengths = check_dtype(f"{name}: lengths", check_array(f"{name}: lengths", lengths, kind="i"), np.int64)
    check_shape(f"{name}: tokens", tokens, (B, None))
    check_shape(f"{name}: lengths", lengths, (B,))
    return tokens, lengths, rows


def check_greedy_result(name, tokens, lengths, rows, want_tokens, want_lengths, B, *, context=""):
    want_tokens = np.asarray(want_tokens)
    T = want_tokens.shape[1]
    check_shape(f"{name}: tokens (T = the longest row's length)", tokens, (B, T))
    check_equal(f"{name}: tokens", tokens, want_tokens, context=context)
    check_equal(f"{name}: lengths", lengths, np.asarray(want_lengths), context=context)
    check_calls(name, rows, T, B, "greedy")


def check_calls(name, rows, want_calls, want_rows, what):
    if len(rows) != want_calls:
        raise CheckFailed(f"{name} called step_fn {len(rows)} times; expected {want_calls} (one call per step for all "
                          "rows at once, and none once every row has emitted <eos>)")
    if what == "greedy" and any(n != want_rows for n in rows):
        raise CheckFailed(f"{name} called step_fn with {rows} rows; expected {want_rows} rows at every step (all B rows "
                          "in one call, finished rows riding along)")


def greedy_peer(model, state, max_len, sos=S.SOS, eos=S.EOS):
    """A plain greedy loop, one row at a time (the peer of beam size 1): tokens of each row."""
    import torch

    out = []
    for b in range(state.shape[1]):
        st, prev, toks = state[:, b:b + 1], torch.tensor([sos]), []
        for _ in range(max_len):
            lp, st = model(prev, st)
            row = lp[0].to(torch.float64)
            tok = int(torch.nonzero(row == row.max())[0])      # lowest id among the maxima
            toks.append(tok)
            if tok == eos:
                break
            prev = torch.tensor([tok])
        out.append(tuple(toks))
    return out


# A hand-made table (V = 5; 3 = "a", 4 = "b"), rows named (step, previous token); every row not set is
# <eos> with 1 and 0.001 for the others (then normalised); set rows get 0.001 for <pad> and <sos>.
def _greedy_table():
    e = 1e-3
    p = np.full((4, 5, 5), e)
    p[:, :, 2] = 1.0
    p[0, 1, 2:] = [0.1, 0.5, 0.4]     # step 0 after <sos>: a
    p[1, 1, 2:] = [0.2, 0.3, 0.5]     # step 1 after <sos>: b
    p[2, 1, 2:] = [0.7, 0.2, 0.1]     # step 2 after <sos>: <eos>
    p[3, 1, 2:] = [0.2, 0.4, 0.4]     # step 3 after <sos>: a and b tie -> a (lowest id)
    p[1, 3, 2:] = [0.6, 0.2, 0.2]     # step 1 after a: <eos>
    p[2, 4, 2:] = [0.3, 0.5, 0.2]     # step 2 after b: a
    p[3, 3, 2:] = [0.8, 0.1, 0.1]     # step 3 after a: <eos>
    return S.TableModel.from_probs(p).table


# --------------------------------------------------------------------------- exercise 4
def check_greedy_decode(greedy_decode) -> None:
    r = Report("greedy_decode")
    name = "greedy_decode"
    step = TableStep(_greedy_table())
    # rows start at steps 0, 1, 2, 3 (the table's state is the step counter):
    #   row 0: <sos> -(step 0)-> a -(step 1 after a)-> <eos>            tokens a <eos>,    length 2
    #   row 1: <sos> -(step 1)-> b -(step 2 after b)-> a -(step 3)-> <eos>   b a <eos>,    length 3
    #   row 2: <sos> -(step 2)-> <eos>                                   <eos>,            length 1
    #   row 3: <sos> -(step 3)-> a (0.4 = 0.4: the lowest id) -(step 3)-> <eos>   a <eos>, length 2
    want = [[3, 2, 0], [4, 3, 2], [2, 0, 0], [3, 2, 0]]
    with r.case("a hand-made table, 4 rows started at steps 0..3: rows of lengths 2, 3, 1, 2, zeros after <eos>, a tie "
                "to the lowest id; 3 step_fn calls of 4 rows"):
        tokens, lengths, rows = run_greedy(name, greedy_decode, step, start_state([0, 1, 2, 3]), 4, 10)
        check_greedy_result(name, tokens, lengths, rows, want, [2, 3, 1, 2], 4)
    # cut at max_len = 2: row 1 keeps b a without <eos> (length 2)
    with r.case("the same with max_len = 2: row 1 is cut after b a (no <eos>, length 2)"):
        tokens, lengths, rows = run_greedy(name, greedy_decode, step, start_state([0, 1, 2, 3]), 4, 2)
        check_greedy_result(name, tokens, lengths, rows, [[3, 2], [4, 3], [2, 0], [3, 2]], [2, 2, 1, 2], 4)
    with r.case("max_len = 1: one token per row, one call"):
        tokens, lengths, rows = run_greedy(name, greedy_decode, step, start_state([0, 1, 2, 3]), 4, 1)
        check_greedy_result(name, tokens, lengths, rows, [[3], [4], [2], [3]], [1, 1, 1, 1], 4)
    # eos = 3 ("a" ends a row; 2 is an ordinary token), max_len = 4:
    #   row 0: a -> (a,), length 1;  row 1: b, then a at step 2 -> (b, a), length 2;
    #   row 2: 2 at step 2, then 2 (probability ~1 after 2) at every later step: cut at 4 tokens;  row 3: a (tie) -> (a,)
    with r.case("the same table with eos = 3 and max_len = 4: rows end at token 3; row 2 is cut at 4 tokens"):
        tokens, lengths, rows = run_greedy(name, greedy_decode, step, start_state([0, 1, 2, 3]), 4, 4, eos=3)
        check_greedy_result(name, tokens, lengths, rows, [[3, 0, 0, 0], [4, 3, 0, 0], [2, 2, 2, 2], [3, 0, 0, 0]],
                            [1, 2, 4, 1], 4)
    # sos = 4 ("b" is the first input): after b at steps 0, 1 and 3 the table's default row gives <eos>; at step 2
    # after b comes a (0.5), then <eos> after a at step 3 (0.8)
    with r.case("the same table with sos = 4: rows <eos>, <eos>, a <eos>, <eos>"):
        tokens, lengths, rows = run_greedy(name, greedy_decode, step, start_state([0, 1, 2, 3]), 4, 5, sos=4)
        check_greedy_result(name, tokens, lengths, rows, [[2, 0], [2, 0], [3, 2], [2, 0]], [1, 1, 2, 1], 4)
    with r.case("B = 1, the row that ends at once: tokens [[2]], one call"):
        tokens, lengths, rows = run_greedy(name, greedy_decode, step, start_state([2]), 1, 5)
        check_greedy_result(name, tokens, lengths, rows, [[2]], [1], 1)
    # example_tables()["short_bias"]: a (0.6), a (0.7), <eos> (0.6)
    with r.case("example_tables()['short_bias'] with sos and eos given explicitly (1 and 2): a a <eos>"):
        short = TableStep(S.example_tables()["short_bias"].table)
        tokens, lengths, rows = run_greedy(name, greedy_decode, short, start_state([0, 0]), 2, 6, sos=1, eos=2)
        check_greedy_result(name, tokens, lengths, rows, [[3, 3, 2], [3, 3, 2]], [3, 3], 2)
    rng = np.random.default_rng(64)
    for k in range(3):
        V, L = int(rng.integers(4, 8)), int(rng.integers(2, 6))
        model = HashStep(V, seed=int(rng.integers(1000)), temperature=0.5, eos_bias=0.5)
        B = 3
        with r.case(f"random prefix-hash scorer V={V}, B={B}, max_len={L} against a greedy loop run on each row"):
            want_rows = greedy_peer(model, model.init_state(B), L)
            T = max(len(w) for w in want_rows)
            want_tok = np.zeros((B, T), np.int64)
            for b, w in enumerate(want_rows):
                want_tok[b, :len(w)] = w
            tokens, lengths, rows = run_greedy(name, greedy_decode, model, model.init_state(B), B, L)
            check_greedy_result(name, tokens, lengths, rows, want_tok, [len(w) for w in want_rows], B)
    with r.case("errors (ValueError): batch_size 0, max_len 0"):
        st = start_state([0])
        check_raises(f"{name}(..., batch_size=0, max_len=3)", lambda: greedy_decode(step, st, 0, 3), ValueError,
                     "batch_size must be >= 1")
        check_raises(f"{name}(..., batch_size=1, max_len=0)", lambda: greedy_decode(step, st, 1, 0), ValueError,
                     "max_len must be >= 1")
    r.done()


# --------------------------------------------------------------------------- exercise 5
def hypotheses(name, out, B, K):
    """The form of a beam search result: B lists of at most K (tokens tuple of ints, float,
    float); returned as lists of (tuple of int, float, float)."""
    if not isinstance(out, list) or len(out) != B:
        raise CheckFailed(f"{name} must return a list of B = {B} lists, got "
                          + (f"a list of {len(out)}" if isinstance(out, list) else type(out).__name__))
    res = []
    for b, item in enumerate(out):
        if not isinstance(item, list) or not 1 <= len(item) <= K:
            raise CheckFailed(f"{name}: item {b} must be a list of 1..beam_size = {K} hypotheses, got "
                              + (f"a list of {len(item)}" if isinstance(item, list) else type(item).__name__))
        hyps = []
        for j, h in enumerate(item):
            if not isinstance(h, tuple) or len(h) != 3:
                raise CheckFailed(f"{name}: item {b}, hypothesis {j} must be a tuple (tokens, log_prob, score), got "
                                  f"{type(h).__name__}")
            tokens, lp, sc = h
            if not isinstance(tokens, tuple) or not all(isinstance(t, (int, np.integer)) and not isinstance(t, bool)
                                                        for t in tokens):
                raise CheckFailed(f"{name}: item {b}, hypothesis {j}: tokens must be a tuple of ints (tensor.tolist()), "
                                  f"got {type(tokens).__name__} {tokens!r:.80}")
            for what, x in (("log_prob", lp), ("score", sc)):
                if isinstance(x, bool) or not isinstance(x, (float, np.floating)):
                    raise CheckFailed(f"{name}: item {b}, hypothesis {j}: {what} must be a float, got "
                                      f"{type(x).__name__}")
            hyps.append((tuple(int(t) for t in tokens), float(lp), float(sc)))
        res.append(hyps)
    return res


def hypotheses_consistent(name, hyps, model, state, max_len, alpha, penalty, eos=S.EOS, sos=S.SOS):
    """Each list sorted by score (ties by tokens); tokens end with <eos> only at the end or are
    cut at max_len; log_prob is the sequence's; score = log_prob / penalty(len)."""
    for b, item in enumerate(hyps):
        keys = [(-sc, t) for t, _, sc in item]
        if keys != sorted(keys):
            raise CheckFailed(f"{name}: item {b}'s hypotheses are not sorted by score descending: they must be (ties by tokens "
                              f"ascending): scores {[round(sc, 6) for _, _, sc in item]}")
        if len({t for t, _, _ in item}) != len(item):
            raise CheckFailed(f"{name}: item {b} holds the same tokens twice; each hypothesis must appear once")
        for j, (tokens, lp, sc) in enumerate(item):
            where = f"item {b}, hypothesis {j} {tokens}"
            if not tokens or len(tokens) > max_len:
                raise CheckFailed(f"{name}: {where} has {len(tokens)} tokens (1..max_len = {max_len})")
            if eos in tokens[:-1]:
                raise CheckFailed(f"{name}: {where} goes on after <eos>: finished hypotheses must not be extended")
            if tokens[-1] != eos and len(tokens) != max_len:
                raise CheckFailed(f"{name}: {where} neither ends with <eos> nor has max_len = {max_len} tokens")
            want_lp = S.sequence_log_prob(model, state[:, b:b + 1], tokens, sos=sos)
            check_close(f"{name}: the log_prob of {where}", lp, want_lp, **LOGP_TOL,
                        context="(the float64 sum of its tokens' log-probabilities, <eos> included)")
            check_close(f"{name}: the score of {where}", sc, S.score(lp, len(tokens), alpha, penalty), **LOGP_TOL,
                        context=f"(log_prob / length_penalty(len(tokens) = {len(tokens)}, alpha={alpha}, "
                                f"{penalty!r}); the length counts <eos>)")


def same_hypotheses(name, got, want, *, hide=False, context=""):
    for b, (g, w) in enumerate(zip(got, want)):
        gt, wt = [h[0] for h in g], [h[0] for h in w]
        if gt != wt:
            detail = (f"expected {wt}, got {gt}" if not hide else
                      f"{sum(x != y for x, y in zip(gt, wt)) + abs(len(gt) - len(wt))} of {len(wt)} differ "
                      f"(you returned {gt})")
            raise CheckFailed(f"{name}: the tokens of item {b}'s hypotheses {context}: {detail}")
        for j, (x, y) in enumerate(zip(g, w)):
            check_close(f"{name}: the log_prob of item {b}, hypothesis {j}", x[1], y[1], **LOGP_TOL,
                        show_expected=not hide)
            check_close(f"{name}: the score of item {b}, hypothesis {j}", x[2], y[2], **LOGP_TOL,
                        show_expected=not hide)


def run_beam(name, fn, model, state, K, max_len, expect_calls=None, **kw):
    """The student's beam search with calls recorded; checks the form and that init_state is
    left alone (and, given ``expect_calls``, that step_fn was called exactly that often: the
    stopping rule fixes it); returns the hypotheses."""
    B = int(state.shape[1])
    kept = state.clone()
    out, rows = recorded(name, fn, model, state, K, max_len, **kw)
    check_unchanged("init_state", state, kept, who=name)
    hyps = hypotheses(name, out, B, K)
    if len(rows) > max_len:
        raise CheckFailed(f"{name} called step_fn {len(rows)} times for max_len = {max_len}: it must make at most one call "
                          "per step for all B x beam_size hypotheses (batched)")
    if any(n > B * K for n in rows):
        raise CheckFailed(f"{name} called step_fn with {max(rows)} rows; expected at most B x beam_size = {B * K}")
    if expect_calls is not None and len(rows) != expect_calls:
        raise CheckFailed(f"{name} called step_fn {len(rows)} times; the stopping rule (5) stops every item after "
                          f"{expect_calls} steps here, and step_fn must not be called once every item has stopped "
                          "(nor an item stop before the rule says)")
    return hyps


def beam_vs_brute_force(r, name, fn, model, B, V, L, alpha, penalty, label, *, hide=False, defaults=False):
    state = model.init_state(B)
    exact = S.brute_force(model, state, L, V, alpha=alpha, penalty=penalty)
    K = max(len(e) for e in exact)
    with r.case(f"{label} V={V}, max_len={L}, B={B}, alpha={alpha}, {penalty!r}, beam_size {K} (every complete "
                "sequence): exhaustive search's ranked list"):
        kw = {} if defaults else dict(alpha=alpha, penalty=penalty)
        got = run_beam(name, fn, model, state, K, L, **kw)
        hypotheses_consistent(name, got, model, state, L, alpha, penalty)
        same_hypotheses(name, got, exact, hide=hide, context="(against rnncourse.search.brute_force)")


def check_beam_search(beam_search) -> None:
    r = Report("beam_search")
    name = "beam_search"
    tables = S.example_tables()
    trap, short = TableStep(tables["greedy_trap"].table), TableStep(tables["short_bias"].table)
    st = trap.init_state(1)
    # greedy_trap: a (0.5) then <eos> (0.4): 0.20; beam 2 keeps b (0.4) and finds b <eos> (0.4 * 0.9 = 0.36)
    with r.case("example_tables()['greedy_trap']: beam 1 finds a <eos> (0.5 * 0.4), beam 2 b <eos> (0.4 * 0.9 = 0.36)"):
        got = run_beam(name, beam_search, trap, st, 1, 3)
        hypotheses_consistent(name, got, trap, st, 3, 0.0, "length")
        check_equal(f"{name}(beam_size=1): the best tokens", list(got[0][0][0]), [3, 2])
        got = run_beam(name, beam_search, trap, st, 2, 3)
        hypotheses_consistent(name, got, trap, st, 3, 0.0, "length")
        check_equal(f"{name}(beam_size=2): the best tokens", list(got[0][0][0]), [4, 2])
        check_close(f"{name}(beam_size=2): the best probability", math.exp(got[0][0][1]), 0.36, rtol=1e-2, atol=0,
                    context="(0.4 * 0.9, up to the table's 0.001 entries)")
    # short_bias: <eos> at once 0.3 (log -1.20) against a a <eos> 0.6 * 0.7 * 0.6 = 0.252 (log -1.38); divided by
    # the length (alpha = 1): -1.20 / 1 against -1.38 / 3 = -0.46, so the long one wins
    st = short.init_state(2)
    for alpha, best in ((0.0, [2]), (1.0, [3, 3, 2])):
        with r.case(f"example_tables()['short_bias'], beam 3, B = 2, alpha = {alpha}: the best is {best}"):
            got = run_beam(name, beam_search, short, st, 3, 4, alpha=alpha)
            hypotheses_consistent(name, got, short, st, 4, alpha, "length")
            for b in range(2):
                check_equal(f"{name}(alpha={alpha}): item {b}'s best tokens", list(got[b][0][0]), best,
                            context="(score = log_prob / length ** alpha, the length counting <eos>)")
    rng = np.random.default_rng(65)
    cases = [(3, 3, 0.0, "length"), (4, 2, 0.7, "length"), (3, 4, 0.7, "gnmt"), (5, 2, 1.0, "gnmt"), (4, 1, 0.5, "length")]
    for k, (V, L, alpha, penalty) in enumerate(cases):
        seed_ = int(rng.integers(10_000))
        if k % 2 == 0:
            model, label = TableStep(S.TableModel.random(V, L, seed_, eos_boost=2.0).table), "random table"
        else:
            model, label = HashStep(V, seed_, temperature=0.7, eos_bias=0.3), "random prefix-hash scorer"
        beam_vs_brute_force(r, name, beam_search, model, 2, V, L, alpha, penalty, label, defaults=(k == 0))
    # probabilities in ratios 1 : 2 : 3: many hypotheses with exactly the same score, ranked by their tokens
    tied = TableStep(S.TableModel.from_probs(rng.integers(1, 4, (3, 4, 4)).astype(float)).table)
    beam_vs_brute_force(r, name, beam_search, tied, 2, 4, 3, 0.0, "length", "table with exact ties,")
    with r.case("beam_size 1 with alpha 0 gives greedy's tokens (random scorers, ties in the table to the lowest id)"):
        for k in range(3):
            V, L = 5, 4
            if k == 2:   # probabilities in multiples of 1/8: many exact ties
                p = rng.integers(1, 3, (L, V, V)).astype(float)
                model = TableStep(S.TableModel.from_probs(p).table)
            else:
                model = HashStep(V, int(rng.integers(10_000)), temperature=0.5)
            state = model.init_state(3)
            got = run_beam(name, beam_search, model, state, 1, L)
            for b, want in enumerate(greedy_peer(model, state, L)):
                check_equal(f"{name}(beam_size=1): item {b}'s tokens", list(got[b][0][0]), list(want),
                            context="(against a greedy loop)")
    with r.case("batched: B = 3, beam 2, a random table: at most one step_fn call per step, of at most B x beam rows"):
        model = TableStep(S.TableModel.random(4, 3, 7).table)
        run_beam(name, beam_search, model, model.init_state(3), 2, 3)
    # Stopping (rule 5) fixes the number of step_fn calls.  (a) Step 1 allows tokens 3 and 4 only, then only
    # <eos> is possible: at step 2 both live hypotheses end, none is left (the pool holds 2 < 3), so 2 calls
    # for max_len 5.  (b) <eos> has probability 0.9
    # at step 1, beam 1, alpha 0: the pool {<eos>} (log 0.9) is full and beats the best live log-prob (log 0.1
    # at most, and descendants only fall), so the search stops after 1 call.
    with r.case("stopping: no live hypothesis left after step 2 (2 calls for max_len 5); a full pool that no live "
                "hypothesis can beat after step 1 (1 call for max_len 4)"):
        p = np.full((3, 5, 5), 0.2)
        p[0, :, :3], p[0, :, 3:] = 0.0, 0.5   # step 1: tokens 3 and 4 only, so the pool never fills (2 < beam 3)
        p[1:] = 0.0
        p[1:, :, S.EOS] = 1.0
        with np.errstate(divide="ignore"):
            forced = TableStep(np.log(p))
        q = np.full((2, 5, 5), 0.025)
        q[:, :, S.EOS] = 0.9
        early = TableStep(np.log(q))
        for model, K, L, calls in ((forced, 3, 5, 2), (early, 1, 4, 1)):
            run_beam(name, beam_search, model, model.init_state(2), K, L, expect_calls=calls)
    with r.case("errors (ValueError): beam_size 0, max_len 0, alpha < 0, an unknown penalty"):
        st = trap.init_state(1)
        for what, kw in (("beam_size=0", dict(beam_size=0, max_len=3)), ("max_len=0", dict(beam_size=2, max_len=0)),
                         ("alpha=-0.5", dict(beam_size=2, max_len=3, alpha=-0.5)),
                         ("penalty='log'", dict(beam_size=2, max_len=3, penalty="log"))):
            check_raises(f"{name}(..., {what})", lambda kw=kw: beam_search(trap, st, **kw), ValueError,
                         "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 6
def check_AttentionDecoder(AttentionDecoder) -> None:
    r = Report("AttentionDecoder")
    name = "AttentionDecoder"
    rng = np.random.default_rng(66)
    with r.case("num_layers and score left out (1 and 'general'); an unknown score raises ValueError"):
        attention_default_and_errors(name, AttentionDecoder, 7, 3, 4)
        model = make_model(name, AttentionDecoder, 7, 3, 4, init_seed=6)
        attention_properties(name, model, rng, 7, 1, 4, 2, 2, 3, "general")
    for k, score in enumerate(("dot", "general", "additive")):
        with r.case(f"AttentionDecoder(8, 4, 5, 1, {score!r}): weights (B, U, S) sum to 1 and are 0 on padding; "
                    "padded encoder outputs change nothing; one-token calls = one call"):
            model = make_model(name, AttentionDecoder, 8, 4, 5, 1, score, init_seed=k)
            attention_properties(name, model, rng, 8, 1, 5, 3, 4, 5, score)
    with r.case("AttentionDecoder(7, 3, 4, 2, 'general') (two layers); B = 1, U = 1, S = 1"):
        model = make_model(name, AttentionDecoder, 7, 3, 4, 2, "general", init_seed=5)
        attention_properties(name, model, rng, 7, 2, 4, 2, 3, 4, "general")
        attention_properties(name, model, rng, 7, 2, 4, 1, 1, 1, "general")
    r.done()


# --------------------------------------------------------------------------- exercise 7
def bleu_of(name, fn, hyps, refs, **kw):
    h, rf = list(hyps), list(refs)
    out = call(name, fn, h, rf, **kw)
    if h != list(hyps) or rf != list(refs):
        raise CheckFailed(f"{name} changed its argument `hyps` or `refs`")
    if isinstance(out, bool) or not isinstance(out, (float, np.floating, int)):
        raise CheckFailed(f"{name} must return a float (0..100), got {type(out).__name__}")
    return float(out)


def sacrebleu_score(hyps, refs) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(hyps), [list(refs)], tokenize="none").score)


def random_corpus(rng, n, alphabet=6, max_len=9, empty=0.1, copy=0.2):
    letters = [chr(ord("a") + i) for i in range(alphabet)]
    refs = [" ".join(rng.choice(letters, int(rng.integers(1, max_len + 1)))) for _ in range(n)]
    hyps = []
    for ref in refs:
        u = rng.random()
        if u < empty:
            hyps.append("")
        elif u < empty + copy:
            hyps.append(ref)
        else:
            toks = ref.split()
            toks = [t if rng.random() < 0.7 else str(rng.choice(letters)) for t in toks]
            cut = int(rng.integers(0, 3))
            hyps.append(" ".join(toks[:max(1, len(toks) - cut)] + list(rng.choice(letters, int(rng.integers(0, 2))))))
    return hyps, refs


def check_corpus_bleu(corpus_bleu) -> None:
    r = Report("corpus_bleu")
    name = "corpus_bleu"
    hand = [
        # p_1..p_4 = 4/5, 3/4, 2/3, 1/2; BP = 1 (5 = 5): 100 (4/5 * 3/4 * 2/3 * 1/2) ** (1/4) = 100 (1/5) ** (1/4)
        (["a b c d e"], ["a b c d f"], 100 * 0.2 ** 0.25, "one wrong last token: 100 (1/5)^(1/4) = 66.874"),
        # every n-gram matches; h = 4 < r = 6: BP = exp(1 - 6/4) = exp(-0.5)
        (["a b c d"], ["a b c d e f"], 100 * math.exp(-0.5), "a prefix of the reference: 100 exp(1 - 6/4) = 60.653"),
        # clipping: 'a' counts once (the reference has one): p_1 = 1/4; no 2-, 3-, 4-gram matches: the k-th such
        # order gets 100 / (2^k t_n) = 100 / (2 * 3), 100 / (4 * 2), 100 / (8 * 1)
        (["a a a a"], ["a b c d"], math.exp((math.log(25) + math.log(100 / 6) + 2 * math.log(12.5)) / 4),
         "'a a a a' against 'a b c d': clipped p_1 = 1/4, smoothed orders 2..4: 15.974"),
        (["a b c d", "x y z w v"], ["a b c d", "x y z w v"], 100.0, "perfect matches: 100"),
        # a hypothesis of 3 tokens has no 4-gram: t_4 = 0, so BLEU = 0
        (["a b c"], ["a b c"], 0.0, "a perfect match of 3 tokens has no 4-gram: 0"),
        # h = 5, r = 7 (the empty hypothesis adds nothing, its reference 2): BP = exp(1 - 7/5) = 0.67032
        (["a b c d e", ""], ["a b c d e", "x y"], 100 * math.exp(-0.4), "an empty hypothesis: BP exp(1 - 7/5)"),
        ([""], ["a b"], 0.0, "only empty hypotheses: 0"),
        # p_1..p_3 = 3/5, 2/4, 1/3 and no 4-gram match (0 of 2: 100 / (2 * 2)); BP exp(1 - 4/5): as sacrebleu says
        (["b c d e f"], ["a b c d"], None, "no 4-gram match (smoothed), against sacrebleu"),
    ]
    for hyps, refs, want, label in hand:
        with r.case(f"{label}: hyps {hyps}, refs {refs}"):
            expected = sacrebleu_score(hyps, refs) if want is None else want
            check_close(f"{name}(hyps, refs)", bleu_of(name, corpus_bleu, hyps, refs), expected, rtol=1e-9, atol=1e-9)
    # max_order = 2: p_1 = 4/5, p_2 = 3/4, BP = 1: 100 sqrt(4/5 * 3/4) = 100 sqrt(0.6) = 77.460
    with r.case("max_order = 2: 'a b c d e' against 'a b c d f': 100 sqrt(4/5 * 3/4) = 77.460"):
        check_close(f"{name}(hyps, refs, max_order=2)", bleu_of(name, corpus_bleu, ["a b c d e"], ["a b c d f"],
                                                                max_order=2), 100 * math.sqrt(0.6), rtol=1e-9, atol=1e-9)
    with r.case("no token in common: 0"):
        check_close(f"{name}(...)", bleu_of(name, corpus_bleu, ["x y z w"], ["a b c d"]), 0.0, rtol=0, atol=1e-12)
    rng = np.random.default_rng(67)
    for k in range(4):
        hyps, refs = random_corpus(rng, int(rng.integers(1, 12)))
        with r.case(f"random corpus {k} of {len(hyps)} pairs (empty, copied and edited hypotheses) against "
                    "sacrebleu.corpus_bleu(hyps, [refs], tokenize='none')"):
            check_close(f"{name}(hyps, refs)", bleu_of(name, corpus_bleu, hyps, refs), sacrebleu_score(hyps, refs),
                        rtol=1e-9, atol=1e-9)
    with r.case("the course's spaced characters (rnncourse.search.spaced_chars)"):
        refs = [S.spaced_chars(t) for t in ("2021-05-03", "1999-12-31", "42")]
        hyps = [S.spaced_chars(t) for t in ("2021-05-30", "1999-12-31", "4")]
        check_close(f"{name}(hyps, refs)", bleu_of(name, corpus_bleu, hyps, refs), sacrebleu_score(hyps, refs),
                    rtol=1e-9, atol=1e-9)
    with r.case("errors (ValueError): lists of different lengths, empty lists"):
        check_raises(f"{name}(['a'], ['a', 'b'])", lambda: corpus_bleu(["a"], ["a", "b"]), ValueError,
                     "the lists differ in length")
        check_raises(f"{name}([], [])", lambda: corpus_bleu([], []), ValueError, "the lists are empty")
    r.done()
