"""One setting per kind of layer: grouping spaces by kernel size, one search per kind, the
pooled held-out comparison and a settings file from which `tune` and `replay` pick the
workload's setting."""
import json
from pathlib import Path

import numpy as np
import pytest

from ml2tuner import cli
from ml2tuner.errors import UserError
from ml2tuner.hparams import load_settings, save_settings
from ml2tuner.hpo import evaluate as ev
from ml2tuner.hpo.kinds import group_by_kind, hpo_per_kind, space_kind, workload_kind
from ml2tuner.hpo.stats import bootstrap_improvement
from ml2tuner.testing import write_kt_cache
from ml2tuner.tuners import TUNERS

ROOT = Path(__file__).resolve().parents[1]
ZCU = ROOT / "traces" / "vta-zcu102"
C2, C3, C4, C7, C10 = (str(ZCU / f"resnet18.C{i}.jsonl.gz") for i in (2, 3, 4, 7, 10))
TABLE = TUNERS["ml2tuner"].HYPERPARAMETERS
# the best batch size differs by kind, so that one setting for both kinds cannot be best
BEST_BATCH = {"1x1": 30, "KxK": 4}


@pytest.fixture
def kind_runs(monkeypatch):
    kinds = {}

    def fake(path, tuner, hp, seed, budget, n_points=20, stop_at_cutoff=False, objective=None):
        k = kinds.setdefault(path, space_kind(path))
        noise = np.random.default_rng(seed).normal(0, 0.05)
        s = 0.6 - 0.01 * abs(hp["batch_size"] - BEST_BATCH[k]) + noise
        return {"score": s, "score_time": s}
    monkeypatch.setattr(ev, "run_one", fake)


def test_kinds_of_layers_come_from_the_trace_headers(tmp_path):
    assert [space_kind(p) for p in (C2, C3, C4, C7, C10)] == ["KxK", "KxK", "1x1", "1x1",
                                                                "1x1"]
    assert workload_kind("resnet18.C4") == "1x1" and workload_kind("resnet18.C9") == "KxK"
    assert workload_kind("dense:N=1,IC=64,OC=64") == "1x1"
    cache = write_kt_cache(tmp_path / "k.json", {"a": [1, 2]}, lambda c: float(c["a"]))
    assert space_kind(cache) is None
    assert group_by_kind([C2, C4], [C3, C10]) == {"1x1": ([C4], [C10]), "KxK": ([C2], [C3])}
    with pytest.raises(UserError, match="Kernel Tuner cache has no kind"):
        group_by_kind([C2, str(cache)], [C3])
    with pytest.raises(UserError, match="no 1x1 training layer"):
        group_by_kind([C2], [C3, C10])
    with pytest.raises(UserError, match="no held-out 1x1 layer"):
        group_by_kind([C2, C4], [C3])


def test_one_search_per_kind_pools_the_held_out_runs(kind_runs, tmp_path):
    d = hpo_per_kind("ml2tuner", [C2, C4], [C3, C7, C10], out_dir=tmp_path, meta="smac",
                     evals=12, repeats=2, budget=20, names=["batch_size"], progress=False,
                     validate_repeats=10, test_repeats=10)
    k1, kk = d["kinds"]["1x1"], d["kinds"]["KxK"]
    assert k1["train"] == [C4] and k1["test"] == [C7, C10]
    assert kk["train"] == [C2] and kk["test"] == [C3]
    # each kind's search moved its batch size towards that kind's best
    for k, s in d["kinds"].items():
        assert s["kept"]
        assert abs(s["final_hparams"]["batch_size"] - BEST_BATCH[k]) < abs(10 - BEST_BATCH[k])
    # the pooled comparison is the bootstrap of both kinds' held-out runs together
    new = np.array(k1["test_runs"]["final"]["time"] + kk["test_runs"]["final"]["time"])
    old = np.array(k1["test_runs"]["defaults"]["time"] + kk["test_runs"]["defaults"]["time"])
    assert new.shape == (3, 10)
    assert (d["pooled_spaces"], d["pooled_repeats"]) == (3, 10)
    assert d["pooled_vs_defaults"]["time"] == bootstrap_improvement(new, old, seed=0)
    assert d["pooled_vs_defaults"]["time"]["pct_ci"][0] > 0
    # one settings file with both kinds' settings; each kind's results in its own folder
    assert (tmp_path / "1x1" / "hpo.json").is_file() and (tmp_path / "KxK" / "hpo.csv").is_file()
    for k, s in d["kinds"].items():
        hp = load_settings(tmp_path / "settings.json", "ml2tuner", TABLE, kernel=k)
        assert hp["batch_size"] == s["final_hparams"]["batch_size"]
        assert set(hp) == set(TABLE)


