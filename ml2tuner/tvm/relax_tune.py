"""Tune a whole Relax model with MetaSchedule and ML2Tuner's cost model, then run it.

    from ml2tuner.tvm import build_model, tune_model
    r = tune_model(build_model("resnet"), trials=64, work_dir="tuned-resnet")
    print(r["untuned_latency"], r["tuned_latency"], r["tasks"])

Steps: the module is prepared the way `ms.relax_integration.compile_relax` prepares it
(library dispatch, LegalizeOps, AnnotateTIROpPattern, FoldConstant, FuseOps, FuseTIR), so the
extracted tasks and the database keys match at compile time; `extract_tasks` gives the fused
kernels (compile_relax itself gets the unprepared module: given the prepared one, its second
fusion pass renames nothing but no tuning record matches); `tune_tasks` (what `tune_relax` calls) tunes them with MetaSchedule's gradient task
scheduler, our builder (make_builder), the cost model and `callback.callbacks()`;
`compile_relax` applies the database; the Relax VM runs the untuned and the tuned build on
the same input (outputs must agree) and times them in alternation (time_interleaved), so the
speed-up is a ratio taken under the same machine load.

`work_dir`: MetaSchedule's JSON database (database_workload.json, database_tuning_record.json),
the trace (trace.jsonl), the ML2 cost model (ml2_model/) and TVM's logs. A second call with a
database that already holds records tunes nothing and compiles from it; `resume=True` tunes
`trials` more, starting from the saved cost model and the database's best schedules.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from ._env import require_tvm
from .tune import DEFAULT_TARGET, _prepare_ms_logging, _restore_ms_logging

COST_MODELS = ("ml2", "xgb", "random")


def prepare(mod, target):
    """The fusion passes `compile_relax` runs before applying the database."""
    tvm = require_tvm()
    from tvm import relax
    from tvm.relax import pipeline as rp
    try:
        dispatch = list(rp.library_dispatch_passes(target))
    except (ValueError, AttributeError):
        dispatch = []
    seq = [*dispatch, relax.transform.LegalizeOps(), relax.transform.AnnotateTIROpPattern(),
           relax.transform.FoldConstant(), relax.transform.FuseOps(), relax.transform.FuseTIR()]
    with target, tvm.transform.PassContext(opt_level=3):
        return tvm.transform.Sequential(seq)(mod)


def extract_tasks(mod, target):
    """MetaSchedule's tuning tasks of a prepared Relax module (one per distinct fused kernel)."""
    from tvm.s_tir.meta_schedule import relax_integration as ri
    return list(ri.extract_tasks(mod, target))


def run_vm(executable, inputs):
    """(a timer of `main` in the Relax VM on the CPU, its output)."""
    tvm = require_tvm()
    from tvm import relax
    dev = tvm.cpu()
    vm = relax.VirtualMachine(executable, dev)
    args = [tvm.runtime.tensor(x, dev) for x in inputs]
    out = vm["main"](*args).numpy()
    f = vm.time_evaluator("main", dev, number=1, repeat=1, min_repeat_ms=50)
    return (lambda: float(f(*args).mean)), out


def time_interleaved(timers: dict, rounds: int = 7) -> dict:
    """Fastest of `rounds` alternating measurements per timer: the builds share the same
    moments of machine load, and the minimum is the figure least disturbed by other jobs."""
    best = {k: float("inf") for k in timers}
    for _ in range(rounds):
        for k, f in timers.items():
            best[k] = min(best[k], f())
    return best


