"""The score of "Tuning the Tuner": exact random-search baseline, cutoff, P(t), aggregation."""
import itertools
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.errors import UserError
from ml2tuner.hpo.score import (aggregate, best_found_curve, cutoff_budget, cutoff_time,
                                expected_best_random, expected_best_random_time,
                                expected_random_time, performance_curve, sample_times,
                                score_runs, score_runs_time)
from ml2tuner.kt_cache import ExhaustiveData, load_kt_cache
from ml2tuner.measure import MeasureResult, Status
from ml2tuner.space import Space

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kerneltuner"
needs_data = pytest.mark.skipif(not (DATA / "convolution_milo__A100.json.gz").exists(),
                                reason=f"real Kernel Tuner caches not found under {DATA}")


def make_data(costs, ptime=None):
    """costs: None marks an invalid configuration."""
    n = len(costs)
    sp = Space([("i", tuple(range(n)))])
    status = ["ok" if c is not None else "runtime_error" for c in costs]
    cost = [np.nan if c is None else c for c in costs]
    return ExhaustiveData(sp, cost, status, np.ones(n) if ptime is None else ptime)


def enumerate_best(costs, k, empty):
    """Mean over all k-subsets of the best valid cost (empty: 'worst' or 'conditional')."""
    valid = [c for c in costs if c is not None]
    vals = []
    for sub in itertools.combinations(costs, k):
        got = [c for c in sub if c is not None]
        if got:
            vals.append(min(got))
        elif empty == "worst":
            vals.append(max(valid))
    return np.mean(vals) if vals else np.nan


TOY = [3.0, None, 1.0, 2.0]          # 4 configurations, one invalid


def test_expected_best_by_hand():
    b = expected_best_random([1.0, 2.0, 3.0], 4, [0, 1, 2, 3, 4])
    # k=1: (1+2+3+worst 3)/4; k=2: pairs 1,1,1,2,2,3 -> 10/6; k=3: 1,1,1,2 -> 5/4
    np.testing.assert_allclose(b, [3.0, 2.25, 10 / 6, 1.25, 1.0])
    c = expected_best_random([3.0, 1.0, 2.0], 4, [0, 1, 2], empty="conditional")
    assert np.isnan(c[0]) and c[1] == pytest.approx(2.0) and c[2] == pytest.approx(10 / 6)


@pytest.mark.parametrize("costs", [TOY, [5.0, None, 2.0, 2.0, None, 7.0, 1.0, None, 2.0],
                                   [4.0, 4.0, 4.0], [None, None, 0.5]])
@pytest.mark.parametrize("empty", ["worst", "conditional"])
def test_expected_best_matches_enumeration(costs, empty):
    valid = sorted(c for c in costs if c is not None)
    ks = np.arange(len(costs) + 1)
    got = expected_best_random(valid, len(costs), ks, empty=empty)
    want = [enumerate_best(costs, int(k), empty) for k in ks]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_expected_best_large_space_is_stable():
    rng = np.random.default_rng(1)
    c = np.sort(rng.lognormal(size=15000))
    n = 20000
    b = expected_best_random(c, n, [1, 2, 10, 100, 5001, 5002, 19999, 20000, 30000])
    assert b[0] == pytest.approx((c.sum() + (n - c.size) * c[-1]) / n, rel=1e-10)
    assert np.all(np.diff(b) <= 1e-15)                  # more samples never hurt
    # 5001 draws surely hold a valid one: both conventions agree there
    w = expected_best_random(c, n, [5001])
    assert w[0] == pytest.approx(expected_best_random(c, n, [5001], empty="conditional")[0],
                                 rel=1e-12)
    # 19999 of 20000: the optimum is missed only when it is the one left out
    assert b[6] == pytest.approx(c[0] + (c[1] - c[0]) / n, rel=1e-12)
    assert b[-1] == b[-2] == c[0]                       # budgets beyond n are clipped to n
    with pytest.raises(ValueError):
        expected_best_random(c, n, [-1])
    with pytest.raises(UserError):
        expected_best_random([], 5, [1])


def test_random_time_axis():
    d = make_data(TOY, ptime=[1.0, 3.0, 2.0, 2.0])       # mean profile time 2 s
    np.testing.assert_allclose(expected_random_time(d, [0, 1, 3]), [0.0, 2.0, 6.0])
    # B(t) with unequal profile times: the mean over all 24 orders of the best found by t
    t = np.array([0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 100.0])
    exact = []
    for order in itertools.permutations(range(4)):
        clk = np.cumsum([d.profile_time[i] for i in order])
        c = [TOY[i] if TOY[i] is not None else 3.0 for i in order]
        best = np.minimum.accumulate(c)
        at = np.searchsorted(clk, t, side="right") - 1
        exact.append(np.where(at >= 0, best[np.maximum(at, 0)], 3.0))
    exact = np.mean(exact, axis=0)
    bt = expected_best_random_time(d, t)
    np.testing.assert_allclose(bt, exact, atol=0.03)
    # the shortcut B(k = t / mean time) is off: at 4.5 s it counts 2.25 draws, where the
    # orders that drew the 3 s configuration early have done fewer
    b = expected_best_random(d.valid_costs_sorted, 4, np.arange(5))
    shortcut = np.interp(t / 2.0, np.arange(5), b)
    assert exact[4] == pytest.approx(23 / 12) and shortcut[4] == pytest.approx(1.5625)


