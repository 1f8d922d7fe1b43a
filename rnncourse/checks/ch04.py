"""Visible checks for chapter 4 (vanishing and exploding gradients).

Each ``check_*`` takes the student's function, runs it on small cases whose answers were
worked out by hand (the arithmetic is in the comments), and raises
:class:`~rnncourse.checks.core.CheckFailed` with a precise message, or prints
"✔ ... checks passed".

Conventions of the exercises: row vectors, ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)``,
so one step's Jacobian is ``dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh^T``.

The clipping functions change gradients in place, and the grader runs a student's function
in a sandbox where tensors cross as copies without ``.grad``; so the checks build the
parameters with their gradients where the function lives
(``rnncourse.training.apply_to_grads``, through ``produce``) and compare what comes back
with ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` run here on the same arrays.
``init_for_memory`` is checked the same way (``rnncourse.training.init_rnn``).
"""
from __future__ import annotations

import math

import numpy as np

from .core import (CheckFailed, Report, call, check_array, check_close, check_dtype, check_equal, check_raises,
                   check_shape, check_unchanged, produce, tolerance)
from .core import _is_tensor


# --------------------------------------------------------------------------- exercise 1
def tanh_run(xs, h0, W_xh, W_hh, b_h) -> np.ndarray:
    """States h_0..h_T (T+1, H) of one tanh RNN run over xs (T, D), in float64."""
    hs = [np.asarray(h0, dtype=np.float64)]
    for x in xs:
        hs.append(np.tanh(x @ W_xh + hs[-1] @ W_hh + b_h))
    return np.stack(hs)


def autograd_jacobian_norms(xs, h0, W_xh, W_hh, b_h) -> np.ndarray:
    """||dh_T/dh_k||_2 for k = 0..T from torch.autograd.functional.jacobian (float64): the
    run from step k+1 to T as a function of h_k, differentiated by autograd."""
    import torch

    xs_t, W_xh_t, W_hh_t, b_t = (torch.tensor(np.asarray(a, dtype=np.float64)) for a in (xs, W_xh, W_hh, b_h))
    hs = tanh_run(xs, h0, W_xh, W_hh, b_h)
    T = len(xs)
    out = np.empty(T + 1)
    for k in range(T + 1):
        def rest(h, k=k):
            for t in range(k, T):
                h = torch.tanh(xs_t[t] @ W_xh_t + h @ W_hh_t + b_t)
            return h
        jac = torch.autograd.functional.jacobian(rest, torch.tensor(hs[k]))
        out[k] = float(torch.linalg.matrix_norm(jac, 2))
    return out


def _norms(name, fn, hs, W, T):
    given = (hs.copy(), W.copy())
    out = check_array(name, call(name, fn, *given), kind="f")
    check_shape(name, out, (T + 1,))
    check_dtype(name, out, np.float64)
    check_unchanged("hs", given[0], hs, who=name)
    check_unchanged("W_hh", given[1], W, who=name)
    return out