def time_prim_func(mod, target, *, number: int = 5, repeat: int = 3,
                   min_repeat_ms: int = 20) -> float:
    """Median seconds of one TIR task as given (e.g. unscheduled) on random inputs."""
    tvm = require_tvm()
    dev = tvm.cpu()
    from tvm.s_tir.meta_schedule.arg_info import ArgInfo
    lib = tvm.compile(mod, target=target).mod
    rng = np.random.default_rng(0)
    args = []
    for info in ArgInfo.from_prim_func(mod["main"]):
        shape = [int(s) for s in info.shape]
        args.append(tvm.runtime.tensor(rng.standard_normal(shape).astype(str(info.dtype)), dev))
    f = lib.time_evaluator(lib.entry_name, dev, number=number, repeat=repeat,
                           min_repeat_ms=min_repeat_ms)
    return float(np.median(f(*args).results))


def _best_record(db, mod):
    from tvm.s_tir.meta_schedule.database import Workload  # noqa: F401
    if not db.has_workload(mod):
        return None
    recs = db.get_top_k(db.commit_workload(mod), 1)
    if not recs or not recs[0].run_secs:
        return None
    return float(np.median([float(s) for s in recs[0].run_secs]))


def tune_model(model, trials: int, *, seed: int = 0, cost_model: str = "ml2",
               work_dir=None, resume: bool = False, trace_path=None, load_model_dir=None,
               save_model_dir=None, num_trials_per_iter: int = 8,
               max_trials_per_task: int | None = None, alpha: int = 1,
               population_size: int = 512, target: dict | None = None,
               min_repeat_ms: int = 100, time_tasks: bool = True,
               verbose: bool = False) -> dict:
    """Tune every task of a Relax model, compile with the database and time it end to end.

    model: a name of `models.MODELS`, a `models.RelaxModel`, or (IRModule, input arrays).
    trials: new measurements in this call (MetaSchedule's max_trials_global).
    Returns untuned_latency, tuned_latency (s), speedup, tasks (per task: name, weight, flops,
    trials, untuned_s, tuned_s), trials_run, reused_records, work_dir, trace_path,
    model_dir, max_abs_diff (tuned vs untuned output), tune_s, wall_s.
    """
    t_wall = time.perf_counter()
    if cost_model not in COST_MODELS:
        raise UserError(f"cost model {cost_model!r}: choose one of {', '.join(COST_MODELS)}")
    if trials < 0:
        raise UserError("trials must be >= 0")
    tvm = require_tvm()
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms
    from tvm.s_tir.meta_schedule import relax_integration as ri

    from .build import make_builder
    from .callback import callbacks
    from .models import RelaxModel, build_model

    if isinstance(model, str):
        model = build_model(model, seed=0)
    if isinstance(model, RelaxModel):
        name, mod, inputs = model.name, model.mod, [model.random_input(seed=0)]
    else:
        mod, inputs = model
        name = "custom"
    tgt_dict = dict(DEFAULT_TARGET if target is None else target)
    tgt = tvm.target.Target(tgt_dict)
    cores = int(tgt_dict.get("num-cores", 2))
    import tvm.s_tir.tensor_intrin  # noqa: F401  (TuneContext imports it anyway)

    prepared = prepare(mod, tgt)
    tasks = extract_tasks(prepared, tgt)
    if not tasks:
        raise UserError(f"model {name}: MetaSchedule found no tuning task")

    untuned_ex = relax.build(mod, target=tgt)

    tmp = None
    if work_dir is None:
        import tempfile
        tmp = tempfile.TemporaryDirectory(prefix="ml2tuner-relax-")
        work_dir = tmp.name
    wd = Path(work_dir)
    wd.mkdir(parents=True, exist_ok=True)
    db = ms.database.JSONDatabase(work_dir=str(wd))
    reused = len(db.get_all_tuning_records())
    model_dir = Path(save_model_dir) if save_model_dir else wd / "ml2_model"
    if load_model_dir is None and resume and (model_dir / "manifest.json").exists():
        load_model_dir = model_dir
    trace_path = Path(trace_path) if trace_path else wd / "trace.jsonl"
    run_trials = trials if (reused == 0 or resume) else 0

    recorder, tune_s, cm = None, 0.0, None
    stashed = []
    try:
        if run_trials > 0:
            stashed = _prepare_ms_logging(verbose)
            cbs = callbacks(trace_path)
            recorder = cbs[-1]
            if cost_model == "ml2":
                from .cost_model import ML2CostModel
                from .search import ML2SearchStrategy
                cm = ML2CostModel(seed=seed, shortlist=(alpha + 1) * num_trials_per_iter,
                                  model_dir=load_model_dir)
                strategy = ML2SearchStrategy(cm, alpha=alpha, population_size=population_size)
                model_arg = cm
            else:
                strategy = ms.search_strategy.EvolutionarySearch(population_size=population_size)
                model_arg = (ms.cost_model.XGBModel() if cost_model == "xgb"
                             else ms.cost_model.RandomModel(seed=seed))
                cbs[2] = ms.measure_callback.UpdateCostModel()   # MetaSchedule's own
            contexts, weights = ri.extracted_tasks_to_tune_contexts(
                tasks, str(wd), strategy=strategy, num_threads=cores, seed=seed)
            runner = ms.runner.LocalRunner(evaluator_config=ms.runner.EvaluatorConfig(
                number=3, repeat=1, min_repeat_ms=min_repeat_ms))
            t0 = time.perf_counter()
            ms.tune_tasks(tasks=contexts, task_weights=weights, work_dir=str(wd),
                          max_trials_global=run_trials, max_trials_per_task=max_trials_per_task,
                          num_trials_per_iter=num_trials_per_iter,
                          builder=make_builder(max_workers=cores), runner=runner, database=db,
                          cost_model=model_arg, measure_callbacks=cbs)
            tune_s = time.perf_counter() - t0
            if cm is not None:
                cm.save(str(model_dir))
        with tvm.transform.PassContext(opt_level=3):
            tuned_ex = ri.compile_relax(db, mod, tgt, params=None)
        t_untuned, ref_out = run_vm(untuned_ex, inputs)
        t_tuned, out = run_vm(tuned_ex, inputs)
        lat = time_interleaved({"untuned": t_untuned, "tuned": t_tuned})
        untuned_s, tuned_s = lat["untuned"], lat["tuned"]
        per_task = []
        counts = {}
        for r in (recorder.extras if recorder is not None else []):
            counts[r["task"]] = counts.get(r["task"], 0) + 1
        for t in tasks:
            tmod = t.dispatched[0]
            row = {"name": str(t.task_name), "weight": int(t.weight),
                   "flops": float(tvm.s_tir.analysis.estimate_tir_flops(tmod)),
                   "trials": counts.get(str(t.task_name), 0),
                   "tuned_s": _best_record(db, tmod)}
            row["untuned_s"] = time_prim_func(tmod, tgt) if time_tasks else None
            per_task.append(row)
        n_records = len(db.get_all_tuning_records())
    finally:
        if recorder is not None:
            recorder.close()
        if stashed or run_trials > 0:
            _restore_ms_logging(stashed, str(wd))
        if tmp is not None:
            tmp.cleanup()
    result = {
        "model": name, "cost_model": cost_model, "seed": seed, "target": tgt_dict,
        "untuned_latency": untuned_s, "tuned_latency": tuned_s,
        "speedup": untuned_s / tuned_s if tuned_s > 0 else None,
        "max_abs_diff": float(np.max(np.abs(out - ref_out))),
        "tasks": per_task, "trials_run": len(recorder.results) if recorder else 0,
        "reused_records": reused, "records": n_records,
        "work_dir": None if tmp is not None else str(wd),
        "trace_path": str(trace_path) if (recorder and tmp is None) else None,
        "model_dir": str(model_dir) if (cm is not None and tmp is None) else None,
        "failures": sum(not r.valid for r in recorder.results) if recorder else 0,
        "tune_s": tune_s, "wall_s": time.perf_counter() - t_wall,
    }
    return result
