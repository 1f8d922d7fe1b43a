"""Reference implementations for chapter 3 (backpropagation through time).

Instructor tooling: the hidden checks compare students' functions with these on fresh
random inputs.  Not part of the student-facing package ``rnncourse``.

Conventions (as in chapter 2's exercises): row vectors, a batch is a matrix with one
example per row, ``h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)``.  The scalar whose gradient
the backward pass computes is ``f = sum(hs * dhs)``: ``dhs`` is the gradient of the loss
with respect to every hidden state through the paths that do not go through a later state
(the read-out at that step), so ``rnn_backward(dhs, ...)`` is the gradient of ``f``.

numpy parts are vectorised (a Python loop runs over time steps only).
"""
from __future__ import annotations

import math

import numpy as np

from autograde.reference.ch02 import rnn_forward, rnn_step  # noqa: F401  (re-exported)

PARAM_NAMES = ("W_xh", "W_hh", "b_h")
CHECKED = ("W_xh", "W_hh", "b_h", "h0")          # what grad_check differentiates
AUTOGRAD_KEYS = ("W_xh", "W_hh", "b_h", "h0", "xs")
LM_NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


# --------------------------------------------------------------------------- backward
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    """Gradients of one step h = tanh(x W_xh + h_prev W_hh + b_h), given dL/dh.

    Returns (dx, dh_prev, dW_xh, dW_hh, db_h), shapes (B, D), (B, H), (D, H), (H, H), (H,).
    """
    da = np.asarray(dh) * (1.0 - np.asarray(h) ** 2)     # tanh'(a) = 1 - tanh(a)^2
    return da @ W_xh.T, da @ W_hh.T, np.asarray(x).T @ da, np.asarray(h_prev).T @ da, da.sum(0)


def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
    """Backpropagation through time for rnn_forward; returns (dxs, dh0, dW_xh, dW_hh, db_h)."""
    dhs, xs, h0, hs = (np.asarray(a, dtype=np.float64) for a in (dhs, xs, h0, hs))
    B, T, H = hs.shape
    # the state before each step: h0, h1, ..., h_{T-1}
    prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    das = np.empty_like(hs)
    dh_next = np.zeros((B, H))
    for t in range(T - 1, -1, -1):       # the recursion runs backwards over time only
        da = (dhs[:, t] + dh_next) * (1.0 - hs[:, t] ** 2)
        das[:, t] = da
        dh_next = da @ W_hh.T
    # every parameter gradient is a sum over steps (and over the batch): one contraction
    dW_xh = np.einsum("btd,bth->dh", xs, das)
    dW_hh = np.einsum("btk,bth->kh", prev, das)
    return das @ W_xh.T, dh_next, dW_xh, dW_hh, das.sum((0, 1))


def backward_dict(dhs, xs, h0, hs, W_xh, W_hh) -> dict:
    dxs, dh0, dW_xh, dW_hh, db = rnn_backward(dhs, xs, h0, hs, W_xh, W_hh)
    return {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db, "h0": dh0, "xs": dxs}


# --------------------------------------------------------------------------- gradient check
def rel_error(a, n) -> np.ndarray:
    """|a - n| / max(|a|, |n|) entrywise, and 0 where a = n = 0."""
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    den = np.maximum(np.abs(a), np.abs(n))
    return np.divide(np.abs(a - n), den, out=np.zeros(np.broadcast_shapes(a.shape, n.shape)), where=den > 0)


def probe(params, xs, h0, dhs) -> float:
    """The scalar the checker differentiates: sum(rnn_forward(xs, h0, ...) * dhs)."""
    return float(np.sum(rnn_forward(xs, h0, params["W_xh"], params["W_hh"], params["b_h"]) * dhs))


def numeric_gradients(params, xs, h0, dhs, eps=1e-5) -> dict:
    """Centred differences of ``probe`` for every entry of W_xh, W_hh, b_h and h0."""
    values = {k: np.array(params[k], dtype=np.float64) for k in PARAM_NAMES}
    values["h0"] = np.array(h0, dtype=np.float64)
    xs, dhs = np.asarray(xs, dtype=np.float64), np.asarray(dhs, dtype=np.float64)

    def f():
        return probe(values, xs, values["h0"], dhs)
    out = {}
    for name in CHECKED:
        arr = values[name]
        grad = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):     # one entry at a time: that is the method
            old = arr[i]
            arr[i] = old + eps
            up = f()
            arr[i] = old - eps
            down = f()
            arr[i] = old
            grad[i] = (up - down) / (2 * eps)
        out[name] = grad
    return out


def grad_check(params, xs, h0, dhs, analytic, eps=1e-5):
    numeric = numeric_gradients(params, xs, h0, dhs, eps)
    return numeric, {k: rel_error(analytic[k], numeric[k]) for k in CHECKED}


# --------------------------------------------------------------------------- autograd
def autograd_gradients(params, xs, h0, dhs) -> dict:
    """Gradients of sum(hs * dhs) by torch.autograd in float64 (keys W_xh, W_hh, b_h, h0, xs)."""
    import torch

    t = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
         for k, v in (*((k, params[k]) for k in PARAM_NAMES), ("h0", h0), ("xs", xs))}
    h, states = t["h0"], []
    for s in range(t["xs"].shape[1]):
        h = torch.tanh(t["xs"][:, s] @ t["W_xh"] + h @ t["W_hh"] + t["b_h"])
        states.append(h)
    f = (torch.stack(states, 1) * torch.as_tensor(np.asarray(dhs, dtype=np.float64))).sum()
    f.backward()
    return {k: t[k].grad.numpy().copy() for k in AUTOGRAD_KEYS}


