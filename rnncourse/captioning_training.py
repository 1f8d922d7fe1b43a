"""Chapter 7's producers: code the checks run where a student's model or function lives
(``rnncourse.checks.core.produce``: in the notebook, or inside the autograder's sandbox).
No exercise's answer is here.

* :class:`ToyCaptionDecoder`: a tiny fixed recurrent scorer with ``CaptionDecoder``'s
  interface (``init_state(features)``, ``step(features, tokens, state)``, ``forward``), not an
  LSTM: the checks hand it to ``caption_step_fn``;
* :func:`toy_decoder` builds one where a submission lives; :func:`caption_search` runs a
  student's ``caption_step_fn`` on one and searches it exhaustively
  (``rnncourse.search.brute_force``);
* :func:`sample_runs`: a sampler run with a seeded ``torch.Generator`` made where it runs
  (generators do not cross the sandbox), its ``step_fn`` calls recorded;
* :func:`loss_with_grad`: a loss's value and gradient with respect to the logits;
* :func:`train_colour_encoder`: the encoder and a linear head on ``pooled`` learn the colour
  of a single square; :func:`train_feature_captions`: a decoder learns the first word of
  each class of fixed feature vectors (the hidden checks' learning tasks).
"""
from __future__ import annotations

import numpy as np

START, END = 1, 2


class ToyCaptionDecoder:
    """A fixed random recurrent scorer over ``vocab_size`` tokens (float64), conditioned on
    ``features`` (N, D) through its initial state (``inject="init"``) or at every step
    (``"input"``).  ``init_state(features) -> (h, c)`` each (1, N, H);
    ``step(features, tokens (N,), state) -> (logits (N, V), state)``;
    ``forward(features, tgt_in (N, T)) -> logits (N, T, V)``."""

    def __init__(self, vocab_size: int, feature_size: int, hidden_size: int, seed: int = 0, inject: str = "init",
                 end_bias: float = 0.5):
        import torch

        g = np.random.default_rng(int(seed))
        V, D, H = int(vocab_size), int(feature_size), int(hidden_size)
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)   # noqa: E731
        self.vocab_size, self.feature_size, self.hidden_size, self.inject = V, D, H, inject
        self.E, self.A = t(g.normal(0, 1, (V, H))), t(g.normal(0, 0.7, (H, H)))
        self.U, self.C = t(g.normal(0, 1, (D, H))), t(g.normal(0, 1, (D, H)))
        self.O = t(g.normal(0, 1.5, (H, V)))
        self.bias = t(np.where(np.arange(V) == END, float(end_bias), 0.0))

    def init_state(self, features):
        import torch

        f = features.to(torch.float64)
        if self.inject == "init":
            return torch.tanh(f @ self.U.to(f.device))[None], torch.tanh(f @ self.C.to(f.device))[None]
        z = torch.zeros(1, f.shape[0], self.hidden_size, dtype=torch.float64, device=f.device)
        return z, z.clone()

    def step(self, features, tokens, state):
        import torch

        h, c = state
        if features.shape[0] != tokens.shape[0] or h.shape[1] != tokens.shape[0]:
            raise ValueError(f"decoder.step got features of {features.shape[0]} rows, tokens of {tokens.shape[0]} "
                             f"and a state of {h.shape[1]}: they must be the same rows (a search reorders and "
                             "repeats the rows of the state, so the features must travel inside it)")
        dev = h.device                     # the weights follow the state (CUDA when grading on a GPU)
        pre = h[0] @ self.A.to(dev) + self.E.to(dev)[tokens.to(dev)] + 0.5 * c[0]
        if self.inject == "input":
            pre = pre + features.to(device=dev, dtype=torch.float64) @ self.U.to(dev)
        h2 = torch.tanh(pre)
        c2 = 0.5 * c[0] + 0.5 * h2
        return h2 @ self.O.to(dev) + self.bias.to(dev), (h2[None], c2[None])

    def forward(self, features, tgt_in):
        import torch

        state, out = self.init_state(features), []
        for t in range(tgt_in.shape[1]):
            logits, state = self.step(features, tgt_in[:, t], state)
            out.append(logits)
        return torch.stack(out, 1)

    __call__ = forward


