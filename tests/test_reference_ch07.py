"""Chapter 7's reference (autograde/reference/ch07.py) against peers: PyTorch's LSTM cell run
step by step, convolution and pooling cell by cell, F.cross_entropy, exhaustive search and
chapter 6's one-hypothesis-at-a-time beam search, np.kron and plain loops."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from autograde.reference import ch06 as ref6  # noqa: E402
from autograde.reference import ch07 as ref  # noqa: E402
from rnncourse import search as S  # noqa: E402
from rnncourse.captioning_training import ToyCaptionDecoder  # noqa: E402
from rnncourse.checks import ch07 as vis  # noqa: E402
from rnncourse.checks.functions import TableStep  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_conv_encoder_cell_by_cell():
    torch.manual_seed(0)
    enc = ref.ConvEncoder(2, (3, 4), 5).double()
    x = torch.rand(2, 2, 8, 12, dtype=torch.float64)
    grid, pooled = enc(x)
    maps = x
    for conv in (m for m in enc.stages if isinstance(m, torch.nn.Conv2d)):
        maps = torch.nn.functional.max_pool2d(torch.relu(conv(maps)), 2)
    assert maps.shape == (2, 4, 2, 3)
    for r in range(2):
        for c in range(3):
            torch.testing.assert_close(grid[:, r * 3 + c], enc.proj(maps[:, :, r, c]))
    torch.testing.assert_close(pooled, grid.mean(1))


def test_conv_encoder_receptive_field():
    """Cell (0, 0) of a one-stage encoder sees pixels rows/cols 0..2 only (3x3 conv, pool 2)."""
    torch.manual_seed(1)
    enc = ref.ConvEncoder(1, (2,), 3).double()
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    y = x.clone()
    y[0, 0, 3:, :] = 5.0
    y[0, 0, :, 3:] = 5.0
    torch.testing.assert_close(enc(x)[0][:, 0], enc(y)[0][:, 0])


@pytest.mark.parametrize("inject", ["init", "input"])
def test_caption_decoder_against_lstm_cell_steps(inject):
    torch.manual_seed(2)
    V, E, H, D = 7, 3, 5, 4
    dec = ref.CaptionDecoder(V, E, H, D, inject).double()
    f, tgt = torch.randn(3, D, dtype=torch.float64), torch.randint(0, V, (3, 6))
    cell = torch.nn.LSTMCell(dec.lstm.input_size, H).double()
    with torch.no_grad():
        for a in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, a).copy_(getattr(dec.lstm, a + "_l0"))
    if inject == "init":
        h, c = torch.tanh(dec.init_h(f)), torch.tanh(dec.init_c(f))
    else:
        h, c = torch.zeros(3, H, dtype=torch.float64), torch.zeros(3, H, dtype=torch.float64)
    out = []
    for t in range(6):
        x = dec.embed(tgt[:, t])
        if inject == "input":
            x = torch.cat([x, f], 1)
        h, c = cell(x, (h, c))
        out.append(dec.out(h))
    torch.testing.assert_close(dec(f, tgt), torch.stack(out, 1))
    state, steps = dec.init_state(f), []
    for t in range(6):
        lg, state = dec.step(f, tgt[:, t], state)
        steps.append(lg)
    torch.testing.assert_close(torch.stack(steps, 1), dec(f, tgt))


def test_caption_decoder_rejects_other_injections():
    with pytest.raises(ValueError):
        ref.CaptionDecoder(5, 2, 3, 4, "both")


def test_attention_decoder_against_the_formulas():
    torch.manual_seed(3)
    V, E, H, D, A = 7, 3, 5, 4, 6
    dec = ref.AttentionCaptionDecoder(V, E, H, D, A)
    grid, tgt = torch.randn(3, 6, D), torch.randint(0, V, (3, 4))
    logits, weights = dec(grid, tgt)
    params = {k: v.detach().double().numpy() for k, v in dec.named_parameters()}
    h0, c0 = (t.detach().double().numpy() for t in dec.init_state(grid))
    want_l, want_w = vis.attention_peer(params, grid.numpy(), tgt.numpy(), h0, c0, V, E, H, D, A)
    np.testing.assert_allclose(weights.detach().numpy(), want_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits.detach().numpy(), want_l, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights.sum(-1).detach().numpy(), 1.0, atol=1e-6)


@pytest.mark.parametrize("reduction", ["caption", "token"])
def test_loss_against_cross_entropy(reduction):
    g = torch.Generator().manual_seed(4)
    lg = torch.randn(4, 6, 9, generator=g, dtype=torch.float64)
    tg = torch.randint(0, 9, (4, 6), generator=g)
    mask = torch.rand(4, 6, generator=g) < 0.7
    mask[0, 0] = True
    padded = torch.where(mask, tg, torch.full_like(tg, -100))
    per = torch.nn.functional.cross_entropy(lg.reshape(-1, 9), padded.reshape(-1), ignore_index=-100,
                                            reduction="sum")
    want = per / 4 if reduction == "caption" else per / mask.sum()
    torch.testing.assert_close(ref.temporal_softmax_loss(lg, tg, mask, reduction), want)


def test_loss_ignores_junk_at_masked_steps():
    lg = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    tg = torch.tensor([[1, 2, -100], [3, 99, 0]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    junk = lg.detach().clone()
    junk[~mask] = float("nan")
    junk.requires_grad_(True)
    a = ref.temporal_softmax_loss(junk, tg, mask)
    a.backward()
    assert torch.isfinite(a) and torch.all(junk.grad[~mask] == 0)


def test_sampler_at_zero_against_chapter_6s_greedy():
    for seed in range(3):
        model = vis.HashStep(6, seed, temperature=0.6, eos_bias=0.5)
        state = model.init_state(4)
        tokens, lengths = ref.sample_captions(model, state, 4, 5, temperature=0.0)
        want_t, want_l = ref6.greedy_decode(model, state, 4, 5)
        T = want_t.shape[1]
        assert torch.equal(tokens[:, :T], want_t) and torch.all(tokens[:, T:] == 0)
        assert torch.equal(lengths, want_l)


def test_sampler_distribution():
    p = np.array([0.0, 0.0, 0.2, 0.5, 0.3])
    table = np.log(np.maximum(np.tile(p, (1, 5, 1)), 1e-300))
    state = vis.start_state([0] * 4000)
    tokens, _ = ref.sample_captions(TableStep(table), state, 4000, 1, temperature=0.5,
                                    rng=torch.Generator().manual_seed(0))
    vis.distribution("reference", tokens[:, 0].numpy(), vis.tempered(p, 0.5))


@pytest.mark.parametrize("inject", ["init", "input"])
def test_caption_step_fn_with_brute_force_and_beam_search(inject):
    dec = ToyCaptionDecoder(5, 3, 4, seed=7, inject=inject)
    feats = torch.randn(3, 3, dtype=torch.float64)
    step_fn, state = ref.caption_step_fn(dec, feats)
    got = S.brute_force(step_fn, state, 3, 5)
    want = vis.toy_brute_force(5, 3, 4, 7, inject, feats.numpy(), 3)
    for g, w in zip(got, want):
        assert [h[0] for h in g] == [h[0] for h in w]
        np.testing.assert_allclose([h[1] for h in g], [h[1] for h in w], rtol=1e-9, atol=1e-9)
    batched = ref6.beam_search(step_fn, state, 3, 4)
    alone = ref6.beam_search_one_at_a_time(step_fn, state, 3, 4)
    assert [[h[0] for h in b] for b in batched] == [[h[0] for h in b] for b in alone]


def test_attention_maps_against_kron():
    rng = np.random.default_rng(5)
    w = rng.random((2, 3, 12))
    want = np.kron(w.reshape(2, 3, 3, 4), np.ones((1, 1, 2, 5)))
    np.testing.assert_array_equal(ref.attention_maps(w, (3, 4), (6, 20)), want)
    np.testing.assert_array_equal(ref.attention_maps(torch.from_numpy(w), (3, 4), (6, 20)).numpy(), want)


def test_attention_in_box_against_a_loop():
    rng = np.random.default_rng(6)
    w = rng.integers(0, 3, (50, 12)).astype(float)
    boxes = rng.integers(0, 40, (50, 4))
    got = ref.attention_in_box(w, (3, 4), (36, 40), boxes)
    for i in range(50):
        k = int(np.argmax(w[i]))
        x, y = (k % 4 + 0.5) * 10, (k // 4 + 0.5) * 12
        x0, y0, x1, y1 = boxes[i]
        assert got[i] == (x0 <= x < x1 and y0 <= y < y1)