# --------------------------------------------------------------------------- truncated BPTT
def init_lm_params(vocab_size: int, hidden_size: int, rng: np.random.Generator, scale: float = 1.0) -> dict:
    """A character RNN language model: one-hot input (row ids of W_xh), tanh state, linear read-out."""
    V, H = vocab_size, hidden_size
    return {"W_xh": rng.normal(0, scale / math.sqrt(V) * 3, (V, H)),
            "W_hh": rng.normal(0, scale / math.sqrt(H), (H, H)),
            "b_h": np.zeros(H),
            "W_hy": rng.normal(0, scale / math.sqrt(H), (H, V)),
            "b_y": np.zeros(V)}


def streams(ids, batch_size: int):
    """Inputs and targets as ``batch_size`` contiguous streams: (B, n) each."""
    ids = np.asarray(ids)
    n = (len(ids) - 1) // batch_size
    if n < 1:
        raise ValueError(f"{len(ids)} ids are too few for {batch_size} streams")
    return ids[: batch_size * n].reshape(batch_size, n), ids[1: batch_size * n + 1].reshape(batch_size, n)


def train_tbptt(params, ids, vocab_size, k, steps, lr, batch_size=16, optimizer="adam"):
    """Truncated BPTT in float64 torch; see the notebook's docstring for the exact schedule."""
    import torch
    import torch.nn.functional as F

    if k < 1 or steps < 0 or batch_size < 1:
        raise ValueError("k and batch_size must be >= 1 and steps >= 0")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"ids must lie in 0..{vocab_size - 1}")
    X, Y = streams(ids, batch_size)
    C = X.shape[1] // k
    if C < 1:
        raise ValueError(f"each of the {batch_size} streams has {X.shape[1]} steps, fewer than k = {k}")
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)
    p = {n: torch.tensor(np.asarray(params[n], dtype=np.float64), requires_grad=True) for n in LM_NAMES}
    opts = {"adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}
    if optimizer not in opts:
        raise ValueError(f"optimizer must be 'adam' or 'adagrad', got {optimizer!r}")
    opt = opts[optimizer](p.values(), lr=lr)
    H = p["W_hh"].shape[0]
    h = torch.zeros(batch_size, H, dtype=torch.float64)
    losses = np.zeros(steps)
    for i in range(steps):
        c = i % C
        if c == 0:
            h = torch.zeros(batch_size, H, dtype=torch.float64)   # a new pass over the text
        x, y = X[:, c * k:(c + 1) * k], Y[:, c * k:(c + 1) * k]
        h = h.detach()                                           # cut the gradient here
        pre = p["W_xh"][x] + p["b_h"]                            # (B, k, H): one-hot input = row lookup
        states = []
        for s in range(k):
            h = torch.tanh(pre[:, s] + h @ p["W_hh"])
            states.append(h)
        logits = torch.stack(states, 1) @ p["W_hy"] + p["b_y"]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))   # mean over B*k
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[i] = float(loss.detach())
    return {n: v.detach().numpy().copy() for n, v in p.items()}, losses


def lm_losses(params, ids, h0=None, batch_size: int = 1) -> np.ndarray:
    """Per-position NLL (nats) of the character RNN on ``ids`` run as ``batch_size`` streams
    with the state carried through each whole stream: shape (B, n)."""
    X, Y = streams(ids, batch_size)
    B, n = X.shape
    W_xh, W_hh, b_h, W_hy, b_y = (np.asarray(params[k], dtype=np.float64) for k in LM_NAMES)
    h = np.zeros((B, W_hh.shape[0])) if h0 is None else np.asarray(h0, dtype=np.float64)
    pre = W_xh[X] + b_h
    out = np.empty((B, n))
    rows = np.arange(B)
    for t in range(n):
        h = np.tanh(pre[:, t] + h @ W_hh)
        z = h @ W_hy + b_y
        m = z.max(1, keepdims=True)
        lse = (m + np.log(np.exp(z - m).sum(1, keepdims=True)))[:, 0]
        out[:, t] = lse - z[rows, Y[:, t]]
    return out


def chunk_losses(params, ids, k, batch_size, steps, carry=True) -> np.ndarray:
    """The training losses train_tbptt reports when lr = 0 (numpy forward only)."""
    X, Y = streams(ids, batch_size)
    C = X.shape[1] // k
    W_xh, W_hh, b_h, W_hy, b_y = (np.asarray(params[n], dtype=np.float64) for n in LM_NAMES)
    h = np.zeros((batch_size, W_hh.shape[0]))
    out = np.zeros(steps)
    rows = np.arange(batch_size)
    for i in range(steps):
        c = i % C
        if c == 0 or not carry:
            h = np.zeros_like(h)
        total = 0.0
        for s in range(c * k, (c + 1) * k):
            h = np.tanh(W_xh[X[:, s]] + b_h + h @ W_hh)
            z = h @ W_hy + b_y
            m = z.max(1, keepdims=True)
            total += float(np.sum(m[:, 0] + np.log(np.exp(z - m).sum(1)) - z[rows, Y[:, s]]))
        out[i] = total / (batch_size * k)
    return out


def unigram_nll(train_ids, eval_ids, vocab_size: int, k: float = 0.5) -> float:
    """Add-k smoothed character unigram: mean NLL per character of eval_ids (nats)."""
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64) + k
    return float(-np.log(counts / counts.sum())[np.asarray(eval_ids)].mean())
