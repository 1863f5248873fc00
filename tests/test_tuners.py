import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.metrics import roc_auc_score

from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.explore import SimulatedAnnealing, exhaustive_top
from ml2tuner.hparams import HP, resolve
from ml2tuner.errors import UserError
from ml2tuner.surrogates import AdvancedModel, PerformanceModel, ValidityModel
from ml2tuner.traces import read_trace
from ml2tuner.tuners import TUNERS, make_tuner
from ml2tuner.tuners.xgb import recall_curve_score


@pytest.fixture(scope="module")
def c5():
    m = AccelMeasurer("vta-1x16", "resnet18.C5")
    return m, m.measure(range(len(m.space)))


def test_surrogates_learn_on_held_out_configs(c5):
    m, res = c5
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(res))
    tr, te = idx[:400], idx[400:]
    X = m.space.features(np.arange(len(res)))
    y = np.array([r.valid for r in res], dtype=int)
    v = ValidityModel(random_state=0).fit(X[tr], y[tr])
    assert roc_auc_score(y[te], v.predict_proba(X[te])[:, 1]) > 0.9
    valid = np.array([r.valid for r in res])
    cost = np.array([r.cost if r.valid else np.nan for r in res])
    trv, tev = tr[valid[tr]], te[valid[te]]
    p = PerformanceModel(random_state=0).fit(X[trv], cost[trv])
    assert kendalltau(p.predict(X[tev]), cost[tev])[0] > 0.5


@pytest.mark.parametrize("layer", ["resnet18.C2", "resnet18.C5"])
def test_model_a_beats_model_p_on_held_out_valid_configs(layer):
    """Hidden features help: mean RMSE(A)/RMSE(P) over 5 splits of 60 training configs."""
    m = AccelMeasurer("vta-1x16", layer)
    valid = [r for r in m.measure(range(len(m.space))) if r.valid]
    names = sorted(valid[0].hidden)
    X = m.space.features([r.index for r in valid])
    XA = np.hstack([X, [[r.hidden[k] for k in names] for r in valid]])
    y = np.log([r.cost for r in valid])
    ratios = []
    for s in range(5):
        idx = np.random.default_rng(s).permutation(len(valid))
        tr, te = idx[:60], idx[60:]
        p = PerformanceModel(random_state=0).fit(X[tr], np.exp(y[tr]))
        a = AdvancedModel(random_state=0).fit(XA[tr], np.exp(y[tr]))
        ratios.append(np.sqrt(np.mean((a.predict_log(XA[te]) - y[te]) ** 2))
                      / np.sqrt(np.mean((p.predict_log(X[te]) - y[te]) ** 2)))
    assert np.mean(ratios) < 0.9


def test_validity_model_one_class_and_threshold():
    v = ValidityModel(threshold=0.7).fit(np.zeros((5, 2)), np.ones(5))
    assert np.all(v.predict_proba(np.zeros((3, 2)))[:, 1] == 1.0)
    assert v.get_params()["threshold"] == 0.7


@pytest.mark.parametrize("name", sorted(TUNERS))
def test_tuner_invariants(name):
    """Never measures twice, never exceeds the budget, same seed gives the same trace."""
    runs = []
    for _ in range(2):
        m = AccelMeasurer("vta-1x16", "resnet18.C9")
        res = make_tuner(name, m.space, seed=7).tune(70, m)
        idx = [r.index for r in res.history]
        assert len(idx) == len(set(idx)) and len(idx) <= 70
        runs.append(idx)
    assert runs[0] == runs[1]
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    other = [r.index for r in make_tuner(name, m.space, seed=8).tune(70, m).history]
    assert name == "grid" or other != runs[0]


def test_ml2tuner_profiles_fewer_invalid_than_random():
    inv = {}
    for name in ("ml2tuner", "random"):
        tot = 0
        for seed in (0, 1):
            m = AccelMeasurer("vta-1x16", "resnet18.C5")
            tot += make_tuner(name, m.space, seed=seed).tune(100, m).n_invalid
        inv[name] = tot
    assert inv["ml2tuner"] < 0.3 * inv["random"]


def test_ml2tuner_uses_all_three_models(c5):
    m, res = c5
    t = make_tuner("ml2tuner", m.space, seed=0)
    out = t.tune(60, AccelMeasurer("vta-1x16", "resnet18.C5"))
    assert all(t.fitted.values())
    assert t.stats["rounds"] > 0 and t.stats["a_rounds"] > 0 and t.stats["compile_dropped"] > 0
    # every configuration dropped by the compile filter really fails to compile
    assert all(res[i].status.value == "compile_error" for i in t.known_invalid)
    best = min(r.cost for r in res if r.valid)
    assert out.best.cost <= 1.05 * best


def test_xgb_tuner_follows_autotvm_plan():
    m = AccelMeasurer("vta-1x16", "resnet18.C5")
    t = make_tuner("xgb", m.space, seed=0, plan_size=20)
    t.tune(19, m)
    assert t.train_ct == 0 and t.booster is None
    t.tune(20, m)
    assert t.train_ct == 1 and len(t.trials) == 20
    plan = list(t.trials)
    t.tune(20 + 19, m)
    # the first 95 % of the plan are the model's picks, the tail is random
    got = [r.index for r in t.results[20:39]]
    assert got == [i for i in plan if i not in set(r.index for r in t.results[:20])][:19]


