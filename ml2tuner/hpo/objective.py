"""The HPO objective: replayed runs of one setting on (space, seed) pairs, cached and counted.

Common random numbers: the seed of a run depends on (base seed, space index, seed index)
only, never on the setting, so two settings compared on the same pairs see the same tuner
randomness and the same initial random draws; their difference is due to the setting.
"""
from __future__ import annotations

import numpy as np

from .evaluate import _check_args, map_tasks, run_safe, run_seed

AXES = ("time", "samples", "both")

#: the default floor on one run's score before runs are averaged. P is unbounded below: where
#: random search is close to the optimum late in the horizon (B - S_opt small), one stuck run
#: of ML2Tuner scored -16 on a ResNet-18 layer of the ZCU102 trace, outweighing dozens of
#: typical runs. At -1 (as far below random search as the optimum is above it) a run that bad still
#: counts as a clear loss, but no single run decides a comparison of settings.
SCORE_FLOOR = -1.0


def run_value(res: dict, axis: str, floor: float | None = None) -> float:
    """The score of one run on `axis` (both: the mean of the sample and time scores), raised
    to `floor` when it is below (None: as is)."""
    if axis == "samples":
        v = float(res["score"])
    elif axis == "time":
        v = float(res["score_time"])
    else:
        v = 0.5 * (float(res["score"]) + float(res["score_time"]))
    return v if floor is None else max(v, float(floor))


def hp_key(hp: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in hp.items()))


class RunObjective:
    """Scores of settings on pairs (space index, seed index) of `paths`.

    Each distinct (setting, pair) is run once; `n_runs` counts them. A run that raises is
    recorded in `crashes` (setting, space, error) and its value is None. `floor`: each run's
    value is raised to it (`run_value`; None: the raw score)."""

    def __init__(self, tuner: str, paths, budget: int, seed: int, axis: str = "time",
                 n_points: int = 20, n_jobs: int = 1, dask_scheduler: str | None = None,
                 stop_at_cutoff: bool = True, objective: str | None = None,
                 floor: float | None = None):
        _, self.paths = _check_args(tuner, list(paths), 1, budget, n_jobs, n_points)
        self.tuner, self.budget, self.seed, self.axis = tuner, int(budget), int(seed), axis
        self.n_points, self.n_jobs, self.dask = int(n_points), n_jobs, dask_scheduler
        self.stop_at_cutoff = bool(stop_at_cutoff)
        self.objective = objective          # the Kernel Tuner cache field to read
        self.floor = None if floor is None else float(floor)
        self.cache: dict = {}
        self.crashes: list[dict] = []
        self.n_runs = 0

    def results(self, triples) -> list[dict]:
        """Run dicts for (hparams, space index, seed index) triples (cached ones not rerun)."""
        triples = list(triples)
        keys = [(hp_key(hp), si, r) for hp, si, r in triples]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        first = {k: t for k, t in zip(keys, triples)}
        tasks = [(self.paths[si], self.tuner, first[k][0], run_seed(self.seed, si, r),
                  self.budget, self.n_points, self.stop_at_cutoff, self.objective)
                 for k in todo for _, si, r in [first[k]]]
        for k, res in zip(todo, map_tasks(run_safe, tasks, self.n_jobs, self.dask)):
            self.cache[k] = res
            self.n_runs += 1
            if "crash" in res:
                hp, si, _ = first[k]
                self.crashes.append({"hparams": dict(hp), "space": self.paths[si],
                                     "error": res["crash"]})
        return [self.cache[k] for k in keys]

    def values(self, triples) -> list[float | None]:
        return [None if "crash" in r else run_value(r, self.axis, self.floor)
                for r in self.results(triples)]

    def matrix(self, hp: dict, repeats, spaces=None) -> np.ndarray:
        """Scores (spaces x repeats) of `hp` at seed indices `repeats`; nan for a crash."""
        spaces = range(len(self.paths)) if spaces is None else spaces
        repeats = list(repeats)
        v = self.values([(hp, si, r) for si in spaces for r in repeats])
        return np.array([np.nan if x is None else x for x in v]).reshape(len(spaces),
                                                                        len(repeats))

    def mean(self, hp: dict, repeats, spaces=None) -> float | None:
        """Mean score over the pairs; None if any run crashed."""
        m = self.matrix(hp, repeats, spaces)
        return None if np.isnan(m).any() else float(m.mean())


__all__ = ["AXES", "SCORE_FLOOR", "RunObjective", "hp_key", "run_value"]
