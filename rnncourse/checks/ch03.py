"""Visible checks for chapter 3 (backpropagation through time).

Each ``check_*`` takes the student's function, runs it on small cases whose answers were
worked out by hand (the arithmetic is in the comments), and raises
:class:`~rnncourse.checks.core.CheckFailed` with a precise message, or prints
"✔ ... checks passed".

Conventions of the exercises: row vectors, ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)``,
and the scalar being differentiated is ``f = sum(hs * dhs)``.
"""
from __future__ import annotations

import math

import numpy as np

from .core import (CheckFailed, Report, call, check_array, check_close, check_dtype, check_raises, check_shape,
                   check_type, check_unchanged)

GRADS = ("dx", "dh_prev", "dW_xh", "dW_hh", "db_h")
SEQ_GRADS = ("dxs", "dh0", "dW_xh", "dW_hh", "db_h")
STEP_ARGS = ("dh", "x", "h_prev", "h", "W_xh", "W_hh")
SEQ_ARGS = ("dhs", "xs", "h0", "hs", "W_xh", "W_hh")


def _sech2(a: float) -> float:
    """tanh'(a) = 1 - tanh(a)^2."""
    return 1.0 - math.tanh(a) ** 2


def _five(name: str, out, labels) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != 5:
        raise CheckFailed(f"{name} must return a tuple of five arrays {labels}, got "
                          f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return tuple(check_dtype(f"{name}: {lab}", check_array(f"{name}: {lab}", o, kind="f"), np.float64)
                 for lab, o in zip(labels, out))


def _unchanged(who: str, names, after, before) -> None:
    """Every argument bit for bit what it was (``before`` are copies taken before the call)."""
    for name, a, b in zip(names, after, before):
        if isinstance(b, dict):
            for key in b:
                check_unchanged(f"{name}[{key!r}]", a[key], b[key], who=who)
        else:
            check_unchanged(name, a, b, who=who)


def _compare(name: str, got: tuple, expected: tuple, labels, context: str = "") -> None:
    for lab, g, e in zip(labels, got, expected):
        check_close(f"{name}: {lab}", g, e, context=context)


# A batch of two rows whose pre-activation is exactly 0, so h = 0 and tanh'(0) = 1:
#   W_xh = [[1, 0], [0, 2]], W_hh = [[0, 1], [-1, 0]], b_h = 0
#   row 1: x = [1, 0],  h_prev = [0, 1]:  x W_xh = [1, 0], h_prev W_hh = [-1, 0]  -> a = [0, 0]
#   row 2: x = [0, 1],  h_prev = [-2, 0]: x W_xh = [0, 2], h_prev W_hh = [0, -2]  -> a = [0, 0]
# With dh = [[1, 2], [3, -1]] the gradient through tanh is da = dh, and
#   dx      = da W_xh^T = [[1, 4], [3, -2]]           (W_xh is diag(1, 2))
#   dh_prev = da W_hh^T = [[2, -1], [-1, -3]]         ([p, q] W_hh^T = [q, -p])
#   dW_xh   = x^T da    = da = [[1, 2], [3, -1]]      (x is the identity)
#   dW_hh   = h_prev^T da = [[0*1 - 2*3, 0*2 - 2*(-1)], [1*1 + 0, 1*2 + 0]] = [[-6, 2], [1, 2]]
#   db_h    = sum of da over the batch = [4, 1]
W_XH = np.array([[1.0, 0.0], [0.0, 2.0]])
W_HH = np.array([[0.0, 1.0], [-1.0, 0.0]])
X2 = np.array([[1.0, 0.0], [0.0, 1.0]])
HPREV2 = np.array([[0.0, 1.0], [-2.0, 0.0]])
DH2 = np.array([[1.0, 2.0], [3.0, -1.0]])
EXPECTED2 = (np.array([[1.0, 4.0], [3.0, -2.0]]), np.array([[2.0, -1.0], [-1.0, -3.0]]),
             np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[-6.0, 2.0], [1.0, 2.0]]), np.array([4.0, 1.0]))