def toy_decoder(near, vocab_size: int, feature_size: int, hidden_size: int, seed: int = 0, inject: str = "init"):
    """A :class:`ToyCaptionDecoder` made where ``near`` (any object of a submission) lives."""
    return ToyCaptionDecoder(vocab_size, feature_size, hidden_size, seed, inject)


def caption_search(fn, vocab_size: int, feature_size: int, hidden_size: int, seed: int, inject: str, features,
                   max_len: int) -> dict:
    """``fn(decoder, features)`` on a :class:`ToyCaptionDecoder`, then one step from ``START``
    and exhaustive search (``rnncourse.search.brute_force``) with the step function it gave.
    Returns plain values: ``leaf_shapes`` (the state's tensors' shapes), ``first`` (float64
    log-probabilities of the first step, (N, V)), ``hyps`` (brute force's ranked lists) and
    ``features_changed``."""
    import torch

    from rnncourse import search

    dec = ToyCaptionDecoder(vocab_size, feature_size, hidden_size, seed, inject)
    f = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    kept = f.clone()
    out = fn(dec, f)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"must return (step_fn, init_state), got {type(out).__name__}")
    step_fn, state = out
    shapes = [tuple(t.shape) for t in search._leaves(state)]
    N = f.shape[0]
    logp, _ = step_fn(torch.full((N,), START, dtype=torch.int64), state)
    first = logp.detach().to(torch.float64).cpu().numpy()
    hyps = search.brute_force(step_fn, state, int(max_len), int(vocab_size))
    return {"leaf_shapes": shapes, "first": first, "hyps": hyps, "features_changed": not torch.equal(f, kept)}


class NestedState:
    """``step_fn`` seen through a nested state ``(state, (copy,))``: ``copy`` is the first
    tensor as float (1, n, 1); every call checks that both were reordered alike (a sampler
    must select the rows of every tensor of the state, inside tuples too)."""

    def __init__(self, step_fn):
        self.step_fn = step_fn

    @staticmethod
    def wrap(state):
        return state, (state.to(float).unsqueeze(-1),)

    def __call__(self, tokens_prev, state):
        import torch

        inner, (copy,) = state
        if tuple(copy.shape) != tuple(inner.shape) + (1,) or not torch.equal(copy[..., 0], inner.to(copy.dtype)):
            raise ValueError("the state's tensors were not reordered alike: select the rows of every tensor of a "
                             "nested state (index_select(1, rows) inside the tuples too)")
        log_probs, new = self.step_fn(tokens_prev, inner)
        return log_probs, self.wrap(new)


def sample_runs(fn, step_fn, init_state, batch_size: int, max_len: int, *, temperature=None, seed=None,
                global_seed: int = 0, runs: int = 1, nested: bool = False) -> list[dict]:
    """``fn(step_fn, init_state, batch_size, max_len, temperature=..., rng=g)`` ``runs`` times,
    ``g = torch.Generator().manual_seed(seed)`` made here (left out when ``seed`` is None,
    ``temperature`` left out when None), torch's global generator seeded with
    ``global_seed + run`` first (``nested``: ``step_fn`` and ``init_state`` seen through
    :class:`NestedState`).  Each run: ``tokens``, ``lengths``, ``rows`` (the rows of each
    ``step_fn`` call) and ``rng_changed`` (whether ``g``'s state moved)."""
    import torch

    from rnncourse.checks.functions import calls_recorded

    if nested:
        step_fn, init_state = NestedState(step_fn), NestedState.wrap(init_state)
    out = []
    for r in range(int(runs)):
        torch.manual_seed(int(global_seed) + r)
        kw = {} if temperature is None else {"temperature": temperature}
        g = None
        if seed is not None:
            g = torch.Generator().manual_seed(int(seed))
            kw["rng"] = g
            before = g.get_state().clone()
        (res, rows) = calls_recorded(fn, step_fn, init_state, int(batch_size), int(max_len), **kw)
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise TypeError(f"must return (tokens, lengths), got {type(res).__name__}")
        out.append({"tokens": res[0], "lengths": res[1], "rows": rows,
                    "rng_changed": None if g is None else not torch.equal(before, g.get_state())})
    return out


