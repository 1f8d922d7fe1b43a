"""Planted bugs and correct alternatives for chapter 7's exercises.

Tables keyed by a label, each entry ``(answer cell, source)``:

* ``BUGS``: plausible student mistakes, at most two per answer cell; grading a submission
  with them must cost exactly their exercises' points (tests/test_grading.py);
* ``MORE_BUGS``: one per promise of a docstring the checks settle (dtypes, arguments left
  alone, defaults, ties to the lowest id, the exceptions, the rows fed to step_fn), caught
  in-process (tests/test_checks_ch07.py) and compared notebook-vs-grader (tests/test_verdicts.py);
* ``ALTERNATIVES``: correct solutions written differently from the notebook's; they must pass.

Every source imports what it uses, so it runs in the notebook's namespace or alone.
"""


def _edit(src: str, *edits: tuple[str, str]) -> str:
    """``src`` with some text replaced (each old text must occur exactly once)."""
    for old, new in edits:
        assert src.count(old) == 1, old
        src = src.replace(old, new)
    return src


_HEAD = '''
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

PAD, START, END = 0, 1, 2
'''


# --------------------------------------------------------------------------- ConvEncoder
_ENC = _HEAD + '''

class ConvEncoder(nn.Module):
    def __init__(self, in_channels=3, channels=(16, 32, 64), feature_size=64):
        super().__init__()
        self.in_channels = in_channels
        layers, c = [], in_channels
        for out in channels:
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = out
        self.cnn = nn.Sequential(*layers)
        self.factor = 2 ** len(channels)
        self.proj = nn.Linear(c, feature_size)

    def forward(self, images):
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(f"images must be (N, {self.in_channels}, H, W), got {tuple(images.shape)}")
        if images.shape[2] % self.factor or images.shape[3] % self.factor:
            raise ValueError(f"H and W must be divisible by {self.factor}")
        maps = self.cnn(images)                                # (N, C, h, w)
        grid = self.proj(maps.flatten(2).transpose(1, 2))      # (N, h*w, D), row-major cells
        return grid, grid.mean(dim=1)
'''


# --------------------------------------------------------------------------- CaptionDecoder
_DEC = _HEAD + '''

class CaptionDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, feature_size, inject="init"):
        super().__init__()
        if inject not in ("init", "input"):
            raise ValueError(f"inject must be 'init' or 'input', got {inject!r}")
        self.inject, self.hidden_size = inject, hidden_size
        self.embed = nn.Embedding(vocab_size, embed_size)
        in_size = embed_size + (feature_size if inject == "input" else 0)
        self.lstm = nn.LSTM(in_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, vocab_size)
        if inject == "init":
            self.W_h = nn.Linear(feature_size, hidden_size)
            self.W_c = nn.Linear(feature_size, hidden_size)

    def init_state(self, features):
        if self.inject == "init":
            return torch.tanh(self.W_h(features)).unsqueeze(0), torch.tanh(self.W_c(features)).unsqueeze(0)
        zeros = features.new_zeros(1, features.shape[0], self.hidden_size)
        return zeros, zeros.clone()

    def _read(self, features, tokens):
        x = self.embed(tokens)                                     # (N, T, E)
        if self.inject == "input":
            x = torch.cat([x, features.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=2)
        return x

    def forward(self, features, tgt_in):
        out, _ = self.lstm(self._read(features, tgt_in), self.init_state(features))
        return self.out(out)

    def step(self, features, tokens, state):
        out, state = self.lstm(self._read(features, tokens.unsqueeze(1)), state)
        return self.out(out[:, 0]), state
'''


# --------------------------------------------------------------------------- temporal_softmax_loss
_LOSS = _HEAD + '''

def temporal_softmax_loss(logits, targets, mask, reduction="caption"):
    if reduction not in ("caption", "token"):
        raise ValueError(f"reduction must be 'caption' or 'token', got {reduction!r}")
    if logits.dim() != 3 or targets.shape != logits.shape[:2] or mask.shape != logits.shape[:2]:
        raise ValueError("logits must be (N, T, V), targets and mask (N, T)")
    if not mask.any():
        raise ValueError("the mask has no real step")
    nll = F.cross_entropy(logits[mask], targets[mask], reduction="sum")
    return nll / logits.shape[0] if reduction == "caption" else nll / mask.sum()
'''


