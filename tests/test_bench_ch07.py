"""scripts/bench_ch07.py runs end to end on tiny sizes (--dry, a few seconds) and writes every
measurement the results page reads; rnncourse.captioning's tools (BLEU with several
references, exact match, the hit rate, the training loop, the figures) do what they say."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnncourse import captioning as C, captions as cap


def test_dry_run_writes_every_measurement(tmp_path):
    from scripts import bench_ch07 as B

    out = tmp_path / "fast.json"
    assert B.main(["--mode", "fast", "--dry", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["dry"] and res["mode"] == "fast" and "--dry" in res["command"]
    st = res["settings"]
    assert st["steps"] == B.DRY["steps"] and st["tuned_on"] == "valid" and st["vocab"] == len(cap.vocab())
    assert st["held_out"] == [list(p) for p in cap.HELD_OUT]
    assert set(res["models"]) == set(B.MODELS)
    assert {m["steps"] for m in res["models"].values()} == {B.DRY["steps"]}   # the same budget for every model
    assert not res["models"]["blind"]["image"] and res["models"]["attention"]["attention"]
    for name, m in res["models"].items():
        assert m["train_s"] >= 0 and m["parameters"] > 0 and np.isfinite(m["final_train_loss"])
        assert set(m["splits"]) == set(B.SPLITS)
        assert set(m["splits"]["valid"]) == {"n", "greedy"}
        for split in ("test", "compositional"):
            row = m["splits"][split]
            assert row["n"] == B.DRY["eval_limit"] and set(B.METHODS) <= set(row)
            for method in B.METHODS:
                r = row[method]
                assert 0.0 <= r["exact_match"] <= 1.0 and 0.0 <= r["bleu"] <= 100.0 and r["decode_s"] >= 0
                assert 1 <= r["distinct"] <= row["n"]
                # an exact match is one of the true captions, so the true-caption rate is at least as large
                assert r["exact_match"] <= r["true_rate"] + 1e-12 <= 1.0 + 1e-12
                assert r["named"]["objects"] >= row["n"] and 0 <= r["named"]["named"] <= r["named"]["objects"]
                if split == "compositional":
                    h = r["held_out_named"]
                    assert 1 <= h["objects"] <= r["named"]["objects"] and 0.0 <= h["rate"] <= 1.0
                else:
                    assert "held_out_named" not in r
            assert len(row["greedy"]["examples"]) == 6
            if name == "attention":
                h, near = row["greedy"]["hit_rate"], row["greedy"]["near_rate"]
                assert h["pairs"] >= 0 and 0 <= h["hits"] <= h["pairs"]
                assert h["rate"] is None or 0.0 <= h["rate"] <= 1.0
                assert near["pairs"] == h["pairs"] and h["hits"] <= near["hits"] <= near["pairs"]
            else:
                assert "hit_rate" not in row["greedy"] and "near_rate" not in row["greedy"]


    assert res["settings"]["att_grid"] == list(B.grid_size(B.DRY | {"att_channels": res["settings"]["att_channels"]},
                                                              "attention"))


def test_dry_ablation_is_merged_into_the_results(tmp_path):
    from scripts import bench_ch07 as B

    out = tmp_path / "fast.json"
    assert B.main(["--mode", "fast", "--dry", "--out", str(out)]) == 0
    assert B.main(["--mode", "fast", "--dry", "--ablation", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res["models"]) == set(B.MODELS)              # the ablation keeps the main run
    ab = res["ablation"]
    assert "--ablation" in ab["command"] and ab["split"] == "valid" and ab["seeds"] == list(B.ABLATION["seeds"])
    assert set(ab["variants"]) == set(B.ABLATION_VARIANTS)
    for key, v in ab["variants"].items():
        assert len(v["runs"]) == len(B.ABLATION["seeds"]) and v["init"] in B.INITS
        assert v["grid"] in ([8, 8], [16, 16])
        for r in v["runs"]:
            assert r["hit_rate"] is None or 0.0 <= r["hit_rate"] <= 1.0
            assert 0.0 <= r["exact_match"] <= r["true_rate"] + 1e-12 <= 1.0 + 1e-12
    for v in ab["variants"].values():
        assert v["scale"] == (8.0 if v is ab["variants"]["grid16_sharp"] else 1.0)
        for r in v["runs"]:
            assert r["near_rate"] is None or r["hit_rate"] <= r["near_rate"] <= 1.0      # a grown box holds more
            assert r["near_chance"] is None or r["chance"] <= r["near_chance"] <= 1.0
    # a main run afterwards keeps the ablation
    assert B.main(["--mode", "fast", "--dry", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["ablation"] == ab
    # --variants reruns only those and keeps the other variants' runs
    assert B.main(["--mode", "fast", "--dry", "--ablation", "--variants", "const", "--out", str(out)]) == 0
    again = json.loads(out.read_text())["ablation"]
    assert list(again["variants"]) == list(B.ABLATION_VARIANTS) and "--variants const" in again["command"]
    assert {k: v for k, v in again["variants"].items() if k != "const"} == \
        {k: v for k, v in ab["variants"].items() if k != "const"}
    assert again["variants"]["const"]["date"] >= ab["variants"]["const"]["date"]
    with pytest.raises(SystemExit, match="unknown ablation variants"):
        B.main(["--mode", "fast", "--dry", "--ablation", "--variants", "nonesuch", "--out", str(out)])


def test_true_rate_and_named_share():
    data = cap.load("test", limit=20)
    refs = [c[0] for c in data.captions]
    assert C.true_rate(refs, data.objects) == 1.0
    other = [cap.true_captions(o)[-1] for o in data.objects]       # true, not always a reference
    assert C.true_rate(other, data.objects) == 1.0 and C.exact_match(other, data.captions) <= 1.0
    assert C.true_rate(["a"] * 20, data.objects) == 0.0
    assert C.names_object("a small red triangle left of a blue square", "red", "triangle")
    assert not C.names_object("a red square and a blue triangle", "red", "triangle")
    objs = [[cap.Obj("triangle", "red", "small", (0, 0, 12, 12))], [cap.Obj("circle", "blue", "large", (0, 0, 22, 22))]]
    got = C.named_share(["a small red triangle", "a green circle"], objs)
    assert got == {"objects": 2, "named": 1, "rate": 0.5}
    assert C.named_share(["a small red triangle", "a green circle"], objs, lambda o: o.colour == "blue")["rate"] == 0.0
    with pytest.raises(ValueError):
        C.true_rate(refs[:3], data.objects)


def test_full_mode_starts_with_max_steps(tmp_path):
    from scripts import bench_ch07 as B

    out = tmp_path / "full.json"
    assert B.main(["--mode", "full", "--max-steps", "1", "--eval-limit", "4", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["mode"] == "full" and "--max-steps 1" in res["command"] and "--eval-limit 4" in res["command"]
    assert res["settings"]["hidden"] == B.FULL["hidden"] and res["settings"]["steps"] == 1
    assert all(m["steps"] == 1 for m in res["models"].values())
    assert res["settings"]["train_images"] == cap.SPLIT_SIZES["train"]


def test_caption_bleu_matches_sacrebleu_with_several_references():
    import sacrebleu

    hyps = ["a small red circle", "a blue square left of a green triangle", "there is a yellow circle"]
    refs = [["a small red circle", "there is a red circle"],
            ["a blue square left of a green triangle", "a green triangle right of a blue square", "a blue square"],
            ["a large yellow circle"]]
    padded = [[r[j] if j < len(r) else None for r in refs] for j in range(3)]
    want = sacrebleu.corpus_bleu(hyps, padded, tokenize="none").score
    assert C.caption_bleu(hyps, refs) == pytest.approx(want)
    assert C.caption_bleu([r[0] for r in refs], refs) == pytest.approx(100.0)
    # several references help: the second hypothesis reordered matches the second reference only
    assert C.caption_bleu(["a green triangle right of a blue square"], [refs[1]]) == pytest.approx(100.0)
    assert C.caption_bleu(["a green triangle right of a blue square"], [refs[1][:1]]) < 100.0
    assert C.caption_bleu(hyps, refs, max_order=1) >= C.caption_bleu(hyps, refs)
    with pytest.raises(ValueError):
        C.caption_bleu(hyps[:2], refs)
    with pytest.raises(ValueError):
        C.caption_bleu(["a"], [[]])


def test_exact_match():
    refs = [["a red circle", "there is a red circle"], ["a blue square"]]
    assert C.exact_match(["there is a red circle", "a blue  square "], refs) == 1.0
    assert C.exact_match(["a red circle", "a red square"], refs) == 0.5
    assert C.exact_match([], []) == 0.0


def _in_box(weights, grid_size, image_size, boxes):   # the measure, written out for the test
    gh, gw = grid_size
    out = []
    for w, (x0, y0, x1, y1) in zip(weights, boxes):
        r, c = divmod(int(np.argmax(w)), gw)
        cy, cx = (r + 0.5) * image_size[0] / gh, (c + 0.5) * image_size[1] / gw
        out.append(x0 <= cx < x1 and y0 <= cy < y1)
    return np.array(out)


def test_hit_rate_pairs_shape_words_with_their_objects():
    objs = [cap.Obj("circle", "red", "small", (0, 0, 16, 16)), cap.Obj("square", "blue", "large", (32, 32, 64, 64))]
    text = "a small red circle left of a large blue square"   # words 3 (circle) and 9 (square) name objects
    w = np.full((len(text.split()) + 1, 64), 1 / 64)
    w[3] = 0.0
    w[3, 0] = 1.0            # cell (0, 0): centre (4, 4), inside the circle's box
    w[9] = 0.0
    w[9, 1] = 1.0            # cell (0, 1): centre (4, 12), not in the square's box
    W, boxes, where = C.hit_pairs([text], [w], [objs])
    assert W.shape == (2, 64) and boxes.tolist() == [list(objs[0].box), list(objs[1].box)]
    assert where == [(0, 3, "circle"), (0, 9, "square")]
    got = C.hit_rate([text], [w], [objs], _in_box)
    assert got["pairs"] == 2 and got["hits"] == 1 and got["rate"] == 0.5
    assert got["chance"] == pytest.approx((16 * 16 + 32 * 32) / 2 / 64 ** 2)
    assert C.hit_rate(["a circle and a circle"], [np.ones((6, 64)) / 64], [objs[:1] * 2], _in_box)["rate"] is None
    # one cell of margin (8 pixels on the 8 x 8 grid): the square's box grows to (24, 24, 64, 64), cut at the
    # image's edge, which still misses cell (0, 1); the circle's grows to (0, 0, 24, 24)
    near = C.hit_rate([text], [w], [objs], _in_box, margin=1)
    assert near["hits"] == 1 and near["chance"] == pytest.approx((24 * 24 + 40 * 40) / 2 / 64 ** 2)
    w[9] = 0.0
    w[9, 8 * 3 + 3] = 1.0    # cell (3, 3): centre (28, 28), 4 pixels outside the square's box, inside the grown one
    assert C.hit_rate([text], [w], [objs], _in_box)["hits"] == 1
    assert C.hit_rate([text], [w], [objs], _in_box, margin=1)["hits"] == 2


def test_train_captioner_reduces_the_loss_and_adds_the_penalty():
    import torch
    from torch import nn

    torch.manual_seed(0)
    data = cap.load("train", limit=40)
    idx, texts = cap.training_pairs("train", limit=40)
    vocab = cap.vocab()

    class Tiny(nn.Module):
        def __init__(self, weights=False):
            super().__init__()
            self.weights = weights
            self.pool = nn.AdaptiveAvgPool2d(2)
            self.embed, self.lstm, self.out = nn.Embedding(len(vocab), 8), nn.LSTM(8 + 12, 16, batch_first=True), \
                nn.Linear(16, len(vocab))

        def forward(self, images, tgt_in):
            v = self.pool(images).flatten(1)                         # (B, 12)
            x = torch.cat([self.embed(tgt_in), v[:, None].expand(-1, tgt_in.shape[1], -1)], -1)
            logits = self.out(self.lstm(x)[0])
            if self.weights:
                return logits, torch.full((*tgt_in.shape, 4), 0.25)
            return logits

    losses = C.train_captioner(Tiny(), data.images, idx, texts, vocab, steps=60, batch_size=16, lr=0.02, seed=0)
    assert losses.shape == (60,) and losses[-10:].mean() < losses[:5].mean()
    torch.manual_seed(0)
    plain = C.train_captioner(Tiny(True), data.images, idx, texts, vocab, steps=1, batch_size=4, seed=1)
    torch.manual_seed(0)
    penalised = C.train_captioner(Tiny(True), data.images, idx, texts, vocab, steps=1, batch_size=4, seed=1,
                                  doubly_stochastic=1.0)
    assert penalised[0] > plain[0]                 # uniform weights over 4 cells do not sum to 1 over the steps
    with pytest.raises(ValueError):
        C.train_captioner(Tiny(), data.images, idx[:3], texts, vocab, steps=1)


def test_figures_obey_the_size_rules():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    data = cap.load("test", limit=6)
    fig = C.show_images(data.images, [c[0] for c in data.captions], ncols=3)
    assert fig.get_size_inches()[0] <= C.FIG_WIDTH
    plt.close(fig)
    fig = C.draw_attention(data.images[0], np.full((4, 64), 1 / 64), ["a", "red", "circle", "<end>"])
    assert fig.get_size_inches()[0] <= C.FIG_WIDTH and len([a for a in fig.axes if a.images]) == 5
    plt.close(fig)
    with pytest.raises(ValueError):
        C.draw_attention(data.images[0], np.ones((2, 10)), ["a", "b"])
