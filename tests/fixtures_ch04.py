"""Planted bugs and correct alternatives for chapter 4's exercises.

Tables keyed by a label, each entry ``(answer cell, source)``:

* ``BUGS``: one plausible student mistake per answer cell; grading a submission with one
  must cost exactly that exercise's points (tests/test_grading.py);
* ``MORE_BUGS``: one per promise of a docstring the checks settle (product order, dtypes,
  arguments left alone, the edge cases, in-place changes, generators iterated once, the
  exceptions), caught in-process (tests/test_checks_ch04.py) and compared notebook-vs-grader
  (tests/test_verdicts.py);
* ``ALTERNATIVES``: correct solutions written differently from the notebook's; they must pass.

Sources run in the notebook's namespace (np, torch, math).
"""

# --------------------------------------------------------------------------- exercise 1
_JAC = '''
def jacobian_norms(hs, W_hh):
    hs = np.asarray(hs, dtype=np.float64)
    W_hh = np.asarray(W_hh, dtype=np.float64)
    if hs.ndim != 2 or W_hh.shape != (hs.shape[1], hs.shape[1]):
        raise ValueError("bad shapes")
    T, H = hs.shape[0] - 1, hs.shape[1]
    norms = np.ones(T + 1)
    product = np.eye(H)
    for k in range(T - 1, -1, -1):
        product = product @ (np.diag(1.0 - hs[k + 1] ** 2) @ W_hh.T)
        norms[k] = np.linalg.norm(product, 2)
    return norms
'''


def _edit(src: str, *edits: tuple[str, str]) -> str:
    """``src`` with some text replaced (each old text must occur exactly once)."""
    for old, new in edits:
        assert src.count(old) == 1, old
        src = src.replace(old, new)
    return src


# --------------------------------------------------------------------------- exercise 2
_RADIUS = '''
def with_spectral_radius(W, rho):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError("W must be square")
    if rho < 0:
        raise ValueError("rho >= 0")
    radius = np.abs(np.linalg.eigvals(W)).max()
    if radius == 0:
        raise ValueError("radius 0")
    return W * (rho / radius)
'''

# --------------------------------------------------------------------------- exercise 3
_DECAY = '''
def linear_gradient_decay(Ws, T):
    Ws = np.asarray(Ws, dtype=np.float64)
    if Ws.ndim != 3 or Ws.shape[1] != Ws.shape[2]:
        raise ValueError("Ws must be (R, H, H)")
    if T < 1:
        raise ValueError("T >= 1")
    R, H, _ = Ws.shape
    norms = np.ones((R, T + 1))
    rates = np.full(R, np.nan)
    for r in range(R):
        P = np.eye(H)
        for k in range(1, T + 1):
            P = P @ Ws[r]
            norms[r, k] = np.linalg.norm(P, 2)
        k = np.arange(1, T + 1)
        keep = norms[r, 1:] > 0
        if keep.sum() >= 2:
            rates[r] = np.exp(np.polyfit(k[keep], np.log(norms[r, 1:][keep]), 1)[0])
    return norms, rates
'''

# --------------------------------------------------------------------------- exercise 4
_NORM = '''
def clip_grad_norm(parameters, max_norm, norm_type=2.0):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    p = float(norm_type)
    if p == math.inf:
        total = torch.stack([g.abs().max() for g in grads]).max()
    else:
        total = torch.stack([torch.linalg.vector_norm(g, p) for g in grads]).norm(p)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g.mul_(coef)
    return total
'''

# --------------------------------------------------------------------------- exercise 5
_VALUE = '''
def clip_grad_value(parameters, clip_value):
    if clip_value < 0:
        raise ValueError("clip_value >= 0")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(-clip_value, clip_value)
'''

# --------------------------------------------------------------------------- exercise 6
_INIT = '''
def init_for_memory(rnn, scheme, generator=None):
    if scheme not in ("orthogonal", "identity"):
        raise ValueError("unknown scheme")
    with torch.no_grad():
        if scheme == "orthogonal":
            torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)
        else:
            torch.nn.init.eye_(rnn.weight_hh_l0)
            rnn.bias_ih_l0.zero_()
            rnn.bias_hh_l0.zero_()
            torch.nn.init.normal_(rnn.weight_ih_l0, 0.0, 0.001, generator=generator)
'''

