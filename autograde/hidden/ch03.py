"""Hidden checks for chapter 3: the student's functions against the reference.

Inputs come from generators seeded here (``seed(name, case)``), never from global random
state; gradients are compared in float64 with the tight tolerances of ``hidden_close``
(relative 1e-7), and messages never show reference values.  Every backward check includes
batch size 1, sequence length 1 and a non-zero initial state, so a missing term (no h0
gradient, no bias gradient, weights not summed over time, a wrong tanh derivative) fails.
Every check also holds the functions to the rest of their docstrings: float64 results
(``check_dtype``), arguments left as they were (``check_unchanged``, on the copies the
function was given), and the exceptions each docstring names.  ``grad_check`` is also run on
a strongly curved case where the centred difference shows its step, with eps given and
without (the default, 1e-5).

``train_tbptt`` is checked three ways: with lr = 0 its losses must be those of the schedule
(state carried across chunks, reset at each pass); a few updates must give the reference's
parameters (the gradient is cut at the chunk boundary); and a model it trains on the real
corpus is scored here, on held-out (test split) text the sandbox never sees.  The sizes at
the edge of what its docstring allows (one chunk per pass, n = k = 1, steps = 0), the
default batch_size and every ValueError it promises are checked on small inputs
(``_check_tbptt_edges``).  The training budgets do not depend on RNNCOURSE_MODE.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from autograde.hidden.common import cases, hidden_close, seed
from autograde.reference import ch02 as ref2
from autograde.reference import ch03 as ref
from rnncourse.checks.core import (CheckFailed, Report, call, check_array, check_close, check_dtype, check_raises,
                                   check_shape, check_type, check_unchanged)

GRADS = ("dx", "dh_prev", "dW_xh", "dW_hh", "db_h")
SEQ_GRADS = ("dxs", "dh0", "dW_xh", "dW_hh", "db_h")
STEP_ARGS = ("dh", "x", "h_prev", "h", "W_xh", "W_hh")
SEQ_ARGS = ("dhs", "xs", "h0", "hs", "W_xh", "W_hh")

# finite differences carry rounding error of order 1e-16 * |f| / eps, about 1e-10 here
NUMERIC_RTOL, NUMERIC_ATOL = 1e-6, 1e-8
# on the strongly curved case the step shows: another eps moves W_xh's differences by about 1e-6
CURVED_RTOL = 1e-9

# the quality check of train_tbptt (about 3 s on one CPU thread)
TBPTT = dict(hidden_size=64, k=25, steps=300, lr=0.01, batch_size=32)
TBPTT_MARGIN = 0.6          # nats per character below the add-0.5 unigram
VALID_CHARS = 20_000        # held-out characters scored


def _weights(rng, D, H, scale=1.0):
    return (rng.normal(0, scale / np.sqrt(D), (D, H)), rng.normal(0, scale / np.sqrt(H), (H, H)),
            rng.normal(0, 0.3, H))


def _sizes(rng, case, with_t=True):
    """Case 0: everything 1; case 1: batch 1; case 2: length 1; then random sizes."""
    B, T, D, H = (int(v) for v in rng.integers(2, 7, 4))
    if case == 0:
        B, T, D, H = 1, 1, 1, 1
    elif case == 1:
        B = 1
    elif case == 2:
        T = 1
    return (B, T, D, H) if with_t else (B, D, H)


def _five(name, out, labels):
    if not isinstance(out, (tuple, list)) or len(out) != 5:
        raise CheckFailed(f"{name} must return a tuple of five arrays {labels}, got {type(out).__name__}")
    return tuple(check_dtype(f"{name}: {lab}", check_array(f"{name}: {lab}", o, kind="f"), np.float64)
                 for lab, o in zip(labels, out))


def _copies(args):
    return tuple({k: v.copy() for k, v in a.items()} if isinstance(a, dict) else a.copy() for a in args)


def _unchanged(who, names, after, before) -> None:
    """Every argument bit for bit what it was (``before``: the values the call was given copies of)."""
    for name, a, b in zip(names, after, before):
        if isinstance(b, dict):
            for key in b:
                check_unchanged(f"{name}[{key!r}]", a[key], b[key], who=who)
        else:
            check_unchanged(name, a, b, who=who)


def check_rnn_step_backward(fn) -> None:
    r = Report("rnn_step_backward (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("rnn_step_backward", case))
        B, D, H = _sizes(rng, case, with_t=False)
        W_xh, W_hh, b = _weights(rng, D, H, scale=1.5)
        x, h_prev = rng.normal(size=(B, D)), rng.uniform(-1, 1, (B, H))
        h = ref.rnn_step(x, h_prev, W_xh, W_hh, b)
        dh = rng.normal(size=(B, H))
        args = (dh, x, h_prev, h, W_xh, W_hh)
        with r.case(f"random case {case}: B={B}, D={D}, H={H}"):
            given = _copies(args)
            out = _five("rnn_step_backward", call("rnn_step_backward", fn, *given), GRADS)
            _unchanged("rnn_step_backward", STEP_ARGS, given, args)
            for lab, o, e in zip(GRADS, out, ref.rnn_step_backward(*args)):
                hidden_close(f"rnn_step_backward: {lab}", o, e)
    with r.case("shapes that do not fit (W_hh one row and column too big) raise ValueError"):
        bad = np.eye(W_hh.shape[0] + 1)
        check_raises("rnn_step_backward with W_hh of shape (H + 1, H + 1)",
                     lambda: fn(dh.copy(), x.copy(), h_prev.copy(), h.copy(), W_xh.copy(), bad), ValueError,
                     "numpy's matmul raises it for da @ W_hh.T")
    r.done()


def _sequence(rng, case, scale=1.5):
    B, T, D, H = _sizes(rng, case)
    W_xh, W_hh, b = _weights(rng, D, H, scale)
    xs, h0 = rng.normal(size=(B, T, D)), rng.uniform(-1, 1, (B, H))      # a non-zero initial state
    hs = ref.rnn_forward(xs, h0, W_xh, W_hh, b)
    dhs = rng.normal(size=(B, T, H))
    if case == 3:
        dhs[:, :-1] = 0.0             # a loss on the last state only: all else flows back through time
    return (B, T, D, H), {"W_xh": W_xh, "W_hh": W_hh, "b_h": b}, xs, h0, hs, dhs


def check_rnn_backward(fn) -> None:
    r = Report("rnn_backward (hidden)")
    for case in cases(7):
        rng = np.random.default_rng(seed("rnn_backward", case))
        (B, T, D, H), p, xs, h0, hs, dhs = _sequence(rng, case)
        args = (dhs, xs, h0, hs, p["W_xh"], p["W_hh"])
        with r.case(f"random case {case}: B={B}, T={T}, D={D}, H={H}, non-zero h0"
                    + (", loss on the last state only" if case == 3 else "")):
            given = _copies(args)
            out = _five("rnn_backward", call("rnn_backward", fn, *given), SEQ_GRADS)
            _unchanged("rnn_backward", SEQ_ARGS, given, args)
            for lab, o, e in zip(SEQ_GRADS, out, ref.rnn_backward(*args)):
                hidden_close(f"rnn_backward: {lab}", o, e)
    with r.case("shapes that do not fit (W_hh one row and column too big) raise ValueError"):
        bad = np.eye(H + 1)
        check_raises("rnn_backward with W_hh of shape (H + 1, H + 1)",
                     lambda: fn(*_copies((dhs, xs, h0, hs, p["W_xh"])), bad), ValueError,
                     "numpy's matmul raises it for da @ W_hh.T")
    r.done()


def _pair(out):
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not all(isinstance(o, dict) for o in out):
        raise CheckFailed(f"grad_check must return a tuple (numeric, rel_error) of two dicts, got {type(out).__name__}")
    for which, d in zip(("numeric", "rel_error"), out):
        missing = set(ref.CHECKED) - set(d)
        if missing:
            raise CheckFailed(f"grad_check: {which} lacks the keys {sorted(missing)}")
        for k in ref.CHECKED:
            check_dtype(f"grad_check: {which}[{k!r}]", check_array(f"grad_check: {which}[{k!r}]", d[k], kind="f"),
                        np.float64)
    return out


GRAD_CHECK_ARGS = ("params", "xs", "h0", "dhs", "analytic")


def _curved_sequence(rng):
    """Inputs 30 times larger than usual and weights 30 times smaller: pre-activations of the
    usual size, but f is so curved in W_xh that the centred difference shows its step (its
    eps^2 term is about 1e-6 of the gradient at eps = 1e-5, rounding about 1e-11)."""
    B, T, D, H = 2, 2, 2, 3
    W_xh, W_hh, b = _weights(rng, D, H)
    W_xh /= 30.0
    xs, h0 = 30.0 * rng.normal(size=(B, T, D)), rng.uniform(-1, 1, (B, H))
    dhs = rng.normal(size=(B, T, H))
    return {"W_xh": W_xh, "W_hh": W_hh, "b_h": b}, xs, h0, dhs


def check_grad_check(fn) -> None:
    r = Report("grad_check (hidden)")
    for case in cases(5):
        rng = np.random.default_rng(seed("grad_check", case))
        (B, T, D, H), p, xs, h0, hs, dhs = _sequence(rng, case if case < 3 else 4, scale=1.2)
        if case == 3:
            xs[..., 0] = 0.0          # row 0 of W_xh never matters: numeric and analytic are exactly 0
        truth = ref.backward_dict(dhs, xs, h0, hs, p["W_xh"], p["W_hh"])
        analytic = {k: truth[k].copy() for k in ref.CHECKED}
        what = "correct analytic gradients"
        if case >= 2:                  # a wrong claim: some entries scaled, some flipped, some 0
            what = "partly wrong analytic gradients"
            for k in ref.CHECKED:
                a = analytic[k]
                a *= rng.choice([1.0, 1.0, 1.001, 0.5, 2.0, -1.0], size=a.shape)
                if case == 4:
                    a[rng.random(a.shape) < 0.2] = 0.0
        eps = 1e-5 if case != 1 else 1e-4
        inputs = (p, xs, h0, dhs, analytic)
        with r.case(f"random case {case}: B={B}, T={T}, D={D}, H={H}, eps={eps:g}, {what}"):
            given = _copies(inputs)
            numeric, rel = _pair(call("grad_check", fn, *given, eps=eps))
            _unchanged("grad_check", GRAD_CHECK_ARGS, given, inputs)
            expected = ref.numeric_gradients(p, xs, h0, dhs, eps)
            for k in ref.CHECKED:
                got = check_array(f"grad_check: numeric[{k!r}]", numeric[k], kind="f")
                check_shape(f"grad_check: numeric[{k!r}]", got, expected[k].shape)
                check_close(f"grad_check: numeric[{k!r}]", got, expected[k], rtol=NUMERIC_RTOL, atol=NUMERIC_ATOL,
                            show_expected=False, context="(centred differences with the given eps)")
                # the formula, applied to the student's own numeric gradient
                hidden_close(f"grad_check: rel_error[{k!r}]", rel[k], ref.rel_error(analytic[k], got))
    rng = np.random.default_rng(seed("grad_check", 100))
    p, xs, h0, dhs = _curved_sequence(rng)
    hs = ref.rnn_forward(xs, h0, p["W_xh"], p["W_hh"], p["b_h"])
    truth = ref.backward_dict(dhs, xs, h0, hs, p["W_xh"], p["W_hh"])
    analytic = {k: truth[k].copy() for k in ref.CHECKED}
    for eps, kwargs in ((1e-3, {"eps": 1e-3}), (1e-5, {})):
        how = f"eps = {eps:g}" if kwargs else "no eps given (the default, 1e-5)"
        with r.case(f"a strongly curved f (inputs x 30, W_xh / 30), {how}: the differences use exactly that step"):
            numeric, _ = _pair(call("grad_check", fn, *_copies((p, xs, h0, dhs, analytic)), **kwargs))
            expected = ref.numeric_gradients(p, xs, h0, dhs, eps)
            got = check_shape("grad_check: numeric['W_xh']", numeric["W_xh"], expected["W_xh"].shape)
            check_close("grad_check: numeric['W_xh']", got, expected["W_xh"], rtol=CURVED_RTOL,
                        atol=CURVED_RTOL * float(np.abs(expected["W_xh"]).max()), show_expected=False,
                        context=f"(centred differences with eps = {eps:g})")
    with r.case("errors: a key missing from params or analytic raises KeyError; xs that do not fit W_xh ValueError"):
        check_raises("grad_check with params lacking 'b_h'",
                     lambda: fn({k: p[k].copy() for k in ("W_xh", "W_hh")}, xs.copy(), h0.copy(), dhs.copy(),
                                _copies((analytic,))[0]), KeyError, "params['b_h'] is read")
        check_raises("grad_check with analytic lacking 'h0'",
                     lambda: fn(_copies((p,))[0], xs.copy(), h0.copy(), dhs.copy(),
                                {k: analytic[k].copy() for k in ("W_xh", "W_hh", "b_h")}), KeyError, "analytic['h0'] is read")
        check_raises("grad_check with xs whose last axis does not fit W_xh",
                     lambda: fn(_copies((p,))[0], np.ones(xs.shape[:2] + (xs.shape[2] + 1,)), h0.copy(), dhs.copy(),
                                _copies((analytic,))[0]), ValueError, "rnn_forward's matmul raises it")
    r.done()


def check_autograd_gradients(fn) -> None:
    r = Report("autograd_gradients (hidden)")
    for case in cases(5):
        rng = np.random.default_rng(seed("autograd_gradients", case))
        (B, T, D, H), p, xs, h0, hs, dhs = _sequence(rng, case)
        with r.case(f"random case {case}: B={B}, T={T}, D={D}, H={H}, non-zero h0"):
            given = _copies((p, xs, h0, dhs))
            out = call("autograd_gradients", fn, *given)
            _unchanged("autograd_gradients", ("params", "xs", "h0", "dhs"), given, (p, xs, h0, dhs))
            check_type("autograd_gradients(...)", out, dict)
            expected = ref.backward_dict(dhs, xs, h0, hs, p["W_xh"], p["W_hh"])
            for k in ref.AUTOGRAD_KEYS:
                if k not in out:
                    raise CheckFailed(f"autograd_gradients: the result lacks the key {k!r}")
                if not isinstance(out[k], np.ndarray):
                    raise CheckFailed(f"autograd_gradients: [{k!r}] must be a numpy array (use .detach().numpy()), "
                                      f"got {type(out[k]).__name__}")
                check_dtype(f"autograd_gradients: [{k!r}]", out[k], np.float64)
                hidden_close(f"autograd_gradients: [{k!r}]", out[k], expected[k])
    with r.case("float32 inputs: the gradients are float64 all the same (the docstring: float64 tensors)"):
        rng = np.random.default_rng(seed("autograd_gradients", 77))
        (B, T, D, H), p, xs, h0, hs, dhs = _sequence(rng, 3)
        p32 = {key: v.astype(np.float32) for key, v in p.items()}
        xs32, h032, dhs32 = (a.astype(np.float32) for a in (xs, h0, dhs))
        out = call("autograd_gradients", fn, *_copies((p32, xs32, h032, dhs32)))
        up = {key: v.astype(np.float64) for key, v in p32.items()}
        hs64 = ref2.rnn_forward(xs32.astype(np.float64), h032.astype(np.float64), up["W_xh"], up["W_hh"], up["b_h"])
        expected = ref.backward_dict(dhs32.astype(np.float64), xs32.astype(np.float64), h032.astype(np.float64), hs64,
                                     up["W_xh"], up["W_hh"])
        for k in ref.AUTOGRAD_KEYS:
            check_dtype(f"autograd_gradients: [{k!r}] for float32 inputs", out[k], np.float64)
            hidden_close(f"autograd_gradients: [{k!r}] for float32 inputs", out[k], expected[k])
    with r.case("shapes that do not fit (xs whose last axis does not fit W_xh) raise RuntimeError"):
        bad = np.ones(xs.shape[:2] + (xs.shape[2] + 1,))
        check_raises("autograd_gradients with xs whose last axis does not fit W_xh",
                     lambda: fn(_copies((p,))[0], bad, h0.copy(), dhs.copy()), RuntimeError, "torch's matmul raises it")
    r.done()


# --------------------------------------------------------------------------- truncated BPTT
@contextlib.contextmanager
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _random_lm(rng, V, H):
    return {"W_xh": rng.normal(0, 1.0, (V, H)), "W_hh": rng.normal(0, 1.0 / np.sqrt(H), (H, H)),
            "b_h": rng.normal(0, 0.1, H), "W_hy": rng.normal(0, 1.0 / np.sqrt(H), (H, V)), "b_y": rng.normal(0, 0.1, V)}


def _trained(out, params, steps):
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not isinstance(out[0], dict):
        raise CheckFailed(f"train_tbptt must return a tuple (trained params dict, losses array), got {type(out).__name__}")
    trained, losses = out
    for key, v in params.items():
        if key not in trained:
            raise CheckFailed(f"train_tbptt: the trained parameters lack {key!r}")
        arr = check_array(f"train_tbptt: trained[{key!r}]", trained[key], kind="f")
        check_shape(f"train_tbptt: trained[{key!r}]", check_dtype(f"train_tbptt: trained[{key!r}]", arr, np.float64),
                    v.shape)
    losses = check_dtype("train_tbptt: losses", check_array("train_tbptt: losses", losses, kind="f"), np.float64)
    check_shape("train_tbptt: losses", losses, (steps,))
    return trained, losses


def _against_reference(fn, params, ids, V, k, steps, lr, B=None, optimizer="adam", what=""):
    """Train with the student's function and the reference (batch_size left out when B is None);
    the arguments must come back as they were."""
    given = _copies((params, ids))
    kwargs = {"optimizer": optimizer} if B is None else {"batch_size": B, "optimizer": optimizer}
    trained, losses = _trained(call(f"train_tbptt{what}", fn, *given, V, k, steps, lr, **kwargs), params, steps)
    _unchanged("train_tbptt", ("params", "ids"), given, (params, ids))
    exp_params, exp_losses = ref.train_tbptt(params, ids, V, k, steps, lr, **kwargs)
    for key in ref.LM_NAMES:
        hidden_close(f"train_tbptt{what}: trained[{key!r}]", trained[key], exp_params[key])
    hidden_close(f"train_tbptt{what}: losses", losses, exp_losses)


@functools.lru_cache(maxsize=None)
def _corpus():
    from rnncourse import data
    train = data.shakespeare("train", size="fast")
    # held out: the test split, which the sandboxed submission cannot read
    valid = data.shakespeare("test", size="fast")
    vocab = ref2.build_vocab([train])
    train_ids, valid_ids = ref2.encode(train, vocab), ref2.encode(valid, vocab)[:VALID_CHARS]
    return len(vocab), train_ids, valid_ids, ref.unigram_nll(train_ids, valid_ids, len(vocab))


def _check_tbptt_edges(r: Report, fn) -> None:
    """The sizes at the edges of what the docstring allows, the default batch_size, steps = 0,
    and every ValueError it promises."""
    rng = np.random.default_rng(seed("train_tbptt", 50))
    V, H = 4, 3
    params = _random_lm(rng, V, H)
    for what, B, k, ids, steps, opt_name in (
            ("exactly one chunk per pass (n = k = 4, C = 1)", 3, 4, rng.integers(0, V, 3 * 4 + 1), 3, "adam"),
            ("one step per stream (5 ids, B = 4: n = 1, k = 1, C = 1)", 4, 1, rng.integers(0, V, 5), 3, "adagrad"),
            ("no batch_size given: 16 streams (16 * 3 + 6 ids, k = 3)", None, 3, rng.integers(0, V, 16 * 3 + 6), 2,
             "adam")):
        with r.case(f"{what}: {steps} {opt_name} updates against the reference"):
            _against_reference(fn, params, ids, V, k, steps, 0.05 if opt_name == "adam" else 0.3, B,
                               optimizer=opt_name, what=f" ({what})")
    # large weights, so gradient norms reach tens: a clip anywhere in the loop shows
    big = {key: v * 10 if key in ("W_xh", "W_hy") else v for key, v in _random_lm(rng, 20, 16).items()}
    big_ids = rng.integers(0, 20, 2 * 3 * 4 + 1)
    for opt_name, lr in (("adam", 0.05), ("adagrad", 0.3)):
        with r.case(f"large gradients (W_xh, W_hy ten times larger, V = 20, H = 16): 6 {opt_name} updates, no clipping"):
            _against_reference(fn, big, big_ids, 20, 3, 6, lr, 2, optimizer=opt_name, what=" (large gradients)")
    ids = rng.integers(0, V, 2 * 6 + 1)
    with r.case("steps = 0: no update, the initial parameters and an empty float64 losses array"):
        trained, _ = _trained(call("train_tbptt(..., steps=0)", fn, _copies((params,))[0], ids.copy(), V, 2, 0, 0.1, 2),
                              params, 0)
        for key in params:
            hidden_close(f"train_tbptt(..., steps=0): trained[{key!r}]", trained[key], params[key])
    with r.case("errors (ValueError): k < 1, steps < 0, batch_size < 1, C < 1, an id outside 0..V-1, an unknown "
                "optimizer"):
        bad_low, bad_high = ids.copy(), ids.copy()
        bad_low[5], bad_high[7] = -1, V
        for text, a, kw, why in (
                ("k=0", (ids, V, 0, 1, 0.1, 2), {}, "k must be >= 1"),
                ("k=-2", (ids, V, -2, 1, 0.1, 2), {}, "k must be >= 1"),
                ("steps=-1", (ids, V, 2, -1, 0.1, 2), {}, "steps must be >= 0"),
                ("batch_size=0", (ids, V, 2, 1, 0.1, 0), {}, "batch_size must be >= 1"),
                ("batch_size=-1", (ids, V, 2, 1, 0.1, -1), {}, "batch_size must be >= 1"),
                ("k=7 with streams of 6 steps", (ids, V, 7, 1, 0.1, 2), {}, "C = 0 chunks"),
                ("an id -1 among valid ones", (bad_low, V, 2, 1, 0.1, 2), {}, "ids must lie in 0..V-1"),
                ("an id equal to vocab_size", (bad_high, V, 2, 1, 0.1, 2), {}, "ids must lie in 0..V-1"),
                ("optimizer='sgd'", (ids, V, 2, 1, 0.1, 2), {"optimizer": "sgd"}, "only 'adam' and 'adagrad'")):
            check_raises(f"train_tbptt with {text}",
                         lambda a=a, kw=kw: fn(_copies((params,))[0], a[0].copy(), *a[1:], **kw), ValueError, why)


def check_train_tbptt(fn) -> None:
    r = Report("train_tbptt (hidden)")
    with _one_thread():
        for case in cases(3):
            rng = np.random.default_rng(seed("train_tbptt", case))
            V, H, B, k = int(rng.integers(3, 8)), int(rng.integers(2, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
            if case == 0:
                B = 1
            C = int(rng.integers(2, 4))
            n = C * k + int(rng.integers(0, k))             # streams of n steps, C chunks (a remainder unused)
            ids = rng.integers(0, V, B * n + 1 + int(rng.integers(0, B)))
            params = _random_lm(rng, V, H)
            steps = 2 * C + 1                               # a little more than two passes
            with r.case(f"random case {case}, lr = 0: V={V}, H={H}, B={B}, k={k}, {C} chunks per pass, {steps} updates"):
                given = _copies((params, ids))
                trained, losses = _trained(call("train_tbptt", fn, *given, V, k, steps, 0.0, B), params, steps)
                _unchanged("train_tbptt", ("params", "ids"), given, (params, ids))
                expected = ref.chunk_losses(params, ids, k, B, steps)
                carry_err = np.abs(losses - expected).max()
                reset_err = np.abs(losses - ref.chunk_losses(params, ids, k, B, steps, carry=False)).max()
                if carry_err > 1e-6 and reset_err < 1e-9:
                    raise CheckFailed("train_tbptt: with lr = 0 every chunk's loss is that of a zero start state; "
                                      "carry the state from each chunk into the next one")
                try:
                    hidden_close("train_tbptt: losses with lr = 0", losses, expected)
                except CheckFailed as exc:
                    raise CheckFailed(f"{exc}\n(with lr = 0 the losses depend only on the schedule: streams, chunks, "
                                      "the state carried from chunk to chunk and reset to zeros at the start of a "
                                      "pass, and the mean over the B * k positions)") from None
                for key in params:
                    hidden_close(f"train_tbptt: trained[{key!r}] with lr = 0", trained[key], params[key])
            for opt_name, lr in (("adam", 0.05), ("adagrad", 0.3)):
                if case == 2 and opt_name == "adagrad" or case == 1 and opt_name == "adam":
                    continue
                with r.case(f"random case {case}: {steps} {opt_name} updates, lr = {lr}, against the reference"):
                    try:
                        _against_reference(fn, params, ids, V, k, steps, lr, B, optimizer=opt_name)
                    except CheckFailed as exc:
                        if "changed its argument" in str(exc):
                            raise
                        raise CheckFailed(f"{exc}\n(the losses with lr = 0 were right, so look at the updates: the "
                                          "gradient must stop at the chunk boundary (detach the carried state), the "
                                          "optimiser is created once, and nothing is clipped)") from None
        _check_tbptt_edges(r, fn)
        V, train_ids, valid_ids, baseline = _corpus()
        c = TBPTT
        with r.case(f"trained on the Shakespeare training text (hidden={c['hidden_size']}, k={c['k']}, "
                    f"{c['steps']} Adam updates), scored on {VALID_CHARS:,} held-out characters"):
            params = ref.init_lm_params(V, c["hidden_size"], np.random.default_rng(seed("train_tbptt", 100)))
            trained, losses = _trained(call("train_tbptt", fn, params, train_ids.copy(), V, c["k"], c["steps"], c["lr"],
                                            c["batch_size"]), params, c["steps"])
            nll = float(ref.lm_losses({key: np.asarray(trained[key], dtype=np.float64) for key in ref.LM_NAMES},
                                      valid_ids).mean())
            if not np.isfinite(nll) or nll > baseline - TBPTT_MARGIN:
                raise CheckFailed(f"train_tbptt: held-out NLL {nll:.3f} nats/char; the trained model must beat a "
                                  f"character unigram ({baseline:.3f}) by {TBPTT_MARGIN} (training loss went "
                                  f"{losses[0]:.3f} -> {np.mean(losses[-20:]):.3f})")
    r.done()
