"""Planted bugs and correct alternatives for chapter 6's exercises.

Tables keyed by a label, each entry ``(answer cell, source)``:

* ``BUGS``: plausible student mistakes, at most two per answer cell; grading a submission
  with them must cost exactly their exercises' points (tests/test_grading.py);
* ``MORE_BUGS``: one per promise of a docstring the checks settle (dtypes, arguments left
  alone, defaults, ties to the lowest id, the exceptions, batched calls), caught in-process
  (tests/test_checks_ch06.py) and compared notebook-vs-grader (tests/test_verdicts.py);
* ``ALTERNATIVES``: correct solutions written differently from the notebook's; they must pass.

Every source imports what it uses (torch, nn, F, math, Counter), so it runs in the
notebook's namespace or alone.
"""


def _edit(src: str, *edits: tuple[str, str]) -> str:
    """``src`` with some text replaced (each old text must occur exactly once)."""
    for old, new in edits:
        assert src.count(old) == 1, old
        src = src.replace(old, new)
    return src


_HEAD = '''
import math
from collections import Counter

import torch
from torch import nn
import torch.nn.functional as F
'''

# --------------------------------------------------------------------------- exercise 1
_ENC = _HEAD + '''

class Encoder(nn.Module):
    def __init__(self, src_vocab, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(src_vocab, embed_size, padding_idx=0)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)

    def forward(self, src, lengths):
        if src.ndim != 2 or lengths.shape != (src.shape[0],):
            raise ValueError("src must be (B, S) and lengths (B,)")
        if int(lengths.min()) < 1 or int(lengths.max()) > src.shape[1]:
            raise ValueError("lengths must lie in 1..S")
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        outputs, state = self.lstm(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])
        return outputs, state
'''

# --------------------------------------------------------------------------- exercise 2
_DEC = _HEAD + '''

class Decoder(nn.Module):
    def __init__(self, tgt_vocab, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(tgt_vocab, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.out = nn.Linear(hidden_size, tgt_vocab)

    def forward(self, tgt_in, state):
        output, new_state = self.lstm(self.embed(tgt_in), state)
        return self.out(output), new_state
'''

# --------------------------------------------------------------------------- exercise 3
_LOSS = _HEAD + '''

def masked_loss(logits, targets, mask):
    if logits.ndim != 3 or targets.shape != logits.shape[:2] or mask.shape != targets.shape:
        raise ValueError("logits must be (B, U, V), targets and mask (B, U)")
    if not bool(mask.any()):
        raise ValueError("the mask selects no position")
    return F.cross_entropy(logits[mask], targets[mask])
'''

# --------------------------------------------------------------------------- exercise 4
_GREEDY = _HEAD + '''

def greedy_decode(step_fn, init_state, batch_size, max_len, sos=1, eos=2):
    if batch_size < 1 or max_len < 1:
        raise ValueError("batch_size and max_len must be >= 1")
    first = init_state
    while isinstance(first, (tuple, list)):
        first = first[0]
    device = first.device
    prev = torch.full((batch_size,), sos, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch_size, dtype=torch.long, device=device)
    state, columns = init_state, []
    for _ in range(max_len):
        log_probs, state = step_fn(prev, state)
        tok = log_probs.argmax(dim=-1).to(device)
        tok = torch.where(done, torch.zeros_like(tok), tok)
        columns.append(tok)
        lengths = lengths + (~done).long()
        done = done | (tok == eos)
        if bool(done.all()):
            break
        prev = tok
    return torch.stack(columns, dim=1), lengths
'''