# --------------------------------------------------------------------------- sample_captions
_SAMPLE = _HEAD + '''

def sample_captions(step_fn, init_state, batch_size, max_len, *, temperature=1.0, rng=None):
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    if max_len < 1:
        raise ValueError("max_len must be >= 1")

    def select(state, rows):
        if isinstance(state, (tuple, list)):
            return type(state)(select(s, rows) for s in state)
        return state.index_select(1, rows.to(state.device))

    def first_tensor(state):
        if isinstance(state, (tuple, list)):
            return next((t for t in map(first_tensor, state) if t is not None), None)
        return state

    device = first_tensor(init_state).device
    tokens = torch.zeros(batch_size, max_len, dtype=torch.int64, device=device)
    lengths = torch.full((batch_size,), max_len, dtype=torch.int64, device=device)
    rows = torch.arange(batch_size, device=device)   # the unfinished rows
    prev = torch.full((batch_size,), START, dtype=torch.int64, device=device)
    state = init_state
    for t in range(max_len):
        log_probs, state = step_fn(prev, state)
        log_probs = log_probs.detach().double()
        if temperature == 0:
            word = log_probs.argmax(dim=1)
        else:
            probs = torch.softmax(log_probs / temperature, dim=1).cpu()
            word = torch.multinomial(probs, 1, generator=rng)[:, 0].to(device)
        tokens[rows, t] = word
        ended = word == END
        lengths[rows[ended]] = t + 1
        keep = torch.nonzero(~ended)[:, 0]
        if len(keep) == 0:
            break
        rows, prev, state = rows[keep], word[keep], select(state, keep)
    return tokens, lengths
'''


# --------------------------------------------------------------------------- caption_step_fn
_STEP = _HEAD + '''

def caption_step_fn(decoder, features):
    h, c = decoder.init_state(features)

    def step_fn(tokens_prev, state):
        h, c, f = state
        logits, (h, c) = decoder.step(f[0], tokens_prev, (h, c))
        return F.log_softmax(logits, dim=-1), (h, c, f)

    return step_fn, (h, c, features.unsqueeze(0))
'''


# --------------------------------------------------------------------------- AttentionCaptionDecoder
_ATT = _HEAD + '''

class AttentionCaptionDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, feature_size, attention_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.cell = nn.LSTMCell(embed_size + feature_size, hidden_size)
        self.W_h = nn.Linear(feature_size, hidden_size)
        self.W_c = nn.Linear(feature_size, hidden_size)
        self.W_a = nn.Linear(hidden_size, attention_size)
        self.U_a = nn.Linear(feature_size, attention_size, bias=False)
        self.w = nn.Linear(attention_size, 1, bias=False)
        self.out = nn.Linear(hidden_size, vocab_size)

    def init_state(self, grid):
        mean = grid.mean(dim=1)
        return torch.tanh(self.W_h(mean)), torch.tanh(self.W_c(mean))

    def step(self, grid, tokens, state):
        h, c = state
        scores = self.w(torch.tanh(self.W_a(h).unsqueeze(1) + self.U_a(grid))).squeeze(2)   # (N, L)
        weights = torch.softmax(scores, dim=1)
        z = torch.bmm(weights.unsqueeze(1), grid).squeeze(1)                              # (N, D)
        h, c = self.cell(torch.cat([self.embed(tokens), z], dim=1), (h, c))
        return self.out(h), (h, c), weights

    def forward(self, grid, tgt_in):
        state, logits, weights = self.init_state(grid), [], []
        for t in range(tgt_in.shape[1]):
            lg, state, w = self.step(grid, tgt_in[:, t], state)
            logits.append(lg)
            weights.append(w)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)
'''


