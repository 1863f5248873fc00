"""Measure callbacks: record every MetaSchedule measurement in an ml2tuner trace, and feed
every measurement (build failures included) to the cost model.

Trace records are ordinary ml2tuner `measure` records:

    index    the measurement's running number in the trace (a TVM space is not enumerable)
    config   the candidate's sampling decisions as named numbers (features.visible_features)
    status   ok | compile_error | runtime_error | timeout
    cost     median run seconds (MetaSchedule's own statistic), None if not ok
    gflops   task FLOPs / cost
    profile_time  wall seconds since the previous batch, divided by the batch size
             (search + build + run, amortised)
    error    the last line of TVM's error message
    hidden   pooled per-store features (features.hidden_features), so that `ml2tuner train` can
             fit Model A from the trace alone (`record_hidden=False` leaves them out)
extra fields: task, task_hash (MetaSchedule's structural hash of the task module, the cost
model's task key), trial (per task, from 1), run_secs (all repeats), schedule (the trace as
TVM JSON without postprocessing; `Trace.apply_json_to_schedule` replays it).

The header uses an *open* space: `{"name": ..., "kind": "open", "knobs": {}, "size": 0}`, since
the knobs of a MetaSchedule task are only known as candidates are sampled. `TraceCallback(path)`
without a header writes one itself when the first batch arrives, naming the scheduler's tasks
and target; the same tasks append to the same file on a later run.

`callbacks(trace)` is the list a stock `ms.tune_tir` / `tune_relax` call needs for ML2CostModel:
MetaSchedule's AddToDatabase and RemoveBuildArtifact, `UpdateCostModelAll` (failures included)
and a TraceCallback.
"""
from __future__ import annotations

import logging
import statistics
import time
import warnings

from ..measure import MeasureResult, Status
from ..traces import TraceWriter, make_header
from ._env import require_tvm
from .features import hidden_features, visible_features

require_tvm()
from tvm.ir.utils import derived_object  # noqa: E402
from tvm.s_tir.meta_schedule.measure_callback import PyMeasureCallback  # noqa: E402
from tvm.s_tir.meta_schedule.utils import shash2hex  # noqa: E402

LOG = logging.getLogger("ml2tuner.tvm")
BUILD_TIMEOUT_HINT = (
    "every build of the batch timed out: MetaSchedule's default LocalBuilder imports "
    "tvm.s_tir.tensor_intrin in each fresh worker (10-30 s) inside its 30 s timeout; pass "
    "builder=ml2tuner.tvm.make_builder() to ms.tune_tir / tune_relax. These results say nothing "
    "about the candidates, so the cost model is not trained on them")


class OpenSpace:
    """Stands in for a `Space` in `make_header` when the space cannot be enumerated."""

    def __init__(self, name: str):
        self.name = name

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": "open", "knobs": {}, "size": 0}


def trace_header(space_name: str, **meta) -> dict:
    return make_header(OpenSpace(space_name), backend="tvm-meta-schedule", **meta)


def auto_header(task_scheduler) -> dict:
    """A header naming the scheduler's tasks and target (what TraceCallback(path) writes)."""
    names = [str(t.ctx.task_name) for t in task_scheduler.tasks_]
    target = task_scheduler.tasks_[0].ctx.target if names else None
    return trace_header("tvm:" + "+".join(names), tasks=names,
                        target=str(target.export()) if target is not None else None)


def is_build_timeout(error_msg) -> bool:
    """True for a builder's timeout, as the scheduler forwards it in a RunnerResult."""
    first = str(error_msg or "").strip().splitlines()[:1]
    return bool(first) and "Builder" in first[0] and "Timeout" in first[0]


def all_builds_timed_out(results) -> bool:
    """Every result of the batch is a build timeout (see BUILD_TIMEOUT_HINT)."""
    results = list(results)
    return bool(results) and all(is_build_timeout(r.error_msg) for r in results)


def warn_build_timeouts(n: int) -> None:
    msg = f"ml2tuner: {n} candidates, {BUILD_TIMEOUT_HINT}"
    LOG.warning(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=3)


def _last_line(msg: str, limit: int = 400) -> str:
    lines = [ln.strip() for ln in str(msg).splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:limit]


def classify(builder_error: str | None, runner_error: str | None,
             run_secs=None) -> tuple[Status, str]:
    """(status, short error) of one measurement from TVM's builder and runner messages."""
    if builder_error:
        first = builder_error.splitlines()[0] if builder_error.strip() else ""
        st = Status.TIMEOUT if "Timeout" in first else Status.COMPILE_ERROR
        return st, _last_line(builder_error)
    if runner_error:
        first = runner_error.splitlines()[0]
        if "Builder" in first:  # a build failure forwarded in a RunnerResult (cost-model side)
            return classify(runner_error, None)
        st = Status.TIMEOUT if "Timeout" in first else Status.RUNTIME_ERROR
        return st, _last_line(runner_error)
    if not run_secs or sum(float(s) for s in run_secs) <= 0:
        return Status.RUNTIME_ERROR, "no run time reported"
    return Status.OK, ""


