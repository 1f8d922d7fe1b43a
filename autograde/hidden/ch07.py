"""Hidden checks for chapter 7: the student's functions against the reference on random inputs.

Inputs come from generators seeded here (``seed(name, case)``).

* The models (``ConvEncoder``, ``CaptionDecoder``, ``AttentionCaptionDecoder``) are built where
  they live with random sizes (one to three stages, N = 1, T = 1, L = 1, both injections) and
  must match the course's formulas evaluated on their own parameters and give the same
  numbers one step at a time; then the encoder with a linear head learns the colour of a
  single square, and the decoder (both injections) the first word of three classes of fixed
  feature vectors (``rnncourse.captioning_training``): a model whose numbers are right but
  whose gradients do not reach every parameter fails there.
* ``temporal_softmax_loss``: the reference's value and gradient (float64 and float32), both
  reductions, junk (NaN, inf, -100, V) at masked steps, and every ValueError.
* ``sample_captions``: random prefix-hash scorers at temperature 0 against the reference
  (tokens, lengths and the rows of every ``step_fn`` call); random tables and temperatures
  against their distributions (chi-squared).
* ``caption_step_fn``: chapter 6's reference beam search run with the student's step
  function on a toy decoder, against the same search with the reference's; exhaustive search
  on random toy decoders.
* ``attention_maps`` and ``attention_in_box``: the reference on random inputs (numpy and
  torch, batches, ties).

Messages never print reference values (``hidden_close`` / ``hidden_equal``).
"""
from __future__ import annotations

import numpy as np

from autograde.hidden.common import cases, hidden_close, hidden_equal, seed
from autograde.reference import ch06 as ref6
from autograde.reference import ch07 as ref
from rnncourse.checks import ch07 as vis
from rnncourse.checks.core import CheckFailed, Report, call, check_raises, produce
from rnncourse.captioning_training import colour_scenes
from rnncourse.checks.functions import HashStep, TableStep, calls_recorded

# The colour task (measured with the reference on one CPU thread: 100% of held-out images
# after 40 steps, 3 seeds, ~1 s); chance is 1/3.
COLOUR = dict(n_train=96, n_test=60, size=16, steps=60, lr=0.02, feature=8)
FEATURES = dict(n_train=96, n_test=60, steps=80, lr=0.03, vocab=8, embed=4, hidden=16, feature=6)
COLOUR_MIN = 0.8


def _distinct_sizes(rng, attention=False):
    while True:
        V, E, H, D = (int(x) for x in rng.integers(2, 9, 4))
        V = V + 3
        A = int(rng.integers(2, 9))
        nums = [V, E, H, D, 4 * H, E + D, 1] + ([A] if attention else [])
        if len(set(nums)) == len(nums):
            return V, E, H, D, A


def _colour_task(r, name, cls):
    c = COLOUR
    x, lab = colour_scenes(c["n_train"], seed(name, 300) % 2**31, c["size"])
    xt, labt = colour_scenes(c["n_test"], seed(name, 301) % 2**31, c["size"])
    with r.case(f"learning: ConvEncoder(3, (8, 16), {c['feature']}) and a linear head on pooled tell the colour of one "
                f"square ({c['n_train']} images {c['size']} x {c['size']}, {c['steps']} Adam steps)"):
        enc = vis.make_model(name, cls, 3, (8, 16), c["feature"], init_seed=seed(name, 303) % 2**31)
        out = call(f"training {name}", produce, "rnncourse.captioning_training:train_colour_encoder", enc, x, lab, xt,
                   feature_size=c["feature"], steps=c["steps"], lr=c["lr"], seed=seed(name, 302) % 2**31)
        _accuracy(name, out, labt, "the head tells the colour of")


