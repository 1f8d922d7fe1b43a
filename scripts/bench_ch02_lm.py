"""The character RNN of the chapter 2 language-model page, in full mode, against chapter 1's n-grams.

    python scripts/bench_ch02_lm.py [--mode full|fast] [--out results/ch02_lm_full.json]

Trains the page's model (book/ch02/language-model.md: embedding, one nn.RNN layer of tanh
units, linear read-out; Adam lr 3e-3, gradient norm clipped at 1, random windows of the
training text, the page's env.pick settings) and scores it on the validation plays as the page
does (chunks of 500 characters, state carried), in bits per character, beside the best
Kneser-Ney n-gram of results/ch01_ngrams[_full].json.  Page numbers in fast mode come from
the page itself; this script stores the full-mode run that the page quotes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rnncourse import data, env  # noqa: E402

CFG = {"fast": dict(H=128, d=32, B=32, T=32, steps=1000), "full": dict(H=256, d=64, B=64, T=64, steps=4000)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("fast", "full"), default="full")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    os.environ[env.MODE_VARIABLE] = args.mode
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(1)
    env.setup(seed=0)
    cfg = CFG[args.mode]
    train_text, valid_text = data.shakespeare("train"), data.shakespeare("valid")
    chars = sorted(set(train_text))
    index = {c: i for i, c in enumerate(chars)}
    V = len(chars) + 1
    enc = lambda t: torch.tensor([index.get(c, V - 1) for c in t])  # noqa: E731
    train_ids, valid_ids = enc(train_text), enc(valid_text)

    class ShakespeareRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.rnn, self.head = nn.Embedding(V, cfg["d"]), nn.RNN(cfg["d"], cfg["H"], batch_first=True), nn.Linear(cfg["H"], V)

        def forward(self, ids, h=None):
            out, h = self.rnn(self.embed(ids), h)
            return self.head(out), h

    torch.manual_seed(0)
    model = ShakespeareRNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(cfg["steps"]):
        starts = torch.randint(0, len(train_ids) - cfg["T"] - 1, (cfg["B"],), generator=gen)
        w = torch.stack([train_ids[s:s + cfg["T"] + 1] for s in starts.tolist()])
        logits, _ = model(w[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), w[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    train_s = time.perf_counter() - t0
    model.eval()
    total, h = 0.0, None
    with torch.no_grad():
        for s in range(0, len(valid_ids) - 1, 500):
            y = valid_ids[s + 1:s + 501][None]
            x = valid_ids[s:s + 500][None][:, :y.shape[1]]
            logits, h = model(x, h)
            total += F.cross_entropy(logits[0], y[0], reduction="sum").item()
    bpc = total / (len(valid_ids) - 1) / math.log(2)
    ngram = json.loads((REPO / "results" / ("ch01_ngrams_full.json" if args.mode == "full" else "ch01_ngrams.json")).read_text())
    best = min(ngram["char"]["rows"], key=lambda r: r["kn_bpc"])
    out = args.out or REPO / "results" / ("ch02_lm_full.json" if args.mode == "full" else "ch02_lm.json")
    result = {"chapter": "ch02_rnn", "mode": args.mode, "command": f"python scripts/bench_ch02_lm.py --mode {args.mode}",
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {**env.machine_info(), "torch_threads": 1}, "config": cfg, "vocab_size": V,
              "train_chars": len(train_ids), "valid_chars": len(valid_ids), "train_seconds": train_s,
              "rnn_valid_bpc": bpc, "best_ngram": {"n": best["n"], "kn_bpc": best["kn_bpc"]},
              "runtime_s": time.perf_counter() - t0}
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"RNN {bpc:.3f} bits/char, best n-gram ({best['n']}-gram KN) {best['kn_bpc']:.3f}; {train_s:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
