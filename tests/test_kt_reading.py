"""Reading Kernel Tuner caches as Kernel Tuner does: the default objective, older failure
records, and `--objective` on `replay` / `hpo`."""
import json

import numpy as np
import pytest

from ml2tuner.kt_cache import load_kt_cache
from ml2tuner.measure import Status


def _cache(values, objective="time", extra=None):
    """A 2x3 cache; values[i] is the objective of configuration i (row-major bx, tile)."""
    cache = {}
    for n, (bx, t) in enumerate((bx, t) for bx in (32, 64) for t in (1, 2, 3)):
        e = {"bx": bx, "tile": t, "time": values[n], "compile_time": 1.0,
             "verification_time": 0.0, "benchmark_time": 10.0}
        e.update((extra or {}).get(n, {}))
        cache[f"{bx},{t}"] = e
    d = {"device_name": "G", "kernel_name": "k", "problem_size": [4],
         "tune_params_keys": ["bx", "tile"], "tune_params": {"bx": [32, 64], "tile": [1, 2, 3]},
         "cache": cache}
    if objective is not None:
        d["objective"] = objective
    return d


def test_missing_objective_reads_time_and_says_so_once(tmp_path, capsys):
    p = tmp_path / "old.json"
    p.write_text(json.dumps(_cache([3.0, 2.0, 1.0, 4.0, 5.0, 6.0], objective=None)))
    d = load_kt_cache(p)
    err = capsys.readouterr().err
    assert d.meta["objective"] == "time" and d.meta["maximize"] is False
    assert d.optimum == pytest.approx(1.0e-3)           # milliseconds, as for `time`
    assert len(err.strip().splitlines()) == 1 and "'time'" in err and "old.json" in err
    # an explicit objective is taken as given, silently
    load_kt_cache(p, objective="time")
    assert capsys.readouterr().err == ""


def test_old_failure_records_1e20_and_strings(tmp_path):
    # 1e20: Kernel Tuner's failure value before its error classes; strings: the error names,
    # plus one the reader does not know
    vals = [2.0, 1e20, "CompilationFailedConfig", "RuntimeFailedConfig", "InvalidConfig",
            "some error text"]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(_cache(vals)))
    d = load_kt_cache(p)
    assert list(d.status) == [Status.OK.value, Status.RUNTIME_ERROR.value,
                              Status.COMPILE_ERROR.value, Status.RUNTIME_ERROR.value,
                              Status.COMPILE_ERROR.value, Status.RUNTIME_ERROR.value]
    assert d.n_valid == 1 and d.optimum == pytest.approx(2.0e-3)
    assert np.isnan(d.cost[1:]).all()
    assert d.profile_time[1] == pytest.approx(0.011)   # a failure still costs its time


def test_objective_option_selects_the_field(tmp_path):
    gflops = {n: {"GFLOP/s": g} for n, g in enumerate([10.0, 30.0, 20.0, 5.0, 40.0, 1.0])}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(_cache([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], extra=gflops)))
    assert load_kt_cache(p).optimum == pytest.approx(1.0e-3)
    d = load_kt_cache(p, objective="GFLOP/s")
    assert d.meta["maximize"] is True and d.optimum == -40.0


from test_hpo import _cli  # noqa: E402  (the HPO tests' CLI runner)


def test_cli_replay_and_hpo_take_objective(tmp_path, capsys, monkeypatch):
    gflops = {n: {"GFLOP/s": g} for n, g in enumerate([10.0, 30.0, 20.0, 5.0, 40.0, 1.0])}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(_cache([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], extra=gflops)))
    base = ["--tuner", "random", "--budget", "6", "--repeats", "1", "--json"]
    rc, out, _ = _cli(["replay", "--cache", str(p), *base], capsys, monkeypatch)
    assert rc == 0 and json.loads(out)["optimum"] == pytest.approx(1.0e-3)
    rc, out, _ = _cli(["replay", "--cache", str(p), "--objective", "GFLOP/s", *base],
                      capsys, monkeypatch)
    # six of six configurations: random search finds the optimum, -40 GFLOP/s
    assert rc == 0 and json.loads(out)["optimum"] == -40.0
    assert json.loads(out)["best_found_mean"] == -40.0
    scores, hpo_scores = {}, {}
    for obj in ("time", "GFLOP/s"):
        rc, out, _ = _cli(["replay", "--cache", str(p), "--objective", obj, *base[2:],
                           "--tuner", "ga"], capsys, monkeypatch)
        scores[obj] = json.loads(out)["score"]
        rc, out, _ = _cli(["hpo", "--train", str(p), "--test", str(p), "--evals", "1",
                           "--objective", obj, "--out", str(tmp_path / "h"), *base[2:],
                           "--tuner", "ga", "--params", "pop_size"], capsys, monkeypatch)
        assert rc == 0
        hpo_scores[obj] = json.loads(out)["test_scores"]["defaults"]["samples"]
    # the objective reaches both the replayed runs and the HPO loop's runs
    assert scores["time"] != pytest.approx(scores["GFLOP/s"])
    assert hpo_scores["time"] != pytest.approx(hpo_scores["GFLOP/s"])
    rc, _, err = _cli(["replay", "--cache", str(p), "--objective", "energy", *base],
                      capsys, monkeypatch)
    assert rc == 2 and "unknown objective 'energy'" in err and len(err.strip().splitlines()) == 1
