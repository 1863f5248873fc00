"""HPO: evaluating a setting (serial, joblib, Dask), meta-strategies, meta-check, CLI."""
import csv
import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.errors import UserError
from ml2tuner.hparams import HP
from ml2tuner.hpo.evaluate import evaluate_setting, map_tasks, run_one, run_seed
from ml2tuner.hpo.meta import STRATEGIES, hpo_table, run_meta
from ml2tuner.hpo.meta_check import check_grid, evals_to_best, nearest_member
from ml2tuner.kt_cache import ExhaustiveData
from ml2tuner.space import Space

ROOT = Path(__file__).resolve().parents[1]
C10 = str(ROOT / "traces" / "vta-zcu102" / "resnet18.C10.jsonl.gz")
C11 = str(ROOT / "traces" / "vta-zcu102" / "resnet18.C11.jsonl.gz")
SPACES = [C10, C11]
FAST = {"sa_iters": 100, "batch_size": 8}          # keeps each run well under a second

# fields of a run that do not depend on wall time
DET = ("score", "curve", "best_found", "n_invalid", "n_measured", "sim_seconds", "horizon")


def _det(res: dict) -> dict:
    return {"score": res["score"], "score_std": res["score_std"],
            "n_invalid_mean": res["n_invalid_mean"], "sim_seconds_total": res["sim_seconds_total"],
            "per_space": [(s["scores"], s["best_found_mean"], s["n_invalid_mean"])
                          for s in res["per_space"]]}


@pytest.fixture(scope="module")
def serial():
    return evaluate_setting("ml2tuner", FAST, SPACES, repeats=2, budget=30, seed=7)


# ----- evaluate_setting -----------------------------------------------------------------------
def test_evaluate_is_deterministic_and_complete(serial):
    again = evaluate_setting("ml2tuner", FAST, SPACES, repeats=2, budget=30, seed=7)
    assert _det(again) == _det(serial)
    assert len(serial["per_space"]) == 2 and all(len(s["scores"]) == 2
                                                 for s in serial["per_space"])
    for key in ("score", "score_std", "best_over_optimum_mean", "n_invalid_mean"):
        assert np.isfinite(serial[key])
    for s in serial["per_space"]:
        assert s["best_found_mean"] >= s["optimum"] > 0
        assert s["horizon"] <= 30
    other = evaluate_setting("ml2tuner", FAST, SPACES, repeats=2, budget=30, seed=8)
    assert _det(other) != _det(serial)


def test_evaluate_parallel_equals_serial(serial):
    par = evaluate_setting("ml2tuner", FAST, SPACES, repeats=2, budget=30, seed=7, n_jobs=2)
    assert _det(par) == _det(serial)


def test_seed_depends_on_position_not_order():
    assert run_seed(7, 0, 1) == run_seed(7, 0, 1)
    assert len({run_seed(7, s, r) for s in range(3) for r in range(3)}) == 9


def test_stop_at_cutoff_keeps_the_score():
    full = evaluate_setting("random", {}, [C11], repeats=3, budget=200, seed=1)
    cut = evaluate_setting("random", {}, [C11], repeats=3, budget=200, seed=1,
                           stop_at_cutoff=True)
    assert cut["score"] == full["score"]
    assert cut["per_space"][0]["n_measured_mean"] == cut["per_space"][0]["horizon"] < 200


@pytest.mark.parametrize("kw, msg", [
    (dict(tuner_name="nope"), "unknown tuner"),
    (dict(repeats=0), "repeats"),
    (dict(budget=-1), "budget"),
    (dict(spaces=["/no/such/file.json.gz"]), "not found"),
    (dict(spaces=[]), "no space"),
    (dict(hparams={"bogus": 1}), "unknown hyperparameter"),
    (dict(hparams={"batch_size": 0}), "outside"),
    (dict(n_jobs=0), "jobs"),
])
def test_evaluate_bad_input(kw, msg):
    args = dict(tuner_name="ml2tuner", hparams={}, spaces=[C10], repeats=1, budget=10, seed=0)
    args.update(kw)
    with pytest.raises(UserError, match=msg):
        evaluate_setting(**args)


# ----- Dask ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    yield cluster
    from ml2tuner.hpo import evaluate as ev
    client = ev._CLIENTS.pop(cluster.scheduler_address, None)
    if client is not None:
        client.close()
    cluster.close()


