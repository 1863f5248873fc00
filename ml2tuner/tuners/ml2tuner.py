"""ML2Tuner: multi-level ML tuning (arXiv 2411.10764).

Per round: the explorer, guided by Model P, proposes (alpha+1)*N unvisited candidates; Model V
drops those predicted invalid; the survivors are compiled (no run) for their hidden features, and
those that fail to compile are dropped for free; Model A re-ranks on visible + hidden features
and keeps N; the N are measured; V, P and A are refit (V on every config whose validity is known,
P and A on valid ones). A random initial design runs until the models can be fit, and an
epsilon share of each round is picked at random to keep exploring. On spaces without a compiler
(no hidden features, so no A) parts of each round come from a trust region around the best
configurations, from crossover children of them, and from V-screened random picks, in fixed
shares or (`source_bandit`) by each source's record; the first batch can be spread out over the
knobs' values (`init_design`).
"""
from __future__ import annotations

import math

import numpy as np

from ..acquisition import ACQUISITIONS, PerformanceEnsemble, acquisition
from ..data.records import hidden_row
from ..hparams import HP, acting_on
from ..measure import MeasureResult, best_found_curve
from ..selection import ml2_step
from ..surrogates import AdvancedModel, PerformanceModel, ValidityModel, offset_column
from ..surrogates.defaults import model_settings
from .base import Tuner

# where the source bandit's picks come from (spaces without a compiler)
SOURCES = ("global", "local", "crossover", "random")
XGB = dict(n_estimators=(10, 600), max_depth=(1, 12), eta=(0.01, 1.0))
#: spaces up to this many configurations are scored whole (one batched prediction per fit);
#: larger ones through simulated annealing or a random sample of this size
WHOLE_SPACE = 100_000
SA = ("explorer", ("sa",))
#: settings that act only where the space has a compiler (Model A, the compile filter, the
#: originals of the `_no_compiler` twins) or only where it has none (the trust region,
#: crossover and V-screened random shares, the first batch's design, the source bandit, the
#: `_no_compiler` twins)
COMPILER_ONLY = ("n_init", "a_min_valid", "use_a", "a_rank_compiled", "compile_filter",
                 "refit_every", "p_max_depth", "a_n_estimators", "a_max_depth", "a_eta")
NO_COMPILER_ONLY = ("n_init_no_compiler", "epsilon_no_compiler", "local_share", "crossover_share",
                    "crossover_top", "local_diverse", "init_design", "refit_every_no_compiler",
                    "p_max_depth_no_compiler", "source_bandit", "bandit_top", "bandit_prior",
                    "init_share_no_compiler", "early_share_no_compiler",
                    "early_epsilon_no_compiler", "random_top_no_compiler",
                    "p_subsample_no_compiler", "p_subsample_min_budget", "local_spacing",
                    "crossover_blend", "stall_samples_no_compiler", "stall_epsilon_no_compiler")


def _xgb_hps(prefix, what, tunable=()):
    """Boosting rounds, depth and learning rate of one model; defaults from the estimators'
    online settings (`surrogates.defaults`)."""
    d = model_settings("online", prefix)
    n, depth, eta = d["n_estimators"], d["max_depth"], d["learning_rate"]
    return {f"{prefix}_n_estimators": HP(n, *XGB["n_estimators"], doc=f"{what}: boosting rounds",
                                         tunable="n_estimators" in tunable),
            f"{prefix}_max_depth": HP(depth, *XGB["max_depth"], doc=f"{what}: tree depth",
                                      tunable="max_depth" in tunable),
            f"{prefix}_eta": HP(eta, *XGB["eta"], log=True, doc=f"{what}: learning rate",
                                tunable="eta" in tunable)}


