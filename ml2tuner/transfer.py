"""Transfer to a new task: Gaussian-copula prior and its budget estimate (Randall et al.,
"Transfer-learning-based autotuning using Gaussian copula", ICS 2023).

The copula is fitted on the top quantile (30 %) of the valid configurations of each source
trace: one column per knob of the new space, the source task descriptors (conditioning
columns), and the configuration's relative performance in its own trace (best cost / cost, so
tasks of different speeds share one scale). Sampling conditions on the new task's descriptors;
samples are snapped to the nearest member of the new space (those too far from any value are
dropped), those Model V rejects are dropped, and the rest are deduplicated and ranked by their
generated performance (ties, many since each trace's best maps to 1.0, by how often generated;
`rank="frequency"` ranks by that count alone, which did better on the shipped traces). The
original method has no validity model; ours does.

Why ~70 lines of scipy instead of `copulas` (0.14.1): `copulas` pins pandas < 3 while this
project runs pandas 3 (installing it would downgrade pandas for everyone) and pulls in plotly;
and its `GaussianMultivariate` fits parametric marginals (beta, truncnorm, ...) to what are
small sets of discrete knob values, then needs rounding back anyway. What the method needs is
little: empirical marginals (which only ever generate knob values seen in good configurations),
a normal-scores correlation matrix and the conditional multivariate normal.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import UserError

QUANTILE = 0.3
# Samples drawn per task: with 2 000 the ranking of the first configuration changed with the
# seed on most held-out layers; 20 000 make duplicate counts stable and cost ~0.1 s.
NUM_SAMPLES = 20_000


# ----- the copula ---------------------------------------------------------------------------------
class GaussianCopula:
    """Gaussian copula with empirical marginals, sampled conditionally on some columns."""

    def __init__(self, shrinkage: float = 1e-3):
        self.shrinkage = shrinkage      # keeps the correlation invertible (collinear columns)

    def fit(self, data: np.ndarray) -> "GaussianCopula":
        from scipy.stats import norm, rankdata      # here: `ml2tuner` starts without scipy
        data = np.asarray(data, dtype=np.float64)
        n, d = data.shape
        if n < 2:
            raise UserError(f"a copula needs at least 2 rows, got {n}")
        self.sorted_ = np.sort(data, axis=0)
        z = norm.ppf((rankdata(data, axis=0) - 0.5) / n)    # mid-ranks: ties share a score
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.corrcoef(z, rowvar=False).reshape(d, d)
        c = np.nan_to_num(c)                                  # a constant column: uncorrelated
        np.fill_diagonal(c, 1.0)
        self.corr_ = (1 - self.shrinkage) * c + self.shrinkage * np.eye(d)
        return self

    def _z(self, j: int, x: float) -> float:
        """Normal score of value x under column j's empirical CDF (mid-rank, clipped)."""
        from scipy.stats import norm
        col = self.sorted_[:, j]
        n = col.size
        u = (np.searchsorted(col, x, "left") + np.searchsorted(col, x, "right")) / (2 * n)
        return float(norm.ppf(np.clip(u, 0.5 / n, 1 - 0.5 / n)))

    def sample(self, num: int, conditions: dict[int, float], rng) -> np.ndarray:
        """`num` rows; columns in `conditions` fixed, the others drawn from the conditional
        normal and mapped back through their empirical quantiles (observed values only)."""
        from scipy.stats import norm
        d = self.corr_.shape[0]
        c = np.array(sorted(conditions), dtype=np.int64)
        f = np.array([j for j in range(d) if j not in conditions], dtype=np.int64)
        S = self.corr_
        if c.size:
            zc = np.array([self._z(j, conditions[j]) for j in c])
            K = S[np.ix_(f, c)] @ np.linalg.pinv(S[np.ix_(c, c)])
            mu, cov = K @ zc, S[np.ix_(f, f)] - K @ S[np.ix_(c, f)]
        else:
            mu, cov = np.zeros(f.size), S[np.ix_(f, f)]
        z = rng.multivariate_normal(mu, (cov + cov.T) / 2, size=num, method="eigh")
        out = np.empty((num, d))
        for k, j in enumerate(f):
            out[:, j] = np.quantile(self.sorted_[:, j], norm.cdf(z[:, k]),
                                    method="inverted_cdf")
        for j in c:
            out[:, j] = conditions[j]
        return out


