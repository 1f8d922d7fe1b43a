"""Chapter 7's measurements: image captioners on the course's drawn scenes.

    python scripts/bench_ch07.py [--mode fast|full] [--out PATH] [--max-steps N] [--eval-limit N] [--dry]

Data: ``rnncourse.captions`` (64 x 64 scenes of one or two shapes, several true captions
each).  Every model is trained on ``train``, checked on ``valid`` (the only split the
settings were chosen on) and scored on ``test`` (the training combinations of colour and
shape) and ``compositional`` (every image shows a colour and shape pair that training never
shows).  Models, from the reference of chapter 7 (``autograde/reference/ch07.py``), all with
the same word embedding, hidden size and training loop (``rnncourse.captioning.train_captioner``:
Adam, the same seeded batches, the same number of steps, gradient norm clipped at 1, the
mean cross-entropy of the real steps):

* ``init``: ``ConvEncoder`` + ``CaptionDecoder(inject="init")``, the image's mean feature
  vector as the LSTM's initial state (Show and Tell's choice, roughly);
* ``input``: the same with ``inject="input"``, the image vector an input at every step;
* ``attention``: ``ConvEncoder`` + ``AttentionCaptionDecoder`` (Show, Attend and Tell's soft
  attention, the exercise's decoder unchanged) with an encoder of two stages instead of three
  (``att_channels``: a 16 x 16 grid of cells with a 10-pixel receptive field, instead of 8 x 8
  with 22 pixels) and the attention's score vector ``w`` initialised ``att_scale`` = 8 times
  larger than PyTorch's default (its first weights are then less uniform), the variant of the
  ablation (``--ablation``) with the highest mean hit rate, the best worse seed and the best
  mean BLEU (one run of ``grid16_const`` scored higher, its other run far lower); ``att_init`` can also give the decoder a learned constant initial
  state ``tanh(b)`` instead of ``tanh(W mean v)`` (``"const"``: the bench subclasses the
  reference decoder and overrides ``init_state``), which the ablation tried.  It trains ``att_steps`` steps (1500 in fast mode, the
  budget of the other models; its larger grid costs about twice as much per step);
  ``ds_lambda`` is the weight of the doubly stochastic penalty (0 in both modes: with the
  per-word loss, 0.02 kept the weights near uniform at 800 steps);
* ``blind``: a ``CaptionDecoder`` fed zero features, i.e. a language model of the captions
  that never sees the image: the anchor.

Measured: corpus BLEU-4 with all references (``rnncourse.captioning.caption_bleu``: sacrebleu,
word tokens), exact match (a caption equal to one of the image's 3-5 references), the
true-caption rate (``rnncourse.captioning.true_rate``: a caption that is any true caption of
the scene, ``captions.is_true``), the share of objects named by colour and shape
(``named_share``; on ``compositional`` also of the held-out pairs' objects) of greedy
decoding and of beam search (chapter 6's ``beam_search``, beam 5, raw log-probability) on
``test`` and ``compositional`` (greedy only on ``valid``); the attention model's hit rate (the
most-attended cell at a shape word inside the named object's box,
``rnncourse.captioning.hit_rate`` with the reference ``attention_in_box``) on both splits,
and its "near" rate (the same with every box grown by one cell on each side, ``margin=1``);
training and decoding seconds.

``--ablation`` runs only the attention model's variants (``ABLATION_VARIANTS``: the
exercise's model, a constant initial state, two stages, both, and two stages with the score
vector ``w`` of the attention initialised ``att_scale`` = 8 times larger, so that the first
weights are less uniform), each with seeds 0 and 1 for ``att_steps`` steps, scored on the
first 200 ``valid`` images (hit and near rates, BLEU, exact match, true captions), and
merges them into the results file under ``"ablation"``; a main run keeps that key.
``--ablation --variants NAME ...`` runs only those variants and keeps the others' earlier
runs (each variant records its date).

On a CPU the script runs torch with ``--threads`` threads (default 1); fast mode takes about
three minutes on a shared two-core machine (171 s), the ablation about ten (600 s, run beside
the main run).  Full mode is sized for a GPU.  ``--max-steps``
caps the training steps and ``--eval-limit`` the images per split (start checks); ``--dry``
shrinks everything to seconds (tests/test_bench_ch07.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograde.reference import ch06 as R6  # noqa: E402
from autograde.reference import ch07 as R7  # noqa: E402
from rnncourse import captioning as C, captions as cap, env  # noqa: E402

FAST = dict(channels=(8, 16, 32), feature=64, embed=32, hidden=128, attention_size=64, steps=1500, batch_size=32,
            lr=0.005, ds_lambda=0.0, eval_limit=None, eval_batch=500,
            att_channels=(8, 16), att_init="mean", att_steps=1500, att_scale=8.0)
FULL = dict(channels=(16, 32, 64), feature=128, embed=64, hidden=256, attention_size=128, steps=8000, batch_size=64,
            lr=0.002, ds_lambda=0.0, eval_limit=None, eval_batch=500,
            att_channels=(16, 32), att_init="mean", att_steps=8000, att_scale=8.0)
DRY = dict(channels=(4, 4, 4), feature=8, embed=8, hidden=12, attention_size=8, steps=3, batch_size=8, eval_limit=12,
           eval_batch=5, att_channels=(4, 4), att_steps=3)
BEAM = 5
MAX_LEN = 20
METHODS = ("greedy", "beam5")
MODELS = {   # name -> (label, how the image enters)
    "init": "image as the initial state",
    "input": "image as an input at every step",
    "attention": "soft attention over the grid",
    "blind": "no image (caption language model)",
}
SPLITS = ("valid", "test", "compositional")
SEED = 0
INITS = ("mean", "detach", "const")
ABLATION = dict(images=200, seeds=(0, 1), steps=None)   # steps None: the mode's attention steps
ABLATION_VARIANTS = {   # name -> (label, overrides of the attention model's settings)
    "reference": ("the exercise's model: three stages (8 x 8 grid), h0 = tanh(W mean v)", {}),
    "const": ("8 x 8 grid, learned constant h0 (no mean path)", {"att_init": "const"}),
    "grid16": ("two stages (16 x 16 grid), h0 = tanh(W mean v)", {"att_channels": "two"}),
    "grid16_const": ("16 x 16 grid and a learned constant h0",
                     {"att_channels": "two", "att_init": "const"}),
    "grid16_sharp": ("16 x 16 grid, h0 = tanh(W mean v), the score vector w initialised 8 times larger "
                     "(the bench's model)",
                     {"att_channels": "two", "att_scale": 8.0}),
}


def attention_decoder(cfg: dict, vocab_size: int):
    """The reference ``AttentionCaptionDecoder``, its initial state from the mean of the cells
    (``att_init="mean"``, the exercise's model), from the mean with no gradient into the encoder
    (``"detach"``) or a learned constant ``tanh(b)`` (``"const"``: the image reaches the decoder
    only through attention)."""
    import torch

    init = cfg.get("att_init", "mean")
    if init not in INITS:
        raise ValueError(f"att_init must be one of {INITS}, got {init!r}")

    class Decoder(R7.AttentionCaptionDecoder):
        def init_state(self, grid):
            if init == "mean":
                return super().init_state(grid)
            if init == "detach":
                mean = grid.mean(1).detach()
                return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))
            n = grid.shape[0]
            return torch.tanh(self.init_h.bias).expand(n, -1), torch.tanh(self.init_c.bias).expand(n, -1)

    return Decoder(vocab_size, cfg["embed"], cfg["hidden"], cfg["feature"], cfg["attention_size"])


def grid_size(cfg: dict, name: str) -> tuple:
    """The encoder's grid (rows, columns) of model ``name``."""
    channels = (cfg.get("att_channels") or cfg["channels"]) if name == "attention" else cfg["channels"]
    g = cap.IMAGE_SIZE // 2 ** len(channels)
    return (g, g)


def build(name: str, cfg: dict, vocab_size: int, seed: int = SEED):
    """The model ``model(images, tgt_in) -> logits`` (or ``(logits, weights)``) of ``name``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    class Captioner(nn.Module):
        def __init__(self):
            super().__init__()
            self.kind = name
            if name == "attention":
                self.encoder = R7.ConvEncoder(3, cfg.get("att_channels") or cfg["channels"], cfg["feature"])
                self.decoder = attention_decoder(cfg, vocab_size)
                scale = float(cfg.get("att_scale", 1.0))
                if scale != 1.0:    # scores e = w . tanh(...) start `scale` times larger: weights less uniform at first
                    with torch.no_grad():
                        self.decoder.w.weight.mul_(scale)
            elif name != "blind":
                self.encoder = R7.ConvEncoder(3, cfg["channels"], cfg["feature"])
            if name != "attention":
                self.decoder = R7.CaptionDecoder(vocab_size, cfg["embed"], cfg["hidden"], cfg["feature"],
                                                 inject="input" if name == "input" else "init")

        def features(self, images):
            """(grid, pooled) of the images; zeros for the blind model."""
            if self.kind == "blind":
                z = images.new_zeros(images.shape[0], cfg["feature"])
                return z[:, None, :], z
            return self.encoder(images)

        def forward(self, images, tgt_in):
            grid, pooled = self.features(images)
            if self.kind == "attention":
                return self.decoder(grid, tgt_in)
            return self.decoder(pooled, tgt_in)

    return Captioner()


def attention_step_fn(decoder, grid):
    """Chapter 6's ``(step_fn, init_state)`` for the attention decoder: the state is
    ``(h, c, grid)`` with rows along dim 1 (``grid`` as (L, N, D)), so that beam search keeps
    each hypothesis with its image; ``step_fn.weights`` keeps the last step's weights."""
    import torch

    h, c = decoder.init_state(grid)

    def step_fn(tokens_prev, state):
        h, c, g = state
        logits, (h, c), p = decoder.step(g.transpose(0, 1), tokens_prev, (h[0], c[0]))
        step_fn.weights = p
        return torch.log_softmax(logits, dim=-1), (h[None], c[None], g)

    return step_fn, (h[None], c[None], grid.transpose(0, 1).contiguous())


def decode(model, images, vocab, method: str, chunk: int, device):
    """Captions of uint8 images (and, for the attention model under greedy decoding, the
    weights of every generated word and of ``<end>``, (words + 1, L) numpy per caption)."""
    import torch

    texts, maps = [], []
    with torch.no_grad():
        for i in range(0, len(images), chunk):
            x = torch.from_numpy(cap.to_tensor_images(np.asarray(images[i:i + chunk]))).to(device)
            grid, pooled = model.features(x)
            if model.kind == "attention":
                step_fn, init = attention_step_fn(model.decoder, grid)
            else:
                step_fn, init = R7.caption_step_fn(model.decoder, pooled)
            if method == "greedy" and model.kind == "attention":
                # greedy decoding written out, to keep the weights of every step
                state, prev = init, torch.full((len(x),), cap.START, dtype=torch.int64, device=device)
                tokens, weights = [], []
                for _ in range(MAX_LEN):
                    logp, state = step_fn(prev, state)
                    prev = logp.argmax(dim=1)
                    tokens.append(prev)
                    weights.append(step_fn.weights)
                tokens = torch.stack(tokens, 1).cpu().tolist()
                weights = torch.stack(weights, 1).cpu().numpy()
                out = [vocab.decode(row) for row in tokens]
                maps += [w[:len(t.split()) + 1] for t, w in zip(out, weights)]
            elif method == "greedy":
                tokens, _ = R6.greedy_decode(step_fn, init, len(x), MAX_LEN, sos=cap.START, eos=cap.END)
                out = [vocab.decode(row) for row in tokens.cpu().tolist()]
            else:
                res = R6.beam_search(step_fn, init, BEAM, MAX_LEN, sos=cap.START, eos=cap.END)
                out = [vocab.decode(r[0][0]) if r else "" for r in res]
            texts += out
    return texts, maps


def train_one(name, cfg, vocab, train, index, texts, device, seed=SEED, steps=None):
    """Model ``name`` trained by the chapter's loop; returns ``(model, losses, seconds)``."""
    import torch

    model = build(name, cfg, len(vocab), seed=seed).to(device)
    loss_fn = lambda lg, t, m: R7.temporal_softmax_loss(lg, t, m, reduction="token")   # noqa: E731
    t0 = time.perf_counter()
    losses = C.train_captioner(model, train.images, index, texts, vocab, steps=steps or cfg["steps"],
                               batch_size=cfg["batch_size"], lr=cfg["lr"], seed=seed, device=str(device),
                               loss_fn=loss_fn, doubly_stochastic=cfg["ds_lambda"] if name == "attention" else 0.0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    model.eval()
    return model, losses, time.perf_counter() - t0


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_ablation(args, cfg, out, device, vocab, train, index, texts) -> int:
    """The attention model's variants (ABLATION_VARIANTS), each trained with every seed of
    ABLATION for the mode's attention steps and scored on the first ABLATION["images"] images
    of ``valid`` (greedy: hit rate, BLEU-4, exact match, true-caption rate); merged into the
    results file under ``"ablation"``."""
    t_all = time.perf_counter()
    n_images = cfg["eval_limit"] if args.dry else ABLATION["images"]
    valid = cap.load("valid", limit=n_images)
    steps = ABLATION["steps"] or cfg["att_steps"]
    chosen = args.variants or list(ABLATION_VARIANTS)
    unknown = sorted(set(chosen) - set(ABLATION_VARIANTS))
    if unknown:
        raise SystemExit(f"unknown ablation variants {unknown}; the variants are {list(ABLATION_VARIANTS)}")
    variants = {}
    for key in chosen:
        label, over = ABLATION_VARIANTS[key]
        vcfg = dict(cfg, att_init="mean", att_channels=None, att_scale=1.0)   # the exercise's model, then the overrides
        vcfg.update(over)
        if vcfg["att_channels"] == "two":   # the first two stages of the mode's encoder
            vcfg["att_channels"] = tuple(cfg["channels"][:2])
        runs = []
        for seed in ABLATION["seeds"]:
            model, losses, train_s = train_one("attention", vcfg, vocab, train, index, texts, device, seed=seed,
                                               steps=steps)
            hyps, maps = decode(model, valid.images, vocab, "greedy", cfg["eval_batch"], device)
            hr = C.hit_rate(hyps, maps, valid.objects, R7.attention_in_box, grid_size=grid_size(vcfg, "attention"))
            near = C.hit_rate(hyps, maps, valid.objects, R7.attention_in_box, grid_size=grid_size(vcfg, "attention"),
                              margin=1)
            runs.append({"seed": seed, "hit_rate": hr["rate"], "chance": hr["chance"], "pairs": hr["pairs"],
                         "near_rate": near["rate"], "near_chance": near["chance"],
                         "bleu": C.caption_bleu(hyps, valid.captions),
                         "exact_match": C.exact_match(hyps, valid.captions),
                         "true_rate": C.true_rate(hyps, valid.objects), "train_s": round(train_s, 1),
                         "final_train_loss": float(np.mean(losses[-max(1, len(losses) // 20):]))})
            print(f"ablation {key:13} seed {seed}: hit {hr['rate']} chance {hr['chance']} BLEU {runs[-1]['bleu']:.1f} "
                  f"true {runs[-1]['true_rate']:.3f} ({train_s:.0f} s)", flush=True)
        mean = lambda k: float(np.mean([r[k] for r in runs if r[k] is not None])) if any(   # noqa: E731
            r[k] is not None for r in runs) else None
        variants[key] = {"label": label, "grid": list(grid_size(vcfg, "attention")), "init": vcfg["att_init"],
                         "scale": float(vcfg.get("att_scale", 1.0)), "date": _now(), "runs": runs,
                         **{k: mean(k) for k in ("hit_rate", "chance", "near_rate", "near_chance", "bleu",
                                                 "exact_match", "true_rate")}}
    extra = [f"--max-steps {args.max_steps}"] * (args.max_steps is not None) + \
            [f"--threads {args.threads}"] * (args.threads != 1) + ["--dry"] * args.dry
    import torch

    if args.variants:
        extra.append("--variants " + " ".join(args.variants))
    ablation = dict(command=" ".join([f"python scripts/bench_ch07.py --mode {args.mode} --ablation", *extra]),
                    date=_now(), device=str(device),
                    threads=torch.get_num_threads(), split="valid", images=len(valid.images), steps=int(steps),
                    seeds=list(ABLATION["seeds"]), variants=variants, runtime_s=round(time.perf_counter() - t_all, 1))
    report = json.loads(out.read_text()) if out.is_file() else {"mode": args.mode}
    old = report.get("ablation") or {}
    if args.variants and old.get("variants"):
        # only some variants were run: the others keep their earlier runs (each variant has its date)
        kept = {k: v for k, v in old["variants"].items() if k in ABLATION_VARIANTS and k not in variants}
        ablation["variants"] = {k: (variants.get(k) or kept[k]) for k in ABLATION_VARIANTS if k in variants or k in kept}
        ablation["runtime_s"] = round(ablation["runtime_s"] + float(old.get("runtime_s", 0.0)), 1)
        ablation["command"] = f"{old.get('command', ablation['command'])}; then {ablation['command']}"
    report["ablation"] = ablation
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote the ablation into {out} in {ablation['runtime_s']:.0f} s")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["fast", "full"], default=env.mode())
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--max-steps", type=int, default=None, help="cap the training steps (a start check)")
    ap.add_argument("--eval-limit", type=int, default=None, help="score only the first N images of each split")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on a CPU (default 1)")
    ap.add_argument("--dry", action="store_true", help="tiny sizes, for the tests")
    ap.add_argument("--variants", nargs="+", default=None, metavar="NAME",
                    help="with --ablation: run only these variants; the others keep their earlier runs")
    ap.add_argument("--ablation", action="store_true",
                    help="only the attention model's variants (2 seeds, 200 valid images), merged into the results file")
    args = ap.parse_args(argv)
    os.environ[env.MODE_VARIABLE] = args.mode
    cfg = dict(env.pick(fast=FAST, full=FULL))
    if args.dry:
        cfg.update(DRY)
    if args.max_steps is not None:
        cfg["steps"] = min(cfg["steps"], args.max_steps)
        cfg["att_steps"] = min(cfg["att_steps"], args.max_steps)
    if args.eval_limit is not None:
        cfg["eval_limit"] = args.eval_limit

    import torch

    device = env.device()
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    t_all = time.perf_counter()
    vocab = cap.vocab()
    train = cap.load("train")
    index, texts = cap.training_pairs("train")
    splits = {s: cap.load(s, limit=cfg["eval_limit"]) for s in SPLITS}
    held = {tuple(p) for p in cap.HELD_OUT}
    out = args.out or REPO / "results" / ("ch07_captioning.json" if args.mode == "fast" else "ch07_captioning_full.json")
    if args.ablation:
        return run_ablation(args, cfg, out, device, vocab, train, index, texts)

    results = {}
    for name, label in MODELS.items():
        model, losses, train_s = train_one(name, cfg, vocab, train, index, texts, device,
                                           steps=cfg["att_steps"] if name == "attention" else None)
        model.eval()
        every = max(1, len(losses) // 50)
        res = {"label": label, "image": name != "blind", "attention": name == "attention",
               "train_s": round(train_s, 2), "steps": int(len(losses)),
               "final_train_loss": float(np.mean(losses[-max(1, len(losses) // 20):])),
               "loss_curve": {"every": every, "loss": [round(float(np.mean(losses[i:i + every])), 4)
                                                       for i in range(0, len(losses), every)]},
               "parameters": int(sum(p.numel() for p in model.parameters())), "splits": {}}
        for split, data in splits.items():
            res["splits"][split] = {"n": len(data.images)}
            for method in (("greedy",) if split == "valid" else METHODS):
                t0 = time.perf_counter()
                hyps, maps = decode(model, data.images, vocab, method, cfg["eval_batch"], device)
                dec_s = time.perf_counter() - t0
                row = {"bleu": C.caption_bleu(hyps, data.captions), "exact_match": C.exact_match(hyps, data.captions),
                       "true_rate": C.true_rate(hyps, data.objects), "named": C.named_share(hyps, data.objects),
                       "decode_s": round(dec_s, 3), "distinct": len(set(hyps))}
                if split == "compositional":
                    row["held_out_named"] = C.named_share(hyps, data.objects, lambda o: (o.colour, o.shape) in held)
                if method == "greedy" and split != "valid":
                    row["examples"] = [{"output": h, "references": refs[:3], "right": h in refs}
                                       for h, refs in zip(hyps[:6], data.captions[:6])]
                if maps:
                    row["hit_rate"] = C.hit_rate(hyps, maps, data.objects, R7.attention_in_box,
                                                 grid_size=grid_size(cfg, name))
                    row["near_rate"] = C.hit_rate(hyps, maps, data.objects, R7.attention_in_box,
                                                  grid_size=grid_size(cfg, name), margin=1)
                res["splits"][split][method] = row
                hit = f" hit {row['hit_rate']['rate']}" if maps else ""
                print(f"{name:9} {split:13} {method:6} BLEU {row['bleu']:6.2f} exact {row['exact_match']:.4f} "
                      f"true {row['true_rate']:.4f}{hit} "
                      f"({dec_s:.1f} s)", flush=True)
        results[name] = res
        print(f"{name:9} trained {len(losses)} steps in {train_s:.1f} s, final loss {res['final_train_loss']:.4f}",
              flush=True)

    extra = [f"--max-steps {args.max_steps}"] * (args.max_steps is not None) + \
            [f"--eval-limit {args.eval_limit}"] * (args.eval_limit is not None) + \
            [f"--threads {args.threads}"] * (args.threads != 1) + ["--dry"] * args.dry
    report = dict(
        command=" ".join([f"python scripts/bench_ch07.py --mode {args.mode}", *extra]), mode=args.mode,
        dry=bool(args.dry), date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=env.machine_info(), device=str(device), threads=torch.get_num_threads(),
        settings=dict(cfg, channels=list(cfg["channels"]),
                      att_channels=list(cfg.get("att_channels") or cfg["channels"]),
                      att_grid=list(grid_size(cfg, "attention")), beam_size=BEAM, max_len=MAX_LEN, seed=SEED,
                      train_images=len(train.images), train_pairs=len(texts), vocab=len(vocab),
                      methods=list(METHODS), held_out=[list(p) for p in cap.HELD_OUT], tuned_on="valid"),
        models=results, runtime_s=round(time.perf_counter() - t_all, 1),
    )
    if out.is_file():   # the attention ablation is its own run (--ablation): keep it
        old = json.loads(out.read_text()).get("ablation")
        if old is not None:
            report["ablation"] = old
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out} in {report['runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
