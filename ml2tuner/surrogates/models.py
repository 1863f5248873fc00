"""XGBoost-backed surrogate estimators (scikit-learn API: fit / predict / get_params)."""
from __future__ import annotations

import ctypes

import numpy as np
import xgboost as xgb
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# NaN is XGBoost's native "missing" (a hidden feature the compiler did not report); inf is not
_X_CHECKS = {"ensure_all_finite": "allow-nan", "dtype": np.float64}


def _booster_params(est, objective: str) -> dict:
    return {"objective": objective, "max_depth": int(est.max_depth), "eta": float(est.learning_rate),
            "min_child_weight": float(est.min_child_weight), "subsample": float(est.subsample),
            "lambda": 1.0, "tree_method": "hist", "nthread": int(est.n_jobs),
            "seed": int(est.random_state), "verbosity": 0}


def _boost(booster, d, start: int, rounds: int) -> None:
    """`rounds` boosting rounds from round `start`. `Booster.update` re-checks the DMatrix's
    feature names on every round (a quarter of a small model's training time); after the first
    round has set and checked them, the remaining rounds call XGBoost's one-iteration update
    directly (the same call `update` makes), when the library exposes it."""
    if rounds <= 0:
        return
    booster.update(d, start)
    lib, check = getattr(xgb.core, "_LIB", None), getattr(xgb.core, "_check_call", None)
    if lib is None or check is None or not hasattr(lib, "XGBoosterUpdateOneIter"):
        for i in range(start + 1, start + rounds):
            booster.update(d, i)
        return
    for i in range(start + 1, start + rounds):
        check(lib.XGBoosterUpdateOneIter(booster.handle, ctypes.c_int(i), d.handle))


class _XGBBase(BaseEstimator):
    """warm_rounds > 0: a refit on grown data continues boosting from the previous model with
    this many new rounds instead of starting over (a tuner refits after every few samples, and
    the per-round cost of XGBoost dominates replay); once the model holds 2 * n_estimators
    trees, the next fit starts over, which bounds prediction cost and drift."""

    def __init__(self, n_estimators=100, max_depth=6, learning_rate=0.2, min_child_weight=1.0,
                 subsample=1.0, n_jobs=1, random_state=0, warm_rounds=0):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.warm_rounds = warm_rounds

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check_fit(self, X, y):
        return validate_data(self, X, y, y_numeric=not isinstance(self, ClassifierMixin),
                             **_X_CHECKS)

    def _check_predict(self, X):
        check_is_fitted(self, "n_features_in_")
        return validate_data(self, X, reset=False, **_X_CHECKS)

    def _dmatrix(self, X, y=None, weight=None):
        return xgb.DMatrix(np.asarray(X, dtype=np.float32), label=y, weight=weight, nthread=1)

    def _train(self, params, X, y, weight=None):
        # boosting rounds by hand: `xgb.train` copies the model it continues from and resets
        # the booster's caches after every call, which costs more than the rounds themselves
        # on a tuner's few hundred samples; the rounds are the same
        n_feat = np.asarray(X).shape[1]
        d = self._dmatrix(X, y, weight)
        prev = getattr(self, "booster_", None)
        warm = int(self.warm_rounds)
        if (warm > 0 and prev is not None and prev.num_features() == n_feat
                and prev.num_boosted_rounds() + warm <= 2 * int(self.n_estimators)):
            start, rounds = prev.num_boosted_rounds(), warm
        else:
            self.booster_ = xgb.Booster(params, [d])
            start, rounds = 0, int(self.n_estimators)
        _boost(self.booster_, d, start, rounds)
        self.n_features_in_ = n_feat
        return self

    def _raw(self, X):
        # in-place prediction skips building a DMatrix per call (same trees, same numbers)
        return self.booster_.inplace_predict(np.asarray(X, dtype=np.float32))


