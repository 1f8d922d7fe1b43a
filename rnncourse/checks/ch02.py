"""Visible checks for chapter 2 (recurrent neural networks).

Each ``check_*`` takes the student's function (or class), runs it on small cases whose
answers were worked out by hand (the arithmetic is in the comments), and raises
:class:`~rnncourse.checks.core.CheckFailed` with a precise message, or prints
"✔ ... checks passed".  The model checks are behavioural: shapes, carrying the hidden
state over, padding, and whether a few optimisation steps lower the loss.
"""
from __future__ import annotations

import math

import numpy as np

from .core import (
    CheckFailed,
    Report,
    call,
    check_array,
    check_close,
    check_dtype,
    check_equal,
    check_never_drawn,
    check_raises,
    check_shape,
    check_type,
    check_unchanged,
    chi2_threshold,
    produce,
    tolerance,
)

# A 2-d input, 2-d hidden state RNN whose weights make the arithmetic easy.
W_XH = np.array([[1.0, 0.0], [0.0, 2.0]])          # x W_xh = [x0, 2 x1]
W_HH = np.array([[0.0, 1.0], [-1.0, 0.0]])         # h W_hh = [-h1, h0]  (not symmetric)
B_H = np.array([0.5, -0.5])


def check_rnn_step(rnn_step) -> None:
    r = Report("rnn_step")
    # x = [1, 0], h = [0, 0]: pre-activation [1, 0] + [0, 0] + [0.5, -0.5] = [1.5, -0.5]
    # x = [0, 1], h = [1, 2]: [0, 2] + [-2, 1] + [0.5, -0.5] = [-1.5, 2.5]
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    h = np.array([[0.0, 0.0], [1.0, 2.0]])
    expected = np.tanh([[1.5, -0.5], [-1.5, 2.5]])
    with r.case("batch of 2 with W_xh=[[1,0],[0,2]], W_hh=[[0,1],[-1,0]], b_h=[0.5,-0.5]"):
        out = check_array("h", call("rnn_step", rnn_step, x, h, W_XH.copy(), W_HH.copy(), B_H.copy()), kind="f")
        check_shape("h", out, (2, 2))
        check_dtype("h", out, np.float64)
        check_close("h", out, expected, context="(rows: tanh([1.5, -0.5]) and tanh([-1.5, 2.5]); h_prev @ W_hh, not W_hh @ h_prev)")
    with r.case("D = 3 inputs, H = 1 hidden unit: h = tanh(x . w + 0.5 h_prev)"):
        # tanh(1*1 + 2*0 + 3*(-1) + 0.5*0.4 + 0) = tanh(-1.8)
        out = call("rnn_step", rnn_step, np.array([[1.0, 2.0, 3.0]]), np.array([[0.4]]),
                   np.array([[1.0], [0.0], [-1.0]]), np.array([[0.5]]), np.zeros(1))
        check_close("h", out, [[math.tanh(-1.8)]])
    with r.case("inputs are not modified"):
        args = {"x": x.copy(), "h_prev": h.copy(), "W_xh": W_XH.copy(), "W_hh": W_HH.copy(), "b_h": B_H.copy()}
        call("rnn_step", rnn_step, *args.values())
        for name, before in zip(args, (x, h, W_XH, W_HH, B_H)):
            check_unchanged(name, args[name], before, who="rnn_step")
    with r.case("shapes that do not fit raise ValueError"):
        check_raises("rnn_step(x of shape (2, 3), ...) with W_xh of shape (2, 2)",
                     lambda: rnn_step(np.ones((2, 3)), h.copy(), W_XH.copy(), W_HH.copy(), B_H.copy()), ValueError,
                     "D = 3 inputs do not fit W_xh's 2 rows")
    r.done()


