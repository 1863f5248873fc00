"""ML2Tuner's parts for spaces without a compiler (Kernel Tuner caches): the knob-diverse trust
region, random tie-breaking in the exhaustive explorer, the wider epsilon, the source bandit,
refitting every round, and the unseen cache shipped with the benchmarks."""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.explore import exhaustive_top
from ml2tuner.kt_cache import load_kt_cache
from ml2tuner.measure import MeasureResult, Status
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.space import Knob, Space
from ml2tuner.testing import write_kt_cache
from ml2tuner.tuners import make_tuner
from conftest import count_v_fits, v_fit_points

UNSEEN = (Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "kerneltuner_heldout"
          / "convolution__RTX_2080_Ti.json.gz")


def _cache(tmp_path):
    """12 x 12 configurations; time falls steeply along `a` and barely along `b`, so a model
    ranks every change of `a` above any change of `b`."""
    grid = {"a": range(12), "b": range(12)}
    return load_kt_cache(write_kt_cache(tmp_path / "slope.json", grid,
                                        lambda c: 1.0 + (11 - c["a"]) + 0.01 * (11 - c["b"])))


def _changed_knobs(space, centre, picks):
    diff = space.value_positions(picks) != space.value_positions([centre])
    return [int(np.flatnonzero(row)[0]) for row in diff]


@pytest.mark.parametrize("diverse", [True, False])
def test_trust_region_goes_round_the_knobs(tmp_path, diverse):
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=0, local_share=1.0, neighbour_top=1,
                   local_diverse=diverse)
    t.tune(20, ReplayMeasurer(data))
    best = min((r for r in t.results if r.valid), key=lambda r: r.cost).index
    picks = t._trust_region(2, set())
    assert len(picks) == 2 and not set(picks) & t.visited
    knobs = _changed_knobs(data.space, best, picks)
    if diverse:      # one change of each knob, although P ranks every `a` change higher
        assert sorted(knobs) == [0, 1]
    else:            # the plain ranking: P's two best-scored neighbours, whatever they change
        nb = [int(j) for j in data.space.neighbours(best) if int(j) not in t.visited]
        sc = t._p_score(np.array(nb))
        assert picks == [nb[j] for j in np.argsort(-sc, kind="stable")[:2]]
    # more picks than (incumbent, knob) pairs: the second turn follows the first
    many = t._trust_region(6, set())
    assert len(many) == len(set(many)) == 6
    if diverse:
        assert sorted(_changed_knobs(data.space, best, many[:2])) == [0, 1]


def test_exhaustive_explorer_breaks_ties_at_random():
    space = Space([Knob("x", list(range(50))), Knob("y", list(range(4)))])
    flat = lambda idx: np.zeros(len(idx))               # noqa: E731  (a model with no signal)
    assert exhaustive_top(space, flat, 5, set()) == [0, 1, 2, 3, 4]     # no generator: by index
    a = exhaustive_top(space, flat, 5, set(), rng=np.random.default_rng(0))
    b = exhaustive_top(space, flat, 5, set(), rng=np.random.default_rng(1))
    assert a != b and len(set(a)) == 5 and max(a) > 4
    assert exhaustive_top(space, flat, 5, set(), rng=np.random.default_rng(0)) == a
    # a real score still decides before the tie-break
    score = lambda idx: -np.abs(np.asarray(idx) - 120.0)   # noqa: E731
    assert exhaustive_top(space, score, 1, {120}, rng=np.random.default_rng(0))[0] in (119, 121)


@pytest.mark.parametrize("eps_nc", [0.0, 0.5])
def test_v_screened_random_share_without_a_compiler(tmp_path, eps_nc):
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=0, epsilon=0.0, epsilon_no_compiler=eps_nc,
                   batch_size=10)
    calls = []
    orig = t._random_valid

    def spy(k, use_v=True, exclude=()):
        if t.stats["rounds"]:            # model rounds only, not the initial design
            calls.append((k, use_v))
        return orig(k, use_v, exclude)
    t._random_valid = spy
    t.tune(80, ReplayMeasurer(data))
    # replayed caches have no compiler: a binomial(10, eps_nc) share of each model round is
    # drawn at random, V-screened (never bypassing V: a failure costs a whole measurement)
    screened = sum(k for k, v in calls if v)
    assert sum(k for k, v in calls if not v) == 0
    if eps_nc == 0:
        assert screened == 0
    else:
        assert 0.3 < screened / (10 * t.stats["rounds"]) < 0.7