class ValidityModel(ClassifierMixin, _XGBBase):
    """Model V. Class 1 = valid. Invalid configurations dominate VTA spaces, so the classes are
    reweighted to balance them. With one class seen so far it predicts that class's rate."""

    def __init__(self, n_estimators=60, max_depth=4, learning_rate=0.3, min_child_weight=1.0,
                 subsample=1.0, n_jobs=1, random_state=0, threshold=0.5, balance=True,
                 warm_rounds=0):
        super().__init__(n_estimators, max_depth, learning_rate, min_child_weight, subsample,
                         n_jobs, random_state, warm_rounds)
        self.threshold = threshold
        self.balance = balance

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        X, y = self._check_fit(X, y)
        check_classification_targets(y)
        labels = np.unique(y)
        if labels.size > 2:
            raise ValueError(f"Only binary classification is supported. y has {labels.size} "
                             "classes")
        # the tuner's labels are 0 (invalid) and 1 (valid), both kept even when only one was
        # seen so far; other labels map in sorted order
        one_tuner_label = labels.size == 1 and np.isin(labels, (0, 1)).all()
        self.classes_ = np.array([0, 1]) if one_tuner_label else labels
        y = (y == self.classes_[-1]).astype(np.float64)
        n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
        if n_pos == 0 or n_neg == 0:
            self.constant_ = 1.0 if n_pos > 0 else 0.0
            self.booster_ = None
            return self
        self.constant_ = None
        w = None
        if self.balance:
            w = np.where(y > 0, 0.5 / n_pos, 0.5 / n_neg) * len(y)
        return self._train(_booster_params(self, "binary:logistic"), X, y, w)

    def predict_proba(self, X):
        """Columns follow `classes_`; the last one is the probability of "valid"."""
        X = self._check_predict(X)
        p = np.full(X.shape[0], self.constant_) if self.booster_ is None else self._raw(X)
        if self.classes_.size == 1:
            return p[:, None]
        return np.column_stack([1 - p, p])

    def predict(self, X):
        p = self.predict_proba(X)[:, -1]
        if self.classes_.size == 1:
            return np.full(p.shape[0], self.classes_[0])
        return self.classes_[(p >= self.threshold).astype(int)]


class PerformanceModel(RegressorMixin, _XGBBase):
    """Model P: regresses log(cost) of valid configurations; `predict` returns cost."""

    def __init__(self, n_estimators=150, max_depth=6, learning_rate=0.2, min_child_weight=1.0,
                 subsample=1.0, n_jobs=1, random_state=0, warm_rounds=0):
        super().__init__(n_estimators, max_depth, learning_rate, min_child_weight, subsample,
                         n_jobs, random_state, warm_rounds)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True     # costs: the model fits log(cost)
        return tags

    def fit(self, X, y):
        X, y = self._check_fit(X, y)
        _check_costs(y)
        return self._train(_booster_params(self, "reg:squarederror"), X, np.log(y))

    def predict_log(self, X) -> np.ndarray:
        return self._raw(self._check_predict(X)).astype(np.float64)

    def predict(self, X):
        return np.exp(self.predict_log(X))

    def score(self, X, y, sample_weight=None):
        """R^2 on log cost (what the model fits)."""
        from sklearn.metrics import r2_score
        return r2_score(np.log(y), self.predict_log(X), sample_weight=sample_weight)


def _check_costs(y):
    if np.any(y <= 0):
        raise ValueError("costs must be positive (train on valid configurations only)")


#: The hidden feature that serves as Model A's offset when present: the compiler's static lower
#: bound on the run time, in seconds. Trees cannot extrapolate a cost to a larger layer or a
#: faster clock than they were trained on; the ratio of the real cost to the bound they can.
OFFSET_FEATURE = "static_bound_s"


def offset_column(feature_names) -> int | None:
    """Column of `OFFSET_FEATURE` among Model A's input features, or None."""
    names = list(feature_names)
    return names.index(OFFSET_FEATURE) if OFFSET_FEATURE in names else None


class AdvancedModel(PerformanceModel):
    """Model A: Model P's regressor, fed visible + hidden compilation features. With
    `offset_col` set, it regresses log(cost) - log(X[:, offset_col]) and adds the offset back
    when predicting (XGBoost's base margin, done by hand so the saved booster stays plain)."""

    def __init__(self, n_estimators=150, max_depth=6, learning_rate=0.2, min_child_weight=1.0,
                 subsample=1.0, n_jobs=1, random_state=0, warm_rounds=0, offset_col=None):
        super().__init__(n_estimators, max_depth, learning_rate, min_child_weight, subsample,
                         n_jobs, random_state, warm_rounds)
        self.offset_col = offset_col

    def _offset(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.offset_col is None:
            return np.zeros(X.shape[0])
        col = X[:, int(self.offset_col)]
        ok = np.isfinite(col) & (col > 0)
        return np.where(ok, np.log(np.where(ok, col, 1.0)), 0.0)

    def fit(self, X, y):
        X, y = self._check_fit(X, y)
        _check_costs(y)
        return self._train(_booster_params(self, "reg:squarederror"), X,
                           np.log(y) - self._offset(X))

    def predict_log(self, X) -> np.ndarray:
        X = self._check_predict(X)
        return self._raw(X).astype(np.float64) + self._offset(X)
