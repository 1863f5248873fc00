"""Surrogate refits: warm-started boosting and the refit cadence of ML2Tuner."""
from pathlib import Path

import numpy as np
import xgboost as xgb

from ml2tuner.kt_cache import load_exhaustive
from ml2tuner.surrogates import PerformanceModel, ValidityModel
from conftest import count_v_fits

ROOT = Path(__file__).resolve().parents[1]
C2 = ROOT / "traces" / "vta-zcu102" / "resnet18.C2.jsonl.gz"


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 8, (n, 5)).astype(float)
    return X, np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1] + rng.normal(0, 0.05, n))


def test_scratch_fit_equals_xgboost_train():
    X, y = _data(80)
    m = PerformanceModel(n_estimators=30, max_depth=3, learning_rate=0.3).fit(X, y)
    params = {"objective": "reg:squarederror", "max_depth": 3, "eta": 0.3,
              "min_child_weight": 1.0, "subsample": 1.0, "lambda": 1.0, "tree_method": "hist",
              "nthread": 1, "seed": 0, "verbosity": 0}
    ref = xgb.train(params, xgb.DMatrix(X.astype(np.float32), label=np.log(y)), 30)
    want = ref.predict(xgb.DMatrix(X.astype(np.float32)))
    assert np.allclose(m.predict_log(X), want, rtol=0, atol=1e-6)


def test_warm_rounds_continue_then_restart():
    X, y = _data(120)
    m = PerformanceModel(n_estimators=20, max_depth=3, warm_rounds=8)
    m.fit(X[:40], y[:40])
    assert m.booster_.num_boosted_rounds() == 20
    m.fit(X[:80], y[:80])                       # continues: 8 new rounds on the grown data
    assert m.booster_.num_boosted_rounds() == 28
    err_warm = np.mean((m.predict_log(X[:80]) - np.log(y[:80])) ** 2)
    cold = PerformanceModel(n_estimators=20, max_depth=3).fit(X[:40], y[:40])
    err_stale = np.mean((cold.predict_log(X[:80]) - np.log(y[:80])) ** 2)
    assert err_warm < err_stale                 # the new rounds learned the new samples
    m.fit(X, y)                                 # 28 + 8 = 36, the next would pass 2 * 20
    assert m.booster_.num_boosted_rounds() == 36
    m.fit(X, y)
    assert m.booster_.num_boosted_rounds() == 20      # started over
    m.fit(X[:, :3], y)                          # other features: never continued
    assert m.booster_.num_boosted_rounds() == 20 and m.n_features_in_ == 3


def test_warm_validity_model_keeps_probabilities():
    X, _ = _data(100)
    lab = (X[:, 0] > 3).astype(float)
    v = ValidityModel(n_estimators=20, warm_rounds=5).fit(X[:50], lab[:50]).fit(X, lab)
    p = v.predict_proba(X)[:, 1]
    assert np.all((p >= 0) & (p <= 1)) and v.booster_.num_boosted_rounds() == 25
    assert np.mean((p >= 0.5) == lab) > 0.95


def test_refit_every_skips_rounds():
    data = load_exhaustive(C2)

    def fits(**hp):
        return count_v_fits(data, 120, seed=1, batch_size=8, **hp)
    every, n_up = fits(refit_every=1)
    third, _ = fits(refit_every=3)
    assert every == n_up                  # one refit per round
    assert third < every / 2              # about a third once V and P exist
