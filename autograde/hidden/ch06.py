"""Hidden checks for chapter 6: the student's functions against the reference.

Inputs come from generators seeded here (``seed(name, case)``).

* The models (``Encoder``, ``Decoder``, ``AttentionDecoder``) are built where they live with
  random sizes (B = 1, S = 1, U = 1, one to three layers, every score function) and must have
  the properties of the visible checks (exactly 0 at padding, each sequence as if alone,
  one-token calls equal to one call, weights summing to 1 and exactly 0 on padding, the state
  and the encoder outputs used); then each learns a tiny task with the course's loops
  (``rnncourse.seq2seq_training``): the encoder and a linear head report the first token of
  variable-length sequences from the final h, the decoder emits a class's sequence from that
  class's initial state, the attention decoder copies a source through attention over fixed
  encoder outputs.  Reference models reach 100% on each; the bars are below that and far
  above chance.
* ``masked_loss``: the reference's value and gradient (float64 and float32) with junk at the
  masked-out positions, and every ValueError.
* ``greedy_decode`` and ``beam_search``: portable toy scorers (``TableStep``, ``HashStep``)
  with random tables, prefix hashes, exact ties, other ``sos``/``eos`` ids; the tokens and
  lengths (greedy) or the whole ranked lists (beam) equal the reference's, beam search with a
  beam covering every sequence equals exhaustive search, and the step_fn calls are counted
  where the student's function runs (greedy: the reference's number of calls, B rows each;
  beam: at most one call per step, at most B x beam_size rows).
* ``corpus_bleu``: the reference (= sacrebleu) on random corpora, ``max_order`` 1..4.

Messages never print reference values (``hidden_close`` / ``hidden_equal``).
"""
from __future__ import annotations

import math

import numpy as np

from autograde.hidden.common import cases, hidden_close, hidden_equal, seed
from autograde.reference import ch06 as ref
from rnncourse import search as S
from rnncourse.checks import ch06 as vis
from rnncourse.checks.core import CheckFailed, Report, call, check_raises, produce
from rnncourse.checks.functions import HashStep, TableStep, calls_recorded

# --------------------------------------------------------------------------- learning tasks
# Measured with the reference on one CPU thread (2 init seeds each): the encoder task 100% test
# accuracy after 80 steps (~0.5 s), the decoder task 100% of tokens after 120 steps (~0.4 s),
# attention copying 100% of held-out tokens after 100 steps for each score function (~0.5 s each);
# 3 seeds each, all at 100%.
FIRST_TOKEN = dict(classes=3, vocab=8, embed=8, hidden=16, max_len=6, n_train=512, n_test=200, steps=80, lr=0.03)
FIRST_TOKEN_MIN = 0.9                       # chance: 1/3
FROM_STATES = dict(classes=4, vocab=8, embed=8, hidden=16, length=5, steps=120, lr=0.03)
FROM_STATES_MIN = 0.9                       # fraction of tokens of the free run; from one state: at most ~1/4 per item
COPY = dict(vocab=8, embed=8, hidden=16, src_len=4, n_train=512, n_test=200, steps=100, lr=0.02)
COPY_MIN = 0.9                              # chance: 1/5 (tokens 3..7)


def _seqs(rng, n, S_, lo, hi, min_len=1):
    lengths = rng.integers(min_len, S_ + 1, n)
    ids = rng.integers(lo, hi, (n, S_))
    for i, l in enumerate(lengths):
        ids[i, l:] = 0
    return ids, lengths