def loss_with_grad(fn, logits, targets, mask, **kwargs) -> dict:
    """``fn(logits, targets, mask, **kwargs)`` on a fresh copy of ``logits`` that requires grad,
    then ``backward()``: ``is_tensor``, ``requires_grad``, ``value`` and ``grad`` (the gradient
    with respect to the logits, None when there is none)."""
    import torch

    x = logits.detach().clone().requires_grad_(True)
    out = fn(x, targets, mask, **kwargs)
    info = {"is_tensor": isinstance(out, torch.Tensor), "requires_grad": False, "value": None, "grad": None}
    if not info["is_tensor"]:
        return info
    info["requires_grad"] = bool(out.requires_grad)
    if out.numel() == 1:
        info["value"] = float(out.detach().reshape(()))
        if out.requires_grad:
            out.reshape(()).backward()
            info["grad"] = None if x.grad is None else x.grad.detach().cpu().numpy()
    return info


def colour_scenes(n: int, seed: int, size: int = 16, colours: int = 3):
    """``n`` images (n, 3, size, size) float32 of one random square of one of ``colours``
    pure colours on black, and their colour ids."""
    g = np.random.default_rng(int(seed))
    rgb = np.eye(3, dtype=np.float32)[:colours]
    labels = g.integers(0, colours, n)
    images = np.zeros((n, 3, size, size), np.float32)
    for i, k in enumerate(labels):
        s = int(g.integers(size // 4, size // 2 + 1))
        y, x = g.integers(0, size - s + 1, 2)
        images[i, :, y:y + s, x:x + s] = rgb[k][:, None, None]
    return images, labels


def _one_thread():
    import contextlib

    import torch

    @contextlib.contextmanager
    def cm():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return cm()


def train_colour_encoder(encoder, images, labels, test_images, *, feature_size: int, classes: int = 3,
                         steps: int = 60, lr: float = 0.02, seed: int = 0) -> dict:
    """Train ``encoder`` (images -> (grid, pooled)) and a linear head (seeded) on ``pooled`` to
    tell the colour ``labels`` of the images: full batches, Adam, gradient norm clipped at 1.
    Returns ``losses`` and the head's ``predicted`` classes on ``test_images``."""
    import torch
    import torch.nn.functional as F

    dev = next(iter(encoder.parameters())).device
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32, device=dev)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.int64, device=dev)
    with _one_thread():
        torch.manual_seed(int(seed))
        head = torch.nn.Linear(int(feature_size), int(classes)).to(dev)
        params = list(encoder.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=lr)
        losses = []
        encoder.train()
        for _ in range(int(steps)):
            loss = F.cross_entropy(head(encoder(x)[1]), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(float(loss.detach()))
        encoder.eval()
        with torch.no_grad():
            xt = torch.as_tensor(np.asarray(test_images), dtype=torch.float32, device=dev)
            predicted = head(encoder(xt)[1]).argmax(-1).cpu().numpy()
    return {"losses": np.array(losses), "predicted": predicted}


def train_feature_captions(decoder, features, words, test_features, *, steps: int = 80, lr: float = 0.03,
                           seed: int = 0) -> dict:
    """Train ``decoder`` (``forward(features, tgt_in) -> logits``) with teacher forcing on the
    captions ``START word END`` of fixed ``features`` (float32 (n, D)), full batches, Adam,
    gradient norm clipped at 1; then one ``step`` from ``init_state`` on ``test_features``.
    Returns ``losses`` and the ``predicted`` first words (argmax)."""
    import torch
    import torch.nn.functional as F

    dev = next(iter(decoder.parameters())).device
    f = torch.as_tensor(np.asarray(features), dtype=torch.float32, device=dev)
    w = torch.as_tensor(np.asarray(words), dtype=torch.int64, device=dev)
    tgt_in = torch.stack([torch.full_like(w, START), w], 1)
    tgt_out = torch.stack([w, torch.full_like(w, END)], 1)
    with _one_thread():
        torch.manual_seed(int(seed))
        opt = torch.optim.Adam(decoder.parameters(), lr=lr)
        losses = []
        decoder.train()
        for _ in range(int(steps)):
            logits = decoder(f, tgt_in)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
        decoder.eval()
        with torch.no_grad():
            ft = torch.as_tensor(np.asarray(test_features), dtype=torch.float32, device=dev)
            logits, _ = decoder.step(ft, torch.full((len(ft),), START, dtype=torch.int64, device=dev),
                                     decoder.init_state(ft))
            predicted = logits.argmax(-1).cpu().numpy()
    return {"losses": np.array(losses), "predicted": predicted}