def check_jacobian_norms(jacobian_norms) -> None:
    r = Report("jacobian_norms")
    name = "jacobian_norms"
    # H = 1, T = 2, W_hh = [[2]]: dh_2/dh_1 = (1 - h_2^2) * 2 = (1 - 0.04) * 2 = 1.92 and
    # dh_2/dh_0 = 1.92 * (1 - h_1^2) * 2 = 1.92 * 0.75 * 2 = 2.88; norms[2] = 1 (dh_2/dh_2 = I).
    # h_0 (here 5.0, not a tanh value) never enters: only the states after a step do.
    hs = np.array([[5.0], [0.5], [-0.2]])
    with r.case("one unit, W_hh = [[2]], hs = [5, 0.5, -0.2]: the norms are |products of (1 - h_t^2) w|"):
        out = _norms(name, jacobian_norms, hs, np.array([[2.0]]), 2)
        check_close(name, out, [2.88, 1.92, 1.0], context="(norms[k] = prod over t = k+1..T of (1 - h_t^2) w; "
                                                          "norms[T] = 1; h_0 is not used)")
    with r.case("one unit, W_hh = [[-0.5]]: a norm is never negative"):
        # |(1 - 0.04) * (-0.5)| = 0.48;  0.48 * |0.75 * (-0.5)| = 0.18
        out = _norms(name, jacobian_norms, hs, np.array([[-0.5]]), 2)
        check_close(name, out, [0.18, 0.48, 1.0])
    with r.case("T = 0 (hs holds h_0 only): norms = [1]"):
        out = _norms(name, jacobian_norms, np.array([[0.3, -0.1]]), np.eye(2), 0)
        check_close(name, out, [1.0])
    # Diagonal W_hh = diag(2, 0.5), h_1 = [0.5, 0], h_2 = [0, 0.5]:
    #   J_1 = diag(1 - h_1^2) W^T = diag(0.75 * 2, 1 * 0.5) = diag(1.5, 0.5)
    #   J_2 = diag(1 * 2, 0.75 * 0.5) = diag(2, 0.375)
    #   dh_2/dh_1 = J_2 (norm 2), dh_2/dh_0 = J_2 J_1 = diag(3, 0.1875) (norm 3)
    with r.case("diagonal W_hh = diag(2, 0.5), h_1 = [0.5, 0], h_2 = [0, 0.5]: norms [3, 2, 1]"):
        out = _norms(name, jacobian_norms, np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]]), np.diag([2.0, 0.5]), 2)
        check_close(name, out, [3.0, 2.0, 1.0], context="(the largest singular value of diag(3, 0.1875) is 3)")
    # W_hh = [[0, 1], [0, 0]]: unit 0 of h_0 feeds unit 1 of h_1.  With h_1 = [0.5, 0.6]:
    #   dh_1[j]/dh_0[i] = (1 - h_1[j]^2) W[i, j], so dh_1/dh_0 = diag(1 - h_1^2) W^T = [[0, 0], [0.64, 0]]
    #   (norm 0.64); diag(1 - h_1^2) W = [[0, 0.75], [0, 0]] (norm 0.75) is the transpose mistake.
    with r.case("W_hh = [[0, 1], [0, 0]], h_1 = [0.5, 0.6]: dh_1/dh_0 = diag(1 - h_1^2) W_hh^T = [[0, 0], [0.64, 0]]"):
        out = _norms(name, jacobian_norms, np.array([[0.1, 0.2], [0.5, 0.6]]), np.array([[0.0, 1.0], [0.0, 0.0]]), 1)
        check_close(name, out, [0.64, 1.0], context="(row vectors: h_t = tanh(... + h_{t-1} W_hh), so the Jacobian "
                                                    "uses W_hh transposed)")
    rng = np.random.default_rng(4)
    T, D, H = 6, 2, 3
    W_xh, W_hh, b = rng.normal(0, 1.0, (D, H)), rng.normal(0, 1.2 / np.sqrt(H), (H, H)), rng.normal(0, 0.3, H)
    xs, h0 = rng.normal(size=(T, D)), rng.uniform(-1, 1, H)
    hs = tanh_run(xs, h0, W_xh, W_hh, b)
    with r.case(f"a random run (T = {T}, H = {H}) against torch.autograd.functional.jacobian"):
        out = _norms(name, jacobian_norms, hs, W_hh, T)
        check_close(name, out, autograd_jacobian_norms(xs, h0, W_xh, W_hh, b), rtol=1e-7, atol=1e-10,
                    context="(autograd differentiates the run from step k+1 to T with respect to h_k; multiply "
                            "the one-step Jacobians in the order of the chain rule)")
    with r.case("shapes that do not fit raise ValueError"):
        check_raises("jacobian_norms with W_hh of shape (H + 1, H + 1)",
                     lambda: jacobian_norms(hs.copy(), np.eye(H + 1)), ValueError, "W_hh must be (H, H)")
        check_raises("jacobian_norms with a 1-D hs", lambda: jacobian_norms(hs[:, 0].copy(), np.eye(1)), ValueError,
                     "hs must be (T+1, H)")
    r.done()


