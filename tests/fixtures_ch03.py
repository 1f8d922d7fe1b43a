"""Planted bugs and correct alternatives for chapter 3's exercises.

Chapter 3 has several typical mistakes per answer cell, so the tables are keyed by a
label and each entry is ``(answer cell, source)``:

* ``BUGS``: plausible student mistakes, at most two per answer cell. Grading a submission
  with one must cost exactly that exercise's points (tests/test_grading.py);
* ``MORE_BUGS``: further mistakes that the checks must catch in-process
  (tests/test_checks_ch03.py) but that the grading round trip leaves out to stay short;
* ``ALTERNATIVES``: correct solutions written differently from the reference; they must
  pass.

Sources run in the notebook's namespace (np, torch, F, rnn_step, rnn_forward).
"""

_TBPTT_HEAD = '''
def train_tbptt(params, ids, vocab_size, k, steps, lr, batch_size=16, optimizer="adam"):
    if k < 1 or steps < 0 or batch_size < 1:
        raise ValueError("bad sizes")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError("bad id")
    if optimizer not in ("adam", "adagrad"):
        raise ValueError("bad optimizer")
    n = (len(ids) - 1) // batch_size
    C = n // k
    if C < 1:
        raise ValueError("too short")
    X = torch.from_numpy(ids[:batch_size * n].reshape(batch_size, n))
    Y = torch.from_numpy(ids[1:batch_size * n + 1].reshape(batch_size, n))
    p = {m: torch.tensor(np.asarray(params[m], dtype=np.float64), requires_grad=True)
         for m in ("W_xh", "W_hh", "b_h", "W_hy", "b_y")}
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.Adagrad)(list(p.values()), lr=lr)
    losses = np.zeros(steps)
    h = torch.zeros(batch_size, p["W_hh"].shape[0], dtype=torch.float64)
'''

# the loop of a correct train_tbptt, after _TBPTT_HEAD
_TBPTT_LOOP = '''
    for i in range(steps):
        c = i % C
        if c == 0:
            h = torch.zeros_like(h)
        h = h.detach()
        out = []
        for t in range(c * k, (c + 1) * k):
            h = torch.tanh(p["W_xh"][X[:, t]] + h @ p["W_hh"] + p["b_h"])
            out.append(h @ p["W_hy"] + p["b_y"])
        loss = F.cross_entropy(torch.stack(out, 1).reshape(-1, vocab_size), Y[:, c * k:(c + 1) * k].reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        losses[i] = loss.item()
    return {m: v.detach().numpy().copy() for m, v in p.items()}, losses
'''
_TBPTT = _TBPTT_HEAD + _TBPTT_LOOP


def _tbptt_with(*edits: tuple[str, str]) -> str:
    """The correct train_tbptt above with some lines replaced (each old text must occur once)."""
    src = _TBPTT
    for old, new in edits:
        assert src.count(old) == 1, old
        src = src.replace(old, new)
    return src


# a correct grad_check (the notebook's method), for bugs that change one thing in it
_GRAD_CHECK = '''
def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    vals = {k: np.array(params[k], dtype=float) for k in ("W_xh", "W_hh", "b_h")}
    vals["h0"] = np.array(h0, dtype=float)
    f = lambda: np.sum(rnn_forward(xs, vals["h0"], vals["W_xh"], vals["W_hh"], vals["b_h"]) * dhs)
    num, rel = {}, {}
    for k in ("W_xh", "W_hh", "b_h", "h0"):
        g = np.zeros(vals[k].shape)
        for i in np.ndindex(g.shape):
            old = vals[k][i]
            vals[k][i] = old + eps; up = f()
            vals[k][i] = old - eps; down = f()
            vals[k][i] = old
            g[i] = (up - down) / (2 * eps)
        a = np.asarray(analytic[k], dtype=float)
        den = np.maximum(np.abs(a), np.abs(g))
        num[k] = g
        rel[k] = np.where(den > 0, np.abs(a - g) / np.where(den > 0, den, 1), 0.0)
    return num, rel
'''

