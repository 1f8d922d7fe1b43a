"""Hidden checks for chapter 2: the student's functions and models against the reference.

Inputs come from generators seeded here (``seed(name, case)``); models are initialised
and trained by the reference's fixed loops (``train_char_rnn``, ``train_line_classifier``)
from seeded torch generators, so only the student's model is graded and regrading gives
the same verdict.  Messages name the case and what differs, never the reference values.
The training budgets do not depend on RNNCOURSE_MODE, so a verdict is the same in both.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from autograde.hidden.common import check_distribution, cases, hidden_close, hidden_equal, seed
from autograde.reference import ch02 as ref
from rnncourse.checks.core import (CheckFailed, Report, call, check_array, check_dtype, check_equal, check_raises,
                                   check_shape, check_type, check_unchanged, produce, tolerance)

# Budgets of the quality checks (measured on 2 CPU cores: about 10 s and 20 s).
CHAR_RNN = dict(hidden_size=64, embed_size=16, steps=300, batch_size=64, lr=0.01)
CHAR_RNN_MARGIN = 0.05      # nats per character below the bigram baseline
CLASSIFIER = dict(embed_size=64, hidden_size=64, steps=1000, batch_size=128, lr=0.005)
CLASSIFIER_MARGIN = 0.04    # accuracy above the majority class
CLASSIFIER_EVAL = 3000      # held-out lines scored


# --------------------------------------------------------------------------- numpy
def _weights(rng, D, H, scale=0.7):
    return (rng.normal(0, scale / np.sqrt(D), (D, H)), rng.normal(0, scale / np.sqrt(H), (H, H)),
            rng.normal(0, 0.3, H))


def check_rnn_step(fn) -> None:
    r = Report("rnn_step (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("rnn_step", case))
        B, D, H = (1, 1, 1) if case == 0 else tuple(int(v) for v in rng.integers(1, 9, 3))
        W_xh, W_hh, b = _weights(rng, D, H)
        x, h = rng.normal(size=(B, D)), rng.uniform(-1, 1, (B, H))
        with r.case(f"random case {case}: B={B}, D={D}, H={H}"):
            sent = {"x": x.copy(), "h_prev": h.copy(), "W_xh": W_xh.copy(), "W_hh": W_hh.copy(), "b_h": b.copy()}
            out = check_array("h", call("rnn_step", fn, *sent.values()), kind="f")
            check_dtype("h", out, np.float64)
            hidden_close("h", out, ref.rnn_step(x, h, W_xh, W_hh, b))
            for name, before in zip(sent, (x, h, W_xh, W_hh, b)):
                check_unchanged(name, sent[name], before, who="rnn_step")
    rng = np.random.default_rng(seed("rnn_step", 99))
    W_xh, W_hh, b = _weights(rng, 3, 4)
    for what, args in (("x with 5 columns for a 3-row W_xh", (rng.normal(size=(2, 5)), np.zeros((2, 4)), W_xh, W_hh, b)),
                       ("h_prev with 6 columns for a 4 x 4 W_hh", (rng.normal(size=(2, 3)), np.zeros((2, 6)), W_xh, W_hh, b))):
        with r.case(f"shapes that do not fit: {what}"):
            check_raises("rnn_step", lambda: fn(*[a.copy() for a in args]), ValueError, "the shapes do not fit together")
    r.done()


def check_rnn_forward(fn) -> None:
    r = Report("rnn_forward (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("rnn_forward", case))
        B, T, D, H = (1, 1, 3, 2) if case == 0 else tuple(int(v) for v in rng.integers(1, 9, 4))
        W_xh, W_hh, b = _weights(rng, D, H, scale=1.5)
        xs, h0 = rng.normal(size=(B, T, D)), rng.uniform(-1, 1, (B, H))
        with r.case(f"random case {case}: B={B}, T={T}, D={D}, H={H}"):
            sent = {"xs": xs.copy(), "h0": h0.copy(), "W_xh": W_xh.copy(), "W_hh": W_hh.copy(), "b_h": b.copy()}
            out = check_array("hs", call("rnn_forward", fn, *sent.values()), kind="f")
            check_dtype("hs", out, np.float64)
            hidden_close("hs", out, ref.rnn_forward(xs, h0, W_xh, W_hh, b))
            for name, before in zip(sent, (xs, h0, W_xh, W_hh, b)):
                check_unchanged(name, sent[name], before, who="rnn_forward")
    rng = np.random.default_rng(seed("rnn_forward", 99))
    W_xh, W_hh, b = _weights(rng, 3, 4)
    with r.case("shapes that do not fit: xs with 2 features for a 3-row W_xh"):
        check_raises("rnn_forward", lambda: fn(rng.normal(size=(2, 4, 2)), np.zeros((2, 4)), W_xh.copy(), W_hh.copy(), b.copy()),
                     ValueError, "the shapes do not fit together")
    r.done()


_ALPHABET = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFG ,.;:'!?-\n") + ["é", "ß", "€", "<", ">"])


def _random_text(rng, n, alphabet=_ALPHABET):
    return "".join(rng.choice(alphabet, size=n))


def check_encode(fn) -> None:
    r = Report("encode (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("encode", case))
        vocab = ref.build_vocab([_random_text(rng, int(rng.integers(1, 60)), _ALPHABET[:int(rng.integers(3, 40))])])
        text = "" if case == 0 else _random_text(rng, int(rng.integers(1, 200)))
        with r.case(f"random case {case}: {len(vocab)} vocabulary entries, {len(text)} characters"):
            out = check_array("ids", call("encode", fn, text, list(vocab)), kind="i")
            check_dtype("ids", out, np.int64)
            hidden_equal("ids", out, ref.encode(text, vocab))
    specials = ["<pad>", "<unk>", "<eos>"]
    for vocab, text in ((specials, "xyz é"), (specials + ["x"], "xxyx"), (specials + ["\n"], "a\n\n")):
        with r.case(f"a vocabulary of {len(vocab)} entries, text {text!r}"):
            hidden_equal("ids", call("encode", fn, text, list(vocab)), ref.encode(text, vocab))
    r.done()


def check_decode(fn) -> None:
    r = Report("decode (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("decode", case))
        vocab = ref.build_vocab([_random_text(rng, 80)])
        n = int(rng.integers(0, 60)) if case else 0
        # mostly characters, some PAD / UNK / EOS
        p = np.full(len(vocab), 0.8 / (len(vocab) - 3))
        p[:3] = [0.1, 0.05, 0.05] if case % 2 else [0.1, 0.1, 0.0]
        ids = rng.choice(len(vocab), size=n, p=p / p.sum()).astype(np.int64)
        with r.case(f"random case {case}: {n} ids"):
            got = call("decode", fn, ids.copy(), list(vocab))
            check_type("decode(...)", got, str)
            if got != ref.decode(ids, vocab):
                raise CheckFailed(f"decode: the text differs from the reference for ids {ids.tolist()} "
                                  f"(you returned {got!r})")
    rng = np.random.default_rng(seed("decode", 99))
    vocab = ref.build_vocab([_random_text(rng, 80)])
    V = len(vocab)
    for bad in ([4, -1, 5], [V - 1, V], [3, 2, V + 7], [2, -3]):
        with r.case(f"ids {bad} with a {V}-entry vocabulary"):
            check_raises("decode", lambda: fn(np.array(bad), list(vocab)), ValueError,
                         "an id outside 0..len(vocab)-1, wherever it stands, is an error")
    r.done()


def check_sequence_cross_entropy(fn) -> None:
    r = Report("sequence_cross_entropy (hidden)")
    for case in cases(6):
        rng = np.random.default_rng(seed("sequence_cross_entropy", case))
        B, T, V = (1, 1, 2) if case == 0 else tuple(int(v) for v in rng.integers(1, 10, 3) + [0, 0, 1])
        scale = float(rng.choice([1.0, 5.0, 300.0]))
        logits = rng.normal(0, scale, (B, T, V))
        targets = rng.integers(0, V, (B, T))
        mask = rng.random((B, T)) < 0.7
        mask[0, 0] = True
        if B > 1:
            mask[-1] = False  # a row that is all padding
        with r.case(f"random case {case}: B={B}, T={T}, V={V}, logits of scale {scale:g}"):
            got = call("sequence_cross_entropy", fn, logits.copy(), targets.copy(), mask.copy())
            check_type("sequence_cross_entropy(...)", got, (float, np.floating))
            hidden_close("loss", got, ref.sequence_cross_entropy(logits, targets, mask))
        # masked positions filled with junk: out-of-range targets, NaN and inf logits
        junk_t, junk_l = targets.copy(), logits.copy()
        off = ~mask
        junk_t[off] = rng.choice([-100, -1, V, V + 3], size=int(off.sum()))
        junk_l[off] = rng.choice([np.nan, np.inf, -np.inf, 1e308], size=(int(off.sum()), V))
        if off.any():
            with r.case(f"random case {case} with masked positions holding targets -100/-1/V and NaN/inf logits"):
                sent = {"logits": junk_l.copy(), "targets": junk_t.copy(), "mask": mask.copy()}
                got = call("sequence_cross_entropy", fn, *sent.values())
                hidden_close("loss", got, ref.sequence_cross_entropy(logits, targets, mask))
                for name, before in zip(sent, (junk_l, junk_t, mask)):
                    check_unchanged(name, sent[name], before, who="sequence_cross_entropy")
    with r.case("a vocabulary of one token (V = 1): every loss is 0"):
        mask = np.array([[True, False, True], [False, False, True]])
        targets = np.where(mask, 0, -100)
        got = call("sequence_cross_entropy", fn, np.full((2, 3, 1), 3.5), targets, mask)
        hidden_close("loss", got, 0.0)
    r.done()


def check_sample_with_temperature(fn) -> None:
    r = Report("sample_with_temperature (hidden)")
    N = 3000
    for case in cases(4):
        rng = np.random.default_rng(seed("sample_with_temperature", case))
        V = int(rng.integers(2, 10))
        logits = rng.normal(0, 2, V)
        if case % 2:
            logits[rng.integers(V)] = -np.inf
        T = float(rng.choice([0.25, 0.7, 1.0, 2.5]))
        q = ref.temperature_probs(logits, T)
        with r.case(f"random case {case}: V={V}, T={T}"):
            g = np.random.default_rng(case)
            draws = []
            for tok in call("sample_with_temperature", produce, "rnncourse.checks.functions:repeat", fn, N,
                            logits.copy(), T, g):
                if not isinstance(tok, (int, np.integer)):
                    raise CheckFailed(f"sample_with_temperature must return an int, got {type(tok).__name__}")
                draws.append(int(tok))
            check_distribution("sample_with_temperature", draws, q)
    with r.case("T = 0 is argmax; the same generator state gives the same draws"):
        rng = np.random.default_rng(seed("sample_with_temperature", 99))
        logits = rng.normal(0, 1, 7)
        got = call("sample_with_temperature", fn, logits.copy(), 0.0, np.random.default_rng(0))
        check_equal("sample_with_temperature(..., T=0)", int(got), int(np.argmax(logits)))
        a = call("sample_with_temperature", produce, "rnncourse.checks.functions:repeat", fn, 20, logits, 1.3,
                 np.random.default_rng(4))
        b = call("sample_with_temperature", produce, "rnncourse.checks.functions:repeat", fn, 20, logits, 1.3,
                 np.random.default_rng(4))
        if [int(x) for x in a] != [int(x) for x in b]:
            raise CheckFailed("sample_with_temperature: two generators seeded alike gave different draws")
    with r.case("T = 0 with tied maxima: the first, and no draw from the generator"):
        gen = np.random.default_rng(seed("sample_with_temperature", 98))
        before = gen.bit_generator.state
        lg = np.array([-1.0, 2.5, -np.inf, 2.5, 0.3])
        check_equal("sample_with_temperature(..., T=0)", int(call("sample_with_temperature", fn, lg.copy(), 0.0, gen)), 1)
        if gen.bit_generator.state != before:
            raise CheckFailed("sample_with_temperature drew numbers from the generator at T = 0")
    for case, (lg, T) in enumerate(((np.array([700.0, 699.0, -900.0, -np.inf]), 1.0),
                                    (np.array([-750.0, -751.5, -752.0]), 0.3),
                                    (np.array([300.0, -300.0, 299.0]), 50.0))):
        with r.case(f"large logits {lg.tolist()} at T = {T}"):
            draws = call("sample_with_temperature", produce, "rnncourse.checks.functions:repeat", fn, N,
                         lg.copy(), T, np.random.default_rng(case))
            check_distribution("sample_with_temperature", [int(d) for d in draws], ref.temperature_probs(lg, T))
    r.done()


# --------------------------------------------------------------------------- torch models
def _torch():
    import torch
    return torch


def _device():
    from rnncourse import env
    return env.device()


@contextlib.contextmanager
def _one_thread(dev):
    """Tiny models train fastest on one CPU thread; several threads spin and crawl on a
    busy machine (measured: 40 s against 1 s for 100 steps on 2 loaded cores)."""
    torch = _torch()
    before = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _make(name, cls, *args, init_seed=0, device=None):
    """The student's class instantiated where it lives (the sandbox, when grading)."""
    try:
        return produce("rnncourse.training:construct", cls, int(init_seed), *args,
                       device=str(device) if device is not None else None)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet (it still raises NotImplementedError)") from None
    except Exception as exc:
        raise CheckFailed(f"{name}(...) raised {type(exc).__name__}: {exc}") from None


