"""A conformance suite that every tuner must pass, in the spirit of Optuna's `SamplerTestCase`
and Kernel Tuner's strategy tests.

Use it for your own tuner by subclassing in a pytest file::

    from ml2tuner.testing import TunerConformance

    class TestMyTuner(TunerConformance):
        tuner_class = MyTuner

The suite runs the tuner on small synthetic spaces replayed in simulation mode (milliseconds per
run): a space with compile errors and hidden features, the same space without a compiler, a
space smaller than any batch or population, an all-invalid space, and a restricted Kernel
Tuner-style space with string, bool and single-value knobs. It checks the contract of
`Tuner.tune`: the budget is honoured and reached, nothing is measured twice, the same seed
gives the same run, and every hyperparameter works at the bounds of its table.
"""
from __future__ import annotations

import numpy as np
import pytest

from .kt_cache import ExhaustiveData
from .measure import Status
from .replay import ReplayMeasurer
from .space import Space
from .tuners.base import Tuner

COMPILE_S, RUN_S = 0.5, 0.1


def synthetic_data(n_per_knob=(4, 4, 3), invalid_share=0.3, compiler=True, seed=0,
                   all_invalid=False) -> ExhaustiveData:
    """A full product space with a smooth cost, a share of compile errors and (with a
    compiler) hidden features that carry information about the cost."""
    knobs = [(f"k{j}", tuple(2 ** np.arange(n))) for j, n in enumerate(n_per_knob)]
    space = Space(knobs, name="synthetic")
    rng = np.random.default_rng(seed)
    x = np.log2(space.features(np.arange(len(space))))
    cost = 1e-3 * (1.0 + ((x - x.mean(0)) ** 2).sum(1) + 0.1 * rng.random(len(space)))
    bad = rng.random(len(space)) < invalid_share
    if all_invalid:
        bad[:] = True
    status = np.where(bad, Status.COMPILE_ERROR.value, Status.OK.value)
    hidden = None
    if compiler:
        hidden = [None if b else {"ops": float(c * 1e4), "loads": float(i % 7)}
                  for i, (b, c) in enumerate(zip(bad, cost))]
    return ExhaustiveData(space=space, cost=cost, status=status,
                          profile_time=np.full(len(space), COMPILE_S + RUN_S),
                          compile_time=np.full(len(space), COMPILE_S) if compiler else None,
                          hidden=hidden, meta={"source": "synthetic"})


def kt_style_data(seed=0) -> ExhaustiveData:
    """A restricted space (only some members of the product) with numeric, string, bool and
    single-value knobs and runtime failures, as a Kernel Tuner cache gives it; no compiler."""
    knobs = [("block_size_x", (16, 32, 64, 128)), ("layout", ("row", "col")),
             ("use_shared", (True, False)), ("unroll", (1,)), ("tile", (1, 2, 4))]
    full = Space(knobs)
    keys = np.arange(full.product_size)
    members = keys[keys % 3 != 1]            # a restriction drops a third of the product
    space = Space(knobs, members=members, name="kt-style")
    rng = np.random.default_rng(seed)
    n = len(space)
    cost = 1e-4 * (1 + rng.random(n))
    status = np.where(rng.random(n) < 0.2, Status.RUNTIME_ERROR.value, Status.OK.value)
    return ExhaustiveData(space=space, cost=cost, status=status,
                          profile_time=np.full(n, RUN_S), meta={"source": "synthetic"})


def write_kt_cache(path, tune_params: dict, time_of, objective: str = "time"):
    """Write a small Kernel Tuner cache (JSON) over the product of `tune_params` and return its
    path. `time_of(config) -> float | str` gives each configuration's measured time in ms, or a
    Kernel Tuner failure string such as "RuntimeFailedConfig". Each entry records 1 ms of
    compile and 5 ms of benchmark time."""
    import itertools
    import json
    from pathlib import Path
    names = list(tune_params)
    cache = {}
    for values in itertools.product(*(tune_params[k] for k in names)):
        config = dict(zip(names, values))
        cache[",".join(map(str, values))] = {**config, objective: time_of(config),
                                             "compile_time": 1.0, "verification_time": 0.0,
                                             "benchmark_time": 5.0}
    d = {"device_name": "G", "kernel_name": "k", "problem_size": [1], "tune_params_keys": names,
         "tune_params": {k: list(v) for k, v in tune_params.items()}, "objective": objective,
         "cache": cache}
    path = Path(path)
    path.write_text(json.dumps(d))
    return path


def hyperparameter_cases(table: dict) -> list[tuple[str, dict]]:
    """One setting per bound or choice of each hyperparameter, with the setting it depends on
    (its condition) switched on."""
    cases = []
    for name, hp in table.items():
        values = list(hp.choices) if hp.choices is not None else [hp.low, hp.high]
        for v in values:
            if v is None:
                continue
            setting = {name: v}
            if hp.condition is not None:
                parent, allowed = hp.condition
                setting[parent] = allowed[0]
            cases.append((f"{name}={v}", setting))
    return cases


