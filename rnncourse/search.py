"""Decoding tools for chapter 6 (sequence to sequence): toy scorers, exhaustive search,
search trees, the course's BLEU tokenisation and a throughput measurement.

Nothing here is an exercise's answer.  The exercises (greedy decoding, batched beam search,
the encoder and decoders, the masked loss, BLEU) are written against these conventions:

* **Token ids.** ``0`` is ``<pad>``, ``1`` is ``<sos>``, ``2`` is ``<eos>``; every other
  id is an ordinary token.  Decoders may emit any id (the toy scorers below give every
  token a positive probability), so the search tools enumerate all ``V`` ids.
* **Step functions.** A decoder is seen by the search through
  ``step_fn(tokens_prev, state) -> (log_probs, new_state)``:

  - ``tokens_prev``: int64 tensor ``(N,)``, the previous token of each of ``N`` rows
    (``<sos>`` at the first step);
  - ``state``: a tensor, or a tuple (or list) of tensors and nested tuples, **every tensor
    with the rows along dim 1** (like an LSTM's ``(h, c)``, each ``(num_layers, N, H)``);
    a search reorders or repeats rows with ``t.index_select(1, rows)`` on every tensor;
  - ``log_probs``: float tensor ``(N, V)``, normalised log-probabilities (every entry
    ``<= 0``; ``-inf`` marks an impossible token) of the next token of each row;
  - ``new_state``: the state after the step, of the same structure.

  Row ``i`` of the output must depend on row ``i`` of the inputs only.
* **Hypotheses.** A finished hypothesis is ``(tokens, log_prob, score)``: ``tokens`` a
  tuple of Python ints, the generated tokens without ``<sos>``, ending with ``<eos>``
  unless it was cut at ``max_len``; ``log_prob`` the sum (float64) of the log-probabilities
  of its tokens; ``score = log_prob / penalty(len(tokens))`` (see :func:`score`).  Lists
  of hypotheses are sorted by score descending, ties by ``tokens`` ascending.
* **BLEU.** Hypotheses and references are strings of tokens separated by single spaces.
  The course scores *characters*: :func:`spaced_chars` writes ``"3 May"`` as
  ``"3 ▁ M a y"`` (a space becomes ``▁``), so that BLEU's n-grams are character n-grams.
  The course's ``corpus_bleu`` equals ``sacrebleu.corpus_bleu(hyps, [refs],
  tokenize="none").score`` (whitespace tokens, smoothing ``exp``); on strings of
  single-character tokens sacrebleu's default tokeniser ``13a`` splits nothing further,
  so the default ``sacrebleu.corpus_bleu(hyps, [refs]).score`` is the same number.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np

PAD, SOS, EOS = 0, 1, 2
SPACE = "\u2581"   # "▁", how spaced_chars writes a space
PENALTIES = ("length", "gnmt")


# --------------------------------------------------------------------------- scoring
def length_penalty(length: int, alpha: float = 0.0, penalty: str = "length") -> float:
    """The divisor of a hypothesis' log-probability.

    ``"length"``: ``length ** alpha``; ``"gnmt"``: ``((5 + length) / 6) ** alpha`` (Wu et al.
    2016).  ``alpha = 0`` gives 1 (raw log-probability).  Both grow with ``length`` for
    ``alpha > 0``.
    """
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}, got {penalty!r}")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    base = float(length) if penalty == "length" else (5.0 + length) / 6.0
    return base ** float(alpha)


def score(log_prob: float, length: int, alpha: float = 0.0, penalty: str = "length") -> float:
    """``log_prob / length_penalty(length, alpha, penalty)`` (Python floats)."""
    return float(log_prob) / length_penalty(length, alpha, penalty)


def _sort_key(hyp):
    return (-hyp[2], hyp[0])


# --------------------------------------------------------------------------- state helpers
def _leaves(state):
    if state is None:
        return []
    if isinstance(state, (tuple, list)):
        return [x for s in state for x in _leaves(s)]
    return [state]


def _select(state, rows):
    """``index_select(1, rows)`` on every tensor of ``state`` (structure kept)."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(_select(s, rows) for s in state)
    return state.index_select(1, rows.to(state.device))


def state_batch_size(state) -> int:
    """The number of rows (dim 1 of every tensor) of a step function's state."""
    leaves = _leaves(state)
    if not leaves:
        raise ValueError("the state holds no tensor: the batch size is unknown")
    sizes = {int(t.shape[1]) if t.ndim >= 2 else -1 for t in leaves}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(f"every tensor of the state must have the rows along dim 1; got shapes "
                         f"{[tuple(t.shape) for t in leaves]}")
    return sizes.pop()