def _scalar_two_steps(u=1.0, w=0.5, x=(1.0, -1.0), h0=0.5, g=(1.0, 1.0)):
    """A one-unit RNN run for two steps, and every gradient of f = g1 h1 + g2 h2 by hand:
        a1 = u x1 + w h0,  h1 = tanh(a1);   a2 = u x2 + w h1,  h2 = tanh(a2)
        da2 = g2 tanh'(a2);   da1 = (g1 + w da2) tanh'(a1)      <- the recursive term w da2
        dW_xh = x1 da1 + x2 da2;  dW_hh = h0 da1 + h1 da2;  db_h = da1 + da2   <- sums over time
        dh0 = w da1;  dx_t = u da_t
    """
    a1 = u * x[0] + w * h0
    h1 = math.tanh(a1)
    a2 = u * x[1] + w * h1
    h2 = math.tanh(a2)
    da2 = g[1] * _sech2(a2)
    da1 = (g[0] + w * da2) * _sech2(a1)
    return {"hs": np.array([[[h1], [h2]]]), "dxs": np.array([[[u * da1], [u * da2]]]), "dh0": np.array([[w * da1]]),
            "dW_xh": np.array([[x[0] * da1 + x[1] * da2]]), "dW_hh": np.array([[h0 * da1 + h1 * da2]]),
            "db_h": np.array([da1 + da2]),
            "args": (np.array([[list(g)]]).reshape(1, 2, 1), np.array(x).reshape(1, 2, 1), np.array([[h0]]),
                     np.array([[h1], [h2]]).reshape(1, 2, 1), np.array([[u]]), np.array([[w]]))}


def check_rnn_step_backward(rnn_step_backward) -> None:
    r = Report("rnn_step_backward")
    # B = D = H = 1: x = 2, h_prev = 0.5, W_xh = 0.5, W_hh = 1, b_h = 0
    #   a = 2 * 0.5 + 0.5 * 1 = 1.5, h = tanh(1.5); with dh = 1, da = tanh'(1.5) = 1 - tanh(1.5)^2
    #   dx = 0.5 da, dh_prev = 1 * da, dW_xh = 2 da, dW_hh = 0.5 da, db_h = da
    d = _sech2(1.5)
    with r.case("one unit: a = 2*0.5 + 0.5*1 = 1.5, dh = 1, so da = 1 - tanh(1.5)^2 (not 1 - tanh(1.5))"):
        out = _five("rnn_step_backward", call("rnn_step_backward", rnn_step_backward, np.array([[1.0]]), np.array([[2.0]]),
                                              np.array([[0.5]]), np.array([[math.tanh(1.5)]]), np.array([[0.5]]),
                                              np.array([[1.0]])), GRADS)
        _compare("rnn_step_backward", out, ([[0.5 * d]], [[d]], [[2 * d]], [[0.5 * d]], [d]), GRADS)
    with r.case("a batch of 2 whose pre-activation is 0 (so da = dh): parameter gradients add up over the batch"):
        x, hp, dh = X2.copy(), HPREV2.copy(), DH2.copy()
        out = _five("rnn_step_backward", call("rnn_step_backward", rnn_step_backward, dh, x, hp, np.zeros((2, 2)),
                                              W_XH.copy(), W_HH.copy()), GRADS)
        for lab, o, e in zip(GRADS, out, EXPECTED2):
            check_shape(f"rnn_step_backward: {lab}", o, e.shape)
        _compare("rnn_step_backward", out, EXPECTED2, GRADS,
                 context="(dW = x^T da and h_prev^T da; db_h sums da over the batch)")
    with r.case("inputs are not modified (dh, x, h_prev, h, W_xh, W_hh)"):
        args = (DH2, X2, HPREV2, np.tanh(X2 @ W_XH + HPREV2 @ W_HH), W_XH, W_HH)
        given = tuple(a.copy() for a in args)
        call("rnn_step_backward", rnn_step_backward, *given)
        _unchanged("rnn_step_backward", STEP_ARGS, given, args)
    with r.case("shapes that do not fit (W_hh is 3 x 3 for H = 2) raise ValueError"):
        check_raises("rnn_step_backward with W_hh of shape (3, 3) and dh of shape (2, 2)",
                     lambda: rnn_step_backward(DH2.copy(), X2.copy(), HPREV2.copy(), np.zeros((2, 2)), W_XH.copy(),
                                               np.eye(3)), ValueError, "numpy's matmul raises it for da @ W_hh.T")
    r.done()


