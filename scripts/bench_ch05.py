"""Chapter 5 measurements: a character LSTM against the tanh RNN on Shakespeare, and the
from-scratch LSTM of the exercises against nn.LSTM.

    python scripts/bench_ch05.py [--mode fast|full] [--out PATH] [--max-seconds S] [--until-kn STEPS] [--dry]

Fast mode writes results/ch05_lstm.json, full mode results/ch05_lstm_full.json.

Language models (``nn.Embedding`` + ``nn.LSTM`` or ``nn.RNN`` (tanh), ``batch_first=True``,
the same embedding size, hidden size and number of layers + ``nn.Linear``; the LSTM's forget
bias set to 1 with the reference ``init_forget_bias``):
* both trained on ``data.shakespeare("train")`` with the same budget: the same number of Adam
  steps on the same batches (B contiguous streams of the training text cut into chunks of
  ``seq`` characters, truncated BPTT with the state carried from chunk to chunk and reset at
  the start of every pass over the text), gradient norm clipped at 1; the learning rate of
  each model is the best on validation of a small grid;
* scored on ``data.shakespeare("valid")`` in nats per character: every character but the
  first is predicted; the text is read as ``eval_streams`` pieces in parallel, each piece
  after the first starting ``burn_in`` characters early, so that every scored character has
  at least that much context (as when the text is read as one stream with the state carried);
* the validation curve against the seconds of training, evaluation excluded: wall clock, and
  CPU seconds of the process (fast mode runs on one CPU thread, so that other processes on a
  shared machine do not inflate its CPU time; the CPU seconds are its timing there), and the
  first measurement below the best interpolated Kneser-Ney n-gram of chapter 1
  (results/ch01_ngrams*.json, the same mode and split);
* ``--until-kn STEPS``: one more LSTM run, at the learning rate chosen for the table, trained
  until its first validation measurement below Kneser-Ney (at most STEPS steps): how long the
  LSTM takes to pass the n-gram on this machine;
* ``--max-seconds`` stops a run early (the runs after it then take the number of steps it
  made, so that every model still gets the same number of steps).

Speed: the reference ``autograde.reference.ch05.lstm_sequence`` (a Python loop over time
steps and layers of the reference ``lstm_cell``) against ``nn.LSTM`` with the same weights on
the same batch, forward (no autograd) and forward + backward, milliseconds per batch (best of
a few repeats; CPU time of the process on the CPU) and the ratio; on CPU in fast mode, on the
GPU (cuDNN) in full mode when there is one.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograde.reference import ch02 as R2  # noqa: E402
from autograde.reference import ch03 as R3  # noqa: E402
from autograde.reference import ch05 as R5  # noqa: E402
from rnncourse import data, env  # noqa: E402

SETTINGS = {
    # about 4 minutes of CPU for the whole script; one thread, timed in CPU seconds of the process,
    # which other processes on a shared machine do not inflate (with two threads they do, a lot)
    "fast": dict(embed=32, hidden=128, layers=2, dropout=0.0, batch=32, seq=64, steps=1500, eval_every=100,
                 lrs=[2e-3, 5e-3], eval_streams=32, burn_in=200, eval_chunk=512, max_seconds=None,
                 threads=1, speed=dict(batch=32, seq=64, repeats=5)),
    # sized for one GPU with cuDNN (target: the LSTM at or below 1.35 nats/char within 5 minutes)
    "full": dict(embed=128, hidden=1024, layers=2, dropout=0.25, batch=128, seq=128, steps=10000, eval_every=500,
                 lrs=[2e-3, 5e-3], eval_streams=64, burn_in=200, eval_chunk=1024, max_seconds=300.0,
                 threads=None, speed=dict(batch=128, seq=128, repeats=5)),
}
DRY = dict(embed=8, hidden=16, layers=2, batch=4, seq=16, steps=6, eval_every=3, lrs=[5e-3], eval_streams=4,
           burn_in=20, eval_chunk=64, valid_chars=2000, speed=dict(batch=4, seq=8, repeats=1))
KINDS = {"lstm": "LSTM", "rnn": "tanh RNN"}


# --------------------------------------------------------------------------- models
def make_model(kind, V, cfg, seed=0):
    import torch
    import torch.nn as nn

    class CharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, cfg["embed"])
            cls = nn.LSTM if kind == "lstm" else nn.RNN
            self.rnn = cls(cfg["embed"], cfg["hidden"], num_layers=cfg["layers"], batch_first=True,
                           dropout=cfg["dropout"] if cfg["layers"] > 1 else 0.0)
            self.drop = nn.Dropout(cfg["dropout"])
            self.out = nn.Linear(cfg["hidden"], V)
            if kind == "lstm":
                R5.init_forget_bias(self.rnn, 1.0)

        def forward(self, x, state=None):
            h, state = self.rnn(self.embed(x), state)
            return self.out(self.drop(h)), state

    torch.manual_seed(seed)
    return CharModel()


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def eval_arrays(ids, streams, burn_in):
    """Inputs, targets and score mask (S, L) that predict every character of ids but the first:
    S pieces read in parallel, every piece after the first starting burn_in characters early."""
    n = len(ids) - 1
    S = max(1, min(streams, n))
    seg = math.ceil(n / S)
    rows = []
    for s in range(S):
        a, b = s * seg, min((s + 1) * seg, n)
        if a >= b:
            break
        start = max(0, a - burn_in)
        rows.append((start, a, b))
    L = max(b - start for start, _, b in rows)
    x = np.zeros((len(rows), L), dtype=np.int64)
    y = np.zeros((len(rows), L), dtype=np.int64)
    m = np.zeros((len(rows), L), dtype=bool)
    for r, (start, a, b) in enumerate(rows):
        x[r, :b - start] = ids[start:b]
        y[r, :b - start] = ids[start + 1:b + 1]
        m[r, a - start:b - start] = True
    assert m.sum() == n
    return x, y, m


def valid_nll(model, ev, device, chunk):
    """Mean NLL per scored character (nats) of the arrays of eval_arrays."""
    import torch
    import torch.nn.functional as F

    x, y, m = (torch.from_numpy(a).to(device) for a in ev)
    model.eval()
    total, state = 0.0, None
    with torch.no_grad():
        for s in range(0, x.shape[1], chunk):
            logits, state = model(x[:, s:s + chunk], state)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[:, s:s + chunk].reshape(-1), reduction="none")
            total += float((nll * m[:, s:s + chunk].reshape(-1)).sum())
    model.train()
    return total / int(m.sum())


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_run(kind, lr, train_ids, ev, V, cfg, device, *, steps, max_seconds, stop_below=None):
    """Train one model; returns its record with the validation curve.  With stop_below, training
    stops at the first validation measurement below it."""
    import torch
    import torch.nn.functional as F

    X, Y = (torch.from_numpy(a).to(device) for a in R3.streams(train_ids, cfg["batch"]))
    k = cfg["seq"]
    chunks = X.shape[1] // k
    model = make_model(kind, V, cfg).to(device)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    curve = [{"step": 0, "train_s": 0.0, "cpu_s": 0.0, "valid_nll": valid_nll(model, ev, device, cfg["eval_chunk"])}]
    train_s = cpu_s = 0.0
    state, step, stopped, losses = None, 0, False, []
    model.train()
    while step < steps:
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(min(cfg["eval_every"], steps - step)):
            c = step % chunks
            if c == 0:
                state = None                              # a new pass over the text
            logits, state = model(X[:, c * k:(c + 1) * k], state)
            state = detach(state)
            loss = F.cross_entropy(logits.reshape(-1, V), Y[:, c * k:(c + 1) * k].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(loss.detach())
            step += 1
            if max_seconds is not None and train_s + time.perf_counter() - t0 >= max_seconds:
                stopped = True
                break
        sync(device)
        train_s += time.perf_counter() - t0
        cpu_s += time.process_time() - c0
        curve.append({"step": step, "train_s": train_s, "cpu_s": cpu_s,
                      "train_loss": float(torch.stack(losses[-cfg["eval_every"]:]).mean()),
                      "valid_nll": valid_nll(model, ev, device, cfg["eval_chunk"])})
        print(f"  {kind:4} lr {lr:g} step {step:6d} {train_s:7.1f} s train {curve[-1]['train_loss']:.3f} "
              f"valid {curve[-1]['valid_nll']:.4f}", flush=True)
        if stopped or (stop_below is not None and curve[-1]["valid_nll"] < stop_below):
            break
    best = min(curve, key=lambda p: p["valid_nll"])
    return {"kind": kind, "lr": lr, "steps": step, "stopped_by_max_seconds": stopped,
            "parameters": sum(p.numel() for p in params), "chars_per_step": cfg["batch"] * k,
            "passes_over_train": step * cfg["batch"] * k / len(train_ids),
            "train_seconds": train_s, "train_cpu_seconds": cpu_s, "ms_per_step": 1000 * train_s / max(step, 1),
            "cpu_ms_per_step": 1000 * cpu_s / max(step, 1),
            "final_valid_nll": curve[-1]["valid_nll"], "best_valid_nll": best["valid_nll"], "best_step": best["step"],
            "curve": curve}


def first_below(curve, target):
    """The first measurement of the curve below target, or None."""
    return next(({"step": p["step"], "train_s": p["train_s"], "cpu_s": p["cpu_s"], "valid_nll": p["valid_nll"]}
                 for p in curve if p["valid_nll"] < target), None)


def kn_baseline(mode):
    """The best Kneser-Ney character model of chapter 1 on the validation split of this mode."""
    name = "ch01_ngrams.json" if mode == "fast" else "ch01_ngrams_full.json"
    path = REPO / "results" / name
    if not path.is_file():
        return None
    res = json.loads(path.read_text())
    b = res["char"]["best"]["kneser_ney"]
    return {"file": f"results/{name}", "command": res["command"], "n": b["n"], "discount": b["discount"],
            "valid_ppl": b["valid_ppl"], "valid_nll": math.log(b["valid_ppl"]), "valid_bpc": b["valid_bpc"],
            "train_chars": res["corpus"]["train_chars"], "valid_chars": res["corpus"]["valid_chars"],
            "vocab_size": res["corpus"]["char_vocab_size"]}


def lm_section(mode, cfg, device, max_seconds, until_kn=None):
    train = data.shakespeare("train", size=mode)
    valid = data.shakespeare("valid", size=mode)
    if cfg.get("valid_chars"):
        valid = valid[:cfg["valid_chars"]]
    vocab = R2.build_vocab([train])
    V = len(vocab)
    train_ids, valid_ids = R2.encode(train, vocab), R2.encode(valid, vocab)
    ev = eval_arrays(valid_ids, cfg["eval_streams"], cfg["burn_in"])
    kn = kn_baseline(mode)
    steps, runs = cfg["steps"], []
    for kind in KINDS:
        for lr in cfg["lrs"]:
            r = train_run(kind, lr, train_ids, ev, V, cfg, device, steps=steps, max_seconds=max_seconds)
            if r["stopped_by_max_seconds"]:
                steps = r["steps"]                         # the same budget for the runs after it
            if kn:
                r["below_kn"] = first_below(r["curve"], kn["valid_nll"])
            runs.append(r)
    best = {}
    for kind in KINDS:
        r = min((r for r in runs if r["kind"] == kind), key=lambda r: r["final_valid_nll"])
        best[kind] = {"lr": r["lr"], "final_valid_nll": r["final_valid_nll"], "best_valid_nll": r["best_valid_nll"],
                      "steps": r["steps"], "train_seconds": r["train_seconds"],
                      "train_cpu_seconds": r["train_cpu_seconds"],
                      "ms_per_step": r["ms_per_step"], "cpu_ms_per_step": r["cpu_ms_per_step"],
                      "parameters": r["parameters"], "below_kn": r.get("below_kn")}
    out = {}
    if until_kn and kn:
        # the LSTM of the table, trained on until it is below Kneser-Ney (or until_kn steps)
        r = train_run("lstm", best["lstm"]["lr"], train_ids, ev, V, cfg, device, steps=until_kn,
                      max_seconds=max_seconds, stop_below=kn["valid_nll"])
        r["below_kn"] = first_below(r["curve"], kn["valid_nll"])
        r["max_steps"] = until_kn
        out["until_kn"] = r
    return {**out, "config": {k: v for k, v in cfg.items() if k != "speed"}, "device": str(device), "vocab_size": V,
            "train_chars": len(train_ids), "valid_chars": len(valid_ids), "valid_scored_chars": int(ev[2].sum()),
            "valid_unk_chars": int((valid_ids == R2.UNK).sum()), "kneser_ney": kn,
            "same_steps": len({r["steps"] for r in runs}) == 1, "runs": runs, "best": best}


# --------------------------------------------------------------------------- speed
def speed_section(cfg, device):
    import torch
    import torch.nn as nn

    sp = cfg["speed"]
    B, T, D, H, L = sp["batch"], sp["seq"], cfg["embed"], cfg["hidden"], cfg["layers"]
    torch.manual_seed(0)
    lstm = nn.LSTM(D, H, num_layers=L, batch_first=True).to(device)
    layers = [tuple(getattr(lstm, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
              for k in range(L)]
    xs = torch.randn(B, T, D, device=device)
    g = torch.randn(B, T, H, device=device)

    def ours():
        return R5.lstm_sequence(xs, None, None, layers)[0]

    def theirs():
        return lstm(xs)[0]

    def fwd(fn):
        with torch.no_grad():
            fn()

    def fwd_bwd(fn):
        lstm.zero_grad(set_to_none=True)
        (fn() * g).sum().backward()

    clock = time.perf_counter if device.type == "cuda" else time.process_time   # CPU time on the CPU

    def best_ms(fn, arg):
        fn(arg)                                           # warm-up
        times = []
        for _ in range(sp["repeats"]):
            sync(device)
            t0 = clock()
            fn(arg)
            sync(device)
            times.append(1000 * (clock() - t0))
        return min(times)

    # the two agree (outputs and weight gradients)
    with torch.no_grad():
        out_diff = float((ours() - theirs()).abs().max())
    grads = []
    for fn in (ours, theirs):
        fwd_bwd(fn)
        grads.append([p.grad.clone() for p in lstm.parameters()])
    grad_diff = max(float((a - b).abs().max()) for a, b in zip(*grads))
    ms = {"forward": {"scratch": best_ms(fwd, ours), "nn_lstm": best_ms(fwd, theirs)},
          "forward_backward": {"scratch": best_ms(fwd_bwd, ours), "nn_lstm": best_ms(fwd_bwd, theirs)}}
    for v in ms.values():
        v["ratio"] = v["scratch"] / v["nn_lstm"]
    backend = "cuDNN" if device.type == "cuda" and torch.backends.cudnn.enabled else "CPU"
    return {"device": str(device), "backend": backend, "clock": "wall" if device.type == "cuda" else "process CPU time",
            "threads": torch.get_num_threads(), "B": B, "T": T, "D": D, "H": H, "layers": L, "dtype": "float32",
            "repeats": sp["repeats"], "max_abs_output_diff": out_diff, "max_abs_grad_diff": grad_diff, "ms": ms}


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("fast", "full"), default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop each training run after this many seconds of training (default: none in fast "
                         "mode, 300 in full mode)")
    ap.add_argument("--until-kn", type=int, default=None, metavar="STEPS",
                    help="after the comparison, train the LSTM (its chosen learning rate) again for up to STEPS "
                         "steps, stopping at the first validation measurement below Kneser-Ney")
    ap.add_argument("--dry", action="store_true",
                    help="tiny models, a few steps and 2,000 validation characters: checks that the script runs "
                         "(requires --out; the numbers mean nothing)")
    args = ap.parse_args(argv)
    if args.mode:
        os.environ[env.MODE_VARIABLE] = args.mode
    mode = env.mode()
    if args.dry and args.out is None:
        ap.error("--dry writes its meaningless numbers only to an explicit --out")
    out = args.out or REPO / "results" / ("ch05_lstm.json" if mode == "fast" else "ch05_lstm_full.json")
    cfg = {**SETTINGS[mode], **(DRY if args.dry else {})}
    max_seconds = args.max_seconds if args.max_seconds is not None else cfg["max_seconds"]
    import torch

    if cfg["threads"]:
        torch.set_num_threads(cfg["threads"])
    device = env.device()
    env.seed_everything(0)
    start = time.perf_counter()
    command = "python scripts/bench_ch05.py" + (f" --mode {args.mode}" if args.mode else "") + \
        (f" --max-seconds {args.max_seconds:g}" if args.max_seconds is not None else "") + \
        (f" --until-kn {args.until_kn}" if args.until_kn else "") + (" --dry" if args.dry else "")
    result = {"chapter": "ch05_lstm", "mode": mode, "dry": args.dry, "command": command,
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": {**env.machine_info(), "torch_threads": torch.get_num_threads()}}
    result["lm"] = lm_section(mode, cfg, device, max_seconds, args.until_kn)
    result["speed"] = speed_section(cfg, device)
    result["runtime_s"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    lm, sp = result["lm"], result["speed"]
    kn = lm["kneser_ney"]
    if kn:
        print(f"Kneser-Ney n = {kn['n']}, D = {kn['discount']}: valid {kn['valid_nll']:.4f} nats/char")
    for kind, b in lm["best"].items():
        passed = b["below_kn"]
        print(f"{KINDS[kind]:8} lr {b['lr']:g}: valid {b['final_valid_nll']:.4f} nats/char after {b['steps']} steps, "
              f"{b['train_seconds']:.0f} s ({b['train_cpu_seconds']:.0f} CPU s); " + (
                  f"below Kneser-Ney after {passed['train_s']:.0f} s, {passed['cpu_s']:.0f} CPU s (step "
                  f"{passed['step']})" if passed else "not below Kneser-Ney"))
    if "until_kn" in lm:
        u = lm["until_kn"]
        p = u["below_kn"]
        print(f"LSTM trained on: " + (f"below Kneser-Ney at step {p['step']}, {p['train_s']:.0f} s, {p['cpu_s']:.0f} "
                                     f"CPU s ({p['valid_nll']:.4f})" if p else
                                     f"not below Kneser-Ney in {u['steps']} steps ({u['final_valid_nll']:.4f})"))
    for what, v in sp["ms"].items():
        print(f"speed {what} ({sp['backend']}): scratch {v['scratch']:.1f} ms, nn.LSTM {v['nn_lstm']:.1f} ms, "
              f"ratio {v['ratio']:.1f}")
    print(f"wrote {out} in {result['runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