def state_device(state):
    """The device of the state's first tensor (cpu for a state without tensors)."""
    import torch

    leaves = _leaves(state)
    return leaves[0].device if leaves else torch.device("cpu")


# --------------------------------------------------------------------------- toy scorers
class TableModel:
    """A toy step function whose next-token log-probabilities depend on (step, previous token).

    ``log_probs = table[min(step, T - 1), tokens_prev]`` where ``step`` counts the calls
    made so far for the row (0 at ``<sos>``).  The state is the step counter, an int64
    tensor ``(1, N)`` (rows along dim 1): get the initial one from :meth:`init_state`.

    Parameters
    ----------
    table : array (T, V, V) or (V, V) of float
        Log-probabilities; each ``table[s, prev]`` must be a log-distribution over ``V``
        tokens (``logsumexp == 0``).  A ``(V, V)`` table is the same at every step.

    Use :meth:`from_probs` for a table of probabilities and :meth:`random` for a random one.
    """

    def __init__(self, table):
        t = np.asarray(table, dtype=np.float64)
        if t.ndim == 2:
            t = t[None]
        if t.ndim != 3 or t.shape[1] != t.shape[2] or t.shape[0] < 1:
            raise ValueError(f"table must be (T, V, V) or (V, V), got shape {np.shape(table)}")
        with np.errstate(divide="ignore"):
            norm = np.logaddexp.reduce(t, axis=-1)
        if not np.allclose(norm, 0.0, atol=1e-9):
            raise ValueError("every row of table must be a log-distribution (logsumexp 0)")
        self.table = t
        self.vocab_size = t.shape[-1]

    def state(self) -> dict:
        return {"table": self.table}

    @classmethod
    def from_probs(cls, probs):
        """From probabilities (T, V, V) or (V, V); rows are normalised to sum to 1."""
        p = np.asarray(probs, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return cls(np.log(p / p.sum(-1, keepdims=True)))

    @classmethod
    def random(cls, vocab_size: int, steps: int, seed: int, concentration: float = 0.5,
               eos_boost: float = 1.0):
        """Rows drawn from Dirichlet(``concentration``) with ``np.random.default_rng(seed)``,
        the probability of ``<eos>`` multiplied by ``eos_boost`` before renormalising."""
        rng = np.random.default_rng(seed)
        p = rng.dirichlet(np.full(vocab_size, float(concentration)), size=(steps, vocab_size))
        p = np.maximum(p, 1e-6)
        p[..., EOS] *= eos_boost
        return cls.from_probs(p)

    def init_state(self, batch_size: int, device="cpu"):
        """The initial state: step 0 for every row, int64 ``(1, batch_size)``."""
        import torch

        return torch.zeros(1, int(batch_size), dtype=torch.int64, device=device)

    def __call__(self, tokens_prev, state):
        import torch

        step = state[0].clamp(max=self.table.shape[0] - 1).cpu().numpy()
        prev = tokens_prev.cpu().numpy()
        lp = torch.from_numpy(self.table[step, prev]).to(tokens_prev.device)
        return lp, state + 1


def _mix64(x):
    """The splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class HashModel:
    """A toy step function whose next-token distribution depends on the whole prefix.

    The state is a 64-bit hash of the tokens fed so far (``<sos>`` included), an int64
    tensor ``(1, N)``; the logits of the next token ``v`` are Gumbel noise drawn from a
    hash of (prefix hash, ``v``) and divided by ``temperature``, ``eos_bias`` is added to
    ``<eos>``'s logit, and the log-probabilities are their log-softmax (float64).  The same
    prefix always gets the same distribution, whatever the batch, and different ``seed``s
    give different models.  Low temperatures make peaked distributions.
    """

    def __init__(self, vocab_size: int, seed: int = 0, temperature: float = 1.0, eos_bias: float = 0.0):
        if vocab_size < 3:
            raise ValueError("vocab_size must be >= 3 (<pad>, <sos>, <eos>)")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.vocab_size, self.seed = int(vocab_size), int(seed)
        self.temperature, self.eos_bias = float(temperature), float(eos_bias)

    def state(self) -> dict:
        return {"vocab_size": self.vocab_size, "seed": self.seed, "temperature": self.temperature,
                "eos_bias": self.eos_bias}

    def init_state(self, batch_size: int, device="cpu"):
        """The hash of the empty prefix for every row, int64 ``(1, batch_size)``."""
        import torch

        h = _mix64(np.array([self.seed], dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15))
        return torch.full((1, int(batch_size)), int(h.view(np.int64)[0]), dtype=torch.int64, device=device)

    def __call__(self, tokens_prev, state):
        import torch

        code = state[0].cpu().numpy().view(np.uint64)
        tok = tokens_prev.cpu().numpy().astype(np.uint64)
        new = _mix64(code * np.uint64(0x9E3779B97F4A7C15) + tok + np.uint64(1))
        v = np.arange(self.vocab_size, dtype=np.uint64)
        u = _mix64(new[:, None] ^ ((v[None, :] + np.uint64(1)) * np.uint64(0xD6E8FEB86659FD93)))
        unif = ((u >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0 ** 53
        logits = -np.log(-np.log(unif)) / self.temperature
        logits[:, EOS] += self.eos_bias
        m = logits.max(-1, keepdims=True)
        lp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
        out_state = torch.from_numpy(new.view(np.int64).copy()).view(1, -1).to(state.device)
        return torch.from_numpy(lp).to(tokens_prev.device), out_state


def example_tables() -> dict:
    """Two hand-made :class:`TableModel` s over ``V = 5`` (tokens 3 = "a", 4 = "b"):

    ``"greedy_trap"``: greedy decoding takes "a" (0.5 > 0.4) and ends with ``a <eos>``
    (0.5 * 0.4 = 0.20), while beam search of width 2 also keeps "b" and finds
    ``b <eos>`` (0.4 * 0.9 = 0.36).

    ``"short_bias"``: ``<eos>`` at once has probability 0.3; the best long answer
    ``a a <eos>`` has 0.6 * 0.7 * 0.6 = 0.252.  Raw log-probability prefers the short one
    (-1.20 > -1.38); normalised by length (alpha = 1) the long one wins (-0.46 > -1.20).

    <pad> and <sos> get probability 0.001 everywhere (then rows are renormalised).
    """
    e = 1e-3
    trap = np.full((3, 5, 5), e)
    trap[:, [0, 1, 2], 2] = 1.0                 # after pad, sos or eos: eos (overwritten below)
    trap[0, SOS, 2:] = [0.1, 0.5, 0.4]          # first step: eos, a, b
    trap[1, 3, 2:] = [0.4, 0.3, 0.3]            # after a
    trap[1, 4, 2:] = [0.9, 0.05, 0.05]          # after b
    trap[2, 3:, 2:] = [0.8, 0.1, 0.1]
    short = np.full((4, 5, 5), e)
    short[:, [0, 1, 2], 2] = 1.0
    short[0, SOS, 2:] = [0.3, 0.6, 0.1]
    short[1, 3, 2:] = [0.2, 0.7, 0.1]
    short[1, 4, 2:] = [0.4, 0.3, 0.3]
    short[2, 3, 2:] = [0.6, 0.2, 0.2]
    short[2, 4, 2:] = [0.5, 0.25, 0.25]
    short[3, 3:, 2:] = [0.9, 0.05, 0.05]
    return {"greedy_trap": TableModel.from_probs(trap), "short_bias": TableModel.from_probs(short)}


# --------------------------------------------------------------------------- exhaustive search
def brute_force(step_fn, init_state, max_len: int, vocab_size: int, sos: int = SOS, eos: int = EOS,
                alpha: float = 0.0, penalty: str = "length") -> list[list[tuple]]:
    """Every complete sequence of every batch item, scored, best first.

    A complete sequence is a sequence of ``1..max_len`` tokens whose only ``<eos>`` is its
    last token, or a sequence of exactly ``max_len`` tokens without ``<eos>`` (cut).
    Sequences with log-probability ``-inf`` are left out.  There are at most
    ``vocab_size ** max_len`` of them: for tiny ``vocab_size`` and ``max_len`` only.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(tokens_prev (N,) int64, state) -> (log_probs (N, V), state)`` (module
        docstring); called once per depth with every live prefix of every item.
    init_state : tensor or tuple of tensors
        The state of the ``B`` batch items, rows along dim 1.
    max_len : int
        The longest sequence (>= 1).
    vocab_size : int
        ``V``; must equal ``log_probs.shape[1]``.
    sos, eos : int
        The start and end tokens.
    alpha : float
        Length normalisation exponent (>= 0); 0 scores by log-probability.
    penalty : {"length", "gnmt"}
        See :func:`length_penalty`.

    Returns
    -------
    list of B lists of ``(tokens tuple, log_prob float, score float)``, sorted by score
    descending, ties by tokens ascending.  ``log_prob`` is accumulated left to right in
    float64, as the course's beam search does.
    """
    import torch

    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    length_penalty(1, alpha, penalty)   # validates
    B = state_batch_size(init_state)
    device = state_device(init_state)
    results: list[list[tuple]] = [[] for _ in range(B)]
    live = [(b, (), 0.0) for b in range(B)]
    state = init_state
    prev = torch.full((B,), sos, dtype=torch.int64, device=device)
    for t in range(1, max_len + 1):
        logp, state = step_fn(prev, state)
        logp = logp.detach().to(torch.float64).cpu()
        if logp.shape != (len(live), vocab_size):
            raise ValueError(f"step_fn returned log_probs of shape {tuple(logp.shape)}, expected "
                             f"({len(live)}, {vocab_size})")
        rows, nxt = [], []
        for r, (b, prefix, lp) in enumerate(live):
            for v in range(vocab_size):
                x = lp + float(logp[r, v])
                if not math.isfinite(x):
                    continue
                seq = prefix + (v,)
                if v == eos or t == max_len:
                    results[b].append((seq, x, score(x, t, alpha, penalty)))
                else:
                    rows.append(r)
                    nxt.append((b, seq, x))
        if not nxt:
            break
        live = nxt
        state = _select(state, torch.tensor(rows, dtype=torch.int64, device=device))
        prev = torch.tensor([s[-1] for _, s, _ in live], dtype=torch.int64, device=device)
    return [sorted(r, key=_sort_key) for r in results]


def sequence_log_prob(step_fn, init_state, tokens: Sequence[int], sos: int = SOS) -> float:
    """The log-probability (float64, summed left to right) that ``step_fn`` gives
    ``tokens`` (a sequence of ids, without ``<sos>``), from ``init_state`` of one row."""
    import torch

    device = state_device(init_state)
    state, prev, total = init_state, torch.tensor([sos], device=device), 0.0
    for tok in tokens:
        logp, state = step_fn(prev, state)
        total = total + float(logp.detach().to(torch.float64)[0, int(tok)])
        prev = torch.tensor([int(tok)], device=device)
    return total


# --------------------------------------------------------------------------- search trees
def search_tree(step_fn, init_state, vocab_size: int, max_len: int, sos: int = SOS, eos: int = EOS,
                min_prob: float = 0.0) -> list[tuple[tuple, float]]:
    """Every prefix of the search tree of a one-row ``init_state`` with its log-probability.

    Returns ``[(prefix tuple, log_prob), ...]`` in depth-first order, the root ``()``
    first; prefixes ending with ``<eos>`` are leaves, and branches whose probability is
    below ``min_prob`` are left out (with their subtrees).
    """
    import torch

    if state_batch_size(init_state) != 1:
        raise ValueError("search_tree draws one batch item: init_state must have one row")
    device = state_device(init_state)
    children: dict[tuple, list[tuple[tuple, float]]] = {}
    frontier = [((), 0.0)]
    state = init_state
    prev = torch.tensor([sos], device=device)
    for t in range(1, max_len + 1):
        logp, state = step_fn(prev, state)
        logp = logp.detach().to(torch.float64).cpu()
        rows, nxt = [], []
        for r, (prefix, lp) in enumerate(frontier):
            kids = []
            for v in range(vocab_size):
                x = lp + float(logp[r, v])
                if not math.isfinite(x) or math.exp(x) < min_prob:
                    continue
                kids.append((prefix + (v,), x))
                if v != eos and t < max_len:
                    rows.append(r)
                    nxt.append((prefix + (v,), x))
            children[prefix] = kids
        if not nxt:
            break
        frontier = nxt
        state = _select(state, torch.tensor(rows, dtype=torch.int64, device=device))
        prev = torch.tensor([p[-1] for p, _ in frontier], device=device)
    out: list[tuple[tuple, float]] = []

    def visit(node, lp):
        out.append((node, lp))
        for kid, klp in children.get(node, []):
            visit(kid, klp)
    visit((), 0.0)
    return out


def draw_search_tree(nodes, labels: Sequence[str] | None = None, highlight: Sequence[tuple] = (),
                     ax=None, show_prob: bool = True):
    """Draw a tree from :func:`search_tree`: depth left to right, one row per leaf.

    ``labels[v]`` names token ``v`` (default: the id).  Each node shows its token and, when
    ``show_prob``, the probability of its whole prefix.  The edges of the ``highlight``ed
    sequences (token tuples, e.g. beam search's hypotheses) are drawn thick in colour.
    Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt

    lp = dict(nodes)
    kids: dict[tuple, list[tuple]] = {}
    for node, _ in nodes:
        if node:
            kids.setdefault(node[:-1], []).append(node)
    y: dict[tuple, float] = {}
    counter = [0]

    def place(node):
        if not kids.get(node):
            y[node] = float(counter[0])
            counter[0] += 1
        else:
            for k in kids[node]:
                place(k)
            y[node] = float(np.mean([y[k] for k in kids[node]]))
    place(())
    depth = max(len(n) for n in lp)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(10.0, 1.6 * (depth + 1)), min(10.0, 0.55 * counter[0] + 0.8)))
    on_path = {seq[:i] for seq in highlight for i in range(len(seq) + 1)}
    for node in lp:
        if node:
            parent = node[:-1]
            hot = node in on_path and parent in on_path
            ax.plot([len(parent), len(node)], [y[parent], y[node]], color="C3" if hot else "0.75",
                    lw=2.5 if hot else 0.8, zorder=1)
    for node, value in lp.items():
        name = "<s>" if not node else (labels[node[-1]] if labels is not None else str(node[-1]))
        text = f"{name}\n{math.exp(value):.3f}" if show_prob and node else name
        ax.text(len(node), y[node], text, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "C3" if node in on_path else "0.6"},
                zorder=2)
    ax.set_xlim(-0.5, depth + 0.5)
    ax.set_ylim(counter[0] - 0.5, -0.5)
    ax.set_xticks(range(depth + 1))
    ax.set_xlabel("step")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return ax