def check_rnn_backward(rnn_backward) -> None:
    r = Report("rnn_backward")
    with r.case("T = 1 is one step: the batch of 2 with pre-activation 0 (da = dh)"):
        out = _five("rnn_backward", call("rnn_backward", rnn_backward, DH2[:, None].copy(), X2[:, None].copy(),
                                         HPREV2.copy(), np.zeros((2, 1, 2)), W_XH.copy(), W_HH.copy()), SEQ_GRADS)
        exp = (EXPECTED2[0][:, None], *EXPECTED2[1:])
        for lab, o, e in zip(SEQ_GRADS, out, exp):
            check_shape(f"rnn_backward: {lab}", o, e.shape)
        _compare("rnn_backward", out, exp, SEQ_GRADS, context="(dh0 is the gradient reaching h0 = da W_hh^T)")
    s = _scalar_two_steps()
    with r.case("one unit, T = 2, u = 1, w = 0.5, x = [1, -1], h0 = 0.5, dhs = [1, 1]: "
                "da1 = (1 + w da2)(1 - h1^2), dW_hh = h0 da1 + h1 da2"):
        out = _five("rnn_backward", call("rnn_backward", rnn_backward, *(a.copy() for a in s["args"])), SEQ_GRADS)
        _compare("rnn_backward", out, tuple(s[k] for k in SEQ_GRADS), SEQ_GRADS,
                 context="(add the gradient from the later state, and sum the weight gradients over both steps)")
    s0 = _scalar_two_steps(g=(0.0, 1.0))
    with r.case("a loss on h2 only (dhs = [0, 1]) still reaches step 1 and h0 through W_hh"):
        out = _five("rnn_backward", call("rnn_backward", rnn_backward, *(a.copy() for a in s0["args"])), SEQ_GRADS)
        _compare("rnn_backward", out, tuple(s0[k] for k in SEQ_GRADS), SEQ_GRADS)
    with r.case("a batch of two sequences: the parameter gradients are the sums of the two"):
        args0, args1 = s["args"], s0["args"]
        both = [np.concatenate([a, b]) for a, b in zip(args0[:4], args1[:4])] + [args0[4], args0[5]]
        out = _five("rnn_backward", call("rnn_backward", rnn_backward, *both), SEQ_GRADS)
        check_close("rnn_backward: dW_hh", out[3], s["dW_hh"] + s0["dW_hh"])
        check_close("rnn_backward: db_h", out[4], s["db_h"] + s0["db_h"])
        check_close("rnn_backward: dh0", out[1], np.concatenate([s["dh0"], s0["dh0"]]))
    with r.case("inputs are not modified (dhs, xs, h0, hs, W_xh, W_hh)"):
        given = tuple(a.copy() for a in both)
        call("rnn_backward", rnn_backward, *given)
        _unchanged("rnn_backward", SEQ_ARGS, given, both)
    with r.case("shapes that do not fit (W_hh is 3 x 3 for H = 1) raise ValueError"):
        args = [a.copy() for a in s["args"]]
        args[5] = np.eye(3)
        check_raises("rnn_backward with W_hh of shape (3, 3) and H = 1", lambda: rnn_backward(*args), ValueError,
                     "numpy's matmul raises it for da @ W_hh.T")
    r.done()