def test_recall_curve_score_hand_computed():
    y = np.array([4.0, 3.0, 2.0, 1.0])
    assert recall_curve_score(y, y, 4) == 1.0
    # predicted order 1,0,3,2: top-1 miss (0), top-2 both (1), top-3 2/3, top-4 1
    pred = np.array([3.0, 4.0, 1.0, 2.0])
    assert recall_curve_score(pred, y, 4) == pytest.approx((0 + 1 + 2 / 3 + 1) / 4)


def test_explorers_find_model_maximum_and_skip_visited():
    m = AccelMeasurer("vta-1x16", "resnet18.C2")
    target = m.space.value_positions([1234])[0]

    def score(idx):
        return -np.abs(m.space.value_positions(idx) - target).sum(axis=1).astype(float)

    assert exhaustive_top(m.space, score, 3, set())[0] == 1234
    assert 1234 not in exhaustive_top(m.space, score, 3, {1234})
    sa = SimulatedAnnealing(m.space, np.random.default_rng(0), n_iter=300, parallel_size=32)
    top = sa.find_maximums(score, 5, set())
    assert top[0] == 1234
    assert 1234 not in sa.find_maximums(score, 5, {1234})


def test_ml2tuner_round_of_only_random_picks():
    """epsilon = 0.5 with N = 1 often leaves the explorer nothing to propose."""
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    res = make_tuner("ml2tuner", m.space, seed=3, epsilon=0.5, batch_size=1).tune(40, m)
    assert res.n_measured == 40
    sa = SimulatedAnnealing(m.space, np.random.default_rng(0))
    assert sa.find_maximums(lambda i: np.zeros(len(i)), 0, set()) == []


def test_hyperparameter_table_checks():
    table = {"a": HP(1, 0, 5), "b": HP("x", choices=("x", "y"))}
    assert resolve(table, {"a": 3}) == {"a": 3, "b": "x"}
    for bad in ({"a": 9}, {"a": 1.5}, {"b": "z"}, {"c": 1}):
        with pytest.raises(UserError):
            resolve(table, bad)
    for t in TUNERS.values():
        for k, hp in t.HYPERPARAMETERS.items():
            assert hp.check(k, hp.default) == hp.default, (t.name, k)


def test_callbacks_see_each_result_before_the_next_measurement_and_resume():
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    seen = []

    class Guard(AccelMeasurer):
        def measure(self, idx):
            assert len(seen) == len(self.done)
            out = super().measure(idx)
            self.done.extend(out)
            return out

    g = Guard("vta-1x16", "resnet18.C9")
    g.done = []
    t = make_tuner("ml2tuner", g.space, seed=1)
    res = t.tune(30, g, callbacks=[lambda tu, r: seen.append(r.index)])
    assert seen == [r.index for r in res.history]
    # resuming from the first 20 measures only the 10 missing, never one of the first 20
    g2 = Guard("vta-1x16", "resnet18.C9")
    g2.done = []
    seen.clear()
    t2 = make_tuner("ml2tuner", m.space, seed=1)
    res2 = t2.tune(30, g2, resume=res.history[:20],
                   callbacks=[lambda tu, r: seen.append(r.index)])
    assert res2.n_measured == 30 and res2.resumed == 20 and len(g2.done) == 10
    assert not set(r.index for r in g2.done) & set(r.index for r in res.history[:20])


def test_early_stopping():
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    res = make_tuner("random", m.space, seed=0).tune(480, m, early_stopping=20)
    assert res.stopped_early and res.n_measured < 480
    c = res.best_curve()
    assert c[-1] == c[-20]


def _cli(*args):
    return [sys.executable, "-m", "ml2tuner.cli", *args]


def test_cli_tune_json_and_plot(tmp_path):
    trace = tmp_path / "t.jsonl"
    p = subprocess.run(_cli("tune", "--workload", "resnet18.C9", "--trials", "40", "--trace",
                            str(trace), "--quiet", "--json"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert {"best_config", "best_cycles", "best_gflops", "n_measured",
            "n_invalid_measured"} <= set(d)
    assert d["n_measured"] == 40 and len(read_trace(trace).results) == 40
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_cli_killed_run_resumes_without_remeasuring(tmp_path):
    trace = tmp_path / "k.jsonl"
    proc = subprocess.Popen(_cli("tune", "--tuner", "random", "--workload", "resnet18.C2",
                                 "--trials", "2304", "--trace", str(trace), "--quiet"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if trace.exists() and trace.read_text().count("\n") > 60:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_trace(trace).results
    assert 60 <= len(before) < 2304
    p = subprocess.run(_cli("tune", "--tuner", "random", "--workload", "resnet18.C2", "--trials",
                            "2304", "--trace", str(trace), "--resume", "--quiet", "--json"),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    after = read_trace(trace).results
    assert [r.index for r in after[:len(before)]] == [r.index for r in before]
    assert sorted(r.index for r in after) == list(range(2304))
    assert json.loads(p.stdout)["n_resumed"] == len(before)


@pytest.mark.parametrize("args", [["--trials", "0"], ["--tuner", "nope"],
                                  ["--hp", "alpha=99"], ["--hp", "nope=1"]])
def test_cli_tune_bad_input(args):
    p = subprocess.run(_cli("tune", "--workload", "resnet18.C9", "--quiet", *args),
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