# --------------------------------------------------------------------------- decoders as step functions
def decoder_step_fn(decoder):
    """``step_fn`` of a decoder ``decoder(tgt_in (N, 1), state) -> (logits (N, 1, V), state)``
    with an LSTM state ``(h, c)``: log-softmax of the logits, state passed through."""
    import torch

    def step(tokens_prev, state):
        logits, state = decoder(tokens_prev[:, None], state)
        return torch.log_softmax(logits[:, 0], dim=-1), state
    return step


def attention_state(state, enc_outputs, src_mask):
    """The search state of an attention decoder: ``(h, c, enc_outputs (S, B, H), src_mask (S, B))``,
    the encoder's outputs and mask transposed so that every tensor has the rows along dim 1."""
    h, c = state
    return (h, c, enc_outputs.transpose(0, 1), src_mask.transpose(0, 1))


def attention_step_fn(decoder):
    """``step_fn`` of an attention decoder ``decoder(tgt_in, (h, c), enc_outputs, src_mask)
    -> (logits, (h, c), weights)`` over the state of :func:`attention_state`."""
    import torch

    def step(tokens_prev, state):
        h, c, enc_t, mask_t = state
        logits, (h, c), _ = decoder(tokens_prev[:, None], (h, c), enc_t.transpose(0, 1), mask_t.transpose(0, 1))
        return torch.log_softmax(logits[:, 0], dim=-1), (h, c, enc_t, mask_t)
    return step