# --------------------------------------------------------------------------- exercise 5
_BEAM = _HEAD + '''
from rnncourse.search import length_penalty


def beam_search(step_fn, init_state, beam_size, max_len, sos=1, eos=2, alpha=0.0, penalty="length"):
    K = int(beam_size)
    if K < 1 or max_len < 1:
        raise ValueError("beam_size and max_len must be >= 1")
    final = length_penalty(max_len, alpha, penalty)        # ValueError for alpha < 0 or an unknown penalty
    first = init_state
    while isinstance(first, (tuple, list)):
        first = first[0]
    B, device = first.shape[1], first.device

    def score(x, t):
        return x / length_penalty(t, alpha, penalty)

    def select(state, rows):
        if isinstance(state, (tuple, list)):
            return type(state)(select(s, rows) for s in state)
        return state.index_select(1, rows.to(state.device))

    state = select(init_state, torch.arange(B, device=device).repeat_interleave(K))
    prev = torch.full((B * K,), sos, dtype=torch.long, device=device)
    lp = torch.full((B, K), -math.inf, dtype=torch.float64, device=device)
    lp[:, 0] = 0.0
    hist = [[()] * K for _ in range(B)]
    pools = [[] for _ in range(B)]
    stopped = [False] * B
    for t in range(1, max_len + 1):
        logp, state = step_fn(prev, state)
        V = logp.shape[-1]
        cand = (lp[:, :, None] + logp.to(device=device, dtype=torch.float64).view(B, K, V)).view(B, K * V)
        vals, idx = torch.sort(cand, dim=1, descending=True, stable=True)
        vals, idx = vals.tolist(), idx.tolist()
        rows, new_prev, new_lp, new_hist = [], [], [], []
        for b in range(B):
            live = []
            for r, (x, i) in enumerate(zip(vals[b], idx[b])):
                if stopped[b] or not math.isfinite(x) or len(live) == K:
                    break
                parent, tok = divmod(i, V)
                tokens = hist[b][parent] + (tok,)
                if tok != eos:
                    live.append((parent, tok, x, tokens))
                elif r < K:
                    pools[b].append((tokens, x, score(x, t)))
            if t == max_len:
                pools[b] += [(tokens, x, score(x, t)) for _, _, x, tokens in live]
            pools[b] = sorted(pools[b], key=lambda h: (-h[2], h[0]))[:K]
            if not live or (len(pools[b]) == K and pools[b][-1][2] > live[0][2] / final):
                stopped[b] = True
            live += [(0, 0, -math.inf, ())] * (K - len(live))
            rows += [b * K + p for p, _, _, _ in live]
            new_prev += [tok for _, tok, _, _ in live]
            new_lp.append([x for _, _, x, _ in live])
            new_hist.append([tokens for _, _, _, tokens in live])
        if t == max_len or all(stopped):
            break
        state = select(state, torch.tensor(rows, device=device))
        prev = torch.tensor(new_prev, dtype=torch.long, device=device)
        lp = torch.tensor(new_lp, dtype=torch.float64, device=device)
        hist = new_hist
    return pools
'''

# --------------------------------------------------------------------------- exercise 6
_ATT = _HEAD + '''

class AttentionDecoder(nn.Module):
    def __init__(self, tgt_vocab, embed_size, hidden_size, num_layers=1, score="general"):
        super().__init__()
        if score not in ("dot", "general", "additive"):
            raise ValueError(f"unknown score {score!r}")
        self.score = score
        H = hidden_size
        self.embed = nn.Embedding(tgt_vocab, embed_size)
        self.lstm = nn.LSTM(embed_size, H, num_layers, batch_first=True)
        if score == "general":
            self.W_a = nn.Linear(H, H, bias=False)
        if score == "additive":
            self.W_q = nn.Linear(H, H, bias=False)
            self.W_k = nn.Linear(H, H, bias=False)
            self.v = nn.Linear(H, 1, bias=False)
        self.W_c = nn.Linear(2 * H, H)
        self.out = nn.Linear(H, tgt_vocab)

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        d, state = self.lstm(self.embed(tgt_in), state)
        if self.score == "dot":
            a = torch.bmm(d, enc_outputs.transpose(1, 2))
        elif self.score == "general":
            a = torch.bmm(d, self.W_a(enc_outputs).transpose(1, 2))
        else:
            a = self.v(torch.tanh(self.W_q(d).unsqueeze(2) + self.W_k(enc_outputs).unsqueeze(1))).squeeze(-1)
        a = a.masked_fill(~src_mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(a, dim=-1)
        context = torch.bmm(weights, enc_outputs)
        return self.out(torch.tanh(self.W_c(torch.cat([context, d], dim=-1)))), state, weights
'''

