"""Run MetaSchedule on a workload spec, with ML2Tuner's cost model or TVM's XGBModel."""
from __future__ import annotations

import logging
import statistics
import tempfile
import time

from ._env import require_tvm

DEFAULT_TARGET = {"kind": "llvm", "num-cores": 2}


def tvm_tune(workload_spec, trials: int, seed: int = 0, trace_path=None,
             use_ml2tuner: bool = True, *, cost_model: str | None = None,
             task_name: str | None = None, load_model_dir=None, target: dict | None = None,
             num_trials_per_iter: int = 8, alpha: int = 1, population_size: int = 512,
             build_timeout_s: float = 120.0, run_timeout_s: float = 30.0,
             builder_mode: str = "light", max_vector_lanes: int | None = None,
             max_alloc_bytes: int | None = None, min_repeat_ms: int = 100,
             work_dir: str | None = None, model_dir: str | None = None,
             selection: str = "strategy", proposal: str = "vp", verbose: bool = False,
             keep: bool = False) -> dict:
    """Tune one workload with MetaSchedule (`tune_tir`) on an llvm target; return a summary.

    workload_spec: a spec string (workloads.parse_spec) or a TensorIR IRModule with one PrimFunc
        (e.g. a task of a Relax model); `task_name` names the latter.
    use_ml2tuner: ML2CostModel (V/P/A, shortlist (alpha+1)*num_trials_per_iter) fed with every
        measurement; else MetaSchedule's default XGBModel and callbacks.
    cost_model: overrides use_ml2tuner: "ml2", "xgb" (MetaSchedule's default) or "random"
        (MetaSchedule's RandomModel: the same evolutionary search with random scores).
    load_model_dir: ml2 only, warm-start the cost model from this bundle.
    max_vector_lanes / max_alloc_bytes: build-time limits that turn candidates into build
        failures (accelerator-like validity; see build.BuildConstraints).
    selection: where ML2Tuner's (alpha+1)*N -> V -> A selection happens (ML2 cost model only):
        "strategy" (default): search.ML2SearchStrategy wraps EvolutionarySearch, which proposes
        (alpha+1)*N candidates by V*P; V filters and A picks the N that are measured.
        "predict": MetaSchedule's EvolutionarySearch with the cascade inside predict() (the
        shortlist re-scored by A ranks above the rest).
    proposal: with selection "strategy", what steers the evolution: "vp" (V·P on the decisions,
        ML2Tuner's proposal) or "va" (V·A on the per-store features of every candidate).
    model_dir: save the ML2 cost model there at the end (a model bundle directory; no pickle).
    keep: also return the TVM database, the TraceCallback and the cost model ("_objects").

    Returns best_latency_s (None if nothing ran), best_gflops, trials (measured), n_ok,
    n_compile_error, n_runtime_error, n_timeout, init_s (TVM/tensor_intrin import and task
    set-up), tune_s, wall_s, best_config (decisions of the best candidate), curve (best
    latency so far after each trial, None before the first valid one) and time_split (build_s,
    run_s, model_s, other_s of tune_s; see instrument.py).
    """
    t_wall = time.perf_counter()
    tvm = require_tvm()
    from tvm.s_tir import meta_schedule as ms

    from .build import BuildConstraints, make_builder
    from .callback import TraceCallback, UpdateCostModelAll, trace_header
    from .cost_model import ML2CostModel
    from .instrument import Clock, TimedBuilder, TimedCostModel, TimedRunner
    from .workloads import build_module, parse_spec

    if trials < 1:
        raise ValueError("trials must be >= 1")
    if selection not in ("strategy", "predict"):
        raise ValueError(f"selection must be 'strategy' or 'predict', not {selection!r}")
    kind = cost_model or ("ml2" if use_ml2tuner else "xgb")
    if kind not in ("ml2", "xgb", "random"):
        raise ValueError(f"cost_model must be 'ml2', 'xgb' or 'random', not {kind!r}")
    use_ml2tuner = kind == "ml2"
    if isinstance(workload_spec, str):
        w = parse_spec(workload_spec)
        mod, wname, flops = build_module(w), w.name, w.flops
    else:
        from tvm.s_tir.analysis import estimate_tir_flops
        mod = workload_spec
        wname, flops = task_name or "task", float(estimate_tir_flops(workload_spec))
    tgt_dict = dict(DEFAULT_TARGET if target is None else target)
    tgt = tvm.target.Target(tgt_dict)
    cores = int(tgt_dict.get("num-cores", 2))
    t_init = time.perf_counter()
    import tvm.s_tir.tensor_intrin  # noqa: F401  (TuneContext imports it anyway: pay it here)
    init_s = time.perf_counter() - t_init

    constraints = None
    if max_vector_lanes is not None or max_alloc_bytes is not None:
        constraints = BuildConstraints(max_vector_lanes, max_alloc_bytes)
    clock = Clock()
    builder = TimedBuilder(make_builder(max_workers=cores, timeout_s=build_timeout_s,
                                        mode=builder_mode, constraints=constraints), clock)
    runner = TimedRunner(ms.runner.LocalRunner(
        timeout_sec=run_timeout_s,
        evaluator_config=ms.runner.EvaluatorConfig(number=3, repeat=1,
                                                   min_repeat_ms=min_repeat_ms)), clock)
    tuner_name = {"ml2": "ml2tuner", "xgb": "metaschedule-xgb", "random": "metaschedule-random"}
    header = trace_header(
        f"tvm:{wname}", workload=wname, target=tgt_dict, seed=seed, tuner=tuner_name[kind],
        selection=selection if use_ml2tuner else None,
        constraints=constraints.to_dict() if constraints else None)
    recorder = TraceCallback(trace_path, header if trace_path is not None else None)
    defaults = [ms.measure_callback.AddToDatabase(), ms.measure_callback.RemoveBuildArtifact()]
    if use_ml2tuner:
        model = ML2CostModel(seed=seed, shortlist=(alpha + 1) * num_trials_per_iter,
                             model_dir=load_model_dir)
        callbacks = defaults + [UpdateCostModelAll(), recorder]
    else:
        model = (ms.cost_model.XGBModel() if kind == "xgb"
                 else ms.cost_model.RandomModel(seed=seed))
        callbacks = defaults + [ms.measure_callback.UpdateCostModel(), recorder]
    if use_ml2tuner and selection == "strategy":
        from .search import ML2SearchStrategy
        strategy = ML2SearchStrategy(model, alpha=alpha, population_size=population_size,
                                     proposal=proposal)
    else:
        strategy = ms.search_strategy.EvolutionarySearch(population_size=population_size)
    timed_model = TimedCostModel(model, clock)

    tmp, stashed = None, []
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ml2tuner-tvm-")
        work_dir = tmp.name
    try:
        stashed = _prepare_ms_logging(verbose)
        t0 = time.perf_counter()
        db = ms.tune_tir(mod, tgt, work_dir, max_trials_global=trials,
                         num_trials_per_iter=num_trials_per_iter, builder=builder,
                         runner=runner, database="memory", cost_model=timed_model,
                         measure_callbacks=callbacks, strategy=strategy, seed=seed,
                         num_tuning_cores=cores)
        tune_s = time.perf_counter() - t0
        if use_ml2tuner and model_dir is not None:
            model.save(str(model_dir))
    finally:
        recorder.close()
        _restore_ms_logging(stashed, work_dir)
        if tmp is not None:
            tmp.cleanup()

    results = recorder.results
    ok = [r for r in results if r.valid]
    best = min(ok, key=lambda r: r.cost) if ok else None
    counts = {s: sum(1 for r in results if r.status.value == s)
              for s in ("ok", "compile_error", "runtime_error", "timeout")}
    model_s = clock["model_s"]
    if use_ml2tuner and selection == "strategy":   # proposal and selection bypass the wrapper
        model_s += model.timing["predict_s"] + model.timing.get("select_s", 0.0)
    split = {"build_s": clock["build_s"], "run_s": clock["run_s"], "model_s": model_s}
    split["other_s"] = max(0.0, tune_s - sum(split.values()))
    out = {
        "workload": wname, "flops": flops, "target": tgt_dict, "seed": seed, "cost_model": kind,
        "tuner": header["tuner"],
        "best_latency_s": best.cost if best else None,
        "best_gflops": best.gflops if best else None,
        "best_config": best.config if best else None,
        "trials": len(results), "n_ok": counts["ok"], "n_compile_error": counts["compile_error"],
        "n_runtime_error": counts["runtime_error"], "n_timeout": counts["timeout"],
        "init_s": init_s, "tune_s": tune_s, "wall_s": time.perf_counter() - t_wall,
        "trace_path": str(trace_path) if trace_path is not None else None,
        "median_profile_time_s": statistics.median([r.profile_time for r in results])
        if results else None,
        "curve": best_so_far(results), "time_split": split,
    }
    if use_ml2tuner:
        out["selection"] = selection
        out["cost_model_timing"] = dict(model.timing)
        # how far the prior, P and A were trusted at the end (prequential rank correlation)
        out["trust"] = {k: round(model.core.trust(k), 3) for k in ("prior", "P", "A")}
        if selection == "strategy":
            out["selection_stats"] = dict(strategy.stats)
    if keep:
        out["_objects"] = {"database": db, "recorder": recorder,
                           "cost_model": model, "module": mod}
    return out


