"""Chapter 6's measurements: seq2seq with and without attention on the course's translation data.

    python scripts/bench_ch06.py [--mode fast|full] [--out PATH] [--max-steps N] [--eval-limit N] [--dry]

Data: ``rnncourse.translation`` (dates in several locales and formats -> ISO 8601, numbers
in words -> digits); every model is trained on the ``train`` split, checked on ``valid``
(the only split the settings were chosen on) and scored on ``test`` (the same formats and
locales, unseen dates and numbers) and ``hard`` (a held-out locale, a held-out format,
seven-digit numbers).  Models: the reference of chapter 6 (``autograde/reference/ch06.py``):
``Encoder`` + ``Decoder`` (the source reaches the decoder only through the encoder's final
state, a fixed-size vector) and ``Encoder`` + ``AttentionDecoder`` (Luong's "general"
score), of the same embedding and hidden sizes, trained by the same loop
(``rnncourse.search.train_seq2seq``: Adam, the same seeded batches, the same steps).

Measured:

1. exact match and corpus BLEU (characters: ``rnncourse.search.spaced_chars``) of greedy
   decoding and of beam search (beam 5) with alpha 0 (raw log-probability), with length
   normalisation ``log p / length ** 0.7`` and with GNMT's penalty ``((5 + length) / 6) ** 0.7``;
2. exact match of greedy decoding by source length (characters), attention vs none;
3. the model without attention trained on reversed sources (Sutskever et al. 2014), same budget;
4. beam search throughput: the batched ``beam_search`` vs ``beam_search_one_at_a_time`` on
   the trained decoders (``rnncourse.search.beam_throughput``: one torch thread, best of 3);
5. training and decoding seconds.

On a CPU the script runs torch with ``--threads`` threads (default 1: on a shared
two-core machine, two threads were 5-30x slower per training step than one); fast mode
takes about six minutes on such a machine.  Full mode is sized for a GPU.  ``--max-steps``
caps the training steps and ``--eval-limit`` the examples per split (start checks);
``--dry`` shrinks everything to seconds (tests/test_bench_ch06.py).
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

from autograde.reference import ch06 as R  # noqa: E402
from rnncourse import env, search as S, translation as tr  # noqa: E402

FAST = dict(embed=32, hidden=96, steps=1200, batch_size=64, lr=0.005, score="general",
            eval_limit=None, eval_batch=500, throughput_items=32)
FULL = dict(embed=64, hidden=256, steps=20_000, batch_size=128, lr=0.002, score="general",
            eval_limit=None, eval_batch=1000, throughput_items=64)
DRY = dict(embed=8, hidden=12, steps=3, batch_size=8, lr=0.005, eval_limit=24, eval_batch=10, throughput_items=2)
BEAM = 5
ALPHA = 0.7
METHODS = {   # name -> None (greedy) or beam_search's (alpha, penalty)
    "greedy": None,
    "beam5": (0.0, "length"),
    "beam5_len0.7": (ALPHA, "length"),
    "beam5_gnmt0.7": (ALPHA, "gnmt"),
}
MODELS = {    # name -> (attention, reversed source)
    "attention": (True, False),
    "none": (False, False),
    "none_reversed": (False, True),
}
LENGTH_EDGES = (0, 10, 20, 30, 40, 50, 60, 1000)
SEED = 0


def make_models(cfg: dict, n_src: int, n_tgt: int, attention: bool, seed: int = SEED):
    import torch

    torch.manual_seed(seed)
    enc = R.Encoder(n_src, cfg["embed"], cfg["hidden"])
    dec = (R.AttentionDecoder(n_tgt, cfg["embed"], cfg["hidden"], score=cfg["score"]) if attention
           else R.Decoder(n_tgt, cfg["embed"], cfg["hidden"]))
    return enc, dec


def prepare(pairs, reverse: bool):
    return [(s[::-1], t) for s, t in pairs] if reverse else list(pairs)


def init_for(enc, dec, attention: bool, src, lengths):
    """(step_fn, init_state) of a batch of sources (tensors on the model's device)."""
    outputs, state = enc(src, lengths)
    if attention:
        mask = R.source_mask(lengths, src.shape[1])
        return S.attention_step_fn(dec), S.attention_state(state, outputs, mask)
    return S.decoder_step_fn(dec), state


def decode(enc, dec, attention: bool, pairs, src_vocab, tgt_vocab, method, max_len: int, chunk: int, device):
    """Hypothesis strings of ``pairs`` (sources already reversed where the model wants it)."""
    import torch

    # chunks of sources of similar lengths (less padding for the encoder and the attention); the
    # outputs go back to the order of ``pairs``
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), i))
    hyps = [""] * len(pairs)
    with torch.no_grad():
        for i in range(0, len(pairs), chunk):
            idx = order[i:i + chunk]
            part = [pairs[j] for j in idx]
            src, lengths, *_ = tr.batch(part, src_vocab, tgt_vocab)
            src, lengths = torch.as_tensor(src, device=device), torch.as_tensor(lengths, device=device)
            step_fn, init = init_for(enc, dec, attention, src, lengths)
            if method is None:
                tokens, _ = R.greedy_decode(step_fn, init, len(part), max_len)
                out = [tgt_vocab.decode(row) for row in tokens.cpu().tolist()]
            else:
                alpha, penalty = method
                res = R.beam_search(step_fn, init, BEAM, max_len, alpha=alpha, penalty=penalty)
                out = [tgt_vocab.decode(r[0][0]) if r else "" for r in res]
            for j, h in zip(idx, out):
                hyps[j] = h
    return hyps