# --------------------------------------------------------------------------- exercise 7
_BLEU = _HEAD + '''

def corpus_bleu(hyps, refs, max_order=4):
    if len(hyps) != len(refs) or len(hyps) == 0:
        raise ValueError("hyps and refs must be non-empty lists of one length")
    matches, totals = [0] * max_order, [0] * max_order
    h_len = r_len = 0
    for hyp, ref in zip(hyps, refs):
        h, r = hyp.split(), ref.split()
        h_len, r_len = h_len + len(h), r_len + len(r)
        for n in range(1, max_order + 1):
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            totals[n - 1] += sum(hc.values())
            matches[n - 1] += sum((hc & rc).values())
    if h_len == 0 or min(totals) == 0 or max(matches) == 0:
        return 0.0
    log_p, k = 0.0, 0
    for c, t in zip(matches, totals):
        if c == 0:
            k += 1
            log_p += math.log(100.0 / (2 ** k * t))
        else:
            log_p += math.log(100.0 * c / t)
    bp = 1.0 if h_len >= r_len else math.exp(1 - r_len / h_len)
    return bp * math.exp(log_p / max_order)
'''


BUGS = {
    "enc_no_packing": ("Encoder", _edit(
        _ENC, ("        packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), lengths.cpu(), batch_first=True,\n"
               "                                                   enforce_sorted=False)\n"
               "        outputs, state = self.lstm(packed)\n"
               "        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])\n",
               "        outputs, state = self.lstm(self.embed(src))\n"))),
    "enc_no_total_length": ("Encoder", _edit(_ENC, (", total_length=src.shape[1])", ")"))),
    "dec_ignores_state": ("Decoder", _edit(_DEC, ("self.lstm(self.embed(tgt_in), state)", "self.lstm(self.embed(tgt_in))"))),
    "dec_returns_input_state": ("Decoder", _edit(_DEC, ("return self.out(output), new_state",
                                                        "return self.out(output), state"))),
    "loss_multiplies_by_mask": ("masked_loss", _edit(
        _LOSS, ("    return F.cross_entropy(logits[mask], targets[mask])\n",
                "    logp = torch.log_softmax(logits, dim=-1)\n"
                "    nll = -logp.gather(-1, targets.clamp(0, logits.shape[-1] - 1)[..., None])[..., 0]\n"
                "    return (nll * mask).sum() / mask.sum()\n"))),
    "loss_mean_of_sequence_means": ("masked_loss", _edit(
        _LOSS, ("    return F.cross_entropy(logits[mask], targets[mask])\n",
                "    nll = torch.zeros(mask.shape, dtype=logits.dtype)\n"
                "    nll[mask] = F.cross_entropy(logits[mask], targets[mask], reduction='none')\n"
                "    keep = mask.any(1)\n"
                "    return (nll.sum(1)[keep] / mask.sum(1)[keep]).mean()\n"))),
    "greedy_no_zeros_after_eos": ("greedy_decode", _edit(
        _GREEDY, ("        tok = torch.where(done, torch.zeros_like(tok), tok)\n", ""))),
    "greedy_eos_not_counted": ("greedy_decode", _edit(
        _GREEDY, ("lengths = lengths + (~done).long()", "lengths = lengths + (~done & (tok != eos)).long()"))),
    "beam_no_length_normalisation": ("beam_search", _edit(
        _BEAM, ("        return x / length_penalty(t, alpha, penalty)\n", "        return x\n"))),
    "beam_finished_kept_growing": ("beam_search", _edit(
        _BEAM, ("                if tok != eos:\n                    live.append((parent, tok, x, tokens))\n"
                "                elif r < K:\n",
                "                live.append((parent, tok, x, tokens))\n"
                "                if tok == eos and r < K:\n"))),
    "att_over_padding": ("AttentionDecoder", _edit(
        _ATT, ('        a = a.masked_fill(~src_mask.unsqueeze(1), float("-inf"))\n', ""))),
    "att_softmax_over_targets": ("AttentionDecoder", _edit(_ATT, ("torch.softmax(a, dim=-1)", "torch.softmax(a, dim=1)"))),
    "bleu_no_brevity_penalty": ("corpus_bleu", _edit(
        _BLEU, ("bp = 1.0 if h_len >= r_len else math.exp(1 - r_len / h_len)", "bp = 1.0"))),
    "bleu_no_clipping": ("corpus_bleu", _edit(
        _BLEU, ("matches[n - 1] += sum((hc & rc).values())", "matches[n - 1] += sum(c for g, c in hc.items() if g in rc)"))),
}