# --------------------------------------------------------------------------- text
def spaced_chars(text: str) -> str:
    """The course's BLEU tokenisation: characters separated by single spaces, a space
    written as ``▁`` (``"3 May" -> "3 ▁ M a y"``; ``"" -> ""``)."""
    return " ".join(SPACE if ch == " " else ch for ch in text)


def unspaced(tokens: str) -> str:
    """The inverse of :func:`spaced_chars`."""
    return "".join(" " if t == SPACE else t for t in tokens.split(" ") if t)


# --------------------------------------------------------------------------- training
def train_seq2seq(encoder, decoder, loss_fn, src, src_lengths, tgt_in, tgt_out, tgt_mask, *, steps: int,
                  batch_size: int = 64, lr: float = 0.005, seed: int = 0, device: str = "cpu",
                  attention: bool = False) -> np.ndarray:
    """Train an encoder-decoder with the course's fixed loop (``rnncourse.training.fixed_adam_loop``:
    Adam, seeded batches, gradient norm clipped at 1) and teacher forcing.

    ``encoder(src, lengths) -> (outputs, state)``; ``decoder(tgt_in, state) -> (logits, state)``,
    or with ``attention``, ``decoder(tgt_in, state, outputs, src_mask) -> (logits, state, weights)``
    where ``src_mask = arange(S) < lengths``; the loss is ``loss_fn(logits, tgt_out, tgt_mask)``.
    Arrays are padded (N, S) / (N, U); batches are cut to their longest source and target.
    Returns the losses, one per step.
    """
    import torch

    from rnncourse import training

    src, src_lengths, tgt_in, tgt_out, tgt_mask = (torch.as_tensor(np.asarray(a))
                                                   for a in (src, src_lengths, tgt_in, tgt_out, tgt_mask))
    class _Pair(torch.nn.Module):   # one module so that the loop sees every parameter
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder

    pair = _Pair()

    def batch_loss(idx):
        lb = src_lengths[idx]
        S, U = int(lb.max()), int(tgt_mask[idx].sum(1).max())
        x = src[idx, :S].to(device)
        outputs, state = encoder(x, lb.to(device))
        ti, to, tm = tgt_in[idx, :U].to(device), tgt_out[idx, :U].to(device), tgt_mask[idx, :U].to(device)
        if attention:
            mask = torch.arange(S, device=device)[None, :] < lb.to(device)[:, None]
            logits = decoder(ti, state, outputs, mask)[0]
        else:
            logits = decoder(ti, state)[0]
        return loss_fn(logits, to, tm)
    return np.array(training.fixed_adam_loop(pair, len(src), batch_loss, steps=steps, batch_size=batch_size,
                                             lr=lr, seed=seed))


