"""Reference implementations for chapter 4 (vanishing and exploding gradients).

Instructor tooling: the hidden checks compare students' functions with these; the lag
benchmark (scripts/bench_ch04.py) uses :func:`init_for_memory`.  Not part of the
student package ``rnncourse``.

Conventions (chapter 2's): row vectors, h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h), so the
Jacobian of one step is dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh^T.
"""
from __future__ import annotations

import math

import numpy as np


# --------------------------------------------------------------------------- exercise 1
def jacobian_norms(hs, W_hh) -> np.ndarray:
    """Spectral norms of dh_T/dh_k for k = 0..T of a tanh RNN run (one sequence).

    ``hs`` (T+1, H) holds h_0..h_T; ``W_hh`` (H, H).  Returns float64 (T+1,), entry T = 1.
    """
    hs = np.asarray(hs, dtype=np.float64)
    W = np.asarray(W_hh, dtype=np.float64)
    if hs.ndim != 2 or W.ndim != 2 or W.shape != (hs.shape[1], hs.shape[1]):
        raise ValueError(f"hs must be (T+1, H) and W_hh (H, H); got {hs.shape} and {W.shape}")
    T = hs.shape[0] - 1
    norms = np.empty(T + 1)
    P = np.eye(W.shape[0])
    norms[T] = 1.0
    for k in range(T - 1, -1, -1):
        P = P @ ((1.0 - hs[k + 1] ** 2)[:, None] * W.T)     # dh_T/dh_k = dh_T/dh_{k+1} J_{k+1}
        norms[k] = np.linalg.norm(P, 2)
    return norms


# --------------------------------------------------------------------------- exercise 2
def with_spectral_radius(W, rho: float) -> np.ndarray:
    """W rescaled so that max |eigenvalue| = rho (a new float64 array)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    if rho < 0:
        raise ValueError(f"a spectral radius is >= 0, got {rho}")
    r = float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0
    if r == 0:
        raise ValueError("W has spectral radius 0 (nilpotent): no scaling reaches rho")
    return W * (rho / r)


# --------------------------------------------------------------------------- exercise 3
def linear_gradient_decay(Ws, T: int) -> tuple[np.ndarray, np.ndarray]:
    """For the linear recurrences h_t = h_{t-1} W_r: norms[r, k] = ||W_r^k||_2 for k = 0..T,
    and rates[r] = exp(slope) of the least-squares line through (k, ln norms[r, k]) over
    k = 1..T with norms > 0 (NaN if fewer than two such k)."""
    Ws = np.asarray(Ws, dtype=np.float64)
    if Ws.ndim != 3 or Ws.shape[1] != Ws.shape[2]:
        raise ValueError(f"Ws must be (R, H, H), got {Ws.shape}")
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    R, H, _ = Ws.shape
    norms = np.empty((R, T + 1))
    P = np.broadcast_to(np.eye(H), (R, H, H)).copy()
    norms[:, 0] = 1.0
    for k in range(1, T + 1):
        P = P @ Ws
        norms[:, k] = np.linalg.norm(P, 2, axis=(1, 2))
    rates = np.full(R, np.nan)
    lags = np.arange(1, T + 1, dtype=np.float64)
    for r in range(R):
        y = norms[r, 1:]
        keep = y > 0
        if keep.sum() >= 2:
            rates[r] = math.exp(np.polyfit(lags[keep], np.log(y[keep]), 1)[0])
    return norms, rates


# --------------------------------------------------------------------------- exercises 4, 5
def _grads(parameters):
    import torch
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0):
    """``torch.nn.utils.clip_grad_norm_``: scale all gradients by max_norm / (total + 1e-6)
    when that is below 1; returns the total norm before clipping (0-d tensor)."""
    import torch
    grads = _grads(parameters)
    if not grads:
        return torch.tensor(0.0)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total = torch.stack([g.detach().abs().max() for g in grads]).max()
    else:
        total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach(), norm_type) for g in grads]),
                                         norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g.detach().mul_(coef.to(g.dtype))
    return total


def clip_grad_value(parameters, clip_value: float) -> None:
    """``torch.nn.utils.clip_grad_value_``: clamp every gradient entry to [-c, c] in place."""
    if clip_value < 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        g.detach().clamp_(-clip_value, clip_value)


# --------------------------------------------------------------------------- exercise 6
def init_for_memory(rnn, scheme: str, generator=None) -> None:
    """Initialise a one-layer ``nn.RNN`` in place for long memory.

    ``"orthogonal"``: weight_hh_l0 a random orthogonal matrix (other parameters kept);
    ``"identity"`` (IRNN, Le et al. 2015): weight_hh_l0 = I, both biases 0, weight_ih_l0
    drawn from N(0, 0.001^2).  Random draws use ``generator`` (a torch.Generator or None).
    """
    import torch
    if scheme not in ("orthogonal", "identity"):
        raise ValueError(f"unknown scheme {scheme!r}; use 'orthogonal' or 'identity'")
    with torch.no_grad():
        if scheme == "orthogonal":
            torch.nn.init.orthogonal_(rnn.weight_hh_l0, generator=generator)
        else:
            rnn.weight_hh_l0.copy_(torch.eye(rnn.hidden_size, dtype=rnn.weight_hh_l0.dtype))
            rnn.bias_hh_l0.zero_()
            rnn.bias_ih_l0.zero_()
            rnn.weight_ih_l0.normal_(0.0, 0.001, generator=generator)