MORE_BUGS = {
    # exercise 1
    "enc_sorted_packing": ("Encoder", _edit(_ENC, ("enforce_sorted=False", "enforce_sorted=True"))),
    "enc_no_length_check": ("Encoder", _edit(
        _ENC, ('        if int(lengths.min()) < 1 or int(lengths.max()) > src.shape[1]:\n'
               '            raise ValueError("lengths must lie in 1..S")\n', ""))),
    "enc_no_shape_check": ("Encoder", _edit(
        _ENC, ('        if src.ndim != 2 or lengths.shape != (src.shape[0],):\n'
               '            raise ValueError("src must be (B, S) and lengths (B,)")\n', ""))),
    "enc_state_swapped": ("Encoder", _edit(_ENC, ("        return outputs, state\n",
                                                  "        return outputs, (state[1], state[0])\n"))),
    "enc_returns_h_only": ("Encoder", _edit(_ENC, ("        return outputs, state\n", "        return outputs, state[0]\n"))),
    "enc_default_two_layers": ("Encoder", _edit(_ENC, ("hidden_size, num_layers=1)", "hidden_size, num_layers=2)"))),
    # exercise 2
    "dec_state_swapped": ("Decoder", _edit(_DEC, ("return self.out(output), new_state",
                                                  "return self.out(output), (new_state[1], new_state[0])"))),
    "dec_last_position_only": ("Decoder", _edit(_DEC, ("return self.out(output), new_state",
                                                       "return self.out(output[:, -1:]), new_state"))),
    "dec_default_two_layers": ("Decoder", _edit(_DEC, ("hidden_size, num_layers=1)", "hidden_size, num_layers=2)"))),
    # exercise 3
    "loss_no_empty_mask_check": ("masked_loss", _edit(
        _LOSS, ('    if not bool(mask.any()):\n        raise ValueError("the mask selects no position")\n', ""))),
    "loss_no_shape_check": ("masked_loss", _edit(
        _LOSS, ("    if logits.ndim != 3 or targets.shape != logits.shape[:2] or mask.shape != targets.shape:\n"
                '        raise ValueError("logits must be (B, U, V), targets and mask (B, U)")\n', ""))),
    "loss_returns_float": ("masked_loss", _edit(_LOSS, ("return F.cross_entropy(logits[mask], targets[mask])",
                                                        "return F.cross_entropy(logits[mask], targets[mask]).item()"))),
    "loss_always_float64": ("masked_loss", _edit(_LOSS, ("return F.cross_entropy(logits[mask], targets[mask])",
                                                         "return F.cross_entropy(logits[mask].double(), targets[mask])"))),
    "loss_detached": ("masked_loss", _edit(_LOSS, ("F.cross_entropy(logits[mask],", "F.cross_entropy(logits[mask].detach(),"))),
    "loss_sum": ("masked_loss", _edit(_LOSS, ("targets[mask])", "targets[mask], reduction='sum')"))),
    "loss_clears_logits_in_place": ("masked_loss", _edit(
        _LOSS, ("    return F.cross_entropy(", "    logits[~mask] = 0.0\n    return F.cross_entropy("))),
    # exercise 4
    "greedy_runs_to_max_len": ("greedy_decode", _edit(_GREEDY, ("        if bool(done.all()):\n            break\n", ""))),
    "greedy_ties_to_highest_id": ("greedy_decode", _edit(
        _GREEDY, ("tok = log_probs.argmax(dim=-1).to(device)",
                  "tok = (log_probs.shape[-1] - 1 - log_probs.flip(-1).argmax(dim=-1)).to(device)"))),
    "greedy_float_lengths": ("greedy_decode", _edit(_GREEDY, ("return torch.stack(columns, dim=1), lengths",
                                                               "return torch.stack(columns, dim=1), lengths.float()"))),
    "greedy_no_value_check": ("greedy_decode", _edit(
        _GREEDY, ('    if batch_size < 1 or max_len < 1:\n        raise ValueError("batch_size and max_len must be >= 1")\n',
                  ""))),
    "greedy_eos_hard_coded": ("greedy_decode", _edit(_GREEDY, ("done = done | (tok == eos)", "done = done | (tok == 2)"))),
    "greedy_sos_hard_coded": ("greedy_decode", _edit(_GREEDY, ("(batch_size,), sos,", "(batch_size,), 1,"))),
    "greedy_int32_tokens": ("greedy_decode", _edit(_GREEDY, ("return torch.stack(columns, dim=1), lengths",
                                                              "return torch.stack(columns, dim=1).int(), lengths"))),
    # exercise 5
    "beam_eos_counted_twice": ("beam_search", _edit(_BEAM, ("return x / length_penalty(t, alpha, penalty)",
                                                            "return x / length_penalty(t + 1, alpha, penalty)"))),
    "beam_pool_by_log_prob": ("beam_search", _edit(_BEAM, ("key=lambda h: (-h[2], h[0])", "key=lambda h: (-h[1], h[0])"))),
    "beam_pool_unsorted_ties": ("beam_search", _edit(_BEAM, ("key=lambda h: (-h[2], h[0])", "key=lambda h: -h[2]"))),
    "beam_no_cut_at_max_len": ("beam_search", _edit(
        _BEAM, ("            if t == max_len:\n                pools[b] += [(tokens, x, score(x, t)) for _, _, x, tokens in live]\n",
                ""))),
    "beam_float32": ("beam_search", _edit(
        _BEAM, ("lp = torch.full((B, K), -math.inf, dtype=torch.float64", "lp = torch.full((B, K), -math.inf, dtype=torch.float32"),
        ("logp.to(device=device, dtype=torch.float64)", "logp.to(device=device, dtype=torch.float32)"),
        ("lp = torch.tensor(new_lp, dtype=torch.float64", "lp = torch.tensor(new_lp, dtype=torch.float32"))),
    "beam_item_by_item": ("beam_search", _edit(_BEAM, ("def beam_search(", "def _beam_search(")) + '''

def beam_search(step_fn, init_state, beam_size, max_len, sos=1, eos=2, alpha=0.0, penalty="length"):
    B = init_state.shape[1]
    return [_beam_search(step_fn, init_state.index_select(1, torch.tensor([b])), beam_size, max_len, sos, eos,
                         alpha, penalty)[0] for b in range(B)]
'''),
    "beam_no_size_check": ("beam_search", _edit(
        _BEAM, ('    if K < 1 or max_len < 1:\n        raise ValueError("beam_size and max_len must be >= 1")\n', ""))),
    "beam_default_alpha_one": ("beam_search", _edit(_BEAM, ("alpha=0.0, penalty", "alpha=1.0, penalty"))),
    "beam_ties_to_last_parent": ("beam_search", _edit(
        _BEAM, ("vals, idx = torch.sort(cand, dim=1, descending=True, stable=True)",
                "vals, idx = torch.sort(cand.flip(1), dim=1, descending=True, stable=True)\n"
                "        idx = K * V - 1 - idx"))),
    "beam_pool_keeps_all": ("beam_search", _edit(_BEAM, ("key=lambda h: (-h[2], h[0]))[:K]", "key=lambda h: (-h[2], h[0]))"))),
    # exercise 6
    "att_no_score_check": ("AttentionDecoder", _edit(
        _ATT, ('        if score not in ("dot", "general", "additive"):\n'
               '            raise ValueError(f"unknown score {score!r}")\n', ""))),
    "att_default_dot": ("AttentionDecoder", _edit(_ATT, ('num_layers=1, score="general"', 'num_layers=1, score="dot"'))),
    "att_context_ignored": ("AttentionDecoder", _edit(_ATT, ("torch.cat([context, d], dim=-1)",
                                                             "torch.cat([torch.zeros_like(context), d], dim=-1)"))),
    "att_mask_after_softmax": ("AttentionDecoder", _edit(
        _ATT, ('        a = a.masked_fill(~src_mask.unsqueeze(1), float("-inf"))\n', ""),
        ("weights = torch.softmax(a, dim=-1)", "weights = torch.softmax(a, dim=-1) * src_mask.unsqueeze(1)"))),
    "att_ignores_state": ("AttentionDecoder", _edit(_ATT, ("self.lstm(self.embed(tgt_in), state)",
                                                           "self.lstm(self.embed(tgt_in))"))),
    # exercise 7
    "bleu_no_smoothing": ("corpus_bleu", _edit(
        _BLEU, ("            k += 1\n            log_p += math.log(100.0 / (2 ** k * t))\n", "            return 0.0\n"))),
    "bleu_fraction": ("corpus_bleu", _edit(_BLEU, ("return bp * math.exp(log_p / max_order)",
                                                   "return bp * math.exp(log_p / max_order) / 100"))),
    "bleu_sentence_average": ("corpus_bleu", _edit(_BLEU, ("def corpus_bleu(hyps, refs, max_order=4):", "def _corpus(hyps, refs, max_order=4):")) + '''

def corpus_bleu(hyps, refs, max_order=4):
    if len(hyps) != len(refs) or len(hyps) == 0:
        raise ValueError("hyps and refs must be non-empty lists of one length")
    return sum(_corpus([h], [r], max_order) for h, r in zip(hyps, refs)) / len(hyps)
'''),
    "bleu_no_length_check": ("corpus_bleu", _edit(_BLEU, ("len(hyps) != len(refs) or len(hyps) == 0", "False"))),
    "bleu_max_order_ignored": ("corpus_bleu", _edit(_BLEU, ("def corpus_bleu(hyps, refs, max_order=4):\n",
                                                            "def corpus_bleu(hyps, refs, max_order=4):\n    max_order = 4\n"))),
    # the stopping rule (5) fixes how often step_fn is called: running on to max_len is too many calls
    "beam_no_early_stop": ("beam_search", _edit(
        _BEAM, ("if not live or (len(pools[b]) == K and pools[b][-1][2] > live[0][2] / final):", "if not live:"))),
}

