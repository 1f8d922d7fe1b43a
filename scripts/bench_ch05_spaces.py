"""Chapter 5's bidirectional exercise: restoring the spaces of Shakespeare lines.

    python scripts/bench_ch05_spaces.py [--mode fast|full] [--seeds 0 1 2] [--dry] [--out results/ch05_spaces.json]

A small tagger (``nn.Embedding`` -> ``nn.LSTM(batch_first=True, bidirectional=flag)``
over a packed sequence, so the backward direction starts at each line's last character and
never reads padding -> ``nn.Linear(.., 2)``) is trained bidirectional and one-directional
(the same sizes) with the course's fixed loop ``rnncourse.spaces.train_tagger``, at the
same budget and for every init seed (the seed sets the initial weights and the batches).
Reported: accuracy per character and F1 of the class "a space follows" on held-out lines
of the TEST split (plays never trained on), the majority baseline (always "no space"),
training seconds (one torch thread on CPU) and the settings.  The fast settings are the
budget proposed for grading a student's ``SpaceRestorer``; ``--dry`` runs tiny sizes of the
chosen mode to check that the script works (nothing is written unless ``--out`` is given).
``--unpacked`` adds a third model per seed: bidirectional without packing (its backward
direction starts in the padding of the batch), as a student may write it.

``seconds`` is wall-clock time of ``train_tagger``; ``cpu_seconds`` the process' CPU time
over the same span, which is what one thread needs on an unshared machine.
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

from rnncourse import env, spaces  # noqa: E402

SETTINGS = {
    "fast": dict(embed_size=16, hidden_size=32, steps=200, batch_size=64, lr=0.01, max_len=40,
                 train_lines=4000, test_lines=2000),
    "full": dict(embed_size=64, hidden_size=256, steps=6000, batch_size=128, lr=0.003, max_len=None,
                 train_lines=None, test_lines=None),
}
DRY = dict(embed_size=8, hidden_size=8, steps=5, batch_size=8, max_len=30, train_lines=200, test_lines=100)


def make_model(vocab_size: int, embed_size: int, hidden_size: int, bidirectional: bool, packed: bool = True):
    import torch
    from torch import nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
            self.rnn = nn.LSTM(embed_size, hidden_size, batch_first=True, bidirectional=bidirectional)
            self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), 2)

        def forward(self, ids, lengths):
            if not packed:   # the naive variant: the backward direction starts in the padding
                return self.out(self.rnn(self.embed(ids))[0])
            packed_x = nn.utils.rnn.pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True,
                                                       enforce_sorted=False)
            h, _ = self.rnn(packed_x)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=ids.shape[1])
            return self.out(h)

    return Tagger()


def one(bidirectional: bool, seed: int, cfg: dict, train, test, device: str, packed: bool = True) -> dict:
    import torch

    torch.manual_seed(seed)
    model = make_model(len(train.vocab), cfg["embed_size"], cfg["hidden_size"], bidirectional, packed).to(device)
    t0, c0 = time.perf_counter(), time.process_time()
    losses = spaces.train_tagger(model, train.ids, train.lengths, train.labels, train.mask, steps=cfg["steps"],
                                 batch_size=cfg["batch_size"], lr=cfg["lr"], seed=seed, device=device)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    logits = spaces.tagger_logits(model, test.ids, test.lengths, device=device)
    return dict(bidirectional=bidirectional, packed=packed, seed=seed, seconds=round(seconds, 2), cpu_seconds=round(cpu_seconds, 2),
                accuracy=round(spaces.accuracy(logits, test.labels, test.mask), 4),
                f1=round(spaces.f1(logits, test.labels, test.mask), 4),
                final_train_loss=round(float(np.mean(losses[-max(1, len(losses) // 10):])), 4),
                parameters=int(sum(p.numel() for p in model.parameters())))


def summary(runs: list, key: str) -> dict:
    v = np.array([r[key] for r in runs])
    return dict(min=round(float(v.min()), 4), median=round(float(np.median(v)), 4), max=round(float(v.max()), 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["fast", "full"], default=env.mode())
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--unpacked", action="store_true",
                    help="also train a bidirectional model that reads the padding (no packing)")
    ap.add_argument("--dry", action="store_true", help="tiny sizes, to check that the script runs")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override a setting (tuning)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cfg = dict(SETTINGS[args.mode])
    if args.dry:
        cfg.update(DRY)
    for kv in args.set:
        k, v = kv.split("=", 1)
        cfg[k] = None if v == "None" else (float(v) if k == "lr" else int(v))
    import torch

    device = str(env.device())
    if device == "cpu":
        torch.set_num_threads(1)
    t_data = time.perf_counter()
    train = spaces.space_task("train", max_len=cfg["max_len"], limit=cfg["train_lines"])
    test = spaces.space_task("test", max_len=cfg["max_len"], limit=cfg["test_lines"], vocab=train.vocab)
    t_data = time.perf_counter() - t_data
    baseline = spaces.accuracy(np.stack([np.ones_like(test.labels), np.zeros_like(test.labels)], -1).astype(np.float32),
                               test.labels, test.mask)
    # Warm-up (torch's one-time costs, about a second, would otherwise land on the first run).
    warm = dict(cfg, steps=2)
    one(True, 0, warm, train, test, device)
    runs = []
    for seed in args.seeds:
        for bi in (True, False):
            r = one(bi, seed, cfg, train, test, device)
            runs.append(r)
            print(json.dumps(r), flush=True)
        if args.unpacked:
            r = one(True, seed, cfg, train, test, device, packed=False)
            runs.append(r)
            print(json.dumps(r), flush=True)
    bi = [r for r in runs if r["bidirectional"] and r["packed"]]
    uni = [r for r in runs if not r["bidirectional"]]
    nopack = [r for r in runs if not r["packed"]]
    gaps = [b["accuracy"] - u["accuracy"] for b, u in zip(bi, uni)]
    result = dict(
        command="python scripts/bench_ch05_spaces.py " + " ".join(sys.argv[1:]),
        date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=env.machine_info(), mode=args.mode, dry=bool(args.dry), device=device,
        torch_threads=torch.get_num_threads(),
        load_average_1min=round(os.getloadavg()[0], 2),   # wall seconds grow when the machine is shared
        settings=cfg, seeds=args.seeds,
        data=dict(train_lines=len(train), test_lines=len(test), test_characters=int(test.mask.sum()),
                  vocab_size=len(train.vocab), test_unknown_characters=int((test.ids[test.mask] == spaces.UNK_ID).sum()),
                  test_space_fraction=round(float(test.labels[test.mask].mean()), 4), seconds=round(t_data, 2)),
        majority_baseline=dict(accuracy=round(baseline, 4), f1=0.0),
        bidirectional=dict(accuracy=summary(bi, "accuracy"), f1=summary(bi, "f1"), seconds=summary(bi, "seconds"),
                           cpu_seconds=summary(bi, "cpu_seconds")),
        unidirectional=dict(accuracy=summary(uni, "accuracy"), f1=summary(uni, "f1"), seconds=summary(uni, "seconds"),
                            cpu_seconds=summary(uni, "cpu_seconds")),
        bidirectional_unpacked=(dict(accuracy=summary(nopack, "accuracy"), f1=summary(nopack, "f1"),
                                     cpu_seconds=summary(nopack, "cpu_seconds")) if nopack else None),
        accuracy_gap=dict(min=round(min(gaps), 4), median=round(float(np.median(gaps)), 4), max=round(max(gaps), 4)),
        runs=runs,
    )
    print(json.dumps({k: result[k] for k in ("majority_baseline", "bidirectional", "unidirectional",
                                             "bidirectional_unpacked", "accuracy_gap")}))
    out = args.out
    if out is None and not args.dry and not args.set:
        out = REPO / "results" / ("ch05_spaces.json" if args.mode == "fast" else "ch05_spaces_full.json")
    if out is not None:
        out.write_text(json.dumps(result, indent=1) + "\n")
        print("wrote", out)


if __name__ == "__main__":
    main()
