"""The performance score of "Tuning the Tuner" (arXiv 2509.26300), computed exactly.

At budget point t:  P(t) = (B(t) - F(t)) / (B(t) - S_opt)
F = best cost the tuner found by t, B = expected best of random search (uniform, without
replacement, over *all* configurations, invalid ones included) at t, S_opt = optimum.
0 = as good as random search, 1 = the optimum, < 0 = worse than random.

Conventions a caller must know:
- "Nothing valid found" counts as the WORST valid cost, on both sides: in B (random search that
  drew only invalid configurations) and in F (a tuner that has found nothing yet). Invalid draws
  thus spend budget without progress, for random search and tuner alike.
- Where B(t) == S_opt (random search is sure to have the optimum) P is undefined: it is 1 if
  F == S_opt, else 0.
- Budget points: `n_points` evenly spaced points up to the cutoff, the expected random-search
  effort to reach S_opt + fraction * (median - S_opt) (median over valid configurations).
- Time axis: B(t) is random search's expected best by simulated time t. Where every
  configuration has the same profile time it is B at k = t / that time, linearly interpolated
  between whole k. Otherwise it is simulated (`TIME_BASELINE_RUNS` random orders, fixed seed):
  B at k = t / mean time ignores that the number of draws done by t varies (B is convex in k,
  so that flatters random search) and that cheap draws (compile failures) and expensive ones
  (faults that run to a timeout) are not spread evenly; on a VTA layer the shortcut was up to
  0.27 (in units of P) too optimistic for random search early in a run.
- A run shorter than a budget point keeps its last best (a finished tuner keeps what it found).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ..errors import UserError
from ..kt_cache import ExhaustiveData
from ..measure import best_found_curve  # noqa: F401  (re-exported: the score's curves)

_CHUNK = 4_000_000    # max matrix entries held at once (budgets x valid configs)


def _log_none_of_best(n_total: int, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log P(none of j given configs in k draws without replacement from n_total)
    = log C(n-j, k) - log C(n, k); -inf where n-j < k. Shapes broadcast."""
    n = float(n_total)
    ok = (n - j) >= k
    jj = np.where(ok, j, 0.0)
    out = gammaln(n - jj + 1) - gammaln(n - jj - k + 1) - gammaln(n + 1) + gammaln(n - k + 1)
    return np.where(ok, out, -np.inf)


def _budgets(budgets, n_total: int) -> np.ndarray:
    k = np.asarray(budgets, dtype=np.float64)
    if np.any(k < 0) or np.any(k != np.round(k)):
        raise ValueError("budgets must be non-negative whole numbers of samples")
    return np.minimum(k, n_total)    # random search cannot draw more than the space holds


