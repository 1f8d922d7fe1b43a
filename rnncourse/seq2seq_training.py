"""Chapter 6's fixed training and probing loops for graded models (no exercise's answer here).

The checks of chapter 6 hand a student's ``Encoder``, ``Decoder`` or ``AttentionDecoder``
(constructed by ``rnncourse.training.construct``) and plain arrays to these functions, which
run where the model lives (``rnncourse.checks.core.produce``: in the notebook, or inside the
autograder's sandbox) and return plain values; the verdict is computed from them by the
checks.  The tasks are tiny so that they train in about a second on one CPU thread:

* :func:`train_first_token`: the encoder plus a linear head on its final ``h`` learns to
  report the *first* token of variable-length sequences (it needs memory and a final state
  taken at each sequence's true end);
* :func:`train_from_states`: a decoder started from a fixed random state per class learns to
  emit that class's sequence (it needs the state it is given);
* :func:`train_attention_copy`: an attention decoder started from zeros learns to copy the
  source through attention over fixed encoder outputs (token vector plus position vector);
* :func:`loss_with_grad`: a loss function's value, dtype and gradient with respect to the
  logits.
"""
from __future__ import annotations

import contextlib

import numpy as np


def construct(cls, seed: int, *args):
    """``cls(*args)`` seeded and placed where the checks' tensors arrive
    (``rnncourse.training.construct``: on ``rnncourse.env.device()`` when grading, where it is
    in a notebook)."""
    from rnncourse import training

    return training.construct(cls, seed, *args)


def _device(model):
    import torch

    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextlib.contextmanager
