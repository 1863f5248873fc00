"""`ml2tuner tune`: one tuning run on the accelerator simulator."""
from __future__ import annotations

from ..errors import UserError
from .args import nonneg_float_arg, positive_int_arg, seed_arg
from .common import accel_args, emit, hp_from_args


def cmd_tune(a):
    from pathlib import Path

    from ..accel.measurer import AccelMeasurer
    from ..hpo.kinds import workload_kind
    from ..session import tune_task
    from ..tuners.callbacks import plot_suffixes
    from ..validate import check_output_file
    if a.trials < 1:
        raise UserError("--trials must be >= 1")
    if a.resume and not a.trace:
        raise UserError("--resume needs --trace FILE (the trace to continue)")
    if a.source_traces and a.init != "gc":
        raise UserError("--source-traces is only used by --init gc")
    if a.init == "gc":
        if a.tuner != "ml2tuner":
            raise UserError("--init gc needs --tuner ml2tuner")
        if not a.source_traces:
            raise UserError("--init gc needs --source-traces FILE...")
    if a.model and a.tuner != "ml2tuner":
        raise UserError("--model needs --tuner ml2tuner")
    trace = Path(a.trace) if a.trace else None
    if trace is not None:
        check_output_file(trace, "--trace")
    plot = a.plot or (str(trace.with_suffix(".png")) if trace else None)
    if plot:
        check_output_file(plot, "--plot", suffixes=plot_suffixes())
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    hp = hp_from_args(a.tuner, a.hp, a.hp_file,
                      kernel=workload_kind(m.wl) if a.hp_file else None)
    run = tune_task(m, a.tuner, a.trials, seed=a.seed, hp=hp,
                    model=a.model or None, init=a.init, source_traces=a.source_traces, trace=trace,
                    resume=a.resume, plot=plot, early_stopping=a.early_stopping,
                    progress=False if a.quiet else None)
    res, best = run.result, run.best
    d = {"tuner": a.tuner, "accel": m.hw.name, "workload": m.wl.label,
         "best_config": best.config if best else None, "best_cycles": best.cycles if best else None,
         "best_gflops": best.gflops if best else None, "peak_gflops": m.hw.peak_gflops,
         "n_measured": res.n_measured, "n_invalid_measured": res.n_invalid,
         "n_resumed": res.resumed, "stopped_early": res.stopped_early,
         "decision_seconds": round(res.decision_seconds, 3),
         "simulated_profile_seconds": round(res.profile_seconds, 1),
         "simulated_seconds": round(res.simulated_seconds, 3),
         "n_compiled": res.clock["n_compiled"],
         "trace": str(trace) if trace else None}
    if hasattr(run.tuner, "stats"):
        d["tuner_stats"] = run.tuner.stats
    if run.plot is not None:
        d["plot"] = plot

    def human(d):
        print(f"{d['tuner']} on {d['workload']} ({d['accel']}): {d['n_measured']} measured, "
              f"{d['n_invalid_measured']} invalid" + (f", {d['n_resumed']} resumed"
                                                      if d["n_resumed"] else ""))
        if best:
            print(f"  best {d['best_gflops']:.2f} GFLOPS ({d['best_gflops'] / d['peak_gflops']:.1%}"
                  f" of peak), {d['best_cycles']} cycles: {d['best_config']}")
        # no plot when a resumed trace already held every trial (nothing new to draw)
        print(f"  tuner decisions {d['decision_seconds']:.2f} s; compiling ({d['n_compiled']} "
              f"configurations) and profiling stand for {d['simulated_seconds']:.0f} s"
              + (f"; plot {d['plot']}" if "plot" in d else ""))
    emit(d, a.json, human)


def register(sub) -> None:
    """Add `tune` to the `ml2tuner` subparsers."""
    from ..tuners import TUNERS
    p = sub.add_parser("tune", help="tune a workload on the accelerator simulator")
    accel_args(p)
    p.add_argument("--tuner", default="ml2tuner", choices=sorted(TUNERS))
    p.add_argument("--trials", type=positive_int_arg, default=200,
                   help="measurement budget (default 200)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--trace", help="JSONL trace: every measurement is appended and flushed")
    p.add_argument("--resume", action="store_true", help="continue the --trace file without "
                   "re-measuring what it holds")
    p.add_argument("--hp", nargs="*", metavar="NAME=VALUE", help="tuner hyperparameters")
    p.add_argument("--hp-file", metavar="FILE", help="settings file written by `ml2tuner hpo` "
                   "(--hp overrides it)")
    p.add_argument("--model", help="start ML2Tuner from a trained model bundle directory")
    p.add_argument("--init", choices=("random", "gc"), default="random",
                   help="initial design: random, or the Gaussian-copula prior of --source-traces")
    p.add_argument("--source-traces", nargs="*", help="traces of earlier tasks for --init gc")
    p.add_argument("--noise", type=nonneg_float_arg, default=0.0,
                   help="multiplicative noise sigma")
    p.add_argument("--early-stopping", type=positive_int_arg, default=None,
                   help="stop after this many trials without improvement")
    p.add_argument("--plot", help="convergence plot PNG (default: next to the trace)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tune)