def _accuracy(name, out, want, what):
    pred = np.asarray(out["predicted"]).reshape(-1)
    acc = float(np.mean(pred == np.asarray(want)))
    if not acc >= COLOUR_MIN:
        losses = np.asarray(out["losses"])
        raise CheckFailed(f"{name}: after the course's training {what} {100 * acc:.0f}% of held-out items; a correct "
                          f"model reaches {100 * COLOUR_MIN:.0f}% or more (chance 33%; loss {losses[0]:.3f} -> "
                          f"{losses[-1]:.3f}): gradients must reach every parameter")


def _feature_task(r, name, cls, inject):
    c = FEATURES
    rng = np.random.default_rng(seed(name, 310))
    centres = rng.normal(0, 1, (3, c["feature"]))
    lab, labt = rng.integers(0, 3, c["n_train"]), rng.integers(0, 3, c["n_test"])
    f = (centres[lab] + rng.normal(0, 0.3, (c["n_train"], c["feature"]))).astype(np.float32)
    ft = (centres[labt] + rng.normal(0, 0.3, (c["n_test"], c["feature"]))).astype(np.float32)
    with r.case(f"learning: CaptionDecoder({c['vocab']}, {c['embed']}, {c['hidden']}, {c['feature']}, {inject!r}) "
                f"learns the first word of 3 classes of image features ({c['steps']} Adam steps), then names it from "
                "init_state and one step"):
        dec = vis.make_model(name, cls, c["vocab"], c["embed"], c["hidden"], c["feature"], inject,
                             init_seed=seed(name, 311) % 2**31)
        out = call(f"training {name}", produce, "rnncourse.captioning_training:train_feature_captions", dec, f,
                   3 + lab, ft, steps=c["steps"], lr=c["lr"], seed=seed(name, 312) % 2**31)
        _accuracy(name, out, 3 + labt, "the first word names the class of")


# --------------------------------------------------------------------------- exercise 1
def check_ConvEncoder(cls) -> None:
    r = Report("ConvEncoder (hidden)")
    name = "ConvEncoder"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        S_ = int(rng.integers(1, 4))
        in_ch = int(rng.integers(1, 4))
        channels = tuple(int(x) for x in rng.integers(1, 7, S_))
        D = int(rng.integers(1, 7))
        f = 2 ** S_
        N, Hc, Wc = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        if case == 0:
            N, Hc, Wc = 1, 1, 1
        with r.case(f"random case {case}: ConvEncoder({in_ch}, {channels}, {D}), N={N}, images {Hc * f} x {Wc * f}"):
            vis.encoder_case(name, cls, rng, (in_ch, channels, D), N, Hc * f, Wc * f, init_seed=case)
    with r.case("ConvEncoder() with every argument left out (3, (16, 32, 64), 64) on two 64 x 32 images"):
        rng = np.random.default_rng(seed(name, 10))
        vis.encoder_case(name, cls, rng, (3, (16, 32, 64), 64), 2, 64, 32, init_seed=10, defaults=True)
    with r.case("errors (ValueError): H, W not divisible by 2 ** stages (3 stages), channels other than in_channels"):
        model = vis.make_model(name, cls, 2, (2, 2, 3), 4, init_seed=9)
        for shape in ((1, 2, 12, 8), (1, 2, 8, 20), (1, 3, 8, 8), (2, 1, 16, 8)):
            x = vis._tensor(np.zeros(shape), "float32")
            check_raises(f"{name}(2, (2, 2, 3), 4) on images of shape {shape}", lambda x=x: model(x), ValueError,
                         "see the docstring's Raises")
    _colour_task(r, name, cls)
    r.done()