BUGS = {
    # the derivative of tanh written as 1 - h instead of 1 - h^2
    "tanh_derivative": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    da = dh * (1 - h)
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(0)
'''),
    # forgets the bias: returns zeros for db_h
    "no_bias_gradient": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    da = dh * (1 - h ** 2)
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, np.zeros(W_hh.shape[0])
'''),
    # the initial state gets no gradient (the last dh_next is thrown away)
    "no_h0_gradient": ("rnn_backward", '''
def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    B, T, H = hs.shape
    dxs = np.zeros(xs.shape)
    dW_xh, dW_hh, db_h = np.zeros(W_xh.shape), np.zeros(W_hh.shape), np.zeros(H)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dxs[:, t] = da @ W_xh.T
        dW_xh += xs[:, t].T @ da
        dW_hh += h_prev.T @ da
        db_h += da.sum(0)
        dh_next = da @ W_hh.T
    return dxs, np.zeros((B, H)), dW_xh, dW_hh, db_h
'''),
    # the weight gradients are overwritten at every step instead of summed over time
    "not_summed_over_time": ("rnn_backward", '''
def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    B, T, H = hs.shape
    dxs = np.zeros(xs.shape)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dxs[:, t] = da @ W_xh.T
        dW_xh = xs[:, t].T @ da
        dW_hh = h_prev.T @ da
        db_h = da.sum(0)
        dh_next = da @ W_hh.T
    return dxs, dh_next, dW_xh, dW_hh, db_h
'''),
    # relative error divided by |a| + |n| (another formula than the one asked for)
    "relative_error_formula": ("grad_check", '''
def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    vals = {k: np.array(params[k], dtype=float) for k in ("W_xh", "W_hh", "b_h")}
    vals["h0"] = np.array(h0, dtype=float)
    f = lambda: np.sum(rnn_forward(xs, vals["h0"], vals["W_xh"], vals["W_hh"], vals["b_h"]) * dhs)
    num, rel = {}, {}
    for k in ("W_xh", "W_hh", "b_h", "h0"):
        g = np.zeros(vals[k].shape)
        for i in np.ndindex(g.shape):
            old = vals[k][i]
            vals[k][i] = old + eps; up = f()
            vals[k][i] = old - eps; down = f()
            vals[k][i] = old
            g[i] = (up - down) / (2 * eps)
        a = analytic[k]
        num[k] = g
        rel[k] = np.abs(a - g) / np.maximum(np.abs(a) + np.abs(g), 1e-300)
    return num, rel
'''),
    # a forward difference: error of order eps instead of eps^2
    "one_sided_difference": ("grad_check", '''
def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    vals = {k: np.array(params[k], dtype=float) for k in ("W_xh", "W_hh", "b_h")}
    vals["h0"] = np.array(h0, dtype=float)
    f = lambda: np.sum(rnn_forward(xs, vals["h0"], vals["W_xh"], vals["W_hh"], vals["b_h"]) * dhs)
    base = f()
    num, rel = {}, {}
    for k in ("W_xh", "W_hh", "b_h", "h0"):
        g = np.zeros(vals[k].shape)
        for i in np.ndindex(g.shape):
            old = vals[k][i]
            vals[k][i] = old + eps; up = f()
            vals[k][i] = old
            g[i] = (up - base) / eps
        a = np.asarray(analytic[k], dtype=float)
        den = np.maximum(np.abs(a), np.abs(g))
        num[k] = g
        rel[k] = np.where(den > 0, np.abs(a - g) / np.where(den > 0, den, 1), 0.0)
    return num, rel
'''),
    # differentiates sum(hs) instead of sum(hs * dhs)
    "autograd_unweighted": ("autograd_gradients", '''
def autograd_gradients(params, xs, h0, dhs):
    t = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
         for k, v in [("W_xh", params["W_xh"]), ("W_hh", params["W_hh"]), ("b_h", params["b_h"]),
                      ("h0", h0), ("xs", xs)]}
    h, out = t["h0"], []
    for s in range(xs.shape[1]):
        h = torch.tanh(t["xs"][:, s] @ t["W_xh"] + h @ t["W_hh"] + t["b_h"])
        out.append(h)
    torch.stack(out, 1).sum().backward()
    return {k: v.grad.numpy() for k, v in t.items()}
'''),
    # computes in float32: about 7 significant digits, not the 15 of the numpy code
    "autograd_float32": ("autograd_gradients", '''
def autograd_gradients(params, xs, h0, dhs):
    t = {k: torch.tensor(np.asarray(v), dtype=torch.float32, requires_grad=True)
         for k, v in [("W_xh", params["W_xh"]), ("W_hh", params["W_hh"]), ("b_h", params["b_h"]),
                      ("h0", h0), ("xs", xs)]}
    h, out = t["h0"], []
    for s in range(xs.shape[1]):
        h = torch.tanh(t["xs"][:, s] @ t["W_xh"] + h @ t["W_hh"] + t["b_h"])
        out.append(h)
    (torch.stack(out, 1) * torch.tensor(dhs, dtype=torch.float32)).sum().backward()
    return {k: v.grad.double().numpy() for k, v in t.items()}
'''),
    # starts every chunk from a zero state: nothing is carried across chunks
    "tbptt_no_carry": ("train_tbptt", '''
def train_tbptt(params, ids, vocab_size, k, steps, lr, batch_size=16, optimizer="adam"):
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError("bad id")
    if optimizer not in ("adam", "adagrad"):
        raise ValueError("bad optimizer")
    n = (len(ids) - 1) // batch_size
    C = n // k
    if C < 1:
        raise ValueError("too short")
    X = torch.from_numpy(ids[:batch_size * n].reshape(batch_size, n))
    Y = torch.from_numpy(ids[1:batch_size * n + 1].reshape(batch_size, n))
    p = {m: torch.tensor(np.asarray(params[m], dtype=np.float64), requires_grad=True)
         for m in ("W_xh", "W_hh", "b_h", "W_hy", "b_y")}
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.Adagrad)(list(p.values()), lr=lr)
    losses = np.zeros(steps)
    for i in range(steps):
        c = i % C
        h = torch.zeros(batch_size, p["W_hh"].shape[0], dtype=torch.float64)
        out = []
        for t in range(c * k, (c + 1) * k):
            h = torch.tanh(p["W_xh"][X[:, t]] + h @ p["W_hh"] + p["b_h"])
            out.append(h @ p["W_hy"] + p["b_y"])
        loss = F.cross_entropy(torch.stack(out, 1).reshape(-1, vocab_size), Y[:, c * k:(c + 1) * k].reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        losses[i] = loss.item()
    return {m: v.detach().numpy().copy() for m, v in p.items()}, losses
'''),
    # no detach: the carried state keeps the graph of every earlier chunk, and the usual
    # "fix" of the first error, retain_graph=True, makes backward reach back through the whole
    # history, into weights the optimiser has since changed in place, where it fails
    "tbptt_no_detach": ("train_tbptt", _TBPTT_HEAD + '''
    for i in range(steps):
        c = i % C
        if c == 0:
            h = torch.zeros_like(h)
        out = []
        for t in range(c * k, (c + 1) * k):
            h = torch.tanh(p["W_xh"][X[:, t]] + h @ p["W_hh"] + p["b_h"])
            out.append(h @ p["W_hy"] + p["b_y"])
        loss = F.cross_entropy(torch.stack(out, 1).reshape(-1, vocab_size), Y[:, c * k:(c + 1) * k].reshape(-1))
        opt.zero_grad(); loss.backward(retain_graph=True); opt.step()
        losses[i] = loss.item()
    return {m: v.detach().numpy().copy() for m, v in p.items()}, losses
'''),
}