# --------------------------------------------------------------------------- attention_maps
_MAPS = _HEAD + '''

def attention_maps(weights, grid_size, image_size):
    gh, gw = grid_size
    H, W = image_size
    if weights.shape[-1] != gh * gw:
        raise ValueError(f"{weights.shape[-1]} weights for a {gh} x {gw} grid")
    if H % gh or W % gw:
        raise ValueError(f"a {H} x {W} image is not divisible into a {gh} x {gw} grid")
    cells = weights.reshape(*weights.shape[:-1], gh, gw)
    if isinstance(weights, np.ndarray):
        return cells.repeat(H // gh, axis=-2).repeat(W // gw, axis=-1)
    return cells.repeat_interleave(H // gh, dim=-2).repeat_interleave(W // gw, dim=-1)
'''


# --------------------------------------------------------------------------- attention_in_box
_BOX = _HEAD + '''

def attention_in_box(weights, grid_size, image_size, boxes):
    weights, boxes = np.asarray(weights), np.asarray(boxes)
    gh, gw = grid_size
    H, W = image_size
    if weights.ndim != 2 or weights.shape[1] != gh * gw or boxes.shape != (len(weights), 4):
        raise ValueError("weights must be (K, gh * gw) and boxes (K, 4)")
    k = weights.argmax(axis=1)
    x = (k % gw + 0.5) * W / gw
    y = (k // gw + 0.5) * H / gh
    x0, y0, x1, y1 = boxes.T
    return (x0 <= x) & (x < x1) & (y0 <= y) & (y < y1)
'''


BUGS = {
    "enc_pooled_max": ("ConvEncoder", _edit(_ENC, ("return grid, grid.mean(dim=1)", "return grid, grid.max(dim=1).values"))),
    "enc_column_major": ("ConvEncoder", _edit(_ENC, ("self.proj(maps.flatten(2).transpose(1, 2))",
                                                     "self.proj(maps.transpose(2, 3).flatten(2).transpose(1, 2))"))),
    "dec_h0_without_tanh": ("CaptionDecoder", _edit(_DEC, ("return torch.tanh(self.W_h(features)).unsqueeze(0),",
                                                           "return self.W_h(features).unsqueeze(0),"))),
    "dec_image_at_first_step_only": ("CaptionDecoder", _edit(_DEC, (
        "x = torch.cat([x, features.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=2)",
        "v = features.unsqueeze(1).expand(-1, x.shape[1], -1).clone()\n            v[:, 1:] = 0\n"
        "            x = torch.cat([x, v], dim=2)"))),
    "loss_mean_over_padded_steps": ("temporal_softmax_loss", _edit(_LOSS, ("else nll / mask.sum()",
                                                                           "else nll / mask.numel()"))),
    "loss_mask_ignored": ("temporal_softmax_loss", _edit(_LOSS, (
        'nll = F.cross_entropy(logits[mask], targets[mask], reduction="sum")',
        'nll = F.cross_entropy(logits.flatten(0, 1), targets.flatten().clamp(0, logits.shape[2] - 1), '
        'reduction="sum")'))),
    "sample_without_temperature": ("sample_captions", _edit(_SAMPLE, (
        "probs = torch.softmax(log_probs / temperature, dim=1).cpu()", "probs = torch.softmax(log_probs, dim=1).cpu()"))),
    "sample_feeds_finished_rows": ("sample_captions", _edit(_SAMPLE, (
        "    for t in range(max_len):\n        log_probs, state = step_fn(prev, state)\n",
        "    done = torch.zeros(batch_size, dtype=torch.bool, device=device)\n"
        "    for t in range(max_len):\n        log_probs, state = step_fn(torch.where(done, PAD, prev), state)\n"
        "        log_probs = log_probs[rows]\n"), (
        "        keep = torch.nonzero(~ended)[:, 0]\n        if len(keep) == 0:\n            break\n"
        "        rows, prev, state = rows[keep], word[keep], select(state, keep)\n",
        "        done[rows[ended]] = True\n        if bool(done.all()):\n            break\n"
        "        keep = torch.nonzero(~ended)[:, 0]\n        rows, prev = rows[keep], prev.scatter(0, rows[keep], word[keep])\n"))),
    "step_fn_features_not_in_state": ("caption_step_fn", _STEP.replace(
        "        h, c, f = state\n        logits, (h, c) = decoder.step(f[0], tokens_prev, (h, c))\n"
        "        return F.log_softmax(logits, dim=-1), (h, c, f)\n\n    return step_fn, (h, c, features.unsqueeze(0))",
        "        h, c = state\n        logits, (h, c) = decoder.step(features, tokens_prev, (h, c))\n"
        "        return F.log_softmax(logits, dim=-1), (h, c)\n\n    return step_fn, (h, c)")),
    "step_fn_logits_not_normalised": ("caption_step_fn", _edit(_STEP, ("return F.log_softmax(logits, dim=-1), (h, c, f)",
                                                                       "return logits, (h, c, f)"))),
    "att_softmax_over_the_batch": ("AttentionCaptionDecoder", _edit(_ATT, ("weights = torch.softmax(scores, dim=1)",
                                                                           "weights = torch.softmax(scores, dim=0)"))),
    "att_context_from_scores": ("AttentionCaptionDecoder", _edit(_ATT, ("z = torch.bmm(weights.unsqueeze(1), grid)",
                                                                        "z = torch.bmm(scores.unsqueeze(1), grid)"))),
    "maps_transposed": ("attention_maps", _edit(_MAPS, ("cells = weights.reshape(*weights.shape[:-1], gh, gw)",
                                                        "cells = weights.reshape(*weights.shape[:-1], gw, gh).swapaxes(-1, -2)"))),
    "box_x_and_y_swapped": ("attention_in_box", _edit(_BOX, ("x = (k % gw + 0.5) * W / gw\n    y = (k // gw + 0.5) * H / gh",
                                                             "y = (k % gw + 0.5) * W / gw\n    x = (k // gw + 0.5) * H / gh"))),
}