BUGS = {
    "jacobian_untransposed": ("jacobian_norms", _edit(_JAC, ("@ W_hh.T)", "@ W_hh)"))),
    "radius_by_singular_value": ("with_spectral_radius", _edit(
        _RADIUS, ("np.abs(np.linalg.eigvals(W)).max()", "np.linalg.norm(W, 2)"))),
    "decay_fit_from_k0": ("linear_gradient_decay", _edit(
        _DECAY, ("        k = np.arange(1, T + 1)\n        keep = norms[r, 1:] > 0\n",
                 "        k = np.arange(0, T + 1)\n        keep = norms[r] > 0\n"),
        ("np.log(norms[r, 1:][keep])", "np.log(norms[r][keep])"))),
    "norm_per_parameter": ("clip_grad_norm", '''
def clip_grad_norm(parameters, max_norm, norm_type=2.0):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    norms = []
    for p in parameters:
        if p.grad is None:
            continue
        n = torch.linalg.vector_norm(p.grad, float(norm_type))
        norms.append(n)
        coef = max_norm / (n + 1e-6)
        if coef < 1:
            p.grad.mul_(coef)
    if not norms:
        return torch.tensor(0.0)
    return torch.linalg.vector_norm(torch.stack(norms), float(norm_type))
'''),
    "value_not_in_place": ("clip_grad_value", _edit(
        _VALUE, ("p.grad.clamp_(-clip_value, clip_value)", "p.grad = torch.clamp(p.grad, -clip_value, clip_value)"))),
    "init_orthogonal_zeroes_biases": ("init_for_memory", _edit(
        _INIT, ("            torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)\n",
                "            torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)\n"
                "            rnn.bias_ih_l0.zero_()\n            rnn.bias_hh_l0.zero_()\n"))),
}

