"""The common tuner API: `tune(n_trial, measurer, callbacks=..., early_stopping=...)`.

A tuner proposes indices of its space (`next_batch`) and learns from results (`update`). The
loop measures one configuration at a time and hands each result to the callbacks before the
next measurement starts, so a trace logger has it on disk first. `resume` feeds earlier results
back without measuring them again.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from ..hparams import resolve
from ..measure import MeasureResult, Measurer, best_found_curve
from ..space import Space


@dataclass
class TuneResult:
    history: list[MeasureResult] = field(default_factory=list)
    decision_seconds: float = 0.0     # the tuner's own time (proposing + learning)
    measure_seconds: float = 0.0      # wall time spent in the measurer
    stopped_early: bool = False
    resumed: int = 0
    clock: dict = field(default_factory=dict)   # the measurer's SimClock summary at the end

    @property
    def n_measured(self) -> int:
        return len(self.history)

    @property
    def n_invalid(self) -> int:
        return sum(not r.valid for r in self.history)

    @property
    def best(self) -> MeasureResult | None:
        return min((r for r in self.history if r.valid), key=lambda r: r.cost, default=None)

    def best_curve(self) -> np.ndarray:
        """Best cost after each measurement (inf until the first valid one)."""
        return best_found_curve(self.history)

    @property
    def profile_seconds(self) -> float:
        return float(sum(r.profile_time for r in self.history))

    @property
    def simulated_seconds(self) -> float:
        """The one clock: every compile (whoever asked for it) and every profile."""
        return float(self.clock.get("simulated_seconds", self.profile_seconds))


class Tuner(ABC):
    """The tuner role. A subclass sets `name` (its registry key) and `HYPERPARAMETERS` (a table
    of `hparams.HP`: default, bounds or choices, whether HPO searches it by default, and the
    condition under which it matters), and implements `next_batch`; `update`, `has_next` and
    `batch_size` have working defaults.

    Contract, checked for every registered tuner by `ml2tuner.testing.TunerConformance`:
    - `tune(n, measurer)` measures at most `n` configurations and stops short of `n` only when
      `has_next()` is False or `next_batch` has nothing new (the space, or the part of it that
      compiles for a tuner that screens by compiling, is exhausted);
    - `next_batch(n)` returns at most n distinct unvisited indices, and no configuration is
      measured twice (the loop also drops repeats and visited indices, which shortens the
      batch);
    - the same seed gives the same run, and all randomness comes from `self.rng` or the seed;
    - it works on spaces smaller than its batch or population, on spaces where nothing is
      valid, with measurers without a compiler (`hidden_features` returns None for all), on
      restricted spaces with string, bool and single-value knobs, and with every
      hyperparameter at the bounds of its table.
    Anything expensive it asks the measurer for (compiles through `hidden_features`) is charged
    to the run's clock by the measurer, the same as for any other tuner.
    """
    name = "tuner"
    HYPERPARAMETERS: dict = {}

    def __init__(self, space: Space, seed: int = 0, **hparams):
        self.space = space
        self.seed = int(seed)
        self.hp = resolve(self.HYPERPARAMETERS, hparams)
        self.rng = np.random.default_rng(self.seed)
        self.visited: set[int] = set()
        self.results: list[MeasureResult] = []
        self.measurer: Measurer | None = None
        self.budget: int | None = None     # n_trial of the latest `tune` (None before one)

    # ----- what subclasses implement --------------------------------------------------------
    @abstractmethod
    def next_batch(self, n: int) -> list[int]:
        """Up to n unvisited indices to measure next."""

    def update(self, results: list[MeasureResult]) -> None:
        """Learn from new results (already added to self.results / self.visited)."""

    def has_next(self) -> bool:
        return len(self.visited) < len(self.space)

    def batch_size(self) -> int:
        return 1

    # ----- the loop ---------------------------------------------------------------------------
    def _record(self, results):
        for r in results:
            self.visited.add(int(r.index))
            self.results.append(r)

    def tune(self, n_trial: int, measurer: Measurer, callbacks=(), early_stopping=None,
             resume=()) -> TuneResult:
        if measurer.space.to_dict() != self.space.to_dict():
            raise ValueError("the measurer's space differs from the tuner's")
        self.measurer = measurer
        self.budget = int(n_trial)
        out = TuneResult()
        resume = [r for r in resume]
        if resume:
            self._record(resume)
            out.history.extend(resume)
            out.resumed = len(resume)
            t0 = time.perf_counter()
            self.update(resume)
            out.decision_seconds += time.perf_counter() - t0
        best, best_at = np.inf, len(out.history)
        for r in out.history:
            if r.valid and r.cost < best:
                best = r.cost
        while len(out.history) < n_trial and self.has_next():
            t0 = time.perf_counter()
            batch = [int(i) for i in self.next_batch(min(self.batch_size(),
                                                          n_trial - len(out.history)))]
            out.decision_seconds += time.perf_counter() - t0
            batch = [i for i in dict.fromkeys(batch) if i not in self.visited]
            if not batch:
                break
            new = []
            for i in batch:
                t0 = time.perf_counter()
                r = measurer.measure([i])[0]
                out.measure_seconds += time.perf_counter() - t0
                self._record([r])
                out.history.append(r)
                new.append(r)
                for cb in callbacks:
                    cb(self, r)
                if r.valid and r.cost < best:
                    best, best_at = r.cost, len(out.history)
            t0 = time.perf_counter()
            self.update(new)
            out.decision_seconds += time.perf_counter() - t0
            if early_stopping and len(out.history) - best_at >= early_stopping:
                out.stopped_early = True
                break
        out.clock = measurer.sim_clock.summary()
        return out

    # ----- helpers -----------------------------------------------------------------------------
    def random_unvisited(self, k: int) -> list[int]:
        return self.space.sample(self.rng, k, exclude=self.visited).tolist()