class ML2Tuner(Tuner):
    name = "ml2tuner"
    HYPERPARAMETERS = acting_on({
        "batch_size": HP(10, 1, 64, doc="N: configurations measured per round"),
        # HPO searches by default only the settings below marked tunable: with two replayed
        # runs per training space a setting's score is noisy, and every further dimension is
        # one more way to fit that noise instead of the next space
        "alpha": HP(1.0, 0.0, 8.0, doc="the explorer proposes (alpha+1)*N candidates per round",
                    tunable=False),
        "n_init": HP(8, 2, 200, doc="random initial samples before the models take over"),
        # 16 with refit_every_no_compiler 1, against 8 with 3: on the development GPU caches
        # +0.012 / +0.006 / +0.005 mean optimum/best at budgets 50 / 100 / 200 (100 paired runs
        # per cache at each of seeds 26000 and 27000), and first in every group of the GPU
        # benchmark at 50, 100 and 200 on seeds 0, 1 and 2 (convolution_milo__A4000, where
        # runs climb steadily from few samples, -0.031 at 200 on seed 1, level on seed 0 and
        # +0.015 on seed 2); the wider start finds the optimum's basin more often and the
        # models, refit every round, climb it sooner
        "n_init_no_compiler": HP(16, 2, 200, doc="n_init on spaces without a compiler (no "
                                                  "hidden features, e.g. Kernel Tuner caches)"),
        "v_threshold": HP(0.2, 0.02, 0.98, doc="Model V: minimum predicted validity to keep "
                          "(low: compile errors are caught by the compile filter anyway)"),
        "epsilon": HP(0.05, 0.0, 0.5, doc="share of each round picked uniformly at random"),
        "epsilon_no_compiler": HP(0.15, 0.0, 0.5,
                                  tunable=False,
                                  doc="on spaces without a compiler (no hidden features, e.g. "
                                      "Kernel Tuner caches) a further share of each round "
                                      "picked at random among the configurations V passes: "
                                      "with P alone and no A, it keeps P from settling in one "
                                      "basin"),
        "a_min_valid": HP(5, 0, 400, doc="valid samples before Model A re-ranks (else P)"),
        "pool_factor": HP(3.0, 1.0, 10.0, doc="explorer returns pool_factor*(alpha+1)*N "
                                              "ranked candidates for V to filter", tunable=False),
        "neighbour_top": HP(3, 0, 20, doc="unvisited one-knob neighbours of the best this many "
                                          "measured configs join the candidates A ranks",
                            tunable=False),
        "use_v": HP(True, choices=(True, False), tunable=False,
                    doc="Model V screens candidates (False: the ablation without V)"),
        "use_a": HP(True, choices=(True, False), tunable=False,
                    doc="Model A re-ranks on hidden features (False: the ablation without A; "
                        "P ranks and nothing is compiled for features)"),
        "a_rank_compiled": HP(False, choices=(False, True), tunable=False,
                              doc="Model A also ranks every configuration compiled in earlier "
                                  "rounds and not yet measured (their compile is paid)"),
        "compile_filter": HP(True, choices=(True, False),
                             doc="drop candidates that fail to compile (seen while extracting "
                                 "hidden features) without profiling them", tunable=False),
        "explorer": HP("auto", choices=("auto", "sa", "exhaustive"), tunable=False,
                       doc="simulated annealing over P, or scoring every unvisited config in "
                           "one batched prediction; auto: exhaustive up to 100k configs"),
        # searched only when the explorer is 'sa' ('auto' uses them, as set, beyond 100k configs)
        "sa_iters": HP(500, 20, 2000, log=True, doc="simulated annealing: iterations",
                       condition=SA),
        "sa_walkers": HP(128, 8, 512, log=True, doc="simulated annealing: parallel walkers",
                         condition=SA),
        "sa_early_stop": HP(50, 5, 500, log=True, doc="simulated annealing: stop after this many "
                            "iterations without a new top candidate", condition=SA),
        "acquisition": HP("mean", choices=ACQUISITIONS, tunable=False,
                          doc="how P's predictions rank candidates: mean (exploit), or lcb / "
                              "ei over a bootstrap ensemble of P times V's validity "
                              "probability (no better on the GPU caches, at 5x the fits)"),
        "ensemble": HP(5, 1, 16, doc="bootstrap copies of Model P behind lcb/ei",
                       condition=("acquisition", ("lcb", "ei"))),
        "kappa": HP(1.0, 0.0, 5.0, doc="lcb: weight of the ensemble spread",
                    condition=("acquisition", ("lcb",))),
        "local_share": HP(0.3, 0.0, 1.0, doc="share of each model round taken from unvisited "
                                              "one-knob neighbours of the neighbour_top best "
                                              "configs (a trust region), ranked by the "
                                              "acquisition; spaces without a compiler"),
        "crossover_share": HP(0.3, 0.0, 1.0,
                              tunable=False,
                              doc="share of each model round taken from uniform-crossover "
                                  "children of the crossover_top best configs (as a genetic "
                                  "algorithm breeds), V-screened and ranked by the acquisition; "
                                  "spaces without a compiler"),
        "crossover_top": HP(8, 2, 20, tunable=False,
                                      doc="parents of the crossover children: this many best "
                                          "configurations found"),
        # off: on the development GPU caches (gpu_dev_paired, 100 paired runs per cache at
        # seeds 17000 and 18000) 0.25 gave +0.003 / -0.000 / +0.002 and -0.003 / +0.005 / +0.007
        # mean optimum/best at budgets 50 / 100 / 200, 0.5 -0.002 / -0.000 / +0.004 and -0.000 /
        # +0.003 / +0.005: short of the gate set before the runs (a mean gain of at least 0 at
        # every budget), so neither went on to the held-out caches
        "crossover_blend": HP(0.0, 0.0, 1.0, tunable=False,
                              doc="0: uniform crossover (each knob from one parent); above 0, "
                                  "each numeric knob's value position is drawn between the "
                                  "parents' and up to this share of their distance beyond "
                                  "(blend crossover, BLX-alpha; values between the parents', "
                                  "as a particle swarm moves)"),
        "local_spacing": HP(1, 1, 10, tunable=False,
                            doc="the trust region's incumbents: the best configurations found "
                                "that differ pairwise in at least this many knobs (1: simply "
                                "the neighbour_top best; 2 or more keeps them in separate "
                                "basins)"),
        "local_diverse": HP(True, choices=(True, False),
                            tunable=False,
                            doc="the trust region's picks go round the (incumbent, knob) "
                                "pairs, best-scored first, instead of following the ranking"),
        # a trade-off, not a gain, on the development GPU caches (100 paired runs): pnpoly, whose
        # optimum sits at a knob's extreme value, +0.04 optimum/best at budget 50; the
        # convolution cache, whose optimum is inside the grid, -0.02 at 50 and -0.04 at 100.
        # Tunable: on the HPO score (P averaged over budgets from 10 samples on) the first batch
        # weighs more, and maximin moved pnpoly's P from 0.36 to 0.85 (40 paired seeds)
        "init_design": HP("random", choices=("random", "maximin"),
                          doc="the first batch on spaces without a compiler: uniform at "
                              "random, or spread out (greedy maximin over knob value "
                              "positions, normalised, among 64 random draws per pick; it "
                              "favours the knobs' extreme values)"),
        "p_subsample_no_compiler": HP(1.0, 0.3, 1.0, tunable=False,
                                      doc="on spaces without a compiler, each of Model P's "
                                          "trees is fitted on this share of the samples "
                                          "(XGBoost's subsample), drawn afresh at every refit "
                                          "(1: all of them)"),
        "p_subsample_min_budget": HP(150, 0, 100000, tunable=False,
                                     doc="p_subsample_no_compiler acts only in runs whose "
                                         "budget is at least this many samples"),
        **_xgb_hps("v", "Model V"),
        **_xgb_hps("p", "Model P"),
        **_xgb_hps("a", "Model A"),
        # measured by benchmarks/replay_cost.py: refitting every third round costs no score
        # measurable with 48 paired runs and more than halves the run time against refitting
        # every round; warm-started boosting saves less and costs score, so it is off
        "refit_every": HP(3, 1, 10, tunable=False,
                          doc="refit V, P and A after every this many rounds (1: every round)"),
        # 1 (every round) alone won on the development GPU caches but lost at 100 and 200 in an
        # earlier 20-repeat benchmark (P converges sooner and a run stays in its basin); with
        # the wider random start of n_init_no_compiler 16 it is the default (see there)
        "refit_every_no_compiler": HP(1, 1, 10, tunable=False,
                                      doc="refit_every on spaces without a compiler (no "
                                          "compiles, so the period trades exploration against "
                                          "replay time: V's and P's refits are most of a "
                                          "replayed run's time, and every round instead of "
                                          "every third about halves replay speed)"),
        # off: on the development GPU caches (60 paired runs each, V and P refit every round
        # in both arms) every variant tried lost to the fixed shares at budgets 50 and 100 (by
        # 0.009-0.024 optimum/best): the picks that beat the top-k are mostly the trust
        # region's, and slots moved there cost the exploration that finds the next basin
        # (bandit_top 1, 5 or 10; bandit_prior 0, 4, 20; slots drawn in proportion to the
        # posterior means instead of by Thompson sampling)
        "source_bandit": HP(False, choices=(False, True), tunable=False,
                            doc="spaces without a compiler: each model slot goes to a source "
                                "(P's global ranking, trust region, crossover, V-screened "
                                "random) by Thompson sampling over how often that source's "
                                "picks beat the bandit_top-th best cost measured before their "
                                "round, instead of the fixed local_share / crossover_share / "
                                "epsilon_no_compiler shares (which then seed the priors)"),
        "bandit_top": HP(5, 1, 50, tunable=False, condition=("source_bandit", (True,)),
                         doc="source bandit: a pick is a success when it beats the "
                             "bandit_top-th best cost measured before its round"),
        "bandit_prior": HP(4.0, 0.0, 50.0, tunable=False, condition=("source_bandit", (True,)),
                           doc="source bandit: prior pseudo-picks per source, split in "
                               "proportion to the fixed shares"),
        # a trade-off, not a gain: on the development GPU caches, one run per budget, 0.25
        # against 0 gave +0.007 / +0.010 / +0.006 mean optimum/best at budgets 50 / 100 / 200
        # (200 paired runs per cache, seed 5000) and +0.007 / +0.005 / +0.009 (300, seed 6000),
        # with fewer runs stuck below 0.9 of the optimum (pnpoly 28 -> 9 of 300); in the GPU
        # benchmark (50 repeats, seeds 0 and 1) it helped pnpoly, gemm and both legacy
        # convolution caches (0.992-0.997 -> 1.000 at 200 on the unseen one) and lost 0.02-0.05
        # on convolution_milo__A4000 at every budget, where runs climb steadily from few
        # samples: over the 7 caches +0.001 / +0.003 / -0.002 and +0.004 / +0.006 / -0.003.
        # SMAC3 likewise gives its initial design up to a quarter of the budget
        "init_share_no_compiler": HP(0.0, 0.0, 0.5, tunable=False,
                                     doc="spaces without a compiler: the random initial design "
                                         "takes at least this share of the run's budget (the "
                                         "n_trial given to tune), and n_init at the least"),
        # off, like init_share_no_compiler, and for the same reason. More exploration early
        # (0.5 / 0.5: the models' climb starts after n_init, at half speed) and random picks
        # among P's better half (random_top_no_compiler 0.5) gain on the development GPU caches
        # (one run per budget, 100 paired runs per cache, `gpu_dev_paired.py` at seeds 9000 and
        # 10000): early alone +0.003 / +0.003 / +0.002 and +0.000 / +0.009 / +0.007 mean
        # optimum/best at budgets 50 / 100 / 200, both +0.016 / +0.009 / +0.014 and +0.011 /
        # +0.018 / +0.012 (convolution_milo__A100 0.944 -> 0.980 and 0.946 -> 0.970 at 200).
        # In the GPU benchmark (50 repeats, seeds 0 and 1, `gpu_compare.py`) both lost on
        # convolution_milo__A4000 at every budget (by 0.001-0.054), fewer of its runs ending
        # in the optimum's basin; at 200 the caches not developed on came out -0.006 / -0.000
        # (early alone) and -0.011 / -0.005 (both)
        "early_share_no_compiler": HP(0.0, 0.0, 1.0, tunable=False,
                                      doc="spaces without a compiler: during this first share "
                                          "of the run's budget (the n_trial given to tune), the "
                                          "V-screened random share of each model round is "
                                          "early_epsilon_no_compiler instead of "
                                          "epsilon_no_compiler (0: off; with source_bandit "
                                          "the bandit sets the shares and this does nothing)"),
        "early_epsilon_no_compiler": HP(0.5, 0.0, 1.0, tunable=False,
                                        doc="the V-screened random share of a model round "
                                            "during early_share_no_compiler of the budget"),
        # paired runs on the development caches (100 per cache, seeds 19000 and 20000): 50
        # samples +0.000 / -0.001 / -0.003 and +0.000 / -0.000 / +0.002 mean optimum/best at
        # budgets 50 / 100 / 200, 30 samples +0.000 / -0.001 / +0.001 and +0.000 / +0.000 /
        # -0.002; below the gate (a gain at every budget), so off
        "stall_samples_no_compiler": HP(0, 0, 1000, tunable=False,
                                        doc="spaces without a compiler: once this many samples "
                                            "have passed without a new best, the V-screened "
                                            "random share of each model round is "
                                            "stall_epsilon_no_compiler until one is found (0: "
                                            "off; runs that keep finding better configurations "
                                            "are unaffected)"),
        "stall_epsilon_no_compiler": HP(0.5, 0.0, 1.0, tunable=False,
                                        doc="the V-screened random share of a model round "
                                            "while a run is stalled (stall_samples_no_compiler)"),
        "random_top_no_compiler": HP(1.0, 0.05, 1.0, tunable=False,
                                     doc="spaces without a compiler: a model round's "
                                         "V-screened random picks are drawn among the "
                                         "unvisited configurations P ranks in this top share "
                                         "(1: among all of them; not with source_bandit, "
                                         "whose random source draws among all)"),
        # measured on the development GPU caches: depth 4 against 6, +0.003 / +0.006 / +0.005
        # mean optimum/best at budgets 50 / 100 / 200 over 100 paired runs at seed 1000 and
        # +0.003 / +0.003 / +0.004 over 200 at seed 2000 (one standard error 0.003-0.004), the
        # gain on the convolution cache, and a third less fitting time; depth 3 matched it on
        # the first 100 runs only, depth 2 was worse. With tens to a few hundred valid samples
        # and no hidden features, shallower trees share what they learn between neighbouring
        # configurations
        "p_max_depth_no_compiler": HP(4, *XGB["max_depth"], tunable=False,
                                      doc="Model P's tree depth on spaces without a compiler "
                                          "(p_max_depth is for spaces with one)"),
        "warm_rounds": HP(0, 0, 200, tunable=False,
                          doc="a refit continues boosting from the previous models with this "
                              "many new rounds (0: refit from scratch); a model that reaches "
                              "twice its boosting rounds is refit from scratch"),
    }, compiler=COMPILER_ONLY, no_compiler=NO_COMPILER_ONLY)

    def __init__(self, space, seed=0, **hparams):
        super().__init__(space, seed, **hparams)
        hp = self.hp
        self.known_invalid: set[int] = set()      # failed to compile while extracting features
        self.initial_design: list[int] = []       # a transfer prior's picks, measured first
        self.hidden: dict[int, dict | None] = {}
        self.hidden_names: list[str] | None = None
        self.v = ValidityModel(n_estimators=hp["v_n_estimators"], max_depth=hp["v_max_depth"],
                               learning_rate=hp["v_eta"], threshold=hp["v_threshold"],
                               random_state=self.seed, warm_rounds=hp["warm_rounds"])
        self.p = PerformanceModel(n_estimators=hp["p_n_estimators"], max_depth=hp["p_max_depth"],
                                  learning_rate=hp["p_eta"], random_state=self.seed,
                                  warm_rounds=hp["warm_rounds"])
        self.a = AdvancedModel(n_estimators=hp["a_n_estimators"], max_depth=hp["a_max_depth"],
                               learning_rate=hp["a_eta"], random_state=self.seed,
                               warm_rounds=hp["warm_rounds"])
        self.ensemble: PerformanceEnsemble | None = None
        self.fitted = {"v": False, "p": False, "a": False}
        self._sa = None
        self.n_updates = 0
        self._pred: dict = {}      # whole-space predictions of the current fits (see _predict)
        self.stats = {"compiled": 0, "compile_dropped": 0, "v_dropped": 0, "rounds": 0,
                      "a_rounds": 0}
        # source bandit (spaces without a compiler): which source proposed each pick, and per
        # source the picks that beat the bandit_top-th best cost before their round, and those
        # that did not
        self.source_of: dict[int, str] = {}
        self.source_hits = {s: 0 for s in SOURCES}
        self.source_misses = {s: 0 for s in SOURCES}

    def batch_size(self) -> int:
        # with a compiler, the random initial design is screened one configuration at a time
        # and each survivor measured at once: batching it would compile a whole batch of
        # survivors (~70 compiles on a VTA layer) before the first measurement, a lag that
        # random search, measuring as it draws, does not have on the simulated clock
        if self._compiles and len(self.results) < self._n_init():
            return 1
        return self.hp["batch_size"]

    def has_next(self) -> bool:
        return len(self.visited) + len(self.known_invalid - self.visited) < len(self.space)

    # ----- features -----------------------------------------------------------------------------
    @property
    def _compiles(self) -> bool:
        return bool(self.measurer is not None and self.measurer.has_compiler)

    def _hidden_of(self, idx: list[int]) -> list[dict | None]:
        need = [i for i in idx if i not in self.hidden]
        if need:
            for i, h in zip(need, self.measurer.hidden_features(need)):
                self.hidden[i] = h
            self.stats["compiled"] += len(need)
        return [self.hidden[i] for i in idx]

    def _hidden_matrix(self, hs: list[dict]) -> np.ndarray:
        if self.hidden_names is None:
            self.hidden_names = sorted(hs[0])
        # an absent feature is NaN, as in offline training (data.records), so a warm-started
        # Model A is fed as it was trained
        return np.array([hidden_row(h, self.hidden_names) for h in hs], dtype=float)

    def _a_features(self, idx: list[int], hs: list[dict]) -> np.ndarray:
        return np.hstack([self.space.features(idx), self._hidden_matrix(hs)])

    # ----- proposing ----------------------------------------------------------------------------
    def _compile_filter(self, idx: list[int]) -> list[int]:
        if not (self._compiles and self.hp["compile_filter"]):
            return idx
        keep = []
        for i, h in zip(idx, self._hidden_of(idx)):
            if h is None:
                self.known_invalid.add(i)
                self.stats["compile_dropped"] += 1
            else:
                keep.append(i)
        return keep

    def _random_valid(self, k: int, use_v: bool = True, exclude=()) -> list[int]:
        """k random unvisited configs, screened by the compiler and (when `use_v` and once it
        is trained) by Model V; drawn in small chunks so that no more candidates are compiled
        than needed."""
        out: list[int] = []
        if (not self.results and not self.initial_design and not self._compiles
                and self.hp["init_design"] == "maximin"):
            out = self._spread_out(k)
        while self.initial_design and len(out) < k:
            i = int(self.initial_design.pop(0))
            if i not in self.visited and i not in self.known_invalid and i not in out:
                out.extend(self._compile_filter([i]))
        for _ in range(200):
            if len(out) >= k:
                break
            excl = self.visited | self.known_invalid | set(out) | set(exclude)
            screen = use_v and self.hp["use_v"] and self.fitted["v"]
            cand = self.space.sample(self.rng, 4 * (k - len(out)) if screen
                                     else k - len(out), exclude=excl).tolist()
            if not cand:
                break
            if screen:
                pv = self._pv(cand)
                cand = [i for i, p in zip(cand, pv) if p >= self.hp["v_threshold"]] or cand[:1]
                cand = cand[:k - len(out)]
            out.extend(self._compile_filter(cand))
        return out[:k]

    def _spread_out(self, k: int) -> list[int]:
        """k unvisited configurations far apart: greedy maximin (normalised L1 distance over
        knob value positions) among 64*k random draws, from a random first pick."""
        cand = self.space.sample(self.rng, 64 * k, exclude=self.visited | self.known_invalid)
        if cand.size <= k:
            return [int(i) for i in cand]
        pos = self.space.value_positions(cand) / np.maximum(self.space.radix - 1, 1)
        picks = [int(self.rng.integers(cand.size))]
        dist = np.abs(pos - pos[picks[0]]).sum(axis=1)
        while len(picks) < k:
            j = int(np.argmax(dist))
            picks.append(j)
            dist = np.minimum(dist, np.abs(pos - pos[j]).sum(axis=1))
        return [int(cand[j]) for j in picks]

    @property
    def _acquisition(self) -> str:
        return self.hp["acquisition"]

    def _p_score(self, idx) -> np.ndarray:
        """Higher is better: -P's log cost, or the acquisition over P's ensemble and V."""
        kind = self._acquisition
        if kind == "mean" or self.ensemble is None:
            return -self._predict("p", idx, self.p.predict_log)
        X = self.space.features(idx)
        mu, sd = self.ensemble.predict(X)
        pv = self._pv(idx) if self.fitted["v"] and self.hp["use_v"] else None
        best = min(np.log(r.cost) for r in self.results if r.valid)
        return acquisition(kind, mu, sd, best, self.hp["kappa"], pv)

    def _explore(self, k: int) -> list[int]:
        excl = self.visited | self.known_invalid
        explorer = self.hp["explorer"]
        if explorer == "auto":
            explorer = "exhaustive" if len(self.space) <= WHOLE_SPACE else "sa"
        if explorer == "exhaustive":
            from ..explore import exhaustive_top
            return exhaustive_top(self.space, self._p_score, k, excl, rng=self.rng)
        if self._sa is None:
            from ..explore import SimulatedAnnealing
            self._sa = SimulatedAnnealing(self.space, self.rng, n_iter=self.hp["sa_iters"],
                                          parallel_size=self.hp["sa_walkers"],
                                          early_stop=self.hp["sa_early_stop"])
        return self._sa.find_maximums(self._p_score, k, excl)

    def next_batch(self, n: int) -> list[int]:
        hp = self.hp
        if not (self.fitted["p"] and self.fitted["v"]) or len(self.results) < self._n_init():
            return self._random_valid(n)
        self.stats["rounds"] += 1
        if not self._compiles and hp["source_bandit"]:
            return self._sourced_batch(n)
        n_rand = int(self.rng.binomial(n, hp["epsilon"])) if hp["epsilon"] > 0 else 0
        eps_v = 0.0 if self._compiles else self._epsilon_v()
        n_rand_v = int(self.rng.binomial(n - n_rand, eps_v)) if eps_v > 0 else 0
        n_model = n - n_rand - n_rand_v      # the V-screened random share fills the rest
        chosen: list[int] = []
        # A also ranks the incumbents' neighbours V passes and candidates compiled in earlier
        # rounds, at no further measurement cost
        step = self._model_step(
            n_model,
            compile=lambda c: self._compile_filter(c + self._incumbent_neighbours(set(c))),
            also=lambda c: self._compiled_unmeasured(set(c)))
        if step is not None:
            taken = set(step.compiled)
            local = self._trust_region(n_model, taken)
            local += self._crossover(n_model, taken | set(local))
            chosen = (local + [i for i in step.ranked if i not in set(local)])[:n_model]
        # epsilon picks bypass V: they are how V's blind spots (rare valid exceptions to a
        # rule it has learned) get discovered; the compiler still screens them for free
        chosen += self._random_valid(n_rand, use_v=False, exclude=chosen)
        if hp["random_top_no_compiler"] < 1.0 and not self._compiles:
            chosen += self._random_promising(n - len(chosen), set(chosen))
        chosen += self._random_valid(n - len(chosen), exclude=chosen)
        return chosen

    def _random_promising(self, k: int, taken: set) -> list[int]:
        """k random picks, screened by V, among the unvisited configurations that P ranks in
        its top random_top_no_compiler share (of all of them, or on spaces over WHOLE_SPACE
        configurations of a random sample of that many)."""
        if k <= 0:
            return []
        excl = self.visited | self.known_invalid | taken
        if len(self.space) <= WHOLE_SPACE:
            un = np.setdiff1d(np.arange(len(self.space)), np.fromiter(excl, dtype=np.int64))
        else:
            un = self.space.sample(self.rng, WHOLE_SPACE, exclude=excl)
        if not un.size:
            return []
        sc = self._p_score(un)
        pool = un[sc >= np.quantile(sc, 1.0 - self.hp["random_top_no_compiler"])]
        if self.hp["use_v"] and self.fitted["v"]:
            pool = pool[self._pv(pool) >= self.hp["v_threshold"]]
        if not pool.size:
            return []
        return [int(i) for i in self.rng.choice(pool, size=min(k, pool.size), replace=False)]

    def _model_step(self, n_model: int, compile, also=None):
        """The ML2 step over the explorer's pool for `n_model` picks (None when there is nothing
        to pick or the pool is empty): (alpha+1)*n_model candidates pass V, are compiled and
        ranked."""
        hp = self.hp
        if not n_model:
            return None
        m = max(n_model, math.ceil((hp["alpha"] + 1) * n_model))
        pool = self._explore(max(m, int(math.ceil(hp["pool_factor"] * m))))
        if not pool:
            return None
        step = ml2_step(pool, n_model, p_valid=self._pv, v_threshold=hp["v_threshold"], cap=m,
                        compile=compile, also=also, score=self._rank_scores)
        self.stats["v_dropped"] += min(step.n_rejected, m)
        return step

    # ----- the source bandit (spaces without a compiler) ----------------------------------------
    def _prior_shares(self) -> dict[str, float]:
        """The fixed shares of a model round: epsilon_no_compiler V-screened random, and of the
        rest local_share trust region, crossover_share crossover, the remainder P's ranking."""
        hp = self.hp
        rest = 1.0 - hp["epsilon_no_compiler"]
        local, cross = hp["local_share"] * rest, hp["crossover_share"] * rest
        return {"global": max(rest - local - cross, 0.0), "local": local, "crossover": cross,
                "random": hp["epsilon_no_compiler"]}

    def _allocate(self, m: int) -> dict[str, int]:
        """m slots among the sources, each to the source with the highest draw from its Beta
        posterior of success (Thompson sampling); a source with a zero share gets none."""
        shares = self._prior_shares()
        names = [s for s in SOURCES if shares[s] > 0] or ["global"]
        c = self.hp["bandit_prior"]
        a = np.array([1 + c * shares[s] + self.source_hits[s] for s in names])
        b = np.array([1 + c * (1 - shares[s]) + self.source_misses[s] for s in names])
        win = self.rng.beta(a[:, None], b[:, None], size=(len(names), m)).argmax(axis=0)
        got = np.bincount(win, minlength=len(names))
        out = dict.fromkeys(SOURCES, 0)
        out.update({s: int(got[j]) for j, s in enumerate(names)})
        return out

    def _sourced_batch(self, n: int) -> list[int]:
        """A model round on a space without a compiler: an epsilon share at random (bypassing
        V), the rest split among the sources by `_allocate`; a source that comes up short
        leaves its slots to P's ranking, then to V-screened random picks."""
        hp = self.hp
        n_rand = int(self.rng.binomial(n, hp["epsilon"])) if hp["epsilon"] > 0 else 0
        n_model = n - n_rand
        k = self._allocate(n_model)
        ranked, taken = [], set()
        step = self._model_step(n_model, compile=self._compile_filter)
        if step is not None:
            ranked, taken = step.ranked, set(step.compiled)
        picks: dict[int, str] = {}
        for i in self._trust_region(n_model, taken, k=k["local"]):
            picks.setdefault(i, "local")
        for i in self._crossover(n_model, taken | set(picks), k=k["crossover"]):
            picks.setdefault(i, "crossover")
        for i in self._random_valid(k["random"], exclude=picks):
            picks.setdefault(i, "random")
        for i in ranked:
            if len(picks) >= n_model:
                break
            picks.setdefault(i, "global")
        for i in self._random_valid(n_model - len(picks), exclude=picks):
            picks.setdefault(i, "random")
        self.source_of.update(picks)
        chosen = list(picks)
        chosen += self._random_valid(n_rand, use_v=False, exclude=picks)
        return chosen

    def _credit_sources(self, results: list[MeasureResult]) -> None:
        """Score the new results' sources: a hit beats the bandit_top-th best cost measured
        before this round (any valid cost while fewer are known)."""
        before = self.results[:len(self.results) - len(results)]
        costs = sorted(r.cost for r in before if r.valid)
        bar = costs[min(self.hp["bandit_top"], len(costs)) - 1] if costs else np.inf
        for r in results:
            src = self.source_of.get(int(r.index))
            if src is None:
                continue
            if r.valid and r.cost < bar:
                self.source_hits[src] += 1
            else:
                self.source_misses[src] += 1

    def _incumbent_neighbours(self, taken: set) -> list[int]:
        """Near-optimal configurations are often one knob away from the best ones found and
        differ from them by less than P can resolve; A, with hidden features, can rank them.
        V still screens them, so only plausible neighbours are compiled."""
        k = self.hp["neighbour_top"]
        if k <= 0 or not self.fitted["a"]:
            return []
        best = sorted((r for r in self.results if r.valid), key=lambda r: r.cost)[:k]
        excl = self.visited | self.known_invalid | taken
        nb = [int(j) for r in best for j in self.space.neighbours(r.index) if int(j) not in excl]
        nb = list(dict.fromkeys(nb))
        if not nb:
            return []
        pv = self._pv(nb)
        return [i for i, p in zip(nb, pv) if p >= self.hp["v_threshold"]]

    def _compiled_unmeasured(self, taken: set) -> list[int]:
        """Configurations compiled in earlier rounds, not measured, that V still passes: A can
        rank them at no further cost."""
        if not (self.hp["a_rank_compiled"] and self.hp["use_a"] and self.fitted["a"]):
            return []
        idx = [i for i, h in self.hidden.items()
               if h is not None and i not in self.visited and i not in taken]
        if not idx:
            return []
        return [i for i, p in zip(idx, self._pv(idx)) if p >= self.hp["v_threshold"]]

    def _pv(self, idx) -> np.ndarray:
        """Model V's validity probability (1 everywhere in the ablation without V)."""
        if not self.hp["use_v"]:
            return np.ones(len(idx))
        return self._predict("v", idx, lambda X: self.v.predict_proba(X)[:, 1])

    def _predict(self, name: str, idx, fn) -> np.ndarray:
        """fn(features of idx). Models V and P change only at a refit, while every round asks
        them about most of the space again, so on spaces up to 100k configurations they
        predict the whole space once per fit and later calls read from that (same numbers:
        one row's prediction does not depend on the others)."""
        idx = np.asarray(idx, dtype=np.int64)
        model = getattr(self, name)
        if len(self.space) > WHOLE_SPACE or type(model) not in (ValidityModel, PerformanceModel):
            return fn(self.space.features(idx))
        if name not in self._pred:
            self._pred[name] = fn(self.space.features(np.arange(len(self.space))))
        return self._pred[name][idx]

    def _trust_region(self, n_model: int, taken: set, k: int | None = None) -> list[int]:
        """Unvisited one-knob neighbours of the best configurations found: on small GPU spaces
        the optimum is usually a few knob changes from a good incumbent, and a global model
        ranks such near neighbours too coarsely. With `local_diverse`, the picks go round the
        (incumbent, knob) pairs, the best-scored neighbour of each first: a knob the model has
        not learned to split on (it predicts no change) still gets tried, where a plain ranking
        would keep varying the one knob the model ranks highest. `k` picks (default: the
        local_share of n_model)."""
        k = int(round(self.hp["local_share"] * n_model)) if k is None else k
        if k <= 0 or self._compiles or not self.fitted["p"]:
            return []      # with a compiler, A ranks the incumbents' neighbours instead
        best = self._spaced_incumbents(max(1, self.hp["neighbour_top"]))
        excl = self.visited | self.known_invalid | taken
        nb, group = [], []
        for g, r in enumerate(best):
            js = self.space.neighbours(r.index)
            if not js.size:
                continue
            diff = self.space.value_positions(js) != self.space.value_positions([r.index])
            for j, knob in zip(js.tolist(), diff.argmax(axis=1).tolist()):
                if j not in excl:
                    nb.append(int(j))
                    group.append(g * len(self.space.radix) + knob)
        if not nb:
            return []
        sc = self._p_score(np.array(nb, dtype=np.int64))
        order = np.argsort(-sc, kind="stable")
        if self.hp["local_diverse"]:
            seen: dict[int, int] = {}
            turn = np.empty(len(nb), dtype=np.int64)
            for j in order:                    # j's turn: how many of its group rank above it
                turn[j] = seen.get(group[j], 0)
                seen[group[j]] = turn[j] + 1
            order = np.lexsort((np.argsort(order), turn))
        picks = list(dict.fromkeys(nb[j] for j in order))[:k]
        return self._compile_filter(picks)

    def _spaced_incumbents(self, k: int) -> list[MeasureResult]:
        """The k best valid results, skipping any within local_spacing - 1 knob changes of one
        already taken: near-equal configurations next to the best would otherwise take every
        incumbent slot, and the trust region would search one basin from three sides."""
        best = sorted((r for r in self.results if r.valid), key=lambda r: r.cost)
        gap = self.hp["local_spacing"]
        if gap <= 1 or len(best) <= 1:
            return best[:k]
        pos = self.space.value_positions([r.index for r in best])
        keep: list[int] = []
        for j in range(len(best)):
            if all(int((pos[j] != pos[q]).sum()) >= gap for q in keep):
                keep.append(j)
                if len(keep) == k:
                    break
        return [best[j] for j in keep]

    def _crossover(self, n_model: int, taken: set, k: int | None = None) -> list[int]:
        """Children of the best configurations found, each knob taken from one of two parents
        (uniform crossover, as a genetic algorithm's), best-scored by P: a good configuration
        can be several knob changes from each incumbent and still combine their good parts.
        With crossover_blend above 0, a numeric knob's value comes from between the parents'
        (and a little beyond) instead. `k` picks (default: the crossover_share of n_model)."""
        k = int(round(self.hp["crossover_share"] * n_model)) if k is None else k
        if k <= 0 or self._compiles or not self.fitted["p"]:
            return []
        best = sorted((r for r in self.results if r.valid), key=lambda r: r.cost)
        best = [r.index for r in best[:self.hp["crossover_top"]]]
        if len(best) < 2:
            return []
        pos = self.space.value_positions(best)
        n = 64 * k
        a = self.rng.integers(0, len(best), size=n)
        b = (a + self.rng.integers(1, len(best), size=n)) % len(best)
        mask = self.rng.random((n, pos.shape[1])) < 0.5
        child = np.where(mask, pos[a], pos[b])
        blend = self.hp["crossover_blend"]
        if blend > 0:
            u = self.rng.uniform(-blend, 1.0 + blend, size=child.shape)
            between = np.rint(pos[a] + u * (pos[b] - pos[a])).astype(np.int64)
            numeric = np.array([knob.numeric for knob in self.space.knobs])
            child = np.where(numeric, np.clip(between, 0, self.space.radix - 1), child)
        kids = self.space.positions_to_indices(child)
        excl = self.visited | self.known_invalid | taken
        kids = [int(i) for i in dict.fromkeys(kids.tolist()) if i >= 0 and int(i) not in excl]
        if not kids:
            return []
        kids = [i for i, p in zip(kids, self._pv(kids)) if p >= self.hp["v_threshold"]]
        if not kids:
            return []
        sc = self._p_score(np.array(kids, dtype=np.int64))
        return [kids[j] for j in np.argsort(-sc, kind="stable")[:k]]

    def _rank_scores(self, cand: list[int]) -> np.ndarray:
        """Scores to rank candidates by, higher is better: Model A's (minus its log cost) when
        it is trained and hidden features are available (NaN, dropped, for a candidate that
        failed to compile), else Model P's."""
        if self.fitted["a"] and self._compiles and self.hp["use_a"]:
            hs = self._hidden_of(cand)
            ok = [j for j, h in enumerate(hs) if h is not None]
            if ok:
                self.stats["a_rounds"] += 1
                pred = self.a.predict_log(self._a_features([cand[j] for j in ok],
                                                           [hs[j] for j in ok]))
                out = np.full(len(cand), np.nan)
                out[ok] = -np.asarray(pred, dtype=np.float64)
                return out
        return self._p_score(np.array(cand, dtype=np.int64))

    # ----- learning -----------------------------------------------------------------------------
    def update(self, results: list[MeasureResult]) -> None:
        for r in results:
            if r.hidden:
                self.hidden.setdefault(int(r.index), dict(r.hidden))
        if self.source_of:
            self._credit_sources(results)
        if len(self.results) < max(self._n_init(), 2):
            return       # the models take over only after n_init results
        self.n_updates += 1
        # once V and P exist, refit only every `refit_every` rounds (XGBoost dominates run time)
        every = self._for_space("refit_every")
        if self.fitted["v"] and self.fitted["p"] and self.n_updates % every:
            return
        self.refit()

    # ----- transfer: models and an initial design from earlier tasks ----------------------------
    def use_prior_models(self, v, p, a=None, hidden_names=None) -> None:
        """Install V and P (and A, with the hidden-feature order its columns follow) trained
        elsewhere, e.g. a bundle blended with this run's own models (`warmstart`). They count
        as fitted from the first round, so the random initial design is skipped: `n_init` (and
        `n_init_no_compiler`) become 0, and the trace header records that."""
        self.v, self.p = v, p
        self._pred = {}         # whole-space predictions of the models they replace
        self.fitted.update(v=True, p=True)
        if a is not None:
            self.a = a
            self.hidden_names = list(hidden_names) if hidden_names is not None else None
            self.fitted["a"] = True
        self.hp["n_init"] = self.hp["n_init_no_compiler"] = 0

    def queue_initial_design(self, indices) -> None:
        """Measure `indices` (best first) before any random pick, skipping visited and known
        invalid configurations and those that fail to compile (a transfer prior's design)."""
        self.initial_design[:] = [int(i) for i in indices]

    def _epsilon_v(self) -> float:
        """The V-screened random share of a model round on a space without a compiler:
        early_epsilon_no_compiler during the first early_share_no_compiler of the budget."""
        hp = self.hp
        if self.budget and len(self.results) < hp["early_share_no_compiler"] * self.budget:
            return hp["early_epsilon_no_compiler"]
        stall = hp["stall_samples_no_compiler"]
        if stall and self._since_best() >= stall:
            return hp["stall_epsilon_no_compiler"]
        return hp["epsilon_no_compiler"]

    def _since_best(self) -> int:
        """Samples measured since the best valid cost so far was found (all of them if none
        is valid)."""
        curve = best_found_curve(self.results)
        if not curve.size or not np.isfinite(curve[-1]):
            return len(curve)
        return len(curve) - 1 - int(np.argmax(curve == curve[-1]))

    def _n_init(self) -> int:
        """Samples of the random initial design: n_init, or on a space without a compiler
        n_init_no_compiler and at least init_share_no_compiler of the budget (0 stays 0: a
        transfer prior's models take over from the first round)."""
        n = self._for_space("n_init")
        if n and not self._compiles and self.budget:
            n = max(n, int(round(self.hp["init_share_no_compiler"] * self.budget)))
        return n

    def _p_subsample(self) -> dict:
        """Model P's row subsampling for the next refit: on a space without a compiler in a run
        of at least p_subsample_min_budget samples, p_subsample_no_compiler of the rows per tree
        with a seed that changes at every refit (so P's ranking varies from refit to refit),
        else every row."""
        share = self.hp["p_subsample_no_compiler"]
        if (self._compiles or share >= 1.0
                or (self.budget or 0) < self.hp["p_subsample_min_budget"]):
            return {"subsample": 1.0}
        return {"subsample": share, "random_state": self.seed + self.n_updates}

    def _for_space(self, name: str):
        """Setting `name`, or its `name`_no_compiler twin on a space without a compiler (known
        only once tuning runs, from the measurer)."""
        return self.hp[name if self._compiles else f"{name}_no_compiler"]

    def refit(self):
        self._pred = {}
        res = self.results
        idx = [r.index for r in res] + sorted(self.known_invalid - self.visited)
        y = np.array([r.valid for r in res] + [False] * (len(idx) - len(res)), dtype=float)
        self.v.fit(self.space.features(idx), y)
        self.fitted["v"] = True
        valid = [r for r in res if r.valid]
        if len(valid) >= 2:
            Xv, yv = self.space.features([r.index for r in valid]), [r.cost for r in valid]
            if self._acquisition != "mean" and self.hp["ensemble"] > 1:
                hp = self.hp
                self.ensemble = PerformanceEnsemble(
                    hp["ensemble"], self.seed, n_estimators=hp["p_n_estimators"],
                    max_depth=self._for_space("p_max_depth"),
                    learning_rate=hp["p_eta"]).fit(Xv, yv)
                self.p = self.ensemble.models[0]      # fitted on every sample: plain Model P
            else:
                # a transfer blend passes the depth on to its own P
                self.p.set_params(max_depth=self._for_space("p_max_depth"),
                                  **self._p_subsample())
                self.p.fit(Xv, yv)
            self.fitted["p"] = True
        if self._compiles and self.hp["use_a"] and len(valid) >= max(2, self.hp["a_min_valid"]):
            hv = [(r.index, self.hidden.get(r.index)) for r in valid]
            hv = [(i, h) for i, h in hv if h]
            if len(hv) >= 2:
                X = self._a_features([i for i, _ in hv], [h for _, h in hv])
                cost = {r.index: r.cost for r in valid}
                self.a.set_params(offset_col=offset_column(self.space.names + self.hidden_names))
                self.a.fit(X, [cost[i] for i, _ in hv])
                self.fitted["a"] = True
