"""The course's fixed training and scoring loops for graded models.

The graders train a student's model class with exactly these loops, so that only the
class is graded, not training choices.  They work on plain arrays (ids, targets, masks,
labels) made by the grader, and they run where the student's model lives: in the student's
own process when checks run in a notebook, inside the sandbox when the autograder runs
them (``rnncourse.checks.core.produce``).  Nothing here knows an exercise's answer.
"""
from __future__ import annotations

import numpy as np


def fixed_adam_loop(model, n_items: int, batch_loss, *, steps: int, batch_size: int, lr: float, seed: int):
    """Adam, batches of item indices drawn by a seeded generator, gradient norm clipped
    at 1.  ``batch_loss(idx)`` returns the loss of the items ``idx``.  Returns the training
    losses, one per step."""
    import torch

    g = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(int(steps)):
        loss = batch_loss(torch.randint(0, n_items, (int(batch_size),), generator=g))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def train_char_lm(model, x, y, mask, *, steps: int, batch_size: int = 64, lr: float = 0.01, seed: int = 0,
                  device: str = "cpu") -> np.ndarray:
    """Train a character language model ``model(ids) -> (logits, h)`` on padded
    sequences: inputs ``x``, targets ``y`` and ``mask`` (all (N, L)).  Returns the losses."""
    import torch
    import torch.nn.functional as F

    x, y, m = (torch.as_tensor(np.asarray(a)) for a in (x, y, mask))

    def batch_loss(idx):
        xb, yb, mb = x[idx].to(device), y[idx].to(device), m[idx].to(device)
        L = int(mb.sum(1).max())
        logits, _ = model(xb[:, :L])
        return F.cross_entropy(logits[mb[:, :L]], yb[:, :L][mb[:, :L]])
    return np.array(fixed_adam_loop(model, len(x), batch_loss, steps=steps, batch_size=batch_size, lr=lr, seed=seed))


def char_lm_log_probs(model, x, device: str = "cpu", batch_size: int = 1024) -> np.ndarray:
    """Log-probabilities (N, L, V) float32 that ``model`` gives every next character of
    the padded inputs ``x`` (the grader scores them against targets it keeps)."""
    import torch

    x = torch.as_tensor(np.asarray(x))
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            logits, _ = model(x[s:s + batch_size].to(device))
            out.append(torch.log_softmax(logits.float(), -1).cpu().numpy())
    return np.concatenate(out)


def train_classifier(model, ids, lengths, labels, *, steps: int, batch_size: int = 64, lr: float = 0.005,
                     seed: int = 0, device: str = "cpu") -> np.ndarray:
    """Train ``model(ids, lengths) -> logits`` on padded lines with integer labels."""
    import torch
    import torch.nn.functional as F

    ids, lengths, labels = (torch.as_tensor(np.asarray(a)) for a in (ids, lengths, labels))

    def batch_loss(idx):
        lb = lengths[idx]
        logits = model(ids[idx, :int(lb.max())].to(device), lb.to(device))
        return F.cross_entropy(logits, labels[idx].to(device))
    return np.array(fixed_adam_loop(model, len(labels), batch_loss, steps=steps, batch_size=batch_size, lr=lr, seed=seed))


