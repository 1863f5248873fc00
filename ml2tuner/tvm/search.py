"""ML2Tuner's selection as a MetaSchedule search strategy.

`ML2SearchStrategy` wraps MetaSchedule's EvolutionarySearch:

1. proposal: the wrapped EvolutionarySearch runs with `num_trials_per_iter = (alpha+1)·N` and
   the V·P scores of the ML2 cost model as its fitness (`ML2CostModel.proposal_model()`, no
   hidden features), so each batch starts from (alpha+1)·N evolved candidates;
2. V: candidates predicted invalid are dropped (if fewer than N survive, the likeliest valid
   ones fill up);
3. A: the survivors' hidden features (PerStoreFeature) are extracted and the N best by A are
   measured.

That is ML2Tuner's (alpha+1)·N -> V -> A step applied to exactly the candidates MetaSchedule
measures. The unpicked alpha·N are marked as measured inside the wrapped search (its
PickWithEpsGreedy records every candidate it hands out), so they are not proposed again.

The task scheduler's cost model must be the same `ML2CostModel` (it is updated through
`callback.UpdateCostModelAll`; the proposal model reads its fitted V and P).
"""
from __future__ import annotations

import time

from ._env import require_tvm

require_tvm()
from tvm.ir.utils import derived_object  # noqa: E402
from tvm.s_tir.meta_schedule.search_strategy import (  # noqa: E402
    EvolutionarySearch, PySearchStrategy)


@derived_object
class ML2SearchStrategy(PySearchStrategy):
    """EvolutionarySearch proposing (alpha+1)·N, then V filter and A ranking pick N."""

    def __init__(self, cost_model, *, alpha: int = 1, population_size: int = 512,
                 init_measured_ratio: float = 0.2, init_min_unmeasured: int = 50,
                 max_fail_count: int = 5, genetic_num_iters: int = 4, genetic_mutate_prob: float = 0.85,
                 genetic_max_fail_count: int = 10, eps_greedy: float = 0.05, stats=None,
                 proposal: str = "vp"):
        if alpha < 0:
            raise ValueError("alpha must be >= 0")
        self.cost_model = cost_model            # the ML2CostModel (shared with the scheduler)
        self.alpha = int(alpha)
        self.evo_kw = dict(population_size=population_size,
                           init_measured_ratio=init_measured_ratio,
                           init_min_unmeasured=init_min_unmeasured,
                           max_fail_count=max_fail_count,
                           genetic_num_iters=genetic_num_iters,
                           genetic_mutate_prob=genetic_mutate_prob,
                           genetic_max_fail_count=genetic_max_fail_count, eps_greedy=eps_greedy)
        self.inner = EvolutionarySearch(**self.evo_kw)
        self.proposal = proposal            # "vp" (ML2Tuner's P) or "va" (A steers the evolution)
        self.proposer = cost_model.proposal_model(proposal)
        self.context = None
        self.max_trials = self.n = self.st = 0
        # shared between clones (one per task): proposed / rejected-by-V / picked counts
        self.stats = stats if stats is not None else {
            "batches": 0, "proposed": 0, "rejected_by_v": 0, "picked": 0, "select_s": 0.0,
            "propose_s": 0.0}

    def _initialize_with_tune_context(self, context) -> None:
        self.context = context
        self.inner._initialize_with_tune_context(context)

    def pre_tuning(self, max_trials, num_trials_per_iter, design_spaces, database=None,
                   cost_model=None) -> None:
        self.max_trials, self.n, self.st = int(max_trials), int(num_trials_per_iter), 0
        pool = (self.alpha + 1) * self.n
        # the wrapped search must never run short of trials before we do
        self.inner.pre_tuning(self.max_trials * (self.alpha + 1) + pool, pool, design_spaces,
                              database, self.proposer)

    def post_tuning(self) -> None:
        self.inner.post_tuning()

    def generate_measure_candidates(self):
        if self.st >= self.max_trials:
            return None
        want = min(self.n, self.max_trials - self.st)
        t0 = time.perf_counter()
        pool = self.inner.generate_measure_candidates()
        t1 = time.perf_counter()
        self.stats["propose_s"] += t1 - t0
        if pool is None:
            return None
        pool = list(pool)
        self.stats["batches"] += 1
        self.stats["proposed"] += len(pool)
        if len(pool) <= want:
            self.stats["picked"] += len(pool)
            return pool
        out = self.cost_model.select(self.context, pool, want)
        self.stats["rejected_by_v"] += out["n_rejected"]
        self.stats["picked"] += len(out["picked"])
        self.stats["select_s"] += time.perf_counter() - t1
        return [pool[i] for i in out["picked"]]

    def notify_runner_results(self, measure_candidates, results) -> None:
        self.st += len(results)
        self.inner.notify_runner_results(measure_candidates, results)

    def clone(self):
        kw = self.evo_kw
        return ML2SearchStrategy(self.cost_model, alpha=self.alpha, stats=self.stats,
                                 proposal=self.proposal, **kw)