def test_random_time_axis_equal_times_is_interpolated():
    d = make_data(TOY, ptime=[2.0] * 4)
    b = expected_best_random(d.valid_costs_sorted, 4, [1, 2])
    bt = expected_best_random_time(d, [2.0, 3.0, 4.0, 100.0])
    np.testing.assert_allclose(bt, [b[0], (b[0] + b[1]) / 2, b[1], 1.0])


def test_cutoff_budget_matches_enumeration():
    costs = [10.0, None, 1.0, 3.0, None, 2.0]        # valid 1,2,3,10: median 2.5
    d = make_data(costs)
    for fraction, g in [(0.05, 1), (0.5, 1), (0.8, 2), (1.0, 2)]:
        target = 1.0 + fraction * (2.5 - 1.0)
        good = [c is not None and c <= target for c in costs]
        assert sum(good) == g
        first = [next(p for p, i in enumerate(perm, start=1) if good[i])
                 for perm in itertools.permutations(range(6))]
        assert cutoff_budget(d, fraction) == pytest.approx(np.mean(first)) == 7 / (g + 1)
    d2 = make_data(costs, ptime=[0.5] * 6)
    assert cutoff_time(d2) == pytest.approx(0.5 * 7 / 2)


def test_performance_curve():
    d = make_data(TOY)
    budgets = [1, 2]
    b = np.array([2.25, 10 / 6])
    np.testing.assert_allclose(performance_curve([1.0, 1.0], d, budgets), [1, 1])
    np.testing.assert_allclose(performance_curve(b, d, budgets), [0, 0], atol=1e-12)
    np.testing.assert_allclose(performance_curve([3.0, 3.0], d, budgets), [-0.6, -2.0])
    # nothing found yet counts as the worst valid cost
    np.testing.assert_allclose(performance_curve([np.inf, np.nan], d, budgets), [-0.6, -2.0])
    np.testing.assert_allclose(performance_curve([2.0, 1.5], d, budgets),
                               [0.25 / 1.25, (10 / 6 - 1.5) / (10 / 6 - 1)])
    # at k = 4 random search surely has the optimum: B == S_opt -> 1 if found, else 0
    np.testing.assert_allclose(performance_curve([1.0, 2.0], d, [4, 4]), [1.0, 0.0])
    with pytest.raises(ValueError):
        performance_curve([1.0], d, budgets)


def results(costs):
    return [MeasureResult(index=i, config={}, status=Status.OK if c is not None
                          else Status.COMPILE_ERROR, cost=c, profile_time=0.5 * (i + 1))
            for i, c in enumerate(costs)]


def test_best_found_curve_and_times():
    rs = results([None, 5.0, 7.0, None, 3.0])
    np.testing.assert_array_equal(best_found_curve(rs), [np.inf, 5, 5, 5, 3])
    np.testing.assert_array_equal(best_found_curve(rs, budget=2), [np.inf, 5])
    np.testing.assert_array_equal(best_found_curve(rs, budget=9), [np.inf, 5, 5, 5, 3])
    assert best_found_curve([]).size == 0
    np.testing.assert_allclose(sample_times(rs), [0.5, 1.5, 3.0, 5.0, 7.5])


def test_score_runs_by_hand():
    d = make_data(TOY)
    # cutoff: median 2, target 1.05, g = 1 -> (4+1)/(1+1) = 2.5 samples;
    # 5 points 0.5,1,...,2.5 rounded up -> k = 1,1,2,2,3 with B = 2.25, 2.25, 5/3, 5/3, 5/4
    s = score_runs([[1.0], [np.inf, np.inf, 3.0]], d, n_points=5)
    np.testing.assert_array_equal(s.budgets, [1, 1, 2, 2, 3])
    assert s.cutoff == 2.5 and s.axis == "samples"
    # run 1 found the optimum at once (and stopped: it keeps it); run 2 only the worst:
    # P = -0.6, -0.6, -2, -2, (1.25 - 3) / 0.25 = -7
    np.testing.assert_allclose(s.per_run, [1.0, -12.2 / 5])
    assert s.mean == pytest.approx((1.0 - 2.44) / 2)
    assert s.std == pytest.approx(1.72)
    np.testing.assert_allclose(s.curve, [0.2, 0.2, -0.5, -0.5, -3.0])
    assert aggregate([s, score_runs([[1.0]], d)]) == pytest.approx((s.mean + 1.0) / 2)