def _first_token(r, cls, name):
    c = FIRST_TOKEN
    rng = np.random.default_rng(seed(name, 200))
    src, lengths = _seqs(rng, c["n_train"], c["max_len"], 3, c["vocab"])
    src[:, 0] = rng.integers(3, 3 + c["classes"], len(src))
    test, test_len = _seqs(rng, c["n_test"], c["max_len"], 3, c["vocab"])
    test[:, 0] = rng.integers(3, 3 + c["classes"], len(test))
    with r.case(f"learning: Encoder({c['vocab']}, {c['embed']}, {c['hidden']}) and a linear head on the final h, "
                f"{c['steps']} Adam steps, report the first token of sequences of lengths 1..{c['max_len']}"):
        model = vis.make_model(name, cls, c["vocab"], c["embed"], c["hidden"], 1, init_seed=seed(name, 201) % 2**31)
        losses, logits = call(f"training {name}", produce, "rnncourse.seq2seq_training:train_first_token", model, src,
                              lengths, test, test_len, hidden_size=c["hidden"], num_classes=c["classes"],
                              steps=c["steps"], lr=c["lr"], seed=seed(name, 202) % 2**31)
        logits = np.asarray(logits, dtype=np.float64)
        vis.check_shape(f"{name}: the head's logits on the test sequences", logits, (len(test), c["classes"]))
        acc = float(np.mean(logits.argmax(1) == test[:, 0] - 3))
        if not acc >= FIRST_TOKEN_MIN:
            raise CheckFailed(f"{name}: after the course's training the final h tells the first token of "
                              f"{100 * acc:.0f}% of held-out sequences; a correct encoder reaches "
                              f"{100 * FIRST_TOKEN_MIN:.0f}% or more (chance {100 / c['classes']:.0f}%). The final state "
                              "must be the LSTM's state after each sequence's last true token (loss "
                              f"{np.asarray(losses)[0]:.3f} -> {np.mean(np.asarray(losses)[-10:]):.3f})")


def _from_states(r, cls, name):
    c = FROM_STATES
    rng = np.random.default_rng(seed(name, 200))
    K, U, H = c["classes"], c["length"], c["hidden"]
    tgt = rng.integers(3, c["vocab"], (K, U))
    tgt[:, 0] = 3 + np.arange(K) % (c["vocab"] - 3)       # the first tokens differ: the state must tell
    tgt[:, -1] = S.EOS
    tgt_in = np.concatenate([np.full((K, 1), S.SOS), tgt[:, :-1]], axis=1)
    h0 = rng.normal(0, 1, (1, K, H)).astype(np.float32)
    c0 = rng.normal(0, 1, (1, K, H)).astype(np.float32)
    with r.case(f"learning: Decoder({c['vocab']}, {c['embed']}, {H}) started from a fixed random state per class "
                f"({K} classes) learns each class's sequence of {U} tokens in {c['steps']} steps, then decodes it"):
        model = vis.make_model(name, cls, c["vocab"], c["embed"], H, 1, init_seed=seed(name, 201) % 2**31)
        losses, tokens = call(f"training {name}", produce, "rnncourse.seq2seq_training:train_from_states", model, h0,
                              c0, tgt_in, tgt, steps=c["steps"], lr=c["lr"], seed=seed(name, 202) % 2**31)
        tokens = np.asarray(tokens)
        vis.check_shape(f"{name}: the decoded tokens", tokens, (K, U))
        acc = float(np.mean(tokens == tgt))
        if not acc >= FROM_STATES_MIN:
            raise CheckFailed(f"{name}: after the course's training, decoding from each class's state gave "
                              f"{100 * acc:.0f}% of the class's tokens; a correct decoder reaches "
                              f"{100 * FROM_STATES_MIN:.0f}% or more (it must start from the state it is given and "
                              f"carry it from call to call; loss {np.asarray(losses)[0]:.3f} -> "
                              f"{np.asarray(losses)[-1]:.3f})")


def _copy_data(rng, n, c, tok, pos):
    x = rng.integers(3, c["vocab"], (n, c["src_len"]))
    enc = (tok[x] + pos[None]).astype(np.float32)
    tgt_in = np.concatenate([np.full((n, 1), S.SOS), x[:, :-1]], axis=1)
    return x, enc, np.ones(x.shape, bool), tgt_in


