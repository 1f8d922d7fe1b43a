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
                  device: str | None = None) -> np.ndarray:
    """Train a character language model ``model(ids) -> (logits, h)`` on padded
    sequences: inputs ``x``, targets ``y`` and ``mask`` (all (N, L)).  Returns the losses."""
    import torch
    device = model_device(model, device)
    import torch.nn.functional as F

    x, y, m = (torch.as_tensor(np.asarray(a)) for a in (x, y, mask))

    def batch_loss(idx):
        xb, yb, mb = x[idx].to(device), y[idx].to(device), m[idx].to(device)
        L = int(mb.sum(1).max())
        logits, _ = model(xb[:, :L])
        return F.cross_entropy(logits[mb[:, :L]], yb[:, :L][mb[:, :L]])
    return np.array(fixed_adam_loop(model, len(x), batch_loss, steps=steps, batch_size=batch_size, lr=lr, seed=seed))


def char_lm_log_probs(model, x, device: str | None = None, batch_size: int = 1024) -> np.ndarray:
    """Log-probabilities (N, L, V) float32 that ``model`` gives every next character of
    the padded inputs ``x`` (the grader scores them against targets it keeps)."""
    import torch
    device = model_device(model, device)

    x = torch.as_tensor(np.asarray(x))
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            logits, _ = model(x[s:s + batch_size].to(device))
            out.append(torch.log_softmax(logits.float(), -1).cpu().numpy())
    return np.concatenate(out)


def train_classifier(model, ids, lengths, labels, *, steps: int, batch_size: int = 64, lr: float = 0.005,
                     seed: int = 0, device: str | None = None) -> np.ndarray:
    """Train ``model(ids, lengths) -> logits`` on padded lines with integer labels."""
    import torch
    device = model_device(model, device)
    import torch.nn.functional as F

    ids, lengths, labels = (torch.as_tensor(np.asarray(a)) for a in (ids, lengths, labels))

    def batch_loss(idx):
        lb = lengths[idx]
        logits = model(ids[idx, :int(lb.max())].to(device), lb.to(device))
        return F.cross_entropy(logits, labels[idx].to(device))
    return np.array(fixed_adam_loop(model, len(labels), batch_loss, steps=steps, batch_size=batch_size, lr=lr, seed=seed))


def classifier_logits(model, ids, lengths, device: str | None = None, batch_size: int = 1024) -> np.ndarray:
    """Logits (N, C) float32 of ``model`` on padded lines (the grader keeps the labels)."""
    import torch
    device = model_device(model, device)

    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(lengths), batch_size):
            lb = torch.as_tensor(np.asarray(lengths[s:s + batch_size]))
            xb = torch.as_tensor(np.asarray(ids[s:s + batch_size, :int(lb.max())])).to(device)
            out.append(model(xb, lb.to(device)).float().cpu().numpy())
    return np.concatenate(out)


def model_device(model, device=None):
    """``device`` when given, else the device of the model's first parameter (the CPU for a
    model without parameters): the producers below compute where the model lives, so a
    model the sandbox placed on CUDA is fed CUDA tensors."""
    if device is not None:
        return device
    for p in model.parameters():
        return p.device
    return "cpu"


def construct(cls, seed: int, *args, device: str | None = None):
    """``cls(*args)`` with torch's global generator seeded first (so initial weights
    are the same at every regrade), moved to ``device``; must be an ``nn.Module``.

    Without ``device``: when grading (``RNNCOURSE_GRADING=1``, set in the sandbox) the model
    goes where the checks' tensors arrive, ``rnncourse.env.device()`` (CUDA when the grader
    has one: ``rnncourse.sandbox_worker`` rebuilds every tensor there); in a notebook it
    stays where ``cls`` put it (the checks make CPU tensors there)."""
    import os

    import torch

    torch.manual_seed(int(seed))
    model = cls(*args)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"must create a torch.nn.Module, got {type(model).__name__}")
    if device is None and os.environ.get("RNNCOURSE_GRADING") == "1":
        from rnncourse import env

        device = str(env.device())
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
STRUCTURES = ("lstm", "bilstm", "cell", "model", "nobias", "cellnobias")


