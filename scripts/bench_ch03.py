"""Chapter 3 measurements: gradient checks, and truncated BPTT on the Shakespeare corpus.

    python scripts/bench_ch03.py [--mode fast|full] [--out results/ch03_bptt.json]

Gradients (the reference of the exercises, autograde/reference/ch03.py):
* the numpy backward pass against torch.autograd in float64 on random problems (batch 1,
  length 1 and non-zero initial states included), and against centred finite differences:
  the largest relative error |a - n| / max(|a|, |n|) of each;
* the time of a numpy forward + backward pass against torch's forward + autograd backward.

Truncated BPTT (the exercises' model: one-hot characters, tanh RNN, linear read-out, in
float32 torch, B contiguous streams, mean loss per character, Adam):
* for each truncation length k, the validation NLL after each epoch with the state carried
  from chunk to chunk, and with the state reset to zeros at every chunk; every run reads the
  same characters, so a smaller k makes more, shorter updates;
* training time per epoch (evaluation excluded), as CPU time of the process (one thread), which
  other processes on a shared machine do not inflate; the wall-clock times are kept too;
* Adagrad (the classic minimal character RNN's optimiser) against Adam at one k.
The validation text is scored as one stream with the state carried through all of it.
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

from autograde.reference import ch02 as R2  # noqa: E402
from autograde.reference import ch03 as R3  # noqa: E402
from rnncourse import data, env  # noqa: E402

SETTINGS = {
    "fast": dict(hidden=128, batch=32, epochs=3, lr=2e-3, adagrad_lr=0.1, opt_k=32,
                 ks=[1, 2, 4, 8, 16, 32, 64, 128, 256], reset_ks=[2, 8, 32, 128]),
    "full": dict(hidden=128, batch=32, epochs=1, lr=2e-3, adagrad_lr=0.1, opt_k=32,
                 ks=[1, 4, 16, 32, 64, 256], reset_ks=[4, 64]),
}


# --------------------------------------------------------------------------- gradients
def gradient_section():
    import torch

    rows = []
    for case in range(8):
        rng = np.random.default_rng(1000 + case)
        B, T, D, H = (1, 1, 1, 1) if case == 0 else (1, 9, 4, 6) if case == 1 else (5, 1, 3, 4) if case == 2 else \
            tuple(int(v) for v in rng.integers(2, 9, 4))
        p = {"W_xh": rng.normal(0, 1.5 / np.sqrt(D), (D, H)), "W_hh": rng.normal(0, 1.5 / np.sqrt(H), (H, H)),
             "b_h": rng.normal(0, 0.3, H)}
        xs, h0, dhs = rng.normal(size=(B, T, D)), rng.uniform(-1, 1, (B, H)), rng.normal(size=(B, T, H))
        hs = R3.rnn_forward(xs, h0, p["W_xh"], p["W_hh"], p["b_h"])
        ours = R3.backward_dict(dhs, xs, h0, hs, p["W_xh"], p["W_hh"])
        auto = R3.autograd_gradients(p, xs, h0, dhs)
        _, rel = R3.grad_check(p, xs, h0, dhs, ours)
        rows.append({"B": B, "T": T, "D": D, "H": H,
                     "vs_autograd": {k: float(R3.rel_error(ours[k], auto[k]).max()) for k in R3.AUTOGRAD_KEYS},
                     "vs_finite_differences": {k: float(rel[k].max()) for k in R3.CHECKED}})
    # speed: one forward + backward pass of a medium problem
    B, T, D, H = 32, 64, 128, 128
    rng = np.random.default_rng(0)
    p = {"W_xh": rng.normal(0, 1 / np.sqrt(D), (D, H)), "W_hh": rng.normal(0, 1 / np.sqrt(H), (H, H)),
         "b_h": np.zeros(H)}
    xs, h0, dhs = rng.normal(size=(B, T, D)), np.zeros((B, H)), rng.normal(size=(B, T, H))

    def numpy_pass():
        hs = R3.rnn_forward(xs, h0, p["W_xh"], p["W_hh"], p["b_h"])
        return R3.rnn_backward(dhs, xs, h0, hs, p["W_xh"], p["W_hh"])

    def torch_pass():
        return R3.autograd_gradients(p, xs, h0, dhs)
    times = {}
    for name, fn in (("numpy", numpy_pass), ("torch_autograd", torch_pass)):
        fn()
        times[name] = min(_timed(fn) for _ in range(5))       # CPU seconds, best of 5
    return {"cases": rows,
            "max_vs_autograd": max(max(r["vs_autograd"].values()) for r in rows),
            "max_vs_finite_differences": max(max(r["vs_finite_differences"].values()) for r in rows),
            "speed": {"B": B, "T": T, "D": D, "H": H, "dtype": "float64", "seconds": times}}


def _timed(fn):
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


# --------------------------------------------------------------------------- truncated BPTT
class CharLM:
    """The exercises' model in float32 torch: h = tanh(W_xh[x] + h W_hh + b_h), z = h W_hy + b_y."""

    def __init__(self, V, H, seed=0):
        import torch

        p = R3.init_lm_params(V, H, np.random.default_rng(seed))
        self.p = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in p.items()}

    def run(self, x, h):
        """Logits (B, k, V) and the last state for inputs x (B, k) from state h (B, H)."""
        import torch

        p = self.p
        pre = p["W_xh"][x] + p["b_h"]
        states = []
        for t in range(x.shape[1]):
            h = torch.tanh(pre[:, t] + h @ p["W_hh"])
            states.append(h)
        return torch.stack(states, 1) @ p["W_hy"] + p["b_y"], h

    def nll(self, ids, piece=2048):
        """Mean NLL per character of ids, read as one stream with the state carried."""
        import torch
        import torch.nn.functional as F

        ids = torch.as_tensor(ids)
        h = torch.zeros(1, self.p["W_hh"].shape[0])
        total = 0.0
        with torch.no_grad():
            for s in range(0, len(ids) - 1, piece):
                x, y = ids[s:s + piece][None], ids[s + 1:s + piece + 1][None]
                x = x[:, :y.shape[1]]
                logits, h = self.run(x, h)
                total += float(F.cross_entropy(logits[0], y[0], reduction="sum"))
        return total / (len(ids) - 1)