# f = sum(rnn_forward(xs, h0, ...) * dhs) with B = T = D = H = 1, W_xh = 0.5, W_hh = 0,
# b_h = 0, h0 = 0, x = 2, dhs = 3:  a = 1, h = tanh(1), f = 3 tanh(1).
#   df/dW_xh = 3 * 2 * tanh'(1),  df/db_h = 3 tanh'(1),
#   df/dW_hh = 3 tanh'(1) * h0 = 0 and df/dh0 = 3 tanh'(1) * W_hh = 0, and a finite difference
#   of them is exactly 0: moving W_hh or h0 changes nothing when the other factor is 0.
def _tiny():
    return ({"W_xh": np.array([[0.5]]), "W_hh": np.array([[0.0]]), "b_h": np.array([0.0])},
            np.array([[[2.0]]]), np.array([[0.0]]), np.array([[[3.0]]]))


def _tiny_grads():
    d = _sech2(1.0)
    return {"W_xh": np.array([[6 * d]]), "W_hh": np.array([[0.0]]), "b_h": np.array([3 * d]), "h0": np.array([[0.0]])}


def _pair(name, out):
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not all(isinstance(o, dict) for o in out):
        raise CheckFailed(f"{name} must return a tuple (numeric, rel_error) of two dicts, got {type(out).__name__}")
    for which, d in zip(("numeric", "rel_error"), out):
        missing = {"W_xh", "W_hh", "b_h", "h0"} - set(d)
        if missing:
            raise CheckFailed(f"{name}: {which} lacks the keys {sorted(missing)}")
        for k in ("W_xh", "W_hh", "b_h", "h0"):
            check_dtype(f"{name}: {which}[{k!r}]", check_array(f"{name}: {which}[{k!r}]", d[k], kind="f"), np.float64)
    return out


# A strongly curved case for the step eps: x = 100, W_xh = 0.01, W_hh = 0, h0 = 0, b_h = 0,
# dhs = 1, so f(w) = tanh(100 w), and the centred difference in W_xh is
#   (tanh(100 (w + eps)) - tanh(100 (w - eps))) / (2 eps) = 100 tanh'(1) + eps^2 10^6 tanh3(1) / 6 + ...
# (tanh3: the third derivative of tanh), whose eps^2 term is about 2.5e-7 of the value at
# eps = 1e-5 and 2.5e-3 at eps = 1e-3: the step used shows in the result (rounding error is
# about 1e-13 of it).
def _curved():
    return ({"W_xh": np.array([[0.01]]), "W_hh": np.array([[0.0]]), "b_h": np.array([0.0])},
            np.array([[[100.0]]]), np.array([[0.0]]), np.array([[[1.0]]]))


def _curved_numeric(eps: float) -> float:
    return (math.tanh(100 * (0.01 + eps)) - math.tanh(100 * (0.01 - eps))) / (2 * eps)