def bucket_names():
    return [f"{lo + 1}-{hi}" if hi < LENGTH_EDGES[-1] else f"{lo + 1}+" for lo, hi in zip(LENGTH_EDGES, LENGTH_EDGES[1:])]


def by_length(sources, hyps, refs):
    """{bucket: {"n", "exact_match"}} by source length in characters."""
    out = {}
    lengths = np.array([len(s) for s in sources])
    ok = np.array([h == r for h, r in zip(hyps, refs)])
    for name, lo, hi in zip(bucket_names(), LENGTH_EDGES, LENGTH_EDGES[1:]):
        sel = (lengths > lo) & (lengths <= hi)
        out[name] = {"n": int(sel.sum()), "exact_match": float(ok[sel].mean()) if sel.any() else None}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["fast", "full"], default=env.mode())
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--max-steps", type=int, default=None, help="cap the training steps (a start check)")
    ap.add_argument("--eval-limit", type=int, default=None, help="score only the first N examples of each split")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on a CPU (default 1)")
    ap.add_argument("--dry", action="store_true", help="tiny sizes, for the tests")
    args = ap.parse_args(argv)
    os.environ[env.MODE_VARIABLE] = args.mode
    cfg = dict(env.pick(fast=FAST, full=FULL))
    if args.dry:
        cfg.update(DRY)
    if args.max_steps is not None:
        cfg["steps"] = min(cfg["steps"], args.max_steps)
    if args.eval_limit is not None:
        cfg["eval_limit"] = args.eval_limit

    import torch

    device = env.device()
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    t_all = time.perf_counter()
    src_vocab, tgt_vocab = tr.vocabs("train")
    train = tr.pairs("train")
    splits = {s: tr.pairs(s, limit=cfg["eval_limit"]) for s in ("valid", "test", "hard")}
    max_len = max(len(t) for p in [train, *splits.values()] for _, t in p) + 2
    scored = {"valid": ["greedy"], "test": list(METHODS), "hard": list(METHODS)}

    models, results = {}, {}
    for name, (attention, reverse) in MODELS.items():
        enc, dec = make_models(cfg, len(src_vocab), len(tgt_vocab), attention)
        enc.to(device), dec.to(device)
        arrays = tr.batch(prepare(train, reverse), src_vocab, tgt_vocab)
        t0 = time.perf_counter()
        losses = S.train_seq2seq(enc, dec, R.masked_loss, *arrays, steps=cfg["steps"], batch_size=cfg["batch_size"],
                                 lr=cfg["lr"], seed=SEED, device=str(device), attention=attention)
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_s = time.perf_counter() - t0
        enc.eval(), dec.eval()
        models[name] = (enc, dec, attention, reverse)
        every = max(1, len(losses) // 50)
        res = {"attention": attention, "reversed_source": reverse, "train_s": round(train_s, 2),
               "steps": int(len(losses)), "final_train_loss": float(np.mean(losses[-max(1, len(losses) // 20):])),
               "loss_curve": {"every": every, "loss": [round(float(np.mean(losses[i:i + every])), 4)
                                                       for i in range(0, len(losses), every)]},
               "parameters": int(sum(p.numel() for m in (enc, dec) for p in m.parameters())),
               "splits": {}}
        for split, methods in scored.items():
            data = splits[split]
            refs = [t for _, t in data]
            res["splits"][split] = {"n": len(data)}
            for method in methods:
                if name == "none_reversed" and method != "greedy" and split != "test":
                    continue   # the reversal is compared on greedy everywhere, on beam search on test only
                t0 = time.perf_counter()
                hyps = decode(enc, dec, attention, prepare(data, reverse), src_vocab, tgt_vocab, METHODS[method],
                              max_len, cfg["eval_batch"], device)
                dec_s = time.perf_counter() - t0
                row = {"exact_match": R.exact_match(hyps, refs),
                       "bleu": R.corpus_bleu([S.spaced_chars(h) for h in hyps], [S.spaced_chars(r) for r in refs]),
                       "decode_s": round(dec_s, 3)}
                if method == "greedy" and split != "valid":
                    row["by_length"] = by_length([s for s, _ in data], hyps, refs)
                    row["examples_wrong"] = [{"source": s, "target": t, "output": h}
                                             for (s, t), h in zip(data, hyps) if h != t][:5]
                res["splits"][split][method] = row
                print(f"{name:14} {split:5} {method:14} exact {row['exact_match']:.4f} BLEU {row['bleu']:6.2f} "
                      f"({dec_s:.1f} s)", flush=True)
        res["train_s"] = round(train_s, 2)
        results[name] = res
        print(f"{name:14} trained {len(losses)} steps in {train_s:.1f} s, final loss {res['final_train_loss']:.4f}",
              flush=True)

    # 4. throughput of the batched beam search against one hypothesis at a time, trained decoders
    throughput = {}
    for name in ("attention", "none"):
        enc, dec, attention, reverse = models[name]
        part = splits["test"][:cfg["throughput_items"]]
        src, lengths, *_ = tr.batch(part, src_vocab, tgt_vocab)
        with torch.no_grad():
            step_fn, init = init_for(enc, dec, attention, torch.as_tensor(src, device=device),
                                     torch.as_tensor(lengths, device=device))
        throughput[name] = S.beam_throughput(R.beam_search, R.beam_search_one_at_a_time, step_fn, init,
                                             beam_size=BEAM, max_len=max_len, repeats=3, threads=1)
        t = throughput[name]
        print(f"beam throughput ({name}): batched {t['batched_s']:.3f} s, one at a time {t['one_at_a_time_s']:.3f} s, "
              f"{t['speedup']:.1f}x, same tokens {t['same_tokens']}", flush=True)

    extra = [f"--max-steps {args.max_steps}"] * (args.max_steps is not None) + \
            [f"--eval-limit {args.eval_limit}"] * (args.eval_limit is not None) + \
            [f"--threads {args.threads}"] * (args.threads != 1) + ["--dry"] * args.dry
    out = args.out or REPO / "results" / ("ch06_seq2seq.json" if args.mode == "fast" else "ch06_seq2seq_full.json")
    report = dict(
        command=" ".join([f"python scripts/bench_ch06.py --mode {args.mode}", *extra]), mode=args.mode,
        dry=bool(args.dry), date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=env.machine_info(), device=str(device), threads=torch.get_num_threads(),
        settings=dict(cfg, beam_size=BEAM, alpha=ALPHA, max_len=max_len, seed=SEED, train_examples=len(train),
                      src_vocab=len(src_vocab), tgt_vocab=len(tgt_vocab), methods=list(METHODS),
                      length_buckets=bucket_names(), tuned_on="valid"),
        models=results, throughput=throughput, runtime_s=round(time.perf_counter() - t_all, 1),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out} in {report['runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