MORE_BUGS = {
    # drops the recursive term: the gradient never flows from h_t back to h_{t-1}
    "no_recursive_term": ("rnn_backward", '''
def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    B, T, H = hs.shape
    dxs = np.zeros(xs.shape)
    dW_xh, dW_hh, db_h = np.zeros(W_xh.shape), np.zeros(W_hh.shape), np.zeros(H)
    dh0 = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = dhs[:, t] * (1 - hs[:, t] ** 2)
        dxs[:, t] = da @ W_xh.T
        dW_xh += xs[:, t].T @ da
        dW_hh += h_prev.T @ da
        db_h += da.sum(0)
        if t == 0:
            dh0 = da @ W_hh.T
    return dxs, dh0, dW_xh, dW_hh, db_h
'''),
    # the bias gradient of the whole sequence is left out (only the weights are summed)
    "rnn_backward_no_bias": ("rnn_backward", '''
def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    B, T, H = hs.shape
    dxs = np.zeros(xs.shape)
    dW_xh, dW_hh = np.zeros(W_xh.shape), np.zeros(W_hh.shape)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dxs[:, t] = da @ W_xh.T
        dW_xh += xs[:, t].T @ da
        dW_hh += h_prev.T @ da
        dh_next = da @ W_hh.T
    return dxs, dh_next, dW_xh, dW_hh, np.zeros(H)
'''),
    # uses the derivative of tanh at the pre-activation wrongly: 1 - tanh(h)^2
    "tanh_of_h": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    da = dh * (1 - np.tanh(h) ** 2)
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(0)
'''),
    # averages the bias gradient over the batch instead of summing it
    "bias_mean_over_batch": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    da = dh * (1 - h ** 2)
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.mean(0)
'''),
    # absolute instead of relative error
    "absolute_error": ("grad_check", '''
def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    vals = {k: np.array(params[k], dtype=float) for k in ("W_xh", "W_hh", "b_h")}
    vals["h0"] = np.array(h0, dtype=float)
    f = lambda: np.sum(rnn_forward(xs, vals["h0"], vals["W_xh"], vals["W_hh"], vals["b_h"]) * dhs)
    num, rel = {}, {}
    for k in ("W_xh", "W_hh", "b_h", "h0"):
        g = np.zeros(vals[k].shape)
        for i in np.ndindex(g.shape):
            old = vals[k][i]
            vals[k][i] = old + eps; up = f()
            vals[k][i] = old - eps; down = f()
            vals[k][i] = old
            g[i] = (up - down) / (2 * eps)
        num[k] = g
        rel[k] = np.abs(analytic[k] - g)
    return num, rel
'''),
    # moves the caller's arrays and never puts them back
    "grad_check_mutates": ("grad_check", '''
def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    vals = dict(params, h0=h0)
    f = lambda: np.sum(rnn_forward(xs, vals["h0"], vals["W_xh"], vals["W_hh"], vals["b_h"]) * dhs)
    num, rel = {}, {}
    for k in ("W_xh", "W_hh", "b_h", "h0"):
        g = np.zeros(vals[k].shape)
        for i in np.ndindex(g.shape):
            old = vals[k][i]
            vals[k][i] = old + eps; up = f()
            vals[k][i] = old - eps; down = f()
            g[i] = (up - down) / (2 * eps)
        a = np.asarray(analytic[k], dtype=float)
        den = np.maximum(np.abs(a), np.abs(g))
        num[k] = g
        rel[k] = np.where(den > 0, np.abs(a - g) / np.where(den > 0, den, 1), 0.0)
    return num, rel
'''),
    # sums the loss over the chunk instead of averaging (k * B times larger gradients)
    "tbptt_sum_loss": ("train_tbptt", _TBPTT_HEAD + '''
    for i in range(steps):
        c = i % C
        if c == 0:
            h = torch.zeros_like(h)
        h = h.detach()
        out = []
        for t in range(c * k, (c + 1) * k):
            h = torch.tanh(p["W_xh"][X[:, t]] + h @ p["W_hh"] + p["b_h"])
            out.append(h @ p["W_hy"] + p["b_y"])
        loss = F.cross_entropy(torch.stack(out, 1).reshape(-1, vocab_size), Y[:, c * k:(c + 1) * k].reshape(-1),
                               reduction="sum")
        opt.zero_grad(); loss.backward(); opt.step()
        losses[i] = loss.item()
    return {m: v.detach().numpy().copy() for m, v in p.items()}, losses
'''),
    # never resets the state at the start of a new pass over the text
    "tbptt_no_reset": ("train_tbptt", _TBPTT_HEAD + '''
    for i in range(steps):
        c = i % C
        h = h.detach()
        out = []
        for t in range(c * k, (c + 1) * k):
            h = torch.tanh(p["W_xh"][X[:, t]] + h @ p["W_hh"] + p["b_h"])
            out.append(h @ p["W_hy"] + p["b_y"])
        loss = F.cross_entropy(torch.stack(out, 1).reshape(-1, vocab_size), Y[:, c * k:(c + 1) * k].reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        losses[i] = loss.item()
    return {m: v.detach().numpy().copy() for m, v in p.items()}, losses
'''),
    # never cuts the gradient: every update backpropagates through the whole pass so far
    # (the forward of earlier chunks is recomputed with the current weights, so it runs)
    "tbptt_whole_history": ("train_tbptt", '''
def train_tbptt(params, ids, vocab_size, k, steps, lr, batch_size=16, optimizer="adam"):
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError("bad id")
    if optimizer not in ("adam", "adagrad"):
        raise ValueError("bad optimizer")
    n = (len(ids) - 1) // batch_size
    C = n // k
    if C < 1:
        raise ValueError("too short")
    X = torch.from_numpy(ids[:batch_size * n].reshape(batch_size, n))
    Y = torch.from_numpy(ids[1:batch_size * n + 1].reshape(batch_size, n))
    p = {m: torch.tensor(np.asarray(params[m], dtype=np.float64), requires_grad=True)
         for m in ("W_xh", "W_hh", "b_h", "W_hy", "b_y")}
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.Adagrad)(list(p.values()), lr=lr)
    losses = np.zeros(steps)
    for i in range(steps):
        c = i % C
        h = torch.zeros(batch_size, p["W_hh"].shape[0], dtype=torch.float64)
        out = []
        for t in range((c + 1) * k):        # from the start of the pass, graph and all
            h = torch.tanh(p["W_xh"][X[:, t]] + h @ p["W_hh"] + p["b_h"])
            if t >= c * k:
                out.append(h @ p["W_hy"] + p["b_y"])
        loss = F.cross_entropy(torch.stack(out, 1).reshape(-1, vocab_size), Y[:, c * k:(c + 1) * k].reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        losses[i] = loss.item()
    return {m: v.detach().numpy().copy() for m, v in p.items()}, losses
'''),
    # --- promises of the docstrings that the checks enforce since issue 9
    # computes in float32 "to be fast": the docstring promises float64 gradients
    "step_float32": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dh, x, h_prev, h, W_xh, W_hh = (np.asarray(a, dtype=np.float32) for a in (dh, x, h_prev, h, W_xh, W_hh))
    da = dh * (1 - h ** 2)
    return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(0)