# --------------------------------------------------------------------------- exercise 2
def _radius(W) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def _scaled(name, fn, W, rho):
    given = np.array(W, copy=True)
    out = check_array(name, call(name, fn, given, rho), kind="f")
    check_shape(name, out, np.shape(W))
    check_dtype(name, out, np.float64)
    check_unchanged("W", given, np.asarray(W), who=name)
    return out


def check_with_spectral_radius(with_spectral_radius) -> None:
    r = Report("with_spectral_radius")
    name = "with_spectral_radius"
    with r.case("W = diag(2, -4), rho = 1: the radius is |-4| = 4, so W / 4 = diag(0.5, -1)"):
        out = _scaled(name, with_spectral_radius, np.diag([2.0, -4.0]), 1.0)
        check_close(name, out, np.diag([0.5, -1.0]), context="(the largest |eigenvalue|, not the largest eigenvalue)")
    # [[0.5, 3], [0, 0.25]] is triangular: eigenvalues 0.5 and 0.25, radius 0.5, so rho = 1
    # doubles it.  Its largest singular value is about 3.04: scaling by that is the mistake.
    with r.case("W = [[0.5, 3], [0, 0.25]] (eigenvalues 0.5 and 0.25), rho = 1: 2 W"):
        out = _scaled(name, with_spectral_radius, np.array([[0.5, 3.0], [0.0, 0.25]]), 1.0)
        check_close(name, out, [[1.0, 6.0], [0.0, 0.5]],
                    context="(the spectral radius is the largest |eigenvalue|, 0.5 here; the largest singular value, "
                            "about 3.04, is another number for a matrix that is not normal)")
    # a rotation by 90 degrees times 2: eigenvalues +-2i, radius |2i| = 2
    with r.case("W = [[0, -2], [2, 0]] (eigenvalues 2i and -2i), rho = 0.5: W / 4"):
        out = _scaled(name, with_spectral_radius, np.array([[0.0, -2.0], [2.0, 0.0]]), 0.5)
        check_close(name, out, [[0.0, -0.5], [0.5, 0.0]], context="(|2i| = 2: use the modulus of complex eigenvalues)")
    with r.case("an integer W = [[2, 0], [0, 1]] gives float64; rho = 0 gives zeros; rho = 1.5 as an int-free float"):
        out = _scaled(name, with_spectral_radius, np.array([[2, 0], [0, 1]]), 1.5)
        check_close(name, out, [[1.5, 0.0], [0.0, 0.75]])
        out = _scaled(name, with_spectral_radius, np.array([[2.0, 1.0], [0.0, 1.0]]), 0.0)
        check_close(name, out, np.zeros((2, 2)), context="(rho = 0 is allowed)")
    rng = np.random.default_rng(2)
    W = rng.normal(size=(5, 5))
    with r.case("a random 5 x 5 W, rho = 1.1: the result's spectral radius is 1.1 and it is a multiple of W"):
        out = _scaled(name, with_spectral_radius, W, 1.1)
        check_close(f"{name}: spectral radius of the result", _radius(out), 1.1, rtol=1e-9)
        check_close(name, out, W * (1.1 / _radius(W)), rtol=1e-9, atol=1e-12)
    with r.case("errors (ValueError): a non-square W, a 1-D W, rho < 0, a W whose radius is 0"):
        for what, W_bad, rho, why in (("a (2, 3) W", np.ones((2, 3)), 1.0, "W must be square"),
                                      ("a 1-D W", np.ones(3), 1.0, "W must be square"),
                                      ("rho = -1", np.eye(2), -1.0, "a spectral radius is >= 0"),
                                      ("W = zeros (2, 2)", np.zeros((2, 2)), 1.0, "radius 0: no scaling reaches rho"),
                                      ("the nilpotent W = [[0, 1], [0, 0]]", np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0,
                                       "its eigenvalues are 0 and 0: radius 0")):
            check_raises(f"with_spectral_radius with {what}", lambda W_bad=W_bad, rho=rho: with_spectral_radius(W_bad, rho),
                         ValueError, why)
    r.done()