# ----- fitting on source traces ------------------------------------------------------------------
def top_quantile(ts, quantile: float = QUANTILE):
    """Rows (indices into `ts`) of the best `quantile` of each trace's valid configurations,
    and their relative performance (best cost / cost) within their trace."""
    if not 0 < quantile <= 1:
        raise UserError(f"the top quantile must be in (0, 1], got {quantile}")
    rows, perf = [], []
    for g in np.unique(ts.group):
        idx = np.flatnonzero((ts.group == g) & ts.valid)
        if not idx.size:
            continue
        lc = ts.log_cost[idx]
        order = np.argsort(lc, kind="stable")[:max(1, int(math.ceil(quantile * idx.size)))]
        rows.append(idx[order])
        perf.append(np.exp(lc.min() - lc[order]))
    if not rows:
        raise UserError("the top quantile of the source traces is empty: they hold no valid "
                        "configuration to learn from")
    return np.concatenate(rows), np.concatenate(perf)


@dataclass
class PriorSamples:
    indices: list[int]          # distinct members of the new space, best generated first
    n_generated: int            # samples drawn
    n_outside: int              # snapped too far / not a member of the space
    n_rejected: int             # distinct configs Model V rejected
    n_unique: int               # distinct configs kept (C of the budget estimate)


class GCPrior:
    """The copula fitted on source traces, ready to generate for new tasks."""

    def __init__(self, source, quantile: float = QUANTILE):
        from .data.datasets import TraceSet, load_traces
        ts = source if isinstance(source, TraceSet) else load_traces(source)
        rows, perf = top_quantile(ts, quantile)
        self.knobs = list(ts.knobs)
        D = ts.descriptor_matrix(rows)
        have = np.isfinite(D).all(axis=0)       # a descriptor some trace lacks cannot condition
        self.descriptor_names = [k for k, h in zip(ts.descriptor_names, have) if h]
        self.data = np.hstack([ts.X[rows], D[:, have], perf[:, None]])
        self.n_rows = len(rows)

    def generate(self, space, descriptor: dict, n: int, seed: int = 0, validity=None,
                 num_samples: int | None = None, snap_tol: float = 1.0,
                 rank: str = "performance") -> PriorSamples:
        """`rank`: "performance" ranks distinct configurations by their best generated
        performance (the paper); "frequency" by how often they were generated, which on the
        shipped traces gives a much better first evaluation (see benchmarks/few_shot.py)."""
        if rank not in ("performance", "frequency"):
            raise UserError(f"rank must be 'performance' or 'frequency', not {rank!r}")
        missing = [k for k in space.names if k not in self.knobs]
        if missing:
            raise UserError(f"the source traces lack knob {missing[0]!r} of the new space")
        kcol = [self.knobs.index(k) for k in space.names]
        nk = len(self.knobs)
        dcol = {nk + j: float(descriptor[k]) for j, k in enumerate(self.descriptor_names)
                if isinstance(descriptor.get(k), (int, float))}
        rows = np.isfinite(self.data[:, kcol]).all(axis=1)  # rows that set every knob we need
        cols = kcol + sorted(dcol) + [self.data.shape[1] - 1]
        data = self.data[np.ix_(rows, cols)]
        if data.shape[0] < 2:
            raise UserError("the top quantile holds fewer than 2 configurations with these knobs")
        cop = GaussianCopula().fit(data)
        cond = {len(kcol) + i: dcol[c] for i, c in enumerate(sorted(dcol))}
        num = num_samples or NUM_SAMPLES
        s = cop.sample(num, cond, np.random.default_rng(seed))
        idx = _snap(space, s[:, :len(kcol)], snap_tol)
        n_out = int((idx < 0).sum())
        gen = s[idx >= 0, -1]
        u, inv, cnt = np.unique(idx[idx >= 0], return_inverse=True, return_counts=True)
        best = np.full(u.size, -np.inf)
        np.maximum.at(best, inv, gen)
        # "performance" (the paper): best generated performance first; the empirical marginal
        # puts a point mass on each trace's best (1.0), so ties are many: the more often
        # generated wins. "frequency": most often generated first (the prior's mode).
        order = np.lexsort((-cnt, -best) if rank == "performance" else (-best, -cnt))
        uniq = u[order].tolist()
        keep = _valid_mask(validity, space, descriptor, uniq)
        kept = [i for i, k in zip(uniq, keep) if k]
        return PriorSamples(kept[:n], num, n_out, len(uniq) - len(kept), len(kept))