def test_a_per_kind_settings_file_needs_the_kind_of_layer(tmp_path):
    f = tmp_path / "s.json"
    save_settings(f, "ml2tuner", {}, by_kernel={"1x1": {"batch_size": 30},
                                                "KxK": {"batch_size": 4}})
    assert load_settings(f, "ml2tuner", TABLE, kernel="KxK") == {"batch_size": 4}
    with pytest.raises(UserError, match="one setting per kind of layer"):
        load_settings(f, "ml2tuner", TABLE)
    save_settings(f, "ml2tuner", {}, by_kernel={"KxK": {"batch_size": 4}})
    with pytest.raises(UserError, match="no setting for 1x1 layers"):
        load_settings(f, "ml2tuner", TABLE, kernel="1x1")
    save_settings(f, "ml2tuner", {}, by_kernel={"KxK": {"batch_size": 999}})
    with pytest.raises(UserError, match="batch_size"):
        load_settings(f, "ml2tuner", TABLE, kernel="KxK")
    save_settings(f, "ml2tuner", {}, by_kernel=["KxK"])
    with pytest.raises(UserError, match="must map kinds of layer"):
        load_settings(f, "ml2tuner", TABLE, kernel="KxK")


def test_tune_and_replay_pick_the_workloads_setting(tmp_path, capsys):
    f = tmp_path / "s.json"
    save_settings(f, "ml2tuner", {}, by_kernel={"1x1": {"batch_size": 7, "n_init": 3},
                                                "KxK": {"batch_size": 5, "n_init": 3}})
    for wl, batch in (("resnet18.C4", 7), ("resnet18.C9", 5)):
        trace = tmp_path / f"{wl}.jsonl"
        assert cli.main(["tune", "--workload", wl, "--trials", "12", "--hp-file", str(f),
                         "--trace", str(trace), "--quiet", "--json"]) == 0
        header = json.loads(trace.read_text().splitlines()[0])
        assert header["hparams"]["batch_size"] == batch
    capsys.readouterr()
    assert cli.main(["replay", "--cache", C4, "--budget", "12", "--repeats", "1",
                     "--hp-file", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hparams"]["batch_size"] == 7
    cache = write_kt_cache(tmp_path / "k.json", {"a": list(range(8))}, lambda c: 1.0 + c["a"])
    assert cli.main(["replay", "--cache", str(cache), "--budget", "4", "--repeats", "1",
                     "--hp-file", str(f)]) == 2
    assert "one setting per kind of layer" in capsys.readouterr().err


def test_cli_hpo_per_kind(kind_runs, tmp_path, capsys):
    out = tmp_path / "res"
    rc = cli.main(["hpo", "--per-kind", "--train", C2, C4, "--test", C3, C10, "--evals", "6",
                   "--repeats", "1", "--budget", "20", "--params", "batch_size",
                   "--validate-repeats", "4", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "[1x1 layers] train 1 spaces, test 1 spaces" in text
    assert "[KxK layers]" in text
    assert "pooled held-out (2 spaces x 4 seeds), one setting per kind vs defaults" in text
    assert (out / "settings.json").is_file()
    s = json.loads((out / "settings.json").read_text())
    assert set(s["by_kernel"]) == {"1x1", "KxK"} and set(s["tuned"]) == {"1x1", "KxK"}
    rc = cli.main(["hpo", "--per-kind", "--train", C2, "--test", C3, C10, "--evals", "2",
                   "--out", str(tmp_path / "r2")])
    assert rc == 2 and "no 1x1 training layer" in capsys.readouterr().err