MORE_BUGS = {
    "enc_no_channel_check": ("ConvEncoder", _edit(_ENC, ("images.dim() != 4 or images.shape[1] != self.in_channels",
                                                         "images.dim() != 4"))),
    "enc_no_divisibility_check": ("ConvEncoder", _edit(_ENC, (
        '        if images.shape[2] % self.factor or images.shape[3] % self.factor:\n'
        '            raise ValueError(f"H and W must be divisible by {self.factor}")\n', ""))),
    "enc_average_pooling": ("ConvEncoder", _edit(_ENC, ("nn.MaxPool2d(2)", "nn.AvgPool2d(2)"))),
    "enc_no_relu": ("ConvEncoder", _edit(_ENC, ("nn.ReLU(), ", ""))),
    "enc_default_feature_32": ("ConvEncoder", _edit(_ENC, ("feature_size=64)", "feature_size=32)"))),
    "enc_changes_images": ("ConvEncoder", _edit(_ENC, ("maps = self.cnn(images)", "maps = self.cnn(images.clamp_(0, 0.9))"))),
    "dec_default_input": ("CaptionDecoder", _edit(_DEC, ('feature_size, inject="init")', 'feature_size, inject="input")'))),
    "dec_no_inject_check": ("CaptionDecoder", _edit(_DEC, (
        '        if inject not in ("init", "input"):\n            raise ValueError(f"inject must be \'init\' or \'input\', '
        'got {inject!r}")\n', ""))),
    "dec_c0_zeros": ("CaptionDecoder", _edit(_DEC, ("torch.tanh(self.W_c(features)).unsqueeze(0)",
                                                    "torch.zeros_like(self.W_c(features)).unsqueeze(0)"))),
    "dec_step_restarts": ("CaptionDecoder", _edit(_DEC, ("out, state = self.lstm(self._read(features, tokens.unsqueeze(1)), state)",
                                                         "out, state = self.lstm(self._read(features, tokens.unsqueeze(1)), "
                                                         "self.init_state(features))"))),
    "loss_default_token": ("temporal_softmax_loss", _edit(_LOSS, ('mask, reduction="caption")', 'mask, reduction="token")'))),
    "loss_no_reduction_check": ("temporal_softmax_loss", _edit(_LOSS, (
        '    if reduction not in ("caption", "token"):\n        raise ValueError(f"reduction must be \'caption\' or \'token\', '
        'got {reduction!r}")\n', ""))),
    "loss_no_empty_mask_check": ("temporal_softmax_loss", _edit(_LOSS, (
        '    if not mask.any():\n        raise ValueError("the mask has no real step")\n', ""))),
    "loss_no_shape_check": ("temporal_softmax_loss", _edit(_LOSS, (
        '    if logits.dim() != 3 or targets.shape != logits.shape[:2] or mask.shape != logits.shape[:2]:\n'
        '        raise ValueError("logits must be (N, T, V), targets and mask (N, T)")\n', ""))),
    "loss_returns_float": ("temporal_softmax_loss", _edit(_LOSS, (
        'return nll / logits.shape[0] if reduction == "caption" else nll / mask.sum()',
        'return float(nll / logits.shape[0] if reduction == "caption" else nll / mask.sum())'))),
    "loss_multiplies_by_mask": ("temporal_softmax_loss", _edit(_LOSS, (
        'nll = F.cross_entropy(logits[mask], targets[mask], reduction="sum")',
        'nll = (F.cross_entropy(logits.flatten(0, 1), torch.where(mask, targets, 0).flatten(), reduction="none")'
        ' * mask.flatten()).sum()'))),
    "loss_always_float64": ("temporal_softmax_loss", _edit(_LOSS, (
        'return nll / logits.shape[0] if reduction == "caption" else nll / mask.sum()',
        'return (nll / logits.shape[0] if reduction == "caption" else nll / mask.sum()).double()'))),
    "loss_detached": ("temporal_softmax_loss", _edit(_LOSS, ("F.cross_entropy(logits[mask],", "F.cross_entropy(logits[mask].detach(),"))),
    "sample_draws_at_zero": ("sample_captions", _edit(_SAMPLE, ("            word = log_probs.argmax(dim=1)\n",
                                                                "            word = log_probs.argmax(dim=1)\n"
                                                                "            torch.rand(1, generator=rng)\n"))),
    "sample_ties_to_highest_id": ("sample_captions", _edit(_SAMPLE, (
        "            word = log_probs.argmax(dim=1)\n",
        "            word = log_probs.shape[1] - 1 - log_probs.flip(1).argmax(dim=1)\n"))),
    "sample_global_generator": ("sample_captions", _edit(_SAMPLE, ("torch.multinomial(probs, 1, generator=rng)",
                                                                   "torch.multinomial(probs, 1)"))),
    "sample_end_not_counted": ("sample_captions", _edit(_SAMPLE, ("lengths[rows[ended]] = t + 1", "lengths[rows[ended]] = t"))),
    "sample_int32_lengths": ("sample_captions", _edit(_SAMPLE, ("    return tokens, lengths", "    return tokens, lengths.int()"))),
    "sample_no_value_check": ("sample_captions", _edit(_SAMPLE, ('    if temperature < 0:\n        raise ValueError("temperature must be >= 0")\n', ""))),
    "sample_selects_first_tensor_only": ("sample_captions", _edit(_SAMPLE, (
        "        return state.index_select(1, rows.to(state.device))\n\n    def first_tensor",
        "        return state.index_select(1, rows.to(state.device))\n\n"
        "    select_all = select\n\n    def select(state, rows):\n"
        "        if isinstance(state, (tuple, list)):\n            return type(state)([select_all(state[0], rows), *state[1:]])\n"
        "        return select_all(state, rows)\n\n    def first_tensor"))),
    "sample_calls_after_the_end": ("sample_captions", _edit(_SAMPLE, ("        if len(keep) == 0:\n            break\n", ""))),
    "step_fn_changes_features": ("caption_step_fn", _edit(_STEP, ("    h, c = decoder.init_state(features)\n",
                                                                  "    h, c = decoder.init_state(features)\n    features.mul_(2)\n"))),
    "step_fn_float32_state_rows_first": ("caption_step_fn", _edit(_STEP, (
        "        h, c, f = state\n        logits, (h, c) = decoder.step(f[0], tokens_prev, (h, c))\n"
        "        return F.log_softmax(logits, dim=-1), (h, c, f)\n\n    return step_fn, (h, c, features.unsqueeze(0))",
        "        h, c, f = state\n        logits, (h, c) = decoder.step(f, tokens_prev, (h, c))\n"
        "        return F.log_softmax(logits, dim=-1), (h, c, f)\n\n    return step_fn, (h, c, features)"))),
    "att_init_from_first_cell": ("AttentionCaptionDecoder", _edit(_ATT, ("mean = grid.mean(dim=1)", "mean = grid[:, 0]"))),
    "att_U_a_with_bias": ("AttentionCaptionDecoder", _edit(_ATT, ("nn.Linear(feature_size, attention_size, bias=False)",
                                                                  "nn.Linear(feature_size, attention_size)"))),
    "att_query_after_the_cell": ("AttentionCaptionDecoder", _edit(_ATT, (
        "        h, c = self.cell(torch.cat([self.embed(tokens), z], dim=1), (h, c))\n",
        "        h, c = self.cell(torch.cat([self.embed(tokens), z], dim=1), (h, c))\n"
        "        weights = torch.softmax(self.w(torch.tanh(self.W_a(h).unsqueeze(1) + self.U_a(grid))).squeeze(2), dim=1)\n"))),
    "att_state_not_carried": ("AttentionCaptionDecoder", _edit(_ATT, ("lg, state, w = self.step(grid, tgt_in[:, t], state)",
                                                                      "lg, _, w = self.step(grid, tgt_in[:, t], state)"))),
    "maps_numpy_out": ("attention_maps", _edit(_MAPS, ("    cells = weights.reshape(*weights.shape[:-1], gh, gw)\n",
                                                       "    weights = np.asarray(weights)\n"
                                                       "    cells = weights.reshape(*weights.shape[:-1], gh, gw)\n"))),
    "maps_float64": ("attention_maps", _edit(_MAPS, ("return cells.repeat(H // gh, axis=-2).repeat(W // gw, axis=-1)",
                                                     "return cells.repeat(H // gh, axis=-2).repeat(W // gw, axis=-1).astype(np.float64)"))),
    "maps_no_size_check": ("attention_maps", _edit(_MAPS, (
        '    if H % gh or W % gw:\n        raise ValueError(f"a {H} x {W} image is not divisible into a {gh} x {gw} grid")\n', ""))),
    "maps_in_place": ("attention_maps", _edit(_MAPS, ("    cells = weights.reshape(*weights.shape[:-1], gh, gw)\n",
                                                      "    weights *= 1.0 + 1e-7\n    cells = weights.reshape(*weights.shape[:-1], gh, gw)\n"))),
    "box_ties_to_highest_index": ("attention_in_box", _edit(_BOX, ("k = weights.argmax(axis=1)",
                                                                   "k = weights.shape[1] - 1 - weights[:, ::-1].argmax(axis=1)"))),
    "box_x1_inclusive": ("attention_in_box", _edit(_BOX, ("(x < x1)", "(x <= x1)"))),
    "box_y0_exclusive": ("attention_in_box", _edit(_BOX, ("(y0 <= y)", "(y0 < y)"))),
    "box_no_shape_check": ("attention_in_box", _edit(_BOX, (
        '    if weights.ndim != 2 or weights.shape[1] != gh * gw or boxes.shape != (len(weights), 4):\n'
        '        raise ValueError("weights must be (K, gh * gw) and boxes (K, 4)")\n', ""))),
    "box_returns_list": ("attention_in_box", _edit(_BOX, ("return (x0 <= x) & (x < x1) & (y0 <= y) & (y < y1)",
                                                          "return list((x0 <= x) & (x < x1) & (y0 <= y) & (y < y1))"))),
}