'''),
    # multiplies dh by tanh' in place: the caller's dh is overwritten with da
    "step_mutates_dh": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dh *= 1 - h ** 2
    return dh @ W_xh.T, dh @ W_hh.T, x.T @ dh, h_prev.T @ dh, dh.sum(0)
'''),
    # adds the recursive term into the caller's dhs instead of a new array
    "backward_mutates_dhs": ("rnn_backward", '''
def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    B, T, H = hs.shape
    dxs = np.zeros(xs.shape)
    dW_xh, dW_hh, db_h = np.zeros(W_xh.shape), np.zeros(W_hh.shape), np.zeros(H)
    dh_next = np.zeros((B, H))
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dhs[:, t] += dh_next
        da = dhs[:, t] * (1 - hs[:, t] ** 2)
        dxs[:, t] = da @ W_xh.T
        dW_xh += xs[:, t].T @ da
        dW_hh += h_prev.T @ da
        db_h += da.sum(0)
        dh_next = da @ W_hh.T
    return dxs, dh_next, dW_xh, dW_hh, db_h
'''),
    # another default step than the 1e-5 the docstring states
    "grad_check_default_eps": ("grad_check", _GRAD_CHECK.replace("eps=1e-5)", "eps=1e-4)")),
    # ignores the eps it is given: always steps by 1e-5
    "grad_check_ignores_eps": ("grad_check", _GRAD_CHECK.replace(
        "    num, rel = {}, {}\n", "    num, rel = {}, {}\n    step = 1e-5\n").replace(
        "old + eps; up", "old + step; up").replace("old - eps; down", "old - step; down").replace(
        "/ (2 * eps)", "/ (2 * step)")),
    # returns the .grad tensors themselves, not numpy arrays
    "autograd_returns_tensors": ("autograd_gradients", '''
def autograd_gradients(params, xs, h0, dhs):
    t = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
         for k, v in [("W_xh", params["W_xh"]), ("W_hh", params["W_hh"]), ("b_h", params["b_h"]),
                      ("h0", h0), ("xs", xs)]}
    h, out = t["h0"], []
    for s in range(xs.shape[1]):
        h = torch.tanh(t["xs"][:, s] @ t["W_xh"] + h @ t["W_hh"] + t["b_h"])
        out.append(h)
    (torch.stack(out, 1) * torch.as_tensor(np.asarray(dhs, dtype=np.float64))).sum().backward()
    return {k: v.grad for k, v in t.items()}
'''),
    # torch.from_numpy shares memory: the optimiser's in-place steps write into the caller's params
    "tbptt_shares_params": ("train_tbptt", _tbptt_with(
        ("torch.tensor(np.asarray(params[m], dtype=np.float64), requires_grad=True)",
         "torch.from_numpy(np.asarray(params[m], dtype=np.float64)).requires_grad_()"))),
    # the losses kept in float32
    "tbptt_float32_losses": ("train_tbptt", _tbptt_with(
        ("losses = np.zeros(steps)", "losses = np.zeros(steps, dtype=np.float32)"))),
    # no check of k, steps, batch_size: k = 0 and batch_size = 0 divide by zero
    "tbptt_no_size_checks": ("train_tbptt", _tbptt_with(
        ('    if k < 1 or steps < 0 or batch_size < 1:\n        raise ValueError("bad sizes")\n', ""))),
    # steps = 0 rejected, though the docstring allows it
    "tbptt_rejects_zero_steps": ("train_tbptt", _tbptt_with(("steps < 0", "steps < 1"))),
    # only the upper bound of the ids checked: a -1 silently reads the last row of W_xh
    "tbptt_ids_upper_bound_only": ("train_tbptt", _tbptt_with(
        ("if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):", "if ids.size and ids.max() >= vocab_size:"))),
    # "too short" when the streams hold exactly one chunk (n == k)
    "tbptt_rejects_one_chunk": ("train_tbptt", _tbptt_with(("if C < 1:", "if n <= k:"))),
    # another default batch_size than the 16 of the docstring
    "tbptt_default_batch_32": ("train_tbptt", _tbptt_with(("batch_size=16,", "batch_size=32,"))),
    # from_numpy keeps the inputs' dtype: float32 inputs give float32 gradients (found by a blind round)
    "autograd_from_numpy": ("autograd_gradients", '''
def autograd_gradients(params, xs, h0, dhs):
    t = {k: torch.from_numpy(np.array(v)).requires_grad_()
         for k, v in [("W_xh", params["W_xh"]), ("W_hh", params["W_hh"]), ("b_h", params["b_h"]),
                      ("h0", h0), ("xs", xs)]}
    h, out = t["h0"], []
    for s in range(xs.shape[1]):
        h = torch.tanh(t["xs"][:, s] @ t["W_xh"] + h @ t["W_hh"] + t["b_h"])
        out.append(h)
    (torch.stack(out, 1) * torch.from_numpy(np.array(dhs))).sum().backward()
    return {k: v.grad.numpy() for k, v in t.items()}
'''),
    # clips the gradient norm at 5 although the docstring says nothing is clipped (found by a blind round)
    "tbptt_clips_at_5": ("train_tbptt", _TBPTT.replace(
        "opt.zero_grad(); loss.backward(); opt.step()",
        "opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(list(p.values()), 5.0); opt.step()")),
}

