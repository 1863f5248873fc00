"""`ml2tuner tvm-tune`: tune an operator or a whole Relax model with TVM MetaSchedule (llvm CPU).

    ml2tuner tvm-tune --workload matmul:M=128,N=128,K=128 --trials 32 [--seed S] [--trace FILE]
                      [--cost-model ml2|xgb|random] [--load-model DIR] [--save-model DIR] [--json]
    ml2tuner tvm-tune --model resnet --trials 64 --work-dir DIR [--resume] [--json]

Importing this module does not import TVM; without TVM the command prints one line saying how
to install it and exits 2.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .common import emit

INSTALL_HINT = "pip install -e '.[tvm]'"


def _check_tvm() -> None:
    from ..tvm._env import tvm_available
    ok, why = tvm_available()
    if not ok:
        raise UserError(f"TVM is needed for tvm-tune: {why.split(' (')[0]}; install it with "
                        f"`{INSTALL_HINT}` (or `pip install 'ml2tuner[tvm]'`)")


def _check_model_dir(path) -> None:
    if not (Path(path) / "manifest.json").is_file():
        raise UserError(f"--load-model {path}: no model bundle there (no manifest.json)")


def cmd_tvm_tune(a) -> None:
    from ..tvm.workloads import parse_spec
    if (a.workload is None) == (a.model is None):
        raise UserError("give exactly one of --workload SPEC or --model NAME")
    if a.workload is not None:
        parse_spec(a.workload)                     # bad specs fail before TVM is touched
        if a.work_dir or a.resume:
            raise UserError("--work-dir and --resume go with --model")
    if a.trials < (0 if a.model else 1):
        raise UserError(f"--trials must be >= {0 if a.model else 1}")
    if a.trials_per_iter < 1:
        raise UserError("--trials-per-iter must be >= 1")
    if (a.save_model or a.load_model) and a.cost_model != "ml2":
        raise UserError("--save-model and --load-model need --cost-model ml2")
    if a.save_model:
        from ..validate import check_bundle_dir
        check_bundle_dir(a.save_model, "--save-model")
    if a.load_model:
        _check_model_dir(a.load_model)
    if a.trace:
        from ..validate import check_output_file
        check_output_file(a.trace, "--trace")
        if Path(a.trace).exists() and Path(a.trace).stat().st_size > 0 and not a.resume:
            raise UserError(f"{a.trace} exists; choose another file (or --resume with --model)")
    if a.model is not None:
        return _cmd_model(a)
    trace = Path(a.trace) if a.trace else None
    if trace is not None and trace.exists() and trace.stat().st_size > 0:
        raise UserError(f"{trace} exists; choose another file (tvm-tune does not resume)")
    _check_tvm()
    from ..tvm.tune import tvm_tune
    r = tvm_tune(a.workload, a.trials, seed=a.seed, trace_path=trace,
                 use_ml2tuner=a.cost_model == "ml2", num_trials_per_iter=a.trials_per_iter,
                 alpha=a.alpha, population_size=a.population,
                 max_vector_lanes=a.max_vector_lanes, model_dir=a.save_model,
                 cost_model=a.cost_model, load_model_dir=a.load_model, verbose=a.verbose)
    d = {k: r[k] for k in ("workload", "tuner", "seed", "best_latency_s", "best_gflops",
                           "trials", "n_ok", "n_compile_error", "n_runtime_error", "n_timeout",
                           "init_s", "tune_s", "wall_s", "best_config", "trace_path", "target")}
    d["cost_model"] = a.cost_model
    d["time_split"] = r["time_split"]
    d["n_failed"] = r["trials"] - r["n_ok"]
    if a.save_model:
        d["model_dir"] = str(a.save_model)

    def human(d):
        print(f"{d['workload']}: {d['trials']} candidates measured with MetaSchedule "
              f"({a.cost_model} cost model, seed {d['seed']}) on {d['target']['kind']} "
              f"({d['target'].get('num-cores')} cores)")
        if d["best_latency_s"] is not None:
            print(f"  best latency {d['best_latency_s'] * 1e6:.2f} us  "
                  f"({d['best_gflops']:.2f} GFLOPS)")
        else:
            print("  no candidate ran: no latency")
        print(f"  failures {d['n_failed']}/{d['trials']} (compile {d['n_compile_error']}, runtime "
              f"{d['n_runtime_error']}, timeout {d['n_timeout']})")
        print(f"  wall {d['wall_s']:.1f} s (TVM start-up {d['init_s']:.1f} s, tuning "
              f"{d['tune_s']:.1f} s)" + (f"; trace {d['trace_path']}" if d["trace_path"] else "")
              + (f"; model {d['model_dir']}" if a.save_model else ""))
    emit(d, a.json, human)


def _cmd_model(a) -> None:
    from ..tvm.models import MODELS
    if a.model not in MODELS:
        raise UserError(f"unknown model {a.model!r} (models: {', '.join(MODELS)})")
    if a.resume and not a.work_dir:
        raise UserError("--resume needs --work-dir (where the first run saved its database)")
    _check_tvm()
    from ..tvm.relax_tune import tune_model
    r = tune_model(a.model, a.trials, seed=a.seed, cost_model=a.cost_model, work_dir=a.work_dir,
                   resume=a.resume, trace_path=a.trace, load_model_dir=a.load_model,
                   save_model_dir=a.save_model, num_trials_per_iter=a.trials_per_iter,
                   alpha=a.alpha, population_size=a.population, verbose=a.verbose)

    def human(r):
        us = 1e6
        print(f"model {r['model']}: {len(r['tasks'])} tasks, {r['trials_run']} new trials "
              f"({a.cost_model} cost model, seed {r['seed']}), {r['records']} tuning records"
              + (f" in {r['work_dir']}" if r["work_dir"] else ""))
        if r["trials_run"] == 0 and r["reused_records"]:
            print(f"  reused {r['reused_records']} records from {r['work_dir']} "
                  "(--resume tunes further)")
        print(f"  end-to-end latency: untuned {r['untuned_latency'] * us:.1f} us, tuned "
              f"{r['tuned_latency'] * us:.1f} us ({r['speedup']:.2f}x)")
        print(f"  {'task':34s} {'weight':>6s} {'trials':>6s} {'untuned us':>11s} {'tuned us':>10s}")
        for t in r["tasks"]:
            un = f"{t['untuned_s'] * us:11.1f}" if t["untuned_s"] else f"{'-':>11s}"
            tu = f"{t['tuned_s'] * us:10.1f}" if t["tuned_s"] else f"{'untuned':>10s}"
            print(f"  {t['name']:34s} {t['weight']:6d} {t['trials']:6d} {un} {tu}")
        print(f"  failures {r['failures']}/{r['trials_run']}; wall {r['wall_s']:.1f} s (tuning "
              f"{r['tune_s']:.1f} s)" + (f"; trace {r['trace_path']}" if r["trace_path"] else "")
              + (f"; model {r['model_dir']}" if r["model_dir"] else ""))
    emit(r, a.json, human)


def register(sub) -> None:
    """Add `tvm-tune` to the `ml2tuner` subparsers."""
    from .args import nonneg_int_arg, positive_int_arg, seed_arg
    p = sub.add_parser("tvm-tune", help="tune an operator or a Relax model with TVM "
                       "MetaSchedule (llvm CPU; needs the tvm extra)")
    p.add_argument("--model", help="a whole Relax model: resnet (ResNet-18-style conv blocks) "
                   "or mlp; prints untuned vs tuned end-to-end latency and per task")
    p.add_argument("--work-dir", help="--model: MetaSchedule's JSON database, the trace and the "
                   "cost model; a second run reuses the database")
    p.add_argument("--resume", action="store_true",
                   help="--model: tune --trials more on top of --work-dir's database")
    p.add_argument("--load-model", help="ml2: warm-start the cost model from this bundle "
                   "(from --save-model or `ml2tuner train` on TVM traces)")
    p.add_argument("--workload",
                   help="matmul:M=..,N=..,K=.., batch_matmul:B=..,M=..,N=..,K=.., "
                        "dense:B=..,I=..,O=.. or conv2d:N=..,H=..,W=..,CI=..,CO=..,KH=..,KW=.."
                        "[,stride=..,pad=..] (each may add dtype=..)")
    p.add_argument("--trials", type=nonneg_int_arg, default=32, help="measurement budget "
                   "(default 32; --model: for all tasks together)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--trace", help="JSONL trace: every MetaSchedule measurement is appended")
    p.add_argument("--cost-model", choices=("ml2", "xgb", "random"), default="ml2",
                   help="ml2: ML2Tuner's V/P/A models and selection (default); "
                        "xgb: MetaSchedule's default XGBModel; random: MetaSchedule's "
                        "RandomModel")
    p.add_argument("--trials-per-iter", type=positive_int_arg, default=8,
                   help="candidates measured per batch (N; default 8)")
    p.add_argument("--alpha", type=nonneg_int_arg, default=1,
                   help="ml2: (alpha+1)*N candidates are proposed per batch (default 1)")
    p.add_argument("--population", type=positive_int_arg, default=512,
                   help="evolutionary search population (default 512)")
    p.add_argument("--max-vector-lanes", type=positive_int_arg, default=None,
                   help="make candidates vectorizing wider than this fail to build "
                        "(an accelerator-like limit; default none)")
    p.add_argument("--save-model", help="ml2: save the trained cost model to this directory "
                   "(a model bundle)")
    p.add_argument("--verbose", action="store_true", help="MetaSchedule's own log on stdout")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tvm_tune)
