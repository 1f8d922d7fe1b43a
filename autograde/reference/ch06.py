"""Reference implementations for chapter 6 (sequence to sequence: encoder-decoder, greedy
and beam search, attention, BLEU).

Instructor tooling: the hidden checks compare students' functions with these.
tests/test_reference_ch06.py tests them against peers: beam search against exhaustive
search (``rnncourse.search.brute_force``) and against a one-hypothesis-at-a-time beam
search (``beam_search_one_at_a_time`` below), the encoder against unpadded runs of
``nn.LSTM``, the loss against ``F.cross_entropy(ignore_index=...)``, BLEU against
sacrebleu.  Not part of the student package ``rnncourse``.

Conventions (``rnncourse.search``'s module docstring has them in full): ids 0 ``<pad>``,
1 ``<sos>``, 2 ``<eos>``; batch first; ``lengths`` on the device of the ids; a decoder is
searched through ``step_fn(tokens_prev (N,) int64, state) -> (log_probs (N, V), state)``
whose state is a tensor or a tuple of tensors with the rows along dim 1; a hypothesis is
``(tokens tuple, log_prob, score)``.
"""
from __future__ import annotations

import math
from collections import Counter

from rnncourse.search import EOS, PAD, SOS, _leaves, _select, _sort_key, length_penalty, score, state_batch_size

MAX_ORDER = 4