def test_score_runs_time_by_hand():
    d = make_data(TOY)                                  # all profile times 1 s
    s = score_runs_time([([1.0], [1.0])], d, n_points=5)
    np.testing.assert_allclose(s.budgets, [0.5, 1.0, 1.5, 2.0, 2.5])
    # at t = 0.5 nothing is measured yet: F = worst 3, B = (3 + 2.25) / 2
    p0 = (2.625 - 3.0) / (2.625 - 1.0)
    np.testing.assert_allclose(s.curve, [p0, 1, 1, 1, 1])
    assert s.mean == pytest.approx((p0 + 4) / 5) and s.axis == "time"


def test_random_search_scores_zero_on_average():
    """P is linear in F and E[F] = B for random search, so its mean score is 0."""
    rng = np.random.default_rng(7)
    costs = [None if rng.random() < 0.2 else float(x) for x in rng.lognormal(size=300)]
    d = make_data(costs)
    cost = np.where(d.valid, d.cost, np.inf)
    runs = [np.minimum.accumulate(cost[rng.permutation(len(d))][:200]) for _ in range(3000)]
    s = score_runs(runs, d, n_points=10)
    assert abs(s.mean) < 4 * s.std / np.sqrt(len(runs))
    assert s.std > 0.05


@needs_data
def test_real_convolution_cutoff_and_baseline():
    d = load_kt_cache(DATA / "convolution_milo__A100.json.gz")
    target = d.optimum + 0.05 * (d.median - d.optimum)
    g = int(np.sum(d.cost[d.valid] <= target))
    assert g == 3                       # regression pin: configs within 5 % of the gap, this cache
    assert cutoff_budget(d) == pytest.approx(4363 / 4)
    assert cutoff_time(d) == pytest.approx(4363 / 4 * d.profile_time.mean())
    b = expected_best_random(d.valid_costs_sorted, len(d), [1, 1091, 4362])
    assert b[0] == pytest.approx((d.valid_costs_sorted.sum() + 161 * d.valid_costs_sorted[-1])
                                 / 4362)
    assert d.optimum < b[1] < target * 1.05 and b[2] == d.optimum
    s = score_runs([[d.optimum]], d)
    assert s.mean == 1.0 and s.budgets[-1] == 1091


def test_budget_limits_the_horizon_on_both_axes():
    d = make_data(TOY)                                  # cutoff 2.5 samples, 1 s each
    s = score_runs([[np.inf, 1.0]], d, n_points=2, budget=1)
    np.testing.assert_array_equal(s.budgets, [1, 1])   # 0.5, 1 rounded up
    # B at k = 1 is 2.25; the run has found nothing by then: F = worst 3
    np.testing.assert_allclose(s.curve, [(2.25 - 3) / 1.25] * 2)
    t = score_runs_time([([1.0, 2.0], [np.inf, 1.0])], d, n_points=2, budget=1)
    np.testing.assert_allclose(t.budgets, [0.5, 1.0])
    assert score_runs([[1.0]], d, budget=100).budgets[-1] == 3    # the cutoff comes first


def test_hpo_run_is_scored_by_score_runs(tmp_path):
    """The HPO's per-run score is `score_runs`/`score_runs_time` of the run's history."""
    from ml2tuner.hpo.evaluate import load_space, run_one
    from ml2tuner.replay import ReplayMeasurer
    from ml2tuner.testing import write_kt_cache
    from ml2tuner.tuners import make_tuner
    params = {"bx": [1, 2, 4, 8, 16], "by": [1, 2, 4, 8], "u": [1, 2, 3]}
    path = write_kt_cache(tmp_path / "c.json", params,
                          lambda c: "CompileFailedConfig" if c["bx"] * c["by"] > 64
                          else 1.0 + abs(c["bx"] - 4) + 0.3 * abs(c["by"] - 2) + 0.1 * c["u"])
    r = run_one(str(path), "random", {}, 5, 40)
    d = load_space(path)
    m = ReplayMeasurer(d)
    hist, clock = [], []
    make_tuner("random", d.space, seed=5).tune(
        40, m, callbacks=[lambda _t, x: (hist.append(x), clock.append(m.clock))])
    curve = best_found_curve(hist)
    assert r["score"] == score_runs([curve], d, budget=40).mean
    assert r["score_time"] == score_runs_time([(clock, curve)], d, budget=40).mean
    assert r["horizon"] == min(40, int(np.ceil(cutoff_budget(d) - 1e-9)))