def test_unseen_cache_shipped_with_the_benchmarks():
    d = load_kt_cache(UNSEEN)
    assert len(d) == 6768 and d.meta["device_name"] == "NVIDIA GeForce RTX 2080 Ti"
    assert d.status_counts() == {"ok": 5256, "compile_error": 1426, "runtime_error": 86}
    raw = json.load(gzip.open(UNSEEN))["cache"]
    best = min(v["time"] for v in raw.values() if not isinstance(v["time"], str))
    assert d.optimum == pytest.approx(best / 1e3, rel=1e-15)


def test_crossover_children_take_each_knob_from_a_parent(tmp_path):
    data = _cache(tmp_path)
    # a random first batch (the default): a spread-out one puts the parents on the grid's
    # edges, whose few children (4 parents over 2 knobs) are then all measured by round 2
    t = make_tuner("ml2tuner", data.space, seed=0, crossover_share=1.0, crossover_top=4,
                   init_design="random")
    t.tune(20, ReplayMeasurer(data))
    parents = [r.index for r in sorted((r for r in t.results if r.valid),
                                       key=lambda r: r.cost)[:4]]
    kids = t._crossover(5, set())
    # 4 parents over 2 knobs have at most 16 children, most of them measured already
    assert 1 <= len(kids) == len(set(kids)) <= 5 and not set(kids) & t.visited
    ppos = data.space.value_positions(parents)
    for kid in data.space.value_positions(kids):
        assert all(kid[j] in ppos[:, j] for j in range(kid.size))
    # best-scored first: P ranks the children it proposes
    sc = t._p_score(np.array(kids))
    assert list(sc) == sorted(sc, reverse=True)
    assert t._crossover(0, set()) == []
    none = make_tuner("ml2tuner", data.space, seed=0, crossover_share=0.0)
    none.tune(20, ReplayMeasurer(data))
    assert none._crossover(5, set()) == []


def _first_batch(data, seed, design):
    t = make_tuner("ml2tuner", data.space, seed=seed, batch_size=10, init_design=design)
    t.tune(10, ReplayMeasurer(data))
    return [r.index for r in t.results]


def _min_gap(space, idx):
    pos = space.value_positions(idx) / (space.radix - 1)
    d = np.abs(pos[:, None, :] - pos[None, :, :]).sum(axis=2)
    return d[np.triu_indices(len(idx), 1)].min()


def test_first_batch_is_spread_over_the_knobs_without_a_compiler(tmp_path):
    data = _cache(tmp_path)
    assert make_tuner("ml2tuner", data.space).hp["init_design"] == "random"
    for seed in range(5):
        spread = _first_batch(data, seed, "maximin")
        drawn = _first_batch(data, seed, "random")
        assert len(set(spread)) == 10
        # no two picks within a third of the grid's width (L1); random draws come closer
        assert _min_gap(data.space, spread) > 1 / 3 > 0.2 > _min_gap(data.space, drawn)
        pos = data.space.value_positions(spread)
        for j in range(2):            # each knob's extreme values are among the picks
            assert {0, 11} <= set(pos[:, j].tolist())
    assert _first_batch(data, 3, "maximin") == _first_batch(data, 3, "maximin")   # seeded


def _tuned(tmp_path, n=40, **hp):
    data = _cache(tmp_path)
    hp = {"source_bandit": True, **hp}
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10, **hp)
    t.tune(n, ReplayMeasurer(data))
    return data, t


def test_source_bandit_gives_slots_to_the_source_that_hits(tmp_path):
    _data, t = _tuned(tmp_path, n=20)
    for s in ("global", "local", "crossover", "random"):
        t.source_hits[s], t.source_misses[s] = 0, 0
    prior = t._allocate(4000)
    # no record yet: the prior, seeded by the fixed shares (global 0.34, local and crossover
    # 0.255 each, random 0.15), orders the sources
    assert sum(prior.values()) == 4000
    assert prior["global"] > prior["local"] > prior["random"]
    assert prior["global"] > prior["crossover"] > prior["random"] > 0
    t.source_hits["local"] = 30
    t.source_misses.update({"global": 40, "local": 10, "crossover": 40, "random": 40})
    after = t._allocate(4000)
    assert sum(after.values()) == 4000 and after["local"] > 0.95 * 4000
    # a source with a zero share never gets a slot, whatever its record
    _d, no_x = _tuned(tmp_path, n=20, crossover_share=0.0)
    no_x.source_hits["crossover"] = 100
    assert no_x._allocate(500)["crossover"] == 0