# --------------------------------------------------------------------------- models
def _torch_models():
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Encoder(nn.Module):
        """An LSTM over the embedded source, packed so that padding is never read.

        Parameters
        ----------
        src_vocab, embed_size, hidden_size : int
            Source vocabulary size ``V_src``, embedding size ``E``, hidden size ``H``.
        num_layers : int
            LSTM layers (default 1).

        ``forward(src, lengths)``:

        src : int64 tensor (B, S)
            Source ids, right-padded with 0.
        lengths : int64 tensor (B,), on src's device
            True lengths, ``1 <= lengths[i] <= S``.

        Returns ``(outputs, (h, c))``: ``outputs`` float (B, S, H), the top layer's output
        at each true position and exactly 0 at padding; ``h`` and ``c`` (num_layers, B, H),
        the state after each sequence's last true token (in the batch's order).

        Raises ValueError for shapes that disagree or lengths outside 1..S.
        """

        def __init__(self, src_vocab, embed_size, hidden_size, num_layers=1):
            super().__init__()
            self.embed = nn.Embedding(src_vocab, embed_size, padding_idx=PAD)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)

        def forward(self, src, lengths):
            if src.ndim != 2 or lengths.shape != (src.shape[0],):
                raise ValueError(f"src must be (B, S) and lengths (B,); got {tuple(src.shape)}, {tuple(lengths.shape)}")
            S = src.shape[1]
            if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > S):
                raise ValueError(f"lengths must lie in 1..{S}")
            packed = pack_padded_sequence(self.embed(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, state = self.lstm(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=S)
            return out, state

    class Decoder(nn.Module):
        """An LSTM language model of the target, conditioned through its initial state.

        Parameters
        ----------
        tgt_vocab, embed_size, hidden_size : int
            Target vocabulary size ``V``, embedding size ``E``, hidden size ``H`` (the
            encoder's).
        num_layers : int
            LSTM layers (default 1), as many as the encoder's.

        ``forward(tgt_in, state)``:

        tgt_in : int64 tensor (B, U)
            The decoder's inputs: ``<sos> y_1 .. y_{U-1}`` under teacher forcing, one
            token (U = 1) per decoding step.
        state : tuple (h, c) of float tensors (num_layers, B, H)
            The encoder's final state, or the state a previous call returned.

        Returns ``(logits, state)``: float (B, U, V) scores of the next token at each
        position (before softmax) and the state after the last input.  U calls on one
        token each give the same logits as one call on the U tokens.
        """

        def __init__(self, tgt_vocab, embed_size, hidden_size, num_layers=1):
            super().__init__()
            self.embed = nn.Embedding(tgt_vocab, embed_size, padding_idx=PAD)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
            self.out = nn.Linear(hidden_size, tgt_vocab)

        def forward(self, tgt_in, state):
            out, state = self.lstm(self.embed(tgt_in), state)
            return self.out(out), state

    class AttentionDecoder(nn.Module):
        """A decoder with Luong et al. (2015) attention (no input feeding).

        The LSTM runs over the embedded target; its top-layer output ``d_t`` (H) queries
        the encoder's outputs ``e_s`` (H):

        * ``"dot"``: ``a(t, s) = d_t . e_s``;
        * ``"general"``: ``a(t, s) = d_t . (W_a e_s)``;
        * ``"additive"`` (Bahdanau et al.'s score): ``a(t, s) = v . tanh(W_q d_t + W_k e_s)``;

        ``weights[t] = softmax_s(a(t, .))`` after setting padded positions (``src_mask``
        False) to ``-inf``, so that they get weight exactly 0; ``context_t = sum_s
        weights[t, s] e_s``; ``logits_t = W_out tanh(W_c [context_t ; d_t] + b_c) + b_out``.

        Parameters
        ----------
        tgt_vocab, embed_size, hidden_size : int
            Target vocabulary size ``V``, embedding size ``E``, hidden size ``H`` (the
            encoder's).
        num_layers : int
            LSTM layers (default 1).
        score : {"dot", "general", "additive"}
            The score function (default ``"general"``).

        ``forward(tgt_in, state, enc_outputs, src_mask)``:

        tgt_in : int64 tensor (B, U)
        state : tuple (h, c) of float tensors (num_layers, B, H)
        enc_outputs : float tensor (B, S, H)
            The encoder's outputs (any values at padded positions).
        src_mask : bool tensor (B, S)
            True at the real source positions; every row has at least one True.

        Returns ``(logits, state, weights)``: float (B, U, V), the state after the last
        input, and float (B, U, S) attention weights (rows sum to 1, exactly 0 where
        ``src_mask`` is False).  U one-token calls equal one call on U tokens.

        Raises ValueError for an unknown ``score``.
        """

        def __init__(self, tgt_vocab, embed_size, hidden_size, num_layers=1, score="general"):
            super().__init__()
            if score not in ("dot", "general", "additive"):
                raise ValueError(f"score must be 'dot', 'general' or 'additive', got {score!r}")
            self.score = score
            H = hidden_size
            self.embed = nn.Embedding(tgt_vocab, embed_size, padding_idx=PAD)
            self.lstm = nn.LSTM(embed_size, H, num_layers, batch_first=True)
            if score == "general":
                self.W_a = nn.Linear(H, H, bias=False)
            elif score == "additive":
                self.W_q = nn.Linear(H, H, bias=False)
                self.W_k = nn.Linear(H, H, bias=False)
                self.v = nn.Linear(H, 1, bias=False)
            self.combine = nn.Linear(2 * H, H)
            self.out = nn.Linear(H, tgt_vocab)

        def scores(self, d, enc_outputs):
            if self.score == "dot":
                return d @ enc_outputs.transpose(1, 2)
            if self.score == "general":
                return d @ self.W_a(enc_outputs).transpose(1, 2)
            q, k = self.W_q(d), self.W_k(enc_outputs)          # (B, U, H), (B, S, H)
            return self.v(torch.tanh(q[:, :, None, :] + k[:, None, :, :]))[..., 0]

        def forward(self, tgt_in, state, enc_outputs, src_mask):
            d, state = self.lstm(self.embed(tgt_in), state)     # (B, U, H)
            a = self.scores(d, enc_outputs).masked_fill(~src_mask[:, None, :], float("-inf"))
            weights = torch.softmax(a, dim=-1)                  # (B, U, S)
            context = weights @ enc_outputs                     # (B, U, H)
            att = torch.tanh(self.combine(torch.cat([context, d], dim=-1)))
            return self.out(att), state, weights

    return Encoder, Decoder, AttentionDecoder


_MODELS = ("Encoder", "Decoder", "AttentionDecoder")


def __getattr__(name):  # the models import torch only when asked for
    if name in _MODELS:
        return dict(zip(_MODELS, _torch_models()))[name]
    raise AttributeError(name)


def source_mask(lengths, max_len: int):
    """The source mask of padded sequences.

    Parameters
    ----------
    lengths : int64 tensor (B,)
    max_len : int
        S, the padded length.

    Returns
    -------
    bool tensor (B, S) on lengths' device: ``mask[i, s] = s < lengths[i]``.
    """
    import torch

    return torch.arange(int(max_len), device=lengths.device)[None, :] < lengths[:, None]


# --------------------------------------------------------------------------- loss
def masked_loss(logits, targets, mask):
    """Mean cross-entropy over the positions where ``mask`` is True.

    Parameters
    ----------
    logits : float tensor (B, U, V)
        Scores of the next token; at masked-out positions anything (NaN included).
    targets : int64 tensor (B, U)
        Target ids in 0..V-1 where ``mask`` is True, anything elsewhere (-100, V, ...).
    mask : bool tensor (B, U)
        True at the positions that count.

    Returns
    -------
    Scalar float tensor (differentiable, of logits' dtype): the mean over the True
    positions of ``-log softmax(logits[b, u])[targets[b, u]]``.  Masked-out positions get
    zero gradient.

    Raises
    ------
    ValueError
        If the shapes disagree or ``mask`` has no True.
    """
    import torch.nn.functional as F

    if logits.ndim != 3 or targets.shape != logits.shape[:2] or mask.shape != targets.shape:
        raise ValueError(f"logits must be (B, U, V), targets and mask (B, U); got {tuple(logits.shape)}, "
                         f"{tuple(targets.shape)}, {tuple(mask.shape)}")
    mask = mask.bool()
    if not bool(mask.any()):
        raise ValueError("mask selects no position")
    return F.cross_entropy(logits[mask], targets[mask])


# --------------------------------------------------------------------------- greedy
def greedy_decode(step_fn, init_state, batch_size: int, max_len: int, sos: int = SOS, eos: int = EOS):
    """Greedy decoding of a batch: at each step the most probable token (lowest id on ties).

    Parameters
    ----------
    step_fn : callable
        ``step_fn(tokens_prev, state) -> (log_probs, new_state)``: ``tokens_prev`` int64
        (B,), ``log_probs`` float (B, V); ``state`` a tensor or a tuple of tensors, each
        with the batch along dim 1 (an LSTM's ``(h, c)``, each (num_layers, B, H)).
    init_state : tensor or tuple of tensors
        The state before the first step (batch along dim 1).
    batch_size : int
        B (>= 1).
    max_len : int
        The most tokens generated per row (>= 1).
    sos, eos : int
        The first input token of every row, and the token that ends a row.

    Returns
    -------
    tokens : int64 tensor (B, T), on the state's device
        ``T <= max_len`` is the longest row; row i holds its ``lengths[i]`` tokens, the
        last one ``<eos>`` unless the row was cut at ``max_len``, then zeros.
    lengths : int64 tensor (B,), on the state's device
        Tokens generated per row, ``<eos>`` included.

    ``step_fn`` is called once per step for all B rows (rows that have finished still
    ride along, fed ``<pad>``; their outputs are ignored) and no more once every row has
    emitted ``<eos>``: T calls in all.

    Raises
    ------
    ValueError
        If ``batch_size`` or ``max_len`` is below 1.
    """
    import torch

    if max_len < 1 or batch_size < 1:
        raise ValueError("max_len and batch_size must be >= 1")
    leaves = _leaves(init_state)
    device = leaves[0].device if leaves else torch.device("cpu")
    prev = torch.full((batch_size,), sos, dtype=torch.int64, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch_size, dtype=torch.int64, device=device)
    state, out = init_state, []
    for _ in range(max_len):
        logp, state = step_fn(prev, state)
        tok = logp.argmax(dim=-1).to(device).masked_fill(done, PAD)
        out.append(tok)
        lengths += (~done).long()
        done = done | (tok == eos)
        if bool(done.all()):
            break
        prev = tok
    return torch.stack(out, dim=1), lengths


# --------------------------------------------------------------------------- beam search
def _add(pool, hyp, k):
    pool.append(hyp)
    pool.sort(key=_sort_key)
    del pool[k:]


def beam_search(step_fn, init_state, beam_size: int, max_len: int, sos: int = SOS, eos: int = EOS,
                alpha: float = 0.0, penalty: str = "length"):
    """Batched beam search: one ``step_fn`` call per step for all B x beam_size hypotheses.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(tokens_prev, state) -> (log_probs, new_state)``: ``tokens_prev`` int64
        (N,), ``log_probs`` float (N, V) normalised log-probabilities (<= 0; ``-inf`` for
        an impossible token); ``state`` a tensor or a tuple of tensors, each with the rows
        along dim 1.  Called with N = B * beam_size rows, row ``b * beam_size + j`` being
        hypothesis j of item b.
    init_state : tensor or tuple of tensors
        The state of the B items (rows along dim 1).
    beam_size : int
        K >= 1.
    max_len : int
        The most tokens of a hypothesis (>= 1).
    sos, eos : int
        The first input token and the end token.
    alpha : float
        Length normalisation exponent (>= 0; 0 scores by log-probability).
    penalty : {"length", "gnmt"}
        score = log_prob / length ** alpha (``"length"``) or log_prob / ((5 + length) / 6)
        ** alpha (``"gnmt"``, Wu et al. 2016); length counts the generated tokens, ``<eos>``
        included.

    Returns
    -------
    list of B lists of up to K tuples ``(tokens, log_prob, score)``
        ``tokens`` a tuple of ints without ``<sos>``, ending with ``<eos>`` unless cut at
        ``max_len``; ``log_prob`` float, the float64 sum of its tokens' log-probabilities;
        ``score`` float.  Sorted by score descending, ties by tokens ascending.

    Raises
    ------
    ValueError
        If ``beam_size`` or ``max_len`` is below 1, ``alpha`` < 0, or ``penalty`` unknown.

    The rule, for each batch item, K = beam_size.  ``live`` starts as the empty prefix
    (log-prob 0); ``pool`` (finished hypotheses, at most K, best score first) is empty.  At
    step t = 1 .. max_len:

    1. every live hypothesis is extended by every token; a candidate's log-prob is its
       parent's plus the token's (float64; ``-inf`` candidates are dropped); candidates are
       ranked by log-prob, descending, ties by (parent's rank, token id);
    2. candidates ending in ``<eos>`` among the first K ranks join the pool (score =
       log_prob / length_penalty(t)); the pool keeps its best K (score desc, tokens asc);
    3. the first K candidates not ending in ``<eos>`` become the live hypotheses; finished
       hypotheses are never extended;
    4. at t = max_len the live hypotheses join the pool as they are (cut, no ``<eos>``);
    5. the item stops when it has no live hypothesis, or t = max_len, or the pool holds K
       hypotheses and its worst score is strictly greater than
       ``best live log-prob / length_penalty(max_len)``, a bound on the score of any
       descendant of a live hypothesis (log-probs only fall, penalties only grow).

    Guarantees: stopping early (5) never changes the result; with ``beam_size`` >= the
    number of complete sequences (<= V ** max_len) nothing is pruned and the result is
    exhaustive search's (``rnncourse.search.brute_force``) for every alpha >= 0 and both
    penalties; beam_size = 1 with alpha = 0 gives greedy_decode's tokens (ties included);
    when row i of step_fn's output depends on row i of its input only, an item's result
    does not depend on the other items of the batch.  Exact ties between scores are broken
    by tokens everywhere, so the equalities hold with ties too.  With alpha > 0 and
    beam_size = 1 the search may go on after the first ``<eos>`` and beat greedy's score.

    The state is reordered with ``index_select(1, rows)`` on each of its tensors.
    """
    import torch

    K = int(beam_size)
    if K < 1 or max_len < 1:
        raise ValueError("beam_size and max_len must be >= 1")
    final_penalty = length_penalty(max_len, alpha, penalty)
    B = state_batch_size(init_state)
    device = _leaves(init_state)[0].device
    base = torch.arange(B, device=device)[:, None] * K
    state = _select(init_state, torch.arange(B, device=device).repeat_interleave(K))
    prev = torch.full((B * K,), sos, dtype=torch.int64, device=device)
    lp = torch.full((B, K), float("-inf"), dtype=torch.float64, device=device)
    lp[:, 0] = 0.0
    hist = torch.zeros(B, K, 0, dtype=torch.int64, device=device)
    pools: list[list[tuple]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(1, max_len + 1):
        logp, state = step_fn(prev, state)
        if logp.ndim != 2 or logp.shape[0] != B * K or logp.shape[1] <= max(sos, eos):
            raise ValueError(f"step_fn must return log_probs of shape ({B * K}, V), got {tuple(logp.shape)}")
        V = logp.shape[-1]
        cand = (lp[:, :, None] + logp.to(device=device, dtype=torch.float64).view(B, K, V))
        if any(done):   # a stopped item grows nothing
            cand = cand.masked_fill(torch.tensor(done, device=device)[:, None, None], float("-inf"))
        cand = cand.reshape(B, K * V)
        n = min(2 * K, K * V)
        vals, idx = torch.sort(cand, dim=1, descending=True, stable=True)
        vals, idx = vals[:, :n], idx[:, :n]
        parent, tok = idx // V, idx % V
        is_eos = tok == eos
        # 2. finished: <eos> within the first K ranks
        fin = (is_eos[:, :K] & torch.isfinite(vals[:, :K])).nonzero().tolist()
        if fin:
            h_cpu, p_cpu, v_cpu = hist.cpu(), parent.cpu(), vals.cpu()
            for b, r in fin:
                x = float(v_cpu[b, r])
                _add(pools[b], (tuple(h_cpu[b, int(p_cpu[b, r])].tolist()) + (eos,), x, score(x, t, alpha, penalty)), K)
        # 3. live: the first K candidates that do not end in <eos>
        order = torch.sort(is_eos.to(torch.int8), dim=1, stable=True).indices[:, :K]
        lp, parent, tok = vals.gather(1, order), parent.gather(1, order), tok.gather(1, order)
        hist = torch.cat([hist.gather(1, parent[:, :, None].expand(-1, -1, t - 1)), tok[:, :, None]], dim=2)
        best = lp[:, 0].cpu().tolist()
        if t == max_len:   # 4. cut
            h_cpu, l_cpu = hist.cpu(), lp.cpu()
            for b in range(B):
                for j in range(K):
                    x = float(l_cpu[b, j])
                    if math.isfinite(x):
                        _add(pools[b], (tuple(h_cpu[b, j].tolist()), x, score(x, t, alpha, penalty)), K)
            break
        # 5. stopping
        for b in range(B):
            if not done[b] and (not math.isfinite(best[b]) or
                                (len(pools[b]) == K and pools[b][-1][2] > best[b] / final_penalty)):
                done[b] = True
        if all(done):
            break
        state = _select(state, (base + parent).view(-1))
        prev = tok.reshape(-1)
    return pools


def beam_search_one_at_a_time(step_fn, init_state, beam_size: int, max_len: int, sos: int = SOS,
                              eos: int = EOS, alpha: float = 0.0, penalty: str = "length", early_stop: bool = True):
    """The rule of :func:`beam_search` written plainly: one batch item after another, one
    ``step_fn`` call (a batch of one row) per live hypothesis and step, Python lists.  The
    peer of the batched version in the tests and the baseline of its throughput.
    ``early_stop=False`` drops the bound of rule 5 (runs until max_len or no live
    hypothesis), to test that stopping early never changes the result."""
    import torch

    K = int(beam_size)
    if K < 1 or max_len < 1:
        raise ValueError("beam_size and max_len must be >= 1")
    final_penalty = length_penalty(max_len, alpha, penalty)
    B = state_batch_size(init_state)
    device = _leaves(init_state)[0].device
    results = []
    for b in range(B):
        live = [((), 0.0, _select(init_state, torch.tensor([b], device=device)))]
        pool: list[tuple] = []
        for t in range(1, max_len + 1):
            cands = []
            for rank, (tokens, x, st) in enumerate(live):
                prev = torch.tensor([tokens[-1] if tokens else sos], device=device)
                logp, new_st = step_fn(prev, st)
                row = logp.detach().to(torch.float64).cpu()[0].tolist()
                for v, y in enumerate(row):
                    if math.isfinite(x + y):
                        cands.append((x + y, rank, v, tokens + (v,), new_st))
            cands.sort(key=lambda c: (-c[0], c[1], c[2]))
            for c in cands[:K]:
                if c[2] == eos:
                    _add(pool, (c[3], c[0], score(c[0], t, alpha, penalty)), K)
            live = [(c[3], c[0], c[4]) for c in cands if c[2] != eos][:K]
            if t == max_len:
                for tokens, x, _ in live:
                    _add(pool, (tokens, x, score(x, t, alpha, penalty)), K)
                break
            if not live or (early_stop and len(pool) == K and pool[-1][2] > live[0][1] / final_penalty):
                break
        results.append(pool)
    return results


# --------------------------------------------------------------------------- evaluation
def exact_match(hyps, refs) -> float:
    """The fraction of hypotheses equal to their reference.

    Parameters
    ----------
    hyps, refs : lists of str, of one length N >= 1

    Returns
    -------
    float in [0, 1]: the number of i with ``hyps[i] == refs[i]`` (exact string equality)
    divided by N.

    Raises
    ------
    ValueError
        If the lists differ in length or are empty.
    """
    if len(hyps) != len(refs) or len(hyps) == 0:
        raise ValueError(f"hyps and refs must be non-empty lists of one length; got {len(hyps)} and {len(refs)}")
    return sum(h == r for h, r in zip(hyps, refs)) / len(hyps)


def corpus_bleu(hyps, refs, max_order: int = MAX_ORDER) -> float:
    """Corpus BLEU (0..100) of whitespace-tokenised strings, one reference each.

    Parameters
    ----------
    hyps, refs : lists of str, of one length N >= 1
        Tokens separated by whitespace; the course's strings are characters separated
        by spaces (``rnncourse.search.spaced_chars``).  Empty hypotheses are allowed.
    max_order : int
        The longest n-gram (4).

    Returns
    -------
    float: ``sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score`` (and the
    default tokeniser's score on single-character tokens).

    Raises
    ------
    ValueError
        If the lists differ in length or are empty.

    Papineni et al. (2002) as sacrebleu computes it with ``tokenize="none"`` and its
    default smoothing ``exp``: clipped n-gram matches and hypothesis n-gram counts summed
    over the corpus for n = 1..4; p_n = 100 c_n / t_n, where an order with no match takes
    100 / (2^k t_n) for the k-th such order; an order with no hypothesis n-gram at all, or
    no match of any order, gives 0; brevity penalty exp(1 - r / h) when the total hypothesis
    length h is below the reference length r (0 when h = 0); BLEU = BP exp(mean log p_n).
    """
    if len(hyps) != len(refs) or len(hyps) == 0:
        raise ValueError(f"hyps and refs must be non-empty lists of one length; got {len(hyps)} and {len(refs)}")
    correct, total = [0] * max_order, [0] * max_order
    sys_len = ref_len = 0
    for h, r in zip(hyps, refs):
        ht, rt = h.split(), r.split()
        sys_len, ref_len = sys_len + len(ht), ref_len + len(rt)
        for n in range(1, max_order + 1):
            hc = Counter(tuple(ht[i:i + n]) for i in range(len(ht) - n + 1))
            rc = Counter(tuple(rt[i:i + n]) for i in range(len(rt) - n + 1))
            total[n - 1] += sum(hc.values())
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    if not any(correct) or not all(total):
        return 0.0
    logs, smooth = [], 1.0
    for c, t in zip(correct, total):
        if c == 0:
            smooth *= 2
            logs.append(math.log(100.0 / (smooth * t)))
        else:
            logs.append(math.log(100.0 * c / t))
    return bp * math.exp(sum(logs) / max_order)
