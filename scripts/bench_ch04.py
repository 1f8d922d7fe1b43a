"""Chapter 4's shared lag benchmark: the longest lag of the adding problem each recipe solves.

    python scripts/bench_ch04.py [--mode fast|full] [--recipes tanh irnn ...] [--out results/ch04_longrange.json]

For every recipe of ``rnncourse.longrange.RECIPES`` (chapter 4: tanh with default init,
+ norm clipping, + orthogonal W_hh, the IRNN; chapter 5 adds LSTM and GRU rows) and every
lag T, one model is trained with each learning rate of ``lrs`` by the same loop (Adam,
fresh batches, seed 0); the learning rate with the lowest MSE on a validation set is kept,
and two more models (seeds 1 and 2: other initial weights and batches) are trained with it.
Reported: the median over the three seeds of the MSE on a separate held-out set, and in
how many seeds it is below ``SOLVED_FRACTION`` (10%) of the trivial baseline 1/6 (always
answering 1).  A lag is *solved* when the median is below that threshold.
Initialisation schemes come from the reference of chapter 4's exercise
(autograde/reference/ch04.py: init_for_memory).  Times are wall-clock seconds per run
(one torch thread on CPU).
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

from autograde.reference.ch04 import init_for_memory  # noqa: E402
from rnncourse import env, longrange as L  # noqa: E402

SETTINGS = {
    "fast": dict(hidden_size=32, steps=1500, batch_size=64, lags=[10, 20, 40, 80], lrs=[1e-3, 3e-3, 1e-2]),
    "full": dict(hidden_size=128, steps=10000, batch_size=64, lags=[25, 50, 100, 200, 400], lrs=[3e-4, 1e-3, 3e-3]),
}
VALID_SEED, TEST_SEED = L.VALID_SEED, L.TEST_SEED


def one(recipe: str, T: int, lr: float, cfg: dict, device: str, seed: int = 0):
    import dataclasses
    spec = dataclasses.replace(L.RECIPES[recipe], lr=lr)
    t0 = time.perf_counter()
    model = L.make_model(recipe, cfg["hidden_size"], seed=seed, init=init_for_memory)
    losses = L.train(model, T, steps=cfg["steps"], batch_size=cfg["batch_size"], lr=spec.lr, clip=spec.clip,
                     seed=seed, device=device)
    seconds = time.perf_counter() - t0
    xv, yv = L.held_out_set(T, 1000, seed=VALID_SEED)
    xt, yt = L.held_out_set(T, 1000, seed=TEST_SEED)
    return dict(lr=lr, seed=seed, valid_mse=L.held_out_mse(model, xv, yv, device), test_mse=L.held_out_mse(model, xt, yt, device),
                seconds=round(seconds, 2), final_train_loss=float(np.mean(losses[-max(1, len(losses) // 20):])),
                diverged=bool(not np.all(np.isfinite(losses))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["fast", "full"], default=env.mode())
    ap.add_argument("--recipes", nargs="*", default=list(L.RECIPES))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cfg = SETTINGS[args.mode]
    import torch
    device = str(env.device())
    if device == "cpu":
        torch.set_num_threads(1)
    out = args.out or REPO / "results" / ("ch04_longrange.json" if args.mode == "fast" else "ch04_longrange_full.json")
    old = json.loads(out.read_text()) if out.exists() else {}
    runs = [r for r in old.get("runs", []) if r["recipe"] not in args.recipes and old.get("mode") == args.mode]
    t_all = time.perf_counter()
    for recipe in args.recipes:
        for T in cfg["lags"]:
            tries = [one(recipe, T, lr, cfg, device) for lr in cfg["lrs"]]
            best = min(tries, key=lambda r: r["valid_mse"] if np.isfinite(r["valid_mse"]) else np.inf)
            seeds = [best] + [one(recipe, T, best["lr"], cfg, device, seed=s) for s in (1, 2)]
            mses = [r["test_mse"] for r in seeds]
            limit = L.SOLVED_FRACTION * L.BASELINE_MSE
            mse = float(np.median(mses))
            run = dict(recipe=recipe, T=T, mse=mse, lr=best["lr"], solved=bool(mse < limit),
                       seeds_solved=int(sum(m < limit for m in mses)), seed_mses=mses,
                       seconds=float(np.median([r["seconds"] for r in seeds])), tries=tries + seeds[1:])
            runs.append(run)
            print(f"{recipe:16} T={T:4d} lr={best['lr']:.0e} median test MSE {mse:.4f} "
                  f"({run['seeds_solved']} of 3 seeds solved; {run['seconds']:.1f} s per run)", flush=True)
    longest = {}
    for r in runs:
        longest.setdefault(r["recipe"], None)
        if r["solved"] and (longest[r["recipe"]] is None or r["T"] > longest[r["recipe"]]):
            longest[r["recipe"]] = r["T"]
    report = dict(
        command=f"python scripts/bench_ch04.py --mode {args.mode}", mode=args.mode, device=device,
        date=dt.date.today().isoformat(), machine=env.machine_info(), **{k: cfg[k] for k in cfg},
        baseline_mse=L.BASELINE_MSE, solved_below=L.SOLVED_FRACTION * L.BASELINE_MSE,
        labels={k: L.RECIPES[k].label for k in L.RECIPES}, runs=runs, longest_solved=longest,
        runtime_s=round(time.perf_counter() - t_all, 1),
        threads=os.environ.get("OMP_NUM_THREADS", ""),
    )
    out.write_text(json.dumps(report, indent=1) + "\n")
    print("longest lag solved:", longest)


if __name__ == "__main__":
    main()
