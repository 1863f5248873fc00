"""Start ML2Tuner from what earlier tasks learned.

`warm_start(tuner, bundle, task)` installs the bundle's V, P and A (bound to the tuner's space
and the new task's descriptor) as the tuner's models, so the very first round is model-driven
(explorer over P, V filter, compile filter, A re-rank) instead of random. Each installed model
*blends* the bundle with the tuner's own model as the tuner refits it on its measurements, in
log-cost (P, A) or logit (V) space, with weight n / (n + prior_samples) on the own model (n = the
samples it was fitted on): the bundle counts as `prior_samples` measurements, so it steers the
first rounds and fades as the task's own data grows; nothing is thrown away at a hard switch.

`set_initial_design(tuner, indices)` queues configurations (e.g. the Gaussian-copula prior of
`transfer.gc_initial_design`) to be measured before any random pick.
"""
from __future__ import annotations

import numpy as np

from .surrogates.bundle import Bundle, load_bundle

_EPS = 1e-6


def _logit(p):
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class _Blend:
    """Bundle model + the tuner's own model (which `fit` trains), blended by sample count."""

    def __init__(self, prior, own, prior_samples: float):
        self.prior, self.own, self.prior_samples = prior, own, float(prior_samples)
        self.n_own = 0

    @property
    def weight(self) -> float:
        """Weight of the own model: n / (n + prior_samples)."""
        if self.n_own == 0 or getattr(self.own, "booster_", None) is None:
            return 0.0          # not fitted yet, or V fitted on one class (a constant)
        return self.n_own / (self.n_own + self.prior_samples)

    def fit(self, X, y):
        self.own.fit(X, y)
        self.n_own = len(y)
        return self

    def get_params(self, deep=True):
        return self.own.get_params(deep)

    def set_params(self, **params):
        """The blend's parameters are those of the own model that `fit` trains."""
        self.own.set_params(**params)
        return self


class WarmValidity(_Blend):
    """Model V: logit blend. The bundle's probabilities are first shifted in logit space so
    that its calibrated threshold lands on the tuner's `v_threshold` (ranking unchanged)."""

    def __init__(self, prior, own, prior_samples, prior_threshold, tuner_threshold):
        super().__init__(prior, own, prior_samples)
        self.shift = float(_logit(tuner_threshold) - _logit(prior_threshold))
        self.threshold = tuner_threshold

    def predict_proba(self, X):
        z = _logit(self.prior.predict_proba(X)[:, 1]) + self.shift
        w = self.weight
        if w > 0:
            z = (1 - w) * z + w * _logit(self.own.predict_proba(X)[:, 1])
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)


class WarmRegressor(_Blend):
    """Model P or A: blend of predicted log cost. With `validity` (for P) it returns
    log cost - log P(valid): P learns from valid configurations only and extrapolates "fast" to
    the big tiles that overflow the buffers, so ML2Tuner's explorer, which ranks by P alone,
    otherwise proposes pools that V rejects entirely (then the round falls back to random)."""

    def __init__(self, prior, own, prior_samples, validity=None):
        super().__init__(prior, own, prior_samples)
        self.validity = validity

    def predict_log(self, X):
        z = self.prior.predict_log(X)
        w = self.weight
        z = z if w == 0 else (1 - w) * z + w * self.own.predict_log(X)
        if self.validity is not None:
            z = z - np.log(np.clip(self.validity.predict_proba(X)[:, 1], _EPS, 1.0))
        return z

    def predict(self, X):
        return np.exp(self.predict_log(X))


def warm_start(tuner, model, task=None, prior_samples: float = 50.0):
    """Make `tuner` (an ML2Tuner) use the bundle `model` (directory or `Bundle`) from its first
    round. `task` gives the new task's descriptor: a dict, a measurer (AccelMeasurer, or a
    ReplayMeasurer of an ml2tuner trace) or a trace path. Returns the bound `TaskModels`.

    Sets `tuner.hp["n_init"]` and `n_init_no_compiler` to 0 (the trace header then records it):
    ML2Tuner skips its random initial design once its models count as fitted and n_init
    samples are in.
    """
    from .errors import UserError
    from .data.descriptors import task_descriptor
    if not hasattr(tuner, "use_prior_models"):
        raise UserError(f"--model needs the ml2tuner tuner; {getattr(tuner, 'name', tuner)!r}"
                        " has no V/P/A models")
    b = model if isinstance(model, Bundle) else load_bundle(model)
    tm = b.for_task(tuner.space, task_descriptor(task))
    if len(tm.unknown_knobs) == len(tuner.space.names):
        raise UserError(f"model bundle {b.path} knows none of the knobs of this space "
                        f"({', '.join(tuner.space.names)})")
    v = WarmValidity(tm.v, tuner.v, prior_samples, b.threshold, tuner.hp["v_threshold"])
    p = WarmRegressor(tm.p, tuner.p, prior_samples, validity=v)
    a = WarmRegressor(tm.a, tuner.a, prior_samples) if tm.a is not None else None
    # A's columns follow the bundle's hidden-feature order
    tuner.use_prior_models(v, p, a, hidden_names=b.hidden_names if a is not None else None)
    tuner.warm_start = {"model": str(b.path), "prior_samples": prior_samples,
                        "unknown_knobs": tm.unknown_knobs,
                        "missing_descriptors": tm.missing_descriptors}
    return tm


def set_initial_design(tuner, indices) -> None:
    """Measure `indices` (best first) before any random pick of the tuner (ML2Tuner's
    `queue_initial_design`: the hook for a transfer prior)."""
    from .errors import UserError
    if not hasattr(tuner, "queue_initial_design"):
        raise UserError(f"an initial design needs the ml2tuner tuner, not "
                        f"{getattr(tuner, 'name', tuner)!r}")
    tuner.queue_initial_design(indices)

__all__ = ["warm_start", "set_initial_design", "WarmValidity", "WarmRegressor"]