def test_source_bandit_credits_picks_that_beat_the_top_k(tmp_path):
    data, t = _tuned(tmp_path, n=20, bandit_top=3)
    costs = sorted(r.cost for r in t.results if r.valid)
    bar = costs[2]                       # the 3rd best before the round
    free = [i for i in range(len(data.space)) if i not in t.visited][:3]
    t.source_of.update({free[0]: "local", free[1]: "local", free[2]: "random"})
    hits, misses = dict(t.source_hits), dict(t.source_misses)
    new = [MeasureResult(free[0], {}, Status.OK, cost=bar * 0.5),
           MeasureResult(free[1], {}, Status.OK, cost=bar),           # ties the bar: a miss
           MeasureResult(free[2], {}, Status.RUNTIME_ERROR)]
    t.results.extend(new)
    t._credit_sources(new)
    assert t.source_hits["local"] == hits["local"] + 1
    assert t.source_misses["local"] == misses["local"] + 1
    assert t.source_misses["random"] == misses["random"] + 1
    assert t.source_hits["random"] == hits["random"]


def test_sourced_rounds_name_a_source_for_every_pick(tmp_path):
    data, t = _tuned(tmp_path, n=60, epsilon=0.0, init_share_no_compiler=0.0,
                     n_init_no_compiler=8)
    assert t.stats["rounds"] == 5
    # every pick after the random first batch came from a source and was credited once
    credited = sum(t.source_hits.values()) + sum(t.source_misses.values())
    assert credited == 50 == len(t.source_of)
    assert set(t.source_of) == {r.index for r in t.results[10:]}
    assert sum(t.source_hits.values()) > 0
    batch = t.next_batch(10)
    assert len(batch) == len(set(batch)) == 10 and not set(batch) & t.visited


def test_refit_period_without_a_compiler(tmp_path):
    def v_fits(**hp):
        return count_v_fits(_cache(tmp_path), 80, seed=0, batch_size=10, **hp)
    _d, fixed = _tuned(tmp_path, source_bandit=False)
    assert not fixed.source_of                            # the default: fixed shares
    # the default: every round after a random start of 16 (two batches of 10)
    assert v_fits() == (7, 7)
    v_fits_8 = lambda **hp: v_fits(n_init_no_compiler=8, **hp)      # noqa: E731
    assert v_fits_8() == (8, 8)                                       # every round
    assert v_fits_8(refit_every_no_compiler=3) == (3, 8)              # rounds 1, 3 and 6
    assert v_fits_8(refit_every_no_compiler=1, refit_every=3) == (8, 8)  # that is for compilers
    assert v_fits_8(refit_every_no_compiler=2)[0] == 5                # rounds 1, 2, 4, 6, 8


def test_initial_design_takes_a_share_of_the_budget_without_a_compiler(tmp_path):
    from ml2tuner.accel.measurer import AccelMeasurer
    data = _cache(tmp_path)

    def first_fit(budget, **hp):
        """(effective n_init, samples measured when the models were first fitted, run)"""
        hp = {"init_share_no_compiler": 0.25, **hp}
        t, at = v_fit_points(data, budget, 0, 10, **hp)
        assert len(t.results) == min(budget, len(data.space))
        return t._n_init(), at[0], t
    assert make_tuner("ml2tuner", data.space).hp["init_share_no_compiler"] == 0.0
    # the default, share 0: n_init_no_compiler alone, 16 (the models take over after two
    # batches of 10)
    assert first_fit(80, init_share_no_compiler=0.0)[:2] == (16, 20)
    assert first_fit(80, init_share_no_compiler=0.0, n_init_no_compiler=8)[:2] == (8, 10)
    # a quarter of 80 is 20: two random batches of 10, then the models
    assert first_fit(80)[:2] == (20, 20)
    assert first_fit(120)[:2] == (30, 30)
    # n_init_no_compiler is the floor; n_init is for spaces with a compiler
    assert first_fit(20, n_init_no_compiler=8)[:2] == (8, 10)
    assert first_fit(80, n_init_no_compiler=40)[:2] == (40, 40)
    assert first_fit(80, n_init=40)[:2] == (20, 20)
    # so a shorter run is not the prefix of a longer one
    short, long_ = (first_fit(b, n_init_no_compiler=8)[2] for b in (40, 80))
    assert [r.index for r in short.results[:10]] == [r.index for r in long_.results[:10]]
    assert [r.index for r in short.results[10:20]] != [r.index for r in long_.results[10:20]]
    # with a compiler, n_init holds whatever the budget
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    t = make_tuner("ml2tuner", m.space, seed=0, batch_size=10, n_init=8,
                   init_share_no_compiler=0.25)
    t.tune(40, m)
    assert t.budget == 40 and t._n_init() == 8
    # a transfer prior's models take over from the first round (n_init 0) at any budget
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10, init_share_no_compiler=0.25)
    t.use_prior_models(t.v, t.p)
    t.budget = 200
    assert t._n_init() == 0


