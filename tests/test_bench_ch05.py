"""scripts/bench_ch05.py runs (tiny --dry runs, a few seconds), its validation reading scores
every character exactly once as a single stream would, and --max-seconds keeps the budget
the same for every model."""
from __future__ import annotations

import json

import numpy as np

from scripts import bench_ch05 as B


def test_eval_arrays_score_every_character_once_and_match_one_stream():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, 503)
    x, y, m = B.eval_arrays(ids, streams=5, burn_in=1000)     # burn-in longer than the text: exact
    assert m.sum() == len(ids) - 1
    assert sorted(x[m].tolist()) == sorted(ids[:-1].tolist())
    cfg = dict(embed=4, hidden=6, layers=2, dropout=0.0)
    model = B.make_model("lstm", 7, cfg)
    dev = torch.device("cpu")
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(ids[None, :-1]))
        one = float(F.cross_entropy(logits[0], torch.as_tensor(ids[1:])))
    assert abs(B.valid_nll(model, (x, y, m), dev, chunk=37) - one) < 1e-5


def test_dry_runs_write_the_results(tmp_path):
    out = tmp_path / "fast.json"
    assert B.main(["--mode", "fast", "--dry", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    lm = res["lm"]
    assert res["dry"] and lm["same_steps"] and set(lm["best"]) == {"lstm", "rnn"}
    assert lm["kneser_ney"]["valid_nll"] > 1.0
    assert all(r["steps"] == B.DRY["steps"] and len(r["curve"]) == 3 for r in lm["runs"])
    assert res["speed"]["max_abs_output_diff"] < 1e-5 and res["speed"]["max_abs_grad_diff"] < 1e-4
    assert all(v["ratio"] > 0 for v in res["speed"]["ms"].values())


def test_full_mode_starts_and_max_seconds_stops_every_run_at_the_same_step(tmp_path):
    out = tmp_path / "full.json"
    assert B.main(["--mode", "full", "--dry", "--max-seconds", "0.001", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["mode"] == "full" and "--max-seconds" in res["command"]
    runs = res["lm"]["runs"]
    assert runs[0]["stopped_by_max_seconds"] and runs[0]["steps"] == 1
    assert res["lm"]["same_steps"] and res["lm"]["train_chars"] > 4_000_000
