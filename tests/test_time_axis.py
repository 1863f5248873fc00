"""The time-axis score on a space with compile records (a VTA trace): random search's baseline
on the replay clock, and ML2Tuner's start on that clock."""
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.hpo.evaluate import run_one
from ml2tuner.hpo.score import (expected_best_random, expected_best_random_time,
                                expected_random_time, simulated_best_random_time)
from ml2tuner.kt_cache import load_exhaustive
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.tuners import make_tuner

TRACE = Path(__file__).resolve().parents[1] / "traces" / "vta-zcu102" / "resnet18.C2.jsonl.gz"
needs_trace = pytest.mark.skipif(not TRACE.exists(), reason=f"trace not found: {TRACE}")


@pytest.fixture(scope="module")
def data():
    return load_exhaustive(TRACE)


@needs_trace
def test_random_search_on_the_clock_matches_its_baseline(data):
    """Replayed random search pays every draw's recorded profile time (a compile failure its
    compile time), so its clock after k draws averages k * mean profile time: the time axis of
    the baseline B(t) the time score compares against."""
    assert data.compile_time is not None and (~data.valid).mean() > 0.5
    k = np.array([1, 10, 40, 80])
    clocks = []
    for seed in range(200):
        m = ReplayMeasurer(data)
        hist = make_tuner("random", data.space, seed=seed).tune(int(k[-1]), m).history
        c = np.array([r.clock for r in hist])
        np.testing.assert_allclose(c, np.cumsum(data.profile_time[[r.index for r in hist]]))
        clocks.append(c[k - 1])
    clocks = np.array(clocks)
    se = clocks.std(axis=0, ddof=1) / np.sqrt(len(clocks))
    np.testing.assert_array_less(np.abs(clocks.mean(axis=0) - expected_random_time(data, k)),
                                 4 * se)
    # the baseline's own ingredients: every configuration's time, failures included
    fails = ~data.valid
    assert data.mean_profile_time == pytest.approx(data.profile_time.mean())
    assert np.all(data.profile_time[fails] >= data.compile_time[fails])


@needs_trace
def test_time_baseline_is_random_search_on_the_clock(data):
    """B(t) is simulated on a VTA trace: B at k = t / mean time would flatter random search
    early in a run (fewer draws than the mean by t are common: faults cost ~5 s)."""
    t = np.linspace(5.0, 100.0, 20)
    b = expected_best_random_time(data, t)
    again = simulated_best_random_time(data, t, n_runs=20_000, seed=1)
    scale = b - data.optimum
    assert np.all(np.abs(b - again) < 0.2 * scale)            # seed to seed
    k = t / data.mean_profile_time
    shortcut = np.interp(k, np.arange(0, 250), expected_best_random(
        data.valid_costs_sorted, len(data), np.arange(0, 250)))
    assert np.max((b - shortcut) / scale) > 0.15
    assert np.all(np.diff(b) <= 1e-12)                        # more time never hurts


@needs_trace
def test_ml2tuner_measures_its_first_survivor_at_once(data):
    """With a compiler, the initial design is measured as each configuration passes the
    compile screen: at the first measurement only that one configuration has compiled, so the
    clock then is what random search would pay to find a valid one (not a batch of them)."""
    for seed in range(3):
        m = ReplayMeasurer(data)
        seen = []

        def first(_tuner, r):
            if not seen:
                ok = sum(m.sim_clock.compiled.values())
                seen.append((ok, r.clock))
        make_tuner("ml2tuner", data.space, seed=seed).tune(12, m, callbacks=[first])
        ok, clock = seen[0]
        assert ok == 1
        fails = [i for i, good in m.sim_clock.compiled.items() if not good]
        assert clock <= sum(data.compile_time[fails]) + data.profile_time.max()


@needs_trace
def test_ml2tuner_time_score_not_far_below_its_sample_score(data):
    """The compile screen is charged on the clock, but it must not turn a near-perfect sample
    score into a score far below random search on time."""
    r = run_one(str(TRACE), "ml2tuner", {}, 1, 200, 20, True)
    assert r["score"] > 0.9
    assert r["score_time"] > 0.3