class TunerConformance:
    """Subclass with `tuner_class` set (and `hparams` for settings every run uses)."""

    tuner_class: type[Tuner]
    hparams: dict = {}

    # ----- helpers -----------------------------------------------------------------------------
    def run(self, data, budget, seed=0, **hp):
        m = ReplayMeasurer(data)
        tuner = self.tuner_class(data.space, seed=seed, **{**self.hparams, **hp})
        res = tuner.tune(budget, m)
        return tuner, m, res

    def check_run(self, data, tuner, m, res, budget):
        idx = [r.index for r in res.history]
        assert len(idx) == len(set(idx)), "measured a configuration twice"
        assert len(idx) <= budget, "measured more than the budget"
        assert all(0 <= i < len(data.space) for i in idx)
        for r in res.history:
            assert r.config == data.space.index_to_config(r.index)
        # the clock charges each measurement (and compiles) once
        assert res.simulated_seconds >= len(idx) * RUN_S - 1e-9
        return idx

    # ----- the contract --------------------------------------------------------------------------
    @pytest.mark.parametrize("compiler", [True, False], ids=["compiler", "no-compiler"])
    def test_budget_honoured_and_reached(self, compiler):
        data = synthetic_data(compiler=compiler)
        n_ok_compile = int(sum(h is not None for h in data.hidden)) if compiler else len(data)
        budget = min(25, n_ok_compile)
        tuner, m, res = self.run(data, budget)
        self.check_run(data, tuner, m, res, budget)
        assert res.n_measured == budget, f"stopped at {res.n_measured} of budget {budget}"

    @pytest.mark.parametrize("compiler", [True, False], ids=["compiler", "no-compiler"])
    def test_batches_hold_distinct_unvisited_configurations(self, compiler):
        # the loop drops repeats, so a tuner that proposes one twice loses that slot of its
        # batch silently; small spaces are where random fill-ups meet model picks most often
        data = synthetic_data(n_per_knob=(4, 4, 4), invalid_share=0.5, compiler=compiler)
        bad = []
        for seed in range(4):
            tuner = self.tuner_class(data.space, seed=seed, **self.hparams)
            propose = tuner.next_batch

            def checked(n, tuner=tuner, propose=propose):
                batch = [int(i) for i in propose(n)]
                if len(batch) > n or len(set(batch)) < len(batch) or set(batch) & tuner.visited:
                    bad.append((n, batch))
                return batch

            tuner.next_batch = checked
            tuner.tune(28, ReplayMeasurer(data))
        assert not bad, f"batches with repeats, visited configs or over n: {bad[:3]}"

    def test_budget_beyond_space_measures_everything_once(self):
        data = synthetic_data(n_per_knob=(3, 2, 2))
        tuner, m, res = self.run(data, 10 * len(data))
        idx = set(self.check_run(data, tuner, m, res, 10 * len(data)))
        compiles = {i for i, h in enumerate(data.hidden) if h is not None}
        assert compiles <= idx, "left configurations that compile unmeasured"

    def test_same_seed_same_run_other_seed_other_run(self):
        data = synthetic_data()
        runs = [[r.index for r in self.run(data, 20, seed=s)[2].history] for s in (3, 3, 4)]
        assert runs[0] == runs[1]
        clocks = [self.run(data, 20, seed=3)[2].simulated_seconds for _ in range(2)]
        assert clocks[0] == clocks[1]
        if self.tuner_class.name != "grid":
            assert runs[0] != runs[2], "the seed does not change the run"

    @pytest.mark.parametrize("compiler", [True, False], ids=["compiler", "no-compiler"])
    def test_space_smaller_than_a_batch(self, compiler):
        data = synthetic_data(n_per_knob=(5,), invalid_share=0.0, compiler=compiler)
        tuner, m, res = self.run(data, 50)
        idx = self.check_run(data, tuner, m, res, 50)
        assert sorted(idx) == list(range(5))

    def test_all_invalid_space_terminates(self):
        data = synthetic_data(n_per_knob=(3, 4), all_invalid=True)
        tuner, m, res = self.run(data, 30)
        self.check_run(data, tuner, m, res, 30)
        assert res.best is None
        assert res.n_measured == res.n_invalid

    def test_restricted_space_with_string_bool_and_single_value_knobs(self):
        data = kt_style_data()
        budget = 20
        tuner, m, res = self.run(data, budget)
        self.check_run(data, tuner, m, res, budget)
        assert res.n_measured == budget
        for r in res.history:
            assert r.config["layout"] in ("row", "col")
            assert isinstance(r.config["use_shared"], bool) and r.config["unroll"] == 1
            assert data.space.config_to_index(r.config) == r.index

    def test_every_hyperparameter_at_its_bounds(self):
        # a budget past the smallest plan/batch/initial design, so the models are fitted
        data = synthetic_data(n_per_knob=(6, 5, 4))
        budget = 40
        failures = []
        for label, setting in hyperparameter_cases(self.tuner_class.HYPERPARAMETERS):
            try:
                tuner, m, res = self.run(data, budget, **setting)
                self.check_run(data, tuner, m, res, budget)
                assert res.n_measured == budget or not tuner.has_next(), \
                    f"stopped at {res.n_measured} of {budget}"
            except Exception as e:     # collect all, report together
                failures.append(f"{label}: {type(e).__name__}: {e}")
        assert not failures, "\n".join(failures)


__all__ = ["TunerConformance", "synthetic_data", "kt_style_data", "hyperparameter_cases",
           "write_kt_cache"]