def _snap(space, values: np.ndarray, tol: float) -> np.ndarray:
    """Nearest member of `space` per sample (-1: farther than `tol` from a knob's values, in
    log2 units for positive numeric knobs, or not a member of a restricted space)."""
    pos = np.empty(values.shape, dtype=np.int64)
    ok = np.ones(len(values), dtype=bool)
    for j, knob in enumerate(space.knobs):
        cand = np.array(knob.values, dtype=np.float64) if knob.numeric else \
            np.arange(len(knob.values), dtype=np.float64)
        x = values[:, j]
        if knob.numeric and (cand > 0).all() and (x > 0).all():
            dist = np.abs(np.log2(x[:, None]) - np.log2(cand[None, :]))
            lim = tol
        else:
            dist = np.abs(x[:, None] - cand[None, :])
            lim = 0.5 if not knob.numeric else tol * max(np.ptp(cand), 1.0)
        pos[:, j] = dist.argmin(axis=1)
        ok &= dist.min(axis=1) <= lim
    idx = space.positions_to_indices(pos)
    return np.where(ok, idx, -1)


def _valid_mask(validity, space, descriptor, indices) -> np.ndarray:
    """Which configs pass Model V: a `Bundle` (at its calibrated threshold), an estimator with
    `predict_proba` on `space.features` (at its `threshold`), or a callable(indices) -> bool."""
    if validity is None or not indices:
        return np.ones(len(indices), dtype=bool)
    from .surrogates.bundle import Bundle
    if isinstance(validity, Bundle):
        return validity.predict_validity(space, descriptor, indices) >= validity.threshold
    if hasattr(validity, "predict_proba"):
        p = validity.predict_proba(space.features(indices))[:, 1]
        return p >= float(getattr(validity, "threshold", 0.5))
    return np.asarray(validity(indices), dtype=bool)


def gc_initial_design(space, descriptor, source_traces, n: int, seed: int = 0, validity=None,
                      quantile: float = QUANTILE, rank: str = "performance") -> list[int]:
    """The first `n` configurations to measure on a new task (fewer if the prior yields fewer:
    the tuner fills up at random). `descriptor` may be anything `offline.task_descriptor`
    takes; `validity` a bundle (directory or `Bundle`), a fitted ValidityModel or a callable."""
    from .data.descriptors import task_descriptor
    if n < 1:
        raise UserError("the initial design needs n >= 1")
    if isinstance(validity, (str, bytes)) or hasattr(validity, "is_dir"):
        from .surrogates.bundle import load_bundle
        validity = load_bundle(validity)
    desc = task_descriptor(descriptor)
    return GCPrior(source_traces, quantile).generate(space, desc, n, seed, validity,
                                                     rank=rank).indices


# ----- budget ------------------------------------------------------------------------------------
def budget_estimate(n_space: int, n_unique_samples: int, p: float = 0.9) -> int:
    """Few-shot budget of the GC paper: of C unique generated configurations, I' = max(1,
    floor(0.1 |S|) - floor(0.05 (|S| - C))) are taken to be ideal (top 10 % of the space, less
    a penalty for the part of the space the prior never generates); the budget is the smallest
    k for which k draws without replacement from the C hold at least one ideal one with
    probability >= p (hypergeometric). For C < |S| / 19 the formula gives I' > C: every
    generated configuration counts as ideal and the budget is 1 (I' is capped at C)."""
    from scipy.stats import hypergeom
    S, C = int(n_space), int(n_unique_samples)
    if S < 1 or not 1 <= C <= S:
        raise UserError(f"budget estimate needs 1 <= unique samples ({C}) <= space size ({S})")
    if not 0 < p <= 1:
        raise UserError(f"probability p must be in (0, 1], got {p}")
    ideal = min(C, max(1, math.floor(0.1 * S) - math.floor(0.05 * (S - C))))
    for k in range(1, C + 1):
        if hypergeom.sf(0, C, ideal, k) >= p - 1e-12:
            return k
    return C


__all__ = ["GaussianCopula", "GCPrior", "PriorSamples", "budget_estimate", "gc_initial_design",
           "top_quantile", "QUANTILE"]
