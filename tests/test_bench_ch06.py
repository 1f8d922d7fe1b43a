"""scripts/bench_ch06.py runs end to end on tiny sizes (--dry, a few seconds) and writes every
measurement the results page reads; full mode starts (--max-steps, --eval-limit) on a CPU."""
from __future__ import annotations

import json

from scripts import bench_ch06 as B


def test_dry_run_writes_every_measurement(tmp_path):
    out = tmp_path / "fast.json"
    assert B.main(["--mode", "fast", "--dry", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["dry"] and res["mode"] == "fast" and "--dry" in res["command"]
    assert res["settings"]["steps"] == B.DRY["steps"] and res["settings"]["tuned_on"] == "valid"
    assert set(res["models"]) == set(B.MODELS)
    att, none, rev = (res["models"][k] for k in ("attention", "none", "none_reversed"))
    assert att["attention"] and not none["attention"] and rev["reversed_source"] and not none["reversed_source"]
    # the same budget for every model
    assert {m["steps"] for m in res["models"].values()} == {B.DRY["steps"]}
    for name in ("attention", "none"):
        for split in ("test", "hard"):
            row = res["models"][name]["splits"][split]
            assert row["n"] == B.DRY["eval_limit"] and set(B.METHODS) <= set(row)
            for method in B.METHODS:
                assert 0.0 <= row[method]["exact_match"] <= 1.0 and 0.0 <= row[method]["bleu"] <= 100.0
            buckets = row["greedy"]["by_length"]
            assert list(buckets) == B.bucket_names() and sum(b["n"] for b in buckets.values()) == row["n"]
    assert set(rev["splits"]["test"]) >= set(B.METHODS) and "greedy" in rev["splits"]["hard"]
    for t in res["throughput"].values():
        assert t["same_tokens"] and t["max_logprob_diff"] < 1e-4 and t["speedup"] > 0
        assert t["beam_size"] == B.BEAM and t["batch_size"] == B.DRY["throughput_items"]


def test_by_length_buckets():
    got = B.by_length(["abc", "x" * 15, "y" * 16, "z" * 70], ["1", "2", "0", "4"], ["1", "2", "3", "4"])
    assert got["1-10"] == {"n": 1, "exact_match": 1.0}
    assert got["11-20"] == {"n": 2, "exact_match": 0.5}
    assert got["61+"] == {"n": 1, "exact_match": 1.0}
    assert got["21-30"] == {"n": 0, "exact_match": None}


def test_full_mode_starts_with_max_steps(tmp_path):
    out = tmp_path / "full.json"
    assert B.main(["--mode", "full", "--max-steps", "1", "--eval-limit", "6", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["mode"] == "full" and "--max-steps 1" in res["command"] and "--eval-limit 6" in res["command"]
    assert res["settings"]["hidden"] == B.FULL["hidden"] and res["settings"]["steps"] == 1
    assert all(m["steps"] == 1 for m in res["models"].values())
    assert res["settings"]["train_examples"] == 60_000
