"""The TVM-like baseline: AutoTVM's XGBTuner as in TVM 0.13-0.19 (python/tvm/autotvm/tuner/
xgboost_tuner.py, xgboost_cost_model.py, sa_model_optimizer.py, model_based_tuner.py).

Random samples until the first plan of `plan_size`; then after every `plan_size` new samples the
XGBoost model is refit on all of them (failures as 0 GFLOPS, labels normalised by their max) and
simulated annealing proposes the next plan; plan entries the model scores below 0 are dropped
(the plan is refilled at random), and the last 5 % of each plan are uniform random unvisited
configurations. Boosting runs up to 8000 rounds with early stopping (patience 20) on the average
recall curve at plan_size of the training set, evaluated every 2nd round. SA accepts on raw
model scores. Features: `itervar` (AutoTVM's default, compile-time loop/buffer features; each
costs a compile, charged to the clock) or `knob` (the knob values; tuner `xgb-knob`).
"""
from __future__ import annotations

import numpy as np
import xgboost as xgb

from ..explore import SimulatedAnnealing
from ..hparams import HP
from .base import Tuner
from .features import ItervarFeatures


def recall_curve_score(pred: np.ndarray, y: np.ndarray, n: int) -> float:
    """AutoTVM's average recall@1..n: the share of the predicted top-i that are in the true
    top-i, averaged over i."""
    n = min(n, len(y))
    if n == 0:
        return 0.0
    true_rank = np.empty(len(y), dtype=np.int64)
    true_rank[np.argsort(-y, kind="stable")] = np.arange(len(y))
    ranks = true_rank[np.argsort(-pred, kind="stable")][:n]
    hits = np.array([(ranks[:i + 1] <= i).sum() / (i + 1) for i in range(n)])
    return float(hits.mean())


class _RecallEarlyStop(xgb.callback.TrainingCallback):
    """AutoTVM's custom early stopping: average recall@n on the training set, evaluated every
    `every` rounds; stop when `patience` rounds passed without a better score."""

    def __init__(self, dtrain, y, n, patience, every=2):
        self.dtrain, self.y, self.n = dtrain, y, n
        self.patience, self.every = patience, every
        self.best, self.best_round = -np.inf, 0

    def after_iteration(self, model, epoch, evals_log) -> bool:
        if epoch % self.every:
            return False
        pred = model.predict(self.dtrain, iteration_range=(0, epoch + 1))
        score = recall_curve_score(pred, self.y, self.n)
        if score > self.best:
            self.best, self.best_round = score, epoch
        return epoch - self.best_round >= self.patience


class XGBTuner(Tuner):
    name = "xgb"
    HYPERPARAMETERS = {
        "feature_type": HP("itervar", choices=("itervar", "knob"),
                           doc="itervar: compile-time loop/buffer features (each costs a "
                               "compile); knob: the knob values"),
        "plan_size": HP(64, 4, 512, doc="samples per plan; refit after each plan"),
        "epsilon": HP(0.05, 0.0, 0.5, doc="share of each plan picked uniformly at random"),
        "max_depth": HP(3, 1, 12), "eta": HP(0.3, 0.01, 1.0, log=True),
        "gamma": HP(1e-4, 0.0, 1.0), "min_child_weight": HP(1.0, 0.0, 10.0),
        "max_rounds": HP(8000, 10, 8000), "early_stopping": HP(20, 1, 200),
        "sa_iters": HP(500, 20, 2000), "sa_walkers": HP(128, 8, 512),
        "sa_early_stop": HP(50, 5, 500),
    }

    def __init__(self, space, seed=0, **hparams):
        super().__init__(space, seed, **hparams)
        hp = self.hp
        self.sa = SimulatedAnnealing(space, self.rng, n_iter=hp["sa_iters"],
                                     parallel_size=hp["sa_walkers"], early_stop=hp["sa_early_stop"],
                                     scale_scores=False)
        self._itervar = ItervarFeatures(space) if hp["feature_type"] == "itervar" else None
        self.trials: list[int] = []
        self.trial_pt = 0
        self.train_ct = 0
        self.booster = None

    def next_batch(self, n: int) -> list[int]:
        out = []
        n_random_tail = int(self.hp["epsilon"] * self.hp["plan_size"])
        while len(out) < n and len(self.visited) + len(out) < len(self.space):
            while self.trial_pt < len(self.trials) - n_random_tail:
                i = self.trials[self.trial_pt]
                self.trial_pt += 1
                if i not in self.visited and i not in out:
                    out.append(i)
                    break
            else:
                pick = self.space.sample(self.rng, 1, exclude=self.visited | set(out))
                if not len(pick):
                    break
                out.append(int(pick[0]))
                self.trial_pt += 1
        return out

    def update(self, results) -> None:
        hp = self.hp
        if len(self.results) < hp["plan_size"] * (self.train_ct + 1):
            return
        gflops = np.array([(1.0 / r.cost) if r.valid else 0.0 for r in self.results])
        if gflops.max() <= 1e-12:
            return
        X = self.features([r.index for r in self.results])
        y = gflops / gflops.max()
        self.booster = self._fit(X, y)

        def score(idx):
            return self.booster.predict(xgb.DMatrix(self.features(idx).astype(np.float32),
                                                    nthread=1))

        plan = self.sa.find_maximums(score, hp["plan_size"], self.visited)
        keep = score(np.array(plan, dtype=np.int64)) >= 0 if plan else []
        self.trials = [i for i, k in zip(plan, keep) if k]
        self.trial_pt = 0
        self.train_ct += 1

    def features(self, idx) -> np.ndarray:
        if self._itervar is None:
            return self.space.features(idx)
        return self._itervar(self.measurer, idx)

    def _fit(self, X, y):
        hp = self.hp
        params = {"max_depth": hp["max_depth"], "eta": hp["eta"], "gamma": hp["gamma"],
                  "min_child_weight": hp["min_child_weight"], "subsample": 1.0, "lambda": 1.0,
                  "alpha": 0.0, "objective": "reg:squarederror", "nthread": 1,
                  "seed": self.seed, "verbosity": 0, "disable_default_eval_metric": 1}
        dtrain = xgb.DMatrix(X.astype(np.float32), label=y, nthread=1)
        stop = _RecallEarlyStop(dtrain, y, hp["plan_size"], hp["early_stopping"])
        return xgb.train(params, dtrain, num_boost_round=hp["max_rounds"], callbacks=[stop],
                         verbose_eval=False)


class XGBKnobTuner(XGBTuner):
    """The same tuner on knob-value features (AutoTVM's `feature_type="knob"`)."""
    name = "xgb-knob"
    HYPERPARAMETERS = {**XGBTuner.HYPERPARAMETERS,
                       "feature_type": HP("knob", choices=("itervar", "knob"),
                                          doc=XGBTuner.HYPERPARAMETERS["feature_type"].doc)}