def classifier_logits(model, ids, lengths, device: str = "cpu", batch_size: int = 1024) -> np.ndarray:
    """Logits (N, C) float32 of ``model`` on padded lines (the grader keeps the labels)."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(lengths), batch_size):
            lb = torch.as_tensor(np.asarray(lengths[s:s + batch_size]))
            xb = torch.as_tensor(np.asarray(ids[s:s + batch_size, :int(lb.max())])).to(device)
            out.append(model(xb, lb.to(device)).float().cpu().numpy())
    return np.concatenate(out)


def construct(cls, seed: int, *args, device: str | None = None):
    """``cls(*args)`` with torch's global generator seeded first (so initial weights
    are the same at every regrade), moved to ``device``; must be an ``nn.Module``."""
    import torch

    torch.manual_seed(int(seed))
    model = cls(*args)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"must create a torch.nn.Module, got {type(model).__name__}")
    return model.to(device) if device else model


def tiny_fit(model, kind: str, inputs, targets, lengths=None, steps: int = 30, lr: float = 0.02):
    """``steps`` Adam steps on one fixed tiny batch; returns (first loss, final loss).
    ``kind`` is "lm" (``model(ids) -> (logits, h)``) or "classifier"."""
    import torch
    import torch.nn.functional as F

    inputs, targets = torch.as_tensor(np.asarray(inputs)), torch.as_tensor(np.asarray(targets))
    if lengths is not None:
        lengths = torch.as_tensor(np.asarray(lengths))

    def loss_fn():
        if kind == "lm":
            logits = model(inputs)[0]
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return F.cross_entropy(model(inputs, lengths), targets)

    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(int(steps)):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    return first, float(loss_fn().detach())


# --------------------------------------------------------------------------- chapter 4
def _leaves(values, grads):
    """Leaf tensors with the given values, each with ``.grad`` set from ``grads`` (None: no
    gradient).  Tensors keep the arrays' dtypes (float32 or float64)."""
    import torch

    params = []
    for v, g in zip(values, grads):
        p = torch.from_numpy(np.array(v, copy=True)).requires_grad_(True)
        if g is not None:
            p.grad = torch.from_numpy(np.array(g, copy=True))
        params.append(p)
    return params


def apply_to_grads(fn, values, grads, *args, form: str = "list"):
    """Call ``fn(parameters, *args)`` on parameters that carry gradients, where ``fn`` lives.

    ``values`` and ``grads`` are lists of arrays (an entry of ``grads`` may be None: that
    parameter has no gradient).  ``form`` is how the parameters are handed over: ``"list"``,
    ``"generator"`` (a generator over them, which can be iterated once, like
    ``model.parameters()``) or ``"tensor"`` (the single tensor ``values[0]``).

    Returns ``(result, grads_after, values_after, same_objects)``: what ``fn`` returned, the
    gradients afterwards as arrays (None where ``.grad`` is None), the parameters' values
    afterwards, and for each parameter whether ``.grad`` is still the tensor it was before
    the call (``True`` where it was and stays None).
    """
    params = _leaves(values, grads)
    before = [p.grad for p in params]
    if form == "list":
        handed = list(params)
    elif form == "generator":
        handed = (p for p in params)
    elif form == "tensor":
        if len(params) != 1:
            raise ValueError("form='tensor' needs exactly one parameter")
        handed = params[0]
    else:
        raise ValueError(f"unknown form {form!r}")
    result = fn(handed, *args)
    grads_after = [None if p.grad is None else p.grad.detach().numpy().copy() for p in params]
    values_after = [p.detach().numpy().copy() for p in params]
    same = [p.grad is b for p, b in zip(params, before)]
    return result, grads_after, values_after, same


def init_rnn(fn, scheme: str, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", seed: int = 0,
             generator_seed: int | None = None, global_seed: int | None = None, dtype: str = "float32"):
    """Build a one-layer ``nn.RNN(input_size, hidden_size, nonlinearity=..., batch_first=True)``
    with torch's global generator seeded by ``seed``, and initialise it with
    ``fn(rnn, scheme)``, or ``fn(rnn, scheme, generator=g)`` with ``g`` a ``torch.Generator``
    seeded by ``generator_seed`` when that is given.  ``global_seed``, when given, reseeds
    the global generator just before the call (a generator-driven initialisation must not
    depend on it).

    Returns ``(result, before, after)``: what ``fn`` returned, and the parameters before
    and after the call as dicts name -> array (``weight_ih_l0``, ``weight_hh_l0``,
    ``bias_ih_l0``, ``bias_hh_l0``), in the RNN's dtype.
    """
    import torch

    torch.manual_seed(int(seed))
    rnn = torch.nn.RNN(int(input_size), int(hidden_size), nonlinearity=nonlinearity, batch_first=True)
    rnn = rnn.to(getattr(torch, dtype))
    before = {n: p.detach().numpy().copy() for n, p in rnn.named_parameters()}
    if global_seed is not None:
        torch.manual_seed(int(global_seed))
    if generator_seed is None:
        result = fn(rnn, scheme)
    else:
        result = fn(rnn, scheme, generator=torch.Generator().manual_seed(int(generator_seed)))
    after = {n: p.detach().numpy().copy() for n, p in rnn.named_parameters()}
    return result, before, after