MORE_BUGS = {
    # exercise 1
    "jacobian_wrong_order": ("jacobian_norms", _edit(
        _JAC, ("product = product @ (np.diag(1.0 - hs[k + 1] ** 2) @ W_hh.T)",
               "product = (np.diag(1.0 - hs[k + 1] ** 2) @ W_hh.T) @ product"))),
    "jacobian_uses_h_k": ("jacobian_norms", _edit(_JAC, ("hs[k + 1] ** 2", "hs[k] ** 2"))),
    "jacobian_float32": ("jacobian_norms", _edit(_JAC, ("    return norms\n", "    return norms.astype(np.float32)\n"))),
    "jacobian_mutates_hs": ("jacobian_norms", _edit(
        _JAC, ("    hs = np.asarray(hs, dtype=np.float64)\n", "    hs = np.asarray(hs)\n    hs **= 2\n"),
        ("1.0 - hs[k + 1] ** 2", "1.0 - hs[k + 1]"))),
    "jacobian_no_shape_checks": ("jacobian_norms", _edit(
        _JAC, ("    if hs.ndim != 2 or W_hh.shape != (hs.shape[1], hs.shape[1]):\n        raise ValueError(\"bad shapes\")\n",
               ""))),
    # exercise 2
    "radius_real_part": ("with_spectral_radius", _edit(
        _RADIUS, ("np.abs(np.linalg.eigvals(W)).max()", "np.abs(np.linalg.eigvals(W).real).max()"))),
    "radius_mutates_W": ("with_spectral_radius", _edit(
        _RADIUS, ("    W = np.asarray(W, dtype=np.float64)\n", "    W = np.asarray(W, dtype=np.float64)\n"
                                                           "    W_in = W\n"),
        ("    return W * (rho / radius)\n", "    W_in *= rho / radius\n    return np.array(W_in, dtype=np.float64)\n"))),
    "radius_rejects_zero_rho": ("with_spectral_radius", _edit(_RADIUS, ("if rho < 0:", "if rho <= 0:"))),
    "radius_no_zero_check": ("with_spectral_radius", _edit(
        _RADIUS, ("    if radius == 0:\n        raise ValueError(\"radius 0\")\n", ""))),
    "radius_float32": ("with_spectral_radius", _edit(
        _RADIUS, ("    return W * (rho / radius)\n", "    return (W * (rho / radius)).astype(np.float32)\n"))),
    # exercise 3
    "decay_keeps_zero_norms": ("linear_gradient_decay", _edit(
        _DECAY, ("        keep = norms[r, 1:] > 0\n", "        keep = norms[r, 1:] >= 0\n"))),
    "decay_rate_is_slope": ("linear_gradient_decay", _edit(
        _DECAY, ("rates[r] = np.exp(np.polyfit(", "rates[r] = (np.polyfit("))),
    "decay_accepts_T0": ("linear_gradient_decay", _edit(
        _DECAY, ("    if T < 1:\n        raise ValueError(\"T >= 1\")\n", ""))),
    "decay_mutates_Ws": ("linear_gradient_decay", _edit(
        _DECAY, ("        P = np.eye(H)\n        for k in range(1, T + 1):\n            P = P @ Ws[r]\n",
                 "        W0 = Ws[r].copy()\n        P = Ws[r]                 # a view into Ws\n"
                 "        for k in range(1, T + 1):\n            if k > 1:\n                P[...] = P @ W0\n"))),
    # exercise 4
    "norm_returns_after_clipping": ("clip_grad_norm", _edit(
        _NORM, ("    return total\n", "    return torch.stack([torch.linalg.vector_norm(g, p) for g in grads]).norm(p) "
                                       "if p != math.inf else torch.stack([g.abs().max() for g in grads]).max()\n"))),
    "norm_iterates_twice": ("clip_grad_norm", '''
def clip_grad_norm(parameters, max_norm, norm_type=2.0):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    p = float(norm_type)
    norms = [torch.linalg.vector_norm(q.grad, p) for q in parameters if q.grad is not None]
    if not norms:
        return torch.tensor(0.0)
    total = torch.stack(norms).max() if p == math.inf else torch.stack(norms).norm(p)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for q in parameters:
            if q.grad is not None:
                q.grad.mul_(coef)
    return total
'''),
    "norm_grad_none_crash": ("clip_grad_norm", _edit(
        _NORM, ("grads = [p.grad for p in parameters if p.grad is not None]", "grads = [p.grad for p in parameters]"))),
    "norm_inf_as_power": ("clip_grad_norm", _edit(
        _NORM, ("    if p == math.inf:\n        total = torch.stack([g.abs().max() for g in grads]).max()\n    else:\n"
                "        total = torch.stack([torch.linalg.vector_norm(g, p) for g in grads]).norm(p)\n",
                "    total = (torch.cat([g.reshape(-1) for g in grads]).abs() ** p).sum() ** (1.0 / p)\n"))),
    "norm_no_eps": ("clip_grad_norm", _edit(_NORM, ("max_norm / (total + 1e-6)", "max_norm / total"))),
    "norm_returns_float": ("clip_grad_norm", _edit(_NORM, ("    return total\n", "    return float(total)\n"))),
    "norm_always_scales": ("clip_grad_norm", _edit(_NORM, ("        for g in grads:\n            g.mul_(coef)\n",
                                                          "        pass\n    for g in grads:\n        g.mul_(coef)\n"))),
    "norm_new_tensors": ("clip_grad_norm", _edit(
        _NORM, ("    grads = [p.grad for p in parameters if p.grad is not None]\n",
                "    params = [p for p in parameters if p.grad is not None]\n    grads = [p.grad for p in params]\n"),
        ("        for g in grads:\n            g.mul_(coef)\n", "        for q in params:\n            q.grad = q.grad * coef\n"))),
    "norm_single_tensor_iterated": ("clip_grad_norm", _edit(
        _NORM, ("    if isinstance(parameters, torch.Tensor):\n        parameters = [parameters]\n", ""))),
    "norm_float64_total": ("clip_grad_norm", _edit(_NORM, ("    return total\n", "    return total.double()\n"))),
    # exercise 5
    "value_result_discarded": ("clip_grad_value", _edit(
        _VALUE, ("p.grad.clamp_(-clip_value, clip_value)", "g = p.grad.clamp(-clip_value, clip_value)"))),
    "value_no_error": ("clip_grad_value", _edit(
        _VALUE, ("    if clip_value < 0:\n        raise ValueError(\"clip_value >= 0\")\n", ""))),
    "value_iterates_twice": ("clip_grad_value", _edit(
        _VALUE, ("    for p in parameters:\n", "    if all(p.grad is None for p in parameters):\n        return None\n"
                                               "    for p in parameters:\n"))),
    "value_grad_none_crash": ("clip_grad_value", _edit(_VALUE, ("        if p.grad is not None:\n            p.grad",
                                                                "        if True:\n            p.grad"))),
    "value_upper_only": ("clip_grad_value", _edit(_VALUE, ("p.grad.clamp_(-clip_value, clip_value)",
                                                           "p.grad.clamp_(max=clip_value)"))),
    # exercise 6
    "init_ignores_generator": ("init_for_memory", _edit(
        _INIT, ("torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)",
                "torch.nn.init.orthogonal_(rnn.weight_hh_l0)"))),
    "init_identity_keeps_biases": ("init_for_memory", _edit(
        _INIT, ("            rnn.bias_ih_l0.zero_()\n            rnn.bias_hh_l0.zero_()\n", ""))),
    "init_identity_std_0.01": ("init_for_memory", _edit(_INIT, ("0.0, 0.001, generator", "0.0, 0.01, generator"))),
    "init_orthogonal_not_orthogonal": ("init_for_memory", _edit(
        _INIT, ("torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)",
                "torch.nn.init.normal_(rnn.weight_hh_l0, 0.0, 1.0 / rnn.hidden_size ** 0.5, generator=generator)"))),
    "init_unknown_scheme_silent": ("init_for_memory", _edit(
        _INIT, ("    if scheme not in (\"orthogonal\", \"identity\"):\n        raise ValueError(\"unknown scheme\")\n", ""))),
    "init_identity_ignores_generator": ("init_for_memory", _edit(
        _INIT, ("torch.nn.init.normal_(rnn.weight_ih_l0, 0.0, 0.001, generator=generator)",
                "torch.nn.init.normal_(rnn.weight_ih_l0, 0.0, 0.001)"))),
    "init_replaces_with_float64": ("init_for_memory", _edit(
        _INIT, ("            torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)\n",
                "            q = torch.linalg.qr(torch.randn(rnn.hidden_size, rnn.hidden_size, generator=generator,"
                " dtype=torch.float64))[0]\n            rnn.weight_hh_l0 = torch.nn.Parameter(q)\n"))),
    "init_none_makes_fresh_generator": ("init_for_memory", _edit(
        _INIT, ("    with torch.no_grad():\n", "    generator = generator or torch.Generator()\n    with torch.no_grad():\n"))),
}