def _record_random_asks(monkeypatch, key) -> list:
    """(key(tuner), n) for every V-screened random fill a model round asks ML2Tuner for."""
    from ml2tuner.tuners.ml2tuner import ML2Tuner
    asked = []
    real = ML2Tuner._random_valid

    def recording(self, n, use_v=True, **kw):
        if use_v and self.stats["rounds"]:
            asked.append((key(self), n))
        return real(self, n, use_v=use_v, **kw)
    monkeypatch.setattr(ML2Tuner, "_random_valid", recording)
    return asked


def test_early_rounds_take_a_larger_random_share_without_a_compiler(tmp_path, monkeypatch):
    from ml2tuner.accel.measurer import AccelMeasurer
    data = _cache(tmp_path)
    # (samples measured before the round, V-screened random picks asked for)
    fills = _record_random_asks(monkeypatch, lambda t: len(t.results))

    def shares(**hp):
        fills.clear()
        t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10, epsilon=0.0, **hp)
        t.tune(100, ReplayMeasurer(data))
        early = [n for at, n in fills if at < 50]
        late = [n for at, n in fills if at >= 50]
        return t, sum(early) / (10 * len(early)), sum(late) / (10 * len(late))
    t, early, late = shares()
    assert t.hp["early_share_no_compiler"] == 0.0 and t._epsilon_v() == 0.15
    assert early < 0.35 and late < 0.35                  # off by default: 0.15 throughout
    t, early, late = shares(early_share_no_compiler=0.5)
    assert early >= 0.4 and late < 0.35                  # 0.5 for the first 50 samples
    assert t._epsilon_v() == t.hp["epsilon_no_compiler"]
    t.results = t.results[:49]
    assert t._epsilon_v() == 0.5
    # with a compiler the setting does nothing (random fills only stand in for candidates the
    # compiler rejected): the same run, pick for pick
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    runs = []
    for share in (0.0, 1.0):
        fills.clear()
        t = make_tuner("ml2tuner", m.space, seed=0, batch_size=10, early_share_no_compiler=share)
        t.tune(40, m)
        runs.append(([r.index for r in t.results], list(fills)))
    assert t.stats["rounds"] >= 2 and runs[0] == runs[1]


def test_a_stalled_run_takes_a_larger_random_share_until_a_new_best(tmp_path, monkeypatch):
    data = _cache(tmp_path)
    # (samples since the best before the round, V-screened random picks asked for)
    asked = _record_random_asks(monkeypatch, lambda t: t._since_best())
    make_tuner("ml2tuner", data.space, seed=1, batch_size=10, epsilon=0.0,
               stall_samples_no_compiler=10, stall_epsilon_no_compiler=0.8).tune(
        150, ReplayMeasurer(data))
    stalled = [n for since, n in asked if since >= 10]
    fresh = [n for since, n in asked if since < 10]
    assert stalled and fresh
    assert sum(stalled) / (10 * len(stalled)) >= 0.6 > 0.35 >= sum(fresh) / (10 * len(fresh))
    monkeypatch.undo()
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10,
                   stall_samples_no_compiler=20, stall_epsilon_no_compiler=0.6)
    t.tune(60, ReplayMeasurer(data))
    valid = [r.cost if r.valid else np.inf for r in t.results]
    at_best = int(np.argmin(valid))
    assert t._since_best() == len(valid) - 1 - at_best
    # the share follows the samples since the best: stalled for 20 or more, else the default
    best = min(valid)
    t.results = [r for r in t.results if not (r.valid and r.cost == best)] + \
        [r for r in t.results if r.valid and r.cost == best]      # the best comes last
    assert t._since_best() == 0 and t._epsilon_v() == t.hp["epsilon_no_compiler"] == 0.15
    worse = [r for r in t.results if not (r.valid and r.cost == best)]
    t.results = t.results[-1:] + worse[:19]
    assert t._since_best() == 19 and t._epsilon_v() == 0.15
    t.results = [t.results[0]] + worse[:20]
    assert t._since_best() == 20 and t._epsilon_v() == 0.6
    # no valid sample yet: every sample counts as stalled
    t.results = [MeasureResult(index=i, config={}, status=Status.RUNTIME_ERROR)
                 for i in range(3)]
    assert not any(r.valid for r in t.results) and t._since_best() == 3
    # off by default, and the default run is the run without the option, pick for pick
    assert make_tuner("ml2tuner", data.space).hp["stall_samples_no_compiler"] == 0
    runs = [[r.index for r in make_tuner("ml2tuner", data.space, seed=3, **hp)
             .tune(60, ReplayMeasurer(data)).history]
            for hp in ({}, {"stall_epsilon_no_compiler": 0.9})]
    assert runs[0] == runs[1]