ALTERNATIVES = {
    "enc_functional": ("ConvEncoder", _HEAD + '''

class ConvEncoder(nn.Module):
    def __init__(self, in_channels=3, channels=(16, 32, 64), feature_size=64):
        super().__init__()
        sizes = [in_channels, *channels]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, kernel_size=3, padding=1) for a, b in zip(sizes, sizes[1:]))
        self.linear = nn.Linear(sizes[-1], feature_size)

    def forward(self, images):
        n = len(self.convs)
        if images.ndim != 4 or images.shape[1] != self.convs[0].in_channels:
            raise ValueError("images must be (N, in_channels, H, W)")
        if images.shape[-1] % 2 ** n or images.shape[-2] % 2 ** n:
            raise ValueError("H and W must be multiples of 2 ** stages")
        x = images
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), kernel_size=2)
        N, C, h, w = x.shape
        cells = x.permute(0, 2, 3, 1).reshape(N, h * w, C)
        grid = torch.einsum("nlc,dc->nld", cells, self.linear.weight) + self.linear.bias
        return grid, grid.sum(1) / (h * w)
'''),
    "dec_lstm_by_steps": ("CaptionDecoder", _HEAD + '''

class CaptionDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, feature_size, inject="init"):
        super().__init__()
        if inject == "init":
            self.to_h = nn.Linear(feature_size, hidden_size)
            self.to_c = nn.Linear(feature_size, hidden_size)
        elif inject != "input":
            raise ValueError("inject: 'init' or 'input'")
        self.inject, self.H = inject, hidden_size
        self.emb = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.LSTM(embed_size + feature_size * (inject == "input"), hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def init_state(self, features):
        if self.inject == "input":
            return (torch.zeros(1, len(features), self.H, device=features.device, dtype=features.dtype),
                    torch.zeros(1, len(features), self.H, device=features.device, dtype=features.dtype))
        return self.to_h(features).tanh()[None], self.to_c(features).tanh()[None]

    def step(self, features, tokens, state):
        x = self.emb(tokens)
        if self.inject == "input":
            x = torch.cat((x, features), -1)
        out, state = self.rnn(x[:, None], state)
        return self.head(out.squeeze(1)), state

    def forward(self, features, tgt_in):
        state, out = self.init_state(features), []
        for t in range(tgt_in.shape[1]):
            logits, state = self.step(features, tgt_in[:, t], state)
            out.append(logits)
        return torch.stack(out, 1)
'''),
    "loss_log_softmax_gather": ("temporal_softmax_loss", _HEAD + '''

def temporal_softmax_loss(logits, targets, mask, reduction="caption"):
    if reduction not in {"caption", "token"}:
        raise ValueError("unknown reduction")
    if logits.ndim != 3 or tuple(targets.shape) != tuple(logits.shape[:2]) or tuple(mask.shape) != tuple(targets.shape):
        raise ValueError("shapes disagree")
    n_real = mask.sum()
    if n_real == 0:
        raise ValueError("no real step")
    safe_logits = torch.where(mask[..., None], logits, torch.zeros_like(logits))
    safe_targets = torch.where(mask, targets, torch.zeros_like(targets))
    logp = F.log_softmax(safe_logits, dim=-1).gather(-1, safe_targets[..., None]).squeeze(-1)
    total = -torch.where(mask, logp, torch.zeros_like(logp)).sum()
    return total / (logits.shape[0] if reduction == "caption" else n_real)
'''),
    "sample_inverse_cdf": ("sample_captions", _HEAD + '''

def _rows(state, keep):
    if torch.is_tensor(state):
        return state[:, keep]
    return tuple(_rows(s, keep) for s in state)


def sample_captions(step_fn, init_state, batch_size, max_len, *, temperature=1.0, rng=None):
    if max_len < 1 or temperature < 0:
        raise ValueError("max_len >= 1 and temperature >= 0")
    out = [[] for _ in range(batch_size)]
    alive = list(range(batch_size))
    prev = torch.full((batch_size,), START)
    state = init_state
    for t in range(max_len):
        logp, state = step_fn(prev, state)
        logp = logp.detach().cpu().double()
        if temperature == 0:
            best = logp.max(dim=1, keepdim=True).values
            word = (logp == best).int().argmax(dim=1)          # the first maximum
        else:
            p = torch.softmax(logp / temperature, dim=1)
            u = torch.rand(len(alive), 1, generator=rng, dtype=torch.float64)
            cdf = p.cumsum(1)
            word = (cdf < u * cdf[:, -1:]).sum(1).clamp(max=p.shape[1] - 1)
            word = torch.where(p.gather(1, word[:, None])[:, 0] > 0, word, p.argmax(1))
        keep = []
        for j, (row, w) in enumerate(zip(alive, word.tolist())):
            out[row].append(w)
            if w != END:
                keep.append(j)
        if not keep:
            break
        alive = [alive[j] for j in keep]
        keep_t = torch.tensor(keep)
        prev, state = word[keep_t], _rows(state, keep_t)
    tokens = torch.zeros(batch_size, max_len, dtype=torch.long)
    for row, words in enumerate(out):
        tokens[row, :len(words)] = torch.tensor(words, dtype=torch.long)
    lengths = torch.tensor([len(w) for w in out], dtype=torch.long)
    return tokens, lengths
'''),
    "step_fn_nested_state": ("caption_step_fn", _HEAD + '''

def caption_step_fn(decoder, features):
    def step_fn(tokens_prev, state):
        (h, c), feats = state
        logits, hc = decoder.step(feats.squeeze(0), tokens_prev, (h, c))
        return logits - torch.logsumexp(logits, dim=1, keepdim=True), (tuple(hc), feats)

    return step_fn, (tuple(decoder.init_state(features)), features[None].clone())
'''),
    "att_einsum": ("AttentionCaptionDecoder", _HEAD + '''

class AttentionCaptionDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, feature_size, attention_size):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTMCell(embed_size + feature_size, hidden_size)
        self.h0 = nn.Linear(feature_size, hidden_size)
        self.c0 = nn.Linear(feature_size, hidden_size)
        self.query = nn.Linear(hidden_size, attention_size)
        self.key = nn.Linear(feature_size, attention_size, bias=False)
        self.score = nn.Linear(attention_size, 1, bias=False)
        self.logits = nn.Linear(hidden_size, vocab_size)

    def init_state(self, grid):
        v = grid.sum(1) / grid.shape[1]
        return self.h0(v).tanh(), self.c0(v).tanh()

    def step(self, grid, tokens, state):
        h, c = state
        e = torch.einsum("nla,a->nl", torch.tanh(self.query(h)[:, None] + self.key(grid)), self.score.weight[0])
        p = e.softmax(-1)
        z = torch.einsum("nl,nld->nd", p, grid)
        h, c = self.lstm(torch.cat((self.emb(tokens), z), -1), (h, c))
        return self.logits(h), (h, c), p

    def forward(self, grid, tgt_in):
        state = self.init_state(grid)
        logits, weights = [], []
        for x in tgt_in.unbind(1):
            lg, state, p = self.step(grid, x, state)
            logits.append(lg)
            weights.append(p)
        return torch.stack(logits, 1), torch.stack(weights, 1)
'''),
    "maps_kron": ("attention_maps", _HEAD + '''

def attention_maps(weights, grid_size, image_size):
    (gh, gw), (H, W) = grid_size, image_size
    if weights.shape[-1] != gh * gw or H % gh != 0 or W % gw != 0:
        raise ValueError("bad sizes")
    lead = tuple(weights.shape[:-1])
    cells = weights.reshape(lead + (gh, gw))
    if isinstance(weights, np.ndarray):
        return np.kron(cells, np.ones((1,) * len(lead) + (H // gh, W // gw), dtype=weights.dtype))
    return torch.kron(cells, torch.ones((1,) * len(lead) + (H // gh, W // gw), dtype=weights.dtype))
'''),
    "box_unravel": ("attention_in_box", _HEAD + '''

def attention_in_box(weights, grid_size, image_size, boxes):
    gh, gw = grid_size
    H, W = image_size
    if np.ndim(weights) != 2 or np.shape(weights)[1] != gh * gw or np.shape(boxes) != (len(weights), 4):
        raise ValueError("weights (K, gh * gw), boxes (K, 4)")
    hits = np.zeros(len(weights), dtype=bool)
    for i, (w, (x0, y0, x1, y1)) in enumerate(zip(weights, boxes)):
        r, c = np.unravel_index(int(np.argmax(w)), (gh, gw))
        cx, cy = (c + 0.5) * (W / gw), (r + 0.5) * (H / gh)
        hits[i] = x0 <= cx < x1 and y0 <= cy < y1
    return hits
'''),
}