def check_rnn_forward(rnn_forward) -> None:
    r = Report("rnn_forward")
    # With W_xh = 0 and b = 0 the state only rotates: h_t = tanh(h_{t-1} W_hh).
    # h0 = [1, 0]: h1 = tanh([0, 1]) = [0, t1] with t1 = tanh(1);
    # h2 = tanh([-t1, 0]) = [-tanh(t1), 0]
    t1 = math.tanh(1.0)
    with r.case("no input, the state rotates: h0=[1,0], W_hh=[[0,1],[-1,0]], T=2"):
        hs = check_array("hs", call("rnn_forward", rnn_forward, np.zeros((1, 2, 2)), np.array([[1.0, 0.0]]),
                                    W_XH.copy(), W_HH.copy(), np.zeros(2)), kind="f")
        check_shape("hs", hs, (1, 2, 2))
        check_dtype("hs", hs, np.float64)
        check_close("hs", hs, [[[0.0, t1], [-math.tanh(t1), 0.0]]],
                    context="(hs[:, t] is the state after reading xs[:, t]; h0 itself is not returned)")
    # One step with input: the first state equals rnn_step; T = 3 uses every input.
    # b = [0.5, -0.5], h0 = 0, xs[0] = [[1,0],[0,0],[0,1]]:
    # h1 = tanh([1.5, -0.5]); h2 = tanh(h1 W_hh + b) = tanh([-h1[1] + .5, h1[0] - .5]);
    # h3 = tanh([0, 2] + h2 W_hh + b)
    h1 = np.tanh([1.5, -0.5])
    h2 = np.tanh([-h1[1] + 0.5, h1[0] - 0.5])
    h3 = np.tanh([0 - h2[1] + 0.5, 2 + h2[0] - 0.5])
    xs = np.array([[[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]])
    with r.case("T = 3 with inputs and bias, h0 = 0; the inputs are not modified"):
        args = {"xs": xs.copy(), "h0": np.zeros((1, 2)), "W_xh": W_XH.copy(), "W_hh": W_HH.copy(), "b_h": B_H.copy()}
        hs = call("rnn_forward", rnn_forward, *args.values())
        check_close("hs", hs, np.stack([h1, h2, h3])[None])
        for name, before in zip(args, (xs, np.zeros((1, 2)), W_XH, W_HH, B_H)):
            check_unchanged(name, args[name], before, who="rnn_forward")
    with r.case("a batch of 2 sequences is two independent runs"):
        both = np.concatenate([xs, xs[:, ::-1]])
        hs = call("rnn_forward", rnn_forward, both, np.zeros((2, 2)), W_XH.copy(), W_HH.copy(), B_H.copy())
        check_shape("hs", hs, (2, 3, 2))
        check_close("hs[0]", np.asarray(hs)[0], np.stack([h1, h2, h3]))
    with r.case("shapes that do not fit raise ValueError"):
        check_raises("rnn_forward(xs, h0 of shape (1, 3), ...) with W_hh of shape (2, 2)",
                     lambda: rnn_forward(xs.copy(), np.zeros((1, 3)), W_XH.copy(), W_HH.copy(), B_H.copy()), ValueError,
                     "h0 has 3 entries but W_hh is 2 x 2")
    r.done()


TOY_VOCAB = ["<pad>", "<unk>", "<eos>", " ", "e", "h", "l", "o"]   # build_vocab(["hello hoe"])


def check_encode(encode) -> None:
    r = Report("encode")
    with r.case(f"encode('hello', {TOY_VOCAB})"):
        # h -> 5, e -> 4, l -> 6, l -> 6, o -> 7
        ids = check_array("ids", call("encode", encode, "hello", list(TOY_VOCAB)), kind="i")
        check_equal("ids", ids, np.array([5, 4, 6, 6, 7]))
    with r.case("characters not in the vocabulary map to <unk> = 1"):
        # 'H' and '!' are unknown (case matters)
        check_equal("ids", call("encode", encode, "He l!", list(TOY_VOCAB)), np.array([1, 4, 3, 6, 1]))
    with r.case("the letters of a special token are ordinary characters"):
        check_equal("ids", call("encode", encode, "<eos>", list(TOY_VOCAB)), np.array([1, 4, 7, 1, 1]))
    with r.case("the empty string"):
        ids = check_array("ids", call("encode", encode, "", list(TOY_VOCAB)))
        check_shape("ids", ids, (0,))
    with r.case("dtype"):
        check_dtype("ids", call("encode", encode, "oh", list(TOY_VOCAB)), np.int64)
    with r.case("tiny vocabularies: the three specials only, or one character"):
        check_equal("encode('ab', ['<pad>', '<unk>', '<eos>'])",
                    call("encode", encode, "ab", ["<pad>", "<unk>", "<eos>"]), np.array([1, 1]))
        check_equal("encode('aab', ['<pad>', '<unk>', '<eos>', 'a'])",
                    call("encode", encode, "aab", ["<pad>", "<unk>", "<eos>", "a"]), np.array([3, 3, 1]))
    r.done()


def check_decode(decode) -> None:
    r = Report("decode")
    with r.case("decode([5, 4, 6, 6, 7]) = 'hello'"):
        got = call("decode", decode, np.array([5, 4, 6, 6, 7]), list(TOY_VOCAB))
        check_type("decode(...)", got, str)
        check_equal("decode(...)", got, "hello")
    with r.case("stops at the first <eos> (2) and leaves it out"):
        check_equal("decode([5, 7, 2, 6, 6])", call("decode", decode, np.array([5, 7, 2, 6, 6]), list(TOY_VOCAB)), "ho")
    with r.case("skips <pad> (0); writes <unk> (1) as '\\ufffd'"):
        check_equal("decode([0, 5, 0, 1, 7, 0])", call("decode", decode, np.array([0, 5, 0, 1, 7, 0]), list(TOY_VOCAB)), "h\ufffdo")
    with r.case("empty input, and a list instead of an array"):
        check_equal("decode([])", call("decode", decode, np.array([], dtype=np.int64), list(TOY_VOCAB)), "")
        check_equal("decode([4, 3])", call("decode", decode, [4, 3], list(TOY_VOCAB)), "e ")
    with r.case("ids outside the vocabulary"):
        check_raises("decode([8])", lambda: decode(np.array([8]), list(TOY_VOCAB)), ValueError, "8 is not an id of an 8-entry vocabulary")
        check_raises("decode([-1])", lambda: decode(np.array([-1]), list(TOY_VOCAB)), ValueError, "ids are never negative")
        check_raises("decode([-1, 3])", lambda: decode(np.array([-1, 3]), list(TOY_VOCAB)), ValueError,
                     "a negative id among valid ones")
        check_raises("decode([3, 8])", lambda: decode(np.array([3, 8]), list(TOY_VOCAB)), ValueError,
                     "8 = len(vocab) among valid ids")
        check_raises("decode([5, 2, 9])", lambda: decode(np.array([5, 2, 9]), list(TOY_VOCAB)), ValueError,
                     "an out-of-range id is an error wherever it stands, after the first <eos> too")
    r.done()


def check_sequence_cross_entropy(sequence_cross_entropy) -> None:
    r = Report("sequence_cross_entropy")
    # V = 2, logits [0, 0] -> p = [1/2, 1/2], loss ln 2 at any target;
    # logits [ln 3, 0] -> p = [3/4, 1/4]: target 0 costs ln(4/3), target 1 costs ln 4.
    l3 = math.log(3)
    logits = np.array([[[0.0, 0.0], [l3, 0.0], [l3, 0.0]]])
    targets = np.array([[1, 0, 1]])
    with r.case("B=1, T=3, V=2, all positions count: (ln 2 + ln 4/3 + ln 4) / 3"):
        got = call("sequence_cross_entropy", sequence_cross_entropy, logits, targets, np.ones((1, 3), bool))
        check_close("loss", got, (math.log(2) + math.log(4 / 3) + math.log(4)) / 3)
    with r.case("masked positions are left out of the sum and of the count: (ln 2 + ln 4/3) / 2"):
        got = call("sequence_cross_entropy", sequence_cross_entropy, logits, targets, np.array([[True, True, False]]))
        check_close("loss", got, (math.log(2) + math.log(4 / 3)) / 2)
        check_type("sequence_cross_entropy(...)", got, (float, np.floating))
    with r.case("masked positions may hold anything: targets -100 or V, logits NaN or inf"):
        lg, tg = logits.copy(), targets.copy()
        lg[0, 2] = [np.nan, np.inf]
        for junk in (-100, 2, 10**6):
            tg[0, 2] = junk
            got = call("sequence_cross_entropy", sequence_cross_entropy, lg.copy(), tg.copy(), np.array([[True, True, False]]))
            check_close("loss", got, (math.log(2) + math.log(4 / 3)) / 2,
                        context=f"(position 2 is masked: target {junk}, logits [nan, inf] must not be read)")
    with r.case("the inputs are not modified"):
        args = {"logits": logits.copy(), "targets": targets.copy(), "mask": np.array([[True, True, False]])}
        call("sequence_cross_entropy", sequence_cross_entropy, *args.values())
        for name, before in zip(args, (logits, targets, np.array([[True, True, False]]))):
            check_unchanged(name, args[name], before, who="sequence_cross_entropy")
    with r.case("the mean is over unmasked positions of the whole batch, not per row"):
        # row 0 has 3 positions, row 1 has one (loss ln 2): (ln 2 + ln 4/3 + ln 4 + ln 2) / 4
        lg = np.concatenate([logits, np.zeros((1, 3, 2))])
        got = call("sequence_cross_entropy", sequence_cross_entropy, lg, np.array([[1, 0, 1], [0, 1, 1]]),
                   np.array([[True, True, True], [True, False, False]]))
        check_close("loss", got, (2 * math.log(2) + math.log(4 / 3) + math.log(4)) / 4)
    with r.case("large logits do not overflow: logits [1000, 0], target 1 costs 1000"):
        got = call("sequence_cross_entropy", sequence_cross_entropy, np.array([[[1000.0, 0.0]]]), np.array([[1]]),
                   np.array([[True]]))
        check_close("loss", got, 1000.0)
        got = call("sequence_cross_entropy", sequence_cross_entropy, np.array([[[-1000.0, -1000.0]]]), np.array([[0]]),
                   np.array([[True]]))
        check_close("loss", got, math.log(2))
    with r.case("an all-False mask"):
        check_raises("sequence_cross_entropy(..., mask all False)",
                     lambda: sequence_cross_entropy(logits, targets, np.zeros((1, 3), bool)), ValueError,
                     "the mean over no positions is undefined")
    r.done()


def _draws(fn, n, *args):
    """``n`` calls ``fn(*args)`` (the same generator each time), run where ``fn`` lives."""
    return call("sample_with_temperature", produce, "rnncourse.checks.functions:repeat", fn, n, *args)


def check_sample_with_temperature(sample_with_temperature) -> None:
    r = Report("sample_with_temperature")
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    with r.case("returns a Python int in range(V)"):
        tok = call("sample_with_temperature", sample_with_temperature, logits, 1.0, np.random.default_rng(0))
        check_type("sample_with_temperature(...)", tok, (int, np.integer))
        if not 0 <= int(tok) < 4:
            raise CheckFailed(f"sample_with_temperature: {tok} is not a token id of a 4-entry vocabulary")
    with r.case("T = 0 returns the argmax (3) every time"):
        for s in range(5):
            check_equal("sample_with_temperature(logits, 0.0, rng)",
                        int(call("sample_with_temperature", sample_with_temperature, logits, 0.0, np.random.default_rng(s))), 3)
    with r.case("T = 0: the first of tied maxima, without drawing from the generator"):
        tied = np.log(np.array([0.1, 0.4, 0.1, 0.4]))
        g = np.random.default_rng(5)
        before = g.bit_generator.state
        for _ in range(3):
            check_equal("sample_with_temperature([.1, .4, .1, .4] as logits, 0.0, rng)",
                        int(call("sample_with_temperature", sample_with_temperature, tied, 0.0, g)), 1,
                        context="(ties go to the first index, as np.argmax does)")
        if g.bit_generator.state != before:
            raise CheckFailed("sample_with_temperature: at T = 0 the function drew numbers from rng; the docstring "
                              "says T = 0 returns the argmax without drawing (the generator must be left as it was)")
    with r.case("logits are not modified"):
        lg = logits.copy()
        call("sample_with_temperature", sample_with_temperature, lg, 0.5, np.random.default_rng(1))
        check_unchanged("logits", lg, logits, who="sample_with_temperature")
    with r.case("the same seed gives the same draws"):
        a = [int(v) for v in _draws(sample_with_temperature, 30, logits, 1.0, np.random.default_rng(7))]
        b = [int(v) for v in _draws(sample_with_temperature, 30, logits, 1.0, np.random.default_rng(7))]
        check_equal("second run with seed 7", np.array(b), np.array(a))
    for T in (1.0, 0.5, 2.0):
        # softmax(log p / T) = p**(1/T) / sum(p**(1/T))
        q = np.array([0.1, 0.2, 0.3, 0.4]) ** (1 / T)
        q /= q.sum()
        with r.case(f"at T = {T} the frequencies follow softmax(logits / T) = {np.round(q, 3).tolist()}"):
            g = np.random.default_rng(11)
            draws = np.array([int(v) for v in _draws(sample_with_temperature, 3000, logits, T, g)])
            freq = np.bincount(draws, minlength=4)[:4]
            expected = 3000 * q
            if float(np.sum((freq - expected) ** 2 / expected)) > chi2_threshold(3):
                raise CheckFailed(f"sample_with_temperature: in 3000 draws the counts were {freq.tolist()}, "
                                  f"expected about {np.round(expected).astype(int).tolist()}")
    with r.case("a logit of -inf is never drawn; large logits do not overflow"):
        g = np.random.default_rng(3)
        lg = np.array([-np.inf, 800.0, -np.inf, 800.0])
        draws = [int(v) for v in _draws(sample_with_temperature, 200, lg, 3.0, g)]
        check_never_drawn("sample_with_temperature with logits [-inf, 800, -inf, 800]", draws, [0, 1, 0, 1])
        if not (0 < draws.count(1) < 200):
            raise CheckFailed(f"sample_with_temperature: two equal logits should be drawn about equally often; "
                              f"token 1 came {draws.count(1)} times in 200")
    with r.case("huge logits [800, 0, -800] at T = 0.5: token 0 every time, no overflow"):
        draws = [int(v) for v in _draws(sample_with_temperature, 50, np.array([800.0, 0.0, -800.0]), 0.5,
                                        np.random.default_rng(4))]
        check_equal("draws", np.array(draws), np.zeros(50, dtype=np.int64),
                    context="(softmax([1600, 0, -1600]) is [1, 0, 0]: subtract the max, not the min)")
    with r.case("a negative temperature"):
        check_raises("sample_with_temperature(logits, -1.0, rng)",
                     lambda: sample_with_temperature(logits, -1.0, np.random.default_rng(0)), ValueError,
                     "temperatures are >= 0")
    r.done()


# --------------------------------------------------------------------------- torch models
def _torch():
    import torch
    return torch


def _model(name, cls, *args, seed=0):
    """``cls(*args)`` built where the class lives (here, or in the grader's sandbox)."""
    try:
        return produce("rnncourse.training:construct", cls, seed, *args)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet (it still raises NotImplementedError)") from None
    except TypeError as exc:
        if "must create a torch.nn.Module" in str(exc):
            raise CheckFailed(f"{name}(...) {exc}") from None
        raise CheckFailed(f"{name}(...) raised TypeError: {exc}") from None
    except Exception as exc:
        raise CheckFailed(f"{name}(...) raised {type(exc).__name__}: {exc}") from None


def _close32(name, got, expected, context=""):
    from rnncourse import env

    tol = tolerance("float32", env.device())   # the model runs there when grading (TF32 and cuDNN on CUDA)
    check_close(name, got, np.asarray(expected), rtol=tol.rtol, atol=tol.atol, context=context)


def _pair(out):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed(f"CharRNN.forward must return a tuple (logits, h_T), got {type(out).__name__}")
    return out


def _decreases(name, model, kind, inputs, targets, lengths=None, steps=30, lr=0.02):
    first, last = call(f"training {name}", produce, "rnncourse.training:tiny_fit", model, kind,
                       inputs, targets, lengths, steps, lr)
    if not last < 0.7 * first:
        raise CheckFailed(f"{name}: {steps} Adam steps on one fixed tiny batch took the loss only from "
                          f"{first:.3f} to {last:.3f}; a working model memorises it (expected below {0.7 * first:.3f})")


def check_CharRNN(CharRNN) -> None:
    torch = _torch()
    r = Report("CharRNN")
    V, H, E = 7, 5, 3
    ids = torch.tensor([[2, 3, 4, 5], [2, 6, 6, 3], [2, 4, 3, 0]])   # B = 3, T = 4
    with r.case("CharRNN(vocab_size=7, embed_size=3, hidden_size=5) on ids of shape (B=3, T=4)"):
        model = _model("CharRNN", CharRNN, V, E, H).eval()
        with torch.no_grad():
            logits, h = _pair(call("CharRNN.forward", model, ids))
        check_array("logits", logits, kind="f")
        check_shape("logits", logits, (3, 4, V))
        check_shape("h_T", h, (1, 3, H))
    with torch.no_grad():
        with r.case("h0=None means a zero initial state"):
            z, _ = _pair(call("CharRNN.forward", model, ids, torch.zeros(1, 3, H)))
            _close32("logits with h0 = zeros", z, logits.numpy())
        with r.case("h_T carries the state: ids[:, :2] then ids[:, 2:] from its h_T equals the whole run"):
            _, h1 = _pair(call("CharRNN.forward", model, ids[:, :2]))
            l2, h2 = _pair(call("CharRNN.forward", model, ids[:, 2:], h1))
            _close32("logits of the second half", l2, logits[:, 2:].numpy())
            _close32("h_T of the second half", h2, h.numpy())
        with r.case("the output at step t depends on earlier tokens (memory) but not on later ones"):
            other = ids.clone()
            other[:, 0] = 1
            l3, _ = _pair(call("CharRNN.forward", model, other))
            if np.allclose(l3[:, -1].numpy(), logits[:, -1].numpy(), atol=1e-6):
                raise CheckFailed("CharRNN: changing the first token does not change the logits at the last step; "
                                  "the output layer must read the RNN's hidden states, not the embeddings")
            later = ids.clone()
            later[:, 2:] = 1
            l4, _ = _pair(call("CharRNN.forward", model, later))
            _close32("logits of steps 0-1 after changing tokens 2-3", l4[:, :2], logits[:, :2].numpy(),
                     context="(a step must not see the future)")
    targets = torch.tensor([[3, 4, 5, 2], [6, 6, 3, 2], [4, 3, 2, 0]])
    with r.case("30 Adam steps on this batch lower the next-token loss"):
        model = _model("CharRNN", CharRNN, V, 8, 16).train()
        _decreases("CharRNN", model, "lm", ids, targets)
    r.done()


def check_LineClassifier(LineClassifier) -> None:
    torch = _torch()
    r = Report("LineClassifier")
    V, E, H, C = 9, 4, 6, 3
    # three lines of lengths 4, 2 and 1, right-padded with 0
    ids = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0], [5, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    with r.case("LineClassifier(vocab_size=9, embed_size=4, hidden_size=6, num_classes=3), lengths [4, 2, 1]"):
        model = _model("LineClassifier", LineClassifier, V, E, H, C).eval()
        with torch.no_grad():
            out = call("LineClassifier.forward", model, ids, lengths)
        check_array("logits", out, kind="f")
        check_shape("logits", out, (3, C))
    with torch.no_grad():
        with r.case("appending pad columns does not change any prediction"):
            more = call("LineClassifier.forward", model, torch.cat([ids, torch.zeros(3, 5, dtype=torch.long)], 1), lengths)
            _close32("logits with 5 more pad columns", more, out.numpy(),
                     context="(use the hidden state after each line's LAST REAL token, at index lengths - 1)")
        with r.case("each line gives the same logits alone and unpadded as in the batch"):
            for i, n in enumerate(lengths.tolist()):
                alone = call("LineClassifier.forward", model, ids[i:i + 1, :n], lengths[i:i + 1])
                _close32(f"logits of line {i} alone", alone, out[i:i + 1].numpy())
    with r.case("30 Adam steps on this batch lower the loss"):
        model = _model("LineClassifier", LineClassifier, V, 8, 16, C).train()
        labels = torch.tensor([0, 1, 2])
        _decreases("LineClassifier", model, "classifier", ids, labels, lengths)
    r.done()
