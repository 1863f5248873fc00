"""Uncertainty for Model P and acquisition functions over it.

`PerformanceEnsemble` fits K copies of Model P on bootstrap resamples of the valid results (each
with its own seed); the spread of their log-cost predictions is the uncertainty that a single
boosted model lacks. With few samples a single model is confidently wrong far from the data, and
ranking by its mean alone keeps re-sampling one basin: the spread tells where it has not looked.

Acquisitions score log cost (lower is better) and return "higher is better" scores:
- `mean`: -mu (pure exploitation, the original ML2Tuner ranking);
- `lcb`: -(mu - kappa * sigma);
- `ei`: expected improvement below the best log cost found, exp-free closed form.
Each is multiplied by Model V's probability of validity where one is given (constrained
expected improvement, Gardner et al., ICML 2014), so that likely failures are pushed down
rather than cut off by a hard threshold.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from .surrogates import PerformanceModel

ACQUISITIONS = ("mean", "lcb", "ei")


class PerformanceEnsemble:
    """K bootstrap copies of Model P. `predict` returns (mean, std) of the log cost."""

    def __init__(self, k: int, seed: int, **model_params):
        self.k = int(k)
        self.seed = int(seed)
        self.model_params = model_params
        self.models: list[PerformanceModel] = []

    def fit(self, X, y) -> "PerformanceEnsemble":
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        rng = np.random.default_rng(self.seed)
        self.models = []
        for j in range(self.k):
            # the first member sees every sample: with k=1 this is plain Model P
            rows = np.arange(len(y)) if j == 0 else rng.integers(0, len(y), size=len(y))
            m = PerformanceModel(random_state=self.seed + j, **self.model_params)
            self.models.append(m.fit(X[rows], y[rows]))
        return self

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        p = np.stack([m.predict_log(X) for m in self.models])
        return p.mean(axis=0), p.std(axis=0)


def acquisition(kind: str, mu: np.ndarray, sigma: np.ndarray, best: float, kappa: float = 1.0,
                p_valid: np.ndarray | None = None) -> np.ndarray:
    """Higher is better. mu, sigma: predicted log cost and its spread; best: lowest log cost
    found so far."""
    if kind == "mean":
        score = -mu
    elif kind == "lcb":
        score = -(mu - kappa * sigma)
    elif kind == "ei":
        s = np.maximum(sigma, 1e-9)
        z = (best - mu) / s
        score = (best - mu) * norm.cdf(z) + s * norm.pdf(z)
    else:
        raise ValueError(f"unknown acquisition {kind!r}; choose from {ACQUISITIONS}")
    if p_valid is None:
        return score
    if kind == "ei":
        return score * p_valid
    # mean/lcb may be negative: penalise likely failures by shifting below every valid score
    span = float(np.ptp(score)) if score.size else 0.0
    return score - (1.0 - p_valid) * (span + 1.0)


__all__ = ["ACQUISITIONS", "PerformanceEnsemble", "acquisition"]