def _copy(r, cls, name, score):
    c = COPY
    rng = np.random.default_rng(seed(name, 200))
    H = c["hidden"]
    tok, pos = rng.normal(0, 1, (c["vocab"], H)), rng.normal(0, 1, (c["src_len"], H))
    x, enc, mask, tgt_in = _copy_data(rng, c["n_train"], c, tok, pos)
    xt, enct, maskt, tgt_int = _copy_data(rng, c["n_test"], c, tok, pos)
    with r.case(f"learning: AttentionDecoder({c['vocab']}, {c['embed']}, {H}, 1, {score!r}) from a zero state copies a "
                f"source of {c['src_len']} tokens through attention over fixed encoder outputs, {c['steps']} steps"):
        model = vis.make_model(name, cls, c["vocab"], c["embed"], H, 1, score, init_seed=seed(name, 201) % 2**31)
        losses, logits = call(f"training {name}", produce, "rnncourse.seq2seq_training:train_attention_copy", model,
                              enc, mask, tgt_in, x, enct, maskt, tgt_int, steps=c["steps"], lr=c["lr"],
                              seed=seed(name, 202) % 2**31)
        logits = np.asarray(logits, dtype=np.float64)
        vis.check_shape(f"{name}: the test logits", logits, xt.shape + (c["vocab"],))
        acc = float(np.mean(logits.argmax(-1) == xt))
        if not acc >= COPY_MIN:
            raise CheckFailed(f"{name}(score={score!r}): after the course's training it copies {100 * acc:.0f}% of the "
                              f"held-out source tokens; a correct attention decoder reaches {100 * COPY_MIN:.0f}% or "
                              f"more (chance 20%; the source is seen only through attention; loss "
                              f"{np.asarray(losses)[0]:.3f} -> {np.mean(np.asarray(losses)[-10:]):.3f})")


# --------------------------------------------------------------------------- exercise 1
def check_Encoder(cls) -> None:
    r = Report("Encoder (hidden)")
    name = "Encoder"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        V, E, H, L = int(rng.integers(4, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 4))
        B, S_ = int(rng.integers(2, 6)), int(rng.integers(2, 8))
        if case == 0:
            B, S_, L = 1, 1, 1
        with r.case(f"random case {case}: V={V}, embed={E}, hidden={H}, "
                    f"{'num_layers left out' if case == 0 else f'{L} layer(s)'}, B={B}, S={S_}"):
            model = vis.make_model(name, cls, V, E, H, *(() if case == 0 else (L,)), init_seed=case)
            vis.encoder_properties(name, model, rng, V, L, H, B, S_)
    with r.case("errors (ValueError): lengths 0, -1 or S + 1, lengths of the wrong shape, a 1-D or 3-D src"):
        model = vis.make_model(name, cls, 6, 2, 3, init_seed=9)
        vis.encoder_errors(name, model, 6)
        src = vis._tensor([[3, 4], [5, 0]])
        for what, s, l in (("a length -1", src, vis._tensor([2, -1])), ("a 3-D src", src[None], vis._tensor([2, 1])),
                           ("a 3-D src (B, S, 1)", src[..., None], vis._tensor([2, 1])),
                           ("2-D lengths", src, vis._tensor([[2, 1]]))):
            check_raises(f"{name}.forward with {what}", lambda s=s, l=l: model(s, l), ValueError,
                         "see the docstring's Raises")
    _first_token(r, cls, name)
    r.done()


# --------------------------------------------------------------------------- exercise 2
def check_Decoder(cls) -> None:
    r = Report("Decoder (hidden)")
    name = "Decoder"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        V, E, H, L = int(rng.integers(4, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 4))
        B, U = int(rng.integers(2, 6)), int(rng.integers(2, 7))
        if case == 0:
            B, U, L = 1, 1, 1
        with r.case(f"random case {case}: V={V}, embed={E}, hidden={H}, "
                    f"{'num_layers left out' if case == 0 else f'{L} layer(s)'}, B={B}, U={U}"):
            model = vis.make_model(name, cls, V, E, H, *(() if case == 0 else (L,)), init_seed=case)
            vis.decoder_properties(name, model, rng, V, L, H, B, U)
    _from_states(r, cls, name)
    r.done()