def train_long_lag(init, recipe: str, hidden_size: int, T: int, x_test, *, steps: int, lr: float,
                   clip: float | None = 1.0, seed: int = 0, batch_size: int = 64):
    """Train the model of a ``rnncourse.longrange`` recipe, initialised by ``init``, on the
    adding problem at lag ``T`` (``longrange.train``, one CPU thread), and return
    ``(losses, predictions)``: the training losses and its predictions (float32) for the
    held-out inputs ``x_test`` (n, T, 2) (the grader keeps their targets)."""
    import torch

    from rnncourse import longrange

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = longrange.make_model(recipe, int(hidden_size), seed=int(seed), init=init)
        losses = longrange.train(model, int(T), steps=int(steps), batch_size=int(batch_size), lr=float(lr),
                                 clip=clip, seed=int(seed))
        model.eval()
        with torch.no_grad():
            pred = model(torch.from_numpy(np.asarray(x_test, dtype=np.float32))).float().numpy()
    finally:
        torch.set_num_threads(threads)
    return losses, pred


def long_lag_gradients(init, recipe: str, hidden_size: int, x, *, seed: int = 0) -> np.ndarray:
    """The gradient signal at initialisation of a ``rnncourse.longrange`` recipe's model,
    initialised by ``init``: ``longrange.gradient_norm_by_lag`` on the inputs ``x``
    (n, T, 2), i.e. ||dL/dh_k|| for k = 1..T with L the sum of the read-outs of h_T."""
    import torch

    from rnncourse import longrange

    model = longrange.make_model(recipe, int(hidden_size), seed=int(seed), init=init)
    return longrange.gradient_norm_by_lag(model.rnn, model.out, torch.from_numpy(np.asarray(x, dtype=np.float32)))


# --------------------------------------------------------------------------- chapter 5
def init_lstm(fn, input_size: int, hidden_size: int, num_layers: int = 1, *, seed: int = 0, dtype: str = "float32",
              value=None):
    """Build ``nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)`` with torch's
    global generator seeded by ``seed``, in ``dtype``, and call ``fn(lstm)``, or
    ``fn(lstm, value)`` when ``value`` is given.

    Returns ``(returned, before, after)``: None if ``fn`` returned None, else the name of the
    type of what it returned (a module does not cross the grader's sandbox), and the
    parameters before and after the call as dicts name -> array (``weight_ih_l0``, ...,
    ``bias_hh_l{L-1}``)."""
    import torch

    torch.manual_seed(int(seed))
    lstm = torch.nn.LSTM(int(input_size), int(hidden_size), int(num_layers), batch_first=True)
    lstm = lstm.to(getattr(torch, dtype))
    before = {n: p.detach().numpy().copy() for n, p in lstm.named_parameters()}
    result = fn(lstm) if value is None else fn(lstm, value)
    after = {n: p.detach().numpy().copy() for n, p in lstm.named_parameters()}
    return (None if result is None else type(result).__name__), before, after


def lstm_input_gradients(fn, hidden_size: int, x, *, seed: int = 0, value=None) -> np.ndarray:
    """The gradient signal at initialisation of ``nn.LSTM(2, hidden_size, batch_first=True)``
    (torch's global generator seeded by ``seed``) after ``fn(lstm)`` (or ``fn(lstm, value)``;
    ``fn=None`` keeps PyTorch's initialisation): ||dL/dx_k|| for k = 1..T (mean over the
    batch) with L the sum of the last step's outputs, on the inputs ``x`` (n, T, 2)."""
    import torch

    torch.manual_seed(int(seed))
    lstm = torch.nn.LSTM(2, int(hidden_size), batch_first=True)
    if fn is not None:
        fn(lstm) if value is None else fn(lstm, value)
    x = torch.from_numpy(np.asarray(x, dtype=np.float32)).requires_grad_(True)
    out, _ = lstm(x)
    out[:, -1].sum().backward()
    return x.grad.norm(dim=-1).mean(0).numpy().astype(np.float64)