def check_grad_check(grad_check) -> None:
    r = Report("grad_check")
    exact = _tiny_grads()
    with r.case("one unit: f = 3 tanh(x W_xh + h0 W_hh + b_h) with x = 2, W_xh = 0.5, W_hh = 0, h0 = 0"):
        params, xs, h0, dhs = _tiny()
        numeric, rel = _pair("grad_check", call("grad_check", grad_check, params, xs, h0, dhs,
                                                {k: v.copy() for k, v in exact.items()}))
        for k in exact:
            check_shape(f"numeric[{k!r}]", numeric[k], exact[k].shape)
            check_close(f"numeric[{k!r}]", numeric[k], exact[k], rtol=1e-6, atol=1e-9,
                        context="(centred difference (f(+eps) - f(-eps)) / (2 eps))")
        for k in ("W_xh", "b_h"):
            got = check_array(f"rel_error[{k!r}]", rel[k], kind="f")
            if not np.all(got < 1e-7):
                raise CheckFailed(f"grad_check: rel_error[{k!r}] is {got.ravel()[0]:.3g} for a correct analytic "
                                  "gradient; expected below 1e-7")
        for k in ("W_hh", "h0"):
            check_close(f"rel_error[{k!r}]", rel[k], [[0.0]], atol=0,
                        context="(analytic and numeric are both exactly 0: the error is defined as 0)")
    with r.case("wrong analytic gradients: twice the truth -> 0.5; the opposite sign -> 2; 1 against 0 -> 1"):
        wrong = {"W_xh": 2 * exact["W_xh"], "W_hh": np.array([[0.0]]), "b_h": -exact["b_h"], "h0": np.array([[1.0]])}
        _, rel = _pair("grad_check", call("grad_check", grad_check, *_tiny(), wrong))
        # |2g - g| / max(2g, g) = 1/2;  |-g - g| / max(g, g) = 2;  |1 - 0| / max(1, 0) = 1
        check_close("rel_error['W_xh']", rel["W_xh"], [[0.5]], rtol=1e-6, context="(|a - n| / max(|a|, |n|))")
        check_close("rel_error['b_h']", rel["b_h"], [2.0], rtol=1e-6, context="(|a - n| / max(|a|, |n|))")
        check_close("rel_error['h0']", rel["h0"], [[1.0]], rtol=1e-6, context="(|a - n| / max(|a|, |n|))")
    with r.case("the step: f = tanh(100 W_xh) is so curved at W_xh = 0.01 that the centred difference shows "
                "its eps; eps = 1e-3 when given, 1e-5 when not"):
        claim = {"W_xh": np.array([[100 * _sech2(1.0)]]), "W_hh": np.array([[0.0]]), "b_h": np.array([_sech2(1.0)]),
                 "h0": np.array([[0.0]])}
        for eps, kwargs in ((1e-3, {"eps": 1e-3}), (1e-5, {})):
            numeric, _ = _pair("grad_check", call("grad_check", grad_check, *_curved(),
                                                  {k: v.copy() for k, v in claim.items()}, **kwargs))
            how = f"grad_check(..., eps={eps:g})" if kwargs else "grad_check(...) without eps (the default is 1e-5)"
            check_close(f"{how}: numeric['W_xh']", numeric["W_xh"], [[_curved_numeric(eps)]], rtol=1e-9, atol=0,
                        context=f"((tanh(100 (0.01 + eps)) - tanh(100 (0.01 - eps))) / (2 eps) with eps = {eps:g})")
    with r.case("the inputs (params, xs, h0, dhs, analytic) are not modified (every moved entry is put back)"):
        params, xs, h0, dhs = _tiny()
        params["W_hh"] = np.array([[0.3]])
        h0 = np.array([[0.2]])
        args = (params, xs, h0, dhs, {k: v.copy() for k, v in exact.items()})
        given = ({k: v.copy() for k, v in params.items()}, xs.copy(), h0.copy(), dhs.copy(),
                 {k: v.copy() for k, v in exact.items()})
        call("grad_check", grad_check, *given)
        _unchanged("grad_check", ("params", "xs", "h0", "dhs", "analytic"), given, args)
    with r.case("errors: a key missing from params or analytic raises KeyError; xs that do not fit W_xh ValueError"):
        params, xs, h0, dhs = _tiny()
        check_raises("grad_check with params lacking 'b_h'",
                     lambda: grad_check({k: params[k] for k in ("W_xh", "W_hh")}, xs, h0, dhs,
                                        {k: v.copy() for k, v in exact.items()}), KeyError, "params['b_h'] is read")
        check_raises("grad_check with analytic lacking 'h0'",
                     lambda: grad_check(params, xs, h0, dhs, {k: exact[k].copy() for k in ("W_xh", "W_hh", "b_h")}),
                     KeyError, "analytic['h0'] is read")
        check_raises("grad_check with xs of shape (1, 1, 2) and W_xh of shape (1, 1)",
                     lambda: grad_check(params, np.ones((1, 1, 2)), h0, dhs, {k: v.copy() for k, v in exact.items()}),
                     ValueError, "rnn_forward's matmul raises it")
    r.done()