ALTERNATIVES = {
    "jacobian_transposed_product": ("jacobian_norms", '''
def jacobian_norms(hs, W_hh):
    # the transpose of dh_T/dh_k (same singular values), built as W diag(d) products
    hs, W = np.asarray(hs, dtype=float), np.asarray(W_hh, dtype=float)
    if hs.ndim != 2 or W.ndim != 2 or W.shape != (hs.shape[1],) * 2:
        raise ValueError("shapes")
    T = len(hs) - 1
    M = np.eye(W.shape[0])
    out = [1.0]
    for t in range(T, 0, -1):
        M = (W * (1 - hs[t] ** 2)) @ M          # (diag(d) W^T)^T = W diag(d), on the left
        out.append(np.linalg.norm(M, ord=2))
    return np.array(out[::-1], dtype=np.float64)
'''),
    "radius_via_abs_eigs": ("with_spectral_radius", '''
def with_spectral_radius(W, rho):
    W = np.array(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError("square W only")
    if rho < 0:
        raise ValueError("rho must be >= 0")
    lam = np.linalg.eigvals(W)
    r = float(np.sqrt((lam.real ** 2 + lam.imag ** 2).max()))
    if r == 0.0:
        raise ValueError("radius 0")
    return (rho / r) * W
'''),
    "decay_matrix_power_lstsq": ("linear_gradient_decay", '''
def linear_gradient_decay(Ws, T):
    Ws = np.asarray(Ws, dtype=float)
    if Ws.ndim != 3 or Ws.shape[-1] != Ws.shape[-2]:
        raise ValueError("Ws (R, H, H)")
    if T < 1:
        raise ValueError("T >= 1")
    norms = np.array([[np.linalg.svd(np.linalg.matrix_power(W, k), compute_uv=False).max() for k in range(T + 1)]
                      for W in Ws]).reshape(len(Ws), T + 1)
    rates = np.empty(len(Ws))
    for r in range(len(Ws)):
        k = np.arange(1, T + 1)[norms[r, 1:] > 0]
        if k.size < 2:
            rates[r] = np.nan
            continue
        A = np.stack([k, np.ones_like(k)], axis=1).astype(float)
        slope, _ = np.linalg.lstsq(A, np.log(norms[r, k]), rcond=None)[0]
        rates[r] = math.exp(slope)
    return norms, rates
'''),
    "norm_clamped_coefficient": ("clip_grad_norm", '''
def clip_grad_norm(parameters, max_norm, norm_type=2.0):
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if len(grads) == 0:
        return torch.tensor(0.0)
    if math.isinf(norm_type):
        total = max(g.detach().abs().max() for g in grads)
    else:
        total = sum((g.detach().abs() ** norm_type).sum() for g in grads) ** (1.0 / norm_type)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)     # torch's way: multiply by at most 1
    for g in grads:
        g.detach().mul_(coef)
    return total
'''),
    "value_clamp_out": ("clip_grad_value", '''
def clip_grad_value(parameters, clip_value):
    if not clip_value >= 0:
        raise ValueError("clip_value must be >= 0")
    params = [parameters] if torch.is_tensor(parameters) else parameters
    for p in params:
        g = p.grad
        if g is None:
            continue
        torch.clamp(g, min=-clip_value, max=clip_value, out=g)
'''),
    "init_torch_helpers": ("init_for_memory", _INIT),
}