def _structure(kind: str, D: int, H: int, L: int):
    """The module ``init_lstm`` hands to ``fn``: a bare nn.LSTM, a bidirectional one, an
    nn.LSTMCell, a model holding several (and modules that are not LSTMs), or an LSTM
    without biases."""
    import torch.nn as nn

    if kind == "lstm":
        return nn.LSTM(D, H, L, batch_first=True)
    if kind == "bilstm":
        return nn.LSTM(D, H, L, batch_first=True, bidirectional=True)
    if kind == "cell":
        return nn.LSTMCell(D, H)
    if kind == "nobias":
        return nn.LSTM(D, H, L, batch_first=True, bias=False)
    if kind == "cellnobias":
        return nn.LSTMCell(D, H, bias=False)
    if kind == "model":
        class Composite(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(5, D)
                self.encoder = nn.LSTM(D, H, L, batch_first=True, bidirectional=True)
                self.gru = nn.GRU(2 * H, H, batch_first=True)
                self.decoder = nn.ModuleList([nn.LSTMCell(H, H + 1), nn.LSTMCell(H + 1, H)])
                self.out = nn.Linear(H, 5)
        return Composite()
    raise ValueError(f"structure must be one of {STRUCTURES}, got {kind!r}")


def init_lstm(fn, input_size: int, hidden_size: int, num_layers: int = 1, *, seed: int = 0, dtype: str = "float32",
              value=None, structure: str = "lstm"):
    """Build a module holding LSTMs (``structure``: ``"lstm"`` = ``nn.LSTM(input_size,
    hidden_size, num_layers, batch_first=True)``, ``"bilstm"`` the same bidirectional,
    ``"cell"`` an ``nn.LSTMCell``, ``"model"`` a model with a bidirectional LSTM, a GRU,
    two LSTMCells and other layers, ``"nobias"`` an LSTM with bias=False, ``"cellnobias"``
    an LSTMCell with bias=False) with torch's
    global generator seeded by ``seed``, in ``dtype``, and call ``fn(module)``, or
    ``fn(module, value)`` when ``value`` is given.

    Returns ``(returned, before, after)``: what ``fn`` returned when it is None, a bool or
    an int, else the name of its type (a module does not cross the grader's sandbox), and the
    parameters before and after the call as dicts name -> array (``named_parameters``)."""
    import torch

    torch.manual_seed(int(seed))
    module = _structure(structure, int(input_size), int(hidden_size), int(num_layers)).to(getattr(torch, dtype))
    before = {n: p.detach().numpy().copy() for n, p in module.named_parameters()}
    result = fn(module) if value is None else fn(module, value)
    after = {n: p.detach().numpy().copy() for n, p in module.named_parameters()}
    if not (result is None or isinstance(result, (bool, int, np.integer))):
        result = type(result).__name__
    elif isinstance(result, np.integer):
        result = int(result)
    return result, before, after


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


def char_lstm_outputs(model, ids, state_seed: int | None = None, *, train: bool = False, repeats: int = 1,
                      device: str | None = None):
    """Run ``model(ids)`` (and ``model(ids, state)`` with a random initial state drawn from
    ``state_seed`` when given) and return plain arrays: ``(logits, h, c)`` per repeat.  With
    ``train=True`` the model is in training mode (dropout active), else in eval mode, without
    gradients either way."""
    import torch
    device = model_device(model, device)

    ids = torch.as_tensor(np.asarray(ids), device=device)
    model.train(bool(train))
    out = []
    with torch.no_grad():
        for _ in range(int(repeats)):
            state = None
            if state_seed is not None:
                lstm = next(m for m in model.modules() if isinstance(m, torch.nn.LSTM))
                g = torch.Generator().manual_seed(int(state_seed))
                shape = (lstm.num_layers, ids.shape[0], lstm.hidden_size)
                state = tuple(torch.randn(shape, generator=g).to(device) for _ in range(2))
            logits, (h, c) = model(ids, state) if state is not None else model(ids)
            out.append((logits.cpu().numpy(), h.cpu().numpy(), c.cpu().numpy()))
    model.eval()
    return out


def module_parameters(model) -> dict:
    """The model's parameters as plain arrays, by name."""
    return {n: p.detach().cpu().numpy().copy() for n, p in model.named_parameters()}


def train_char_stream(model, ids, *, steps: int, batch_size: int = 32, chunk: int = 64, lr: float = 5e-3,
                      seed: int = 0, device: str | None = None) -> np.ndarray:
    """Truncated BPTT on one long text: ``ids`` (N,) cut into ``batch_size`` streams, read in
    chunks of ``chunk`` characters with the state carried (detached) from chunk to chunk;
    Adam, gradient norm clipped at 1, ``model(x, state) -> (logits, state)``.  The starting
    offset of the streams is drawn from ``seed``.  Returns the training losses."""
    import torch
    device = model_device(model, device)
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(int(seed))
    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    offset = int(torch.randint(0, chunk, (1,), generator=g))
    n = (len(ids) - 1 - offset) // batch_size
    X = ids[offset:offset + batch_size * n].reshape(batch_size, n).to(device)
    Y = ids[offset + 1:offset + batch_size * n + 1].reshape(batch_size, n).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    state, losses, chunks = None, [], n // chunk
    for step in range(int(steps)):
        c = step % chunks
        if c == 0:
            state = None
        logits, state = model(X[:, c * chunk:(c + 1) * chunk], state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y[:, c * chunk:(c + 1) * chunk].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return np.array(losses)


def char_stream_logits(model, ids, *, batch_size: int = 16, device: str | None = None) -> np.ndarray:
    """The logits (float32, (batch_size, n, V)) ``model`` gives after every character of the
    text ``ids`` read as ``batch_size`` streams of ``n = (len(ids) - 1) // batch_size``
    characters, ``model(X)`` on all of them at once; the grader scores them against the next
    characters itself."""
    import torch
    device = model_device(model, device)

    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    n = (len(ids) - 1) // batch_size
    X = ids[:batch_size * n].reshape(batch_size, n).to(device)
    model.eval()
    with torch.no_grad():
        logits, _ = model(X)
    return logits.float().cpu().numpy()


def lstm_settings(model) -> list[dict]:
    """What every nn.LSTM inside ``model`` is (in ``named_modules`` order): its sizes,
    flags, dropout, and the forget gate's total bias b_ih[H:2H] + b_hh[H:2H] of each layer
    and direction (float64 arrays; None without biases)."""
    import torch

    out = []
    for path, m in model.named_modules():
        if isinstance(m, torch.nn.LSTM):
            H, forget = m.hidden_size, []
            for k in range(m.num_layers):
                for sfx in [""] + (["_reverse"] if m.bidirectional else []):
                    if not m.bias:
                        forget.append(None)
                        continue
                    b = getattr(m, f"bias_ih_l{k}{sfx}").detach() + getattr(m, f"bias_hh_l{k}{sfx}").detach()
                    forget.append(b[H:2 * H].double().cpu().numpy())
            out.append({"path": path, "input_size": m.input_size, "hidden_size": H, "num_layers": m.num_layers,
                        "bidirectional": bool(m.bidirectional), "batch_first": bool(m.batch_first),
                        "dropout": float(m.dropout), "bias": bool(m.bias), "forget_bias": forget})
    return out