def one_thread():
    """Tiny models train fastest on one CPU thread (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _tensor(a, dtype=None):
    import torch

    t = torch.as_tensor(np.asarray(a))
    return t.to(dtype) if dtype is not None else t


def _pair(*modules):
    import torch

    class Pair(torch.nn.Module):   # one module so that the loop sees every parameter
        def __init__(self):
            super().__init__()
            self.parts = torch.nn.ModuleList(modules)

    return Pair()


def train_first_token(encoder, src, lengths, test_src, test_lengths, *, hidden_size: int, num_classes: int,
                      steps: int = 150, batch_size: int = 32, lr: float = 0.02, seed: int = 0):
    """Train ``encoder`` and a linear head ``h[-1] -> class`` (seeded) with the course's loop
    (``rnncourse.training.fixed_adam_loop``) to predict ``src[i, 0] - 3`` (the first token;
    ids 3 .. 3 + num_classes - 1).  ``encoder(src, lengths) -> (outputs, (h, c))``.
    Returns ``(losses, test_logits)``: the training losses and the head's logits (float64
    array (N_test, num_classes)) on the test sequences."""
    import torch
    import torch.nn.functional as F

    from rnncourse import training

    dev = _device(encoder)
    src, lengths = _tensor(src, torch.int64).to(dev), _tensor(lengths, torch.int64).to(dev)
    labels = src[:, 0] - 3
    with one_thread():
        torch.manual_seed(int(seed))
        head = torch.nn.Linear(int(hidden_size), int(num_classes)).to(dev)
        pair = _pair(encoder, head)

        def batch_loss(idx):
            lb = lengths[idx]
            _, (h, _) = encoder(src[idx, :int(lb.max())], lb)
            return F.cross_entropy(head(h[-1]), labels[idx])

        losses = training.fixed_adam_loop(pair, len(src), batch_loss, steps=steps, batch_size=batch_size, lr=lr,
                                          seed=seed)
        pair.eval()
        with torch.no_grad():
            _, (h, _) = encoder(_tensor(test_src, torch.int64).to(dev), _tensor(test_lengths, torch.int64).to(dev))
            logits = head(h[-1]).double().cpu().numpy()
    return np.array(losses), logits


def train_from_states(decoder, h0, c0, tgt_in, tgt_out, *, steps: int = 120, lr: float = 0.03, seed: int = 0,
                      sos: int = 1):
    """Train ``decoder(tgt_in, (h, c)) -> (logits, state)`` with teacher forcing on K items,
    item k started from the fixed state ``(h0[:, k], c0[:, k])`` (float32 (L, K, H)) and
    taught the sequence ``tgt_out[k]`` (int (K, U)); full batches, Adam, gradient norm
    clipped at 1.  Then decode each item greedily, one token per call, from its state.
    Returns ``(losses, tokens)``: tokens int64 (K, U), the argmax tokens of the free run."""
    import torch
    import torch.nn.functional as F

    dev = _device(decoder)
    h0, c0 = _tensor(h0, torch.float32).to(dev), _tensor(c0, torch.float32).to(dev)
    tgt_in, tgt_out = _tensor(tgt_in, torch.int64).to(dev), _tensor(tgt_out, torch.int64).to(dev)
    K, U = tgt_out.shape
    losses = []
    with one_thread():
        torch.manual_seed(int(seed))
        opt = torch.optim.Adam(decoder.parameters(), lr=lr)
        decoder.train()
        for _ in range(int(steps)):
            logits, _ = decoder(tgt_in, (h0, c0))
            loss = F.cross_entropy(logits.reshape(K * U, -1), tgt_out.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
        decoder.eval()
        out = []
        with torch.no_grad():
            state, prev = (h0, c0), torch.full((K, 1), int(sos), dtype=torch.int64, device=dev)
            for _ in range(U):
                logits, state = decoder(prev, state)
                prev = logits[:, -1].argmax(-1, keepdim=True)
                out.append(prev[:, 0])
    return np.array(losses), torch.stack(out, 1).cpu().numpy()


def train_attention_copy(decoder, enc_outputs, src_mask, tgt_in, tgt_out, test_enc, test_mask, test_in, *,
                         num_layers: int = 1, steps: int = 200, batch_size: int = 32, lr: float = 0.02,
                         seed: int = 0):
    """Train ``decoder(tgt_in, state, enc_outputs, src_mask) -> (logits, state, weights)`` from
    a zero initial state with the course's loop (cross-entropy on every position of
    ``tgt_out``), the encoder outputs fixed (float32 (N, S, H)).  Returns ``(losses,
    test_logits)``: teacher-forced logits (float64 (N_test, U, V)) on the test items."""
    import torch
    import torch.nn.functional as F

    from rnncourse import training

    dev = _device(decoder)
    enc, mask = _tensor(enc_outputs, torch.float32).to(dev), _tensor(src_mask, torch.bool).to(dev)
    tgt_in, tgt_out = _tensor(tgt_in, torch.int64).to(dev), _tensor(tgt_out, torch.int64).to(dev)
    N, S, H = enc.shape

    def zeros(n):
        z = torch.zeros(int(num_layers), n, H, device=dev)
        return (z, z.clone())

    with one_thread():
        torch.manual_seed(int(seed))

        def batch_loss(idx):
            logits = decoder(tgt_in[idx], zeros(len(idx)), enc[idx], mask[idx])[0]
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out[idx].reshape(-1))

        losses = training.fixed_adam_loop(decoder, N, batch_loss, steps=steps, batch_size=batch_size, lr=lr,
                                          seed=seed)
        decoder.eval()
        with torch.no_grad():
            te = _tensor(test_enc, torch.float32).to(dev)
            logits = decoder(_tensor(test_in, torch.int64).to(dev), zeros(len(te)), te,
                             _tensor(test_mask, torch.bool).to(dev))[0]
    return np.array(losses), logits.double().cpu().numpy()


def loss_with_grad(fn, logits, targets, mask):
    """``fn(logits, targets, mask)`` on a fresh copy of ``logits`` that requires grad, then
    ``backward()``.  Returns a dict: ``is_tensor``, ``shape``, ``dtype`` (str), ``requires_grad``,
    ``value`` (float), ``grad`` (the gradient with respect to the logits as an array, or None
    when the result cannot be differentiated)."""
    import torch

    x = logits.detach().clone().requires_grad_(True)
    out = fn(x, targets, mask)
    info = {"is_tensor": isinstance(out, torch.Tensor), "shape": None, "dtype": None, "requires_grad": False,
            "value": None, "grad": None}
    if not info["is_tensor"]:
        return info
    info.update(shape=tuple(out.shape), dtype=str(out.dtype).replace("torch.", ""),
                requires_grad=bool(out.requires_grad))
    if out.numel() == 1:
        info["value"] = float(out.detach().reshape(()))
        if out.requires_grad:
            out.reshape(()).backward()
            info["grad"] = None if x.grad is None else x.grad.detach().cpu().numpy()
    return info