def test_random_picks_can_come_from_ps_better_share(tmp_path):
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10, random_top_no_compiler=0.25)
    t.tune(40, ReplayMeasurer(data))
    assert t.hp["random_top_no_compiler"] == 0.25
    assert make_tuner("ml2tuner", data.space).hp["random_top_no_compiler"] == 1.0   # off
    un = np.array(sorted(set(range(len(data.space))) - t.visited))
    sc = t._p_score(un)
    cut = np.quantile(sc, 0.75)
    picks = t._random_promising(8, set())
    assert len(picks) == len(set(picks)) == 8 and not set(picks) & t.visited
    assert all(s >= cut for s in t._p_score(np.array(picks)))
    assert all(p >= t.hp["v_threshold"] for p in t._pv(picks))
    # random within that share: another draw gives other picks from the same pool
    again = t._random_promising(8, set())
    assert again != picks and all(s >= cut for s in t._p_score(np.array(again)))
    assert not set(t._random_promising(8, set(picks))) & set(picks)    # `taken` is left out


def test_random_picks_from_ps_better_share_on_a_large_space(tmp_path, monkeypatch):
    import ml2tuner.tuners.ml2tuner as m2
    data = _cache(tmp_path)
    monkeypatch.setattr(m2, "WHOLE_SPACE", 60)       # 144 configurations count as large
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10, random_top_no_compiler=0.25)
    t.tune(40, ReplayMeasurer(data))
    drawn, real = [], data.space.sample

    def recording(rng, k, exclude=None):
        drawn.append(real(rng, k, exclude=exclude))
        return drawn[-1]
    monkeypatch.setattr(data.space, "sample", recording)
    picks = t._random_promising(5, set())
    # the top quarter of a random sample of 60 unvisited configurations, not of all of them
    (sample,) = drawn
    assert len(sample) == 60 and not set(sample.tolist()) & t.visited
    assert len(picks) == len(set(picks)) == 5 and set(picks) <= set(sample.tolist())
    assert all(s >= np.quantile(t._p_score(sample), 0.75) for s in t._p_score(np.array(picks)))


def test_model_p_depth_follows_whether_the_space_compiles(tmp_path):
    from ml2tuner.accel.measurer import AccelMeasurer
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10)
    t.tune(30, ReplayMeasurer(data))
    assert t.p.get_params()["max_depth"] == t.hp["p_max_depth_no_compiler"] == 4
    assert t.p.booster_.num_boosted_rounds() == t.hp["p_n_estimators"]
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    t = make_tuner("ml2tuner", m.space, seed=0, batch_size=10, n_init=8)
    t.tune(30, m)
    assert t.fitted["p"] and t.p.get_params()["max_depth"] == t.hp["p_max_depth"] == 6
    # an explicit setting holds on its own kind of space only
    t = make_tuner("ml2tuner", data.space, seed=0, batch_size=10, p_max_depth_no_compiler=2,
                   p_max_depth=9)
    t.tune(30, ReplayMeasurer(data))
    assert t.p.get_params()["max_depth"] == 2
    trees = json.loads(t.p.booster_.save_raw("json"))["learner"]["gradient_booster"]["model"]
    depth = max(_tree_depth(tr) for tr in trees["trees"])
    assert 1 <= depth <= 2