# --------------------------------------------------------------------------- exercise 3
def _decay(name, fn, Ws, T):
    Ws = np.asarray(Ws, dtype=np.float64)
    given = Ws.copy()
    out = call(name, fn, given, T)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{name} must return a tuple (norms, rates), got {type(out).__name__}")
    norms = check_dtype(f"{name}: norms", check_array(f"{name}: norms", out[0], kind="f"), np.float64)
    rates = check_dtype(f"{name}: rates", check_array(f"{name}: rates", out[1], kind="f"), np.float64)
    check_shape(f"{name}: norms", norms, (len(Ws), T + 1))
    check_shape(f"{name}: rates", rates, (len(Ws),))
    check_unchanged("Ws", given, Ws, who=name)
    return norms, rates


def _sigma_upper(a: float, b: float) -> float:
    """Largest singular value of [[a, b], [0, a]] (a, b >= 0): (sqrt(b^2 + 4 a^2) + b) / 2."""
    return (math.sqrt(b * b + 4 * a * a) + b) / 2


def check_linear_gradient_decay(linear_gradient_decay) -> None:
    r = Report("linear_gradient_decay")
    name = "linear_gradient_decay"
    # diag(0.5, 0.25)^k has norm 0.5^k; (2 I)^k has norm 2^k: ln norm is a straight line with
    # slope ln 0.5 and ln 2, so the fitted rates are exactly 0.5 and 2.
    with r.case("Ws = [diag(0.5, 0.25), 2 I], T = 3: norms 0.5^k and 2^k, rates 0.5 and 2"):
        norms, rates = _decay(name, linear_gradient_decay, [np.diag([0.5, 0.25]), 2 * np.eye(2)], 3)
        check_close(f"{name}: norms", norms, [[1, 0.5, 0.25, 0.125], [1, 2, 4, 8]],
                    context="(norms[r, k] = ||W_r^k||_2, starting with ||W^0|| = ||I|| = 1)")
        check_close(f"{name}: rates", rates, [0.5, 2.0])
    # a rotation scaled by 0.9 is normal: ||W^k|| = 0.9^k exactly
    c, s = math.cos(0.7), math.sin(0.7)
    with r.case("W = 0.9 * a rotation, T = 5: rate 0.9 (for a normal matrix the rate is the spectral radius)"):
        norms, rates = _decay(name, linear_gradient_decay, [0.9 * np.array([[c, -s], [s, c]])], 5)
        check_close(f"{name}: norms", norms, [0.9 ** np.arange(6)])
        check_close(f"{name}: rates", rates, [0.9])
    # the Jordan block [[0.5, 1], [0, 0.5]]: W^2 = [[0.25, 1], [0, 0.25]]; their largest singular
    # values are (sqrt(1 + 1) + 1) / 2 = 1.2071 and (sqrt(1 + 0.25) + 1) / 2 = 1.0590.  The fit
    # over k = 1, 2 (two points: the line through them) gives rate 1.0590 / 1.2071 = 0.8773;
    # k = 0 (norm 1) is not part of the fit.
    with r.case("the Jordan block [[0.5, 1], [0, 0.5]], T = 2: norms 1, 1.2071, 1.0590 (growth first), "
                "rate fitted over k = 1..T only"):
        n1, n2 = _sigma_upper(0.5, 1.0), _sigma_upper(0.25, 1.0)
        norms, rates = _decay(name, linear_gradient_decay, [[[0.5, 1.0], [0.0, 0.5]]], 2)
        check_close(f"{name}: norms", norms, [[1.0, n1, n2]])
        check_close(f"{name}: rates", rates, [n2 / n1], context="(the least-squares line through (k, ln norms[k]) "
                                                                "for k = 1..T, not from k = 0)")
    # nilpotent matrices: [[0, 1], [0, 0]]^k = 0 for k >= 2, so only k = 1 has a positive norm:
    # fewer than two points, rate NaN.  The 3 x 3 shift has norms 1, 1, 1, 0 at k = 0..3: the
    # points k = 1, 2 have ln norm 0, rate exp(0) = 1.  T = 1 never has two points.
    with r.case("nilpotent matrices: zero norms are left out of the fit, NaN when fewer than two remain; T = 1"):
        norms, rates = _decay(name, linear_gradient_decay, [[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                                                            np.eye(3, k=1), np.zeros((3, 3))], 3)
        check_close(f"{name}: norms", norms, [[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]])
        check_close(f"{name}: rates", rates, [np.nan, 1.0, np.nan],
                    context="(NaN where fewer than two of norms[r, 1..T] are > 0)")
        norms, rates = _decay(name, linear_gradient_decay, [2 * np.eye(2)], 1)
        check_close(f"{name}: norms", norms, [[1.0, 2.0]])
        check_close(f"{name}: rates", rates, [np.nan], context="(T = 1: one point, no line)")
    with r.case("errors (ValueError): T < 1, Ws not of shape (R, H, H)"):
        check_raises("linear_gradient_decay(Ws, 0)", lambda: linear_gradient_decay(np.eye(2)[None], 0), ValueError,
                     "T must be >= 1")
        check_raises("linear_gradient_decay with a 2-D Ws", lambda: linear_gradient_decay(np.eye(2), 3), ValueError,
                     "Ws must be (R, H, H)")
        check_raises("linear_gradient_decay with Ws of shape (1, 2, 3)",
                     lambda: linear_gradient_decay(np.ones((1, 2, 3)), 3), ValueError, "Ws must be (R, H, H)")
    r.done()


# --------------------------------------------------------------------------- exercises 4 and 5
def torch_clip(which: str, values, grads, *args, form: str = "list"):
    """What torch's own ``clip_grad_norm_`` / ``clip_grad_value_`` does to the same
    parameters (run here, on copies), in the form ``apply_to_grads`` returns."""
    import torch

    from rnncourse.training import apply_to_grads

    fn = torch.nn.utils.clip_grad_norm_ if which == "norm" else torch.nn.utils.clip_grad_value_
    return apply_to_grads(fn, values, grads, *args, form=form)


def clipped(name, fn, values, grads, *args, form="list"):
    """The student's function applied where it lives (``apply_to_grads``)."""
    out = call(name, produce, "rnncourse.training:apply_to_grads", fn, values, grads, *args, form=form)
    if not isinstance(out, (tuple, list)) or len(out) != 4:   # pragma: no cover - our own function
        raise CheckFailed(f"{name}: the parameters could not be read back")
    return out


def compare_clipping(name, got, expected, values, *, what="", dtype="float32", exact=False, hide=False):
    """The gradients and parameters after the student's call against torch's."""
    _, g_grads, g_values, same = got
    _, e_grads, _, _ = expected
    tol = tolerance(dtype, "cpu")
    where = f" ({what})" if what else ""
    for i, (g, e) in enumerate(zip(g_grads, e_grads)):
        label = f"{name}: parameter {i}'s .grad after the call{where}"
        if e is None:
            if g is not None:
                raise CheckFailed(f"{label}: it had no gradient (None) and must keep none, got an array")
            continue
        if g is None:
            raise CheckFailed(f"{label}: it is None; the gradients are clipped, not removed")
        if not same[i]:
            raise CheckFailed(f"{label} is a new tensor: each gradient must be changed in place (p.grad.mul_(...), "
                              "p.grad.clamp_(...)), not replaced (p.grad = ...)")
        if exact:
            check_equal(label, g, e)
        else:
            check_close(label, g, e, rtol=tol.rtol, atol=tol.atol, show_expected=not hide)
    for i, (g, v) in enumerate(zip(g_values, values)):
        check_unchanged(f"parameters[{i}] (its values, not its .grad)", g, v, who=name)


def check_total(name, result, expected, *, hide=False, dtype="float32"):
    """The returned total norm: a 0-d tensor of the gradients' dtype, torch's value."""
    if not _is_tensor(result):
        raise CheckFailed(f"{name} must return the total norm as a 0-d torch tensor (as clip_grad_norm_ does), got "
                          f"{type(result).__name__}")
    arr = check_array(f"{name}: the returned total norm", result, kind="f")
    check_shape(f"{name}: the returned total norm", arr, ())
    check_dtype(f"{name}: the returned total norm", arr, np.dtype(dtype))
    tol = tolerance(dtype, "cpu")
    check_close(f"{name}: the returned total norm", arr, float(to_float(expected)), rtol=tol.rtol, atol=tol.atol,
                show_expected=not hide, context="(the norm of all gradients together, before clipping)")


def to_float(x) -> float:
    return float(np.asarray(x.detach().cpu().numpy() if _is_tensor(x) else x))


# three parameters: grads [3, 4], [[12]] and a parameter without a gradient
V3 = [np.zeros(2, dtype=np.float32), np.ones((1, 1), dtype=np.float32), np.full(3, 2.0, dtype=np.float32)]
G3 = [np.array([3.0, 4.0], dtype=np.float32), np.array([[12.0]], dtype=np.float32), None]


def check_clip_grad_norm(clip_grad_norm) -> None:
    r = Report("clip_grad_norm")
    name = "clip_grad_norm"
    # 2-norm of all gradients: sqrt(3^2 + 4^2 + 12^2) = 13; max_norm 6.5: coef 6.5 / (13 + 1e-6) ~ 0.5
    # 1-norm: 3 + 4 + 12 = 19; max_norm 1.9: coef ~ 0.1;  inf-norm: 12; max_norm 3: coef ~ 0.25
    for p, max_norm, total, halves in ((2.0, 6.5, 13.0, "[1.5, 2] and [[6]]"), (1.0, 1.9, 19.0, "[0.3, 0.4] and [[1.2]]"),
                                       (math.inf, 3.0, 12.0, "[0.75, 1] and [[3]]")):
        with r.case(f"gradients [3, 4], [[12]] and one parameter without a gradient, norm_type = {p:g}, "
                    f"max_norm = {max_norm:g}: total {total:g}, clipped to {halves}"):
            got = clipped(name, clip_grad_norm, V3, G3, max_norm, p)
            exp = torch_clip("norm", V3, G3, max_norm, p)
            check_total(name, got[0], exp[0])
            check_close(f"{name}: the returned total norm", to_float(got[0]), total, rtol=1e-6)
            compare_clipping(name, got, exp, V3, what=f"norm_type = {p:g}")
    with r.case("norm_type left out is 2"):
        got = clipped(name, clip_grad_norm, V3, G3, 6.5)
        compare_clipping(name, got, torch_clip("norm", V3, G3, 6.5, 2.0), V3, what="no norm_type given")
    with r.case("below the threshold (max_norm = 100): the gradients are left exactly as they were"):
        got = clipped(name, clip_grad_norm, V3, G3, 100.0)
        check_total(name, got[0], 13.0)
        compare_clipping(name, got, torch_clip("norm", V3, G3, 100.0), V3, what="max_norm = 100", exact=True)
    with r.case("a total norm of 0.01 clipped to 0.001: coef = max_norm / (total + 1e-6), as torch's"):
        small, at = [np.array([0.006, 0.008], dtype=np.float32)], [np.zeros(2, dtype=np.float32)]
        got = clipped(name, clip_grad_norm, at, small, 0.001)
        compare_clipping(name, got, torch_clip("norm", at, small, 0.001), at, what="total 0.01, max_norm 0.001")
    with r.case("all gradients zero: total 0, nothing changes (no division by zero)"):
        zeros = [np.zeros(3, dtype=np.float32), np.zeros((2, 2), dtype=np.float32)]
        got = clipped(name, clip_grad_norm, zeros, zeros, 1.0)
        check_total(name, got[0], 0.0)
        compare_clipping(name, got, torch_clip("norm", zeros, zeros, 1.0), zeros, what="zero gradients", exact=True)
    with r.case("no parameter has a gradient: returns tensor(0.), nothing changes"):
        got = clipped(name, clip_grad_norm, V3[:1], [None], 1.0)
        check_total(name, got[0], 0.0)
        compare_clipping(name, got, torch_clip("norm", V3[:1], [None], 1.0), V3[:1])
    with r.case("parameters given as a generator (like model.parameters(): it can be iterated only once)"):
        got = clipped(name, clip_grad_norm, V3, G3, 6.5, form="generator")
        exp = torch_clip("norm", V3, G3, 6.5)
        check_total(name, got[0], exp[0])
        compare_clipping(name, got, exp, V3, what="parameters as a generator: read it once into a list")
    with r.case("a single tensor instead of an iterable"):
        got = clipped(name, clip_grad_norm, V3[1:2], G3[1:2], 6.0, form="tensor")
        exp = torch_clip("norm", V3[1:2], G3[1:2], 6.0, form="tensor")
        check_total(name, got[0], exp[0])
        compare_clipping(name, got, exp, V3[1:2], what="one tensor")
    r.done()


def check_clip_grad_value(clip_grad_value) -> None:
    r = Report("clip_grad_value")
    name = "clip_grad_value"
    # clamp every entry to [-2, 2]: [3, -4] -> [2, -2]; [[0.5, -12]] -> [[0.5, -2]]
    vals = [np.zeros(2, dtype=np.float32), np.ones((1, 2), dtype=np.float32), np.zeros(1, dtype=np.float32)]
    grads = [np.array([3.0, -4.0], dtype=np.float32), np.array([[0.5, -12.0]], dtype=np.float32), None]
    with r.case("gradients [3, -4], [[0.5, -12]] and one parameter without a gradient, clip_value = 2"):
        got = clipped(name, clip_grad_value, vals, grads, 2.0)
        if got[0] is not None:
            raise CheckFailed(f"{name} must return None (like clip_grad_value_), got {type(got[0]).__name__}")
        exp = torch_clip("value", vals, grads, 2.0)
        check_close(f"{name}: parameter 0's .grad after the call", got[1][0], [2.0, -2.0],
                    context="(each entry clamped to [-clip_value, clip_value], in place)")
        compare_clipping(name, got, exp, vals, exact=True)
    with r.case("clip_value = 0 sets every gradient entry to 0; a large clip_value changes nothing"):
        compare_clipping(name, clipped(name, clip_grad_value, vals, grads, 0.0), torch_clip("value", vals, grads, 0.0),
                         vals, what="clip_value = 0", exact=True)
        compare_clipping(name, clipped(name, clip_grad_value, vals, grads, 50.0), torch_clip("value", vals, grads, 50.0),
                         vals, what="clip_value = 50", exact=True)
    with r.case("parameters given as a generator (iterated once) and as a single tensor"):
        compare_clipping(name, clipped(name, clip_grad_value, vals, grads, 1.0, form="generator"),
                         torch_clip("value", vals, grads, 1.0), vals, what="parameters as a generator", exact=True)
        compare_clipping(name, clipped(name, clip_grad_value, vals[1:2], grads[1:2], 1.0, form="tensor"),
                         torch_clip("value", vals[1:2], grads[1:2], 1.0, form="tensor"), vals[1:2], what="one tensor",
                         exact=True)
    with r.case("a negative clip_value raises ValueError"):
        check_raises("clip_grad_value(parameters, -1.0)",
                     lambda: produce("rnncourse.training:apply_to_grads", clip_grad_value, vals, grads, -1.0),
                     ValueError, "clip_value must be >= 0")
    r.done()


# --------------------------------------------------------------------------- exercise 6
RNN_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def init_rnn(name, fn, scheme, input_size, hidden_size, **kwargs):
    out = call(name, produce, "rnncourse.training:init_rnn", fn, scheme, input_size, hidden_size, **kwargs)
    result, before, after = out
    if result is not None:
        raise CheckFailed(f"{name} changes the RNN in place and returns None, got {type(result).__name__}")
    for key in RNN_KEYS:
        if key not in after:
            raise CheckFailed(f"{name}: the RNN lost its parameter {key}")
        check_shape(f"{name}: {key}", after[key], before[key].shape)
        check_dtype(f"{name}: {key}", after[key], before[key].dtype)
    return before, after


def check_orthogonal(name, W, what="weight_hh_l0", atol=1e-5):
    W = np.asarray(W, dtype=np.float64)
    check_close(f"{name}: {what} @ {what}.T", W @ W.T, np.eye(len(W)), rtol=0, atol=atol,
                context="(an orthogonal matrix: W W^T = I, every singular value 1)")


def check_init_for_memory(init_for_memory) -> None:
    r = Report("init_for_memory")
    name = "init_for_memory"
    with r.case("'orthogonal' on nn.RNN(3, 16): weight_hh_l0 orthogonal, the other parameters unchanged"):
        before, after = init_rnn(name, init_for_memory, "orthogonal", 3, 16)
        check_orthogonal(name, after["weight_hh_l0"])
        for key in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
            check_unchanged(f"rnn.{key}", after[key], before[key], who=name)
        if np.allclose(after["weight_hh_l0"], before["weight_hh_l0"]):
            raise CheckFailed(f"{name}: weight_hh_l0 is what nn.RNN made; it must be replaced by an orthogonal matrix")
    with r.case("'orthogonal' with a torch.Generator: the same seed gives the same matrix, whatever the global "
                "seed; another seed another matrix"):
        _, a = init_rnn(name, init_for_memory, "orthogonal", 2, 8, generator_seed=7, global_seed=1)
        _, b = init_rnn(name, init_for_memory, "orthogonal", 2, 8, generator_seed=7, global_seed=2)
        _, c = init_rnn(name, init_for_memory, "orthogonal", 2, 8, generator_seed=8, global_seed=1)
        check_orthogonal(name, a["weight_hh_l0"])
        check_equal(f"{name}: weight_hh_l0 with generator seed 7 (global seeds 1 and 2)", b["weight_hh_l0"],
                    a["weight_hh_l0"])
        if np.allclose(a["weight_hh_l0"], c["weight_hh_l0"]):
            raise CheckFailed(f"{name}: generator seeds 7 and 8 gave the same weight_hh_l0; draw from the generator")
    with r.case("'identity' (IRNN) on nn.RNN(50, 64, nonlinearity='relu'): W_hh = I exactly, biases 0, "
                "weight_ih_l0 ~ N(0, 0.001^2)"):
        _, after = init_rnn(name, init_for_memory, "identity", 50, 64, nonlinearity="relu", generator_seed=3)
        check_equal(f"{name}: weight_hh_l0", after["weight_hh_l0"], np.eye(64, dtype=np.float32))
        check_equal(f"{name}: bias_ih_l0", after["bias_ih_l0"], np.zeros(64, dtype=np.float32))
        check_equal(f"{name}: bias_hh_l0", after["bias_hh_l0"], np.zeros(64, dtype=np.float32))
        w = after["weight_ih_l0"].astype(np.float64)
        # 3,200 draws: the sample std is within 1.3% of 0.001 (one standard error), the mean within 1.8e-5
        std, mean = float(w.std()), float(w.mean())
        if not 0.00093 < std < 0.00107 or abs(mean) > 9e-5:
            raise CheckFailed(f"{name}: weight_ih_l0 has mean {mean:.3g} and std {std:.3g}; expected draws from "
                              "N(0, 0.001^2) (std 0.001)")
    with r.case("'identity' with the same generator seed twice gives the same weight_ih_l0"):
        _, a = init_rnn(name, init_for_memory, "identity", 2, 4, generator_seed=5, global_seed=1)
        _, b = init_rnn(name, init_for_memory, "identity", 2, 4, generator_seed=5, global_seed=2)
        check_equal(f"{name}: weight_ih_l0 with generator seed 5 (global seeds 1 and 2)", b["weight_ih_l0"],
                    a["weight_ih_l0"])
    with r.case("an unknown scheme raises ValueError"):
        check_raises("init_for_memory(rnn, 'xavier')",
                     lambda: produce("rnncourse.training:init_rnn", init_for_memory, "xavier", 2, 4), ValueError,
                     "the schemes are 'orthogonal' and 'identity'")
    r.done()