ALTERNATIVES = {
    # einsum, and the tanh derivative from the pre-activation recomputed
    "step_einsum": ("rnn_step_backward", '''
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    da = dh / np.cosh(np.arctanh(h)) ** 2
    return (np.einsum("bh,dh->bd", da, W_xh), np.einsum("bh,kh->bk", da, W_hh),
            np.einsum("bd,bh->dh", x, da), np.einsum("bk,bh->kh", h_prev, da), np.einsum("bh->h", da))
'''),
    # collect the da of every step, then one contraction per parameter
    "backward_stacked": ("rnn_backward", '''
def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    B, T, H = hs.shape
    das = [None] * T
    carry = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        das[t] = (dhs[:, t] + carry) * (1 - hs[:, t] ** 2)
        carry = das[t] @ W_hh.T
    das = np.stack(das, axis=1)
    prev = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1)
    flat = das.reshape(B * T, H)
    return (das @ W_xh.T, carry, xs.reshape(B * T, -1).T @ flat, prev.reshape(B * T, H).T @ flat,
            flat.sum(0))
'''),
    # a flat view of each array, and the relative error through np.divide
    "check_flat": ("grad_check", '''
def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    arrays = {"W_xh": np.array(params["W_xh"], float), "W_hh": np.array(params["W_hh"], float),
              "b_h": np.array(params["b_h"], float), "h0": np.array(h0, float)}
    def f():
        return float((rnn_forward(xs, arrays["h0"], arrays["W_xh"], arrays["W_hh"], arrays["b_h"]) * dhs).sum())
    numeric, rel = {}, {}
    for name, arr in arrays.items():
        flat = arr.reshape(-1)
        g = np.zeros(flat.size)
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + eps
            a = f()
            flat[j] = keep - eps
            b = f()
            flat[j] = keep
            g[j] = (a - b) / (2 * eps)
        g = g.reshape(arr.shape)
        an = np.asarray(analytic[name], float)
        den = np.maximum(np.abs(an), np.abs(g))
        numeric[name] = g
        rel[name] = np.divide(np.abs(an - g), den, out=np.zeros_like(g), where=den != 0)
    return numeric, rel
'''),
    # torch.func.vjp instead of .backward()
    "autograd_vjp": ("autograd_gradients", '''
def autograd_gradients(params, xs, h0, dhs):
    def forward(W_xh, W_hh, b_h, h0, xs):
        h, out = h0, []
        for t in range(xs.shape[1]):
            h = torch.tanh(xs[:, t] @ W_xh + h @ W_hh + b_h)
            out.append(h)
        return torch.stack(out, 1)
    args = [torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in
            (params["W_xh"], params["W_hh"], params["b_h"], h0, xs)]
    _, vjp = torch.func.vjp(forward, *args)
    grads = vjp(torch.as_tensor(np.asarray(dhs, dtype=np.float64)))
    return dict(zip(["W_xh", "W_hh", "b_h", "h0", "xs"], [g.numpy() for g in grads]))
'''),
    # one-hot inputs as a matrix product, an explicit log-softmax, nn.Parameter and zero_grad by hand
    "tbptt_onehot": ("train_tbptt", '''
def train_tbptt(params, ids, vocab_size, k, steps, lr, batch_size=16, optimizer="adam"):
    ids = np.asarray(ids)
    if min(k, batch_size) < 1 or steps < 0:
        raise ValueError(f"k = {k}, batch_size = {batch_size}, steps = {steps}")
    if optimizer not in {"adam", "adagrad"}:
        raise ValueError(optimizer)
    if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError("id out of range")
    B = batch_size
    n = (len(ids) - 1) // B
    if n < k or n <= 0:
        raise ValueError("text too short")
    C = n // k
    onehot = np.eye(vocab_size)[ids[:B * n]].reshape(B, n, vocab_size)
    X = torch.from_numpy(onehot)
    Y = torch.from_numpy(ids[1:B * n + 1].reshape(B, n).astype(np.int64))
    names = ["W_xh", "W_hh", "b_h", "W_hy", "b_y"]
    P = [torch.nn.Parameter(torch.from_numpy(np.array(params[m], dtype=np.float64))) for m in names]
    W_xh, W_hh, b_h, W_hy, b_y = P
    opt = torch.optim.Adam(P, lr=lr) if optimizer == "adam" else torch.optim.Adagrad(P, lr=lr)
    state = torch.zeros(B, W_hh.shape[0], dtype=torch.float64)
    losses = []
    for i in range(steps):
        c = i % C
        state = torch.zeros_like(state) if c == 0 else state.detach()
        total = 0
        for t in range(c * k, c * k + k):
            state = torch.tanh(X[:, t] @ W_xh + state @ W_hh + b_h)
            logp = torch.log_softmax(state @ W_hy + b_y, dim=-1)
            total = total - logp.gather(1, Y[:, t:t + 1]).sum()
        loss = total / (B * k)
        for q in P:
            q.grad = None
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {m: q.detach().numpy().copy() for m, q in zip(names, P)}, np.array(losses, dtype=np.float64)
'''),
}