# --------------------------------------------------------------------------- throughput
def beam_throughput(batched: Callable, one_at_a_time: Callable, step_fn, init_state, *, beam_size: int,
                    max_len: int, repeats: int = 3, threads: int | None = 1, **kwargs) -> dict:
    """Time two beam searches with the same signature on the same inputs.

    Each is called ``batched(step_fn, init_state, beam_size, max_len, **kwargs)`` under
    ``torch.no_grad()``, once to warm up and then ``repeats`` times; the best time counts.
    ``threads``: torch's intra-op threads during the measurement (default 1, restored
    afterwards; ``None`` leaves the setting alone): on a shared CPU more threads than free
    cores slow small steps by orders of magnitude and make the ratio meaningless.
    Returns a dict with the seconds of each (``batched_s``, ``one_at_a_time_s``), their
    ratio ``speedup`` (one-at-a-time / batched), the sizes, ``threads``, whether the two
    returned the same tokens (``same_tokens``) and the largest difference of their
    log-probabilities (``max_logprob_diff``).
    """
    import torch

    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _beam_throughput(batched, one_at_a_time, step_fn, init_state, beam_size, max_len, repeats, kwargs)
    finally:
        torch.set_num_threads(old_threads)


def _beam_throughput(batched, one_at_a_time, step_fn, init_state, beam_size, max_len, repeats, kwargs) -> dict:
    import torch

    def best(fn):
        with torch.no_grad():
            out = fn(step_fn, init_state, beam_size, max_len, **kwargs)
            times = []
            for _ in range(int(repeats)):
                t0 = time.perf_counter()
                fn(step_fn, init_state, beam_size, max_len, **kwargs)
                times.append(time.perf_counter() - t0)
        return min(times), out
    tb, ob = best(batched)
    ts, os_ = best(one_at_a_time)
    same = [[h[0] for h in a] for a in ob] == [[h[0] for h in a] for a in os_]
    diff = max((abs(x[1] - y[1]) for a, b in zip(ob, os_) for x, y in zip(a, b)), default=0.0)
    return {"batch_size": state_batch_size(init_state), "beam_size": int(beam_size), "max_len": int(max_len),
            "batched_s": tb, "one_at_a_time_s": ts, "speedup": ts / tb, "same_tokens": bool(same),
            "max_logprob_diff": float(diff), "threads": torch.get_num_threads()}


__all__: list[str] = [
    "PAD", "SOS", "EOS", "SPACE", "length_penalty", "score", "state_batch_size", "state_device",
    "TableModel", "HashModel", "example_tables", "brute_force", "sequence_log_prob", "search_tree",
    "draw_search_tree", "decoder_step_fn", "attention_state", "attention_step_fn", "spaced_chars",
    "unspaced", "train_seq2seq", "beam_throughput",
]