def best_so_far(results) -> list:
    """Best latency (s) after each measurement; None until the first valid one."""
    curve, best = [], None
    for r in results:
        if r.valid and (best is None or r.cost < best):
            best = r.cost
        curve.append(best)
    return curve



_MS_LOGGER = "tvm.s_tir.meta_schedule"


def _prepare_ms_logging(verbose: bool) -> list:
    """tune_tir (re)configures its loggers with logging.config.dictConfig, listing the handlers
    already on "tvm.s_tir.meta_schedule" by name; an unnamed one (pytest's LogCaptureHandler
    lands there) makes the second tune_tir in a process fail with AttributeError in
    create_loggers. Detach unnamed handlers for the run; quiet the console unless verbose."""
    lg = logging.getLogger(_MS_LOGGER)
    stashed = [h for h in lg.handlers if h.get_name() is None]
    for h in stashed:
        lg.removeHandler(h)
    if not verbose and lg.level in (logging.NOTSET, logging.DEBUG, logging.INFO):
        lg.setLevel(logging.WARNING)
    return stashed


def _restore_ms_logging(stashed: list, work_dir: str) -> None:
    """Close TVM's file handlers that write into work_dir; re-attach the stashed handlers."""
    import os
    wd = os.path.abspath(work_dir)
    loggers = [logging.getLogger(_MS_LOGGER)] + [
        lg for name, lg in logging.Logger.manager.loggerDict.items()
        if name.startswith(_MS_LOGGER + ".") and isinstance(lg, logging.Logger)]
    for lg in loggers:
        for h in list(lg.handlers):
            path = getattr(h, "baseFilename", None)
            if path and os.path.abspath(path).startswith(wd + os.sep):
                lg.removeHandler(h)
                h.close()
    lg = logging.getLogger(_MS_LOGGER)
    for h in stashed:
        lg.addHandler(h)
