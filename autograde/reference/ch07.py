"""Reference implementations for chapter 7 (image captioning: a convolutional encoder, an LSTM
decoder conditioned on the image, the masked caption loss, sampling, the step-function bridge
to chapter 6's searches, Show, Attend and Tell's soft attention, attention maps and the
attention hit test).

Instructor tooling: the hidden checks compare students' functions with these.
tests/test_reference_ch07.py tests them against peers: the decoders against ``nn.LSTM`` /
``nn.LSTMCell`` run step by step from the formulas, the loss against ``F.cross_entropy``,
``caption_step_fn`` with exhaustive search (``rnncourse.search.brute_force``).  Not part of
the student package ``rnncourse``.

Conventions: ids ``PAD, START, END = 0, 1, 2`` (chapter 6's ``<pad> <sos> <eos>``); batch
first; a decoder is searched through chapter 6's ``step_fn(tokens_prev (N,), state) ->
(log_probs (N, V), state)`` with every state tensor's rows along dim 1.
"""
from __future__ import annotations

import numpy as np

from rnncourse.search import state_device

PAD, START, END = 0, 1, 2
REDUCTIONS = ("caption", "token")


# --------------------------------------------------------------------------- models
def _torch_models():
    import torch
    from torch import nn

    class ConvEncoder(nn.Module):
        """Stages Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2), then a Linear per cell.

        ``forward(images (N, C, H, W))`` -> ``(grid (N, L, D), pooled (N, D))``, the cells in
        row-major order, ``pooled`` the mean of ``grid`` over the cells.  ValueError for a
        channel count other than ``in_channels`` or H, W not divisible by ``2 ** stages``.
        """

        def __init__(self, in_channels=3, channels=(16, 32, 64), feature_size=64):
            super().__init__()
            self.in_channels = int(in_channels)
            layers, c = [], self.in_channels
            for out in channels:
                layers += [nn.Conv2d(c, int(out), 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
                c = int(out)
            self.stages = nn.Sequential(*layers)
            self.factor = 2 ** len(channels)
            self.proj = nn.Linear(c, int(feature_size))

        def forward(self, images):
            if images.dim() != 4 or images.shape[1] != self.in_channels:
                raise ValueError(f"images must be (N, {self.in_channels}, H, W), got {tuple(images.shape)}")
            H, W = images.shape[2:]
            if H % self.factor or W % self.factor:
                raise ValueError(f"H and W must be divisible by {self.factor}, got {H} x {W}")
            x = self.stages(images)                      # (N, C, H', W')
            grid = self.proj(x.flatten(2).transpose(1, 2))   # (N, H' W', D), row-major cells
            return grid, grid.mean(1)

    class CaptionDecoder(nn.Module):
        """Embedding -> LSTM -> Linear, the image as initial state (``inject="init"``) or as a
        second input at every step (``inject="input"``)."""

        def __init__(self, vocab_size, embed_size, hidden_size, feature_size, inject="init"):
            super().__init__()
            if inject not in ("init", "input"):
                raise ValueError(f"inject must be 'init' or 'input', got {inject!r}")
            self.inject, self.hidden_size = inject, int(hidden_size)
            self.embed = nn.Embedding(vocab_size, embed_size)
            extra = feature_size if inject == "input" else 0
            self.lstm = nn.LSTM(embed_size + extra, hidden_size, batch_first=True)
            if inject == "init":
                self.init_h = nn.Linear(feature_size, hidden_size)
                self.init_c = nn.Linear(feature_size, hidden_size)
            self.out = nn.Linear(hidden_size, vocab_size)

        def init_state(self, features):
            if self.inject == "init":
                return torch.tanh(self.init_h(features))[None], torch.tanh(self.init_c(features))[None]
            z = features.new_zeros(1, features.shape[0], self.hidden_size)
            return z, z.clone()

        def _inputs(self, features, tokens):
            x = self.embed(tokens)                                   # (N, T, E)
            if self.inject == "input":
                x = torch.cat([x, features[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
            return x

        def forward(self, features, tgt_in):
            out, _ = self.lstm(self._inputs(features, tgt_in), self.init_state(features))
            return self.out(out)

        def step(self, features, tokens, state):
            out, state = self.lstm(self._inputs(features, tokens[:, None]), state)
            return self.out(out[:, 0]), state

    class AttentionCaptionDecoder(nn.Module):
        """Show, Attend and Tell: an LSTMCell fed ``[embed(x_t) ; z_t]``, ``z_t`` the
        attention-weighted mean of the grid under the state before the step."""

        def __init__(self, vocab_size, embed_size, hidden_size, feature_size, attention_size):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.cell = nn.LSTMCell(embed_size + feature_size, hidden_size)
            self.init_h = nn.Linear(feature_size, hidden_size)
            self.init_c = nn.Linear(feature_size, hidden_size)
            self.W_a = nn.Linear(hidden_size, attention_size)
            self.U_a = nn.Linear(feature_size, attention_size, bias=False)
            self.w = nn.Linear(attention_size, 1, bias=False)
            self.out = nn.Linear(hidden_size, vocab_size)

        def init_state(self, grid):
            mean = grid.mean(1)
            return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

        def step(self, grid, tokens, state):
            h, c = state
            e = self.w(torch.tanh(self.W_a(h)[:, None, :] + self.U_a(grid)))[..., 0]   # (N, L)
            p = torch.softmax(e, dim=1)
            z = (p[..., None] * grid).sum(1)
            h, c = self.cell(torch.cat([self.embed(tokens), z], dim=-1), (h, c))
            return self.out(h), (h, c), p

        def forward(self, grid, tgt_in):
            state, logits, weights = self.init_state(grid), [], []
            for t in range(tgt_in.shape[1]):
                lg, state, p = self.step(grid, tgt_in[:, t], state)
                logits.append(lg)
                weights.append(p)
            return torch.stack(logits, 1), torch.stack(weights, 1)

    return ConvEncoder, CaptionDecoder, AttentionCaptionDecoder


_MODELS = ("ConvEncoder", "CaptionDecoder", "AttentionCaptionDecoder")


def __getattr__(name):  # the models import torch only when asked for
    if name in _MODELS:
        return dict(zip(_MODELS, _torch_models()))[name]
    raise AttributeError(name)


# --------------------------------------------------------------------------- exercise 3
def temporal_softmax_loss(logits, targets, mask, reduction="caption"):
    """Cross-entropy of the steps where ``mask`` is True: summed per caption and averaged over
    the N captions (``"caption"``) or averaged over all real steps (``"token"``)."""
    import torch

    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if logits.dim() != 3 or targets.shape != logits.shape[:2] or mask.shape != logits.shape[:2]:
        raise ValueError("logits must be (N, T, V), targets and mask (N, T)")
    if not bool(mask.any()):
        raise ValueError("the mask has no real step")
    logp = torch.log_softmax(logits[mask], dim=-1)                    # (M, V), real steps only
    nll = -logp.gather(1, targets[mask][:, None])[:, 0]
    return nll.sum() / logits.shape[0] if reduction == "caption" else nll.mean()


# --------------------------------------------------------------------------- exercise 4
def _select(state, rows):
    if isinstance(state, (tuple, list)):
        return type(state)(_select(s, rows) for s in state)
    return state.index_select(1, rows.to(state.device))


def sample_captions(step_fn, init_state, batch_size, max_len, *, temperature=1.0, rng=None):
    """Sampling (``temperature > 0``) or greedy (``0``) decoding; finished rows are dropped
    from the calls.  Returns ``(tokens (N, max_len) int64, lengths (N,) int64)``."""
    import torch

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    device = state_device(init_state)
    N = int(batch_size)
    tokens = torch.full((N, int(max_len)), PAD, dtype=torch.int64, device=device)
    lengths = torch.full((N,), int(max_len), dtype=torch.int64, device=device)
    live = torch.arange(N, device=device)
    prev = torch.full((N,), START, dtype=torch.int64, device=device)
    state = init_state
    for t in range(int(max_len)):
        logp, state = step_fn(prev, state)
        logp = logp.detach().to(torch.float64)
        if temperature == 0:
            nxt = logp.argmax(dim=1)                       # the first maximum: the lowest id on ties
        else:
            probs = torch.softmax(logp / temperature, dim=1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=rng)[:, 0].to(device)
        tokens[live, t] = nxt
        ended = nxt == END
        lengths[live[ended]] = t + 1
        keep = torch.nonzero(~ended)[:, 0]
        if len(keep) == 0:
            break
        live, prev = live[keep], nxt[keep]
        state = _select(state, keep)
    return tokens, lengths


# --------------------------------------------------------------------------- exercise 5
def caption_step_fn(decoder, features):
    """``(step_fn, init_state)`` for a decoder with ``init_state(features)`` and
    ``step(features, tokens, state)``: the features travel as a third state tensor
    ``(1, N, D)``, so that searches reordering the rows keep each row's image."""
    import torch

    h, c = decoder.init_state(features)

    def step_fn(tokens_prev, state):
        h, c, f = state
        logits, (h, c) = decoder.step(f[0], tokens_prev, (h, c))
        return torch.log_softmax(logits, dim=-1), (h, c, f)

    return step_fn, (h, c, features.unsqueeze(0))


# --------------------------------------------------------------------------- exercise 7
def attention_maps(weights, grid_size, image_size):
    """Each cell's weight over its block of pixels: ``(..., L) -> (..., H, W)``."""
    gh, gw = (int(x) for x in grid_size)
    H, W = (int(x) for x in image_size)
    L = weights.shape[-1]
    if L != gh * gw:
        raise ValueError(f"weights have {L} cells, grid {gh} x {gw} has {gh * gw}")
    if H % gh or W % gw:
        raise ValueError(f"image size {H} x {W} is not divisible by the grid {gh} x {gw}")
    g = weights.reshape(*weights.shape[:-1], gh, gw)
    if isinstance(weights, np.ndarray):
        return g.repeat(H // gh, axis=-2).repeat(W // gw, axis=-1)
    return g.repeat_interleave(H // gh, dim=-2).repeat_interleave(W // gw, dim=-1)


# --------------------------------------------------------------------------- exercise 8
def attention_in_box(weights, grid_size, image_size, boxes):
    """True where the centre of the most-attended cell lies in the box ``(x0, y0, x1, y1)``
    (``x0 <= x < x1``, ``y0 <= y < y1``)."""
    w, b = np.asarray(weights, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    gh, gw = (int(x) for x in grid_size)
    H, W = (int(x) for x in image_size)
    if w.ndim != 2 or w.shape[1] != gh * gw or b.shape != (w.shape[0], 4):
        raise ValueError("weights must be (K, gh * gw) and boxes (K, 4)")
    k = w.argmax(1)
    r, c = k // gw, k % gw
    y, x = (r + 0.5) * H / gh, (c + 0.5) * W / gw
    return (b[:, 0] <= x) & (x < b[:, 2]) & (b[:, 1] <= y) & (y < b[:, 3])