def _tree_depth(tree) -> int:
    left, right = tree["left_children"], tree["right_children"]

    def down(n):
        return 0 if left[n] == -1 else 1 + max(down(left[n]), down(right[n]))
    return down(0)


def _p_fit_settings(tmp_path, budget, **hp):
    """(subsample, seed) of every fit of Model P in a run of `budget` on the slope cache, and
    the run's measured indices."""
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=4, n_init=8, batch_size=4, **hp)
    fits, fit = [], t.p.fit

    def spy(X, y):
        fits.append((t.p.subsample, t.p.random_state))
        return fit(X, y)

    t.p.fit = spy
    res = t.tune(budget, ReplayMeasurer(data))
    return fits, [r.index for r in res.history]


def test_p_subsample_acts_in_long_runs_only_with_a_fresh_seed_per_refit(tmp_path):
    fits, picks = _p_fit_settings(tmp_path, 60, p_subsample_no_compiler=0.7,
                                  p_subsample_min_budget=50)
    assert len(fits) >= 4 and {s for s, _ in fits} == {0.7}
    seeds = [r for _, r in fits]
    assert len(set(seeds)) == len(seeds)            # P's rows drawn afresh at every refit
    again = _p_fit_settings(tmp_path, 60, p_subsample_no_compiler=0.7,
                            p_subsample_min_budget=50)
    assert again == (fits, picks)                   # and reproducible from the tuner's seed
    # below the minimum budget every row is used and the run is the defaults' run
    short, short_picks = _p_fit_settings(tmp_path, 40, p_subsample_no_compiler=0.7,
                                         p_subsample_min_budget=50)
    default, default_picks = _p_fit_settings(tmp_path, 40)
    assert {s for s, _ in short} == {1.0} and short_picks == default_picks
    # and the subsampled fits change what a long run measures
    assert picks != _p_fit_settings(tmp_path, 60)[1]


def test_spaced_incumbents_sit_in_separate_basins(tmp_path):
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=0, neighbour_top=3, local_spacing=2)
    t.tune(40, ReplayMeasurer(data))
    ranked = sorted((r for r in t.results if r.valid), key=lambda r: r.cost)
    spaced = t._spaced_incumbents(3)
    assert spaced[0] is ranked[0] and len(spaced) == 3
    pos = data.space.value_positions([r.index for r in spaced])
    assert all((pos[i] != pos[j]).sum() >= 2 for i in range(3) for j in range(i))
    # each one is the best result outside the earlier ones' one-knob neighbourhoods
    for j, r in enumerate(spaced[1:], 1):
        near = {int(i) for s in spaced[:j] for i in data.space.neighbours(s.index)}
        first = next(q for q in ranked if q.index not in near
                     and all(q.index != s.index for s in spaced[:j]))
        assert r is first
    t.hp["local_spacing"] = 1                    # 1: simply the best ones
    assert t._spaced_incumbents(3) == ranked[:3]


def test_blend_crossover_draws_values_between_and_beyond_the_parents(tmp_path):
    data = _cache(tmp_path)
    t = make_tuner("ml2tuner", data.space, seed=0, crossover_share=1.0, crossover_top=2,
                   init_design="random", crossover_blend=0.5, n_init_no_compiler=8)
    t.tune(10, ReplayMeasurer(data))       # the random first batch: parents far apart
    assert t.fitted["p"]
    parents = data.space.value_positions(
        [r.index for r in sorted((r for r in t.results if r.valid), key=lambda r: r.cost)[:2]])
    lo, hi = parents.min(axis=0), parents.max(axis=0)
    reach = 0.5 * (hi - lo)
    kids = data.space.value_positions(t._crossover(50, set()))
    assert len(kids) >= 3
    # every knob within the parents' box widened by half its side on each end (BLX-0.5)
    assert np.all(kids >= np.floor(lo - reach)) and np.all(kids <= np.ceil(hi + reach))
    # unlike uniform crossover (each knob one of the parents' values) it reaches values
    # strictly between them where the parents differ by more than one position
    inner = [(kid[j] not in parents[:, j]) for kid in kids for j in range(kid.size)
             if hi[j] - lo[j] > 1]
    assert any(inner)
    # 0, the default: uniform crossover, each knob from a parent
    assert make_tuner("ml2tuner", data.space).hp["crossover_blend"] == 0.0
    t.hp["crossover_blend"] = 0.0
    for kid in data.space.value_positions(t._crossover(50, set())):
        assert all(kid[j] in parents[:, j] for j in range(kid.size))