def train_run(train_ids, valid_ids, V, *, k, carry=True, optimizer="adam", cfg):
    import torch
    import torch.nn.functional as F

    B = cfg["batch"]
    X, Y = (torch.from_numpy(a) for a in R3.streams(train_ids, B))
    C = X.shape[1] // k
    model = CharLM(V, cfg["hidden"], seed=0)
    params = list(model.p.values())
    opt = torch.optim.Adam(params, lr=cfg["lr"]) if optimizer == "adam" else \
        torch.optim.Adagrad(params, lr=cfg["adagrad_lr"])
    epochs, train_s, wall_s = [], [], []
    for epoch in range(cfg["epochs"]):
        h = torch.zeros(B, cfg["hidden"])
        total, t0, c0 = 0.0, time.perf_counter(), time.process_time()
        for c in range(C):
            if not carry:
                h = torch.zeros(B, cfg["hidden"])
            x, y = X[:, c * k:(c + 1) * k], Y[:, c * k:(c + 1) * k]
            logits, h = model.run(x, h.detach())
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        wall_s.append(time.perf_counter() - t0)
        train_s.append(time.process_time() - c0)
        epochs.append({"epoch": epoch + 1, "train_loss": total / C, "valid_nll": model.nll(valid_ids)})
        print(f"  k={k:4d} {'carry' if carry else 'reset'} {optimizer:7} epoch {epoch + 1}: train {total / C:.3f} "
              f"valid {epochs[-1]['valid_nll']:.3f} ({train_s[-1]:.1f} s)", flush=True)
    return {"k": k, "carry": carry, "optimizer": optimizer, "updates_per_epoch": C,
            "chars_per_epoch": C * k * B, "seconds_per_epoch": float(np.median(train_s)),
            "cpu_seconds_per_epoch_all": train_s, "wall_seconds_per_epoch_all": wall_s, "epochs": epochs, "final_valid_nll": epochs[-1]["valid_nll"]}


def tbptt_section(mode):
    cfg = SETTINGS[mode]
    train = data.shakespeare("train", size=mode)
    valid = data.shakespeare("valid", size=mode)
    vocab = R2.build_vocab([train])
    V = len(vocab)
    train_ids, valid_ids = R2.encode(train, vocab), R2.encode(valid, vocab)
    runs = []
    for k in cfg["ks"]:
        runs.append(train_run(train_ids, valid_ids, V, k=k, cfg=cfg))
    for k in cfg["reset_ks"]:
        runs.append(train_run(train_ids, valid_ids, V, k=k, carry=False, cfg=cfg))
    runs.append(train_run(train_ids, valid_ids, V, k=cfg["opt_k"], optimizer="adagrad", cfg=cfg))
    return {"config": cfg, "vocab_size": V, "train_chars": len(train_ids), "valid_chars": len(valid_ids),
            "unigram_valid_nll": R3.unigram_nll(train_ids, valid_ids, V), "runs": runs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("fast", "full"), default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.mode:
        os.environ[env.MODE_VARIABLE] = args.mode
    mode = env.mode()
    out = args.out or REPO / "results" / ("ch03_bptt.json" if mode == "fast" else "ch03_bptt_full.json")
    import torch

    torch.set_num_threads(1)  # small models: one thread is fastest and repeatable
    env.seed_everything(0)
    start = time.perf_counter()
    result = {"chapter": "ch03_bptt", "mode": mode,
              "command": "python scripts/bench_ch03.py" + (f" --mode {args.mode}" if args.mode else ""),
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {**env.machine_info(), "torch_threads": 1}}
    result["gradients"] = gradient_section()
    g = result["gradients"]
    print(f"gradients: numpy vs autograd {g['max_vs_autograd']:.1e}, vs finite differences "
          f"{g['max_vs_finite_differences']:.1e}", flush=True)
    result["tbptt"] = tbptt_section(mode)
    result["runtime_s"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    for r in result["tbptt"]["runs"]:
        print(f"k={r['k']:4d} {'carry' if r['carry'] else 'reset'} {r['optimizer']:7} valid {r['final_valid_nll']:.3f} "
              f"{r['seconds_per_epoch']:.1f} s/epoch")
    print(f"wrote {out} in {result['runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