def test_dask_cluster_equals_serial(serial, dask_cluster):
    res = evaluate_setting("ml2tuner", FAST, SPACES, repeats=2, budget=30, seed=7,
                           dask_scheduler=dask_cluster.scheduler_address)
    assert _det(res) == _det(serial)


def _dies_once(marker_dir, victim, task_no, *task):
    """Runs task `task_no`; the first attempt of task `victim` kills its worker process."""
    d = Path(marker_dir)
    with open(d / "attempts.log", "a") as f:
        f.write(f"{task_no}\n")
    if task_no == victim:
        try:
            fd = os.open(d / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os._exit(1)                 # the worker process dies mid-run
    return run_one(*task)


def test_dask_worker_death_loses_and_duplicates_nothing(dask_cluster, tmp_path):
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # workers can't import tests
    tasks = [(C10 if i % 2 else C11, "ml2tuner", dict(FAST), 100 + i, 25) for i in range(4)]
    want = [run_one(*t) for t in tasks]
    got = map_tasks(_dies_once, [(str(tmp_path), 1, i, *t) for i, t in enumerate(tasks)],
                    dask_scheduler=dask_cluster.scheduler_address)
    assert (tmp_path / "killed").exists()
    attempts = (tmp_path / "attempts.log").read_text().split()
    assert attempts.count("1") == 2                     # the victim ran twice ...
    assert len(got) == len(tasks)                       # ... and gave one result
    for g, w in zip(got, want):
        assert {k: g[k] for k in DET} == {k: w[k] for k in DET}


# ----- meta-strategies -------------------------------------------------------------------------
TOY = {"x": HP(0.5, -5.0, 5.0), "n": HP(3, 1, 20), "lr": HP(0.1, 1e-3, 1.0, log=True),
       "c": HP("a", choices=("a", "b", "c")), "o": HP(2, choices=(1, 2, 4, 8)),
       "flag": HP(True, choices=(True, False))}
TOY_DEFAULT = {k: hp.default for k, hp in TOY.items()}


def toy(h):
    return (-(h["x"] - 2) ** 2 - (h["n"] - 12) ** 2 / 10 - abs(math.log10(h["lr"]) + 2)
            + (h["c"] == "c") + (h["o"] == 8) - h["flag"])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_meta_strategy_counts_validates_and_improves(strategy):
    calls = []

    def obj(h):
        calls.append(h)
        return toy(h)
    hist = run_meta(strategy, TOY, obj, evals=30, seed=3, x0=TOY_DEFAULT)
    assert len(hist) == len(calls) == 30                # exact count, no repeat evaluated
    assert hist[0][0] == TOY_DEFAULT
    keys = [tuple(h.values()) for h, _ in hist]
    assert len(set(keys)) == 30
    for h, _ in hist:
        for k, hp in TOY.items():
            assert hp.check(k, h[k]) == h[k]            # inside the table's ranges/choices
        assert isinstance(h["n"], int)
    assert max(s for _, s in hist) > toy(TOY_DEFAULT)
    assert run_meta(strategy, TOY, toy, evals=30, seed=3, x0=TOY_DEFAULT) == hist


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_meta_strategy_stops_on_an_exhausted_grid(strategy):
    grid = {"a": HP(1, choices=(1, 2, 3)), "b": HP("x", choices=("x", "y"))}
    hist = run_meta(strategy, grid, lambda h: h["a"], evals=50, seed=0)
    assert len(hist) == 6


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_meta_strategy_stops_at_target(strategy):
    grid = {"a": HP(1, choices=tuple(range(10))), "b": HP(0, choices=(0, 1))}
    hist = run_meta(strategy, grid, lambda h: h["a"] + h["b"], evals=20, seed=1, target=10)
    assert hist[-1][1] == 10 and all(s < 10 for _, s in hist[:-1])


def test_meta_bad_input():
    with pytest.raises(UserError, match="meta-strategy"):
        run_meta("hill_climb", TOY, toy, 5)
    with pytest.raises(UserError, match="evals"):
        run_meta("random", TOY, toy, 0)
    with pytest.raises(UserError, match="unknown hyperparameter"):
        hpo_table("ml2tuner", ["batch_size", "nope"])
    with pytest.raises(UserError, match="no hyperparameters"):
        hpo_table("grid")
    assert "batch_size" in hpo_table("ml2tuner") and "v_eta" not in hpo_table("ml2tuner")


# ----- meta-check --------------------------------------------------------------------------------
def _toy_grid():
    """A restricted 3x3 grid (two corners missing) of higher-is-better scores."""
    sp = Space([("a", (1, 2, 3)), ("b", (10, 20, 30))], members=[1, 2, 3, 4, 5, 6, 7])
    score = np.arange(len(sp), dtype=float)
    return ExhaustiveData(sp, -score, ["ok"] * len(sp), np.ones(len(sp)),
                          meta={"maximize": True, "objective": "score"})


def test_nearest_member_and_evals_to_best():
    data = _toy_grid()
    sp = data.space
    assert nearest_member(sp, {"a": 1, "b": 10}) == sp.config_to_index({"a": 1, "b": 20})
    assert nearest_member(sp, {"a": 2, "b": 20}) == sp.config_to_index({"a": 2, "b": 20})
    for s in STRATEGIES:
        n = evals_to_best(data, s, seed=0)
        assert n is not None and 1 <= n <= len(sp)
        assert evals_to_best(data, s, seed=0, cap=1) in (None, 1)


def test_meta_check_on_real_grid(shared_data):
    rows = check_grid(shared_data / "kerneltuner" / "hyperparameters"
                      / "bruteforce_dual_annealing.json.gz", seeds=range(3))
    assert [r["strategy"] for r in rows] == list(STRATEGIES)
    for r in rows:
        assert r["size"] == 8 and r["reached"] == 3 and 1 <= r["max"] <= 8


# ----- HPO loop and CLI ----------------------------------------------------------------------
def _cli(argv, capsys, monkeypatch):
    from ml2tuner.cli import main
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_replay_json(capsys, monkeypatch):
    rc, out, _ = _cli(["replay", "--cache", C11, "--tuner", "ml2tuner", "--budget", "20",
                       "--repeats", "2", "--seed", "1", "--hp", "sa_iters=100", "--json"],
                      capsys, monkeypatch)
    assert rc == 0
    d = json.loads(out)
    for k in ("score", "score_std", "best_found_mean", "optimum", "n_invalid_mean",
              "sim_seconds_total", "wall_seconds"):
        assert k in d
    assert d["best_found_mean"] >= d["optimum"]


def test_cli_hpo_json_and_files(capsys, monkeypatch, tmp_path):
    out_dir = tmp_path / "hpo"
    rc, out, _ = _cli(["hpo", "--train", C10, "--test", C11, "--meta", "random", "--evals", "3",
                       "--repeats", "1", "--budget", "20", "--params", "batch_size,epsilon",
                       "--validate-repeats", "2", "--out", str(out_dir), "--json"],
                      capsys, monkeypatch)
    assert rc == 0
    d = json.loads(out)
    assert set(d["incumbent_hparams"]) == set(d["final_hparams"]) == {"batch_size", "epsilon"}
    assert d["search_runs"] == 3 and d["validate_repeats"] == d["test_repeats"] == 2
    rows = list(csv.DictReader((out_dir / "hpo.csv").read_text().splitlines()))
    assert len(rows) == 3 and rows[0]["batch_size"] == "10"
    assert json.loads((out_dir / "hpo.json").read_text())["run_budget"] == 3
    assert (out_dir / "hpo.png").stat().st_size > 0
    settings = json.loads((out_dir / "settings.json").read_text())
    assert settings["tuned"] == d["kept"]
    assert settings["hparams"]["batch_size"] == d["final_hparams"]["batch_size"]


@pytest.mark.parametrize("argv, msg", [
    (["replay", "--cache", "/no/such.json.gz"], "not found"),
    (["replay", "--cache", C10, "--hp", "nope=1"], "unknown hyperparameter"),
    (["replay", "--cache", C10, "--repeats", "0"], "repeats"),
    (["hpo", "--train", C10, "--test", C11, "--evals", "0"], "evals"),
    (["hpo", "--train", C10, "--test", C11, "--evals", "2", "--params", "nope"],
     "unknown hyperparameter"),
])
def test_cli_bad_input_exits_2(argv, msg, capsys, monkeypatch, tmp_path):
    rc, _, err = _cli(argv + (["--out", str(tmp_path)] if argv[0] == "hpo" else []),
                      capsys, monkeypatch)
    assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1