def check_autograd_gradients(autograd_gradients) -> None:
    r = Report("autograd_gradients")
    keys = ("W_xh", "W_hh", "b_h", "h0", "xs")

    def run(params, xs, h0, dhs):
        out = call("autograd_gradients", autograd_gradients, params, xs, h0, dhs)
        check_type("autograd_gradients(...)", out, dict)
        missing = set(keys) - set(out)
        if missing:
            raise CheckFailed(f"autograd_gradients: the result lacks the keys {sorted(missing)}")
        for k in keys:
            if not isinstance(out[k], np.ndarray):
                raise CheckFailed(f"autograd_gradients: [{k!r}] must be a numpy array (use .detach().numpy()), "
                                  f"got {type(out[k]).__name__}")
            check_dtype(f"autograd_gradients: [{k!r}]", out[k], np.float64)
        return out
    with r.case("T = 1, the batch of 2 with pre-activation 0: the same numbers as rnn_backward's first case"):
        out = run({"W_xh": W_XH.copy(), "W_hh": W_HH.copy(), "b_h": np.zeros(2)}, X2[:, None].copy(), HPREV2.copy(),
                  DH2[:, None].copy())
        for k, e in zip(("xs", "h0", "W_xh", "W_hh", "b_h"), (EXPECTED2[0][:, None], *EXPECTED2[1:])):
            check_close(f"autograd_gradients: [{k!r}]", out[k], e)
    s = _scalar_two_steps()
    dhs, xs, h0, _, u, w = s["args"]
    with r.case("one unit, T = 2 (the hand-computed case of rnn_backward)"):
        out = run({"W_xh": u.copy(), "W_hh": w.copy(), "b_h": np.zeros(1)}, xs.copy(), h0.copy(), dhs.copy())
        for k, sk in zip(keys, ("dW_xh", "dW_hh", "db_h", "dh0", "dxs")):
            check_close(f"autograd_gradients: [{k!r}]", out[k], s[sk])
    with r.case("the inputs (params, xs, h0, dhs) are not modified"):
        args = ({"W_xh": u, "W_hh": w, "b_h": np.array([0.25])}, xs, h0, dhs)
        given = ({k: v.copy() for k, v in args[0].items()}, xs.copy(), h0.copy(), dhs.copy())
        call("autograd_gradients", autograd_gradients, *given)
        _unchanged("autograd_gradients", ("params", "xs", "h0", "dhs"), given, args)
    with r.case("shapes that do not fit (xs with D = 2 for W_xh of shape (1, 1)) raise RuntimeError"):
        check_raises("autograd_gradients with xs of shape (1, 2, 2) and W_xh of shape (1, 1)",
                     lambda: autograd_gradients({"W_xh": u.copy(), "W_hh": w.copy(), "b_h": np.zeros(1)},
                                                np.ones((1, 2, 2)), h0.copy(), dhs.copy()),
                     RuntimeError, "torch's matmul raises it")
    r.done()


# --------------------------------------------------------------------------- truncated BPTT
LM_KEYS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


def _lm_losses_by_chunk(params, ids, k, batch_size, steps, carry=True):
    """The loss of each update when the weights do not move (lr = 0): a plain forward pass
    over the chunks of the schedule in the docstring."""
    n = (len(ids) - 1) // batch_size
    X, Y = ids[:batch_size * n].reshape(batch_size, n), ids[1:batch_size * n + 1].reshape(batch_size, n)
    C = n // k
    h = np.zeros((batch_size, params["W_hh"].shape[0]))
    out = []
    for i in range(steps):
        c = i % C
        if c == 0 or not carry:
            h = np.zeros_like(h)
        total = 0.0
        for t in range(c * k, (c + 1) * k):
            h = np.tanh(params["W_xh"][X[:, t]] + h @ params["W_hh"] + params["b_h"])
            z = h @ params["W_hy"] + params["b_y"]
            z = z - z.max(1, keepdims=True)
            total += float(np.sum(np.log(np.exp(z).sum(1)) - z[np.arange(batch_size), Y[:, t]]))
        out.append(total / (batch_size * k))
    return np.array(out)