# --------------------------------------------------------------------------- exercise 2
def check_CaptionDecoder(cls) -> None:
    r = Report("CaptionDecoder (hidden)")
    name = "CaptionDecoder"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        V, E, H, D, _ = _distinct_sizes(rng)
        N, T = int(rng.integers(2, 5)), int(rng.integers(2, 6))
        if case == 0:
            N, T = 1, 1
        inject = ("init", "input")[case % 2]
        with r.case(f"random case {case}: CaptionDecoder({V}, {E}, {H}, {D}, "
                    f"{'inject left out' if case == 2 else repr(inject)}), N={N}, T={T}"):
            vis.decoder_case(name, cls, rng, V, E, H, D, inject, N, T, init_seed=case, default=case == 2)
    with r.case("errors (ValueError): inject='', inject=None"):
        for bad in ("", None):
            check_raises(f"{name}(7, 3, 5, 4, {bad!r})",
                         lambda bad=bad: produce("rnncourse.seq2seq_training:construct", cls, 0, 7, 3, 5, 4, bad),
                         ValueError, "an unknown inject must raise ValueError")
    for inject in ("init", "input"):
        _feature_task(r, name, cls, inject)
    r.done()


# --------------------------------------------------------------------------- exercise 3
def check_temporal_softmax_loss(fn) -> None:
    import torch

    r = Report("temporal_softmax_loss (hidden)")
    name = "temporal_softmax_loss"
    for case in cases(6):
        rng = np.random.default_rng(seed(name, case))
        N, T, V = int(rng.integers(1, 6)), int(rng.integers(1, 8)), int(rng.integers(2, 10))
        dtype = "float32" if case in (2, 5) else "float64"
        red = ("caption", "token")[case % 2]
        kw = {} if case == 4 else dict(reduction=red)
        lg = rng.normal(0, float(rng.uniform(0.5, 5)), (N, T, V))
        mask = rng.random((N, T)) < float(rng.uniform(0.2, 0.9))
        if case == 1:
            mask[:] = True
        mask.flat[int(rng.integers(mask.size))] = True
        tg = rng.integers(0, V, (N, T))
        jl, jt = vis.junk(rng, lg, tg, mask, V)
        with r.case(f"random case {case}: N={N}, T={T}, V={V}, {dtype}, "
                    f"{'reduction left out' if not kw else f'reduction={red!r}'}, {int(mask.sum())} real "
                    "steps, junk at the others"):
            got = vis.loss_value(name, fn, jl, jt, mask, dtype, **kw)
            lg_t = torch.as_tensor(lg).to(getattr(torch, dtype)).requires_grad_(True)
            want = ref.temporal_softmax_loss(lg_t, torch.as_tensor(tg), torch.as_tensor(mask), red)
            hidden_close(f"{name}(..., reduction={red!r})", got, float(want.detach()), dtype=dtype)
            if dtype == "float64":
                want.backward()
                vis.loss_gradient(name, fn, jl, jt, mask, lg_t.grad.numpy(), hide=True, reduction=red)
    with r.case("errors (ValueError): unknown reductions, empty masks, shapes that disagree"):
        rng = np.random.default_rng(seed(name, 100))
        L, G = vis._tensor(rng.normal(size=(2, 3, 4)), "float64"), vis._tensor(rng.integers(0, 4, (2, 3)))
        M = vis._tensor(np.ones((2, 3), bool), "bool")
        for what, args, kw in (("reduction='sum'", (L, G, M), dict(reduction="sum")),
                               ("reduction='Token'", (L, G, M), dict(reduction="Token")),
                               ("an empty mask, reduction='token'", (L, G, vis._tensor(np.zeros((2, 3), bool), "bool")),
                                dict(reduction="token")),
                               ("targets (N + 1, T)", (L, vis._tensor(np.zeros((3, 3), int)), M), {}),
                               ("targets and mask (N, T - 1)", (L, G[:, :2], M[:, :2]), {}),
                               ("4-D logits", (L[None], G, M), {})):
            check_raises(f"{name} with {what}", lambda args=args, kw=kw: fn(*args, **kw), ValueError,
                         "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 4
def check_sample_captions(fn) -> None:
    r = Report("sample_captions (hidden)")
    name = "sample_captions"
    for case in cases(6):
        rng = np.random.default_rng(seed(name, case))
        V, L, N = int(rng.integers(3, 9)), int(rng.integers(1, 7)), int(rng.integers(1, 7))
        model = HashStep(V, int(rng.integers(2**31)), temperature=float(rng.uniform(0.3, 1.2)),
                         eos_bias=float(rng.uniform(0.0, 1.5)))
        state = model.init_state(N)
        with r.case(f"random case {case}: a prefix-hash scorer, V={V}, N={N}, max_len={L}, temperature 0"):
            (tokens, lengths, rows, moved), = vis.run_sampler(name, fn, model, state, N, L, temperature=0.0,
                                                              seed=int(rng.integers(1000)))
            (want_t, want_l), _ = calls_recorded(ref.sample_captions, model, state.clone(), N, L, temperature=0.0)
            hidden_equal(f"{name}(temperature=0): tokens", tokens, want_t.numpy())
            hidden_equal(f"{name}(temperature=0): lengths", lengths, want_l.numpy())
            if moved:
                raise CheckFailed(f"{name}(temperature=0) drew from rng: the argmax draws nothing")
    for case in cases(3):
        rng = np.random.default_rng(seed(name, 30 + case))
        V, L, N = int(rng.integers(4, 7)), int(rng.integers(2, 6)), int(rng.integers(3, 7))
        p = rng.integers(1, 3, (L, V, V)).astype(float)        # small integer ratios: many exact ties
        p[:, :, 2] += float(rng.integers(0, 3))                 # END more or less likely
        model = TableStep(np.log(p / p.sum(-1, keepdims=True)))
        state = vis.start_state(rng.integers(0, L, N))
        with r.case(f"table with exact ties {case}: V={V}, N={N} rows started at different steps, max_len={L}, "
                    "temperature 0 (ties to the lowest id)" + (", a nested state" if case != 1 else "")):
            (tokens, lengths, rows, moved), = vis.run_sampler(name, fn, model, state, N, L, temperature=0.0, seed=1,
                                                              nested=case != 1)
            (want_t, want_l), _ = calls_recorded(ref.sample_captions, model, state.clone(), N, L, temperature=0.0)
            hidden_equal(f"{name}(temperature=0): tokens", tokens, want_t.numpy())
            hidden_equal(f"{name}(temperature=0): lengths", lengths, want_l.numpy())
            if moved:
                raise CheckFailed(f"{name}(temperature=0) drew from rng: the argmax draws nothing")
    with r.case("chapter 6's hand-made table, 6 rows ending at different steps, a nested state, temperature 0"):
        from rnncourse.checks.ch06 import _greedy_table

        model, state = TableStep(_greedy_table()), vis.start_state([3, 1, 0, 2, 1, 0])
        (tokens, lengths, _, _), = vis.run_sampler(name, fn, model, state, 6, 5, temperature=0.0, nested=True)
        (want_t, want_l), _ = calls_recorded(ref.sample_captions, model, state.clone(), 6, 5, temperature=0.0)
        hidden_equal(f"{name}(temperature=0, a nested state): tokens", tokens, want_t.numpy())
    for case in cases(3):
        rng = np.random.default_rng(seed(name, 50 + case))
        V = int(rng.integers(4, 8))
        p = rng.dirichlet(np.ones(V))
        p[0] = 0.0
        p[int(rng.integers(3, V))] = 0.0
        p /= p.sum()
        T = float(rng.choice([0.3, 0.8, 1.0, 1.7]))
        table = np.log(np.maximum(np.tile(p, (1, V, 1)), 1e-300))
        table[:, :, 0] = -np.inf
        model = TableStep(table)
        n = 3000
        with r.case(f"random distribution {case}: V={V}, temperature {T}, {n} rows, first tokens"):
            runs = vis.run_sampler(name, fn, model, vis.start_state([0] * n), n, 1, temperature=T,
                                   seed=int(rng.integers(1000)), runs=2, global_seed=case)
            q = vis.tempered(np.where(np.isfinite(table[0, 1]), np.exp(table[0, 1]), 0.0), T)
            vis.distribution(name, runs[0][0][:, 0], q, what="first tokens")
            if not runs[0][3]:
                raise CheckFailed(f"{name} did not draw from rng (temperature {T})")
            if not np.array_equal(runs[0][0], runs[1][0]):
                raise CheckFailed(f"{name}: two runs with generators of the same seed gave different captions: "
                                  "randomness comes from rng only, not from torch's global generator")
    with r.case("errors (ValueError): temperature -1, max_len 0 and -3"):
        model = TableStep(np.log(np.full((1, 4, 4), 0.25)))
        st = vis.start_state([0])
        for kw in (dict(max_len=3, temperature=-1.0), dict(max_len=0), dict(max_len=-3, temperature=0.0)):
            check_raises(f"{name}(..., {kw})", lambda kw=kw: fn(model, st, 1, **kw), ValueError,
                         "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 5
def check_caption_step_fn(fn) -> None:
    import torch

    from rnncourse.captioning_training import ToyCaptionDecoder

    r = Report("caption_step_fn (hidden)")
    name = "caption_step_fn"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        V, D, H = int(rng.integers(3, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
        N, L = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        inject = ("input", "init")[case % 2]
        feats = rng.normal(0, 1.5, (N, D))
        sd = int(rng.integers(2**31))
        with r.case(f"random toy decoder {case}: inject={inject!r}, V={V}, N={N}, max_len={L}: exhaustive search"):
            got = vis.run_caption_step_fn(name, fn, V, D, H, sd, inject, feats, L)
            vis.same_lists(name, got, vis.toy_brute_force(V, D, H, sd, inject, feats, L), hide=True)
    for case in cases(3):
        rng = np.random.default_rng(seed(name, 20 + case))
        V, D, H, N = int(rng.integers(6, 12)), int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(2, 5))
        K, L = int(rng.integers(2, 5)), int(rng.integers(3, 7))
        inject = ("input", "init", "input")[case]
        sd = int(rng.integers(2**31))
        feats = torch.as_tensor(rng.normal(0, 1.5, (N, D)))
        with r.case(f"chapter 6's beam search (beam {K}, max_len {L}) on a toy decoder (inject={inject!r}, V={V}) of "
                    f"{N} images with your step_fn against the reference's"):
            toy = call(name, produce, "rnncourse.captioning_training:toy_decoder", fn, V, D, H, sd, inject)
            out = vis._tuple(name, call(name, fn, toy, feats.clone()), 2, "a tuple (step_fn, init_state)")
            try:
                got = ref6.beam_search(out[0], out[1], K, L)
            except CheckFailed:
                raise
            except Exception as exc:
                raise CheckFailed(f"{name}: chapter 6's beam search with your step_fn raised {type(exc).__name__}: "
                                  f"{exc}") from None
            want_fn, want_state = ref.caption_step_fn(ToyCaptionDecoder(V, D, H, sd, inject), feats.clone())
            want = ref6.beam_search(want_fn, want_state, K, L)
            vis.same_lists(name, got, want, hide=True, what=f"beam search (beam {K})")
    r.done()


# --------------------------------------------------------------------------- exercise 6
def check_AttentionCaptionDecoder(cls) -> None:
    r = Report("AttentionCaptionDecoder (hidden)")
    name = "AttentionCaptionDecoder"
    for case in cases(4):
        rng = np.random.default_rng(seed(name, case))
        V, E, H, D, A = _distinct_sizes(rng, attention=True)
        N, T, L = int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 10))
        if case == 0:
            N, T = 1, 1
        with r.case(f"random case {case}: AttentionCaptionDecoder({V}, {E}, {H}, {D}, {A}), N={N}, T={T}, L={L}"):
            vis.attention_case(name, cls, rng, V, E, H, D, A, N, T, L, init_seed=case)
    r.done()


# --------------------------------------------------------------------------- exercise 7
def check_attention_maps(fn) -> None:
    import torch

    r = Report("attention_maps (hidden)")
    name = "attention_maps"
    for case in cases(6):
        rng = np.random.default_rng(seed(name, case))
        gh, gw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        H, W = gh * int(rng.integers(1, 5)), gw * int(rng.integers(1, 5))
        lead = tuple(int(x) for x in rng.integers(1, 4, int(rng.integers(0, 3))))
        w = rng.random(lead + (gh * gw,))
        kind = ("numpy float64", "numpy float32", "torch float32", "torch float64", "numpy float64",
                "torch float32")[case]
        if "float32" in kind:
            w = w.astype(np.float32)
        x = torch.from_numpy(w.copy()) if kind.startswith("torch") else w.copy()
        with r.case(f"random case {case}: {kind} weights {w.shape}, grid {gh} x {gw}, image {H} x {W}"):
            got = vis.run_maps(name, fn, x, (gh, gw), (H, W))
            hidden_equal(f"{name}(...)", got, ref.attention_maps(w, (gh, gw), (H, W)))
    with r.case("errors (ValueError): L != gh * gw, H or W not divisible"):
        for args in ((np.zeros((2, 6)), (2, 2), (4, 4)), (np.zeros(4), (2, 2), (3, 4)), (np.zeros(4), (2, 2), (4, 5))):
            check_raises(f"{name} with weights {args[0].shape}, grid {args[1]}, image {args[2]}",
                         lambda args=args: fn(*args), ValueError, "see the docstring's Raises")
    r.done()


# --------------------------------------------------------------------------- exercise 8
def check_attention_in_box(fn) -> None:
    r = Report("attention_in_box (hidden)")
    name = "attention_in_box"
    for case in cases(5):
        rng = np.random.default_rng(seed(name, case))
        gh, gw = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        H, W = gh * int(rng.integers(1, 9)), gw * int(rng.integers(1, 9))
        K = int(rng.integers(1, 40))
        w = rng.integers(0, 4, (K, gh * gw)).astype(np.float64)      # small integers: many ties
        x0, y0 = rng.integers(0, W, K), rng.integers(0, H, K)
        boxes = np.stack([x0, y0, x0 + rng.integers(1, W + 1, K), y0 + rng.integers(1, H + 1, K)], 1)
        if case >= 3:   # boxes with an edge exactly on the attended cell's centre
            k = w.argmax(1)
            cx, cy = (k % gw + 0.5) * W / gw, (k // gw + 0.5) * H / gh
            H, W = 2 * H, 2 * W                        # even blocks: integer centres
            cx, cy = 2 * cx, 2 * cy
            side = rng.integers(0, 4, K)
            boxes = np.stack([cx - 3, cy - 3, cx + 3, cy + 3], 1).astype(np.int64)
            # x0 or y0 on the centre: inside; x1 or y1 on it: outside (exclusive)
            boxes[np.arange(K), side] = np.stack([cx, cy, cx, cy], 1)[np.arange(K), side]
        with r.case(f"random case {case}: K={K}, grid {gh} x {gw}, image {H} x {W}, ties in the weights"
                    + (", box edges on the centres" if case >= 3 else "")):
            got = vis.run_in_box(name, fn, w, (gh, gw), (H, W), boxes)
            hidden_equal(f"{name}(...)", got, ref.attention_in_box(w, (gh, gw), (H, W), boxes))
    with r.case("errors (ValueError): L != gh * gw, 1-D weights, boxes (K, 5), boxes for K - 1 pairs"):
        for what, args in (("L = 5 for a 2 x 3 grid", (np.zeros((2, 5)), (2, 3), (6, 6), np.zeros((2, 4)))),
                           ("1-D weights", (np.zeros(6), (2, 3), (6, 6), np.zeros((1, 4)))),
                           ("boxes (K, 5)", (np.zeros((2, 6)), (2, 3), (6, 6), np.zeros((2, 5)))),
                           ("boxes (K - 1, 4)", (np.zeros((2, 6)), (2, 3), (6, 6), np.zeros((1, 4))))):
            check_raises(f"{name} with {what}", lambda args=args: fn(*args), ValueError, "see the docstring's Raises")
    r.done()
