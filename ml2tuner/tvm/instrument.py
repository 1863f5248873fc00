"""Where tuning time goes: wrappers that time MetaSchedule's builder, runner and cost model.

One `Clock` is shared by the three wrappers; every tuner is charged the same way:

    build_s   Builder.build (compiling the batch; synchronous in the task scheduler)
    run_s     Runner.run plus the time spent waiting in the runner futures' done()/result()
    model_s   CostModel.predict and update (for ML2, also its selection step, which the search
              strategy calls directly: see `ML2CostModel.timing`)

The rest of a run's tuning time is the search itself (sampling, mutation, postprocessing) and
MetaSchedule's bookkeeping.
"""
from __future__ import annotations

import time

from ._env import require_tvm

require_tvm()
from tvm.ir.utils import derived_object  # noqa: E402
from tvm.s_tir.meta_schedule.builder import PyBuilder  # noqa: E402
from tvm.s_tir.meta_schedule.cost_model import PyCostModel  # noqa: E402
from tvm.s_tir.meta_schedule.runner import PyRunner, PyRunnerFuture  # noqa: E402


class Clock(dict):
    """Seconds per phase (build_s, run_s, model_s) and call counts."""

    def __init__(self):
        super().__init__(build_s=0.0, run_s=0.0, model_s=0.0, builds=0, predicted=0)

    def add(self, key: str, t0: float) -> None:
        self[key] += time.perf_counter() - t0


@derived_object
class TimedBuilder(PyBuilder):
    def __init__(self, inner, clock: Clock):
        self.inner, self.clock = inner, clock

    def build(self, build_inputs):
        t0 = time.perf_counter()
        try:
            return self.inner.build(build_inputs)
        finally:
            self.clock.add("build_s", t0)
            self.clock["builds"] += len(build_inputs)


@derived_object
class TimedFuture(PyRunnerFuture):
    def __init__(self, inner, clock: Clock):
        self.inner, self.clock = inner, clock

    def done(self) -> bool:
        t0 = time.perf_counter()
        try:
            return self.inner.done()
        finally:
            self.clock.add("run_s", t0)

    def result(self):
        t0 = time.perf_counter()
        try:
            return self.inner.result()
        finally:
            self.clock.add("run_s", t0)


@derived_object
class TimedRunner(PyRunner):
    def __init__(self, inner, clock: Clock):
        self.inner, self.clock = inner, clock

    def run(self, runner_inputs):
        t0 = time.perf_counter()
        try:
            return [TimedFuture(f, self.clock) for f in self.inner.run(runner_inputs)]
        finally:
            self.clock.add("run_s", t0)


@derived_object
class TimedCostModel(PyCostModel):
    def __init__(self, inner, clock: Clock):
        self.inner, self.clock = inner, clock

    def load(self, path: str) -> None:
        self.inner.load(path)

    def save(self, path: str) -> None:
        self.inner.save(path)

    def update(self, context, candidates, results) -> None:
        t0 = time.perf_counter()
        try:
            self.inner.update(context, candidates, results)
        finally:
            self.clock.add("model_s", t0)

    def predict(self, context, candidates):
        t0 = time.perf_counter()
        try:
            return self.inner.predict(context, candidates)
        finally:
            self.clock.add("model_s", t0)
            self.clock["predicted"] += len(candidates)