def _lm_params(V, H, seed):
    g = np.random.default_rng(seed)
    return {"W_xh": g.normal(0, 1.0, (V, H)), "W_hh": g.normal(0, 0.8, (H, H)), "b_h": g.normal(0, 0.1, H),
            "W_hy": g.normal(0, 1.0, (H, V)), "b_y": g.normal(0, 0.1, V)}


def _trained(name, out, params, steps):
    if not isinstance(out, (tuple, list)) or len(out) != 2 or not isinstance(out[0], dict):
        raise CheckFailed(f"{name} must return a tuple (trained params dict, losses array), got {type(out).__name__}")
    trained, losses = out
    for key, v in params.items():
        if key not in trained:
            raise CheckFailed(f"{name}: the trained parameters lack {key!r}")
        arr = check_dtype(f"{name}: trained[{key!r}]", check_array(f"{name}: trained[{key!r}]", trained[key], kind="f"),
                          np.float64)
        check_shape(f"{name}: trained[{key!r}]", arr, v.shape)
    losses = check_dtype(f"{name}: losses", check_array(f"{name}: losses", losses, kind="f"), np.float64)
    check_shape(f"{name}: losses", losses, (steps,))
    return trained, losses


def check_train_tbptt(train_tbptt) -> None:
    r = Report("train_tbptt")
    V, H = 3, 2
    ids = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2, 1])     # 13 ids: B = 2 streams of n = 6 steps
    with r.case("all-zero weights and lr = 0: every prediction is uniform, so every loss is ln 3"):
        zeros = {"W_xh": np.zeros((V, H)), "W_hh": np.zeros((H, H)), "b_h": np.zeros(H), "W_hy": np.zeros((H, V)),
                 "b_y": np.zeros(V)}
        trained, losses = _trained("train_tbptt", call("train_tbptt", train_tbptt, zeros, ids, V, 2, 4, 0.0, 2), zeros, 4)
        check_close("train_tbptt: losses", losses, np.full(4, math.log(3)),
                    context="(the mean cross-entropy over the B * k positions of each chunk)")
        for key in zeros:
            check_close(f"train_tbptt: trained[{key!r}] with lr = 0", trained[key], zeros[key])
    params = _lm_params(V, H, 3)
    # k = 2: C = 6 // 2 = 3 chunks per pass; 5 updates use chunks 0, 1, 2, then 0 (state reset), 1
    expected = _lm_losses_by_chunk(params, ids, 2, 2, 5)
    with r.case("lr = 0, B = 2, k = 2, 5 updates (chunks 0, 1, 2, 0, 1): the state is carried from chunk to chunk "
                "and reset to zeros at the start of each pass"):
        given = {key: v.copy() for key, v in params.items()}
        _, losses = _trained("train_tbptt", call("train_tbptt", train_tbptt, given, ids, V, 2, 5, 0.0, 2), params, 5)
        no_carry = _lm_losses_by_chunk(params, ids, 2, 2, 5, carry=False)
        if np.allclose(losses, no_carry, rtol=1e-7, atol=1e-10) and not np.allclose(no_carry, expected):
            raise CheckFailed("train_tbptt: every chunk starts from a zero state; carry the last state of a chunk "
                              "into the next one (detached)")
        check_close("train_tbptt: losses", losses, expected)
    with r.case("lr = 0, edge sizes: exactly one chunk (k = n = 6), one step per stream (n = k = 1), steps = 0"):
        for kk, text, steps, what in ((6, ids, 2, "k = 6 = n: C = 1, every update is chunk 0 from a zero state"),
                                      (1, ids[:3], 3, "3 ids, B = 2: n = 1, k = 1, C = 1")):
            _, losses = _trained("train_tbptt", call(f"train_tbptt(..., k={kk}) ({what})", train_tbptt, params, text,
                                                     V, kk, steps, 0.0, 2), params, steps)
            check_close(f"train_tbptt(..., k={kk}) ({what}): losses", losses,
                        _lm_losses_by_chunk(params, text, kk, 2, steps))
        trained, _ = _trained("train_tbptt", call("train_tbptt(..., steps=0)", train_tbptt, params, ids, V, 2, 0, 0.1, 2),
                              params, 0)
        for key in params:
            check_close(f"train_tbptt(..., steps=0): trained[{key!r}] (no update: the initial values)", trained[key],
                        params[key], rtol=0, atol=0)
    with r.case("batch_size defaults to 16: 37 ids without batch_size are 16 streams of 2 steps (lr = 0, k = 2)"):
        text = np.resize(ids, 37)
        _, losses = _trained("train_tbptt", call("train_tbptt(...) without batch_size", train_tbptt, params, text, V, 2,
                                                 1, 0.0), params, 1)
        check_close("train_tbptt(...) without batch_size: losses", losses, _lm_losses_by_chunk(params, text, 2, 16, 1))
    with r.case("20 Adam updates (lr = 0.05) on the repeating text 0 1 2 0 1 2 ... lower the loss a lot; "
                "params and ids are not modified"):
        text = np.tile([0, 1, 2], 40)
        start = _lm_params(V, 8, 0)
        given = {key: v.copy() for key, v in start.items()}, text.copy()
        _, losses = _trained("train_tbptt", call("train_tbptt", train_tbptt, given[0], given[1], V, 5, 20, 0.05, 4),
                             start, 20)
        _unchanged("train_tbptt", ("params", "ids"), given, (start, text))
        if not losses[-1] < 0.5 * losses[0]:
            raise CheckFailed(f"train_tbptt: the loss went from {losses[0]:.3f} to only {losses[-1]:.3f} on a text "
                              "that is perfectly predictable; expected below half its first value")
    with r.case("errors (ValueError): k < 1, steps < 0, batch_size < 1, k longer than the streams, an id outside "
                "the vocabulary (3 or -1), an unknown optimizer"):
        for call_text, fn, why in (
                ("train_tbptt(..., k=0)", lambda: train_tbptt(params, ids, V, 0, 1, 0.1, 2), "k must be >= 1"),
                ("train_tbptt(..., steps=-1)", lambda: train_tbptt(params, ids, V, 2, -1, 0.1, 2), "steps must be >= 0"),
                ("train_tbptt(..., batch_size=0)", lambda: train_tbptt(params, ids, V, 2, 1, 0.1, 0),
                 "batch_size must be >= 1"),
                ("train_tbptt(..., k=7) with streams of 6 steps", lambda: train_tbptt(params, ids, V, 7, 1, 0.1, 2),
                 "C = 6 // 7 = 0 chunks"),
                ("train_tbptt with an id 3 and vocab_size 3", lambda: train_tbptt(params, np.append(ids, 3), V, 2, 1, 0.1, 2),
                 "ids lie in 0..2"),
                ("train_tbptt with an id -1 among valid ones", lambda: train_tbptt(params, np.append(ids, -1), V, 2, 1, 0.1, 2),
                 "ids lie in 0..2 (torch would read row -1 of W_xh without complaint)"),
                ("train_tbptt(..., optimizer='sgd')",
                 lambda: train_tbptt(params, ids, V, 2, 1, 0.1, 2, optimizer="sgd"), "only 'adam' and 'adagrad' are asked for")):
            check_raises(call_text, fn, ValueError, why)
    r.done()