ALTERNATIVES = {
    "enc_each_sequence_alone": ("Encoder", _HEAD + '''

class Encoder(nn.Module):
    """Runs each sequence alone, unpadded: slow but correct."""
    def __init__(self, src_vocab, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.emb = nn.Embedding(src_vocab, embed_size)
        self.rnn = nn.LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.hidden_size = hidden_size

    def forward(self, src, lengths):
        if src.dim() != 2 or lengths.dim() != 1 or len(lengths) != len(src):
            raise ValueError("src (B, S), lengths (B,)")
        B, S = src.shape
        if ((lengths < 1) | (lengths > S)).any():
            raise ValueError("lengths in 1..S")
        outputs = torch.zeros(B, S, self.hidden_size, device=src.device)
        hs, cs = [], []
        for b in range(B):
            n = int(lengths[b])
            y, (h, c) = self.rnn(self.emb(src[b:b + 1, :n]))
            outputs[b, :n] = y[0]
            hs.append(h)
            cs.append(c)
        return outputs, (torch.cat(hs, dim=1), torch.cat(cs, dim=1))
'''),
    "enc_packed": ("Encoder", _ENC),
    "dec_cells": ("Decoder", _HEAD + '''

class Decoder(nn.Module):
    """One nn.LSTMCell per layer, a loop over positions."""
    def __init__(self, tgt_vocab, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.emb = nn.Embedding(tgt_vocab, embed_size)
        self.cells = nn.ModuleList(nn.LSTMCell(embed_size if k == 0 else hidden_size, hidden_size)
                                   for k in range(num_layers))
        self.proj = nn.Linear(hidden_size, tgt_vocab)

    def forward(self, tgt_in, state):
        h, c = list(state[0].unbind(0)), list(state[1].unbind(0))
        outs = []
        for u in range(tgt_in.shape[1]):
            x = self.emb(tgt_in[:, u])
            for k, cell in enumerate(self.cells):
                h[k], c[k] = cell(x, (h[k], c[k]))
                x = h[k]
            outs.append(self.proj(x))
        return torch.stack(outs, dim=1), (torch.stack(h), torch.stack(c))
'''),
    "dec_lstm": ("Decoder", _DEC),
    "loss_masked_fill_gather": ("masked_loss", _HEAD + '''

def masked_loss(logits, targets, mask):
    if logits.dim() != 3 or tuple(targets.shape) != tuple(logits.shape[:2]) or tuple(mask.shape) != tuple(targets.shape):
        raise ValueError("shapes")
    if mask.sum() == 0:
        raise ValueError("empty mask")
    clean = logits.masked_fill(~mask[..., None], 0.0)          # no NaN reaches the softmax
    logp = torch.log_softmax(clean, dim=-1)
    nll = -logp.gather(-1, targets.masked_fill(~mask, 0)[..., None])[..., 0]
    return nll[mask].sum() / mask.sum()
'''),
    "loss_ignore_index": ("masked_loss", _HEAD + '''

def masked_loss(logits, targets, mask):
    if logits.ndim != 3 or targets.shape != logits.shape[:2] or mask.shape != targets.shape:
        raise ValueError("shapes")
    if not mask.any():
        raise ValueError("empty mask")
    clean = torch.where(mask[..., None], logits, torch.zeros((), dtype=logits.dtype))
    return F.cross_entropy(clean.transpose(1, 2), targets.masked_fill(~mask, -100), ignore_index=-100)
'''),
    "greedy_python_rows": ("greedy_decode", _HEAD + '''

def greedy_decode(step_fn, init_state, batch_size, max_len, sos=1, eos=2):
    """One step_fn call per step for the whole batch; the bookkeeping row by row in Python."""
    if batch_size < 1 or max_len < 1:
        raise ValueError("batch_size and max_len must be >= 1")
    first = init_state
    while isinstance(first, (tuple, list)):
        first = first[0]
    device = first.device
    rows = [[] for _ in range(batch_size)]
    finished = [False] * batch_size
    prev, state = [sos] * batch_size, init_state
    for _ in range(max_len):
        log_probs, state = step_fn(torch.tensor(prev, dtype=torch.int64, device=device), state)
        lp = log_probs.detach().cpu().tolist()
        for i in range(batch_size):
            if finished[i]:
                prev[i] = 0
                continue
            best = max(range(len(lp[i])), key=lambda v: (lp[i][v], -v))
            rows[i].append(best)
            prev[i] = best
            finished[i] = best == eos
        if all(finished):
            break
    T = max(len(r) for r in rows)
    tokens = torch.zeros(batch_size, T, dtype=torch.int64, device=device)
    for i, r in enumerate(rows):
        tokens[i, :len(r)] = torch.tensor(r, dtype=torch.int64)
    return tokens, torch.tensor([len(r) for r in rows], dtype=torch.int64, device=device)
'''),
    "greedy_tensors": ("greedy_decode", _GREEDY),
    "beam_lists": ("beam_search", _BEAM),
    "beam_heap_pool": ("beam_search", _edit(
        _BEAM, ("            pools[b] = sorted(pools[b], key=lambda h: (-h[2], h[0]))[:K]\n",
                "            import heapq\n"
                "            pools[b] = heapq.nsmallest(K, pools[b], key=lambda h: (-h[2], h[0]))\n"))),
    "att_einsum": ("AttentionDecoder", _HEAD + '''

class AttentionDecoder(nn.Module):
    def __init__(self, tgt_vocab, embed_size, hidden_size, num_layers=1, score="general"):
        super().__init__()
        if score not in {"dot", "general", "additive"}:
            raise ValueError(score)
        self.kind, H = score, hidden_size
        self.emb = nn.Embedding(tgt_vocab, embed_size)
        self.rnn = nn.LSTM(embed_size, H, num_layers=num_layers, batch_first=True)
        self.Wa = nn.Parameter(torch.randn(H, H) / H ** 0.5) if score == "general" else None
        if score == "additive":
            self.Wq, self.Wk = nn.Parameter(torch.randn(H, H) / H ** 0.5), nn.Parameter(torch.randn(H, H) / H ** 0.5)
            self.va = nn.Parameter(torch.randn(H) / H ** 0.5)
        self.Wc = nn.Linear(2 * H, H)
        self.head = nn.Linear(H, tgt_vocab)

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        d, state = self.rnn(self.emb(tgt_in), state)
        if self.kind == "dot":
            a = torch.einsum("buh,bsh->bus", d, enc_outputs)
        elif self.kind == "general":
            a = torch.einsum("buh,hk,bsk->bus", d, self.Wa, enc_outputs)
        else:
            q = torch.einsum("buh,kh->buk", d, self.Wq)
            k = torch.einsum("bsh,kh->bsk", enc_outputs, self.Wk)
            a = torch.einsum("busk,k->bus", torch.tanh(q[:, :, None] + k[:, None]), self.va)
        a = torch.where(src_mask[:, None, :], a, torch.full_like(a, float("-inf")))
        w = a.softmax(-1)
        ctx = torch.einsum("bus,bsh->buh", w, torch.where(src_mask[..., None], enc_outputs, torch.zeros_like(enc_outputs)))
        return self.head(torch.tanh(self.Wc(torch.cat((ctx, d), -1)))), state, w
'''),
    "att_bmm": ("AttentionDecoder", _ATT),
    "bleu_dicts": ("corpus_bleu", _HEAD + '''

def corpus_bleu(hyps, refs, max_order=4):
    if not hyps or len(hyps) != len(refs):
        raise ValueError("hyps and refs: non-empty, same length")
    stats = {n: [0, 0] for n in range(1, max_order + 1)}          # n -> [clipped matches, hypothesis n-grams]
    hyp_len = sum(len(h.split()) for h in hyps)
    ref_len = sum(len(r.split()) for r in refs)
    for hyp, ref in zip(hyps, refs):
        h, r = hyp.split(), ref.split()
        for n in stats:
            counts = {}
            for i in range(len(r) - n + 1):
                counts[tuple(r[i:i + n])] = counts.get(tuple(r[i:i + n]), 0) + 1
            for i in range(len(h) - n + 1):
                g = tuple(h[i:i + n])
                stats[n][1] += 1
                if counts.get(g, 0) > 0:
                    counts[g] -= 1
                    stats[n][0] += 1
    if any(t == 0 for _, t in stats.values()) or all(c == 0 for c, _ in stats.values()):
        return 0.0
    logs, smooth = [], 1
    for c, t in stats.values():
        if c:
            logs.append(math.log(c / t))
        else:
            smooth *= 2
            logs.append(math.log(1 / (smooth * t)))
    brevity = min(0.0, 1 - ref_len / hyp_len)
    return 100 * math.exp(brevity + sum(logs) / max_order)
'''),
    "bleu_counter": ("corpus_bleu", _BLEU),
}