def expected_best_random(costs_valid_sorted, n_total: int, budgets,
                         empty: str = "worst") -> np.ndarray:
    """Exact expected best cost of random search without replacement after k samples.

    costs_valid_sorted: costs of the valid configurations (sorted here anyway).
    n_total: number of configurations, invalid ones included (n_total >= number of valid).
    empty: what a draw of no valid configuration counts as: "worst" (the worst valid cost; the
    score's convention) or "conditional" (expectation given at least one valid; nan at k = 0).
    """
    c = np.sort(np.asarray(costs_valid_sorted, dtype=np.float64))
    v = c.size
    if v == 0:
        raise UserError("expected best of random search: no valid configuration")
    if n_total < v:
        raise ValueError(f"n_total ({n_total}) is smaller than the number of valid costs ({v})")
    if empty not in ("worst", "conditional"):
        raise ValueError("empty must be 'worst' or 'conditional'")
    k = _budgets(budgets, n_total)
    flat = k.ravel()
    gaps = np.diff(c)                            # c_(i) - c_(i-1), i = 2..v
    j = np.arange(1, v, dtype=np.float64)        # P(best >= c_(i)) = P(none of the i-1 best)
    e_worst = np.empty(flat.size)
    p_none = np.exp(_log_none_of_best(n_total, float(v), flat))
    step = max(1, _CHUNK // max(v, 1))
    for s in range(0, flat.size, step):
        kk = flat[s:s + step, None]
        surv = np.exp(_log_none_of_best(n_total, j[None, :], kk))
        e_worst[s:s + step] = c[0] + surv @ gaps
    if empty == "worst":
        return e_worst.reshape(k.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = (e_worst - c[-1] * p_none) / (1.0 - p_none)
    return np.where(p_none < 1.0, e, np.nan).reshape(k.shape)


def expected_random_time(data: ExhaustiveData, budgets) -> np.ndarray:
    """Expected simulated time random search spends on k samples: k * mean profile time (exact)."""
    return _budgets(budgets, len(data)) * data.mean_profile_time


#: random orders simulated for the time-axis baseline where profile times differ; its standard
#: error stays below 0.05 (in units of P) at every budget point on the VTA layers
TIME_BASELINE_RUNS = 20_000


def expected_best_random_time(data: ExhaustiveData, times) -> np.ndarray:
    """B over simulated time (module notes): interpolated from the exact B(k) where every
    profile time is the same, else simulated over `TIME_BASELINE_RUNS` random orders (cached
    on `data` per set of times)."""
    t = np.asarray(times, dtype=np.float64)
    tau = data.mean_profile_time
    if tau <= 0:
        raise UserError(f"{data.meta.get('source', 'data')}: no recorded profile time")
    pt = np.asarray(data.profile_time, dtype=np.float64)
    if np.ptp(pt) > 1e-9 * tau:
        cache = data.__dict__.setdefault("_time_baseline", {})
        key = t.tobytes()
        if key not in cache:
            cache[key] = simulated_best_random_time(data, t)
        return cache[key].copy()
    k = np.clip(t / tau, 0, len(data))
    lo = np.floor(k)
    hi = np.minimum(lo + 1, len(data))
    b = expected_best_random(data.valid_costs_sorted, len(data), np.concatenate([lo, hi]))
    b_lo, b_hi = b[:lo.size], b[lo.size:]
    return b_lo + (k - lo) * (b_hi - b_lo)


def simulated_best_random_time(data: ExhaustiveData, times, n_runs: int = TIME_BASELINE_RUNS,
                               seed: int = 0) -> np.ndarray:
    """Mean over `n_runs` random orders (without replacement, seeded) of the best cost found
    by simulated time t, each draw charged its recorded profile time; nothing valid yet counts
    as the worst valid cost, as in B."""
    t = np.asarray(times, dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = len(data)
    worst = float(data.valid_costs_sorted[-1])
    cost = np.where(data.valid, data.cost, worst)
    pt = np.asarray(data.profile_time, dtype=np.float64)
    t_max = float(t.max()) if t.size else 0.0
    m = int(min(n, np.ceil(2 * t_max / data.mean_profile_time) + 50))
    total = np.zeros(t.size)
    for _ in range(int(n_runs)):
        idx = rng.choice(n, m, replace=False)
        clk = np.cumsum(pt[idx])
        if clk[-1] < t_max and m < n:           # a rare slow order: finish it
            rest = np.setdiff1d(np.arange(n), idx)
            idx = np.concatenate([idx, rng.permutation(rest)])
            clk = np.cumsum(pt[idx])
        best = np.minimum.accumulate(cost[idx])
        at = np.searchsorted(clk, t, side="right") - 1
        total += np.where(at >= 0, best[np.maximum(at, 0)], worst)
    return total / int(n_runs)


def cutoff_budget(data: ExhaustiveData, fraction: float = 0.05) -> float:
    """Expected random-search samples to reach S_opt + fraction * (median - S_opt).

    With g of the n configurations at or below that target, the first hit of a good one comes,
    in expectation, at draw (n + 1) / (g + 1) (sampling without replacement)."""
    target = data.optimum + fraction * (data.median - data.optimum)
    g = int(np.sum(data.cost[data.valid] <= target))
    return (len(data) + 1) / (g + 1)


def cutoff_time(data: ExhaustiveData, fraction: float = 0.05) -> float:
    """`cutoff_budget` in expected simulated seconds of random search."""
    return cutoff_budget(data, fraction) * data.mean_profile_time


def sample_times(results) -> np.ndarray:
    """Simulated time at which each result was done: the running sum of `profile_time` (with a
    `ReplayMeasurer` this is its clock after each sample)."""
    return np.cumsum([float(r.profile_time) for r in results], dtype=np.float64)


def _performance(f, b, s_opt: float, worst: float) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    f = np.where(np.isfinite(f), f, worst)
    denom = b - s_opt
    tol = 1e-12 * max(abs(s_opt), abs(worst), 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (b - f) / denom
    return np.where(denom > tol, p, np.where(f <= s_opt + tol, 1.0, 0.0))


def performance_curve(best_found_by_budget, data: ExhaustiveData, budgets) -> np.ndarray:
    """P(t) at each budget (samples); best_found_by_budget[i] is F at budgets[i]."""
    b = expected_best_random(data.valid_costs_sorted, len(data), budgets)
    f = np.asarray(best_found_by_budget, dtype=np.float64)
    if f.shape != b.shape:
        raise ValueError("best_found_by_budget must have one value per budget")
    return _performance(f, b, data.optimum, float(data.valid_costs_sorted[-1]))


@dataclass
class Score:
    """Score of repeated runs of one tuner on one space."""
    mean: float              # over budget points and repeats
    std: float               # over repeats, of each run's mean (population std)
    per_run: np.ndarray      # mean P of each run
    budgets: np.ndarray      # the budget points (samples or seconds)
    curve: np.ndarray        # P at each budget point, mean over repeats
    cutoff: float            # the cutoff (samples or seconds)
    axis: str = "samples"


def _budget_points(cutoff: float, n_points: int) -> np.ndarray:
    if n_points < 1:
        raise ValueError("n_points must be at least 1")
    return np.linspace(cutoff / n_points, cutoff, n_points)


def _summarise(p: np.ndarray, budgets, cutoff, axis) -> Score:
    per_run = p.mean(axis=1)
    return Score(float(p.mean()), float(per_run.std()), per_run, budgets, p.mean(axis=0),
                 float(cutoff), axis)


def budget_points(data: ExhaustiveData, budget: float | None = None, n_points: int = 20,
                  fraction: float = 0.05) -> np.ndarray:
    """Whole-sample budget points: `n_points` evenly spaced up to the horizon min(budget,
    cutoff) (the cutoff alone when `budget` is None), rounded up to whole samples."""
    horizon = cutoff_budget(data, fraction)
    if budget is not None:
        horizon = min(float(budget), horizon)
    k = np.ceil(_budget_points(horizon, n_points) - 1e-9)
    return np.clip(k, 1, len(data)).astype(np.int64)


def time_points(data: ExhaustiveData, budget: float | None = None, n_points: int = 20,
                fraction: float = 0.05) -> np.ndarray:
    """Simulated-time budget points: `n_points` evenly spaced up to min(cutoff time, the time
    random search spends on `budget` samples) (the cutoff time alone when `budget` is None)."""
    horizon = cutoff_time(data, fraction)
    if budget is not None:
        horizon = min(horizon, float(budget) * data.mean_profile_time)
    return _budget_points(horizon, n_points)


def score_runs(curves, data: ExhaustiveData, n_points: int = 20, fraction: float = 0.05,
               budget: float | None = None) -> Score:
    """Score from best-found curves (`best_found_curve` of each repeat), on the sample axis, at
    `budget_points` (up to the cutoff, or up to `budget` samples when that comes first)."""
    curves = [np.asarray(c, dtype=np.float64) for c in curves]
    if not curves:
        raise ValueError("score_runs needs at least one run")
    k = budget_points(data, budget, n_points, fraction)
    b = expected_best_random(data.valid_costs_sorted, len(data), k)
    worst = float(data.valid_costs_sorted[-1])
    p = np.empty((len(curves), k.size))
    for r, c in enumerate(curves):
        f = c[np.minimum(k, c.size) - 1] if c.size else np.full(k.size, np.inf)
        p[r] = _performance(f, b, data.optimum, worst)
    return _summarise(p, k, cutoff_budget(data, fraction), "samples")


def score_runs_time(runs, data: ExhaustiveData, n_points: int = 20, fraction: float = 0.05,
                    budget: float | None = None) -> Score:
    """Score on the simulated-time axis. runs: (times, best) pairs per repeat, e.g.
    (`sample_times(results)`, `best_found_curve(results)`), or the replay clock after each
    sample (which also holds the compiles a tuner asked for). Budget points: `time_points`."""
    if not runs:
        raise ValueError("score_runs_time needs at least one run")
    t = time_points(data, budget, n_points, fraction)
    p = np.empty((len(runs), t.size))
    for r, (times, best) in enumerate(runs):
        p[r] = performance_curve_time(times, best, data, t)
    return _summarise(p, t, cutoff_time(data, fraction), "time")


def performance_curve_time(times, best, data: ExhaustiveData, at_times) -> np.ndarray:
    """P at each of `at_times` (simulated seconds) of one run: `times` and `best` are the
    simulated time after each sample and the best cost found by then (`sample_times`,
    `best_found_curve`)."""
    times = np.asarray(times, dtype=np.float64)
    best = np.asarray(best, dtype=np.float64)
    if times.shape != best.shape:
        raise ValueError("times and best must have the same length")
    t = np.asarray(at_times, dtype=np.float64)
    at = np.searchsorted(times, t, side="right") - 1
    f = np.where(at >= 0, best[np.maximum(at, 0)] if best.size else np.inf, np.inf)
    return _performance(f, expected_best_random_time(data, t), data.optimum,
                        float(data.valid_costs_sorted[-1]))


def aggregate(scores) -> float:
    """The aggregate over spaces: the mean of their scores."""
    scores = list(scores)
    if not scores:
        raise ValueError("aggregate needs at least one score")
    return float(np.mean([s.mean for s in scores]))


__all__ = ["Score", "aggregate", "best_found_curve", "budget_points", "cutoff_budget",
           "cutoff_time", "time_points",
           "expected_best_random", "expected_best_random_time", "expected_random_time",
           "simulated_best_random_time", "TIME_BASELINE_RUNS",
           "performance_curve", "performance_curve_time", "sample_times", "score_runs", "score_runs_time"]