def _secs(run_secs) -> list[float]:
    return [float(s) for s in run_secs] if run_secs else []


@derived_object
class TraceCallback(PyMeasureCallback):
    """Appends every measurement to an ml2tuner trace (and keeps them in `self.results`).

    `trace` is a path or None (memory only). Without `header`, the header is made from the task
    scheduler when the first batch arrives (`auto_header`).
    """

    def __init__(self, trace=None, header: dict | None = None, *, record_hidden: bool = True,
                 record_schedule: bool = True):
        self.writer = None
        self.path = trace
        if trace is not None and header is not None:
            self.writer = TraceWriter(trace, header)
        self.record_hidden = record_hidden
        self.n_build_timeouts = 0
        self.record_schedule = record_schedule
        self.results: list[MeasureResult] = []
        self.extras: list[dict] = []
        self._trials: dict[str, int] = {}
        self._last = time.perf_counter()

    def close(self) -> None:
        """Release the trace's lock (the file stays as written). Call it when tuning ends:
        TVM may keep the callback object alive, so the lock cannot wait for garbage
        collection, or a resumed run in the same process finds its own trace locked."""
        if self.writer is not None:
            self.writer.close()

    def apply(self, task_scheduler, task_id, measure_candidates, builder_results,
              runner_results) -> None:
        now = time.perf_counter()
        n = len(measure_candidates)
        per = (now - self._last) / max(n, 1)
        self._last = now
        if self.writer is None and self.path is not None:
            self.writer = TraceWriter(self.path, auto_header(task_scheduler))
        task = task_scheduler.tasks_[task_id]
        ctx = task.ctx
        name = str(ctx.task_name)
        flop = float(task.flop)
        task_hash = shash2hex(ctx.mod)
        for cand, br, rr in zip(measure_candidates, builder_results, runner_results):
            secs = _secs(rr.run_secs)
            status, err = classify(br.error_msg, rr.error_msg, secs)
            cost = statistics.median(secs) if status == Status.OK else None
            hidden = hidden_features(ctx, cand) if self.record_hidden else {}
            index = self.writer.seq if self.writer is not None else len(self.results)
            res = MeasureResult(index=index, config=visible_features(cand), status=status,
                                cost=cost, gflops=(flop / cost / 1e9) if cost else None,
                                hidden=hidden, profile_time=per, error=err)
            self._trials[name] = self._trials.get(name, 0) + 1
            self.n_build_timeouts += status == Status.TIMEOUT and bool(br.error_msg)
            extra = {"task": name, "task_hash": task_hash, "trial": self._trials[name],
                     "run_secs": secs}
            if self.record_schedule:
                extra["schedule"] = _json_plain(cand.sch.trace.as_json(remove_postproc=True))
            self.results.append(res)
            self.extras.append(extra)
            if self.writer is not None:
                self.writer.append(res, **extra)


def _json_plain(obj):
    """TVM JSON (ffi Arrays/Maps, IntImm, FloatImm, String) -> plain Python for json.dumps."""
    if isinstance(obj, (str, bool, int, float)) or obj is None:
        return obj
    if hasattr(obj, "items"):
        return {str(k): _json_plain(v) for k, v in obj.items()}
    if hasattr(obj, "value"):
        return obj.value
    try:
        return [_json_plain(x) for x in obj]
    except TypeError:
        return str(obj)


@derived_object
class UpdateCostModelAll(PyMeasureCallback):
    """Like MetaSchedule's UpdateCostModel, but keeps the failed measurements.

    TVM's UpdateCostModel (update_cost_model.cc) drops every candidate whose build failed, so a
    cost model never sees build failures. For those the task scheduler has already put the
    builder's message into the RunnerResult (run_secs None, error_msg "LocalBuilder: ..."), so
    passing the runner results through unfiltered is enough for Model V to learn them.
    """

    def apply(self, task_scheduler, task_id, measure_candidates, builder_results,
              runner_results) -> None:
        model = task_scheduler.cost_model_
        if model is None or len(measure_candidates) == 0:
            return
        ctx = task_scheduler.tasks_[task_id].ctx
        model.update(ctx, list(measure_candidates), list(runner_results))


def callbacks(trace=None, *, record_hidden: bool = True) -> list:
    """The measure callbacks for `ms.tune_tir(..., cost_model=ML2CostModel(), measure_callbacks=
    callbacks("trace.jsonl"))`: AddToDatabase, RemoveBuildArtifact, UpdateCostModelAll and a
    TraceCallback (the last element; `trace=None` keeps the results in memory only)."""
    from tvm.s_tir.meta_schedule import measure_callback as mc
    return [mc.AddToDatabase(), mc.RemoveBuildArtifact(), UpdateCostModelAll(),
            TraceCallback(trace, record_hidden=record_hidden)]
