"""The chapter 6 reference (autograde/reference/ch06.py) against peers and brute force.

* ``beam_search`` equals exhaustive search (``rnncourse.search.brute_force``), whole
  ranked lists, when ``beam_size`` is at least the number of complete sequences, on many
  random toy scorers (V = 3..5, max_len = 1..4, three batch items), for alpha 0 and 0.7
  with both penalties; with small beams it equals the one-hypothesis-at-a-time version,
  with and without early stopping; beam 1 with alpha 0 is greedy; a batch gives each
  item's result alone; finished hypotheses are never extended.  The hand-made tables show
  beam 2 beating greedy and length normalisation changing the winner.
* ``Encoder``'s final state and outputs equal ``nn.LSTM`` run on each sequence unpadded;
  the decoders give the same logits one step at a time and on the whole target; attention
  weights are exactly 0 on padding and sum to 1.
* ``masked_loss`` equals ``F.cross_entropy(ignore_index=-100)`` on the valid positions and
  ignores junk (targets V or -100, NaN logits) elsewhere.
* ``corpus_bleu`` equals ``sacrebleu.corpus_bleu(hyps, [refs]).score`` to 1e-9 (default
  tokeniser on the course's spaced characters, ``tokenize="none"`` on random words).
* The batched beam search is timed against the one-at-a-time one on a random LSTM decoder.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from autograde.reference import ch06 as R  # noqa: E402
from rnncourse import search as S  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors on a shared 2-core machine: one torch thread is much faster."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def models(seed: int, V: int, L: int):
    """A (step, previous token) table and a prefix-hash scorer, both with some <eos> mass."""
    return [S.TableModel.random(V, L, seed, eos_boost=2.0), S.HashModel(V, seed, temperature=0.7, eos_bias=0.3)]


CASES = [(seed, 3 + seed % 3, 1 + (seed // 3) % 4) for seed in range(24)]
SCORING = [(0.0, "length"), (0.7, "length"), (0.7, "gnmt")]


# --------------------------------------------------------------------------- beam search vs brute force
@pytest.mark.parametrize("seed,V,L", CASES)
def test_beam_search_is_exhaustive_with_a_wide_beam(seed, V, L):
    for model in models(seed, V, L):
        state = model.init_state(3)
        for alpha, penalty in SCORING:
            exact = S.brute_force(model, state, L, V, alpha=alpha, penalty=penalty)
            n = max(len(e) for e in exact)
            assert n <= V ** L
            for K in (n, V ** L):
                got = R.beam_search(model, state, K, L, alpha=alpha, penalty=penalty)
                assert got == exact, (seed, V, L, type(model).__name__, alpha, penalty, K)


@pytest.mark.parametrize("seed,V,L", CASES[::2])
def test_small_beams_against_one_at_a_time_and_no_early_stop(seed, V, L):
    for model in models(seed, V, L + 2):
        state = model.init_state(3)
        for alpha, penalty in SCORING:
            for K in (1, 2, 3, 5):
                got = R.beam_search(model, state, K, L + 2, alpha=alpha, penalty=penalty)
                peer = R.beam_search_one_at_a_time(model, state, K, L + 2, alpha=alpha, penalty=penalty)
                full = R.beam_search_one_at_a_time(model, state, K, L + 2, alpha=alpha, penalty=penalty,
                                                   early_stop=False)
                assert got == peer == full, (seed, V, L, alpha, penalty, K)
                for hyps in got:
                    assert 1 <= len(hyps) <= K
                    assert [h[2] for h in hyps] == sorted((h[2] for h in hyps), reverse=True)


def test_beam_one_is_greedy():
    for seed in range(12):
        V = 3 + seed % 4
        model = S.HashModel(V, seed, temperature=0.8, eos_bias=0.5 * (seed % 3))
        state = model.init_state(5)
        tokens, lengths = R.greedy_decode(model, state, 5, 6)
        beams = R.beam_search(model, state, 1, 6)
        for b in range(5):
            g = tuple(tokens[b, :int(lengths[b])].tolist())
            (best, lp, _), = beams[b]
            assert best == g
            assert lp == S.sequence_log_prob(model, model.init_state(1), g)


def test_greedy_decode_rows_one_by_one():
    calls = []

    def step(tok, st):
        calls.append(len(tok))
        return model(tok, st)
    for seed in range(8):
        V, B, T = 4 + seed % 3, 6, 7
        model = S.HashModel(V, seed, temperature=0.5, eos_bias=1.0)
        calls.clear()
        tokens, lengths = R.greedy_decode(step, model.init_state(B), B, T)
        assert tokens.dtype == torch.int64 and lengths.dtype == torch.int64
        assert tokens.shape == (B, int(lengths.max())) and len(calls) == int(lengths.max())
        for b in range(B):
            st, prev, seq = model.init_state(1), torch.tensor([S.SOS]), []
            for _ in range(T):
                lp, st = model(prev, st)
                seq.append(int(lp[0].argmax()))
                prev = torch.tensor(seq[-1:])
                if seq[-1] == S.EOS:
                    break
            assert int(lengths[b]) == len(seq)
            assert tokens[b, :len(seq)].tolist() == seq and not tokens[b, len(seq):].any()


def test_batch_equals_items_alone_and_finished_are_not_extended():
    # after <eos> the table wants "3" almost surely: a grown finished hypothesis would show it
    for seed in range(10):
        V, L = 5, 5
        p = np.random.default_rng(seed).dirichlet(np.ones(V), size=(L, V))
        p[:, S.EOS] = 1e-3
        p[:, S.EOS, 3] = 1.0
        table = S.TableModel.from_probs(p)
        hashed = S.HashModel(V, seed, eos_bias=0.5)
        # rows that differ: the table's rows start at different steps, the hash model's
        # rows from the empty prefixes of different seeds (its step ignores the seed)
        states = [torch.tensor([[0, 1, 2, 0]]),
                  torch.cat([S.HashModel(V, seed + 100 * b).init_state(1) for b in range(4)], 1)]
        for m, state in zip((table, hashed), states):
            fed = []

            def step(tok, st):
                fed.append(tok.clone())
                return m(tok, st)
            for K in (1, 3, 7):
                fed.clear()
                together = R.beam_search(step, state, K, L, alpha=0.5)
                assert all(len(f) == 4 * K for f in fed) and not any((f == S.EOS).any() for f in fed)
                alone = [R.beam_search(m, state[:, b:b + 1], K, L, alpha=0.5)[0] for b in range(4)]
                assert together == alone
                assert len({tuple(h[0] for h in x) for x in together}) > 1
                for b, hyps in enumerate(together):
                    for tokens, lp, sc in hyps:
                        assert S.EOS not in tokens[:-1]
                        assert tokens[-1] == S.EOS or len(tokens) == L
                        assert lp == pytest.approx(S.sequence_log_prob(m, state[:, b:b + 1], tokens), abs=1e-12)
                        assert sc == pytest.approx(lp / len(tokens) ** 0.5, abs=1e-12)


def test_hand_made_tables():
    ex = S.example_tables()
    trap = ex["greedy_trap"]
    tokens, lengths = R.greedy_decode(trap, trap.init_state(1), 1, 3)
    greedy = tuple(tokens[0, :int(lengths[0])].tolist())
    assert greedy == (3, 2)
    beam2 = R.beam_search(trap, trap.init_state(1), 2, 3)[0]
    assert beam2[0][0] == (4, 2) and beam2[0][1] > S.sequence_log_prob(trap, trap.init_state(1), greedy)
    assert beam2[0][1] == pytest.approx(math.log(0.4 * 0.9), abs=1e-2)
    assert S.brute_force(trap, trap.init_state(1), 3, 5)[0][0][0] == (4, 2)

    short = ex["short_bias"]
    for alpha, winner in ((0.0, (2,)), (1.0, (3, 3, 2))):
        got = R.beam_search(short, short.init_state(1), 2, 4, alpha=alpha)[0][0]
        assert got[0] == winner
        assert S.brute_force(short, short.init_state(1), 4, 5, alpha=alpha)[0][0][0] == winner


def test_random_instances_separate_greedy_beam_and_exhaustive():
    counts = {"beam 2 > greedy": 0, "exhaustive > beam 2": 0, "alpha 1 changes the winner": 0}
    for seed in range(25):
        m = S.HashModel(5, seed, temperature=0.7, eos_bias=0.3)
        st = m.init_state(1)
        tokens, lengths = R.greedy_decode(m, st, 1, 5)
        greedy = S.sequence_log_prob(m, st, tokens[0, :int(lengths[0])].tolist())
        beam2 = R.beam_search(m, st, 2, 5)[0][0][1]
        exact = S.brute_force(m, st, 5, 5)[0]
        exact_norm = sorted(((t, lp, lp / len(t)) for t, lp, _ in exact), key=lambda h: (-h[2], h[0]))
        assert exact[0][1] >= beam2 - 1e-12 and exact[0][1] >= greedy - 1e-12
        counts["beam 2 > greedy"] += beam2 > greedy + 1e-9
        counts["exhaustive > beam 2"] += exact[0][1] > beam2 + 1e-9
        counts["alpha 1 changes the winner"] += exact[0][0] != exact_norm[0][0]
    assert all(counts.values()), counts


def test_beam_edge_cases():
    model = S.HashModel(4, 3)
    state = model.init_state(2)
    one = R.beam_search(model, state, 3, 1)        # max_len 1: every token, eos or cut
    assert one == [e[:3] for e in S.brute_force(model, state, 1, 4)]
    assert all(len(h) == 3 and all(len(t) == 1 for t, _, _ in h) for h in one)
    wide = R.beam_search(model, state, 50, 2)      # beam wider than all sequences (16)
    assert wide == S.brute_force(model, state, 2, 4)
    tokens, lengths = R.greedy_decode(model, state, 2, 1)
    assert tokens.shape == (2, 1) and lengths.tolist() == [1, 1]
    beams = R.beam_search(model, state, 1, 1)
    assert [tuple(tokens[b].tolist()) for b in range(2)] == [beams[b][0][0] for b in range(2)]
    with pytest.raises(ValueError):
        R.greedy_decode(model, state, 2, 0)
    with pytest.raises(ValueError):
        R.beam_search(model, state, 0, 3)
    with pytest.raises(ValueError):
        R.beam_search(model, state, 2, 3, penalty="nope")
    with pytest.raises(ValueError):
        R.beam_search(model, state, 2, 3, alpha=-1.0)


# --------------------------------------------------------------------------- loss
def test_masked_loss_against_cross_entropy_with_junk():
    g = torch.Generator().manual_seed(0)
    for B, U, V in ((1, 1, 3), (4, 7, 11), (3, 5, 2)):
        logits = torch.randn(B, U, V, generator=g, dtype=torch.float64)
        targets = torch.randint(0, V, (B, U), generator=g)
        mask = torch.rand(B, U, generator=g) < 0.6
        mask[0, 0] = True
        ignore = targets.masked_fill(~mask, -100)
        expected = F.cross_entropy(logits.reshape(-1, V), ignore.reshape(-1), ignore_index=-100)
        for junk in (-100, V):
            jl = logits.clone().masked_fill(~mask[..., None], float("nan")).requires_grad_(True)
            jt = targets.masked_fill(~mask, junk)
            loss = R.masked_loss(jl, jt, mask)
            assert loss.ndim == 0
            torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-12)
            loss.backward()
            assert torch.isfinite(jl.grad).all() and not jl.grad[~mask].any()
    with pytest.raises(ValueError):
        R.masked_loss(logits, targets, torch.zeros_like(mask))


# --------------------------------------------------------------------------- models
def padded_batch(g, B, S_, V, min_len=1):
    lengths = torch.randint(min_len, S_ + 1, (B,), generator=g)
    lengths[0] = S_
    src = torch.randint(3, V, (B, S_), generator=g)
    src[torch.arange(S_)[None, :] >= lengths[:, None]] = S.PAD
    return src, lengths


@pytest.mark.parametrize("num_layers", [1, 2])
def test_encoder_state_is_the_state_at_the_true_length(num_layers):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    enc = R.Encoder(13, 5, 6, num_layers).double()
    src, lengths = padded_batch(g, 7, 9, 13)
    lengths[1] = 1
    src[1, 1:] = S.PAD
    out, (h, c) = enc(src, lengths)
    assert out.shape == (7, 9, 6) and h.shape == c.shape == (num_layers, 7, 6)
    for i in range(7):
        n = int(lengths[i])
        o_i, (h_i, c_i) = enc.lstm(enc.embed(src[i:i + 1, :n]))
        torch.testing.assert_close(out[i, :n], o_i[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(h[:, i], h_i[:, 0], rtol=0, atol=1e-12)
        torch.testing.assert_close(c[:, i], c_i[:, 0], rtol=0, atol=1e-12)
        assert not out[i, n:].any()
    with pytest.raises(ValueError):
        enc(src, lengths.masked_fill(lengths == 1, 0))


def test_decoder_step_by_step_equals_teacher_forcing():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    for L in (1, 2):
        dec = R.Decoder(9, 4, 5, L).double()
        state = tuple(torch.randn(L, 3, 5, generator=g, dtype=torch.float64) for _ in range(2))
        tgt = torch.randint(0, 9, (3, 6), generator=g)
        logits, final = dec(tgt, state)
        assert logits.shape == (3, 6, 9)
        st, steps = state, []
        for t in range(6):
            lg, st = dec(tgt[:, t:t + 1], st)
            steps.append(lg)
        torch.testing.assert_close(torch.cat(steps, 1), logits, rtol=0, atol=1e-12)
        torch.testing.assert_close(st, final, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_attention_masks_padding_and_steps_agree(kind):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    enc = R.Encoder(12, 4, 6).double()
    dec = R.AttentionDecoder(10, 4, 6, 1, score=kind).double()
    src, lengths = padded_batch(g, 5, 8, 12)
    out, state = enc(src, lengths)
    mask = R.source_mask(lengths, 8)
    tgt = torch.randint(0, 10, (5, 4), generator=g)
    logits, final, w = dec(tgt, state, out, mask)
    assert logits.shape == (5, 4, 10) and w.shape == (5, 4, 8)
    assert (w[~mask[:, None, :].expand_as(w)] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(5, 4, dtype=torch.float64), rtol=0, atol=1e-12)
    # junk in the padded encoder outputs and extra padding change nothing
    junk = torch.cat([out.masked_fill(~mask[..., None], 1e3), torch.full((5, 3, 6), float(7), dtype=out.dtype)], 1)
    logits2, _, w2 = dec(tgt, state, junk, torch.cat([mask, torch.zeros(5, 3, dtype=torch.bool)], 1))
    torch.testing.assert_close(logits2, logits, rtol=0, atol=1e-12)
    assert not w2[..., 8:].any()
    st, steps = state, []
    for t in range(4):
        lg, st, _ = dec(tgt[:, t:t + 1], st, out, mask)
        steps.append(lg)
    torch.testing.assert_close(torch.cat(steps, 1), logits, rtol=0, atol=1e-12)
    # beam search over an attention decoder: the encoder's outputs travel in the state
    step = S.attention_step_fn(dec)
    init = S.attention_state(state, out, mask)
    with torch.no_grad():
        a = R.beam_search(step, init, 3, 5, alpha=0.6)
        b = R.beam_search_one_at_a_time(step, init, 3, 5, alpha=0.6)
    assert [[h[0] for h in x] for x in a] == [[h[0] for h in x] for x in b]
    assert np.allclose([h[1] for x in a for h in x], [h[1] for x in b for h in x], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- BLEU
def random_text(rng, alphabet, n_max):
    return "".join(rng.choice(list(alphabet), size=rng.integers(0, n_max + 1)))


def test_corpus_bleu_equals_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = np.random.default_rng(0)
    chars = "0123456789-/., aAbMay"
    for case in range(150):
        n = int(rng.integers(1, 8))
        refs = [random_text(rng, chars, 12) or "1" for _ in range(n)]
        hyps = []
        for r in refs:
            kind = rng.integers(0, 4)
            if kind == 0:
                hyps.append("")                                   # empty
            elif kind == 1:
                hyps.append(r[: rng.integers(0, 4)])              # shorter than 4 tokens
            elif kind == 2:                                       # a noisy copy
                hyps.append("".join(c if rng.random() < 0.8 else rng.choice(list(chars)) for c in r))
            else:
                hyps.append(random_text(rng, chars, 14))
        H, Rf = [S.spaced_chars(h) for h in hyps], [S.spaced_chars(r) for r in refs]
        expected = sacrebleu.corpus_bleu(H, [Rf]).score
        assert R.corpus_bleu(H, Rf) == pytest.approx(expected, rel=0, abs=1e-9), (H, Rf)
        assert sacrebleu.corpus_bleu(H, [Rf], tokenize="none").score == pytest.approx(expected, abs=1e-9)
    words = ["the", "cat", "sat", "on", "mat", "a", "dog"]
    for case in range(100):
        n = int(rng.integers(1, 6))
        refs = [" ".join(rng.choice(words, size=rng.integers(1, 9))) for _ in range(n)]
        hyps = [" ".join(rng.choice(words, size=rng.integers(0, 9))) for _ in range(n)]
        expected = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score
        assert R.corpus_bleu(hyps, refs) == pytest.approx(expected, rel=0, abs=1e-9)
    assert R.corpus_bleu(["a b c d"], ["a b c d"]) == pytest.approx(100.0)
    assert R.corpus_bleu([""], ["a b"]) == 0.0
    with pytest.raises(ValueError):
        R.corpus_bleu(["a"], [])


def test_exact_match_and_spaced_chars():
    assert R.exact_match(["12", "1 2", ""], ["12", "12", ""]) == pytest.approx(2 / 3)
    assert S.spaced_chars("3 May") == "3 \u2581 M a y" and S.spaced_chars("") == ""
    assert S.unspaced(S.spaced_chars("1999-03-04 x")) == "1999-03-04 x"
    with pytest.raises(ValueError):
        R.exact_match([], [])


# --------------------------------------------------------------------------- tools
def test_search_tree_and_drawing():
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    model = S.example_tables()["greedy_trap"]
    nodes = S.search_tree(model, model.init_state(1), 5, 3)
    seqs = {n for n, _ in nodes}
    exact = S.brute_force(model, model.init_state(1), 3, 5)[0]
    assert {t for t, _, _ in exact} <= seqs and nodes[0] == ((), 0.0)
    lp = dict(nodes)
    assert all(lp[t] == x for t, x, _ in exact)
    small = S.search_tree(model, model.init_state(1), 5, 3, min_prob=0.05)
    ax = S.draw_search_tree(small, labels=["<pad>", "<sos>", "<eos>", "a", "b"], highlight=[(4, 2)])
    assert ax.figure.get_size_inches()[0] <= 10
    plt.close(ax.figure)


def test_train_seq2seq_runs_and_learns():
    g = torch.Generator().manual_seed(0)
    N, S_ = 64, 5
    src, lengths = padded_batch(g, N, S_, 8)
    tgt = torch.cat([src, torch.zeros(N, 1, dtype=torch.int64)], 1)
    tgt[torch.arange(N), lengths] = S.EOS
    tgt_in = torch.cat([torch.full((N, 1), S.SOS), tgt[:, :-1]], 1)
    mask = torch.arange(S_ + 1)[None, :] <= lengths[:, None]
    torch.manual_seed(0)
    enc, dec = R.Encoder(8, 8, 16), R.AttentionDecoder(8, 8, 16)
    losses = S.train_seq2seq(enc, dec, R.masked_loss, src, lengths, tgt_in, tgt, mask, steps=40, batch_size=32,
                             lr=0.02, seed=0, attention=True)
    assert losses.shape == (40,) and losses[-5:].mean() < losses[:5].mean()


def test_batched_beam_search_throughput():
    torch.manual_seed(0)
    B, K, T, V, H = 8, 5, 12, 24, 64
    dec = R.Decoder(V, 16, H)
    with torch.no_grad():
        dec.out.bias[S.EOS] -= 3.0    # long hypotheses: the same work in both versions
    state = (torch.randn(1, B, H), torch.randn(1, B, H))
    result = S.beam_throughput(R.beam_search, R.beam_search_one_at_a_time, S.decoder_step_fn(dec), state,
                               beam_size=K, max_len=T, repeats=2)
    print("beam search throughput:", result)
    assert result["same_tokens"] and result["max_logprob_diff"] < 1e-4
    assert result["speedup"] > 5.0      # 16-21x on the 2-core CI machine, one thread; the bench reports it
