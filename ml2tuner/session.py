"""One tuning run of one task, with everything around the tuner: warm start from a model bundle,
a Gaussian-copula initial design, a trace (written as it goes, and resumed), a progress bar,
your callbacks and a convergence plot. `ml2tuner tune` is this function behind flags.

    from ml2tuner.accel.measurer import AccelMeasurer
    from ml2tuner.session import tune_task

    m = AccelMeasurer("vta-1x16", "resnet18.C5")
    run = tune_task(m, "ml2tuner", trials=100, seed=0, trace="out/c5.jsonl",
                    model="models/vta-1x16")
    print(run.best.config, run.result.simulated_seconds)

The measurer can be any `Measurer` (the simulator, a `ReplayMeasurer` of an exhaustive trace
or Kernel Tuner cache); warm start and the copula design need the `ml2tuner` tuner.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .measure import MeasureResult, Measurer
from .tuners.base import Tuner, TuneResult


@dataclass
class TaskRun:
    """What `tune_task` did: the tuner (with its final models and `hp`), its `TuneResult`
    (whose history starts with the results read back from a resumed trace, `resumed`), where
    the trace and plot went, and the wall time of the tuning loop alone."""
    tuner: Tuner
    result: TuneResult
    resumed: list[MeasureResult] = field(default_factory=list)
    trace: Path | None = None
    plot: Path | None = None
    tune_seconds: float = 0.0

    @property
    def best(self) -> MeasureResult | None:
        return self.result.best


def _label(m: Measurer) -> tuple[str, str, float | None]:
    """Workload label, accelerator name and peak GFLOPS of a simulator measurer (else what
    its description says)."""
    if hasattr(m, "wl") and hasattr(m, "hw"):
        return m.wl.label, m.hw.name, m.hw.peak_gflops
    d = m.describe()
    return str(d.get("workload_name") or d.get("space", {}).get("name", "task")), "", None


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def tune_task(measurer: Measurer, tuner: str = "ml2tuner", trials: int = 200, *, seed: int = 0,
              hp: dict | None = None, model=None, init: str = "random", source_traces=None,
              prior_validity=None, trace=None, resume: bool = False, plot=None, callbacks=(),
              early_stopping: int | None = None, progress: bool | None = False,
              warn=_warn) -> TaskRun:
    """Tune `measurer`'s task with the tuner named `tuner` (hyperparameters `hp`) for `trials`
    measurements in all, counting those a resumed trace already holds.

    model          a bundle (directory or `Bundle`) to warm-start ML2Tuner from (`warmstart`)
    init           "random" (the tuner's own initial design) or "gc": the Gaussian-copula prior
                   of `source_traces` is measured first (`transfer.gc_initial_design`)
    prior_validity what drops predicted-invalid configurations from the gc design: a bundle,
                   a fitted ValidityModel or a callable (default: `model`, if any)
    trace          a JSONL trace that receives every measurement (flushed, fsynced, locked);
                   with `resume` an existing one is continued: its records are fed back
                   without re-measuring and the simulated clock restarts where it stopped
    plot           convergence plot file written at the end (None: none)
    callbacks      more `cb(tuner, result)` after each measurement
    progress       a tqdm bar: True, False, or None (shown on a terminal only)
    warn           receives the warnings of a resumed trace (default: one line on stderr)

    Bad arguments raise `UserError` before anything is measured.
    """
    from .tuners import make_tuner
    from .tuners.callbacks import LogToFile, ProgressBar, plot_convergence
    if trials < 1:
        raise UserError("trials must be >= 1")
    if init not in ("random", "gc"):
        raise UserError(f"init must be 'random' or 'gc', not {init!r}")
    if resume and trace is None:
        raise UserError("resume needs a trace (the trace to continue)")
    if (source_traces or prior_validity is not None) and init != "gc":
        raise UserError("source traces and prior validity are only used by the gc initial "
                        "design")
    if init == "gc" and not source_traces:
        raise UserError("the gc initial design needs source traces")
    if (init == "gc" or model is not None) and tuner != "ml2tuner":
        raise UserError(f"{'a model bundle' if model is not None else 'the gc initial design'}"
                        " needs the ml2tuner tuner")
    trace = Path(trace) if trace is not None else None
    plot = Path(plot) if plot is not None else None
    if trace is not None or plot is not None:
        from .validate import check_output_file
        if trace is not None:
            check_output_file(trace, "trace")
        if plot is not None:
            from .tuners.callbacks import plot_suffixes
            check_output_file(plot, "plot", suffixes=plot_suffixes())
    m = measurer
    t = make_tuner(tuner, m.space, seed=seed, **(hp or {}))
    # read before a warm start sets it to 0
    n_init = t.hp.get("n_init" if m.has_compiler else "n_init_no_compiler",
                      t.hp.get("n_init", 0))
    if model is not None:
        from .warmstart import warm_start
        warm_start(t, model, m)
    if init == "gc":
        from .transfer import gc_initial_design
        from .warmstart import set_initial_design
        set_initial_design(t, gc_initial_design(m.space, m, source_traces, max(n_init, 1),
                                                seed=seed, validity=prior_validity
                                                if prior_validity is not None else model))
    resumed, writer = [], None
    if trace is not None:
        from .data.traces import TraceWriter, make_header
        header = make_header(m.space, tuner=tuner, hparams=t.hp, **m.describe())
        # locks the trace; a resumed one must be of this very run: space, accelerator (all
        # its fields), workload and noise, each record a member of the space
        writer = TraceWriter(trace, header, append=resume,
                             match=("space", "accel", "workload", "noise"))
        if writer.existing is not None:
            for w in writer.existing.warnings:
                warn(w)
            resumed = writer.existing.results
            if len({r.index for r in resumed}) != len(resumed):
                writer.close()
                raise UserError(f"{trace} measures a configuration twice; it was not written "
                                "by one tuning run and cannot be resumed")
            m.sim_clock.restore(writer.existing.compiles, resumed)
        m.sim_clock.listeners.append(writer.append_compile)
    workload, accel, peak = _label(m)
    cbs = [LogToFile(writer)] if writer else []
    bar = ProgressBar(trials, initial=min(len(resumed), trials), desc=f"{tuner} {workload}",
                      disable={True: False, False: True, None: None}[progress])
    bar.seed_with(resumed)
    cbs += [bar, *callbacks]
    t0 = time.perf_counter()
    try:
        res = t.tune(trials, m, callbacks=cbs, early_stopping=early_stopping, resume=resumed)
    finally:
        bar.close()
        if writer:
            writer.close()
    run = TaskRun(t, res, resumed, trace, None, time.perf_counter() - t0)
    if plot is not None and res.history:
        plot_convergence(res.history, plot,
                         title=f"{tuner} on {workload}" + (f" ({accel})" if accel else ""),
                         peak=peak)
        run.plot = plot
    return run


__all__ = ["TaskRun", "tune_task"]
