"""Chapter 2 tuning runs of the full-mode names model, quoted on the results page.

    python scripts/bench_ch02_tuning.py [--out results/ch02_tuning_full.json] [--only NAME ...]

Each run trains the reference CharRNN (autograde/reference/ch02.py) on the training names with
rnncourse.names_training.train, a variant of the full-mode recipe of
names_training.SETTINGS["full"] with one ingredient changed, and measures the validation and
test NLL per character (nats) of the weights it ends with:

* plain_h256_4000: hidden 256, 4,000 steps, no regularisation, no checkpoint selection
  (a larger plain model overfits);
* dropout_only: output dropout 0.3, no input noise, 4,000 steps, cosine schedule, best
  validation checkpoint;
* noise_only: input noise 0.2, no dropout, 6,000 steps, cosine schedule, best checkpoint;
* recipe_seed1, recipe_seed2: the full recipe unchanged with other seeds (weights, batches
  and noise), to show how much the result of the recipe varies between runs.

Always full mode (the names corpus is the same in both modes; only the settings differ).
The file is rewritten after every run, so an interrupted run keeps what it measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograde.reference import ch02 as R2  # noqa: E402
from rnncourse import data, env, names_training  # noqa: E402

BASE = dict(names_training.SETTINGS["full"])
RUNS = {
    "plain_h256_4000": dict(BASE, steps=4000, input_noise=0.0, output_dropout=0.0, schedule="constant",
                            warmup=0, eval_every=0),
    "dropout_only": dict(BASE, steps=4000, input_noise=0.0, output_dropout=0.3),
    "noise_only": dict(BASE, steps=6000, input_noise=0.2, output_dropout=0.0),
    "recipe_seed1": dict(BASE, seed=1),
    "recipe_seed2": dict(BASE, seed=2),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "results" / "ch02_tuning_full.json")
    ap.add_argument("--only", nargs="*", default=None, help="run only these (default: all)")
    args = ap.parse_args(argv)
    os.environ[env.MODE_VARIABLE] = "full"
    import torch

    torch.set_num_threads(1)
    train, valid, test = data.names("train"), data.names("valid"), data.names("test")
    vocab = R2.build_vocab(train)
    result = {"chapter": "ch02_rnn", "mode": "full", "command": "python scripts/bench_ch02_tuning.py",
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {**env.machine_info(), "torch_threads": 1}, "runs": {}}
    if args.out.is_file():                      # keep runs measured before (--only)
        result["runs"] = json.loads(args.out.read_text()).get("runs", {})
    start = time.perf_counter()
    for name, cfg in RUNS.items():
        if args.only and name not in args.only:
            continue
        seed = cfg.get("seed", 0)
        torch.manual_seed(seed)
        model = R2.CharRNN(len(vocab), cfg["embed_size"], cfg["hidden_size"])
        t0 = time.perf_counter()
        run = names_training.train(model, *R2.name_batch(train, vocab), valid=R2.name_batch(valid, vocab), **cfg)
        result["runs"][name] = {"config": cfg, "train_seconds": time.perf_counter() - t0,
                                "best_step": run["best_step"],
                                "valid_nll": R2.char_rnn_nll(model, valid, vocab),
                                "test_nll": R2.char_rnn_nll(model, test, vocab)}
        result["runtime_s"] = time.perf_counter() - start
        args.out.write_text(json.dumps(result, indent=1, default=float) + "\n")
        r = result["runs"][name]
        print(f"{name}: valid {r['valid_nll']:.4f} test {r['test_nll']:.4f} nats/char "
              f"({r['train_seconds']:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