def _pair(name, out):
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed(f"{name}.forward must return a tuple (logits, h_T), got {type(out).__name__}")
    return out


@functools.lru_cache(maxsize=None)
def _names_data():
    """Training names, and the held-out test names the submission's process never sees."""
    from rnncourse import data
    train, held = data.names("train"), data.names("test")
    vocab = ref.build_vocab(train)
    return train, held, vocab, ref.bigram_nll(train, held, vocab, k=0.5)


def _nll_from_log_probs(logp, y, m) -> float:
    logp = np.asarray(logp, dtype=np.float64)
    if logp.shape[:2] != y.shape or logp.ndim != 3:
        raise CheckFailed(f"CharRNN: log-probabilities of shape {logp.shape}, expected {y.shape + ('V',)}")
    picked = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    # a distribution must be one: a model cannot score well by not normalising
    if not np.allclose(np.exp(logp[m]).sum(-1), 1.0, atol=1e-3):
        raise CheckFailed("CharRNN: the outputs are not logits of a distribution over the vocabulary")
    return float(-picked[m].mean())


def check_CharRNN(cls) -> None:
    torch = _torch()
    r = Report("CharRNN (hidden)")
    dev = _device()
    tol = tolerance(torch.float32, dev)
    for case in cases(3):
        rng = np.random.default_rng(seed("CharRNN", case))
        V, H, E = (int(v) for v in rng.integers(3, 12, 3))
        B, T = (1, 1) if case == 0 else (int(rng.integers(2, 6)), int(rng.integers(2, 9)))
        ids = torch.as_tensor(rng.integers(0, V, (B, T)), device=dev)
        with r.case(f"random case {case}: V={V}, hidden={H}, embed={E}, batch B={B}, length T={T}"):
            model = _make("CharRNN", cls, V, E, H, init_seed=case, device=dev).eval()
            with torch.no_grad():
                logits, h = _pair("CharRNN", call("CharRNN.forward", model, ids))
                check_shape("logits", logits, (B, T, V))
                check_shape("h_T", h, (1, B, H))
                # running the sequence in two pieces, passing h_T on, gives the same logits
                k = T // 2
                if k:
                    l1, h1 = _pair("CharRNN", call("CharRNN.forward", model, ids[:, :k]))
                    l2, _ = _pair("CharRNN", call("CharRNN.forward", model, ids[:, k:], h1))
                    hidden_close("logits of the second piece, run from h_T of the first", l2, logits[:, k:].cpu().numpy(),
                                 dtype=torch.float32, device=dev)
                if T > 2:
                    other = ids.clone()
                    other[:, 0] = (other[:, 0] + 1) % V
                    l3, _ = call("CharRNN.forward", model, other)
                    if np.allclose(l3[:, -1].cpu().numpy(), logits[:, -1].cpu().numpy(), rtol=tol.rtol, atol=tol.atol):
                        raise CheckFailed("CharRNN: the logits at the last step do not depend on the first token "
                                          "(do the outputs come from the hidden states?)")
    train, held, vocab, baseline = _names_data()
    c = CHAR_RNN
    with r.case(f"trained by the course's loop ({c['steps']} Adam steps, hidden={c['hidden_size']}, "
                f"embed={c['embed_size']}) on names('train'), scored on held-out names"), _one_thread(dev):
        model = _make("CharRNN", cls, len(vocab), c["embed_size"], c["hidden_size"],
                      init_seed=seed("CharRNN", 100) % 2**31, device=dev)
        x, y, m = ref.name_batch(train, vocab)
        losses = call("training CharRNN", produce, "rnncourse.training:train_char_lm", model, x, y, m,
                      steps=c["steps"], batch_size=c["batch_size"], lr=c["lr"], seed=seed("CharRNN", 101) % 2**31,
                      device=str(dev))
        losses = np.asarray(losses, dtype=float)
        # held-out names, plus copies whose second half is changed: a model must not look ahead
        rng = np.random.default_rng(seed("CharRNN", 102))
        probes = [n for n in held if len(n) >= 4][:40]
        changed = ["".join([n[:len(n) // 2], *rng.choice(list("abcdefghij"), len(n) - len(n) // 2)]) for n in probes]
        hx, hy, hm = ref.name_batch(list(held) + probes + changed, vocab)
        logp = np.asarray(call("CharRNN", produce, "rnncourse.training:char_lm_log_probs", model, hx, str(dev)))
        k, P = len(held), len(probes)
        a, b = logp[k:k + P], logp[k + P:]
        for i, n in enumerate(probes):
            cut = len(n) // 2 + 1      # input positions 0..cut-1 see only the unchanged prefix
            if not np.allclose(a[i, :cut], b[i, :cut], rtol=1e-3, atol=1e-4):
                raise CheckFailed("CharRNN: the prediction at a position changed when only LATER characters of "
                                  "the name changed; a step must not see the future")
        nll = _nll_from_log_probs(logp[:k], hy[:k], hm[:k])
        if not np.isfinite(nll) or nll > baseline - CHAR_RNN_MARGIN:
            raise CheckFailed(f"CharRNN: held-out NLL {nll:.3f} nats/char, but it must beat the add-k character "
                              f"bigram ({baseline:.3f}) by {CHAR_RNN_MARGIN} (training loss went "
                              f"{losses[0]:.3f} -> {np.mean(losses[-20:]):.3f})")
    r.done()


@functools.lru_cache(maxsize=None)
def _genre_data():
    from rnncourse import data
    rows = data.shakespeare_lines("train")
    train_rows = [row for row in rows if row["act"] != "5"]
    held = [row for row in rows if row["act"] == "5"]
    rng = np.random.default_rng(seed("LineClassifier", 200))
    held = [held[i] for i in np.sort(rng.choice(len(held), CLASSIFIER_EVAL, replace=False))]
    tokens, labels = ref.genre_data(train_rows)
    vocab = ref.word_vocab(tokens, min_count=3)
    ids, lengths = ref.word_batch(tokens, vocab)
    htok, hlabels = ref.genre_data(held)
    hids, hlengths = ref.word_batch(htok, vocab)
    return vocab, (ids, lengths, labels), (hids, hlengths, hlabels), ref.majority_accuracy(labels, hlabels)


def check_LineClassifier(cls) -> None:
    torch = _torch()
    r = Report("LineClassifier (hidden)")
    dev = _device()
    for case in cases(3):
        rng = np.random.default_rng(seed("LineClassifier", case))
        V, E, H, C = (int(v) for v in rng.integers(3, 12, 4))
        B = 1 if case == 0 else int(rng.integers(2, 7))
        lengths = rng.integers(1, 9, B)
        ids = np.zeros((B, int(lengths.max())), dtype=np.int64)
        for i, n in enumerate(lengths):
            ids[i, :n] = rng.integers(1, V, n)
        with r.case(f"random case {case}: V={V}, embed={E}, hidden={H}, classes={C}, lengths {lengths.tolist()}"):
            model = _make("LineClassifier", cls, V, E, H, C, init_seed=case, device=dev).eval()
            with torch.no_grad():
                t_ids = torch.as_tensor(ids, device=dev)
                t_len = torch.as_tensor(lengths, device=dev)
                out = call("LineClassifier.forward", model, t_ids, t_len)
                check_shape("logits", out, (B, C))
                padded = torch.cat([t_ids, torch.zeros(B, 3, dtype=torch.long, device=dev)], 1)
                more = call("LineClassifier.forward", model, padded, t_len)
                hidden_close("logits after appending 3 pad columns (must not change)", more, out.cpu().numpy(),
                             dtype=torch.float32, device=dev)
                i = B - 1
                alone = call("LineClassifier.forward", model, t_ids[i:i + 1, :lengths[i]], t_len[i:i + 1])
                hidden_close(f"logits of line {i} run alone, unpadded", alone, out[i:i + 1].cpu().numpy(),
                             dtype=torch.float32, device=dev)
    vocab, (ids, lengths, labels), (hids, hlengths, hlabels), majority = _genre_data()
    c = CLASSIFIER
    with r.case(f"trained by the course's loop ({c['steps']} Adam steps) on acts 1-4 of the training plays, "
                f"scored on {CLASSIFIER_EVAL} lines of their act 5"), _one_thread(dev):
        model = _make("LineClassifier", cls, len(vocab), c["embed_size"], c["hidden_size"], len(ref.GENRES),
                      init_seed=seed("LineClassifier", 100) % 2**31, device=dev)
        call("training LineClassifier", produce, "rnncourse.training:train_classifier", model, ids, lengths, labels,
             steps=c["steps"], batch_size=c["batch_size"], lr=c["lr"], seed=seed("LineClassifier", 101) % 2**31,
             device=str(dev))
        # the model sees the held-out lines' words only; the labels stay here
        logits = np.asarray(call("LineClassifier", produce, "rnncourse.training:classifier_logits", model,
                                 hids, hlengths, str(dev)), dtype=np.float64)
        check_shape("held-out logits", logits, (len(hlabels), len(ref.GENRES)))
        acc = float(np.mean(logits.argmax(-1) == hlabels))
        if acc < majority + CLASSIFIER_MARGIN:
            raise CheckFailed(f"LineClassifier: held-out accuracy {acc:.3f}, but it must beat always predicting "
                              f"the majority genre ({majority:.3f}) by {CLASSIFIER_MARGIN}")
    r.done()
