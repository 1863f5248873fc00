"""Kernel Tuner's strategies as peers: budget counted as Kernel Tuner counts it."""
import json

import numpy as np
import pytest

from ml2tuner.kt_cache import load_kt_cache

pytest.importorskip("kernel_tuner", reason="Kernel Tuner (the bench extra) is not installed")
from ml2tuner.kt_peers import STRATEGIES, run_strategy  # noqa: E402


def _cache(tmp_path, fail_every=1, missing=()):
    """bx in 8 values x tile in 5: 40 configurations minus `missing` (restricted out, as a
    Kernel Tuner restriction leaves them out of a cache); every `fail_every`-th fails."""
    cache = {}
    n = 0
    for bx in (16, 32, 48, 64, 96, 128, 256, 512):
        for t in (1, 2, 3, 4, 8):
            if (bx, t) in missing:
                continue
            fails = n % fail_every != 0
            err = "RuntimeFailedConfig" if n % 2 else "CompilationFailedConfig"
            cache[f"{bx},{t}"] = {"block_size_x": bx, "tile": t,
                                  "time": err if fails else 1.0 + abs(bx - 96) / 64 + t / 3,
                                  "compile_time": 1.0, "verification_time": 0.0,
                                  "benchmark_time": 0.0 if fails else 10.0}
            n += 1
    d = {"device_name": "G", "kernel_name": "k", "problem_size": [1024],
         "tune_params_keys": ["block_size_x", "tile"],
         "tune_params": {"block_size_x": [16, 32, 48, 64, 96, 128, 256, 512],
                         "tile": [1, 2, 3, 4, 8]}, "objective": "time", "cache": cache}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(d))
    return p


@pytest.mark.parametrize("strategy", ["random_sample", "bayes_opt"])
def test_failures_count_against_the_budget(tmp_path, strategy):
    # 3 of every 4 configurations fail: 10 valid of 40. A budget of 16 evaluations can only be
    # spent if failures are counted like successes, so at least 6 of the 16 are failures.
    p = _cache(tmp_path, fail_every=4)
    data = load_kt_cache(p)
    assert data.n_valid == 10
    idx = run_strategy(p, strategy, 16, seed=3, data=data)
    assert len(idx) == len(set(idx)) == 16
    assert int((~data.valid[idx]).sum()) >= 6


def test_budget_beyond_the_space_evaluates_each_member_once(tmp_path):
    missing = {(16, 8), (512, 1), (48, 3)}
    p = _cache(tmp_path, fail_every=3, missing=missing)
    data = load_kt_cache(p)
    assert len(data) == 37
    idx = run_strategy(p, "random_sample", 100, seed=0, data=data,
                       options={"fraction": 1.0})
    assert sorted(idx) == list(range(37))        # every cache member, nothing outside it


def test_seeded_runs_repeat_and_differ(tmp_path):
    p = _cache(tmp_path, fail_every=5)
    data = load_kt_cache(p)
    a = run_strategy(p, "genetic_algorithm", 12, seed=1, data=data)
    assert a == run_strategy(p, "genetic_algorithm", 12, seed=1, data=data)
    assert a != run_strategy(p, "genetic_algorithm", 12, seed=2, data=data)


def test_every_benchmark_strategy_stays_within_budget(tmp_path):
    p = _cache(tmp_path, fail_every=2)
    data = load_kt_cache(p)
    for s in STRATEGIES:
        idx = run_strategy(p, s, 9, seed=0, data=data)
        assert 1 <= len(idx) <= 9 and len(set(idx)) == len(idx)
        assert np.all(np.asarray(idx) < len(data))