# --------------------------------------------------------------------------- exercise 3
def check_masked_loss(fn) -> None:
    import torch

    r = Report("masked_loss (hidden)")
    name = "masked_loss"
    for case in cases(6):
        rng = np.random.default_rng(seed(name, case))
        B, U, V = int(rng.integers(1, 6)), int(rng.integers(1, 8)), int(rng.integers(2, 10))
        dtype = "float32" if case in (2, 5) else "float64"
        lg = rng.normal(0, float(rng.uniform(0.5, 5)), (B, U, V))
        mask = rng.random((B, U)) < float(rng.uniform(0.2, 0.9))
        if case == 1:
            mask[:] = True
        mask.flat[int(rng.integers(mask.size))] = True
        tg = rng.integers(0, V, (B, U))
        junk = lg.copy()
        junk[~mask] = np.where(rng.random(((~mask).sum(), V)) < 0.5, np.nan, 1e30)
        tj = vis.junk_targets(rng, tg, mask, V)
        with r.case(f"random case {case}: B={B}, U={U}, V={V}, {dtype}, {int(mask.sum())} True positions, junk "
                    "(NaN, 1e30 logits; targets -100, V) elsewhere"):
            got = vis.loss_value(name, fn, junk, tj, mask, dtype)
            lg_t = torch.as_tensor(lg).to(getattr(torch, dtype)).requires_grad_(True)
            want = ref.masked_loss(lg_t, torch.as_tensor(tg), torch.as_tensor(mask))
            hidden_close(f"{name}(...)", got, float(want.detach()), dtype=dtype)
            if dtype == "float64":
                want.backward()
                g = vis.loss_gradient(name, fn, junk, tj, mask)
                hidden_close(f"{name}: the gradient with respect to logits", g, lg_t.grad.numpy(), dtype=dtype)
    with r.case("errors (ValueError): a mask without True, shapes that disagree"):
        rng = np.random.default_rng(seed(name, 100))
        lg, tg = vis._tensor(rng.normal(size=(2, 3, 4)), "float64"), vis._tensor(rng.integers(0, 4, (2, 3)))
        mk = vis._tensor(np.ones((2, 3), bool), "bool")
        bad = (("a mask with no True", (lg, tg, vis._tensor(np.zeros((2, 3), bool), "bool"))),
               ("targets of shape (B + 1, U)", (lg, vis._tensor(np.zeros((3, 3), int)), mk)),
               ("targets of shape (B, U - 1)", (lg, tg[:, :2], mk[:, :2])),
               ("a mask of shape (B, U + 1)", (lg, tg, vis._tensor(np.ones((2, 4), bool), "bool"))),
               ("4-D logits", (lg[None], tg, mk)), ("2-D logits (B, U)", (lg[..., 0], tg, mk)), ("logits of shape (B, U + 1, V)",
                                                     (vis._tensor(np.zeros((2, 4, 4)), "float64"), tg, mk)))
        for what, args in bad:
            check_raises(f"{name} with {what}", lambda args=args: fn(*args), ValueError, "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- search: random scorers
def _quantised_table(rng, V, T):
    """Probabilities in small integer ratios: many exact ties."""
    return TableStep(S.TableModel.from_probs(rng.integers(1, 3, (T, V, V)).astype(float)).table)


def _scorer(rng, case, V, L):
    kind = case % 3
    if kind == 0:
        return TableStep(S.TableModel.random(V, max(L, 1), int(rng.integers(2**31)),
                                             eos_boost=float(rng.uniform(0.5, 3))).table), "random table"
    if kind == 1:
        return HashStep(V, int(rng.integers(2**31)), temperature=float(rng.uniform(0.3, 1.5)),
                        eos_bias=float(rng.uniform(-0.5, 1.0))), "random prefix-hash scorer"
    return _quantised_table(rng, V, max(L, 1)), "table with exact ties"


# --------------------------------------------------------------------------- exercise 4
def check_greedy_decode(fn) -> None:
    r = Report("greedy_decode (hidden)")
    name = "greedy_decode"
    for case in cases(9):
        rng = np.random.default_rng(seed(name, case))
        V, L, B = int(rng.integers(3, 9)), int(rng.integers(1, 8)), int(rng.integers(1, 6))
        model, label = _scorer(rng, case, V, L)
        kw = {}
        if case in (4, 7):
            kw = dict(sos=0 if case == 4 else 2, eos=int(rng.integers(3, V)) if V > 3 else 2)
        if isinstance(model, TableStep):
            state = vis.start_state(rng.integers(0, max(L, 1), B))
        else:
            state = model.init_state(B)
        with r.case(f"random case {case}: {label}, V={V}, B={B}, max_len={L}" + (f", {kw}" if kw else "")):
            tokens, lengths, rows = vis.run_greedy(name, fn, model, state.clone(), B, L, **kw)
            (want_t, want_l), want_rows = calls_recorded(ref.greedy_decode, model, state.clone(), B, L, **kw)
            hidden_equal(f"{name}: tokens", tokens, want_t.numpy())
            hidden_equal(f"{name}: lengths", lengths, want_l.numpy())
            vis.check_calls(name, rows, len(want_rows), B, "greedy")
    with r.case("errors (ValueError): batch_size 0 or -1, max_len 0 or -2"):
        model = TableStep(S.example_tables()["greedy_trap"].table)
        st = model.init_state(1)
        for B, L in ((0, 3), (-1, 3), (1, 0), (2, -2)):
            check_raises(f"{name}(..., batch_size={B}, max_len={L})", lambda B=B, L=L: fn(model, st, B, L),
                         ValueError, "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 5
SCORING = ((0.0, "length"), (0.6, "length"), (1.2, "gnmt"), (0.8, "gnmt"), (1.0, "length"))


def check_beam_search(fn) -> None:
    r = Report("beam_search (hidden)")
    name = "beam_search"
    for case in cases(8):     # a beam that covers every sequence: exhaustive search
        rng = np.random.default_rng(seed(name, case))
        V = int(rng.integers(3, 6))
        L = int(rng.integers(1, 5 if V == 3 else 4))
        B = int(rng.integers(1, 4))
        if case == 0:
            L = max(L, 2)          # lengths differ, so that a default alpha > 0 would change the ranking
        alpha, penalty = SCORING[case % len(SCORING)]
        model, label = _scorer(rng, case, V, L)
        state = model.init_state(B)
        exact = S.brute_force(model, state, L, V, alpha=alpha, penalty=penalty)
        K = max(len(e) for e in exact)
        with r.case(f"exhaustive case {case}: {label}, V={V}, max_len={L}, B={B}, alpha={alpha}, {penalty!r}, "
                    f"beam_size {K} (every complete sequence)" + (", alpha and penalty left out" if case == 0 else "")):
            kw = {} if case == 0 else dict(alpha=alpha, penalty=penalty)    # case 0: the defaults (0, "length")
            _, calls = calls_recorded(ref.beam_search, model, state.clone(), K, L, alpha=alpha, penalty=penalty)
            got = vis.run_beam(name, fn, model, state.clone(), K, L, expect_calls=len(calls), **kw)
            vis.hypotheses_consistent(name, got, model, state, L, alpha, penalty)
            vis.same_hypotheses(name, got, exact, hide=True, context="(against exhaustive search)")
    for case in cases(10):    # small beams: the reference's rule
        rng = np.random.default_rng(seed(name, 100 + case))
        V, L, B, K = int(rng.integers(3, 9)), int(rng.integers(1, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
        alpha, penalty = SCORING[case % len(SCORING)]
        model, label = _scorer(rng, case, V, L)
        kw = dict(alpha=alpha, penalty=penalty)
        sos, eos = S.SOS, S.EOS
        if case in (3, 8) and V > 3:
            sos, eos = (0 if case == 3 else 2), int(rng.integers(3, V))
            kw.update(sos=sos, eos=eos)
        state = model.init_state(B) if isinstance(model, HashStep) else vis.start_state(rng.integers(0, L, B))
        with r.case(f"random case {case}: {label}, V={V}, max_len={L}, B={B}, beam_size {K}, "
                    + ", ".join(f"{k}={v!r}" for k, v in kw.items())):
            want, calls = calls_recorded(ref.beam_search, model, state.clone(), K, L, **kw)
            got = vis.run_beam(name, fn, model, state.clone(), K, L, expect_calls=len(calls), **kw)
            vis.hypotheses_consistent(name, got, model, state, L, alpha, penalty, eos=eos, sos=sos)
            vis.same_hypotheses(name, got, want, hide=True, context="(against the reference's rule)")
    with r.case("an item without live hypotheses stops: after step 2 only <eos> is possible (max_len 5)"):
        rng = np.random.default_rng(seed(name, 300))
        V = 5
        probs = rng.dirichlet(np.ones(V), size=(3, V))
        probs[0, :, :3] = 0.0                # step 1: only tokens 3 and 4, so 2 live hypotheses and a pool
        probs[0] /= probs[0].sum(-1, keepdims=True)   # that stays below beam_size 3
        probs[1:, :, :] = 0.0
        probs[1:, :, S.EOS] = 1.0            # every prefix of length 1 must end now
        with np.errstate(divide="ignore"):
            model = TableStep(np.log(probs))
        state = model.init_state(2)
        want, calls = calls_recorded(ref.beam_search, model, state.clone(), 3, 5, alpha=0.5)
        got = vis.run_beam(name, fn, model, state.clone(), 3, 5, expect_calls=len(calls), alpha=0.5)
        vis.same_hypotheses(name, got, want, hide=True, context="(against the reference's rule)")
    with r.case("an exact tie of the pool's worst score with the bound does not stop the search (strictly greater)"):
        # step 1: <eos> and token 3 each 1/2, so beam_size 1 holds (<eos>,) in the pool and 3 alive, both
        # at log 1/2: the pool is full but its worst score only equals the bound, so step 2 is taken
        probs = np.zeros((2, 4, 4))
        probs[:, :, S.EOS] = probs[:, :, 3] = 0.5
        with np.errstate(divide="ignore"):
            model = TableStep(np.log(probs))
        for B in (1, 2):
            state = model.init_state(B)
            want, calls = calls_recorded(ref.beam_search, model, state.clone(), 1, 4)
            got = vis.run_beam(name, fn, model, state.clone(), 1, 4, expect_calls=len(calls))
            vis.same_hypotheses(name, got, want, hide=True, context="(against the reference's rule)")
    with r.case("beam_size 1 and alpha 0 give greedy decoding's tokens (ties included)"):
        for case in range(3):
            rng = np.random.default_rng(seed(name, 200 + case))
            V, L, B = int(rng.integers(3, 7)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
            model, _ = _scorer(rng, case, V, L)
            state = model.init_state(B)
            got = vis.run_beam(name, fn, model, state.clone(), 1, L)
            toks, lens = ref.greedy_decode(model, state.clone(), B, L)
            for b in range(B):
                hidden_equal(f"{name}(beam_size=1): item {b}'s tokens", np.array(got[b][0][0]),
                             toks[b, :int(lens[b])].numpy())
    with r.case("errors (ValueError): beam_size 0 or -1, max_len 0, alpha < 0, unknown penalties"):
        model = TableStep(S.example_tables()["greedy_trap"].table)
        st = model.init_state(2)
        for what, kw in (("beam_size=0", dict(beam_size=0, max_len=3)), ("beam_size=-1", dict(beam_size=-1, max_len=3)),
                         ("max_len=0", dict(beam_size=2, max_len=0)),
                         ("alpha=-1e-3", dict(beam_size=2, max_len=3, alpha=-1e-3)),
                         ("penalty='GNMT'", dict(beam_size=2, max_len=3, penalty="GNMT")),
                         ("penalty=''", dict(beam_size=1, max_len=2, penalty=""))):
            check_raises(f"{name}(..., {what})", lambda kw=kw: fn(model, st, **kw), ValueError,
                         "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 6
def check_AttentionDecoder(cls) -> None:
    r = Report("AttentionDecoder (hidden)")
    name = "AttentionDecoder"
    with r.case("num_layers and score left out (1 and 'general'); unknown scores raise ValueError"):
        vis.attention_default_and_errors(name, cls, 9, 2, 5)
        for bad in ("", "concat", "GENERAL"):
            check_raises(f"{name}(9, 2, 5, 1, {bad!r})",
                         lambda bad=bad: produce("rnncourse.training:construct", cls, 0, 9, 2, 5, 1, bad), ValueError,
                         "an unknown score must raise ValueError")
    for case in cases(5):
        rng = np.random.default_rng(seed(name, case))
        score = ("dot", "general", "additive")[case % 3]
        V, E, H, L = int(rng.integers(4, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 3))
        B, U, S_ = int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 7))
        if case == 0:
            B, U, S_ = 1, 1, 1
        with r.case(f"random case {case}: score={score!r}, V={V}, embed={E}, hidden={H}, {L} layer(s), B={B}, U={U}, "
                    f"S={S_}"):
            model = vis.make_model(name, cls, V, E, H, L, score, init_seed=case)
            vis.attention_properties(name, model, np.random.default_rng(seed(name, 50 + case)), V, L, H, B, U, S_, score)
            _parameter_count(name, model, V, E, H, L, score)
    for score in ("dot", "general", "additive"):
        _copy(r, cls, name, score)
    r.done()


def _parameter_count(name, model, V, E, H, L, score) -> None:
    """The formulas fix the parameters: an embedding, the LSTM, the score's matrices (no
    biases: W_a; W_q, W_k and v), W_c with b_c and W_out with b_out; nothing else."""
    import torch

    params = call(name, produce, "rnncourse.training:module_parameters", model)
    got = sum(int(np.asarray(p).size) for p in params.values())
    torch.manual_seed(0)
    want = sum(p.numel() for p in ref.AttentionDecoder(V, E, H, L, score).parameters())
    if got != want:
        raise CheckFailed(f"{name}({V}, {E}, {H}, {L}, score={score!r}) has {got} parameters, but the formulas of the "
                          f"docstring have {want}: the score functions have no biases (nn.Linear(..., bias=False)), "
                          "v maps H to 1, and there is no other layer")


# --------------------------------------------------------------------------- exercise 7
def check_corpus_bleu(fn) -> None:
    r = Report("corpus_bleu (hidden)")
    name = "corpus_bleu"
    for case in cases(10):
        rng = np.random.default_rng(seed(name, case))
        n = int(rng.integers(1, 30))
        hyps, refs = vis.random_corpus(rng, n, alphabet=int(rng.integers(2, 12)), max_len=int(rng.integers(1, 14)),
                                       empty=float(rng.uniform(0, 0.3)), copy=float(rng.uniform(0, 0.5)))
        kw = {} if case < 6 else {"max_order": int(rng.integers(1, 5))}
        if case == 1:
            hyps = list(refs)
        with r.case(f"random corpus {case}: {n} pairs" + (f", max_order={kw['max_order']}" if kw else "")):
            got = vis.bleu_of(name, fn, hyps, refs, **kw)
            hidden_close(f"{name}(hyps, refs{', max_order=...' if kw else ''})", got, ref.corpus_bleu(hyps, refs, **kw))
    with r.case("edge corpora: one pair, only empty hypotheses, hypotheses shorter than 4 tokens, longer than refs"):
        for hyps, refs in ((["a"], ["a"]), (["", ""], ["a b", "c"]), (["a b", "b c"], ["a b c", "b c"]),
                           (["a b c d e f g"], ["a b c d"]), (["x"], ["x y z w v"]),
                           (["a a a a", "b"], ["a b c d", "b c"]),
                           # unigram matches only, then unigrams and bigrams only: orders smoothed differently
                           (["a b c d e"], ["a x y z w"]), (["a b c d e f"], ["a b x c d y"]),
                           (["a b c d e f g h"], ["a b c x y z w v u"])):
            hidden_close(f"{name}({hyps}, {refs})", vis.bleu_of(name, fn, hyps, refs), ref.corpus_bleu(hyps, refs))
    with r.case("max_order 1 with one hypothesis token: the brevity penalty still applies"):
        for hyps, refs in ((["a"], ["a b"]), (["b"], ["a b c"]), (["a", ""], ["a", "b c"])):
            hidden_close(f"{name}({hyps}, {refs}, max_order=1)", vis.bleu_of(name, fn, hyps, refs, max_order=1),
                         ref.corpus_bleu(hyps, refs, max_order=1))
    with r.case("errors (ValueError): lists of different lengths, empty lists"):
        for h, rf in ((["a b"], []), ([], ["a"]), (["a", "b", "c"], ["a", "b"]), ([], [])):
            check_raises(f"{name}({h}, {rf})", lambda h=h, rf=rf: fn(h, rf), ValueError, "see the docstring's Raises")
    r.done()
